"""Run by tests/test_pmap.py in a subprocess with 4 simulated CPU devices.

``python pmap_step.py OUT.npz``: every registry preset trained by ``jax.pmap`` over the 4 devices, the
batch split between them and the gradients averaged with ``lax.pmean`` before the update; the same
model, data and steps as tests/multidevice/multiprocess_worker.py, whose ``reference`` (one device,
the whole batch) the test compares with. Writes each device's parameters after the last step.
"""

from __future__ import annotations

import pathlib
import sys

DEVICES = 4


def main(out: pathlib.Path) -> int:
  import jax
  import jax.numpy as jnp
  import numpy as np

  from tests.multidevice import multiprocess_worker as worker

  assert jax.local_device_count() == DEVICES, jax.devices()
  entries = worker.presets()
  txs = [e.make() for e in entries]
  p0, x, y = worker.problem()
  per_device = lambda tree: jax.tree.map(lambda a: jnp.stack([a] * DEVICES), tree)  # a copy on each
  split = lambda a: a.reshape(DEVICES, a.shape[0] // DEVICES, *a.shape[1:])
  # compiled ahead of time only to pass XLA the options that make this test compile fast
  options = worker.compiler_options()
  start = lambda p: ([p] * len(txs), [tx.init(p) for tx in txs], jnp.int32(0))
  init = jax.pmap(start, axis_name="devices")
  step = jax.pmap(worker.make_step(entries, txs, axis_name="devices"), axis_name="devices")
  ps, ss, t = init.lower(per_device(p0)).compile(options)(per_device(p0))
  xs, ys = split(x), split(y)
  step = step.lower(ps, ss, t, xs, ys).compile(options)
  for _ in range(worker.STEPS):
    ps, ss, t = step(ps, ss, t, xs, ys)
  out_arrays = {}
  for e, p in zip(entries, ps, strict=True):
    out_arrays.update({f"{e.name}/{k}": np.asarray(v) for k, v in p.items()})
  np.savez(out, **out_arrays)
  print(f"ok pmap: {len(entries)} presets on {DEVICES} devices")
  return 0


if __name__ == "__main__":
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # for `from tests import ...`
  sys.exit(main(pathlib.Path(sys.argv[1])))
