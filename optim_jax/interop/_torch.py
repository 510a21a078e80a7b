"""PyTorch optimizer and scheduler state in and out of the state of an ``oj.torch`` transformation.

PyTorch's ``optimizer.state_dict()`` is ``{"state": {index: {"step", <buffers>}}, "param_groups":
[{<options>, "params": [index, ...]}]}`` and ``scheduler.state_dict()`` holds the scheduler's
position (``last_epoch``, ``_last_lr``...). Here both are plain dicts of numpy arrays and Python
numbers (`to_numpy` turns a loaded checkpoint into that, `to_torch` back); torch is imported only by
`to_torch`.

Buffers map one to one: RMSprop's ``square_avg``, ``grad_avg`` (centered) and ``momentum_buffer``
(momentum), RAdam's ``exp_avg`` and ``exp_avg_sq``, ASGD's ``ax`` (and its ``eta``, ``mu``, one per
group here); every counter of a group's state is PyTorch's ``step`` of its parameters. The options in
``param_groups`` are checked against the transformation's (`torch_config`); a scheduled ``lr`` must be
the schedule at the count (PyTorch's scheduler stepped once per optimizer step, as the ``oj.torch``
schedulers count).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import numpy as np

from optim_jax.interop._slots import Slot, map_params, param_paths, replace_slots, state_slots
from optim_jax.interop._torch_config import OPTIONS, SWITCHES, TorchConfig, torch_config

# (our state class, field) -> PyTorch's per-parameter state key
BUFFERS = {
  ("ScaleByRmsTorchState", "square_avg"): "square_avg",
  ("MomentumState", "momentum"): "momentum_buffer",
  ("ScaleByRmsTorchState", "grad_avg"): "grad_avg",
  ("ScaleByRadamState", "mu"): "exp_avg",
  ("ScaleByRadamState", "nu"): "exp_avg_sq",
  ("AveragedSgdState", "ax"): "ax",
}
# ASGD's step size and averaging weight: one per group here, one per parameter in PyTorch.
SCALARS = {("AveragedSgdState", "eta"): "eta", ("AveragedSgdState", "mu"): "mu"}
# PyTorch's order of a parameter's state keys.
STATE_KEYS = {
  "RMSprop": ("step", "square_avg", "momentum_buffer", "grad_avg"),
  "RAdam": ("step", "exp_avg", "exp_avg_sq"),
  "ASGD": ("step", "eta", "mu", "ax"),
}
# Keys of a param group that say nothing about the maths.
BOOKKEEPING = ("params", "param_names", "initial_lr", "fused")
# Keys a scheduler writes into every param group (checked against it, and exported).
SCHEDULER_KEYS = {
  "OneCycleLR": ("max_lr", "min_lr", "max_momentum", "base_momentum"),
  "CyclicLR": ("base_momentum", "max_momentum"),
}
# A scheduler's position in its state_dict (what export writes; load_state_dict keeps the rest).
POSITION = ("base_lrs", "last_epoch", "_step_count", "_is_initial", "_get_lr_called_within_step", "_last_lr")
RTOL = 1e-6


# --- conversions ----------------------------------------------------------------------------------


def to_numpy(obj: Any) -> Any:
  """A loaded checkpoint with every tensor as a numpy array, without importing its framework.

  Anything with ``.detach()`` (a ``torch.Tensor``) becomes a copy of ``obj.detach().cpu().numpy()``
  (the optimizer updates its tensors in place), anything else with ``.numpy()`` (Paddle, TensorFlow,
  Keras) a copy of ``obj.numpy()``; dicts, lists and
  tuples are converted item by item (keys and types kept); numbers, strings, None and numpy arrays
  stay as they are.

  Args:
    obj: ``optimizer.state_dict()``, ``scheduler.state_dict()``, ``torch.load(...)`` or any nesting
      of dicts, lists and tuples of tensors and plain values.

  Returns:
    The same nesting with numpy arrays for tensors.

  Example:
    >>> import numpy as np
    >>> from optim_jax.interop import to_numpy
    >>> class FakeTensor:  # stands for a torch.Tensor
    ...   def detach(self): return self
    ...   def cpu(self): return self
    ...   def numpy(self): return np.ones(2, np.float32)
    >>> to_numpy({"state": {0: {"step": FakeTensor()}}, "param_groups": [{"betas": (0.9, 0.99)}]})
    {'state': {0: {'step': array([1., 1.], dtype=float32)}}, 'param_groups': [{'betas': (0.9, 0.99)}]}
  """
  if hasattr(obj, "detach") and callable(obj.detach):
    return np.array(obj.detach().cpu().numpy())  # a copy: the optimizer updates its tensors in place
  if isinstance(obj, Mapping):
    return {k: to_numpy(v) for k, v in obj.items()}
  if isinstance(obj, (list, tuple)):
    return type(obj)(to_numpy(v) for v in obj)
  if not isinstance(obj, np.ndarray) and hasattr(obj, "numpy") and callable(obj.numpy):
    return np.array(obj.numpy())
  return obj


def to_torch(state_dict: Any) -> Any:
  """A state dict of numpy arrays with ``torch.as_tensor`` arrays, for ``load_state_dict`` (imports torch).

  Numpy arrays and numpy scalars become tensors (copies); dicts, lists and tuples are converted item
  by item; Python numbers stay Python numbers (PyTorch keeps ``lr`` and ``betas`` as floats).

  Args:
    state_dict: what `export_torch_state` returns, or any nesting of it.

  Returns:
    The same nesting with tensors.

  Raises:
    ImportError: if torch is not installed.

  Example:
    >>> import numpy as np
    >>> from optim_jax.interop import to_torch
    >>> try:  # optimizer.load_state_dict(to_torch(state_dict)) where torch is installed
    ...   loaded = to_torch({"state": {0: {"step": np.float32(3)}}, "param_groups": [{"lr": 0.1}]})
    ... except ImportError:
    ...   loaded = None
  """
  import torch

  def convert(obj: Any) -> Any:
    if isinstance(obj, (np.ndarray, np.generic)):
      return torch.as_tensor(np.array(obj))
    if isinstance(obj, Mapping):
      return {k: convert(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
      return type(obj)(convert(v) for v in obj)
    return obj

  return convert(state_dict)


# --- shared pieces -------------------------------------------------------------------------------


def _f64(fn: Any, count: int) -> float:
  """A schedule at ``count`` as a Python float, in float64 (PyTorch computes lrs in double)."""
  with jax.enable_x64(True):
    return float(fn(np.int32(count)))


def _is_schedule(value: Any) -> bool:
  return callable(value)


def option_at(value: Any, count: int) -> Any:
  """An option as PyTorch's param_groups hold it at ``count``: a schedule (lr, a cycled momentum) its
  float64 value there, ``betas`` with a cycled beta1 the pair of values, a number as it is."""
  if _is_schedule(value):
    return _f64(value, count)
  if isinstance(value, (tuple, list)):
    return tuple(option_at(v, count) for v in value)
  return value


def cycled(value: Any) -> Any:
  """The schedule of a cycled momentum (``momentum``) or beta1 (``betas[0]``), or None."""
  if isinstance(value, (tuple, list)):
    value = value[0]
  return value if _is_schedule(value) else None


def _group_of(slot: Slot) -> int:
  return 0 if slot.group is None else slot.group


def _layout(cfg: TorchConfig, slots: list[tuple[Slot, Any]], params: Any) -> list[list[str]]:
  """Each group's parameter paths, in ``jax.tree.leaves`` order."""
  order = param_paths(params)
  members: list[set[str]] = [set() for _ in cfg.groups]
  for slot, _ in slots:
    if slot.param is not None:
      members[_group_of(slot)].add(slot.param)
  return [[p for p in order if p in m] for m in members]


