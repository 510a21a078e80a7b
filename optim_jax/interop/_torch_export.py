"""``export_torch_state``: PyTorch's ``optimizer.state_dict()`` and ``scheduler.state_dict()`` from our state.

The inverse of `import_torch_state` (see `optim_jax.interop._torch` for the mapping of buffers and
counters); the ``param_groups`` options are the transformation's (`torch_config`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from optim_jax.interop import _torch_plateau
from optim_jax.interop._slots import Slot, state_slots
from optim_jax.interop._torch import (
  BUFFERS,
  SCALARS,
  STATE_KEYS,
  _counts,
  _f64,
  _group_of,
  _index_map,
  _is_schedule,
  _layout,
  _scheduler,
  option_at,
  scheduler_keys,
)
from optim_jax.interop._torch_config import GROUP_ORDER, SWITCHES, TorchConfig, torch_config

# --- export ----------------------------------------------------------------------------------------


def _current_lr(cfg: TorchConfig, g: int, slots: list[tuple[Slot, Any]], count: int) -> float:
  lr = cfg.groups[g]["lr"]
  if _is_schedule(lr):
    return _f64(lr, count)
  if cfg.grouped:
    held = [np.asarray(v) for s, v in slots if s.field == "hyperparams/lr" and _group_of(s) == g]
    if held:  # the group's lr in the state: the exact number if unchanged
      return float(lr) if held[0] == np.asarray(lr, held[0].dtype) else float(held[0])
  return lr


def _plain(value: Any) -> Any:
  """A Python number for a numpy scalar (``to_torch`` would make it a tensor; PyTorch keeps floats)."""
  if isinstance(value, (tuple, list)):
    return tuple(_plain(v) for v in value)
  return value.item() if isinstance(value, (np.generic, np.ndarray)) else value


def _position(name: str, k: int, param_groups: list[dict[str, Any]]) -> dict[str, Any]:
  """A scheduler's state_dict position after ``k`` steps (what load_state_dict needs of it)."""
  out = {
    "base_lrs": [pg["initial_lr"] for pg in param_groups],
    "last_epoch": k,
    "_step_count": max(k + 1, 1),
    "_is_initial": False,
    "_get_lr_called_within_step": False,
    "_last_lr": [pg["lr"] for pg in param_groups],
  }
  if name == "CyclicLR":  # its load_state_dict pops it (None: no custom scale_fn)
    out["_scale_fn_custom"] = None
  return out


def _scheduler_state(sched: Any, k: int, param_groups: list[dict[str, Any]]) -> dict[str, Any]:
  """``scheduler.state_dict()``'s position after k steps. A ChainedScheduler's members all stepped k
  times; a SequentialLR's member j (from milestone m_j) k - m_j times while active, -1 before it and
  to its last epoch after it (PyTorch restarts a member with step(0) at its milestone). A member's
  ``_last_lr`` is the group's lr (PyTorch's ``get_last_lr`` of a member, not used to step)."""
  if sched.name == "ChainedScheduler":
    members = [_position(m.name, k, param_groups) for m in sched.members]
    return {"_last_lr": [pg["lr"] for pg in param_groups], "_schedulers": members}
  if sched.name == "SequentialLR":
    starts = [0, *sched.arguments["milestones"]]
    ends = [*sched.arguments["milestones"], None]
    members = []
    for m, start, end in zip(sched.members, starts, ends, strict=True):
      epoch = -1 if k < start else (k - start if end is None or k < end else end - 1 - start)
      members.append(_position(m.name, epoch, param_groups))
    return {
      "_milestones": list(sched.arguments["milestones"]),
      "last_epoch": k,
      "_last_lr": [pg["lr"] for pg in param_groups],
      "_schedulers": members,
    }
  return _position(sched.name, k, param_groups)


