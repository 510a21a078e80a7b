"""``--compare torch``: the same model, data, initial parameters and batches trained by PyTorch
(``torch.optim.RMSprop`` + ``StepLR``) and by us (``oj.torch.rmsprop``), with ``optax.rmsprop``
beside them. torch is imported only here, inside `run`.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optim_jax as oj

from . import _report, _training

INSTALL = (
  "--compare torch needs PyTorch, which is not installed in this environment. Install it with\n"
  "  pip install torch==2.13.0\n"
  "(the version this comparison was checked with; the CPU-only build is enough) and run again."
)
LR, ALPHA, EPS, MOMENTUM, GAMMA = 1e-3, 0.99, 1e-8, 0.9, 0.5


def available() -> bool:
  return importlib.util.find_spec("torch") is not None


def _step_size(steps: int) -> int:
  return max(steps // 4, 1)


def distance(params: Any, reference: dict[str, dict[str, np.ndarray]]) -> float:
  """max|params - reference| / max|reference|, both over every parameter of the model."""
  diff = max(
    float(np.max(np.abs(np.asarray(params[layer][name]) - ref)))
    for layer, leaves in reference.items()
    for name, ref in leaves.items()
  )
  scale = max(float(np.max(np.abs(r))) for leaves in reference.values() for r in leaves.values())
  return diff / scale


def train_torch(trainer: _training.Trainer, steps: int, on_eval: Any) -> _training.Run:
  """PyTorch's loop: zero_grad, loss.backward(), optimizer.step(), scheduler.step() per batch."""
  import torch

  tensors = {
    k: torch.from_numpy(np.array(v, np.float64 if k.startswith("x_") else np.int64))
    for k, v in trainer.data._asdict().items()
  }
  layers = sorted(trainer.params, key=lambda name: int(name.rsplit("_", 1)[1]))  # Dense_0, Dense_1, ...
  modules: list[torch.nn.Module] = []
  for i, layer in enumerate(layers):
    kernel, bias = (np.asarray(trainer.params[layer][k]) for k in ("kernel", "bias"))
    linear = torch.nn.Linear(*kernel.shape)
    with torch.no_grad():  # flax's kernel is (in, out), torch's weight (out, in)
      linear.weight.copy_(torch.from_numpy(np.array(kernel.T, np.float64)))
      linear.bias.copy_(torch.from_numpy(np.array(bias, np.float64)))
    modules += [linear] + ([torch.nn.ReLU()] if i < len(layers) - 1 else [])
  model = torch.nn.Sequential(*modules).double()
  optimizer = torch.optim.RMSprop(model.parameters(), lr=LR, alpha=ALPHA, eps=EPS, momentum=MOMENTUM)
  scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=_step_size(steps), gamma=GAMMA)
  loss_fn = torch.nn.functional.cross_entropy

  def snapshot() -> dict[str, dict[str, np.ndarray]]:
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]
    return {
      layer: {"kernel": m.weight.detach().numpy().T.copy(), "bias": m.bias.detach().numpy().copy()}
      for layer, m in zip(layers, linears, strict=True)
    }

  def metrics() -> tuple[float, float, float]:
    with torch.no_grad():
      train_loss = loss_fn(model(tensors["x_train"]), tensors["y_train"]).item()
      logits = model(tensors["x_test"])
      test_loss = loss_fn(logits, tensors["y_test"]).item()
      accuracy = (logits.argmax(-1) == tensors["y_test"]).double().mean().item()
    return train_loss, test_loss, accuracy

  bounds = _training.eval_points(steps)
  measured, kept = [metrics()], [snapshot()]
  t0 = time.perf_counter()
  for start, stop in zip(bounds[:-1], bounds[1:], strict=True):
    for i in range(start, stop):
      idx = tensors["batches"][i % _training.N_BATCHES]
      optimizer.zero_grad()
      loss_fn(model(tensors["x_train"][idx]), tensors["y_train"][idx]).backward()
      optimizer.step()
      scheduler.step()
    measured.append(metrics())
    kept.append(snapshot())
    on_eval(int(stop), measured[-1][0])
  step_ms = (time.perf_counter() - t0) / steps * 1e3  # evaluations included: PyTorch compiles nothing
  train_loss, test_loss, accuracy = (np.array(m) for m in zip(*measured, strict=True))
  return _training.Run("torch", bounds, train_loss, test_loss, accuracy, step_ms, 0.0, float("nan"), kept)


def run(steps: int, out: Path | None, seed: int = 0) -> tuple[dict[str, Any], list[Path]]:
  with jax.enable_x64(True):
    return _run(steps, out, seed)


LABELS = {"torch": "torch.optim.RMSprop", "ours": "oj.torch.rmsprop", "optax": "optax.rmsprop"}


