"""Part 1, fidelity: trajectories recorded from the real frameworks, replayed through our preset and
through optax's closest look-alike.

Each case in ``data/golden/<family>/<case>.npz`` (a copy of tests/golden/, made by
tools/make_golden.py from PyTorch, PaddlePaddle, Keras 3 or tf_keras; its ``.json`` says which
version, the dtype, the seed and the configuration) holds the initial parameters, the gradient fed
to the framework at every step and the parameters it produced after every step. Both optimizers get
the same recorded gradients and the same learning-rate schedule, in one ``lax.scan``; the error
after step t is the worst over parameter tensors of max|ours - framework| / max|framework|.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optim_jax as oj

from . import _report

DATA = Path(__file__).resolve().parent / "data" / "golden"
TOLERANCE = 1e-6  # the golden tests' float32 tolerance (up to 100 steps)
FLOAT32_EPS = float(np.finfo(np.float32).eps)

Config = dict[str, Any]
LookAlike = Callable[[Config, optax.Schedule], optax.GradientTransformation]


@dataclasses.dataclass(frozen=True)
class Pairing:
  """A recorded case, the preset of ours that replays it, and optax's closest look-alike."""

  case: str  # family/name under data/golden/
  preset: str  # ours, as oj.<preset>
  look_alike: str  # optax's, as a user would write it
  optax: LookAlike  # builds it from the case's configuration and learning-rate schedule
  note: str  # what optax does differently, or why it agrees
  tag: str  # the same in a few words (the figure's panel titles)
  agrees: bool = False  # the semantics are the same: optax's error is rounding too


def _kw(config: Config) -> Config:
  return config["kwargs"]


def _clip(config: Config, kind: str) -> float:
  (value,) = [c["kwargs"]["value"] for c in config["clip"] if c["type"] == kind]
  return value


def _decoupled(config: Config, lr: optax.Schedule) -> optax.GradientTransformation:
  """Keras's decoupled weight decay in optax (section 6 of the reference): -lr(t) * wd * p, added last."""
  wd = config["weight_decay"]["value"]
  return optax.add_decayed_weights(lambda count: -lr(count) * wd)


