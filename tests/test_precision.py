"""multi_precision: float32 master weights for bfloat16 / float16 parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

import optim_jax as oj

INNERS = {
  "torch.radam": lambda: oj.torch.radam(lr=1e-2, weight_decay=1e-2),
  "paddle.asgd": lambda: oj.paddle.asgd(learning_rate=1e-2, batch_num=3, weight_decay=1e-2),
  "torch.rmsprop": lambda: oj.torch.rmsprop(lr=1e-3, momentum=0.9),
  "paddle.radam": lambda: oj.paddle.radam(
    learning_rate=1e-2, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0)
  ),
}


def _grads(step, shape=(64,)):
  return jax.random.normal(jax.random.key(step), shape)


@pytest.mark.parametrize("name", list(INNERS))
@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16], ids=["bf16", "f16"])
def test_master_equals_float32_run_and_params_land_on_it(name, dtype):
  steps = 150
  p0 = jax.random.normal(jax.random.key(0), (64,)).astype(dtype)
  inner = INNERS[name]()
  tx = oj.multi_precision(INNERS[name]())

  @jax.jit
  def step_mp(p, s, g):
    u, s = tx.update(g, s, p)
    assert u.dtype == dtype
    return optax.apply_updates(p, u), s

  @jax.jit
  def step_f32(p, s, g):
    u, s = inner.update(g, s, p)
    return optax.apply_updates(p, u), s

  p, s = p0, tx.init(p0)
  q = p0.astype(jnp.float32)
  r = inner.init(q)
  ulp = 2.0 ** -(jnp.finfo(dtype).nmant)
  misses = 0
  for k in range(steps):
    g = _grads(k).astype(dtype)  # the same low-precision gradients for both runs
    old = np.asarray(p, np.float64)
    p, s = step_mp(p, s, g)
    q, r = step_f32(q, r, g.astype(jnp.float32))
    np.testing.assert_array_equal(np.asarray(s.master), np.asarray(q))  # bit for bit
    target = np.asarray(s.master.astype(dtype), np.float64)
    got = np.asarray(p, np.float64)
    # exact wherever the new value is within a factor 2 of the old one (Sterbenz) ...
    sterbenz = (old * target > 0) & (np.abs(target) <= 2 * np.abs(old)) & (np.abs(old) <= 2 * np.abs(target))
    sterbenz |= (old == 0) | (target == 0)
    np.testing.assert_array_equal(got[sterbenz], target[sterbenz])
    # ... and within one rounding elsewhere (zero crossings, large relative steps)
    assert np.all(np.abs(got - target) <= ulp * np.maximum(np.abs(old), np.abs(target)))
    misses += int(np.sum(got != target))
  assert misses <= 0.01 * steps * p0.size


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16], ids=["bf16", "f16"])
def test_any_inner_gives_the_float32_trajectory(dtype):
  """Eagerly (no jit, so no fusion differences) optax.adam's master is its float32 run, bit for bit."""
  p = jax.random.normal(jax.random.key(0), (16,)).astype(dtype)
  inner, tx = optax.adam(1e-3), oj.multi_precision(optax.adam(1e-3))
  s, q = tx.init(p), p.astype(jnp.float32)
  r = inner.init(q)
  for k in range(20):
    g = _grads(k, (16,)).astype(dtype)
    u, s = tx.update(g, s, p)
    p = optax.apply_updates(p, u)
    v, r = inner.update(g.astype(jnp.float32), r, q)
    q = optax.apply_updates(q, v)
    np.testing.assert_array_equal(np.asarray(s.master), np.asarray(q))


