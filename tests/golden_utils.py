"""Replaying the golden trajectories of tests/golden/ (made by tools/make_golden.py) with our presets.

A golden case is ``tests/golden/<family>/<case>.npz`` (initial params, the gradient fed at every
step, the framework's params after every step, its per-step lr) plus ``<case>.json`` (framework,
version, dtype, seed and the machine-readable configuration; conventions in
tools/golden_cases/harness.py). `build_optimizer` maps the configuration to our preset call,
`replay` runs it over the recorded gradients under jit, and `normwise_error` compares per leaf and
per step: max|ours - ref| / max|ref|.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optim_jax as oj

GOLDEN_DIR = Path(__file__).resolve().parent / "golden"

# Tolerances: float32 up to 100 steps, float32 longer, float64.
TOL_F32 = 1e-6
TOL_F32_LONG = 1e-5
TOL_F64 = 1e-12


@dataclasses.dataclass
class GoldenCase:
  family: str
  name: str
  meta: dict[str, Any]
  init: dict[str, np.ndarray]
  grads: dict[str, np.ndarray]  # leaf -> (steps, *shape)
  params: dict[str, np.ndarray]  # leaf -> (steps, *shape), after each step
  lr: np.ndarray  # (steps,), as the framework reported it (debugging only)

  @property
  def dtype(self) -> str:
    return self.meta["dtype"]

  @property
  def steps(self) -> int:
    return self.meta["steps"]

  @property
  def tolerance(self) -> float:
    if self.dtype == "float64":
      return TOL_F64
    return TOL_F32 if self.steps <= 100 else TOL_F32_LONG


def case_names(family: str) -> list[str]:
  return sorted(p.stem for p in (GOLDEN_DIR / family).glob("*.npz"))


def load_meta(family: str, name: str) -> dict[str, Any]:
  """A case's provenance and configuration (its .json) alone."""
  return json.loads((GOLDEN_DIR / family / f"{name}.json").read_text())


def load_case(family: str, name: str) -> GoldenCase:
  meta = load_meta(family, name)
  with np.load(GOLDEN_DIR / family / f"{name}.npz") as data:
    arrays = {k: data[k] for k in data.files}

  def group(prefix: str) -> dict[str, np.ndarray]:
    return {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(prefix + "/")}

  return GoldenCase(family, name, meta, group("init"), group("grads"), group("params"), arrays["lr"])


def precision(case: GoldenCase) -> contextlib.AbstractContextManager:
  """float64 cases run with jax_enable_x64 on, restored on exit (it never leaks into other tests)."""
  return jax.enable_x64(True) if case.dtype == "float64" else contextlib.nullcontext()


# --- configuration -> our optimizer --------------------------------------------------------------


def _piecewise(values: list[float], boundaries: list[int]) -> optax.Schedule:
  return optax.join_schedules([optax.constant_schedule(v) for v in values], boundaries)


def schedule(spec: dict[str, Any], base_lr: float | None = None) -> optax.Schedule:
  """A framework learning-rate schedule as an optax schedule of the update count (0 = first update).

  The one place where schedules are mapped, to optax's exact equivalents. ``base_lr`` is PyTorch's
  optimizer ``lr``, which its schedulers scale.

  Paddle and PyTorch compute the lr in double precision, and Paddle hands it to a float64
  parameter's kernel unrounded, so float64 cases need a float64 lr: the count is handed to optax as
  a float of the default dtype (from our int32 count optax computes ``count / transition_steps`` in
  float32 even with x64 on, ~1e-8 off). oj.schedules returns float32 by design; mapping Paddle's
  schedules to it puts the float64 Paddle cases ~1.5e-8 off (measured), above the 1e-12 tolerance.
  """
  inner = _schedule(spec, base_lr)
  if isinstance(inner, oj.torch.TorchLRScheduler):  # takes the int count itself (and has for_group, momentum)
    return inner
  return lambda count: inner(jnp.asarray(count, dtype=jnp.result_type(float)))


