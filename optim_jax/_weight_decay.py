"""Weight decay: coupled L2 and L1 (added to the gradient) and decoupled (added to the final update)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim_jax import _base, _tree, _validation


class WeightDecayState(NamedTuple):
  """State of a weight decay driven by a schedule: the update count."""

  count: jax.Array


def _decay(
  term: Callable[[jax.Array, jax.Array, Any], jax.Array], scheduled: bool
) -> optax.GradientTransformation:
  """A transform u <- term(u, p, count); keeps a count only when a schedule needs it."""

  def init_fn(params):
    del params
    return WeightDecayState(_base.count_state_init()) if scheduled else optax.EmptyState()

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError(_base.NO_PARAMS_MSG)
    count = state.count if scheduled else None
    new = jax.tree.map(lambda u, p: term(u, p, count), updates, params)
    if scheduled:
      state = WeightDecayState(optax.safe_increment(state.count))
    return new, state

  return optax.GradientTransformation(init_fn, update_fn)


def _add(u: jax.Array, scale: Any, direction: jax.Array) -> jax.Array:
  cd = _base.compute_dtype(u.dtype)
  return (u.astype(cd) + _base.hyper(scale, cd) * direction.astype(cd)).astype(u.dtype)


def add_l2_decay(coeff: Any, mask: Any = None) -> optax.GradientTransformation:
  r"""Coupled L2 regularisation: :math:`g \leftarrow g + c\, p`.

  Paddle's ``L2Decay(c)`` and a float ``weight_decay`` (the gradient of :math:`\tfrac12 c\lVert
  p\rVert^2`, so no factor 1/2 on the gradient), PyTorch's ``weight_decay``. Same maths as
  ``optax.add_decayed_weights``, but ``coeff`` may be a schedule.

  Args:
    coeff: the coefficient c (number or schedule of the update count).
    mask: optional optax mask of the leaves to decay.
  """
  _validation.hyperparameter("coeff", coeff, schedule=True, lo=0.0)
  return _tree.maybe_mask(_decay(lambda u, p, n: _add(u, _base.value_at(coeff, n), p), callable(coeff)), mask)


def add_l1_decay(coeff: Any, mask: Any = None) -> optax.GradientTransformation:
  r"""Coupled L1 regularisation: :math:`g \leftarrow g + c\, \mathrm{sign}(p)` (Paddle's ``L1Decay``).

  Args:
    coeff: the coefficient c (number or schedule of the update count).
    mask: optional optax mask of the leaves to decay.
  """
  _validation.hyperparameter("coeff", coeff, schedule=True, lo=0.0)
  return _tree.maybe_mask(
    _decay(lambda u, p, n: _add(u, _base.value_at(coeff, n), jnp.sign(p)), callable(coeff)), mask
  )


def decoupled_weight_decay(
  weight_decay: Any, learning_rate: Any, mask: Any = None
) -> optax.GradientTransformation:
  r"""Decoupled weight decay: adds :math:`-\eta_t\, \lambda_t\, p` to the final update.

  Keras's ``weight_decay`` (:math:`p \leftarrow p - p\,\lambda\,\eta_t` before the step) and the
  decoupled form of PyTorch. Place it last in a chain, after the learning rate and momentum, so the
  decay does not enter the momentum buffer. Both arguments may be schedules of the update count.

  Args:
    weight_decay: the coefficient :math:`\lambda` (number or schedule).
    learning_rate: the learning rate :math:`\eta` (number or schedule) that multiplies it.
    mask: optional optax mask of the leaves to decay.
  """
  _validation.hyperparameter("weight_decay", weight_decay, schedule=True, lo=0.0)
  _validation.learning_rate("learning_rate", learning_rate)
  scheduled = callable(weight_decay) or callable(learning_rate)

  def term(u, p, n):
    cd = _base.compute_dtype(u.dtype)
    rate = _base.hyper(_base.value_at(learning_rate, n), cd) * _base.hyper(
      _base.value_at(weight_decay, n), cd
    )
    return _add(u, -rate, p)

  return _tree.maybe_mask(_decay(term, scheduled), mask)
