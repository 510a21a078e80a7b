"""Shared by the schedule tests: the golden lr files, and Paddle configurations -> oj.schedules.

tests/golden/schedules/lr/<Class>.npz + .json come from tools/golden_cases/schedules.py (run with
the framework environment). Functions in a configuration are ``{"$fn": name}``: `FUNCTIONS` holds the
jnp twin of each (the generator's `FUNCTIONS` holds the float64 Python original, in `PY_FUNCTIONS`
below, copied so the tests never import the tools); an inner scheduler is ``{"$sched": {...}}``.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path
from typing import Any

import jax.numpy as jnp
import numpy as np

import optim_jax as oj

LR_DIR = Path(__file__).resolve().parent / "golden" / "schedules" / "lr"

FUNCTIONS = {
  "inv_sqrt": lambda e: 1.0 / jnp.sqrt(1.0 + e),
  "half_every_7": lambda e: 0.5 ** (e // 7),
  "const_095": lambda k: 0.95,
  "const_near_one": lambda k: 0.9999999,
  "three_quarters_every_3": lambda k: jnp.where(k % 3 == 0, 0.75, 1.0),
  "harmonic": lambda k: k / (k + 1.0),
  "inv_cycle": lambda x: 1.0 / x,
  "decay_iter": lambda x: 1.0 / (1.0 + 0.01 * x),
}
PY_FUNCTIONS = {
  "inv_sqrt": lambda e: 1.0 / math.sqrt(1.0 + e),
  "half_every_7": lambda e: 0.5 ** (e // 7),
  "const_095": lambda k: 0.95,
  "const_near_one": lambda k: 0.9999999,
  "three_quarters_every_3": lambda k: 0.75 if k % 3 == 0 else 1.0,
  "harmonic": lambda k: k / (k + 1.0),
  "inv_cycle": lambda x: 1.0 / x,
  "decay_iter": lambda x: 1.0 / (1.0 + 0.01 * x),
}

S = oj.schedules
CLASSES = {
  "StepDecay": S.step_decay,
  "MultiStepDecay": S.multi_step_decay,
  "PiecewiseDecay": S.piecewise_decay,
  "NaturalExpDecay": S.natural_exp_decay,
  "InverseTimeDecay": S.inverse_time_decay,
  "PolynomialDecay": S.polynomial_decay,
  "LinearWarmup": S.linear_warmup,
  "ExponentialDecay": S.exponential_decay,
  "LambdaDecay": S.lambda_decay,
  "MultiplicativeDecay": S.multiplicative_decay,
  "NoamDecay": S.noam_decay,
  "CosineAnnealingDecay": S.cosine_annealing_decay,
  "OneCycleLR": S.one_cycle_lr,
  "CyclicLR": S.cyclic_lr,
  "LinearLR": S.linear_lr,
  "CosineAnnealingWarmRestarts": S.cosine_annealing_warm_restarts,
  "ReduceOnPlateau": S.reduce_on_plateau,
}


def decode(value: Any) -> Any:
  if isinstance(value, dict) and "$fn" in value:
    return FUNCTIONS[value["$fn"]]
  if isinstance(value, dict) and "$sched" in value:
    return build(value["$sched"]["class"], value["$sched"]["kwargs"])
  return value


def build(cls: str, kwargs: dict[str, Any]) -> Any:
  """Our schedule (or transformation) for a Paddle class and its keyword arguments."""
  return CLASSES[cls](**{k: decode(v) for k, v in kwargs.items()})


def load(cls: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
  """A class's recorded configurations and values (the arrays are read once per session and shared,
  read-only)."""
  return json.loads((LR_DIR / f"{cls}.json").read_text()), dict(_arrays(cls))


@functools.cache
def _arrays(cls: str) -> dict[str, np.ndarray]:
  with np.load(LR_DIR / f"{cls}.npz") as data:
    arrays = {k: data[k] for k in data.files}
  for a in arrays.values():
    a.setflags(write=False)
  return arrays


def lr_cases() -> list[tuple[str, str]]:
  """(class, case) for every recorded schedule configuration (ReduceOnPlateau apart)."""
  out = []
  for path in sorted(LR_DIR.glob("*.json")):
    if path.stem in ("ReduceOnPlateau", "validation"):
      continue
    out += [(path.stem, name) for name in json.loads(path.read_text())["cases"]]
  return out


def user_function_error(cls: str, kwargs: dict[str, Any], counts: np.ndarray) -> np.ndarray:
  """Per count, the relative error that the float32 evaluation of the user's own function brings.

  Our schedules are exact up to their final float32 rounding; a user function (lr_lambda,
  scale_fn) runs in float32 in jnp, so its rounding is the user's. MultiplicativeDecay multiplies
  one such rounded factor per count: the bound is their running sum.
  """
  fns = [v["$fn"] for v in kwargs.values() if isinstance(v, dict) and "$fn" in v]
  if not fns:
    return np.zeros(len(counts))
  (name,) = fns
  if cls == "MultiplicativeDecay" and name.startswith("const"):
    return np.zeros(len(counts))  # a constant: our closed form uses the Python float
  if cls == "CyclicLR" and kwargs.get("scale_mode", "cycle") == "cycle":
    args = 1 + counts // (kwargs["step_size_up"] + (kwargs.get("step_size_down") or kwargs["step_size_up"]))
    x32 = jnp.asarray(args, jnp.float32)
  else:
    args = np.maximum(counts, 1) if cls == "MultiplicativeDecay" else counts
    x32 = jnp.asarray(args, jnp.int32)
  f32 = np.asarray(FUNCTIONS[name](x32), np.float64) * np.ones(len(counts))
  f64 = np.array([PY_FUNCTIONS[name](int(a)) for a in args], np.float64)
  rel = np.abs(f32 - f64) / np.maximum(np.abs(f64), 1e-300)
  if cls == "MultiplicativeDecay":
    return np.cumsum(np.where(counts >= 1, rel, 0.0))
  return rel