def test_landing_is_exact_within_a_factor_two():
  """Sterbenz: round(w) - p is representable whenever round(w) is within [p/2, 2p]."""
  for dtype in (jnp.bfloat16, jnp.float16):
    rng = np.random.default_rng(0)
    p = jnp.asarray(rng.normal(size=20000), dtype)
    factor = jnp.asarray(rng.uniform(0.5, 2.0, size=20000), jnp.float32)
    target = (p.astype(jnp.float32) * factor).astype(dtype)
    u = (target.astype(jnp.float32) - p.astype(jnp.float32)).astype(dtype)
    np.testing.assert_array_equal(np.asarray(optax.apply_updates(p, u)), np.asarray(target))


def test_a_zero_crossing_lands_within_one_rounding_and_recovers():
  """A step larger than the parameter may land one rounding off; the next update re-targets the master."""
  p = jnp.asarray([1.0], jnp.bfloat16)
  tx = oj.multi_precision(optax.sgd(1.0))
  s = tx.init(p)
  u, s = tx.update(jnp.asarray([1.01171875], jnp.bfloat16), s, p)  # 1 - 1.01171875: not a bf16 step
  p = optax.apply_updates(p, u)
  target = s.master.astype(jnp.bfloat16)
  assert abs(float(p[0]) - float(target[0])) <= 2.0**-8 * 1.02
  u, s = tx.update(jnp.asarray([0.0], jnp.bfloat16), s, p)
  p = optax.apply_updates(p, u)
  assert float(p[0]) == float(s.master.astype(jnp.bfloat16)[0])


def test_float32_parameters_pass_through():
  params = {"a": jnp.ones(3), "i": jnp.arange(3)}
  inner = oj.torch.radam(lr=0.1)
  tx = oj.multi_precision(oj.torch.radam(lr=0.1))
  s = tx.init(params)
  assert s.master == {"a": None, "i": None}
  g = {"a": jnp.array([0.1, -0.2, 0.3]), "i": jnp.zeros(3, jnp.int32)}
  u1, _ = tx.update(g, s, params)
  u2, _ = inner.update(g, inner.init(params), params)
  jax.tree.map(np.testing.assert_array_equal, u1, u2)


def test_mixed_tree_and_float64_master():
  params = {"h": jnp.ones(2, jnp.float16), "f": jnp.ones(2, jnp.float32), "n": None}
  s = oj.multi_precision(optax.sgd(0.1)).init(params)
  assert s.master["h"].dtype == jnp.float32 and s.master["f"] is None and s.master["n"] is None
  with jax.enable_x64(True):
    s = oj.multi_precision(optax.sgd(0.1), master_dtype=jnp.float64).init(params)
    assert s.master["h"].dtype == jnp.float64 and s.master["f"].dtype == jnp.float64


def test_extra_args_reach_the_inner_transformation():
  p = jnp.ones(2, jnp.bfloat16)
  tx = oj.multi_precision(oj.sag_average(3))
  s = tx.init(p)
  _, s = tx.update(jnp.ones(2, jnp.bfloat16), s, p, index=2)
  np.testing.assert_array_equal(np.asarray(s.inner_state.y[2]), [1.0, 1.0])


def test_needs_params_and_a_float_master():
  tx = oj.multi_precision(optax.sgd(0.1))
  with pytest.raises(ValueError):
    tx.update(jnp.ones(2), tx.init(jnp.ones(2)))
  with pytest.raises(ValueError, match="master_dtype"):
    oj.multi_precision(optax.sgd(0.1), master_dtype=jnp.int32)


@given(st.floats(-100, 100, allow_subnormal=False), st.floats(0.55, 1.9))
def test_property_small_steps_land_exactly(x, factor):
  p = jnp.asarray([x], jnp.bfloat16)
  tx = oj.multi_precision(optax.sgd(1.0))
  s = tx.init(p)
  xp = float(p[0])  # a step that moves the master from p to about p * factor
  g = jnp.asarray([xp - xp * factor], jnp.float32).astype(jnp.bfloat16)
  u, s = tx.update(g, s, p)
  assert float(optax.apply_updates(p, u)[0]) == float(s.master.astype(jnp.bfloat16)[0])
