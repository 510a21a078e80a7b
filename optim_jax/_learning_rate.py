"""Scaling by a (scheduled) learning rate, with the project's dtype contract."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim_jax import _base


class ScaleByLearningRateState(NamedTuple):
  """State of `scale_by_learning_rate` with a schedule: the update count."""

  count: jax.Array


def scale_by_learning_rate(learning_rate: Any, *, flip_sign: bool = True) -> optax.GradientTransformation:
  r"""Multiplies updates by :math:`-\eta_t` (or :math:`\eta_t` when ``flip_sign=False``).

  Like optax.scale_by_learning_rate, but the learning rate is applied in the compute dtype (at
  least float32) and cast back, so bfloat16 updates get one rounding and strict dtype promotion
  holds. A schedule is evaluated at the update count, 0 for the first update.
  """
  sign = -1.0 if flip_sign else 1.0

  def scale(updates, lr):
    def one(g):
      cd = _base.compute_dtype(g.dtype)
      return (g.astype(cd) * (sign * _base.hyper(lr, cd))).astype(g.dtype)

    return jax.tree.map(one, updates)

  if not callable(learning_rate):

    def init_fn(params):
      del params
      return optax.EmptyState()

    def update_fn(updates, state, params=None):
      del params
      return scale(updates, learning_rate), state

    return optax.GradientTransformation(init_fn, update_fn)

  def init_sched(params):
    del params
    return ScaleByLearningRateState(count=jnp.zeros([], jnp.int32))

  def update_sched(updates, state, params=None):
    del params
    lr = learning_rate(state.count)
    return scale(updates, lr), ScaleByLearningRateState(optax.safe_increment(state.count))

  return optax.GradientTransformation(init_sched, update_sched)
