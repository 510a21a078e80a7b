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


COLUMNS = {  # a case's tolerance -> its column
  golden_utils.TOL_F32: "float32, <= 100 steps",
  golden_utils.TOL_F32_LONG: "float32, 300 steps",
  golden_utils.TOL_F64: "float64",
}


def case_error(case: golden_utils.GoldenCase) -> float:
  params, average = golden_utils.replay_case(case)
  errors = list(golden_utils.normwise_error(params, case.params).values())
  for key in case.meta["extras"]:
    extra = golden_utils.load_extra(case.family, case.name, key)
    errors += golden_utils.normwise_error(average, extra).values()
  return max(errors)


def rows() -> list[tuple]:
  """(framework, optimizer, cases, worst error per column or None), sorted."""
  worst = collections.defaultdict(dict)
  count = collections.Counter()
  for family, name in CASES:
    case = golden_utils.load_case(family, name)
    key = (FRAMEWORK[case.meta["framework"]], case.meta["config"]["optimizer"])
    worst[key][case.tolerance] = max(worst[key].get(case.tolerance, 0.0), case_error(case))
    count[key] += 1
  return [(fw, opt, count[fw, opt], *(w.get(t) for t in COLUMNS)) for (fw, opt), w in sorted(worst.items())]


def markdown(table: list[tuple]) -> str:
  cell = lambda e: "-" if e is None else f"{e:.1e}"
  lines = [
    f"| framework | optimizer | golden cases | {' | '.join(COLUMNS.values())} |",
    "|---|---|---|---|---|---|",
  ]
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
