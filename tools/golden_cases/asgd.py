"""ASGD goldens: Paddle's ASGD (SAG) and torch's ASGD (averaged SGD), two algorithms with one name.

Paddle: batch_num 1 (plain SGD), 3 and 4 and 5, every clip and every weight decay (folded into the
gradient before the memory), each with a non-constant schedule. PyTorch: the parameters and, as the
extra ``ax``, the Polyak average after every step; t0 = 1e6 (average = parameters), 0, 5 and 100,
weight decay, maximize and clip_grad_norm_, each with a scheduler (which takes effect one step
late). Neither optimizer has momentum. float32 and float64, with long runs of 300 steps.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from golden_cases import harness as h
from golden_cases.harness import DTYPES, REQUIRED, Case, by_gnorm, by_norm, by_value, float_wd, l1, l2

PD = h.paddle_schedules(exp=0.05, step=0.05, piece=[0.05, 0.02, 0.01], step_long=0.02)
T = h.TORCH_SCHEDULES
_paddle = partial(h.paddle_case, "paddle.optimizer.ASGD", defaults={"batch_num": REQUIRED})


def paddle_cases() -> list[Case]:
  out = []
  for dt in DTYPES:
    out += [
      _paddle("n1_sgd_exp", dt, 40, batch_num=1, schedule=PD.exp),
      _paddle("n3_step", dt, 60, batch_num=3, schedule=PD.step),
      _paddle("n4_float_wd_piece", dt, 60, batch_num=4, schedule=PD.piece, wd=float_wd(0.05)),
      _paddle("n3_gnorm_l2_exp", dt, 40, batch_num=3, schedule=PD.exp, clip=by_gnorm(2.0), wd=l2(0.05)),
      _paddle("n4_value_asym_l1_step", dt, 40, batch_num=4, schedule=PD.step,
              clip=by_value(max=0.8, min=-0.3), wd=l1(0.02)),
      _paddle("n2_gnorm_skip_float_wd_piece", dt, 40, batch_num=2, schedule=PD.piece,
              clip=by_gnorm(2.0, auto_skip_clip=True), wd=float_wd(0.05)),
      _paddle("long_n5_gnorm_l2_step", dt, 300, batch_num=5, schedule=PD.step_long, clip=by_gnorm(2.0),
              wd=l2(0.01)),
    ]  # fmt: skip
  out += [  # ClipGradByNorm: Paddle's CPU kernel is float32-only
    _paddle("n3_norm_l1_exp", "float32", 40, batch_num=3, schedule=PD.exp, clip=by_norm(1.0), wd=l1(0.02)),
  ]
  return out


def _ax(opt: Any, variables: list) -> list:
  """torch.optim.ASGD keeps the average in ``state[p]["ax"]``."""
  return [opt.state[v]["ax"].detach().numpy().copy() for v in variables]


TORCH_DEFAULTS = {"lr": 0.02, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6}
NOTE = "eta and mu are float32 (torch's default dtype) also for float64 parameters"
_torch = partial(h.torch_case, "torch.optim.ASGD", defaults=TORCH_DEFAULTS, extras={"ax": _ax}, notes=NOTE)


def torch_cases() -> list[Case]:
  cn = h.clip_grad_norm
  out = []
  for dt in DTYPES:
    out += [
      _torch("defaults_step", dt, 40, schedule=T.step, lr=0.01),  # torch's defaults
      _torch("t0_5_lambd_exp", dt, 60, schedule=T.exp, lambd=0.05, t0=5.0),
      _torch("t0_0_alpha_wd_maximize_step", dt, 40, schedule=T.step, lambd=0.1, alpha=0.5, t0=0.0,
             weight_decay=0.05, maximize=True),
      _torch("clipnorm_t0_10_exp", dt, 40, schedule=T.exp, clips=[cn(2.0)], lambd=0.01, t0=10.0),
      _torch("long_t0_100_wd_step", dt, 300, schedule=T.step_long, lambd=0.01, t0=100.0, weight_decay=0.01),
    ]  # fmt: skip
  return out


def cases() -> list[Case]:
  return paddle_cases() + torch_cases()
