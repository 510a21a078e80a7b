"""Step time of every preset against its closest optax chain and a memory-bandwidth floor.

The step suite of ``python -m benchmarks`` (its options ``--params``, ``--leaves``, ``--rounds``,
``--repeats``).

A step is ``update`` + ``optax.apply_updates`` under ``jax.jit`` with params and optimizer state
donated; compile time (first call) is measured apart. The floor of a case is a jitted elementwise
kernel that reads and writes the same arrays as that case's step (params, gradients and every state
buffer the optimizer keeps; one slot of a SAG memory), measured in the same run, so ``vs floor``
says how far a step is from the memory traffic it cannot avoid. The preset, its optax chain and its
floor are timed in interleaved rounds (``--rounds``) of ``--repeats`` steps after warm-up; each
reports its best round median.

``passes`` is XLA's own estimate of the bytes each compiled step reads and writes, in float32
parameter-array passes: a figure no background load disturbs. It counts an in-place slot update
through a bitcast (a 16-bit SAG memory) as a pass over the whole memory, which it is not.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optim_jax as oj

LR = optax.exponential_decay(1e-3, 1000, 0.5)


def cases() -> list[tuple[str, Callable, Callable | None]]:
  """(name, preset factory, closest optax chain or None)."""
  out = [
    (
      "paddle.rmsprop",
      lambda: oj.paddle.rmsprop(LR, momentum=0.9),
      lambda: optax.rmsprop(LR, decay=0.95, eps=1e-6, eps_in_sqrt=True, momentum=0.9),
    ),
    (
      "paddle.rmsprop centered+clip+l2",
      lambda: oj.paddle.rmsprop(
        LR, momentum=0.9, centered=True, weight_decay=1e-4, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0)
      ),
      lambda: optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.add_decayed_weights(1e-4),
        optax.rmsprop(LR, decay=0.95, eps=1e-6, eps_in_sqrt=True, momentum=0.9, centered=True),
      ),
    ),
    (
      "tf_keras.rmsprop wd",
      lambda: oj.tf_keras.rmsprop(LR, momentum=0.9, weight_decay=1e-4),
      lambda: optax.chain(
        optax.rmsprop(LR, decay=0.9, eps=1e-7, eps_in_sqrt=True, momentum=0.9),
        optax.add_decayed_weights(lambda c: -LR(c) * 1e-4),
      ),
    ),
    (
      "keras.rmsprop clipnorm",
      lambda: oj.keras.rmsprop(LR, momentum=0.9, clipnorm=1.0),
      lambda: optax.chain(
        optax.clip_by_block_rms(1.0), optax.rmsprop(LR, decay=0.9, eps=1e-7, eps_in_sqrt=True, momentum=0.9)
      ),
    ),
    (
      "torch.rmsprop",
      lambda: oj.torch.rmsprop(LR, momentum=0.9),
      lambda: optax.rmsprop(LR, decay=0.99, eps=1e-8, eps_in_sqrt=False, momentum=0.9),
    ),
    (
      "torch.rmsprop centered+wd",
      lambda: oj.torch.rmsprop(LR, momentum=0.9, centered=True, weight_decay=1e-4),
      lambda: optax.chain(
        optax.add_decayed_weights(1e-4),
        optax.rmsprop(LR, decay=0.99, eps=1e-8, eps_in_sqrt=False, momentum=0.9, centered=True),
      ),
    ),
    ("paddle.radam", lambda: oj.paddle.radam(LR), lambda: optax.radam(LR)),
    ("torch.radam", lambda: oj.torch.radam(LR), lambda: optax.radam(LR)),
    # SAG and averaged SGD have no optax counterpart: plain SGD is shown for scale
    ("paddle.asgd n=1", lambda: oj.paddle.asgd(LR, batch_num=1), lambda: optax.sgd(LR)),
    ("paddle.asgd n=8", lambda: oj.paddle.asgd(LR, batch_num=8), lambda: optax.sgd(LR)),
    (
      "sag_average n=8 bf16 memory",
      lambda: optax.chain(oj.sag_average(8, memory_dtype=jnp.bfloat16), optax.scale_by_learning_rate(LR)),
      lambda: optax.sgd(LR),
    ),
    ("torch.asgd", lambda: oj.torch.asgd(LR), lambda: optax.sgd(LR)),
  ]
  return out


def make_tree(n_params: int, n_leaves: int, seed: int):
  size = n_params // n_leaves
  rng = np.random.default_rng(seed)
  return {f"l{i:05d}": jnp.asarray(rng.standard_normal(size, dtype=np.float32)) for i in range(n_leaves)}


def _passes(fn, args, n_params: int) -> float:
  """XLA's estimate of the bytes the compiled step reads and writes, in float32 parameter-array
  passes (a deterministic figure, unlike a timing)."""
  analysis = fn.lower(*args).compile().cost_analysis()
  analysis = analysis[0] if isinstance(analysis, list) else analysis
  return float(analysis.get("bytes accessed", float("nan"))) / (4 * n_params)


def _prepare(fn, args_fn):
  """Compiles and runs once (timed apart: compile + first run), then warms up twice."""
  args = args_fn()
  t0 = time.perf_counter()
  args = jax.block_until_ready(fn(*args))
  compile_s = time.perf_counter() - t0
  for _ in range(2):
    args = jax.block_until_ready(fn(*args))
  return [fn, args], compile_s


def _timed_round(prepared, repeats: int) -> float:
  fn, args = prepared
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    args = jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - t0)
  prepared[1] = args
  return statistics.median(times)


def transform_step(make_tx, params_fn, grads):
  tx = make_tx()

  def step(p, s):
    u, s = tx.update(grads, s, p)
    return optax.apply_updates(p, u), s

  return jax.jit(step, donate_argnums=(0, 1)), lambda: (params_fn(), tx.init(params_fn()))


def _per_slot(x, shapes) -> bool:
  """A per-slot memory (SAG's y, shape [n, *param.shape]): a step touches one slot of it."""
  return x.ndim >= 2 and x.shape[1:] in shapes and x.shape not in shapes


def floor_step(make_tx, params_fn, grads):
  """Reads p, g and every float state buffer; writes p and those buffers (the same traffic).

  A per-slot memory is stood in for by one slot-sized buffer: the step must read and write one slot
  of it, and an in-place slot update through ``dynamic_update_slice`` would not be a floor (XLA:CPU
  copies the whole memory for it where the preset's step does not).
  """
  tx = make_tx()
  shapes = {g.shape for g in jax.tree.leaves(grads)}

  def touch(x):
    if not jnp.issubdtype(x.dtype, jnp.floating) or x.size <= 1:
      return x
    return x * jnp.asarray(0.5, x.dtype)

  def floor(p, s):
    return jax.tree.map(lambda x, g: x + 1e-3 * g, p, grads), jax.tree.map(touch, s)

  def state():
    s = tx.init(params_fn())
    return jax.tree.map(lambda x: x[0] if _per_slot(x, shapes) else x, s)

  step = jax.jit(floor, donate_argnums=(0, 1))
  return step, lambda: (params_fn(), state())


def touched_elements(make_tx, params_fn) -> int:
  """Float state elements a step must read and write: every float buffer of more than one element,
  one slot of a per-slot memory (SAG's y, shape [n, *param.shape])."""
  params = params_fn()
  shapes = {x.shape for x in jax.tree.leaves(params)}
  total = 0
  for x in jax.tree.leaves(jax.eval_shape(make_tx().init, params)):
    if not jnp.issubdtype(x.dtype, jnp.floating) or x.size <= 1:
      continue
    total += x.size // x.shape[0] if _per_slot(x, shapes) else x.size
  return total


def flat_floor_step(make_tx, params_fn, grads):
  """The traffic of `floor_step` in one flat array per role (params, gradients, state): the floor
  of a step that pays no per-leaf cost, what a step over many small leaves is held against."""
  n = sum(x.size for x in jax.tree.leaves(grads))
  m = touched_elements(make_tx, params_fn)
  g = jnp.ones(n, jnp.float32)

  def floor(p, s):
    return p + 1e-3 * g, s * jnp.asarray(0.5, jnp.float32)

  step = jax.jit(floor, donate_argnums=(0, 1))
  return step, lambda: (jnp.ones(n, jnp.float32), jnp.ones(m, jnp.float32))


def measure(make_tx, make_optax, params_fn, grads, repeats: int, rounds: int, flat: bool = False):
  """Preset, optax and floor (and with ``flat`` the flat floor) timed in interleaved rounds; each
  one's best round median, so a background blip in one round does not decide a ratio."""
  runs = {"preset": transform_step(make_tx, params_fn, grads), "floor": floor_step(make_tx, params_fn, grads)}
  if flat:
    runs["flat_floor"] = flat_floor_step(make_tx, params_fn, grads)
  if make_optax is not None:
    runs["optax"] = transform_step(make_optax, params_fn, grads)
  prepared, compile_s, passes = {}, {}, {}
  n_params = sum(x.size for x in jax.tree.leaves(grads))
  for k, (fn, args_fn) in runs.items():
    prepared[k], compile_s[k] = _prepare(fn, args_fn)
    passes[k] = _passes(fn, args_fn(), n_params)
  best = {k: float("inf") for k in runs}
  for _ in range(rounds):
    for k in runs:
      best[k] = min(best[k], _timed_round(prepared[k], repeats))
  best.setdefault("optax", float("nan"))
  passes.setdefault("optax", float("nan"))
  return best, compile_s["preset"], passes


def state_bytes_per_param(make_tx, params) -> float:
  state = jax.eval_shape(make_tx().init, params)
  n = sum(x.size for x in jax.tree.leaves(params))
  return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(state)) / n