PAIRINGS = (
  Pairing(
    "rmsprop/paddle_mom_step_f32",
    "paddle.rmsprop",
    "optax.rmsprop(lr, decay=rho, eps=epsilon, momentum=momentum)",
    lambda c, lr: optax.rmsprop(lr, decay=_kw(c)["rho"], eps=_kw(c)["epsilon"], momentum=_kw(c)["momentum"]),
    "optax agrees: Paddle puts eps inside the sqrt and lr inside the momentum buffer, as optax.rmsprop",
    "optax agrees",
    agrees=True,
  ),
  Pairing(
    "rmsprop/torch_mom_exp_f32",
    "torch.rmsprop",
    "optax.rmsprop(lr, decay=alpha, eps=eps, eps_in_sqrt=False, momentum=momentum)",
    lambda c, lr: optax.rmsprop(
      lr, decay=_kw(c)["alpha"], eps=_kw(c)["eps"], eps_in_sqrt=False, momentum=_kw(c)["momentum"]
    ),
    "PyTorch multiplies by lr after the momentum buffer, optax inside it: they part once lr changes",
    "lr after momentum",
  ),
  Pairing(
    "radam/torch_defaults_step_f32",
    "torch.radam",
    "optax.radam(lr, b1, b2, eps)",
    lambda c, lr: optax.radam(lr, *_kw(c)["betas"], eps=_kw(c)["eps"]),
    "optax computes RAdam's rectifier in float32, PyTorch in double precision",
    "rectifier precision",
  ),
  Pairing(
    "radam/paddle_eps_0625_exp_f32",
    "paddle.radam",
    "optax.radam(lr, b1=beta1, b2=beta2, eps=epsilon)",
    lambda c, lr: optax.radam(lr, b1=_kw(c)["beta1"], b2=_kw(c)["beta2"], eps=_kw(c)["epsilon"]),
    "Paddle adds eps to sqrt(v) before the bias correction, optax to sqrt(v_hat) after it",
    "eps placement",
  ),
  Pairing(
    "rmsprop/keras_clipnorm_wd_mom_exp_f32",
    "keras.rmsprop",
    "chain(clip_by_global_norm(clipnorm), rmsprop(lr, decay=rho, eps=epsilon, momentum), "
    "add_decayed_weights(-lr(t) * weight_decay))",
    lambda c, lr: optax.chain(
      optax.clip_by_global_norm(_clip(c, "clipnorm")),
      optax.rmsprop(lr, decay=_kw(c)["rho"], eps=_kw(c)["epsilon"], momentum=_kw(c)["momentum"]),
      _decoupled(c, lr),
    ),
    "Keras's clipnorm clips each variable's norm; optax's nearest clip bounds their joint norm",
    "clipnorm per variable",
  ),
  Pairing(
    "rmsprop/tf_keras_global_clipnorm_over_clipvalue_wd_mom_piece_f32",
    "tf_keras.rmsprop",
    "chain(clip(clipvalue), clip_by_global_norm(global_clipnorm), rmsprop(lr, decay=rho, eps=epsilon, "
    "momentum), add_decayed_weights(-lr(t) * weight_decay))",
    lambda c, lr: optax.chain(
      optax.clip(_clip(c, "clipvalue")),
      optax.clip_by_global_norm(_clip(c, "global_clipnorm")),
      optax.rmsprop(lr, decay=_kw(c)["rho"], eps=_kw(c)["epsilon"], momentum=_kw(c)["momentum"]),
      _decoupled(c, lr),
    ),
    "tf_keras silently ignores clipvalue when global_clipnorm is set; optax's chain applies both",
    "clipvalue ignored",
  ),
  Pairing(
    "rmsprop/torch_clipnorm1_wd_centered_step_f32",
    "torch.rmsprop",
    "chain(clip_by_global_norm(max_norm), add_decayed_weights(weight_decay), rmsprop(lr, decay=alpha, "
    "eps=eps, eps_in_sqrt=False, centered=True))",
    lambda c, lr: optax.chain(
      optax.clip_by_global_norm(c["clip"][0]["kwargs"]["max_norm"]),
      optax.add_decayed_weights(_kw(c)["weight_decay"]),
      optax.rmsprop(
        lr, decay=_kw(c)["alpha"], eps=_kw(c)["eps"], eps_in_sqrt=False, centered=_kw(c)["centered"]
      ),
    ),
    "clip_grad_norm_(norm_type=1) bounds the 1-norm (plus 1e-6); optax's clip_by_global_norm the 2-norm",
    "clip_grad_norm_ norm_type",
  ),
)


# --- the case's configuration -> its schedule and our preset (only what these cases use) ----------

KERAS_SCHEDULES = {
  "ExponentialDecay": "exponential_decay",
  "PiecewiseConstantDecay": "piecewise_constant_decay",
}


def schedule(config: Config) -> optax.Schedule:
  """The case's learning-rate schedule: the framework's class as ours (torch's as optax's exact
  equivalent: its schedulers are stepped after every optimizer step here)."""
  spec = config["schedule"]
  kind, kw = spec["type"], spec["kwargs"]
  short = kind.rsplit(".", 1)[-1]
  if kind.startswith("torch."):
    lr = config["kwargs"]["lr"]
    if short == "ExponentialLR":
      return optax.exponential_decay(lr, 1, kw["gamma"])
    if short == "StepLR":
      return optax.exponential_decay(lr, kw["step_size"], kw.get("gamma", 0.1), staircase=True)
  elif kind.startswith("paddle.") and short in ("StepDecay", "ExponentialDecay", "PiecewiseDecay"):
    snake = {
      "StepDecay": "step_decay",
      "ExponentialDecay": "exponential_decay",
      "PiecewiseDecay": "piecewise_decay",
    }
    return getattr(oj.schedules, snake[short])(**kw)
  elif short in KERAS_SCHEDULES:
    module = oj.keras if kind.startswith("keras.") else oj.tf_keras
    return getattr(module, KERAS_SCHEDULES[short])(**kw)
  raise NotImplementedError(f"the demo maps no schedule {kind}")


