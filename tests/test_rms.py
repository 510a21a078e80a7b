"""scale_by_rms_paddle / scale_by_rms_torch against the framework equations, written out in numpy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import optim_jax as oj


def _reference(grads, decay, eps, centered, eps_in_sqrt):
  sq = np.zeros_like(grads[0])
  avg = np.zeros_like(grads[0])
  out = []
  for g in grads:
    sq = decay * sq + (1 - decay) * g * g
    var = sq
    if centered:
      avg = decay * avg + (1 - decay) * g
      var = sq - avg * avg
    out.append(g / np.sqrt(var + eps) if eps_in_sqrt else g / (np.sqrt(var) + eps))
  return out


@pytest.mark.parametrize("centered", [False, True])
@pytest.mark.parametrize("torch_style", [False, True])
def test_matches_equations_float64(centered, torch_style):
  rng = np.random.default_rng(0)
  grads = [rng.normal(size=(5,)) * (1 + i) for i in range(12)]
  decay, eps = 0.9, 0.1
  tx = (
    oj.scale_by_rms_torch(decay, eps, centered)
    if torch_style
    else oj.scale_by_rms_paddle(decay, eps, centered)
  )
  want = _reference(grads, decay, eps, centered, eps_in_sqrt=not torch_style)
  with jax.enable_x64(True):
    state = tx.init(jnp.zeros(5, jnp.float64))
    for g, w in zip(grads, want, strict=True):
      u, state = tx.update(jnp.asarray(g), state)
      np.testing.assert_allclose(np.asarray(u), w, rtol=1e-14)


def test_only_buffers_in_use():
  p = {"a": jnp.zeros(3)}
  assert oj.scale_by_rms_paddle().init(p).mg is None
  assert oj.scale_by_rms_paddle(centered=True).init(p).mg is not None
  assert oj.scale_by_rms_torch().init(p).grad_avg is None


def test_eps_placement_differs():
  g = jnp.array([1e-3])
  inside = oj.scale_by_rms_paddle(rho=0.0, epsilon=1e-4)
  outside = oj.scale_by_rms_torch(alpha=0.0, eps=1e-4)
  u_in, _ = inside.update(g, inside.init(g))
  u_out, _ = outside.update(g, outside.init(g))
  np.testing.assert_allclose(u_in, 1e-3 / np.sqrt(1e-6 + 1e-4), rtol=1e-6)
  np.testing.assert_allclose(u_out, 1e-3 / (1e-3 + 1e-4), rtol=1e-6)


def test_state_dtype_option():
  tx = oj.scale_by_rms_paddle(state_dtype=jnp.float32)
  state = tx.init(jnp.zeros(3, jnp.bfloat16))
  assert state.ms.dtype == jnp.float32
  u, state = tx.update(jnp.ones(3, jnp.bfloat16), state)
  assert u.dtype == jnp.bfloat16 and state.ms.dtype == jnp.float32


@pytest.mark.parametrize("bad", [dict(rho=-0.1), dict(rho=1.5), dict(epsilon=-1.0)])
def test_paddle_rejects(bad):
  with pytest.raises(ValueError, match=next(iter(bad))):
    oj.scale_by_rms_paddle(**bad)


@pytest.mark.parametrize("bad", [dict(alpha=-0.1), dict(alpha=1.01), dict(eps=-1e-8)])
def test_torch_rejects(bad):
  with pytest.raises(ValueError, match=next(iter(bad))):
    oj.scale_by_rms_torch(**bad)


@given(
  g=st.lists(st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False, width=32), min_size=1, max_size=8),
  rho=st.floats(0.0, 0.999),
)
def test_first_step_magnitude_bounded(g, rho):
  """After one step |u| = |g| / sqrt((1-rho) g^2 + eps) <= 1/sqrt(1-rho)."""
  g = jnp.asarray(g, jnp.float32)
  tx = oj.scale_by_rms_paddle(rho=rho, epsilon=1e-6)
  u, _ = tx.update(g, tx.init(g))
  assert bool(jnp.all(jnp.abs(u) <= 1.0 / np.sqrt(1.0 - rho) * (1 + 1e-5)))
