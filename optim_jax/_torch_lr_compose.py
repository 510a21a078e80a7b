"""PyTorch's composite schedulers: ``SequentialLR`` and ``ChainedScheduler``.

Both take schedulers of ``oj.torch`` made for the same optimizer (PyTorch: built on the same
optimizer; here: with the same ``lr``). The count and the arithmetic are described in
`optim_jax._torch_lr_scheduler`.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from optim_jax._torch_lr_scheduler import I32_MAX, Rule, TorchLRScheduler, last_epoch_of, make

PLATEAU = (
  "{cls} does not support `ReduceLROnPlateau` scheduler as it requires additional kwargs to be specified "
  "when calling `step`, but got one at index {i} in the given schedulers sequence."
)  # PyTorch's


def _members(
  cls: str, schedulers: Any, unsupported: tuple[str, ...]
) -> tuple[list[TorchLRScheduler], float | None]:
  """The schedulers, checked as PyTorch checks them (and for what is not modelled), and their lr."""
  from optim_jax._torch_lr_plateau import TorchReduceLROnPlateau

  if not isinstance(schedulers, (list, tuple)):
    raise TypeError(f"schedulers should be a list of oj.torch schedulers, got {type(schedulers).__name__}.")
  if len(schedulers) < 1:
    empty = (
      " to be chained, but got no scheduler." if cls == "ChainedScheduler" else ", but got no scheduler."
    )
    raise ValueError(f"{cls} expects at least one scheduler{empty}")
  lr = None
  for i, s in enumerate(schedulers):
    if isinstance(s, TorchReduceLROnPlateau):
      raise ValueError(PLATEAU.format(cls=cls, i=i))
    if not isinstance(s, TorchLRScheduler):
      raise TypeError(
        f"{cls} at index {i} should be a scheduler of oj.torch (PyTorch: should have `optimizer` as its "
        f"attribute), got {type(s).__name__}."
      )
    if s.name in unsupported:
      raise NotImplementedError(f"{cls} of a {s.name} (index {i}) is not supported: {unsupported[s.name]}")
    if s.last_epoch != -1:
      raise NotImplementedError(
        f"{cls} at index {i}: a resumed scheduler (last_epoch={s.last_epoch}) inside {cls} is not supported."
      )
    if s.lr is not None and lr is not None and s.lr != lr:
      raise ValueError(
        f"{cls} expects all schedulers to belong to the same optimizer, but got scheduler {s.name} at index "
        f"{i} with lr {s.lr!r}, which is different from {lr!r}."
      )
    lr = s.lr if lr is None else lr
  if sum(s.cycle_momentum for s in schedulers) > 1:
    raise NotImplementedError(f"{cls} with more than one scheduler cycling the momentum is not supported.")
  return list(schedulers), lr


SEQUENTIAL_UNSUPPORTED = {
  "SequentialLR": "PyTorch raises NotImplementedError at its milestone (SequentialLR has no get_lr).",
  "ChainedScheduler": "PyTorch raises NotImplementedError at its milestone (ChainedScheduler has no get_lr).",
  "OneCycleLR": "OneCycleLR sets the optimizer's initial_lr, which the other schedulers start from.",
}


def sequential_lr(schedulers: Any, milestones: Any, last_epoch: int = -1) -> TorchLRScheduler:
  r"""PyTorch's ``SequentialLR``: one scheduler after another, switching at the milestones.

  With milestones :math:`m_1 < m_2 < \dots` (and :math:`m_0 = 0`), scheduler :math:`i` gives the lr
  for counts :math:`m_i \le t < m_{i+1}`, started afresh at the milestone: its value at
  :math:`t - m_i` (PyTorch calls its closed form at epoch 0, then steps it). The exception is
  ``multiplicative_lr``, which has no closed form: PyTorch starts it from the lr the previous
  scheduler left, times :math:`\lambda(0)`, and so does this. A momentum-cycling ``cyclic_lr``
  drives the momentum while it is active; before, the momentum is the one it set when built (its
  value at epoch 0), after, its last value (PyTorch leaves it there).

  Not modelled (NotImplementedError): a nested ``sequential_lr`` or ``chained_scheduler`` (PyTorch
  raises NotImplementedError at the milestone), ``one_cycle_lr`` (it changes the optimizer's
  ``initial_lr``, which the others then start from), resumed members, more than one scheduler
  cycling the momentum, and a ``last_epoch`` that makes PyTorch step a scheduler it never switched
  to (``last_epoch + 1 >= milestones[0]``). With ``last_epoch=k`` PyTorch's milestone counter starts
  at k + 1 (and the members start fresh): the milestones come k + 1 counts earlier.

  Args:
    schedulers: a non-empty list or tuple of schedulers of ``oj.torch`` (TypeError otherwise;
      ValueError, PyTorch's message, for an empty list, a ``reduce_lr_on_plateau`` or schedulers with
      different ``lr``, which PyTorch would have built on different optimizers).
    milestones: a list or tuple of ``len(schedulers) - 1`` ints (ValueError otherwise, PyTorch's
      message), increasing and >= 1 (ValueError; PyTorch does not check).
    last_epoch: -1, or the last epoch k of a resumed run (see above).

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> warmup = oj.torch.linear_lr(0.1, start_factor=0.25, total_iters=2)
    >>> decay = oj.torch.exponential_lr(0.1, gamma=0.5)
    >>> s = oj.torch.sequential_lr([warmup, decay], milestones=[3])
    >>> [round(float(s(t)), 4) for t in range(6)]
    [0.025, 0.0625, 0.1, 0.1, 0.05, 0.025]
  """
  members, lr = _members("SequentialLR", schedulers, SEQUENTIAL_UNSUPPORTED)
  if not isinstance(milestones, (list, tuple)):
    raise TypeError(f"milestones should be a list of ints, got {type(milestones).__name__} {milestones!r}.")
  if len(milestones) != len(members) - 1:
    raise ValueError(
      "Sequential Schedulers expects number of schedulers provided to be one more than the number of "
      f"milestone points, but got number of schedulers {len(members)} and the number of milestones to be "
      f"equal to {len(milestones)}"
    )
  ms = []
  for i, m in enumerate(milestones):
    if not isinstance(m, (int, np.integer)) or isinstance(m, bool):
      raise TypeError(f"milestones[{i}] should be an int, got {type(m).__name__} {m!r}.")
    if m < 1 or (ms and m <= ms[-1]):
      raise ValueError(f"milestones should be increasing ints >= 1, got {list(milestones)!r}.")
    ms.append(int(m))
  k = last_epoch_of(last_epoch)
  shifted = [m - (k + 1) for m in ms]
  if shifted and shifted[0] < 1:
    raise NotImplementedError(
      f"SequentialLR with last_epoch={k}: PyTorch's milestone counter starts at {k + 1}, past the milestone "
      f"{ms[0]}, and steps the next scheduler without switching to it; not modelled."
    )
  bounds = [0, *shifted]

  def build(base, group, parts):
    del base, group
    rules = [p.rule for p in parts]

    def value(n, dt, segments=None):
      out = rules[0].value(n, dt)
      for i in range(1, len(rules) if segments is None else segments):
        m = bounds[i]
        if m > I32_MAX:
          break
        local = jnp.maximum(n - m, 0)
        if rules[i].continued is not None:  # MultiplicativeLR: from the lr the previous one left
          before = value(jnp.full(n.shape, m - 1, jnp.int32), dt, i)
          v = rules[i].continued(before, local, dt)
        else:
          v = rules[i].value(local, dt)
        out = jnp.where(n >= m, v, out)
      return out

    cycling = [i for i, r in enumerate(rules) if r.momentum is not None]
    momentum = None
    if cycling:
      (i,) = cycling
      lo, hi = bounds[i], (bounds[i + 1] - 1 if i + 1 < len(bounds) else None)

      def momentum(n, dt):
        local = jnp.clip(n - lo, 0, None if hi is None else max(hi - lo, 0)) if lo <= I32_MAX else 0 * n
        return rules[i].momentum(local.astype(jnp.int32), dt)

    return Rule(value, momentum)

  lists = tuple(x for m in members for x in m.lists)
  arguments = {"schedulers": [m.name for m in members], "milestones": ms, "last_epoch": last_epoch}
  cycling = any(m.cycle_momentum for m in members)
  return make("SequentialLR", lr, arguments, build, last_epoch=k, cycle_momentum=cycling, lists=lists,
              members=tuple(members))  # fmt: skip


CHAINED_UNSUPPORTED = {
  "CosineAnnealingLR": "its recursion adds eta_min terms that do not chain into a product with the others.",
  "SequentialLR": "a SequentialLR switches schedulers inside the chain; not modelled.",
  "OneCycleLR": "OneCycleLR sets the optimizer's initial_lr, which the other schedulers start from.",
}


def chained_scheduler(schedulers: Any) -> TorchLRScheduler:
  r"""PyTorch's ``ChainedScheduler``: every scheduler steps the same lr, one after the other.

  PyTorch calls each scheduler's ``step()`` in list order on the group's lr. Schedulers whose step
  multiplies the lr by a factor (``step_lr``, ``multi_step_lr``, ``constant_lr``, ``linear_lr``,
  ``exponential_lr``, ``polynomial_lr``, ``multiplicative_lr``) chain into the product of their
  factors: :math:`\eta_t = \eta_0 \prod_i f_i(t)`; a scheduler that sets the lr itself
  (``lambda_lr``, ``cyclic_lr``, ``cosine_annealing_warm_restarts``) overrides everything before
  it at every step, and the factors of the schedulers after the last such one multiply its value
  by their factor of that step only (PyTorch's behaviour; measured). A nested
  ``chained_scheduler`` is flattened.

  Not modelled (NotImplementedError): ``cosine_annealing_lr`` (its step adds ``eta_min`` terms that
  do not chain into a product), ``sequential_lr``, ``one_cycle_lr``, resumed members and more than
  one scheduler cycling the momentum.

  Args:
    schedulers: a non-empty list or tuple of schedulers of ``oj.torch``, in the order PyTorch built
      (and steps) them (TypeError otherwise; ValueError, PyTorch's message, for an empty list, a
      ``reduce_lr_on_plateau`` or schedulers with different ``lr``).

  Returns:
    A `TorchLRScheduler` (an ``optax.Schedule`` of the update count).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.torch.chained_scheduler(
    ...   [oj.torch.constant_lr(1.0, factor=0.1, total_iters=2), oj.torch.exponential_lr(1.0, gamma=0.9)])
    >>> [round(float(s(t)), 4) for t in range(4)]
    [0.1, 0.09, 0.81, 0.729]
  """
  members, lr = _members("ChainedScheduler", schedulers, CHAINED_UNSUPPORTED)
  flat = []
  for m in members:
    flat.extend(m.members if m.name == "ChainedScheduler" else [m])

  def build(base, group, parts):
    del group
    rules = [p.rule for p in parts]
    last = max((i for i, r in enumerate(rules) if r.kind == "overwrite"), default=None)
    start = 0 if last is None else last + 1

    def value(n, dt):
      if last is None:
        out = jnp.full(n.shape, base, dt)
        for r in rules:
          out = out * r.cumulative(n, dt)
        return out
      out = rules[last].value(n, dt)
      for r in rules[start:]:
        out = out * r.factor(n, dt)
      return out

    cycling = [r for r in rules if r.momentum is not None]
    return Rule(value, cycling[0].momentum if cycling else None)

  lists = tuple(x for m in flat for x in m.lists)
  cycling = any(m.cycle_momentum for m in flat)
  return make("ChainedScheduler", lr, {"schedulers": [m.name for m in flat]}, build, cycle_momentum=cycling,
              lists=lists, members=tuple(flat))  # fmt: skip
