"""oj.param_ema, oj.ema_params and the Keras EMA options (use_ema, ema_momentum, ema_overwrite_frequency)."""

from __future__ import annotations

import inspect

import chex
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from optim_jax._keras_common import ema_args as keras_ema_args


def _sgd_run(tx, grads, p0=0.0):
  """Runs tx after sgd(1.0); returns the params and the average after every step."""
  params = jnp.asarray([p0], jnp.float32)
  state = tx.init(params)
  ps, avgs = [], []
  for g in grads:
    updates, state = tx.update(jnp.asarray([g], jnp.float32), state, params)
    params = optax.apply_updates(params, updates)
    ps.append(float(params[0]))
    avgs.append(float(oj.ema_params(state)[0]))
  return ps, avgs


def test_small_example_by_hand():
  # p0 = 0, steps of +1, m = 0.5, overwrite after update 2.
  # tf_keras: a1 = .5*0 + .5*1 = .5; a2 = .5*.5 + .5*2 = 1.25 -> p2 = 1.25; p3 = 2.25, a3 = 1.75.
  # Keras 3:  a1 = p1 = 1;          a2 = .5*1 + .5*2 = 1.5    -> p2 = 1.5;  p3 = 2.5,  a3 = 2.0.
  for warm, want_p, want_a in (
    (False, [1, 1.25, 2.25], [0.5, 1.25, 1.75]),
    (True, [1, 1.5, 2.5], [1, 1.5, 2.0]),
  ):
    tx = optax.chain(optax.sgd(1.0), oj.param_ema(0.5, 2, warm_start=warm))
    ps, avgs = _sgd_run(tx, [-1.0] * 3)
    np.testing.assert_allclose(ps, want_p, rtol=0, atol=0)
    np.testing.assert_allclose(avgs, want_a, rtol=0, atol=0)


def _keras_reference(grads, p0, base, momentum, frequency, warm_start):
  """Section 6 in float64: step with `base` (no EMA), then the Keras EMA and overwrite rules."""
  params = jnp.asarray(p0)
  state = base.init(params)
  avg = np.asarray(p0, np.float64)
  ps, avgs = [], []
  for t, g in enumerate(grads):  # t = iterations before the update
    updates, state = base.update(jnp.asarray(g), state, params)
    params = optax.apply_updates(params, updates)
    p = np.asarray(params, np.float64)
    m = 0.0 if (warm_start and t == 0) else momentum
    avg = m * avg + (1 - m) * p
    if frequency and (t + 1) % frequency == 0:
      params = jnp.asarray(avg, jnp.float32)
    ps.append(np.asarray(params, np.float64))
    avgs.append(avg)
  return ps, avgs


@pytest.mark.parametrize("module", [oj.tf_keras, oj.keras], ids=["tf_keras", "keras3"])
@pytest.mark.parametrize("frequency", [None, 1, 3])
def test_keras_presets_follow_the_keras_ema_loop(module, frequency):
  rng = np.random.default_rng(0)
  grads = rng.normal(size=(12, 5)).astype(np.float32)
  p0 = rng.normal(size=5).astype(np.float32)
  lr = optax.exponential_decay(0.05, 1, 0.9)
  kw = dict(learning_rate=lr, momentum=0.5, rho=0.8)
  base = module.rmsprop(**kw)
  tx = module.rmsprop(**kw, use_ema=True, ema_momentum=0.7, ema_overwrite_frequency=frequency)
  want_p, want_a = _keras_reference(grads, p0, base, 0.7, frequency, warm_start=module is oj.keras)
  params, state = jnp.asarray(p0), tx.init(jnp.asarray(p0))
  step = jax.jit(tx.update)
  for g, wp, wa in zip(grads, want_p, want_a, strict=True):
    updates, state = step(jnp.asarray(g), state, params)
    params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(params, wp, rtol=0, atol=1e-6 * np.abs(wp).max())
    np.testing.assert_allclose(oj.ema_params(state), wa, rtol=0, atol=1e-6 * np.abs(wa).max())


def test_overwrite_after_updates_f_2f_and_update_moves_onto_average():
  tx = optax.chain(optax.sgd(0.1), oj.param_ema(0.9, 3))
  params = jnp.linspace(-1.0, 1.0, 7)
  state = tx.init(params)
  step = jax.jit(tx.update)
  rng = np.random.default_rng(1)
  for t in range(1, 10):
    updates, state = step(jnp.asarray(rng.normal(size=7), jnp.float32), state, params)
    params = optax.apply_updates(params, updates)
    on_avg = bool(jnp.allclose(params, oj.ema_params(state), rtol=0, atol=1e-6))
    assert on_avg == (t % 3 == 0), t
  assert int(state[1].count) == 9 and state[1].count.dtype == jnp.int32


