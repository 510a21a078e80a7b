"""The README's main job runs end to end (a short version of it)."""

from __future__ import annotations

import math

from optim_jax import demo


def test_demo_runs_and_learns(capsys):
  results = demo.main(["--steps", "60", "--batch", "64", "--presets", "paddle.rmsprop", "torch.rmsprop"])
  out = capsys.readouterr().out
  assert "final loss" in out and "paddle.rmsprop" in out
  for r in results.values():
    assert math.isfinite(r["loss"]) and r["loss"] < math.log(3)  # better than chance
    assert r["step_ms"] > 0


def test_spirals_are_balanced_and_deterministic():
  x1, y1 = demo.spirals(50, seed=3)
  x2, y2 = demo.spirals(50, seed=3)
  assert x1.shape == (150, 2) and (x1 == x2).all() and (y1 == y2).all()
  assert [int((y1 == k).sum()) for k in range(3)] == [50, 50, 50]
