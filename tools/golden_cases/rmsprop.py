"""RMSProp goldens: Paddle RMSProp, tf_keras / Keras 3 RMSprop and torch RMSprop.

Every case has a non-constant schedule; the grids cover centered x momentum x schedule, every clip
and every weight decay of each framework, and their interactions (clip + weight decay order,
schedule + momentum), in float32 and float64, with a few runs of 300 steps.
"""

from __future__ import annotations

from functools import partial

from golden_cases import harness as h
from golden_cases.harness import DTYPES, REQUIRED, Case, by_gnorm, by_norm, by_value, float_wd, l1, l2

# --- Paddle -------------------------------------------------------------------------------------

PD = h.paddle_schedules(exp=0.01, step=0.01, piece=[0.01, 0.005, 0.002], step_long=0.005)
PD_EXP_LONG = h.paddle_exp(0.005, gamma=0.995)
PADDLE_DEFAULTS = {"rho": 0.9, "epsilon": 1e-6, "momentum": REQUIRED, "centered": REQUIRED}
_paddle = partial(h.paddle_case, "paddle.optimizer.RMSProp", defaults=PADDLE_DEFAULTS)


def paddle_cases() -> list[Case]:
  out = []
  for dt in DTYPES:
    out += [
      # centered x momentum, each with a non-constant schedule
      _paddle("plain_exp", dt, 60, centered=False, momentum=0.0, schedule=PD.exp),
      _paddle("mom_step", dt, 60, centered=False, momentum=0.9, schedule=PD.step),
      _paddle("centered_piece", dt, 60, centered=True, momentum=0.0, schedule=PD.piece),
      _paddle("centered_mom_exp_defaults", dt, 60, centered=True, momentum=0.9, schedule=PD.exp,
              rho=0.95, epsilon=1e-6),
      # every clip, each with a weight decay (Paddle clips first, then adds the regulariser)
      _paddle("value_sym_mom_step", dt, 40, centered=False, momentum=0.9, schedule=PD.step,
              clip=by_value(max=1.0)),
      _paddle("value_asym_float_wd_centered_mom_piece", dt, 40, centered=True, momentum=0.9,
              schedule=PD.piece, clip=by_value(max=0.8, min=-0.3), wd=float_wd(0.05)),
      _paddle("gnorm_l1_mom_step", dt, 40, centered=False, momentum=0.9, schedule=PD.step, clip=by_gnorm(2.0),
              wd=l1(0.02)),
      _paddle("gnorm_skip_float_wd_centered_mom_exp", dt, 40, centered=True, momentum=0.9, schedule=PD.exp,
              clip=by_gnorm(2.0, auto_skip_clip=True), wd=float_wd(0.05)),
      _paddle("gnorm_l2_piece", dt, 40, centered=False, momentum=0.0, schedule=PD.piece, clip=by_gnorm(1.5),
              wd=l2(0.05)),
      # each weight decay without a clip
      _paddle("l2_mom_exp", dt, 30, centered=False, momentum=0.5, schedule=PD.exp, wd=l2(0.1)),
      _paddle("l1_centered_step", dt, 30, centered=True, momentum=0.0, schedule=PD.step, wd=l1(0.05)),
      _paddle("float_wd_centered_mom_piece", dt, 30, centered=True, momentum=0.9, schedule=PD.piece,
              wd=float_wd(0.1)),
      # long runs
      _paddle("long_gnorm_l2_centered_mom_step", dt, 300, centered=True, momentum=0.9, schedule=PD.step_long,
              clip=by_gnorm(2.0), wd=l2(0.01)),
      _paddle("value_asym_l1_mom_exp", dt, 100, centered=False, momentum=0.9, schedule=PD_EXP_LONG,
              clip=by_value(max=0.6, min=-1.0), wd=l1(0.01)),
    ]  # fmt: skip
  # ClipGradByNorm: Paddle's CPU kernel is float32-only.
  out += [
    _paddle("norm_l2_mom_exp", "float32", 40, centered=False, momentum=0.9, schedule=PD.exp,
            clip=by_norm(1.0), wd=l2(0.05)),
    _paddle("norm_l1_centered_piece", "float32", 40, centered=True, momentum=0.0, schedule=PD.piece,
            clip=by_norm(1.0), wd=l1(0.02)),
    _paddle("norm_float_wd_centered_mom_step", "float32", 40, centered=True, momentum=0.9, schedule=PD.step,
            clip=by_norm(0.7), wd=float_wd(0.05)),
    _paddle("long_norm_mom_exp", "float32", 300, centered=False, momentum=0.9, schedule=PD_EXP_LONG,
            clip=by_norm(1.0)),
  ]  # fmt: skip
  return out