def _schedule(spec: dict[str, Any], base_lr: float | None) -> optax.Schedule:
  kind, kw = spec["type"], spec["kwargs"]
  short = kind.rsplit(".", 1)[-1]
  if kind.startswith("paddle.optimizer.lr."):
    if short == "ExponentialDecay":
      return optax.exponential_decay(kw["learning_rate"], 1, kw["gamma"])
    if short == "StepDecay":
      return optax.exponential_decay(
        kw["learning_rate"], kw["step_size"], kw.get("gamma", 0.1), staircase=True
      )
    if short == "PiecewiseDecay":  # values[i] while count < boundaries[i]
      return _piecewise(kw["values"], kw["boundaries"])
  elif kind.startswith(("tf_keras.optimizers.schedules.", "keras.optimizers.schedules.")):
    return keras_schedule(kind, kw)
  elif kind.startswith("torch.optim.lr_scheduler."):  # stepped after every optimizer step: oj.torch's
    own = {"StepLR": "step_lr", "MultiStepLR": "multi_step_lr", "ConstantLR": "constant_lr", "LinearLR": "linear_lr",
           "ExponentialLR": "exponential_lr", "PolynomialLR": "polynomial_lr", "CosineAnnealingLR": "cosine_annealing_lr",
           "CosineAnnealingWarmRestarts": "cosine_annealing_warm_restarts", "CyclicLR": "cyclic_lr",
           "OneCycleLR": "one_cycle_lr"}  # fmt: skip
    if short in ("CyclicLR", "OneCycleLR"):  # they set the optimizer's lr themselves
      return getattr(oj.torch, own[short])(**kw)
    if short in own:
      return getattr(oj.torch, own[short])(base_lr, **kw)
  raise NotImplementedError(f"no mapping for schedule {kind}")


def _paddle_clip(spec: dict[str, Any]) -> Any:
  short, kw = spec["type"].rsplit(".", 1)[-1], spec["kwargs"]
  if short == "ClipGradByValue":
    return oj.paddle.clip_grad_by_value(kw["max"], kw.get("min"))
  if short == "ClipGradByNorm":
    return oj.paddle.clip_grad_by_norm(kw["clip_norm"])
  if short == "ClipGradByGlobalNorm":
    return oj.paddle.clip_grad_by_global_norm(kw["clip_norm"], auto_skip_clip=kw.get("auto_skip_clip", False))
  raise NotImplementedError(spec["type"])


def _paddle_weight_decay(spec: dict[str, Any] | float | None) -> Any:
  """A weight-decay spec as ours (a float, as a parameter group may give it, unchanged)."""
  if spec is None or not isinstance(spec, dict):
    return spec
  if spec["type"] == "float":
    return spec["value"]
  short = spec["type"].rsplit(".", 1)[-1]
  return {"L2Decay": oj.paddle.l2_decay, "L1Decay": oj.paddle.l1_decay}[short](**spec["kwargs"])


def _paddle(config: dict[str, Any], preset: Callable) -> optax.GradientTransformation:
  """Paddle's kwargs, with ``param_attrs`` ({leaf: ParamAttr kwargs}) as a function of the leaf's path
  and ``parameters`` (groups listing leaf names) with selectors of the leaves they name."""
  kwargs = dict(config["kwargs"])
  if config["schedule"] is not None:
    kwargs["learning_rate"] = schedule(config["schedule"])
  if "param_attrs" in kwargs:
    attrs = {
      leaf: oj.paddle.ParamAttr(
        **{k: _paddle_weight_decay(v) if k == "regularizer" else v for k, v in a.items()}
      )
      for leaf, a in kwargs["param_attrs"].items()
    }
    kwargs["param_attrs"] = lambda path, leaf: attrs.get(path)
  if "parameters" in kwargs:
    groups = []
    for g in kwargs["parameters"]:
      group = {**g, "params": lambda path, leaf, names=frozenset(g["params"]): path in names}
      if "weight_decay" in g:
        group["weight_decay"] = _paddle_weight_decay(g["weight_decay"])
      if g.get("grad_clip") is not None:
        group["grad_clip"] = _paddle_clip(g["grad_clip"])
      groups.append(group)
    kwargs["parameters"] = groups
  (clip,) = config["clip"] or [None]
  return preset(
    **kwargs,
    grad_clip=None if clip is None else _paddle_clip(clip),
    weight_decay=_paddle_weight_decay(config["weight_decay"]),
  )


# Keras's schedule classes -> ours (oj.keras for Keras 3, oj.tf_keras for tf_keras), by class name.
KERAS_SCHEDULES = {
  "ExponentialDecay": "exponential_decay",
  "PiecewiseConstantDecay": "piecewise_constant_decay",
  "PolynomialDecay": "polynomial_decay",
  "InverseTimeDecay": "inverse_time_decay",
  "CosineDecay": "cosine_decay",
  "CosineDecayRestarts": "cosine_decay_restarts",
}


def keras_schedule(kind: str, kwargs: dict[str, Any]) -> Any:
  """``tf_keras.optimizers.schedules.X(**kwargs)`` / ``keras.optimizers.schedules.X(**kwargs)`` as ours."""
  framework, short = kind.split(".", 1)[0], kind.rsplit(".", 1)[-1]
  module = oj.keras if framework == "keras" else oj.tf_keras
  return getattr(module, KERAS_SCHEDULES[short])(**kwargs)


