"""Paddle per-parameter attributes (``paddle.ParamAttr``) and parameter groups: RMSProp, RAdam, ASGD.

Cases run over four leaves {"b": (3,), "s": (), "v": (2,), "w": (2, 3)} with two conventions of the
optimizer kwargs (the runner pops them, tests/golden_utils.py maps them to ours):
  * ``param_attrs``: ``{leaf: {ParamAttr kwargs}}``, its ``regularizer`` a weight-decay spec
    (`harness.l2`, `harness.l1`); leaves not named get Paddle's default attributes.
  * ``parameters``: Paddle's groups ``[{"params": [leaf names], <key>: value}, ...]``, a group's
    ``weight_decay`` a float or a spec and its ``grad_clip`` a clip spec or None (no clip); a leaf in
    no group is not given to Paddle (it never moves).
They cover a group's learning_rate (a multiplier of the scheduled rate, inside RMSProp's momentum),
weight_decay, grad_clip (a global norm per group; None: unclipped) and kernel options (rho, momentum,
centered, beta1, beta2, epsilon); a ParamAttr's learning_rate multiplier and regularizer (replacing
the optimizer's weight_decay), need_clip=False under a global-norm, a per-tensor and a value clip,
trainable=False; ParamAttr and groups together (the group's learning_rate and weight_decay replace the
leaf's); a leaf in no group. Every case has a non-constant schedule, RMSProp cases momentum; float32
and float64 (ClipGradByNorm: float32 only, Paddle's CPU kernel), two of 300 steps. Multipliers such as
0.3 are not float32 numbers, so the float64 cases check that the scaled rate is computed in double.
Paddle 3.3.1's RMSProp and RAdam take no ``multi_precision`` argument, so there is no such case.
"""

from __future__ import annotations

from typing import Any

from golden_cases import harness as h
from golden_cases.harness import DTYPES, Case, by_gnorm, by_norm, by_value, float_wd, l1, l2

SHAPES = {"b": (3,), "s": (), "v": (2,), "w": (2, 3)}
PD = h.paddle_schedules(exp=0.01, step=0.02, piece=[0.02, 0.01, 0.005], step_long=0.01)
RMS = {"rho": 0.95, "epsilon": 1e-6, "momentum": 0.9, "centered": False}
RADAM = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}


def _case(
  optimizer: str,
  label: str,
  dtype: str,
  steps: int,
  *,
  schedule,
  clip=None,
  wd=None,
  defaults=None,
  **kwargs: Any,
) -> Case:
  return h.make_case(
    "paddle", label, dtype, steps, f"paddle.optimizer.{optimizer}", kwargs=h.with_defaults(defaults, kwargs),
    schedule=schedule, clip=[clip] if clip else [], weight_decay=wd, shapes=dict(SHAPES),
  )  # fmt: skip


def _rms(label, dtype, steps, **kw):
  return _case("RMSProp", "rms_" + label, dtype, steps, defaults=RMS, **kw)


def _radam(label, dtype, steps, **kw):
  return _case("RAdam", "radam_" + label, dtype, steps, defaults=RADAM, **kw)


def _asgd(label, dtype, steps, **kw):
  return _case("ASGD", "asgd_" + label, dtype, steps, **kw)


def cases() -> list[Case]:
  out = []
  for dt in DTYPES:
    out += [
      # groups: multiplier, per-group weight decay (overriding the optimizer's), kernel options, a
      # global norm per group, a group without clip
      _rms("groups_lr_wd_options_gnorm_exp", dt, 60, schedule=PD.exp, clip=by_gnorm(1.5), wd=float_wd(0.02),
           parameters=[{"params": ["w"], "learning_rate": 0.3, "weight_decay": l1(0.01)},
                       {"params": ["b", "v"], "learning_rate": 2.5, "rho": 0.8, "momentum": 0.5,
                        "weight_decay": 0.05},
                       {"params": ["s"], "centered": True, "grad_clip": None}]),
      # ParamAttr: multipliers and regularizers replacing the optimizer's
      _rms("attrs_lr_regularizer_centered_step", dt, 60, schedule=PD.step, wd=l2(0.02), centered=True,
           param_attrs={"w": {"learning_rate": 0.3, "regularizer": l1(0.05)}, "b": {"regularizer": l2(0.1)},
                        "v": {"learning_rate": 1.7}}),
      # ParamAttr inside groups (learning_rate and regularizer replaced by the group's, need_clip and
      # trainable kept), a group's own clip, a leaf (v) in no group
      _rms("groups_attrs_override_step", dt, 60, schedule=PD.step, clip=by_gnorm(1.0), wd=l1(0.01),
           param_attrs={"w": {"learning_rate": 0.3, "regularizer": l2(0.2), "need_clip": False},
                        "b": {"learning_rate": 3.0}, "s": {"trainable": False}},
           parameters=[{"params": ["w", "b"], "learning_rate": 0.5},
                       {"params": ["s"], "weight_decay": 0.1, "grad_clip": by_value(max=0.3)}]),
      _rms("long_groups_attrs_gnorm_step", dt, 300, schedule=PD.step_long, clip=by_gnorm(2.0), wd=l2(0.01),
           param_attrs={"b": {"need_clip": False}},
           parameters=[{"params": ["w", "b"], "learning_rate": 0.3},
                       {"params": ["s", "v"], "learning_rate": 1.5, "momentum": 0.5,
                        "weight_decay": l1(0.005)}]),
      _radam("groups_betas_eps_gnorm_exp", dt, 60, schedule=PD.exp, clip=by_gnorm(2.0), wd=float_wd(0.01),
             param_attrs={"b": {"need_clip": False}},
             parameters=[{"params": ["w"], "beta1": 0.8, "beta2": 0.99, "learning_rate": 0.3},
                         {"params": ["b", "s"], "epsilon": 1e-3, "weight_decay": l2(0.05)}]),
      _radam("attrs_lr_regularizer_value_step", dt, 60, schedule=PD.step, clip=by_value(max=0.6),
             wd=float_wd(0.05),
             param_attrs={"w": {"learning_rate": 2.5, "regularizer": l1(0.02)}, "b": {"need_clip": False},
                          "v": {"learning_rate": 0.3, "trainable": False}}),
      _asgd("groups_attrs_n3_gnorm_piece", dt, 60, schedule=PD.piece, clip=by_gnorm(1.5), wd=l2(0.02),
            batch_num=3, param_attrs={"v": {"need_clip": False}},
            parameters=[{"params": ["w", "v"], "learning_rate": 0.3, "weight_decay": l1(0.01)},
                        {"params": ["b"], "learning_rate": 1.7, "grad_clip": by_value(max=0.4)}]),
      _asgd("attrs_n2_lr_regularizer_exp", dt, 60, schedule=PD.exp, clip=by_value(max=0.8, min=-0.3),
            wd=float_wd(0.02), batch_num=2,
            param_attrs={"w": {"learning_rate": 0.3, "regularizer": l1(0.05)}, "b": {"need_clip": False},
                         "s": {"trainable": False}}),
    ]  # fmt: skip
  out += [  # ClipGradByNorm: Paddle's CPU kernel is float32-only
    _rms("attrs_need_clip_norm_exp", "float32", 60, schedule=PD.exp, clip=by_norm(0.5),
         param_attrs={"b": {"need_clip": False}, "w": {"learning_rate": 0.3}}),
  ]  # fmt: skip
  return out
