"""The compile suite: lower + compile time of a jitted step against the number of leaves.

Every preset against its closest optax chain, twice: with a constant learning rate, and with its
framework's cosine schedule plus its global-norm clip (``+sched+clip``). Besides the wall time the
suite reports the compile's CPU time (``time.process_time``, all threads), which a busy machine
disturbs less, and the size of the optimized HLO, which no load disturbs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax

import optim_jax as oj

T_MAX = 1000
LR = 1e-3


def _rmsprop(decay: float, eps: float, in_sqrt: bool, lr, clip: bool):
  rms = optax.rmsprop(lr, decay=decay, eps=eps, eps_in_sqrt=in_sqrt, momentum=0.9)
  return optax.chain(optax.clip_by_global_norm(1.0), rms) if clip else rms


def _plain_or_clipped(tx, clip: bool):
  return optax.chain(optax.clip_by_global_norm(1.0), tx) if clip else tx


def cases() -> list[tuple[str, Callable, Callable]]:
  """(name, ours, closest optax chain) for every preset, constant and ``+sched+clip``."""
  cos = optax.cosine_decay_schedule(LR, T_MAX)
  out = []
  for clip in (False, True):
    suffix = " +sched+clip" if clip else ""
    paddle_lr = oj.schedules.cosine_annealing_decay(LR, T_max=T_MAX) if clip else LR
    paddle_clip = oj.paddle.clip_grad_by_global_norm(1.0) if clip else None
    torch_lr = oj.torch.cosine_annealing_lr(LR, T_max=T_MAX) if clip else LR
    keras_lr = oj.keras.cosine_decay(LR, T_MAX) if clip else LR
    keras_clip = {"global_clipnorm": 1.0} if clip else {}
    lr = cos if clip else LR

    def torch_chain(tx, clip=clip):
      return optax.chain(oj.torch.clip_grad_norm(1.0), tx) if clip else tx

    out += [
      (
        "paddle.rmsprop" + suffix,
        lambda p=paddle_lr, c=paddle_clip: oj.paddle.rmsprop(p, momentum=0.9, grad_clip=c),
        lambda lr=lr, clip=clip: _rmsprop(0.95, 1e-6, True, lr, clip),
      ),
      (
        "paddle.radam" + suffix,
        lambda p=paddle_lr, c=paddle_clip: oj.paddle.radam(p, grad_clip=c),
        lambda lr=lr, clip=clip: _plain_or_clipped(optax.radam(lr), clip),
      ),
      # SAG and averaged SGD have no optax counterpart: optax.sgd is shown for scale
      (
        "paddle.asgd n=4" + suffix,
        lambda p=paddle_lr, c=paddle_clip: oj.paddle.asgd(p, batch_num=4, grad_clip=c),
        lambda lr=lr, clip=clip: _plain_or_clipped(optax.sgd(lr), clip),
      ),
      (
        "tf_keras.rmsprop" + suffix,
        lambda k=keras_lr, c=keras_clip: oj.tf_keras.rmsprop(k, momentum=0.9, **c),
        lambda lr=lr, clip=clip: _rmsprop(0.9, 1e-7, True, lr, clip),
      ),
      (
        "keras.rmsprop" + suffix,
        lambda k=keras_lr, c=keras_clip: oj.keras.rmsprop(k, momentum=0.9, **c),
        lambda lr=lr, clip=clip: _rmsprop(0.9, 1e-7, True, lr, clip),
      ),
      (
        "torch.rmsprop" + suffix,
        lambda t=torch_lr, ch=torch_chain: ch(oj.torch.rmsprop(t, momentum=0.9)),
        lambda lr=lr, clip=clip: _rmsprop(0.99, 1e-8, False, lr, clip),
      ),
      (
        "torch.radam" + suffix,
        lambda t=torch_lr, ch=torch_chain: ch(oj.torch.radam(t)),
        lambda lr=lr, clip=clip: _plain_or_clipped(optax.radam(lr), clip),
      ),
      (
        "torch.asgd" + suffix,
        lambda t=torch_lr, ch=torch_chain: ch(oj.torch.asgd(t)),
        lambda lr=lr, clip=clip: _plain_or_clipped(optax.sgd(lr), clip),
      ),
    ]
  return out


def leaf_tree(n_leaves: int):
  return {f"l{i:05d}": jnp.zeros((8, 8), jnp.float32) for i in range(n_leaves)}


def compile_time(make_tx: Callable, params) -> dict:
  """Lower and compile wall time, compile CPU time and optimized HLO lines of a fresh jitted step
  (update + apply_updates, params and state donated, gradients an argument so that they are not
  folded in as constants). A fresh transformation and a fresh Python function each call, so no jax
  cache serves it (the suite turns the persistent cache off)."""
  tx = make_tx()
  state = tx.init(params)

  def step(p, s, g):
    u, s = tx.update(g, s, p)
    return optax.apply_updates(p, u), s

  t0 = time.perf_counter()
  lowered = jax.jit(step, donate_argnums=(0, 1)).lower(params, state, params)
  t1, c1 = time.perf_counter(), time.process_time()
  compiled = lowered.compile()
  t2, c2 = time.perf_counter(), time.process_time()
  return dict(lower=t1 - t0, compile=t2 - t1, cpu=c2 - c1, hlo=len(compiled.as_text().splitlines()))


def _best(a: dict | None, b: dict) -> dict:
  return b if a is None or b["lower"] + b["compile"] < a["lower"] + a["compile"] else a


def run(leaf_counts: list[int], repeats: int, only=None) -> list[dict]:
  """Ours and optax's in interleaved repeats; each one's fastest repeat counts."""
  print(f"lower + compile of a jitted step, leaves of 8x8 float32; best of {repeats}")
  header = f"{'case':<30}{'leaves':>7}{'total s':>9}{'optax s':>9}{'ratio':>7}"
  header += f"{'cpu s':>8}{'optax':>8}{'ratio':>7}{'HLO lines':>11}{'optax':>8}"
  print(header)
  rows = []
  for name, make, make_optax in cases():
    if only and not any(s in name for s in only):
      continue
    for n in leaf_counts:
      params = leaf_tree(n)
      best = {"ours": None, "optax": None}
      for _ in range(repeats):
        for k, mk in (("ours", make), ("optax", make_optax)):
          best[k] = _best(best[k], compile_time(mk, params))
      o, x = best["ours"], best["optax"]
      row = dict(
        case=name,
        leaves=n,
        lower_s=o["lower"],
        compile_s=o["compile"],
        total_s=o["lower"] + o["compile"],
        cpu_s=o["cpu"],
        hlo_lines=o["hlo"],
        optax_lower_s=x["lower"],
        optax_compile_s=x["compile"],
        optax_total_s=x["lower"] + x["compile"],
        optax_cpu_s=x["cpu"],
        optax_hlo_lines=x["hlo"],
      )
      row["ratio"] = row["total_s"] / row["optax_total_s"]
      row["cpu_ratio"] = row["cpu_s"] / row["optax_cpu_s"]
      rows.append(row)
      print(
        f"{name:<30}{n:>7}{row['total_s']:>9.3f}{row['optax_total_s']:>9.3f}{row['ratio']:>7.2f}"
        f"{row['cpu_s']:>8.3f}{row['optax_cpu_s']:>8.3f}{row['cpu_ratio']:>7.2f}"
        f"{row['hlo_lines']:>11}{row['optax_hlo_lines']:>8}",
        flush=True,
      )
  return rows