def _keras(config: dict[str, Any], preset: Callable) -> optax.GradientTransformation:
  """Keras's kwargs (``loss_scale_factor`` and ``gradient_accumulation_steps`` among them) go to our
  preset; a ``weight_decay`` spec's ``exclude_from_weight_decay`` (``var_list``: leaf names, and
  ``var_names``) goes to the returned object's method, as Keras users call it."""
  kwargs = dict(config["kwargs"])
  if config["schedule"] is not None:
    kwargs["learning_rate"] = schedule(config["schedule"])
  for clip in config["clip"]:  # clipnorm / clipvalue / global_clipnorm keyword arguments
    kwargs[clip["type"]] = clip["kwargs"]["value"]
  wd = config["weight_decay"]
  if wd is not None:
    kwargs["weight_decay"] = wd["value"]
  tx = preset(**kwargs)
  if wd is not None and "exclude_from_weight_decay" in wd:
    excluded = wd["exclude_from_weight_decay"]
    tx = tx.exclude_from_weight_decay(var_list=excluded.get("var_list"), var_names=excluded.get("var_names"))
  return tx


def _torch_clip(spec: dict[str, Any]) -> optax.GradientTransformation:
  short, kw = spec["type"].rsplit(".", 1)[-1], dict(spec["kwargs"])
  if short == "clip_grad_norm_":
    return oj.torch.clip_grad_norm(kw["max_norm"], norm_type=float(kw.get("norm_type", 2.0)))
  if short == "clip_grad_value_":
    return oj.torch.clip_grad_value(kw["clip_value"])
  raise NotImplementedError(spec["type"])


def _leaf_names(names: list[str]) -> Callable[[str, Any], bool]:
  """A parameter group's selector from the leaf names a case lists."""
  return lambda path, leaf: path in names


def _torch(config: dict[str, Any], preset: Callable) -> optax.GradientTransformation:
  kwargs = dict(config["kwargs"])
  if "param_groups" in kwargs:  # the leaf names a group lists -> a selector
    kwargs["param_groups"] = [{**g, "params": _leaf_names(g["params"])} for g in kwargs["param_groups"]]
  if config["schedule"] is not None:
    kwargs["lr"] = schedule(config["schedule"], base_lr=kwargs["lr"])  # it scales each group's own lr
  if config["weight_decay"] is not None:
    kwargs["weight_decay"] = config["weight_decay"]["value"]
  # PyTorch users call clip_grad_*_ before step(): clips go in front, in call order.
  return optax.chain(*[_torch_clip(c) for c in config["clip"]], preset(**kwargs))


# framework optimizer (dotted name) -> (mapper, our preset); later families add lines here.
OPTIMIZERS: dict[str, tuple[Callable, Callable]] = {
  "paddle.optimizer.RMSProp": (_paddle, oj.paddle.rmsprop),
  "tf_keras.optimizers.RMSprop": (_keras, oj.tf_keras.rmsprop),
  "keras.optimizers.RMSprop": (_keras, oj.keras.rmsprop),
  "torch.optim.RMSprop": (_torch, oj.torch.rmsprop),
  "paddle.optimizer.RAdam": (_paddle, oj.paddle.radam),
  "torch.optim.RAdam": (_torch, oj.torch.radam),
  "paddle.optimizer.ASGD": (_paddle, oj.paddle.asgd),
  "torch.optim.ASGD": (_torch, oj.torch.asgd),
}


def build_optimizer(meta: dict[str, Any]) -> optax.GradientTransformation:
  """Our preset call for a golden case's configuration."""
  config = meta["config"]
  mapper, preset = OPTIMIZERS[config["optimizer"]]
  return mapper(config, preset)


# --- replay and compare --------------------------------------------------------------------------


def replay(tx: optax.GradientTransformation, case: GoldenCase, *, average: bool = False) -> Any:
  """Runs `tx` over the recorded gradients under jit (one lax.scan); params after every step, and
  with ``average=True`` also ``oj.ema_params(state)`` after every step, as a pair."""
  init = jax.tree.map(lambda x: jnp.asarray(x, case.dtype), case.init)
  grads = jax.tree.map(lambda x: jnp.asarray(x, case.dtype), case.grads)

  def body(carry, g):
    params, state = carry
    updates, state = tx.update(g, state, params)
    params = optax.apply_updates(params, updates)
    return (params, state), ((params, oj.ema_params(state, params)) if average else params)

  @jax.jit
  def run(params, grads):
    _, trajectory = jax.lax.scan(body, (params, tx.init(params)), grads)
    return trajectory

  return jax.tree.map(np.asarray, run(init, grads))