def _index_map(
  params: Any, layout: list[list[str]], names: Any, groups_indices: list[list[Any]]
) -> dict[Any, str]:
  """PyTorch's parameter index -> our path, every index of group i a parameter of our group i."""
  keep = {p for g in layout for p in g}
  paths = param_paths(params)
  leaves = jax.tree.leaves(params)
  flat = [leaf if path in keep else None for path, leaf in zip(paths, leaves, strict=True)]
  sub = jax.tree.unflatten(jax.tree.structure(params), flat)
  keys = [k for g in groups_indices for k in g]
  if len(set(keys)) != len(keys):
    raise ValueError(f"param_groups list a parameter index twice: {keys}")
  default = [p for g in layout for p in g]
  mapping = map_params(sub, default if names is None else names, keys)
  for i, indices in enumerate(groups_indices):
    for k in indices:
      if mapping[k] not in layout[i]:
        theirs = next((j for j, g in enumerate(layout) if mapping[k] in g), None)
        raise ValueError(
          f"param_groups[{i}] lists parameter {k!r} ({mapping[k]!r}), which the transformation puts in "
          f"parameter group {theirs}."
        )
  return mapping


def _same(a: Any, b: Any) -> bool:
  if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)) or a is None or b is None:
    return a is b or (
      isinstance(a, (bool, np.bool_)) and isinstance(b, (bool, np.bool_)) and bool(a) == bool(b)
    )
  if isinstance(a, (tuple, list)) or isinstance(b, (tuple, list)):
    return (
      isinstance(a, (tuple, list))
      and isinstance(b, (tuple, list))
      and len(a) == len(b)
      and all(_same(x, y) for x, y in zip(a, b, strict=True))
    )
  if isinstance(a, str) or isinstance(b, str):
    return a == b
  try:
    return math.isclose(float(a), float(b), rel_tol=RTOL, abs_tol=0.0)
  except (TypeError, ValueError):
    return False


