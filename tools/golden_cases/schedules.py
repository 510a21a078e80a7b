"""Paddle's learning-rate schedules: the lr tables, and the schedulers the harness builds from a config.

* lr tables (tools/make_golden.py, family ``schedules/lr``; or run this file with the framework
  environment) write ``tests/golden/schedules/lr/<class>.npz`` + ``.json``. For every configuration
  ``<case>`` of a ``paddle.optimizer.lr`` class: ``<case>/paddle`` the lr Paddle reports at counts
  0..N (stepping the scheduler once per count, as an optimizer loop does); ``<case>/long_count`` and
  ``<case>/long_ref`` reference values at counts up to 10**7 (``long_source`` in the .json says
  whether Paddle's own ``step(epoch=k)`` made them, for classes whose ``get_lr`` is a closed form,
  or a float64 numpy formula, also stored at 0..N as ``<case>/numpy`` so the test can check it
  against Paddle first); ``<case>/torch`` and ``<case>/tf_keras``, ``<case>/keras`` the values of the
  PyTorch scheduler and Keras schedules that docs/schedules.md claims equal (`torch_twin`,
  `keras_twin`). ReduceOnPlateau: the lr after each metric of a seeded metric sequence
  (``<case>/metrics``). ``validation.json``: the exception Paddle raises for each bad argument of
  `VALIDATION`, and each class's signature.
* `paddle_scheduler`, `paddle_per_epoch` and `paddle_plateau` build a Paddle scheduler from a JSON
  configuration; the RMSProp trajectories of golden_cases/schedule_rmsprop.py name them as their
  schedule type.

Arguments that are functions (lr_lambda, scale_fn, an inner scheduler) are written in the
configuration as ``{"$fn": name}`` (a function of `FUNCTIONS`, ``F.<name>`` in the tables; the test has
a jnp twin of each) and ``{"$sched": {"class": ..., "kwargs": ...}}`` (`inner`).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
import os
import subprocess
import sys
import tempfile
import types
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make `golden_cases` importable
  sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from golden_cases import harness, runners  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "schedules" / "lr"
GENERATED_BY = Path(__file__).resolve().relative_to(ROOT).as_posix()
LONG = 10**7

# Named functions for lr_lambda / scale_fn (float64 Python, as Paddle and PyTorch call them).
FUNCTIONS = {
  "inv_sqrt": lambda e: 1.0 / math.sqrt(1.0 + e),
  "half_every_7": lambda e: 0.5 ** (e // 7),
  "const_095": lambda k: 0.95,
  "const_near_one": lambda k: 0.9999999,
  "three_quarters_every_3": lambda k: 0.75 if k % 3 == 0 else 1.0,
  "harmonic": lambda k: k / (k + 1.0),
  "inv_cycle": lambda x: 1.0 / x,
  "decay_iter": lambda x: 1.0 / (1.0 + 0.01 * x),
}
# F.<name>: a function of FUNCTIONS as a configuration writes it.
F = types.SimpleNamespace(**{name: {"$fn": name} for name in FUNCTIONS})

# Paddle's leading parameters of each class, in its signature order (checked against Paddle when the
# tables are made): a case gives Paddle's arguments as Paddle's constructor takes them, and they are
# recorded as keyword arguments.
PARAMS = {
  "StepDecay": ("learning_rate", "step_size", "gamma"),
  "MultiStepDecay": ("learning_rate", "milestones", "gamma"),
  "PiecewiseDecay": ("boundaries", "values"),
  "NaturalExpDecay": ("learning_rate", "gamma"),
  "InverseTimeDecay": ("learning_rate", "gamma"),
  "PolynomialDecay": ("learning_rate", "decay_steps", "end_lr", "power", "cycle"),
  "LinearWarmup": ("learning_rate", "warmup_steps", "start_lr", "end_lr"),
  "ExponentialDecay": ("learning_rate", "gamma"),
  "LambdaDecay": ("learning_rate", "lr_lambda"),
  "MultiplicativeDecay": ("learning_rate", "lr_lambda"),
  "NoamDecay": ("d_model", "warmup_steps", "learning_rate"),
  "CosineAnnealingDecay": ("learning_rate", "T_max", "eta_min"),
  "OneCycleLR": (
    "max_learning_rate", "total_steps", "divide_factor", "end_learning_rate", "phase_pct", "anneal_strategy",
    "three_phase",
  ),
  "CyclicLR": (
    "base_learning_rate", "max_learning_rate", "step_size_up", "step_size_down", "mode", "exp_gamma",
    "scale_fn", "scale_mode",
  ),
  "LinearLR": ("learning_rate", "total_steps", "start_factor", "end_factor"),
  "CosineAnnealingWarmRestarts": ("learning_rate", "T_0", "T_mult", "eta_min"),
  "ReduceOnPlateau": (
    "learning_rate", "mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr",
    "epsilon",
  ),
}  # fmt: skip


def paddle_kwargs(cls: str, args: Sequence[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
  """The keyword arguments of Paddle's ``cls(*args, **kwargs)``, in that order."""
  if len(args) > len(PARAMS[cls]):
    raise TypeError(f"{cls} takes {len(PARAMS[cls])} positional arguments here, not {len(args)}")
  out = dict(zip(PARAMS[cls], args, strict=False))
  if out.keys() & kwargs.keys():
    raise TypeError(f"{cls}: {sorted(out.keys() & kwargs.keys())} given twice")
  return {**out, **kwargs}