def ours(config: Config, lr: optax.Schedule) -> optax.GradientTransformation:
  """Our preset for the case, called with the framework's own argument names."""
  framework, short = config["optimizer"].split(".")[0], config["optimizer"].rsplit(".", 1)[-1]
  kwargs = dict(config["kwargs"])
  if framework == "torch":
    kwargs["lr"] = lr
    preset = {"RMSprop": oj.torch.rmsprop, "RAdam": oj.torch.radam}[short]
    clips = [oj.torch.clip_grad_norm(**c["kwargs"]) for c in config["clip"]]  # called before step()
    return optax.chain(*clips, preset(**kwargs))
  if framework == "paddle" and not config["clip"] and config["weight_decay"] is None:
    preset = {"RMSProp": oj.paddle.rmsprop, "RAdam": oj.paddle.radam}[short]
    return preset(**{**kwargs, "learning_rate": lr})
  if framework in ("keras", "tf_keras") and short == "RMSprop":
    for clip in config["clip"]:  # clipnorm, clipvalue, global_clipnorm keyword arguments
      kwargs[clip["type"]] = clip["kwargs"]["value"]
    if config["weight_decay"] is not None:
      kwargs["weight_decay"] = config["weight_decay"]["value"]
    return getattr(oj, framework).rmsprop(**{**kwargs, "learning_rate": lr})
  raise NotImplementedError(f"the demo maps no {config['optimizer']} with this configuration")


# --- replay ------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Replay:
  """One case replayed: the per-step error (steps,) of ours and of optax's look-alike."""

  pairing: Pairing
  meta: dict[str, Any]
  ours: np.ndarray
  optax: np.ndarray

  @property
  def agrees(self) -> bool:
    return self.pairing.agrees


