"""Regression tests for the robustness defects of the primitives and presets (one test per class).

Each test is the reproduction that failed before: arguments that passed construction and failed (or
gave NaN) later, ``max_norm=inf`` giving inf/inf, a centred variance rounding below zero, counts and
indices beyond int32, RAdam's recursion capped at 10**6 steps, unchecked injected and ``set_lr``
values, weakly typed parameters tracing twice, and a float16 RMS direction rounded (to inf) before
the learning rate.
"""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from optim_jax import _radam

INF, NAN = math.inf, math.nan


# --- construction-time errors naming the argument --------------------------------------------------

BAD_ARGUMENTS = [
  # (factory, kwargs, exception, the argument named in the message)
  (oj.torch.radam, dict(eps="0.1"), TypeError, "eps"),
  (oj.scale_by_rms_paddle, dict(rho=[0.9]), TypeError, "rho"),
  (oj.scale_by_rms_torch, dict(eps=INF), ValueError, "eps"),
  (oj.torch.clip_grad_norm, dict(max_norm=[1.0]), TypeError, "max_norm"),
  (oj.decoupled_weight_decay, dict(weight_decay=[0.1], learning_rate=0.1), TypeError, "weight_decay"),
  (oj.decoupled_weight_decay, dict(weight_decay=-0.1, learning_rate=0.1), ValueError, "weight_decay"),
  (oj.decoupled_weight_decay, dict(weight_decay=0.1, learning_rate=INF), ValueError, "learning_rate"),
  (oj.add_l2_decay, dict(coeff=-1.0), ValueError, "coeff"),
  (oj.add_l1_decay, dict(coeff=-1e-12), ValueError, "coeff"),
  (oj.add_l2_decay, dict(coeff=INF), ValueError, "coeff"),
  (oj.clip_by_global_norm, dict(max_norm=1.0, eps=-INF), ValueError, "eps"),
  (oj.clip_by_global_norm, dict(max_norm=1.0, eps=INF), ValueError, "eps"),
  (oj.clip_by_global_norm, dict(max_norm=-INF), ValueError, "max_norm"),
  (oj.clip_by_global_norm, dict(max_norm=1.0, norm_type=NAN), ValueError, "norm_type"),
  (oj.clip_by_value, dict(min_value=NAN, max_value=1.0), ValueError, "min_value"),
  (oj.scale_by_rms_paddle, dict(state_dtype="bogus"), TypeError, "state_dtype"),
  (oj.scale_by_rms_paddle, dict(centered="no"), TypeError, "centered"),
  (oj.scale_by_radam, dict(eps=INF), ValueError, "eps"),
  (oj.trace, dict(decay=INF), ValueError, "decay"),
  (oj.averaged_sgd, dict(lambd=INF), ValueError, "lambd"),
  (oj.multi_precision, dict(inner="adam"), TypeError, "inner"),
  (oj.sag_average, dict(batch_num=2**31), ValueError, "batch_num"),
  (oj.paddle.clip_grad_by_value, {"max": "1"}, TypeError, "max"),
  (oj.paddle.clip_grad_by_global_norm, dict(clip_norm=1.0, group_name=1), TypeError, "group_name"),
  (oj.paddle.rmsprop, dict(learning_rate=0.1, epsilon=1e39), ValueError, "epsilon"),  # inf in float32
  (oj.paddle.rmsprop, dict(learning_rate=0.1, momentum=INF), ValueError, "momentum"),
  (oj.paddle.rmsprop, dict(learning_rate=0.1, weight_decay=jnp.ones(3)), TypeError, "weight_decay"),
  (oj.paddle.radam, dict(beta2=0.99999999), ValueError, "beta2"),  # 1.0 once rounded to float32
  (oj.torch.rmsprop, dict(momentum=None), TypeError, "momentum"),
  (oj.torch.rmsprop, dict(momentum=INF), ValueError, "momentum"),
  (oj.torch.rmsprop, dict(lr=NAN), ValueError, "lr"),
  (oj.keras.rmsprop, dict(momentum=None), TypeError, "momentum"),
  (oj.keras.rmsprop, dict(learning_rate=1e39), ValueError, "learning_rate"),
  (oj.tf_keras.rmsprop, dict(weight_decay=INF), ValueError, "weight_decay"),
  (oj.tf_keras.rmsprop, dict(use_ema=True, ema_momentum="x"), TypeError, "ema_momentum"),
  (oj.keras.rmsprop, dict(use_ema=True, ema_overwrite_frequency=True), ValueError, "ema_overwrite_frequency"),
]


