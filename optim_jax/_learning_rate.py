"""Scaling by a (scheduled) learning rate, with the project's dtype contract."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import optax

from optim_jax import _base, _validation


class ScaleByLearningRateState(NamedTuple):
  """State of `scale_by_learning_rate` with a schedule: the update count."""

  count: jax.Array


def scale_by_learning_rate(learning_rate: Any, *, flip_sign: bool = True) -> optax.GradientTransformation:
  r"""Multiplies the updates by the (scheduled) learning rate, with the sign of a descent step.

  .. math::
    u_t \leftarrow -\eta_t\, u_t \quad (\eta_t\, u_t \text{ when } \texttt{flip\_sign=False})

  Like ``optax.scale_by_learning_rate``, but :math:`\eta_t` is applied in the compute dtype (at
  least float32) and the product is cast back once, so bfloat16 updates get one rounding and
  strict dtype promotion holds. A schedule is evaluated at the update count, 0 for the first
  update; a constant keeps no state.

  Args:
    learning_rate: :math:`\eta`, a float >= 0, a scalar array or a schedule of the update count.
    flip_sign: multiply by :math:`-\eta_t` (descent, the default) instead of :math:`\eta_t`.

  Returns:
    An ``optax.GradientTransformation``; its state holds the count only for a schedule.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = oj.scale_by_learning_rate(optax.linear_schedule(1.0, 0.0, 4))
    >>> state = tx.init(jnp.zeros(1))
    >>> u, state = tx.update(jnp.array([2.0]), state)
    >>> u, state = tx.update(jnp.array([2.0]), state)
    >>> float(u[0])  # -lr(1) * 2 = -0.75 * 2
    -1.5
  """
  _validation.learning_rate("learning_rate", learning_rate)
  _validation.flag("flip_sign", flip_sign)
  sign = -1.0 if flip_sign else 1.0

  def scale(updates, lr):
    def one(g):
      cd = _base.compute_dtype(g.dtype)
      return (g.astype(cd) * (sign * _base.hyper(lr, cd))).astype(g.dtype)

    return jax.tree.map(one, updates)

  if not callable(learning_rate):
    return optax.stateless(lambda updates, params: scale(updates, learning_rate))

  def init_fn(params):
    del params
    return ScaleByLearningRateState(count=_base.count_state_init())

  def update_fn(updates, state, params=None):
    del params
    lr = _base.value_at(learning_rate, state.count)
    return scale(updates, lr), ScaleByLearningRateState(optax.safe_increment(state.count))

  return optax.GradientTransformation(init_fn, update_fn)
