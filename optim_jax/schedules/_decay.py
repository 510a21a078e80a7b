"""Paddle's monotone decays (``paddle.optimizer.lr``) as optax schedules of the update count."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _validation
from optim_jax.schedules import _common as c

_I32_MAX = np.iinfo(np.int32).max


def _int_boundary(b: Any) -> int:
  """For an integer count e, ``e < b`` is ``e < ceil(b)``; clipped to the int32 range."""
  return int(np.clip(math.ceil(float(b)), -_I32_MAX, _I32_MAX))


def step_decay(learning_rate: float, step_size: int, gamma: float = 0.1) -> optax.Schedule:
  r"""``paddle.optimizer.lr.StepDecay``: :math:`\eta_0\, \gamma^{\lfloor e / s \rfloor}`.

  Args:
    learning_rate: the initial learning rate :math:`\eta_0`, >= 0.
    step_size: :math:`s`, a positive int: the rate is multiplied by ``gamma`` every ``step_size``.
    gamma: the factor, < 1.

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.step_decay(0.5, step_size=2)
    >>> [round(float(s(e)), 4) for e in range(5)]
    [0.5, 0.5, 0.05, 0.05, 0.005]
  """
  if not _validation.is_int(step_size):
    raise TypeError(
      f"The type of 'step_size' must be 'int', but received {type(step_size).__name__} {step_size!r}."
    )
  _validation.real("gamma", gamma)
  _validation.check(gamma < 1.0, "gamma", gamma, "gamma < 1.0")
  _validation.check(step_size > 0, "step_size", step_size, "a positive integer", exc=AssertionError)
  _validation.scheduler_rate("learning_rate", learning_rate)
  lr0, g, s = float(learning_rate), float(gamma), int(step_size)

  def schedule(count):
    return c.scaled_power(lr0, g, c.count_i32(count) // s)

  return schedule


def multi_step_decay(learning_rate: float, milestones: Sequence[int], gamma: float = 0.1) -> optax.Schedule:
  r"""``paddle.optimizer.lr.MultiStepDecay``: :math:`\eta_0\, \gamma^{\#\{m \le e\}}` over the milestones m.

  Args:
    learning_rate: the initial learning rate, >= 0.
    milestones: a strictly increasing list or tuple of counts at which the rate is multiplied by
      ``gamma`` (it applies from that count on).
    gamma: the factor, < 1.
  """
  if not isinstance(milestones, (tuple, list)):
    raise TypeError(
      "The type of 'milestones' in 'MultiStepDecay' must be 'tuple, list', "
      f"but received {type(milestones).__name__}."
    )
  if not all(milestones[i] < milestones[i + 1] for i in range(len(milestones) - 1)):
    raise ValueError(f"The elements of milestones must be strictly increasing, got {list(milestones)!r}.")
  _validation.real("gamma", gamma)
  _validation.check(gamma < 1.0, "gamma", gamma, "gamma < 1.0")
  _validation.scheduler_rate("learning_rate", learning_rate)
  lr0, g = float(learning_rate), float(gamma)
  bounds = np.array([_int_boundary(m) for m in milestones], np.int32)
  table = np.array([lr0 * g**i for i in range(len(milestones) + 1)], np.float32)

  def schedule(count):
    e = c.count_i32(count)
    i = jnp.sum(e[..., None] >= bounds, axis=-1) if len(bounds) else jnp.zeros_like(e)
    return jnp.asarray(table)[i]

  return schedule


def piecewise_decay(boundaries: Sequence[int], values: Sequence[float]) -> optax.Schedule:
  r"""``paddle.optimizer.lr.PiecewiseDecay``: ``values[i]`` for the first i with ``count < boundaries[i]``.

  Past every boundary the value is ``values[-1]`` (Paddle's rule, also when ``values`` has more than
  ``len(boundaries) + 1`` entries). The boundaries need not be sorted: the first one above the
  count wins, as in Paddle.

  Args:
    boundaries: a non-empty list of counts.
    values: at least ``len(boundaries) + 1`` learning rates.
  """
  if len(boundaries) == 0:
    raise ValueError("The boundaries cannot be empty.")
  if len(values) <= len(boundaries):
    raise ValueError(
      f"values needs one more element than boundaries, but received len(values) = {len(values)} and "
      f"len(boundaries) = {len(boundaries)}."
    )
  for v in values:
    _validation.real("values[i]", v)
  bounds = np.array([_int_boundary(b) for b in boundaries], np.int32)
  table = np.array([*values[: len(boundaries)], values[-1]], np.float32)

  def schedule(count):
    e = c.count_i32(count)
    below = e[..., None] < bounds
    below = jnp.concatenate([below, jnp.ones(below.shape[:-1] + (1,), bool)], axis=-1)
    return jnp.asarray(table)[jnp.argmax(below, axis=-1)]

  return schedule


def natural_exp_decay(learning_rate: float, gamma: float) -> optax.Schedule:
  r"""``paddle.optimizer.lr.NaturalExpDecay``: :math:`\eta_0\, e^{-\gamma e}`.

  Args:
    learning_rate: the initial learning rate, >= 0.
    gamma: the decay rate, > 0 (AssertionError otherwise, as Paddle).
  """
  _validation.real("gamma", gamma)
  _validation.check(
    gamma > 0.0, "gamma", gamma, "gamma > 0 so that the learning rate decays", exc=AssertionError
  )
  _validation.scheduler_rate("learning_rate", learning_rate)
  lr0, base = float(learning_rate), math.exp(-float(gamma))

  def schedule(count):
    return c.scaled_power(lr0, base, c.count_i32(count))

  return schedule


def inverse_time_decay(learning_rate: float, gamma: float) -> optax.Schedule:
  r"""``paddle.optimizer.lr.InverseTimeDecay``: :math:`\eta_0 / (1 + \gamma e)`.

  Args:
    learning_rate: the initial learning rate, >= 0.
    gamma: the decay rate (not checked, as in Paddle: a negative gamma grows the rate).
  """
  _validation.real("gamma", gamma)
  _validation.scheduler_rate("learning_rate", learning_rate)
  lr0, g = float(learning_rate), float(gamma)

  def schedule(count):
    denom = c.df_add(c.df_mul(c.df_of(c.count_i32(count).astype(c.F32)), c.df(g)), c.df(1.0))
    return c.df_round(c.df_div(c.df(lr0), denom))

  return schedule


def polynomial_decay(
  learning_rate: float, decay_steps: int, end_lr: float = 0.0001, power: float = 1.0, cycle: bool = False
) -> optax.Schedule:
  r"""``paddle.optimizer.lr.PolynomialDecay``.

  .. math::
    \eta_e = (\eta_0 - \eta_{end}) (1 - \min(e, D) / D)^p + \eta_{end}

  and with ``cycle=True`` :math:`D` becomes :math:`D \lceil e / D \rceil` (:math:`D` at :math:`e = 0`),
  so the decay restarts from :math:`\eta_0` after every multiple of :math:`D`:
  :math:`(\eta_0 - \eta_{end}) (1 - e / D')^p + \eta_{end}`. optax.polynomial_schedule has no cycle;
  the ceiling is taken with integer arithmetic, and :math:`1 - e/D` as an integer difference over
  :math:`D` (no NaN for ``power < 1`` at :math:`e = D`).

  Args:
    learning_rate: :math:`\eta_0`, >= 0.
    decay_steps: :math:`D`, a positive int.
    end_lr: :math:`\eta_{end}`.
    power: :math:`p`, > 0.
    cycle: restart the decay every ``decay_steps``.
  """
  _validation.scheduler_int("decay_steps", decay_steps)
  _validation.real("end_lr", end_lr)
  _validation.real("power", power)
  _validation.check(
    power > 0.0, "power", power, "power > 0 so that the learning rate decays", exc=AssertionError
  )
  _validation.scheduler_rate("learning_rate", learning_rate)
  d, p32 = int(decay_steps), c.f32(power)
  dp = c.f32(float(power) - float(p32))
  amp, end = float(learning_rate) - float(end_lr), float(end_lr)

  def schedule(count):
    e = c.count_i32(count)
    if cycle:
      den = d * jnp.maximum(e // d + (e % d != 0).astype(c.I32), 1)
      num = den - e
    else:
      den = jnp.full_like(e, d)
      num = d - jnp.minimum(e, d)
    hi, lo = c.df_div(c.df_of(num.astype(c.F32)), c.df_of(den.astype(c.F32)))
    # (hi + lo)**p = hi**p32 (1 + p lo / hi + (p - p32) log hi) to first order
    pw = jnp.power(hi, p32)
    safe = jnp.where(hi > 0, hi, 1.0)
    fix = jnp.where(hi > 0, p32 * lo / safe + dp * jnp.log(safe), 0.0)
    return c.affine(amp, (pw, pw * fix), end)

  return schedule


def exponential_decay(learning_rate: float, gamma: float) -> optax.Schedule:
  r"""``paddle.optimizer.lr.ExponentialDecay``: :math:`\eta_0\, \gamma^e`.

  Args:
    learning_rate: the initial learning rate, >= 0.
    gamma: the factor per update, in (0, 1) (AssertionError otherwise, as Paddle).
  """
  _validation.real("gamma", gamma)
  _validation.check(
    0.0 < gamma < 1.0, "gamma", gamma, "gamma in (0, 1) so that the learning rate decays", exc=AssertionError
  )
  _validation.scheduler_rate("learning_rate", learning_rate)
  lr0, g = float(learning_rate), float(gamma)

  def schedule(count):
    return c.scaled_power(lr0, g, c.count_i32(count))

  return schedule


def noam_decay(d_model: float, warmup_steps: int, learning_rate: float = 1.0) -> optax.Schedule:
  r"""``paddle.optimizer.lr.NoamDecay`` (Vaswani et al. 2017).

  .. math::
    \eta_e = \eta_0\, d^{-1/2} \min(a_e,\ e\, w^{-3/2}), \qquad a_e = e^{-1/2}\ (a_0 = 1)

  so :math:`\eta_0 = 0`, as in Paddle: the first update does not move the parameters.

  Args:
    d_model: :math:`d`, > 0 (ValueError otherwise).
    warmup_steps: :math:`w`, > 0 (Paddle raises ZeroDivisionError for 0 and returns complex numbers
      for negative values; here both are ValueError).
    learning_rate: :math:`\eta_0`, >= 0.
  """
  _validation.real("d_model", d_model)
  _validation.check(d_model > 0, "d_model", d_model, "d_model > 0")
  _validation.real("warmup_steps", warmup_steps)
  _validation.check(warmup_steps > 0, "warmup_steps", warmup_steps, "warmup_steps > 0")
  _validation.scheduler_rate("learning_rate", learning_rate)
  scale = float(learning_rate) * float(d_model) ** -0.5
  slope = scale * float(warmup_steps) ** -1.5

  def schedule(count):
    ef = c.count_i32(count).astype(c.F32)
    rising = c.df_mul(c.df_of(ef), c.df(slope))
    x = jnp.maximum(ef, 1.0)  # a_0 = 1; the min then picks the rising part, 0
    root = jnp.sqrt(x)
    p, err = c.two_prod(root, root)
    root_df = (root, ((x - p) - err) / (2 * root))  # one Newton step: sqrt(x) as a float32 pair
    falling = c.df_div(c.df(scale), root_df)
    return jnp.minimum(c.df_round(falling), c.df_round(rising))

  return schedule