@pytest.mark.parametrize(
  "factory, kwargs, exc, name",
  BAD_ARGUMENTS,
  ids=[f"{f.__module__}.{f.__name__}{k}" for f, k, _, _ in BAD_ARGUMENTS],
)
def test_invalid_argument_rejected_at_construction(factory, kwargs, exc, name):
  with pytest.raises(exc, match=name):
    factory(**kwargs)


def test_paddle_radam_names_the_users_beta2():
  with pytest.raises(ValueError, match=r"beta2: 0.99999999.*float32") as info:
    oj.paddle.radam(beta2=0.99999999)
  assert "b2" not in str(info.value).replace("beta2", "")


# --- max_norm=inf: measure, don't clip -------------------------------------------------------------

INF_CLIPS = {
  "oj.clip_by_norm": oj.clip_by_norm(INF),
  "oj.clip_by_global_norm": oj.clip_by_global_norm(INF),
  "oj.clip_by_global_norm[p=1]": oj.clip_by_global_norm(INF, norm_type=1.0),
  "oj.torch.clip_grad_norm": oj.torch.clip_grad_norm(INF),
  "paddle.clip_grad_by_norm": oj.paddle.clip_grad_by_norm(INF),
  "paddle.clip_grad_by_global_norm": oj.paddle.clip_grad_by_global_norm(INF),
  "paddle.clip_grad_by_global_norm[auto_skip]": oj.paddle.clip_grad_by_global_norm(INF, auto_skip_clip=True),
}


@pytest.mark.parametrize("tx", INF_CLIPS.values(), ids=INF_CLIPS.keys())
def test_inf_max_norm_leaves_gradients_unchanged(tx):
  g = {"a": jnp.array([3.0, -4.0]), "b": jnp.array([1e30]), "c": jnp.zeros(2)}
  u, _ = tx.update(g, tx.init(g))
  chex.assert_trees_all_equal(u, g)
  g_inf = {"a": jnp.array([1.0, INF]), "b": jnp.array([2.0])}  # an inf norm: still not clipped
  u, _ = tx.update(g_inf, tx.init(g_inf))
  chex.assert_trees_all_equal(u, g_inf)


@pytest.mark.parametrize("module", [oj.keras, oj.tf_keras])
@pytest.mark.parametrize("clip", ["clipnorm", "global_clipnorm"])
def test_keras_inf_clip_is_no_clip(module, clip):
  p = jnp.zeros(3)
  g = jnp.array([3.0, -4.0, 12.0])
  clipped, plain = module.rmsprop(0.01, **{clip: INF}), module.rmsprop(0.01)
  u1, _ = clipped.update(g, clipped.init(p), p)
  u2, _ = plain.update(g, plain.init(p), p)
  chex.assert_trees_all_equal(u1, u2)


# --- centred RMSProp: the variance rounding below zero ---------------------------------------------


def _run(tx, g, steps, params):
  # eagerly: op by op, as the frameworks compute it (a jitted step may contract into FMAs and round
  # the moments differently)
  state = tx.init(params)
  negative_seen = False
  for _ in range(steps):
    u, state = tx.update(g, state, params)
    chex.assert_tree_all_finite(u)
    moments = [x for x in state if isinstance(x, (oj.ScaleByRmsPaddleState, oj.ScaleByRmsTorchState))]
    for s in moments or [state]:
      second, first = s
      negative_seen |= bool(jnp.any(second - first * first < 0))
  return u, negative_seen


@pytest.mark.parametrize("factory", [oj.scale_by_rms_paddle, oj.scale_by_rms_torch])
def test_centered_variance_rounding_below_zero_stays_finite(factory):
  # a constant large gradient: ms - mg^2 is a difference of two float32 numbers of 1e8 that should be
  # equal, and rounds below zero from step 24 on (PyTorch and Paddle: NaN for ever after)
  p = jnp.zeros(64)
  g = jnp.linspace(1e4, 3e4, 64)
  u, negative_seen = _run(factory(0.5, 1e-12, centered=True), g, 40, p)
  assert negative_seen, "the reproduction no longer rounds the variance below zero"
  assert bool(jnp.all(u > 0))


