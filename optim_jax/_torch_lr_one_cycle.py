"""PyTorch's ``OneCycleLR``: up to ``max_lr`` and down, with the momentum the other way round.

Its ``get_lr`` is a closed form of the epoch, so under x64 this is PyTorch's operations on the same
float64 values, the same bits on CPU. The count and the arithmetic are described in
`optim_jax._torch_lr_scheduler`.
"""

from __future__ import annotations

import math
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
  format_param_message,
  is64,
  last_epoch_of,
  make,
  minus,
  per_group,
  pick,
  rate,
  real,
  scaled32,
  sin2,
  torch_int,
)


def one_cycle_lr(
  max_lr: Any,
  total_steps: int | None = None,
  epochs: int | None = None,
  steps_per_epoch: int | None = None,
  pct_start: float = 0.3,
  anneal_strategy: str = "cos",
  cycle_momentum: bool = True,
  base_momentum: Any = 0.85,
  max_momentum: Any = 0.95,
  div_factor: Any = 25.0,
  final_div_factor: Any = 1e4,
  three_phase: bool = False,
  last_epoch: int = -1,
) -> TorchLRScheduler:
  r"""PyTorch's ``OneCycleLR`` (Smith and Topin 2018): up to ``max_lr``, then down to a tiny lr.

  The lr starts at :math:`\eta_{max} / \text{div\_factor}`, reaches :math:`\eta_{max}` =
  ``max_lr`` at epoch ``pct_start * total_steps - 1`` and anneals to
  :math:`\eta_{max} / \text{div\_factor} / \text{final\_div\_factor}` at ``total_steps - 1`` (with
  ``three_phase``, back to the initial lr at ``2 * pct_start * total_steps - 2`` first). In a phase
  from :math:`a` to :math:`b` over epochs :math:`[s, s']`, at epoch :math:`e` (the count; k + 1 +
  count for ``last_epoch=k``) with :math:`p = (e - s) / (s' - s)`:

  .. math::
    \eta = b + \frac{a - b}{2} (1 + \cos \pi p) \ (\texttt{'cos'}), \qquad
    \eta = (b - a)\, p + a \ (\texttt{'linear'})

  and the momentum PyTorch writes into the optimizer (``cycle_momentum=True``) anneals the same way
  between ``max_momentum`` and ``base_momentum`` (`TorchLRScheduler.momentum`; PyTorch raises
  ValueError for an optimizer with neither momentum nor betas, `TorchLRScheduler.check_optimizer`).
  PyTorch's operations under x64 (the same bits); in float32 without cancellation near the phase
  ends. PyTorch computes epoch ``total_steps`` (past the end of the last phase) and raises
  ValueError at the step after it: from count ``total_steps + 1`` on (fresh) this schedule is NaN.
  It takes no ``lr``: PyTorch sets the group's lr from ``max_lr``.

  Args:
    max_lr: :math:`\eta_{max}`, a finite number >= 0, or a list or tuple of them, one per group.
    total_steps: the number of steps, a positive int (ValueError otherwise, PyTorch's message), or
      None to give ``epochs`` and ``steps_per_epoch``.
    epochs: with ``steps_per_epoch``: ``total_steps = epochs * steps_per_epoch``, positive ints.
    steps_per_epoch: see ``epochs``.
    pct_start: the fraction of the steps spent rising, a float in [0, 1] (ValueError otherwise, also
      for an int, as PyTorch).
    anneal_strategy: ``'cos'`` or ``'linear'`` (ValueError otherwise, PyTorch's message).
    cycle_momentum: True (PyTorch's default) to drive the optimizer's momentum, or False.
    base_momentum: the lowest momentum, a finite number, or a list of them, one per group.
    max_momentum: the highest momentum, likewise.
    div_factor: initial lr = ``max_lr / div_factor``, a finite number > 0 (0 is PyTorch's
      ZeroDivisionError).
    final_div_factor: final lr = initial lr / ``final_div_factor``, a finite number > 0.
    three_phase: True or False (see above).
    last_epoch: -1 for a fresh run, or the last epoch k of a resumed run: count 0 is epoch k + 1.

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count) whose ``momentum`` is a
    schedule when ``cycle_momentum``.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.one_cycle_lr(1.0, total_steps=5, pct_start=0.4, anneal_strategy="linear",
    ...                           div_factor=4.0, final_div_factor=1e4)
    >>> [round(float(s(t)), 4) for t in range(5)], round(float(s.momentum(1)), 4)
    ([0.25, 1.0, 0.6667, 0.3334, 0.0], 0.85)
  """
  if total_steps is not None:
    n_steps = torch_int("total_steps", total_steps, "Expected positive integer total_steps, but got {}", 1)
  elif epochs is not None and steps_per_epoch is not None:
    n_epochs = torch_int("epochs", epochs, "Expected positive integer epochs, but got {}", 1)
    per = torch_int(
      "steps_per_epoch", steps_per_epoch, "Expected positive integer steps_per_epoch, but got {}", 1
    )
    n_steps = n_epochs * per
  else:
    raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
  if not _validation.is_real(pct_start):
    raise TypeError(f"pct_start should be a float, got {type(pct_start).__name__} {pct_start!r}.")
  if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
    raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
  if anneal_strategy not in ("cos", "linear"):
    raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
  fmt = format_param_message
  max_lrs, l1 = per_group("max_lr", max_lr, rate, fmt("max_lr"))
  for name, value in (("div_factor", div_factor), ("final_div_factor", final_div_factor)):
    real(name, value)
    if value == 0:  # PyTorch's, dividing by it
      raise ZeroDivisionError(f"float division by zero ({name}={value!r}; expected {name} > 0)")
    _validation.check(value > 0, name, value, f"{name} > 0 (the lrs would be negative)")
  _validation.flag("cycle_momentum", cycle_momentum)
  _validation.flag("three_phase", three_phase)
  lists = [l1] if l1 else []
  base_ms, max_ms = 0.0, 0.0
  if cycle_momentum:
    max_ms, l3 = per_group("max_momentum", max_momentum, real, fmt("max_momentum"))
    base_ms, l4 = per_group("base_momentum", base_momentum, real, fmt("base_momentum"))
    lists += [x for x in (l3, l4) if x]
  k = last_epoch_of(last_epoch)
  p = float(pct_start)
  if three_phase:  # (end epoch, lr from, lr to, momentum from, momentum to): PyTorch's phases
    phases = [
      (float(p * n_steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
      (float(2 * p * n_steps) - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
      (n_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
    ]
  else:
    phases = [
      (float(p * n_steps) - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
      (n_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
    ]
  bounds = []  # (start, end) of each phase
  start = 0.0
  for end, *_ in phases:
    bounds.append((start, float(end)))
    start = end
  linear = anneal_strategy == "linear"
  j0 = k + 1

  def selected(e: int) -> int:
    return next(i for i, (end, *_) in enumerate(phases) if e <= end or i == len(phases) - 1)

  if j0 > n_steps:  # PyTorch's, at the step made at construction
    raise ValueError(f"Tried to step {j0} times. The specified number of total steps is {n_steps}")
  s0, e0 = bounds[selected(j0)]
  if e0 == s0:  # PyTorch's, at the step made at construction
    raise ZeroDivisionError(
      f"float division by zero (pct_start={pct_start!r}, total_steps={n_steps}: phase {selected(j0)} of the "
      "schedule, where the first step falls, has no length)"
    )

  def anneal(values, key_from, key_to, e, i, dt):
    """Phase i's value at epoch e (int32) between values[key_from] and values[key_to]."""
    a, b = values[key_from], values[key_to]
    s, end = bounds[i]
    if is64(dt):
      pct = div(e.astype(dt) - s, end - s) if end != s else jnp.full(e.shape, jnp.nan, dt)
      if linear:
        return (b - a) * pct + a
      return b + (a - b) / 2.0 * (jnp.cos(math.pi * pct) + 1)
    if end == s:
      return jnp.full(e.shape, jnp.nan, dt)
    si, ei = math.floor(s), math.floor(end)
    after = (e - si).astype(dt) if 0 <= si <= I32_MAX else e.astype(dt) - np.float32(si)
    if 0 <= ei <= I32_MAX:
      gap = jnp.where(e <= ei, (ei - jnp.minimum(e, ei)).astype(dt), -(e - ei).astype(dt))
    elif ei > I32_MAX:
      gap = minus(ei, e, dt)
    else:  # every epoch is past the phase's end
      gap = np.float32(ei) - e.astype(dt)
    du, dv = (
      after - np.float32(s - si),
      gap + np.float32(end - ei),
    )  # e - s and end - e, from exact differences
    if linear:  # u = (e - s) / size, v = (end - e) / size = 1 - u
      u, v = scaled32(du, 1.0 / (end - s)), scaled32(dv, 1.0 / (end - s))
    else:  # the angles pi u / 2 and pi v / 2
      u, v = scaled32(du, math.pi / (2 * (end - s))), scaled32(dv, math.pi / (2 * (end - s)))
    quarter = np.float32(math.pi / 4)
    if a >= b:  # falling: b + (a - b) cos^2(pi u / 2), cos^2(pi u / 2) = sin^2(pi v / 2)
      w = v if linear else jnp.where(v <= quarter, sin2(v), 1 - sin2(u))
      return affine32(b, a - b, w)
    w = u if linear else jnp.where(u <= quarter, sin2(u), 1 - sin2(v))
    return affine32(a, b - a, w)

  def annealed(values, which, n, dt):
    e = epoch(n, j0)
    out = jnp.full(e.shape, jnp.nan, dt)  # past total_steps: PyTorch raises
    for i in reversed(range(len(phases))):
      _, *keys = phases[i]
      key_from, key_to = keys[which], keys[which + 1]
      value = anneal(values, key_from, key_to, e, i, dt)
      last = n_steps if i == len(phases) - 1 else math.floor(phases[i][0])
      inside = (e <= last) if last < I32_MAX else jnp.ones(e.shape, bool)
      out = jnp.where(inside, value, out)
    return out

  def build(base, group):
    del base
    peak = float(pick(max_lrs, group))
    initial = peak / float(div_factor)
    values = {
      "initial_lr": initial, "max_lr": peak, "min_lr": initial / float(final_div_factor),
      "max_momentum": float(pick(max_ms, group)), "base_momentum": float(pick(base_ms, group)),
    }  # fmt: skip

    def momentum(n, dt):
      return annealed(values, 2, n, dt)

    return Rule(lambda n, dt: annealed(values, 0, n, dt), momentum if cycle_momentum else None)

  arguments = dict(
    max_lr=max_lr, total_steps=total_steps, epochs=epochs, steps_per_epoch=steps_per_epoch,
    pct_start=pct_start, anneal_strategy=anneal_strategy, cycle_momentum=cycle_momentum,
    base_momentum=base_momentum, max_momentum=max_momentum, div_factor=div_factor,
    final_div_factor=final_div_factor, three_phase=three_phase, last_epoch=last_epoch,
  )  # fmt: skip
  return make(
    "OneCycleLR", None, arguments, build, last_epoch=k, cycle_momentum=cycle_momentum, lists=tuple(lists)
  )
