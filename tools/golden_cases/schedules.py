"""Schedule goldens: Paddle's lr at every count, the PyTorch and Keras look-alikes, RMSProp runs.

Two kinds of data, both from the real frameworks:

* learning-rate values (run this file: ``/work/venv-fw/bin/python tools/golden_cases/schedules.py``)
  writes ``tests/golden/schedules/lr/<class>.npz`` + ``.json``. For every configuration ``<case>`` of
  a ``paddle.optimizer.lr`` class: ``<case>/paddle`` the lr Paddle reports at counts 0..N (stepping
  the scheduler once per count, as an optimizer loop does); ``<case>/long_count`` and
  ``<case>/long_ref`` reference values at counts up to 10**7 (``long_source`` in the .json says
  whether Paddle's own ``step(epoch=k)`` made them, for classes whose ``get_lr`` is a closed form,
  or a float64 numpy formula, also stored at 0..N as ``<case>/numpy`` so the test can check it
  against Paddle first); ``<case>/torch`` and ``<case>/tf_keras``, ``<case>/keras`` the values of the
  PyTorch scheduler and Keras schedules that docs/schedules.md claims equal. ReduceOnPlateau: the
  lr after each metric of a seeded metric sequence (``<case>/metrics``).
* RMSProp trajectories (``cases()``, run by tools/make_golden.py as the family ``schedules``): one
  float32 ``paddle.optimizer.RMSProp`` run with momentum per schedule class.

Arguments that are functions (lr_lambda, scale_fn, an inner scheduler) are written in the
configuration as ``{"$fn": name}`` (a function of `FUNCTIONS`; the test has a jnp twin of each) and
``{"$sched": {"class": ..., "kwargs": ...}}``.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make `golden_cases` importable
  sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from golden_cases.harness import Case  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "schedules" / "lr"
LONG = 10**7

# Named functions for lr_lambda / scale_fn (float64 Python, as Paddle and PyTorch call them).
FUNCTIONS = {
  "inv_sqrt": lambda e: 1.0 / math.sqrt(1.0 + e),
  "half_every_7": lambda e: 0.5 ** (e // 7),
  "const_095": lambda k: 0.95,
  "const_near_one": lambda k: 0.9999999,
  "three_quarters_every_3": lambda k: 0.75 if k % 3 == 0 else 1.0,
  "harmonic": lambda k: k / (k + 1.0),
  "inv_cycle": lambda x: 1.0 / x,
  "decay_iter": lambda x: 1.0 / (1.0 + 0.01 * x),
}


def _case(name, kwargs, n, *, long=False, torch=None, keras=None, numpy_ref=None, note=""):
  return dict(
    name=name, kwargs=kwargs, n=n, long=long, torch=torch, keras=keras, numpy_ref=numpy_ref, note=note
  )


def _fn(name):
  return {"$fn": name}


def _sched(cls, **kwargs):
  return {"$sched": {"class": cls, "kwargs": kwargs}}


def _k(cls, upto=None, **kwargs):
  """A Keras schedule (tf_keras and Keras 3), compared on counts 0..upto (all when None)."""
  return dict(cls=cls, kwargs=kwargs, upto=upto)


def _t(cls, lr, **kwargs):
  """A PyTorch scheduler on an SGD optimizer with learning rate lr."""
  return dict(cls=cls, lr=lr, kwargs=kwargs)


E = math.exp
# class -> configurations. N is well past every boundary, period and total_steps.
LR_CASES: dict[str, list[dict[str, Any]]] = {
  "StepDecay": [
    _case(
      "a",
      dict(learning_rate=0.5, step_size=7, gamma=0.1),
      120,
      long=True,
      torch=_t("StepLR", 0.5, step_size=7, gamma=0.1),
      keras=_k("ExponentialDecay", initial_learning_rate=0.5, decay_steps=7, decay_rate=0.1, staircase=True),
    ),
    _case(
      "b",
      dict(learning_rate=0.1, step_size=30, gamma=0.5),
      400,
      long=True,
      torch=_t("StepLR", 0.1, step_size=30, gamma=0.5),
    ),
    _case("c", dict(learning_rate=1.0, step_size=1, gamma=0.97), 600, long=True),
    _case("d_defaults", dict(learning_rate=0.3, step_size=3), 60),
    _case(
      "e_slow",
      dict(learning_rate=0.5, step_size=1_000_000, gamma=0.8),
      100,
      long=True,
      note="a rate still well above 0 at 10**7: the long-range check is not trivial",
    ),
  ],
  "MultiStepDecay": [
    _case(
      "a",
      dict(learning_rate=0.5, milestones=[3, 10, 25], gamma=0.1),
      60,
      long=True,
      torch=_t("MultiStepLR", 0.5, milestones=[3, 10, 25], gamma=0.1),
      keras=_k("PiecewiseConstantDecay", boundaries=[2, 9, 24], values=[0.5, 0.05, 0.005, 0.0005]),
    ),
    _case(
      "b",
      dict(learning_rate=0.1, milestones=[100, 250, 251, 600], gamma=0.3),
      800,
      long=True,
      torch=_t("MultiStepLR", 0.1, milestones=[100, 250, 251, 600], gamma=0.3),
    ),
  ],
  "PiecewiseDecay": [
    _case(
      "a",
      dict(boundaries=[5, 20, 50], values=[0.1, 0.05, 0.01, 0.001]),
      100,
      long=True,
      keras=_k("PiecewiseConstantDecay", boundaries=[4, 19, 49], values=[0.1, 0.05, 0.01, 0.001]),
    ),
    _case(
      "b_unsorted_extra_values",
      dict(boundaries=[30, 10], values=[1.0, 0.5, 0.25, 0.125]),
      60,
      note="unsorted boundaries: the first one above the count wins; past all of them values[-1]",
    ),
  ],
  "NaturalExpDecay": [
    _case(
      "a",
      dict(learning_rate=0.5, gamma=0.1),
      300,
      long=True,
      torch=_t("ExponentialLR", 0.5, gamma=E(-0.1)),
      keras=_k("ExponentialDecay", initial_learning_rate=0.5, decay_steps=1, decay_rate=E(-0.1)),
    ),
    _case("b", dict(learning_rate=0.01, gamma=0.003), 3000, long=True),
    _case(
      "c_slow",
      dict(learning_rate=0.5, gamma=1.3e-7),
      100,
      long=True,
      note="a rate still well above 0 at 10**7: the long-range check is not trivial",
    ),
  ],
  "InverseTimeDecay": [
    _case(
      "a",
      dict(learning_rate=0.5, gamma=0.1),
      500,
      long=True,
      keras=_k("InverseTimeDecay", initial_learning_rate=0.5, decay_steps=1, decay_rate=0.1),
    ),
    _case("b", dict(learning_rate=0.02, gamma=1.7), 500, long=True),
    _case(
      "c_slow",
      dict(learning_rate=0.5, gamma=1.1e-6),
      100,
      long=True,
      note="a rate still well above 0 at 10**7: the long-range check is not trivial",
    ),
  ],
  "PolynomialDecay": [
    _case(
      "a",
      dict(learning_rate=0.1, decay_steps=50),
      150,
      long=True,
      keras=_k("PolynomialDecay", initial_learning_rate=0.1, decay_steps=50),
    ),
    _case(
      "b_cycle",
      dict(learning_rate=0.1, decay_steps=50, end_lr=0.001, power=2.0, cycle=True),
      300,
      long=True,
      keras=_k(
        "PolynomialDecay",
        initial_learning_rate=0.1,
        decay_steps=50,
        end_learning_rate=0.001,
        power=2.0,
        cycle=True,
      ),
    ),
    _case(
      "c_cycle_sqrt",
      dict(learning_rate=0.5, decay_steps=37, end_lr=0.0, power=0.5, cycle=True),
      300,
      long=True,
    ),
    _case(
      "d_to_zero",
      dict(learning_rate=0.5, decay_steps=40, end_lr=0.0, power=0.5),
      100,
      torch=_t("PolynomialLR", 0.5, total_iters=40, power=0.5),
      keras=_k(
        "PolynomialDecay", initial_learning_rate=0.5, decay_steps=40, end_learning_rate=0.0, power=0.5
      ),
    ),
  ],
  "LinearWarmup": [
    _case("a_float", dict(learning_rate=0.1, warmup_steps=20, start_lr=0.0, end_lr=0.1), 60, long=True),
    _case(
      "b_cosine",
      dict(
        learning_rate=_sched("CosineAnnealingDecay", learning_rate=0.1, T_max=50),
        warmup_steps=10,
        start_lr=0.001,
        end_lr=0.1,
      ),
      300,
      long=True,
      keras=_k(
        "CosineDecay",
        upto=60,
        initial_learning_rate=0.001,
        decay_steps=50,
        warmup_target=0.1,
        warmup_steps=10,
      ),
    ),
    _case(
      "c_step",
      dict(
        learning_rate=_sched("StepDecay", learning_rate=0.05, step_size=10, gamma=0.5),
        warmup_steps=25,
        start_lr=0.0,
        end_lr=0.05,
      ),
      200,
      long=True,
    ),
    _case(
      "d_linear_lr",
      dict(
        learning_rate=_sched("LinearLR", learning_rate=0.2, total_steps=30, start_factor=0.25),
        warmup_steps=5,
        start_lr=0.01,
        end_lr=0.05,
      ),
      100,
    ),
    _case(
      "e_warm_restarts",
      dict(
        learning_rate=_sched("CosineAnnealingWarmRestarts", learning_rate=0.1, T_0=4, T_mult=2),
        warmup_steps=6,
        start_lr=0.0,
        end_lr=0.1,
      ),
      200,
    ),
    _case(
      "f_warm_restarts_log_quirk",
      dict(
        learning_rate=_sched(
          "CosineAnnealingWarmRestarts", learning_rate=0.1, T_0=5, T_mult=3, eta_min=0.001
        ),
        warmup_steps=5,
        start_lr=0.0,
        end_lr=0.1,
      ),
      700,
      note="LinearWarmup steps its inner scheduler with step(e - W); CosineAnnealingWarmRestarts.step(epoch) "
      "finds the cycle with int(math.log(epoch / T_0 * (T_mult - 1) + 1, T_mult)), which is 4.999... at "
      "epoch 605 and picks the previous cycle there",
    ),
  ],
  "ExponentialDecay": [
    _case(
      "a",
      dict(learning_rate=0.5, gamma=0.9),
      400,
      long=True,
      torch=_t("ExponentialLR", 0.5, gamma=0.9),
      keras=_k("ExponentialDecay", initial_learning_rate=0.5, decay_steps=1, decay_rate=0.9),
    ),
    _case("b", dict(learning_rate=0.1, gamma=0.999), 3000, long=True),
    _case(
      "c_slow",
      dict(learning_rate=0.5, gamma=0.99999987),
      100,
      long=True,
      note="a rate still well above 0 at 10**7: the long-range check is not trivial",
    ),
  ],
  "LambdaDecay": [
    _case(
      "a_inv_sqrt",
      dict(learning_rate=0.5, lr_lambda=_fn("inv_sqrt")),
      300,
      long=True,
      torch=_t("LambdaLR", 0.5, lr_lambda=_fn("inv_sqrt")),
    ),
    _case(
      "b_half_every_7",
      dict(learning_rate=0.1, lr_lambda=_fn("half_every_7")),
      100,
      long=True,
      torch=_t("LambdaLR", 0.1, lr_lambda=_fn("half_every_7")),
    ),
  ],
  "MultiplicativeDecay": [
    _case(
      "a_const",
      dict(learning_rate=0.5, lr_lambda=_fn("const_095")),
      400,
      long=True,
      torch=_t("MultiplicativeLR", 0.5, lr_lambda=_fn("const_095")),
      numpy_ref="multiplicative",
    ),
    _case(
      "b_every_3",
      dict(learning_rate=0.1, lr_lambda=_fn("three_quarters_every_3")),
      300,
      torch=_t("MultiplicativeLR", 0.1, lr_lambda=_fn("three_quarters_every_3")),
    ),
    _case(
      "c_harmonic",
      dict(learning_rate=1.0, lr_lambda=_fn("harmonic")),
      300,
      note="lambda(k) = k/(k+1) is not a float32 number: each factor carries its float32 rounding",
    ),
    _case(
      "d_const_slow",
      dict(learning_rate=0.5, lr_lambda=_fn("const_near_one")),
      100,
      long=True,
      numpy_ref="multiplicative",
      note="a rate still well above 0 at 10**7: the long-range check is not trivial",
    ),
  ],
  "NoamDecay": [
    _case("a", dict(d_model=512, warmup_steps=100), 500, long=True),
    _case("b", dict(d_model=64, warmup_steps=1000, learning_rate=2.0), 3000, long=True),
  ],
  "CosineAnnealingDecay": [
    _case(
      "a",
      dict(learning_rate=0.1, T_max=50),
      400,
      long=True,
      torch=_t("CosineAnnealingLR", 0.1, T_max=50),
      keras=_k("CosineDecay", upto=50, initial_learning_rate=0.1, decay_steps=50),
    ),
    _case(
      "b",
      dict(learning_rate=0.5, T_max=7, eta_min=0.01),
      100,
      long=True,
      torch=_t("CosineAnnealingLR", 0.5, T_max=7, eta_min=0.01),
      keras=_k("CosineDecay", upto=7, initial_learning_rate=0.5, decay_steps=7, alpha=0.02),
    ),
    _case("c", dict(learning_rate=1.0, T_max=1000), 2500, long=True),
  ],
  "OneCycleLR": [
    _case(
      "a_defaults",
      dict(max_learning_rate=0.1, total_steps=100),
      100,
      torch=_t(
        "OneCycleLR", 0.1, max_lr=0.1, total_steps=100, cycle_momentum=False, final_div_factor=0.1 / 25 / 1e-4
      ),
    ),
    _case(
      "b_three_linear",
      dict(
        max_learning_rate=0.1,
        total_steps=1000,
        divide_factor=10.0,
        end_learning_rate=0.0,
        phase_pct=0.25,
        anneal_strategy="linear",
        three_phase=True,
      ),
      1000,
      note="end_learning_rate=0: Paddle's linear value at count total_steps is negative",
    ),
    _case(
      "c_fractional",
      dict(max_learning_rate=1.0, total_steps=77, end_learning_rate=0.001, phase_pct=0.33),
      77,
      torch=_t(
        "OneCycleLR",
        1.0,
        max_lr=1.0,
        total_steps=77,
        pct_start=0.33,
        cycle_momentum=False,
        final_div_factor=1.0 / 25 / 0.001,
      ),
    ),
    _case(
      "d_three_cos",
      dict(max_learning_rate=0.05, total_steps=50, phase_pct=0.45, three_phase=True),
      50,
      torch=_t(
        "OneCycleLR",
        0.05,
        max_lr=0.05,
        total_steps=50,
        pct_start=0.45,
        three_phase=True,
        cycle_momentum=False,
        final_div_factor=0.05 / 25 / 1e-4,
      ),
    ),
    _case("e_long", dict(max_learning_rate=0.1, total_steps=LONG, phase_pct=0.3), 100, long=True),
  ],
  "CyclicLR": [
    _case(
      "a_triangular",
      dict(base_learning_rate=0.01, max_learning_rate=0.1, step_size_up=10),
      100,
      long=True,
      torch=_t("CyclicLR", 0.01, base_lr=0.01, max_lr=0.1, step_size_up=10, cycle_momentum=False),
    ),
    _case(
      "b_triangular2",
      dict(
        base_learning_rate=0.01, max_learning_rate=0.1, step_size_up=5, step_size_down=15, mode="triangular2"
      ),
      200,
      long=True,
      torch=_t(
        "CyclicLR",
        0.01,
        base_lr=0.01,
        max_lr=0.1,
        step_size_up=5,
        step_size_down=15,
        mode="triangular2",
        cycle_momentum=False,
      ),
    ),
    _case(
      "c_exp_range",
      dict(
        base_learning_rate=0.001,
        max_learning_rate=0.1,
        step_size_up=20,
        step_size_down=10,
        mode="exp_range",
        exp_gamma=0.99,
      ),
      300,
      long=True,
      torch=_t(
        "CyclicLR",
        0.001,
        base_lr=0.001,
        max_lr=0.1,
        step_size_up=20,
        step_size_down=10,
        mode="exp_range",
        gamma=0.99,
        cycle_momentum=False,
      ),
    ),
    _case(
      "d_scale_fn_cycle",
      dict(
        base_learning_rate=0.05,
        max_learning_rate=0.5,
        step_size_up=4,
        step_size_down=6,
        scale_fn=_fn("inv_cycle"),
      ),
      100,
      long=True,
      torch=_t(
        "CyclicLR",
        0.05,
        base_lr=0.05,
        max_lr=0.5,
        step_size_up=4,
        step_size_down=6,
        scale_fn=_fn("inv_cycle"),
        cycle_momentum=False,
      ),
    ),
    _case(
      "e_scale_fn_iterations",
      dict(
        base_learning_rate=0.0,
        max_learning_rate=1.0,
        step_size_up=7,
        scale_fn=_fn("decay_iter"),
        scale_mode="iterations",
      ),
      200,
      long=True,
      torch=_t(
        "CyclicLR",
        0.0,
        base_lr=0.0,
        max_lr=1.0,
        step_size_up=7,
        scale_fn=_fn("decay_iter"),
        scale_mode="iterations",
        cycle_momentum=False,
      ),
    ),
  ],
  "LinearLR": [
    _case(
      "a_defaults",
      dict(learning_rate=0.5, total_steps=10),
      30,
      long=True,
      numpy_ref="linear_lr",
      torch=_t("LinearLR", 0.5, total_iters=10, start_factor=1.0 / 3),
    ),
    _case(
      "b",
      dict(learning_rate=0.1, total_steps=200, start_factor=0.1, end_factor=0.5),
      400,
      long=True,
      numpy_ref="linear_lr",
      torch=_t("LinearLR", 0.1, total_iters=200, start_factor=0.1, end_factor=0.5),
    ),
    _case(
      "c_to_zero",
      dict(learning_rate=1.0, total_steps=100, start_factor=1.0, end_factor=0.0),
      200,
      long=True,
      numpy_ref="linear_lr",
      torch=_t("LinearLR", 1.0, total_iters=100, start_factor=1.0, end_factor=0.0),
    ),
  ],
  "CosineAnnealingWarmRestarts": [
    _case(
      "a",
      dict(learning_rate=0.1, T_0=10),
      100,
      long=True,
      torch=_t("CosineAnnealingWarmRestarts", 0.1, T_0=10),
      keras=_k("CosineDecayRestarts", initial_learning_rate=0.1, first_decay_steps=10, t_mul=1.0),
    ),
    _case(
      "b",
      dict(learning_rate=0.5, T_0=3, T_mult=2, eta_min=0.01),
      400,
      long=True,
      numpy_ref="warm_restarts",
      torch=_t("CosineAnnealingWarmRestarts", 0.5, T_0=3, T_mult=2, eta_min=0.01),
      keras=_k("CosineDecayRestarts", initial_learning_rate=0.5, first_decay_steps=3, t_mul=2.0, alpha=0.02),
    ),
    _case(
      "c",
      dict(learning_rate=1.0, T_0=5, T_mult=3),
      1000,
      long=True,
      numpy_ref="warm_restarts",
      torch=_t("CosineAnnealingWarmRestarts", 1.0, T_0=5, T_mult=3),
    ),
  ],
}


def _plateau_metrics(seed: int, n: int, kind: str) -> list[float]:
  """A seeded metric sequence with improvements, plateaus and noise; float32 numbers."""
  rng = np.random.default_rng(seed)
  t = np.arange(n)
  if kind == "min":
    base = 2.0 * np.exp(-t / 15.0) + 0.5 * (t > 40) - 0.3 * (t > 90)
  else:
    base = 0.9 - 0.8 * np.exp(-t / 20.0) - 0.1 * (t > 70)
  noisy = base + rng.normal(0, 0.01, n) * (rng.random(n) < 0.5)
  return [float(np.float32(v)) for v in noisy]


PLATEAU_CASES = [
  _case("a_defaults", dict(learning_rate=0.1), 150, note="metric: _plateau_metrics(1, 150, 'min')"),
  _case(
    "b_max_abs_cooldown",
    dict(
      learning_rate=0.5,
      mode="max",
      factor=0.5,
      patience=2,
      threshold=0.01,
      threshold_mode="abs",
      cooldown=3,
      min_lr=0.01,
    ),
    150,
  ),
  _case(
    "c_min_rel_epsilon",
    dict(learning_rate=0.05, factor=0.3, patience=1, threshold=0.05, cooldown=2, epsilon=0.002),
    150,
  ),
  _case("d_no_cooldown", dict(learning_rate=1.0, factor=0.5, patience=3, threshold=0.0), 150),
  _case(
    "e_cooldown_ignores_metric",
    dict(learning_rate=1.0, factor=0.5, patience=0, cooldown=2),
    12,
    note="a better metric inside the cooldown: Paddle ignores it, torch takes it as the best",
  ),
]
# name -> (seed, kind) of _plateau_metrics, or the metric list itself
PLATEAU_METRICS = {
  "a_defaults": (1, "min"),
  "b_max_abs_cooldown": (2, "max"),
  "c_min_rel_epsilon": (3, "min"),
  "d_no_cooldown": (4, "min"),
  "e_cooldown_ignores_metric": [1.0, 2.0, 0.5, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7],
}


# One bad argument each (or a valid edge case): Paddle's exception type is recorded, and the test
# checks that ours raises the same type.
_F = {"$fn": "inv_sqrt"}
VALIDATION = [
  ("StepDecay", dict(learning_rate=0.1, step_size=2.0)),
  ("StepDecay", dict(learning_rate=0.1, step_size=0)),
  ("StepDecay", dict(learning_rate=0.1, step_size=-3)),
  ("StepDecay", dict(learning_rate=0.1, step_size=3, gamma=1.0)),
  ("StepDecay", dict(learning_rate="0.1", step_size=3)),
  ("StepDecay", dict(learning_rate=-0.1, step_size=3)),
  ("StepDecay", dict(learning_rate=1, step_size=3)),
  ("MultiStepDecay", dict(learning_rate=0.1, milestones=(3, 2))),
  ("MultiStepDecay", dict(learning_rate=0.1, milestones=5)),
  ("MultiStepDecay", dict(learning_rate=0.1, milestones=[2, 3], gamma=1.5)),
  ("MultiStepDecay", dict(learning_rate=0.1, milestones=[])),
  ("PiecewiseDecay", dict(boundaries=[], values=[0.1])),
  ("PiecewiseDecay", dict(boundaries=[3, 5], values=[0.1, 0.2])),
  ("NaturalExpDecay", dict(learning_rate=0.1, gamma=0.0)),
  ("NaturalExpDecay", dict(learning_rate=0.1, gamma=-1.0)),
  ("InverseTimeDecay", dict(learning_rate=0.1, gamma=-0.5)),
  ("InverseTimeDecay", dict(learning_rate=-1.0, gamma=0.5)),
  ("PolynomialDecay", dict(learning_rate=0.1, decay_steps=0)),
  ("PolynomialDecay", dict(learning_rate=0.1, decay_steps=2.5)),
  ("PolynomialDecay", dict(learning_rate=0.1, decay_steps=10, power=0.0)),
  ("PolynomialDecay", dict(learning_rate=0.1, decay_steps=10, power=-1.0)),
  ("LinearWarmup", dict(learning_rate="x", warmup_steps=3, start_lr=0.0, end_lr=0.1)),
  ("LinearWarmup", dict(learning_rate=0.1, warmup_steps=0, start_lr=0.0, end_lr=0.1)),
  ("LinearWarmup", dict(learning_rate=0.1, warmup_steps=2.0, start_lr=0.0, end_lr=0.1)),
  ("LinearWarmup", dict(learning_rate=0.1, warmup_steps=3, start_lr=0.1, end_lr=0.1)),
  ("LinearWarmup", dict(learning_rate=0.1, warmup_steps=3, start_lr=-1.0, end_lr=-0.5)),
  ("LinearWarmup", dict(learning_rate=1, warmup_steps=3, start_lr=0, end_lr=1)),
  ("ExponentialDecay", dict(learning_rate=0.1, gamma=1.0)),
  ("ExponentialDecay", dict(learning_rate=0.1, gamma=0.0)),
  ("ExponentialDecay", dict(learning_rate=0.1, gamma=1.5)),
  ("LambdaDecay", dict(learning_rate=0.1, lr_lambda=3)),
  ("MultiplicativeDecay", dict(learning_rate=0.1, lr_lambda=None)),
  ("NoamDecay", dict(d_model=0, warmup_steps=10)),
  ("NoamDecay", dict(d_model=-4, warmup_steps=10)),
  ("NoamDecay", dict(d_model=16, warmup_steps=0)),
  ("CosineAnnealingDecay", dict(learning_rate=0.1, T_max=10.0)),
  ("CosineAnnealingDecay", dict(learning_rate=0.1, T_max=0)),
  ("CosineAnnealingDecay", dict(learning_rate=0.1, T_max=10, eta_min="0")),
  ("OneCycleLR", dict(max_learning_rate="1", total_steps=10)),
  ("OneCycleLR", dict(max_learning_rate=-1.0, total_steps=10)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, end_learning_rate=-1.0)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10.0)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=0)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, phase_pct=1)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, phase_pct=1.5)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, phase_pct=0.5, three_phase=True)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, anneal_strategy="x")),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, divide_factor=0.0)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, divide_factor=-1.0)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, phase_pct=0.1)),
  ("OneCycleLR", dict(max_learning_rate=1.0, total_steps=10, phase_pct=1.0)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=-1.0, step_size_up=3)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=0)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2.0)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2, step_size_down=0)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2, exp_gamma=1)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2, mode="x")),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2, mode="x", scale_fn=_F)),
  ("CyclicLR", dict(base_learning_rate=0.1, max_learning_rate=1.0, step_size_up=2, scale_mode="x")),
  ("CyclicLR", dict(base_learning_rate=-0.1, max_learning_rate=1.0, step_size_up=2)),
  ("LinearLR", dict(learning_rate=0.1, total_steps=10, start_factor=0.0)),
  ("LinearLR", dict(learning_rate=0.1, total_steps=10, start_factor=1.5)),
  ("LinearLR", dict(learning_rate=0.1, total_steps=10, end_factor=-0.1)),
  ("LinearLR", dict(learning_rate=0.1, total_steps=0)),
  ("CosineAnnealingWarmRestarts", dict(learning_rate=0.1, T_0=0)),
  ("CosineAnnealingWarmRestarts", dict(learning_rate=0.1, T_0=2.0)),
  ("CosineAnnealingWarmRestarts", dict(learning_rate=0.1, T_0=2, T_mult=0)),
  ("CosineAnnealingWarmRestarts", dict(learning_rate=0.1, T_0=2, T_mult=1.5)),
  ("ReduceOnPlateau", dict(learning_rate=0.1, mode="x")),
  ("ReduceOnPlateau", dict(learning_rate=0.1, factor=1.0)),
  ("ReduceOnPlateau", dict(learning_rate=0.1, threshold_mode="x")),
  ("ReduceOnPlateau", dict(learning_rate="0.1")),
  ("ReduceOnPlateau", dict(learning_rate=1, mode="MAX", threshold_mode="ABS")),
]


def record_signatures() -> dict[str, list[list[Any]]]:
  """Each class's arguments and defaults, as [name, repr(default) or None] (no default)."""
  import inspect

  import paddle

  out = {}
  for cls in [*LR_CASES, "ReduceOnPlateau"]:
    params = inspect.signature(getattr(paddle.optimizer.lr, cls)).parameters.values()
    out[cls] = [[p.name, None if p.default is p.empty else repr(p.default)] for p in params]
  return out


