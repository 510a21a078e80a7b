"""PyTorch's schedulers that multiply the lr by a factor at some epochs, or set it from a function.

``LambdaLR``, ``MultiplicativeLR``, ``StepLR``, ``MultiStepLR``, ``ConstantLR``; the count and the
arithmetic are described in `optim_jax._torch_lr_scheduler`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optim_jax import _validation
from optim_jax._torch_lr_scheduler import (
  I32_MAX,
  Rule,
  TorchLRScheduler,
  epoch,
  floordiv,
  function,
  integer,
  last_epoch_of,
  make,
  mod,
  per_group,
  pick,
  power,
  rate,
  real,
  scalar_of,
)
from optim_jax.schedules._lambda import _constant_value


def lambda_lr(lr: Any, lr_lambda: Any, last_epoch: int = -1) -> TorchLRScheduler:
  r"""PyTorch's ``LambdaLR``: the initial lr times a function of the epoch.

  .. math::
    \eta_t = \eta_0\, \lambda(e), \qquad e = t\ (\text{fresh}),\ k + 1 + t\ (\texttt{last\_epoch}=k)

  with :math:`\eta_0` = ``lr`` and :math:`\lambda` = ``lr_lambda``. ``lr_lambda`` is traced: it
  receives the epoch as an int32 array (a tracer under ``jax.jit``; mapped over a batch of counts),
  so write it with jnp operations (``jnp.where`` rather than ``if``); PyTorch calls it with a Python
  int. Its value is used in the schedule's dtype: a function computing in float32 (``0.95 ** e`` of
  an int32 without x64) carries float32 rounding, ~6e-8 relative, that PyTorch's float64 lambda has
  not. Under x64 the result is PyTorch's to the last bit when the function performs the same
  operations (XLA's float64 ``pow`` is libm's).

  Args:
    lr: :math:`\eta_0`, the group's initial lr, a finite number >= 0.
    lr_lambda: :math:`\lambda`, a function of the epoch (TypeError if not callable), or a list or
      tuple of them, one per parameter group (pick one with ``for_group``).
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run: count 0 is epoch k + 1.

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.lambda_lr(0.5, lambda e: 0.95**e)
    >>> round(float(s(2)), 6)
    0.45125
  """
  rate("lr", lr)
  fns, listed = per_group("lr_lambda", lr_lambda, function, "Expected {n} lr_lambdas, but got {k}")
  k = last_epoch_of(last_epoch)
  j0 = k + 1

  def build(base, group):
    lam = scalar_of(pick(fns, group), "lr_lambda")

    def value(n, dt):
      return jnp.asarray(base, dt) * lam(epoch(n, j0), dt)

    return Rule(value, kind="overwrite")

  arguments = {"lr_lambda": lr_lambda, "last_epoch": last_epoch}
  return make("LambdaLR", lr, arguments, build, last_epoch=k, lists=(listed,) if listed else ())


def multiplicative_lr(lr: Any, lr_lambda: Any, last_epoch: int = -1) -> TorchLRScheduler:
  r"""PyTorch's ``MultiplicativeLR``: the lr multiplied by a function of the epoch at every step.

  .. math::
    \eta_t = \eta_0 \prod_{e=1}^{t} \lambda(e)

  with :math:`\eta_0` = ``lr`` and :math:`\lambda` = ``lr_lambda`` (a resumed run at ``last_epoch=k``
  keeps epoch k's lr at count 0, PyTorch's first step on resume changing nothing, and multiplies by
  :math:`\lambda(k + 2), \lambda(k + 3) \dots`: the factor of epoch k + 1 is skipped). When
  ``lr_lambda`` does not depend on its argument (``lambda e: 0.95``) this is
  :math:`\eta_0 \lambda^t`, O(1); otherwise the product is a ``jax.lax.fori_loop`` over the epochs,
  O(count) work per evaluation, as PyTorch's recursion: under x64 the same multiplications in the
  same order, in float32 each factor and product rounded to float32 (about t * 6e-8 relative after
  t steps). ``lr_lambda`` is traced, as in `lambda_lr`.

  Args:
    lr: :math:`\eta_0`, the group's initial lr, a finite number >= 0.
    lr_lambda: :math:`\lambda`, a function of the epoch (TypeError if not callable, PyTorch's
      message), or a list or tuple of them, one per parameter group.
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run (see above).

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.multiplicative_lr(1.0, lambda e: 1.0 / (e + 1))
    >>> [round(float(s(t)), 4) for t in range(4)]  # 1, 1/2, 1/(2*3), 1/(2*3*4)
    [1.0, 0.5, 0.1667, 0.0417]
  """
  rate("lr", lr)
  fns, listed = per_group("lr_lambda", lr_lambda, function, "Expected {n} lr_lambdas, but got {k}")
  k = last_epoch_of(last_epoch)

  def build(base, group):
    fn = pick(fns, group)
    lam = scalar_of(fn, "lr_lambda")
    constant = _constant_value(fn)

    def product(start, lo, hi, dt, skip=None):
      """start * prod of lam(j) for j = lo .. hi (int32 arrays), skipping epoch ``skip``."""
      if constant is not None:
        count = jnp.maximum(hi - lo + 1, 0) - (0 if skip is None else ((lo <= skip) & (skip <= hi)))
        return start * power(constant, count, dt)

      def one(start1, hi1):
        def body(j, acc):
          f = lam(j, dt)
          return acc * (f if skip is None else jnp.where(j == skip, jnp.ones_like(f), f))

        return jax.lax.fori_loop(lo, jnp.minimum(hi1, I32_MAX - 1) + 1, body, start1)

      return jnp.vectorize(one)(start, hi) if jnp.ndim(hi) else one(start, hi)

    def value(n, dt):
      start = jnp.full(n.shape, base, dt)
      if k == -1:
        return product(start, 1, n, dt)
      return product(start, 1, epoch(n, k + 1), dt, skip=k + 1)

    def factor(e, dt):
      return jnp.where(e == 0, jnp.ones_like(e, dt), lam(jnp.maximum(e, 1), dt))

    def continued(start, n, dt):  # SequentialLR's switch: get_lr at epoch 0 on the group's lr
      return product(jnp.broadcast_to(start, n.shape).astype(dt), 0, n, dt)

    return Rule(value, kind="multiply", factor=factor, cumulative=lambda n, dt: product(
      jnp.ones(n.shape, dt), 1, n, dt), continued=continued)  # fmt: skip

  arguments = {"lr_lambda": lr_lambda, "last_epoch": last_epoch}
  return make("MultiplicativeLR", lr, arguments, build, last_epoch=k, lists=(listed,) if listed else ())


def step_lr(lr: Any, step_size: int, gamma: Any = 0.1, last_epoch: int = -1) -> TorchLRScheduler:
  r"""PyTorch's ``StepLR``: the lr multiplied by ``gamma`` every ``step_size`` epochs.

  .. math::
    \eta_t = \eta_0\, \gamma^{\lfloor e / s \rfloor}, \qquad e = t\ (\text{fresh}),\ k + 1 + t
        \ (\texttt{last\_epoch}=k)

  with :math:`\eta_0` = ``lr``, :math:`s` = ``step_size`` and :math:`\gamma` = ``gamma``. PyTorch
  multiplies the lr by gamma at each multiple of s; this is the closed form (float64: Python's
  ``pow``, within ~1e-15 relative of PyTorch's product after a thousand decays, measured).

  PyTorch checks nothing here; a ``step_size`` that is not a positive int is a TypeError or
  ValueError (PyTorch divides by it: a float 2.5 decays at epochs 5, 10..., 0 raises
  ZeroDivisionError at the first ``step()``), and so is a negative ``gamma``.

  Args:
    lr: :math:`\eta_0`, the group's initial lr, a finite number >= 0.
    step_size: :math:`s`, epochs between decays, an int >= 1.
    gamma: :math:`\gamma`, the factor, a finite number >= 0.
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run: count 0 is epoch k + 1.

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.step_lr(0.5, step_size=3, gamma=0.1)
    >>> [round(float(s(t)), 4) for t in (0, 2, 3, 6)]
    [0.5, 0.5, 0.05, 0.005]
  """
  rate("lr", lr)
  s = integer("step_size", step_size, 1)
  rate("gamma", gamma)
  k = last_epoch_of(last_epoch)
  g = float(gamma)

  def build(base, group):
    del group

    def value(n, dt):
      return jnp.asarray(base, dt) * power(g, floordiv(epoch(n, k + 1), s), dt)

    def factor(e, dt):
      return jnp.where((e > 0) & (mod(e, s) == 0), g, 1.0).astype(dt)

    return Rule(value, kind="multiply", factor=factor, cumulative=lambda n, dt: power(g, floordiv(n, s), dt))

  return make(
    "StepLR", lr, {"step_size": step_size, "gamma": gamma, "last_epoch": last_epoch}, build, last_epoch=k
  )


def multi_step_lr(
  lr: Any, milestones: Iterable[int], gamma: Any = 0.1, last_epoch: int = -1
) -> TorchLRScheduler:
  r"""PyTorch's ``MultiStepLR``: the lr multiplied by ``gamma`` at each milestone epoch.

  .. math::
    \eta_t = \eta_0\, \gamma^{\#\{m \in M : m \le e\}}, \qquad e = t\ (\text{fresh}),\ k + 1 + t
        \ (\texttt{last\_epoch}=k)

  with :math:`\eta_0` = ``lr``, :math:`M` = ``milestones`` (a multiset, as PyTorch's ``Counter``: a
  milestone given twice multiplies by :math:`\gamma^2`; the order does not matter) and
  :math:`\gamma` = ``gamma``. The rates after each milestone are PyTorch's products, computed once
  on the host: the same bits as PyTorch. A negative milestone is never reached (as in PyTorch).

  Args:
    lr: :math:`\eta_0`, the group's initial lr, a finite number >= 0.
    milestones: the epochs at which to decay, an iterable of ints (TypeError otherwise).
    gamma: :math:`\gamma`, the factor, a finite number >= 0.
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run: count 0 is epoch k + 1.

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.multi_step_lr(1.0, milestones=[2, 4, 4], gamma=0.5)
    >>> [float(s(t)) for t in range(6)]
    [1.0, 1.0, 0.5, 0.5, 0.125, 0.125]
  """
  rate("lr", lr)
  if isinstance(milestones, (str, bytes)) or not isinstance(milestones, Iterable):
    raise TypeError(
      f"milestones should be an iterable of ints, got {type(milestones).__name__} {milestones!r}."
    )
  ms = list(milestones)
  for i, m in enumerate(ms):
    if not _validation.is_int(m):
      raise TypeError(f"milestones[{i}] should be an int, got {type(m).__name__} {m!r} in {ms!r}.")
  rate("gamma", gamma)
  k = last_epoch_of(last_epoch)
  g = float(gamma)
  counts = Counter(int(m) for m in ms)
  points = sorted(m for m in counts if 0 <= m <= I32_MAX)
  factors = [g ** counts[m] for m in points]

  def build(base, group):
    del group
    values, cum = [base], [1.0]
    for f in factors:  # PyTorch's recursion: group['lr'] * gamma ** count
      values.append(values[-1] * f)
      cum.append(cum[-1] * f)
    where = np.asarray(points, np.int32)

    def index(e):
      return jnp.searchsorted(jnp.asarray(where), e, side="right") if points else jnp.zeros_like(e)

    def value(n, dt):
      return jnp.asarray(values, dt)[index(epoch(n, k + 1))]

    def factor(e, dt):
      out = jnp.ones(e.shape, dt)
      for m, f in zip(points, factors, strict=True):
        out = jnp.where(e == m, jnp.asarray(f, dt), out)
      return out

    return Rule(
      value, kind="multiply", factor=factor, cumulative=lambda n, dt: jnp.asarray(cum, dt)[index(n)]
    )

  return make(
    "MultiStepLR", lr, {"milestones": ms, "gamma": gamma, "last_epoch": last_epoch}, build, last_epoch=k
  )


def constant_lr(
  lr: Any, factor: Any = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1
) -> TorchLRScheduler:
  r"""PyTorch's ``ConstantLR``: the lr times ``factor`` until epoch ``total_iters``.

  .. math::
    \eta_t = \eta_0\, f \ (e < n), \qquad \eta_0\, f\, (1 / f) \ (e \ge n),
    \qquad e = t\ (\text{fresh}),\ k + 1 + t\ (\texttt{last\_epoch}=k)

  with :math:`\eta_0` = ``lr``, :math:`f` = ``factor`` and :math:`n` = ``total_iters``: PyTorch
  multiplies by f at epoch 0 and by 1 / f at epoch n, so after n the lr is
  :math:`\eta_0 f (1/f)` in floats (not always :math:`\eta_0` to the last bit); the same bits here.
  With ``total_iters=0`` PyTorch never divides: the lr stays :math:`\eta_0 f`.

  Args:
    lr: :math:`\eta_0`, the group's initial lr, a finite number >= 0.
    factor: :math:`f`, a number in [0, 1] (ValueError otherwise, PyTorch's message); 0 is a
      ValueError when ``total_iters > 0`` (PyTorch divides by it at epoch ``total_iters``).
    total_iters: :math:`n`, an int >= 0.
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run: count 0 is epoch k + 1.

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.constant_lr(0.1, factor=0.5, total_iters=2)
    >>> [round(float(s(t)), 6) for t in range(4)]
    [0.05, 0.05, 0.1, 0.1]
  """
  rate("lr", lr)
  real("factor", factor)
  if factor > 1.0 or factor < 0:
    raise ValueError(f"Constant multiplicative factor expected to be between 0 and 1. (factor={factor!r})")
  n_iters = integer("total_iters", total_iters, 0)
  if factor == 0 and n_iters > 0:
    raise ValueError(
      f"factor=0 with total_iters={n_iters}: PyTorch divides the lr by factor at epoch total_iters "
      "(ZeroDivisionError); use a factor > 0 or total_iters=0."
    )
  k = last_epoch_of(last_epoch)
  f = float(factor)

  def build(base, group):
    del group
    before = base * f
    after = before * (1.0 / f) if f else before

    def value(n, dt):
      e = epoch(n, k + 1)
      reached = (e >= n_iters) if 0 < n_iters <= I32_MAX else jnp.zeros(e.shape, bool)
      return jnp.where(reached, jnp.asarray(after, dt), jnp.asarray(before, dt))

    def factor_(e, dt):
      out = jnp.where(e == 0, f, 1.0)
      if 0 < n_iters <= I32_MAX:
        out = jnp.where(e == n_iters, 1.0 / f, out)
      return out.astype(dt)

    def cumulative(n, dt):
      reached = (n >= n_iters) if 0 < n_iters <= I32_MAX else jnp.zeros(n.shape, bool)
      return jnp.where(reached, jnp.asarray(f * (1.0 / f) if f else f, dt), jnp.asarray(f, dt))

    return Rule(value, kind="multiply", factor=factor_, cumulative=cumulative)

  arguments = {"factor": factor, "total_iters": total_iters, "last_epoch": last_epoch}
  return make("ConstantLR", lr, arguments, build, last_epoch=k)
