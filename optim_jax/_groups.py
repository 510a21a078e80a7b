"""Parameter groups: one transformation per group of leaves, as PyTorch's ``param_groups``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _tree

Selector = Any  # a pytree of bools, a predicate ``fn(path, leaf) -> bool``, or a label (str) or labels


class ParamGroupsState(NamedTuple):
  """State of `param_groups`: one state per group, over that group's leaves (``optax.MaskedState``)."""

  groups: tuple[Any, ...]


def _is_labels(selector: Any) -> bool:
  return isinstance(selector, str) or (
    isinstance(selector, (tuple, list, frozenset, set))
    and len(selector) > 0
    and all(isinstance(s, str) for s in selector)
  )


def predicate_bools(fn: Any, tree: Any, what: str) -> list[bool]:
  """``fn(path, leaf)`` for every leaf of ``tree`` (path: `_tree.path_name`), each a Python bool."""
  out = []
  for p, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    path = _tree.path_name(p)
    b = fn(path, leaf)
    if not isinstance(b, (bool, np.bool_)):
      raise TypeError(
        f"{what} takes (path, leaf) and returns a Python bool; got {type(b).__name__} for {path!r}"
      )
    out.append(bool(b))
  return out


def mask_bools(mask: Any, tree: Any, where: str) -> list[bool]:
  """The bools of a mask that has the structure of ``tree`` (or is a prefix of it), one per leaf."""
  mask_items = jax.tree_util.tree_flatten_with_path(mask)[0]
  for path, m in mask_items:
    if not isinstance(m, (bool, np.bool_)):
      raise TypeError(
        f"{where}: a mask holds Python bools, got {type(m).__name__} {m!r} at {_tree.path_name(path)!r}"
      )
  leaves = jax.tree_util.tree_flatten_with_path(tree)[0]
  out, used = [], set()
  for path, _ in leaves:
    hit = [i for i, (mpath, _) in enumerate(mask_items) if tuple(path[: len(mpath)]) == tuple(mpath)]
    if not hit:
      raise ValueError(f"{where}: the mask has no entry for the parameter {_tree.path_name(path)!r}")
    used.add(hit[0])
    out.append(bool(mask_items[hit[0]][1]))
  for i, (mpath, _) in enumerate(mask_items):
    if i not in used:
      raise ValueError(f"{where}: the mask entry {_tree.path_name(mpath)!r} is not a parameter")
  return out


def group_masks(
  selectors: Sequence[Selector], tree: Any, param_labels: Any = None, *, names: Sequence[str] | None = None
) -> list[Any]:
  """One bool mask per selector over the leaves of ``tree`` (pytree-shaped), checked to be disjoint
  and each non-empty; ``names[i]`` names selector i in the errors (default ``"groups[i]"``)."""
  names = names or [f"groups[{i}]" for i in range(len(selectors))]
  leaves_with_path, treedef = jax.tree_util.tree_flatten_with_path(tree)
  paths = [_tree.path_name(p) for p, _ in leaves_with_path]
  labels = None
  per_group = []
  for name, sel in zip(names, selectors, strict=True):
    if _is_labels(sel):
      if labels is None:
        if param_labels is None:
          raise ValueError(f"{name} selects the labels {sel!r}, but no param_labels were given")
        lab = param_labels(tree) if callable(param_labels) else param_labels
        labels = _labels_per_leaf(lab, tree)
      wanted = {sel} if isinstance(sel, str) else set(sel)
      unknown = wanted - set(labels)
      if unknown:
        raise ValueError(
          f"{name}: no parameter has the label(s) {sorted(unknown)}; labels: {sorted(set(labels))}"
        )
      bools = [lab in wanted for lab in labels]
    elif callable(sel):
      bools = predicate_bools(sel, tree, f"{name}: a selector function")
    else:
      bools = mask_bools(sel, tree, name)
    if not any(bools):
      raise ValueError(f"{name} selects no parameter")
    per_group.append(bools)
  for j, path in enumerate(paths):
    owners = [names[i] for i, bools in enumerate(per_group) if bools[j]]
    if len(owners) > 1:
      raise ValueError(f"The parameter {path!r} is in more than one group: {' and '.join(owners)}")
  return [jax.tree.unflatten(treedef, bools) for bools in per_group]


def _labels_per_leaf(labels: Any, tree: Any) -> list[str]:
  items = jax.tree_util.tree_flatten_with_path(labels)[0]
  for path, lab in items:
    if not isinstance(lab, str):
      raise TypeError(
        f"param_labels holds strings, got {type(lab).__name__} {lab!r} at {_tree.path_name(path)!r}"
      )
  out = []
  for path, _ in jax.tree_util.tree_flatten_with_path(tree)[0]:
    hit = [lab for lpath, lab in items if tuple(path[: len(lpath)]) == tuple(lpath)]
    if not hit:
      raise ValueError(f"param_labels has no label for the parameter {_tree.path_name(path)!r}")
    out.append(hit[0])
  return out