def inner(cls: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
  """An inner scheduler argument (LinearWarmup's learning_rate), as a configuration writes it."""
  return {"$sched": {"class": cls, "kwargs": paddle_kwargs(cls, args, kwargs)}}


# --- the look-alikes ------------------------------------------------------------------------------

TORCH_CLASSES = {
  "StepDecay": "StepLR",
  "MultiStepDecay": "MultiStepLR",
  "NaturalExpDecay": "ExponentialLR",
  "PolynomialDecay": "PolynomialLR",
  "ExponentialDecay": "ExponentialLR",
  "LambdaDecay": "LambdaLR",
  "MultiplicativeDecay": "MultiplicativeLR",
  "CosineAnnealingDecay": "CosineAnnealingLR",
  "OneCycleLR": "OneCycleLR",
  "CyclicLR": "CyclicLR",
  "LinearLR": "LinearLR",
  "CosineAnnealingWarmRestarts": "CosineAnnealingWarmRestarts",
}
# Paddle's argument -> PyTorch's, where the names differ (an argument not listed keeps its name).
TORCH_NAMES = {
  "OneCycleLR": {"max_learning_rate": "max_lr", "divide_factor": "div_factor", "phase_pct": "pct_start"},
  "CyclicLR": {"base_learning_rate": "base_lr", "max_learning_rate": "max_lr", "exp_gamma": "gamma"},
  "LinearLR": {"total_steps": "total_iters"},
}


def torch_twin(cls: str, kw: dict[str, Any]) -> dict[str, Any]:
  """The PyTorch scheduler that equals Paddle's ``cls(**kw)``: its class, the lr of the SGD optimizer
  it drives and its keyword arguments."""
  lr = kw.get("learning_rate", kw.get("base_learning_rate", kw.get("max_learning_rate")))
  names = TORCH_NAMES.get(cls, {})
  out = {names.get(k, k): v for k, v in kw.items() if k != "learning_rate"}
  if cls == "NaturalExpDecay":  # lr * exp(-gamma * t)
    out = {"gamma": math.exp(-kw["gamma"])}
  elif cls == "PolynomialDecay":
    if kw.get("end_lr") != 0.0 or kw.get("cycle"):
      raise ValueError("PolynomialLR decays to 0 and has no cycle")
    out = {"total_iters": kw["decay_steps"], "power": kw["power"]}
  elif cls == "LinearLR":  # start_factor written out: both default to 1/3
    out = {"total_iters": out.pop("total_iters"), "start_factor": out.pop("start_factor", 1.0 / 3), **out}
  elif cls == "OneCycleLR":  # Paddle's end_learning_rate is torch's initial lr / final_div_factor
    out.pop("end_learning_rate", None)
    final_div = kw["max_learning_rate"] / kw.get("divide_factor", 25.0) / kw.get("end_learning_rate", 1e-4)
    out.update(cycle_momentum=False, final_div_factor=final_div)
  elif cls == "CyclicLR":
    out["cycle_momentum"] = False
  return {"cls": TORCH_CLASSES[cls], "lr": lr, "kwargs": out}


def keras_twin(cls: str, kw: dict[str, Any]) -> dict[str, Any]:
  """The Keras schedule (the same in tf_keras and Keras 3) that equals Paddle's ``cls(**kw)`` on counts
  0..upto (None: on all counts): its class and keyword arguments."""
  lr, upto = kw.get("learning_rate"), None
  alpha = {"alpha": kw["eta_min"] / lr} if "eta_min" in kw else {}
  if cls == "StepDecay":
    name = "ExponentialDecay"
    out = dict(initial_learning_rate=lr, decay_steps=kw["step_size"], decay_rate=kw["gamma"], staircase=True)
  elif cls == "MultiStepDecay":  # the values lr * gamma**i in decimal, as one writes them
    name, milestones = "PiecewiseConstantDecay", kw["milestones"]
    rates = [Decimal(repr(lr)) * Decimal(repr(kw["gamma"])) ** i for i in range(len(milestones) + 1)]
    out = dict(boundaries=[m - 1 for m in milestones], values=[float(r) for r in rates])
  elif cls == "PiecewiseDecay":
    name = "PiecewiseConstantDecay"
    out = dict(boundaries=[b - 1 for b in kw["boundaries"]], values=kw["values"])
  elif cls in ("NaturalExpDecay", "ExponentialDecay", "InverseTimeDecay"):
    name = "InverseTimeDecay" if cls == "InverseTimeDecay" else "ExponentialDecay"
    rate = math.exp(-kw["gamma"]) if cls == "NaturalExpDecay" else kw["gamma"]
    out = dict(initial_learning_rate=lr, decay_steps=1, decay_rate=rate)
  elif cls == "PolynomialDecay":
    name, names = "PolynomialDecay", {"learning_rate": "initial_learning_rate", "end_lr": "end_learning_rate"}
    out = {names.get(k, k): v for k, v in kw.items()}
  elif cls == "CosineAnnealingDecay":  # Keras stays at its end value, Paddle's cosine comes back up
    name, upto = "CosineDecay", kw["T_max"]
    out = dict(initial_learning_rate=lr, decay_steps=kw["T_max"], **alpha)
  elif cls == "CosineAnnealingWarmRestarts":
    name, t_mul = "CosineDecayRestarts", float(kw.get("T_mult", 1))
    out = dict(initial_learning_rate=lr, first_decay_steps=kw["T_0"], t_mul=t_mul, **alpha)
  elif cls == "LinearWarmup":  # a warm-up into a CosineAnnealingDecay from end_lr to 0
    spec, end_lr, warmup = kw["learning_rate"]["$sched"], kw["end_lr"], kw["warmup_steps"]
    t_max = spec["kwargs"]["T_max"]
    if spec != {"class": "CosineAnnealingDecay", "kwargs": {"learning_rate": end_lr, "T_max": t_max}}:
      raise ValueError("Keras warms up into a cosine decay from its warmup_target to 0")
    name, upto = "CosineDecay", warmup + t_max
    out = dict(
      initial_learning_rate=kw["start_lr"], decay_steps=t_max, warmup_target=end_lr, warmup_steps=warmup
    )
  else:
    raise ValueError(f"no Keras look-alike of {cls}")
  return {"cls": name, "kwargs": out, "upto": upto}


# --- the lr tables ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LrCase:
  """One configuration of a class: Paddle's keyword arguments, N, and what is recorded besides Paddle's lr
  at counts 0..N: the long-range reference, the look-alikes (None: not recorded), the numpy formula."""

  name: str
  kwargs: dict[str, Any]
  n: int
  long: bool
  torch: dict[str, Any] | None
  keras: dict[str, Any] | None
  numpy_ref: bool
  note: str


RECORDS = {"long", "torch", "keras", "numpy"}


def c(name: str, n: int, records: str, *args: Any, note: str = "", **kwargs: Any) -> Callable[[str], LrCase]:
  """A row of the table: ``c(name, N, records, *args, **kwargs)``, with Paddle's arguments as Paddle's
  constructor takes them; `records` names what is recorded besides Paddle's lr at 0..N: ``long`` (the
  reference up to 10**7), ``torch``, ``keras`` (the look-alikes), ``numpy`` (the float64 formula, which
  then also makes the long-range reference). The class comes from the table."""
  flags = set(records.split())
  if flags - RECORDS:
    raise ValueError(f"{name}: unknown records {sorted(flags - RECORDS)}")

  def make(cls: str) -> LrCase:
    kw = paddle_kwargs(cls, args, kwargs)
    torch = torch_twin(cls, kw) if "torch" in flags else None
    keras = keras_twin(cls, kw) if "keras" in flags else None
    return LrCase(name, kw, n, "long" in flags, torch, keras, "numpy" in flags, note)

  return make


SLOW = "a rate still well above 0 at 10**7: the long-range check is not trivial"
UNSORTED = "unsorted boundaries: the first one above the count wins; past all of them values[-1]"
LOG_QUIRK = (
  "LinearWarmup steps its inner scheduler with step(e - W); CosineAnnealingWarmRestarts.step(epoch) "
  "finds the cycle with int(math.log(epoch / T_0 * (T_mult - 1) + 1, T_mult)), which is 4.999... at "
  "epoch 605 and picks the previous cycle there"
)
RESTARTS_T3 = inner("CosineAnnealingWarmRestarts", 0.1, 5, 3, 0.001)  # LOG_QUIRK's inner scheduler
HARMONIC = "lambda(k) = k/(k+1) is not a float32 number: each factor carries its float32 rounding"
NEGATIVE_END = "end_learning_rate=0: Paddle's linear value at count total_steps is negative"

# class -> its configurations, one `c` row each: name, N, what is recorded, then Paddle's arguments as
# Paddle's constructor takes them (`PARAMS` order). N is well past every boundary, period and total_steps.
LR_TABLE: dict[str, list[Callable[[str], LrCase]]] = {}
LR_TABLE["StepDecay"] = [
  c("a", 120, "long torch keras", 0.5, 7, 0.1),
  c("b", 400, "long torch", 0.1, 30, 0.5),
  c("c", 600, "long", 1.0, 1, 0.97),
  c("d_defaults", 60, "", 0.3, 3),
  c("e_slow", 100, "long", 0.5, 1_000_000, 0.8, note=SLOW),
]
LR_TABLE["MultiStepDecay"] = [
  c("a", 60, "long torch keras", 0.5, [3, 10, 25], 0.1),
  c("b", 800, "long torch", 0.1, [100, 250, 251, 600], 0.3),
]
LR_TABLE["PiecewiseDecay"] = [
  c("a", 100, "long keras", [5, 20, 50], [0.1, 0.05, 0.01, 0.001]),
  c("b_unsorted_extra_values", 60, "", [30, 10], [1.0, 0.5, 0.25, 0.125], note=UNSORTED),
]
LR_TABLE["NaturalExpDecay"] = [
  c("a", 300, "long torch keras", 0.5, 0.1),
  c("b", 3000, "long", 0.01, 0.003),
  c("c_slow", 100, "long", 0.5, 1.3e-7, note=SLOW),
]
LR_TABLE["InverseTimeDecay"] = [
  c("a", 500, "long keras", 0.5, 0.1),
  c("b", 500, "long", 0.02, 1.7),
  c("c_slow", 100, "long", 0.5, 1.1e-6, note=SLOW),
]
LR_TABLE["PolynomialDecay"] = [
  c("a", 150, "long keras", 0.1, 50),
  c("b_cycle", 300, "long keras", 0.1, 50, 0.001, 2.0, True),
  c("c_cycle_sqrt", 300, "long", 0.5, 37, 0.0, 0.5, True),
  c("d_to_zero", 100, "torch keras", 0.5, 40, 0.0, 0.5),
]
LR_TABLE["LinearWarmup"] = [
  c("a_float", 60, "long", 0.1, 20, 0.0, 0.1),
  c("b_cosine", 300, "long keras", inner("CosineAnnealingDecay", 0.1, 50), 10, 0.001, 0.1),
  c("c_step", 200, "long", inner("StepDecay", 0.05, 10, 0.5), 25, 0.0, 0.05),
  c("d_linear_lr", 100, "", inner("LinearLR", 0.2, 30, 0.25), 5, 0.01, 0.05),
  c("e_warm_restarts", 200, "", inner("CosineAnnealingWarmRestarts", 0.1, 4, 2), 6, 0.0, 0.1),
  c("f_warm_restarts_log_quirk", 700, "", RESTARTS_T3, 5, 0.0, 0.1, note=LOG_QUIRK),
]
LR_TABLE["ExponentialDecay"] = [
  c("a", 400, "long torch keras", 0.5, 0.9),
  c("b", 3000, "long", 0.1, 0.999),
  c("c_slow", 100, "long", 0.5, 0.99999987, note=SLOW),
]
LR_TABLE["LambdaDecay"] = [
  c("a_inv_sqrt", 300, "long torch", 0.5, F.inv_sqrt),
  c("b_half_every_7", 100, "long torch", 0.1, F.half_every_7),
]
LR_TABLE["MultiplicativeDecay"] = [
  c("a_const", 400, "long torch numpy", 0.5, F.const_095),
  c("b_every_3", 300, "torch", 0.1, F.three_quarters_every_3),
  c("c_harmonic", 300, "", 1.0, F.harmonic, note=HARMONIC),
  c("d_const_slow", 100, "long numpy", 0.5, F.const_near_one, note=SLOW),
]
LR_TABLE["NoamDecay"] = [
  c("a", 500, "long", 512, 100),
  c("b", 3000, "long", 64, 1000, 2.0),
]
LR_TABLE["CosineAnnealingDecay"] = [
  c("a", 400, "long torch keras", 0.1, 50),
  c("b", 100, "long torch keras", 0.5, 7, 0.01),
  c("c", 2500, "long", 1.0, 1000),
]
LR_TABLE["OneCycleLR"] = [
  c("a_defaults", 100, "torch", 0.1, 100),
  c("b_three_linear", 1000, "", 0.1, 1000, 10.0, 0.0, 0.25, "linear", True, note=NEGATIVE_END),
  c("c_fractional", 77, "torch", 1.0, 77, end_learning_rate=0.001, phase_pct=0.33),
  c("d_three_cos", 50, "torch", 0.05, 50, phase_pct=0.45, three_phase=True),
  c("e_long", 100, "long", 0.1, LONG, phase_pct=0.3),
]
LR_TABLE["CyclicLR"] = [
  c("a_triangular", 100, "long torch", 0.01, 0.1, 10),
  c("b_triangular2", 200, "long torch", 0.01, 0.1, 5, 15, mode="triangular2"),
  c("c_exp_range", 300, "long torch", 0.001, 0.1, 20, 10, mode="exp_range", exp_gamma=0.99),
  c("d_scale_fn_cycle", 100, "long torch", 0.05, 0.5, 4, 6, scale_fn=F.inv_cycle),
  c("e_scale_fn_iterations", 200, "long torch", 0.0, 1.0, 7, scale_fn=F.decay_iter, scale_mode="iterations"),
]
LR_TABLE["LinearLR"] = [
  c("a_defaults", 30, "long torch numpy", 0.5, 10),
  c("b", 400, "long torch numpy", 0.1, 200, 0.1, 0.5),
  c("c_to_zero", 200, "long torch numpy", 1.0, 100, 1.0, 0.0),
]
LR_TABLE["CosineAnnealingWarmRestarts"] = [
  c("a", 100, "long torch keras", 0.1, 10),
  c("b", 400, "long torch keras numpy", 0.5, 3, 2, 0.01),
  c("c", 1000, "long torch numpy", 1.0, 5, 3),
]
LR_CASES: dict[str, list[LrCase]] = {cls: [make(cls) for make in rows] for cls, rows in LR_TABLE.items()}


def plateau_metrics(seed: int, n: int, kind: str) -> list[float]:
  """A seeded metric sequence with improvements, plateaus and noise; float32 numbers."""
  rng = np.random.default_rng(seed)
  t = np.arange(n)
  if kind == "min":
    base = 2.0 * np.exp(-t / 15.0) + 0.5 * (t > 40) - 0.3 * (t > 90)
  else:
    base = 0.9 - 0.8 * np.exp(-t / 20.0) - 0.1 * (t > 70)
  noisy = base + rng.normal(0, 0.01, n) * (rng.random(n) < 0.5)
  return [float(np.float32(v)) for v in noisy]


@dataclasses.dataclass(frozen=True)
class PlateauCase:
  """A ReduceOnPlateau configuration, fed `metrics`: (seed, kind) of `plateau_metrics`, or the list."""

  name: str
  kwargs: dict[str, Any]
  n: int
  metrics: tuple[int, str] | list[float]

  def metric_values(self) -> list[float]:
    if isinstance(self.metrics, list):
      return self.metrics
    seed, kind = self.metrics
    return plateau_metrics(seed, self.n, kind)


def p(name: str, n: int, metrics: int | list[float], *args: Any, **kwargs: Any) -> PlateauCase:
  """A row: ``p(name, N, metrics, *args, **kwargs)``, `metrics` the seed of a `plateau_metrics` sequence
  (that falls in mode "min", rises in mode "max") or the metric list, then Paddle's arguments."""
  kw = paddle_kwargs("ReduceOnPlateau", args, kwargs)
  seeded = (metrics, kw.get("mode", "min")) if isinstance(metrics, int) else metrics
  return PlateauCase(name, kw, n, seeded)


# a better metric inside the cooldown: Paddle ignores it, torch takes it as the best
COOLDOWN_METRICS = [1.0, 2.0, 0.5, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7]
PLATEAU_CASES = [
  p("a_defaults", 150, 1, 0.1),
  p("b_max_abs_cooldown", 150, 2, 0.5, "max", 0.5, 2, 0.01, "abs", 3, 0.01),
  p("c_min_rel_epsilon", 150, 3, 0.05, factor=0.3, patience=1, threshold=0.05, cooldown=2, epsilon=0.002),
  p("d_no_cooldown", 150, 4, 1.0, factor=0.5, patience=3, threshold=0.0),
  p("e_cooldown_ignores_metric", 12, COOLDOWN_METRICS, 1.0, factor=0.5, patience=0, cooldown=2),
]


# One bad argument each (or a valid edge case): Paddle's exception type is recorded, and the test
# checks that ours raises the same type.
VALIDATION = [
  ("StepDecay", dict(learning_rate=0.1, step_size=2.0)),
  ("StepDecay", dict(learning_rate=0.1, step_size=0)),
  ("StepDecay", dict(learning_rate=0.1, step_size=-3)),
  ("StepDecay", dict(learning_rate=0.1, step_size=3, gamma=1.0)),
  ("StepDecay", dict(learning_rate="0.1", step_size=3)),
  ("StepDecay", dict(learning_rate=-0.1, step_size=3)),
  ("StepDecay", dict(learning_rate=1, step_size=3)),
  ("MultiStepDecay", dict(learning_rate=0.1, milestones=(3, 2))),
  ("MultiStepDecay", dict(learning_rate=0.1, milestones=5)),
  ("MultiStepDecay", dict(learning_rate=0.1, milestones=[2, 3], gamma=1.5)),
  ("MultiStepDecay", dict(learning_rate=0.1, milestones=[])),
  ("PiecewiseDecay", dict(boundaries=[], values=[0.1])),
  ("PiecewiseDecay", dict(boundaries=[3, 5], values=[0.1, 0.2])),
  ("NaturalExpDecay", dict(learning_rate=0.1, gamma=0.0)),
  ("NaturalExpDecay", dict(learning_rate=0.1, gamma=-1.0)),
  ("InverseTimeDecay", dict(learning_rate=0.1, gamma=-0.5)),
  ("InverseTimeDecay", dict(learning_rate=-1.0, gamma=0.5)),
  ("PolynomialDecay", dict(learning_rate=0.1, decay_steps=0)),
  ("PolynomialDecay", dict(learning_rate=0.1, decay_steps=2.5)),
  ("PolynomialDecay", dict(learning_rate=0.1, decay_steps=10, power=0.0)),
  ("PolynomialDecay", dict(learning_rate=0.1, decay_steps=10, power=-1.0)),
  ("LinearWarmup", dict(learning_rate="x", warmup_steps=3, start_lr=0.0, end_lr=0.1)),
  ("LinearWarmup", dict(learning_rate=0.1, warmup_steps=0, start_lr=0.0, end_lr=0.1)),
  ("LinearWarmup", dict(learning_rate=0.1, warmup_steps=2.0, start_lr=0.0, end_lr=0.1)),
  ("LinearWarmup", dict(learning_rate=0.1, warmup_steps=3, start_lr=0.1, end_lr=0.1)),
  ("LinearWarmup", dict(learning_rate=0.1, warmup_steps=3, start_lr=-1.0, end_lr=-0.5)),
  ("LinearWarmup", dict(learning_rate=1, warmup_steps=3, start_lr=0, end_lr=1)),
  ("ExponentialDecay", dict(learning_rate=0.1, gamma=1.0)),
  ("ExponentialDecay", dict(learning_rate=0.1, gamma=0.0)),
  ("ExponentialDecay", dict(learning_rate=0.1, gamma=1.5)),
  ("LambdaDecay", dict(learning_rate=0.1, lr_lambda=3)),
  ("MultiplicativeDecay", dict(learning_rate=0.1, lr_lambda=None)),
  ("NoamDecay", dict(d_model=0, warmup_steps=10)),
  ("NoamDecay", dict(d_model=-4, warmup_steps=10)),
  ("NoamDecay", dict(d_model=16, warmup_steps=0)),
  ("CosineAnnealingDecay", dict(learning_rate=0.1, T_max=10.0)),
  ("CosineAnnealingDecay", dict(learning_rate=0.1, T_max=0)),
  ("CosineAnnealingDecay", dict(learning_rate=0.1, T_max=10, eta_min="0")),
  ("OneCycleLR", dict(max_learning_rate="1", total_steps=10)),
  ("OneCycleLR", dict(max_learning_rate=-1.0, total_steps=10)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, end_learning_rate=-1.0)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10.0)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=0)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, phase_pct=1)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, phase_pct=1.5)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, phase_pct=0.5, three_phase=True)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, anneal_strategy="x")),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, divide_factor=0.0)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, divide_factor=-1.0)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, phase_pct=0.1)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, phase_pct=1.0)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=-1.0, step_size_up=3)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=0)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2.0)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2, step_size_down=0)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2, exp_gamma=1)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2, mode="x")),
  (
    "CyclicLR",
    dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2, mode="x", scale_fn=F.inv_sqrt),
  ),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2, scale_mode="x")),
  ("CyclicLR", dict(base_learning_rate=-0.1, max_learning_rate=1.0, step_size_up=2)),
  ("LinearLR", dict(learning_rate=0.1, total_steps=10, start_factor=0.0)),
  ("LinearLR", dict(learning_rate=0.1, total_steps=10, start_factor=1.5)),
  ("LinearLR", dict(learning_rate=0.1, total_steps=10, end_factor=-0.1)),
  ("LinearLR", dict(learning_rate=0.1, total_steps=0)),
  ("CosineAnnealingWarmRestarts", dict(learning_rate=0.1, T_0=0)),
  ("CosineAnnealingWarmRestarts", dict(learning_rate=0.1, T_0=2.0)),
  ("CosineAnnealingWarmRestarts", dict(learning_rate=0.1, T_0=2, T_mult=0)),
  ("CosineAnnealingWarmRestarts", dict(learning_rate=0.1, T_0=2, T_mult=1.5)),
  ("ReduceOnPlateau", dict(learning_rate=0.1, mode="x")),
  ("ReduceOnPlateau", dict(learning_rate=0.1, factor=1.0)),
  ("ReduceOnPlateau", dict(learning_rate=0.1, threshold_mode="x")),
  ("ReduceOnPlateau", dict(learning_rate="0.1")),
  ("ReduceOnPlateau", dict(learning_rate=1, mode="MAX", threshold_mode="ABS")),
]


