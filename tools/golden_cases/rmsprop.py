"""RMSProp goldens: Paddle RMSProp, tf_keras / Keras 3 RMSprop and torch RMSprop.

Every case has a non-constant schedule; the grids cover centered x momentum x schedule, every clip
and every weight decay of each framework, and their interactions (clip + weight decay order,
schedule + momentum), in float32 and float64, with a few runs of 300 steps.
"""

from __future__ import annotations

from typing import Any

from golden_cases.harness import Case, GradSpec

DTYPES = ("float32", "float64")
_SHORT = {"float32": "f32", "float64": "f64"}


def _seed(name: str) -> int:
  """A stable seed per case name (Python's hash() is salted per process)."""
  return sum((i + 1) * ord(ch) for i, ch in enumerate(name)) % 100_003


def _case(framework: str, label: str, dtype: str, steps: int, optimizer: str, **fields: Any) -> Case:
  name = f"{framework}_{label}_{_SHORT[dtype]}"
  return Case(
    name=name, framework=framework, dtype=dtype, steps=steps, seed=_seed(name), optimizer=optimizer, **fields
  )


def _sched(kind: str, **kwargs: Any) -> dict[str, Any]:
  return {"type": kind, "kwargs": kwargs}


def _clip(kind: str, **kwargs: Any) -> dict[str, Any]:
  return {"type": kind, "kwargs": kwargs}


def _float_wd(value: float) -> dict[str, Any]:
  return {"type": "float", "value": value}


# Paddle's regularisers and clip strategies, as configuration specs (shared by the Paddle families).
def l2(coeff: float) -> dict[str, Any]:
  return {"type": "paddle.regularizer.L2Decay", "kwargs": {"coeff": coeff}}


def l1(coeff: float) -> dict[str, Any]:
  return {"type": "paddle.regularizer.L1Decay", "kwargs": {"coeff": coeff}}


def value(**kwargs: Any) -> dict[str, Any]:
  return _clip("paddle.nn.ClipGradByValue", **kwargs)


def norm(clip_norm: float) -> dict[str, Any]:
  return _clip("paddle.nn.ClipGradByNorm", clip_norm=clip_norm)


def gnorm(clip_norm: float, **kwargs: Any) -> dict[str, Any]:
  return _clip("paddle.nn.ClipGradByGlobalNorm", clip_norm=clip_norm, **kwargs)


# --- Paddle -------------------------------------------------------------------------------------

_PD = "paddle.optimizer.lr."
PD_EXP = _sched(_PD + "ExponentialDecay", learning_rate=0.01, gamma=0.97)
PD_STEP = _sched(_PD + "StepDecay", learning_rate=0.01, step_size=7, gamma=0.5)
PD_PIECE = _sched(_PD + "PiecewiseDecay", boundaries=[10, 25], values=[0.01, 0.005, 0.002])
PD_STEP_LONG = _sched(_PD + "StepDecay", learning_rate=0.005, step_size=60, gamma=0.6)
PD_EXP_LONG = _sched(_PD + "ExponentialDecay", learning_rate=0.005, gamma=0.995)


def _paddle(label, dtype, steps, *, centered, momentum, schedule, clip=None, wd=None, **kwargs) -> Case:
  kwargs = {"rho": 0.9, "epsilon": 1e-6, "momentum": momentum, "centered": centered, **kwargs}
  return _case(
    "paddle", label, dtype, steps, "paddle.optimizer.RMSProp",
    kwargs=kwargs, schedule=schedule, clip=[clip] if clip else [], weight_decay=wd,
  )  # fmt: skip


