"""The contract every public transformation keeps (STYLE.md, "Tests"; README, "Dtype contract").

Runs over tests/registry.py: later features add registry entries, not tests here.
"""

from __future__ import annotations

import functools
import inspect
from typing import NamedTuple

import chex
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from tests import registry

ENTRIES = registry.ENTRIES
IDS = [e.name for e in ENTRIES]


def _params(dtype=jnp.float32):
  """A pytree with a matrix, a vector, a scalar, an empty leaf and a None."""
  k = jax.random.split(jax.random.key(0), 3)
  return {
    "w": jax.random.normal(k[0], (3, 4), dtype),
    "b": jax.random.normal(k[1], (4,), dtype),
    "s": jnp.asarray(0.7, dtype),
    "e": jnp.zeros((0,), dtype),
    "n": None,
  }


def _grads(step, dtype=jnp.float32):
  k = jax.random.split(jax.random.key(100 + step), 3)
  scale = 0.5 + step  # growing gradients, so clips switch on
  return {
    "w": (scale * jax.random.normal(k[0], (3, 4))).astype(dtype),
    "b": (scale * jax.random.normal(k[1], (4,))).astype(dtype),
    "s": jnp.asarray(-0.3 * scale, dtype),
    "e": jnp.zeros((0,), dtype),
    "n": None,
  }


class Run(NamedTuple):
  updates: list  # per step
  params: list  # after each step
  states: list  # after each step


def _run(tx, entry=None, steps=4, dtype=jnp.float32, update=None):
  """Steps `tx` on `_params(dtype)` with `_grads`, by `update` (default: a fresh `jax.jit(tx.update)`)."""
  extra = entry.extra_args if entry is not None else {}
  params = _params(dtype)
  state = tx.init(params)
  update = jax.jit(tx.update) if update is None else update
  run = Run([], [], [])
  for i in range(steps):
    updates, state = update(_grads(i, dtype), state, params, **extra)
    params = optax.apply_updates(params, updates)
    run.updates.append(updates)
    run.params.append(params)
    run.states.append(state)
  return run


BY_NAME = {e.name: e for e in ENTRIES}


@functools.cache
def _jitted(name):
  """One transformation per entry and its jitted update, shared by the checks (jit retraces it for a
  new dtype, and under strict promotion, which is part of its cache key)."""
  tx = BY_NAME[name].make()
  return tx, jax.jit(tx.update)


@functools.cache
def _reference(name, dtype=jnp.float32):
  """The entry's own run (4 steps, default promotion): what chain, inject_hyperparams, the constant
  schedule, odd pytrees and serialization are compared with, computed once per session."""
  tx, update = _jitted(name)
  return _run(tx, BY_NAME[name], dtype=dtype, update=update)


def _float_leaves(tree):
  return [x for x in jax.tree.leaves(tree) if jnp.issubdtype(jnp.asarray(x).dtype, jnp.floating)]


def test_registry_names_are_unique():
  """They are the test ids and the keys of the shared runs above."""
  assert len(BY_NAME) == len(ENTRIES), sorted(n for n in IDS if IDS.count(n) > 1)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_is_gradient_transformation(entry):
  tx = entry.make()
  assert isinstance(tx, optax.GradientTransformation)
  assert callable(tx.init) and callable(tx.update)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_jit_traces_once_and_matches_eager(entry):
  tx = entry.make()
  traces = []

  def update_fn(updates, state, params):  # tx.update's name: the persistent cache then knows the program
    traces.append(None)
    return tx.update(updates, state, params, **entry.extra_args)

  jitted = jax.jit(update_fn)
  params = _params()
  state_j = state_e = tx.init(params)
  for i in range(5):
    u_j, state_j = jitted(_grads(i), state_j, params)
    u_e, state_e = tx.update(_grads(i), state_e, params, **entry.extra_args)
    chex.assert_trees_all_close(u_j, u_e, rtol=1e-5, atol=1e-6)
    params = optax.apply_updates(params, u_j)
  assert len(traces) == 1
  chex.assert_tree_all_finite(jax.tree.leaves(params))


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_composes_in_chain(entry):
  """Between two identities in optax.chain, the same updates bit for bit. Both run eagerly (op by op,
  no compilation), so nothing but the chain's state plumbing can differ; jit is checked above."""
  tx, chained = entry.make(), optax.chain(optax.identity(), entry.make(), optax.identity())
  alone = _run(tx, entry, update=tx.update).updates
  chex.assert_trees_all_equal(alone, _run(chained, entry, update=chained.update).updates)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.hyperparams], ids=lambda e: e.name)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16], ids=["f32", "bf16"])