def replay_case(case: GoldenCase) -> tuple[Any, Any]:
  """The case's preset replayed in the case's precision: (params after every step, the average after
  every step, or None where the case records no average)."""
  with precision(case):
    tx = build_optimizer(case.meta)
    if case.meta["extras"]:
      return replay(tx, case, average=True)
    return replay(tx, case), None


def load_extra(family: str, name: str, key: str) -> dict[str, np.ndarray]:
  """A recorded extra trajectory of a case (e.g. the framework's parameter average), per leaf."""
  prefix = f"extra/{key}/"
  with np.load(GOLDEN_DIR / family / f"{name}.npz") as data:
    extra = {k[len(prefix) :]: data[k] for k in data.files if k.startswith(prefix)}
  assert extra, f"{family}/{name}.npz has no extra {key!r}"
  return extra


def normwise_error(ours: dict[str, np.ndarray], ref: dict[str, np.ndarray]) -> dict[str, float]:
  """Per leaf, the worst over steps of max|ours - ref| / max|ref| (both at the same step)."""
  out = {}
  for name, r in ref.items():
    r = r.astype(np.float64).reshape(r.shape[0], -1)
    o = np.asarray(ours[name], np.float64).reshape(r.shape)
    out[name] = float(np.max(np.max(np.abs(o - r), axis=1) / np.max(np.abs(r), axis=1)))
  return out


def assert_matches(
  case: GoldenCase, ours: dict[str, np.ndarray], ref: dict[str, np.ndarray], what: str = "params"
) -> None:
  """Fails unless the worst per-leaf normwise error is within the case's tolerance."""
  errors = normwise_error(ours, ref)
  worst = max(errors.values())
  assert worst <= case.tolerance, (
    f"{case.meta['case']} ({what}): normwise error {worst:.3g} > {case.tolerance:g} "
    f"({case.meta['framework']} {case.meta.get('framework_version', '')}, {case.dtype}); per leaf {errors}"
  )


def _resume_body(tx: Any, with_metric: bool) -> Callable:
  def body(carry, x):
    p, s = carry
    if with_metric:  # (gradient, metric, whether this step ends an epoch)
      g, m, last = x
      u, s = jax.lax.cond(last, lambda: tx.update(g, s, p, metric=m), lambda: tx.update(g, s, p))
    else:
      u, s = tx.update(x, s, p)
    p = optax.apply_updates(p, u)
    return (p, s), (p, s)

  return body


def resume_runs(tx: Any, k: int, with_metric: bool = False) -> Callable:
  """One jitted function for a resume case: our k + n steps from the initial parameters (the state
  after step k, the parameters after each later step) and n steps from an imported state.

  ``go(p0, xs, p_import, s_import)`` where ``xs`` is the gradients of all k + n steps, or with
  ``with_metric`` the triple (gradients, metrics, epoch-end flags) fed as ``metric=`` at an epoch's
  last step. The interop generators take our k-step export from this same program, so the tests
  reproduce it bit for bit (XLA may round a separately compiled scan differently in the last bit).
  """
  body = _resume_body(tx, with_metric)

  @jax.jit
  def go(p0, xs, p_import, s_import):
    _, (traj, states) = jax.lax.scan(body, (p0, tx.init(p0)), xs)
    after_k = jax.tree.map(lambda x: x[k - 1], (traj, states))
    rest = jax.tree.map(lambda x: x[k:], xs)
    _, (cont_import, _) = jax.lax.scan(body, (p_import, s_import), rest)
    return after_k, jax.tree.map(lambda x: x[k:], traj), cont_import

  return go


def plateau_steps(tx: Any, epoch: int, metrics: list) -> Callable:
  """``run(params, state, grads, start, count)``: jitted steps that feed ``metrics[e]`` as ``metric=``
  after every ``epoch``-th update; the parameters after each step (stacked per leaf) and the states.
  The PyTorch plateau test and its generator both run it, so our recorded export is reproduced bit
  for bit."""

  @jax.jit
  def step(p, s, g):
    u, s = tx.update(g, s, p)
    return optax.apply_updates(p, u), s

  @jax.jit
  def epoch_end(p, s, g, m):
    u, s = tx.update(g, s, p, metric=m)
    return optax.apply_updates(p, u), s

  def run_(params, state, grads, start, count):
    traj, states = [], []
    for t in range(start, start + count):
      g = {k: v[t] for k, v in grads.items()}
      if (t + 1) % epoch == 0:
        params, state = epoch_end(params, state, g, metrics[(t + 1) // epoch - 1])
      else:
        params, state = step(params, state, g)
      traj.append(params)
      states.append(state)
    return {k: np.stack([np.asarray(p[k]) for p in traj]) for k in grads}, states

  return run_
