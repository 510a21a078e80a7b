"""Make the golden trajectories in tests/golden/ by running the real frameworks.

Run it with the framework virtual environment, never with the project's (the tests only read the
files it writes)::

  /work/venv-fw/bin/python tools/make_golden.py                 # every family
  /work/venv-fw/bin/python tools/make_golden.py rmsprop         # one family
  /work/venv-fw/bin/python tools/make_golden.py rmsprop -k torch_   # cases whose name contains "torch_"
  /work/venv-fw/bin/python tools/make_golden.py --list          # families and their cases

A family is a module of ``tools/golden_cases/`` with ``cases()`` (trajectories, below) or with
``write_tables(folder)`` (tables of another shape, which it records and writes itself: the family
``schedules/lr``, Paddle's learning rate at every count, see `golden_cases.schedules`). A family's
files lie in ``tests/golden/<family>/``.

For each case it draws seeded initial parameters and a seeded gradient sequence
(`golden_cases.harness.make_inputs`), feeds the gradients directly to the framework's optimizer
(`golden_cases.runners`), records the parameters after every step and writes
``tests/golden/<family>/<case>.npz`` plus ``<case>.json`` (framework and version, dtype, seed, steps,
shapes, the machine-readable configuration, on how many steps each clip acted). The file format and
the configuration conventions are documented in `golden_cases/harness.py`.

Adding a family
---------------
1. Write ``tools/golden_cases/<family>.py`` with a function ``cases() -> list[harness.Case]``. Each
   case names the framework (``paddle``, ``torch``, ``tf_keras``, ``keras``), the dotted optimizer
   class and its kwargs, and optionally a schedule, clips and a weight decay (see harness.py for the
   conventions). Build them with harness.py's helpers: ``paddle_case``, ``torch_case``,
   ``keras_case`` (name ``<framework>_<label>_<f32|f64>``, seeded from it), the specs ``spec``,
   ``float_wd``, ``l1``, ``l2``, ``by_value``, ``by_norm``, ``by_gnorm``, ``clip_grad_norm``,
   ``clip_grad_value``, and the shared schedules (``paddle_exp``, ``paddle_step``, ``paddle_piece``,
   ``paddle_step_long``, ``TORCH_STEP``, ``TORCH_EXP``, ``TORCH_STEP_LONG``, ``keras_schedules``); a
   helper that a second family needs moves there. A case always has a non-constant schedule and,
   where the optimizer has it, momentum. Keep cases small: the default pytree
   {"w": (2, 3), "b": (3,), "s": ()} and 20-100 steps, a few of >= 300 steps; float32 and float64.
2. To record state other than the parameters (e.g. an EMA average, torch ASGD's ``ax``), give the
   case ``extras={"name": hook}``, with ``hook(optimizer, variables) -> [array per leaf]`` called
   after every step; the arrays are stored as ``extra/<name>/<leaf>``.
3. A framework without a runner gets one in ``golden_cases/runners.py`` (add it to ``RUNNERS``).
   Data that is not a trajectory (e.g. a schedule's values at every count) is a table family: a module
   with ``write_tables(folder)`` instead of ``cases()``, which records and writes the files itself.
   This script runs it in a process of its own (not with ``-k``); where it needs frameworks that cannot
   share a process it starts workers itself (see golden_cases/schedules.py).
4. Register the family below with one line, run this script, and commit the .npz/.json files
   together with the test that replays them (see tests/golden_utils.py).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden_cases import harness, runners  # noqa: E402

# family name (its folder under tests/golden/) -> module with `cases()` or `write_tables(folder)`; one
# line per family.
FAMILIES = {
  "rmsprop": "golden_cases.rmsprop",
  "ema": "golden_cases.ema",
  "radam": "golden_cases.radam",
  "asgd": "golden_cases.asgd",
  "schedules": "golden_cases.schedule_rmsprop",
  "schedules/lr": "golden_cases.schedules",
  "paddle_groups": "golden_cases.paddle_groups",
  "torch_groups": "golden_cases.torch_groups",
  "keras_options": "golden_cases.keras_options",
  "keras_schedules": "golden_cases.keras_schedules",
  "torch_lr": "golden_cases.torch_lr",
  "interop_paddle": "golden_cases.interop_paddle",
  "interop_keras": "golden_cases.interop_keras",
  "interop_torch": "golden_cases.interop_torch",
}

ROOT = Path(__file__).resolve().parent.parent


def is_tables(family: str) -> bool:
  """Whether the family writes tables of its own (``write_tables``) rather than case trajectories."""
  return hasattr(importlib.import_module(FAMILIES[family]), "write_tables")


def load_cases(family: str) -> list[harness.Case]:
  cases = importlib.import_module(FAMILIES[family]).cases()
  names = [c.name for c in cases]
  if len(set(names)) != len(names):
    raise ValueError(f"duplicate case names in family {family!r}")
  for case in cases:
    case.family = family
  return cases


def check(case: harness.Case, traj: harness.Trajectory, grads: dict) -> list[str]:
  """Warnings about a trajectory that would make a weak golden case."""
  warnings = []
  for name in case.leaves:
    values = traj.params[name].reshape(case.steps, -1)
    if not np.isfinite(values).all():
      warnings.append(f"{name}: non-finite parameters")
    if case.shapes[name] == () and np.abs(values).min() < 0.2:
      warnings.append(f"{name}: scalar leaf comes near 0 (min |p| = {np.abs(values).min():.3g})")
  for spec, active in zip(case.clip, harness.clip_activity(case, grads), strict=True):
    if active == 0 or (active == case.steps and len(case.clip) == 1):
      warnings.append(f"clip {spec['type']} acts on {active} of {case.steps} steps")
  return warnings


def run_cases(cases: list[harness.Case], out: Path) -> int:
  """Runs the cases of one framework in this process; returns 1 if any case looks weak."""
  versions = runners.versions()
  status = 0
  for case in cases:
    start = time.perf_counter()
    init, grads = harness.make_inputs(case)
    traj = runners.RUNNERS[case.framework](case, init, grads)
    path = harness.write_case(out, case, init, grads, traj, versions)
    warnings = check(case, traj, grads)
    status |= bool(warnings)
    took = time.perf_counter() - start
    print(
      f"{case.family}/{case.name}: {path.stat().st_size / 1024:.1f} KiB, {took:.1f} s",
      *warnings,
      sep="\n  ! ",
    )
  return status


def run_tables(families: list[str], out: Path) -> int:
  """Writes the tables of table families in this process."""
  for family in families:
    importlib.import_module(FAMILIES[family]).write_tables(out / family)
  return 0


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("families", nargs="*", help=f"families to make (default: all of {sorted(FAMILIES)})")
  parser.add_argument("-k", dest="only", default=None, help="only cases whose name contains this (no tables)")
  parser.add_argument("--out", type=Path, default=ROOT / "tests" / "golden")
  parser.add_argument("--list", action="store_true", help="list the cases and exit")
  parser.add_argument("--framework", default=None, help=argparse.SUPPRESS)  # internal: one worker process
  parser.add_argument("--tables", action="store_true", help=argparse.SUPPRESS)  # internal: the tables worker
  args = parser.parse_args(argv)
  families = args.families or sorted(FAMILIES)
  unknown = [f for f in families if f not in FAMILIES]
  if unknown:
    parser.error(f"unknown families {unknown}; known: {sorted(FAMILIES)}")
  tables = [f for f in families if is_tables(f)]
  case_families = [f for f in families if f not in tables]
  cases = [c for f in case_families for c in load_cases(f) if not args.only or args.only in c.name]
  if args.list:
    for family in tables:
      print(f"{family}: tables, {FAMILIES[family]}.write_tables")
    for c in cases:
      print(f"{c.family}/{c.name}: {c.framework} {c.dtype} {c.steps} steps")
    return 0
  if args.tables:
    return run_tables(tables, args.out)
  if args.framework:
    return run_cases([c for c in cases if c.framework == args.framework], args.out)
  # Paddle and TensorFlow cannot share a process (it crashes): one worker process per framework, and
  # one for the tables (which start their own workers where they need both).
  status = 0
  for framework in sorted({c.framework for c in cases}):
    cmd = [sys.executable, __file__, *case_families, "--out", str(args.out), "--framework", framework]
    if args.only:
      cmd += ["-k", args.only]
    status |= subprocess.run(cmd, check=False).returncode
  if tables and args.only is None:
    cmd = [sys.executable, __file__, *tables, "--out", str(args.out), "--tables"]
    status |= subprocess.run(cmd, check=False).returncode
  elif tables:
    print(f"-k picks cases: the tables of {tables} are not made")
  if args.only is None and status in (0, 1):  # a full run drops the files of cases that no longer exist
    for family in case_families:
      names = {c.name for c in cases if c.family == family}
      for stale in (args.out / family).glob("*.npz"):
        if stale.stem not in names:
          stale.unlink()
          stale.with_suffix(".json").unlink(missing_ok=True)
          print(f"removed stale {family}/{stale.stem}")
  return status


if __name__ == "__main__":
  sys.exit(main())
