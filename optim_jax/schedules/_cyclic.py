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

  for every count: after :math:`T_{max}` the rate rises again (period :math:`2 T_{max}`), as in
  Paddle and ``torch.optim.lr_scheduler.CosineAnnealingLR``. ``optax.cosine_decay_schedule`` equals
  it only up to :math:`T_{max}` and then stays at :math:`\eta_{min}`.

  Args:
    learning_rate: :math:`\eta_0`, >= 0.
    T_max: half the period, a positive int (TypeError if not an int, AssertionError if <= 0).
    eta_min: the lowest rate.
  """
  if not _validation.is_int(T_max):
    raise TypeError(
      f"The type of 'T_max' in 'CosineAnnealingDecay' must be 'int', but received {type(T_max).__name__}."
    )
  _validation.real("eta_min", eta_min)
  _validation.check(T_max > 0, "T_max", T_max, "a positive integer", exc=AssertionError)
  _validation.scheduler_rate("learning_rate", learning_rate)
  t = int(T_max)
  lo, amp = float(eta_min), float(learning_rate) - float(eta_min)
  step = c.df(math.pi / (2 * t))

  def schedule(count):
    r = c.count_i32(count) % (2 * t)
    u = jnp.minimum(r, 2 * t - r)
    return c.affine(amp, c.half_cosine(u, t, step), lo)

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

  where cycle :math:`i` lasts :math:`T_i = T_0 T_{mult}^i` updates and :math:`T_{cur}` counts the updates
  since its start. The cycle is found by integer comparisons with the cycle starts (Paddle's
  ``step(epoch)`` uses a float log for it, which can pick the previous cycle at an exact restart;
  consecutive stepping, which is what the optimizer sees, does not, and is what this follows).

  Args:
    learning_rate: :math:`\eta_0`, >= 0.
    T_0: the first cycle's length, a positive int (ValueError otherwise, as Paddle).
    T_mult: the growth of the cycle length, an int >= 1 (ValueError otherwise, as Paddle).
    eta_min: the lowest rate.
  """
  if not (_validation.is_int(T_0) and T_0 > 0):
    raise ValueError(f"Expected positive integer T_0, but got {T_0!r}")
  if not (_validation.is_int(T_mult) and T_mult >= 1):
    raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult!r}")
  _validation.real("eta_min", eta_min)
  _validation.scheduler_rate("learning_rate", learning_rate)
  t0, mult = int(T_0), int(T_mult)
  lo, amp = float(eta_min), float(learning_rate) - float(eta_min)
  starts, lengths = [0], [t0]
  while mult > 1 and starts[-1] + lengths[-1] <= _I32_MAX:
    starts.append(starts[-1] + lengths[-1])
    lengths.append(lengths[-1] * mult)
  starts_a = np.array(starts, np.int32)
  lengths_a = np.array([min(n, _I32_MAX) for n in lengths], np.int32)
  steps = [c.df(math.pi / (2 * n)) for n in lengths]
  steps_hi, steps_lo = (np.array([s[j] for s in steps], np.float32) for j in (0, 1))

  def schedule(count):
    e = c.count_i32(count)
    if mult == 1:
      t_cur, t_i, step = e % t0, t0, steps[0]
    else:
      i = jnp.sum(e[..., None] >= starts_a[1:], axis=-1)
      t_cur, t_i = e - jnp.asarray(starts_a)[i], jnp.asarray(lengths_a)[i]
      step = (jnp.asarray(steps_hi)[i], jnp.asarray(steps_lo)[i])
    return c.affine(amp, c.half_cosine(t_cur, t_i, step), lo)

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

  The rate starts at :math:`\eta_{max} / \text{divide\_factor}`, reaches ``max_learning_rate`` at
  count ``phase_pct * total_steps - 1`` and anneals to ``end_learning_rate`` at ``total_steps - 1``;
  with ``three_phase`` it first comes back to the initial rate at ``2 * phase_pct * total_steps - 2``.
  Within a phase from :math:`a` to :math:`b` over counts :math:`[s, s + n]`, with
  :math:`u = (e - s) / n`: ``'cos'`` gives :math:`b + (a - b)(1 + \cos \pi u) / 2` and ``'linear'``
  :math:`a + (b - a) u`. These boundaries are Paddle's (and PyTorch's); optax's
  ``cosine_onecycle_schedule`` puts them at ``int(pct * N)`` and ``N``.

  Counts past the end: Paddle computes count ``total_steps`` (one past the last annealing step, so
  the last phase's fraction is above 1 and the rate is slightly beyond ``end_learning_rate``; with
  ``'linear'`` and a small ``end_learning_rate`` it is negative) and raises ValueError after it.
  This schedule returns Paddle's value at ``total_steps`` and ``end_learning_rate`` for every larger
  count.

  Args:
    max_learning_rate: the peak, >= 0.
    total_steps: the number of updates, a positive int.
    divide_factor: initial rate = ``max_learning_rate / divide_factor``.
    end_learning_rate: the final rate, >= 0.
    phase_pct: the fraction of the steps spent rising, a float in [0, 1] (an int raises TypeError,
      as Paddle); < 0.5 with ``three_phase``.
    anneal_strategy: ``'cos'`` or ``'linear'``.
    three_phase: rise, come back to the initial rate, then anneal to ``end_learning_rate``.
  """
  _validation.real("max_learning_rate", max_learning_rate)
  _validation.check(max_learning_rate >= 0, "max_learning_rate", max_learning_rate, "max_learning_rate >= 0")
  _validation.real("end_learning_rate", end_learning_rate)
  _validation.check(end_learning_rate >= 0, "end_learning_rate", end_learning_rate, "end_learning_rate >= 0")
  if not _validation.is_int(total_steps):
    raise TypeError(f"'total_steps' must be 'int', but received {type(total_steps).__name__} {total_steps!r}")
  _validation.check(total_steps > 0, "total_steps", total_steps, "a positive integer")
  if not isinstance(phase_pct, float):
    raise TypeError(f"'phase_pct' must be 'float', but received {type(phase_pct).__name__} {phase_pct!r}")
  _validation.check(0.0 <= phase_pct <= 1.0, "phase_pct", phase_pct, "0 <= phase_pct <= 1")
  _validation.real("divide_factor", divide_factor)
  initial = max_learning_rate / float(divide_factor)  # ZeroDivisionError for 0, as Paddle
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
    # and a float32-pair constant, so the value is accurate at both ends of the phase.
    size = stop - start
    first = 2 * (e.astype(c.F32) - c.f32(start)) <= c.f32(size)
    scale = 0.0 if size == 0 else math.pi / (2 * size) if cosine else 1.0 / size
    u = c.df_mul(
      c.df_add(c.df_of((e - math.floor(start)).astype(c.F32)), c.df(math.floor(start) - start)), c.df(scale)
    )
    v = c.df_mul(
      c.df_add(c.df_of((math.floor(stop) - e).astype(c.F32)), c.df(stop - math.floor(stop))), c.df(scale)
    )
    if cosine:  # a + (b - a)(1 - cos(pi u)) / 2 = a + (b - a) sin^2(pi u / 2) = b + (a - b) sin^2(pi v / 2)
      u, v = c.sin2(u), c.sin2(v)
    return jnp.where(first, c.affine(b - a, u, a), c.affine(a - b, v, b))

  def schedule(count):
    e = c.count_i32(count)
    out = c.f32(end)
    for last, start, stop, a, b in reversed(phases):
      out = jnp.where(e <= last, phase_value(e, start, stop, a, b), out)
    return jnp.asarray(out).astype(c.F32)

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

  With :math:`C = u + d` (``step_size_up + step_size_down``), cycle :math:`k = 1 + \lfloor e / C \rfloor`
  and :math:`r = e \bmod C`:

  .. math::
    s = r / u \ (r \le u), \qquad s = (C - r) / d \ (r > u), \qquad
    \eta_e = \eta_{base} + (\eta_{max} - \eta_{base})\, s\, f

  with :math:`f = 1` (``'triangular'``), :math:`2^{1-k}` (``'triangular2'``), :math:`\gamma^e`
  (``'exp_range'``), or ``scale_fn(k)`` / ``scale_fn(e)`` for ``scale_mode`` ``'cycle'`` /
  ``'iterations'``. ``scale_fn`` receives a float32 cycle number or the int32 count (possibly
  tracers) and must be written with jnp operations.

  Args:
    base_learning_rate: the lower rate, >= 0.
    max_learning_rate: the upper rate, >= 0.
    step_size_up: updates from base to max, a positive int.
    step_size_down: updates from max back to base, a positive int; ``step_size_up`` when None.
    mode: ``'triangular'``, ``'triangular2'`` or ``'exp_range'``; ignored when ``scale_fn`` is given.
    exp_gamma: :math:`\gamma` of ``'exp_range'``, a float. With :math:`\gamma > 1` the scale grows;
      Paddle raises OverflowError once :math:`\gamma^e` overflows float64, and this schedule gives
      NaN once it overflows float32.
    scale_fn: a custom amplitude scale; then ``scale_mode`` says what it receives.
    scale_mode: ``'cycle'`` or ``'iterations'``.
  """
  _validation.real("max_learning_rate", max_learning_rate)
  _validation.check(max_learning_rate >= 0, "max_learning_rate", max_learning_rate, "max_learning_rate >= 0")
  for name, value in (("step_size_up", step_size_up), ("step_size_down", step_size_down)):
    if value is None and name == "step_size_down":
      continue
    if not _validation.is_int(value):
      raise TypeError(f"The type of '{name}' must be int, but received {type(value).__name__} {value!r}")
    _validation.check(value > 0, name, value, "a positive integer")
  if not isinstance(exp_gamma, float):
    raise TypeError(
      f"The type of 'exp_gamma' must be float, but received {type(exp_gamma).__name__} {exp_gamma!r}"
    )
  if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
    raise ValueError(f"mode {mode!r} is invalid and scale_fn is not given: make one of them valid.")
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
    cycle, r = 1 + e // size, e % size
    rising = r <= up
    num = jnp.where(rising, r, size - r).astype(c.F32)
    den = jnp.where(rising, up, down).astype(c.F32)
    height = c.df_div(c.df_of(num), c.df_of(den))
    return c.affine(amp, c.df_mul(height, scale(cycle, e)), base)

  return schedule