def test_no_overwrite_passes_updates_through():
  tx = oj.param_ema(0.9)
  params = jnp.ones(3)
  u = jnp.array([0.1, -0.2, 0.3])
  out, state = tx.update(u, tx.init(params), params)
  assert out is u
  np.testing.assert_allclose(state.ema, 0.9 * params + 0.1 * (params + u), rtol=1e-6)


def test_initial_average_is_a_copy_of_the_params():
  params = {"w": jnp.arange(3.0), "b": jnp.asarray(2.0)}
  state = oj.param_ema(0.9).init(params)
  chex.assert_trees_all_equal(state.ema, params)
  assert state.ema["w"] is not params["w"]
  chex.assert_trees_all_equal(oj.ema_params(state), params)


def test_requires_params():
  tx = oj.param_ema()
  with pytest.raises(ValueError, match="params"):
    tx.update(jnp.ones(2), tx.init(jnp.ones(2)))


def test_state_dtype_float32_for_bfloat16_params():
  # p: 1 -> 2 after one step, m = 0.999: a1 = 1.001, which bfloat16 rounds back to 1.0.
  averages = {}
  for state_dtype in (None, jnp.float32):
    params = jnp.ones(4, jnp.bfloat16)
    tx = optax.chain(optax.sgd(1.0), oj.param_ema(0.999, state_dtype=state_dtype))
    with jax.numpy_dtype_promotion("strict"):
      updates, state = tx.update(-jnp.ones(4, jnp.bfloat16), tx.init(params), params)
    assert updates.dtype == jnp.bfloat16
    averages[state_dtype] = oj.ema_params(state)
  assert averages[None].dtype == jnp.bfloat16
  np.testing.assert_array_equal(averages[None], 1.0)
  assert averages[jnp.float32].dtype == jnp.float32
  np.testing.assert_allclose(averages[jnp.float32], 1.001, rtol=1e-6)


def test_injected_frequency_and_momentum():
  base = optax.chain(optax.sgd(1.0), oj.param_ema(0.5, 2))
  inj = optax.chain(
    optax.sgd(1.0), optax.inject_hyperparams(oj.param_ema)(momentum=0.5, overwrite_frequency=2)
  )
  assert _sgd_run(inj, [-1.0] * 5) == _sgd_run(base, [-1.0] * 5)
  # an injected frequency of 0 never overwrites (tf_keras's falsy 0)
  off = optax.chain(
    optax.sgd(1.0), optax.inject_hyperparams(oj.param_ema)(momentum=0.5, overwrite_frequency=0)
  )
  assert _sgd_run(off, [-1.0] * 5)[0] == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_momentum_schedule_is_evaluated_at_the_ema_count():
  sched = lambda count: jnp.where(count < 1, 0.0, 0.5)
  assert _sgd_run(optax.chain(optax.sgd(1.0), oj.param_ema(sched)), [-1.0] * 3) == _sgd_run(
    optax.chain(optax.sgd(1.0), oj.param_ema(0.5, warm_start=True)), [-1.0] * 3
  )


def test_serialization_round_trip():
  tx = optax.chain(optax.sgd(1.0), oj.param_ema(0.5, 2))
  params = jnp.ones(3)
  state = tx.update(jnp.ones(3), tx.init(params), params)[1]
  restored = flax.serialization.from_bytes(tx.init(params), flax.serialization.to_bytes(state))
  chex.assert_trees_all_equal(restored, state)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_param_ema_validation(bad):
  with pytest.raises(ValueError, match="momentum"):
    oj.param_ema(bad)
  with pytest.raises(ValueError, match="overwrite_frequency"):
    oj.param_ema(0.9, 0)
  with pytest.raises(TypeError, match="overwrite_frequency"):
    oj.param_ema(0.9, 2.0)
  with pytest.raises(TypeError, match="overwrite_frequency"):
    oj.param_ema(0.9, True)


# --- ema_params: found anywhere -------------------------------------------------------------------


def test_ema_params_found_in_wrapped_states():
  params = {"w": jnp.arange(3.0)}
  wrapped = [
    optax.chain(optax.sgd(0.1), oj.param_ema(0.9)),
    optax.inject_hyperparams(oj.keras.rmsprop)(learning_rate=0.1, use_ema=True),
    optax.MultiSteps(oj.tf_keras.rmsprop(use_ema=True), every_k_schedule=2),
    optax.apply_if_finite(optax.chain(optax.sgd(0.1), oj.param_ema(0.9)), 3),
    optax.masked(optax.chain(optax.sgd(0.1), oj.param_ema(0.9)), {"w": True}),
  ]
  for tx in wrapped:
    chex.assert_trees_all_equal(oj.ema_params(tx.init(params)), params)
  state = oj.averaged_sgd().init(params)
  assert oj.ema_params((optax.EmptyState(), state)) is state.ax


