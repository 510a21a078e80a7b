"""Markdown tables of the results folder (``python -m benchmarks --report``), for the README."""

from __future__ import annotations

import json
import os


def _load(out: str, suite: str) -> dict | None:
  path = os.path.join(out, f"{suite}.json")
  if not os.path.exists(path):
    return None
  with open(path) as f:
    return json.load(f)


def _machine(result: dict) -> str:
  m = result["machine"]
  load = ", ".join(f"{x:.1f}" for x in m["loadavg"])
  cpu = m.get("cpu_model") or m["machine"]
  return (
    f"{result['date']}, {cpu}, {m['cpu_count']} cores, {m['backend']} ({m['device_kind']}), jax "
    f"{m['jax']}, optax {m['optax']}, load average {load}"
  )


def _table(header: list[str], rows: list[list[str]]) -> str:
  lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
  lines += ["| " + " | ".join(r) + " |" for r in rows]
  return "\n".join(lines)


def step(result: dict) -> str:
  rows = [
    [
      r["case"],
      f"{r['ms']:.1f}",
      f"{r['optax_ms']:.1f}",
      f"{r['floor_ms']:.1f}",
      f"{r['vs_optax']:.2f}",
      f"{r['passes']:.0f} / {r['optax_passes']:.0f} / {r['floor_passes']:.0f}",
    ]
    for r in result["rows"]
  ]
  header = ["case", "ours ms", "optax ms", "floor ms", "vs optax", "passes (ours / optax / floor)"]
  title = f"Step, {result['params']:,} float32 parameters in {result['leaves']} leaves:\n\n"
  return title + _table(header, rows)


def many(result: dict) -> str:
  rows = [
    [
      r["case"],
      f"{r['ms']:.1f}",
      f"{r['optax_ms']:.1f}",
      f"{r['floor_ms']:.1f}",
      f"{r['flat_floor_ms']:.2f}",
      f"{r['vs_optax']:.2f}",
      f"{r['vs_flat_floor']:.0f}",
    ]
    for r in result["rows"]
  ]
  header = ["case", "ours ms", "optax ms", "per-leaf floor ms", "flat floor ms", "vs optax", "vs flat floor"]
  title = f"Many small leaves, {result['params']:,} float32 parameters in {result['leaves']} leaves:\n\n"
  return title + _table(header, rows)


def sag(result: dict) -> str:
  rows = [
    [str(r["batch_num"]), f"{r['ms']:.2f}", f"{r['floor_ms']:.2f}", f"{r['state_bytes_per_param']:.0f}"]
    for r in result["rows"]
  ]
  title = f"`oj.paddle.asgd` (SAG), {result['params']:,} float32 parameters:\n\n"
  return title + _table(["batch_num", "ms", "floor ms", "state bytes / param"], rows)


def compile_(result: dict) -> str:
  counts = result["leaf_counts"]
  by_case: dict[str, dict[int, dict]] = {}
  for r in result["rows"]:
    by_case.setdefault(r["case"], {})[r["leaves"]] = r

  def cell(r: dict | None) -> str:
    if r is None:
      return ""
    return f"{r['cpu_ratio']:.2f} ({r['cpu_s']:.2f} s; HLO {r['hlo_lines'] / r['optax_hlo_lines']:.2f})"

  rows = [[case, *(cell(rs.get(n)) for n in counts)] for case, rs in by_case.items()]
  header = ["case", *(f"{n} leaves" for n in counts)]
  title = (
    "Compile CPU time of the jitted step, ours / optax's closest chain (ours in seconds; the optimized"
    " HLO's size, ours / optax's); the ASGD rows are against optax.sgd, which has no average:\n\n"
  )
  return title + _table(header, rows)


def torch(result: dict) -> str:
  rows = [
    [
      r["case"],
      f"`{r['torch_class']}`",
      f"{r['ms']:.1f}",
      f"{r['foreach_ms']:.1f}",
      f"{r['forloop_ms']:.1f}",
      f"{r['vs_foreach']:.2f}",
    ]
    for r in result["rows"]
  ]
  header = ["case", "torch class", "ours ms", "foreach ms", "for-loop ms", "ours / foreach"]
  title = f"Against torch.optim on the same CPU, {result['params']:,} float32 parameters:\n\n"
  return title + _table(header, rows)


RENDER = {"step": step, "many": many, "sag": sag, "compile": compile_, "torch": torch}


def report(out: str) -> str:
  parts = []
  for suite, render in RENDER.items():
    result = _load(out, suite)
    if result is not None:
      parts.append(render(result) + f"\n\n<sub>{suite}: {_machine(result)}</sub>")
  return "\n\n".join(parts) if parts else f"no results in {out}"