def load(case: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
  family, name = case.split("/")
  meta = json.loads((DATA / family / f"{name}.json").read_text())
  with np.load(DATA / family / f"{name}.npz") as data:
    arrays = {k: data[k] for k in data.files}
  return meta, arrays


def _group(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
  return {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def step_errors(trajectory: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> np.ndarray:
  """After every step, the worst over tensors of max|ours - ref| / max|ref|."""
  worst = []
  for name, ref in reference.items():
    ref = ref.astype(np.float64).reshape(ref.shape[0], -1)
    got = np.asarray(trajectory[name], np.float64).reshape(ref.shape)
    worst.append(np.max(np.abs(got - ref), axis=1) / np.max(np.abs(ref), axis=1))
  return np.max(worst, axis=0)


def replay(pairing: Pairing) -> Replay:
  meta, arrays = load(pairing.case)
  if meta["dtype"] != "float32":
    raise ValueError(f"{pairing.case}: the demo replays float32 cases")
  config = meta["config"]
  lr = schedule(config)
  txs = (ours(config, lr), pairing.optax(config, lr))
  init = jax.tree.map(jnp.asarray, _group(arrays, "init"))
  grads = jax.tree.map(jnp.asarray, _group(arrays, "grads"))

  @jax.jit  # compiled as users compile it: the errors shown are those of the default XLA pipeline
  def run(init, grads):  # both optimizers in one scan over the recorded gradients
    def body(carry, g):
      new = []
      for tx, (params, state) in zip(txs, carry, strict=True):
        updates, state = tx.update(g, state, params)
        new.append((optax.apply_updates(params, updates), state))
      return tuple(new), tuple(params for params, _ in new)

    _, trajectories = jax.lax.scan(body, tuple((init, tx.init(init)) for tx in txs), grads)
    return trajectories

  reference = _group(arrays, "params")
  ours_traj, optax_traj = jax.tree.map(np.asarray, run(init, grads))
  return Replay(pairing, meta, step_errors(ours_traj, reference), step_errors(optax_traj, reference))


# --- report ------------------------------------------------------------------------------------------


def _framework(meta: dict[str, Any]) -> str:
  return f"{meta['config']['optimizer']} ({meta['framework']} {meta['framework_version']})"


def _args(kwargs: dict[str, Any]) -> str:
  return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _call(meta: dict[str, Any]) -> str:
  """The framework call the case recorded, in its own names (clips as its users pass them)."""
  config = meta["config"]
  short = lambda kind: kind.rsplit(".", 1)[-1]  # noqa: E731
  spec = config["schedule"]
  call = f"{short(config['optimizer'])}({_args(config['kwargs'])})"
  call += f" + {short(spec['type'])}({_args(spec['kwargs'])})"
  for clip in config["clip"]:
    kw = clip["kwargs"]
    call += (
      f", {clip['type']}={kw['value']}" if set(kw) == {"value"} else f" + {short(clip['type'])}({_args(kw)})"
    )
  wd = config["weight_decay"]
  if wd is not None:
    call += f", weight_decay={wd['value'] if wd['type'] == 'float' else wd}"
  return call


def run(pairings: list[Pairing], out: Path | None) -> tuple[list[Replay], list[Path]]:
  """Part 1: replays every case, prints the table; writes fidelity.png under ``out``."""
  replays = [replay(p) for p in pairings]
  return replays, report(replays, out)


def report(replays: list[Replay], out: Path | None) -> list[Path]:
  """Prints the table and the legend; writes fidelity.png under ``out`` (when matplotlib is there)."""
  print(
    "Each case feeds the gradients recorded from a framework to our preset and to optax's closest\n"
    "look-alike, with the same learning-rate schedule, and compares the parameters after every step:\n"
    "error(t) = max over tensors of max|ours - framework| / max|framework| after step t.\n"
    f"float32 resolution: {FLOAT32_EPS:.1e}; the golden tests' tolerance: {TOLERANCE:.0e}.\n"
  )
  rows = [
    [
      str(i),
      _framework(r.meta),
      str(r.meta["steps"]),
      f"{r.ours.max():.1e}",
      f"{r.optax[min(9, len(r.optax) - 1)]:.1e}",
      f"{r.optax.max():.1e}",
      "agrees" if r.agrees else "differs",
    ]
    for i, r in enumerate(replays, 1)
  ]
  header = ["#", "recorded from", "steps", "ours: worst", "optax: step 10", "optax: worst", "semantics"]
  _report.table(header, rows, right=(2, 3, 4, 5))
  print()
  for i, r in enumerate(replays, 1):
    print(f"{i:>2}  {_call(r.meta)}")
    print(f"    ours:  oj.{r.pairing.preset}")
    print(f"    optax: {r.pairing.look_alike}")
    print(f"    {r.pairing.note}")
  worst = max(r.ours.max() for r in replays)
  verdict = "within" if worst <= TOLERANCE else "ABOVE"
  print(
    f"\nOurs: worst error {worst:.1e} over the {len(replays)} cases, "
    f"{verdict} {TOLERANCE:.0e} (float32 rounding)."
  )
  summary = []
  for label, group in (("where the semantics differ", False), ("where they agree", True)):
    errors = sorted(r.optax.max() for r in replays if r.agrees == group)
    if errors:
      span = f"{errors[0]:.1e}" + (f" to {errors[-1]:.1e}" if len(errors) > 1 else "")
      summary.append(f"{span} {label}")
  print(f"optax's look-alike: {', '.join(summary)}.")
  return [] if out is None else _plot(replays, out)


def _plot(replays: list[Replay], out: Path) -> list[Path]:
  cols = 4
  rows = -(-len(replays) // cols)
  fig = _report.figure(figsize=(4.2 * cols, 3.4 * rows), layout="constrained")
  if fig is None:
    return []
  floor = 1e-9  # an error of exactly 0 is drawn here on the log scale
  for i, r in enumerate(replays):
    ax = fig.add_subplot(rows, cols, i + 1)
    steps = np.arange(1, len(r.ours) + 1)
    ax.semilogy(steps, np.maximum(r.ours, floor), label="ours (the oj preset)", color="C0")
    ax.semilogy(steps, np.maximum(r.optax, floor), label="optax's closest look-alike", color="C1")
    ax.axhline(
      TOLERANCE, color="gray", ls="--", lw=0.8, label=f"{TOLERANCE:.0e}: the golden tests' tolerance"
    )
    ax.axhline(FLOAT32_EPS, color="gray", ls=":", lw=0.8, label="float32 machine epsilon")
    ax.set_ylim(floor / 2, 1.0)
    ax.set_title(f"{i + 1}. {_framework(r.meta)}\n{r.pairing.tag}", fontsize=8)
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("error vs the framework", fontsize=8)
    ax.tick_params(labelsize=7)
  handles, labels = ax.get_legend_handles_labels()
  if len(replays) < rows * cols:  # the legend in the spare panel
    spare = fig.add_subplot(rows, cols, len(replays) + 1)
    spare.axis("off")
    spare.legend(handles, labels, loc="center", fontsize=8, title=f"(an error of 0 is drawn at {floor:g})")
  else:
    fig.legend(handles, labels, loc="outside lower center", ncols=4, fontsize=8)
  fig.suptitle("Part 1: recorded framework trajectories replayed; error after each step, log scale")
  path = out / "fidelity.png"
  fig.savefig(path, dpi=110)
  return [path]
