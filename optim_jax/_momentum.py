"""Heavy-ball momentum whose position in a chain decides where the learning rate enters."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import optax

from optim_jax import _base


class MomentumState(NamedTuple):
  """State of `trace`."""

  momentum: optax.Updates


def trace(decay: Any, *, accumulator_dtype: Any = None) -> optax.GradientTransformation:
  r"""Heavy-ball momentum: :math:`b_t = \mu\, b_{t-1} + u_t`, output :math:`b_t`.

  optax.trace computes in the buffer's dtype, so an injected float32 momentum fails under strict
  dtype promotion for bfloat16 parameters; this one follows the project's dtype contract.
  Placed after the learning rate (Paddle, Keras, optax.rmsprop) the buffer holds lr-scaled steps;
  placed before it (PyTorch) it holds raw directions.

  Args:
    decay: the momentum coefficient mu, >= 0 (a number, array or tracer).
    accumulator_dtype: dtype of the buffer; the parameter's dtype when None.
  """
  _base.check_range("momentum", decay, lo=0.0)

  def init_fn(params):
    return MomentumState(jax.tree.map(lambda p: _base.like(p, accumulator_dtype), params))

  def update_fn(updates, state, params=None):
    del params

    def one(g, b):
      cd = _base.compute_dtype(g.dtype)
      b_new = _base.hyper(decay, cd) * b.astype(cd) + g.astype(cd)
      return b_new.astype(g.dtype), b_new.astype(b.dtype)

    out, buf = _base.unzip(jax.tree.map(one, updates, state.momentum), updates, 2)
    return out, MomentumState(buf)

  return optax.GradientTransformation(init_fn, update_fn)
