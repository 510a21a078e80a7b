"""One of two processes started by tests/test_multiprocess.py: JAX's own distributed runtime on loopback.

``python multiprocess_worker.py PROCESS_ID PORT OUT_DIR``, with
``XLA_FLAGS=--xla_force_host_platform_device_count=4``: joins the other process through
``jax.distributed.initialize`` (coordinator on 127.0.0.1:PORT, CPU collectives by gloo, bound to
127.0.0.1), builds one global (data 4, model 2) mesh over the 8 devices of the two processes and
trains every preset of the registry on it: a data-parallel batch, ``w`` sharded over the model axis,
each state placed by ``oj.state_sharding(..., zero1_axis="data")``, so that the state's buffers are
split across the two processes (each holds, and writes, only its half). After ``SAVE_AT`` steps both
processes write one orbax checkpoint; the run goes on to ``STEPS``; then both restore the checkpoint
(with the abstract state as target), redo the last steps and check that their shards of the state
equal the uninterrupted run's bit for bit. Writes ``OUT_DIR/process<ID>.npz``: the parameters of the
uninterrupted run (``run/<preset>/<leaf>``) and of the resumed one (``resumed/<preset>/<leaf>``),
which the test compares with each other and with the single-process run (``reference``).

Importing this module does nothing; the tests import it for ``presets``, ``problem``, ``make_step``
and ``reference`` (tests/multidevice/pmap_step.py too).
"""

from __future__ import annotations

import functools
import os
import pathlib
import sys
import time
import traceback

SAVE_AT, STEPS = 2, 4
# XLA:CPU's optimisation passes take most of the compile time and change nothing here but speed (a
# few ulps at most: no fast math either way): without them the programs of this test and of
# tests/test_pmap.py compile several times faster. Dropped if this XLA does not know one of them.
FAST_COMPILE = {
  "xla_backend_optimization_level": 0,
  "xla_llvm_disable_expensive_passes": True,
  "xla_cpu_use_fusion_emitters": False,
}


@functools.cache
def compiler_options() -> dict:
  """``FAST_COMPILE`` if this jaxlib accepts every one of them, else none."""
  import jax

  try:
    jax.jit(lambda: 0, compiler_options=FAST_COMPILE).lower().compile()
  except Exception:  # jax.errors.JaxRuntimeError: No such compile option
    return {}
  return FAST_COMPILE


def presets():
  """The registry's optimizer presets (`registry.PRESETS`)."""
  from tests import registry

  return registry.PRESETS


def problem():
  """Parameters and one batch (NumPy, float32) of a linear least-squares model."""
  import numpy as np

  rng = np.random.default_rng(0)
  params = {"b": rng.normal(size=(8,)), "w": rng.normal(size=(16, 8))}
  x, y = rng.normal(size=(32, 16)), rng.normal(size=(32, 8))
  f32 = lambda a: a.astype(np.float32)
  return {k: f32(v) for k, v in params.items()}, f32(x), f32(y)


def make_step(entries, txs, axis_name=None):
  """One train step of every preset: the gradient of the batch mean loss, the update, the counter.

  With ``axis_name`` (under ``jax.pmap``), the gradient is the mean over that axis of the gradients
  of each device's part of the batch.
  """
  import jax
  import jax.numpy as jnp
  import optax

  def loss(p, x, y):
    return jnp.mean((x @ p["w"] + p["b"] - y) ** 2)

  def step(ps, ss, t, x, y):
    new_ps, new_ss = [], []
    for entry, tx, p, s in zip(entries, txs, ps, ss, strict=True):
      extra = {}
      for name in entry.extra_args:
        if name != "index":
          raise ValueError(f"{entry.name}: no rule for the update argument {name!r}")
        extra["index"] = t % entry.kwargs["batch_num"]  # SAG's slot: one per step, round robin
      g = jax.grad(loss)(p, x, y)
      if axis_name is not None:
        g = jax.lax.pmean(g, axis_name)
      u, s = tx.update(g, s, p, **extra)
      new_ps.append(optax.apply_updates(p, u))
      new_ss.append(s)
    return new_ps, new_ss, t + 1

  return step


