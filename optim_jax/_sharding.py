"""Shardings of an optimizer state: each buffer that mirrors a parameter lives where the parameter does."""

from __future__ import annotations

from typing import Any

import jax
import optax
from jax.sharding import NamedSharding, PartitionSpec, Sharding, SingleDeviceSharding


def _sharding_of(leaf: Any) -> Sharding | None:
  return getattr(leaf, "sharding", None)


def _replicated_like(params_leaves: list[Any]) -> Sharding:
  """Replicated on the parameters' mesh (the first NamedSharding), else on their one device."""
  shardings = [s for s in map(_sharding_of, params_leaves) if s is not None]
  for s in shardings:
    if isinstance(s, NamedSharding):
      return NamedSharding(s.mesh, PartitionSpec(), memory_kind=s.memory_kind)
  for s in shardings:
    if isinstance(s, SingleDeviceSharding):
      return s
  if shardings:
    raise TypeError(
      f"state_sharding needs NamedSharding or SingleDeviceSharding parameters, not {shardings[0]}."
    )
  mesh = jax.sharding.get_mesh()  # no parameter says where it lives: the mesh of `jax.set_mesh`, if any
  if not mesh.empty:
    return NamedSharding(mesh, PartitionSpec())
  return SingleDeviceSharding(jax.devices()[0])


def _axis_names(entry: Any) -> tuple[str, ...]:
  if entry is None:
    return ()
  return tuple(entry) if isinstance(entry, tuple) else (entry,)


def _mirror(sharding: Sharding, shape: tuple[int, ...], param_ndim: int, zero1_axis: str | None) -> Sharding:
  """The parameter's sharding for a buffer shaped like it, or like (k, *param.shape)."""
  if zero1_axis is not None:
    _check_axis(sharding, zero1_axis)
  if not isinstance(sharding, NamedSharding):
    return sharding  # a single device: any shape fits
  extra = len(shape) - param_ndim
  spec = (None,) * extra + tuple(sharding.spec) + (None,) * (param_ndim - len(sharding.spec))
  if zero1_axis is not None:
    size = sharding.mesh.shape[zero1_axis]
    if not any(zero1_axis in _axis_names(e) for e in spec):  # already sharded over it (FSDP): nothing to add
      # Only the parameter's own dimensions: a leading slot axis (SAG's memory) is indexed per step.
      for d in range(extra, len(shape)):
        if spec[d] is None and shape[d] > 0 and shape[d] % size == 0:
          spec = spec[:d] + (zero1_axis,) + spec[d + 1 :]
          break
  return NamedSharding(sharding.mesh, PartitionSpec(*spec), memory_kind=sharding.memory_kind)


def _check_axis(sharding: Sharding, zero1_axis: str) -> None:
  if not isinstance(sharding, NamedSharding):
    raise ValueError(f"zero1_axis={zero1_axis!r} needs parameters with a NamedSharding, not {sharding}.")
  if zero1_axis not in sharding.mesh.axis_names:
    raise ValueError(
      f"Invalid value of zero1_axis: {zero1_axis!r}; expected one of {sharding.mesh.axis_names}."
    )


def _is_atom(x: Any) -> bool:
  """An array, or a node with no arrays (None, optax.MaskedNode, EmptyState)."""
  leaves = jax.tree.leaves(x)
  return not leaves or (len(leaves) == 1 and leaves[0] is x)


