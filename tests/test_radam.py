"""scale_by_radam and the RAdam presets against the framework equations (Paddle 3.3, torch 2.13)."""

from __future__ import annotations

from decimal import Decimal, getcontext

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

import optim_jax as oj
from optim_jax import _radam

TIE_B2 = 0.8397685748659791  # rho_6 == 5.0 exactly in double
getcontext().prec = 40


def _torch_scalars(t: int, b1: float, b2: float):
  """torch.optim.RAdam's per-step scalars, in Python double."""
  rho_inf = 2 / (1 - b2) - 1
  bc2 = 1 - b2**t
  rho = rho_inf - 2 * t * b2**t / bc2
  rect = ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)) ** 0.5 if rho > 4 else 0.0
  return 1 - b1**t, rho, rect * bc2**0.5


def _exact_scalars(t: int, b1: float, b2: float):
  """The same scalars to 40 digits (PyTorch's double formula loses up to 3e-12 to cancellation)."""
  b1, b2, one = Decimal(b1), Decimal(b2), Decimal(1)
  rho_inf = 2 / (one - b2) - 1
  bc2 = one - b2**t
  rho = rho_inf - 2 * t * b2**t / bc2
  rect = ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)).sqrt() if rho > 4 else 0
  return float(one - b1**t), float(rho), float(rect * bc2.sqrt())


def _reference(grads, b1, b2, eps, rectified=None):
  """Section 2's update direction in numpy float64 (rectified: override of rho_t > 5)."""
  m = np.zeros_like(grads[0])
  v = np.zeros_like(grads[0])
  out = []
  for t, g in enumerate(grads, start=1):
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    bc1, _, coef = _exact_scalars(t, b1, b2)
    rect = _torch_scalars(t, b1, b2)[1] > 5 if rectified is None else rectified(t)
    out.append(m / bc1 * coef / (np.sqrt(v) + eps) if rect else m / bc1)
  return out


def _run(tx, grads, dtype):
  state = tx.init(jnp.zeros(grads[0].shape, dtype))
  update = jax.jit(tx.update)
  out = []
  for g in grads:
    u, state = update(jnp.asarray(g, dtype), state)
    out.append(np.asarray(u, np.float64))
  return out


def _grads(n, size=6, seed=0):
  rng = np.random.default_rng(seed)
  return [rng.normal(size=(size,)) * (1 + 0.1 * i) for i in range(n)]


@pytest.mark.parametrize("b2", [0.999, 0.9, 0.5])
@pytest.mark.parametrize("eps", [1e-8, 0.1])
@pytest.mark.parametrize("rule", ["closed_form", "recursion"])
def test_matches_equations_float64(b2, eps, rule):
  grads = _grads(30)
  want = _reference(grads, 0.9, b2, eps)
  with jax.enable_x64(True):
    got = _run(oj.scale_by_radam(0.9, b2, eps, rho_rule=rule), grads, jnp.float64)
  for w, g in zip(want, got, strict=True):
    np.testing.assert_allclose(g, w, rtol=1e-13)


@pytest.mark.parametrize("b2", [0.999, 0.9, 0.5, TIE_B2, 0.9999])
def test_float32_scalars_match_double(b2):
  """Section 10.1: the rectifier in float32 agrees with PyTorch's double values to a few ulps."""
  t = np.unique(np.concatenate([np.arange(1, 300), np.geomspace(300, 10**4, 200).astype(int)]))
  bc1, rho, coef = jax.jit(lambda t: _radam.step_scalars(t, 0.9, b2, jnp.float32))(jnp.asarray(t, jnp.int32))
  want = np.array([_torch_scalars(int(k), 0.9, b2) for k in t])
  np.testing.assert_allclose(np.asarray(bc1), want[:, 0], rtol=5e-7)
  np.testing.assert_allclose(np.asarray(rho), want[:, 1], rtol=5e-7)
  live = want[:, 1] > 5
  np.testing.assert_allclose(np.asarray(coef)[live], want[live, 2], rtol=5e-7)


def test_float32_trajectory_close_to_double():
  grads = _grads(60)
  want = _reference(grads, 0.9, 0.999, 1e-8)
  got = _run(oj.scale_by_radam(0.9, 0.999, 1e-8), grads, jnp.float32)
  for w, g in zip(want, got, strict=True):
    assert np.max(np.abs(g - w)) <= 1e-6 * np.max(np.abs(w))


@pytest.mark.parametrize(
  "b2, rule, dtype, first",
  [
    (0.999, "closed_form", "float32", 6),
    (0.9, "closed_form", "float32", 6),
    (0.5, "closed_form", "float32", None),
    (TIE_B2, "closed_form", "float32", 7),  # rho_6 == 5: not rectified (torch)
    (float(np.float32(TIE_B2)), "recursion", "float32", 7),  # Paddle float32: recursion gives 5.0
    (float(np.float32(TIE_B2)), "recursion", "float64", 6),  # Paddle float64: 5.00000009
    (0.999, "recursion", "float32", 6),
    (0.6, "recursion", "float32", None),
  ],
)
def test_first_rectified_step(b2, rule, dtype, first):
  assert _radam._first_rectified_step(b2, 5.0, rule, dtype) == first


