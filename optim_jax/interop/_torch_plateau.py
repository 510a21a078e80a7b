"""PyTorch's ``ReduceLROnPlateau`` in the interop: ``optax.chain(preset(lr=1.0), reduce_lr_on_plateau)``.

``oj.torch.reduce_lr_on_plateau`` multiplies the updates by the current lr, so after an optimizer
built with ``lr=1.0`` it is PyTorch's optimizer with that lr; exact for RMSprop and RAdam (their lr
scales the finished step), not with RAdam's decoupled weight decay (which uses the lr again) nor for
ASGD (whose lr enters ``eta``), and only for one parameter group. The checkpoint's group ``lr`` is the
plateau's current lr; ``scheduler.state_dict()`` is the plateau state (``best``, ``num_bad_epochs``,
``cooldown_counter``, ``last_epoch`` = the metrics received) and its arguments, checked against the
transformation's. The optimizer's ``step`` is the plateau's update count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import optax

from optim_jax.interop._torch import _same
from optim_jax.interop._torch_config import TorchConfig, torch_config

NAME = "ReduceLROnPlateau"
# scheduler.state_dict() of torch 2.13's ReduceLROnPlateau, in its order
KEYS = ("factor", "default_min_lr", "min_lrs", "patience", "cooldown", "eps", "last_epoch", "_last_lr",
        "mode_worse", "mode", "threshold", "threshold_mode", "best", "cooldown_counter",
        "num_bad_epochs")  # fmt: skip
COUNTERS = ("num_bad_epochs", "cooldown_counter", "last_epoch")


def split(tx: Any) -> tuple[Any, Any, int] | None:
  """``(inner, plateau, n)`` for ``optax.chain(*inner_parts, reduce_lr_on_plateau(...))`` (n parts in
  all; ``inner`` is the single part or the chain of the others), None for any other transformation."""
  cells = _cells(getattr(tx, "update", None))
  fns = cells.get("update_fns")
  if not isinstance(fns, tuple) or len(fns) < 2 or not hasattr(fns[-1], "torch_arguments"):
    return None
  inits = _cells(getattr(tx, "init", None)).get("init_fns")
  if not isinstance(inits, tuple) or len(inits) != len(fns):
    return None
  parts = [optax.GradientTransformationExtraArgs(i, u) for i, u in zip(inits, fns, strict=True)]
  inner = parts[0] if len(parts) == 2 else optax.chain(*parts[:-1])
  return inner, parts[-1], len(parts)


def _cells(fn: Any) -> dict[str, Any]:
  code, closure = getattr(fn, "__code__", None), getattr(fn, "__closure__", None)
  if code is None or not closure:
    return {}
  return {name: cell.cell_contents for name, cell in zip(code.co_freevars, closure, strict=True)}


def check_exact(cfg: TorchConfig, where: str = "") -> None:
  """ValueError unless ``lr x (the optimizer with lr=1.0)`` is PyTorch's optimizer exactly."""
  pre = f"{where}: " if where else ""
  if cfg.optimizer == "ASGD":
    raise ValueError(
      f"{pre}torch.optim.ASGD with {NAME} is not supported: ASGD's lr enters its step size eta "
      "(lr / (1 + lambd lr t)^alpha), so scaling the updates by the lr is not ASGD's lr."
    )
  if cfg.grouped or len(cfg.groups) != 1:
    raise ValueError(f"{pre}{NAME} with several param_groups is not supported (one group only).")
  (group,) = cfg.groups
  if group.get("decoupled_weight_decay") and not _same(group.get("weight_decay", 0), 0):
    raise ValueError(
      f"{pre}{NAME} with decoupled weight decay (decoupled_weight_decay=True, weight_decay="
      f"{group['weight_decay']!r}) is not supported: the decay uses the lr again, which the plateau "
      "transformation does not reach."
    )
  if callable(group["lr"]) or not _same(group["lr"], 1.0):
    raise ValueError(
      f"{pre}the optimizer before reduce_lr_on_plateau must have lr=1.0, it has {group['lr']!r}."
    )


def _arguments(plateau: Any) -> dict[str, Any]:
  args = plateau.update.torch_arguments
  if isinstance(args["min_lr"], (list, tuple)) or args["group"] is not None:
    raise ValueError(f"{NAME}: a per-group min_lr list is not supported (one group only).")
  return args


def _worse(mode: str) -> float:
  return math.inf if mode == "min" else -math.inf


def _inner_state(opt_state: Any, n: int) -> Any:
  return opt_state[0] if n == 2 else tuple(opt_state[:-1])


