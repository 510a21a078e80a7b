"""Clipping primitives: formulas, framework edge cases, masks."""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

import optim_jax as oj


def _apply(tx, g, params=None):
  return tx.update(g, tx.init(g if params is None else params), params)[0]


def test_clip_by_value_asymmetric_and_inverted():
  g = jnp.array([-2.0, -0.5, 0.5, 2.0, jnp.nan, jnp.inf])
  out = _apply(oj.clip_by_value(-1.0, 0.25), g)
  np.testing.assert_array_equal(out[:4], [-1.0, -0.5, 0.25, 0.25])
  assert np.isnan(out[4]) and out[5] == 0.25
  # min > max: every element becomes max, as torch.clamp_min(-v).clamp_max(v) with v < 0 does.
  np.testing.assert_array_equal(_apply(oj.clip_by_value(0.5, -0.5), jnp.arange(3.0)), [-0.5] * 3)


def test_clip_by_norm_is_per_leaf():
  g = {"a": jnp.array([3.0, 4.0]), "b": jnp.array([0.3, 0.4])}
  out = _apply(oj.clip_by_norm(1.0), g)
  np.testing.assert_allclose(out["a"], [0.6, 0.8], rtol=1e-6)
  np.testing.assert_array_equal(out["b"], g["b"])  # below the limit: unchanged
  np.testing.assert_array_equal(_apply(oj.clip_by_norm(1.0), jnp.zeros(3)), jnp.zeros(3))
  inf = _apply(oj.clip_by_norm(1.0), jnp.array([1.0, jnp.inf]))
  assert inf[0] == 0.0 and np.isnan(inf[1])


def test_clip_by_block_rms_is_not_the_norm_clip():
  g = jnp.array([3.0, 4.0])
  assert not np.allclose(_apply(optax.clip_by_block_rms(1.0), g), _apply(oj.clip_by_norm(1.0), g))


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, float("inf")])
def test_global_norm_p(p):
  rng = np.random.default_rng(1)
  g = {"a": rng.normal(size=(3, 2)).astype(np.float32), "b": rng.normal(size=(4,)).astype(np.float32)}
  flat = np.concatenate([g["a"].ravel(), g["b"]]).astype(np.float64)
  want = np.max(np.abs(flat)) if np.isinf(p) else np.sum(np.abs(flat) ** p) ** (1 / p)
  np.testing.assert_allclose(oj._clipping.global_norm(g, p), want, rtol=1e-6)
  out = _apply(oj.clip_by_global_norm(0.5, norm_type=p), g)
  np.testing.assert_allclose(oj._clipping.global_norm(out, p), 0.5, rtol=1e-5)


def test_torch_eps_coefficient():
  # total = 2e-7, max = 1e-7: coef = 1e-7 / (2e-7 + 1e-6) = 0.0833..., not 0.5 (torch adds 1e-6 to the norm).
  g = jnp.array([2e-7], jnp.float32)
  out = _apply(oj.clip_by_global_norm(1e-7, eps=1e-6), g)
  np.testing.assert_allclose(out, 2e-7 * (1e-7 / (2e-7 + 1e-6)), rtol=1e-5)
  # Below the limit the coefficient is exactly 1.
  np.testing.assert_array_equal(
    _apply(oj.clip_by_global_norm(10.0, eps=1e-6), jnp.array([1.0, 2.0])), [1.0, 2.0]
  )


def test_global_clip_mask_excludes_leaf_from_norm():
  g = {"a": jnp.array([3.0, 4.0]), "b": jnp.array([100.0])}
  out = _apply(oj.clip_by_global_norm(1.0, mask={"a": True, "b": False}), g)
  np.testing.assert_allclose(out["a"], [0.6, 0.8], rtol=1e-6)
  np.testing.assert_array_equal(out["b"], g["b"])


def test_error_if_nonfinite_eager_and_jit():
  tx = oj.clip_by_global_norm(1.0, error_if_nonfinite=True)
  g = jnp.array([1.0, jnp.inf])
  with pytest.raises(RuntimeError, match="non-finite"):
    _apply(tx, g)
  with pytest.raises(Exception, match="non-finite"):
    jax.block_until_ready(jax.jit(lambda g: tx.update(g, tx.init(g))[0])(g))
  # finite gradients pass under jit
  jax.block_until_ready(jax.jit(lambda g: tx.update(g, tx.init(g))[0])(jnp.ones(2)))


@pytest.mark.parametrize("bad", [dict(norm_type=0.0), dict(norm_type=-1.0), dict(nonfinite="bogus")])
def test_global_clip_rejects(bad):
  with pytest.raises(ValueError):
    oj.clip_by_global_norm(1.0, **bad)


def test_clip_by_norm_rejects_nonpositive():
  with pytest.raises(ValueError, match="max_norm"):
    oj.clip_by_norm(0.0)


@given(
  st.lists(st.floats(-1e4, 1e4, allow_nan=False, allow_subnormal=False, width=32), min_size=1, max_size=16),
  st.floats(1e-3, 1e3),
)
def test_global_clip_bounds_the_norm(g, c):
  # Subnormals are excluded: XLA on CPU flushes them to zero.
  g = jnp.asarray(g, jnp.float32)
  out = _apply(oj.clip_by_global_norm(c), g)
  assert float(jnp.linalg.norm(out)) <= c * (1 + 1e-5) + 1e-30
  n = float(jnp.linalg.norm(g))
  if n <= c:
    chex.assert_trees_all_close(out, g, rtol=1e-6)
