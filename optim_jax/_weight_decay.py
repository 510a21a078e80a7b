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


def _decay(term: Callable[..., jax.Array], *hyperparams: Any) -> optax.GradientTransformation:
  """A transform u <- term(u, p, *values), the values of ``hyperparams`` (numbers or schedules of the
  update count, evaluated once per step); keeps a count only when one is a schedule."""
  scheduled = any(callable(h) for h in hyperparams)

  def init_fn(params):
    del params
    return WeightDecayState(_base.count_state_init()) if scheduled else optax.EmptyState()

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError(_base.NO_PARAMS_MSG)
    values = [_base.value_at(h, state.count) if callable(h) else h for h in hyperparams]
    new = jax.tree.map(lambda u, p: term(u, p, *values), updates, params)
    if scheduled:
      state = WeightDecayState(optax.safe_increment(state.count))
    return new, state

  return optax.GradientTransformation(init_fn, update_fn)


def _add(u: jax.Array, scale: Any, direction: jax.Array) -> jax.Array:
  cd = _base.compute_dtype(u.dtype)
  return (u.astype(cd) + _base.hyper(scale, cd) * direction.astype(cd)).astype(u.dtype)


def add_l2_decay(coeff: Any, mask: Any = None) -> optax.GradientTransformation:
  r"""Coupled L2 regularisation: :math:`g \leftarrow g + c\, p`.

  :math:`c` is ``coeff`` (a schedule is evaluated at the update count, 0 for the first update) and
  :math:`p` the current parameters. Paddle's ``L2Decay(c)`` and a float ``weight_decay`` (the
  gradient of :math:`\tfrac12 c\lVert p\rVert^2`, so no factor 1/2 on the gradient), PyTorch's
  ``weight_decay``. Same maths as ``optax.add_decayed_weights``, but ``coeff`` may be a schedule.

  Args:
    coeff: the coefficient :math:`c`, finite and >= 0 (a number, a scalar array or a schedule of the update
      count).
    mask: optional optax mask of the leaves to decay.

  Returns:
    An ``optax.GradientTransformation`` whose ``update`` requires ``params``; its state holds the
    update count only when ``coeff`` is a schedule.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.add_l2_decay(0.1)
    >>> p = jnp.array([2.0, -3.0])
    >>> u, _ = tx.update(jnp.ones(2), tx.init(p), p)
    >>> [round(float(x), 4) for x in u]  # 1 + 0.1 * p
    [1.2, 0.7]

  References:
    ``paddle.regularizer.L2Decay``; ``torch.optim.SGD(weight_decay=...)``.
  """
  _validation.hyperparameter("coeff", coeff, schedule=True, lo=0.0)
  _validation.finite("coeff", coeff, float32=True)
  return _tree.maybe_mask(_decay(lambda u, p, c: _add(u, c, p), coeff), mask)


def add_l1_decay(coeff: Any, mask: Any = None) -> optax.GradientTransformation:
  r"""Coupled L1 regularisation: :math:`g \leftarrow g + c\, \mathrm{sign}(p)` (Paddle's ``L1Decay``).

  :math:`c` is ``coeff`` (a schedule is evaluated at the update count, 0 for the first update) and
  :math:`p` the current parameters; :math:`\mathrm{sign}(0) = 0`. The added term is the gradient of
  :math:`c \lVert p \rVert_1`.

  Args:
    coeff: the coefficient :math:`c`, finite and >= 0 (a number, a scalar array or a schedule of the update
      count).
    mask: optional optax mask of the leaves to decay.

  Returns:
    An ``optax.GradientTransformation`` whose ``update`` requires ``params``; its state holds the
    update count only when ``coeff`` is a schedule.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.add_l1_decay(0.1)
    >>> p = jnp.array([2.0, -3.0])
    >>> u, _ = tx.update(jnp.ones(2), tx.init(p), p)
    >>> [round(float(x), 4) for x in u]  # 1 + 0.1 * sign(p)
    [1.1, 0.9]

  References:
    ``paddle.regularizer.L1Decay``.
  """
  _validation.hyperparameter("coeff", coeff, schedule=True, lo=0.0)
  _validation.finite("coeff", coeff, float32=True)
  return _tree.maybe_mask(_decay(lambda u, p, c: _add(u, c, jnp.sign(p)), coeff), mask)


def decoupled_weight_decay(
  weight_decay: Any, learning_rate: Any, mask: Any = None
) -> optax.GradientTransformation:
  r"""Decoupled weight decay: adds :math:`-\eta_t\, \lambda_t\, p` to the final update.

  :math:`\lambda_t` is ``weight_decay`` and :math:`\eta_t` is ``learning_rate`` (schedules are
  evaluated at the update count, 0 for the first update); :math:`p` is the current parameters.
  Keras's ``weight_decay`` (:math:`p \leftarrow p - p\,\lambda\,\eta_t` before the step) and the
  decoupled form of PyTorch. Place it last in a chain, after the learning rate and momentum, so the
  decay does not enter the momentum buffer. Both arguments may be schedules of the update count.

  Args:
    weight_decay: the coefficient :math:`\lambda`, finite and >= 0 (a number, a scalar array or a schedule).
    learning_rate: the learning rate :math:`\eta` that multiplies it, >= 0 (a float or int, a
      scalar array or a schedule; not None).
    mask: optional optax mask of the leaves to decay.

  Returns:
    An ``optax.GradientTransformation`` whose ``update`` requires ``params``; its state holds the
    update count only when an argument is a schedule.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.decoupled_weight_decay(0.1, learning_rate=0.5)
    >>> p = jnp.array([2.0, -3.0])
    >>> u, _ = tx.update(jnp.array([-1.0, 0.0]), tx.init(p), p)
    >>> [round(float(x), 4) for x in u]  # u - 0.5 * 0.1 * p
    [-1.1, 0.15]

  References:
    Loshchilov and Hutter, Decoupled Weight Decay Regularization, ICLR 2019;
    ``keras.optimizers.Optimizer(weight_decay=...)``; ``torch.optim.AdamW``.
  """
  _validation.hyperparameter("weight_decay", weight_decay, schedule=True, lo=0.0)
  _validation.finite("weight_decay", weight_decay, float32=True)
  _validation.learning_rate("learning_rate", learning_rate)

  def term(u, p, lr, wd):
    cd = _base.compute_dtype(u.dtype)
    return _add(u, -(_base.hyper(lr, cd) * _base.hyper(wd, cd)), p)

  return _tree.maybe_mask(_decay(term, learning_rate, weight_decay), mask)
