"""PyTorch's cyclical schedulers: ``CosineAnnealingWarmRestarts`` and ``CyclicLR``.

Their ``get_lr`` is a closed form of the epoch (no recursion), so under x64 these are PyTorch's
operations on the same float64 values, the same bits on CPU. ``CyclicLR`` also drives the
optimizer's momentum (``cycle_momentum=True``, its default): `TorchLRScheduler.momentum`.
The count and the arithmetic are described in `optim_jax._torch_lr_scheduler`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax.numpy as jnp
import numpy as np

from optim_jax import _validation
from optim_jax._torch_lr_scheduler import (
  I32_MAX,
  Rule,
  TorchLRScheduler,
  affine32,
  div,
  epoch,
  floordiv,
  format_param_message,
  integer,
  is64,
  last_epoch_of,
  make,
  minus,
  mod,
  per_group,
  pick,
  power,
  rate,
  real,
  scalar_of,
  scaled32,
  sin2,
  torch_int,
)

F32 = jnp.float32


def cosine_annealing_warm_restarts(lr: Any, T_0: int, T_mult: int = 1, eta_min: Any = 0.0,  # noqa: N803
                                   last_epoch: int = -1) -> TorchLRScheduler:  # fmt: skip
  r"""PyTorch's ``CosineAnnealingWarmRestarts`` (SGDR): cosine cycles that restart at ``lr``.

  .. math::
    \eta_t = \eta_{min} + (\eta_0 - \eta_{min}) \frac{1 + \cos(\pi\, T_{cur} / T_i)}{2}

  with :math:`\eta_0` = ``lr``, :math:`\eta_{min}` = ``eta_min``, cycles of length
  :math:`T_i = T_0 m^i` (:math:`T_0` = ``T_0``, :math:`m` = ``T_mult``) and :math:`T_{cur}` the epochs
  since the last restart. PyTorch's own expression on the same values (the same bits under x64).

  Resumed (``last_epoch=k``): PyTorch sets :math:`T_{cur} = k + 1` in a cycle of length :math:`T_0`
  and wraps it once, :math:`T_{cur} = (k + 1) \bmod T_0` in a cycle of length :math:`T_0 m`, when
  :math:`k + 1 \ge T_0`; with ``T_mult > 1`` the cycles then differ from the fresh run's (k + 1 past
  :math:`T_0 (1 + m)`), and this schedule follows PyTorch.

  Args:
    lr: :math:`\eta_0`, the group's initial lr, a finite number >= 0.
    T_0: the first cycle's length, a positive int (ValueError otherwise, PyTorch's message;
      TypeError for a non-number).
    T_mult: :math:`m`, an int >= 1 (ValueError otherwise, PyTorch's message).
    eta_min: :math:`\eta_{min}`, a float or int (ValueError otherwise, PyTorch's message), finite
      and >= 0.
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run (see above).

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.cosine_annealing_warm_restarts(1.0, T_0=2, T_mult=2)
    >>> [round(float(s(t)), 4) for t in range(7)]
    [1.0, 0.5, 1.0, 0.8536, 0.5, 0.1464, 1.0]
  """
  rate("lr", lr)
  t0 = torch_int("T_0", T_0, "Expected positive integer T_0, but got {}", 1)
  mult = torch_int("T_mult", T_mult, "Expected integer T_mult >= 1, but got {}", 1)
  if not isinstance(eta_min, (float, int)):
    raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
  rate("eta_min", eta_min)
  k = last_epoch_of(last_epoch)
  eta = float(eta_min)
  # PyTorch's state after the step at construction: T_cur in a cycle of length T_i
  t_cur0, t_i0 = (k + 1, t0) if k + 1 < t0 else ((k + 1) % t0, t0 * mult)
  starts, lengths = [0], [t_i0]  # the cycles from count 0 (as offsets of t_cur0 + n)
  while mult > 1 and starts[-1] + lengths[-1] <= I32_MAX:
    starts.append(starts[-1] + lengths[-1])
    lengths.append(lengths[-1] * mult)

  def build(base, group):
    del group
    amp = base - eta

    def value(n, dt):
      u = jnp.minimum(n, I32_MAX - t_cur0) + t_cur0
      if mult == 1:
        cur, length = u % t_i0 if t_i0 <= I32_MAX else u, jnp.full(u.shape, float(t_i0), dt)
      else:
        i = jnp.searchsorted(jnp.asarray(np.asarray(starts[1:], np.int32)), u, side="right")
        cur = u - jnp.asarray(np.asarray(starts, np.int32))[i]
        length = jnp.asarray(np.asarray(lengths, np.float64), dt)[i]
      if is64(dt):
        return eta + amp * (1 + jnp.cos(div(math.pi * cur.astype(dt), length))) / 2
      a = cur.astype(dt)
      w = jnp.where(
        2 * a <= length,
        1 - sin2(scaled32(a / length, math.pi / 2)),
        sin2(scaled32((length - a) / length, math.pi / 2)),
      )
      return affine32(eta, amp, w)

    return Rule(value, kind="overwrite")

  arguments = {"T_0": T_0, "T_mult": T_mult, "eta_min": eta_min, "last_epoch": last_epoch}
  return make("CosineAnnealingWarmRestarts", lr, arguments, build, last_epoch=k)


def cyclic_lr(
  base_lr: Any,
  max_lr: Any,
  step_size_up: int = 2000,
  step_size_down: int | None = None,
  mode: str = "triangular",
  gamma: Any = 1.0,
  scale_fn: Callable[[Any], Any] | None = None,
  scale_mode: str = "cycle",
  cycle_momentum: bool = True,
  base_momentum: Any = 0.8,
  max_momentum: Any = 0.9,
  last_epoch: int = -1,
) -> TorchLRScheduler:
  r"""PyTorch's ``CyclicLR`` (Smith 2017): the lr cycles between ``base_lr`` and ``max_lr``.

  With :math:`u` = ``step_size_up``, :math:`d` = ``step_size_down`` (default :math:`u`), epoch
  :math:`e` (the count; k + 1 + count for ``last_epoch=k``), cycle :math:`c = \lfloor 1 + e / (u + d)
  \rfloor` and :math:`x = 1 + e / (u + d) - c`:

  .. math::
    h = \begin{cases} x / r & x \le r \\ (x - 1) / (r - 1) & \text{otherwise}\end{cases},\quad
    r = \frac{u}{u + d}, \qquad
    \eta = \eta_{base} + (\eta_{max} - \eta_{base})\, h\, f, \qquad
    \mu = \mu_{max} - (\mu_{max} - \mu_{base})\, h\, f

  with :math:`f` = 1 (``'triangular'``), :math:`1/2^{c-1}` (``'triangular2'``), :math:`\gamma^{e}`
  (``'exp_range'``) or ``scale_fn`` of :math:`c` (``scale_mode='cycle'``) or of :math:`e`
  (``'iterations'``). :math:`\mu` is the momentum PyTorch writes into the optimizer
  (``cycle_momentum=True``): `TorchLRScheduler.momentum`; PyTorch raises ValueError when the
  optimizer has neither ``momentum`` nor ``betas`` (`TorchLRScheduler.check_optimizer`). PyTorch's
  operations in float64 under x64 (the same bits); in float32 from exact integer phases.

  ``scale_fn`` is traced (as ``lr_lambda`` of `lambda_lr`): it receives the cycle or the epoch as an
  int32 array. PyTorch computes with float step sizes; here they are positive ints (TypeError or
  ValueError otherwise), ``gamma`` a finite number >= 0, and ``scale_mode`` (with ``scale_fn``)
  ``'cycle'`` or ``'iterations'`` (ValueError; PyTorch takes anything but ``'cycle'`` as
  ``'iterations'``). The scheduler sets the group's lr itself, so it takes no ``lr``.

  Args:
    base_lr: :math:`\eta_{base}`, a finite number >= 0, or a list or tuple of them, one per
      parameter group.
    max_lr: :math:`\eta_{max}`, likewise.
    step_size_up: :math:`u`, epochs of the rising half, an int >= 1.
    step_size_down: :math:`d`, epochs of the falling half, an int >= 1, or None (:math:`u`).
    mode: ``'triangular'``, ``'triangular2'`` or ``'exp_range'`` (ValueError otherwise, PyTorch's
      message, unless ``scale_fn`` is given: then it is ignored).
    gamma: :math:`\gamma` of ``'exp_range'``, a finite number >= 0.
    scale_fn: None, or a function of the cycle or the epoch replacing ``mode``.
    scale_mode: with ``scale_fn``: ``'cycle'`` or ``'iterations'``.
    cycle_momentum: True (PyTorch's default) to drive the optimizer's momentum, or False.
    base_momentum: :math:`\mu_{base}`, a finite number, or a list of them, one per group.
    max_momentum: :math:`\mu_{max}`, likewise.
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run: count 0 is epoch k + 1.

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count) whose ``momentum`` is a
    schedule when ``cycle_momentum``.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.cyclic_lr(0.1, 0.5, step_size_up=2)
    >>> [round(float(s(t)), 4) for t in range(5)], [round(float(s.momentum(t)), 4) for t in range(3)]
    ([0.1, 0.3, 0.5, 0.3, 0.1], [0.9, 0.85, 0.8])
  """
  fmt = format_param_message
  base_lrs, l1 = per_group("base_lr", base_lr, rate, fmt("base_lr"))
  max_lrs, l2 = per_group("max_lr", max_lr, rate, fmt("max_lr"))
  up = integer("step_size_up", step_size_up, 1)
  down = up if step_size_down is None else integer("step_size_down", step_size_down, 1)
  if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
    raise ValueError(
      f"mode is invalid and scale_fn is None (mode={mode!r}; expected 'triangular', 'triangular2' or "
      "'exp_range', or a scale_fn)"
    )
  rate("gamma", gamma)
  if scale_fn is not None:
    if not callable(scale_fn):
      raise TypeError(f"scale_fn should be None or a function, got {type(scale_fn).__name__} {scale_fn!r}.")
    _validation.one_of("scale_mode", scale_mode, ("cycle", "iterations"))
  _validation.flag("cycle_momentum", cycle_momentum)
  lists = [x for x in (l1, l2) if x]
  base_ms, max_ms = 0.0, 0.0
  if cycle_momentum:
    base_ms, l3 = per_group("base_momentum", base_momentum, real, fmt("base_momentum"))
    max_ms, l4 = per_group("max_momentum", max_momentum, real, fmt("max_momentum"))
    lists += [x for x in (l3, l4) if x]
  k = last_epoch_of(last_epoch)
  g = float(gamma)
  total = float(up) + float(down)
  ratio = float(up) / total
  size = up + down
  if scale_fn is not None:
    by_cycle, custom = scale_mode == "cycle", scalar_of(scale_fn, "scale_fn")
  else:
    by_cycle, custom = mode != "exp_range", None

  def scale(cycle, e, dt):
    if custom is not None:
      return custom(cycle if by_cycle else e, dt)
    if mode == "triangular":
      return jnp.ones(e.shape, dt)
    if mode == "triangular2":
      return jnp.ldexp(jnp.ones(e.shape, dt), 1 - cycle)  # 1 / 2.0 ** (cycle - 1), exactly
    return power(g, e, dt)

  def phase(n, dt):
    """(cycle, epoch, h) at count n: PyTorch's float64 operations, or exact integer ones."""
    e = epoch(n, k + 1)
    if is64(dt):
      q = div(e.astype(dt), total)
      cycle = jnp.floor(1 + q)
      x = 1.0 + q - cycle
      h = jnp.where(x <= ratio, div(x, ratio), div(x - 1, ratio - 1))
      return cycle.astype(jnp.int32), e, h
    cycle, r = 1 + floordiv(e, size), mod(e, size)
    rising = (r <= up) if up <= I32_MAX else jnp.ones(r.shape, bool)
    h = jnp.where(rising, r.astype(dt) / np.float32(up), minus(size, r, dt) / np.float32(down))
    return cycle, e, h

  def build(base, group):
    del base
    lo, hi = float(pick(base_lrs, group)), float(pick(max_lrs, group))
    m_lo, m_hi = float(pick(base_ms, group)), float(pick(max_ms, group))

    def value(n, dt):
      cycle, e, h = phase(n, dt)
      if is64(dt):  # PyTorch's expression
        return lo + (hi - lo) * h * scale(cycle, e, dt)
      return affine32(lo, hi - lo, h * scale(cycle, e, dt))

    def momentum(n, dt):
      cycle, e, h = phase(n, dt)
      if is64(dt):
        return m_hi - (m_hi - m_lo) * h * scale(cycle, e, dt)
      return affine32(m_hi, -(m_hi - m_lo), h * scale(cycle, e, dt))

    return Rule(value, momentum if cycle_momentum else None, kind="overwrite")

  arguments = dict(
    base_lr=base_lr, max_lr=max_lr, step_size_up=step_size_up, step_size_down=step_size_down, mode=mode,
    gamma=gamma, scale_fn=scale_fn, scale_mode=scale_mode, cycle_momentum=cycle_momentum,
    base_momentum=base_momentum, max_momentum=max_momentum, last_epoch=last_epoch,
  )  # fmt: skip
  return make(
    "CyclicLR", None, arguments, build, last_epoch=k, cycle_momentum=cycle_momentum, lists=tuple(lists)
  )