def import_plateau(
  tx: Any, params: Any, optimizer_state: Mapping[str, Any], scheduler_state: Any, *, names: Any
):
  """`import_torch_state` for a plateau chain (see the module docstring)."""
  from optim_jax.interop._torch import import_torch_state

  inner, plateau, n = split(tx)
  check_exact(torch_config(inner))
  args = _arguments(plateau)
  if scheduler_state is None:
    raise ValueError(f"The transformation ends in reduce_lr_on_plateau: pass the {NAME}'s scheduler_state.")
  for key in KEYS:
    if key not in scheduler_state:
      raise KeyError(f"The {NAME} state has no {key!r}.")
  extra = sorted(set(scheduler_state) - set(KEYS))
  if extra:
    raise ValueError(f"The {NAME} state has key(s) {extra} that torch 2.13's {NAME} does not have.")
  want = {
    "factor": args["factor"], "patience": args["patience"], "cooldown": args["cooldown"], "eps": args["eps"],
    "mode": args["mode"], "threshold": args["threshold"], "threshold_mode": args["threshold_mode"],
    "min_lrs": [args["min_lr"]], "mode_worse": _worse(args["mode"]),
  }  # fmt: skip
  if scheduler_state["default_min_lr"] is not None:
    want["default_min_lr"] = args["min_lr"]
  for key, mine in want.items():
    theirs = scheduler_state[key]
    if isinstance(mine, float) and math.isinf(mine):
      ok = theirs == mine
    else:
      ok = _same(list(theirs) if isinstance(theirs, (list, tuple)) else theirs, mine)
    if not ok:
      raise ValueError(f"The {NAME} state's {key!r} is {theirs!r}; the transformation has {mine!r}.")
  for key in COUNTERS:
    v = scheduler_state[key]
    if isinstance(v, bool) or not float(v).is_integer() or int(v) < 0:
      raise ValueError(f"The {NAME} state's {key!r} is {v!r}, not a whole number >= 0.")
  groups = list(optimizer_state.get("param_groups", ()))
  if len(groups) != 1:
    raise ValueError(f"The checkpoint has {len(groups)} param_groups; {NAME} here supports one.")
  if "lr" not in groups[0]:
    raise KeyError("param_groups[0] has no 'lr'.")
  lr = groups[0]["lr"]
  last = list(scheduler_state["_last_lr"])
  if len(last) != 1 or not _same(last[0], lr):
    raise ValueError(f"The {NAME} state's '_last_lr' is {last}; param_groups[0]['lr'] is {lr!r}.")
  ones = {**optimizer_state, "param_groups": [{**groups[0], "lr": 1.0}]}
  inner_state = import_torch_state(inner, params, ones, None, names=names)
  steps = {int(np.asarray(e["step"])) for e in dict(optimizer_state["state"]).values()}
  count = steps.pop() if steps else 0  # import_torch_state checked they agree
  init = plateau.init(params)
  dt = init.hyperparams["lr"].dtype
  best = np.asarray(float(scheduler_state["best"]), dt)
  state = init._replace(
    count=np.int32(count),
    hyperparams={**init.hyperparams, "lr": np.asarray(lr, dt)},
    inner_state=init.inner_state._replace(
      best=best, **{k: np.int32(int(scheduler_state[k])) for k in COUNTERS}
    ),
  )
  return (inner_state, state) if n == 2 else (*inner_state, state)


def export_plateau(tx: Any, params: Any, opt_state: Any, *, names: Any, step: Any):
  """`export_torch_state` for a plateau chain (see the module docstring)."""
  from optim_jax.interop._torch_export import export_torch_state

  inner, plateau, n = split(tx)
  check_exact(torch_config(inner))
  args = _arguments(plateau)
  ps = opt_state[-1]
  count = int(np.asarray(ps.count))
  if step is not None and int(step) != count:
    raise ValueError(f"step={step} disagrees with the state's count {count} (reduce_lr_on_plateau's).")
  opt, _ = export_torch_state(inner, params, _inner_state(opt_state, n), names=names, step=count)
  held = np.asarray(ps.hyperparams["lr"])
  start = args["lr"]
  lr = float(start) if np.isscalar(start) and held == np.asarray(start, held.dtype) else float(held)
  opt["param_groups"][0]["lr"] = lr
  s = ps.inner_state
  sched = {
    "factor": args["factor"], "default_min_lr": args["min_lr"], "min_lrs": [args["min_lr"]],
    "patience": args["patience"], "cooldown": args["cooldown"], "eps": args["eps"],
    "last_epoch": int(s.last_epoch), "_last_lr": [lr], "mode_worse": _worse(args["mode"]),
    "mode": args["mode"],
    "threshold": args["threshold"], "threshold_mode": args["threshold_mode"], "best": float(s.best),
    "cooldown_counter": int(s.cooldown_counter), "num_bad_epochs": int(s.num_bad_epochs),
  }  # fmt: skip
  return opt, sched


def from_config(description: Mapping[str, Any], preset: Any, options: list[dict[str, Any]]) -> Any:
  """The plateau chain of a described optimizer with a ``ReduceLROnPlateau``."""
  import optim_jax.torch as ojt

  cls, state = description["optimizer"], description["scheduler"]["state"]
  if len(options) != 1:
    raise ValueError(f"{NAME} with several param_groups ({len(options)}) is not supported by from_torch.")
  needed = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lrs", "eps")
  missing = [k for k in needed if k not in state]
  if missing:
    raise KeyError(f"The {NAME} state has no {missing}.")
  (opts,) = options
  lr = float(opts["lr"])
  tx_inner = preset(**{**opts, "lr": 1.0})
  check_exact(torch_config(tx_inner), f"torch.optim.{cls}")
  plateau = ojt.reduce_lr_on_plateau(
    lr, mode=state["mode"], factor=state["factor"], patience=int(state["patience"]),
    threshold=state["threshold"], threshold_mode=state["threshold_mode"], cooldown=int(state["cooldown"]),
    min_lr=state["min_lrs"][0], eps=state["eps"],
  )  # fmt: skip
  return optax.chain(tx_inner, plateau)
