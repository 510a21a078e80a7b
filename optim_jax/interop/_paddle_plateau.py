"""Paddle's ``ReduceOnPlateau`` in the interop: ``optax.chain(preset(learning_rate=1.0), reduce_on_plateau)``.

``oj.schedules.reduce_on_plateau`` multiplies the updates by Paddle's ``last_lr``, so after an `oj.paddle`
preset built with ``learning_rate=1.0`` (a constant) it is Paddle's optimizer with that scheduler where
Paddle's rate scales the finished step: ``RAdam``, ``ASGD`` (``p -= lr * d / min(m, n)``) and ``RMSProp``
with ``momentum=0``; parameter-group and ``ParamAttr`` learning rates are factors in front of it, clips
and regularisers act on the gradient, so they stay exact. ``RMSProp`` with momentum is not: Paddle's rate
enters the momentum buffer (``v = momentum v + lr g / sqrt(...)``), so a later reduction would also scale
the steps already in it. The checkpoint's ``LR_Scheduler`` is the plateau state (paddle 3.3.1 keys
``cooldown_counter``, ``best`` (None before the first metric), ``num_bad_epochs``, ``last_epoch`` (the
metrics received) and ``last_lr``), checked against the transformation's arguments.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import optax

from optim_jax.interop._slots import state_slots

NAME = "ReduceOnPlateau"
# ReduceOnPlateau.state_keys of paddle 3.3.1, in its order
KEYS = ("cooldown_counter", "best", "num_bad_epochs", "last_epoch", "last_lr")
COUNTERS = ("cooldown_counter", "num_bad_epochs", "last_epoch")
MOMENTUM = (
  "paddle.optimizer.RMSProp with momentum != 0 and ReduceOnPlateau is not reproduced exactly: Paddle's "
  "learning rate enters the momentum buffer (v = momentum * v + lr * g / sqrt(...)), so scaling the "
  "finished update by the plateau's rate is not Paddle's step once the rate drops."
)


def _cells(fn: Any) -> dict[str, Any]:
  code, closure = getattr(fn, "__code__", None), getattr(fn, "__closure__", None)
  if code is None or not closure:
    return {}
  return {name: cell.cell_contents for name, cell in zip(code.co_freevars, closure, strict=True)}


def arguments(part: Any) -> dict[str, Any] | None:
  """The arguments of an ``oj.schedules.reduce_on_plateau`` transformation, None for another one."""
  update = getattr(part, "update", None)
  if getattr(update, "__qualname__", "") != "reduce_on_plateau.<locals>.update_fn":
    return None
  if getattr(update, "__module__", "") != "optim_jax.schedules._plateau":
    return None
  end = _cells(_cells(update)["end_of_epoch"])
  better = _cells(end["is_better"])
  return {
    "learning_rate": _cells(part.init)["learning_rate"], "mode": better["mode_l"], "factor": end["factor"],
    "patience": end["patience"], "threshold": better["threshold"], "threshold_mode": better["tmode"],
    "cooldown": end["cooldown"], "min_lr": end["min_lr"], "epsilon": end["epsilon"],
  }  # fmt: skip


def split(tx: Any) -> tuple[Any, dict[str, Any], int] | None:
  """``(inner, plateau arguments, n)`` for ``optax.chain(*inner_parts, reduce_on_plateau(...))`` (n parts),
  None for a transformation without a plateau; ValueError for a plateau elsewhere in a chain."""
  fns = _cells(getattr(tx, "update", None)).get("update_fns")
  inits = _cells(getattr(tx, "init", None)).get("init_fns")
  if not isinstance(fns, tuple) or not isinstance(inits, tuple) or len(inits) != len(fns):
    return None
  parts = [optax.GradientTransformationExtraArgs(i, u) for i, u in zip(inits, fns, strict=True)]
  found = [i for i, p in enumerate(parts) if arguments(p) is not None]
  if not found:
    return None
  if found != [len(parts) - 1] or len(parts) < 2:
    raise ValueError(
      f"{NAME}: the interop reads optax.chain(<an oj.paddle preset with learning_rate=1.0>, "
      "oj.schedules.reduce_on_plateau(...)), the plateau last and once."
    )
  inner = parts[0] if len(parts) == 2 else optax.chain(*parts[:-1])
  return inner, arguments(parts[-1]), len(parts)


def check_exact(inner_state: Any, params: Any) -> None:
  """ValueError unless the inner preset times the plateau's rate is Paddle's optimizer exactly."""
  owners = {s.owner for s, _ in state_slots(inner_state, params)}
  if "MomentumState" in owners:
    raise ValueError(MOMENTUM)
  if "ScaleByLearningRateState" in owners:
    raise ValueError(
      f"The preset before reduce_on_plateau has a learning-rate schedule: Paddle's {NAME} is the whole "
      "learning rate, build the preset with learning_rate=1.0."
    )


def _paddle_lr(args: dict[str, Any], held: np.ndarray) -> float:
  """Paddle's double ``last_lr`` whose float32 rounding is ``held``: its recursion from the initial rate
  (``max(lr * factor, min_lr)``, applied if it drops by more than epsilon), else ``float(held)``."""
  lr = args["learning_rate"]
  if not all(isinstance(args[k], (int, float)) for k in ("factor", "min_lr", "epsilon")) or not isinstance(
    lr, (int, float)
  ):
    return float(held)
  lr = float(lr)
  for _ in range(400):
    if np.float32(lr) == held:
      return lr
    new = max(lr * args["factor"], args["min_lr"])
    if not lr - new > args["epsilon"]:
      break
    lr = new
  return float(held)


def _inner_state(opt_state: Any, n: int) -> Any:
  return opt_state[0] if n == 2 else tuple(opt_state[:-1])


def import_plateau(tx: Any, params: Any, state_dict: Mapping[str, Any], *, names: Any) -> Any:
  """`import_paddle_state` for a plateau chain (see the module docstring)."""
  from optim_jax.interop._paddle import import_paddle_state

  inner, args, n = split(tx)
  check_exact(inner.init(params), params)
  sd = dict(state_dict)
  if "LR_Scheduler" not in sd:
    raise KeyError(f"The checkpoint has no LR_Scheduler, and tx ends in reduce_on_plateau ({NAME}).")
  sched = dict(sd.pop("LR_Scheduler"))
  for key in KEYS:
    if key not in sched:
      raise KeyError(f"LR_Scheduler has no {key!r} ({NAME}'s state).")
  extra = sorted(set(sched) - set(KEYS))
  if extra:
    raise ValueError(f"LR_Scheduler has key(s) {extra} that paddle 3.3.1's {NAME} does not keep.")
  for key in COUNTERS:
    v = sched[key]
    if isinstance(v, bool) or not float(v).is_integer() or not 0 <= int(v) < 2**31:
      raise ValueError(f"LR_Scheduler.{key} is {v!r}, not a whole number in [0, 2**31).")
  counts = {key: int(sched[key]) for key in COUNTERS}
  patience, cooldown = args["patience"], args["cooldown"]
  if isinstance(patience, int) and counts["num_bad_epochs"] > patience:
    raise ValueError(
      f"LR_Scheduler.num_bad_epochs = {counts['num_bad_epochs']} exceeds the transformation's patience "
      f"{patience} (a step resets it to 0 then)."
    )
  if isinstance(cooldown, int) and counts["cooldown_counter"] > cooldown:
    raise ValueError(
      f"LR_Scheduler.cooldown_counter = {counts['cooldown_counter']} exceeds the transformation's cooldown "
      f"{cooldown}."
    )
  best = sched["best"]
  if (best is None) != (counts["last_epoch"] == 0):
    raise ValueError(
      f"LR_Scheduler.best is {best!r} with last_epoch = {counts['last_epoch']}: Paddle's best is None "
      "exactly until the first metric."
    )
  last_lr = sched["last_lr"]
  if (
    isinstance(last_lr, bool)
    or not isinstance(last_lr, (int, float, np.floating))
    or not math.isfinite(last_lr)
  ):
    raise ValueError(f"LR_Scheduler.last_lr is {last_lr!r}, not a finite number.")
  start = args["learning_rate"]
  if isinstance(start, (int, float)) and not 0 <= float(last_lr) <= float(np.float32(start)) * (1 + 1e-6):
    raise ValueError(
      f"LR_Scheduler.last_lr = {last_lr!r} is not in [0, learning_rate = {start!r}]: the transformation "
      f"{NAME} starts at its learning_rate and only lowers it."
    )
  inner_state = import_paddle_state(inner, params, sd, names=names)
  plateau = tx.init(params)[-1]
  state = plateau._replace(
    learning_rate=np.asarray(last_lr, plateau.learning_rate.dtype),
    best=np.asarray(0.0 if best is None else float(best), plateau.best.dtype),
    **{key: np.int32(v) for key, v in counts.items()},
  )
  return (inner_state, state) if n == 2 else (*inner_state, state)


def export_plateau(tx: Any, params: Any, opt_state: Any, *, names: Any, step: Any) -> dict[str, Any]:
  """`export_paddle_state` for a plateau chain (see the module docstring)."""
  from optim_jax.interop._paddle import export_paddle_state

  inner, args, n = split(tx)
  inner_state = _inner_state(opt_state, n)
  check_exact(inner_state, params)
  out = export_paddle_state(inner, params, inner_state, names=names, step=step)
  s = opt_state[-1]
  last_epoch = int(np.asarray(s.last_epoch))
  out["LR_Scheduler"] = {
    "cooldown_counter": int(np.asarray(s.cooldown_counter)),
    "best": None if last_epoch == 0 else float(np.asarray(s.best)),
    "num_bad_epochs": int(np.asarray(s.num_bad_epochs)),
    "last_epoch": last_epoch,
    "last_lr": _paddle_lr(args, np.asarray(s.learning_rate)),
  }
  return out


def from_config(kind: str, spec: Mapping[str, Any], kwargs: dict[str, Any], groups: Any, preset: Any) -> Any:
  """The plateau chain of a described optimizer whose learning rate is a ``ReduceOnPlateau``."""
  from optim_jax import schedules

  if kind == "RMSProp":
    moms = [kwargs.get("momentum", 0.0)] + [
      g.get("momentum", kwargs.get("momentum", 0.0)) for g in groups or ()
    ]
    if any(m != 0 for m in moms):
      raise ValueError(MOMENTUM)
  a = dict(spec["kwargs"])
  plateau = schedules.reduce_on_plateau(
    a["learning_rate"], mode=a["mode"], factor=a["factor"], patience=int(a["patience"]),
    threshold=a["threshold"], threshold_mode=a["threshold_mode"], cooldown=int(a["cooldown"]),
    min_lr=a["min_lr"], epsilon=a["epsilon"],
  )  # fmt: skip
  return optax.chain(preset(**{**kwargs, "learning_rate": 1.0}), plateau)


SPEC_ATTRS = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "epsilon")


def spec(lr: Any) -> dict[str, Any]:
  """The description of a live ``ReduceOnPlateau``: its arguments (``base_lr`` the initial rate), state."""
  kwargs = {"learning_rate": float(lr.base_lr), **{k: getattr(lr, k) for k in SPEC_ATTRS}}
  return {"class": NAME, "kwargs": kwargs, "state": dict(lr.state_dict())}
