"""Run by tests/test_sharding.py in a subprocess with 8 simulated CPU devices.

Checks, for every preset: state initialised from sharded params is sharded like them (eagerly, and
under jit with explicit mesh axes), a jitted step keeps params and state sharded, and the sharded
trajectory equals the single-device one.
"""

from __future__ import annotations

import os
import sys

assert "--xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", "")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from jax.sharding import AxisType, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import optim_jax as oj  # noqa: E402

PRESETS = {
  "paddle.rmsprop": lambda: oj.paddle.rmsprop(
    optax.exponential_decay(0.01, 1, 0.9), momentum=0.9, centered=True,
    grad_clip=oj.paddle.clip_grad_by_global_norm(1.0), weight_decay=0.01),
  "tf_keras.rmsprop": lambda: oj.tf_keras.rmsprop(0.01, momentum=0.9, clipnorm=1.0, weight_decay=0.01),
  "keras.rmsprop": lambda: oj.keras.rmsprop(0.01, momentum=0.9, global_clipnorm=1.0),
  "torch.rmsprop": lambda: optax.chain(oj.torch.clip_grad_norm(1.0), oj.torch.rmsprop(0.01, momentum=0.9)),
}  # fmt: skip
for name in ("radam", "asgd"):
  for mod in ("paddle", "torch"):
    if hasattr(getattr(oj, mod), name):
      PRESETS[f"{mod}.{name}"] = lambda m=mod, n=name: getattr(getattr(oj, m), n)()


def _expected(spec, leaf, param_ndim):
  """A buffer mirrors its parameter; a per-slot memory (SAG's y) has one more, unsharded, axis in front."""
  return P(*((None,) * (leaf.ndim - param_ndim)), *spec)


def _check_state(name, what, state, specs, p0, failures):
  for path, leaf in jax.tree_util.tree_leaves_with_path(state):
    key = getattr(path[-1], "key", None)
    if key in specs and leaf.ndim:
      want = _expected(specs[key], leaf, p0[key].ndim)
      if leaf.sharding.spec != want:
        failures.append(
          f"{name}: {what} {jax.tree_util.keystr(path)} sharded {leaf.sharding.spec}, not {want}"
        )


def main() -> int:
  assert jax.device_count() == 8
  mesh = jax.make_mesh((8,), ("d",), axis_types=(AxisType.Explicit,))
  rng = np.random.default_rng(0)
  p0 = {"w": rng.normal(size=(64, 16)).astype(np.float32), "b": rng.normal(size=(16,)).astype(np.float32)}
  grads = [
    {k: rng.normal(size=v.shape).astype(np.float32) * (i + 1) for k, v in p0.items()} for i in range(5)
  ]
  specs = {"w": P("d", None), "b": P(None)}
  failures = []
  for name, make in PRESETS.items():
    tx = make()
    step = jax.jit(lambda p, s, g, tx=tx: (lambda u, s: (optax.apply_updates(p, u), s))(*tx.update(g, s, p)))
    # single device reference
    p, s = jax.tree.map(jnp.asarray, p0), tx.init(jax.tree.map(jnp.asarray, p0))
    for g in grads:
      p, s = step(p, s, jax.tree.map(jnp.asarray, g))
    want = p
    with jax.set_mesh(mesh):
      put = lambda t: {k: jax.device_put(v, NamedSharding(mesh, specs[k])) for k, v in t.items()}
      p = put(p0)
      for init in (tx.init, jax.jit(tx.init)):
        s = init(p)
        _check_state(name, "initial state", s, specs, p0, failures)
      for g in grads:
        p, s = step(p, s, put(g))
      if p["w"].sharding.spec != specs["w"]:
        failures.append(f"{name}: params lost their sharding: {p['w'].sharding.spec}")
      _check_state(name, "state after 5 steps", s, specs, p0, failures)
      for k in p0:
        err = float(
          np.max(np.abs(np.asarray(p[k]) - np.asarray(want[k]))) / np.max(np.abs(np.asarray(want[k])))
        )
        if err > 1e-6:
          failures.append(f"{name}: sharded and single-device runs differ by {err:.2e} in {k}")
    print(f"ok {name}")
  for f in failures:
    print("FAIL", f)
  return 1 if failures else 0


if __name__ == "__main__":
  sys.exit(main())
