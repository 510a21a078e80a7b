"""PyTorch's smooth decays: ``ExponentialLR``, ``LinearLR``, ``PolynomialLR``, ``CosineAnnealingLR``.

PyTorch computes them with chainable recursions (the new lr from the group's current one). Here each
is a closed form that telescopes the recursion in PyTorch's own rounded values; the count and the
arithmetic are described in `optim_jax._torch_lr_scheduler`.
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from optim_jax._torch_lr_scheduler import (
  I32_MAX,
  Rule,
  TorchLRScheduler,
  affine32,
  div,
  epoch,
  integer,
  is64,
  last_epoch_of,
  make,
  minus,
  plus32,
  power,
  rate,
  real,
  scaled32,
)

F32 = jnp.float32


def exponential_lr(lr: Any, gamma: Any, last_epoch: int = -1) -> TorchLRScheduler:
  r"""PyTorch's ``ExponentialLR``: the lr multiplied by ``gamma`` at every epoch.

  .. math::
    \eta_t = \eta_0\, \gamma^{t} \ (\text{fresh}), \qquad \eta_0\, \gamma^{k + t}
        \ (\texttt{last\_epoch}=k)

  with :math:`\eta_0` = ``lr`` and :math:`\gamma` = ``gamma``: a resumed run keeps epoch k's lr at
  count 0 (PyTorch's first step on resume changes nothing). PyTorch multiplies t times; this is
  the closed form (float64: Python's ``pow``; measured against PyTorch's product, 1e-14 relative
  after 10**5 steps with gamma = 0.9999).

  PyTorch checks nothing; a negative ``gamma`` (which makes the lr change sign) is a ValueError.

  Args:
    lr: :math:`\eta_0`, the group's initial lr, a finite number >= 0.
    gamma: :math:`\gamma`, the factor per epoch, a finite number >= 0.
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run (see above).

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.exponential_lr(0.5, gamma=0.9)
    >>> [round(float(s(t)), 4) for t in range(3)]
    [0.5, 0.45, 0.405]
  """
  rate("lr", lr)
  rate("gamma", gamma)
  k = last_epoch_of(last_epoch)
  g = float(gamma)

  def build(base, group):
    del group

    def value(n, dt):
      start = jnp.asarray(base, dt)
      if k >= 0:
        start = start * power(g, jnp.asarray(k, jnp.int32), dt)
      return start * power(g, n, dt)

    def factor(e, dt):
      return jnp.where(e == 0, 1.0, g).astype(dt)

    return Rule(value, kind="multiply", factor=factor, cumulative=lambda n, dt: power(g, n, dt))

  return make("ExponentialLR", lr, {"gamma": gamma, "last_epoch": last_epoch}, build, last_epoch=k)


def linear_lr(lr: Any, start_factor: Any = 1.0 / 3, end_factor: Any = 1.0, total_iters: int = 5,
              last_epoch: int = -1) -> TorchLRScheduler:  # fmt: skip
  r"""PyTorch's ``LinearLR``: the lr's factor goes linearly from ``start_factor`` to ``end_factor``.

  .. math::
    \eta_t = \eta_0 \Big(s + (f - s) \frac{\min(n, t)}{n}\Big)

  with :math:`\eta_0` = ``lr``, :math:`s` = ``start_factor``, :math:`f` = ``end_factor`` and
  :math:`n` = ``total_iters``: PyTorch's closed form, within 6e-14 relative of its recursion
  (measured, n up to 10**4). ``total_iters=0``: the lr stays :math:`\eta_0 s`, as in PyTorch.

  Resumed (``last_epoch=k``): PyTorch keeps epoch k's lr at count 0 and then multiplies by the
  factors of epochs k + 2, k + 3 ... n, skipping the one of epoch k + 1 for good (so a resumed run
  ends at another lr than a fresh one); this schedule does the same.

  Args:
    lr: :math:`\eta_0`, the group's initial lr, a finite number >= 0.
    start_factor: :math:`s`, a number in (0, 1] (ValueError otherwise, PyTorch's message).
    end_factor: :math:`f`, a number in [0, 1] (ValueError otherwise, PyTorch's message).
    total_iters: :math:`n`, an int >= 0.
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run (see above).

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.linear_lr(0.1, start_factor=0.5, total_iters=4)
    >>> [round(float(s(t)), 4) for t in range(6)]
    [0.05, 0.0625, 0.075, 0.0875, 0.1, 0.1]
  """
  rate("lr", lr)
  real("start_factor", start_factor)
  real("end_factor", end_factor)
  if start_factor > 1.0 or start_factor <= 0:
    raise ValueError(
      "Starting multiplicative factor expected to be greater than 0 and less or equal to 1. "
      f"(start_factor={start_factor!r})"
    )
  if end_factor > 1.0 or end_factor < 0:
    raise ValueError(
      f"Ending multiplicative factor expected to be between 0 and 1. (end_factor={end_factor!r})"
    )
  n_iters = integer("total_iters", total_iters, 0)
  k = last_epoch_of(last_epoch)
  s, f = float(start_factor), float(end_factor)
  cap = min(n_iters, I32_MAX)

  def level(m, dt):
    """PyTorch's closed-form factor at min(n, e) = m (float64), or it times n without cancellation."""
    if n_iters == 0:
      return jnp.full(m.shape, s, dt)
    if is64(dt):
      return s + div((f - s) * m.astype(dt), float(n_iters))
    return s * minus(n_iters, m, dt) + f * m.astype(dt)  # times n

  def closed(m, dt):
    out = level(m, dt)
    return out if is64(dt) or n_iters == 0 else div(out, float(n_iters))

  def build(base, group):
    del group

    def value(n, dt):
      if k == -1:
        return jnp.asarray(base, dt) * closed(jnp.minimum(n, cap), dt)
      start = jnp.asarray(base, dt) * closed(jnp.minimum(jnp.asarray(k, jnp.int32), cap), dt)
      m0 = jnp.asarray(min(k + 1, cap), jnp.int32)
      m = jnp.minimum(epoch(n, k + 1), cap)
      ratio = div(level(m, dt), jnp.where(m == m0, 1.0, level(m0, dt)).astype(dt))
      return jnp.where(m == m0, start, start * ratio)

    def factor(e, dt):
      if n_iters == 0:
        return jnp.where(e == 0, s, 1.0).astype(dt)
      ee = jnp.clip(e, 1, cap)
      if is64(dt):
        step = 1.0 + div(jnp.full(e.shape, f - s, dt), n_iters * s + (ee - 1).astype(dt) * (f - s))
      else:
        step = div(level(ee, dt), level(ee - 1, dt))
      return jnp.where(e == 0, s, jnp.where(e <= cap, step, 1.0)).astype(dt)

    return Rule(
      value, kind="multiply", factor=factor, cumulative=lambda n, dt: closed(jnp.minimum(n, cap), dt)
    )

  arguments = {"start_factor": start_factor, "end_factor": end_factor, "total_iters": total_iters,
               "last_epoch": last_epoch}  # fmt: skip
  return make("LinearLR", lr, arguments, build, last_epoch=k)


def polynomial_lr(lr: Any, total_iters: int = 5, power: Any = 1.0, last_epoch: int = -1) -> TorchLRScheduler:
  r"""PyTorch's ``PolynomialLR``: the lr decays polynomially to 0 at epoch ``total_iters``.

  .. math::
    \eta_t = \eta_0 \Big(1 - \frac{\min(n, t)}{n}\Big)^{p}

  with :math:`\eta_0` = ``lr``, :math:`n` = ``total_iters`` and :math:`p` = ``power``: PyTorch's
  closed form, within 3e-15 relative of its recursion (measured). ``total_iters=0``: the lr stays
  :math:`\eta_0`, as in PyTorch. Resumed (``last_epoch=k``): as `linear_lr`, epoch k's lr at count 0
  and the factor of epoch k + 1 skipped.

  PyTorch checks nothing; a negative ``power`` (PyTorch raises ZeroDivisionError at epoch
  ``total_iters``) is a ValueError.

  Args:
    lr: :math:`\eta_0`, the group's initial lr, a finite number >= 0.
    total_iters: :math:`n`, an int >= 0.
    power: :math:`p`, a finite number >= 0.
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run (see above).

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.polynomial_lr(0.1, total_iters=4, power=2.0)
    >>> [round(float(s(t)), 5) for t in range(6)]
    [0.1, 0.05625, 0.025, 0.00625, 0.0, 0.0]
  """
  rate("lr", lr)
  n_iters = integer("total_iters", total_iters, 0)
  real("power", power, lo=0.0)
  k = last_epoch_of(last_epoch)
  p = float(power)
  cap = min(n_iters, I32_MAX)

  def level(m, dt):
    """1 - m / n as PyTorch computes it (float64), or n - m (float32, exact)."""
    if is64(dt):
      return 1.0 - div(m.astype(dt), float(n_iters))
    return minus(n_iters, m, dt)

  def closed(m, dt):
    if n_iters == 0:
      return jnp.ones(m.shape, dt)
    x = level(m, dt) if is64(dt) else div(level(m, dt), float(n_iters))
    return jnp.power(x, jnp.asarray(p, dt))

  def build(base, group):
    del group

    def value(n, dt):
      if k == -1:
        return jnp.asarray(base, dt) * closed(jnp.minimum(n, cap), dt)
      start = jnp.asarray(base, dt) * closed(jnp.minimum(jnp.asarray(k, jnp.int32), cap), dt)
      if n_iters == 0:
        return jnp.broadcast_to(start, n.shape)
      m0 = jnp.asarray(min(k + 1, cap), jnp.int32)
      m = jnp.minimum(epoch(n, k + 1), cap)
      ratio = div(level(m, dt), jnp.where(m == m0, 1.0, level(m0, dt)).astype(dt))
      return jnp.where(m == m0, start, start * jnp.power(ratio, jnp.asarray(p, dt)))

    def factor(e, dt):
      if n_iters == 0:
        return jnp.ones(e.shape, dt)
      ee = jnp.clip(e, 1, cap)
      step = jnp.power(div(level(ee, dt), level(ee - 1, dt)), jnp.asarray(p, dt))
      return jnp.where((e >= 1) & (e <= cap), step, 1.0).astype(dt)

    return Rule(
      value, kind="multiply", factor=factor, cumulative=lambda n, dt: closed(jnp.minimum(n, cap), dt)
    )

  arguments = {"total_iters": total_iters, "power": power, "last_epoch": last_epoch}
  return make("PolynomialLR", lr, arguments, build, last_epoch=k)


def cosine_annealing_lr(lr: Any, T_max: int, eta_min: Any = 0.0, last_epoch: int = -1) -> TorchLRScheduler:  # noqa: N803
  r"""PyTorch's ``CosineAnnealingLR``: the lr follows a cosine from ``lr`` down to ``eta_min`` and back.

  .. math::
    \eta_t = \eta_{min} + (\eta_0 - \eta_{min}) \frac{1 + \cos(\pi t / T)}{2}, \qquad 0 \le t \le T

  with :math:`\eta_0` = ``lr``, :math:`T` = ``T_max`` and :math:`\eta_{min}` = ``eta_min``. Past
  :math:`T` PyTorch's recursion does not restart: the lr comes back up, a cosine of period
  :math:`2T`, and at each :math:`t = (2i - 1) T + 1` it adds
  :math:`(\eta_0 - \eta_{min})(1 - \cos(\pi / T)) / 2` to :math:`\eta_{min}`, then multiplies by ratios
  of :math:`1 + \cos`. This schedule is that recursion telescoped in PyTorch's own rounded values
  (its cosines, and its constants computed on the host): measured against PyTorch's recursion,
  <= 4e-15 relative for every :math:`T` with ``eta_min=0``, and for counts <= :math:`T`; past
  :math:`T` with ``eta_min > 0`` PyTorch's recursion adds rounding that no closed form has (it
  subtracts and adds :math:`\eta_{min}` at every step, and the rising lr amplifies the early ones):
  1.1e-13 at :math:`T = 300` (``eta_min`` a fifth of ``lr``), 4e-12 at :math:`T = 1000` and 6e-11 at
  :math:`T = 10^4` (``eta_min`` half of ``lr``). In float32 the periods past :math:`T` use PyTorch's
  rounded constants for the first 64 of them (beyond, the exact value, which PyTorch's differs from
  by about :math:`2^{-53} / (1 - \cos(\pi / T))`: 2e-7 relative at :math:`T = 10^5`).

  Resumed (``last_epoch=k``): count 0 keeps epoch k's lr, and PyTorch's recursion continues from it
  (so the values differ from a fresh run's: the first step on resume changes nothing).

  PyTorch checks nothing; a ``T_max`` that is not a positive int (PyTorch divides by it) is a
  TypeError or ValueError, and so is a negative or non-finite ``eta_min``.

  Args:
    lr: :math:`\eta_0`, the group's initial lr, a finite number >= 0.
    T_max: :math:`T`, the half period, an int >= 1.
    eta_min: :math:`\eta_{min}`, the lowest lr, a finite number >= 0.
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run (see above).

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.cosine_annealing_lr(1.0, T_max=4)
    >>> [round(float(s(t)), 4) for t in range(9)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.1464, 0.5, 0.8536, 1.0]
  """
  rate("lr", lr)
  T = integer("T_max", T_max, 1)
  rate("eta_min", eta_min)
  k = last_epoch_of(last_epoch)
  eta = float(eta_min)
  period = 2 * T

  def c64(t: int) -> float:  # PyTorch's 1 + cos(pi * t / T_max), on the host
    return 1 + math.cos(math.pi * t / T)

  def first_restart_after(j: int) -> int:
    """The first epoch > j where PyTorch adds to eta_min: (e - 1 - T) % 2T == 0, e > j."""
    return T + 1 if j < T + 1 else T + 1 + period * ((j - T - 1) // period + 1)

  def build(base, group):
    del group
    rise = (base - eta) * (1 - math.cos(math.pi / T)) / 2  # PyTorch adds it at each restart epoch R

    def fresh(e: int) -> float:  # the fresh run's lr at epoch e (host, float64)
      if e == 0:
        return base
      if e <= T:
        return eta + (base - eta) * (c64(e) / 2.0)
      r = T + 1 + period * ((e - T - 1) // period)
      return eta + rise if e == r else eta + (eta + rise - eta) * (c64(e) / c64(r))

    j0 = k + 1
    start = base if k == -1 else fresh(k)  # the lr at count 0
    c0 = c64(j0)
    restart = first_restart_after(j0)  # piece A: epochs j0 .. restart - 1, from `start`
    i_first = (restart - T - 1) // period
    # The lr at a restart is PyTorch's lr before it (eta_min: 1 + cos is 0 there) plus `rise`; only a
    # run resumed at the bottom (c0 = 0) starts its first period from its own lr.
    bump, bump0 = eta + rise, (start + rise if c0 == 0 else eta + rise)
    step, step0 = bump - eta, bump0 - eta  # PyTorch's group['lr'] - eta_min at the epoch after R
    restarts = [r for r in (T + 1 + period * i for i in range(64)) if r <= I32_MAX]
    per_period = [(step0 if i == i_first else step) / c64(r) for i, r in enumerate(restarts)]
    exact = step / (2 * math.sin(math.pi / (2 * T)) ** 2)  # 1 + cos(pi (T + 1) / T), unrounded

    def value(n, dt):
      e = epoch(n, j0)
      if is64(dt):
        ce = 1 + jnp.cos(div(math.pi * e.astype(dt), float(T)))
        piece_a = div(ce, c0) * (start - eta) + eta if c0 != 0 else jnp.full(e.shape, start, dt)
      else:
        r = e % period if period <= I32_MAX else e
        half_turns = jnp.abs(T - r).astype(dt) if T <= I32_MAX else minus(T, r, dt)  # |T - r|, r < T
        ce = 2 * jnp.sin(scaled32(half_turns, math.pi / (2 * T))) ** 2
        piece_a = affine32(eta, (start - eta) / c0 if c0 else 0.0, ce)
      out = jnp.where(e == j0, jnp.asarray(start, dt), piece_a)
      if restart > I32_MAX:
        return out
      i = (jnp.maximum(e, T + 1) - (T + 1)) // period  # the period of epoch e past T
      r_e = T + 1 + period * i
      first = i == i_first
      if is64(dt):
        cr = 1 + jnp.cos(div(math.pi * r_e.astype(dt), float(T)))
        piece_b = div(ce, cr) * jnp.where(first, step0, step) + eta
      else:
        f = jnp.asarray(np.float32(per_period))[jnp.minimum(i, len(per_period) - 1)]
        piece_b = plus32(eta, ce * jnp.where(i < len(per_period), f, np.float32(exact)))
      piece_b = jnp.where(e == r_e, jnp.where(first, bump0, bump).astype(dt), piece_b)
      return jnp.where(e >= restart, piece_b, out)

    return Rule(value)

  arguments = {"T_max": T_max, "eta_min": eta_min, "last_epoch": last_epoch}
  return make("CosineAnnealingLR", lr, arguments, build, last_epoch=k)
