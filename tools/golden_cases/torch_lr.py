"""PyTorch's lr schedulers (``torch.optim.lr_scheduler``): lr tables, and trajectories that use them.

Family ``torch_lr`` (tools/make_golden.py; or run this file with the framework environment) writes to
``tests/golden/torch_lr/``:

* ``<Class>.npz`` + ``.json``: for every configuration ``<case>`` of a scheduler class, ``<case>/count``
  (the counts recorded: all of 0..N, or for long runs the first few hundred, a sample and the last
  ones), ``<case>/lr`` (counts, groups): each parameter group's lr at that count, i.e. after that many
  ``scheduler.step()`` calls (Python floats, float64), and ``<case>/momentum`` likewise for a
  scheduler that cycles the momentum (``group['momentum']``, or ``group['betas'][0]`` for an Adam
  optimizer). A resumed configuration (``last_epoch`` = k >= 0) is recorded as PyTorch documents the
  resume: a fresh run of k steps, its ``optimizer.state_dict()`` loaded into a new optimizer, then the
  scheduler built with ``last_epoch=k`` (``resume: "state_dict"``); SequentialLR's own ``last_epoch``
  is passed to a fresh construction (``resume: "direct"``). ``ReduceLROnPlateau``: the metrics of a
  seeded sequence and each group's lr after each ``step(metric)``.
* ``validation.json``: for each bad (or odd) argument of `VALIDATION`, what PyTorch does: the exception
  type and message at construction, or at which of the first steps it raises, or that it accepts it;
  and each class's signature.
* ``trajectories/<case>.npz`` + ``.json`` (the trajectory format of harness.py, family
  ``torch_lr/trajectories``): torch.optim.RMSprop, RAdam and ASGD driven by CosineAnnealingLR in
  float64, where a float32 schedule would be 1e-9 off (the rmsprop, radam and asgd families have
  StepLR and ExponentialLR in float64).

Functions (``lr_lambda``, ``scale_fn``) are written ``{"$fn": name}`` (`FUNCTIONS`; the test has a jnp
twin of each), member schedulers ``{"$sched": {"class": ..., "kwargs": ...}}``.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import json
import math
import sys
import warnings
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make `golden_cases` importable
  sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from golden_cases import harness, runners  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "torch_lr"
GENERATED_BY = Path(__file__).resolve().relative_to(ROOT).as_posix()
TRAJECTORIES = "torch_lr/trajectories"

FUNCTIONS = {  # float64 Python, as PyTorch calls them
  "inv_sqrt": lambda e: 1.0 / math.sqrt(1.0 + e),
  "half_every_7": lambda e: 0.5 ** (e // 7),
  "pow_095": lambda e: 0.95**e,
  "const_095": lambda e: 0.95,
  "three_quarters_every_3": lambda e: 0.75 if e % 3 == 0 else 1.0,
  "harmonic": lambda e: e / (e + 1.0),
  "inv_cycle": lambda x: 1.0 / x,
  "decay_iter": lambda x: 1.0 / (1.0 + 0.01 * x),
}
CLASSES = [
  "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
  "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR",
  "SequentialLR", "ChainedScheduler", "ReduceLROnPlateau",
]  # fmt: skip


def fn(name: str) -> dict[str, str]:
  return {"$fn": name}


def sched(cls: str, **kwargs: Any) -> dict[str, Any]:
  """A member scheduler of SequentialLR / ChainedScheduler, as a configuration writes it."""
  return {"$sched": {"class": cls, "kwargs": kwargs}}


@dataclasses.dataclass(frozen=True)
class LrCase:
  """A scheduler configuration: PyTorch's keyword arguments (without the optimizer), the groups' lrs,
  the optimizer that carries them, N and the counts recorded."""

  name: str
  kwargs: dict[str, Any]
  n: int
  groups: tuple[float, ...] = (0.1,)
  optimizer: str = "SGD"  # SGD with momentum (group['momentum']), Adam (group['betas'])
  last_epoch: int = -1
  sample: bool = False  # record 0..300, every 97th count and the last 60 instead of every count
  note: str = ""


def c(name: str, n: int, **kwargs: Any) -> LrCase:
  fields = {k: kwargs.pop(k) for k in ("groups", "optimizer", "last_epoch", "sample", "note") if k in kwargs}
  return LrCase(name, kwargs, n, **fields)


LONG = "long run: PyTorch's recursion accumulates its roundings; counts sampled"
RESUME = "resumed: optimizer.load_state_dict of a fresh run after last_epoch steps, then last_epoch=k"
TABLE: dict[str, list[LrCase]] = {
  "LambdaLR": [
    c("a_inv_sqrt", 300, lr_lambda=fn("inv_sqrt")),
    c("b_half_every_7", 100, lr_lambda=fn("half_every_7")),
    c("c_pow", 200, lr_lambda=fn("pow_095")),
    c("d_groups", 50, lr_lambda=[fn("inv_sqrt"), fn("half_every_7")], groups=(0.1, 0.2)),
    c("e_resume", 20, lr_lambda=fn("half_every_7"), last_epoch=9, note=RESUME),
  ],
  "MultiplicativeLR": [
    c("a_const", 400, lr_lambda=fn("const_095")),
    c("b_every_3", 300, lr_lambda=fn("three_quarters_every_3")),
    c("c_harmonic", 200, lr_lambda=fn("harmonic"), groups=(1.0,)),
    c("d_groups", 50, lr_lambda=[fn("const_095"), fn("harmonic")], groups=(0.1, 1.0)),
    c("e_resume_const", 10, lr_lambda=fn("const_095"), last_epoch=4, note=RESUME),
    c("f_resume_every_3", 20, lr_lambda=fn("three_quarters_every_3"), last_epoch=4, note=RESUME),
  ],
  "StepLR": [
    c("a", 60, step_size=7, gamma=0.5),
    c("b_long", 3000, step_size=3, gamma=0.99, sample=True, note=LONG),
    c("c_defaults", 40, step_size=4),
    c("d_groups", 30, step_size=5, gamma=0.3, groups=(0.1, 0.02)),
    c("e_resume", 20, step_size=4, gamma=0.5, last_epoch=9, note=RESUME),
  ],
  "MultiStepLR": [
    c("a", 40, milestones=[3, 10, 10, 25], gamma=0.5),
    c("b_unsorted_zero_negative", 40, milestones=[30, 5, -2, 0], gamma=0.7),
    c("c_resume", 15, milestones=[4, 8], gamma=0.5, last_epoch=5, note=RESUME),
  ],
  "ConstantLR": [
    c("a_defaults", 12),
    c("b", 10, factor=0.7, total_iters=3),
    c("c_zero_iters", 5, factor=0.5, total_iters=0),
    c("d_resume", 10, factor=0.25, total_iters=6, last_epoch=2, note=RESUME),
    c("e_groups", 8, factor=0.3, total_iters=4, groups=(0.1, 0.07)),
  ],
  "LinearLR": [
    c("a_defaults", 10),
    c("b", 220, start_factor=0.1, end_factor=0.5, total_iters=200),
    c("c_to_zero", 1010, start_factor=1.0, end_factor=0.0, total_iters=1000),
    c("d_warmup_long", 10010, start_factor=0.001, end_factor=1.0, total_iters=10000, sample=True, note=LONG),
    c("e_resume", 10, start_factor=0.25, end_factor=1.0, total_iters=8, last_epoch=3, note=RESUME),
    c("f_zero_iters", 3, start_factor=0.5, total_iters=0),
  ],
  "ExponentialLR": [
    c("a", 400, gamma=0.97),
    c("b_long", 100000, gamma=0.9999, sample=True, note=LONG),
    c("c_resume", 10, gamma=0.9, last_epoch=4, note=RESUME),
    c("d_groups", 50, gamma=0.95, groups=(0.1, 0.3)),
  ],
  "PolynomialLR": [
    c("a_defaults", 8),
    c("b", 110, total_iters=100, power=2.0),
    c("c_sqrt", 1010, total_iters=1000, power=0.5),
    c("d_resume", 10, total_iters=8, power=1.0, last_epoch=3, note=RESUME),
  ],
  "CosineAnnealingLR": [
    c("a", 250, T_max=50),
    c("b_eta", 100, T_max=10, eta_min=0.001),
    c("c_long", 3000, T_max=1000, sample=True, note=LONG),
    c("d_eta_past_t_max", 1300, T_max=300, eta_min=0.02),
    c("e_resume", 30, T_max=6, last_epoch=3, note=RESUME),
    c("f_resume_at_bottom", 30, T_max=6, last_epoch=5, note=RESUME + "; at the bottom (epoch T_max)"),
    c("g_groups", 60, T_max=20, eta_min=0.001, groups=(0.1, 0.05)),
    c("h_odd", 40, T_max=7, eta_min=0.03),
  ],
  "CosineAnnealingWarmRestarts": [
    c("a", 100, T_0=10),
    c("b_mult", 400, T_0=3, T_mult=2, eta_min=0.01, groups=(0.5,)),
    c("c_resume", 40, T_0=2, T_mult=2, last_epoch=6, note=RESUME),
    c("d_resume_mult1", 30, T_0=5, last_epoch=12, note=RESUME),
    c("e_long", 3000, T_0=1000, sample=True, note=LONG),
    c("f_groups", 30, T_0=4, T_mult=3, eta_min=0.001, groups=(0.1, 0.05)),
  ],
  "CyclicLR": [
    c("a_triangular", 100, base_lr=0.01, max_lr=0.1, step_size_up=10),
    c(
      "b_triangular2_betas",
      200,
      base_lr=0.01,
      max_lr=0.1,
      step_size_up=5,
      step_size_down=15,
      mode="triangular2",
      optimizer="Adam",
    ),
    c(
      "c_exp_range",
      300,
      base_lr=0.001,
      max_lr=0.1,
      step_size_up=20,
      step_size_down=10,
      mode="exp_range",
      gamma=0.99,
      cycle_momentum=False,
    ),
    c(
      "d_scale_fn_cycle",
      100,
      base_lr=0.05,
      max_lr=0.5,
      step_size_up=4,
      step_size_down=6,
      scale_fn=fn("inv_cycle"),
      cycle_momentum=False,
    ),
    c(
      "e_scale_fn_iterations",
      200,
      base_lr=0.0,
      max_lr=1.0,
      step_size_up=7,
      scale_fn=fn("decay_iter"),
      scale_mode="iterations",
    ),
    c(
      "f_groups",
      60,
      base_lr=[0.01, 0.02],
      max_lr=[0.1, 0.3],
      step_size_up=6,
      base_momentum=[0.8, 0.7],
      max_momentum=[0.9, 0.95],
      groups=(0.1, 0.1),
    ),
    c("g_resume", 20, base_lr=0.01, max_lr=0.1, step_size_up=4, last_epoch=5, note=RESUME),
  ],  # fmt: skip
  "OneCycleLR": [
    c("a_defaults", 100, max_lr=0.1, total_steps=100),
    c(
      "b_three_linear_betas",
      1000,
      max_lr=0.1,
      total_steps=1000,
      pct_start=0.25,
      anneal_strategy="linear",
      three_phase=True,
      div_factor=10.0,
      final_div_factor=100.0,
      optimizer="Adam",
      sample=True,
    ),
    c("c_epochs", 77, max_lr=1.0, epochs=7, steps_per_epoch=11, pct_start=0.33, cycle_momentum=False),
    c("d_three_cos", 50, max_lr=0.05, total_steps=50, pct_start=0.45, three_phase=True),
    c(
      "e_groups",
      40,
      max_lr=[0.1, 0.5],
      total_steps=40,
      base_momentum=[0.8, 0.85],
      max_momentum=[0.9, 0.99],
      groups=(0.1, 0.1),
    ),
    c("f_resume", 20, max_lr=0.1, total_steps=30, last_epoch=9, note=RESUME),
    c("g_long", 100000, max_lr=0.1, total_steps=100000, sample=True, note="the end: 1 + cos(pi p) near 0"),
    c("h_pct_zero", 20, max_lr=0.1, total_steps=20, pct_start=0.0, cycle_momentum=False),
  ],  # fmt: skip
  "SequentialLR": [
    c(
      "a_warmup_cosine",
      100,
      schedulers=[sched("LinearLR", start_factor=0.1, total_iters=5), sched("CosineAnnealingLR", T_max=45)],
      milestones=[5],
    ),
    c(
      "b_three",
      60,
      schedulers=[
        sched("ConstantLR", factor=0.5, total_iters=3),
        sched("ExponentialLR", gamma=0.9),
        sched("StepLR", step_size=10, gamma=0.5),
      ],
      milestones=[4, 20],
    ),
    c(
      "c_multiplicative",
      30,
      schedulers=[
        sched("ExponentialLR", gamma=0.5),
        sched("MultiplicativeLR", lr_lambda=fn("three_quarters_every_3")),
      ],
      milestones=[3],
    ),
    c(
      "d_cyclic_momentum",
      40,
      schedulers=[
        sched("LinearLR", start_factor=0.5, total_iters=4),
        sched("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=5),
        sched("ExponentialLR", gamma=0.9),
      ],
      milestones=[6, 26],
    ),
    c(
      "e_groups",
      20,
      schedulers=[sched("LinearLR", start_factor=0.5, total_iters=4), sched("ExponentialLR", gamma=0.8)],
      milestones=[5],
      groups=(0.1, 0.02),
    ),
    c(
      "f_last_epoch",
      20,
      schedulers=[sched("ConstantLR", factor=0.5, total_iters=10), sched("ExponentialLR", gamma=0.8)],
      milestones=[6],
      last_epoch=1,
    ),
  ],  # fmt: skip
  "ChainedScheduler": [
    c(
      "a_constant_exponential",
      20,
      schedulers=[sched("ConstantLR", factor=0.1, total_iters=2), sched("ExponentialLR", gamma=0.9)],
    ),
    c(
      "b_lambda_then_step",
      30,
      schedulers=[sched("LambdaLR", lr_lambda=fn("inv_sqrt")), sched("StepLR", step_size=3, gamma=0.5)],
    ),
    c(
      "c_step_then_lambda",
      30,
      schedulers=[sched("StepLR", step_size=3, gamma=0.5), sched("LambdaLR", lr_lambda=fn("inv_sqrt"))],
    ),
    c(
      "d_three",
      50,
      schedulers=[
        sched("LinearLR", start_factor=0.5, total_iters=10),
        sched("MultiStepLR", milestones=[5, 15]),
        sched("PolynomialLR", total_iters=40, power=2.0),
      ],
    ),
    c(
      "e_cyclic_exponential",
      40,
      schedulers=[
        sched("CyclicLR", base_lr=0.01, max_lr=0.1, step_size_up=5),
        sched("ExponentialLR", gamma=0.99),
      ],
    ),
    c(
      "f_multiplicative_restarts",
      40,
      schedulers=[
        sched("MultiplicativeLR", lr_lambda=fn("const_095")),
        sched("CosineAnnealingWarmRestarts", T_0=7),
        sched("StepLR", step_size=9, gamma=0.5),
      ],
    ),
    c(
      "g_groups",
      20,
      schedulers=[
        sched("LambdaLR", lr_lambda=[fn("inv_sqrt"), fn("half_every_7")]),
        sched("ExponentialLR", gamma=0.9),
      ],
      groups=(0.1, 0.05),
    ),
  ],  # fmt: skip
}
MEMBERS_LR = {"CyclicLR"}  # members that set the group's lr at construction (their lr is not the group's)


def plateau_metrics(seed: int, n: int, kind: str) -> list[float]:
  """A seeded metric sequence with improvements, plateaus and noise (float32 numbers)."""
  rng = np.random.default_rng(seed)
  t = np.arange(n)
  if kind == "min":
    base = 2.0 * np.exp(-t / 15.0) + 0.5 * (t > 40) - 0.3 * (t > 90)
  else:
    base = 0.9 - 0.8 * np.exp(-t / 20.0) - 0.1 * (t > 70)
  noisy = base + rng.normal(0, 0.01, n) * (rng.random(n) < 0.5)
  return [float(np.float32(v)) for v in noisy]


COOLDOWN_METRICS = [1.0, 2.0, 0.5, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.7, 0.69995, 0.6, 0.6, 0.6]
PLATEAU = [  # (name, kwargs, groups, metrics: a (seed, n) of plateau_metrics or a list)
  ("a_defaults", {}, (0.1,), (1, 150)),
  ("b_max_abs_cooldown", dict(mode="max", factor=0.5, patience=2, threshold=0.01, threshold_mode="abs",
                              cooldown=3, min_lr=0.01), (0.5,), (2, 150)),
  ("c_rel_eps_groups", dict(factor=0.3, patience=1, threshold=0.05, cooldown=2, min_lr=[0.001, 0.01],
                            eps=0.002), (0.05, 0.05), (3, 150)),
  ("d_cooldown_counts_best", dict(factor=0.5, patience=0, cooldown=2), (1.0,), COOLDOWN_METRICS),
  ("e_max_rel", dict(mode="max", factor=0.7, patience=3, threshold=0.001), (0.2,), (5, 150)),
  ("f_min_abs", dict(factor=0.5, patience=4, threshold=0.02, threshold_mode="abs", min_lr=0.003), (0.1,),
   (6, 150)),
]  # fmt: skip

# One bad (or odd) argument each: PyTorch's exception (type, message) at construction, at one of the
# first steps, or none. (class, label, kwargs, groups, optimizer); kwargs without the optimizer.
STEPS_TRIED = 12
VALIDATION = [
  ("StepLR", "float_step_size", dict(step_size=2.5), 1, "SGD"),
  ("StepLR", "zero_step_size", dict(step_size=0), 1, "SGD"),
  ("StepLR", "negative_gamma", dict(step_size=2, gamma=-0.5), 1, "SGD"),
  ("StepLR", "resume_without_initial_lr", dict(step_size=2, last_epoch=3), 1, "SGD"),
  ("MultiStepLR", "int_milestones", dict(milestones=5), 1, "SGD"),
  ("MultiStepLR", "float_milestone", dict(milestones=[2.5]), 1, "SGD"),
  ("ConstantLR", "factor_above_one", dict(factor=1.5), 1, "SGD"),
  ("ConstantLR", "negative_factor", dict(factor=-0.1), 1, "SGD"),
  ("ConstantLR", "zero_factor", dict(factor=0.0, total_iters=3), 1, "SGD"),
  ("LinearLR", "zero_start", dict(start_factor=0.0), 1, "SGD"),
  ("LinearLR", "start_above_one", dict(start_factor=1.5), 1, "SGD"),
  ("LinearLR", "negative_end", dict(end_factor=-0.1), 1, "SGD"),
  ("LinearLR", "end_above_one", dict(end_factor=1.2), 1, "SGD"),
  ("ExponentialLR", "negative_gamma", dict(gamma=-1.0), 1, "SGD"),
  ("PolynomialLR", "negative_power", dict(total_iters=3, power=-1.0), 1, "SGD"),
  ("CosineAnnealingLR", "zero_t_max", dict(T_max=0), 1, "SGD"),
  ("CosineAnnealingLR", "float_t_max", dict(T_max=2.5), 1, "SGD"),
  ("CosineAnnealingLR", "negative_eta_min", dict(T_max=5, eta_min=-1.0), 1, "SGD"),
  ("CosineAnnealingWarmRestarts", "zero_t_0", dict(T_0=0), 1, "SGD"),
  ("CosineAnnealingWarmRestarts", "float_t_0", dict(T_0=2.0), 1, "SGD"),
  ("CosineAnnealingWarmRestarts", "zero_t_mult", dict(T_0=2, T_mult=0), 1, "SGD"),
  ("CosineAnnealingWarmRestarts", "float_t_mult", dict(T_0=2, T_mult=1.5), 1, "SGD"),
  ("CosineAnnealingWarmRestarts", "str_eta_min", dict(T_0=2, eta_min="0"), 1, "SGD"),
  ("CyclicLR", "bad_mode", dict(base_lr=0.01, max_lr=0.1, mode="x"), 1, "SGD"),
  ("CyclicLR", "bad_mode_with_scale_fn", dict(base_lr=0.01, max_lr=0.1, mode="x", scale_fn=fn("inv_cycle")),
   1, "SGD"),
  ("CyclicLR", "float_step_size", dict(base_lr=0.01, max_lr=0.1, step_size_up=2.5), 1, "SGD"),
  ("CyclicLR", "no_momentum_optimizer", dict(base_lr=0.01, max_lr=0.1), 1, "ASGD"),
  ("CyclicLR", "no_momentum_optimizer_off", dict(base_lr=0.01, max_lr=0.1, cycle_momentum=False), 1, "ASGD"),
  ("CyclicLR", "base_lr_list_length", dict(base_lr=[0.01, 0.02], max_lr=0.1), 1, "SGD"),
  ("CyclicLR", "max_momentum_list_length", dict(base_lr=0.01, max_lr=0.1, max_momentum=[0.9]), 2, "SGD"),
  ("OneCycleLR", "zero_total_steps", dict(max_lr=0.1, total_steps=0), 1, "SGD"),
  ("OneCycleLR", "float_total_steps", dict(max_lr=0.1, total_steps=10.0), 1, "SGD"),
  ("OneCycleLR", "no_total_steps", dict(max_lr=0.1), 1, "SGD"),
  ("OneCycleLR", "zero_epochs", dict(max_lr=0.1, epochs=0, steps_per_epoch=10), 1, "SGD"),
  ("OneCycleLR", "negative_steps_per_epoch", dict(max_lr=0.1, epochs=2, steps_per_epoch=-1), 1, "SGD"),
  ("OneCycleLR", "int_pct_start", dict(max_lr=0.1, total_steps=10, pct_start=1), 1, "SGD"),
  ("OneCycleLR", "pct_start_above_one", dict(max_lr=0.1, total_steps=10, pct_start=1.5), 1, "SGD"),
  ("OneCycleLR", "bad_anneal", dict(max_lr=0.1, total_steps=10, anneal_strategy="x"), 1, "SGD"),
  ("OneCycleLR", "max_lr_list_length", dict(max_lr=[0.1, 0.2], total_steps=10), 1, "SGD"),
  ("OneCycleLR", "no_momentum_optimizer", dict(max_lr=0.1, total_steps=10), 1, "ASGD"),
  ("OneCycleLR", "zero_div_factor", dict(max_lr=0.1, total_steps=10, div_factor=0.0), 1, "SGD"),
  ("OneCycleLR", "first_phase_empty", dict(max_lr=0.1, total_steps=10, pct_start=0.1), 1, "SGD"),
  ("OneCycleLR", "past_total_steps", dict(max_lr=0.1, total_steps=3), 1, "SGD"),
  ("LambdaLR", "list_length", dict(lr_lambda=[fn("inv_sqrt"), fn("inv_sqrt")]), 1, "SGD"),
  ("LambdaLR", "not_callable", dict(lr_lambda=3), 1, "SGD"),
  ("MultiplicativeLR", "not_callable", dict(lr_lambda=None), 1, "SGD"),
  ("MultiplicativeLR", "list_length", dict(lr_lambda=[fn("const_095")]), 2, "SGD"),
  ("SequentialLR", "empty", dict(schedulers=[], milestones=[]), 1, "SGD"),
  ("SequentialLR", "milestones_length", dict(schedulers=[sched("ExponentialLR", gamma=0.9)], milestones=[3]),
   1, "SGD"),
  ("SequentialLR", "plateau_member", dict(schedulers=[sched("ExponentialLR", gamma=0.9),
                                                      sched("ReduceLROnPlateau")], milestones=[3]), 1, "SGD"),
  ("SequentialLR", "unsorted_milestones", dict(schedulers=[sched("ExponentialLR", gamma=0.9),
                                                           sched("StepLR", step_size=2), sched("ConstantLR")],
                                               milestones=[5, 3]), 1, "SGD"),
  ("ChainedScheduler", "empty", dict(schedulers=[]), 1, "SGD"),
  ("ChainedScheduler", "plateau_member", dict(schedulers=[sched("ReduceLROnPlateau")]), 1, "SGD"),
  ("ReduceLROnPlateau", "factor_one", dict(factor=1.0), 1, "SGD"),
  ("ReduceLROnPlateau", "bad_mode", dict(mode="x"), 1, "SGD"),
  ("ReduceLROnPlateau", "bad_threshold_mode", dict(threshold_mode="x"), 1, "SGD"),
  ("ReduceLROnPlateau", "min_lr_list_length", dict(min_lr=[0.0, 0.0]), 1, "SGD"),
  ("ReduceLROnPlateau", "negative_factor", dict(factor=-0.5), 1, "SGD"),
]  # fmt: skip


# --- building PyTorch's objects -----------------------------------------------------------------------


def optimizer(kind: str, lrs: tuple[float, ...]) -> Any:
  """A PyTorch optimizer of ``len(lrs)`` groups (one float64 parameter each, never given a gradient)."""
  import torch

  groups = [{"params": [torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], "lr": lr} for lr in lrs]
  if kind == "SGD":
    return torch.optim.SGD(groups, lr=lrs[0], momentum=0.9)
  return getattr(torch.optim, kind)(groups, lr=lrs[0])


def decode(value: Any, opt: Any) -> Any:
  if isinstance(value, dict) and "$fn" in value:
    return FUNCTIONS[value["$fn"]]
  if isinstance(value, dict) and "$sched" in value:
    return scheduler(value["$sched"]["class"], value["$sched"]["kwargs"], opt)
  if isinstance(value, list):
    return [decode(v, opt) for v in value]
  return value


def scheduler(cls: str, kwargs: dict[str, Any], opt: Any, last_epoch: int | None = None) -> Any:
  import torch

  kw = {k: decode(v, opt) for k, v in kwargs.items()}
  if last_epoch is not None:
    kw["last_epoch"] = last_epoch
  if cls == "ChainedScheduler":
    return torch.optim.lr_scheduler.ChainedScheduler(**kw)
  return getattr(torch.optim.lr_scheduler, cls)(opt, **kw)


def momentum_of(group: dict[str, Any]) -> float:
  return float(group["betas"][0] if "betas" in group else group["momentum"])


def counts_of(case: LrCase) -> np.ndarray:
  if not case.sample:
    return np.arange(case.n + 1)
  counts = set(range(301)) | set(range(0, case.n + 1, 97)) | set(range(case.n - 59, case.n + 1))
  return np.array(sorted(counts))


def cycles_momentum(cls: str, kwargs: dict[str, Any]) -> bool:
  if cls in ("CyclicLR", "OneCycleLR"):
    return kwargs.get("cycle_momentum", True)
  members = kwargs.get("schedulers", [])
  return any(cycles_momentum(m["$sched"]["class"], m["$sched"]["kwargs"]) for m in members)


def record_lr_case(cls: str, case: LrCase) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
  """One configuration: each group's lr (and momentum) at the recorded counts."""
  warnings.simplefilter("ignore")  # PyTorch's warnings about step order: the optimizer never steps here
  opt = optimizer(case.optimizer, case.groups)
  resume = None
  if case.last_epoch >= 0 and cls == "SequentialLR":
    resume = "direct"
    sch = scheduler(cls, case.kwargs, opt, last_epoch=case.last_epoch)
  elif case.last_epoch >= 0:
    resume = "state_dict"
    fresh = scheduler(cls, case.kwargs, opt)
    for _ in range(case.last_epoch):
      opt.step()
      fresh.step()
    saved = copy.deepcopy(opt.state_dict())
    opt = optimizer(case.optimizer, case.groups)
    opt.load_state_dict(saved)
    sch = scheduler(cls, case.kwargs, opt, last_epoch=case.last_epoch)
  else:
    sch = scheduler(cls, case.kwargs, opt)
  counts = counts_of(case)
  wanted = set(counts.tolist())
  lrs, moms = [], []
  for t in range(case.n + 1):
    if t in wanted:
      lrs.append([float(g["lr"]) for g in opt.param_groups])
      moms.append([momentum_of(g) for g in opt.param_groups])
    if t < case.n:
      opt.step()
      sch.step()
  name = case.name
  arrays = {f"{name}/count": counts, f"{name}/lr": np.array(lrs, np.float64)}
  if cycles_momentum(cls, case.kwargs):
    arrays[f"{name}/momentum"] = np.array(moms, np.float64)
  info = {
    "kwargs": case.kwargs, "groups": list(case.groups), "optimizer": f"torch.optim.{case.optimizer}",
    "last_epoch": case.last_epoch, "resume": resume, "n": case.n, "sampled": case.sample, "note": case.note,
  }  # fmt: skip
  return arrays, info


