"""The long fuzz run over every public factory: thousands of configurations, failures grouped.

    python tools/fuzz.py --configs 10000 --seed 0

Draws with the generators of tests/fuzz_strategies.py (the ones tests/test_fuzz.py draws from with
hypothesis), cycling over the registry so that every entry gets its share: valid configurations of
each transformation (on drawn gradient trees, 2 to 40 eager steps), valid schedules (at counts up to
2**31 - 1), invalid arguments (a fixed bad value or a drawn out-of-range number) and gray values.
Every ``--jit-every``-th valid configuration also runs under ``jax.jit`` with a trace counter.
Prints the configurations run per entry and the failures grouped by signature, with one
reproduction each (a ``python -c`` line to run from the repository root), and the total time.
Not a test: pytest collects tests/ only.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import numpy as np  # noqa: E402

from tests import fuzz_strategies as fz  # noqa: E402
from tests import registry  # noqa: E402

# (kind, weight): how many slots of the cycle each entry gets per kind
TRANSFORM_KINDS = (("valid", 4), ("invalid", 2), ("gray", 1))
SCHEDULE_KINDS = (("schedule", 3), ("invalid", 2), ("gray", 1))
STEPS = (2, 3, 3, 5, 10, 30)


def _cycle() -> list[tuple[str, registry.Entry]]:
  slots = []
  for entry in registry.ENTRIES:
    slots += [(kind, entry) for kind, n in TRANSFORM_KINDS for _ in range(n)]
  for entry in registry.SCHEDULES:
    slots += [(kind, entry) for kind, n in SCHEDULE_KINDS for _ in range(n)]
  return slots


def _check_jit(case: fz.ValidCase) -> None:
  """The same valid case under jax.jit: one trace for all steps, finite updates."""
  entry = fz.ENTRIES[case.entry]
  repro = f"{fz.REPRO}check_valid({case!r})  # under jax.jit: tools/fuzz.py _check_jit"
  with fz._mode(case.tree.x64):
    tx = entry.factory(**fz.build({**fz.base_kwargs(entry), **case.overrides}))
    extras = fz.build(case.extras)
    traces = []

    def step(g, s, p):
      traces.append(None)
      return tx.update(g, s, p, **extras)

    jitted = jax.jit(step)
    params = case.tree.params()  # kept: optax.apply_updates drops a weak type, which retraces on its own
    state = tx.init(params)
    for k in range(case.steps):
      _, state = jitted(case.tree.grads(k), state, params)
    if len(traces) != 1:
      raise fz.Defect(("jit", fz.base_name(entry), "retrace under jit"), f"{len(traces)} traces", repro)


def run_one(kind: str, entry: registry.Entry, draw: fz.RandomDraw, jit: bool) -> None:
  if kind == "valid":
    case = fz.draw_valid_case(draw, entry, steps=STEPS)
    fz.check_valid(case)
    if jit:
      _check_jit(case)
  elif kind == "schedule":
    fz.check_schedule(fz.draw_schedule_case(draw, entry))
  else:
    case = fz.draw_arg_case(draw, entry, kind)
    if case is not None:
      fz.check_arg(case)


def main(argv: list[str] | None = None) -> int:
  ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  ap.add_argument("--configs", type=int, default=10000, help="configurations to run")
  ap.add_argument("--seed", type=int, default=0)
  ap.add_argument("--jit-every", type=int, default=50, help="also jit every n-th valid configuration (0: no)")
  ap.add_argument("--only", default="", help="run only entries whose name contains this")
  ap.add_argument("--json", default="", help="also write the summary here")
  args = ap.parse_args(argv)
  warnings.simplefilter("error")  # as pytest runs (filterwarnings = error)

  slots = [(k, e) for k, e in _cycle() if args.only in e.name]
  per_entry: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
  groups: dict[tuple, dict] = {}
  valid_seen = 0
  start = time.perf_counter()
  for i in range(args.configs):
    kind, entry = slots[i % len(slots)]
    draw = fz.RandomDraw(random.Random(f"{args.seed}:{i}"))
    jit = False
    if kind == "valid":
      valid_seen += 1
      jit = args.jit_every > 0 and valid_seen % args.jit_every == 0
    per_entry[entry.name][kind] += 1
    try:
      run_one(kind, entry, draw, jit)
    except fz.Defect as d:
      group = groups.setdefault(d.signature, {"count": 0, "detail": d.detail, "repro": d.repro, "first": i})
      group["count"] += 1
    except Exception as e:  # noqa: BLE001 - a failure of the fuzz itself: report it like a defect
      sig = ("fuzz error", entry.name, kind, fz.exc_line(e))
      group = groups.setdefault(sig, {"count": 0, "detail": repr(e), "repro": f"config {i}", "first": i})
      group["count"] += 1
    if (i + 1) % 500 == 0:
      seconds = time.perf_counter() - start
      print(f"  {i + 1} configurations, {len(groups)} signatures, {seconds:.0f} s", flush=True)
  elapsed = time.perf_counter() - start

  print(f"\n== {args.configs} configurations in {elapsed:.0f} s (seed {args.seed}) ==\n")
  print("configurations per entry (valid/schedule, invalid, gray):")
  for name, n in per_entry.items():
    print(f"  {name:55s} {n['valid'] + n['schedule']:5d} {n['invalid']:5d} {n['gray']:5d}")
  failed = sum(g["count"] for g in groups.values())
  print(f"\n{len(groups)} distinct failure signatures, {failed} failing configurations:\n")
  for sig, g in sorted(groups.items(), key=lambda kv: kv[0]):
    print(f"[{g['count']}x] {' | '.join(s for s in sig if s)}")
    print(f"    {g['detail']}")
    print(f"    python -c {g['repro']!r}")
  by_kind = collections.Counter(sig[0] for sig in groups)
  print(f"\nsignatures by kind: {dict(by_kind)}; total time {elapsed:.0f} s")
  if args.json:
    out = {
      "configs": args.configs,
      "seed": args.seed,
      "seconds": elapsed,
      "per_entry": {k: dict(v) for k, v in per_entry.items()},
      "failures": [{"signature": list(k), **v} for k, v in groups.items()],
    }
    Path(args.json).write_text(json.dumps(out, indent=1, default=str))
  return 1 if groups else 0


if __name__ == "__main__":
  np.seterr(all="ignore")
  sys.exit(main())
