"""optim_jax's benchmarks: one command, one JSON per suite and PNG plots in the results folder.

    python -m benchmarks [--out benchmarks/results] [--quick] [--only step,many,sag,compile,torch]

Suites (a step is ``update`` + ``optax.apply_updates`` under ``jax.jit``, params and state donated,
compile time apart; timings are each run's best median over interleaved rounds, see step_time.py):

step
  What ``benchmarks/step_time.py`` measures: every preset against its closest optax chain and a
  memory floor (an elementwise kernel reading and writing the same arrays) timed in the same run,
  on 16M float32 parameters in 64 leaves; the ratios, and XLA's cost-analysis estimate of the bytes
  each compiled step moves, in float32 parameter-array passes. step.json, step.png.
many
  Many small leaves (512,000 float32 parameters in 2,000 leaves of 256): RMSProp, RAdam and SAG
  against optax, the per-leaf floor, and the flat floor (the same bytes in one array per role, one
  fused loop): how much of the step is per-leaf cost. many.json, many.png.
sag
  ``oj.paddle.asgd`` (SAG) step time against ``batch_num`` 1, 4, 16, 64, 256, beside the floor of
  one slot's traffic (read one slot, write one slot, params, gradients) and ``optax.sgd``, and the
  state bytes per parameter ((batch_num + 1) x 4 for float32). sag.json, sag.png.
compile
  Lower (trace) and XLA compile time of a fresh jitted step against the number of leaves (8x8
  float32; 10, 200, 2000) for every preset and optax's closest chain, with a constant learning
  rate and with a cosine schedule plus a global-norm clip; the ratio ours / optax in wall and CPU
  time, and the optimized HLO's size. The persistent compilation cache is off and every measurement
  builds a fresh transformation and function, so no cache hides a compile. compile.json, compile.png.
torch
  ``torch.optim.RMSprop`` (momentum) and ``torch.optim.RAdam`` on CPU with ``foreach=True`` and
  ``foreach=False`` beside ours, on the step suite's parameters. Runs only where ``import torch``
  works (``pip install torch==2.13.0``). torch.json.

Every JSON holds the machine (platform, cpu count, load average, jax/jaxlib/optax/torch versions,
backend and device kind), the date and the arguments. ``--quick`` uses small sizes and few rounds
(under a minute on a 2-core CPU); the options below shrink it further for a test. ``--report``
prints the results folder as the README's markdown tables.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import sys

import jax
import optax

import optim_jax as oj

from . import _compile, _report, _torch, step_time

SUITES = ("step", "many", "sag", "compile", "torch")
TORCH_HINT = "torch suite skipped: `import torch` fails here; `pip install torch==2.13.0` to run it"

FULL = dict(
  params=16_000_000,
  leaves=64,
  rounds=3,
  repeats=10,
  sag_params=2_000_000,
  batch_nums="1,4,16,64,256",
  many_params=512_000,
  many_leaves=2000,
  compile_leaves="10,200,2000",
  compile_repeats=1,
)
QUICK = {
  **FULL,
  **dict(params=1_000_000, leaves=8, rounds=2, repeats=3, sag_params=250_000, many_params=51_200),
  **dict(many_leaves=200, compile_leaves="10,200"),
}
# the many-leaves suite: the presets the many-leaf goal names (RMSProp, RAdam, SAG)
MANY_CASES = ("paddle.rmsprop", "torch.rmsprop", "torch.radam", "paddle.asgd n=1")


def _ints(s: str) -> list[int]:
  return [int(x) for x in s.split(",") if x]


def _names(s: str) -> list[str]:
  return [x.strip() for x in s.split(",") if x.strip()]


def parse_args(argv=None) -> argparse.Namespace:
  ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
  ap.add_argument("--out", default="benchmarks/results", help="results folder (JSON + PNG)")
  ap.add_argument("--quick", action="store_true", help="small sizes and few rounds (under a minute)")
  ap.add_argument("--report", action="store_true", help="print the results folder as markdown tables")
  ap.add_argument("--only", type=_names, default=list(SUITES), help=f"comma-separated: {','.join(SUITES)}")
  ap.add_argument("--cases", type=_names, help="comma-separated substrings of case names (all suites)")
  ap.add_argument("--params", type=int, help="float32 parameters of the step and torch suites")
  ap.add_argument("--leaves", type=int, help="leaves of the step, sag and torch suites' trees")
  ap.add_argument("--rounds", type=int, help="interleaved rounds; the best round median counts")
  ap.add_argument("--repeats", type=int, help="timed steps per round")
  ap.add_argument("--sag-params", type=int, help="float32 parameters of the sag suite")
  ap.add_argument("--batch-nums", type=_ints, help="comma-separated batch_num values of the sag suite")
  ap.add_argument("--many-params", type=int, help="float32 parameters of the many-leaves suite")
  ap.add_argument("--many-leaves", type=int, help="leaves of the many-leaves suite")
  ap.add_argument("--compile-leaves", type=_ints, help="comma-separated leaf counts of the compile suite")
  ap.add_argument("--compile-repeats", type=int, help="fresh compiles per point; the fastest counts")
  args = ap.parse_args(argv)
  bad = sorted(set(args.only) - set(SUITES))
  if bad:
    ap.error(f"unknown suite(s) {bad}; choose from {','.join(SUITES)}")
  for k, v in (QUICK if args.quick else FULL).items():
    if getattr(args, k) is None:
      setattr(args, k, _ints(v) if k in ("batch_nums", "compile_leaves") else v)
  return args


def _version(dist: str) -> str | None:
  try:
    return importlib.metadata.version(dist)
  except importlib.metadata.PackageNotFoundError:
    return None


def _cpu_model() -> str | None:
  try:
    with open("/proc/cpuinfo") as f:
      return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), None)
  except OSError:
    return None


def machine() -> dict:
  device = jax.devices()[0]
  return dict(
    platform=platform.platform(),
    machine=platform.machine(),
    cpu_model=_cpu_model(),
    processor=platform.processor(),
    python=platform.python_version(),
    cpu_count=os.cpu_count(),
    loadavg=list(os.getloadavg()),
    jax=jax.__version__,
    jaxlib=_version("jaxlib"),
    optax=optax.__version__,
    optim_jax=_version("optim_jax"),
    torch=_version("torch"),
    backend=jax.default_backend(),
    device_kind=device.device_kind,
    device_count=jax.device_count(),
  )


def write_json(args, suite: str, payload: dict) -> str:
  result = dict(
    suite=suite,
    date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    machine=machine(),
    args=vars(args),
    **payload,
  )
  path = os.path.join(args.out, f"{suite}.json")
  with open(path, "w") as f:
    json.dump(result, f, indent=1)
  print(f"wrote {path}")
  return path


def _pyplot():
  import matplotlib

  matplotlib.use("Agg")
  import matplotlib.pyplot as plt

  return plt


def _save(fig, args, name: str) -> str:
  path = os.path.join(args.out, name)
  fig.savefig(path, dpi=110)
  _pyplot().close(fig)
  print(f"wrote {path}")
  return path


def plot_step(rows, args) -> str:
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5), layout="constrained")
  y = range(len(rows))
  labels = (("ms", "ours"), ("optax_ms", "optax (optax.sgd for the ASGD/SAG rows)"), ("floor_ms", "floor"))
  for i, (key, label) in enumerate(labels):
    ax.barh([j + (i - 1) * 0.27 for j in y], [r[key] for r in rows], height=0.27, label=label)
  ax.set_yticks(list(y), [r["case"] for r in rows])
  ax.invert_yaxis()
  ax.set_xlabel("step time (ms)")
  ax.set_title(f"step: {args.params:,} float32 params in {args.leaves} leaves")
  ax.legend()
  return _save(fig, args, "step.png")


def plot_sag(rows, args) -> str:
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
  n = [r["batch_num"] for r in rows]
  for key, label in (("ms", "oj.paddle.asgd"), ("floor_ms", "floor (one slot)"), ("optax_ms", "optax.sgd")):
    ax.plot(n, [r[key] for r in rows], "o-", label=label)
  ax.set_xscale("log", base=2)
  ax.set_xlabel("batch_num")
  ax.set_ylabel("step time (ms)")
  ax.set_ylim(bottom=0)
  ax.set_title(f"SAG: {args.sag_params:,} float32 params")
  ax.legend()
  return _save(fig, args, "sag.png")


def plot_compile(rows, args) -> str:
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
  # SAG and averaged SGD have no optax counterpart (their rows compare with optax.sgd): not drawn
  cases = [c for c in dict.fromkeys(r["case"] for r in rows) if "asgd" not in c]
  for i, case in enumerate(cases):
    rs = [r for r in rows if r["case"] == case]
    style = "--" if "+sched" in case else "-"
    x, y = [r["leaves"] for r in rs], [r["cpu_ratio"] for r in rs]
    ax.plot(x, y, "o" + style, color=f"C{i % 6}", label=case)
  ax.axhline(1.0, color="k", lw=0.8)
  ax.set_xscale("log")
  ax.set_xlabel("leaves (8x8 float32)")
  ax.set_ylabel("compile CPU time, ours / optax")
  ax.set_title("compile time of a jitted step against optax's closest chain (dashed: + schedule + clip)")
  ax.legend(fontsize=6, ncol=2)
  return _save(fig, args, "compile.png")


def suite_step(args) -> None:
  rows = step_time.run(args.params, args.leaves, args.repeats, args.rounds, args.cases)
  write_json(args, "step", dict(params=args.params, leaves=args.leaves, rows=rows))
  if rows:
    plot_step(rows, args)


def plot_many(rows, args) -> str:
  plt = _pyplot()
  fig, ax = plt.subplots(figsize=(8, 0.5 * len(rows) + 1.5), layout="constrained")
  y = range(len(rows))
  keys = (("ms", "ours"), ("optax_ms", "optax"), ("floor_ms", "per-leaf floor"))
  keys += (("flat_floor_ms", "flat floor"),)
  for i, (key, label) in enumerate(keys):
    ax.barh([j + (i - 1.5) * 0.2 for j in y], [r[key] for r in rows], height=0.2, label=label)
  ax.set_yticks(list(y), [r["case"] for r in rows])
  ax.invert_yaxis()
  ax.set_xlabel("step time (ms)")
  ax.set_title(f"many leaves: {args.many_params:,} float32 params in {args.many_leaves} leaves")
  ax.legend()
  return _save(fig, args, "many.png")


def suite_many(args) -> None:
  n, leaves = args.many_params, args.many_leaves
  params_fn = lambda: step_time.make_tree(n, leaves, 0)
  grads = step_time.make_tree(n, leaves, 1)
  print(
    f"{n:,} float32 params in {leaves} leaves of {n // leaves}; floors: the same traffic per leaf, and in "
    f"one flat array per role; best of {args.rounds} interleaved rounds, median of {args.repeats} steps each"
  )
  print(f"{'case':<20}{'ms':>9}{'optax ms':>10}{'floor ms':>10}{'flat ms':>9}{'vs optax':>10}{'vs flat':>9}")
  by_name = {name: (make, make_optax) for name, make, make_optax in step_time.cases()}
  rows = []
  for name in MANY_CASES:
    if args.cases and not any(s in name for s in args.cases):
      continue
    make, make_optax = by_name[name]
    best, compile_s, _ = step_time.measure(
      make, make_optax, params_fn, grads, args.repeats, args.rounds, flat=True
    )
    row = dict(
      case=name,
      ms=best["preset"] * 1e3,
      optax_ms=best["optax"] * 1e3,
      floor_ms=best["floor"] * 1e3,
      flat_floor_ms=best["flat_floor"] * 1e3,
      vs_optax=best["preset"] / best["optax"],
      vs_flat_floor=best["preset"] / best["flat_floor"],
      compile_s=compile_s,
    )
    rows.append(row)
    print(
      f"{name:<20}{row['ms']:>9.2f}{row['optax_ms']:>10.2f}{row['floor_ms']:>10.2f}{row['flat_floor_ms']:>9.2f}"
      f"{row['vs_optax']:>10.3f}{row['vs_flat_floor']:>9.1f}",
      flush=True,
    )
  write_json(args, "many", dict(params=n, leaves=leaves, rows=rows))
  if rows:
    plot_many(rows, args)


def suite_sag(args) -> None:
  params_fn = lambda: step_time.make_tree(args.sag_params, args.leaves, 0)
  grads = step_time.make_tree(args.sag_params, args.leaves, 1)
  print(
    f"oj.paddle.asgd, {args.sag_params:,} float32 params in {args.leaves} leaves; floor: one slot read and "
    f"written; best of {args.rounds} interleaved rounds, median of {args.repeats} steps each"
  )
  print(f"{'batch_num':>9}{'ms':>9}{'floor ms':>10}{'sgd ms':>9}{'vs floor':>10}{'B/param':>9}{'passes':>8}")
  rows = []
  for n in args.batch_nums:
    make = lambda n=n: oj.paddle.asgd(step_time.LR, batch_num=n)
    best, compile_s, passes = step_time.measure(
      make, lambda: optax.sgd(step_time.LR), params_fn, grads, args.repeats, args.rounds
    )
    row = dict(
      batch_num=n,
      ms=best["preset"] * 1e3,
      floor_ms=best["floor"] * 1e3,
      optax_ms=best["optax"] * 1e3,
      vs_floor=best["preset"] / best["floor"],
      state_bytes_per_param=step_time.state_bytes_per_param(make, params_fn()),
      compile_s=compile_s,
      passes=passes["preset"],
      floor_passes=passes["floor"],
    )
    rows.append(row)
    print(
      f"{n:>9}{row['ms']:>9.2f}{row['floor_ms']:>10.2f}{row['optax_ms']:>9.2f}{row['vs_floor']:>10.3f}"
      f"{row['state_bytes_per_param']:>9.1f}{row['passes']:>8.1f}",
      flush=True,
    )
  write_json(args, "sag", dict(params=args.sag_params, leaves=args.leaves, rows=rows))
  plot_sag(rows, args)


def suite_compile(args) -> None:
  jax.config.update("jax_enable_compilation_cache", False)
  rows = _compile.run(args.compile_leaves, args.compile_repeats, args.cases)
  write_json(args, "compile", dict(leaf_shape=[8, 8], leaf_counts=args.compile_leaves, rows=rows))
  if rows:
    plot_compile(rows, args)


def suite_torch(args) -> None:
  if importlib.util.find_spec("torch") is None:
    print(TORCH_HINT)
    return
  try:
    import torch  # noqa: F401
  except Exception as e:  # an installed but broken torch is skipped the same way
    print(f"{TORCH_HINT} ({type(e).__name__}: {e})")
    return
  rows = _torch.run(args.params, args.leaves, args.repeats, args.rounds, args.cases)
  write_json(args, "torch", dict(params=args.params, leaves=args.leaves, rows=rows))


def main(argv=None) -> None:
  args = parse_args(argv)
  if args.report:
    print(_report.report(args.out))
    return
  jax.config.update("jax_enable_compilation_cache", False)
  os.makedirs(args.out, exist_ok=True)
  run = dict(step=suite_step, many=suite_many, sag=suite_sag, compile=suite_compile, torch=suite_torch)
  for suite in SUITES:
    if suite in args.only:
      print(f"\n== {suite} ==", flush=True)
      run[suite](args)


if __name__ == "__main__":
  main(sys.argv[1:])
