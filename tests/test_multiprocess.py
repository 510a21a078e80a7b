"""Two processes on JAX's own distributed runtime (loopback only), four simulated CPU devices each.

The test starts both workers (tests/multidevice/multiprocess_worker.py) with a coordinator on
127.0.0.1 and a port free at run time, computes the single-process run here meanwhile, waits for
both with one deadline and kills them on any failure. Checked: every preset's sharded train step on
the global 8-device mesh gives the single-process parameters to 1e-6, and the orbax checkpoint both
processes wrote restores in both and continues bit-identically.
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from tests.multidevice import multiprocess_worker as worker

ROOT = pathlib.Path(__file__).resolve().parents[1]
DEADLINE_S = 180  # both workers, start to exit; a run takes 15-35 s on 2 busy cores
PROXIES = ("http_proxy", "https_proxy", "all_proxy", "grpc_proxy")


def _free_port() -> int:
  with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _env() -> dict[str, str]:
  env = {k: v for k, v in os.environ.items() if k.lower() not in PROXIES}  # gRPC must not leave loopback
  env.update(XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
  return env


def _tail(log: pathlib.Path) -> str:
  lines = [line for line in log.read_text().splitlines() if not line.startswith("[Gloo]")]
  return "\n".join(lines)[-4000:]


@pytest.mark.skipif(sys.platform != "linux", reason="JAX's gloo CPU collectives are built for Linux only")
def test_two_processes_match_one_and_resume_from_their_checkpoint(tmp_path):
  port, env = _free_port(), _env()
  script = pathlib.Path(worker.__file__)
  logs = [tmp_path / f"process{i}.log" for i in range(2)]
  procs = []
  try:
    for i, log in enumerate(logs):
      with open(log, "w") as f:
        cmd = [sys.executable, str(script), str(i), str(port), str(tmp_path)]
        procs.append(subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + DEADLINE_S
    reference = worker.reference()  # meanwhile: one process, one device
    while None in (codes := [p.poll() for p in procs]) and not any(codes):  # until all exit, or one fails
      assert time.monotonic() < deadline, f"the workers ran past {DEADLINE_S} s"
      time.sleep(0.1)
  finally:  # one worker failed (the other would wait for it), the deadline passed, or the test failed
    for p in procs:
      if p.poll() is None:
        p.kill()
        p.wait(timeout=30)
  out = "\n".join(f"--- process {i}:\n" + _tail(log) for i, log in enumerate(logs))
  print(out)  # the phase timings
  assert [p.returncode for p in procs] == [0, 0], out

  for i in range(2):
    got = np.load(tmp_path / f"process{i}.npz")
    for name, want in reference.items():
      err = rel = 0.0
      for key, leaf in want.items():
        run, resumed = got[f"run/{name}/['{key}']"], got[f"resumed/{name}/['{key}']"]
        np.testing.assert_array_equal(resumed, run, err_msg=f"{name} {key}: resumed != uninterrupted")
        err = max(err, float(np.max(np.abs(run - leaf))))
        rel = max(rel, float(np.max(np.abs(run - leaf)) / np.max(np.abs(leaf))))
      print(f"process {i} {name}: max |params - single process| {err:.1e}, / max |params| {rel:.1e}")
      assert rel <= 1e-6, f"{name}: 2 processes and 1 differ by {rel:.2e}"