def state_sharding(
  tx: optax.GradientTransformation, params: optax.Params, *, zero1_axis: str | None = None
) -> optax.OptState:
  r"""The sharding of every buffer of ``tx.init(params)``, for ``jax.jit(tx.init, out_shardings=...)``.

  The state's structure comes from ``jax.eval_shape(tx.init, params)``. A state buffer that mirrors
  a parameter gets the parameter's sharding; everything else (counters, scalars, schedules'
  values, buffers of any other shape) is replicated on the parameters' mesh. The rule: a subtree
  of the state that has the parameters' tree structure, with at each parameter's place an array
  or nothing (``None``, as in ``multi_precision``'s master copies of float32 leaves, or
  ``optax.MaskedNode``), holds per-parameter buffers. Such a buffer shaped like its parameter
  gets the parameter's sharding; one shaped ``(k, *param.shape)`` (SAG's memory ``y``) gets
  ``PartitionSpec(None, *param_spec)``. This covers optax's states (chains, ``masked``,
  ``inject_hyperparams``) and every optim_jax primitive and preset; a buffer that matches
  nothing is replicated, which is always correct, only not as lean.

  ``jax.jit(tx.init)`` alone gives no such guarantee: under ``Auto`` mesh axes XLA is free to
  place the zeros it makes anywhere, and puts them whole on every device.

  With ``zero1_axis`` (ZeRO stage 1, Rajbhandari et al.), every buffer that mirrors a parameter is
  also sharded over that mesh axis, along the first of the parameter's dimensions that is not
  sharded yet and whose size the axis size divides; a buffer with no such dimension, or whose
  parameter is already sharded over the axis, keeps the parameter's sharding. The parameters
  stay as they are (replicated over the data axis): pass the result as the state's
  ``in_shardings`` and ``out_shardings`` of the jitted train step and XLA all-gathers the update,
  while each device stores and updates only its slice of the state.

  Args:
    tx: the transformation whose state is placed.
    params: the parameters, as arrays or as ``jax.ShapeDtypeStruct`` carrying a ``sharding``
      (``NamedSharding`` or ``SingleDeviceSharding``); from a pytree of shardings ``sh``, build
      them with ``jax.tree.map(lambda p, s: jax.ShapeDtypeStruct(p.shape, p.dtype, sharding=s),
      params, sh)``. A leaf without a sharding (a NumPy array, a Python number) counts as
      replicated.
    zero1_axis: the name of a mesh axis (the data axis) to shard the per-parameter buffers over;
      None keeps them sharded exactly like the parameters.

  Returns:
    A pytree with the structure of ``tx.init(params)`` and a ``jax.sharding.Sharding`` at each
    array.

  Example:
    >>> import jax, jax.numpy as jnp, optim_jax as oj
    >>> mesh = jax.make_mesh((1,), ("data",))
    >>> params = jax.device_put({"w": jnp.ones((4, 3))}, jax.NamedSharding(mesh, jax.P()))
    >>> tx = oj.scale_by_rms_paddle()
    >>> shardings = oj.state_sharding(tx, params, zero1_axis="data")
    >>> shardings.ms["w"].spec
    P('data', None)
    >>> state = jax.jit(tx.init, out_shardings=shardings)(params)
    >>> state.ms["w"].sharding == shardings.ms["w"]
    True

  References:
    Rajbhandari et al., ZeRO: Memory Optimizations Toward Training Trillion Parameter Models,
    SC 2020.
  """
  p_leaves, p_def = jax.tree.flatten(params)
  replicated = _replicated_like(p_leaves)
  if zero1_axis is not None:
    _check_axis(replicated, zero1_axis)
  p_info = [(_sharding_of(p) or replicated, tuple(getattr(p, "shape", ()))) for p in p_leaves]
  shapes = jax.eval_shape(tx.init, params)

  def place(node: Any) -> Any:
    try:
      subs = p_def.flatten_up_to(node)
    except (ValueError, TypeError):
      subs = None
    if subs is not None and all(map(_is_atom, subs)) and jax.tree.leaves(subs):
      placed = []
      for sub, (sharding, p_shape) in zip(subs, p_info, strict=True):
        if not jax.tree.leaves(sub):
          placed.append(sub)
        elif p_shape in (tuple(sub.shape), tuple(sub.shape[1:])):
          placed.append(_mirror(sharding, tuple(sub.shape), len(p_shape), zero1_axis))
        else:
          placed.append(replicated)
      return p_def.unflatten(placed)
    if not jax.tree.leaves(node):
      return node
    if _is_atom(node):
      return replicated
    children, node_def = jax.tree.flatten(node, is_leaf=lambda x: x is not node)
    return node_def.unflatten([place(c) for c in children])

  return place(shapes)
