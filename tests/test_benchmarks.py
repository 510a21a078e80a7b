"""`python -m benchmarks` writes every suite's JSON and PNG (tiny sizes; no timing is checked)."""

from __future__ import annotations

import importlib.util
import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
# the cheapest run that still goes through every suite: one case, tiny trees, one round of one step
TINY = [
  "--quick",
  "--cases=torch.radam",
  "--params=4096",
  "--leaves=2",
  "--rounds=1",
  "--repeats=1",
  "--sag-params=4096",
  "--many-params=4096",
  "--many-leaves=16",
  "--batch-nums=1,4",
  "--compile-leaves=2",
  "--compile-repeats=1",
]
MACHINE = {"platform", "cpu_count", "jax", "jaxlib", "optax", "torch", "backend", "device_kind"}
ROWS = {
  "step": {"case", "ms", "optax_ms", "floor_ms", "vs_optax", "vs_floor", "passes", "floor_passes"},
  "many": {"case", "ms", "optax_ms", "floor_ms", "flat_floor_ms", "vs_optax", "vs_flat_floor"},
  "sag": {"batch_num", "ms", "floor_ms", "vs_floor", "state_bytes_per_param"},
  "compile": {"case", "leaves", "total_s", "optax_total_s", "ratio", "cpu_s", "cpu_ratio", "hlo_lines"},
  "torch": {"case", "ms", "foreach_ms", "forloop_ms", "vs_foreach", "vs_forloop"},
}
PNGS = ("step.png", "many.png", "sag.png", "compile.png")


def test_quick_run_writes_every_result(tmp_path):
  out = subprocess.run(
    [sys.executable, "-m", "benchmarks", *TINY, "--out", str(tmp_path)],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=300,
  )
  assert out.returncode == 0, out.stderr[-4000:]
  has_torch = importlib.util.find_spec("torch") is not None
  for suite, row_keys in ROWS.items():
    path = tmp_path / f"{suite}.json"
    if suite == "torch" and not has_torch:
      assert not path.exists()
      assert "pip install torch==2.13.0" in out.stdout
      continue
    result = json.loads(path.read_text())
    assert {"suite", "date", "machine", "args", "rows"} <= result.keys()
    assert result["suite"] == suite
    assert MACHINE <= result["machine"].keys()
    assert result["args"]["quick"] is True
    assert result["rows"], suite
    for row in result["rows"]:
      assert row_keys <= row.keys(), (suite, row_keys - row.keys())
  assert [r["batch_num"] for r in json.loads((tmp_path / "sag.json").read_text())["rows"]] == [1, 4]
  for name in PNGS:
    assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
  report = subprocess.run(
    [sys.executable, "-m", "benchmarks", "--report", "--out", str(tmp_path)],
    cwd=ROOT,
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert report.returncode == 0, report.stderr[-4000:]
  for title in ("Step, 4,096 float32", "Many small leaves", "(SAG)", "Compile CPU time"):
    assert title in report.stdout, title
  assert "| torch.radam |" in report.stdout