def run(n_params: int, n_leaves: int, repeats: int, rounds: int, only=None) -> list[dict]:
  """Times every case (or those whose names contain a substring of ``only``), prints the table and
  returns its rows."""
  params_fn = lambda: make_tree(n_params, n_leaves, 0)
  grads = make_tree(n_params, n_leaves, 1)
  device = jax.devices()[0]
  print(
    f"{n_params:,} float32 params in {n_leaves} leaves on {device.platform} ({device.device_kind}); "
    f"best of {rounds} interleaved rounds, median of {repeats} steps each"
  )
  header = f"{'case':<34}{'ms':>9}{'optax ms':>10}{'floor ms':>10}{'vs optax':>10}{'vs floor':>10}"
  header += f"{'B/param':>9}{'compile s':>11}{'passes':>8}{'optax':>7}{'floor':>7}"
  print(header)
  rows = []
  for name, make, make_optax in cases():
    if only and not any(s in name for s in only):
      continue
    best, compile_s, passes = measure(make, make_optax, params_fn, grads, repeats, rounds)
    t, t_opt, t_floor = best["preset"], best["optax"], best["floor"]
    row = dict(
      case=name,
      ms=t * 1e3,
      optax_ms=t_opt * 1e3,
      floor_ms=t_floor * 1e3,
      vs_optax=t / t_opt,
      vs_floor=t / t_floor,
      state_bytes_per_param=state_bytes_per_param(make, params_fn()),
      compile_s=compile_s,
      passes=passes["preset"],
      optax_passes=passes["optax"],
      floor_passes=passes["floor"],
    )
    rows.append(row)
    print(
      f"{name:<34}{row['ms']:>9.2f}{row['optax_ms']:>10.2f}{row['floor_ms']:>10.2f}{row['vs_optax']:>10.3f}"
      f"{row['vs_floor']:>10.3f}{row['state_bytes_per_param']:>9.2f}{compile_s:>11.2f}"
      f"{passes['preset']:>8.1f}{passes['optax']:>7.1f}{passes['floor']:>7.1f}",
      flush=True,
    )
  return rows
