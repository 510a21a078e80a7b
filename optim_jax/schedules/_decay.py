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

_I32_MAX = c.I32_MAX


def _int_boundary(b: Any) -> int | None:
  """For an integer count e, ``e < b`` is ``e < ceil(b)``: that int, clipped below to the int32 range;
  None for a boundary beyond every int32 count (a huge int, or +inf), which no count reaches."""
  if b > _I32_MAX:
    return None
  return -_I32_MAX if b <= -_I32_MAX else math.ceil(b)


def step_decay(learning_rate: float, step_size: int, gamma: float = 0.1) -> optax.Schedule:
  r"""``paddle.optimizer.lr.StepDecay``: :math:`\eta_0\, \gamma^{\lfloor e / s \rfloor}`.

  The rate at update count :math:`e` (0 for the first update) is multiplied by :math:`\gamma` =
  ``gamma`` every :math:`s` = ``step_size`` counts, starting from :math:`\eta_0` = ``learning_rate``.

  Args:
    learning_rate: the initial learning rate :math:`\eta_0`, a float or int >= 0 (TypeError,
      ValueError otherwise).
    step_size: :math:`s`, an int (TypeError otherwise) > 0 (AssertionError otherwise, as Paddle);
      beyond int32 the rate never steps.
    gamma: :math:`\gamma`, a float or int (TypeError otherwise) in [0, 1) (ValueError otherwise; Paddle
      checks < 1 only, and a negative gamma gives rates of alternating sign).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.step_decay(0.5, step_size=2)
    >>> [round(float(s(e)), 4) for e in range(5)]
    [0.5, 0.5, 0.05, 0.05, 0.005]

  References:
    ``paddle.optimizer.lr.StepDecay`` (Paddle 3.3).
  """
  if not _validation.is_int(step_size):
    raise TypeError(
      f"The type of 'step_size' must be 'int', but received {type(step_size).__name__} {step_size!r}."
    )
  _validation.real("gamma", gamma)
  _validation.check(gamma < 1.0, "gamma", gamma, "gamma < 1.0")
  _validation.check(step_size > 0, "step_size", step_size, "a positive integer", exc=AssertionError)
  _validation.scheduler_rate("learning_rate", learning_rate)
  _validation.in_range("gamma", gamma, lo=0.0, hi=1.0, hi_open=True)  # < 0: rates of alternating sign
  lr0, g, s = float(learning_rate), float(gamma), int(step_size)

  def schedule(count):
    e = c.count_i32(count)
    return c.scaled_power(lr0, g, e // s if s <= _I32_MAX else jnp.zeros_like(e))  # s > int32: never steps

  return schedule


def multi_step_decay(learning_rate: float, milestones: Sequence[int], gamma: float = 0.1) -> optax.Schedule:
  r"""``paddle.optimizer.lr.MultiStepDecay``: :math:`\eta_0\, \gamma^{\#\{m \le e\}}` over the milestones m.

  At update count :math:`e` (0 for the first update) the rate is :math:`\eta_0` = ``learning_rate``
  times :math:`\gamma` = ``gamma`` to the number of milestones :math:`m \le e`.

  Args:
    learning_rate: the initial learning rate :math:`\eta_0`, a float or int >= 0 (TypeError,
      ValueError otherwise).
    milestones: a list or tuple (TypeError otherwise), strictly increasing (ValueError otherwise), of
      the counts at which the rate is multiplied by ``gamma`` (it applies from that count on; a
      fractional milestone acts as its ceiling), each a float or int (TypeError otherwise) and not NaN
      (ValueError); one beyond every int32 count, or inf, is never reached.
    gamma: :math:`\gamma`, a float or int (TypeError otherwise) in [0, 1) (ValueError otherwise; Paddle
      checks < 1 only).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.multi_step_decay(1.0, milestones=[2, 4], gamma=0.5)
    >>> [round(float(s(e)), 4) for e in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]

  References:
    ``paddle.optimizer.lr.MultiStepDecay`` (Paddle 3.3).
  """
  if not isinstance(milestones, (tuple, list)):
    raise TypeError(
      "The type of 'milestones' in 'MultiStepDecay' must be 'tuple, list', "
      f"but received {type(milestones).__name__}."
    )
  _validation.real_sequence("milestones", milestones, allow_inf=True)  # inf: never reached
  if not all(milestones[i] < milestones[i + 1] for i in range(len(milestones) - 1)):
    raise ValueError(f"The elements of milestones must be strictly increasing, got {list(milestones)!r}.")
  _validation.real("gamma", gamma)
  _validation.check(gamma < 1.0, "gamma", gamma, "gamma < 1.0")
  _validation.scheduler_rate("learning_rate", learning_rate)
  _validation.in_range("gamma", gamma, lo=0.0, hi=1.0, hi_open=True)  # < 0: rates of alternating sign
  lr0, g = float(learning_rate), float(gamma)
  # increasing, so the milestones no int32 count reaches are the last ones: they never count
  bounds = np.array([b for b in map(_int_boundary, milestones) if b is not None], np.int32)
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
    boundaries: a non-empty list or tuple of counts (TypeError otherwise, ValueError if empty; a
      fractional boundary acts as its ceiling), each a float or int (TypeError otherwise) and not NaN
      (ValueError); one beyond every int32 count, or inf, is never passed.
    values: a list or tuple (TypeError otherwise) of at least ``len(boundaries) + 1`` learning rates
      (ValueError otherwise), each a float or int (TypeError otherwise), finite and >= 0 (ValueError
      otherwise).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.piecewise_decay(boundaries=[2, 4], values=[1.0, 0.5, 0.1])
    >>> [round(float(s(e)), 4) for e in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]

  References:
    ``paddle.optimizer.lr.PiecewiseDecay`` (Paddle 3.3).
  """
  boundaries = _validation.real_sequence("boundaries", boundaries, allow_inf=True)  # inf: never reached
  values = _validation.real_sequence("values", values, float32=True, lo=0.0)  # learning rates
  if len(boundaries) == 0:
    raise ValueError("The boundaries cannot be empty.")
  if len(values) <= len(boundaries):
    raise ValueError(
      f"values needs one more element than boundaries, but received len(values) = {len(values)} and "
      f"len(boundaries) = {len(boundaries)}."
    )
  ints = [_int_boundary(b) for b in boundaries]
  bounds = np.array([_I32_MAX if b is None else b for b in ints], np.int32)
  never = np.array([b is None for b in ints])  # beyond every int32 count: always below it
  table = np.array([*values[: len(boundaries)], values[-1]], np.float32)

  def schedule(count):
    e = c.count_i32(count)
    below = e[..., None] < bounds
    if never.any():
      below = below | never
    below = jnp.concatenate([below, jnp.ones(below.shape[:-1] + (1,), bool)], axis=-1)
    return jnp.asarray(table)[jnp.argmax(below, axis=-1)]

  return schedule


def natural_exp_decay(learning_rate: float, gamma: float) -> optax.Schedule:
  r"""``paddle.optimizer.lr.NaturalExpDecay``: :math:`\eta_0\, e^{-\gamma e}`.

  The base is Euler's number and the exponent holds the update count :math:`e` (0 for the first
  update); :math:`\eta_0` = ``learning_rate`` and :math:`\gamma` = ``gamma``.

  Args:
    learning_rate: the initial learning rate :math:`\eta_0`, a float or int >= 0 (TypeError,
      ValueError otherwise).
    gamma: the decay rate :math:`\gamma`, a float or int (TypeError otherwise) > 0 (AssertionError
      otherwise, as Paddle) and finite (ValueError otherwise).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.natural_exp_decay(1.0, gamma=0.5)
    >>> [round(float(s(e)), 4) for e in range(4)]
    [1.0, 0.6065, 0.3679, 0.2231]

  References:
    ``paddle.optimizer.lr.NaturalExpDecay`` (Paddle 3.3).
  """
  _validation.real("gamma", gamma)
  _validation.check(
    gamma > 0.0, "gamma", gamma, "gamma > 0 so that the learning rate decays", exc=AssertionError
  )
  _validation.scheduler_rate("learning_rate", learning_rate)
  _validation.finite("gamma", gamma)
  lr0, base = float(learning_rate), math.exp(-float(gamma))

  def schedule(count):
    return c.scaled_power(lr0, base, c.count_i32(count))

  return schedule


def inverse_time_decay(learning_rate: float, gamma: float) -> optax.Schedule:
  r"""``paddle.optimizer.lr.InverseTimeDecay``: :math:`\eta_0 / (1 + \gamma e)`.

  :math:`e` is the update count (0 for the first update), :math:`\eta_0` = ``learning_rate`` and
  :math:`\gamma` = ``gamma``.

  Args:
    learning_rate: the initial learning rate :math:`\eta_0`, a float or int >= 0 (TypeError,
      ValueError otherwise).
    gamma: the decay rate :math:`\gamma`, a float or int (TypeError otherwise), finite in float32
      (ValueError otherwise); the sign is not checked, as in Paddle: a negative gamma grows the rate
      up to a pole at :math:`e = -1/\gamma` (Paddle: ZeroDivisionError there; here inf or NaN) and
      makes it negative after.

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.inverse_time_decay(1.0, gamma=0.5)
    >>> [round(float(s(e)), 4) for e in range(4)]
    [1.0, 0.6667, 0.5, 0.4]

  References:
    ``paddle.optimizer.lr.InverseTimeDecay`` (Paddle 3.3).
  """
  _validation.real("gamma", gamma)
  _validation.scheduler_rate("learning_rate", learning_rate)
  _validation.finite("gamma", gamma, float32=True)
  lr0, g = float(learning_rate), float(gamma)

  def schedule(count):
    denom = c.df_add(c.df_mul(c.df_int(c.count_i32(count)), c.df(g)), c.df(1.0))
    # a denominator beyond float32 (gamma e > 3.4e38) is a rate of 0, not inf / inf
    return jnp.where(jnp.isinf(denom[0]), c.f32(0.0), c.df_round(c.df_div(c.df(lr0), denom)))

  return schedule


def polynomial_decay(
  learning_rate: float, decay_steps: int, end_lr: float = 0.0001, power: float = 1.0, cycle: bool = False
) -> optax.Schedule:
  r"""``paddle.optimizer.lr.PolynomialDecay``: a polynomial decay from ``learning_rate`` to ``end_lr``.

  .. math::
    \eta_e = (\eta_0 - \eta_{end}) (1 - \min(e, D) / D)^p + \eta_{end}

  at update count :math:`e` (0 for the first update), with :math:`\eta_0` = ``learning_rate``,
  :math:`\eta_{end}` = ``end_lr``, :math:`D` = ``decay_steps`` and :math:`p` = ``power``. With ``cycle=True``
  :math:`D` becomes :math:`D' = D \lceil e / D \rceil` (:math:`D` at :math:`e = 0`) and the rate is
  :math:`(\eta_0 - \eta_{end}) (1 - e / D')^p + \eta_{end}`: after each multiple of :math:`D` it jumps up and
  decays to :math:`\eta_{end}` again at the next multiple. optax.polynomial_schedule has no cycle; the ceiling
  is taken with integer arithmetic, and :math:`1 - e/D` as an integer difference over :math:`D` (no NaN for
  ``power < 1`` at :math:`e = D`). The power is taken in double-float arithmetic (products for an integer
  power, ``exp(p log x)`` otherwise), not with float32 ``pow``, whose ulp or two of error
  :math:`(\eta_0 - \eta_{end}) x^p + \eta_{end}` magnifies when ``end_lr > learning_rate``.

  Args:
    learning_rate: :math:`\eta_0`, a float or int >= 0 (TypeError, ValueError otherwise).
    decay_steps: :math:`D`, a positive int (AssertionError otherwise, as Paddle).
    end_lr: :math:`\eta_{end}`, a float or int (TypeError otherwise), finite and >= 0 (ValueError
      otherwise).
    power: :math:`p`, a float or int (TypeError otherwise) > 0 (AssertionError otherwise, as Paddle),
      finite in float32 (ValueError otherwise).
    cycle: restart the decay every ``decay_steps``: True or False (TypeError otherwise).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.polynomial_decay(1.0, decay_steps=4, end_lr=0.0, power=2.0)
    >>> [round(float(s(e)), 4) for e in range(6)]
    [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    >>> s = oj.schedules.polynomial_decay(1.0, decay_steps=2, end_lr=0.0, cycle=True)
    >>> [round(float(s(e)), 4) for e in range(6)]  # D' = 2, 2, 2, 4, 4, 6
    [1.0, 0.5, 0.0, 0.25, 0.0, 0.1667]

  References:
    ``paddle.optimizer.lr.PolynomialDecay`` (Paddle 3.3).
  """
  _validation.scheduler_int("decay_steps", decay_steps)
  _validation.real("end_lr", end_lr)
  _validation.real("power", power)
  _validation.check(
    power > 0.0, "power", power, "power > 0 so that the learning rate decays", exc=AssertionError
  )
  _validation.scheduler_rate("learning_rate", learning_rate)
  _validation.scheduler_rate("end_lr", end_lr)
  _validation.finite("power", power, float32=True)
  _validation.flag("cycle", cycle)
  _validation.finite("decay_steps", decay_steps, float32=True)
  d, p32 = int(decay_steps), c.f32(power)
  dp = c.f32(float(power) - float(p32))
  amp, end = float(learning_rate) - float(end_lr), float(end_lr)
  n_pow = int(power) if float(power).is_integer() and 1 <= float(power) <= 64 else None

  def schedule(count):
    e = c.count_i32(count)
    if d > _I32_MAX:  # no int32 count reaches D (nor a second cycle): (D - e) / D
      num, den = c.df_int_sub(d, e), c.df(d)
    elif cycle:  # D' - e = D - e mod D (0 on a multiple, D at 0); D' = e + (D' - e) may pass int32
      r = e % d
      num = c.df_int(jnp.where(r == 0, jnp.where(e == 0, d, 0), d - r))
      den = c.df_add(c.df_int(e), num)
    else:
      num, den = c.df_int(d - jnp.minimum(e, d)), c.df_int(jnp.full_like(e, d))
    hi, lo = c.df_div(num, den)
    if n_pow is None:  # float32 pow is off by an ulp or two, which amp * x**p + end can magnify
      return c.affine(amp, c.pow_df((hi, lo), (p32, dp)), end)
    acc, base, k = None, (hi, lo), n_pow  # an integer power: double-float products
    while k:
      if k & 1:
        acc = base if acc is None else c.df_mul(acc, base)
      k >>= 1
      if k:
        base = c.df_mul(base, base)
    return c.affine(amp, acc, end)

  return schedule


def exponential_decay(learning_rate: float, gamma: float) -> optax.Schedule:
  r"""``paddle.optimizer.lr.ExponentialDecay``: :math:`\eta_0\, \gamma^e`.

  :math:`e` is the update count (0 for the first update), :math:`\eta_0` = ``learning_rate`` and
  :math:`\gamma` = ``gamma``. :math:`\gamma^e` is computed from the float64 ``gamma`` (not rounded to
  float32 first).

  Args:
    learning_rate: the initial learning rate :math:`\eta_0`, a float or int >= 0 (TypeError,
      ValueError otherwise).
    gamma: the factor :math:`\gamma` per update, a float or int (TypeError otherwise) in (0, 1)
      (AssertionError otherwise, as Paddle).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.exponential_decay(1.0, gamma=0.5)
    >>> [round(float(s(e)), 4) for e in range(4)]
    [1.0, 0.5, 0.25, 0.125]

  References:
    ``paddle.optimizer.lr.ExponentialDecay`` (Paddle 3.3).
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
  r"""``paddle.optimizer.lr.NoamDecay`` (Vaswani et al. 2017): linear warmup, then :math:`e^{-1/2}`.

  .. math::
    s(e) = \eta_0\, d^{-1/2} \min(a_e,\ e\, w^{-3/2}), \qquad a_e = e^{-1/2}\ (a_0 = 1)

  at update count :math:`e` (0 for the first update), with :math:`\eta_0` = ``learning_rate``,
  :math:`d` = ``d_model`` and :math:`w` = ``warmup_steps``. So :math:`s(0) = 0`, as in Paddle: the
  first update does not move the parameters.

  Args:
    d_model: :math:`d`, a float or int (TypeError otherwise) > 0 and finite (ValueError otherwise),
      with :math:`\eta_0 d^{-1/2}` within float32's range (ValueError otherwise).
    warmup_steps: :math:`w`, a float or int (TypeError otherwise) > 0 and finite (Paddle raises
      ZeroDivisionError for 0 and returns complex numbers for negative values; here both are
      ValueError), with :math:`\eta_0 d^{-1/2} w^{-3/2}` within float32's range (ValueError otherwise).
    learning_rate: :math:`\eta_0`, a float or int >= 0 (TypeError, ValueError otherwise).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.noam_decay(d_model=4, warmup_steps=2)
    >>> [round(float(s(e)), 4) for e in range(4)]  # 0.5 * min(e**-0.5, e * 2**-1.5)
    [0.0, 0.1768, 0.3536, 0.2887]

  References:
    Vaswani et al., Attention Is All You Need, NeurIPS 2017;
    ``paddle.optimizer.lr.NoamDecay`` (Paddle 3.3).
  """
  _validation.real("d_model", d_model)
  _validation.check(d_model > 0, "d_model", d_model, "d_model > 0")
  _validation.real("warmup_steps", warmup_steps)
  _validation.check(warmup_steps > 0, "warmup_steps", warmup_steps, "warmup_steps > 0")
  _validation.scheduler_rate("learning_rate", learning_rate)
  _validation.finite("d_model", d_model)
  _validation.finite("warmup_steps", warmup_steps)
  scale = float(learning_rate) * float(d_model) ** -0.5
  try:
    slope = scale * float(warmup_steps) ** -1.5 if scale else 0.0
  except OverflowError:
    slope = math.inf
  big = float(np.finfo(np.float32).max)
  _validation.check(
    scale <= big, "d_model", d_model, f"learning_rate * d_model**-0.5 (= {scale:.4g}) <= {big:.4g} (float32)"
  )
  _validation.check(
    slope <= big, "warmup_steps", warmup_steps,
    f"learning_rate * d_model**-0.5 * warmup_steps**-1.5 (= {slope:.4g}) <= {big:.4g} (float32)",
  )  # fmt: skip

  def schedule(count):
    e = c.count_i32(count)
    ef = e.astype(c.F32)
    rising = c.df_mul(c.df_int(e), c.df(slope))
    x = jnp.maximum(ef, 1.0)  # a_0 = 1; the min then picks the rising part, 0
    root = jnp.sqrt(x)
    p, err = c.two_prod(root, root)
    root_df = (root, ((x - p) - err) / (2 * root))  # one Newton step: sqrt(x) as a float32 pair
    falling = c.df_div(c.df(scale), root_df)
    return jnp.minimum(c.df_round(falling), c.df_round(rising))

  return schedule
