"""Stochastic average gradient (SAG): Paddle's ``ASGD`` memory of the last gradient of each batch."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax import lax

from optim_jax import _base, _tree, _validation


class SagAverageState(NamedTuple):
  """State of `sag_average`."""

  count: jax.Array  # int32, number of updates so far (Paddle's m before this update)
  d: optax.Updates  # running sum of the stored gradients, shaped like the parameter
  y: optax.Updates  # memory, shaped [batch_num, *parameter.shape]


def _write_slot(y: jax.Array, value: jax.Array, slot: jax.Array) -> jax.Array:
  """y[slot] = value in place. XLA on CPU rewrites an update of a 16-bit float buffer as convert to
  float32 -> update -> convert back, a pass over the whole memory; on the same bits as uint16 it
  is one slot (bitcasts are free)."""
  if jnp.issubdtype(y.dtype, jnp.floating) and y.dtype.itemsize == 2:
    bits = lax.bitcast_convert_type(y, jnp.uint16)
    bits = lax.dynamic_update_index_in_dim(bits, lax.bitcast_convert_type(value, jnp.uint16), slot, axis=0)
    return lax.bitcast_convert_type(bits, y.dtype)
  return lax.dynamic_update_index_in_dim(y, value, slot, axis=0)


def sag_average(batch_num: int, *, memory_dtype: Any = None) -> optax.GradientTransformationExtraArgs:
  r"""Averages the latest gradient of each of ``batch_num`` batches (SAG; Paddle's ``ASGD``).

  For update :math:`m` (1-based) with slot :math:`i`:

  .. math::
    d \leftarrow d - y_i + g, \qquad y_i \leftarrow g, \qquad
    u = d / \min(m, n)

  with :math:`n` = ``batch_num``. The slot is :math:`i = (m - 1) \bmod n` (batches visited in a
  fixed cyclic order, as Paddle does); the keyword-only extra argument ``index`` of ``update``
  picks it instead (an int of any size or an integer scalar array, taken modulo ``n`` before any
  cast; a float or a bool is a TypeError), which gives true SAG over shuffled batches: pass the
  batch's index. The count saturates at 2**31 - 1, after which the cyclic slot stays fixed: pass
  ``index`` for longer runs. The divisor stays Paddle's :math:`\min(m, n)`, with :math:`m` the number of
  updates so far including this one. It equals the number of filled slots whenever each of the
  first ``n`` updates visits a new slot (for example when every epoch is a permutation); if a slot
  is visited twice before all are filled, the unfilled slots count as zeros in the average.

  One update reads one slot and writes one slot (``lax.dynamic_update_index_in_dim``): O(1) in
  ``batch_num``. Under ``jax.jit`` donate the optimizer state (``donate_argnums``) or keep it in a
  ``lax.scan`` carry, so XLA updates the memory in place instead of copying it.

  Memory: ``y`` holds ``batch_num`` copies of every parameter, so the state is
  ``(batch_num + 1)`` parameters plus a counter. ``memory_dtype=jnp.bfloat16`` stores ``y`` in
  bfloat16 and halves the memory of float32 parameters. The cost: the average is then of
  gradients rounded to bfloat16, each off by at most :math:`2^{-9}` relative (8 significant
  bits), i.e. the output is within :math:`2^{-9} \max_i |y_i|` of the float32 average. The sum
  ``d`` stays in the parameter's dtype and adds the *rounded* gradient, so it always equals the
  sum of the stored slots: the rounding does not accumulate over steps.

  Args:
    batch_num: the number of batches :math:`n` (an int > 0); 1 is plain SGD.
    memory_dtype: a floating dtype for the memory ``y``; the parameter's dtype when None.

  Returns:
    An ``optax.GradientTransformationExtraArgs`` whose ``update`` accepts ``index=``. No learning
    rate: chain a learning-rate scaling after it.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.sag_average(batch_num=2)
    >>> s = tx.init(jnp.zeros(1))
    >>> u, s = tx.update(jnp.array([2.0]), s)   # d = 2, divided by min(1, 2)
    >>> u, s = tx.update(jnp.array([4.0]), s)   # d = 6, divided by 2
    >>> u, s = tx.update(jnp.array([8.0]), s)   # slot 0: d = 6 - 2 + 8
    >>> float(u[0])
    6.0

  References:
    Schmidt, Le Roux and Bach, Minimizing Finite Sums with the Stochastic Average Gradient, 2017;
    ``paddle.optimizer.ASGD`` (Paddle 3.3).
  """
  _validation.positive_int("batch_num", batch_num)
  _validation.check(batch_num <= 2**31 - 1, "batch_num", batch_num, "an int 0 < batch_num <= 2**31 - 1")
  memory_dtype = _validation.float_dtype("memory_dtype", memory_dtype)
  n = int(batch_num)

  def init_fn(params):
    def memory(p):
      p = jnp.asarray(p)
      return _base.like(jnp.broadcast_to(p, (n, *p.shape)), memory_dtype)

    return SagAverageState(
      count=_base.count_state_init(),
      d=jax.tree.map(_base.like, params),
      y=jax.tree.map(memory, params),
    )

  def update_fn(updates, state, params=None, *, index=None, **extra_args):
    del params, extra_args
    m = optax.safe_increment(state.count)
    if index is None:
      slot = jnp.mod(state.count, n)
    else:
      _validation.int_scalar("index", index)
      # index mod n before the cast: an index beyond int32 (a Python int, or int64 under x64) keeps
      # its slot
      if _validation.is_int(index):
        slot = jnp.asarray(int(index) % n, jnp.int32)
      else:
        idx = index if index.dtype.itemsize >= 4 else index.astype(jnp.int32)
        slot = jnp.mod(idx, jnp.asarray(n, idx.dtype)).astype(jnp.int32)
    divisor = jnp.minimum(m, n)

    def one(g, d, y):
      cd = _base.compute_dtype(g.dtype)
      stored = g.astype(y.dtype)
      old = lax.dynamic_index_in_dim(y, slot, axis=0, keepdims=False)
      d_new = d.astype(cd) - old.astype(cd) + stored.astype(cd)
      # Writing stored - min(|d_new|, 0) (== stored, or NaN where d_new is NaN and so NaN for good)
      # makes the write depend on the read, so XLA orders them and updates y in place; without it
      # XLA copies the whole memory (twice, on CPU).
      tie = jnp.minimum(jnp.abs(d_new), jnp.zeros([], cd))
      y_new = _write_slot(y, (stored.astype(cd) - tie).astype(y.dtype), slot)
      out = d_new / divisor.astype(cd)
      return out.astype(g.dtype), d_new.astype(d.dtype), y_new

    res = jax.tree.map(one, updates, state.d, state.y)
    out, d, y = _tree.unzip(res, updates, 3)
    return out, SagAverageState(count=m, d=d, y=y)

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)
