"""The README's parity table: per framework and optimizer, the worst normwise error of our preset
against every golden trajectory recorded from that framework (tests/golden/, tests/test_golden.py).

    python tools/parity_table.py            # replay every case, print the table
    python tools/parity_table.py --write    # and put it into README.md between its markers

Run it from the repository root with the project's environment (it imports tests.golden_utils). The
error of a case is max over steps and leaves of max|ours - ref| / max|ref| (the golden tests' own
measure), the average a case records (PyTorch ASGD's ``ax``, the Keras EMA) included.
"""

from __future__ import annotations

import argparse
import collections
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import golden_utils  # noqa: E402
from tests.test_golden import CASES  # noqa: E402

BEGIN, END = "<!-- parity-table -->", "<!-- /parity-table -->"
FRAMEWORK = {"paddle": "PaddlePaddle", "torch": "PyTorch", "tf_keras": "tf_keras", "keras": "Keras 3"}


def case_error(family: str, name: str) -> float:
  case = golden_utils.load_case(family, name)
  extras = case.meta["extras"]
  with golden_utils.precision(case):
    tx = golden_utils.build_optimizer(case.meta)
    out = golden_utils.replay(tx, case, average=bool(extras))
  params, average = out if extras else (out, None)
  errors = list(golden_utils.normwise_error(params, case.params).values())
  for key in extras:
    errors += golden_utils.normwise_error(average, golden_utils.load_extra(family, name, key)).values()
  return max(errors)


COLUMNS = ("float32, <= 100 steps", "float32, 300 steps", "float64")  # tolerances 1e-6, 1e-5, 1e-12


def _column(meta: dict) -> str:
  if meta["dtype"] == "float64":
    return COLUMNS[2]
  return COLUMNS[0] if meta["steps"] <= 100 else COLUMNS[1]


def rows() -> list[tuple]:
  """(framework, optimizer, cases, worst error per column or None), sorted."""
  worst = collections.defaultdict(dict)
  count = collections.Counter()
  for family, name in CASES:
    meta = golden_utils.load_meta(family, name)
    key = (FRAMEWORK[meta["framework"]], meta["config"]["optimizer"])
    col = _column(meta)
    worst[key][col] = max(worst[key].get(col, 0.0), case_error(family, name))
    count[key] += 1
  return [(fw, opt, count[fw, opt], *(w.get(c) for c in COLUMNS)) for (fw, opt), w in sorted(worst.items())]


def markdown(table: list[tuple]) -> str:
  cell = lambda e: "-" if e is None else f"{e:.1e}"
  lines = [f"| framework | optimizer | golden cases | {' | '.join(COLUMNS)} |", "|---|---|---|---|---|---|"]
  lines += [f"| {fw} | `{opt}` | {n} | {' | '.join(map(cell, errs))} |" for fw, opt, n, *errs in table]
  return "\n".join(lines)


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--write", action="store_true", help="update README.md between its markers")
  args = parser.parse_args()
  text = markdown(rows())
  print(text)
  if args.write:
    readme = ROOT / "README.md"
    old = readme.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    assert pattern.search(old), f"README.md has no {BEGIN} ... {END} block"
    readme.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", old))


if __name__ == "__main__":
  main()