def param_groups(
  transforms: Sequence[optax.GradientTransformation],
  selectors: Sequence[Selector],
  *,
  param_labels: Any = None,
) -> optax.GradientTransformationExtraArgs:
  r"""One transformation per group of leaves; leaves in no group are not updated (PyTorch's rule).

  Group :math:`k` applies ``transforms[k]`` to the leaves that ``selectors[k]`` selects, with its own
  state over those leaves only (``optax.masked``). A leaf selected by no group gets a zero update and
  no state, as PyTorch updates only the parameters given in some group. This is the primitive under
  the ``param_groups=`` argument of the ``oj.torch`` optimizers; ``optax.partition`` is the same with
  one label per leaf and no empty or overlapping groups checked.

  The selectors are resolved against the parameter tree at ``init`` and ``update`` (at trace time):
  a group that selects no leaf, a leaf in two groups, a mask that does not match the parameters or
  an unknown label is a ValueError naming the group and the leaf's path (the keys joined by ``/``,
  e.g. ``"dense/bias"``).

  Args:
    transforms: one ``optax.GradientTransformation`` per group.
    selectors: one per group, each selecting leaves: a pytree of Python bools shaped like the
      parameters (or a prefix of them), a function ``fn(path, leaf) -> bool`` of the leaf's path
      string and the leaf (e.g. ``lambda path, p: p.ndim == 1`` for biases and norm scales), or a
      label (str) or a list of labels found in ``param_labels``.
    param_labels: a pytree of strings shaped like the parameters (or a prefix), or a function of the
      parameters returning one, as ``optax.partition`` takes; needed only by label selectors.

  Returns:
    An ``optax.GradientTransformationExtraArgs`` whose state is a `ParamGroupsState` (extra
    arguments of ``update`` reach every group).

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = oj.param_groups([optax.sgd(0.1), optax.sgd(1.0)], [lambda path, p: path == "w",
    ...                                                        lambda path, p: path == "b"])
    >>> params = {"w": jnp.ones(2), "b": jnp.ones(1)}
    >>> u, _ = tx.update({"w": jnp.ones(2), "b": jnp.ones(1)}, tx.init(params), params)
    >>> round(float(u["w"][0]), 4), round(float(u["b"][0]), 4)
    (-0.1, -1.0)

  References:
    ``torch.optim.Optimizer`` parameter groups (torch 2.13); ``optax.partition``.
  """
  return grouped(transforms, selectors, param_labels=param_labels)


def grouped(
  transforms: Sequence[optax.GradientTransformation],
  selectors: Sequence[Selector],
  *,
  param_labels: Any = None,
  names: Sequence[str] | None = None,
) -> optax.GradientTransformationExtraArgs:
  """`param_groups`, with ``names[i]`` naming group i in the errors (a preset's ``param_groups[i]``)."""
  transforms = tuple(optax.with_extra_args_support(t) for t in transforms)
  selectors = tuple(selectors)
  if len(transforms) != len(selectors):
    raise ValueError(f"param_groups: {len(transforms)} transforms for {len(selectors)} selectors")
  if not transforms:
    raise ValueError("param_groups needs at least one group")
  names = list(names) if names is not None else [f"groups[{i}]" for i in range(len(selectors))]
  for name, sel in zip(names, selectors, strict=True):
    if not (_is_labels(sel) or callable(sel) or jax.tree.leaves(sel)):
      raise TypeError(f"{name}: a selector is a bool pytree, a function (path, leaf) or labels, got {sel!r}")

  def masked(tree: Any) -> tuple[list[optax.GradientTransformationExtraArgs], list[Any]]:
    masks = group_masks(selectors, tree, param_labels, names=names)
    return [optax.masked(t, m) for t, m in zip(transforms, masks, strict=True)], masks

  def init_fn(params):
    txs, _ = masked(params)
    return ParamGroupsState(tuple(t.init(params) for t in txs))

  def update_fn(updates, state, params=None, **extra_args):
    txs, masks = masked(updates)
    out, new = updates, []
    for t, s in zip(txs, state.groups, strict=True):
      out, s = t.update(out, s, params, **extra_args)
      new.append(s)
    covered = jax.tree.map(lambda *bs: any(bs), *masks)
    out = jax.tree.map(lambda c, u: u if c else jnp.zeros_like(u), covered, out)
    return out, ParamGroupsState(tuple(new))

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)
