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
  root = str(HERE.parents[1])  # on the path: the scripts import `report` from here
  path = os.pathsep.join([root, *filter(None, [os.environ.get("PYTHONPATH")])])
  env = dict(os.environ, XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu",
             PYTHONPATH=path)  # fmt: skip
  proc = subprocess.run([sys.executable, str(HERE / script)], env=env, cwd=root, capture_output=True,
                        text=True, timeout=600)  # fmt: skip
  assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
  return proc.stdout


def report(failures: list[str], ok: str) -> int:
  """A script's exit status: prints every failure, or the line `ok` that its test looks for."""
  for f in failures:
    print("FAIL", f)
  if not failures:
    print(ok)
  return 1 if failures else 0