def test_inject_hyperparams(entry, dtype):
  params = inspect.signature(entry.factory).parameters
  static = tuple(k for k in params if k not in entry.hyperparams)
  injected = optax.inject_hyperparams(entry.factory, static_args=static, hyperparam_dtype=jnp.float32)(
    **entry.kwargs
  )
  state = injected.init(_params(dtype))
  for name in entry.hyperparams:
    assert name in state.hyperparams, name
    assert state.hyperparams[name].dtype == jnp.float32
  with jax.numpy_dtype_promotion("strict"):
    got = _run(injected, entry, dtype=dtype).updates
  want = _reference(entry.name, dtype).updates
  tol = 1e-6 if dtype == jnp.float32 else 1e-2
  chex.assert_trees_all_close(got, want, rtol=tol, atol=tol)


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.schedules], ids=lambda e: e.name)
def test_constant_schedule_equals_constant(entry):
  want = _reference(entry.name).updates
  for name in entry.schedules:
    value = entry.kwargs[name]
    const = lambda count, v=value: jnp.full([], v, jnp.float32) + 0 * count
    got = _run(entry.make(**{name: const}), entry).updates
    chex.assert_trees_all_close(got, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.bfloat16, jnp.float16], ids=["f32", "bf16", "f16"])
def test_dtype_contract_under_strict_promotion(entry, dtype):
  tx, update = _jitted(entry.name)
  with jax.numpy_dtype_promotion("strict"):  # traced anew: the promotion mode is part of jit's cache key
    run = _run(tx, entry, steps=3, dtype=dtype, update=update)
  params, state = run.params[-1], run.states[-1]
  for updates in run.updates:
    for u, g in zip(jax.tree.leaves(updates), jax.tree.leaves(_grads(0, dtype)), strict=True):
      assert u.dtype == g.dtype, (u.dtype, g.dtype)
  param_shapes = {x.shape for x in jax.tree.leaves(_params())}
  for leaf in jax.tree.leaves(state):
    leaf = jnp.asarray(leaf)
    if jnp.issubdtype(leaf.dtype, jnp.integer):
      assert leaf.dtype == jnp.int32, f"counter of dtype {leaf.dtype}"
    elif entry.state_follows_params and leaf.ndim and leaf.shape in param_shapes:
      assert leaf.dtype == dtype, f"state buffer of dtype {leaf.dtype} for {dtype} params"
  assert all(bool(jnp.all(jnp.isfinite(x))) for x in _float_leaves(params))


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_odd_pytrees(entry):
  """Scalars, empty leaves and None keep their place; the empty leaf stays empty."""
  run = _reference(entry.name)
  for updates, params in zip(run.updates, run.params, strict=True):
    assert updates["n"] is None
    assert updates["e"].shape == (0,)
    assert updates["s"].shape == ()
    assert jax.tree.structure(params) == jax.tree.structure(_params())


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_state_survives_serialization(entry):
  tx, update = _jitted(entry.name)
  run = _reference(entry.name)
  params, state = run.params[1], run.states[1]  # after 2 steps
  restored = flax.serialization.from_bytes(tx.init(_params()), flax.serialization.to_bytes(state))
  chex.assert_trees_all_equal(jax.tree.leaves(restored), jax.tree.leaves(state))
  u1, _ = update(_grads(7), state, params, **entry.extra_args)
  u2, _ = update(_grads(7), restored, params, **entry.extra_args)
  chex.assert_trees_all_equal(u1, u2)


