"""PyTorch's ``ReduceLROnPlateau`` as a transformation that takes the metric as an extra argument."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim_jax import _base, _validation
from optim_jax._torch_lr_scheduler import dtype, integer, per_group, pick

I32_MAX = 2**31 - 1


class TorchPlateauState(NamedTuple):
  """The plateau counters of `reduce_lr_on_plateau` (PyTorch's attributes of the same names)."""

  best: jax.Array  # the best metric (PyTorch's mode_worse, +-inf, before the first one)
  num_bad_epochs: jax.Array  # int32
  cooldown_counter: jax.Array  # int32
  last_epoch: jax.Array  # int32: the number of metrics received


class TorchReduceLROnPlateau(optax.GradientTransformationExtraArgs):
  """The transformation `reduce_lr_on_plateau` returns, with `for_group` for parameter groups."""

  __slots__ = ()

  @property
  def arguments(self) -> dict[str, Any]:
    """PyTorch's arguments as given (``min_lr`` per group kept whole) and the group picked."""
    return dict(self.update.torch_arguments)

  def for_group(self, index: int, lr: Any = None, *, groups: int | None = None) -> TorchReduceLROnPlateau:
    """The same rules for PyTorch's ``param_groups[index]``, whose lr starts at ``lr``.

    Every group sees the same metrics, so the copies make the same decisions (PyTorch's single
    scheduler); each reduces its own lr to its own ``min_lr`` entry.

    Args:
      index: the group's index, an int >= 0.
      lr: the group's initial lr; None keeps this transformation's.
      groups: the number of parameter groups, when known: a ``min_lr`` list must have that many
        entries (PyTorch's ValueError otherwise).

    Returns:
      A `TorchReduceLROnPlateau` for that group.
    """
    args = self.arguments
    min_lr = args["min_lr"]
    _validation.integer("index", index, lo=0)
    if groups is not None:
      _validation.integer("groups", groups, lo=1)
      if isinstance(min_lr, (list, tuple)) and len(min_lr) != groups:
        raise ValueError(f"expected {groups} min_lrs, got {len(min_lr)}")  # PyTorch's
    if isinstance(min_lr, (list, tuple)) and index >= len(min_lr):
      raise ValueError(f"min_lr has {len(min_lr)} values, none for param_groups[{index}].")
    args["group"] = index
    if lr is not None:
      args["lr"] = lr
    return reduce_lr_on_plateau(**args)


def reduce_lr_on_plateau(
  lr: Any,
  mode: str = "min",
  factor: Any = 0.1,
  patience: int = 10,
  threshold: Any = 1e-4,
  threshold_mode: str = "rel",
  cooldown: int = 0,
  min_lr: Any = 0,
  eps: Any = 1e-8,
  *,
  group: int | None = None,
) -> TorchReduceLROnPlateau:
  r"""PyTorch's ``ReduceLROnPlateau``: multiplies the updates by an lr that drops when a metric stalls.

  The transformation **multiplies the updates by the current lr** :math:`\eta` (the group's lr,
  starting at ``lr``): it *is* the learning rate, so put it where the lr goes, after an optimizer
  built with ``lr=1.0`` (exact for PyTorch's RMSprop and RAdam, whose lr multiplies the finished
  step; not for decoupled weight decay, which uses the lr again). Every ``update(..., metric=m)``
  ends an epoch, after the update was scaled with the old lr (PyTorch's ``opt.step();
  sched.step(m)``), with PyTorch's rules:

  * ``m`` better than ``best`` (``'min'``: :math:`m < best (1 - threshold)` for ``'rel'``,
    :math:`m < best - threshold` for ``'abs'``; ``'max'`` mirrored; ``best`` starts at
    :math:`\pm\infty`): ``best = m`` and ``num_bad_epochs = 0``, else ``num_bad_epochs += 1``;
    during a cooldown the counter is still updated, then ``cooldown_counter -= 1`` and
    ``num_bad_epochs = 0``;
  * when ``num_bad_epochs > patience``: :math:`\eta' = \max(\eta \cdot factor, min\_lr)`, applied
    if :math:`\eta - \eta' > eps`; ``cooldown_counter = cooldown``, ``num_bad_epochs = 0``.

  ``update`` without ``metric`` is an update inside an epoch. The metric must be one number; it is
  compared in the lr's dtype: float64 under ``jax_enable_x64`` (PyTorch's Python floats, the same
  decisions), float32 otherwise. The state is an ``optax.InjectStatefulHyperparamsState`` whose
  ``hyperparams["lr"]`` is the current lr, so ``oj.get_lr`` reads it and ``oj.set_lr`` sets it (as
  assigning ``param_groups[i]['lr']``: the plateau rules continue from the new value); its
  ``inner_state`` is a `TorchPlateauState`.

  Differences from ``oj.schedules.reduce_on_plateau`` (Paddle's): PyTorch updates ``best`` during
  the cooldown, compares ``best * (1 - threshold)`` rather than ``best - best * threshold``, starts
  from an infinite ``best`` and names ``epsilon`` ``eps``.

  Args:
    lr: the initial lr, a finite number >= 0 or a scalar array.
    mode: ``'min'`` or ``'max'`` (ValueError otherwise, PyTorch's message; TypeError for a non-str).
    factor: the lr is multiplied by it on a plateau, a number < 1 (ValueError otherwise, PyTorch's
      message) and >= 0 (ValueError; PyTorch accepts a negative one), or a scalar array.
    patience: bad epochs tolerated before a reduction, an int >= 0.
    threshold: how much better a metric must be, a finite number or a scalar array.
    threshold_mode: ``'rel'`` or ``'abs'`` (ValueError otherwise, PyTorch's message).
    cooldown: epochs after a reduction during which bad epochs are not counted, an int >= 0.
    min_lr: the lowest lr, a finite number >= 0 or a scalar array, or a list of numbers, one per
      parameter group (pick one with ``for_group``).
    eps: a reduction smaller than this is not applied, a finite number >= 0 or a scalar array.
    group: the parameter group a ``min_lr`` list is read for (see `TorchReduceLROnPlateau.for_group`).

  Returns:
    A `TorchReduceLROnPlateau` (an ``optax.GradientTransformationExtraArgs``); ``update`` takes the
    keyword ``metric=``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.torch.reduce_lr_on_plateau(0.1, patience=0)
    >>> g, state = jnp.ones(1), tx.init(jnp.zeros(1))
    >>> for m in (1.0, 2.0, 2.0):
    ...   u, state = tx.update(g, state, metric=m)
    >>> round(float(oj.get_lr(state)), 6), round(float(u[0]), 6)
    (0.001, 0.01)
  """
  _validation.hyperparameter("factor", factor)
  _validation.finite("factor", factor)
  if _validation.is_static_number(factor) and factor >= 1.0:
    raise ValueError(f"Factor should be < 1.0. (factor={factor!r})")  # PyTorch's, and the value
  _validation.in_range("factor", factor, lo=0.0)
  min_lrs, listed = per_group("min_lr", min_lr, _min_lr, "expected {n} min_lrs, got {k}")
  for name, value, choices in (
    ("mode", mode, ("min", "max")),
    ("threshold mode", threshold_mode, ("rel", "abs")),
  ):
    if not isinstance(value, str):
      raise TypeError(
        f"{name.replace(' ', '_')} should be one of {choices}, got {type(value).__name__} {value!r}."
      )
    if value not in choices:  # PyTorch's message, then the argument and what it allows
      arg = name.replace(" ", "_")
      raise ValueError(
        f"{name} {value} is unknown! ({arg}={value!r}; expected {choices[0]!r} or {choices[1]!r})"
      )
  _min_lr("lr", lr)
  _validation.hyperparameter("threshold", threshold)
  _validation.finite("threshold", threshold)
  _min_lr("eps", eps)
  patience_, cooldown_ = (
    min(integer(n, v, 0), I32_MAX) for n, v in (("patience", patience), ("cooldown", cooldown))
  )
  floor = pick(min_lrs, group) if not listed or group is not None else 0.0
  worse = math.inf if mode == "min" else -math.inf

  def is_better(m, best, dt):
    thr = _base.hyper(threshold, dt)
    if threshold_mode == "rel":
      scale = (1.0 - thr) if mode == "min" else (thr + 1.0)  # PyTorch's rel_epsilon
      bar = best * scale
    else:
      bar = best - thr if mode == "min" else best + thr
    return m < bar if mode == "min" else m > bar

  def init_fn(params):
    del params
    if listed and group is None:
      raise ValueError("min_lr is a list, one per parameter group: pick the group with for_group(index, lr).")
    dt = dtype()
    zero = jnp.zeros([], jnp.int32)
    inner = TorchPlateauState(jnp.asarray(worse, dt), zero, zero, zero)
    return optax.InjectStatefulHyperparamsState(zero, {"lr": _base.hyper(lr, dt)}, {}, inner)

  def end_of_epoch(lr_now, s, metric):
    m = jnp.asarray(metric)
    if m.size != 1:
      raise ValueError(f"metric must be one number, got an array of shape {m.shape}: reduce it first.")
    dt = lr_now.dtype
    m = m.reshape(()).astype(dt)
    better = is_better(m, s.best, dt)
    best = jnp.where(better, m, s.best)
    bad = jnp.where(better, 0, optax.safe_increment(s.num_bad_epochs))
    cooling = s.cooldown_counter > 0
    cool = jnp.where(cooling, s.cooldown_counter - 1, s.cooldown_counter)
    bad = jnp.where(cooling, 0, bad)
    reduce = bad > patience_
    new = jnp.maximum(lr_now * _base.hyper(factor, dt), _base.hyper(floor, dt))
    lr_next = jnp.where(reduce & (lr_now - new > _base.hyper(eps, dt)), new, lr_now)
    cool = jnp.where(reduce, cooldown_, cool).astype(jnp.int32)
    bad = jnp.where(reduce, 0, bad).astype(jnp.int32)
    return lr_next, TorchPlateauState(best, bad, cool, optax.safe_increment(s.last_epoch))

  def update_fn(updates, state, params=None, *, metric=None, **extra_args):
    del params, extra_args
    lr_now = state.hyperparams["lr"]

    def scale(g):
      cd = _base.compute_dtype(g.dtype)
      return (g.astype(cd) * lr_now.astype(cd)).astype(g.dtype)

    updates = jax.tree.map(scale, updates)
    inner = state.inner_state
    if metric is not None:
      lr_now, inner = end_of_epoch(lr_now, inner, metric)
    new_state = optax.InjectStatefulHyperparamsState(
      optax.safe_increment(state.count), {**state.hyperparams, "lr": lr_now}, state.hyperparams_states, inner
    )
    return updates, new_state

  update_fn.torch_arguments = dict(
    lr=lr, mode=mode, factor=factor, patience=patience, threshold=threshold, threshold_mode=threshold_mode,
    cooldown=cooldown, min_lr=min_lr, eps=eps, group=group,
  )  # fmt: skip
  return TorchReduceLROnPlateau(init_fn, update_fn)


def _min_lr(name: str, value: Any) -> None:
  """A rate: a finite number >= 0 (TypeError, ValueError otherwise) or a scalar array."""
  _validation.hyperparameter(name, value, lo=0.0)
  _validation.finite(name, value)
