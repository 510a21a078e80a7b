"""oj.torch.asgd (averaged SGD) against torch.optim.ASGD's loop (torch 2.13)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj


def _reference(p, grads, lr, lambd, alpha, t0, wd=0.0, maximize=False):
  """torch.optim.ASGD's single-tensor loop in numpy float64; lr(k) is the group lr at update k (0-based).

  eta and mu are rounded to float32, PyTorch's default dtype, in which it keeps them.
  """
  f32 = lambda x: float(np.float32(x))
  eta, mu, ax = f32(lr(0)), 1.0, np.zeros_like(p)
  params, avgs = [], []
  for step, g in enumerate(grads, start=1):
    g = -g if maximize else g
    g = g + wd * p
    p = p * (1 - lambd * eta)
    p = p - eta * g
    ax = p.copy() if mu == 1 else ax + mu * (p - ax)
    eta = f32(lr(step - 1) / (1 + lambd * lr(step - 1) * step) ** alpha)
    mu = f32(1 / max(1, step - t0))
    params.append(p)
    avgs.append(ax)
  return params, avgs


def _grads(k, seed=0):
  rng = np.random.default_rng(seed)
  return [rng.normal(size=(5,)) for _ in range(k)]


def _run(tx, p0, grads, dtype):
  params = jnp.asarray(p0, dtype)
  state = tx.init(params)
  update = jax.jit(tx.update)
  ps, axs = [], []
  for g in grads:
    u, state = update(jnp.asarray(g, dtype), state, params)
    params = optax.apply_updates(params, u)
    ps.append(np.asarray(params, np.float64))
    axs.append(np.asarray(oj.ema_params(state), np.float64))
  return ps, axs, state


CASES = [
  dict(lambd=1e-4, alpha=0.75, t0=1e6),  # defaults: ax == p (mu stays 1)
  dict(lambd=0.05, alpha=0.75, t0=3.0),  # averaging from update 5 on
  dict(lambd=0.1, alpha=0.5, t0=0.0, wd=0.1, maximize=True),
]


@pytest.mark.parametrize("case", CASES, ids=["defaults", "t0=3", "wd+maximize"])
def test_matches_torch_loop_float64(case):
  lr = lambda k: 0.2 * 0.8 ** (k // 2)  # StepLR-like schedule of the update count
  p0 = np.linspace(-1.0, 1.0, 5)
  grads = _grads(12)
  want_p, want_ax = _reference(p0, grads, lr, **case)
  kwargs = {("weight_decay" if k == "wd" else k): v for k, v in case.items()}
  with jax.enable_x64(True):
    got_p, got_ax, state = _run(oj.torch.asgd(lr, **kwargs), p0, grads, jnp.float64)
    assert state[-1].eta.dtype == jnp.float32
  for wp, gp, wa, ga in zip(want_p, got_p, want_ax, got_ax, strict=True):
    np.testing.assert_allclose(gp, wp, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(ga, wa, rtol=1e-14, atol=1e-15)


def test_float32_close_to_double():
  lr = lambda k: 0.05 * (1 + k) ** -0.5
  p0 = np.linspace(-1.0, 1.0, 5)
  grads = _grads(40)
  want_p, want_ax = _reference(p0, grads, lr, 0.01, 0.75, 10.0)
  got_p, got_ax, _ = _run(oj.torch.asgd(lr, 0.01, 0.75, 10.0), p0, grads, jnp.float32)
  for wp, gp, wa, ga in zip(want_p, got_p, want_ax, got_ax, strict=True):
    assert np.max(np.abs(gp - wp)) <= 1e-6 * np.max(np.abs(wp))
    assert np.max(np.abs(ga - wa)) <= 1e-6 * np.max(np.abs(wa))


def test_schedule_takes_effect_one_update_late():
  """StepLR(gamma=0.5) with lambd=0: effective steps 1, 1, 0.5, 0.25 for group lr 1, 0.5, 0.25, 0.125."""
  tx = oj.torch.asgd(lambda k: 0.5**k, lambd=0.0)
  p = jnp.zeros(1)
  state = tx.init(p)
  steps = []
  for _ in range(4):
    u, state = tx.update(jnp.ones(1), state, p)
    steps.append(-float(u[0]))
  assert steps == [1.0, 1.0, 0.5, 0.25]


def test_parameters_are_never_replaced_by_the_average():
  p0 = np.linspace(-1.0, 1.0, 5)
  got_p, got_ax, _ = _run(oj.torch.asgd(0.1, t0=0.0), p0, _grads(6), jnp.float32)
  assert not np.allclose(got_p[-1], got_ax[-1])
  np.testing.assert_allclose(got_ax[-1], np.mean(got_p[1:], axis=0), rtol=1e-5)


def test_state_layout_and_ema_params_in_a_chain():
  params = {"w": jnp.ones((2, 3), jnp.bfloat16), "b": jnp.zeros(3)}
  tx = optax.chain(oj.torch.clip_grad_norm(1.0), oj.torch.asgd(0.1))
  state = tx.init(params)
  inner = state[-1][-1]
  assert isinstance(inner, oj.AveragedSgdState)
  assert inner.count.dtype == jnp.int32
  assert inner.eta.dtype == jnp.float32 and inner.eta.shape == ()
  assert inner.ax["w"].dtype == jnp.bfloat16
  u, state = tx.update(jax.tree.map(jnp.ones_like, params), state, params)
  new = optax.apply_updates(params, u)
  jax.tree.map(np.testing.assert_array_equal, oj.ema_params(state), new)


@pytest.mark.parametrize(
  "kwargs, match",
  [
    (dict(lr=-0.1), r"Invalid learning rate: -0.1 \(lr\)"),
    (dict(weight_decay=-1.0), "Invalid weight_decay value"),
    (dict(lambd=-1e-4), "lambd"),
    (dict(alpha=-0.5), "alpha"),
  ],
)
def test_validation(kwargs, match):
  with pytest.raises(ValueError, match=match):
    oj.torch.asgd(**kwargs)


def test_negative_t0_and_int_lr_accepted():
  oj.torch.asgd(lr=1, t0=-5.0)