def _rectified_at(tx, dtype, t=6):
  """Whether update t used the rectified direction (it differs from m_hat for a generic gradient)."""
  grads = _grads(t, size=3, seed=1)
  got = _run(tx, grads, dtype)[-1]
  b1 = 0.9
  m = sum((1 - b1) * b1 ** (t - 1 - i) * g for i, g in enumerate(grads))
  return not np.allclose(got, m / (1 - b1**t), rtol=1e-5)


def test_tie_goes_the_frameworks_way():
  assert not _rectified_at(oj.scale_by_radam(b2=TIE_B2), jnp.float32)
  assert _rectified_at(oj.scale_by_radam(b2=TIE_B2), jnp.float32, t=7)
  b2_f32 = float(np.float32(TIE_B2))
  assert not _rectified_at(oj.scale_by_radam(b2=b2_f32, rho_rule="recursion"), jnp.float32)
  with jax.enable_x64(True):
    assert not _rectified_at(oj.scale_by_radam(b2=TIE_B2), jnp.float64)
    assert _rectified_at(oj.scale_by_radam(b2=b2_f32, rho_rule="recursion"), jnp.float64)
    # optax rectifies at rho_t >= 5, so in double it disagrees with PyTorch here
    assert _rectified_at(optax.scale_by_radam(b2=TIE_B2), jnp.float64)


def test_paddle_preset_tie_per_dtype():
  """oj.paddle.radam rounds beta2 to float32, then decides like Paddle for each dtype."""
  grads = _grads(6, size=3, seed=1)

  def last_step(dtype):
    tx = oj.paddle.radam(learning_rate=1.0, beta2=TIE_B2)
    return _run(tx, grads, dtype)[-1]

  f32 = lambda x: float(np.float32(x))
  m_hat_step = -_reference(grads, f32(0.9), f32(TIE_B2), 1e-8, lambda t: False)[-1]
  np.testing.assert_allclose(last_step(jnp.float32), m_hat_step, rtol=1e-5)
  with jax.enable_x64(True):
    assert not np.allclose(last_step(jnp.float64), m_hat_step, rtol=1e-3)


def test_never_rectified_below_two_thirds():
  """beta2 <= 2/3: rho_inf <= 5, plain bias-corrected momentum forever."""
  grads = _grads(200, size=4)
  want = _reference(grads, 0.9, 0.5, 1e-8, lambda t: False)
  got = _run(oj.scale_by_radam(0.9, 0.5), grads, jnp.float32)
  for w, g in zip(want, got, strict=True):
    assert np.max(np.abs(g - w)) <= 1e-6 * np.max(np.abs(w))


def test_eps_placement_differs_from_optax():
  """eps = 0.0625: eps on sqrt(v) (frameworks) vs on sqrt(v_hat) (optax), ~1e-3 apart."""
  grads = _grads(20)
  want = _reference(grads, 0.9, 0.999, 0.0625)
  ours = _run(oj.scale_by_radam(eps=0.0625), grads, jnp.float32)
  theirs = _run(optax.scale_by_radam(eps=0.0625), grads, jnp.float32)
  err = lambda got: max(np.max(np.abs(g - w)) / np.max(np.abs(w)) for g, w in zip(got, want, strict=True))
  assert err(ours) < 1e-6
  assert err(theirs) > 1e-4


def test_traced_betas_decide_in_graph():
  tx = optax.inject_hyperparams(oj.scale_by_radam, static_args=("rho_rule",))(b1=0.9, b2=0.999)
  grads = _grads(10)
  want = _reference(grads, float(np.float32(0.9)), float(np.float32(0.999)), float(np.float32(1e-8)))
  got = _run(tx, grads, jnp.float32)
  for w, g in zip(want, got, strict=True):
    assert np.max(np.abs(g - w)) <= 1e-6 * np.max(np.abs(w))


@given(b2=st.floats(0.67, 0.9999), t=st.integers(1, 5000))
def test_rho_series_and_direct_agree_with_double(b2, t):
  _, rho, _ = _radam.step_scalars(jnp.asarray(t), 0.9, b2, jnp.float32)
  want = _torch_scalars(t, 0.9, b2)[1]
  assert abs(float(rho) - want) <= 1e-6 * abs(want) + 1e-9 * 2 / (1 - b2)


def test_state_is_two_moments_and_a_count():
  state = oj.scale_by_radam().init({"a": jnp.zeros((2, 3), jnp.bfloat16)})
  assert isinstance(state, oj.ScaleByRadamState)
  assert state.count.dtype == jnp.int32
  assert state.mu["a"].dtype == jnp.bfloat16 and state.nu["a"].shape == (2, 3)


@pytest.mark.parametrize(
  "kwargs, match",
  [
    (dict(b1=1.0), "b1"),
    (dict(b2=-0.1), "b2"),
    (dict(eps=-1.0), "eps"),
    (dict(threshold=3.0), "threshold"),
    (dict(rho_rule="double"), "rho_rule"),
  ],
)
def test_primitive_validation(kwargs, match):
  with pytest.raises(ValueError, match=match):
    oj.scale_by_radam(**kwargs)