# --- tf_keras and Keras 3 -----------------------------------------------------------------------

KERAS_DEFAULTS = {"rho": 0.9, "epsilon": 1e-7, "momentum": REQUIRED, "centered": REQUIRED}


def keras_cases(framework: str) -> list[Case]:
  out = []
  for dt in DTYPES:
    s = h.keras_schedules(framework, dt)
    k = partial(h.keras_case, framework, "RMSprop", defaults=KERAS_DEFAULTS)
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

T = h.TORCH_SCHEDULES
TORCH_DEFAULTS = {"lr": 0.003, "alpha": 0.9, "eps": 1e-8, "momentum": REQUIRED, "centered": REQUIRED}
_torch = partial(h.torch_case, "torch.optim.RMSprop", defaults=TORCH_DEFAULTS)


def torch_cases() -> list[Case]:
  cn, cv = h.clip_grad_norm, h.clip_grad_value
  out = []
  for dt in DTYPES:
    out += [
      _torch("plain_step", dt, 60, centered=False, momentum=0.0, schedule=T.step),
      _torch("mom_exp", dt, 60, centered=False, momentum=0.9, schedule=T.exp),
      _torch("centered_exp", dt, 60, centered=True, momentum=0.0, schedule=T.exp),
      _torch("centered_mom_step_defaults", dt, 60, centered=True, momentum=0.9, schedule=T.step, alpha=0.99),
      # weight decay and maximize
      _torch("wd_maximize_mom_exp", dt, 40, centered=False, momentum=0.9, schedule=T.exp, weight_decay=0.05,
             maximize=True),
      _torch("wd_centered_mom_step", dt, 40, centered=True, momentum=0.5, schedule=T.step, weight_decay=0.1),
      _torch("maximize_centered_step", dt, 40, centered=True, momentum=0.0, schedule=T.step, maximize=True),
      # clip_grad_norm_ for each norm type, clip_grad_value_ chained before it
      _torch("clipnorm2_mom_exp", dt, 40, centered=False, momentum=0.9, schedule=T.exp, clips=[cn(2.0)]),
      _torch("clipnorm1_wd_centered_step", dt, 40, centered=True, momentum=0.0, schedule=T.step,
             clips=[cn(5.0, 1.0)], weight_decay=0.05),
      _torch("clipnorminf_centered_mom_exp", dt, 40, centered=True, momentum=0.9, schedule=T.exp,
             clips=[cn(1.5, float("inf"))]),
      _torch("clipnorm3_maximize_mom_step", dt, 40, centered=False, momentum=0.9, schedule=T.step,
             clips=[cn(2.0, 3.0)], maximize=True),
      _torch("clipvalue_clipnorm2_wd_mom_exp", dt, 40, centered=False, momentum=0.9, schedule=T.exp,
             clips=[cv(0.8), cn(1.5)], weight_decay=0.05),
      _torch("clipvalue_centered_step", dt, 40, centered=True, momentum=0.0, schedule=T.step,
             clips=[cv(0.5)]),
      # long run
      _torch("long_clipnorm2_wd_centered_mom_step", dt, 300, centered=True, momentum=0.9,
             schedule=T.step_long, clips=[cn(2.0)], weight_decay=0.01),
    ]  # fmt: skip
  return out


def cases() -> list[Case]:
  return paddle_cases() + keras_cases("tf_keras") + keras_cases("keras") + torch_cases()
