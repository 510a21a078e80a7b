"""Every Python snippet of the README runs on its own (nothing defined before it), and the parity
table lists every framework optimizer the golden trajectories cover."""

from __future__ import annotations

import collections
import pathlib
import re

import pytest

from tools import parity_table

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_snippets_and_commands():
  text = README.read_text()
  first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1).strip().splitlines()
  assert first_block[0].endswith("python -m optim_jax.demo")
  assert first_block[1].endswith("python -m pytest")
  assert text.index("```bash") < text.index("```python")
  assert len(BLOCKS) >= 4


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_snippet_runs(code):
  exec(compile(code, str(README), "exec"), {})


def test_parity_table_covers_the_golden_cases():
  """Its rows are the (framework, optimizer) pairs of tests/golden/ with their case counts, and no
  worst error exceeds the tests' tolerance (the numbers come from tools/parity_table.py --write)."""
  from tests import golden_utils
  from tests.test_golden import CASES

  table = re.search(r"<!-- parity-table -->\n(.*?)<!-- /parity-table -->", README.read_text(), re.S)
  assert table, "README.md has no parity table"
  rows = [line.strip("|").split("|") for line in table.group(1).strip().splitlines()[2:]]
  got = {(fw.strip(), opt.strip().strip("`")): int(n) for fw, opt, n, *_ in rows}
  want = collections.Counter()
  for family, name in CASES:
    meta = golden_utils.load_meta(family, name)
    want[parity_table.FRAMEWORK[meta["framework"]], meta["config"]["optimizer"]] += 1
  assert got == dict(want), "rerun python tools/parity_table.py --write"
  for _, _, _, *errors in rows:
    for error, tol in zip(errors, parity_table.COLUMNS, strict=True):  # the tolerances, in order
      assert error.strip() == "-" or float(error) <= tol, (error, tol)
