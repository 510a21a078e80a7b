"""Pytree helpers: splitting per-leaf results, optional masks, and finding one state in a chain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax


def maybe_mask(tx: optax.GradientTransformation, mask: Any) -> optax.GradientTransformation:
  """optax.masked when a mask is given (a pytree of bools or a callable of the params)."""
  return tx if mask is None else optax.masked(tx, mask)


def unzip(tree: Any, like_tree: Any, n: int) -> tuple[Any, ...]:
  """Splits a tree whose leaves (at `like_tree`'s leaves) are n-tuples into n trees."""
  return tuple(jax.tree.map(lambda _, t, i=i: t[i], like_tree, tree) for i in range(n))


def find_one(opt_state: Any, is_target: Callable[[Any], bool], what: str, hint: str) -> Any:
  """The one node of ``opt_state`` (anywhere in a chain, mask or wrapper) for which ``is_target``.

  Raises ``ValueError("... holds no <what> ...")`` or ``"... holds 2 <what> ..."`` otherwise, with
  ``hint`` saying how to get exactly one.
  """
  found = [x for x in jax.tree.leaves(opt_state, is_leaf=is_target) if is_target(x)]
  if len(found) != 1:
    count = "no" if not found else f"{len(found)}"
    raise ValueError(f"The optimizer state holds {count} {what}; expected exactly one. {hint}")
  return found[0]


def path_name(path: tuple[Any, ...]) -> str:
  """A pytree key path as the '/'-joined string of its keys: ``{"dense": {"bias": x}}`` -> ``"dense/bias"``.

  The form parameter names are matched against (Keras's variable paths, PyTorch's ``named_parameters``
  with '.' replaced): dict keys, sequence indices and attribute names, in order.
  """
  parts = []
  for k in path:
    for attr in ("key", "idx", "name"):
      if hasattr(k, attr):
        parts.append(str(getattr(k, attr)))
        break
    else:
      parts.append(str(k))
  return "/".join(parts)


def is_masked(x: Any) -> bool:
  return isinstance(x, optax.MaskedNode)


def has_masked(tree: Any) -> bool:
  """Whether ``tree`` holds an ``optax.MaskedNode`` (a state of ``optax.masked`` over some leaves)."""
  return any(is_masked(x) for x in jax.tree.leaves(tree, is_leaf=is_masked))


def merge_masked(trees: list[Any], what: str, fallback: Any = None) -> Any:
  """One tree from trees that each hold a part of the leaves (``optax.MaskedNode`` elsewhere), as the
  states of ``optax.masked`` over disjoint masks do; a leaf held by none is taken from ``fallback``
  (a tree shaped like the result); held by two, or by none without a fallback, is a ValueError."""
  flat = [jax.tree_util.tree_flatten_with_path(t, is_leaf=is_masked) for t in trees]
  spare = None if fallback is None else jax.tree.leaves(fallback)
  paths = [p for p, _ in flat[0][0]]
  for leaves, treedef in flat[1:]:
    if [p for p, _ in leaves] != paths:
      raise ValueError(f"The {what} do not have the same tree structure: {treedef} vs {flat[0][1]}.")
  merged = []
  for i, path in enumerate(paths):
    held = [leaves[i][1] for leaves, _ in flat if not is_masked(leaves[i][1])]
    if not held and spare is not None:
      if len(spare) != len(paths):
        raise ValueError(f"params has {len(spare)} leaves; the {what} cover {len(paths)}.")
      held = [spare[i]]
    if len(held) != 1:
      count = "none" if not held else f"{len(held)}"
      raise ValueError(f"The parameter {path_name(path)!r} is held by {count} of the {what}; expected one.")
    merged.append(held[0])
  return jax.tree.unflatten(flat[0][1], merged)
