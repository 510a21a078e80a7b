"""Gradient accumulation as Keras 3 does it (``gradient_accumulation_steps``): sum, then the mean."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim_jax import _base


class GradientAccumulationState(NamedTuple):
  """State of `accumulate_gradients`: the micro-step count, the gradients summed since the last
  update (in the parameters' dtype, as Keras's accumulators) and the inner transformation's state."""

  count: jax.Array
  accumulated: optax.Updates
  inner_state: optax.OptState


def accumulate_gradients(
  inner: optax.GradientTransformation, steps: int
) -> optax.GradientTransformationExtraArgs:
  r"""Runs ``inner`` on the mean of every ``steps`` gradients; zero updates in between (Keras 3's rule).

  Micro-step :math:`n` (0-based) with gradient :math:`g_n`: while :math:`(n + 1) \bmod s \ne 0` the
  gradient is added to the accumulator :math:`A \leftarrow A + g_n` and the update is zero; on the
  others ``inner`` gets :math:`(g_n + A) / s` and :math:`A \leftarrow 0`. This is Keras 3's
  ``gradient_accumulation_steps``: a sum, divided once, where ``optax.MultiSteps`` keeps a running mean
  (another rounding) and runs ``inner`` on every micro-step. ``inner``'s state, and so its count, moves
  on update steps only.

  Args:
    inner: the transformation applied to the averaged gradients.
    steps: :math:`s`, an int >= 2 (not checked here: the presets check it).

  Returns:
    An ``optax.GradientTransformationExtraArgs``; its ``update`` passes ``params`` and extra arguments
    to ``inner`` on update steps.
  """
  inner = optax.with_extra_args_support(inner)

  def init_fn(params):
    accumulated = jax.tree.map(_base.like, params)
    return GradientAccumulationState(_base.count_state_init(), accumulated, inner.init(params))

  def update_fn(updates, state, params=None, **extra_args):
    def mean(u, a):
      cd = _base.compute_dtype(u.dtype)
      return ((u.astype(cd) + a.astype(cd)) / _base.hyper(steps, cd)).astype(u.dtype)

    def apply(operands):
      updates, state, params = operands
      averaged = jax.tree.map(mean, updates, state.accumulated)
      out, inner_state = inner.update(averaged, state.inner_state, params, **extra_args)
      zeros = jax.tree.map(jnp.zeros_like, state.accumulated)
      return out, GradientAccumulationState(state.count, zeros, inner_state)

    shapes = jax.eval_shape(lambda o: apply(o)[0], (updates, state, params))

    def accumulate(operands):
      updates, state, _ = operands

      def add(u, a):
        cd = _base.compute_dtype(u.dtype)
        return (a.astype(cd) + u.astype(cd)).astype(a.dtype)

      accumulated = jax.tree.map(add, updates, state.accumulated)
      zeros = jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
      return zeros, GradientAccumulationState(state.count, accumulated, state.inner_state)

    is_update = state.count % steps == steps - 1
    out, new = jax.lax.cond(is_update, apply, accumulate, (updates, state, params))
    return out, new._replace(count=optax.safe_increment(state.count))

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)