# --- building the framework objects -----------------------------------------------------------------


def decode(value: Any, module: Any) -> Any:
  """Turns ``{"$fn": name}`` and ``{"$sched": ...}`` into the function / a scheduler of `module`."""
  if isinstance(value, dict) and "$fn" in value:
    return FUNCTIONS[value["$fn"]]
  if isinstance(value, dict) and "$sched" in value:
    spec = value["$sched"]
    return getattr(module, spec["class"])(**{k: decode(v, module) for k, v in spec["kwargs"].items()})
  return value


def paddle_scheduler(cls: str, kwargs: dict[str, Any]) -> Any:
  """A ``paddle.optimizer.lr`` scheduler from a JSON configuration (also the harness's schedule type)."""
  import paddle

  return getattr(paddle.optimizer.lr, cls)(**{k: decode(v, paddle.optimizer.lr) for k, v in kwargs.items()})


def paddle_per_epoch(cls: str, kwargs: dict[str, Any], steps_per_epoch: int) -> Any:
  """A Paddle scheduler that the harness's ``step()`` after every update advances once per epoch."""
  sched = paddle_scheduler(cls, kwargs)
  step, calls = sched.step, [0]

  def per_epoch_step(*args: Any, **kw: Any) -> None:
    calls[0] += 1
    if calls[0] % steps_per_epoch == 0:
      step(*args, **kw)

  sched.step = per_epoch_step
  return sched