def record_plateau(name: str, kwargs: dict[str, Any], groups: tuple[float, ...], metrics: Any) -> tuple:
  import torch

  seed = None
  if isinstance(metrics, tuple):
    seed, n = metrics
    metrics = plateau_metrics(seed, n, kwargs.get("mode", "min"))
  opt = optimizer("SGD", groups)
  sch = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
  lrs = []
  for m in metrics:
    opt.step()
    sch.step(m)
    lrs.append([float(g["lr"]) for g in opt.param_groups])
  arrays = {f"{name}/metrics": np.array(metrics, np.float64), f"{name}/lr": np.array(lrs, np.float64)}
  info = {"kwargs": kwargs, "groups": list(groups), "metric_seed": seed, "optimizer": "torch.optim.SGD"}
  return arrays, info


def record_validation() -> list[dict[str, Any]]:
  """What PyTorch does with each entry of `VALIDATION`: raise at construction, at a step, or accept."""
  warnings.simplefilter("ignore")
  out = []
  for cls, label, kwargs, groups, kind in VALIDATION:
    opt = optimizer(kind, tuple([0.1] * groups))
    entry = {
      "class": cls,
      "label": label,
      "kwargs": kwargs,
      "groups": groups,
      "optimizer": f"torch.optim.{kind}",
    }
    try:
      sch = scheduler(cls, kwargs, opt)
    except Exception as err:  # noqa: BLE001 - the type and message are what is recorded
      out.append({**entry, "raises": type(err).__name__, "message": str(err), "when": "construction"})
      continue
    raised = None
    for step in range(1, STEPS_TRIED + 1):
      try:
        opt.step()
        sch.step(1.0) if cls == "ReduceLROnPlateau" else sch.step()
      except Exception as err:  # noqa: BLE001
        raised = {"raises": type(err).__name__, "message": str(err), "when": f"step {step}"}
        break
    lrs = [float(g["lr"]) for g in opt.param_groups]
    out.append({**entry, **(raised or {"raises": None, "message": "", "when": None, "lr_after": lrs})})
  return out


