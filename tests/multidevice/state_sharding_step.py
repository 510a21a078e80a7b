"""Run by tests/test_state_sharding.py in a subprocess with 8 simulated CPU devices.

Checks `oj.state_sharding`: `jax.jit(tx.init, out_shardings=...)` places every buffer that mirrors a
parameter like it, under explicit and Auto mesh axes; and with `zero1_axis="data"` a jitted train
step stores 1/|data| of the state's buffers per device and lands on the same parameters as the run
with the state replicated over the data axis. To keep compiles few, the transformations of one
check are initialised by one jitted program and stepped by another.
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
from tests.multidevice import report  # noqa: E402

STEPS = 5
ZERO1 = {
  "paddle.rmsprop": lambda: oj.paddle.rmsprop(0.01, momentum=0.9, centered=True),
  "torch.radam": lambda: oj.torch.radam(0.01, weight_decay=0.01),
  "paddle.asgd": lambda: oj.paddle.asgd(0.01, batch_num=3),
}
PLACEMENT = {
  "paddle.asgd": ZERO1["paddle.asgd"],
  "optax.adam": lambda: optax.adam(1e-3),
  "masked(inject_hyperparams(adamw))": lambda: optax.chain(
    optax.clip_by_global_norm(1.0),
    optax.masked(optax.inject_hyperparams(optax.adamw)(1e-3), {"w": True, "b": False, "h": True}),
  ),
  "multi_precision(torch.rmsprop)": lambda: oj.multi_precision(oj.torch.rmsprop(0.01, momentum=0.9)),
  "keras.rmsprop[ema]": lambda: oj.keras.rmsprop(0.01, momentum=0.9, use_ema=True),
}


def _state_bytes(state, buffers_only=False) -> int:
  """Bytes one device holds of the state (of its non-scalar buffers only, if asked)."""
  leaves = [x for x in jax.tree.leaves(state) if x.ndim or not buffers_only]
  return sum(x.addressable_shards[0].data.nbytes for x in leaves)


def _padded(spec, ndim):
  return tuple(spec) + (None,) * (ndim - len(spec))


def check_placement(axis_type, names, failures):
  """Every buffer shaped like a parameter (or [k, *shape]) carries that parameter's spec."""
  mesh = jax.make_mesh((8,), ("d",), axis_types=(axis_type,))
  shapes, specs = {"w": (64, 16), "b": (16,), "h": (8,)}, {"w": P("d", None), "b": P("d"), "h": P()}
  dtypes = {"w": jnp.float32, "b": jnp.bfloat16, "h": jnp.float32}
  with jax.set_mesh(mesh):
    params = {
      k: jax.device_put(jnp.ones(s, dtypes[k]), NamedSharding(mesh, specs[k])) for k, s in shapes.items()
    }
    txs = [PLACEMENT[name]() for name in names]
    shardings = [oj.state_sharding(tx, params) for tx in txs]
    states = jax.jit(lambda p: [tx.init(p) for tx in txs], out_shardings=shardings)(params)
    for name, state, sh in zip(names, states, shardings, strict=True):
      if jax.tree.structure(state) != jax.tree.structure(sh):
        failures.append(f"{name}: shardings do not have the state's structure")
      for path, leaf in jax.tree_util.tree_leaves_with_path(state):
        key = getattr(path[-1], "key", None)
        if key in shapes and leaf.ndim:
          want = (None,) * (leaf.ndim - len(shapes[key])) + _padded(specs[key], len(shapes[key]))
          if _padded(leaf.sharding.spec, leaf.ndim) != want:
            failures.append(
              f"{name}: {jax.tree_util.keystr(path)} sharded {leaf.sharding.spec}, not {P(*want)}"
            )
        elif leaf.ndim == 0 and not leaf.sharding.is_fully_replicated:
          failures.append(f"{name}: scalar {jax.tree_util.keystr(path)} not replicated")
    if axis_type == AxisType.Auto:  # informative: what a bare jax.jit(tx.init) does on this jax version
      bare = jax.jit(txs[0].init)(params)
      print(f"  Auto axes, {names[0]} memory y of w: jax.jit(tx.init) -> {bare[0].y['w'].sharding.spec}, "
            f"with out_shardings=state_sharding -> {states[0][0].y['w'].sharding.spec}")  # fmt: skip
  print(f"ok placement {axis_type.name}: {', '.join(names)}")


def run(configs, mesh, p0, grads, param_specs):
  """STEPS jitted steps of every (tx, zero1_axis), with the state placed by state_sharding."""
  p_sh = {k: NamedSharding(mesh, s) for k, s in param_specs.items()}
  params = jax.device_put(p0, p_sh)
  txs = [tx for tx, _ in configs]
  s_sh = [oj.state_sharding(tx, params, zero1_axis=axis) for tx, axis in configs]
  states = jax.jit(lambda p: [tx.init(p) for tx in txs], out_shardings=s_sh)(params)

  def step(ps, ss, g):
    out = [tx.update(g, s, p) for tx, s, p in zip(txs, ss, ps, strict=True)]
    return [optax.apply_updates(p, u) for p, (u, _) in zip(ps, out, strict=True)], [s for _, s in out]

  n = len(txs)
  step = jax.jit(
    step, in_shardings=([p_sh] * n, s_sh, p_sh), out_shardings=([p_sh] * n, s_sh), donate_argnums=1
  )
  ps = [params] * n
  for g in grads:
    ps, states = step(ps, states, jax.device_put(g, p_sh))
  return ps, states, s_sh


