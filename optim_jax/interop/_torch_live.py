"""``from_torch``: the ``oj.torch`` transformation (and state) of a live PyTorch optimizer and scheduler.

`describe_torch` reads what the live objects expose (class names, ``optimizer.state_dict()``'s
``param_groups``, ``scheduler.state_dict()``) into a plain description; `from_torch_config` maps a
description to our transformation without torch; `from_torch` does both and imports the state.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax

import optim_jax.torch as ojt
from optim_jax.interop import _torch_plateau
from optim_jax.interop._slots import map_params, param_paths
from optim_jax.interop._torch import BOOKKEEPING, SCHEDULER_KEYS, import_torch_state, to_numpy
from optim_jax.interop._torch_config import OPTIONS, SWITCHES

PRESETS = {"RMSprop": ojt.rmsprop, "RAdam": ojt.radam, "ASGD": ojt.asgd}
# torch.optim.lr_scheduler class -> (our factory, its arguments as the scheduler's state_dict names them)
SCHEDULERS: dict[str, tuple[Any, tuple[str, ...]]] = {
  "StepLR": (ojt.step_lr, ("step_size", "gamma")),
  "MultiStepLR": (ojt.multi_step_lr, ("milestones", "gamma")),
  "ConstantLR": (ojt.constant_lr, ("factor", "total_iters")),
  "LinearLR": (ojt.linear_lr, ("start_factor", "end_factor", "total_iters")),
  "ExponentialLR": (ojt.exponential_lr, ("gamma",)),
  "PolynomialLR": (ojt.polynomial_lr, ("total_iters", "power")),
  "CosineAnnealingLR": (ojt.cosine_annealing_lr, ("T_max", "eta_min")),
  "CosineAnnealingWarmRestarts": (ojt.cosine_annealing_warm_restarts, ("T_0", "T_mult", "eta_min")),
  "LambdaLR": (ojt.lambda_lr, ()),
  "MultiplicativeLR": (ojt.multiplicative_lr, ()),
  "OneCycleLR": (ojt.one_cycle_lr, ("total_steps", "_schedule_phases", "_anneal_func_type",
                                    "cycle_momentum")),
  "CyclicLR": (ojt.cyclic_lr, ("max_lrs", "base_lrs", "total_size", "step_ratio", "mode", "gamma",
                               "scale_mode", "cycle_momentum")),
  "ChainedScheduler": (ojt.chained_scheduler, ("_schedulers",)),
  "SequentialLR": (ojt.sequential_lr, ("_schedulers", "_milestones")),
}  # fmt: skip
COMPOSED = ("ChainedScheduler", "SequentialLR")


class FromTorch(NamedTuple):
  """What `from_torch` returns: the transformation and its state (None for an optimizer without state)."""

  tx: Any
  opt_state: Any


def describe_torch(optimizer: Any, scheduler: Any = None) -> dict[str, Any]:
  """A plain description of a live PyTorch optimizer (and scheduler), the input of `from_torch_config`.

  Args:
    optimizer: a ``torch.optim.Optimizer`` (read through ``type(...).__name__`` and ``state_dict()``).
    scheduler: None or a ``torch.optim.lr_scheduler`` scheduler.

  Returns:
    ``{"optimizer": class name, "param_groups": state_dict()'s param_groups, "scheduler": None or
    {"class": class name, "state": its state_dict(), "lr_lambdas": LambdaLR's functions or None}}``
    (SequentialLR and ChainedScheduler add ``"schedulers"``, their members described), tensors as numpy.

  Example:
    >>> from optim_jax.interop import describe_torch
    >>> class RMSprop:  # stands for torch.optim.RMSprop
    ...   def state_dict(self): return {"state": {}, "param_groups": [{"lr": 0.1, "params": [0]}]}
    >>> describe_torch(RMSprop())
    {'optimizer': 'RMSprop', 'param_groups': [{'lr': 0.1, 'params': [0]}], 'scheduler': None}
  """
  out: dict[str, Any] = {
    "optimizer": type(optimizer).__name__,
    "param_groups": to_numpy(optimizer.state_dict()["param_groups"]),
    "scheduler": None,
  }
  if scheduler is not None:
    out["scheduler"] = _describe_scheduler(scheduler)
  return out


def _describe_scheduler(scheduler: Any) -> dict[str, Any]:
  lambdas = getattr(scheduler, "lr_lambdas", None)
  out = {
    "class": type(scheduler).__name__,
    "state": to_numpy(scheduler.state_dict()),
    "lr_lambdas": None if lambdas is None else list(lambdas),
  }
  if type(scheduler).__name__ in COMPOSED:  # its members' classes are not in its state_dict
    out["schedulers"] = [_describe_scheduler(s) for s in scheduler._schedulers]
  return out


def _not_supported(cls: str) -> str:
  supported = sorted([*SCHEDULERS, _torch_plateau.NAME])
  return f"torch.optim.lr_scheduler.{cls} is not supported; supported: {supported}"


def _one_cycle(state: Mapping[str, Any], groups: list[Mapping[str, Any]]) -> Any:
  """OneCycleLR from its state and the keys it writes into the groups (max_lr, initial_lr, min_lr)."""
  for i, g in enumerate(groups):
    missing = [k for k in ("max_lr", "initial_lr", "min_lr") if k not in g]
    if missing:
      raise KeyError(f"param_groups[{i}] has no {missing}, which OneCycleLR sets.")
  phases = state["_schedule_phases"]
  max_lr = [float(g["max_lr"]) for g in groups]
  return ojt.one_cycle_lr(
    max_lr[0] if len(max_lr) == 1 else max_lr,
    total_steps=int(state["total_steps"]),
    pct_start=(float(phases[0]["end_step"]) + 1) / int(state["total_steps"]),
    anneal_strategy=state["_anneal_func_type"],
    cycle_momentum=bool(state["cycle_momentum"]),
    div_factor=float(groups[0]["max_lr"]) / float(groups[0]["initial_lr"]),
    final_div_factor=float(groups[0]["initial_lr"]) / float(groups[0]["min_lr"]),
    three_phase=len(phases) == 3,
  )


def _cyclic(state: Mapping[str, Any]) -> Any:
  """CyclicLR from its state (its base and max lrs are per group there)."""
  if state.get("_scale_fn_custom") is not None or state["mode"] not in (
    "triangular",
    "triangular2",
    "exp_range",
  ):
    raise NotImplementedError(
      "CyclicLR with a custom scale_fn is not supported by from_torch (pass it to oj.torch.cyclic_lr)"
    )
  up = round(float(state["total_size"]) * float(state["step_ratio"]))
  base, top = [float(x) for x in state["base_lrs"]], [float(x) for x in state["max_lrs"]]
  kwargs = {}
  if state["cycle_momentum"]:
    kwargs = {"base_momentum": list(state["base_momentums"]), "max_momentum": list(state["max_momentums"])}
  return ojt.cyclic_lr(
    base[0] if len(base) == 1 else base,
    top[0] if len(top) == 1 else top,
    step_size_up=up,
    step_size_down=round(float(state["total_size"])) - up,
    mode=state["mode"],
    gamma=float(state["gamma"]),
    scale_mode=state["scale_mode"],
    cycle_momentum=bool(state["cycle_momentum"]),
    **kwargs,
  )


def _schedule(description: Mapping[str, Any], base_lr: float, groups: list[Mapping[str, Any]]) -> Any:
  cls, state = description["class"], description["state"]
  if cls not in SCHEDULERS:
    raise NotImplementedError(_not_supported(cls))
  factory, keys = SCHEDULERS[cls]
  missing = [k for k in keys if k not in state]
  if missing:
    raise KeyError(f"The {cls} state has no {missing}.")
  if cls in COMPOSED:
    if not description.get("schedulers"):
      raise KeyError(f"The {cls} description has no 'schedulers' (describe_torch reads its members).")
    members = [_schedule(sub, base_lr, groups) for sub in description["schedulers"]]
    if cls == "ChainedScheduler":
      return ojt.chained_scheduler(members)
    return ojt.sequential_lr(members, milestones=[int(m) for m in state["_milestones"]])
  if cls == "OneCycleLR":
    return _one_cycle(state, groups)
  if cls == "CyclicLR":
    return _cyclic(state)
  kwargs = {k: state[k] for k in keys}
  if cls == "MultiStepLR":  # a Counter {milestone: times}
    kwargs["milestones"] = sorted(
      int(m) for m, times in dict(state["milestones"]).items() for _ in range(int(times))
    )
  if cls in ("LambdaLR", "MultiplicativeLR"):
    lambdas = description.get("lr_lambdas")
    if not lambdas:
      raise ValueError(
        f"{cls}: the description has no lr_lambdas (not in its state_dict; describe_torch reads them)."
      )
    kwargs["lr_lambda"] = lambdas[0] if len(lambdas) == 1 else list(lambdas)
  return factory(base_lr, **kwargs)


def from_torch_config(
  description: Mapping[str, Any],
  *,
  params: Any = None,
  names: Sequence[str] | Mapping[int, str] | None = None,
) -> Any:
  """The ``oj.torch`` transformation of a described PyTorch optimizer (`describe_torch`), without torch.

  Each group's options become the preset's arguments; a scheduler becomes ours, scaling each
  group's ``initial_lr`` (its position is state, see `import_torch_state`). More than one group
  becomes ``param_groups=``, each group selecting the parameters PyTorch lists in it. A
  ``ReduceLROnPlateau`` becomes ``optax.chain(preset(lr=1.0, ...), oj.torch.reduce_lr_on_plateau(lr,
  ...))`` with the group's current lr as the plateau's start (the state carries the lr; feed
  ``metric=`` at each epoch end, as ``scheduler.step(metric)``): exact for RMSprop and RAdam with one
  group; ASGD, RAdam's decoupled weight decay and several groups are a ValueError saying why. Clips PyTorch
  users call before ``step()`` (``clip_grad_norm_``...) are not part of the optimizer: chain
  ``oj.torch.clip_grad_norm`` in front yourself.

  Args:
    description: ``{"optimizer", "param_groups", "scheduler"}`` as `describe_torch` gives it.
    params: our parameters; needed for more than one group (to select each group's leaves).
    names: PyTorch's parameter index -> our path: None (parameter i is leaf i of
      ``jax.tree.leaves(params)``), a list of paths in PyTorch's order, or a dict.

  Returns:
    An ``optax.GradientTransformation``.

  Raises:
    NotImplementedError: an optimizer class other than RMSprop, RAdam or ASGD, or a scheduler class
      not mapped (both named, with the supported ones listed).
    ValueError: more than one group and no ``params``; a group option not known; a ``names`` that
      does not fit; a ``ReduceLROnPlateau`` where the plateau transformation is not exact.
    KeyError: a group option or scheduler argument missing.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> from optim_jax.interop import from_torch_config
    >>> group = {"lr": 0.05, "momentum": 0.9, "alpha": 0.99, "eps": 1e-8, "centered": False,
    ...          "weight_decay": 0, "maximize": False, "initial_lr": 0.1, "params": [0]}
    >>> sched = {"class": "StepLR", "state": {"step_size": 5, "gamma": 0.5, "last_epoch": 5}}
    >>> tx = from_torch_config({"optimizer": "RMSprop", "param_groups": [group], "scheduler": sched})
    >>> oj.interop.torch_config(tx).groups[0]["lr"]
    TorchLRScheduler(StepLR(lr=0.1, step_size=5, gamma=0.5, last_epoch=-1))
    >>> plateau = {"class": "ReduceLROnPlateau", "state": {"mode": "min", "factor": 0.5, "patience": 2,
    ...            "threshold": 1e-4, "threshold_mode": "rel", "cooldown": 0, "min_lrs": [0], "eps": 1e-8}}
    >>> tx = from_torch_config({"optimizer": "RMSprop", "param_groups": [group], "scheduler": plateau})
    >>> state = tx.init({"w": jnp.zeros(2)})  # (the RMSprop's state, the plateau's)
    >>> round(float(oj.get_lr(state[-1])), 6), state[-1].inner_state.num_bad_epochs.item()
    (0.05, 0)
  """
  cls = description["optimizer"]
  if cls not in PRESETS:
    raise NotImplementedError(
      f"torch.optim.{cls} is not supported by from_torch; supported: "
      f"{', '.join('torch.optim.' + name for name in PRESETS)}"
    )
  sched = description.get("scheduler")
  plateau = sched is not None and sched["class"] == _torch_plateau.NAME
  if (
    sched is not None and sched["class"] not in SCHEDULERS and not plateau
  ):  # before the options it may add to the groups
    raise NotImplementedError(_not_supported(sched["class"]))
  groups = list(description["param_groups"])
  known = set(OPTIONS[cls]) | set(SWITCHES[cls]) | set(BOOKKEEPING)
  if sched is not None:
    known |= set(SCHEDULER_KEYS.get(sched["class"], ()))
  options = []
  for i, group in enumerate(groups):
    extra = sorted(set(group) - known)
    if extra:
      raise ValueError(f"param_groups[{i}] has option(s) {extra} that torch.optim.{cls} 2.13 does not have.")
    missing = [k for k in OPTIONS[cls] if k not in group]
    if missing:
      raise KeyError(f"param_groups[{i}] has no {missing}.")
    if group.get("fused"):
      raise ValueError(f"param_groups[{i}]: fused=True, which torch.optim.{cls} 2.13 does not implement.")
    opts = {k: group[k] for k in OPTIONS[cls]}
    if "betas" in opts:
      opts["betas"] = tuple(opts["betas"])
    options.append(opts)
  if plateau:  # the optimizer with lr=1.0, then the plateau's lr (the group's current lr)
    return _torch_plateau.from_config(description, PRESETS[cls], options)
  if sched is not None:
    for i, group in enumerate(groups):
      if "initial_lr" not in group:
        raise KeyError(f"param_groups[{i}] has no 'initial_lr', which a scheduler sets.")
      options[i]["lr"] = float(group["initial_lr"])
  preset = PRESETS[cls]
  if len(groups) == 1:
    (opts,) = options
    if sched is not None:
      opts["lr"] = _schedule(sched, opts["lr"], groups)
    return preset(**opts)
  if params is None:
    raise ValueError(
      f"The optimizer has {len(groups)} param_groups: pass params= to say which leaves each selects."
    )
  keys = [k for g in groups for k in g["params"]]
  paths = param_paths(params)
  if names is None:
    if len(keys) > len(paths):
      raise ValueError(f"The optimizer has {len(keys)} parameters and params has {len(paths)} leaves.")
    names = dict(zip(keys, paths[: len(keys)], strict=True))
  leaves = jax.tree.leaves(params)
  chosen = set((dict(names) if isinstance(names, Mapping) else dict(zip(keys, names, strict=True))).values())
  flat = [leaf if path in chosen else None for path, leaf in zip(paths, leaves, strict=True)]
  mapping = map_params(jax.tree.unflatten(jax.tree.structure(params), flat), names, keys)
  lr = options[0]["lr"] if sched is None else _schedule(sched, options[0]["lr"], groups)
  param_groups = []
  for group, opts in zip(groups, options, strict=True):
    selected = frozenset(mapping[k] for k in group["params"])
    param_groups.append({**opts, "params": lambda path, leaf, selected=selected: path in selected})
  return preset(lr=lr, param_groups=param_groups)


def from_torch(
  optimizer: Any,
  scheduler: Any = None,
  *,
  params: Any = None,
  names: Sequence[str] | Mapping[int, str] | None = None,
) -> FromTorch:
  """The ``oj.torch`` transformation of a live PyTorch optimizer (and scheduler), with its state.

  torch.optim.RMSprop, RAdam and ASGD with every option and parameter group, and the schedulers
  StepLR, MultiStepLR, ConstantLR, LinearLR, ExponentialLR, PolynomialLR, CosineAnnealingLR,
  CosineAnnealingWarmRestarts, LambdaLR, MultiplicativeLR, OneCycleLR, CyclicLR, SequentialLR and
  ChainedScheduler (where ``oj.torch.sequential_lr``/``chained_scheduler`` model them), stepped once per
  optimizer step, and ReduceLROnPlateau (a chain ending in ``oj.torch.reduce_lr_on_plateau``, fed
  ``metric=``; its best, num_bad_epochs, cooldown_counter and last_epoch imported) (see
  `from_torch_config`; anything else is a clear error). Gradient clips called before ``step()`` are
  the user's to chain in front (``oj.torch.clip_grad_norm``). With state, it is imported
  (`import_torch_state`), the scheduler's position included.

  Args:
    optimizer: a ``torch.optim`` optimizer.
    scheduler: None or its ``torch.optim.lr_scheduler`` scheduler.
    params: our parameters; needed when the optimizer has state or more than one group.
    names: PyTorch's parameter index -> our path (see `from_torch_config`).

  Returns:
    ``FromTorch(tx, opt_state)``; ``opt_state`` is None when the optimizer has no state yet.

  Raises:
    ValueError: an optimizer with state (or groups) and no ``params``; and what `from_torch_config`
      and `import_torch_state` raise.
    NotImplementedError: an optimizer or scheduler class that is not supported.

  Example:
    >>> from optim_jax.interop import from_torch
    >>> class RMSprop:  # stands for torch.optim.RMSprop(params, lr=0.1)
    ...   def state_dict(self):
    ...     return {"state": {}, "param_groups": [{"lr": 0.1, "momentum": 0, "alpha": 0.99, "eps": 1e-8,
    ...             "centered": False, "weight_decay": 0, "maximize": False, "params": [0]}]}
    >>> tx, state = from_torch(RMSprop())
    >>> state is None
    True
  """
  description = describe_torch(optimizer, scheduler)
  saved = to_numpy(optimizer.state_dict())
  if saved["state"] and params is None:
    raise ValueError("The optimizer has state: pass params= (our parameters) to import it.")
  tx = from_torch_config(description, params=params, names=names)
  if not saved["state"]:
    return FromTorch(tx, None)
  keys = [k for g in saved["param_groups"] for k in g["params"]]
  if names is None:
    names = dict(zip(keys, param_paths(params)[: len(keys)], strict=True))
  sched_state = None if scheduler is None else description["scheduler"]["state"]
  return FromTorch(tx, import_torch_state(tx, params, saved, sched_state, names=names))
