"""Heavy-ball momentum whose position in a chain decides where the learning rate enters."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import optax

from optim_jax import _base, _tree, _validation


class MomentumState(NamedTuple):
  """State of `trace`: the momentum buffer, shaped like the parameters."""

  momentum: optax.Updates


def trace(decay: Any, *, accumulator_dtype: Any = None) -> optax.GradientTransformation:
  r"""Heavy-ball momentum with the project's dtype contract.

  .. math::
    b_t = \mu\, b_{t-1} + u_t, \qquad \text{output } b_t

  with :math:`\mu` = ``decay``. Placed after the learning rate (Paddle, Keras, optax.rmsprop) the
  buffer holds lr-scaled steps, so a schedule changes only the newest term; placed before it
  (PyTorch) it holds raw directions and the current lr rescales the whole buffer. ``optax.trace``
  computes in the buffer's dtype, so an injected float32 ``decay`` fails under strict dtype
  promotion for bfloat16 parameters; this one computes in at least float32.

  Args:
    decay: the momentum coefficient :math:`\mu`, finite and >= 0 (a number, or an array or tracer as
      ``optax.inject_hyperparams`` passes it).
    accumulator_dtype: dtype of the buffer; the parameter's dtype when None.

  Returns:
    An ``optax.GradientTransformation`` whose state is a `MomentumState`.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.trace(0.5)
    >>> state = tx.init(jnp.zeros(1))
    >>> for g in (1.0, 1.0):
    ...   u, state = tx.update(jnp.array([g]), state)
    >>> float(u[0])  # 0.5 * 1 + 1
    1.5

  References:
    Polyak, Some methods of speeding up the convergence of iteration methods, 1964.
  """
  _validation.hyperparameter("decay", decay, lo=0.0)
  _validation.finite("decay", decay, float32=True)
  accumulator_dtype = _validation.float_dtype("accumulator_dtype", accumulator_dtype)

  def init_fn(params):
    return MomentumState(jax.tree.map(lambda p: _base.like(p, accumulator_dtype), params))

  def update_fn(updates, state, params=None):
    del params

    def one(g, b):
      cd = _base.compute_dtype(g.dtype)
      b_new = _base.hyper(decay, cd) * b.astype(cd) + g.astype(cd)
      return b_new.astype(g.dtype), b_new.astype(b.dtype)

    out, buf = _tree.unzip(jax.tree.map(one, updates, state.momentum), updates, 2)
    return out, MomentumState(buf)

  return optax.GradientTransformation(init_fn, update_fn)
