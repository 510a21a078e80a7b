"""The golden-data harness: cases and their builders, configuration specs, inputs and the file format.

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

The family modules build their cases and configurations with the helpers below (`make_case`,
`paddle_case`, `torch_case`, `keras_case`; `spec`, `float_wd`, `l1`, `l2`, the clip specs and the
schedules several families share), so that a convention is written once.
"""

from __future__ import annotations

import dataclasses
import json
import math
import platform
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
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


# --- building cases ----------------------------------------------------------------------------

DTYPES = ("float32", "float64")
SHORT_DTYPES = {"float32": "f32", "float64": "f64"}


def seed_for(name: str) -> int:
  """A stable seed per case name (Python's hash() is salted per process)."""
  return sum((i + 1) * ord(ch) for i, ch in enumerate(name)) % 100_003


def named_case(name: str, **fields: Any) -> Case:
  """A case seeded from its name."""
  return Case(name=name, seed=seed_for(name), **fields)


def make_case(framework: str, label: str, dtype: str, steps: int, optimizer: str, **fields: Any) -> Case:
  """A case named ``<framework>_<label>_<f32|f64>``, seeded from its name."""
  name = f"{framework}_{label}_{SHORT_DTYPES[dtype]}"
  return named_case(name, framework=framework, dtype=dtype, steps=steps, optimizer=optimizer, **fields)


# A default of a case builder's optimizer kwargs that every case gives (it fixes the key's place).
REQUIRED: Any = object()


def with_defaults(defaults: dict[str, Any] | None, kwargs: dict[str, Any]) -> dict[str, Any]:
  """The optimizer kwargs: `defaults` (in their order) updated by the case's `kwargs`."""
  out = {**(defaults or {}), **kwargs}
  missing = [k for k, v in out.items() if v is REQUIRED]
  if missing:
    raise TypeError(f"missing optimizer arguments {missing}")
  return out


# The case builders take the optimizer's kwargs as keyword arguments over `defaults`; a family binds
# its optimizer and defaults with functools.partial.


def paddle_case(
  optimizer: str, label: str, dtype: str, steps: int, *, schedule, clip=None, wd=None, defaults=None, **kwargs
) -> Case:
  """A Paddle case: one ``grad_clip`` at most (Paddle takes one), `wd` a weight-decay spec or None."""
  kwargs = with_defaults(defaults, kwargs)
  clips = [clip] if clip else []
  return make_case(
    "paddle", label, dtype, steps, optimizer, kwargs=kwargs, schedule=schedule, clip=clips, weight_decay=wd
  )


def torch_case(
  optimizer: str, label: str, dtype: str, steps: int, *, schedule, clips=(), defaults=None, extras=None,
  notes="", **kwargs,
) -> Case:  # fmt: skip
  """A PyTorch case: clip functions run in list order; with ``maximize`` the gradients drift the other
  way (see `GradSpec`), so that the parameters still move away from 0."""
  kwargs = with_defaults(defaults, kwargs)
  grad_spec = GradSpec(drift=-1.0 if kwargs.get("maximize") else 1.0)
  return make_case(
    "torch", label, dtype, steps, optimizer, kwargs=kwargs, schedule=schedule, clip=list(clips),
    grad_spec=grad_spec, extras=extras or {}, notes=notes,
  )  # fmt: skip


def keras_case(
  framework: str, optimizer: str, label: str, dtype: str, steps: int, *, schedule, clips=(), wd=None,
  defaults=None, extras=None, **kwargs,
) -> Case:  # fmt: skip
  """A tf_keras or Keras 3 case of ``<framework>.optimizers.<optimizer>``: `clips` are (keyword, value)
  pairs (``clipnorm``, ``clipvalue``, ``global_clipnorm``), `wd` the decoupled ``weight_decay`` or None."""
  kwargs = with_defaults(defaults, kwargs)
  return make_case(
    framework, label, dtype, steps, f"{framework}.optimizers.{optimizer}",
    kwargs=kwargs, schedule=schedule, clip=[{"type": k, "kwargs": {"value": v}} for k, v in clips],
    weight_decay=None if wd is None else float_wd(wd), extras=extras or {},
  )  # fmt: skip


# --- configuration specs (see the conventions above) ------------------------------------------------


def spec(kind: str, **kwargs: Any) -> dict[str, Any]:
  """A schedule or clip spec: a dotted class or function and its keyword arguments."""
  return {"type": kind, "kwargs": kwargs}


def float_wd(value: float) -> dict[str, Any]:
  """The optimizer's own ``weight_decay=value``."""
  return {"type": "float", "value": value}


