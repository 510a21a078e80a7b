"""RAdam goldens: Paddle RAdam and torch RAdam.

Cases cover beta2 = 0.999 (first rectified step 6), 0.9, 0.9999, 0.5 (never rectified) and
0.8397685748659791 (rho_6 == 5 exactly: PyTorch and Paddle float32 take the un-rectified step,
Paddle float64 rectifies), eps = 0.0625 (where optax.radam is 1.5e-3 off), every Paddle clip and
weight decay, PyTorch's coupled and decoupled weight decay, maximize and clip_grad_norm_, each with a
non-constant schedule, in float32 and float64, with long runs of 300 steps. RAdam has no momentum
option (beta1 is its first moment).
"""

from __future__ import annotations

from typing import Any

from golden_cases.harness import GradSpec
from golden_cases.rmsprop import _case, _clip, _float_wd, _sched, gnorm, l1, l2, norm, value

DTYPES = ("float32", "float64")
TIE_B2 = 0.8397685748659791

_PD = "paddle.optimizer.lr."
PD_EXP = _sched(_PD + "ExponentialDecay", learning_rate=0.01, gamma=0.97)
PD_STEP = _sched(_PD + "StepDecay", learning_rate=0.02, step_size=7, gamma=0.5)
PD_PIECE = _sched(_PD + "PiecewiseDecay", boundaries=[10, 25], values=[0.02, 0.01, 0.005])
PD_STEP_LONG = _sched(_PD + "StepDecay", learning_rate=0.01, step_size=60, gamma=0.6)

_TS = "torch.optim.lr_scheduler."
T_STEP = _sched(_TS + "StepLR", step_size=7, gamma=0.5)
T_EXP = _sched(_TS + "ExponentialLR", gamma=0.97)
T_STEP_LONG = _sched(_TS + "StepLR", step_size=60, gamma=0.6)


def _paddle(label, dtype, steps, *, schedule, clip=None, wd=None, **kwargs) -> Any:
  kwargs = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, **kwargs}
  return _case(
    "paddle", label, dtype, steps, "paddle.optimizer.RAdam",
    kwargs=kwargs, schedule=schedule, clip=[clip] if clip else [], weight_decay=wd,
  )  # fmt: skip


def paddle_cases() -> list:
  out = []
  for dt in DTYPES:
    out += [
      _paddle("defaults_exp", dt, 60, schedule=PD_EXP),
      _paddle("b2_09_step", dt, 60, schedule=PD_STEP, beta1=0.8, beta2=0.9),
      _paddle("b2_09999_piece", dt, 60, schedule=PD_PIECE, beta2=0.9999),
      _paddle("b2_05_never_rectified_exp", dt, 40, schedule=PD_EXP, beta2=0.5),
      _paddle("b2_tie_step", dt, 30, schedule=PD_STEP, beta2=TIE_B2),
      _paddle("eps_0625_exp", dt, 40, schedule=PD_EXP, epsilon=0.0625),
      _paddle("gnorm_l2_step", dt, 40, schedule=PD_STEP, clip=gnorm(2.0), wd=l2(0.05)),
      _paddle("value_asym_l1_piece", dt, 40, schedule=PD_PIECE, clip=value(max=0.8, min=-0.3), wd=l1(0.02)),
      _paddle("gnorm_skip_float_wd_exp", dt, 40, schedule=PD_EXP, clip=gnorm(2.0, auto_skip_clip=True),
              wd=_float_wd(0.05)),
      _paddle("long_gnorm_l2_step", dt, 300, schedule=PD_STEP_LONG, clip=gnorm(2.0), wd=l2(0.01)),
    ]  # fmt: skip
  out += [  # ClipGradByNorm: Paddle's CPU kernel is float32-only
    _paddle("norm_float_wd_b2_09_step", "float32", 40, schedule=PD_STEP, beta2=0.9, clip=norm(1.0),
            wd=_float_wd(0.05)),
  ]  # fmt: skip
  return out


def _torch(label, dtype, steps, *, schedule, clips=(), **kwargs) -> Any:
  kwargs = {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, **kwargs}
  spec = GradSpec(drift=-1.0 if kwargs.get("maximize") else 1.0)
  return _case("torch", label, dtype, steps, "torch.optim.RAdam", kwargs=kwargs, schedule=schedule,
               clip=list(clips), grad_spec=spec)  # fmt: skip


def torch_cases() -> list:
  cn = lambda c, p=2.0: _clip("torch.nn.utils.clip_grad_norm_", max_norm=c, norm_type=p)  # noqa: E731
  out = []
  for dt in DTYPES:
    out += [
      _torch("defaults_step", dt, 60, schedule=T_STEP),
      _torch("b2_09_eps01_exp", dt, 60, schedule=T_EXP, betas=(0.8, 0.9), eps=0.1),
      _torch("b2_09999_step", dt, 60, schedule=T_STEP, betas=(0.9, 0.9999)),
      _torch("b2_05_never_rectified_exp", dt, 40, schedule=T_EXP, betas=(0.9, 0.5)),
      _torch("b2_tie_step", dt, 30, schedule=T_STEP, betas=(0.9, TIE_B2)),
      _torch("eps_0625_exp", dt, 40, schedule=T_EXP, eps=0.0625),
      _torch("wd_maximize_exp", dt, 40, schedule=T_EXP, weight_decay=0.05, maximize=True),
      _torch("decoupled_wd_exp", dt, 40, schedule=T_EXP, weight_decay=0.1, decoupled_weight_decay=True),
      _torch("clipnorm_decoupled_wd_step", dt, 40, schedule=T_STEP, clips=[cn(2.0)], weight_decay=0.05,
             decoupled_weight_decay=True),
      _torch("long_decoupled_wd_step", dt, 300, schedule=T_STEP_LONG, weight_decay=0.01,
             decoupled_weight_decay=True),
    ]  # fmt: skip
  return out


def cases() -> list:
  return paddle_cases() + torch_cases()