def record_signatures() -> dict[str, list[list[Any]]]:
  """Each class's arguments and defaults, as [name, repr(default) or None]."""
  import torch

  out = {}
  for cls in CLASSES:
    params = inspect.signature(getattr(torch.optim.lr_scheduler, cls)).parameters.values()
    out[cls] = [[p.name, None if p.default is p.empty else repr(p.default)] for p in params]
  return out


# --- optimizer trajectories with PyTorch's schedulers (the harness's format) ------------------------

TL = harness.TORCH_LR
# three half periods: down to eta_min, up (PyTorch's recursion past T_max) and down again
COSINE_LONG = harness.spec(TL + "CosineAnnealingLR", T_max=100, eta_min=0.0005)
NOTE = "float64 lr from oj.torch's schedulers: a float32 schedule would be 1e-9..2e-8 off"
_rmsprop = partial(
  harness.torch_case, "torch.optim.RMSprop", defaults={"lr": 0.01, "momentum": 0.9}, notes=NOTE
)
_radam = partial(harness.torch_case, "torch.optim.RAdam", defaults={"lr": 0.01}, notes=NOTE)


def _ax(opt: Any, variables: list) -> list:
  return [opt.state[v]["ax"].detach().numpy().copy() for v in variables]


_asgd = partial(harness.torch_case, "torch.optim.ASGD", defaults={"lr": 0.02, "lambd": 1e-4, "t0": 10.0},
                extras={"ax": _ax}, notes=NOTE)  # fmt: skip