def test_registry_covers_every_public_factory():
  """Every public callable that returns a transformation has at least one registry entry."""
  import optim_jax as oj

  covered = {e.factory for e in ENTRIES + registry.SCHEDULES}
  modules = [oj] + [getattr(oj, m) for m in ("paddle", "tf_keras", "keras", "torch", "schedules")]
  missing = []
  for mod in modules:
    for name in getattr(mod, "__all__", [n for n in dir(mod) if not n.startswith("_")]):
      obj = getattr(mod, name)
      if not callable(obj) or isinstance(obj, type) or getattr(obj, "__module__", "").startswith("optax"):
        continue
      if name in registry.NOT_TRANSFORMS:
        continue
      if obj not in covered:
        missing.append(f"{mod.__name__}.{name}")
  assert not missing, f"not in tests/registry.py: {missing}"


def test_np_float64_hyperparameters_accepted():
  import optim_jax as oj

  tx = oj.paddle.rmsprop(np.float64(0.01), rho=np.float32(0.9))
  tx.update(_grads(0), tx.init(_params()), _params())


# --- schedules (registry.SCHEDULES): jit, vmap, float32 output, use in presets ---------------------

S_IDS = [e.name for e in registry.SCHEDULES]


@pytest.mark.parametrize("entry", registry.SCHEDULES, ids=S_IDS)
def test_schedule_jit_vmap_float32(entry):
  s = entry.make()
  counts = jnp.arange(12)
  traces = []

  def traced(c):
    traces.append(None)
    return s(c)

  jitted = jax.jit(traced)
  one_by_one = np.array([float(jitted(jnp.int32(c))) for c in range(12)])
  assert len(traces) == 1
  batched = jax.vmap(s)(counts)
  assert batched.dtype == jnp.float32 and batched.shape == (12,)
  eager = np.array([float(s(c)) for c in (0, 1, 5, 11)])  # Python ints, outside jit
  # the same bits under jit, vmap and eagerly (double-float steps survive XLA's simplifier)
  np.testing.assert_array_equal(np.asarray(batched), one_by_one)
  np.testing.assert_array_equal(eager, one_by_one[[0, 1, 5, 11]])
  assert np.isfinite(one_by_one).all()
  assert len(np.unique(one_by_one)) > 1, "a registry schedule should change over 12 counts"
  assert s(jnp.int32(3)).shape == () and s(jnp.int32(3)).dtype == jnp.float32


@pytest.mark.parametrize("entry", registry.SCHEDULES, ids=S_IDS)
def test_schedule_float32_under_x64(entry):
  with jax.enable_x64(True):
    s = entry.make()
    for count in (3, jnp.int64(3), jnp.int32(3), jnp.float64(3.0)):
      assert s(count).dtype == jnp.float32
    assert jax.jit(s)(jnp.arange(4)).dtype == jnp.float32


@pytest.mark.parametrize("entry", registry.SCHEDULES, ids=S_IDS)
def test_schedule_as_learning_rate_and_weight_decay(entry):
  """In oj.paddle.rmsprop with bf16 params under strict promotion, and equal to the schedule's values
  given one by one."""
  s = entry.make()
  with jax.numpy_dtype_promotion("strict"):
    params = _run(oj.paddle.rmsprop(s, momentum=0.9, weight_decay=s), dtype=jnp.bfloat16).params[-1]
  chex.assert_tree_all_finite(jax.tree.leaves(params))
  table = jax.vmap(s)(jnp.arange(4, dtype=jnp.int32))
  lookup = lambda count: table[count]
  want = _run(oj.paddle.rmsprop(lookup, momentum=0.9, weight_decay=lookup)).updates
  got = _run(oj.paddle.rmsprop(s, momentum=0.9, weight_decay=s)).updates
  chex.assert_trees_all_equal(got, want)
