"""Run by tests/test_global_norm_axis.py in a subprocess with 8 simulated CPU devices.

(1) Global-norm clips with model-parallel leaves (every leaf split over the "model" axis) inside
`jax.shard_map` and `jax.pmap`: with ``axis_name`` each framework's clip gives the unsharded result;
without it each shard is clipped by its own norm, which the script also checks, to show the
difference. The gradients have global L2 norm 2.0 and the clips ask for 1.0. Every check of one
mapping is one compiled program. (2) ZeRO-1 of ``oj.torch.asgd`` under explicit mesh axes (its
average sharded over "data", the parameters replicated) equals the replicated run.
"""

from __future__ import annotations

import math
import os
import sys

assert "--xla_force_host_platform_device_count=8" in os.environ.get("XLA_FLAGS", "")

import jax  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from jax.sharding import AxisType, NamedSharding  # noqa: E402
from jax.sharding import PartitionSpec as P  # noqa: E402

import optim_jax as oj  # noqa: E402
from optim_jax._clipping import global_norm  # noqa: E402
from tests.multidevice import report  # noqa: E402

N = 8
TOL = 1e-6


def clips(axis_name, inf_norm):
  """name -> transformation, each with a clip that fires on the gradients below (norm 2.0, asked 1.0)."""
  kw = {"axis_name": axis_name}
  return {
    "oj.clip_by_global_norm": oj.clip_by_global_norm(1.0, **kw),
    "oj.paddle.clip_grad_by_global_norm": oj.paddle.clip_grad_by_global_norm(1.0, **kw),
    "oj.torch.clip_grad_norm": oj.torch.clip_grad_norm(1.0, **kw),
    "oj.torch.clip_grad_norm[inf]": oj.torch.clip_grad_norm(inf_norm / 2, norm_type=math.inf, **kw),
    # epsilon=1 so that the first RMSprop update depends on the gradients' scale
    "oj.keras.rmsprop[global_clipnorm]": oj.keras.rmsprop(0.1, epsilon=1.0, global_clipnorm=1.0, **kw),
    "oj.tf_keras.rmsprop[global_clipnorm]": oj.tf_keras.rmsprop(0.1, epsilon=1.0, global_clipnorm=1.0, **kw),
  }


def apply_all(txs, g):
  return {name: tx.update(g, tx.init(g), g)[0] for name, tx in txs.items()}


def check_clips(what, got, want, failures, figures):
  for name in want:
    err = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(
      jax.tree.leaves(got[name]), jax.tree.leaves(want[name]), strict=True))  # fmt: skip
    figures.setdefault(name, {})[what] = float(global_norm(got[name]))
    if err > TOL:
      failures.append(f"{what} {name}: differs from the expected result by {err:.2e}")


