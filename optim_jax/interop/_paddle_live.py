"""`from_paddle`: the `oj.paddle` preset (and its state) of a live ``paddle.optimizer`` object.

`from_paddle` reads the optimizer into a plain description (`describe_paddle_optimizer`: class
names, hyperparameters, parameter groups, per-parameter attributes, the scheduler's arguments and
``state_dict()``, all JSON-able) and `from_paddle_config` maps that description to our preset; the
mapping is pure, so it is tested without Paddle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from optim_jax import paddle as _paddle
from optim_jax import schedules as _schedules
from optim_jax.interop import _paddle_plateau
from optim_jax.interop._paddle import _names_dict, import_paddle_state, paddle_state_to_numpy
from optim_jax.interop._slots import map_params

_OPTIONS = {
  "RMSProp": {"rho": "_rho", "epsilon": "_epsilon", "momentum": "_momentum", "centered": "_centered"},
  "RAdam": {"beta1": "_beta1", "beta2": "_beta2", "epsilon": "_epsilon"},
  "ASGD": {"batch_num": "_n", "multi_precision": "_multi_precision"},
}
_GROUP_OPTIONS = {
  "RMSProp": ("rho", "epsilon", "momentum", "centered"),
  "RAdam": ("beta1", "beta2", "epsilon"),
}
_PRESETS = {"RMSProp": _paddle.rmsprop, "RAdam": _paddle.radam, "ASGD": _paddle.asgd}

# paddle.optimizer.lr class -> (our schedule, {our argument: the scheduler's attribute})
_SCHEDULES = {
  "StepDecay": (
    _schedules.step_decay,
    {"learning_rate": "base_lr", "step_size": "step_size", "gamma": "gamma"},
  ),
  "ExponentialDecay": (_schedules.exponential_decay, {"learning_rate": "base_lr", "gamma": "gamma"}),
  "MultiStepDecay": (
    _schedules.multi_step_decay,
    {"learning_rate": "base_lr", "milestones": "milestones", "gamma": "gamma"},
  ),
  "PiecewiseDecay": (_schedules.piecewise_decay, {"boundaries": "boundaries", "values": "values"}),
  "NaturalExpDecay": (_schedules.natural_exp_decay, {"learning_rate": "base_lr", "gamma": "gamma"}),
  "InverseTimeDecay": (_schedules.inverse_time_decay, {"learning_rate": "base_lr", "gamma": "gamma"}),
  "PolynomialDecay": (
    _schedules.polynomial_decay,
    {
      "learning_rate": "base_lr",
      "decay_steps": "decay_steps",
      "end_lr": "end_lr",
      "power": "power",
      "cycle": "cycle",
    },
  ),
  "NoamDecay": (
    _schedules.noam_decay,
    {"d_model": "d_model", "warmup_steps": "warmup_steps", "learning_rate": "base_lr"},
  ),
  "CosineAnnealingDecay": (
    _schedules.cosine_annealing_decay,
    {"learning_rate": "base_lr", "T_max": "T_max", "eta_min": "eta_min"},
  ),
  "CosineAnnealingWarmRestarts": (
    _schedules.cosine_annealing_warm_restarts,
    {"learning_rate": "base_lr", "T_0": "T_0", "T_mult": "T_mult", "eta_min": "eta_min"},
  ),
  "LinearLR": (
    _schedules.linear_lr,
    {
      "learning_rate": "base_lr",
      "total_steps": "total_steps",
      "start_factor": "start_factor",
      "end_factor": "end_factor",
    },
  ),  # fmt: skip
  "LinearWarmup": (
    _schedules.linear_warmup,
    {
      "learning_rate": "learning_rate",
      "warmup_steps": "warmup_steps",
      "start_lr": "start_lr",
      "end_lr": "end_lr",
    },
  ),
}
_CLIPS = {
  "ClipGradByValue": ("max", "min"),
  "ClipGradByNorm": ("clip_norm",),
  "ClipGradByGlobalNorm": ("clip_norm", "auto_skip_clip"),
}


class FromPaddle(NamedTuple):
  """What `from_paddle` returns: the transformation and its state (None before Paddle's first step)."""

  tx: Any
  opt_state: Any


def _plain(value: Any) -> Any:
  if isinstance(value, (np.generic, np.ndarray)):
    return value.tolist()
  if isinstance(value, (list, tuple)):
    return [_plain(v) for v in value]
  return value


def _regularizer_spec(reg: Any) -> Any:
  if reg is None or isinstance(reg, (int, float)):
    return reg
  name = type(reg).__name__
  if name not in ("L2Decay", "L1Decay"):
    raise ValueError(f"The regularizer {name} is not one that optim_jax reproduces (L2Decay, L1Decay).")
  return {"class": name, "coeff": float(reg._coeff)}


def _clip_spec(clip: Any) -> Any:
  if clip is None:
    return None
  name = type(clip).__name__
  if name not in _CLIPS:
    raise ValueError(f"The grad_clip {name} is not one that optim_jax reproduces ({sorted(_CLIPS)}).")
  return {"class": name, **{k: _plain(getattr(clip, k)) for k in _CLIPS[name]}}


_PLATEAU = (
  "The learning-rate scheduler ReduceOnPlateau is not mapped to a schedule: its rate is a function of the "
  "metric it is stepped with (sched.step(loss)), not of the update count. As the optimizer's own learning "
  "rate from_paddle maps it to optax.chain(preset(learning_rate=1.0), oj.schedules.reduce_on_plateau(...)); "
  "inside a LinearWarmup or as a schedule it is not reproduced."
)
# Paddle's OneCycleLR/CyclicLR keep derived values, not their arguments: read back (and checked) below
_LAMBDA_CLASSES = ("LambdaDecay", "MultiplicativeDecay")
_CYCLIC_SCALES = ("_triangular_scale_fn", "_triangular2_scale_fn", "_exp_range_scale_fn")


def _recover(name: str, fn: Any, target: float, guess: float) -> float:
  """The float x nearest ``guess`` (within 4 ulps) with ``fn(x) == target`` exactly."""
  candidates = [guess]
  up = down = guess
  for _ in range(4):
    up, down = float(np.nextafter(up, np.inf)), float(np.nextafter(down, -np.inf))
    candidates += [up, down]
  for x in candidates:
    if np.isfinite(x) and fn(x) == target:
      return x
  raise ValueError(f"OneCycleLR: no {name} reproduces the scheduler's phase configuration ({target!r}).")


def _one_cycle_kwargs(lr: Any) -> dict[str, Any]:
  rates, ends, n = [float(v) for v in lr._lr_config], [float(v) for v in lr._step_config], int(lr.total_steps)
  anneal = {"_cos_annealing": "cos", "_linear_annealing": "linear"}.get(
    getattr(lr.anneal_func, "__name__", "")
  )
  if anneal is None:
    raise ValueError(f"OneCycleLR with the anneal_func {lr.anneal_func!r} is not one optim_jax reproduces.")
  peak, initial = rates[1], rates[0]
  divide = 1.0 if peak == 0.0 and initial == 0.0 else _recover(
    "divide_factor", lambda d: peak / d, initial, peak / initial if initial else np.inf
  )  # fmt: skip
  pct = _recover("phase_pct", lambda p: p * n - 1, ends[1], (ends[1] + 1) / n)
  return {
    "max_learning_rate": peak,
    "total_steps": n,
    "divide_factor": divide,
    "end_learning_rate": rates[-1],
    "phase_pct": pct,
    "anneal_strategy": anneal,
    "three_phase": len(rates) == 4,
  }


def _cyclic_kwargs(lr: Any) -> dict[str, Any]:
  cycle, pct = float(lr.cycle_size), float(lr.step_up_pct)
  up = float(round(pct * cycle))
  down = cycle - up
  if not (up > 0 and down > 0 and down == round(down) and up / (up + down) == pct and up + down == cycle):
    raise ValueError(
      f"CyclicLR: no whole step_size_up/step_size_down give cycle_size {cycle!r}, step_up_pct {pct!r}."
    )
  kwargs: dict[str, Any] = {
    "base_learning_rate": float(lr.base_lr),
    "max_learning_rate": float(lr.max_lr),
    "step_size_up": int(up),
    "step_size_down": int(down),
    "mode": lr.mode,
    "exp_gamma": float(lr.gamma),
  }
  fn = lr.scale_fn
  if not (getattr(fn, "__self__", None) is lr and getattr(fn, "__name__", "") in _CYCLIC_SCALES):
    kwargs.update(scale_fn=fn, scale_mode=lr.scale_mode)  # the user's function, as Paddle calls it
  return kwargs


def _schedule_spec(lr: Any) -> Any:
  if isinstance(lr, (int, float)):
    return float(lr)
  name = type(lr).__name__
  if name == "ReduceOnPlateau":
    return _paddle_plateau.spec(lr)
  if name == "OneCycleLR":
    attrs = _one_cycle_kwargs(lr)
  elif name == "CyclicLR":
    attrs = _cyclic_kwargs(lr)
  elif name in _LAMBDA_CLASSES:  # the live function (a JSON record cannot hold it)
    attrs = {"learning_rate": float(lr.base_lr), "lr_lambda": lr.lr_lambda}
  elif name in _SCHEDULES:
    attrs = {}
    for ours, attr in _SCHEDULES[name][1].items():
      value = getattr(lr, attr)
      if name == "LinearWarmup" and ours == "learning_rate" and type(value).__name__ == "ReduceOnPlateau":
        raise ValueError(_PLATEAU)
      if name == "LinearWarmup" and ours == "learning_rate" and not isinstance(value, (int, float)):
        attrs[ours] = _schedule_spec(value)  # the inner scheduler's own description (and state)
      else:
        attrs[ours] = _plain(value)
  else:
    raise ValueError(
      f"The learning-rate scheduler {name} is not one that optim_jax reproduces from a live object "
      f"({sorted([*_SCHEDULES, 'OneCycleLR', 'CyclicLR', *_LAMBDA_CLASSES])}); build the preset with an "
      "oj.schedules function yourself."
    )
  return {"class": name, "kwargs": attrs, "state": {k: _plain(v) for k, v in lr.state_dict().items()}}


def describe_paddle_optimizer(optimizer: Any) -> dict[str, Any]:
  """A plain, JSON-able description of a live ``paddle.optimizer`` object, for `from_paddle_config`.

  Reads the class name, the kernel's hyperparameters, ``learning_rate`` (a float or the scheduler's
  class, arguments and ``state_dict()``), ``weight_decay``, ``grad_clip``, the parameter groups and
  each parameter's ``name``, ``optimize_attr["learning_rate"]``, ``regularizer``, ``need_clip`` and
  ``stop_gradient``, in the optimizer's parameter order.

  Args:
    optimizer: a ``paddle.optimizer.RMSProp``, ``RAdam`` or ``ASGD``.

  Returns:
    ``{"class", "options", "learning_rate", "weight_decay", "grad_clip", "parameters", "groups"}``.

  Raises:
    ValueError: an optimizer, scheduler, regularizer or clip class that optim_jax does not reproduce.

  Example:
    >>> from optim_jax.interop import describe_paddle_optimizer
    >>> class RMSProp:  # a stand-in with a live RMSProp's attributes
    ...   _rho, _epsilon, _momentum, _centered, _learning_rate = 0.9, 1e-6, 0.0, False, 0.01
    ...   regularization = _grad_clip = None
    ...   _parameter_list = _param_groups = []
    >>> describe_paddle_optimizer(RMSProp())["options"]
    {'rho': 0.9, 'epsilon': 1e-06, 'momentum': 0.0, 'centered': False}
  """
  name = type(optimizer).__name__
  if name not in _OPTIONS:
    raise ValueError(f"paddle.optimizer.{name} is not one that optim_jax reproduces (RMSProp, RAdam, ASGD).")
  params = list(optimizer._parameter_list)
  groups = None
  if optimizer._param_groups and isinstance(optimizer._param_groups[0], dict):
    params = [p for g in optimizer._param_groups for p in g["params"]]  # Paddle's order: group by group
    groups = []
    for g in optimizer._param_groups:
      group: dict[str, Any] = {"params": [p.name for p in g["params"]]}
      for key, value in g.items():
        if key == "params":
          continue
        if key == "weight_decay":
          group[key] = _regularizer_spec(value)
        elif key == "grad_clip":
          group[key] = _clip_spec(value)
        else:
          group[key] = _plain(value)
      groups.append(group)
  defaults = dict(getattr(optimizer, "_default_dict", None) or {})
  return {
    "class": name,
    # a step with groups leaves the last group's options in the attributes: _default_dict has the optimizer's
    "options": {
      ours: _plain(defaults[ours] if ours in defaults else getattr(optimizer, attr))
      for ours, attr in _OPTIONS[name].items()
    },
    "learning_rate": _schedule_spec(optimizer._learning_rate),
    "weight_decay": _regularizer_spec(optimizer.regularization),
    "grad_clip": _clip_spec(optimizer._grad_clip),
    "parameters": [
      {
        "name": p.name,
        "learning_rate": float(p.optimize_attr.get("learning_rate", 1.0)),
        "regularizer": _regularizer_spec(p.regularizer),
        "need_clip": bool(getattr(p, "need_clip", True)),
        "trainable": not p.stop_gradient,
      }
      for p in params
    ],
    "groups": groups,
  }


def _regularizer(spec: Any) -> Any:
  if spec is None or isinstance(spec, (int, float)):
    return spec
  return {"L2Decay": _paddle.l2_decay, "L1Decay": _paddle.l1_decay}[spec["class"]](spec["coeff"])


def _clip(spec: Any) -> Any:
  if spec is None:
    return None
  kind = spec["class"]
  if kind == "ClipGradByValue":
    return _paddle.clip_grad_by_value(spec["max"], spec["min"])
  if kind == "ClipGradByNorm":
    return _paddle.clip_grad_by_norm(spec["clip_norm"])
  if kind == "ClipGradByGlobalNorm":
    return _paddle.clip_grad_by_global_norm(spec["clip_norm"], auto_skip_clip=spec["auto_skip_clip"])
  raise ValueError(f"The grad_clip {kind} is not one that optim_jax reproduces ({sorted(_CLIPS)}).")


class _PaddleWarmup:
  """``LinearWarmup`` over a scheduler: our schedule (`oj.schedules.linear_warmup`) with the inner one.

  Callable as the schedule; ``warmup_steps`` and ``inner`` (the inner schedule) let
  `export_paddle_state` write, and `import_paddle_state` check, the inner scheduler's state
  (``LR_Scheduler["LinearWarmup_LR"]``: Paddle steps it with ``step(last_epoch - warmup_steps)`` after
  the warmup, it stays at ``last_epoch = 0`` before).
  """

  def __init__(self, inner: Any, warmup_steps: int, start_lr: float, end_lr: float) -> None:
    self.inner, self.warmup_steps = inner, int(warmup_steps)
    self._schedule = _schedules.linear_warmup(inner, warmup_steps, start_lr, end_lr)

  def __call__(self, count: Any) -> Any:
    return self._schedule(count)


def _traced(name: str, schedule: Any) -> Any:
  try:
    jax.eval_shape(schedule, jax.ShapeDtypeStruct((), np.int32))
  except Exception as e:  # noqa: BLE001 - any failure of the user's function: say which one
    raise ValueError(
      f"{name}: its lr_lambda does not run on a traced int32 count ({type(e).__name__}: {e}); optim_jax "
      "needs it written with jnp operations (jnp.where rather than if)."
    ) from e
  return schedule


def paddle_schedule(spec: Any) -> Any:
  """Our schedule (an `oj.schedules` function) for a scheduler's description, or the float itself.

  Maps the classes that `from_paddle` lists. ``LambdaDecay`` and ``MultiplicativeDecay`` take their
  function from ``spec["kwargs"]["lr_lambda"]`` (`describe_paddle_optimizer` puts the live object's
  there; a JSON record cannot hold it); it is called with an int32 count, possibly traced, so it must
  be written with jnp operations. ``LinearWarmup`` over a scheduler gives a callable
  that also has ``warmup_steps`` and ``inner`` (the inner schedule), for its state.

  Args:
    spec: a float, or ``{"class": "StepDecay", "kwargs": {our argument: value}, ...}`` as
      `describe_paddle_optimizer` records it.

  Returns:
    The float, or an ``optax.Schedule`` of the update count (Paddle's ``last_epoch``).

  Raises:
    ValueError: a scheduler class that optim_jax does not reproduce (``ReduceOnPlateau``: the
      message says what to chain instead), a Lambda/Multiplicative description without its function
      or with one that does not trace.

  Example:
    >>> from optim_jax.interop import paddle_schedule
    >>> kwargs = {"learning_rate": 0.1, "step_size": 2, "gamma": 0.5}
    >>> s = paddle_schedule({"class": "StepDecay", "kwargs": kwargs})
    >>> [round(float(s(c)), 4) for c in range(5)]
    [0.1, 0.1, 0.05, 0.05, 0.025]
    >>> w = paddle_schedule({"class": "LinearWarmup", "kwargs": {"learning_rate": {"class": "StepDecay",
    ...   "kwargs": kwargs}, "warmup_steps": 2, "start_lr": 0.0, "end_lr": 0.1}})
    >>> [round(float(w(c)), 4) for c in range(5)], w.warmup_steps
    ([0.0, 0.05, 0.1, 0.1, 0.05], 2)
  """
  if not isinstance(spec, Mapping):
    return spec
  cls = spec["class"]
  if cls == "ReduceOnPlateau":
    raise ValueError(_PLATEAU)
  kwargs = dict(spec["kwargs"])
  if cls == "OneCycleLR":
    return _schedules.one_cycle_lr(**kwargs)
  if cls == "CyclicLR":
    return _schedules.cyclic_lr(**kwargs)
  if cls in _LAMBDA_CLASSES:
    if not callable(kwargs.get("lr_lambda")):
      raise ValueError(
        f"{cls}: the description has no lr_lambda function (describe_paddle_optimizer reads the live "
        "object's; a JSON record cannot hold it: put it in spec['kwargs']['lr_lambda'])."
      )
    make = _schedules.lambda_decay if cls == "LambdaDecay" else _schedules.multiplicative_decay
    return _traced(cls, make(**kwargs))
  if cls not in _SCHEDULES:
    raise ValueError(f"The learning-rate scheduler {cls} is not one that optim_jax reproduces.")
  if cls == "LinearWarmup" and isinstance(kwargs["learning_rate"], Mapping):
    inner = paddle_schedule(kwargs.pop("learning_rate"))
    return _PaddleWarmup(inner, **kwargs)
  return _SCHEDULES[cls][0](**kwargs)


def _name_to_path(config: dict[str, Any], params: Any, names: Any) -> dict[str, str]:
  order = [p["name"] for p in config["parameters"]]
  if names is not None and params is not None:
    return map_params(params, _names_dict(params, names), order)
  if isinstance(names, Mapping):
    return dict(names)
  if params is None:
    raise ValueError("Give params= or names= to say which pytree path each Paddle parameter is.")
  return map_params(params, None, order)


def from_paddle_config(
  config: Mapping[str, Any],
  *,
  params: Any = None,
  names: Sequence[str] | Mapping[str, str] | None = None,
  state_dict: Mapping[str, Any] | None = None,
) -> FromPaddle:
  """The `oj.paddle` preset for a `describe_paddle_optimizer` description, and the imported state.

  Args:
    config: the description (``describe_paddle_optimizer(opt)``, or the same dict written by hand).
    params: our parameters; needed for ``state_dict`` and, without ``names``, to map the Paddle
      parameters (in the optimizer's order) to the leaves (in ``jax.tree.leaves`` order).
    names: ``{Paddle name: path}`` or a list of Paddle names in leaves order, as for
      `import_paddle_state`.
    state_dict: the optimizer's ``state_dict()`` as numpy (`paddle_state_to_numpy`), or None.

  Returns:
    ``FromPaddle(tx, opt_state)``; ``opt_state`` is None without a ``state_dict``.

  Raises:
    ValueError: a class or option optim_jax does not reproduce, a ``state_dict`` without
      ``params``, a mapping that does not fit; `import_paddle_state`'s errors.

  Example:
    >>> import jax.numpy as jnp
    >>> from optim_jax.interop import from_paddle_config
    >>> config = {"class": "RAdam", "options": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
    ...           "learning_rate": 0.01, "weight_decay": None, "grad_clip": None, "groups": None,
    ...           "parameters": [{"name": "w", "learning_rate": 1.0, "regularizer": None,
    ...                           "need_clip": True, "trainable": True}]}
    >>> tx, state = from_paddle_config(config, params={"w": jnp.zeros(2)})
    >>> state is None
    True
  """
  kind = config["class"]
  if kind not in _PRESETS:
    raise ValueError(f"paddle.optimizer.{kind} is not one that optim_jax reproduces (RMSProp, RAdam, ASGD).")
  if state_dict is not None and params is None:
    raise ValueError("The optimizer has state: give params= (our parameters) to import it.")
  to_path = _name_to_path(config, params, names)
  kwargs: dict[str, Any] = dict(config["options"])
  lr_spec = config["learning_rate"]
  plateau = isinstance(lr_spec, Mapping) and lr_spec.get("class") == _paddle_plateau.NAME
  kwargs["learning_rate"] = 1.0 if plateau else paddle_schedule(lr_spec)
  kwargs["weight_decay"] = _regularizer(config["weight_decay"])
  kwargs["grad_clip"] = _clip(config["grad_clip"])
  groups = config.get("groups")
  attrs = {}
  for p in config["parameters"]:
    attr = {"need_clip": p["need_clip"], "trainable": p["trainable"]}
    if groups is None:  # in a group, the group's learning_rate and weight_decay replace these
      attr.update(learning_rate=p["learning_rate"], regularizer=_regularizer(p["regularizer"]))
    if attr != {"need_clip": True, "trainable": True, "learning_rate": 1.0, "regularizer": None} and attr != {
      "need_clip": True,
      "trainable": True,
    }:
      attrs[to_path[p["name"]]] = _paddle.ParamAttr(**attr)
  if attrs:
    kwargs["param_attrs"] = lambda path, leaf: attrs.get(path)
  if groups is not None:
    allowed = ("learning_rate", "weight_decay", "grad_clip", *_GROUP_OPTIONS.get(kind, ()))
    out = []
    for i, g in enumerate(groups):
      unknown = sorted(set(g) - {"params", *allowed})
      if unknown:
        raise ValueError(
          f"parameter group {i} sets {unknown}, which paddle.optimizer.{kind} ignores in a group."
        )
      members = frozenset(to_path[n] for n in g["params"])
      group: dict[str, Any] = {k: v for k, v in g.items() if k != "params"}
      group["params"] = lambda path, leaf, members=members: path in members
      if "weight_decay" in group:
        group["weight_decay"] = _regularizer(group["weight_decay"])
      if "grad_clip" in group:
        group["grad_clip"] = _clip(group["grad_clip"])
      out.append(group)
    kwargs["parameters"] = out
  if plateau:
    tx = _paddle_plateau.from_config(kind, lr_spec, kwargs, groups, _PRESETS[kind])
  else:
    tx = _PRESETS[kind](**kwargs)
  if state_dict is None:
    return FromPaddle(tx, None)
  lr = kwargs["learning_rate"] if callable(kwargs["learning_rate"]) and not plateau else None
  return FromPaddle(tx, import_paddle_state(tx, params, state_dict, names=to_path, learning_rate=lr))


def from_paddle(
  optimizer: Any, *, params: Any = None, names: Sequence[str] | Mapping[str, str] | None = None
) -> FromPaddle:
  """The `oj.paddle` preset of a live Paddle optimizer, with its state if it has taken a step.

  Maps ``paddle.optimizer.RMSProp``, ``RAdam`` and ``ASGD`` with their hyperparameters, learning
  rate (a float or a ``paddle.optimizer.lr`` scheduler: ``StepDecay``, ``ExponentialDecay``,
  ``MultiStepDecay``, ``PiecewiseDecay``, ``NaturalExpDecay``, ``InverseTimeDecay``,
  ``PolynomialDecay``, ``NoamDecay``, ``CosineAnnealingDecay``, ``CosineAnnealingWarmRestarts``,
  ``LinearLR``, ``OneCycleLR``, ``CyclicLR``, ``LambdaDecay``, ``MultiplicativeDecay``, ``LinearWarmup``
  over a float or over one of these), ``weight_decay`` (float, ``L2Decay``, ``L1Decay``),
  ``grad_clip`` (``ClipGradByValue``/``ByNorm``/``ByGlobalNorm``), parameter groups, per-parameter
  attributes and ``multi_precision``. The schedule is a function of the update count: one
  ``scheduler.step()`` per ``optimizer.step()``, as Paddle's usual loop. Gradient clipping done
  outside the optimizer (``paddle.nn.utils.clip_grad_norm_`` before ``step()``) is not seen: chain
  the clip in front of ``tx`` yourself. OneCycleLR's and CyclicLR's arguments are read back from the
  values Paddle derives from them (checked exactly); ``LambdaDecay``/``MultiplicativeDecay`` use the
  live object's ``lr_lambda`` (and ``CyclicLR`` its own ``scale_fn``), called with an int32 count, so
  it must be written with jnp operations (a ValueError otherwise). ``ReduceOnPlateau`` (it follows a
  metric) gives ``optax.chain(preset(learning_rate=1.0), oj.schedules.reduce_on_plateau(...))``, whose
  ``update`` takes ``metric=`` at each epoch's last step, for RAdam, ASGD and RMSProp without momentum
  (with momentum Paddle's rate enters the buffer: a ValueError); its state is ``LR_Scheduler``. Paddle
  is imported only by the tensors' ``.numpy()``.

  Args:
    optimizer: the live Paddle optimizer.
    params: our parameters (a pytree); required once the optimizer has state.
    names: which pytree path each Paddle parameter is (see `import_paddle_state`); default: the
      optimizer's parameters in order are the leaves in ``jax.tree.leaves`` order.

  Returns:
    ``FromPaddle(tx, opt_state)``; ``opt_state`` is None before the optimizer's first step.

  Raises:
    ValueError: a class or option optim_jax does not reproduce (named), state without ``params``.

  Example:
    >>> from optim_jax.interop import from_paddle
    >>> from_paddle(object())
    Traceback (most recent call last):
    ...
    ValueError: paddle.optimizer.object is not one that optim_jax reproduces (RMSProp, RAdam, ASGD).
  """
  config = describe_paddle_optimizer(optimizer)
  sd = paddle_state_to_numpy(optimizer.state_dict())
  accumulators = [k for k in sd if k not in ("LR_Scheduler",)]
  if accumulators and params is None:
    raise ValueError("The optimizer has state (it has taken steps): give params= to import it.")
  return from_paddle_config(config, params=params, names=names, state_dict=sd if accumulators else None)