def export_torch_state(
  tx: Any,
  params: Any,
  opt_state: Any,
  *,
  names: Sequence[str] | Mapping[int, str] | None = None,
  step: int | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
  """PyTorch's ``optimizer.state_dict()`` (and ``scheduler.state_dict()``) from our state, as numpy.

  The inverse of `import_torch_state` (the round trip is exact): parameter ``i`` of PyTorch is
  ``names[i]`` (by default each group's leaves in ``jax.tree.leaves`` order, group after group),
  ``step`` is the group's count (a float32 scalar, as PyTorch keeps it), the group's options are the
  transformation's and ``lr`` is the one the next update uses. After ``to_torch`` both dicts load with
  ``optimizer.load_state_dict`` and ``scheduler.load_state_dict`` into an optimizer and scheduler
  built as the transformation (the scheduler state is its position: ``last_epoch`` = the count,
  ``base_lrs``, ``_last_lr``). At count 0 the state is empty, as a fresh PyTorch optimizer's. A chain
  ending in ``oj.torch.reduce_lr_on_plateau`` exports the plateau's lr as the group's and its state
  as ``ReduceLROnPlateau.state_dict()`` (its arguments, ``best``, ``num_bad_epochs``,
  ``cooldown_counter``, ``last_epoch``, ``_last_lr``).

  Args:
    tx: the transformation (see `import_torch_state`).
    params: our parameters (structure, shapes and dtypes).
    opt_state: its state.
    names: as in `import_torch_state` (a dict maps PyTorch's index to our path).
    step: the number of updates done; needed only when the state has no counter (``oj.torch.rmsprop``
      with a constant lr and no groups), else it must equal the count.

  Returns:
    ``(optimizer_state, scheduler_state)``; the latter is None unless the lr is an ``oj.torch``
    scheduler or a plateau.

  Raises:
    ValueError: ``step`` missing where the state has no counter or disagreeing with the count, a
      ``names`` that does not fit, or a transformation that is not of ``oj.torch``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> from optim_jax.interop import export_torch_state
    >>> params = {"b": jnp.zeros(2), "w": jnp.zeros((2, 2))}
    >>> tx = oj.torch.radam(lr=oj.torch.step_lr(0.01, step_size=2))
    >>> state = tx.init(params)
    >>> for _ in range(3):
    ...   _, state = tx.update(params, state, params)
    >>> opt, sched = export_torch_state(tx, params, state)
    >>> sorted(opt["state"][1]), float(opt["state"][1]["step"]), opt["param_groups"][0]["lr"]
    (['exp_avg', 'exp_avg_sq', 'step'], 3.0, 0.001)
    >>> sched["last_epoch"], sched["_last_lr"]
    (3, [0.001])
  """
  split = _torch_plateau.split(tx)
  if split is not None:
    return _torch_plateau.export_plateau(tx, params, opt_state, names=names, step=step)
  cfg = torch_config(tx)
  slots = state_slots(opt_state, params)
  layout = _layout(cfg, slots, params)
  counts = _counts(slots, len(cfg.groups))
  for g, count in enumerate(counts):
    if count is None:
      if step is None:
        raise ValueError(
          "The state has no update counter (a constant lr and no parameter groups): pass step= (the number "
          "of "
          "optimizer steps done), which PyTorch's checkpoint records."
        )
      counts[g] = int(step)
    elif step is not None and int(step) != count:
      raise ValueError(f"step={step} disagrees with the state's count {count} (parameter group {g}).")
  n = sum(len(g) for g in layout)
  if names is None:
    index = dict(enumerate(p for g in layout for p in g))
  elif isinstance(names, Mapping):
    index = dict(names)
  else:
    index = dict(enumerate(names))
  by_path = {
    p: k
    for k, p in _index_map(
      params, layout, index, [[k for k in index if index[k] in g] for g in layout]
    ).items()
  }
  if len(by_path) != n:
    raise ValueError(f"names= maps {len(by_path)} parameters; the transformation's groups have {n}.")
  sched = _scheduler(cfg)

  param_groups = []
  for g, options in enumerate(cfg.groups):
    group: dict[str, Any] = {}
    for key in GROUP_ORDER[cfg.optimizer]:
      if key in SWITCHES[cfg.optimizer]:
        group[key] = options.get(key, None if key == "foreach" else False)
      elif key == "lr":
        group[key] = _current_lr(cfg, g, slots, counts[g])
      else:  # a scheduled weight_decay or cycled momentum: its value at the count
        group[key] = option_at(options[key], counts[g])
    lr = options["lr"]
    if sched is not None:
      group["initial_lr"] = lr.lr if lr.lr is not None else _f64(lr, 0)
      group |= scheduler_keys(sched, g)
    group = {k: _plain(v) for k, v in group.items()}
    group["params"] = sorted((by_path[p] for p in layout[g]), key=lambda k: list(index).index(k))
    param_groups.append(group)

  state: dict[Any, dict[str, Any]] = {}
  if any(counts):
    for g, paths in enumerate(layout):
      for p in paths:
        state[by_path[p]] = {"step": np.asarray(counts[g], np.float32)}
    for slot, leaf in slots:
      key = BUFFERS.get((slot.owner, slot.field))
      if key is not None and slot.param is not None:
        state[by_path[slot.param]][key] = np.array(leaf)
      elif (slot.owner, slot.field) in SCALARS:
        for p in layout[_group_of(slot)]:
          state[by_path[p]][SCALARS[(slot.owner, slot.field)]] = np.array(leaf)
    order = STATE_KEYS[cfg.optimizer]
    state = {k: {key: entry[key] for key in order if key in entry} for k, entry in sorted(state.items())}

  scheduler_state = None
  if sched is not None:
    scheduler_state = _scheduler_state(sched, counts[0], param_groups)
  return {"state": state, "param_groups": param_groups}, scheduler_state
