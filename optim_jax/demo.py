"""Train a small Flax classifier with each framework preset and compare them.

Run with ``python -m optim_jax.demo`` (``--steps``, ``--presets`` to change what runs); it needs flax,
which the ``demo`` extra installs (``pip install "optim_jax[demo]"``). The data set
is generated here: three interleaved spirals in 2-D (1,500 training points, 600 held out), a task a
linear model cannot solve. Every preset trains the same MLP from the same initial parameters with a
jitted train step (donated buffers); the table reports final training loss, held-out accuracy and
the mean step time after compilation.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optim_jax as oj


def spirals(n_per_class: int, seed: int, noise: float = 0.15) -> tuple[np.ndarray, np.ndarray]:
  """Three interleaved spirals: features of shape (3n, 2), integer labels of shape (3n,)."""
  rng = np.random.default_rng(seed)
  xs, ys = [], []
  for k in range(3):
    r = np.linspace(0.05, 1.0, n_per_class)
    t = np.linspace(0.0, 3.0 * np.pi, n_per_class) + k * 2.0 * np.pi / 3.0
    t = t + rng.normal(scale=noise, size=n_per_class)
    xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
    ys.append(np.full(n_per_class, k))
  return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int32)


def mlp(width: int = 64):
  """A ReLU MLP 2-width-width-3 (flax.linen), imported here so the library does not need flax."""
  try:
    import flax.linen as nn
  except ImportError as e:
    raise ImportError('The demo needs flax: pip install "optim_jax[demo]" (or pip install flax).') from e

  class MLP(nn.Module):
    @nn.compact
    def __call__(self, x):
      x = nn.relu(nn.Dense(width)(x))
      x = nn.relu(nn.Dense(width)(x))
      return nn.Dense(3)(x)

  return MLP()


def presets(steps: int) -> dict[str, Callable[[], optax.GradientTransformation]]:
  """Every preset with a decaying schedule, each in its framework's own argument names."""
  decay = lambda lr: optax.exponential_decay(lr, steps, 0.1)  # lr * 0.1 ** (count / steps)
  table = {
    "paddle.rmsprop": lambda: oj.paddle.rmsprop(
      decay(3e-3), rho=0.9, momentum=0.9, weight_decay=1e-4, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0)
    ),
    "tf_keras.rmsprop": lambda: oj.tf_keras.rmsprop(
      decay(3e-3), momentum=0.9, weight_decay=1e-4, clipnorm=1.0
    ),
    "keras.rmsprop": lambda: oj.keras.rmsprop(decay(3e-3), momentum=0.9, global_clipnorm=1.0),
    "torch.rmsprop": lambda: optax.chain(
      oj.torch.clip_grad_norm(1.0), oj.torch.rmsprop(decay(3e-3), momentum=0.9, weight_decay=1e-4)
    ),
    "optax.rmsprop": lambda: optax.rmsprop(decay(3e-3), decay=0.9, momentum=0.9),
  }
  for name, make in (
    ("paddle.radam", lambda: oj.paddle.radam(decay(0.03))),
    ("torch.radam", lambda: oj.torch.radam(decay(0.03), decoupled_weight_decay=True, weight_decay=1e-4)),
    # SAG: one memory slot per batch of the epoch (batches are visited in a fixed cyclic order)
    ("paddle.asgd", lambda: oj.paddle.asgd(decay(1.0), batch_num=BATCHES)),
    ("torch.asgd", lambda: oj.torch.asgd(decay(1.0), t0=steps // 2)),
  ):
    module, fn = name.split(".")
    if hasattr(getattr(oj, module), fn):
      table[name] = make
  return table


BATCHES = 12  # the training set is split once into this many batches, visited in a fixed order


def train(make_tx, steps: int, batch: int, seed: int = 0) -> dict[str, float]:
  """Epochs over a fixed partition of the shuffled training set (as a Paddle or PyTorch loop with
  ``shuffle=False`` does); ``batch`` caps the batch size."""
  x_train, y_train = spirals(500, seed=seed)
  x_test, y_test = spirals(200, seed=seed + 1)
  model = mlp()
  params = model.init(jax.random.key(seed), x_train[:1])["params"]
  tx = make_tx()
  opt_state = tx.init(params)

  def loss_fn(p, x, y):
    logits = model.apply({"params": p}, x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

  @jax.jit
  def accuracy(p, x, y):
    return jnp.mean(jnp.argmax(model.apply({"params": p}, x), -1) == y)

  def step(p, s, x, y):
    loss, grads = jax.value_and_grad(loss_fn)(p, x, y)
    updates, s = tx.update(grads, s, p)
    return optax.apply_updates(p, updates), s, loss

  step = jax.jit(step, donate_argnums=(0, 1))
  perm = np.random.default_rng(seed).permutation(len(x_train))
  parts = [part[:batch] for part in np.array_split(perm, BATCHES)]
  order = [parts[i % BATCHES] for i in range(steps)]
  t0 = time.perf_counter()
  params, opt_state, loss = step(params, opt_state, x_train[order[0]], y_train[order[0]])
  jax.block_until_ready(loss)
  compile_s = time.perf_counter() - t0
  t0 = time.perf_counter()
  for i in range(1, steps):
    params, opt_state, loss = step(params, opt_state, x_train[order[i]], y_train[order[i]])
    if i % (steps // 4) == 0:
      print(f"    step {i:4d}  loss {float(loss):.4f}", flush=True)
  jax.block_until_ready(loss)
  step_ms = (time.perf_counter() - t0) / max(steps - 1, 1) * 1e3
  return {
    "loss": float(loss_fn(params, x_train, y_train)),
    "accuracy": float(accuracy(params, x_test, y_test)),
    "step_ms": step_ms,
    "compile_s": compile_s,
  }


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--steps", type=int, default=800)
  parser.add_argument("--batch", type=int, default=128)
  parser.add_argument("--presets", nargs="*", help="names to run (default: all)")
  args = parser.parse_args(argv)
  table = presets(args.steps)
  names = args.presets or list(table)
  unknown = sorted(set(names) - set(table))
  if unknown:
    parser.error(f"unknown presets {unknown}; choose from {sorted(table)}")
  print(f"optim_jax {oj.__version__} demo: 3-class spirals, ReLU MLP 2-64-64-3, {args.steps} steps, ", end="")
  print(f"{BATCHES} batches of <= {args.batch} per epoch")
  results = {}
  for name in names:
    print(f"  {name}", flush=True)
    results[name] = train(table[name], args.steps, args.batch)
  print(f"\n{'preset':<18}{'final loss':>12}{'accuracy':>10}{'step ms':>10}{'compile s':>11}")
  for name, r in results.items():
    print(f"{name:<18}{r['loss']:>12.4f}{r['accuracy']:>10.3f}{r['step_ms']:>10.3f}{r['compile_s']:>11.2f}")
  return results


if __name__ == "__main__":
  main()
