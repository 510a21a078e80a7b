"""RAdam goldens: Paddle RAdam and torch RAdam.

Cases cover beta2 = 0.999 (first rectified step 6), 0.9, 0.9999, 0.5 (never rectified) and
0.8397685748659791 (rho_6 == 5 exactly: PyTorch and Paddle float32 take the un-rectified step,
Paddle float64 rectifies), eps = 0.0625 (where optax.radam is 1.5e-3 off), every Paddle clip and
weight decay, PyTorch's coupled and decoupled weight decay, maximize and clip_grad_norm_, each with a
non-constant schedule, in float32 and float64, with long runs of 300 steps. RAdam has no momentum
option (beta1 is its first moment).
"""

from __future__ import annotations

from functools import partial

from golden_cases import harness as h
from golden_cases.harness import DTYPES, Case, by_gnorm, by_norm, by_value, float_wd, l1, l2

TIE_B2 = 0.8397685748659791

PD = h.paddle_schedules(exp=0.01, step=0.02, piece=[0.02, 0.01, 0.005], step_long=0.01)
T = h.TORCH_SCHEDULES
_paddle = partial(
  h.paddle_case, "paddle.optimizer.RAdam", defaults={"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
)
_torch = partial(h.torch_case, "torch.optim.RAdam", defaults={"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8})


def paddle_cases() -> list[Case]:
  out = []
  for dt in DTYPES:
    out += [
      _paddle("defaults_exp", dt, 60, schedule=PD.exp),
      _paddle("b2_09_step", dt, 60, schedule=PD.step, beta1=0.8, beta2=0.9),
      _paddle("b2_09999_piece", dt, 60, schedule=PD.piece, beta2=0.9999),
      _paddle("b2_05_never_rectified_exp", dt, 40, schedule=PD.exp, beta2=0.5),
      _paddle("b2_tie_step", dt, 30, schedule=PD.step, beta2=TIE_B2),
      _paddle("eps_0625_exp", dt, 40, schedule=PD.exp, epsilon=0.0625),
      _paddle("gnorm_l2_step", dt, 40, schedule=PD.step, clip=by_gnorm(2.0), wd=l2(0.05)),
      _paddle("value_asym_l1_piece", dt, 40, schedule=PD.piece, clip=by_value(max=0.8, min=-0.3),
              wd=l1(0.02)),
      _paddle("gnorm_skip_float_wd_exp", dt, 40, schedule=PD.exp, clip=by_gnorm(2.0, auto_skip_clip=True),
              wd=float_wd(0.05)),
      _paddle("long_gnorm_l2_step", dt, 300, schedule=PD.step_long, clip=by_gnorm(2.0), wd=l2(0.01)),
    ]  # fmt: skip
  out += [  # ClipGradByNorm: Paddle's CPU kernel is float32-only
    _paddle("norm_float_wd_b2_09_step", "float32", 40, schedule=PD.step, beta2=0.9, clip=by_norm(1.0),
            wd=float_wd(0.05)),
  ]  # fmt: skip
  return out


def torch_cases() -> list[Case]:
  cn = h.clip_grad_norm
  out = []
  for dt in DTYPES:
    out += [
      _torch("defaults_step", dt, 60, schedule=T.step),
      _torch("b2_09_eps01_exp", dt, 60, schedule=T.exp, betas=(0.8, 0.9), eps=0.1),
      _torch("b2_09999_step", dt, 60, schedule=T.step, betas=(0.9, 0.9999)),
      _torch("b2_05_never_rectified_exp", dt, 40, schedule=T.exp, betas=(0.9, 0.5)),
      _torch("b2_tie_step", dt, 30, schedule=T.step, betas=(0.9, TIE_B2)),
      _torch("eps_0625_exp", dt, 40, schedule=T.exp, eps=0.0625),
      _torch("wd_maximize_exp", dt, 40, schedule=T.exp, weight_decay=0.05, maximize=True),
      _torch("decoupled_wd_exp", dt, 40, schedule=T.exp, weight_decay=0.1, decoupled_weight_decay=True),
      _torch("clipnorm_decoupled_wd_step", dt, 40, schedule=T.step, clips=[cn(2.0)], weight_decay=0.05,
             decoupled_weight_decay=True),
      _torch("long_decoupled_wd_step", dt, 300, schedule=T.step_long, weight_decay=0.01,
             decoupled_weight_decay=True),
    ]  # fmt: skip
  return out


def cases() -> list[Case]:
  return paddle_cases() + torch_cases()
