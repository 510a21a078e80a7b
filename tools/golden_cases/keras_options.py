"""Keras RMSprop options goldens: ``exclude_from_weight_decay`` (tf_keras and Keras 3), Keras 3's
``gradient_accumulation_steps`` and ``loss_scale_factor``, each with a Keras schedule.

The leaves are named as Keras layers name them (``bias``, ``kernel``, ``scale``), and the variables
get those names, so the exclusion by name works as in a model. The exclusion is written in the weight
decay spec, ``{"type": "float", "value": wd, "exclude_from_weight_decay": {"var_list": [leaf names],
"var_names": [patterns]}}``: the runners call the optimizer's ``exclude_from_weight_decay`` before it
is built, with the variables of those leaves. Accumulation cases record the EMA average as the extra
``average``; every case has momentum and a non-constant schedule (float64 cases only schedules whose
float32 value is computed exactly, without ``cos``, ``log`` or ``pow`` of a fraction). A few cases run
for 300 steps.
"""

from __future__ import annotations

from typing import Any

from golden_cases.ema import _average_keras
from golden_cases.harness import DTYPES, Case, float_wd, keras_case, spec

SHAPES = {"bias": (3,), "kernel": (2, 3), "scale": ()}
DEFAULTS = {"rho": 0.9, "epsilon": 1e-7, "momentum": 0.9, "centered": False}


def excluded(wd: float, var_list: list[str] | None = None, var_names: list[str] | None = None) -> dict:
  """The weight decay spec with an exclusion (see the module docstring)."""
  out = float_wd(wd)
  out["exclude_from_weight_decay"] = {"var_list": var_list, "var_names": var_names}
  return out


def schedules(framework: str) -> dict[str, dict[str, Any]]:
  """Keras schedules of every class: ``exp``, ``cosine`` and ``restarts`` for float32 cases; ``piece``,
  ``inverse``, ``poly`` and ``step`` are computed exactly in float32 (no ``cos``, ``log`` or ``pow`` of a
  fraction) and serve float64 cases too."""
  base = framework + ".optimizers.schedules."
  return {
    "piece": spec(base + "PiecewiseConstantDecay", boundaries=[15, 40], values=[0.01, 0.004, 0.001]),
    "inverse": spec(base + "InverseTimeDecay", initial_learning_rate=0.01, decay_steps=10, decay_rate=1.0,
                    staircase=True),
    "poly": spec(base + "PolynomialDecay", initial_learning_rate=0.01, decay_steps=40,
                 end_learning_rate=0.001, power=1.0, cycle=True),
    "step": spec(base + "ExponentialDecay", initial_learning_rate=0.005, decay_steps=100, decay_rate=0.5,
                 staircase=True),
    "exp": spec(base + "ExponentialDecay", initial_learning_rate=0.005, decay_steps=30, decay_rate=0.9),
    "cosine": spec(base + "CosineDecay", initial_learning_rate=0.001, decay_steps=60, alpha=0.1,
                   warmup_target=0.01, warmup_steps=10),
    "restarts": spec(base + "CosineDecayRestarts", initial_learning_rate=0.01, first_decay_steps=10,
                     t_mul=2.0, m_mul=0.8, alpha=0.05),
  }  # fmt: skip


def _case(framework: str, label: str, dtype: str, steps: int, *, schedule: tuple[str, str], wd=None,
          ema: bool = False, **kwargs) -> Case:  # fmt: skip
  """`schedule`: the keys of the float32 and of the float64 case's schedule; `wd` a weight decay spec."""
  key = schedule[0] if dtype == "float32" else schedule[1]
  extras = {"average": _average_keras} if ema else None
  if ema:
    kwargs.update(use_ema=True)
  case = keras_case(
    framework, "RMSprop", label, dtype, steps, schedule=schedules(framework)[key], defaults=DEFAULTS,
    extras=extras, **kwargs,
  )  # fmt: skip
  case.shapes = dict(SHAPES)
  case.weight_decay = wd
  return case


def exclusion_cases(framework: str) -> list[Case]:
  out = []
  for dt in DTYPES:
    out += [
      _case(framework, "exclude_bias_mom", dt, 60, schedule=("restarts", "piece"),
            wd=excluded(0.1, var_names=["bias"])),
      _case(framework, "exclude_list_and_regex_centered_gnorm_mom", dt, 60, schedule=("cosine", "poly"),
            wd=excluded(0.2, var_list=["scale"], var_names=["^k.rn"]), centered=True,
            clips=[("global_clipnorm", 2.0)]),
      _case(framework, "long_exclude_two_regexes_clipnorm_mom", dt, 300, schedule=("exp", "inverse"),
            wd=excluded(0.05, var_names=["sca", "^b"]), clips=[("clipnorm", 1.5)]),
    ]  # fmt: skip
  return out


def keras3_cases() -> list[Case]:
  out = []
  for dt in DTYPES:
    out += [
      _case("keras", "accumulate2_ema_f3_mom_wd", dt, 60, schedule=("poly", "poly"), ema=True,
            gradient_accumulation_steps=2, ema_overwrite_frequency=3, ema_momentum=0.9, wd=float_wd(0.05)),
      _case("keras", "accumulate3_ema_f2_gnorm_exclude_centered_mom", dt, 90, schedule=("cosine", "piece"),
            ema=True, gradient_accumulation_steps=3, ema_overwrite_frequency=2, ema_momentum=0.8,
            centered=True, clips=[("global_clipnorm", 1.0)], wd=excluded(0.1, var_names=["bias"])),
      _case("keras", "accumulate3_mom_wd", dt, 60, schedule=("inverse", "inverse"),
            gradient_accumulation_steps=3, wd=float_wd(0.05)),
      _case("keras", "loss_scale10_mom_wd", dt, 60, schedule=("restarts", "step"), loss_scale_factor=10.0,
            wd=float_wd(0.05)),
      _case("keras", "long_accumulate2_ema_f5_loss_scale7_clipvalue_exclude_mom", dt, 300,
            schedule=("exp", "step"), ema=True, gradient_accumulation_steps=2, ema_overwrite_frequency=5,
            loss_scale_factor=7.0, clips=[("clipvalue", 0.5)], wd=excluded(0.02, var_list=["kernel"])),
    ]  # fmt: skip
  return out


def cases() -> list[Case]:
  return exclusion_cases("tf_keras") + exclusion_cases("keras") + keras3_cases()