@functools.cache
def reference(steps=STEPS):
  """The single-process run on this process's default device: ``{preset name: params}`` (NumPy)."""
  import jax
  import jax.numpy as jnp
  import numpy as np

  entries = presets()
  txs = [e.make() for e in entries]
  p0, x, y = problem()
  step = jax.jit(make_step(entries, txs), compiler_options=compiler_options())
  ps = [p0] * len(txs)
  ss = jax.jit(lambda p: [tx.init(p) for tx in txs], compiler_options=compiler_options())(p0)
  t = jnp.int32(0)
  for _ in range(steps):
    ps, ss, t = step(ps, ss, t, x, y)
  return {e.name: jax.tree.map(np.asarray, p) for e, p in zip(entries, ps, strict=True)}


def _pin_gloo_to_loopback():
  """Make the CPU backend's gloo collectives listen on 127.0.0.1.

  ``jax_cpu_collectives_implementation="gloo"`` makes gloo bind to the address the machine's
  hostname resolves to, which need not be loopback, and JAX has no public option for the address.
  ``xla_bridge.make_cpu_client`` takes the collectives as an argument: register a CPU backend
  factory that passes gloo built for 127.0.0.1 (private API; without it, JAX's default is kept).
  """
  try:
    from jax._src import distributed, xla_bridge
    from jax._src.lib import _jax

    collectives = _jax.make_gloo_tcp_collectives(
      distributed_client=distributed.global_state.client, hostname="127.0.0.1"
    )
    factory = functools.partial(xla_bridge.make_cpu_client, collectives)
    xla_bridge.register_backend_factory("cpu", factory, priority=0, fail_quietly=False)
  except Exception as e:  # a JAX without these internals
    print(f"note: gloo not pinned to 127.0.0.1 ({e!r}); it binds to the hostname's address")


def _local_shards(a):
  """This process's shards of a global array: [(index, NumPy data)], without a program to compile."""
  import numpy as np

  return [(s.index, np.asarray(s.data)) for s in a.addressable_shards]


def _assemble(a):
  """The global value of an array whose shards on this process cover it (parameters, here)."""
  import numpy as np

  out, held = np.zeros(a.shape, a.dtype), np.zeros(a.shape, bool)
  for index, data in _local_shards(a):
    out[index], held[index] = data, True
  assert held.all(), "this process does not hold all of the array"
  return out


def _flat(prefix, tree):
  import jax

  return {
    f"{prefix}{jax.tree_util.keystr(path)}": leaf for path, leaf in jax.tree_util.tree_leaves_with_path(tree)
  }