# --- presets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
  "kwargs, exc, match",
  [
    (dict(learning_rate=-0.1), ValueError, r"Invalid learning rate: -0.1, expect learning_rate >= 0"),
    (dict(learning_rate=-1), ValueError, "Invalid learning rate"),
    (dict(learning_rate=1), TypeError, "learning_rate"),
    (dict(epsilon=-1e-8), ValueError, r"Invalid epsilon value: .*expect epsilon >= 0"),
    (dict(beta1=1.0), ValueError, r"Invalid beta1: 1.0, expect 0. <= beta1 < 1.0."),
    (dict(beta2=-0.5), ValueError, r"Invalid beta2: -0.5, expect 0. <= beta2 < 1.0."),
    (dict(grad_clip=optax.clip(1.0)), TypeError, "grad_clip"),
    (dict(weight_decay="l2"), TypeError, "weight_decay"),
  ],
)
def test_paddle_radam_validation(kwargs, exc, match):
  with pytest.raises(exc, match=match):
    oj.paddle.radam(**kwargs)


@pytest.mark.parametrize(
  "kwargs, match",
  [
    (dict(lr=-0.1), r"Invalid learning rate: -0.1 \(lr\)"),
    (dict(eps=-1.0), "Invalid epsilon value"),
    (dict(betas=(1.0, 0.9)), r"Invalid beta parameter at index 0: 1.0"),
    (dict(betas=(0.9, -0.1)), r"Invalid beta parameter at index 1: -0.1"),
    (dict(weight_decay=-0.1), "Invalid weight_decay value"),
  ],
)
def test_torch_radam_validation(kwargs, match):
  with pytest.raises(ValueError, match=match):
    oj.torch.radam(**kwargs)


def test_torch_radam_accepts_int_lr():
  oj.torch.radam(lr=1)


def _traj(tx, params, grads):
  state = tx.init(params)
  out = []
  for g in grads:
    u, state = tx.update(g, state, params)
    params = optax.apply_updates(params, u)
    out.append(np.asarray(params))
  return out


def _torch_reference(p, grads, lr, b1, b2, eps, wd, decoupled, maximize):
  m = np.zeros_like(p)
  v = np.zeros_like(p)
  out = []
  for t, g in enumerate(grads, start=1):
    g = -g if maximize else g
    if decoupled:
      p = p * (1 - lr(t - 1) * wd)
    else:
      g = g + wd * p
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    bc1, _, coef = _exact_scalars(t, b1, b2)
    rho = _torch_scalars(t, b1, b2)[1]
    step = m / bc1 * coef / (np.sqrt(v) + eps) if rho > 5 else m / bc1
    p = p - lr(t - 1) * step
    out.append(p)
  return out


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
def test_torch_radam_weight_decay_and_maximize_float64(decoupled, maximize):
  lr = lambda c: 0.1 * 0.9**c
  grads = _grads(12)
  p0 = np.linspace(-1, 1, 6)
  want = _torch_reference(p0, grads, lr, 0.8, 0.95, 1e-3, 0.2, decoupled, maximize)
  with jax.enable_x64(True):
    tx = oj.torch.radam(lr, (0.8, 0.95), 1e-3, 0.2, decoupled_weight_decay=decoupled, maximize=maximize)
    got = _traj(tx, jnp.asarray(p0), [jnp.asarray(g) for g in grads])
  for w, g in zip(want, got, strict=True):
    np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_paddle_radam_float64_rounds_hyperparameters_to_float32():
  f32 = lambda x: float(np.float32(x))
  grads = _grads(10)
  p0 = np.linspace(-1, 1, 6)
  lr = lambda c: 0.05 * (1 + c) ** -0.5
  want = _torch_reference(p0, grads, lr, f32(0.9), f32(0.99), f32(0.1), 0.0, False, False)
  with jax.enable_x64(True):
    tx = oj.paddle.radam(lr, 0.9, 0.99, 0.1)
    got = _traj(tx, jnp.asarray(p0), [jnp.asarray(g) for g in grads])
  for w, g in zip(want, got, strict=True):
    np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_paddle_radam_clips_then_regularises():
  clip = oj.paddle.clip_grad_by_global_norm(0.5)
  p = jnp.array([1.0, -2.0, 3.0])
  g = jnp.array([3.0, 4.0, 0.0])
  a = oj.paddle.radam(0.1, weight_decay=oj.paddle.l1_decay(0.3), grad_clip=clip)
  f32 = lambda x: float(np.float32(x))
  direction = oj.scale_by_radam(f32(0.9), f32(0.999), f32(1e-8), rho_rule="recursion")
  b = optax.chain(clip, oj.add_l1_decay(0.3), direction, optax.scale(-0.1))
  ua, _ = a.update(g, a.init(p), p)
  ub, _ = b.update(g, b.init(p), p)
  np.testing.assert_allclose(np.asarray(ua), np.asarray(ub), rtol=1e-6)