PRESETS_CENTERED = {
  "paddle": lambda: oj.paddle.rmsprop(0.01, rho=0.5, epsilon=1e-12, centered=True),
  "torch": lambda: oj.torch.rmsprop(0.01, alpha=0.5, eps=1e-12, centered=True),
  "keras": lambda: oj.keras.rmsprop(0.01, rho=0.5, epsilon=1e-12, centered=True),
  "tf_keras": lambda: oj.tf_keras.rmsprop(0.01, rho=0.5, epsilon=1e-12, centered=True),
}


@pytest.mark.parametrize("make", PRESETS_CENTERED.values(), ids=PRESETS_CENTERED.keys())
def test_centered_presets_stay_finite(make):
  p = jnp.zeros(64)
  _, negative_seen = _run(make(), jnp.linspace(1e4, 3e4, 64), 40, p)
  assert negative_seen


def test_float16_state_overflows_float32_state_does_not():
  """The dtype contract: state in the parameter's dtype, so a float16 moment overflows where the
  float32 arithmetic does not (the next updates are zero, not NaN); ``state_dtype=jnp.float32``
  keeps it."""
  p = jnp.zeros(4, jnp.float16)
  g = jnp.full(4, 1000.0, jnp.float16)  # (1 - 0.9) * 1000^2 = 1e5 > float16's 65504
  ref = oj.scale_by_rms_torch(0.9, centered=True)
  r1, rs = ref.update(g.astype(jnp.float32), ref.init(p.astype(jnp.float32)))
  r2, _ = ref.update(g.astype(jnp.float32), rs)
  half = oj.scale_by_rms_torch(0.9, centered=True)
  u1, s = half.update(g, half.init(p))
  np.testing.assert_array_equal(u1, r1.astype(jnp.float16))  # computed in float32
  assert s.square_avg.dtype == jnp.float16 and bool(jnp.all(jnp.isinf(s.square_avg)))  # stored: inf
  u2, _ = half.update(g, s)
  assert u2.dtype == jnp.float16 and bool(jnp.all(u2 == 0))
  wide = oj.scale_by_rms_torch(0.9, centered=True, state_dtype=jnp.float32)
  u1, s = wide.update(g, wide.init(p))
  u2, s = wide.update(g, s)
  assert s.square_avg.dtype == jnp.float32 and u2.dtype == jnp.float16
  np.testing.assert_array_equal(u2, r2.astype(jnp.float16))
  assert bool(jnp.all(u2 > 0))


# --- large integers: SAG's index, the EMA's frequency, RAdam's count --------------------------------


def test_sag_index_beyond_int32_is_taken_mod_batch_num():
  tx = oj.sag_average(3)
  s = tx.init(jnp.zeros(1))
  _, s = tx.update(jnp.ones(1), s, index=2**31 + 1)  # 2**31 + 1 = 0 mod 3
  np.testing.assert_array_equal(s.y[:, 0], [1.0, 0.0, 0.0])
  _, s = tx.update(jnp.full(1, 2.0), s, index=-1)
  np.testing.assert_array_equal(s.y[:, 0], [1.0, 0.0, 2.0])


def test_sag_int64_index_under_x64():
  with jax.enable_x64(True):
    tx = oj.sag_average(3)
    s = tx.init(jnp.zeros(1))
    _, s = tx.update(jnp.ones(1), s, index=jnp.asarray(2**32, jnp.int64))  # 2**32 = 1 mod 3
    np.testing.assert_array_equal(s.y[:, 0], [0.0, 1.0, 0.0])
    _, s = jax.jit(tx.update)(jnp.ones(1), s, index=jnp.asarray(2**33 + 2, jnp.int64))  # = 1 mod 3
    np.testing.assert_array_equal(s.y[:, 0], [0.0, 1.0, 0.0])


@pytest.mark.parametrize("index", [1.7, True, jnp.asarray(1.0), np.float64(2.0)])
def test_sag_float_or_bool_index_is_a_type_error(index):
  tx = oj.sag_average(3)
  with pytest.raises(TypeError, match="index"):
    tx.update(jnp.ones(1), tx.init(jnp.zeros(1)), index=index)


@pytest.mark.parametrize(
  "make",
  [
    lambda f: oj.param_ema(0.9, overwrite_frequency=f),
    lambda f: oj.keras.rmsprop(0.1, use_ema=True, ema_overwrite_frequency=f),
    lambda f: oj.tf_keras.rmsprop(0.1, use_ema=True, ema_overwrite_frequency=f),
  ],
  ids=["param_ema", "keras", "tf_keras"],
)
def test_ema_frequency_beyond_int32_never_overwrites(make):
  p = jnp.ones(2)
  big, never = make(2**31), make(None)
  sb, sn = big.init(p), never.init(p)
  for i in range(3):
    g = jnp.array([1.0, -2.0]) * (i + 1)
    ub, sb = big.update(g, sb, p)
    un, sn = never.update(g, sn, p)
    chex.assert_trees_all_equal(ub, un)


