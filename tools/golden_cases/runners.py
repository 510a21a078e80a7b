"""Per-framework runners: feed a case's gradients to the real optimizer and record every step.

Each runner takes (case, init, grads) -- dicts keyed by leaf name, grads of shape (steps, *shape) --
and returns a `harness.Trajectory`. The frameworks are imported lazily, so a family that needs only
one of them does not pay for the others. Leaves are handed to the framework in `case.leaves` order
(jax's dict order), so global norms sum in the same order as ours.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from golden_cases.harness import Case, Trajectory


def resolve(dotted: str) -> Any:
  """The object a dotted name points to, e.g. ``paddle.optimizer.lr.StepDecay``."""
  parts = dotted.split(".")
  for cut in range(len(parts), 0, -1):
    try:
      obj = importlib.import_module(".".join(parts[:cut]))
    except ImportError:
      continue
    for attr in parts[cut:]:
      obj = getattr(obj, attr)
    return obj
  raise ImportError(dotted)


def _is_dotted(name: str) -> bool:
  return "." in name


def _build(spec: dict[str, Any] | None, *args: Any) -> Any:
  return None if spec is None else resolve(spec["type"])(*args, **spec.get("kwargs", {}))


def _keyword_clips(case: Case) -> dict[str, Any]:
  """Clips given as optimizer keyword arguments (Keras's clipnorm, clipvalue, global_clipnorm)."""
  return {c["type"]: c["kwargs"]["value"] for c in case.clip if not _is_dotted(c["type"])}


def _float_weight_decay(case: Case) -> dict[str, Any]:
  wd = case.weight_decay
  return {"weight_decay": wd["value"]} if wd is not None and wd["type"] == "float" else {}


def _record(leaves: list[str]) -> dict[str, list]:
  return {name: [] for name in leaves}


def _stack(per_leaf: dict[str, list]) -> dict[str, np.ndarray]:
  return {k: np.stack(v) for k, v in per_leaf.items()}


def _run_extras(case: Case, opt: Any, variables: list, store: dict[str, dict[str, list]]) -> None:
  for extra, hook in case.extras.items():
    for name, value in zip(case.leaves, hook(opt, variables), strict=True):
      store[extra][name].append(np.array(value))


def _loop(
  case: Case,
  grads: dict[str, np.ndarray],
  variables: list,
  opt: Any,
  step: Callable[[int, list], float],
  read: Callable[[Any], np.ndarray],
) -> Trajectory:
  """The common loop: step(t, grads_t) runs one framework step and returns the lr it used."""
  params = _record(case.leaves)
  extras = {extra: _record(case.leaves) for extra in case.extras}
  lrs = []
  for t in range(case.steps):
    lrs.append(step(t, [grads[name][t] for name in case.leaves]))
    for name, var in zip(case.leaves, variables, strict=True):
      params[name].append(read(var))
    _run_extras(case, opt, variables, extras)
  return Trajectory(_stack(params), np.asarray(lrs, np.float64), {k: _stack(v) for k, v in extras.items()})


def _paddle_regularizer(spec: Any) -> Any:
  """A weight-decay spec (`harness.float_wd`, `harness.l2`, `harness.l1`) as Paddle takes it."""
  if spec is None or not isinstance(spec, dict):
    return spec  # None, or a float in a parameter group
  return spec["value"] if spec["type"] == "float" else _build(spec)


def _paddle_param_attr(spec: dict[str, Any] | None) -> Any:
  """``paddle.ParamAttr(**spec)``, its ``regularizer`` a weight-decay spec; None for Paddle's default."""
  import paddle

  if spec is None:
    return None
  return paddle.ParamAttr(**{k: _paddle_regularizer(v) if k == "regularizer" else v for k, v in spec.items()})


def _paddle_groups(groups: list[dict[str, Any]], by_name: dict[str, Any]) -> list[dict[str, Any]]:
  """Parameter groups ``{"params": [leaf names], <key>: value}`` with Paddle's objects: a group's
  ``weight_decay`` and ``grad_clip`` are specs (None as given); leaves in no group are not given."""
  out = []
  for g in groups:
    group = {**g, "params": [by_name[n] for n in g["params"]]}
    if "weight_decay" in g:
      group["weight_decay"] = _paddle_regularizer(g["weight_decay"])
    if "grad_clip" in g:
      group["grad_clip"] = _build(g["grad_clip"])
    out.append(group)
  return out


def run_paddle(case: Case, init: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> Trajectory:
  """Paddle dygraph: the gradient reaches ``p.grad`` through ``backward()`` of sum(p * g)."""
  import paddle

  paddle.set_device("cpu")
  kwargs = dict(case.kwargs)
  # per-parameter attributes {leaf: {ParamAttr kwargs}} and groups [{"params": [leaf names], ...}]
  attrs = kwargs.pop("param_attrs", {})
  groups = kwargs.pop("parameters", None)
  variables = [
    paddle.create_parameter(
      shape=list(init[name].shape),
      dtype=case.dtype,
      attr=_paddle_param_attr(attrs.get(name)),
      default_initializer=paddle.nn.initializer.Assign(init[name]),
    )
    for name in case.leaves
  ]
  sched = _build(case.schedule)
  if sched is not None:
    kwargs["learning_rate"] = sched
  dotted_clips = [c for c in case.clip if _is_dotted(c["type"])]
  if len(dotted_clips) > 1:
    raise ValueError("Paddle takes one grad_clip")
  if dotted_clips:
    kwargs["grad_clip"] = _build(dotted_clips[0])
  if case.weight_decay is not None:
    kwargs["weight_decay"] = _paddle_regularizer(case.weight_decay)
  params = (
    variables if groups is None else _paddle_groups(groups, dict(zip(case.leaves, variables, strict=True)))
  )
  opt = resolve(case.optimizer)(parameters=params, **kwargs)

  def step(t: int, g: list[np.ndarray]) -> float:
    del t
    loss = paddle.add_n([paddle.sum(p * paddle.to_tensor(gi)) for p, gi in zip(variables, g, strict=True)])
    loss.backward()  # d(sum(p * g))/dp = g exactly
    lr = float(opt.get_lr())
    opt.step()
    opt.clear_grad()
    if sched is not None:
      sched.step()
    return lr

  return _loop(case, grads, variables, opt, step, lambda v: v.numpy().copy())


def run_torch(case: Case, init: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> Trajectory:
  """PyTorch: ``p.grad`` is set to g; clip functions run in list order; the scheduler steps every step."""
  import torch

  dtype = getattr(torch, case.dtype)
  variables = [torch.nn.Parameter(torch.tensor(init[name], dtype=dtype)) for name in case.leaves]
  kwargs = dict(case.kwargs)
  groups = kwargs.pop("param_groups", None)
  if groups is None:
    params: Any = variables
  else:  # {"params": [leaf names], <option>: value}; leaves in no group are not given to torch
    by_name = dict(zip(case.leaves, variables, strict=True))
    params = [{**g, "params": [by_name[n] for n in g["params"]]} for g in groups]
  opt = resolve(case.optimizer)(params, **kwargs, **_float_weight_decay(case))
  sched = _build(case.schedule, opt)
  clips = [(resolve(c["type"]), c.get("kwargs", {})) for c in case.clip]

  def step(t: int, g: list[np.ndarray]) -> float:
    del t
    for p, gi in zip(variables, g, strict=True):
      p.grad = torch.tensor(gi, dtype=dtype)
    for fn, kw in clips:
      fn(variables, **kw)
    lr = float(opt.param_groups[0]["lr"])
    opt.step()
    opt.zero_grad()
    if sched is not None:
      sched.step()
    return lr

  return _loop(case, grads, variables, opt, step, lambda v: v.detach().numpy().copy())


def _keras_optimizer(case: Case) -> tuple[Any, Any]:
  sched = _build(case.schedule)
  kwargs = dict(case.kwargs, **_keyword_clips(case), **_float_weight_decay(case))
  if sched is not None:
    kwargs["learning_rate"] = sched
  return resolve(case.optimizer)(**kwargs), sched


def _keras_exclusion(case: Case, opt: Any, variables: list) -> None:
  """A weight decay spec's ``exclude_from_weight_decay`` ({"var_list": leaf names, "var_names": patterns}):
  the optimizer's own method, called before it is built, with the variables of those leaves."""
  wd = case.weight_decay
  if wd is None or "exclude_from_weight_decay" not in wd:
    return
  excluded = wd["exclude_from_weight_decay"]
  var_list = [variables[case.leaves.index(name)] for name in excluded.get("var_list") or ()]
  opt.exclude_from_weight_decay(var_list=var_list or None, var_names=excluded.get("var_names"))


def run_tf_keras(case: Case, init: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> Trajectory:
  """tf_keras (Keras 2): ``apply_gradients`` on tf.Variables; lr = the value used for that step."""
  import tensorflow as tf

  variables = [tf.Variable(init[name], dtype=case.dtype, name=name) for name in case.leaves]
  opt, _ = _keras_optimizer(case)
  _keras_exclusion(case, opt, variables)

  def step(t: int, g: list[np.ndarray]) -> float:
    del t
    opt.apply_gradients(zip([tf.constant(gi, dtype=case.dtype) for gi in g], variables, strict=True))
    return float(opt.learning_rate.numpy())  # the current lr is refreshed at the start of the call

  return _loop(case, grads, variables, opt, step, lambda v: v.numpy().copy())


def run_keras(case: Case, init: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> Trajectory:
  """Keras 3 (TensorFlow backend): ``apply_gradients`` on keras.Variables."""
  os.environ.setdefault("KERAS_BACKEND", "tensorflow")
  import keras

  if keras.backend.backend() != "tensorflow":
    raise RuntimeError("Keras 3 goldens are made with KERAS_BACKEND=tensorflow")
  variables = [keras.Variable(init[name], dtype=case.dtype, name=name) for name in case.leaves]
  opt, _ = _keras_optimizer(case)
  _keras_exclusion(case, opt, variables)  # (loss_scale_factor, gradient_accumulation_steps: kwargs)
  opt.build(variables)

  def step(t: int, g: list[np.ndarray]) -> float:
    del t
    lr = float(np.asarray(opt._get_current_learning_rate()))  # schedule(iterations), before the update
    opt.apply_gradients(
      zip([keras.ops.convert_to_tensor(gi, dtype=case.dtype) for gi in g], variables, strict=True)
    )
    return lr

  return _loop(case, grads, variables, opt, step, lambda v: np.array(v.numpy()))


RUNNERS: dict[str, Callable[[Case, dict, dict], Trajectory]] = {
  "paddle": run_paddle,
  "torch": run_torch,
  "tf_keras": run_tf_keras,
  "keras": run_keras,
}


def versions() -> dict[str, str]:
  """Installed versions of the frameworks (read from package metadata, nothing is imported)."""
  out = {}
  for key, dists in (
    ("paddle", ("paddlepaddle", "paddlepaddle-gpu")),
    ("torch", ("torch",)),
    ("tf_keras", ("tf_keras", "tf-keras")),
    ("keras", ("keras",)),
    ("tensorflow", ("tensorflow-cpu", "tensorflow")),
  ):
    for dist in dists:
      try:
        out[key] = importlib.metadata.version(dist)
        break
      except importlib.metadata.PackageNotFoundError:
        continue
  return out