def paddle_cases() -> list[Case]:
  out = []
  for dt in DTYPES:
    out += [
      # centered x momentum, each with a non-constant schedule
      _paddle("plain_exp", dt, 60, centered=False, momentum=0.0, schedule=PD_EXP),
      _paddle("mom_step", dt, 60, centered=False, momentum=0.9, schedule=PD_STEP),
      _paddle("centered_piece", dt, 60, centered=True, momentum=0.0, schedule=PD_PIECE),
      _paddle("centered_mom_exp_defaults", dt, 60, centered=True, momentum=0.9, schedule=PD_EXP,
              rho=0.95, epsilon=1e-6),
      # every clip, each with a weight decay (Paddle clips first, then adds the regulariser)
      _paddle("value_sym_mom_step", dt, 40, centered=False, momentum=0.9, schedule=PD_STEP,
              clip=value(max=1.0)),
      _paddle("value_asym_float_wd_centered_mom_piece", dt, 40, centered=True, momentum=0.9,
              schedule=PD_PIECE, clip=value(max=0.8, min=-0.3), wd=_float_wd(0.05)),
      _paddle("gnorm_l1_mom_step", dt, 40, centered=False, momentum=0.9, schedule=PD_STEP, clip=gnorm(2.0),
              wd=l1(0.02)),
      _paddle("gnorm_skip_float_wd_centered_mom_exp", dt, 40, centered=True, momentum=0.9, schedule=PD_EXP,
              clip=gnorm(2.0, auto_skip_clip=True), wd=_float_wd(0.05)),
      _paddle("gnorm_l2_piece", dt, 40, centered=False, momentum=0.0, schedule=PD_PIECE, clip=gnorm(1.5),
              wd=l2(0.05)),
      # each weight decay without a clip
      _paddle("l2_mom_exp", dt, 30, centered=False, momentum=0.5, schedule=PD_EXP, wd=l2(0.1)),
      _paddle("l1_centered_step", dt, 30, centered=True, momentum=0.0, schedule=PD_STEP, wd=l1(0.05)),
      _paddle("float_wd_centered_mom_piece", dt, 30, centered=True, momentum=0.9, schedule=PD_PIECE,
              wd=_float_wd(0.1)),
      # long runs
      _paddle("long_gnorm_l2_centered_mom_step", dt, 300, centered=True, momentum=0.9, schedule=PD_STEP_LONG,
              clip=gnorm(2.0), wd=l2(0.01)),
      _paddle("value_asym_l1_mom_exp", dt, 100, centered=False, momentum=0.9, schedule=PD_EXP_LONG,
              clip=value(max=0.6, min=-1.0), wd=l1(0.01)),
    ]  # fmt: skip
  # ClipGradByNorm: Paddle's CPU kernel is float32-only.
  out += [
    _paddle("norm_l2_mom_exp", "float32", 40, centered=False, momentum=0.9, schedule=PD_EXP, clip=norm(1.0),
            wd=l2(0.05)),
    _paddle("norm_l1_centered_piece", "float32", 40, centered=True, momentum=0.0, schedule=PD_PIECE,
            clip=norm(1.0), wd=l1(0.02)),
    _paddle("norm_float_wd_centered_mom_step", "float32", 40, centered=True, momentum=0.9, schedule=PD_STEP,
            clip=norm(0.7), wd=_float_wd(0.05)),
    _paddle("long_norm_mom_exp", "float32", 300, centered=False, momentum=0.9, schedule=PD_EXP_LONG,
            clip=norm(1.0)),
  ]  # fmt: skip
  return out


# --- tf_keras and Keras 3 -----------------------------------------------------------------------


def _keras_schedules(framework: str, dtype: str) -> dict[str, dict[str, Any]]:
  """Keras evaluates schedules in float32. For float64 cases only schedules whose float32 value is
  exact are used (staircase halving, piecewise constants): XLA's float32 pow may differ from TF's by
  an ulp, which is 6e-8 relative, far above the float64 tolerance."""
  base = ("tf_keras" if framework == "tf_keras" else "keras") + ".optimizers.schedules."
  if dtype == "float32":
    exp = _sched(base + "ExponentialDecay", initial_learning_rate=0.01, decay_steps=5, decay_rate=0.9)
    exp_long = _sched(base + "ExponentialDecay", initial_learning_rate=0.005, decay_steps=20, decay_rate=0.9)
  else:
    exp = _sched(base + "ExponentialDecay", initial_learning_rate=0.01, decay_steps=8, decay_rate=0.5,
                 staircase=True)  # fmt: skip
    exp_long = _sched(base + "ExponentialDecay", initial_learning_rate=0.005, decay_steps=100, decay_rate=0.5,
                      staircase=True)  # fmt: skip
  piece = _sched(base + "PiecewiseConstantDecay", boundaries=[10, 30], values=[0.01, 0.005, 0.002])
  return {"exp": exp, "piece": piece, "exp_long": exp_long}


def _keras(
  framework, label, dtype, steps, *, centered, momentum, schedule, clips=(), wd=None, **kwargs
) -> Case:
  kwargs = {"rho": 0.9, "epsilon": 1e-7, "momentum": momentum, "centered": centered, **kwargs}
  optimizer = ("tf_keras" if framework == "tf_keras" else "keras") + ".optimizers.RMSprop"
  return _case(
    framework, label, dtype, steps, optimizer,
    kwargs=kwargs, schedule=schedule, clip=[{"type": k, "kwargs": {"value": v}} for k, v in clips],
    weight_decay=None if wd is None else _float_wd(wd),
  )  # fmt: skip