def test_radam_count_at_int32_max_does_not_wrap():
  tx = oj.scale_by_radam()
  s = tx.init(jnp.zeros(2))._replace(count=jnp.asarray(2**31 - 1, jnp.int32))
  u, s = jax.jit(tx.update)(jnp.ones(2), s)
  chex.assert_tree_all_finite(u)
  assert int(s.count) == 2**31 - 1  # saturates


# --- RAdam's recursion beyond 10**6 steps ------------------------------------------------------------


def test_radam_recursion_rectifies_beyond_a_million_steps():
  # b2 = 0.999999, threshold 1e6: never rectified before (the recursion stopped at 10**6 steps)
  first = _radam._first_rectified_step(0.999999, 1e6, "recursion", "float32")
  assert first == 1_261_849  # the closed form on float32's b2, continuing the recursion's first 10**6
  tx = oj.scale_by_radam(b2=0.999999, threshold=1e6, rho_rule="recursion")
  s0 = tx.init(jnp.zeros(1))
  g = jnp.ones(1)
  before, _ = tx.update(g, s0._replace(count=jnp.asarray(first - 2, jnp.int32)))
  after, _ = tx.update(g, s0._replace(count=jnp.asarray(first - 1, jnp.int32)))
  m_hat = 1 - 0.9  # (1 - b1) g / (1 - b1^t), b1^t = 0
  np.testing.assert_allclose(before, [m_hat], rtol=1e-6)  # not rectified: the bias-corrected momentum
  assert abs(float(after[0]) - m_hat) > 1e-3  # rectified


def test_radam_recursion_hands_over_to_the_closed_form(monkeypatch):
  """With the simulated part shortened, the result is the closed form's first step after it; the
  early steps (the float32 tie at 6) are still the recursion's."""
  first = _radam._first_rectified_step.__wrapped__
  monkeypatch.setattr(_radam, "_RECURSION_STEPS", 50)
  closed = _radam._closed_form_first(float(np.float32(0.999)), float(np.float32(1500.0)))
  assert closed > 50
  assert first(0.999, 1500.0, "recursion", "float32") == closed
  tie = 0.8397685748659791
  assert first(tie, 5.0, "recursion", "float32") == _radam._first_rectified_step(
    tie, 5.0, "recursion", "float32"
  )


# --- set_lr and inject_hyperparams -------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1.0, NAN, INF, np.float32(-0.5), jnp.asarray(INF)])
def test_set_lr_rejects_invalid_values(value):
  tx = oj.inject_hyperparams(oj.scale_by_learning_rate)(learning_rate=0.1)
  with pytest.raises(ValueError, match="learning_rate"):
    oj.set_lr(tx.init(jnp.zeros(1)), value)


def test_set_lr_traced_value_is_not_checked():
  tx = oj.inject_hyperparams(oj.scale_by_learning_rate)(learning_rate=0.1)
  state = jax.jit(oj.set_lr)(tx.init(jnp.zeros(1)), jnp.asarray(0.5))
  assert float(oj.get_lr(state)) == 0.5


def test_inject_hyperparams_checks_values_at_construction():
  with pytest.raises(ValueError, match="learning_rate"):
    oj.inject_hyperparams(oj.keras.rmsprop)(learning_rate=-0.01, rho=2.0)
  with pytest.raises(ValueError, match="rho"):
    oj.inject_hyperparams(oj.keras.rmsprop)(learning_rate=0.01, rho=2.0)
  with pytest.raises(ValueError, match="rho"):  # a schedule's value is traced, the rest are checked
    oj.inject_hyperparams(oj.paddle.rmsprop)(optax.constant_schedule(0.1), rho=2.0)


