"""Part 2, training: one Flax MLP on the 8x8 digits with every preset.

The data are the 1,797 8x8 digits shipped in ``data/digits.npz`` (provenance in ``digits.json``),
pixels scaled to [0, 1]; a fixed seeded split gives 1,280 training images, cut once into 10 batches
of 128 that every epoch visits in the same order (as a Paddle or PyTorch loop with ``shuffle=False``;
Paddle's SAG keeps one gradient slot per batch), and 517 held out. Every preset trains the same MLP
from the same initial parameters (`initial_params`); the loss and accuracy are measured on the full
training and held-out sets at about 20 points of the run, between jitted chunks of steps
(``lax.fori_loop``, donated buffers), so the curves, the progress bar and the table all show the
same numbers.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optim_jax as oj

from . import _report

DATA = Path(__file__).resolve().parent / "data"
N_TRAIN, BATCH = 1280, 128
N_BATCHES = N_TRAIN // BATCH
HIDDEN = (64, 64)
EVALS = 20  # loss and accuracy measured this many times during a run (and at step 0)


class Data(NamedTuple):
  x_train: jax.Array
  y_train: jax.Array
  x_test: jax.Array
  y_test: jax.Array
  batches: jax.Array  # (N_BATCHES, BATCH) indices into the training set

  @property
  def provenance(self) -> dict[str, Any]:
    return json.loads((DATA / "digits.json").read_text())


def digits(seed: int = 0) -> Data:
  """The shipped digits, split and batched as the module docstring says."""
  with np.load(DATA / "digits.npz") as f:
    images, labels = f["images"], f["labels"]
  x = images.reshape(len(images), -1).astype(np.float32) / 16.0
  y = labels.astype(np.int32)
  perm = np.random.default_rng(seed).permutation(len(x))
  train, test = perm[:N_TRAIN], perm[N_TRAIN:]
  batches = np.arange(N_TRAIN, dtype=np.int32).reshape(N_BATCHES, BATCH)
  return Data(*(jnp.asarray(a) for a in (x[train], y[train], x[test], y[test], batches)))


def mlp() -> Any:
  """A ReLU MLP 64-64-64-10 (flax.linen), imported here so that the library does not need flax."""
  try:
    import flax.linen as nn
  except ImportError as e:
    raise ImportError(f"The demo needs flax: {_report.MISSING}") from e

  class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
      for width in HIDDEN:
        x = nn.relu(nn.Dense(width)(x))
      return nn.Dense(10)(x)

  return MLP()


def initial_params(shapes: Any, seed: int) -> Any:
  """LeCun-normal kernels (N(0, 1 / fan_in)) and zero biases, drawn with NumPy: no compilation, and
  the same numbers for any framework that is handed them."""
  rng = np.random.default_rng(seed)

  def draw(path, leaf):
    if path[-1].key == "kernel":
      return rng.normal(0.0, leaf.shape[0] ** -0.5, leaf.shape).astype(np.float32)
    return np.zeros(leaf.shape, np.float32)

  return jax.tree_util.tree_map_with_path(draw, shapes)


@dataclasses.dataclass(frozen=True)
class Preset:
  name: str  # ours, as oj.<name>
  call: Callable[[int], str]  # the framework call it reproduces, for a run of that many steps
  make: Callable[[int], optax.GradientTransformation]


def _third(steps: int) -> int:
  return max(steps // 3, 1)


def _step_lr(lr: float, steps: int) -> optax.Schedule:
  """torch.optim.lr_scheduler.StepLR(step_size=steps // 3, gamma=0.5) stepped after every step."""
  return optax.exponential_decay(lr, _third(steps), 0.5, staircase=True)


PRESETS = (
  Preset(
    "paddle.rmsprop",
    lambda s: (
      f"paddle.optimizer.RMSProp(StepDecay(1e-3, {_third(s)}, 0.5), rho=0.9, momentum=0.9, "
      "weight_decay=L2Decay(1e-4), grad_clip=ClipGradByGlobalNorm(1.0))"
    ),
    lambda s: oj.paddle.rmsprop(
      oj.schedules.step_decay(1e-3, _third(s), 0.5),
      rho=0.9,
      momentum=0.9,
      weight_decay=oj.paddle.l2_decay(1e-4),
      grad_clip=oj.paddle.clip_grad_by_global_norm(1.0),
    ),
  ),
  Preset(
    "paddle.radam",
    lambda s: f"paddle.optimizer.RAdam(StepDecay(1e-2, {_third(s)}, 0.5), weight_decay=1e-4)",
    lambda s: oj.paddle.radam(oj.schedules.step_decay(1e-2, _third(s), 0.5), weight_decay=1e-4),
  ),
  Preset(
    "paddle.asgd",
    lambda s: f"paddle.optimizer.ASGD(StepDecay(0.3, {_third(s)}, 0.5), batch_num={N_BATCHES})  # SAG",
    lambda s: oj.paddle.asgd(oj.schedules.step_decay(0.3, _third(s), 0.5), batch_num=N_BATCHES),
  ),
  Preset(
    "tf_keras.rmsprop",
    lambda s: (
      f"tf_keras.optimizers.RMSprop(ExponentialDecay(1e-3, {s}, 0.1), momentum=0.9, "
      "weight_decay=1e-2, clipnorm=1.0)"
    ),
    lambda s: oj.tf_keras.rmsprop(
      oj.tf_keras.exponential_decay(1e-3, s, 0.1), momentum=0.9, weight_decay=1e-2, clipnorm=1.0
    ),
  ),
  Preset(
    "keras.rmsprop",
    lambda s: (
      f"keras.optimizers.RMSprop(CosineDecay(1e-3, {s}), momentum=0.9, centered=True, global_clipnorm=1.0)"
    ),
    lambda s: oj.keras.rmsprop(
      oj.keras.cosine_decay(1e-3, s), momentum=0.9, centered=True, global_clipnorm=1.0
    ),
  ),
  Preset(
    "torch.rmsprop",
    lambda s: (
      f"clip_grad_norm_(1.0); torch.optim.RMSprop(lr=1e-3, momentum=0.9, weight_decay=1e-4) + "
      f"StepLR({_third(s)}, 0.5)"
    ),
    lambda s: optax.chain(
      oj.torch.clip_grad_norm(1.0), oj.torch.rmsprop(_step_lr(1e-3, s), momentum=0.9, weight_decay=1e-4)
    ),
  ),
  Preset(
    "torch.radam",
    lambda s: (
      f"torch.optim.RAdam(lr=1e-2, weight_decay=1e-4, decoupled_weight_decay=True) + StepLR({_third(s)}, 0.5)"
    ),
    lambda s: oj.torch.radam(_step_lr(1e-2, s), weight_decay=1e-4, decoupled_weight_decay=True),
  ),
  Preset(
    "torch.asgd",
    lambda s: f"torch.optim.ASGD(lr=0.3, t0={s // 2}) + StepLR({_third(s)}, 0.5)",
    lambda s: oj.torch.asgd(_step_lr(0.3, s), t0=s // 2),
  ),
)


def state_bytes(state: Any, n_params: int) -> float:
  """Bytes of optimizer state per parameter (every array in the state: buffers and counters)."""
  return sum(x.nbytes for x in jax.tree.leaves(state) if hasattr(x, "nbytes")) / n_params


def eval_points(steps: int) -> np.ndarray:
  """0 and the steps after which loss and accuracy are measured (``EVALS`` of them, evenly spread)."""
  return np.unique(np.linspace(0, steps, min(EVALS, steps) + 1).round().astype(int))


@dataclasses.dataclass
class Run:
  """One training run: the measurements at every evaluation point, and its costs."""

  name: str
  steps: np.ndarray  # (evals + 1,) the step after which each measurement was taken (0: the start)
  train_loss: np.ndarray  # mean cross-entropy over the whole training set
  test_loss: np.ndarray
  test_accuracy: np.ndarray
  step_ms: float  # wall time per step, after compilation
  compile_s: float  # the first chunk's wall time: compilation and its steps
  state_bytes: float  # optimizer state bytes per parameter
  params: list[Any]  # the parameters at every evaluation point (when asked for)


class Trainer:
  """The model, the data and the initial parameters, shared by every run (one evaluation program)."""

  def __init__(self, data: Data, seed: int = 0, dtype: Any = jnp.float32):
    """``dtype`` float64 needs ``jax.enable_x64`` on while the trainer is made and used."""
    self.data = data._replace(x_train=data.x_train.astype(dtype), x_test=data.x_test.astype(dtype))
    self.model = mlp()
    shapes = jax.eval_shape(self.model.init, jax.random.key(seed), data.x_train[:1])["params"]
    self.params = jax.tree.map(lambda x: jnp.asarray(x, dtype), initial_params(shapes, seed))
    self.n_params = sum(x.size for x in jax.tree.leaves(self.params))
    self._evaluate = jax.jit(self._metrics)

  def loss(self, params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    logits = self.model.apply({"params": params}, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

  def _metrics(self, params: Any, data: Data) -> tuple[jax.Array, ...]:
    logits = self.model.apply({"params": params}, data.x_test)
    test_loss = optax.softmax_cross_entropy_with_integer_labels(logits, data.y_test).mean()
    accuracy = jnp.mean(jnp.argmax(logits, -1) == data.y_test)
    return self.loss(params, data.x_train, data.y_train), test_loss, accuracy

  def train(
    self,
    name: str,
    tx: optax.GradientTransformation,
    steps: int,
    on_eval: Callable[[int, float], None] | None = None,
    keep_params: bool = False,
  ) -> Run:
    """``steps`` steps of ``tx`` from the shared initial parameters; ``on_eval(step, train_loss)``
    after every chunk (the progress bar)."""
    loss = self.loss

    def chunk(params, state, start, stop, data):  # steps start..stop-1, one batch each
      def body(i, carry):
        params, state = carry
        idx = data.batches[i % N_BATCHES]
        grads = jax.grad(loss)(params, data.x_train[idx], data.y_train[idx])
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

      return jax.lax.fori_loop(start, stop, body, (params, state))

    chunk = jax.jit(chunk, donate_argnums=(0, 1))
    params = jax.tree.map(jnp.array, self.params)  # a copy: the chunks donate their inputs
    state = tx.init(params)
    bytes_per_param = state_bytes(state, self.n_params)
    bounds = eval_points(steps)
    metrics = [self._evaluate(params, self.data)]
    kept = [jax.tree.map(np.asarray, params)] if keep_params else []
    compile_s, timed_s = 0.0, 0.0
    for k, (start, stop) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
      t0 = time.perf_counter()
      params, state = jax.block_until_ready(chunk(params, state, start, stop, self.data))
      elapsed = time.perf_counter() - t0
      if k == 0:
        compile_s = elapsed
      else:
        timed_s += elapsed
      metrics.append(self._evaluate(params, self.data))
      if keep_params:
        kept.append(jax.tree.map(np.asarray, params))
      if on_eval is not None:
        on_eval(int(stop), float(metrics[-1][0]))
    measured = zip(*jax.device_get(metrics), strict=True)
    train_loss, test_loss, accuracy = (np.array(m, np.float64) for m in measured)
    timed_steps = steps - int(bounds[1]) if len(bounds) > 2 else 0
    step_ms = timed_s / timed_steps * 1e3 if timed_steps else float("nan")
    return Run(name, bounds, train_loss, test_loss, accuracy, step_ms, compile_s, bytes_per_param, kept)


def run(names: list[str], steps: int, out: Path | None, seed: int = 0) -> tuple[dict[str, Run], list[Path]]:
  """Part 2: trains every preset in ``names``, prints the table; writes training.png under ``out``."""
  data = digits(seed)
  trainer = Trainer(data, seed)
  presets = [p for p in PRESETS if p.name in names]
  layers = "-".join(map(str, (64, *HIDDEN, 10)))
  print(
    f"A Flax MLP {layers} (ReLU, {trainer.n_params:,} parameters) on the 8x8 digits: {N_TRAIN:,} training "
    f"images in {N_BATCHES} batches\nof {BATCH} visited in order, {len(data.y_test)} held out. {steps} steps "
    "per preset from the same initial parameters; each preset\nis its framework's optimizer, called as:"
  )
  for p in presets:
    print(f"  oj.{p.name:<17} {p.call(steps)}")
  print()
  runs = {}
  with _report.progress() as bar:
    for p in presets:
      task = bar.add_task(f"oj.{p.name}", total=steps, status="compiling")

      def on_eval(step, train_loss, task=task):
        bar.update(task, completed=step, status=f"train loss (full set) {train_loss:.4f}")

      runs[p.name] = trainer.train(p.name, p.make(steps), steps, on_eval)
  print()
  _table(runs, len(data.y_test))
  return runs, ([] if out is None else plot(runs, out, steps))


def _table(runs: dict[str, Run], n_test: int) -> None:
  rows = [
    [
      f"oj.{name}",
      f"{r.train_loss[-1]:.4f}",
      f"{r.test_loss[-1]:.4f}",
      f"{100 * r.test_accuracy[-1]:.1f}%",
      f"{r.step_ms:.3f}",
      f"{r.compile_s:.2f}",
      f"{r.state_bytes:.1f}",
    ]
    for name, r in runs.items()
  ]
  header = ["preset", "train loss", "test loss", "test accuracy", "ms/step", "first chunk s", "state B/param"]
  _report.table(header, rows, right=range(1, 7))
  print(
    f"train loss: mean cross-entropy over all {N_TRAIN:,} training images after the last step (chance: "
    f"ln 10 = {np.log(10):.2f});\ntest: the same on the {n_test} held-out images; ms/step: wall time per "
    "step after compilation; first chunk s:\nthe first jitted chunk of steps, compilation included; state "
    "B/param: bytes of optimizer state per parameter.\nThe presets differ in algorithm and hyperparameters "
    "(the calls above): the rows are no ranking of the ports;\npart 1 measures fidelity, --compare torch "
    "shows a port beside its framework."
  )


def plot(runs: dict[str, Run], out: Path, steps: int) -> list[Path]:
  fig = _report.figure(figsize=(12, 4.2), layout="constrained")
  if fig is None:
    return []
  loss_ax, acc_ax = fig.subplots(1, 2)
  for i, (name, r) in enumerate(runs.items()):
    style = "-" if i < 10 else "--"
    loss_ax.semilogy(r.steps, r.train_loss, style, label=f"oj.{name}", color=f"C{i % 10}")
    acc_ax.plot(r.steps, 100 * r.test_accuracy, style, label=f"oj.{name}", color=f"C{i % 10}")
  loss_ax.set(xlabel="step", ylabel="train loss (full training set, log scale)")
  acc_ax.set(xlabel="step", ylabel="held-out accuracy (%)", ylim=(0, 100))
  loss_ax.legend(fontsize=8)
  fig.suptitle(f"Part 2: a Flax MLP on the 8x8 digits, {steps} steps per preset")
  path = out / "training.png"
  fig.savefig(path, dpi=110)
  return [path]