def _counts(slots: list[tuple[Slot, Any]], groups: int) -> list[int | None]:
  """Each group's update count (None where its state has no counter), all its counters equal."""
  out: list[int | None] = [None] * groups
  for slot, leaf in slots:
    if slot.field == "count":
      g, value = _group_of(slot), int(np.asarray(leaf))
      if out[g] is not None and out[g] != value:
        raise ValueError(
          f"The state's counters of parameter group {g} disagree: {out[g]} and {value} ({slot.where})."
        )
      out[g] = value
  return out


def _scheduler(cfg: TorchConfig) -> Any:
  """The torch scheduler (``oj.torch.*``) the groups' lr are, or None; another schedule is None too."""
  scheds = [g["lr"] for g in cfg.groups if _is_schedule(g["lr"]) and hasattr(g["lr"], "for_group")]
  return scheds[0] if scheds else None


def scheduler_keys(sched: Any, group: int) -> dict[str, float]:
  """The keys a scheduler writes into param_groups[group] (`SCHEDULER_KEYS`), with their values."""
  if sched.name not in SCHEDULER_KEYS:
    return {}
  args = sched.arguments

  def pick(name: str) -> float:
    value = args[name]
    return float(value[group] if isinstance(value, (list, tuple)) else value)

  out = {}
  if sched.name == "OneCycleLR":
    initial = pick("max_lr") / float(args["div_factor"])
    out = {"max_lr": pick("max_lr"), "min_lr": initial / float(args["final_div_factor"])}
  if args["cycle_momentum"]:
    out |= {"max_momentum": pick("max_momentum"), "base_momentum": pick("base_momentum")}
  return out


# --- import ----------------------------------------------------------------------------------------


def _check_group(
  cfg: TorchConfig, i: int, group: Mapping[str, Any], count: int | None, lr_held: bool
) -> None:
  ours = cfg.groups[i]
  sched = _scheduler(cfg)
  added = scheduler_keys(sched, i) if sched is not None else {}
  known = set(OPTIONS[cfg.optimizer]) | set(SWITCHES[cfg.optimizer]) | set(BOOKKEEPING) | set(added)
  extra = sorted(set(group) - known)
  if extra:
    raise ValueError(f"param_groups[{i}] has key(s) {extra} that torch.optim.{cfg.optimizer} does not have.")
  for key in OPTIONS[cfg.optimizer]:
    if key not in group:
      raise KeyError(f"param_groups[{i}] has no {key!r}.")
    theirs, mine = group[key], ours[key]
    if key == "lr" and lr_held and not _is_schedule(mine):
      continue  # a group's constant lr is state here (oj.set_lr), taken from the checkpoint
    if _is_schedule(mine) or cycled(mine) is not None:
      if count is None:
        raise ValueError(f"param_groups[{i}][{key!r}]: a schedule needs the count, and the state has none.")
      mine = option_at(mine, count)
      what = f"the transformation's schedule gives {mine!r} at update count {count}"
    else:
      what = f"the transformation has {mine!r}"
    if not _same(theirs, mine):
      raise ValueError(f"param_groups[{i}][{key!r}] is {theirs!r} in the checkpoint; {what}.")
  for key, mine in added.items():
    if key not in group:
      raise KeyError(f"param_groups[{i}] has no {key!r}, which {sched.name} sets.")
    if not _same(group[key], mine):
      raise ValueError(
        f"param_groups[{i}][{key!r}] is {group[key]!r} in the checkpoint; the {sched.name} has {mine!r}."
      )
  sched = ours["lr"]
  if "initial_lr" in group and getattr(sched, "for_group", None) is not None:
    start = sched.lr if sched.lr is not None else _f64(sched, 0)
    if not _same(group["initial_lr"], start):
      raise ValueError(
        f"param_groups[{i}]['initial_lr'] is {group['initial_lr']!r} in the checkpoint; the transformation's "
        f"scheduler starts at {start!r}."
      )


