"""The golden-data harness: case descriptions, seeded inputs, clip bookkeeping and the file format.

A `Case` names a framework optimizer and its configuration in a machine-readable form; the
framework runners (`runners.py`) feed the case's gradients to the real optimizer and record the
parameters after every step; `write_case` stores the result as ``<family>/<case>.npz`` plus a
provenance ``<case>.json``.

Configuration conventions (the test side maps them to our presets):
  * ``optimizer``: dotted name of the framework class; ``kwargs``: its keyword arguments except the
    learning-rate schedule, the clip and the weight decay (a constant learning rate goes here).
  * ``schedule``: ``{"type": <dotted class>, "kwargs": {...}}`` or None. Paddle and Keras get the
    schedule object as ``learning_rate``; PyTorch wraps the optimizer and is stepped after every
    optimizer step.
  * ``clip``: a list of ``{"type", "kwargs"}``. A dotted type is a framework object (Paddle
    ``grad_clip``) or function (PyTorch ``clip_grad_*_``, called in list order before ``step()``); a
    bare word (``clipnorm``, ``clipvalue``, ``global_clipnorm``) is an optimizer keyword argument
    whose value is ``kwargs["value"]``.
  * ``weight_decay``: ``{"type": "float", "value": c}`` (passed as the optimizer's
    ``weight_decay=c``; its meaning is the framework's: coupled in Paddle and PyTorch, decoupled in
    Keras) or ``{"type": <dotted class>, "kwargs": {...}}`` (a Paddle regulariser object), or None.

Arrays in the .npz (leaf names are the keys of `Case.shapes`, ordered as jax orders dict keys):
  ``init/<leaf>`` the initial parameters; ``grads/<leaf>`` (steps, *shape) the raw gradient fed at
  each step; ``params/<leaf>`` (steps, *shape) the parameters after each step; ``lr`` (steps,) the
  learning rate the framework reported for each step (for debugging only); ``extra/<name>/<leaf>``
  (steps, *shape) any extra state recorded by a `Case.extras` hook (e.g. an EMA of the parameters).
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# Small on purpose (the committed files stay small): a matrix, a vector and a scalar leaf.
DEFAULT_SHAPES: dict[str, tuple[int, ...]] = {"b": (3,), "s": (), "w": (2, 3)}

# An extras hook: (framework optimizer, framework variables in leaf order) -> one array per leaf.
ExtraHook = Callable[[Any, list], list]


@dataclasses.dataclass(frozen=True)
class GradSpec:
  """How the seeded gradient sequence is drawn.

  g_t = step_scale_t * leaf_scale * (bias + noise_t), with step_scale log-uniform in
  [scale_lo, scale_hi] (so clips with a threshold in the middle act on some steps and not on
  others), leaf_scale log-uniform in [leaf_lo, leaf_hi] per leaf (so per-leaf norm clips differ
  between leaves), noise ~ N(0, 1) and a per-element drift bias = -drift * sign(p0) * bias_std *
  U(0.5, 1.5) (so centered variants differ). Initial parameters p0 are uniform in [init_lo, init_hi]
  in magnitude with a random sign; with drift=+1 gradient descent pushes them away from 0 (use -1
  for a maximizing optimizer), so that the per-leaf normwise error of the scalar leaf stays well
  defined.
  """

  scale_lo: float = 0.05
  scale_hi: float = 5.0
  leaf_lo: float = 0.3
  leaf_hi: float = 3.0
  bias_std: float = 1.0
  init_lo: float = 1.0
  init_hi: float = 2.0
  drift: float = 1.0


@dataclasses.dataclass
class Case:
  """One golden trajectory: a framework optimizer, its configuration and the input sequence."""

  name: str
  framework: str  # "paddle" | "torch" | "tf_keras" | "keras"
  dtype: str  # "float32" | "float64"
  steps: int
  seed: int
  optimizer: str
  kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
  schedule: dict[str, Any] | None = None
  clip: list[dict[str, Any]] = dataclasses.field(default_factory=list)
  weight_decay: dict[str, Any] | None = None
  shapes: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=lambda: dict(DEFAULT_SHAPES))
  grad_spec: GradSpec = dataclasses.field(default_factory=GradSpec)
  extras: dict[str, ExtraHook] = dataclasses.field(default_factory=dict)
  notes: str = ""
  family: str = ""

  @property
  def leaves(self) -> list[str]:
    return sorted(self.shapes)  # jax flattens dicts in sorted key order

  def config(self) -> dict[str, Any]:
    return {
      "optimizer": self.optimizer,
      "kwargs": self.kwargs,
      "schedule": self.schedule,
      "clip": self.clip,
      "weight_decay": self.weight_decay,
    }


@dataclasses.dataclass
class Trajectory:
  """What a runner returns: per-leaf arrays of shape (steps, *shape), and the per-step lr."""

  params: dict[str, np.ndarray]
  lr: np.ndarray
  extras: dict[str, dict[str, np.ndarray]] = dataclasses.field(default_factory=dict)


def make_inputs(case: Case) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
  """Seeded initial parameters and gradient sequence, in the case's dtype."""
  spec = case.grad_spec
  rng = np.random.default_rng(case.seed)
  dtype = np.dtype(case.dtype)
  step_scale = np.exp(rng.uniform(math.log(spec.scale_lo), math.log(spec.scale_hi), case.steps))
  init, grads = {}, {}
  for name in case.leaves:
    shape = tuple(case.shapes[name])
    sign = rng.choice([-1.0, 1.0], shape)
    init[name] = np.asarray(rng.uniform(spec.init_lo, spec.init_hi, shape) * sign, dtype)
    leaf_scale = math.exp(rng.uniform(math.log(spec.leaf_lo), math.log(spec.leaf_hi)))
    bias = -spec.drift * sign * spec.bias_std * rng.uniform(0.5, 1.5, shape)
    noise = rng.normal(0.0, 1.0, (case.steps, *shape))
    scale = step_scale.reshape((case.steps,) + (1,) * len(shape))
    grads[name] = np.asarray(scale * leaf_scale * (bias + noise), dtype)
  return init, grads


