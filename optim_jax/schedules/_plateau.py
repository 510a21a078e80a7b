"""Paddle's ``ReduceOnPlateau`` as a transformation that takes the metric as an extra argument."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _base, _validation
from optim_jax.schedules import _common as c


class ReduceOnPlateauState(NamedTuple):
  """State of `reduce_on_plateau` (Paddle's ``state_dict`` of ``ReduceOnPlateau``)."""

  learning_rate: jax.Array  # float32: Paddle's last_lr, the rate the next update uses
  best: jax.Array  # float32: the best metric seen outside cooldown (undefined before the first)
  num_bad_epochs: jax.Array  # int32
  cooldown_counter: jax.Array  # int32
  last_epoch: jax.Array  # int32: the number of metrics received


def reduce_on_plateau(
  learning_rate: Any,
  mode: str = "min",
  factor: Any = 0.1,
  patience: Any = 10,
  threshold: Any = 1e-4,
  threshold_mode: str = "rel",
  cooldown: Any = 0,
  min_lr: Any = 0,
  epsilon: Any = 1e-8,
) -> optax.GradientTransformationExtraArgs:
  r"""``paddle.optimizer.lr.ReduceOnPlateau``: multiplies updates by a rate that drops on a plateau.

  The transformation **multiplies the updates by the current rate** :math:`\eta` (Paddle's
  ``last_lr``, starting at ``learning_rate``): it *is* the learning rate, so put it where the
  learning rate goes and give the optimizer before it ``learning_rate=1.0``. Every call of
  ``update(..., metric=m)`` ends an epoch, after the update has been scaled with the old rate
  (Paddle's ``opt.step(); sched.step(m)``):

  * in cooldown (``cooldown_counter > 0``) the counter decreases and the metric is ignored;
  * otherwise, if it is the first metric or it is better than ``best`` (``'min'``/``'rel'``:
    :math:`m < best - best \cdot threshold`; ``'abs'``: :math:`m < best - threshold`; ``'max'``
    mirrored), ``best = m`` and ``num_bad_epochs = 0``, else ``num_bad_epochs += 1``;
  * when ``num_bad_epochs > patience``: ``cooldown_counter = cooldown``, ``num_bad_epochs = 0`` and
    :math:`\eta' = \max(\eta \cdot factor, min\_lr)`, applied only if :math:`\eta - \eta' > epsilon`.

  ``update`` without ``metric`` (or ``metric=None``) is an update inside an epoch: it is scaled by the
  current rate and the plateau state does not move. Calling a jitted update both with and without a
  metric traces it twice. The metric must hold a single number; it is compared in float32 (Paddle:
  float64), so ties closer than float32 resolution may go the other way.

  Exact equivalents of Paddle's optimizer with this scheduler:

  * ``paddle.optimizer.RMSProp(momentum=0)``:
    ``optax.chain(oj.paddle.rmsprop(1.0, ...), reduce_on_plateau(lr, ...))``;
  * with momentum, where Paddle's rate enters the momentum buffer:
    ``optax.chain(oj.scale_by_rms_paddle(rho, epsilon), reduce_on_plateau(lr, ...),
    optax.scale(-1.0), oj.trace(momentum))``.

  Differences from ``optax.contrib.reduce_on_plateau``: that one multiplies by a relative scale
  (starting at 1) and takes the loss as ``value=``; it reduces when the plateau count *reaches*
  ``patience`` (Paddle: exceeds it), keeps tracking the best value during cooldown (Paddle ignores
  the metric), has only a ``'min'`` mode with ``rtol``/``atol`` relative to the best value, a relative
  ``min_scale``, no ``epsilon``, and can average the value over several updates
  (``accumulation_size``). Differences from ``torch.optim.lr_scheduler.ReduceLROnPlateau``: PyTorch
  also updates ``best`` during cooldown.

  Args:
    learning_rate: the initial rate :math:`\eta`, a float or int or a scalar array (TypeError
      otherwise, as Paddle); a number must be finite and >= 0 (ValueError otherwise).
    mode: ``'min'`` (the metric should go down) or ``'max'``, in any letter case (ValueError
      otherwise).
    factor: the rate is multiplied by it on a plateau, a number or a scalar array (TypeError
      otherwise); a number must be < 1 (ValueError otherwise, as Paddle) and >= 0 (ValueError).
    patience: bad epochs tolerated before a reduction, an int >= 0 (TypeError, ValueError otherwise);
      one beyond int32 is never exceeded.
    threshold: how much better a metric must be to count as an improvement, a number or a scalar
      array (TypeError otherwise); a number must be finite (ValueError otherwise).
    threshold_mode: ``'rel'`` (relative to ``best``) or ``'abs'``, in any letter case (ValueError
      otherwise).
    cooldown: epochs after a reduction during which the metric is ignored, an int >= 0 (TypeError,
      ValueError otherwise); one beyond int32 is held at 2**31 - 1.
    min_lr: the rate never goes below it, a number or a scalar array (TypeError otherwise); a
      number must be finite and >= 0 (ValueError otherwise).
    epsilon: a reduction smaller than this is not applied, a number or a scalar array (TypeError
      otherwise); a number must be finite and >= 0 (ValueError otherwise).

  Returns:
    An ``optax.GradientTransformationExtraArgs``; ``update`` takes the keyword ``metric=``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.schedules.reduce_on_plateau(0.1, patience=0)
    >>> g, state = jnp.ones(1), tx.init(jnp.zeros(1))
    >>> for m in (1.0, 2.0, 2.0):
    ...   u, state = tx.update(g, state, metric=m)
    >>> round(float(state.learning_rate), 6), round(float(u[0]), 6)
    (0.001, 0.01)

  References:
    ``paddle.optimizer.lr.ReduceOnPlateau`` (Paddle 3.3).
  """
  mode_l = mode.lower() if isinstance(mode, str) else mode
  if mode_l not in ("min", "max"):
    raise ValueError(f"mode: {mode!r} is unknown! Expected 'min' or 'max'.")
  _validation.hyperparameter("factor", factor, hi=1.0, hi_open=True)  # Paddle's ValueError first
  _validation.in_range("factor", factor, lo=0.0, hi=1.0, hi_open=True)
  tmode = threshold_mode.lower() if isinstance(threshold_mode, str) else threshold_mode
  if tmode not in ("rel", "abs"):
    raise ValueError(f"threshold mode: {threshold_mode!r} is unknown! Expected 'rel' or 'abs'.")
  if not (_validation.is_real(learning_rate) or isinstance(learning_rate, (jax.Array, np.ndarray))):
    raise TypeError(
      f"The type of 'learning_rate' in 'ReduceOnPlateau' must be 'float', but received "
      f"{type(learning_rate).__name__} {learning_rate!r}."
    )
  _validation.hyperparameter("learning_rate", learning_rate, lo=0.0)
  _validation.finite("learning_rate", learning_rate, float32=True)
  for name, value in (("patience", patience), ("cooldown", cooldown)):
    _validation.integer(name, value, lo=0)
  _validation.hyperparameter("threshold", threshold)
  _validation.finite("threshold", threshold, float32=True)
  _validation.hyperparameter("min_lr", min_lr, lo=0.0)
  _validation.finite("min_lr", min_lr, float32=True)
  _validation.hyperparameter("epsilon", epsilon, lo=0.0)
  _validation.finite("epsilon", epsilon, float32=True)
  # int32 counters: a patience or cooldown beyond int32 is one no count reaches, as int32's end
  patience, cooldown = (min(v, c.I32_MAX) if _validation.is_int(v) else v for v in (patience, cooldown))

  def is_better(m, best):
    thr = _base.hyper(threshold, c.F32)
    if mode_l == "min":
      return m < (best - best * thr if tmode == "rel" else best - thr)
    return m > (best + best * thr if tmode == "rel" else best + thr)

  def init_fn(params):
    del params
    zero = jnp.zeros([], c.I32)
    return ReduceOnPlateauState(
      learning_rate=_base.hyper(learning_rate, c.F32),
      best=jnp.zeros([], c.F32),
      num_bad_epochs=zero,
      cooldown_counter=zero,
      last_epoch=zero,
    )

  def end_of_epoch(state, metric):
    m = jnp.asarray(metric)
    if m.size != 1:
      raise AssertionError(
        f"the size of metric must be 1, but it has shape {m.shape}: reduce it to a scalar first."
      )
    m = m.reshape(()).astype(c.F32)
    cooling = state.cooldown_counter > 0
    better = (state.last_epoch == 0) | is_better(m, state.best)
    best = jnp.where(cooling | ~better, state.best, m)
    bad = jnp.where(
      cooling, state.num_bad_epochs, jnp.where(better, 0, optax.safe_increment(state.num_bad_epochs))
    )
    reduce = ~cooling & (bad > _base.hyper(patience, c.I32))
    lr = state.learning_rate
    new_lr = jnp.maximum(lr * _base.hyper(factor, c.F32), _base.hyper(min_lr, c.F32))
    lr = jnp.where(reduce & (lr - new_lr > _base.hyper(epsilon, c.F32)), new_lr, lr)
    cool = jnp.where(cooling, state.cooldown_counter - 1, state.cooldown_counter)
    cool = jnp.where(reduce, _base.hyper(cooldown, c.I32), cool)
    return ReduceOnPlateauState(
      learning_rate=lr,
      best=best,
      num_bad_epochs=jnp.where(reduce, 0, bad).astype(c.I32),
      cooldown_counter=cool.astype(c.I32),
      last_epoch=optax.safe_increment(state.last_epoch),
    )

  def update_fn(updates, state, params=None, *, metric=None, **extra_args):
    del params, extra_args

    def scale(g):
      cd = _base.compute_dtype(g.dtype)
      return (g.astype(cd) * state.learning_rate.astype(cd)).astype(g.dtype)

    updates = jax.tree.map(scale, updates)
    if metric is not None:
      state = end_of_epoch(state, metric)
    return updates, state

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)
