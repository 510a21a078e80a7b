"""Non-finite gradients: each clip strategy's behaviour on inf and NaN, and optax.apply_if_finite.

The expected patterns were measured on the real frameworks (paddlepaddle 3.3.1, torch 2.13,
tf_keras 2.21, keras 3.15.1) with the gradients
{"a": [1, x], "b": [2, 3]}, x in {inf, -inf, nan}, and a threshold of 1:
  * global norm, "scale" (Paddle, PyTorch): inf norm -> finite entries 0, infinite ones NaN; NaN
    norm -> all NaN;
  * global norm, "nan" (TensorFlow / Keras ``global_clipnorm``): any non-finite norm -> all NaN;
  * global norm, "skip_nan" (Paddle ``auto_skip_clip=True``): inf as "scale"; NaN norm -> unchanged;
  * per-leaf norm (Paddle ``ClipGradByNorm``, Keras ``clipnorm``): only the non-finite leaf is hit,
    as "scale" is for the whole tree;
  * by value (all of them): ±inf -> ±bound, NaN kept.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj

INF, NAN = float("inf"), float("nan")
XS = {"inf": INF, "-inf": -INF, "nan": NAN}
B_CLIPPED = [2 / 13**0.5, 3 / 13**0.5]


def grads(x):
  return {"a": jnp.array([1.0, x]), "b": jnp.array([2.0, 3.0])}


def scale(x):
  return {"a": [NAN, NAN], "b": [NAN, NAN]} if np.isnan(x) else {"a": [0.0, NAN], "b": [0.0, 0.0]}


def all_nan(x):
  return {"a": [NAN, NAN], "b": [NAN, NAN]}


def skip_nan(x):
  return {"a": [1.0, NAN], "b": [2.0, 3.0]} if np.isnan(x) else scale(x)


def per_leaf(x):
  return {"a": [NAN, NAN] if np.isnan(x) else [0.0, NAN], "b": B_CLIPPED}


def by_value(x):
  return {"a": [1.0, float(np.clip(x, -1, 1))], "b": [1.0, 1.0]}


CLIPS = {
  "oj.clip_by_global_norm": (oj.clip_by_global_norm(1.0), scale),
  "oj.clip_by_global_norm[p=1]": (oj.clip_by_global_norm(1.0, norm_type=1.0), scale),
  "oj.clip_by_global_norm[p=inf]": (oj.clip_by_global_norm(1.0, norm_type=INF), scale),
  "oj.clip_by_global_norm[nan]": (oj.clip_by_global_norm(1.0, nonfinite="nan"), all_nan),
  "oj.clip_by_global_norm[skip_nan]": (oj.clip_by_global_norm(1.0, nonfinite="skip_nan"), skip_nan),
  "oj.clip_by_norm": (oj.clip_by_norm(1.0), per_leaf),
  "oj.clip_by_value": (oj.clip_by_value(-1.0, 1.0), by_value),
  "paddle.clip_grad_by_global_norm": (oj.paddle.clip_grad_by_global_norm(1.0), scale),
  "paddle.clip_grad_by_global_norm[auto_skip]": (
    oj.paddle.clip_grad_by_global_norm(1.0, auto_skip_clip=True),
    skip_nan,
  ),
  "paddle.clip_grad_by_norm": (oj.paddle.clip_grad_by_norm(1.0), per_leaf),
  "paddle.clip_grad_by_value": (oj.paddle.clip_grad_by_value(1.0), by_value),
  "torch.clip_grad_norm": (oj.torch.clip_grad_norm(1.0), scale),
  "torch.clip_grad_norm[p=inf]": (oj.torch.clip_grad_norm(1.0, norm_type=INF), scale),
  "torch.clip_grad_value": (oj.torch.clip_grad_value(1.0), by_value),
}


def _assert_pattern(got, want):
  for k in ("a", "b"):
    np.testing.assert_allclose(np.asarray(got[k]), np.asarray(want[k]), rtol=1e-6, atol=0, err_msg=k)


@pytest.mark.parametrize("x", XS.values(), ids=XS.keys())
@pytest.mark.parametrize("name", CLIPS)
def test_clip_on_nonfinite(name, x):
  tx, want = CLIPS[name]
  g = grads(x)
  for update in (tx.update, jax.jit(tx.update)):
    got, _ = update(g, tx.init(g))
    _assert_pattern(got, want(x))  # assert_allclose treats NaN == NaN


# Keras's clip options live inside the preset: compare the preset with the clip against the preset
# without it, fed the clipped gradients the framework produces.
KERAS = [
  (oj.tf_keras, "clipnorm", per_leaf),
  (oj.tf_keras, "global_clipnorm", all_nan),
  (oj.tf_keras, "clipvalue", by_value),
  (oj.keras, "clipnorm", per_leaf),
  (oj.keras, "global_clipnorm", all_nan),
  (oj.keras, "clipvalue", by_value),
]


def _first_update(tx, g):
  params = jax.tree.map(jnp.ones_like, g)
  return tx.update(g, tx.init(params), params)[0]


@pytest.mark.parametrize("x", XS.values(), ids=XS.keys())
@pytest.mark.parametrize("module,option,want", KERAS, ids=[f"{m.__name__}-{o}" for m, o, _ in KERAS])
def test_keras_clip_options_on_nonfinite(module, option, want, x):
  kw = dict(learning_rate=0.1, momentum=0.5)
  got = _first_update(module.rmsprop(**kw, **{option: 1.0}), grads(x))
  ref = _first_update(module.rmsprop(**kw), jax.tree.map(jnp.asarray, want(x)))
  _assert_pattern(got, ref)


@pytest.mark.parametrize("x", XS.values(), ids=XS.keys())
def test_tf_keras_clipnorm_wins_over_clipvalue(x):
  both = _first_update(oj.tf_keras.rmsprop(0.1, clipnorm=1.0, clipvalue=0.5), grads(x))
  _assert_pattern(both, _first_update(oj.tf_keras.rmsprop(0.1, clipnorm=1.0), grads(x)))


PADDLE = {
  "by_global_norm": (oj.paddle.clip_grad_by_global_norm(1.0), scale),
  "by_global_norm[auto_skip]": (oj.paddle.clip_grad_by_global_norm(1.0, auto_skip_clip=True), skip_nan),
  "by_norm": (oj.paddle.clip_grad_by_norm(1.0), per_leaf),
  "by_value": (oj.paddle.clip_grad_by_value(1.0), by_value),
}


@pytest.mark.parametrize("x", XS.values(), ids=XS.keys())
@pytest.mark.parametrize("name", PADDLE)
def test_paddle_grad_clip_in_preset_on_nonfinite(name, x):
  clip, want = PADDLE[name]
  got = _first_update(oj.paddle.rmsprop(0.1, momentum=0.5, grad_clip=clip), grads(x))
  ref = _first_update(oj.paddle.rmsprop(0.1, momentum=0.5), jax.tree.map(jnp.asarray, want(x)))
  _assert_pattern(got, ref)


# --- PyTorch's error_if_nonfinite -----------------------------------------------------------------


@pytest.mark.parametrize("x", XS.values(), ids=XS.keys())
def test_error_if_nonfinite_eager(x):
  tx = oj.torch.clip_grad_norm(1.0, error_if_nonfinite=True)
  g = grads(x)
  with pytest.raises(RuntimeError, match="non-finite"):
    tx.update(g, tx.init(g))
  _assert_pattern(
    tx.update(grads(4.0), tx.init(g))[0], oj.torch.clip_grad_norm(1.0).update(grads(4.0), None)[0]
  )


def test_error_if_nonfinite_under_jit():
  tx = oj.torch.clip_grad_norm(1.0, error_if_nonfinite=True)
  step = jax.jit(tx.update)
  g = grads(4.0)
  jax.block_until_ready(step(g, tx.init(g)))  # finite: no error
  # The error comes from a host callback: a JaxRuntimeError, a subclass of RuntimeError.
  with pytest.raises(RuntimeError, match="non-finite"):
    jax.block_until_ready(step(grads(NAN), tx.init(g)))


# --- skipping non-finite steps with optax.apply_if_finite ------------------------------------------


PRESETS = {
  "paddle": lambda: oj.paddle.rmsprop(
    optax.exponential_decay(0.05, 1, 0.9), momentum=0.9, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0)
  ),
  "tf_keras+ema": lambda: oj.tf_keras.rmsprop(
    optax.exponential_decay(0.05, 1, 0.9),
    momentum=0.9,
    global_clipnorm=1.0,
    use_ema=True,
    ema_overwrite_frequency=2,
  ),
  "keras+ema": lambda: oj.keras.rmsprop(
    optax.exponential_decay(0.05, 1, 0.9), momentum=0.9, use_ema=True, ema_overwrite_frequency=3
  ),
  "torch": lambda: optax.chain(oj.torch.clip_grad_norm(1.0), oj.torch.rmsprop(0.05, momentum=0.9)),
}


@pytest.mark.parametrize("make", PRESETS.values(), ids=PRESETS.keys())
def test_apply_if_finite_skips_the_step_and_keeps_the_state(make):
  rng = np.random.default_rng(0)
  finite = [
    {"a": jnp.asarray(rng.normal(size=2), jnp.float32), "b": jnp.asarray(rng.normal(size=2), jnp.float32)}
    for _ in range(6)
  ]
  bad = {2: grads(NAN), 4: grads(INF)}  # a NaN step before finite step 2, an inf one before step 4
  tx = optax.apply_if_finite(make(), max_consecutive_errors=3)
  ref = make()
  params = ref_params = jax.tree.map(jnp.ones_like, finite[0])
  state, ref_state = tx.init(params), ref.init(params)
  step = jax.jit(tx.update)
  for i, g in enumerate(finite):
    if i in bad:
      inner_before = state.inner_state
      updates, state = step(bad[i], state, params)
      chex.assert_trees_all_equal(updates, jax.tree.map(jnp.zeros_like, updates))
      chex.assert_trees_all_equal(state.inner_state, inner_before)
      assert not bool(state.last_finite) and int(state.notfinite_count) == 1
    updates, state = step(g, state, params)
    params = optax.apply_updates(params, updates)
    ref_updates, ref_state = ref.update(g, ref_state, ref_params)
    ref_params = optax.apply_updates(ref_params, ref_updates)
    chex.assert_trees_all_close(params, ref_params, rtol=1e-6, atol=1e-7)
    chex.assert_tree_all_finite(params)
  assert int(state.total_notfinite) == 2 and int(state.notfinite_count) == 0