def _run(steps: int, out: Path | None, seed: int) -> tuple[dict[str, Any], list[Path]]:
  import torch

  torch.set_num_threads(1)  # a small model: threads cost more than they give
  trainer = _training.Trainer(_training.digits(seed), seed, dtype=jnp.float64)
  step_lr = optax.exponential_decay(
    LR, _step_size(steps), GAMMA, staircase=True
  )  # StepLR, stepped every step
  lr = lambda count: step_lr(jnp.asarray(count, jnp.float64))  # noqa: E731  (in double, as torch's)
  calls = {
    "torch": f"torch.optim.RMSprop(lr={LR}, alpha={ALPHA}, eps={EPS}, momentum={MOMENTUM}) + "
    f"StepLR(step_size={_step_size(steps)}, gamma={GAMMA})   (torch {torch.__version__})",
    "ours": f"oj.torch.rmsprop(step_lr, alpha={ALPHA}, eps={EPS}, momentum={MOMENTUM})",
    "optax": f"optax.rmsprop(step_lr, decay={ALPHA}, eps={EPS}, eps_in_sqrt=False, momentum={MOMENTUM})",
  }
  print(
    f"Part 2's MLP, initial parameters, digits and batch order, {steps} steps, trained three ways in\n"
    "float64, so that the float32 rounding of the model's forward and backward passes (XLA and PyTorch sum\n"
    "in other orders, and RMSprop amplifies it in rarely active weights) does not hide what the optimizers\n"
    "do. step_lr is optax.exponential_decay(lr, step_size, gamma, staircase=True): StepLR, stepped after\n"
    "every step."
  )
  for key, call in calls.items():
    print(f"  {LABELS[key]:<20} {call}")
  print()
  runs: dict[str, _training.Run] = {}
  with _report.progress() as bar:
    for key in calls:
      task = bar.add_task(LABELS[key], total=steps, status="")

      def on_eval(step, train_loss, task=task):
        bar.update(task, completed=step, status=f"train loss (full set) {train_loss:.6f}")

      if key == "torch":
        runs[key] = train_torch(trainer, steps, on_eval)
      else:
        tx = (
          oj.torch.rmsprop(lr, alpha=ALPHA, eps=EPS, momentum=MOMENTUM)
          if key == "ours"
          else optax.rmsprop(lr, decay=ALPHA, eps=EPS, eps_in_sqrt=False, momentum=MOMENTUM)
        )
        runs[key] = trainer.train(key, tx, steps, on_eval, keep_params=True)
  torch_run = runs["torch"]
  distances = {
    k: np.array([distance(p, ref) for p, ref in zip(runs[k].params, torch_run.params, strict=True)])
    for k in ("ours", "optax")
  }
  gaps = {
    k: np.abs(runs[k].train_loss - torch_run.train_loss) / torch_run.train_loss for k in ("ours", "optax")
  }
  rows = [
    [
      LABELS[key],
      f"{r.train_loss[-1]:.6f}",
      f"{100 * r.test_accuracy[-1]:.1f}%",
      "-" if key == "torch" else f"{gaps[key].max():.1e}",
      "-" if key == "torch" else f"{distances[key].max():.1e}",
    ]
    for key, r in runs.items()
  ]
  print()
  header = ["run", "train loss", "test accuracy", "loss gap", "param distance"]
  _report.table(header, rows, right=(1, 2, 3, 4))
  print(
    "train loss: the final mean cross-entropy over the training set; loss gap: the worst, over the\n"
    "evaluation points, of |loss - PyTorch's| / PyTorch's; param distance: the worst of\n"
    "max|params - PyTorch's| / max|PyTorch's| over all parameters. optax.rmsprop multiplies by lr inside\n"
    f"the momentum buffer, PyTorch after it: the runs part at step {_step_size(steps)}, the first change of "
    "lr."
  )
  results = {"runs": runs, "loss_gap": gaps, "distance": distances, "calls": calls}
  return results, ([] if out is None else _plot(runs, gaps, distances, out, steps))


def _plot(runs: dict[str, _training.Run], gaps: dict, distances: dict, out: Path, steps: int) -> list[Path]:
  fig = _report.figure(figsize=(15, 4.2), layout="constrained")
  if fig is None:
    return []
  loss_ax, gap_ax, dist_ax = fig.subplots(1, 3)
  style = {"torch": ("C3", "-", 4.0), "ours": ("C0", "--", 1.8), "optax": ("C1", "-", 1.4)}
  floor = 1e-17  # an exact 0 is drawn here on the log scale
  for key, r in runs.items():
    color, ls, lw = style[key]
    loss_ax.semilogy(r.steps, r.train_loss, ls, color=color, lw=lw, label=LABELS[key])
    if key in gaps:
      gap_ax.semilogy(
        r.steps[1:], np.maximum(gaps[key][1:], floor), ls, color=color, lw=lw, label=LABELS[key]
      )
      dist_ax.semilogy(
        r.steps[1:], np.maximum(distances[key][1:], floor), ls, color=color, lw=lw, label=LABELS[key]
      )
  loss_ax.set(xlabel="step", ylabel="train loss (full training set)")
  gap_ax.set(xlabel="step", ylabel="|loss - PyTorch's| / PyTorch's")
  dist_ax.set(xlabel="step", ylabel="max|params - PyTorch's| / max|PyTorch's|")
  for ax in (loss_ax, gap_ax, dist_ax):
    ax.legend(fontsize=8)
  fig.suptitle(
    f"--compare torch: the same MLP, data and initialisation, {steps} steps in float64 (log scales)"
  )
  path = out / "compare_torch.png"
  fig.savefig(path, dpi=110)
  return [path]
