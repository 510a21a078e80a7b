"""The torch suite: torch.optim's step on CPU (foreach on and off) beside ours, same parameters."""

from __future__ import annotations

import statistics
import time

import jax
import numpy as np

import optim_jax as oj

from . import step_time

LR = 1e-3  # a constant rate on both sides: torch.optim's schedulers are outside its step


def cases():
  """(name, ours, torch.optim class, its keyword arguments)."""
  import torch

  return [
    ("torch.rmsprop", lambda: oj.torch.rmsprop(LR, momentum=0.9), torch.optim.RMSprop, dict(momentum=0.9)),
    ("torch.radam", lambda: oj.torch.radam(LR), torch.optim.RAdam, {}),
  ]


def _torch_prepared(cls, kwargs, params_np, grads_np, foreach: bool):
  import torch

  params = [torch.tensor(np.asarray(x), requires_grad=True) for x in params_np]
  for p, g in zip(params, grads_np, strict=True):
    p.grad = torch.tensor(np.asarray(g))
  opt = cls(params, lr=LR, foreach=foreach, **kwargs)
  for _ in range(3):  # warm-up; allocates the state
    opt.step()
  return opt


def _torch_round(opt, repeats: int) -> float:
  times = []
  for _ in range(repeats):
    t0 = time.perf_counter()
    opt.step()
    times.append(time.perf_counter() - t0)
  return statistics.median(times)


def run(n_params: int, n_leaves: int, repeats: int, rounds: int, only=None) -> list[dict]:
  """Ours (jitted, donated) and torch.optim with foreach=True and False, in interleaved rounds; each
  one's best round median."""
  import torch

  params_fn = lambda: step_time.make_tree(n_params, n_leaves, 0)
  grads = step_time.make_tree(n_params, n_leaves, 1)
  params_np, grads_np = jax.tree.leaves(params_fn()), jax.tree.leaves(grads)
  print(
    f"{n_params:,} float32 params in {n_leaves} leaves; torch {torch.__version__} on CPU with "
    f"{torch.get_num_threads()} threads; best of {rounds} interleaved rounds, median of {repeats} steps each"
  )
  header = f"{'case':<18}{'ours ms':>9}{'foreach ms':>12}{'for-loop ms':>13}{'ours/foreach':>14}"
  header += f"{'ours/for-loop':>15}"
  print(header)
  rows = []
  for name, make, cls, kwargs in cases():
    if only and not any(s in name for s in only):
      continue
    ours, _ = step_time._prepare(*step_time.transform_step(make, params_fn, grads))
    opts = {f: _torch_prepared(cls, kwargs, params_np, grads_np, f) for f in (True, False)}
    best = {"ours": float("inf"), True: float("inf"), False: float("inf")}
    for _ in range(rounds):
      best["ours"] = min(best["ours"], step_time._timed_round(ours, repeats))
      for f, opt in opts.items():
        best[f] = min(best[f], _torch_round(opt, repeats))
    row = dict(
      case=name,
      torch_class=f"torch.optim.{cls.__name__}",
      torch_kwargs=dict(lr=LR, **kwargs),
      ms=best["ours"] * 1e3,
      foreach_ms=best[True] * 1e3,
      forloop_ms=best[False] * 1e3,
      vs_foreach=best["ours"] / best[True],
      vs_forloop=best["ours"] / best[False],
    )
    rows.append(row)
    print(
      f"{name:<18}{row['ms']:>9.2f}{row['foreach_ms']:>12.2f}{row['forloop_ms']:>13.2f}"
      f"{row['vs_foreach']:>14.3f}{row['vs_forloop']:>15.3f}",
      flush=True,
    )
    del ours, opts
  return rows