def compare(what, p_rep, s_rep, p_z, s_z, sh_z, data, failures):
  for leaf, sh in zip(jax.tree.leaves(s_z), jax.tree.leaves(sh_z), strict=True):
    if leaf.sharding != sh:
      failures.append(f"{what}: state left its ZeRO-1 sharding: {leaf.sharding.spec}, not {sh.spec}")
  err = max(float(np.max(np.abs(np.asarray(p_z[k]) - np.asarray(p_rep[k])))) for k in p_z)
  rep, z = _state_bytes(s_rep), _state_bytes(s_z)
  ratio = _state_bytes(s_rep, buffers_only=True) / _state_bytes(s_z, buffers_only=True)
  print(f"zero1 {what}: per-device state bytes replicated {rep}, ZeRO-1 {z} (ratio {rep / z:.3f}; "
        f"buffers only {ratio:g}); max |params - replicated run| {err:.1e}")  # fmt: skip
  if ratio != data:
    failures.append(f"{what}: per-device buffers shrank by {ratio:g}, not by the data axis size {data}")
  if err > 1e-6:
    failures.append(f"{what}: ZeRO-1 params differ from the replicated run by {err:.2e}")


def main() -> int:
  assert jax.device_count() == 8
  failures = []
  rng = np.random.default_rng(0)
  p0 = {"w": rng.normal(size=(64, 16)).astype(np.float32), "b": rng.normal(size=(16,)).astype(np.float32)}
  grads = [{k: rng.normal(size=v.shape).astype(np.float32) for k, v in p0.items()} for _ in range(STEPS)]
  names = list(ZERO1)

  # (1) placement of optim_jax's and optax's wrappers; the axis type only decides whether jit obeys.
  check_placement(AxisType.Auto, list(PLACEMENT), failures)
  check_placement(
    AxisType.Explicit, ["masked(inject_hyperparams(adamw))", "multi_precision(torch.rmsprop)"], failures
  )

  # (2) ZeRO-1 on a data mesh of 8 (Auto axes), params replicated: against the run with the state
  # replicated too (the same program holds both runs).
  mesh = jax.make_mesh((8,), ("data",), axis_types=(AxisType.Auto,))
  with jax.set_mesh(mesh):
    odd = {"w": (64, 16), "odd": (3, 5), "half": (3, 16)}  # 8 divides no / only the second dimension
    odd = {k: jax.ShapeDtypeStruct(s, jnp.float32, sharding=NamedSharding(mesh, P())) for k, s in odd.items()}
    got = {
      k: s.spec for k, s in oj.state_sharding(oj.scale_by_rms_paddle(), odd, zero1_axis="data").ms.items()
    }
    if got != {"w": P("data", None), "odd": P(None, None), "half": P(None, "data")}:
      failures.append(f"ZeRO-1 picked the wrong dimensions: {got}")
    configs = [(ZERO1[name](), axis) for name in names for axis in (None, "data")]
    ps, states, shardings = run(configs, mesh, p0, grads, {"w": P(), "b": P()})
    reference = {}
    for i, name in enumerate(names):
      (p_rep, p_z), (s_rep, s_z) = ps[2 * i : 2 * i + 2], states[2 * i : 2 * i + 2]
      compare(f"8 Auto {name}", p_rep, s_rep, p_z, s_z, shardings[2 * i + 1], 8, failures)
      reference[name] = p_rep, jax.tree.map(np.asarray, s_rep)

  # (3) ZeRO-1 on data (4) x model (2), explicit axes, w sharded over model: against the same
  # reference; the replicated-over-data figure is that reference state placed like the params.
  mesh = jax.make_mesh((4, 2), ("data", "model"), axis_types=(AxisType.Explicit,) * 2)
  p_specs = {"w": P(None, "model"), "b": P()}
  with jax.set_mesh(mesh):
    txs = [ZERO1[name]() for name in names]
    ps, states, shardings = run([(tx, "data") for tx in txs], mesh, p0, grads, p_specs)
    params = jax.device_put(p0, {k: NamedSharding(mesh, s) for k, s in p_specs.items()})
    for name, tx, p_z, s_z, sh_z in zip(names, txs, ps, states, shardings, strict=True):
      p_rep, s_host = reference[name]
      s_rep = jax.device_put(s_host, oj.state_sharding(tx, params))
      compare(f"4x2 Explicit {name}", p_rep, s_rep, p_z, s_z, sh_z, 4, failures)

  return report(failures, "ok state_sharding")


if __name__ == "__main__":
  sys.exit(main())