def check_global_norm(failures):
  rng = np.random.default_rng(0)
  g = {"w": rng.normal(size=(4 * N,)), "v": rng.normal(size=(N, 3))}
  scale = 2.0 / np.sqrt(sum(np.sum(x**2) for x in g.values()))
  g = {k: (x * scale).astype(np.float32) for k, x in g.items()}
  inf_norm = float(max(np.max(np.abs(x)) for x in g.values()))
  # the unsharded result, and the one of clipping each shard by its own norm
  exact = jax.jit(lambda g: apply_all(clips(None, inf_norm), g))(g)
  split = jax.tree.map(lambda x: x.reshape(N, -1, *x.shape[1:]), g)
  per_shard = jax.jit(jax.vmap(lambda gs: apply_all(clips(None, inf_norm), gs)))(split)
  per_shard = jax.tree.map(lambda x: np.asarray(x).reshape(-1, *x.shape[2:]), per_shard)
  for name in exact:
    gap = max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(
      jax.tree.leaves(exact[name]), jax.tree.leaves(per_shard[name]), strict=True))  # fmt: skip
    if gap < 1e-3:
      failures.append(f"{name}: the per-shard clip does not differ from the global one ({gap:.1e})")
  figures = {}
  for name in exact:
    figures[name] = {"unsharded": float(global_norm(exact[name]))}

  mesh = jax.make_mesh((N,), ("model",), axis_types=(AxisType.Explicit,))

  def mapped(gs):
    return apply_all(clips("model", inf_norm), gs), apply_all(clips(None, inf_norm), gs)

  spec = jax.tree.map(lambda _: P("model"), g)
  gs = jax.device_put(g, NamedSharding(mesh, P("model")))
  out = jax.jit(jax.shard_map(mapped, mesh=mesh, in_specs=(spec,), out_specs=P("model")))(gs)
  check_clips("shard_map axis_name", out[0], exact, failures, figures)
  check_clips("shard_map no axis_name", out[1], per_shard, failures, figures)

  # pmap: the leading axis of every leaf is the device axis
  outp = jax.pmap(mapped, axis_name="model")(split)
  outp = jax.tree.map(lambda x: np.asarray(x).reshape(-1, *x.shape[2:]), outp)
  check_clips("pmap axis_name", outp[0], exact, failures, figures)
  check_clips("pmap no axis_name", outp[1], per_shard, failures, figures)

  # several axes: leaves split over ("x", "model") of a 2 x 4 mesh
  mesh2 = jax.make_mesh((2, N // 2), ("x", "model"), axis_types=(AxisType.Explicit,) * 2)
  tx = oj.clip_by_global_norm(1.0, axis_name=("x", "model"))
  g2 = jax.device_put(g, NamedSharding(mesh2, P(("x", "model"))))
  f = jax.shard_map(lambda gs: tx.update(gs, tx.init(gs))[0], mesh=mesh2, in_specs=(P(("x", "model")),),
                    out_specs=P(("x", "model")))  # fmt: skip
  check_clips("shard_map axis_name=('x', 'model')", {"oj.clip_by_global_norm": jax.jit(f)(g2)},
              {"oj.clip_by_global_norm": exact["oj.clip_by_global_norm"]}, failures, figures)  # fmt: skip

  for name, fig in figures.items():
    print(f"global norm after {name}: " + ", ".join(f"{k} {v:.6f}" for k, v in fig.items()))


def check_asgd_zero1(failures, steps=4):
  mesh = jax.make_mesh((N,), ("data",), axis_types=(AxisType.Explicit,))
  rng = np.random.default_rng(1)
  p0 = {"w": rng.normal(size=(16, 4)).astype(np.float32), "b": rng.normal(size=(8,)).astype(np.float32)}
  grads = [{k: rng.normal(size=v.shape).astype(np.float32) for k, v in p0.items()} for _ in range(steps)]
  with jax.set_mesh(mesh):
    p_sh = jax.tree.map(lambda _: NamedSharding(mesh, P()), p0)
    params = jax.device_put(p0, p_sh)
    txs = [oj.torch.asgd(0.05, t0=1.0), oj.torch.asgd(0.05, t0=1.0)]  # t0=1: averaging from update 2
    s_sh = [oj.state_sharding(txs[0], params), oj.state_sharding(txs[1], params, zero1_axis="data")]
    states = jax.jit(lambda p: [tx.init(p) for tx in txs], out_shardings=s_sh)(params)

    def step(ps, ss, g):
      out = [tx.update(g, s, p) for tx, s, p in zip(txs, ss, ps, strict=True)]
      return [optax.apply_updates(p, u) for p, (u, _) in zip(ps, out, strict=True)], [s for _, s in out]

    step = jax.jit(step, in_shardings=([p_sh] * 2, s_sh, p_sh), out_shardings=([p_sh] * 2, s_sh))
    ps = [params] * 2
    for g in grads:
      ps, states = step(ps, states, jax.device_put(g, p_sh))
  ax_rep, ax_z = (oj.ema_params(s) for s in states)
  if ax_z["w"].sharding.spec != NamedSharding(mesh, P("data", None)).spec:
    failures.append(f"torch.asgd ZeRO-1: the average is sharded {ax_z['w'].sharding.spec}, not over data")
  err = max(
    float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    for a, b in zip(jax.tree.leaves((ps[1], ax_z)), jax.tree.leaves((ps[0], ax_rep)), strict=True)
  )
  print(f"torch.asgd ZeRO-1 (Explicit axes, {steps} steps): max |params, average - replicated run| {err:.1e}")
  if err > TOL:
    failures.append(f"torch.asgd ZeRO-1 differs from the replicated run by {err:.2e}")


def main() -> int:
  assert jax.device_count() == N
  failures = []
  check_global_norm(failures)
  check_asgd_zero1(failures)
  return report(failures, "ok global_norm_step")


if __name__ == "__main__":
  sys.exit(main())
