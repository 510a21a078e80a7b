"""Rebuilding an optimizer state from a checkpoint restored without a target (plain dicts and lists)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import lax

_MAX_LISTED = 8  # mismatches listed in the error; the rest are counted


def _key_name(key: Any) -> Any:
  """The bare name of a pytree key: a field name, a dict key or a position."""
  for attr in ("name", "key", "idx"):
    if hasattr(key, attr):
      return getattr(key, attr)
  return key


def _describe(x: Any) -> str:
  if isinstance(x, (jax.ShapeDtypeStruct, jax.Array, np.ndarray, np.generic)):
    return f"{np.dtype(x.dtype).name}{list(x.shape)}"
  return type(x).__name__


def _children(node: Any) -> list[tuple[Any, Any]]:
  """The direct children of a pytree node, each with its key."""
  flat, _ = jax.tree_util.tree_flatten_with_path(node, is_leaf=lambda x: x is not node)
  return [(path[0], child) for path, child in flat]


def _lookup(raw: Any, i: int, key: Any) -> tuple[bool, Any]:
  """The raw counterpart of the i-th child (key ``key``) of a state node: ``(found, value)``."""
  if isinstance(raw, Mapping):
    name = _key_name(key)
    for k in (name, str(name)):  # flax's to_state_dict writes a tuple's positions as "0", "1", ...
      if k in raw:
        return True, raw[k]
    return False, None
  if isinstance(raw, (list, tuple)):  # orbax restores tuples (and a chain's states) as lists
    return (True, raw[i]) if i < len(raw) else (False, None)
  return False, None


def _raw_keys(raw: Any) -> list[Any]:
  if isinstance(raw, Mapping):
    return list(raw)
  if isinstance(raw, (list, tuple)):
    return list(range(len(raw)))
  return []


def _fill(target: Any, raw: Any, path: tuple[Any, ...], problems: list[str]) -> Any:
  """``target`` (a tree of jax.ShapeDtypeStruct) with its leaves taken from ``raw``."""
  where = jax.tree_util.keystr(path) or "the state's root"
  if not jax.tree.leaves(target):  # None, optax.EmptyState, optax.MaskedNode, {}: nothing to restore
    if jax.tree.leaves(raw):
      problems.append(f"{where}: the checkpoint holds arrays ({_describe(raw)}) where the state has none")
    return target
  if isinstance(target, jax.ShapeDtypeStruct):
    if not hasattr(raw, "shape") or not hasattr(raw, "dtype") or isinstance(raw, (Mapping, list, tuple)):
      problems.append(
        f"{where}: expected an array {_describe(target)}, the checkpoint holds {_describe(raw)}"
      )
      return target
    if tuple(raw.shape) != tuple(target.shape) or np.dtype(raw.dtype) != np.dtype(target.dtype):
      problems.append(f"{where}: expected {_describe(target)}, the checkpoint holds {_describe(raw)}")
      return target
    value = raw if isinstance(raw, jax.Array) else jnp.asarray(raw)
    if value.weak_type and not target.weak_type:  # a weakly typed array would make a jitted step retrace
      value = lax.convert_element_type(value, target.dtype)
    return value
  if not isinstance(raw, (Mapping, list, tuple)):
    problems.append(f"{where}: expected a {type(target).__name__}, the checkpoint holds {_describe(raw)}")
    return target
  children = _children(target)
  used: set[Any] = set()
  filled = []
  for i, (key, child) in enumerate(children):
    found, value = _lookup(raw, i, key)
    if not found:
      if jax.tree.leaves(child):
        problems.append(f"{jax.tree_util.keystr((*path, key))}: missing from the checkpoint")
      filled.append(child)
      continue
    if isinstance(raw, Mapping):
      name = _key_name(key)
      used.add(name if name in raw else str(name))
    else:
      used.add(i)
    filled.append(_fill(child, value, (*path, key), problems))
  for k in _raw_keys(raw):
    if k not in used and jax.tree.leaves(raw[k]):
      extra = jax.tree_util.DictKey(k) if isinstance(raw, Mapping) else jax.tree_util.SequenceKey(k)
      problems.append(f"{jax.tree_util.keystr((*path, extra))}: in the checkpoint but not in the state")
  treedef = jax.tree.structure(target, is_leaf=lambda x: x is not target)
  return treedef.unflatten(filled)


def restore_state(tx: optax.GradientTransformation, params: optax.Params, restored: Any) -> optax.OptState:
  """The state of ``tx`` rebuilt from a checkpoint restored without a target.

  A checkpoint restored without a target (``orbax.checkpoint.StandardCheckpointer().restore(path)``,
  ``flax.serialization.msgpack_restore``, or ``flax.serialization.to_state_dict`` of a state)
  holds the arrays but not the state's classes: a ``NamedTuple`` comes back as a dict of its
  fields, a chain's tuple as a list (orbax) or a dict ``{"0": ..., "1": ...}`` (flax), and
  ``None``, ``optax.EmptyState()`` and ``optax.MaskedNode()`` as ``None`` or ``{}``. ``update``
  would fail on it one step later (``AttributeError: 'dict' object has no attribute 'ms'``).
  This rebuilds the structure of ``jax.eval_shape(tx.init, params)`` (nothing is allocated) and
  fills it with the restored arrays, checking every array's shape and dtype against it.

  With orbax::

    raw = orbax.checkpoint.StandardCheckpointer().restore(path)  # {"params": {...}, "opt_state": [...]}
    opt_state = oj.restore_state(tx, raw["params"], raw["opt_state"])

  Restoring with a target (``restore(path, target)`` with ``target = jax.eval_shape(tx.init,
  params)``, or with ``oj.state_sharding`` for sharded states) needs no helper; this one is for
  checkpoints whose reader does not know the optimizer.

  Args:
    tx: the transformation the state belongs to, configured as when the checkpoint was written
      (the structure depends on the configuration, e.g. ``momentum`` or ``centered``).
    params: the parameters (arrays or ``jax.ShapeDtypeStruct``) the state was made for.
    restored: the raw restored state: nested dicts, lists and tuples of arrays (jax or NumPy),
      or an optimizer state itself.

  Returns:
    The optimizer state, with the structure of ``tx.init(params)`` and the restored arrays (jax
    arrays are used as they are; NumPy arrays are converted with ``jnp.asarray``).

  Raises:
    ValueError: at restore time, naming the pytree path of every array whose shape or dtype
      differs, every array the checkpoint lacks, and every array it holds that the state does not
      have (a checkpoint of another optimizer, configuration, or parameter shapes).

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.paddle.rmsprop(learning_rate=0.1)
    >>> params = {"w": jnp.ones(2)}
    >>> raw = [{"ms": {"w": jnp.full(2, 0.5)}, "mg": None}, None]  # as orbax restores it without a target
    >>> state = oj.restore_state(tx, params, raw)
    >>> state[0].ms["w"]
    Array([0.5, 0.5], dtype=float32)
    >>> try:
    ...   oj.restore_state(tx, {"w": jnp.ones(3)}, raw)
    ... except ValueError as e:
    ...   print(str(e).splitlines()[1])
      [0].ms['w']: expected float32[3], the checkpoint holds float32[2]
  """
  target = jax.eval_shape(tx.init, params)
  problems: list[str] = []
  state = _fill(target, restored, (), problems)
  if problems:
    more = len(problems) - _MAX_LISTED
    listed = "\n  ".join(problems[:_MAX_LISTED]) + (f"\n  ... and {more} more" if more > 0 else "")
    raise ValueError(
      f"The restored checkpoint does not match the state of tx.init(params) "
      f"({len(problems)} mismatch{'es' if len(problems) > 1 else ''}):\n  {listed}\n"
      "Check that tx is configured and params are shaped as when the checkpoint was written."
    )
  return state