def record_validation() -> list[dict[str, Any]]:
  out = []
  for cls, kwargs in VALIDATION:
    try:
      paddle_scheduler(cls, kwargs)
      raised, message = None, ""
    except Exception as err:  # noqa: BLE001 - the type is what is recorded
      raised, message = type(err).__name__, str(err)
    out.append({"class": cls, "kwargs": kwargs, "paddle_raises": raised, "message": message})
  return out


# --- building the framework objects -----------------------------------------------------------------


def decode(value: Any, module: Any) -> Any:
  """Turns ``{"$fn": name}`` and ``{"$sched": ...}`` into the function / a scheduler of `module`."""
  if isinstance(value, dict) and "$fn" in value:
    return FUNCTIONS[value["$fn"]]
  if isinstance(value, dict) and "$sched" in value:
    spec = value["$sched"]
    return getattr(module, spec["class"])(**{k: decode(v, module) for k, v in spec["kwargs"].items()})
  return value


def paddle_scheduler(cls: str, kwargs: dict[str, Any]) -> Any:
  """A ``paddle.optimizer.lr`` scheduler from a JSON configuration (also the harness's schedule type)."""
  import paddle

  return getattr(paddle.optimizer.lr, cls)(**{k: decode(v, paddle.optimizer.lr) for k, v in kwargs.items()})


