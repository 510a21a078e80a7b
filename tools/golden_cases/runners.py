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


def run_paddle(case: Case, init: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> Trajectory:
  """Paddle dygraph: the gradient reaches ``p.grad`` through ``backward()`` of sum(p * g)."""
  import paddle

  paddle.set_device("cpu")
  variables = [
    paddle.create_parameter(
      shape=list(init[name].shape),
      dtype=case.dtype,
      default_initializer=paddle.nn.initializer.Assign(init[name]),
    )
    for name in case.leaves
  ]
  sched = _build(case.schedule)
  kwargs = dict(case.kwargs)
  if sched is not None:
    kwargs["learning_rate"] = sched
  dotted_clips = [c for c in case.clip if _is_dotted(c["type"])]
  if len(dotted_clips) > 1:
    raise ValueError("Paddle takes one grad_clip")
  if dotted_clips:
    kwargs["grad_clip"] = _build(dotted_clips[0])
  if case.weight_decay is not None:
    wd = case.weight_decay
    kwargs["weight_decay"] = wd["value"] if wd["type"] == "float" else _build(wd)
  opt = resolve(case.optimizer)(parameters=variables, **kwargs)

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
  opt = resolve(case.optimizer)(variables, **case.kwargs, **_float_weight_decay(case))
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


def run_tf_keras(case: Case, init: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> Trajectory:
  """tf_keras (Keras 2): ``apply_gradients`` on tf.Variables; lr = the value used for that step."""
  import tensorflow as tf

  variables = [tf.Variable(init[name], dtype=case.dtype, name=name) for name in case.leaves]
  opt, _ = _keras_optimizer(case)

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
