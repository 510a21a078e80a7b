"""The README's first command, ``python -m optim_jax.demo``: short versions of its parts, its data and
its options (the default run is measured by hand: about a minute on two cores)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from optim_jax import demo
from optim_jax.demo import _fidelity, _torch_compare, _training

ROOT = Path(__file__).resolve().parents[1]
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def _png(path: Path) -> bool:
  return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_fidelity_ours_within_rounding_optax_off_where_semantics_differ(tmp_path, capsys):
  # two recorded cases, one where optax agrees; a notebook's "-f kernel.json" is ignored
  argv = ["-f", "kernel.json", "--part", "fidelity", "--optimizers", "paddle.rmsprop", "torch.radam"]
  results = demo.main([*argv, "--out", str(tmp_path)])
  out = capsys.readouterr().out
  expected = [p for p in _fidelity.PAIRINGS if p.preset in ("paddle.rmsprop", "torch.radam")]
  assert [r.pairing for r in results.fidelity] == expected and results.training is None
  assert {r.agrees for r in results.fidelity} == {True, False}
  for r in results.fidelity:
    assert r.ours.shape == r.optax.shape == (r.meta["steps"],)
    assert r.ours.max() <= _fidelity.TOLERANCE, r.pairing.case
    if r.agrees:
      assert r.optax.max() <= _fidelity.TOLERANCE, r.pairing.case
    else:  # the difference is the semantics, far above rounding
      assert r.optax.max() > max(3 * _fidelity.TOLERANCE, 10 * r.ours.max()), r.pairing.case
    assert f"{r.ours.max():.1e}" in out and f"{r.optax.max():.1e}" in out  # the table shows what was measured
  assert "ours: worst" in out and "within 1e-06" in out and "Part 2" not in out
  assert f"fidelity: {len(expected)} cases" in repr(results)
  if HAS_MATPLOTLIB:
    assert results.files == [tmp_path / "fidelity.png"] and _png(results.files[0])
  else:
    assert "matplotlib is not installed" in out and not results.files


def test_training_learns_with_every_number_labelled(tmp_path, capsys):
  results = demo.main(
    ["--part", "training", "--optimizers", "torch.rmsprop", "--steps", "20", "--out", str(tmp_path)]
  )
  out = capsys.readouterr().out
  (run,) = results.training.values()
  assert list(results.training) == ["torch.rmsprop"] and results.fidelity is None
  assert run.steps[0] == 0 and run.steps[-1] == 20 and len(run.train_loss) == len(run.steps) == 21
  assert np.isfinite(run.train_loss).all() and run.train_loss[-1] < 0.5 * math.log(10)  # chance: ln 10
  assert run.train_loss[-1] < run.train_loss[0] and run.test_accuracy[-1] > 0.5  # chance: 0.1
  assert run.step_ms > 0 and run.compile_s > 0 and round(run.state_bytes) == 8  # 2 float32 buffers
  assert f"{run.train_loss[-1]:.4f}" in out and f"{100 * run.test_accuracy[-1]:.1f}%" in out
  for label in (
    "train loss",
    "test accuracy",
    "ms/step",
    "state B/param",
    "chance: ln 10",
    "train loss (full set)",
  ):
    assert label in out
  if HAS_MATPLOTLIB:
    assert results.files == [tmp_path / "training.png"] and _png(results.files[0])


def test_state_bytes_per_parameter():
  params = {"w": np.zeros((10, 20), np.float32), "b": np.zeros(20, np.float32)}
  preset = {p.name: p for p in _training.PRESETS}
  sag = preset["paddle.asgd"].make(100).init(params)  # batch_num slots and their sum, plus a counter
  assert _training.state_bytes(sag, 220) == pytest.approx(4 * (_training.N_BATCHES + 1), abs=0.1)
  assert _training.state_bytes(preset["keras.rmsprop"].make(100).init(params), 220) == pytest.approx(
    12, abs=0.2
  )


def test_options_and_a_notebook_kernel_argument(monkeypatch):
  monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", "/run/jupyter/kernel-1.json"])
  args = demo.parse_args()  # main() in a notebook reads these
  assert args.part == "all" and args.steps == 400 and args.optimizers == list(demo.PRESETS)
  assert demo.parse_args(["--optimizers", "torch.radam", "paddle.rmsprop"]).optimizers == [
    "paddle.rmsprop",
    "torch.radam",
  ]
  for bad in (["--steps", "0"], ["--optimizers", "optax.adam"], ["--bogus"], ["--compare", "paddle"]):
    with pytest.raises(SystemExit) as e:
      demo.parse_args(bad)
    assert e.value.code == 2


@pytest.mark.skipif(_torch_compare.available(), reason="torch is installed: the comparison runs instead")
def test_compare_torch_without_torch_says_how_to_install_it(tmp_path, capsys):
  with pytest.raises(SystemExit) as e:
    demo.main(["--compare", "torch", "--out", str(tmp_path)])
  assert e.value.code == 2
  captured = capsys.readouterr()
  assert "pip install torch==2.13.0" in captured.err and "Part 1" not in captured.out


@pytest.mark.skipif(not _torch_compare.available(), reason="needs torch")
def test_compare_torch_ours_follows_pytorch_optax_does_not(tmp_path):
  results = demo.main(["--part", "none", "--compare", "torch", "--steps", "20", "--out", str(tmp_path)])
  gap, distance = results.compare["loss_gap"], results.compare["distance"]
  assert gap["ours"].max() < 1e-10 and distance["ours"].max() < 1e-10
  assert gap["optax"].max() > 1e-4 and distance["optax"].max() > 1e-4


def test_shipped_data_is_the_recorded_data():
  tool = importlib.util.spec_from_file_location("make_demo_data", ROOT / "tools" / "make_demo_data.py")
  make_demo_data = importlib.util.module_from_spec(tool)
  tool.loader.exec_module(make_demo_data)
  shipped = sorted(
    f"{p.parent.name}/{p.stem}" for p in _fidelity.DATA.glob("*/*.npz") if p.with_suffix(".json").exists()
  )
  assert shipped == sorted(make_demo_data.CASES) == sorted(p.case for p in _fidelity.PAIRINGS)
  for case in shipped:  # byte-for-byte copies of tests/golden/, provenance included
    for suffix in (".npz", ".json"):
      copy, original = _fidelity.DATA / f"{case}{suffix}", ROOT / "tests" / "golden" / f"{case}{suffix}"
      assert copy.read_bytes() == original.read_bytes(), copy
    meta = json.loads((_fidelity.DATA / f"{case}.json").read_text())
    assert (
      meta["dtype"] == "float32" and meta["steps"] <= 100 and meta["generated_by"] == "tools/make_golden.py"
    )
  with np.load(_training.DATA / "digits.npz") as f:
    images, labels = f["images"], f["labels"]
  provenance = json.loads((_training.DATA / "digits.json").read_text())
  assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
  assert labels.shape == (1797,) and sorted(set(labels.tolist())) == list(range(10))
  assert provenance["sha256"]["images"] == hashlib.sha256(images.tobytes()).hexdigest()
  assert provenance["images_per_label"] == np.bincount(labels).tolist()
  assert "CC BY 4.0" in provenance["licence"] and "scikit-learn" in provenance["source"]
