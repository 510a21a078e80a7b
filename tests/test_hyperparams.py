"""oj.get_lr / oj.set_lr on injected states, and oj.inject_hyperparams's float32 hyperparameters."""

from __future__ import annotations

import inspect

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from tests import registry


def _step(tx, state, params, g=1.0):
  updates, state = tx.update(jnp.full_like(params, g), state, params)
  return optax.apply_updates(params, updates), state


WRAPPED = {
  "bare": lambda inner: inner,
  "chain": lambda inner: optax.chain(optax.clip(10.0), inner, optax.identity()),
  "masked": lambda inner: optax.masked(inner, lambda p: jax.tree.map(lambda _: True, p)),
  "multi_steps": lambda inner: optax.MultiSteps(inner, every_k_schedule=1),
  "apply_if_finite": lambda inner: optax.apply_if_finite(inner, 3),
}


@pytest.mark.parametrize("wrap", WRAPPED.values(), ids=WRAPPED.keys())
def test_get_and_set_found_anywhere(wrap):
  tx = wrap(optax.inject_hyperparams(oj.paddle.rmsprop)(learning_rate=0.1, momentum=0.9))
  params = jnp.ones(3)
  state = tx.init(params)
  np.testing.assert_allclose(oj.get_lr(state), 0.1, rtol=1e-7)
  new = oj.set_lr(state, 0.025)
  np.testing.assert_allclose(oj.get_lr(new), 0.025, rtol=1e-7)
  np.testing.assert_allclose(oj.get_lr(state), 0.1, rtol=1e-7)  # a copy: the old state is unchanged
  assert jax.tree.structure(new) == jax.tree.structure(state)
  # the next update uses the new rate: same as an optimizer built with it
  ref = wrap(optax.inject_hyperparams(oj.paddle.rmsprop)(learning_rate=0.025, momentum=0.9))
  chex.assert_trees_all_close(_step(tx, new, params)[0], _step(ref, ref.init(params), params)[0], rtol=1e-6)


def test_torch_preset_lr_name():
  tx = oj.inject_hyperparams(oj.torch.rmsprop)(lr=0.01, momentum=0.9)
  state = oj.set_lr(tx.init(jnp.zeros(2)), 0.5)
  assert float(oj.get_lr(state)) == 0.5
  assert float(oj.get_lr(state, name="momentum")) == np.float32(0.9)


def test_set_lr_does_not_recompile():
  tx = optax.inject_hyperparams(oj.keras.rmsprop)(learning_rate=0.01, momentum=0.9)
  traces = []

  @jax.jit
  def train_step(params, state):
    traces.append(None)
    updates, state = tx.update(params - 3.0, state, params)  # grad of 0.5 * (p - 3)^2
    return optax.apply_updates(params, updates), state

  params = jnp.zeros(4)
  state = tx.init(params)
  lrs = []
  for i, lr in enumerate([0.1, 0.05, 1e-3, 2.0, np.float64(0.3), jnp.float32(0.2)]):
    state = oj.set_lr(state, lr)
    params, state = train_step(params, state)
    lrs.append(float(oj.get_lr(state)))
    assert len(traces) == 1, f"recompiled at step {i}"
  np.testing.assert_allclose(lrs, [0.1, 0.05, 1e-3, 2.0, 0.3, 0.2], rtol=1e-7)


def test_under_jit():
  tx = optax.chain(optax.clip(1.0), optax.inject_hyperparams(optax.sgd)(learning_rate=0.1))
  params = jnp.ones(2)

  @jax.jit
  def halve_and_step(params, state):
    state = oj.set_lr(state, oj.get_lr(state) / 2)
    updates, state = tx.update(jnp.ones(2), state, params)
    return optax.apply_updates(params, updates), state

  params, state = halve_and_step(params, tx.init(params))
  params, state = halve_and_step(params, state)
  np.testing.assert_allclose(params, 1 - 0.05 - 0.025, rtol=1e-6)
  np.testing.assert_allclose(oj.get_lr(state), 0.025, rtol=1e-7)


def test_scheduled_learning_rate():
  sched = optax.exponential_decay(1.0, 1, 0.5)
  tx = optax.inject_hyperparams(optax.sgd)(learning_rate=sched)
  params = jnp.zeros(1)
  state = tx.init(params)
  assert float(oj.get_lr(state)) == 1.0  # schedule(0) before any update
  params, state = _step(tx, state, params)
  params, state = _step(tx, state, params)
  assert float(oj.get_lr(state)) == 0.5  # the value used by the most recent update
  with pytest.raises(ValueError, match="schedule"):
    oj.set_lr(state, 0.1)


def test_errors():
  params = jnp.zeros(2)
  with pytest.raises(ValueError, match="no injected learning rates"):
    oj.get_lr(oj.keras.rmsprop().init(params))
  two = optax.chain(
    optax.inject_hyperparams(optax.sgd)(learning_rate=0.1),
    optax.inject_hyperparams(optax.sgd)(learning_rate=0.2),
  )
  with pytest.raises(ValueError, match="2 injected learning rates"):
    oj.set_lr(two.init(params), 0.1)
  assert float(oj.get_lr(two.init(params)[1])) == np.float32(0.2)  # pick the sub-state
  state = optax.inject_hyperparams(optax.sgd)(learning_rate=0.1).init(params)
  with pytest.raises(TypeError, match="schedule"):
    oj.set_lr(state, lambda count: 0.1)
  with pytest.raises(ValueError, match="shape"):
    oj.set_lr(state, jnp.ones(2))
  int_state = optax.inject_hyperparams(optax.sgd)(learning_rate=1).init(params)
  with pytest.raises(TypeError, match="float"):
    oj.set_lr(int_state, 0.5)