def l2(coeff: float) -> dict[str, Any]:
  return spec("paddle.regularizer.L2Decay", coeff=coeff)


def l1(coeff: float) -> dict[str, Any]:
  return spec("paddle.regularizer.L1Decay", coeff=coeff)


def by_value(**kwargs: Any) -> dict[str, Any]:
  """Paddle's ``ClipGradByValue(max, min=None)``."""
  return spec("paddle.nn.ClipGradByValue", **kwargs)


def by_norm(clip_norm: float) -> dict[str, Any]:
  """Paddle's per-parameter ``ClipGradByNorm`` (its CPU kernel is float32-only)."""
  return spec("paddle.nn.ClipGradByNorm", clip_norm=clip_norm)


def by_gnorm(clip_norm: float, **kwargs: Any) -> dict[str, Any]:
  """Paddle's ``ClipGradByGlobalNorm``."""
  return spec("paddle.nn.ClipGradByGlobalNorm", clip_norm=clip_norm, **kwargs)


def clip_grad_norm(max_norm: float, norm_type: float = 2.0) -> dict[str, Any]:
  """PyTorch's ``clip_grad_norm_``."""
  return spec("torch.nn.utils.clip_grad_norm_", max_norm=max_norm, norm_type=norm_type)


def clip_grad_value(clip_value: float) -> dict[str, Any]:
  """PyTorch's ``clip_grad_value_``."""
  return spec("torch.nn.utils.clip_grad_value_", clip_value=clip_value)


# Schedules that change several times within the short runs (and, step_long, within 300 steps).
PADDLE_LR = "paddle.optimizer.lr."


def paddle_exp(learning_rate: float, gamma: float = 0.97) -> dict[str, Any]:
  return spec(PADDLE_LR + "ExponentialDecay", learning_rate=learning_rate, gamma=gamma)


def paddle_step(learning_rate: float, step_size: int = 7, gamma: float = 0.5) -> dict[str, Any]:
  return spec(PADDLE_LR + "StepDecay", learning_rate=learning_rate, step_size=step_size, gamma=gamma)


def paddle_schedules(exp: float, step: float, piece: list[float], step_long: float) -> SimpleNamespace:
  """A family's Paddle schedules ``exp``, ``step``, ``piece`` and ``step_long``, given their lr (values)."""
  piecewise = spec(PADDLE_LR + "PiecewiseDecay", boundaries=[10, 25], values=piece)
  return SimpleNamespace(
    exp=paddle_exp(exp), step=paddle_step(step), piece=piecewise, step_long=paddle_step(step_long, 60, 0.6)
  )


TORCH_LR = "torch.optim.lr_scheduler."
TORCH_SCHEDULES = SimpleNamespace(
  step=spec(TORCH_LR + "StepLR", step_size=7, gamma=0.5),
  exp=spec(TORCH_LR + "ExponentialLR", gamma=0.97),
  step_long=spec(TORCH_LR + "StepLR", step_size=60, gamma=0.6),
)


def keras_schedules(framework: str, dtype: str) -> dict[str, dict[str, Any]]:
  """The tf_keras or Keras 3 schedules ``exp``, ``piece`` and ``exp_long``.

  Keras evaluates schedules in float32. For float64 cases only schedules whose float32 value is
  exact are used (staircase halving, piecewise constants): XLA's float32 pow may differ from TF's by
  an ulp, which is 6e-8 relative, far above the float64 tolerance."""
  base = framework + ".optimizers.schedules."
  if dtype == "float32":
    exp = spec(base + "ExponentialDecay", initial_learning_rate=0.01, decay_steps=5, decay_rate=0.9)
    exp_long = spec(base + "ExponentialDecay", initial_learning_rate=0.005, decay_steps=20, decay_rate=0.9)
  else:
    exp = spec(base + "ExponentialDecay", initial_learning_rate=0.01, decay_steps=8, decay_rate=0.5,
               staircase=True)  # fmt: skip
    exp_long = spec(base + "ExponentialDecay", initial_learning_rate=0.005, decay_steps=100, decay_rate=0.5,
                    staircase=True)  # fmt: skip
  piece = spec(base + "PiecewiseConstantDecay", boundaries=[10, 30], values=[0.01, 0.005, 0.002])
  return {"exp": exp, "piece": piece, "exp_long": exp_long}


# --- inputs and bookkeeping ---------------------------------------------------------------------------


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


def all_versions(versions: dict[str, str]) -> dict[str, str]:
  """The frameworks' versions (`runners.versions`) with numpy's and Python's, as the files record them."""
  return {**versions, "numpy": np.__version__, "python": platform.python_version()}


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
    "versions": all_versions(versions),
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
