"""RMSProp presets: validation, chain order and the places where frameworks differ."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj

P = {"w": jnp.array([1.0, -2.0, 0.5]), "s": jnp.array(3.0)}


def _g(k):
  return {"w": jnp.array([0.3, -0.2, 4.0]) * (k + 1), "s": jnp.array(-1.5) * (k + 1)}


def _close(a, b):
  """Normwise: max|a - b| <= 1e-6 max|b| (float32 rounding, not elementwise relative)."""
  np.testing.assert_array_less(
    np.max(np.abs(np.asarray(a) - np.asarray(b))), 1e-6 * np.max(np.abs(b)) + 1e-30
  )


def _traj(tx, n=4):
  p, s, out = P, tx.init(P), []
  for k in range(n):
    u, s = tx.update(_g(k), s, p)
    p = optax.apply_updates(p, u)
    out.append(p)
  return out, s


# --- Paddle -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
  "kwargs, exc, match",
  [
    (dict(learning_rate=1), TypeError, "learning_rate"),
    (dict(learning_rate=None), ValueError, "learning_rate"),
    (dict(learning_rate=-0.1), ValueError, "learning_rate"),
    (dict(learning_rate=0.1, rho=None), ValueError, "rho is not set"),
    (dict(learning_rate=0.1, epsilon=-1.0), ValueError, "epsilon"),
    (dict(learning_rate=0.1, momentum=-0.5), ValueError, "momentum"),
    (dict(learning_rate=0.1, rho=1.5), ValueError, "rho"),
    (dict(learning_rate=0.1, grad_clip=optax.clip(1.0)), TypeError, "grad_clip"),
    (dict(learning_rate=0.1, weight_decay="l2"), TypeError, "weight_decay"),
    (dict(learning_rate=0.1, weight_decay=-0.1), ValueError, "weight_decay"),
  ],
)
def test_paddle_rmsprop_validation(kwargs, exc, match):
  with pytest.raises(exc, match=match):
    oj.paddle.rmsprop(**kwargs)


def test_paddle_clip_validation():
  with pytest.raises(AssertionError, match="max"):
    oj.paddle.clip_grad_by_value(-1.0)
  with pytest.raises(ValueError, match="min"):
    oj.paddle.clip_grad_by_value(1.0, min=2.0)
  with pytest.raises(ValueError, match="clip_norm"):
    oj.paddle.clip_grad_by_norm(0.0)
  with pytest.raises(ValueError, match="clip_norm"):
    oj.paddle.clip_grad_by_global_norm(-1.0)


def test_paddle_clips_before_regularising():
  """Paddle: g <- clip(g) + wd * p; the regulariser is never clipped (Paddle applies grad_clip before the regulariser)."""
  clip, wd = 1.0, 0.3
  tx = oj.paddle.rmsprop(
    0.1, rho=0.0, epsilon=0.0, weight_decay=wd, grad_clip=oj.paddle.clip_grad_by_global_norm(clip)
  )
  g = _g(0)
  n = float(np.sqrt(sum(float(jnp.sum(x**2)) for x in jax.tree.leaves(g))))
  eff = jax.tree.map(lambda x, p: x * clip / max(n, clip) + wd * p, g, P)
  u, _ = tx.update(g, tx.init(P), P)
  # rho=0, eps=0: the step is -lr * sign(eff) elementwise
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, -0.1 * np.sign(b), rtol=1e-6), u, eff)


def test_paddle_momentum_buffer_only_when_used():
  leaves = lambda tx: len(jax.tree.leaves(tx.init(P)))
  assert leaves(oj.paddle.rmsprop(0.1, momentum=0.9)) > leaves(oj.paddle.rmsprop(0.1))


def test_paddle_lr_inside_momentum_buffer():
  """v = mu v + lr_t g/denom: a schedule multiplies only the new term (optax.rmsprop agrees)."""
  lr = optax.exponential_decay(0.1, 1, 0.5)
  got, _ = _traj(oj.paddle.rmsprop(lr, rho=0.9, epsilon=1e-6, momentum=0.9))
  want, _ = _traj(optax.rmsprop(lr, decay=0.9, eps=1e-6, eps_in_sqrt=True, momentum=0.9))
  jax.tree.map(_close, got, want)


# --- PyTorch ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
  "kwargs, match",
  [
    (dict(lr=-1.0), "learning rate"),
    (dict(eps=-1.0), "epsilon"),
    (dict(momentum=-1.0), "momentum"),
    (dict(weight_decay=-1.0), "weight_decay"),
    (dict(alpha=-0.1), "alpha"),
    (dict(alpha=1.5), "alpha"),
  ],
)
def test_torch_rmsprop_validation(kwargs, match):
  with pytest.raises(ValueError, match=match):
    oj.torch.rmsprop(**kwargs)


def test_torch_lr_after_momentum_differs_from_optax_with_schedule():
  lr = optax.exponential_decay(0.1, 1, 0.5)
  got, _ = _traj(oj.torch.rmsprop(lr, alpha=0.9, momentum=0.9))
  exact, _ = _traj(
    optax.chain(
      optax.scale_by_rms(0.9, 1e-8, eps_in_sqrt=False, bias_correction=False),
      optax.trace(0.9),
      optax.scale_by_learning_rate(lr),
    )
  )
  inside, _ = _traj(optax.rmsprop(lr, decay=0.9, eps=1e-8, eps_in_sqrt=False, momentum=0.9))
  jax.tree.map(_close, got, exact)
  assert not np.allclose(got[-1]["w"], inside[-1]["w"], rtol=1e-3)


def test_torch_maximize_negates():
  up, down = oj.torch.rmsprop(0.01, maximize=True), oj.torch.rmsprop(0.01)
  u_up, _ = up.update(_g(0), up.init(P), P)
  u_down, _ = down.update(_g(0), down.init(P), P)
  jax.tree.map(lambda a, b: np.testing.assert_array_equal(a, -b), u_up, u_down)


def test_torch_clip_helpers():
  with pytest.raises(ValueError, match="max_norm"):
    oj.torch.clip_grad_norm(-1.0)
  with pytest.raises(ValueError, match="clip_value"):
    oj.torch.clip_grad_value(-0.5)
  tx = oj.torch.clip_grad_value(0.5)
  np.testing.assert_array_equal(
    tx.update(jnp.array([-2.0, 0.1, 3.0]), tx.init(None))[0], np.float32([-0.5, 0.1, 0.5])
  )


# --- Keras --------------------------------------------------------------------------------------


def test_tf_keras_clip_priority():
  g = {"a": jnp.array([3.0, 4.0]), "b": jnp.array([0.1])}
  both = oj.tf_keras.rmsprop(clipnorm=1.0, clipvalue=0.05)  # clipvalue silently ignored
  only_norm = oj.tf_keras.rmsprop(clipnorm=1.0)
  u1, _ = both.update(g, both.init(g), g)
  u2, _ = only_norm.update(g, only_norm.init(g), g)
  jax.tree.map(np.testing.assert_array_equal, u1, u2)
  with pytest.raises(ValueError, match="At most one of `clipnorm` and `global_clipnorm`"):
    oj.tf_keras.rmsprop(clipnorm=1.0, global_clipnorm=1.0)


def test_keras3_rejects_several_clips_and_int_lr():
  with pytest.raises(ValueError, match="Only one of"):
    oj.keras.rmsprop(clipnorm=1.0, clipvalue=0.5)
  with pytest.raises(ValueError, match="learning_rate"):
    oj.keras.rmsprop(learning_rate=1)
  oj.tf_keras.rmsprop(learning_rate=1)  # tf_keras accepts an int


@pytest.mark.parametrize("mod", [oj.tf_keras, oj.keras])
@pytest.mark.parametrize(
  "kwargs",
  [
    dict(rho=1.5),
    dict(rho=-0.1),
    dict(epsilon=-1.0),
    dict(momentum=-0.1),
    dict(learning_rate=-0.1),
    dict(clipnorm=-1.0),
    dict(weight_decay=-0.1),
  ],
)
def test_keras_rejects_certain_mistakes(mod, kwargs):
  with pytest.raises(ValueError, match=next(iter(kwargs))):
    mod.rmsprop(**kwargs)


def test_keras_zero_clip_means_off():
  g = jnp.array([30.0, 40.0])
  a = oj.tf_keras.rmsprop(clipnorm=0.0)
  b = oj.tf_keras.rmsprop()
  np.testing.assert_array_equal(a.update(g, a.init(g), g)[0], b.update(g, b.init(g), g)[0])


def test_keras_decoupled_decay_equals_separate_steps():
  """p <- p - lr*wd*p, then the RMSprop step, both from the pre-step p."""
  tx = oj.keras.rmsprop(0.1, rho=0.9, weight_decay=0.2)
  plain = oj.keras.rmsprop(0.1, rho=0.9)
  g = _g(0)
  u, _ = tx.update(g, tx.init(P), P)
  u0, _ = plain.update(g, plain.init(P), P)
  jax.tree.map(lambda a, b, p: np.testing.assert_allclose(a, b - 0.1 * 0.2 * p, rtol=1e-6), u, u0, P)


def test_keras_float64_lr_rounded_to_float32():
  with jax.enable_x64(True):
    p = jnp.ones(2, jnp.float64)
    tx = oj.keras.rmsprop(0.1, rho=0.0, epsilon=0.0)
    u, _ = tx.update(jnp.ones(2, jnp.float64), tx.init(p), p)
    assert u.dtype == jnp.float64
    np.testing.assert_array_equal(np.asarray(u), -np.float64(np.float32(0.1)))