def clip_activity(case: Case, grads: dict[str, np.ndarray]) -> list[int]:
  """For each clip of the case, on how many steps it changes the raw gradients (numpy, float64).

  Only the case's own gradients are looked at (a clip chained after another sees them already
  clipped; the count is then an estimate). Used to check that each clip acts on some steps only.
  """
  g = {k: v.astype(np.float64).reshape(case.steps, -1) for k, v in grads.items()}
  flat = np.concatenate(list(g.values()), axis=1)
  counts = []
  for spec in case.clip:
    kind = spec["type"].rsplit(".", 1)[-1]
    kw = spec.get("kwargs", {})
    if kind in ("ClipGradByValue", "clipvalue", "clip_grad_value_"):
      hi = kw.get("max", kw.get("clip_value", kw.get("value")))
      lo = kw.get("min")
      lo = -hi if lo is None else lo
      active = ((flat > hi) | (flat < lo)).any(axis=1)
    elif kind in ("ClipGradByNorm", "clipnorm"):
      c = kw.get("clip_norm", kw.get("value"))
      active = np.stack([np.linalg.norm(v, axis=1) > c for v in g.values()]).any(axis=0)
    elif kind in ("ClipGradByGlobalNorm", "global_clipnorm", "clip_grad_norm_"):
      c = kw.get("clip_norm", kw.get("max_norm", kw.get("value")))
      p = float(kw.get("norm_type", 2.0))
      active = np.linalg.norm(flat, ord=p, axis=1) > c
    else:
      raise ValueError(f"unknown clip type {spec['type']!r}")
    counts.append(int(active.sum()))
  return counts


def _jsonable(value: Any) -> Any:
  if isinstance(value, dict):
    return {str(k): _jsonable(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [_jsonable(v) for v in value]
  if isinstance(value, float) and math.isinf(value):
    return "inf" if value > 0 else "-inf"
  if isinstance(value, np.generic):
    return value.item()
  return value


def write_case(
  out_dir: Path,
  case: Case,
  init: dict[str, np.ndarray],
  grads: dict[str, np.ndarray],
  traj: Trajectory,
  versions: dict[str, str],
) -> Path:
  """Writes ``<out_dir>/<family>/<name>.npz`` and ``.json``; returns the .npz path."""
  folder = out_dir / case.family
  folder.mkdir(parents=True, exist_ok=True)
  arrays: dict[str, np.ndarray] = {"lr": np.asarray(traj.lr, np.float64)}
  for name in case.leaves:
    arrays[f"init/{name}"] = init[name]
    arrays[f"grads/{name}"] = grads[name]
    arrays[f"params/{name}"] = np.asarray(traj.params[name], case.dtype)
  for extra, per_leaf in traj.extras.items():
    for name in case.leaves:
      arrays[f"extra/{extra}/{name}"] = np.asarray(per_leaf[name], case.dtype)
  path = folder / f"{case.name}.npz"
  np.savez_compressed(path, **arrays)
  provenance = {
    "family": case.family,
    "case": case.name,
    "framework": case.framework,
    "framework_version": versions[case.framework],
    "versions": {**versions, "numpy": np.__version__, "python": platform.python_version()},
    "dtype": case.dtype,
    "seed": case.seed,
    "steps": case.steps,
    "shapes": {k: list(v) for k, v in case.shapes.items()},
    "grad_spec": dataclasses.asdict(case.grad_spec),
    "config": case.config(),
    "clip_active_steps": clip_activity(case, grads),
    "extras": sorted(traj.extras),
    "notes": case.notes,
    "generated_by": "tools/make_golden.py",
  }
  path.with_suffix(".json").write_text(json.dumps(_jsonable(provenance), indent=1) + "\n")
  return path