def keras_cases(framework: str) -> list[Case]:
  out = []
  for dt in DTYPES:
    s = _keras_schedules(framework, dt)
    k = lambda *a, **kw: _keras(framework, *a, **kw)  # noqa: E731
    out += [
      k("plain_exp", dt, 60, centered=False, momentum=0.0, schedule=s["exp"]),
      k("mom_piece", dt, 60, centered=False, momentum=0.9, schedule=s["piece"]),
      k("centered_piece", dt, 60, centered=True, momentum=0.0, schedule=s["piece"], rho=0.8, epsilon=1e-4),
      k("centered_mom_exp", dt, 60, centered=True, momentum=0.9, schedule=s["exp"]),
      # each clip with decoupled weight decay
      k("clipnorm_wd_mom_exp", dt, 40, centered=False, momentum=0.9, schedule=s["exp"],
        clips=[("clipnorm", 1.0)], wd=0.05),
      k("clipvalue_wd_centered_mom_piece", dt, 40, centered=True, momentum=0.9, schedule=s["piece"],
        clips=[("clipvalue", 0.5)], wd=0.05),
      k("global_clipnorm_wd_exp", dt, 40, centered=False, momentum=0.0, schedule=s["exp"],
        clips=[("global_clipnorm", 2.0)], wd=0.05),
      k("wd_centered_mom_piece", dt, 30, centered=True, momentum=0.5, schedule=s["piece"], wd=0.1),
      k("long_global_clipnorm_wd_centered_mom_exp", dt, 300, centered=True, momentum=0.9,
        schedule=s["exp_long"], clips=[("global_clipnorm", 2.0)], wd=0.02),
    ]  # fmt: skip
    if framework == "tf_keras":  # several clips at once: tf_keras keeps one (Keras 3 raises)
      out += [
        k("clipnorm_over_clipvalue_centered_mom_exp", dt, 40, centered=True, momentum=0.9, schedule=s["exp"],
          clips=[("clipnorm", 1.0), ("clipvalue", 0.2)]),
        k("global_clipnorm_over_clipvalue_wd_mom_piece", dt, 40, centered=False, momentum=0.9,
          schedule=s["piece"], clips=[("global_clipnorm", 2.0), ("clipvalue", 0.2)], wd=0.05),
      ]  # fmt: skip
  return out


# --- torch --------------------------------------------------------------------------------------

_TS = "torch.optim.lr_scheduler."
T_STEP = _sched(_TS + "StepLR", step_size=7, gamma=0.5)
T_EXP = _sched(_TS + "ExponentialLR", gamma=0.97)
T_STEP_LONG = _sched(_TS + "StepLR", step_size=60, gamma=0.6)


def _torch(label, dtype, steps, *, centered, momentum, schedule, clips=(), **kwargs) -> Case:
  kwargs = {"lr": 0.003, "alpha": 0.9, "eps": 1e-8, "momentum": momentum, "centered": centered, **kwargs}
  spec = GradSpec(drift=-1.0 if kwargs.get("maximize") else 1.0)
  return _case("torch", label, dtype, steps, "torch.optim.RMSprop", kwargs=kwargs, schedule=schedule,
               clip=list(clips), grad_spec=spec)  # fmt: skip


def torch_cases() -> list[Case]:
  cn = lambda c, p=2.0: _clip("torch.nn.utils.clip_grad_norm_", max_norm=c, norm_type=p)  # noqa: E731
  cv = lambda c: _clip("torch.nn.utils.clip_grad_value_", clip_value=c)  # noqa: E731
  out = []
  for dt in DTYPES:
    out += [
      _torch("plain_step", dt, 60, centered=False, momentum=0.0, schedule=T_STEP),
      _torch("mom_exp", dt, 60, centered=False, momentum=0.9, schedule=T_EXP),
      _torch("centered_exp", dt, 60, centered=True, momentum=0.0, schedule=T_EXP),
      _torch("centered_mom_step_defaults", dt, 60, centered=True, momentum=0.9, schedule=T_STEP, alpha=0.99),
      # weight decay and maximize
      _torch("wd_maximize_mom_exp", dt, 40, centered=False, momentum=0.9, schedule=T_EXP, weight_decay=0.05,
             maximize=True),
      _torch("wd_centered_mom_step", dt, 40, centered=True, momentum=0.5, schedule=T_STEP, weight_decay=0.1),
      _torch("maximize_centered_step", dt, 40, centered=True, momentum=0.0, schedule=T_STEP, maximize=True),
      # clip_grad_norm_ for each norm type, clip_grad_value_ chained before it
      _torch("clipnorm2_mom_exp", dt, 40, centered=False, momentum=0.9, schedule=T_EXP, clips=[cn(2.0)]),
      _torch("clipnorm1_wd_centered_step", dt, 40, centered=True, momentum=0.0, schedule=T_STEP,
             clips=[cn(5.0, 1.0)], weight_decay=0.05),
      _torch("clipnorminf_centered_mom_exp", dt, 40, centered=True, momentum=0.9, schedule=T_EXP,
             clips=[cn(1.5, float("inf"))]),
      _torch("clipnorm3_maximize_mom_step", dt, 40, centered=False, momentum=0.9, schedule=T_STEP,
             clips=[cn(2.0, 3.0)], maximize=True),
      _torch("clipvalue_clipnorm2_wd_mom_exp", dt, 40, centered=False, momentum=0.9, schedule=T_EXP,
             clips=[cv(0.8), cn(1.5)], weight_decay=0.05),
      _torch("clipvalue_centered_step", dt, 40, centered=True, momentum=0.0, schedule=T_STEP,
             clips=[cv(0.5)]),
      # long run
      _torch("long_clipnorm2_wd_centered_mom_step", dt, 300, centered=True, momentum=0.9,
             schedule=T_STEP_LONG, clips=[cn(2.0)], weight_decay=0.01),
    ]  # fmt: skip
  return out


def cases() -> list[Case]:
  return paddle_cases() + keras_cases("tf_keras") + keras_cases("keras") + torch_cases()