def test_ema_params_none_or_two():
  with pytest.raises(ValueError, match="no parameter averages"):
    oj.ema_params(optax.sgd(0.1).init(jnp.ones(2)))
  two = optax.chain(oj.param_ema(), oj.param_ema())
  with pytest.raises(ValueError, match="2 parameter averages"):
    oj.ema_params(two.init(jnp.ones(2)))


def test_finalize_one_liner():
  tx = oj.keras.rmsprop(0.1, use_ema=True, ema_momentum=0.9)
  params = jnp.ones(3)
  state = tx.init(params)
  for _ in range(4):
    updates, state = tx.update(jnp.array([1.0, -1.0, 0.5]), state, params)
    params = optax.apply_updates(params, updates)
  params = oj.ema_params(state)  # Keras's finalize_variable_values
  assert not bool(jnp.all(params == optax.apply_updates(jnp.ones(3), updates)))


# --- the Keras arguments --------------------------------------------------------------------------


def test_keras_defaults():
  assert inspect.signature(oj.tf_keras.rmsprop).parameters["ema_overwrite_frequency"].default == 100
  assert inspect.signature(oj.keras.rmsprop).parameters["ema_overwrite_frequency"].default is None
  for module in (oj.tf_keras, oj.keras):
    sig = inspect.signature(module.rmsprop).parameters
    assert sig["use_ema"].default is False and sig["ema_momentum"].default == 0.99


def test_tf_keras_default_frequency_overwrites_after_update_100():
  tx = oj.tf_keras.rmsprop(0.01, use_ema=True)

  def body(carry, g):
    params, state = carry
    updates, state = tx.update(g, state, params)
    params = optax.apply_updates(params, updates)
    return (params, state), jnp.allclose(params, oj.ema_params(state), rtol=0, atol=1e-6)

  params = jnp.ones(2)
  grads = jnp.tile(jnp.array([1.0, -2.0]), (200, 1))
  _, on_avg = jax.lax.scan(body, (params, tx.init(params)), grads)
  assert np.flatnonzero(np.asarray(on_avg)).tolist() == [99, 199]


@pytest.mark.parametrize("keras3", [False, True])
def test_keras_ema_validation(keras3):
  module = oj.keras if keras3 else oj.tf_keras
  for bad in (-0.01, 1.01):
    with pytest.raises(ValueError, match="ema_momentum"):
      module.rmsprop(use_ema=True, ema_momentum=bad)
    module.rmsprop(use_ema=False, ema_momentum=bad)  # only checked when use_ema
  for bad in (-1, 2.0, np.int64(3), "3"):
    with pytest.raises(ValueError, match="ema_overwrite_frequency"):
      module.rmsprop(use_ema=True, ema_overwrite_frequency=bad)
  # accepted: 0 and None mean no overwrite; 1 (tf_keras's message says "> 1", 1 works)
  assert keras_ema_args(0.5, 0, keras3=keras3) == (0.5, None)
  assert keras_ema_args(0.5, None, keras3=keras3) == (0.5, None)
  assert keras_ema_args(0.0, 1, keras3=keras3) == (0.0, 1)
  assert keras_ema_args(1.0, 7, keras3=keras3) == (1.0, 7)


def test_keras_ema_momentum_one_keeps_initial_params_tf_keras_only():
  # m = 1: tf_keras's average stays at p0; Keras 3's is p1 (its first update forces m = 0).
  p0 = jnp.ones(2)
  for module, want in ((oj.tf_keras, p0), (oj.keras, None)):
    tx = module.rmsprop(0.1, use_ema=True, ema_momentum=1.0, ema_overwrite_frequency=None)
    params, state = p0, tx.init(p0)
    for _ in range(3):
      updates, state = tx.update(jnp.ones(2), state, params)
      params = optax.apply_updates(params, updates)
      if want is None:
        want = params
    chex.assert_trees_all_equal(oj.ema_params(state), want)


def test_ema_params_reads_torch_asgd_average():
  tx = optax.chain(oj.torch.clip_grad_norm(10.0), oj.torch.asgd(0.1, t0=0))
  params = jnp.ones(3)
  state = tx.init(params)
  for _ in range(3):
    updates, state = tx.update(jnp.array([1.0, -1.0, 0.5]), state, params)
    params = optax.apply_updates(params, updates)
  avg = oj.ema_params(state)
  assert avg.shape == (3,)
  assert not bool(jnp.all(avg == params))  # the Polyak average, not the parameters
