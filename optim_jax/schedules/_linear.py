"""Paddle's ``LinearLR`` and ``LinearWarmup``, and per-epoch stepping of any schedule."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax

from optim_jax import _validation
from optim_jax.schedules import _common as c


def linear_lr(
  learning_rate: float, total_steps: int, start_factor: float = 1.0 / 3, end_factor: float = 1.0
) -> optax.Schedule:
  r"""``paddle.optimizer.lr.LinearLR``: the factor goes linearly from ``start_factor`` to ``end_factor``.

  .. math::
    \eta_e = \eta_0 \bigl(f_s + (f_e - f_s) \min(e, N) / N\bigr)

  at update count :math:`e` (0 for the first update), with :math:`\eta_0` = ``learning_rate``,
  :math:`N` = ``total_steps``, :math:`f_s` = ``start_factor`` and :math:`f_e` = ``end_factor``.
  Paddle computes it by a recursion on the previous rate; this is its closed form (equal to
  float64 rounding on every count Paddle can reach by stepping). For a non-integer ``total_steps``
  the rate stops at the last count :math:`\le N`, as Paddle's recursion does.

  Args:
    learning_rate: :math:`\eta_0`, a float or int >= 0 (TypeError, ValueError otherwise).
    total_steps: :math:`N`, a float or int (TypeError otherwise) > 0 and finite (ValueError
      otherwise); beyond int32 the rate is still rising at the count's end.
    start_factor: :math:`f_s`, a float or int (TypeError otherwise) in (0, 1] (ValueError
      otherwise).
    end_factor: :math:`f_e`, a float or int (TypeError otherwise) in [0, 1] (ValueError otherwise).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.linear_lr(1.0, total_steps=4, start_factor=0.5)
    >>> [round(float(s(e)), 4) for e in range(6)]
    [0.5, 0.625, 0.75, 0.875, 1.0, 1.0]

  References:
    ``paddle.optimizer.lr.LinearLR`` (Paddle 3.3).
  """
  _validation.real("start_factor", start_factor)
  _validation.check(0.0 < start_factor <= 1.0, "start_factor", start_factor, "0 < start_factor <= 1")
  _validation.real("end_factor", end_factor)
  _validation.check(0.0 <= end_factor <= 1.0, "end_factor", end_factor, "0 <= end_factor <= 1")
  _validation.real("total_steps", total_steps)
  _validation.check(total_steps > 0, "total_steps", total_steps, "total_steps > 0")
  _validation.finite("total_steps", total_steps)
  _validation.scheduler_rate("learning_rate", learning_rate)
  lr0, n = float(learning_rate), float(total_steps)
  last = min(math.floor(n), c.I32_MAX)
  start, stop, slope = lr0 * start_factor, lr0 * end_factor, lr0 * (end_factor - start_factor) / n

  def schedule(count):
    k = jnp.minimum(c.count_i32(count), last)
    m = k.astype(c.F32)
    # from the nearer end, so a rate that decays to 0 keeps its relative accuracy there; the count
    # as an exact float32 pair (rounded to float32, 2**31 - 1 would pass N = 2**31 - 1: below 0)
    rest = c.df_add(c.df(n), c.df_neg(c.df_int(k)))
    return jnp.where(2 * m <= c.f32(n), c.affine(slope, c.df_int(k), start), c.affine(-slope, rest, stop))

  return schedule


def linear_warmup(
  learning_rate: float | optax.Schedule, warmup_steps: int, start_lr: float, end_lr: float
) -> optax.Schedule:
  r"""``paddle.optimizer.lr.LinearWarmup``: a linear ramp, then a constant or another schedule.

  .. math::
    \eta_e = \begin{cases}
      s + (t - s)\, e / W & e < W \\
      \text{learning\_rate}(e - W) & e \ge W
    \end{cases}

  at update count :math:`e` (0 for the first update), with :math:`W` = ``warmup_steps``, :math:`s` =
  ``start_lr`` and :math:`t` = ``end_lr``; a constant ``learning_rate`` is used as is after the warmup.
  The wrapped schedule restarts from its count 0 at the end of the warmup, as Paddle does
  (Paddle steps the inner scheduler with ``step(e - W)``). Equal to
  ``optax.join_schedules([optax.linear_schedule(s, t, W), inner], [W])``. One Paddle quirk is not
  reproduced: its ``CosineAnnealingWarmRestarts.step(epoch)`` finds the cycle with a float log,
  which can pick the previous cycle at an exact restart (T_0=5, T_mult=3: epoch 605); the inner
  schedule here is the consecutively stepped one.

  Args:
    learning_rate: a float or int, finite and >= 0 (ValueError otherwise; Paddle does not check
      it), or a schedule to run after the warmup (TypeError otherwise).
    warmup_steps: :math:`W`, a positive int (AssertionError otherwise, as Paddle); beyond int32 the
      warmup never ends.
    start_lr: :math:`s`, a float or int (TypeError otherwise) >= 0 and finite (ValueError otherwise).
    end_lr: :math:`t`, a float or int (TypeError otherwise) > ``start_lr`` (AssertionError
      otherwise, as Paddle) and finite (ValueError otherwise).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> after = oj.schedules.step_decay(1.0, step_size=1, gamma=0.5)
    >>> s = oj.schedules.linear_warmup(after, warmup_steps=2, start_lr=0.0, end_lr=1.0)
    >>> [round(float(s(e)), 4) for e in range(5)]  # ramp 0, 0.5; then after(0), after(1), ...
    [0.0, 0.5, 1.0, 0.5, 0.25]

  References:
    ``paddle.optimizer.lr.LinearWarmup`` (Paddle 3.3).
  """
  if not (_validation.is_real(learning_rate) or callable(learning_rate)):
    raise TypeError(
      "the type of learning_rate should be [int, float or a schedule], the current type is "
      f"{type(learning_rate).__name__} {learning_rate!r}"
    )
  _validation.scheduler_int("warmup_steps", warmup_steps)
  _validation.real("start_lr", start_lr)
  _validation.real("end_lr", end_lr)
  _validation.check(
    end_lr > start_lr, "end_lr", end_lr, f"end_lr > start_lr (= {start_lr!r})", exc=AssertionError
  )
  _validation.scheduler_rate("start_lr", start_lr)
  _validation.scheduler_rate("end_lr", end_lr)
  if not callable(learning_rate):
    _validation.scheduler_rate("learning_rate", learning_rate)
  _validation.finite("warmup_steps", warmup_steps, float32=True)
  w = int(warmup_steps)
  start, rate = float(start_lr), (float(end_lr) - float(start_lr)) / w
  after = learning_rate if callable(learning_rate) else None
  const = None if after else c.f32(learning_rate)

  def schedule(count):
    e = c.count_i32(count)
    ramp = c.affine(rate, c.df_int(e), start)
    if w > c.I32_MAX:  # no int32 count ends the warmup
      return ramp
    rest = _each(after, jnp.maximum(e - w, 0)) if after else const
    return jnp.where(e < w, ramp, rest).astype(c.F32)

  return schedule


def per_epoch(schedule: float | optax.Schedule, steps_per_epoch: int) -> optax.Schedule:
  r"""Evaluates ``schedule`` at the epoch, ``count // steps_per_epoch``.

  .. math::
    \eta_e = \text{schedule}(\lfloor e / n \rfloor)

  at update count :math:`e` (0 for the first update), with :math:`n` = ``steps_per_epoch``; a constant
  ``schedule`` is returned as a constant float32 schedule. Paddle and PyTorch users call
  ``scheduler.step()`` once per epoch, so every update of epoch k uses the rate of count k.
  ``per_epoch(step_decay(0.1, 30), n)`` is the usual "multiply by 0.1 every 30 epochs" with ``n``
  updates per epoch.

  Args:
    schedule: a schedule of the epoch (mapped over a batch of counts, so one written for a single
      count works too), or a constant float or int (TypeError otherwise), finite and >= 0
      (ValueError otherwise).
    steps_per_epoch: :math:`n`, updates per epoch, a positive int (TypeError if not an int,
      ValueError if <= 0); beyond int32 every count is in epoch 0.

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.per_epoch(oj.schedules.step_decay(1.0, 1, 0.5), steps_per_epoch=3)
    >>> [float(s(e)) for e in range(7)]
    [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
  """
  _validation.positive_int("steps_per_epoch", steps_per_epoch)
  if not callable(schedule):
    _validation.real("schedule", schedule)
    _validation.scheduler_rate("schedule", schedule)
    value = c.f32(schedule)
    return lambda count: jnp.full(jnp.shape(count), value, c.F32)
  n = int(steps_per_epoch)

  def stepped(count):
    e = c.count_i32(count)
    return _each(schedule, e // n if n <= c.I32_MAX else jnp.zeros_like(e))  # n > int32: epoch 0 throughout

  return stepped


def _each(schedule: optax.Schedule, counts: jax.Array) -> jax.Array:
  """``schedule`` at every count of an int32 array, as float32 of the same shape.

  Mapped over a batch of counts, so a schedule written for one count (a user function, or one that
  returns a constant) works on a vector of counts like the others.
  """
  one = lambda k: c.as_f32(schedule(k))  # noqa: E731
  return jnp.vectorize(one)(counts) if counts.ndim else one(counts)