@pytest.mark.parametrize(
  "factory, kwargs, static",
  [
    (oj.sag_average, dict(batch_num=3), "batch_num"),
    (oj.paddle.asgd, dict(learning_rate=0.1, batch_num=3), "batch_num"),
    (oj.torch.clip_grad_norm, dict(max_norm=1.0, norm_type=3.0), "norm_type"),
    (oj.param_ema, dict(momentum=0.9, overwrite_frequency=2**31), "overwrite_frequency"),
  ],
)
def test_inject_hyperparams_keeps_structural_arguments_static(factory, kwargs, static):
  tx = oj.inject_hyperparams(factory)(**kwargs)
  p = jnp.linspace(-1.0, 1.0, 4)
  state = tx.init(p)
  assert static not in state.hyperparams
  u, _ = jax.jit(tx.update)(p + 2.0, state, p)
  ref, _ = factory(**kwargs).update(p + 2.0, factory(**kwargs).init(p), p)
  chex.assert_trees_all_close(u, ref, rtol=1e-6)


def test_inject_hyperparams_error_names_static_args():
  def tile(reps=2):  # uses ``reps`` as a shape inside update only
    return optax.stateless(lambda u, p: jax.tree.map(lambda x: jnp.tile(x, reps)[: x.shape[0]], u))

  tx = oj.inject_hyperparams(tile)(reps=2)
  p = jnp.ones(3)
  with pytest.raises(TypeError, match="static_args"):
    jax.jit(tx.update)(p, tx.init(p), p)
  tx = oj.inject_hyperparams(tile, static_args="reps")(reps=2)
  u, _ = jax.jit(tx.update)(p, tx.init(p), p)
  np.testing.assert_array_equal(u, p)


# --- weakly typed parameters: one trace ----------------------------------------------------------------

WEAK = {
  "scale_by_rms_paddle": lambda: oj.scale_by_rms_paddle(),
  "scale_by_radam": lambda: oj.scale_by_radam(),
  "sag_average": lambda: oj.sag_average(2),
  "param_ema": lambda: oj.param_ema(0.9),
  "keras.rmsprop[ema]": lambda: oj.keras.rmsprop(momentum=0.9, use_ema=True, weight_decay=0.1),
  "torch.asgd": lambda: oj.torch.asgd(),
}


@pytest.mark.parametrize("make", WEAK.values(), ids=WEAK.keys())
def test_weakly_typed_params_trace_once(make):
  tx = make()
  p = jnp.asarray(0.5)  # weakly typed
  traces = []

  @jax.jit
  def step(g, state):
    traces.append(None)
    return tx.update(g, state, p)

  state = tx.init(p)
  for _ in range(3):
    _, state = step(p, state)
  assert len(traces) == 1


# --- float16: the learning rate applied before the rounding ---------------------------------------------

F16 = {
  "tf_keras": (lambda: oj.tf_keras.rmsprop(1e-3, rho=1.0), 50 * 1e-3 / math.sqrt(1e-7)),
  "keras[ema]": (lambda: oj.keras.rmsprop(1e-3, rho=1.0, use_ema=True), 50 * 1e-3 / math.sqrt(1e-7)),
  "paddle": (lambda: oj.paddle.rmsprop(1e-3, rho=1.0, epsilon=1e-7), 50 * 1e-3 / math.sqrt(1e-7)),
  "torch": (lambda: oj.torch.rmsprop(1e-3, alpha=1.0, eps=1e-4), 50 * 1e-3 / 1e-4),
}


@pytest.mark.parametrize("make, want", F16.values(), ids=F16.keys())
def test_float16_direction_not_rounded_before_the_learning_rate(make, want):
  # the direction 50 / sqrt(eps) is beyond float16's 65504; the update, about -158 (-500), is not
  tx = make()
  p = jnp.zeros(2, jnp.float16)
  u, _ = tx.update(jnp.full(2, 50.0, jnp.float16), tx.init(p), p)
  assert u.dtype == jnp.float16
  np.testing.assert_allclose(np.asarray(u, np.float32), -want, rtol=1e-3)


def test_centered_float16_state_cancels_float32_state_does_not():
  """A constant gradient: in float16 state the mean square minus the squared mean cancels to 0 and
  the update overflows (the dtype contract allows it); ``state_dtype=jnp.float32`` keeps it finite."""
  p, g = jnp.zeros(1, jnp.float16), jnp.full(1, 10.0, jnp.float16)
  results = []
  for state_dtype in (None, jnp.float32):
    tx = oj.scale_by_rms_torch(alpha=0.5, eps=3e-5, centered=True, state_dtype=state_dtype)
    s = tx.init(p)
    for _ in range(12):
      u, s = tx.update(g, s, p)
    results.append(float(u[0]))
  assert results[0] == float("inf")
  assert np.isfinite(results[1]) and results[1] > 1.0
