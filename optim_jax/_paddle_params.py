"""Paddle's per-parameter attributes (`ParamAttr`) and parameter groups, under the `oj.paddle` presets.

The pieces of a Paddle ``step()`` that are not its kernel: the regulariser and clip types, their
checks, and the machinery that gives each leaf (``param_attrs=``) or group of leaves
(``parameters=[...]``) its own learning-rate multiplier, regulariser, clip and kernel options
(measured on paddlepaddle 3.3.1; see the `optim_jax.paddle` module docstring).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import optax

from optim_jax import _groups, _tree, _validation
from optim_jax._clipping import masked as _masked
from optim_jax._groups import param_groups as _param_groups
from optim_jax._weight_decay import add_l2_decay as _add_l2_decay


class Regularizer(optax.GradientTransformation):
  """A Paddle regulariser (``L2Decay``/``L1Decay``): a transformation usable as ``weight_decay``."""


class GradClip(optax.GradientTransformation):
  """A Paddle gradient-clip strategy (``ClipGradBy*``): a transformation usable as ``grad_clip``."""


@dataclasses.dataclass(frozen=True)
class ParamAttr:
  r"""Paddle's ``paddle.ParamAttr``: the attributes of one parameter, for ``param_attrs=`` of the presets.

  Give one per leaf (a pytree of them shaped like the parameters, or a function ``(path, leaf) ->
  ParamAttr | None``) to ``param_attrs=`` of `rmsprop`, `radam` or `asgd`. Paddle's argument names,
  order and defaults:

  * ``learning_rate``: a multiplier :math:`m` of the optimizer's learning rate for this leaf: the
    kernel takes :math:`\eta_t m` where it takes :math:`\eta_t` (for RMSProp inside the momentum
    buffer). A number >= 0 (TypeError if not a number, ValueError if negative or not finite; Paddle
    accepts a negative one, which ascends). Default 1.0.
  * ``regularizer``: None (the default: the optimizer's ``weight_decay``) or a regulariser
    (`l2_decay`, `l1_decay`, or any transformation of ``(updates, params)``) that replaces the
    optimizer's ``weight_decay`` for this leaf; TypeError otherwise.
  * ``trainable``: False freezes the leaf: a zero update, no optimizer state, and out of the clip
    (Paddle's ``stop_gradient``). Default True.
  * ``need_clip``: False keeps the leaf out of ``grad_clip``: not clipped, and not counted in a
    global norm. Default True.
  * ``name``, ``initializer``, ``do_model_average``: accepted so that a copied call works, without
    effect (JAX parameters are initialised by the model, and Paddle's ModelAverage is not part of
    the optimizer). ``name=""`` is Paddle's ValueError.

  In a parameter group (``parameters=[...]``) the group's ``learning_rate`` (default 1.0) and
  ``weight_decay`` (default the optimizer's) replace the leaf's ``learning_rate`` and
  ``regularizer``, as Paddle does; ``need_clip`` and ``trainable`` still hold.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> attrs = {"w": oj.paddle.ParamAttr(learning_rate=0.5), "b": oj.paddle.ParamAttr(need_clip=False)}
    >>> tx = oj.paddle.asgd(0.1, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0), param_attrs=attrs)
    >>> p = {"w": jnp.zeros(1), "b": jnp.zeros(1)}
    >>> u, _ = tx.update({"w": jnp.array([3.0]), "b": jnp.array([4.0])}, tx.init(p), p)
    >>> round(float(u["w"][0]), 4), round(float(u["b"][0]), 4)  # w: clipped alone to 1, half the lr
    (-0.05, -0.4)

  References:
    ``paddle.ParamAttr`` (Paddle 3.3); ``paddle.optimizer.Optimizer._create_param_lr``.
  """

  name: str | None = None
  initializer: Any = None
  learning_rate: float = 1.0
  regularizer: Any = None
  trainable: bool = True
  do_model_average: bool = True
  need_clip: bool = True

  def __post_init__(self) -> None:
    if self.name is not None and not isinstance(self.name, str):
      raise TypeError(
        f"ParamAttr: name should be a str or None, got {type(self.name).__name__} {self.name!r}"
      )
    if self.name == "":
      raise ValueError("name of ParamAttr can not be empty str")  # Paddle's message
    _multiplier("ParamAttr: learning_rate", self.learning_rate)
    if self.regularizer is not None and not _is_regularizer(self.regularizer):
      raise TypeError(
        "ParamAttr: regularizer should be None or a regulariser (oj.paddle.l2_decay(c), "
        f"oj.paddle.l1_decay(c)), got {type(self.regularizer).__name__} {self.regularizer!r}"
      )
    for flag in ("trainable", "do_model_average", "need_clip"):
      _validation.flag(f"ParamAttr: {flag}", getattr(self, flag))


def _multiplier(name: str, value: Any) -> None:
  """A learning-rate multiplier (a leaf's or a group's ``learning_rate``): a finite number >= 0."""
  if not _validation.is_real(value):
    raise TypeError(
      f"{name} should be a float (a multiplier of the optimizer's learning rate), got {type(value).__name__} "
      f"{value!r}"
    )
  _validation.in_range(name, value, lo=0.0)
  _validation.finite(name, value)


def _is_regularizer(value: Any) -> bool:
  return isinstance(value, optax.GradientTransformation) and not isinstance(value, GradClip)


def _grad_clip(grad_clip: Any) -> list[optax.GradientTransformation]:
  if grad_clip is None:
    return []
  if not isinstance(grad_clip, GradClip):
    raise TypeError(
      "'grad_clip' should be an instance of GradientClipBase's derived class: one of "
      f"oj.paddle.clip_grad_by_value/_by_norm/_by_global_norm, got {type(grad_clip).__name__}"
    )
  return [grad_clip]


def _regularizer(weight_decay: Any) -> list[optax.GradientTransformation]:
  if weight_decay is None:
    return []
  if _is_regularizer(weight_decay):
    return [weight_decay]
  if isinstance(weight_decay, bool) or not (
    _validation.is_static_number(weight_decay) or callable(weight_decay) or hasattr(weight_decay, "dtype")
  ):
    raise TypeError(
      "weight_decay should be None, a float (L2 coefficient), a schedule, oj.paddle.l2_decay(c) or "
      "oj.paddle.l1_decay(c) (with a mask=, or any transformation of (updates, params)), got "
      f"{type(weight_decay).__name__} {weight_decay!r}"
    )
  _validation.hyperparameter("weight_decay", weight_decay, schedule=True, lo=0.0)
  _validation.finite("weight_decay", weight_decay, float32=True)
  return [] if _validation.is_static_zero(weight_decay) else [_add_l2_decay(weight_decay)]


def _name(name: Any) -> None:
  if name is not None and not isinstance(name, str):
    raise TypeError(f"name should be a str or None, got {type(name).__name__} {name!r}")


# --- parameter groups and per-parameter attributes ---------------------------------------------------

_Kernel = Callable[..., list[optax.GradientTransformation]]  # (learning_rate, **options) -> links


@dataclasses.dataclass(frozen=True)
class _Group:
  """One of Paddle's parameter groups, checked: its selector and what it sets for its leaves."""

  selector: Any
  multiplier: float  # the group's learning_rate, 1.0 by default: it replaces ParamAttr.learning_rate
  regularizer: list[optax.GradientTransformation]  # replaces ParamAttr.regularizer
  clip: list[optax.GradientTransformation]
  options: dict[str, Any]  # the kernel's options (rho, beta1, ...) that the group sets


@dataclasses.dataclass(frozen=True)
class _Leaf:
  multiplier: float
  regularizer: optax.GradientTransformation | None
  need_clip: bool
  trainable: bool


def _scaled(learning_rate: Any, multiplier: float) -> Any:
  """Paddle's ``global_lr * param_lr`` (the global rate itself when the multiplier is 1.0)."""
  if multiplier == 1.0:
    return learning_rate
  if callable(learning_rate):
    return lambda count: learning_rate(count) * multiplier
  return learning_rate * multiplier


def _checked_groups(
  parameters: Any,
  preset: str,
  kernel: _Kernel,
  options: Sequence[str],
  learning_rate: Any,
  regularizer: list[optax.GradientTransformation],
  clip: list[optax.GradientTransformation],
) -> list[_Group] | None:
  """Paddle's ``parameters=[{'params': ..., <key>: value}, ...]`` checked at construction."""
  if parameters is None:
    return None
  if isinstance(parameters, dict):  # Paddle's message
    raise TypeError(
      "`parameters` argument should not get dict type, if parameter groups is needed, please set "
      "`parameters` as list of dict"
    )
  if not isinstance(parameters, (list, tuple)):
    raise TypeError(
      "parameters should be None (every leaf of the parameters) or a list of parameter groups "
      f"[{{'params': selector, <key>: value}}, ...], got {type(parameters).__name__}"
    )
  if not parameters:
    raise ValueError("parameters is an empty list: give None (every leaf) or at least one parameter group")
  keys = ("learning_rate", "weight_decay", "grad_clip", *options)
  groups = []
  for i, group in enumerate(parameters):
    where = f"parameters[{i}]"
    if not isinstance(group, dict):
      raise TypeError(
        f"{where} should be a dict {{'params': selector, <key>: value}}, got {type(group).__name__} (a list "
        "of tensors is Paddle's subset of parameters: here [{'params': selector}])"
      )
    if "params" not in group:  # Paddle's AssertionError
      raise AssertionError(
        f"{where}: params should be set in parameters if parameter groups are optimized in different options"
      )
    unknown = sorted(set(group) - {"params", *keys})
    if unknown:
      raise ValueError(
        f"{where} has unknown key(s) {unknown}: paddle.optimizer.{preset} reads {sorted(keys)} from a group "
        "(and silently ignores the others)"
      )
    try:
      multiplier = group.get("learning_rate", 1.0)
      _multiplier("learning_rate", multiplier)
      wd = group.get("weight_decay")
      if _validation.is_int(wd):  # Paddle: 'int' object is not callable, at the first step
        raise TypeError(
          f"weight_decay of a parameter group should be a float or a regulariser, got int {wd!r}"
        )
      values = {k: group[k] for k in options if k in group}
      kernel(_scaled(learning_rate, multiplier), **values)  # the kernel's own checks
      groups.append(
        _Group(
          group["params"],
          multiplier,
          regularizer if wd is None else _regularizer(wd),  # None: the optimizer's, as in Paddle
          _grad_clip(group["grad_clip"]) if "grad_clip" in group else clip,  # None: no clip, as in Paddle
          values,
        )
      )
    except (TypeError, ValueError, AssertionError) as e:
      raise type(e)(f"{where}: {e}") from e
  return groups


def _is_attr(x: Any) -> bool:
  return x is None or isinstance(x, ParamAttr)


def _checked_attrs(param_attrs: Any) -> None:
  if param_attrs is None or isinstance(param_attrs, ParamAttr) or callable(param_attrs):
    return
  for path, attr in jax.tree_util.tree_flatten_with_path(param_attrs, is_leaf=_is_attr)[0]:
    if not _is_attr(attr):
      raise TypeError(
        f"param_attrs holds oj.paddle.ParamAttr or None, got {type(attr).__name__} {attr!r} at "
        f"{_tree.path_name(path)!r}"
      )


def _attrs_of(param_attrs: Any, tree: Any) -> dict[str, ParamAttr]:
  """The `ParamAttr` of every leaf of ``tree``, by path (Paddle's defaults where none is given)."""
  leaves = [(_tree.path_name(p), tuple(p), x) for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]]
  default = ParamAttr()
  if param_attrs is None:
    return {name: default for name, _, _ in leaves}
  out = {}
  if callable(param_attrs) and not isinstance(param_attrs, ParamAttr):
    for name, _, leaf in leaves:
      attr = param_attrs(name, leaf)
      if not _is_attr(attr):
        raise TypeError(
          f"param_attrs: the function returns an oj.paddle.ParamAttr or None, got {type(attr).__name__} for "
          f"{name!r}"
        )
      out[name] = attr or default
    return out
  entries = [(tuple(p), a) for p, a in jax.tree_util.tree_flatten_with_path(param_attrs, is_leaf=_is_attr)[0]]
  used = set()
  # leaves masked out by an enclosing optax.masked or parameter group need no entry but may have one
  masked_out = jax.tree_util.tree_flatten_with_path(tree, is_leaf=lambda x: isinstance(x, optax.MaskedNode))[
    0
  ]
  for path, x in masked_out:
    if isinstance(x, optax.MaskedNode):
      used |= {i for i, (apath, _) in enumerate(entries) if tuple(path)[: len(apath)] == apath}
  for name, path, _ in leaves:
    hit = next((i for i, (apath, _) in enumerate(entries) if path[: len(apath)] == apath), None)
    if hit is None:
      raise ValueError(f"param_attrs has no entry for the parameter {name!r} (None gives Paddle's defaults)")
    used.add(hit)
    out[name] = entries[hit][1] or default
  for i, (apath, attr) in enumerate(entries):
    if i not in used and attr is not None:
      raise ValueError(f"param_attrs: the entry {_tree.path_name(apath)!r} is not a parameter")
  return out


def _path_mask(names: set[str]) -> Callable[[Any], Any]:
  """The mask of the leaves whose path is in ``names``, for any tree with those paths."""
  return lambda tree: jax.tree_util.tree_map_with_path(lambda p, _: _tree.path_name(p) in names, tree)


def _group_tx(
  kernel: _Kernel,
  learning_rate: Any,
  options: dict[str, Any],
  clip: list[optax.GradientTransformation],
  leaves: dict[str, _Leaf],
  finish: Callable[..., optax.GradientTransformation],
) -> optax.GradientTransformation:
  """Paddle's step for one group: clip (the ``need_clip`` leaves), each leaf's regulariser, then the
  kernel at ``learning_rate * multiplier``; frozen leaves get a zero update and no state."""
  trainable = {name for name, leaf in leaves.items() if leaf.trainable}
  if not trainable:
    return optax.set_to_zero()
  links = []
  clipped = {name for name in trainable if leaves[name].need_clip}
  if clip and clipped:
    links += clip if clipped == set(leaves) else [_masked(clip[0], _path_mask(clipped))]
  regularizers: dict[int, tuple[optax.GradientTransformation, set[str]]] = {}
  for name in sorted(trainable):
    r = leaves[name].regularizer
    if r is not None:
      regularizers.setdefault(id(r), (r, set()))[1].add(name)
  for r, names in regularizers.values():
    links.append(r if names == set(leaves) else _masked(r, _path_mask(names)))
  multipliers = sorted({leaves[name].multiplier for name in trainable})
  if len(multipliers) == 1 and trainable == set(leaves):
    links += kernel(_scaled(learning_rate, multipliers[0]), **options)
  else:  # one kernel per multiplier; the frozen leaves, in none, get zero updates
    txs = [optax.chain(*kernel(_scaled(learning_rate, m), **options)) for m in multipliers]
    names = [{n for n in trainable if leaves[n].multiplier == m} for m in multipliers]
    links.append(_param_groups(txs, [lambda path, _, n=n: path in n for n in names]))
  return finish(*links)


def _per_tree(build: Callable[[Any], optax.GradientTransformation]) -> optax.GradientTransformationExtraArgs:
  """A transformation made for the tree it is given (at ``init`` and at every ``update``, at trace time)."""

  def init_fn(params):
    return build(params).init(params)

  def update_fn(updates, state, params=None, **extra_args):
    return optax.with_extra_args_support(build(updates)).update(updates, state, params, **extra_args)

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def _paddle_optimizer(
  preset: str,
  kernel: _Kernel,
  options: Sequence[str],
  learning_rate: Any,
  weight_decay: Any,
  grad_clip: Any,
  parameters: Any,
  param_attrs: Any,
  param_labels: Any,
  finish: Callable[..., optax.GradientTransformation],
) -> optax.GradientTransformation:
  """Paddle's ``step()``, per group: clip -> regularise -> kernel at the group's (or leaf's) rate."""
  clip = _grad_clip(grad_clip)
  regularizer = _regularizer(weight_decay)
  groups = _checked_groups(parameters, preset, kernel, options, learning_rate, regularizer, clip)
  if groups is None and param_labels is not None:
    raise ValueError(
      "param_labels names the labels that the groups of parameters= select; give parameters too"
    )
  _checked_attrs(param_attrs)
  if groups is None and param_attrs is None:
    return finish(*clip, *regularizer, *kernel(learning_rate))

  def leaf(attr: ParamAttr, multiplier: float, regularizer: list) -> _Leaf:
    return _Leaf(multiplier, regularizer[0] if regularizer else None, attr.need_clip, attr.trainable)

  def build(tree: Any) -> optax.GradientTransformation:
    attrs = _attrs_of(param_attrs, tree)
    if groups is None:  # the leaves' own learning_rate and regularizer
      leaves = {
        n: leaf(a, a.learning_rate, regularizer if a.regularizer is None else [a.regularizer])
        for n, a in attrs.items()
      }
      return _group_tx(kernel, learning_rate, {}, clip, leaves, finish)
    names = [f"parameters[{i}]" for i in range(len(groups))]
    masks = _groups.group_masks([g.selector for g in groups], tree, param_labels, names=names)
    txs, members = [], []
    for g, mask in zip(groups, masks, strict=True):
      paths = {_tree.path_name(p) for p, m in jax.tree_util.tree_flatten_with_path(mask)[0] if m}
      leaves = {n: leaf(attrs[n], g.multiplier, g.regularizer) for n in sorted(paths)}
      txs.append(_group_tx(kernel, learning_rate, g.options, g.clip, leaves, finish))
      members.append(paths)
    return _param_groups(txs, [lambda path, _, m=m: path in m for m in members])

  return _per_tree(build)