def cases() -> list[harness.Case]:
  """CosineAnnealingLR, float64: the rmsprop, radam and asgd families already have PyTorch's StepLR and
  ExponentialLR in float64 (their tests now replay them with oj.torch's schedulers too)."""
  out = [
    _rmsprop("rmsprop_long_cos", "float64", 300, schedule=COSINE_LONG, centered=True),
    _radam(
      "radam_long_cos", "float64", 300, schedule=COSINE_LONG, weight_decay=0.01, decoupled_weight_decay=True
    ),
    _asgd("asgd_long_cos", "float64", 300, schedule=COSINE_LONG),
  ]
  for case in out:
    case.family = TRAJECTORIES
  return out


def write_trajectories(root: Path) -> None:
  """The trajectory cases, into ``<root>/torch_lr/trajectories/`` (root: tests/golden)."""
  versions = runners.versions()
  for case in cases():
    init, grads = harness.make_inputs(case)
    traj = runners.run_torch(case, init, grads)
    path = harness.write_case(root, case, init, grads, traj, versions)
    print(f"{case.family}/{case.name}: {path.stat().st_size / 1024:.1f} KiB")


def write_tables(folder: Path = OUT) -> None:
  """Writes ``<folder>/<Class>.npz`` + ``.json``, ``validation.json`` and ``trajectories/``."""
  import torch

  torch.set_default_dtype(torch.float32)
  versions = harness.all_versions(runners.versions())
  folder.mkdir(parents=True, exist_ok=True)
  base = {"framework": "torch", "framework_version": versions.get("torch"), "versions": versions}
  for cls, rows in TABLE.items():
    recorded = [record_lr_case(cls, row) for row in rows]
    arrays = {k: v for a, _ in recorded for k, v in a.items()}
    np.savez_compressed(folder / f"{cls}.npz", **arrays)
    provenance = {
      "class": "torch.optim.lr_scheduler." + cls, **base,
      "dtype": "float64 (PyTorch's Python floats)", "seed": None,
      "cases": {row.name: info for row, (_, info) in zip(rows, recorded, strict=True)},
      "generated_by": GENERATED_BY,
    }  # fmt: skip
    (folder / f"{cls}.json").write_text(json.dumps(provenance, indent=1) + "\n")
    print(f"{cls}: {(folder / f'{cls}.npz').stat().st_size / 1024:.1f} KiB")
  recorded = [record_plateau(*row) for row in PLATEAU]
  np.savez_compressed(folder / "ReduceLROnPlateau.npz", **{k: v for a, _ in recorded for k, v in a.items()})
  provenance = {
    "class": "torch.optim.lr_scheduler.ReduceLROnPlateau", **base,
    "dtype": "float64 (PyTorch's Python floats)", "seed": "per case (metric_seed)",
    "cases": {row[0]: info for row, (_, info) in zip(PLATEAU, recorded, strict=True)},
    "generated_by": GENERATED_BY,
  }  # fmt: skip
  (folder / "ReduceLROnPlateau.json").write_text(json.dumps(provenance, indent=1) + "\n")
  validation = {
    **base, "steps_tried": STEPS_TRIED, "cases": record_validation(), "signatures": record_signatures(),
    "generated_by": GENERATED_BY,
  }  # fmt: skip
  (folder / "validation.json").write_text(json.dumps(validation, indent=1) + "\n")
  write_trajectories(folder.parent)


if __name__ == "__main__":
  write_tables()
