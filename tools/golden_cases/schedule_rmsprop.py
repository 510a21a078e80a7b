"""Schedule-driven RMSProp goldens: one float32 Paddle RMSProp run with momentum per schedule class.

Run by tools/make_golden.py as the family ``schedules`` (the files are
``tests/golden/schedules/paddle_rmsprop_*``): the Paddle scheduler is the optimizer's learning rate,
stepped after every update; one more run steps a scheduler once per epoch, and one feeds
ReduceOnPlateau a metric at the end of each epoch. The schedule types are the builders of
golden_cases/schedules.py (`paddle_scheduler`, `paddle_per_epoch`, `paddle_plateau`), whose
configurations are those of the lr tables (``F.<name>`` a function, `inner` an inner scheduler).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from golden_cases.harness import Case, named_case, spec
from golden_cases.schedules import F, inner, paddle_per_epoch, paddle_plateau, paddle_scheduler

RMS = {"rho": 0.9, "epsilon": 1e-6, "momentum": 0.9, "centered": False}
# class -> kwargs of a schedule that changes several times within 60 updates
TRAJECTORY_SCHEDULES: dict[str, dict[str, Any]] = {
  "StepDecay": dict(learning_rate=0.01, step_size=7, gamma=0.5),
  "MultiStepDecay": dict(learning_rate=0.01, milestones=[5, 17, 30], gamma=0.5),
  "PiecewiseDecay": dict(boundaries=[10, 25, 40], values=[0.01, 0.005, 0.002, 0.001]),
  "NaturalExpDecay": dict(learning_rate=0.01, gamma=0.05),
  "InverseTimeDecay": dict(learning_rate=0.01, gamma=0.1),
  "PolynomialDecay": dict(learning_rate=0.01, decay_steps=15, end_lr=0.001, power=2.0, cycle=True),
  "LinearWarmup": dict(
    learning_rate=inner("CosineAnnealingDecay", learning_rate=0.01, T_max=15), warmup_steps=8, start_lr=0.0,
    end_lr=0.01,
  ),
  "ExponentialDecay": dict(learning_rate=0.01, gamma=0.95),
  "LambdaDecay": dict(learning_rate=0.01, lr_lambda=F.inv_sqrt),
  "MultiplicativeDecay": dict(learning_rate=0.01, lr_lambda=F.three_quarters_every_3),
  "NoamDecay": dict(d_model=64, warmup_steps=10, learning_rate=0.1),
  "CosineAnnealingDecay": dict(learning_rate=0.01, T_max=12, eta_min=0.001),
  "OneCycleLR": dict(max_learning_rate=0.01, total_steps=60, phase_pct=0.25),
  "CyclicLR": dict(
    base_learning_rate=0.001, max_learning_rate=0.01, step_size_up=6, step_size_down=9, mode="triangular2"
  ),
  "LinearLR": dict(learning_rate=0.01, total_steps=20, start_factor=0.2),
  "CosineAnnealingWarmRestarts": dict(learning_rate=0.01, T_0=5, T_mult=2, eta_min=0.0005),
}  # fmt: skip
PER_EPOCH = {"cls": "CosineAnnealingDecay", "kwargs": dict(learning_rate=0.01, T_max=5), "steps_per_epoch": 4}
# reductions after epochs 3, 7 and 10; the metric of epochs 4, 8 and 11 is ignored (cooldown)
PLATEAU = dict(
  learning_rate=0.01, factor=0.5, patience=1, cooldown=1,
  metrics=[1.0, 1.0, 1.0, 0.5, 0.9, 0.95, 0.95, 0.1, 0.92, 0.93, 0.5, 0.4], steps_per_epoch=5,
)  # fmt: skip


def _schedule(builder: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
  """A schedule spec whose type is one of the builders of golden_cases/schedules.py."""
  return spec(f"{builder.__module__}.{builder.__name__}", **kwargs)


def _snake(cls: str) -> str:
  return "".join("_" + ch.lower() if ch.isupper() else ch for ch in cls).lstrip("_").replace("_l_r", "_lr")


def _rms_case(label: str, schedule: dict[str, Any], notes: str = "") -> Case:
  return named_case(
    f"paddle_rmsprop_{label}", framework="paddle", dtype="float32", steps=60,
    optimizer="paddle.optimizer.RMSProp", kwargs=dict(RMS), schedule=schedule, notes=notes,
  )  # fmt: skip


def cases() -> list[Case]:
  """One float32 Paddle RMSProp run with momentum per schedule class (the schedule as its learning
  rate), one with a scheduler stepped once per epoch, one with ReduceOnPlateau."""
  out = [
    _rms_case(_snake(cls), _schedule(paddle_scheduler, cls=cls, kwargs=kw))
    for cls, kw in TRAJECTORY_SCHEDULES.items()
  ]
  per_epoch = _schedule(paddle_per_epoch, **PER_EPOCH)
  out.append(
    _rms_case("per_epoch_cosine", per_epoch, "the scheduler steps once every steps_per_epoch updates")
  )
  plateau = _schedule(paddle_plateau, **PLATEAU)
  out.append(
    _rms_case("reduce_on_plateau", plateau, "ReduceOnPlateau.step(metric) at the last update of each epoch")
  )
  return out