def paddle_plateau(metrics: list[float], steps_per_epoch: int, **kwargs: Any) -> Any:
  """A Paddle ReduceOnPlateau fed from `metrics`: ``step()`` (as the harness calls it after every
  optimizer step) calls Paddle's ``step(metric)`` at the last step of each epoch only."""
  import paddle

  class Plateau(paddle.optimizer.lr.ReduceOnPlateau):
    calls = 0

    def step(self, metrics_=None, epoch=None):
      del metrics_, epoch
      self.calls += 1
      if self.calls % steps_per_epoch == 0:
        super().step(metrics[self.calls // steps_per_epoch - 1])

  return Plateau(**kwargs)


# --- numpy float64 references for the long range (checked against Paddle on 0..N by the test) --------


def numpy_reference(kind: str, kwargs: dict[str, Any], counts: np.ndarray) -> np.ndarray:
  counts = np.asarray(counts, np.int64)
  if kind == "linear_lr":
    lr, n = kwargs["learning_rate"], kwargs["total_steps"]
    sf, ef = kwargs.get("start_factor", 1.0 / 3), kwargs.get("end_factor", 1.0)
    return lr * (sf + (ef - sf) * np.minimum(counts, n) / n)
  if kind == "warm_restarts":
    lr, t0, mult, eta = (
      kwargs["learning_rate"],
      kwargs["T_0"],
      kwargs.get("T_mult", 1),
      kwargs.get("eta_min", 0.0),
    )
    out = []
    for e in counts:
      start, length = 0, t0
      while e >= start + length:
        start, length = start + length, length * mult
      out.append(eta + (lr - eta) * (1 + math.cos(math.pi * (e - start) / length)) / 2)
    return np.array(out)
  if kind == "cyclic":
    kw = kwargs
    up = kw["step_size_up"]
    size = up + (kw.get("step_size_down") or up)
    cycle, r = 1 + counts // size, counts % size
    s = np.where(r <= up, r / up, (size - r) / (size - up))
    mode = kw.get("mode", "triangular")
    f = {
      "triangular": np.ones_like(s),
      "triangular2": np.ldexp(1.0, (1 - cycle).astype(np.int64).clip(-2000)),
      "exp_range": kw.get("exp_gamma", 1.0) ** counts.astype(np.float64),
    }[mode]
    base = kw["base_learning_rate"]
    return base + (kw["max_learning_rate"] - base) * s * f
  if kind == "multiplicative":
    lam = decode(kwargs["lr_lambda"], None)
    return np.array([kwargs["learning_rate"] * lam(1) ** e for e in counts])  # a constant lambda
  raise ValueError(kind)


def long_counts(case: dict[str, Any], cls: str) -> np.ndarray:
  """Counts up to 10**7: log-spaced, the last ones, and each side of boundaries near 10**7."""
  counts = set(np.unique(np.logspace(3, 7, 40).astype(np.int64)).tolist())
  counts.update(range(LONG - 40, LONG + 1))
  kw = case["kwargs"]
  periods = [
    kw.get(k)
    for k in ("step_size", "T_max", "T_0", "decay_steps", "step_size_up", "total_steps", "warmup_steps")
    if isinstance(kw.get(k), int)
  ]
  if cls == "CosineAnnealingDecay":
    periods.append(2 * kw["T_max"])
  if cls == "CyclicLR":
    periods.append(kw["step_size_up"] + (kw.get("step_size_down") or kw["step_size_up"]))
  for p in periods:
    if 1 < p < LONG:
      k = (LONG // p) * p
      counts.update(x for x in (k - p, k - p // 2, k - 1, k, k + 1, k - p + 1) if 0 <= x <= LONG)
  if cls == "OneCycleLR":
    b = kw.get("phase_pct", 0.3) * kw["total_steps"] - 1
    counts.update(int(x) for x in (math.floor(b) - 1, math.floor(b), math.floor(b) + 1, math.floor(b) + 2))
    counts.discard(LONG)  # Paddle's value at total_steps itself is covered by the short cases
  return np.array(sorted(c for c in counts if c >= 0), np.int64)


# --- recording ------------------------------------------------------------------------------------


def record_paddle_torch() -> dict[str, dict[str, Any]]:
  import paddle
  import torch

  paddle.set_device("cpu")
  out: dict[str, dict[str, Any]] = {}
  for cls, cases in LR_CASES.items():
    arrays, meta = {}, {}
    for case in cases:
      name, n = case["name"], case["n"]
      sched = paddle_scheduler(cls, case["kwargs"])
      values = []
      for _ in range(n + 1):
        values.append(float(sched()))
        if len(values) <= n:
          sched.step()
      arrays[f"{name}/paddle"] = np.array(values)
      info = {"kwargs": case["kwargs"], "n": n, "note": case["note"]}
      inner = case["kwargs"].get("learning_rate")
      if cls == "LinearWarmup" and isinstance(inner, dict):
        # the inner scheduler stepped consecutively (what an optimizer loop sees), for comparison
        w, spec = case["kwargs"]["warmup_steps"], inner["$sched"]
        fresh, consecutive = paddle_scheduler(spec["class"], spec["kwargs"]), []
        for e in range(n + 1):
          if e > w:
            fresh.step()
          consecutive.append(values[e] if e < w else float(fresh()))
        consecutive = np.array(consecutive)
        arrays[f"{name}/inner_consecutive"] = consecutive
        quirk = np.flatnonzero(np.abs(consecutive - values) > 1e-12 * np.abs(values).max())
        info["paddle_step_epoch_differs_at"] = quirk.tolist()
      if case["numpy_ref"]:
        arrays[f"{name}/numpy"] = numpy_reference(case["numpy_ref"], case["kwargs"], np.arange(n + 1))
      if case["long"]:
        counts = long_counts(case, cls)
        if case["numpy_ref"]:
          ref = numpy_reference(case["numpy_ref"], case["kwargs"], counts)
          info["long_source"] = "numpy float64 formula (Paddle's get_lr is recursive or uses a float log)"
        else:
          ref, raised = [], []
          for k in counts:
            fresh = paddle_scheduler(cls, case["kwargs"])
            try:
              fresh.step(int(k))
              ref.append(float(fresh()))
            except OverflowError:  # CyclicLR triangular2: 2.0 ** (cycle - 1) past cycle 1024
              ref.append(float(numpy_reference("cyclic", case["kwargs"], [k])[0]))
              raised.append(int(k))
          ref = np.array(ref)
          info["long_source"] = "paddle step(epoch=k): a closed form for this class"
          if raised:
            info["long_source"] += (
              f"; at {len(raised)} counts (from {min(raised)}) Paddle raises OverflowError "
              "(2.0 ** (cycle - 1)) and the numpy formula is used"
            )
        arrays[f"{name}/long_count"], arrays[f"{name}/long_ref"] = counts, ref
      if case["torch"]:
        t = case["torch"]
        p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
        opt = torch.optim.SGD([p], lr=t["lr"])
        tsched = getattr(torch.optim.lr_scheduler, t["cls"])(
          opt, **{k: decode(v, None) for k, v in t["kwargs"].items()}
        )
        tv = []
        for i in range(n + 1):
          tv.append(float(opt.param_groups[0]["lr"]))
          if i < n:
            opt.step()
            tsched.step()
        arrays[f"{name}/torch"] = np.array(tv)
        info["torch"] = {
          "class": "torch.optim.lr_scheduler." + t["cls"],
          "kwargs": t["kwargs"],
          "optimizer_lr": t["lr"],
        }
      meta[name] = info
    out[cls] = {"arrays": arrays, "meta": meta}
  # ReduceOnPlateau: the lr after each metric.
  arrays, meta = {}, {}
  for case in PLATEAU_CASES:
    spec = PLATEAU_METRICS[case["name"]]
    seed, kind = (None, "given") if isinstance(spec, list) else spec
    metrics = spec if isinstance(spec, list) else _plateau_metrics(seed, case["n"], kind)
    sched = paddle.optimizer.lr.ReduceOnPlateau(**case["kwargs"])
    lrs = []
    for m in metrics:
      sched.step(m)
      lrs.append(float(sched()))
    tkw = {k: v for k, v in case["kwargs"].items() if k != "learning_rate"}
    tkw = {{"epsilon": "eps"}.get(k, k): v for k, v in tkw.items()}
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([p], lr=case["kwargs"]["learning_rate"])
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **tkw)
    tl = []
    for m in metrics:
      tsched.step(m)
      tl.append(float(opt.param_groups[0]["lr"]))
    name = case["name"]
    arrays[f"{name}/metrics"], arrays[f"{name}/paddle"], arrays[f"{name}/torch"] = (
      np.array(metrics),
      np.array(lrs),
      np.array(tl),
    )
    meta[name] = {
      "kwargs": case["kwargs"],
      "n": case["n"],
      "metric_seed": seed,
      "metric_kind": kind,
      "torch": {"class": "torch.optim.lr_scheduler.ReduceLROnPlateau", "kwargs": tkw},
    }
  out["ReduceOnPlateau"] = {"arrays": arrays, "meta": meta}
  return out


def record_keras(framework: str) -> dict[str, dict[str, np.ndarray]]:
  os.environ.setdefault("KERAS_BACKEND", "tensorflow")
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  if framework == "tf_keras":
    import tf_keras as keras_mod
  else:
    import keras as keras_mod
  out: dict[str, dict[str, np.ndarray]] = {}
  for cls, cases in LR_CASES.items():
    for case in cases:
      k = case["keras"]
      if not k:
        continue
      sched = getattr(keras_mod.optimizers.schedules, k["cls"])(**k["kwargs"])
      upto = case["n"] if k["upto"] is None else k["upto"]
      values = np.array([float(np.asarray(sched(step))) for step in range(upto + 1)], np.float32)
      out.setdefault(cls, {})[case["name"]] = values
  return out


def _versions() -> dict[str, str]:
  from golden_cases import runners

  return {**runners.versions(), "numpy": np.__version__, "python": platform.python_version()}


def main() -> int:
  if len(sys.argv) > 1 and sys.argv[1] == "--keras-worker":  # TensorFlow and Paddle cannot share a process
    framework, dest = sys.argv[2], Path(sys.argv[3])
    data = record_keras(framework)
    np.savez(dest, **{f"{cls}|{name}": v for cls, d in data.items() for name, v in d.items()})
    return 0
  recorded = record_paddle_torch()
  keras_values: dict[str, dict[str, dict[str, np.ndarray]]] = {}
  for framework in ("tf_keras", "keras"):
    dest = OUT.parent / f".{framework}_tmp.npz"
    dest.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, __file__, "--keras-worker", framework, str(dest)], check=True)
    with np.load(dest) as z:
      for key in z.files:
        cls, name = key.split("|")
        keras_values.setdefault(cls, {}).setdefault(name, {})[framework] = z[key]
    dest.unlink()
  versions = _versions()
  OUT.mkdir(parents=True, exist_ok=True)
  validation = {
    "framework": "paddle",
    "framework_version": versions.get("paddle"),
    "cases": record_validation(),
    "signatures": record_signatures(),
    "generated_by": "tools/golden_cases/schedules.py",
  }
  (OUT / "validation.json").write_text(json.dumps(validation, indent=1) + "\n")
  for cls, data in recorded.items():
    arrays, meta = data["arrays"], data["meta"]
    for name, per_fw in keras_values.get(cls, {}).items():
      case = next(c for c in LR_CASES[cls] if c["name"] == name)
      for framework, values in per_fw.items():
        arrays[f"{name}/{framework}"] = values
      meta[name]["keras"] = {
        "class": "optimizers.schedules." + case["keras"]["cls"],
        "kwargs": case["keras"]["kwargs"],
        "upto": len(values) - 1,
      }
    np.savez_compressed(OUT / f"{cls}.npz", **arrays)
    provenance = {
      "class": "paddle.optimizer.lr." + cls,
      "framework": "paddle",
      "framework_version": versions.get("paddle"),
      "versions": versions,
      "dtype": "float64 (Python floats); Keras values are float32",
      "seed": None if cls != "ReduceOnPlateau" else "per case (metric_seed)",
      "cases": meta,
      "generated_by": "tools/golden_cases/schedules.py",
    }
    (OUT / f"{cls}.json").write_text(json.dumps(provenance, indent=1, default=str) + "\n")
    print(f"{cls}: {(OUT / f'{cls}.npz').stat().st_size / 1024:.1f} KiB")
  return 0


# --- RMSProp trajectories for tools/make_golden.py (family "schedules") ----------------------------


_RMS = {"rho": 0.9, "epsilon": 1e-6, "momentum": 0.9, "centered": False}
# class -> kwargs of a schedule that changes several times within 60 updates
TRAJECTORY_SCHEDULES: dict[str, dict[str, Any]] = {
  "StepDecay": dict(learning_rate=0.01, step_size=7, gamma=0.5),
  "MultiStepDecay": dict(learning_rate=0.01, milestones=[5, 17, 30], gamma=0.5),
  "PiecewiseDecay": dict(boundaries=[10, 25, 40], values=[0.01, 0.005, 0.002, 0.001]),
  "NaturalExpDecay": dict(learning_rate=0.01, gamma=0.05),
  "InverseTimeDecay": dict(learning_rate=0.01, gamma=0.1),
  "PolynomialDecay": dict(learning_rate=0.01, decay_steps=15, end_lr=0.001, power=2.0, cycle=True),
  "LinearWarmup": dict(
    learning_rate=_sched("CosineAnnealingDecay", learning_rate=0.01, T_max=15), warmup_steps=8, start_lr=0.0,
    end_lr=0.01,
  ),
  "ExponentialDecay": dict(learning_rate=0.01, gamma=0.95),
  "LambdaDecay": dict(learning_rate=0.01, lr_lambda=_fn("inv_sqrt")),
  "MultiplicativeDecay": dict(learning_rate=0.01, lr_lambda=_fn("three_quarters_every_3")),
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
PLATEAU_TRAJECTORY = {
  "kwargs": dict(learning_rate=0.01, factor=0.5, patience=1, cooldown=1),
  "steps_per_epoch": 5,
  # reductions after epochs 3, 7 and 10; the metric of epochs 4, 8 and 11 is ignored (cooldown)
  "metrics": [1.0, 1.0, 1.0, 0.5, 0.9, 0.95, 0.95, 0.1, 0.92, 0.93, 0.5, 0.4],
}


def paddle_per_epoch(cls: str, kwargs: dict[str, Any], steps_per_epoch: int) -> Any:
  """A Paddle scheduler that the harness's ``step()`` after every update advances once per epoch."""
  sched = paddle_scheduler(cls, kwargs)
  step, calls = sched.step, [0]

  def per_epoch_step(*args: Any, **kw: Any) -> None:
    calls[0] += 1
    if calls[0] % steps_per_epoch == 0:
      step(*args, **kw)

  sched.step = per_epoch_step
  return sched


def _snake(cls: str) -> str:
  return "".join("_" + ch.lower() if ch.isupper() else ch for ch in cls).lstrip("_").replace("_l_r", "_lr")


def _seed(name: str) -> int:
  return sum((i + 1) * ord(ch) for i, ch in enumerate(name)) % 100_003


def _rms_case(label: str, schedule: dict[str, Any], notes: str = "") -> Case:
  name = f"paddle_rmsprop_{label}"
  return Case(
    name=name,
    framework="paddle",
    dtype="float32",
    steps=60,
    seed=_seed(name),
    optimizer="paddle.optimizer.RMSProp",
    kwargs=dict(_RMS),
    schedule=schedule,
    notes=notes,
  )


def cases() -> list[Case]:
  """One float32 Paddle RMSProp run with momentum per schedule class (the schedule as its learning
  rate), one with a scheduler stepped once per epoch, one with ReduceOnPlateau."""
  out = [
    _rms_case(
      _snake(cls), {"type": "golden_cases.schedules.paddle_scheduler", "kwargs": {"cls": cls, "kwargs": kw}}
    )
    for cls, kw in TRAJECTORY_SCHEDULES.items()
  ]
  per_epoch = {"type": "golden_cases.schedules.paddle_per_epoch", "kwargs": PER_EPOCH}
  out.append(
    _rms_case("per_epoch_cosine", per_epoch, "the scheduler steps once every steps_per_epoch updates")
  )
  plateau = dict(PLATEAU_TRAJECTORY["kwargs"], metrics=PLATEAU_TRAJECTORY["metrics"])
  plateau["steps_per_epoch"] = PLATEAU_TRAJECTORY["steps_per_epoch"]
  plateau = {"type": "golden_cases.schedules.paddle_plateau", "kwargs": plateau}
  out.append(
    _rms_case("reduce_on_plateau", plateau, "ReduceOnPlateau.step(metric) at the last update of each epoch")
  )
  return out


if __name__ == "__main__":
  sys.exit(main())