def paddle_plateau(metrics: list[float], steps_per_epoch: int, **kwargs: Any) -> Any:
  """A Paddle ReduceOnPlateau fed from `metrics`: ``step()`` (as the harness calls it after every
  optimizer step) calls Paddle's ``step(metric)`` at the last step of each epoch only."""
  import paddle

  class Plateau(paddle.optimizer.lr.ReduceOnPlateau):
    calls = 0

    def step(self, metrics_=None, epoch=None):
      del metrics_, epoch
      self.calls += 1
      if self.calls % steps_per_epoch == 0:
        super().step(metrics[self.calls // steps_per_epoch - 1])

  return Plateau(**kwargs)


def torch_sgd(lr: float) -> Any:
  """A PyTorch SGD optimizer on one parameter that never gets a gradient: it carries a scheduler's lr."""
  import torch

  return torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=lr)


# --- numpy float64 references for the long range (checked against Paddle on 0..N by the test) --------


def numpy_reference(cls: str, kwargs: dict[str, Any], counts: np.ndarray) -> np.ndarray:
  counts = np.asarray(counts, np.int64)
  if cls == "LinearLR":
    lr, n = kwargs["learning_rate"], kwargs["total_steps"]
    sf, ef = kwargs.get("start_factor", 1.0 / 3), kwargs.get("end_factor", 1.0)
    return lr * (sf + (ef - sf) * np.minimum(counts, n) / n)
  if cls == "CosineAnnealingWarmRestarts":
    lr, t0, mult, eta = (
      kwargs["learning_rate"],
      kwargs["T_0"],
      kwargs.get("T_mult", 1),
      kwargs.get("eta_min", 0.0),
    )
    out = []
    for e in counts:
      start, length = 0, t0
      while e >= start + length:
        start, length = start + length, length * mult
      out.append(eta + (lr - eta) * (1 + math.cos(math.pi * (e - start) / length)) / 2)
    return np.array(out)
  if cls == "CyclicLR":
    kw = kwargs
    up = kw["step_size_up"]
    size = up + (kw.get("step_size_down") or up)
    cycle, r = 1 + counts // size, counts % size
    s = np.where(r <= up, r / up, (size - r) / (size - up))
    mode = kw.get("mode", "triangular")
    f = {
      "triangular": np.ones_like(s),
      "triangular2": np.ldexp(1.0, (1 - cycle).astype(np.int64).clip(-2000)),
      "exp_range": kw.get("exp_gamma", 1.0) ** counts.astype(np.float64),
    }[mode]
    base = kw["base_learning_rate"]
    return base + (kw["max_learning_rate"] - base) * s * f
  if cls == "MultiplicativeDecay":
    lam = decode(kwargs["lr_lambda"], None)
    return np.array([kwargs["learning_rate"] * lam(1) ** e for e in counts])  # a constant lambda
  raise ValueError(f"no numpy formula for {cls}")


def long_counts(case: LrCase, cls: str) -> np.ndarray:
  """Counts up to 10**7: log-spaced, the last ones, and each side of boundaries near 10**7."""
  counts = set(np.unique(np.logspace(3, 7, 40).astype(np.int64)).tolist())
  counts.update(range(LONG - 40, LONG + 1))
  kw = case.kwargs
  periods = [
    kw.get(k)
    for k in ("step_size", "T_max", "T_0", "decay_steps", "step_size_up", "total_steps", "warmup_steps")
    if isinstance(kw.get(k), int)
  ]
  if cls == "CosineAnnealingDecay":
    periods.append(2 * kw["T_max"])
  if cls == "CyclicLR":
    periods.append(kw["step_size_up"] + (kw.get("step_size_down") or kw["step_size_up"]))
  for p in periods:
    if 1 < p < LONG:
      k = (LONG // p) * p
      counts.update(x for x in (k - p, k - p // 2, k - 1, k, k + 1, k - p + 1) if 0 <= x <= LONG)
  if cls == "OneCycleLR":
    b = kw.get("phase_pct", 0.3) * kw["total_steps"] - 1
    counts.update(int(x) for x in (math.floor(b) - 1, math.floor(b), math.floor(b) + 1, math.floor(b) + 2))
    counts.discard(LONG)  # Paddle's value at total_steps itself is covered by the short cases
  return np.array(sorted(c for c in counts if c >= 0), np.int64)


# --- recording ------------------------------------------------------------------------------------


def record_counts(read: Callable[[], float], advance: Callable[[], Any], n: int) -> np.ndarray:
  """The lr at counts 0..n, as an optimizer loop sees it: read it, then advance one step (n times)."""
  values = []
  for count in range(n + 1):
    values.append(read())
    if count < n:
      advance()
  return np.array(values)


def record_metrics(
  step: Callable[[float], Any], read: Callable[[], float], metrics: list[float]
) -> np.ndarray:
  """The lr after each metric: ``step(metric)``, then read it."""
  values = []
  for metric in metrics:
    step(metric)
    values.append(read())
  return np.array(values)


def paddle_values(cls: str, kwargs: dict[str, Any], n: int) -> np.ndarray:
  sched = paddle_scheduler(cls, kwargs)
  return record_counts(lambda: float(sched()), sched.step, n)


def torch_values(twin: dict[str, Any], n: int) -> np.ndarray:
  import torch

  opt = torch_sgd(twin["lr"])
  kwargs = {k: decode(v, None) for k, v in twin["kwargs"].items()}
  sched = getattr(torch.optim.lr_scheduler, twin["cls"])(opt, **kwargs)
  return record_counts(lambda: float(opt.param_groups[0]["lr"]), lambda: (opt.step(), sched.step()), n)


def inner_consecutive(case: LrCase, values: np.ndarray) -> np.ndarray:
  """LinearWarmup with an inner scheduler: the inner one stepped consecutively after the warm-up (what
  an optimizer loop sees), for comparison with Paddle's ``step(e - W)``."""
  w, spec = case.kwargs["warmup_steps"], case.kwargs["learning_rate"]["$sched"]
  fresh, consecutive = paddle_scheduler(spec["class"], spec["kwargs"]), []
  for e in range(case.n + 1):
    if e > w:
      fresh.step()
    consecutive.append(values[e] if e < w else float(fresh()))
  return np.array(consecutive)


def long_reference(cls: str, case: LrCase, counts: np.ndarray) -> tuple[np.ndarray, str]:
  """The reference values at `counts` and where they come from."""
  if case.numpy_ref:
    ref = numpy_reference(cls, case.kwargs, counts)
    return ref, "numpy float64 formula (Paddle's get_lr is recursive or uses a float log)"
  ref, raised = [], []
  for k in counts:
    fresh = paddle_scheduler(cls, case.kwargs)
    try:
      fresh.step(int(k))
      ref.append(float(fresh()))
    except OverflowError:  # CyclicLR triangular2: 2.0 ** (cycle - 1) past cycle 1024
      ref.append(float(numpy_reference("CyclicLR", case.kwargs, [k])[0]))
      raised.append(int(k))
  source = "paddle step(epoch=k): a closed form for this class"
  if raised:
    source += (
      f"; at {len(raised)} counts (from {min(raised)}) Paddle raises OverflowError "
      "(2.0 ** (cycle - 1)) and the numpy formula is used"
    )
  return np.array(ref), source


def record_lr_case(cls: str, case: LrCase) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
  """One configuration's arrays (Paddle, the references, torch) and its .json entry."""
  name, n = case.name, case.n
  values = paddle_values(cls, case.kwargs, n)
  arrays = {f"{name}/paddle": values}
  info: dict[str, Any] = {"kwargs": case.kwargs, "n": n, "note": case.note}
  if cls == "LinearWarmup" and isinstance(case.kwargs["learning_rate"], dict):
    consecutive = arrays[f"{name}/inner_consecutive"] = inner_consecutive(case, values)
    quirk = np.flatnonzero(np.abs(consecutive - values) > 1e-12 * np.abs(values).max())
    info["paddle_step_epoch_differs_at"] = quirk.tolist()
  if case.numpy_ref:
    arrays[f"{name}/numpy"] = numpy_reference(cls, case.kwargs, np.arange(n + 1))
  if case.long:
    counts = long_counts(case, cls)
    arrays[f"{name}/long_count"] = counts
    arrays[f"{name}/long_ref"], info["long_source"] = long_reference(cls, case, counts)
  if case.torch:
    t = case.torch
    arrays[f"{name}/torch"] = torch_values(t, n)
    info["torch"] = {
      "class": "torch.optim.lr_scheduler." + t["cls"],
      "kwargs": t["kwargs"],
      "optimizer_lr": t["lr"],
    }
  return arrays, info


def record_plateau_case(case: PlateauCase) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
  """ReduceOnPlateau: the metrics and the lr after each of them, Paddle's and torch's."""
  import torch

  seed, kind = (None, "given") if isinstance(case.metrics, list) else case.metrics
  metrics = case.metric_values()
  sched = paddle_scheduler("ReduceOnPlateau", case.kwargs)
  lrs = record_metrics(sched.step, lambda: float(sched()), metrics)
  tkw = {{"epsilon": "eps"}.get(k, k): v for k, v in case.kwargs.items() if k != "learning_rate"}
  opt = torch_sgd(case.kwargs["learning_rate"])
  tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **tkw)
  tl = record_metrics(tsched.step, lambda: float(opt.param_groups[0]["lr"]), metrics)
  name = case.name
  arrays = {f"{name}/metrics": np.array(metrics), f"{name}/paddle": lrs, f"{name}/torch": tl}
  info = {
    "kwargs": case.kwargs,
    "n": case.n,
    "metric_seed": seed,
    "metric_kind": kind,
    "torch": {"class": "torch.optim.lr_scheduler.ReduceLROnPlateau", "kwargs": tkw},
  }
  return arrays, info


def record_paddle_torch() -> dict[str, dict[str, Any]]:
  """class -> {"arrays": the .npz arrays, "meta": the .json entry of each case}, ReduceOnPlateau last."""
  import paddle

  paddle.set_device("cpu")
  tables = {cls: [record_lr_case(cls, case) for case in cases] for cls, cases in LR_CASES.items()}
  tables["ReduceOnPlateau"] = [record_plateau_case(case) for case in PLATEAU_CASES]
  cases = {**LR_CASES, "ReduceOnPlateau": PLATEAU_CASES}
  out = {}
  for cls, recorded in tables.items():
    arrays = {k: v for case_arrays, _ in recorded for k, v in case_arrays.items()}
    meta = {case.name: info for case, (_, info) in zip(cases[cls], recorded, strict=True)}
    out[cls] = {"arrays": arrays, "meta": meta}
  return out


def record_keras(framework: str) -> dict[str, dict[str, np.ndarray]]:
  """class -> case -> the Keras look-alike's values (float32) at counts 0..upto."""
  os.environ.setdefault("KERAS_BACKEND", "tensorflow")
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  if framework == "tf_keras":
    import tf_keras as keras_mod
  else:
    import keras as keras_mod
  out: dict[str, dict[str, np.ndarray]] = {}
  for cls, cases in LR_CASES.items():
    for case in cases:
      if not case.keras:
        continue
      k = case.keras
      sched = getattr(keras_mod.optimizers.schedules, k["cls"])(**k["kwargs"])
      upto = case.n if k["upto"] is None else k["upto"]
      values = np.array([float(np.asarray(sched(step))) for step in range(upto + 1)], np.float32)
      out.setdefault(cls, {})[case.name] = values
  return out


def record_keras_in_workers() -> dict[str, dict[str, dict[str, np.ndarray]]]:
  """class -> case -> framework -> values, each Keras in its own process (TensorFlow and Paddle cannot
  share one)."""
  out: dict[str, dict[str, dict[str, np.ndarray]]] = {}
  with tempfile.TemporaryDirectory() as tmp:
    for framework in ("tf_keras", "keras"):
      dest = Path(tmp) / f"{framework}.npz"
      subprocess.run([sys.executable, __file__, "--keras-worker", framework, str(dest)], check=True)
      with np.load(dest) as z:
        for key in z.files:
          cls, name = key.split("|")
          out.setdefault(cls, {}).setdefault(name, {})[framework] = z[key]
  return out


def record_signatures() -> dict[str, list[list[Any]]]:
  """Each class's arguments and defaults, as [name, repr(default) or None] (no default)."""
  import paddle

  out = {}
  for cls in [*LR_CASES, "ReduceOnPlateau"]:
    params = list(inspect.signature(getattr(paddle.optimizer.lr, cls)).parameters.values())
    if tuple(p.name for p in params[: len(PARAMS[cls])]) != PARAMS[cls]:
      raise ValueError(f"PARAMS[{cls!r}] is not Paddle's signature order")
    out[cls] = [[p.name, None if p.default is p.empty else repr(p.default)] for p in params]
  return out


def record_validation() -> list[dict[str, Any]]:
  out = []
  for cls, kwargs in VALIDATION:
    try:
      paddle_scheduler(cls, kwargs)
      raised, message = None, ""
    except Exception as err:  # noqa: BLE001 - the type is what is recorded
      raised, message = type(err).__name__, str(err)
    out.append({"class": cls, "kwargs": kwargs, "paddle_raises": raised, "message": message})
  return out


def write_tables(folder: Path = OUT) -> None:
  """Records every table and writes ``<folder>/<class>.npz`` + ``.json`` and ``validation.json``."""
  recorded = record_paddle_torch()
  keras_values = record_keras_in_workers()
  versions = harness.all_versions(runners.versions())
  folder.mkdir(parents=True, exist_ok=True)
  validation = {
    "framework": "paddle",
    "framework_version": versions.get("paddle"),
    "cases": record_validation(),
    "signatures": record_signatures(),
    "generated_by": GENERATED_BY,
  }
  (folder / "validation.json").write_text(json.dumps(validation, indent=1) + "\n")
  for cls, data in recorded.items():
    arrays, meta = data["arrays"], data["meta"]
    for name, per_fw in keras_values.get(cls, {}).items():
      case = next(c for c in LR_CASES[cls] if c.name == name)
      for framework, values in per_fw.items():
        arrays[f"{name}/{framework}"] = values
      meta[name]["keras"] = {
        "class": "optimizers.schedules." + case.keras["cls"],
        "kwargs": case.keras["kwargs"],
        "upto": len(values) - 1,
      }
    np.savez_compressed(folder / f"{cls}.npz", **arrays)
    provenance = {
      "class": "paddle.optimizer.lr." + cls,
      "framework": "paddle",
      "framework_version": versions.get("paddle"),
      "versions": versions,
      "dtype": "float64 (Python floats); Keras values are float32",
      "seed": None if cls != "ReduceOnPlateau" else "per case (metric_seed)",
      "cases": meta,
      "generated_by": GENERATED_BY,
    }
    (folder / f"{cls}.json").write_text(json.dumps(provenance, indent=1, default=str) + "\n")
    print(f"{cls}: {(folder / f'{cls}.npz').stat().st_size / 1024:.1f} KiB")


def main() -> int:
  if len(sys.argv) > 1 and sys.argv[1] == "--keras-worker":
    framework, dest = sys.argv[2], Path(sys.argv[3])
    data = record_keras(framework)
    np.savez(dest, **{f"{cls}|{name}": v for cls, d in data.items() for name, v in d.items()})
    return 0
  write_tables()
  return 0


if __name__ == "__main__":
  sys.exit(main())