def _check_scheduler(cfg: TorchConfig, scheduler_state: Mapping[str, Any], counts: list[int | None]) -> None:
  sched = _scheduler(cfg)
  if sched is None:
    raise ValueError("A scheduler state was given, but the transformation's lr is not an oj.torch scheduler.")
  required = {
    "ChainedScheduler": ("_last_lr", "_schedulers"),
    "SequentialLR": ("last_epoch", "_last_lr", "_milestones", "_schedulers"),
  }.get(sched.name, ("last_epoch", "_last_lr", "base_lrs"))
  for key in required:
    if key not in scheduler_state:
      raise KeyError(f"The scheduler state has no {key!r}.")
  if sched.name == "ChainedScheduler":  # its members step together; it has no last_epoch of its own
    lasts = {int(m.get("last_epoch", -2)) for m in scheduler_state["_schedulers"]}
    if len(lasts) != 1:
      raise ValueError(f"The ChainedScheduler's members are at different last_epoch {sorted(lasts)}.")
    last = lasts.pop()
  else:
    last = scheduler_state["last_epoch"]
  for g, count in enumerate(counts):
    if count is not None and int(last) != count:
      raise ValueError(
        f"The scheduler state's 'last_epoch' is {last!r}; the optimizer state's step is {count} "
        f"(param_groups[{g}]): the oj.torch schedules count optimizer steps (a scheduler stepped per step)."
      )
  for key, want in (
    ("_last_lr", [_f64(g["lr"], int(last)) for g in cfg.groups]),
    ("base_lrs", [g["lr"].lr if g["lr"].lr is not None else _f64(g["lr"], 0) for g in cfg.groups]),
  ):
    if key in scheduler_state and not _same(list(scheduler_state[key]), want):
      raise ValueError(
        f"The scheduler state's {key!r} is {list(scheduler_state[key])}; the transformation gives {want}."
      )
  for key, value in sched.arguments.items():
    if (
      key != "last_epoch"
      and key in scheduler_state
      and np.isscalar(value)
      and not _same(scheduler_state[key], value)
    ):
      raise ValueError(
        f"The scheduler state's {key!r} is {scheduler_state[key]!r}; the transformation's {sched.name} has "
        f"{value!r}."
      )


def _as_scalar32(value: Any, like: Any, what: str) -> Any:
  """PyTorch's ASGD keeps eta and mu in its default dtype; after ``load_state_dict`` in the parameter's:
  a float64 value that float32 holds exactly is accepted for a float32 slot."""
  arr = np.asarray(value)
  if arr.dtype == np.float64 and np.dtype(like.dtype) == np.float32:
    if np.float64(np.float32(arr)) != arr:
      raise ValueError(
        f"{what}: expected float32, the checkpoint holds float64 {arr!r} that float32 does not hold."
      )
    return arr.astype(np.float32)
  return arr


