"""``jax.pmap`` with ``lax.pmean`` of the gradients gives the single-device run, for every preset.

The pmap run is in a subprocess with 4 simulated CPU devices (tests/multidevice/pmap_step.py;
XLA_FLAGS must be set before jax is imported); the single-device run on the whole batch is computed
here meanwhile, by the same code as the multi-process test's reference.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import numpy as np

from tests.multidevice import multiprocess_worker as worker

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_pmap_with_pmean_matches_one_device(tmp_path):
  env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
  script = ROOT / "tests" / "multidevice" / "pmap_step.py"
  out = tmp_path / "pmap.npz"
  cmd = [sys.executable, str(script), str(out)]
  proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
  try:
    reference = worker.reference()  # meanwhile
    log, _ = proc.communicate(timeout=180)
  finally:
    if proc.poll() is None:
      proc.kill()
      proc.communicate(timeout=30)
  assert proc.returncode == 0, log[-4000:]
  got = np.load(out)
  for name, want in reference.items():
    err = 0.0
    for key, leaf in want.items():
      devices = got[f"{name}/{key}"]
      for d in devices:  # every device holds the same parameters
        np.testing.assert_array_equal(d, devices[0], err_msg=f"{name} {key}: devices disagree")
      err = max(err, float(np.max(np.abs(devices[0] - leaf)) / np.max(np.abs(leaf))))
    print(f"pmap {name}: max |params - one device| / max |params| {err:.1e}")
    assert err <= 1e-6, f"{name}: pmap and one device differ by {err:.2e}"
