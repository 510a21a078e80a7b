"""Presets with sharded parameters on 8 simulated CPU devices (tests/multidevice/sharded_step.py)."""

from __future__ import annotations

from tests import multidevice


def test_presets_keep_sharding_and_match_single_device():
  assert "ok paddle.rmsprop" in multidevice.run("sharded_step.py")