# --- oj.inject_hyperparams ------------------------------------------------------------------------


def test_optax_rounds_hyperparameters_to_bfloat16_ours_keeps_float32():
  params = jnp.zeros(3, jnp.bfloat16)
  theirs = optax.inject_hyperparams(oj.keras.rmsprop)(learning_rate=1e-3, rho=0.999).init(params)
  ours = oj.inject_hyperparams(oj.keras.rmsprop)(learning_rate=1e-3, rho=0.999).init(params)
  assert float(theirs.hyperparams["rho"]) == 1.0  # the problem: 0.999 in bfloat16
  for name, value in (("rho", 0.999), ("learning_rate", 1e-3), ("epsilon", 1e-7)):
    assert ours.hyperparams[name].dtype == jnp.float32
    assert float(ours.hyperparams[name]) == np.float32(value)


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16, jnp.float32])
def test_injected_matches_plain_preset(dtype):
  sched = lambda count: 0.01 * 0.8 ** count.astype(jnp.float32)  # optax's schedules are not strict-safe
  kw = dict(rho=0.999, momentum=0.9, weight_decay=0.01)
  plain = oj.keras.rmsprop(sched, **kw)
  injected = oj.inject_hyperparams(oj.keras.rmsprop)(sched, **kw)
  params = jnp.linspace(-1, 1, 6).astype(dtype)
  p1 = p2 = params
  s1, s2 = plain.init(params), injected.init(params)
  with jax.numpy_dtype_promotion("strict"):
    for i in range(5):
      g = jnp.sin(jnp.arange(6.0) + i).astype(dtype)
      u1, s1 = plain.update(g, s1, p1)
      u2, s2 = injected.update(g, s2, p2)
      assert u2.dtype == dtype
      chex.assert_trees_all_close(u1, u2, rtol=1e-6, atol=0)
      p1, p2 = optax.apply_updates(p1, u1), optax.apply_updates(p2, u2)


def test_inject_dtype_override_and_float64_params():
  with jax.enable_x64(True):
    state = oj.inject_hyperparams(optax.sgd)(learning_rate=0.1).init(jnp.zeros(2, jnp.float64))
    assert state.hyperparams["learning_rate"].dtype == jnp.float64
    state = oj.inject_hyperparams(optax.sgd, hyperparam_dtype=jnp.float32)(0.1).init(
      jnp.zeros(2, jnp.float64)
    )
    assert state.hyperparams["learning_rate"].dtype == jnp.float32


def test_inject_binds_arguments_at_construction():
  with pytest.raises(TypeError):
    oj.inject_hyperparams(oj.keras.rmsprop)(not_an_argument=1.0)


@pytest.mark.parametrize("entry", [e for e in registry.ENTRIES if e.hyperparams], ids=lambda e: e.name)
def test_every_factory_under_oj_inject_hyperparams_bfloat16(entry):
  """Float hyperparameters stay float32 for bfloat16 params, and the updates match the plain factory."""
  static = tuple(k for k in inspect.signature(entry.factory).parameters if k not in entry.hyperparams)
  injected = oj.inject_hyperparams(entry.factory, static_args=static)(**entry.kwargs)
  plain = entry.make()
  params = {
    "w": jnp.linspace(-1, 1, 6, dtype=jnp.bfloat16).reshape(2, 3),
    "s": jnp.asarray(0.5, jnp.bfloat16),
  }
  s1, s2 = plain.init(params), injected.init(params)
  for name in entry.hyperparams:
    value = s2.hyperparams[name]
    if jnp.issubdtype(value.dtype, jnp.floating):
      assert value.dtype == jnp.float32, name
  with jax.numpy_dtype_promotion("strict"):
    for i in range(3):
      g = jax.tree.map(
        lambda p, i=i: (jnp.cos(p.astype(jnp.float32) * 3 + i) * (i + 1)).astype(p.dtype), params
      )
      u1, s1 = plain.update(g, s1, params, **entry.extra_args)
      u2, s2 = injected.update(g, s2, params, **entry.extra_args)
      chex.assert_trees_all_equal_dtypes(u1, g)
      chex.assert_trees_all_close(u1, u2, rtol=1e-6, atol=0)
      params = optax.apply_updates(params, u1)


def test_get_lr_reads_reduce_on_plateau_and_set_lr_refuses_it():
  """Paddle's get_lr() under ReduceOnPlateau is its last_lr; set_lr of a scheduler's rate is refused."""
  tx = optax.chain(oj.paddle.rmsprop(1.0), oj.schedules.reduce_on_plateau(0.1, factor=0.5, patience=0))
  params = jnp.zeros(2)
  state = tx.init(params)
  assert float(oj.get_lr(state)) == pytest.approx(0.1)
  update = jax.jit(tx.update)
  for metric in (1.0, 2.0):  # no better: the rate halves after the second epoch
    _, state = update(jnp.ones(2), state, params, metric=metric)
  assert float(oj.get_lr(state)) == pytest.approx(0.05)
  with pytest.raises(ValueError, match="reduce_on_plateau's"):
    oj.set_lr(state, 0.3)
