"""Presets with sharded parameters on 8 simulated CPU devices (a subprocess: XLA_FLAGS must be set
before jax is imported)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys


def test_presets_keep_sharding_and_match_single_device():
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=8", JAX_PLATFORMS="cpu")
  script = pathlib.Path(__file__).parent / "multidevice" / "sharded_step.py"
  root = pathlib.Path(__file__).resolve().parents[1]
  proc = subprocess.run([sys.executable, str(script)], env=env, cwd=root, capture_output=True, text=True,
                        timeout=600)  # fmt: skip
  assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
  assert "ok paddle.rmsprop" in proc.stdout