def import_torch_state(
  tx: Any,
  params: Any,
  optimizer_state: Mapping[str, Any],
  scheduler_state: Mapping[str, Any] | None = None,
  *,
  names: Sequence[str] | Mapping[Any, str] | None = None,
) -> Any:
  """Our optimizer state from PyTorch's ``optimizer.state_dict()`` (and ``scheduler.state_dict()``).

  The parameters PyTorch numbers 0, 1, ... (group after group) are our parameter paths: by default
  each group's leaves in ``jax.tree.leaves(params)`` order, group after group (for one group: the
  leaves in order); ``names`` overrides it. Every counter of a group's state becomes PyTorch's
  ``step``. Each group's options must agree with the transformation's (numbers within 1e-6
  relative); a scheduled ``lr`` must be the schedule at that step, and a scheduler state must be at
  that step too. With ``param_groups=`` a group's constant ``lr`` is state (as PyTorch's
  ``param_groups[i]['lr']``) and is taken from the checkpoint. A checkpoint without any state (a
  fresh optimizer) gives ``tx.init(params)`` (with the groups' lr). For ``optax.chain(preset(lr=1.0),
  oj.torch.reduce_lr_on_plateau(...))`` (a ``ReduceLROnPlateau``, see `from_torch_config`) the
  scheduler state is required: its arguments must be the plateau's, the group's lr (= ``_last_lr``)
  becomes the plateau's lr, ``best``, ``num_bad_epochs``, ``cooldown_counter`` and ``last_epoch`` its
  state, the step its count.

  Args:
    tx: a transformation of ``oj.torch.rmsprop``, ``radam`` or ``asgd`` (see `torch_config`), also with
      ``param_groups=`` and chained after stateless clips.
    params: our parameters (a pytree; only its structure, shapes and dtypes are used).
    optimizer_state: ``optimizer.state_dict()`` as numpy (`to_numpy`): ``{"state", "param_groups"}``.
    scheduler_state: None, or ``scheduler.state_dict()`` as numpy.
    names: None, a list of our parameter paths in PyTorch's order (``names[i]`` is parameter i), or
      a dict from PyTorch's parameter index to our path.

  Returns:
    The state, structured as ``tx.init(params)``.

  Raises:
    KeyError: a key the checkpoint lacks (a top-level key, a group option, a parameter's state or
      buffer), named with the group or parameter.
    ValueError: a key the transformation has no use for, a shape, dtype or count that does not fit
      (a ReduceLROnPlateau state missing, or not exactly reproduced: ASGD, decoupled weight decay),
      an option that disagrees (naming group, key and both values), a parameter mapping that does
      not fit, or a transformation that is not of ``oj.torch``.

  Example:
    >>> import jax.numpy as jnp, numpy as np, optim_jax as oj
    >>> from optim_jax.interop import import_torch_state
    >>> params = {"b": jnp.zeros(2), "w": jnp.zeros((2, 2))}
    >>> group = {"lr": 0.01, "momentum": 0.9, "alpha": 0.99, "eps": 1e-8, "centered": False,
    ...          "weight_decay": 0, "capturable": False, "foreach": None, "maximize": False,
    ...          "differentiable": False, "params": [0, 1]}
    >>> state = {i: {"step": np.float32(3), "square_avg": np.full(s, 0.5, np.float32),
    ...              "momentum_buffer": np.ones(s, np.float32)} for i, s in enumerate([(2,), (2, 2)])}
    >>> tx = oj.torch.rmsprop(lr=0.01, momentum=0.9)
    >>> s = import_torch_state(tx, params, {"state": state, "param_groups": [group]})
    >>> s[0].square_avg["w"].tolist()
    [[0.5, 0.5], [0.5, 0.5]]
  """
  if not isinstance(optimizer_state, Mapping):
    raise TypeError(
      f"optimizer_state should be a dict (optimizer.state_dict()), got {type(optimizer_state).__name__}"
    )
  from optim_jax.interop import _torch_plateau  # it imports this module

  if _torch_plateau.split(tx) is not None:
    return _torch_plateau.import_plateau(tx, params, optimizer_state, scheduler_state, names=names)
  cfg = torch_config(tx)
  init = tx.init(params)
  slots = state_slots(init, params)
  for key in ("state", "param_groups"):
    if key not in optimizer_state:
      raise KeyError(f"The optimizer state has no {key!r}.")
  extra = sorted(set(optimizer_state) - {"state", "param_groups"})
  if extra:
    raise ValueError(f"The optimizer state has key(s) {extra} besides 'state' and 'param_groups'.")
  groups = list(optimizer_state["param_groups"])
  if len(groups) != len(cfg.groups):
    raise ValueError(
      f"The checkpoint has {len(groups)} param_groups; the transformation has {len(cfg.groups)}."
    )
  layout = _layout(cfg, slots, params)
  mapping = _index_map(params, layout, names, [list(g["params"]) for g in groups])
  state = dict(optimizer_state["state"])
  unknown = [k for k in state if k not in mapping]
  if unknown:
    raise ValueError(f"The checkpoint's state has parameter(s) {unknown} that no param_group lists.")
  by_path = {p: k for k, p in mapping.items()}
  counts: list[int | None] = []
  for i, group in enumerate(groups):
    steps = set()
    for k in group["params"]:
      if state and k not in state:
        raise KeyError(f"The checkpoint's state has no entry for parameter {k!r} ({mapping[k]!r}).")
      if k in state:
        if "step" not in state[k]:
          raise KeyError(f"The checkpoint's state of parameter {k!r} ({mapping[k]!r}) has no 'step'.")
        step = np.asarray(state[k]["step"])
        if step.shape != () or step != np.round(step) or step < 0:
          raise ValueError(
            f"The 'step' of parameter {k!r} ({mapping[k]!r}) is {step!r}, not a whole number >= 0."
          )
        steps.add(int(step))
    if len(steps) > 1:
      raise ValueError(
        f"The parameters of param_groups[{i}] have different steps {sorted(steps)}; ours share one count."
      )
    counts.append(steps.pop() if steps else 0)
  held = {_group_of(s) for s, _ in slots if s.field == "hyperparams/lr"}
  for i, group in enumerate(groups):
    _check_group(cfg, i, group, counts[i], i in held)
  if scheduler_state is not None:
    _check_scheduler(cfg, scheduler_state, counts)

  wanted: dict[Any, set[str]] = {k: {"step"} for k in mapping}
  for slot, _ in slots:
    key = BUFFERS.get((slot.owner, slot.field))
    if key is not None and slot.param is not None:
      wanted[by_path[slot.param]].add(key)
    elif (slot.owner, slot.field) in SCALARS:
      for p in layout[_group_of(slot)]:
        wanted[by_path[p]].add(SCALARS[(slot.owner, slot.field)])
  for k, entry in state.items():
    extra = sorted(set(entry) - wanted[k])
    if extra:
      raise ValueError(
        f"The checkpoint's state of parameter {k!r} ({mapping[k]!r}) has {extra}, which the transformation "
        "keeps "
        f"no buffer for ({cfg.optimizer} with {', '.join(sorted(wanted[k]))})."
      )
    missing = sorted(wanted[k] - set(entry))
    if missing:
      raise KeyError(f"The checkpoint's state of parameter {k!r} ({mapping[k]!r}) has no {missing}.")

  def value(slot: Slot, leaf: Any) -> Any:
    g = _group_of(slot)
    what = f"{slot.where} ({slot.field} of {slot.param or f'param_groups[{g}]'})"
    key = BUFFERS.get((slot.owner, slot.field))
    if not state and (key is not None or (slot.owner, slot.field) in SCALARS):
      return leaf  # a fresh optimizer (no step yet): our initial buffers
    if key is not None and slot.param is not None:
      return state[by_path[slot.param]][key]
    if (slot.owner, slot.field) in SCALARS:
      key = SCALARS[(slot.owner, slot.field)]
      values = {p: _as_scalar32(state[by_path[p]][key], leaf, what) for p in layout[g]}
      first = next(iter(values.values()))
      for p, v in values.items():
        if not np.array_equal(v, first):
          raise ValueError(
            f"The parameters of param_groups[{g}] have different {key!r} ({p!r}: {v}, not {first})."
          )
      return first
    if slot.field == "count":
      return np.int32(counts[g])
    if slot.field.startswith("hyperparams/"):
      name = slot.field.split("/", 1)[1]
      if name == "lr":
        fn = cfg.groups[g]["lr"]
        if not _is_schedule(fn):
          return np.asarray(groups[g]["lr"], np.dtype(leaf.dtype))
      elif name in ("momentum", "decay", "b1"):  # a scheduler's cycled momentum or beta1
        fn = cycled(cfg.groups[g]["betas" if name == "b1" else "momentum"])
      else:
        return leaf  # an injected constant of the transformation (b2, eps...)
      # the value the last update used (the schedule at count - 1), as the update stores it
      return leaf if counts[g] == 0 else jax.jit(fn)(np.int32(counts[g] - 1)).astype(leaf.dtype)
    raise ValueError(f"The state has {what} ({slot.owner}), which PyTorch's checkpoint has no key for.")

  return replace_slots(init, params, value)
