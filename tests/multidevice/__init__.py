"""Scripts that need several devices, each run in a subprocess on simulated CPU devices (XLA_FLAGS must
be set before jax is imported)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent


def run(script: str, devices: int = 8) -> str:
  """Runs tests/multidevice/<script> on `devices` simulated CPU devices; fails unless it exits with 0.
  Returns its standard output."""
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu")
  proc = subprocess.run([sys.executable, str(HERE / script)], env=env, cwd=HERE.parents[1], capture_output=True,
                        text=True, timeout=600)  # fmt: skip
  assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
  return proc.stdout
