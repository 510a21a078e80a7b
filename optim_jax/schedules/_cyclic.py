"""Paddle's periodic and phased schedules: cosine annealing, warm restarts, one-cycle, cyclic.

Each reduces its phase on the integer count first (count mod period, or the cycle found by integer
comparisons), so the float32 value keeps its accuracy at any count, not only in the first periods.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _validation
from optim_jax.schedules import _common as c

_I32_MAX = int(np.iinfo(np.int32).max)


def cosine_annealing_decay(learning_rate: float, T_max: int, eta_min: float = 0) -> optax.Schedule:  # noqa: N803
  r"""``paddle.optimizer.lr.CosineAnnealingDecay`` (SGDR without restarts; periodic, as Paddle).

  .. math::
    \eta_e = \eta_{min} + (\eta_0 - \eta_{min}) \frac{1 + \cos(\pi e / T_{max})}{2}

  at update count :math:`e` (0 for the first update), with :math:`\eta_0` = ``learning_rate``,
  :math:`\eta_{min}` = ``eta_min`` and :math:`T_{max}` = ``T_max``. It holds for every count: after
  :math:`T_{max}` the rate rises again (period :math:`2 T_{max}`), as in Paddle and
  ``torch.optim.lr_scheduler.CosineAnnealingLR``. ``optax.cosine_decay_schedule`` equals it only up
  to :math:`T_{max}` and then stays at :math:`\eta_{min}`.

  Args:
    learning_rate: :math:`\eta_0`, a float or int >= 0 (TypeError, ValueError otherwise).
    T_max: half the period, a positive int (TypeError if not an int, AssertionError if <= 0); any
      size (beyond :math:`2^{30}` the first period holds every int32 count).
    eta_min: :math:`\eta_{min}`, the lowest rate, a float or int (TypeError otherwise), finite and >= 0
      (ValueError otherwise).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.cosine_annealing_decay(1.0, T_max=2)
    >>> [round(float(s(e)), 4) for e in range(5)]
    [1.0, 0.5, 0.0, 0.5, 1.0]

  References:
    Loshchilov and Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017;
    ``paddle.optimizer.lr.CosineAnnealingDecay`` (Paddle 3.3).
  """
  if not _validation.is_int(T_max):
    raise TypeError(
      f"The type of 'T_max' in 'CosineAnnealingDecay' must be 'int', but received {type(T_max).__name__}."
    )
  _validation.real("eta_min", eta_min)
  _validation.check(T_max > 0, "T_max", T_max, "a positive integer", exc=AssertionError)
  _validation.scheduler_rate("learning_rate", learning_rate)
  _validation.scheduler_rate("eta_min", eta_min)
  _validation.finite("T_max", T_max, float32=True)
  t = int(T_max)
  lo, amp = float(eta_min), float(learning_rate) - float(eta_min)
  step = c.df(math.pi / (2 * t))
  half, rest = c.halves(t)

  def schedule(count):
    e = c.count_i32(count)
    if 2 * t <= c.I32_MAX:
      r = e % (2 * t)
      u = jnp.minimum(r, 2 * t - r)
    elif t <= c.I32_MAX:  # the first period holds every int32 count
      u = jnp.where(e <= t, e, t - (e - t))
    else:  # so does the first half-period
      u = e
    return c.affine(amp, c.half_cosine(u, half, rest, step), lo)

  return schedule


def cosine_annealing_warm_restarts(
  learning_rate: float,
  T_0: int,  # noqa: N803
  T_mult: int = 1,  # noqa: N803
  eta_min: float = 0,
) -> optax.Schedule:
  r"""``paddle.optimizer.lr.CosineAnnealingWarmRestarts`` (SGDR, Loshchilov and Hutter 2017).

  .. math::
    \eta_e = \eta_{min} + (\eta_0 - \eta_{min}) \frac{1 + \cos(\pi T_{cur} / T_i)}{2}

  at update count :math:`e` (0 for the first update), with :math:`\eta_0` = ``learning_rate`` and
  :math:`\eta_{min}` = ``eta_min``, where cycle :math:`i` (from 0) lasts :math:`T_i = T_0 T_{mult}^i` updates
  and :math:`T_{cur}` counts the updates since its start. The cycle is found by integer comparisons with the
  cycle starts (Paddle's ``step(epoch)`` uses a float log for it, which can pick the previous cycle at an
  exact restart; consecutive stepping, which is what the optimizer sees, does not, and is what this follows).

  Args:
    learning_rate: :math:`\eta_0`, a float or int >= 0 (TypeError, ValueError otherwise).
    T_0: :math:`T_0`, the first cycle's length, a positive int (ValueError otherwise, as Paddle).
    T_mult: :math:`T_{mult}`, the growth of the cycle length, an int >= 1 (ValueError otherwise, as
      Paddle). Cycles may end beyond int32: the count never reaches that restart.
    eta_min: :math:`\eta_{min}`, the lowest rate, a float or int (TypeError otherwise), finite and >= 0
      (ValueError otherwise).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.cosine_annealing_warm_restarts(1.0, T_0=2, T_mult=2)
    >>> [round(float(s(e)), 4) for e in range(7)]  # cycles of 2 and 4 updates, then a restart
    [1.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 1.0]

  References:
    Loshchilov and Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017;
    ``paddle.optimizer.lr.CosineAnnealingWarmRestarts`` (Paddle 3.3).
  """
  if not (_validation.is_int(T_0) and T_0 > 0):
    raise ValueError(f"Expected positive integer T_0, but got {T_0!r}")
  if not (_validation.is_int(T_mult) and T_mult >= 1):
    raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult!r}")
  _validation.real("eta_min", eta_min)
  _validation.scheduler_rate("learning_rate", learning_rate)
  _validation.scheduler_rate("eta_min", eta_min)
  _validation.finite("T_0", T_0, float32=True)
  _validation.finite("T_mult", T_mult, float32=True)
  t0, mult = int(T_0), int(T_mult)
  lo, amp = float(eta_min), float(learning_rate) - float(eta_min)
  starts, lengths = [0], [t0]
  while mult > 1 and starts[-1] + lengths[-1] <= _I32_MAX:
    starts.append(starts[-1] + lengths[-1])
    lengths.append(lengths[-1] * mult)
  starts_a = np.array(starts, np.int32)
  # the last cycle may end beyond int32 (its length is a host int): halves() keeps it exact
  halves_a, rests_a = (np.array([c.halves(n)[j] for n in lengths], np.int32) for j in (0, 1))
  steps = [c.df(math.pi / (2 * n)) for n in lengths]
  steps_hi, steps_lo = (np.array([s[j] for s in steps], np.float32) for j in (0, 1))

  def schedule(count):
    e = c.count_i32(count)
    if mult == 1:
      t_cur = e % t0 if t0 <= _I32_MAX else e
      (half, rest), step = c.halves(t0), steps[0]
    else:
      i = jnp.sum(e[..., None] >= starts_a[1:], axis=-1)
      t_cur, half, rest = e - jnp.asarray(starts_a)[i], jnp.asarray(halves_a)[i], jnp.asarray(rests_a)[i]
      step = (jnp.asarray(steps_hi)[i], jnp.asarray(steps_lo)[i])
    return c.affine(amp, c.half_cosine(t_cur, half, rest, step), lo)

  return schedule


def one_cycle_lr(
  max_learning_rate: float,
  total_steps: int,
  divide_factor: float = 25.0,
  end_learning_rate: float = 0.0001,
  phase_pct: float = 0.3,
  anneal_strategy: str = "cos",
  three_phase: bool = False,
) -> optax.Schedule:
  r"""``paddle.optimizer.lr.OneCycleLR`` (Smith and Topin 2018), with Paddle's phase boundaries.

  The rate starts at :math:`\eta_{max} / \text{divide\_factor}` (:math:`\eta_{max}` =
  ``max_learning_rate``), reaches :math:`\eta_{max}` at count ``phase_pct * total_steps - 1`` and
  anneals to ``end_learning_rate`` at ``total_steps - 1``; with ``three_phase`` it first comes back
  to the initial rate at ``2 * phase_pct * total_steps - 2``. Within a phase from rate :math:`a` to
  rate :math:`b` over counts :math:`[s, s + n]`, with :math:`e` the update count (0 for the first
  update) and :math:`u = (e - s) / n`:

  .. math::
    \eta_e = b + (a - b) \frac{1 + \cos \pi u}{2} \ (\texttt{'cos'}), \qquad
    \eta_e = a + (b - a)\, u \ (\texttt{'linear'}).

  These boundaries are Paddle's (and PyTorch's); optax's ``cosine_onecycle_schedule`` puts them at
  ``int(pct * N)`` and ``N``.

  Counts past the end: Paddle computes count ``total_steps`` (one past the last annealing step, so
  the last phase's fraction is above 1 and the rate is slightly beyond ``end_learning_rate``; with
  ``'linear'`` and a small ``end_learning_rate`` it is negative) and raises ValueError after it.
  This schedule returns Paddle's value at ``total_steps`` and ``end_learning_rate`` for every larger
  count.

  Args:
    max_learning_rate: the peak, a float or int >= 0 (TypeError, ValueError otherwise).
    total_steps: the number of updates, a positive int (TypeError if not an int, ValueError if
      <= 0).
    divide_factor: initial rate = ``max_learning_rate / divide_factor``, a float or int (TypeError
      otherwise), finite (ValueError otherwise), nonzero (ZeroDivisionError, as Paddle) and such that
      the initial rate is >= 0 and within float32's range (ValueError otherwise).
    end_learning_rate: the final rate, a float or int >= 0 (TypeError, ValueError otherwise).
    phase_pct: the fraction of the steps spent rising, a float in [0, 1] (an int raises TypeError,
      as Paddle; ValueError outside the range); < 0.5 with ``three_phase`` (ValueError otherwise).
      ``phase_pct * total_steps == 1`` makes a first phase of length 0: ZeroDivisionError.
    anneal_strategy: ``'cos'`` or ``'linear'`` (ValueError otherwise).
    three_phase: rise, come back to the initial rate, then anneal to ``end_learning_rate``: True or
      False (TypeError otherwise).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.one_cycle_lr(1.0, total_steps=5, divide_factor=4.0, end_learning_rate=0.0,
    ...                               phase_pct=0.4, anneal_strategy="linear")
    >>> [round(float(s(e)), 4) for e in range(5)]  # up from 1/4 to 1 at count 1, down to 0 at 4
    [0.25, 1.0, 0.6667, 0.3333, 0.0]

  References:
    Smith and Topin, Super-Convergence: Very Fast Training of Neural Networks Using Large Learning
    Rates, 2018; ``paddle.optimizer.lr.OneCycleLR`` (Paddle 3.3).
  """
  _validation.real("max_learning_rate", max_learning_rate)
  _validation.check(max_learning_rate >= 0, "max_learning_rate", max_learning_rate, "max_learning_rate >= 0")
  _validation.scheduler_rate("max_learning_rate", max_learning_rate)
  _validation.real("end_learning_rate", end_learning_rate)
  _validation.check(end_learning_rate >= 0, "end_learning_rate", end_learning_rate, "end_learning_rate >= 0")
  _validation.scheduler_rate("end_learning_rate", end_learning_rate)
  if not _validation.is_int(total_steps):
    raise TypeError(f"'total_steps' must be 'int', but received {type(total_steps).__name__} {total_steps!r}")
  _validation.check(total_steps > 0, "total_steps", total_steps, "a positive integer")
  _validation.finite("total_steps", total_steps, float32=True)
  if not isinstance(phase_pct, float):
    raise TypeError(f"'phase_pct' must be 'float', but received {type(phase_pct).__name__} {phase_pct!r}")
  _validation.check(0.0 <= phase_pct <= 1.0, "phase_pct", phase_pct, "0 <= phase_pct <= 1")
  _validation.real("divide_factor", divide_factor)
  _validation.finite("divide_factor", divide_factor)
  rule = "divide_factor != 0 (the initial rate is max_learning_rate / divide_factor)"  # Paddle's type:
  _validation.check(divide_factor != 0, "divide_factor", divide_factor, rule, exc=ZeroDivisionError)
  initial = max_learning_rate / float(divide_factor)
  _validation.flag("three_phase", three_phase)
  if three_phase and phase_pct >= 0.5:
    raise ValueError(
      f"When three_phase is True, 'phase_pct' must be less than 0.5, but received {phase_pct!r}"
    )
  if anneal_strategy not in ("cos", "linear"):
    raise ValueError(f"'anneal_strategy' must be one of 'cos' or 'linear', but received {anneal_strategy!r}")
  _validation.scheduler_rate("max_learning_rate / divide_factor", initial)
  n, peak, end = int(total_steps), float(max_learning_rate), float(end_learning_rate)
  # Paddle's phase ends (float64, the same arithmetic) and the rates at them.
  if three_phase:
    ends = [phase_pct * n - 1, 2 * phase_pct * n - 2, n - 1]
    rates = [initial, peak, initial, end]
  else:
    ends = [phase_pct * n - 1, n - 1]
    rates = [initial, peak, end]
  if ends[0] == 0:
    raise ZeroDivisionError(
      f"phase_pct * total_steps = 1 ({phase_pct!r} * {n}) makes a first phase of length 0."
    )
  phases = []  # (last integer count of the phase, start, stop, rate from, rate to)
  start = 0.0
  for i, stop in enumerate(ends):
    last = math.floor(stop) if i < len(ends) - 1 else n
    phases.append((last, start, stop, rates[i], rates[i + 1]))
    start = stop
  if phases[-1][2] == phases[-1][1]:  # phase_pct = 1: Paddle divides by zero at count total_steps
    phases[-1] = (n - 1, *phases[-1][1:])
  cosine = anneal_strategy == "cos"

  def phase_value(e, start, stop, a, b):
    # u = (e - start) / size and v = (stop - e) / size = 1 - u, each from an exact integer difference
    # (as a float32 pair: no int32 overflow for phases beyond 2**31) and a float32-pair constant, so
    # the value is accurate at both ends of the phase.
    size = stop - start
    first = 2 * (e.astype(c.F32) - c.f32(start)) <= c.f32(size)
    scale = 0.0 if size == 0 else math.pi / (2 * size) if cosine else 1.0 / size
    u = c.df_mul(c.df_add(c.df_sub_int(e, math.floor(start)), c.df(math.floor(start) - start)), c.df(scale))
    v = c.df_mul(c.df_add(c.df_int_sub(math.floor(stop), e), c.df(stop - math.floor(stop))), c.df(scale))
    if cosine:  # a + (b - a)(1 - cos(pi u)) / 2 = a + (b - a) sin^2(pi u / 2) = b + (a - b) sin^2(pi v / 2)
      u, v = c.sin2(u), c.sin2(v)
    return jnp.where(first, c.affine(b - a, u, a), c.affine(a - b, v, b))

  def schedule(count):
    e = c.count_i32(count)
    out = c.f32(end)
    for last, start, stop, a, b in reversed(phases):
      if math.floor(start) >= c.I32_MAX:  # begins after every int32 count
        continue
      value = phase_value(e, start, stop, a, b)
      out = value if last >= c.I32_MAX else jnp.where(e <= last, value, out)
    return jnp.broadcast_to(jnp.asarray(out).astype(c.F32), e.shape)

  return schedule


def cyclic_lr(
  base_learning_rate: float,
  max_learning_rate: float,
  step_size_up: int,
  step_size_down: int | None = None,
  mode: str = "triangular",
  exp_gamma: float = 1.0,
  scale_fn: Callable[[jax.Array], Any] | None = None,
  scale_mode: str = "cycle",
) -> optax.Schedule:
  r"""``paddle.optimizer.lr.CyclicLR`` (Smith 2017).

  With :math:`e` the update count (0 for the first update), :math:`u` = ``step_size_up``, :math:`d` =
  ``step_size_down``, :math:`C = u + d`, cycle :math:`k = 1 + \lfloor e / C \rfloor` and
  :math:`r = e \bmod C`:

  .. math::
    s = r / u \ (r \le u), \qquad s = (C - r) / d \ (r > u), \qquad
    \eta_e = \eta_{base} + (\eta_{max} - \eta_{base})\, s\, f

  with :math:`\eta_{base}` = ``base_learning_rate``, :math:`\eta_{max}` = ``max_learning_rate`` and
  :math:`f = 1` (``'triangular'``), :math:`2^{1-k}` (``'triangular2'``), :math:`\gamma^e`
  (``'exp_range'``), or ``scale_fn(k)`` / ``scale_fn(e)`` for ``scale_mode`` ``'cycle'`` /
  ``'iterations'``. ``scale_fn`` receives a float32 cycle number or the int32 count (possibly
  tracers) and must be written with jnp operations.

  Args:
    base_learning_rate: :math:`\eta_{base}`, the lower rate, a float or int >= 0 (TypeError,
      ValueError otherwise).
    max_learning_rate: :math:`\eta_{max}`, the upper rate, a float or int >= 0 (TypeError,
      ValueError otherwise).
    step_size_up: :math:`u`, updates from base to max, a positive int (TypeError if not an int,
      ValueError if <= 0).
    step_size_down: :math:`d`, updates from max back to base, a positive int (TypeError, ValueError
      otherwise); ``step_size_up`` when None.
    mode: ``'triangular'``, ``'triangular2'`` or ``'exp_range'``; ignored when ``scale_fn`` is given
      (ValueError for another value without ``scale_fn``).
    exp_gamma: :math:`\gamma` of ``'exp_range'``, a float (an int raises TypeError, as Paddle) in
      [0, 1] (ValueError otherwise). Paddle also takes :math:`\gamma > 1`, which grows the scale
      without bound (Paddle raises OverflowError once :math:`\gamma^e` overflows float64) and, with
      ``base_learning_rate > max_learning_rate``, makes the rate negative from count 1.
    scale_fn: a custom amplitude scale, a callable or None (TypeError otherwise); then
      ``scale_mode`` says what it receives.
    scale_mode: ``'cycle'`` or ``'iterations'`` (ValueError otherwise); used only with ``scale_fn``.

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.cyclic_lr(0.0, 1.0, step_size_up=2, mode="triangular2")
    >>> [round(float(s(e)), 4) for e in range(7)]  # the second cycle has half the height
    [0.0, 0.5, 1.0, 0.5, 0.0, 0.25, 0.5]

  References:
    Smith, Cyclical Learning Rates for Training Neural Networks, WACV 2017;
    ``paddle.optimizer.lr.CyclicLR`` (Paddle 3.3).
  """
  _validation.real("max_learning_rate", max_learning_rate)
  _validation.check(max_learning_rate >= 0, "max_learning_rate", max_learning_rate, "max_learning_rate >= 0")
  for name, value in (("step_size_up", step_size_up), ("step_size_down", step_size_down)):
    if value is None and name == "step_size_down":
      continue
    if not _validation.is_int(value):
      raise TypeError(f"The type of '{name}' must be int, but received {type(value).__name__} {value!r}")
    _validation.check(value > 0, name, value, "a positive integer")
    _validation.finite(name, value, float32=True)
  _validation.finite("max_learning_rate", max_learning_rate, float32=True)
  if not isinstance(exp_gamma, float):
    raise TypeError(
      f"The type of 'exp_gamma' must be float, but received {type(exp_gamma).__name__} {exp_gamma!r}"
    )
  # gamma > 1 grows the amplitude without bound (inf, then NaN; below 0 if base > max), < 0 flips its sign
  _validation.in_range("exp_gamma", exp_gamma, lo=0.0, hi=1.0)
  if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
    raise ValueError(
      f"Invalid value of mode: {mode!r}; expected 'triangular', 'triangular2' or 'exp_range' (or a scale_fn)."
    )
  if scale_mode not in ("cycle", "iterations"):
    raise ValueError(f"'scale_mode' must be one of 'cycle' or 'iterations', but received {scale_mode!r}")
  if scale_fn is not None and not callable(scale_fn):
    raise TypeError(f"scale_fn must be callable or None, got {type(scale_fn).__name__}")
  _validation.scheduler_rate("base_learning_rate", base_learning_rate)
  up = int(step_size_up)
  down = up if step_size_down is None else int(step_size_down)
  size = up + down
  base, amp = float(base_learning_rate), float(max_learning_rate) - float(base_learning_rate)
  if scale_fn is None:
    scale_mode = "iterations" if mode == "exp_range" else "cycle"
  gamma = float(exp_gamma)

  def scale(cycle, e):
    if scale_fn is not None:
      return c.df_of(c.as_f32(scale_fn(cycle.astype(c.F32) if scale_mode == "cycle" else e)))
    if mode == "triangular":
      return c.df(1.0)
    if mode == "triangular2":
      return c.df_of(jnp.ldexp(c.f32(1.0), 1 - cycle))
    return c.power(gamma, e)

  def schedule(count):
    e = c.count_i32(count)
    if size <= c.I32_MAX:
      cycle, r = 1 + e // size, e % size
      rising = r <= up
      num = c.df_int(jnp.where(rising, r, size - r))
      den = c.df_int(jnp.where(rising, up, down))
    else:  # the first cycle holds every int32 count; C - r and the sizes as float32 pairs
      cycle, r = jnp.ones_like(e), e
      rising = r <= up if up <= c.I32_MAX else jnp.ones(e.shape, bool)
      num = c.df_where(rising, c.df_int(r), c.df_int_sub(size, r))
      den = c.df_where(rising, c.df(up), c.df(down))
    height = c.df_div(num, den)
    return c.affine(amp, c.df_mul(height, scale(cycle, e)), base)

  return schedule
