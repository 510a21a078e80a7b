"""The buffers of an optimizer state, named by what they are: the common ground of every importer.

A framework's saved optimizer state is a set of named buffers per parameter (PyTorch's
``state[i]["exp_avg"]``, Paddle's ``<param>_moment1_0``, Keras's ``<var>_velocity``) and a few
counters. Ours is a tree of NamedTuples. `state_slots` lists our buffers as `Slot`s (the state
field that holds the buffer, the parameter it belongs to, its parameter group) and `replace_slots`
rebuilds a state with new values for them, checking shape and dtype; each framework's module maps its
keys to slots and nothing else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

from optim_jax._groups import ParamGroupsState
from optim_jax._tree import is_masked, path_name


@dataclasses.dataclass(frozen=True)
class Slot:
  """One buffer of an optimizer state.

  Attributes:
    field: the NamedTuple field that holds it (``"square_avg"``, ``"count"``), followed by the key
      path below the field for a buffer that is not per parameter (``"hyperparams/lr"``).
    owner: the class name of the state that has the field (``"ScaleByRmsTorchState"``).
    param: the parameter's path (`param_paths`) for a buffer that mirrors a parameter, else None.
    group: the index of its parameter group (``oj.param_groups`` and the presets' groups), else None.
    where: the buffer's place in the state (``jax.tree_util.keystr``), for messages.
  """

  field: str
  owner: str
  param: str | None
  group: int | None
  where: str


def param_paths(params: Any) -> list[str]:
  """The path of every leaf of ``params`` in the order of ``jax.tree.leaves``: ``"dense/kernel"``."""
  return [path_name(p) for p, _ in jax.tree_util.tree_flatten_with_path(params)[0]]


def map_params(
  params: Any, names: Sequence[str] | Mapping[Any, str] | None, keys: Sequence[Any]
) -> dict[Any, str]:
  """Which parameter path each framework parameter key stands for.

  Args:
    params: our parameter pytree.
    names: None (the framework's keys in ``keys``' order are the leaves in ``jax.tree.leaves``
      order), a list of parameter paths in the framework's order, or a dict from framework key
      (index or name) to parameter path.
    keys: the framework's parameter keys, in its order.

  Returns:
    ``{framework key: parameter path}``, every parameter exactly once.

  Raises:
    ValueError: a count that does not match, a path that is not in ``params``, a parameter mapped
      twice or never, a framework key that ``names`` does not map.
  """
  paths = param_paths(params)
  keys = list(keys)
  if names is None:
    if len(keys) != len(paths):
      raise ValueError(
        f"The checkpoint has {len(keys)} parameters and params has {len(paths)} leaves; "
        "pass names= to say which parameter path each checkpoint parameter is."
      )
    mapping = dict(zip(keys, paths, strict=True))
  elif isinstance(names, Mapping):
    missing = [k for k in keys if k not in names]
    if missing:
      raise ValueError(f"names= does not map the checkpoint parameter(s) {missing[:8]}.")
    mapping = {k: names[k] for k in keys}
  else:
    names = list(names)
    if len(names) != len(keys):
      raise ValueError(f"names= lists {len(names)} paths; the checkpoint has {len(keys)} parameters.")
    mapping = dict(zip(keys, names, strict=True))
  known = set(paths)
  unknown = [p for p in mapping.values() if p not in known]
  if unknown:
    raise ValueError(
      f"names= maps to {unknown[:8]}, not parameter paths of params (those are {paths[:8]}...)."
    )
  seen: dict[str, Any] = {}
  for k, p in mapping.items():
    if p in seen:
      raise ValueError(f"The parameter {p!r} is mapped twice, from {seen[p]!r} and {k!r}.")
    seen[p] = k
  unmapped = [p for p in paths if p not in seen]
  if unmapped:
    raise ValueError(f"No checkpoint parameter is mapped to the parameter(s) {unmapped[:8]}.")
  return mapping


def _is_namedtuple(x: Any) -> bool:
  return isinstance(x, tuple) and hasattr(x, "_fields")


def _is_empty(x: Any) -> bool:
  return x is None or isinstance(x, optax.EmptyState) or is_masked(x)


def _leaf_paths(tree: Any) -> list[str]:
  return [path_name(p) for p, _ in jax.tree_util.tree_flatten_with_path(tree, is_leaf=is_masked)[0]]


@dataclasses.dataclass(frozen=True)
class _Ctx:
  owner: str = ""
  field: str = ""
  per_param: bool = False
  group: int | None = None


def _map(
  node: Any, path: tuple[Any, ...], sub: tuple[Any, ...], ctx: _Ctx, params_leaf: list[str], fn: Callable
) -> Any:
  if _is_empty(node):
    return node
  if _is_namedtuple(node):
    values = []
    for name, child in zip(node._fields, node, strict=True):
      key = jax.tree_util.GetAttrKey(name)
      if isinstance(node, ParamGroupsState) and name == "groups":
        values.append(
          type(child)(
            _map(
              g,
              (*path, key, jax.tree_util.SequenceKey(i)),
              (),
              dataclasses.replace(ctx, group=i),
              params_leaf,
              fn,
            )
            for i, g in enumerate(child)
          )
        )
        continue
      per_param = not _is_empty(child) and not _is_namedtuple(child) and _leaf_paths(child) == params_leaf
      child_ctx = _Ctx(type(node).__name__, name, per_param, ctx.group)
      values.append(_map(child, (*path, key), (), child_ctx, params_leaf, fn))
    return type(node)(*values)
  if isinstance(node, (jax.Array, np.ndarray, np.generic, jax.ShapeDtypeStruct)) or np.isscalar(node):
    rest = path_name(sub)
    if ctx.per_param:
      slot = Slot(ctx.field, ctx.owner, rest, ctx.group, jax.tree_util.keystr(path))
    else:
      field = f"{ctx.field}/{rest}" if rest else ctx.field
      slot = Slot(field, ctx.owner, None, ctx.group, jax.tree_util.keystr(path))
    return fn(slot, node)
  flat, treedef = jax.tree_util.tree_flatten_with_path(node, is_leaf=lambda x: x is not node)
  children = [_map(c, (*path, k[0]), (*sub, k[0]), ctx, params_leaf, fn) for k, c in flat]
  return treedef.unflatten(children)


def state_slots(state: Any, params: Any) -> list[tuple[Slot, Any]]:
  """Every buffer of ``state`` (a state of a transformation initialised on ``params``) with its `Slot`.

  A buffer is per parameter when its field holds a tree with the same leaves as ``params`` (a
  masked group's state has ``optax.MaskedNode`` for the other leaves); its ``param`` is then the
  leaf's path. Empty states, ``None`` and masked leaves are not listed.
  """
  out: list[tuple[Slot, Any]] = []

  def collect(slot: Slot, leaf: Any) -> Any:
    out.append((slot, leaf))
    return leaf

  _map(state, (), (), _Ctx(), _leaf_paths(params), collect)
  # A bare array as params has the structure of a counter: the 0-d leaves are the counters then.
  if _leaf_paths(params) == [""]:
    out = [(dataclasses.replace(s, param=None) if np.ndim(v) == 0 else s, v) for s, v in out]
  return out


def _describe(x: Any) -> str:
  return f"{np.dtype(x.dtype).name}{list(np.shape(x))}"


def as_like(value: Any, like: Any, what: str) -> jax.Array:
  """``value`` as an array of ``like``'s shape and dtype, or a ValueError naming ``what``.

  A float value for an integer counter (PyTorch stores ``step`` as a float tensor) must be a whole
  number; any other dtype difference and every shape difference is an error.
  """
  arr = np.asarray(value)
  like_dtype = np.dtype(like.dtype)
  if tuple(arr.shape) != tuple(like.shape):
    raise ValueError(f"{what}: expected shape {list(like.shape)}, the checkpoint holds {_describe(arr)}.")
  if arr.dtype != like_dtype:
    whole_counter = np.issubdtype(like_dtype, np.integer) and (
      np.issubdtype(arr.dtype, np.integer)
      or (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)))
    )
    if not whole_counter:
      raise ValueError(f"{what}: expected {_describe(like)}, the checkpoint holds {_describe(arr)}.")
    arr = arr.astype(like_dtype)
  out = jnp.asarray(arr, dtype=like_dtype)
  return lax.convert_element_type(out, like_dtype) if out.weak_type else out


def replace_slots(state: Any, params: Any, fn: Callable[[Slot, Any], Any]) -> Any:
  """``state`` with every buffer replaced by ``fn(slot, buffer)``, checked for shape and dtype.

  ``fn`` returns the new value (a numpy array or Python number is converted with `as_like`) or the
  buffer itself to keep it.
  """

  def put(slot: Slot, leaf: Any) -> Any:
    new = fn(slot, leaf)
    if new is leaf:
      return leaf
    return as_like(new, leaf, f"{slot.where} ({slot.field} of {slot.param or 'the optimizer'})")

  bare = _leaf_paths(params) == [""]

  def put_bare(slot: Slot, leaf: Any) -> Any:
    return put(dataclasses.replace(slot, param=None) if bare and np.ndim(leaf) == 0 else slot, leaf)

  return _map(state, (), (), _Ctx(), _leaf_paths(params), put_bare)
