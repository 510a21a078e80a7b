"""ASGD goldens: Paddle's ASGD (SAG) and torch's ASGD (averaged SGD), two algorithms with one name.

Paddle: batch_num 1 (plain SGD), 3 and 4 and 5, every clip and every weight decay (folded into the
gradient before the memory), each with a non-constant schedule. PyTorch: the parameters and, as the
extra ``ax``, the Polyak average after every step; t0 = 1e6 (average = parameters), 0, 5 and 100,
weight decay, maximize and clip_grad_norm_, each with a scheduler (which takes effect one step
late). Neither optimizer has momentum. float32 and float64, with long runs of 300 steps.
"""

from __future__ import annotations

from typing import Any

from golden_cases.harness import GradSpec
from golden_cases.rmsprop import _case, _clip, _float_wd, _sched, gnorm, l1, l2, norm, value

DTYPES = ("float32", "float64")

_PD = "paddle.optimizer.lr."
PD_EXP = _sched(_PD + "ExponentialDecay", learning_rate=0.05, gamma=0.97)
PD_STEP = _sched(_PD + "StepDecay", learning_rate=0.05, step_size=7, gamma=0.5)
PD_PIECE = _sched(_PD + "PiecewiseDecay", boundaries=[10, 25], values=[0.05, 0.02, 0.01])
PD_STEP_LONG = _sched(_PD + "StepDecay", learning_rate=0.02, step_size=60, gamma=0.6)

_TS = "torch.optim.lr_scheduler."
T_STEP = _sched(_TS + "StepLR", step_size=7, gamma=0.5)
T_EXP = _sched(_TS + "ExponentialLR", gamma=0.97)
T_STEP_LONG = _sched(_TS + "StepLR", step_size=60, gamma=0.6)


def _paddle(label, dtype, steps, *, batch_num, schedule, clip=None, wd=None) -> Any:
  return _case(
    "paddle", label, dtype, steps, "paddle.optimizer.ASGD",
    kwargs={"batch_num": batch_num}, schedule=schedule, clip=[clip] if clip else [], weight_decay=wd,
  )  # fmt: skip


def paddle_cases() -> list:
  out = []
  for dt in DTYPES:
    out += [
      _paddle("n1_sgd_exp", dt, 40, batch_num=1, schedule=PD_EXP),
      _paddle("n3_step", dt, 60, batch_num=3, schedule=PD_STEP),
      _paddle("n4_float_wd_piece", dt, 60, batch_num=4, schedule=PD_PIECE, wd=_float_wd(0.05)),
      _paddle("n3_gnorm_l2_exp", dt, 40, batch_num=3, schedule=PD_EXP, clip=gnorm(2.0), wd=l2(0.05)),
      _paddle("n4_value_asym_l1_step", dt, 40, batch_num=4, schedule=PD_STEP, clip=value(max=0.8, min=-0.3),
              wd=l1(0.02)),
      _paddle("n2_gnorm_skip_float_wd_piece", dt, 40, batch_num=2, schedule=PD_PIECE,
              clip=gnorm(2.0, auto_skip_clip=True), wd=_float_wd(0.05)),
      _paddle("long_n5_gnorm_l2_step", dt, 300, batch_num=5, schedule=PD_STEP_LONG, clip=gnorm(2.0),
              wd=l2(0.01)),
    ]  # fmt: skip
  out += [  # ClipGradByNorm: Paddle's CPU kernel is float32-only
    _paddle("n3_norm_l1_exp", "float32", 40, batch_num=3, schedule=PD_EXP, clip=norm(1.0), wd=l1(0.02)),
  ]
  return out


def _ax(opt: Any, variables: list) -> list:
  """torch.optim.ASGD keeps the average in ``state[p]["ax"]``."""
  return [opt.state[v]["ax"].detach().numpy().copy() for v in variables]


def _torch(label, dtype, steps, *, schedule, clips=(), **kwargs) -> Any:
  kwargs = {"lr": 0.02, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6, **kwargs}
  spec = GradSpec(drift=-1.0 if kwargs.get("maximize") else 1.0)
  note = "eta and mu are float32 (torch's default dtype) also for float64 parameters"
  return _case("torch", label, dtype, steps, "torch.optim.ASGD", kwargs=kwargs, schedule=schedule,
               clip=list(clips), grad_spec=spec, extras={"ax": _ax}, notes=note)  # fmt: skip


def torch_cases() -> list:
  cn = lambda c: _clip("torch.nn.utils.clip_grad_norm_", max_norm=c, norm_type=2.0)  # noqa: E731
  out = []
  for dt in DTYPES:
    out += [
      _torch("defaults_step", dt, 40, schedule=T_STEP, lr=0.01),  # torch's defaults
      _torch("t0_5_lambd_exp", dt, 60, schedule=T_EXP, lambd=0.05, t0=5.0),
      _torch("t0_0_alpha_wd_maximize_step", dt, 40, schedule=T_STEP, lambd=0.1, alpha=0.5, t0=0.0,
             weight_decay=0.05, maximize=True),
      _torch("clipnorm_t0_10_exp", dt, 40, schedule=T_EXP, clips=[cn(2.0)], lambd=0.01, t0=10.0),
      _torch("long_t0_100_wd_step", dt, 300, schedule=T_STEP_LONG, lambd=0.01, t0=100.0, weight_decay=0.01),
    ]  # fmt: skip
  return out


def cases() -> list:
  return paddle_cases() + torch_cases()