def main(process_id: int, port: int, out_dir: pathlib.Path) -> int:
  start, marks = time.perf_counter(), []  # phase timings, printed for a slow CI

  def mark(what):
    marks.append(f"{what} {time.perf_counter() - start:.1f}s (cpu {time.process_time():.1f}s)")

  import jax

  jax.config.update("jax_cpu_collectives_implementation", "gloo")  # the default; said for the reader
  jax.config.update("jax_platforms", "cpu")
  jax.distributed.initialize(
    coordinator_address=f"127.0.0.1:{port}",
    coordinator_bind_address=f"127.0.0.1:{port}",  # not [::]: loopback only
    num_processes=2,
    process_id=process_id,
    initialization_timeout=90,
    heartbeat_timeout_seconds=30,
    shutdown_timeout_seconds=30,
  )
  _pin_gloo_to_loopback()
  mark("initialized")

  import numpy as np
  import orbax.checkpoint as ocp
  from jax.sharding import AxisType, NamedSharding
  from jax.sharding import PartitionSpec as P

  import optim_jax as oj

  assert jax.process_count() == 2 and jax.process_index() == process_id
  assert jax.device_count() == 8 and jax.local_device_count() == 4, (
    jax.device_count(),
    jax.local_device_count(),
  )
  # Auto axes: jit's in/out shardings place everything. (Under Explicit axes ZeRO-1 fails for
  # oj.torch.asgd: averaged_sgd's jnp.where mixes a replicated parameter and its data-sharded
  # average, a ShardingTypeError.) Devices in process order: data rows 0-1 in process 0, 2-3 in 1.
  mesh = jax.make_mesh((4, 2), ("data", "model"), axis_types=(AxisType.Auto,) * 2)
  put = lambda a, spec: jax.make_array_from_callback(a.shape, NamedSharding(mesh, spec), lambda i: a[i])
  entries = presets()
  txs = [e.make() for e in entries]
  p0, x, y = problem()
  p_specs = {"b": P(), "w": P(None, "model")}
  with jax.set_mesh(mesh):
    params = {k: put(v, p_specs[k]) for k, v in p0.items()}
    p_sh = {k: v.sharding for k, v in params.items()}
    s_sh = [oj.state_sharding(tx, params, zero1_axis="data") for tx in txs]
    rep = NamedSharding(mesh, P())
    init = jax.jit(
      lambda p: [tx.init(p) for tx in txs], out_shardings=s_sh, compiler_options=compiler_options()
    )
    step = jax.jit(
      make_step(entries, txs),
      in_shardings=([p_sh] * len(txs), s_sh, rep, x_sh := NamedSharding(mesh, P("data")), x_sh),
      out_shardings=([p_sh] * len(txs), s_sh, rep),
      compiler_options=compiler_options(),
    )
    xs, ys = put(x, P("data")), put(y, P("data"))
    ps, ss, t = [params] * len(txs), init(params), put(np.int32(0), P())
    mark("init")
    split = [k for s in ss for k in jax.tree.leaves(s) if k.ndim and not k.is_fully_addressable]
    assert split, "no state buffer is split across the processes"

    ckpt = out_dir / "checkpoint"
    # Orbax's default on CPU splits every replicated array into one slice per replica, with one
    # eager op each (~700 here): 2 s of CPU. One replica writes each shard instead.
    handler = ocp.type_handlers.ArrayHandler(use_replica_parallel=False)
    ocp.type_handlers.register_type_handler(jax.Array, handler, override=True)
    with ocp.StandardCheckpointer() as checkpointer:
      for i in range(STEPS):
        if i == SAVE_AT:
          checkpointer.save(ckpt, {"params": ps, "state": ss, "t": t})
          checkpointer.wait_until_finished()
          mark("saved")
        ps, ss, t = step(ps, ss, t, xs, ys)
        mark(f"step {i}")
      run_ps, run_ss = ps, ss

      target = jax.tree.map(
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding),
        {"params": ps, "state": ss, "t": t},
      )
      restored = checkpointer.restore(ckpt, target)
    mark("restored")
    assert jax.tree.structure(restored) == jax.tree.structure(target)
    for a, want in zip(jax.tree.leaves(restored), jax.tree.leaves(target), strict=True):
      assert a.sharding == want.sharding, (a.sharding, want.sharding)
    ps, ss, t = restored["params"], restored["state"], restored["t"]
    assert int(np.asarray(t.addressable_data(0))) == SAVE_AT
    for _ in range(SAVE_AT, STEPS):
      ps, ss, t = step(ps, ss, t, xs, ys)

    mark("resumed")
    for a, b in zip(jax.tree.leaves(run_ss), jax.tree.leaves(ss), strict=True):  # this process's shards
      assert all(
        np.array_equal(u, v) for (_, u), (_, v) in zip(_local_shards(a), _local_shards(b), strict=True)
      ), "the resumed state differs from the uninterrupted run's"
    out = {}
    for e, run_p, res_p in zip(entries, run_ps, ps, strict=True):
      out.update(_flat(f"run/{e.name}/", jax.tree.map(_assemble, run_p)))
      out.update(_flat(f"resumed/{e.name}/", jax.tree.map(_assemble, res_p)))
  np.savez(out_dir / f"process{process_id}.npz", **out)
  jax.distributed.shutdown()
  mark("shut down")
  print(f"ok process {process_id}: {len(entries)} presets, {len(split)} state buffers split across processes")
  print("  " + ", ".join(marks))
  return 0


if __name__ == "__main__":
  sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2]))  # for `from tests import registry`
  try:
    code = main(int(sys.argv[1]), int(sys.argv[2]), pathlib.Path(sys.argv[3]))
  except BaseException:
    # Exit now: a normal exit would first wait shutdown_timeout_seconds at JAX's shutdown barrier
    # for the other process, which waits for this one; the test kills it on seeing the failure.
    traceback.print_exc()
    sys.stdout.flush()
    os._exit(1)
  sys.exit(code)
