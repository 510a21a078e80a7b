"""sag_average and oj.paddle.asgd against Paddle's SAG equations (Paddle 3.3 ASGD kernel)."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj


def _reference(grads, n, slots=None):
  """Paddle's kernel in numpy: d = d - y[i] + g; y[i] = g; out = d / min(m, n)."""
  d = np.zeros_like(grads[0])
  y = np.zeros((n, *grads[0].shape))
  out = []
  for m, g in enumerate(grads, start=1):
    i = (m - 1) % n if slots is None else slots[m - 1] % n
    d = d - y[i] + g
    y[i] = g
    out.append(d / min(m, n))
  return out, d, y


def _grads(k, shape=(5,), seed=0):
  rng = np.random.default_rng(seed)
  return [rng.normal(size=shape) * (1 + i) for i in range(k)]


def _run(tx, grads, dtype=jnp.float32, slots=None, params=None):
  state = tx.init(jnp.zeros(grads[0].shape, dtype) if params is None else params)
  update = jax.jit(tx.update)
  out = []
  for k, g in enumerate(grads):
    extra = {} if slots is None else {"index": slots[k]}
    u, state = update(jnp.asarray(g, dtype), state, params, **extra)
    out.append(np.asarray(u, np.float64))
  return out, state


@pytest.mark.parametrize("n", [1, 3, 4])
def test_matches_paddle_equations_float64(n):
  grads = _grads(11)
  want, d, y = _reference(grads, n)
  with jax.enable_x64(True):
    got, state = _run(oj.sag_average(n), grads, jnp.float64)
  for w, g in zip(want, got, strict=True):
    np.testing.assert_allclose(g, w, rtol=1e-14, atol=1e-15)
  np.testing.assert_allclose(np.asarray(state.d), d, rtol=1e-14)
  np.testing.assert_array_equal(np.asarray(state.y), y)  # the memory holds the last n gradients
  assert int(state.count) == 11


def test_batch_num_one_is_sgd():
  grads = _grads(5)
  got, _ = _run(oj.sag_average(1), grads)
  for w, g in zip(grads, got, strict=True):
    np.testing.assert_allclose(g, w, rtol=1e-6)


def test_index_picks_the_slot_for_shuffled_batches():
  """True SAG over epochs that are permutations: the divisor counts filled slots."""
  n = 4
  rng = np.random.default_rng(1)
  slots = np.concatenate([rng.permutation(n) for _ in range(3)]).tolist()
  grads = _grads(len(slots))
  want, _, y = _reference(grads, n, slots)
  got, state = _run(oj.sag_average(n), grads, slots=slots)
  for w, g in zip(want, got, strict=True):
    np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(state.y), y, rtol=1e-6)


def test_index_is_taken_modulo_batch_num():
  grads = _grads(4)
  a, _ = _run(oj.sag_average(3), grads, slots=[0, 1, 2, 0])
  b, _ = _run(oj.sag_average(3), grads, slots=[3, -2, 5, -3])
  for x, y in zip(a, b, strict=True):
    np.testing.assert_array_equal(x, y)


def test_index_passes_through_a_chain_and_the_preset():
  grads = _grads(5)
  slots = [2, 0, 2, 1, 0]
  want, _ = _run(oj.sag_average(3), grads, slots=slots)
  chained, _ = _run(optax.chain(optax.identity(), oj.sag_average(3)), grads, slots=slots)
  p = jnp.zeros(5)
  preset, _ = _run(oj.paddle.asgd(learning_rate=1.0, batch_num=3), grads, slots=slots, params=p)
  for w, c, q in zip(want, chained, preset, strict=True):
    np.testing.assert_array_equal(c, w)
    np.testing.assert_allclose(-q, w, rtol=1e-6)


def test_divisor_keeps_paddles_rule_with_index():
  """Revisiting slot 0 before slot 1 is filled: divisor min(m, n) = 2, the empty slot counts as 0."""
  got, _ = _run(oj.sag_average(2), [np.ones(1) * 2, np.ones(1) * 4], slots=[0, 0])
  assert float(got[1][0]) == 2.0  # d = 4, divided by min(2, 2)


@pytest.mark.parametrize("memory_dtype", [None, jnp.bfloat16, jnp.float16])
def test_one_update_is_in_place_under_donation(memory_dtype):
  """O(1) in batch_num: one slot read, one slot written, no copy of the memory when donated, and no
  slot update done on a float32 image of the whole memory (XLA on CPU does that for 16-bit floats)."""
  n = 64
  tx = oj.sag_average(n, memory_dtype=memory_dtype)
  params = {"a": jnp.zeros((7,)), "b": jnp.zeros((3, 2))}
  state = tx.init(params)
  for index in (None, 5):
    extra = {} if index is None else {"index": index}
    jaxpr = jax.make_jaxpr(lambda g, s, extra=extra: tx.update(g, s, **extra))(params, state)
    prims = [e.primitive.name for e in jaxpr.jaxpr.eqns]
    assert not any(p.startswith("reduce") or p in ("gather", "scatter") for p in prims), prims
    hlo = jax.jit(lambda g, s, extra=extra: tx.update(g, s, **extra), donate_argnums=1)
    text = hlo.lower(params, state).compile().as_text()
    copies = [ln for ln in text.splitlines() if re.search(rf"= \w+\[{n},[^=]*copy\(", ln)]
    assert not copies, copies
    if memory_dtype is not None:
      widened = [ln for ln in text.splitlines() if re.search(rf"= f32\[{n},\S* dynamic-update-slice\(", ln)]
      assert not widened, widened


def test_bfloat16_memory_halves_state_and_stays_close():
  n = 3
  grads = _grads(12, shape=(50,))
  exact, _ = _run(oj.sag_average(n), grads)
  got, state = _run(oj.sag_average(n, memory_dtype=jnp.bfloat16), grads)
  assert state.y.dtype == jnp.bfloat16 and state.d.dtype == jnp.float32
  for k, (e, g) in enumerate(zip(exact, got, strict=True)):
    recent = np.max(np.abs(np.stack(grads[max(0, k - n + 1) : k + 1])))
    assert np.max(np.abs(g - e)) <= 2.0**-9 * recent * (1 + 1e-6)
  # d is the exact (float32) sum of the stored bfloat16 slots: rounding does not accumulate
  np.testing.assert_allclose(
    np.asarray(state.d), np.asarray(state.y, np.float32).sum(0), rtol=1e-6, atol=1e-6
  )


def test_state_layout():
  state = oj.sag_average(5).init({"w": jnp.zeros((2, 3), jnp.bfloat16), "s": jnp.zeros(())})
  assert isinstance(state, oj.SagAverageState)
  assert state.count.dtype == jnp.int32
  assert state.y["w"].shape == (5, 2, 3) and state.y["w"].dtype == jnp.bfloat16
  assert state.y["s"].shape == (5,)
  assert state.d["w"].shape == (2, 3)


@pytest.mark.parametrize(
  "value, exc", [(0, ValueError), (-2, ValueError), (2.0, TypeError), (True, TypeError)]
)
def test_primitive_validation(value, exc):
  with pytest.raises(exc, match="batch_num"):
    oj.sag_average(value)


# --- oj.paddle.asgd ---------------------------------------------------------------------------


def test_paddle_asgd_folds_weight_decay_into_the_memory_float64():
  """Paddle's code adds c*p to g before the memory (its docs put c*p outside the average)."""
  n, c = 3, 0.2
  lr = lambda k: 0.1 * 0.9**k
  grads = _grads(9)
  p = np.linspace(-1.0, 1.0, 5)
  d, y, want = np.zeros(5), np.zeros((n, 5)), []
  for m, g in enumerate(grads, start=1):
    g = g + c * p
    i = (m - 1) % n
    d = d - y[i] + g
    y[i] = g
    p = p - lr(m - 1) * d / min(m, n)
    want.append(p)
  with jax.enable_x64(True):
    tx = oj.paddle.asgd(lr, batch_num=n, weight_decay=c)
    params = jnp.asarray(np.linspace(-1.0, 1.0, 5))
    state = tx.init(params)
    for g, w in zip(grads, want, strict=True):
      u, state = tx.update(jnp.asarray(g), state, params)
      params = optax.apply_updates(params, u)
      np.testing.assert_allclose(np.asarray(params), w, rtol=1e-14)


def test_paddle_asgd_clips_before_the_regulariser():
  clip = oj.paddle.clip_grad_by_value(0.5)
  p = jnp.array([1.0, -2.0])
  g = jnp.array([3.0, -0.1])
  tx = oj.paddle.asgd(1.0, batch_num=2, weight_decay=oj.paddle.l1_decay(0.3), grad_clip=clip)
  u, _ = tx.update(g, tx.init(p), p)
  np.testing.assert_allclose(np.asarray(u), -np.array([0.5 + 0.3, -0.1 - 0.3]), rtol=1e-6)


def test_paddle_asgd_multi_precision_keeps_a_float32_master():
  p = jnp.full((4,), 1.0, jnp.bfloat16)
  tx = oj.paddle.asgd(1e-3, batch_num=2, multi_precision=True)
  state = tx.init(p)
  assert isinstance(state, oj.MultiPrecisionState)
  for _ in range(5):
    u, state = tx.update(jnp.ones(4, jnp.bfloat16), state, p)
    p = optax.apply_updates(p, u)
  np.testing.assert_allclose(np.asarray(state.master), 1 - 5e-3, rtol=1e-6)
  np.testing.assert_array_equal(np.asarray(p), np.asarray(state.master.astype(jnp.bfloat16)))
  plain = oj.paddle.asgd(1e-3, batch_num=2)
  q, s = jnp.full((4,), 1.0, jnp.bfloat16), plain.init(jnp.ones(4, jnp.bfloat16))
  for _ in range(5):
    u, s = plain.update(jnp.ones(4, jnp.bfloat16), s, q)
    q = optax.apply_updates(q, u)
  assert float(q[0]) == 1.0  # bfloat16 alone rounds every 1e-3 step away


@pytest.mark.parametrize(
  "kwargs, exc, match",
  [
    (dict(learning_rate=None), ValueError, "learning_rate should not be None"),
    (dict(batch_num=None), ValueError, "batch_num should not be None"),
    (dict(batch_num=0), ValueError, "batch_num"),
    (dict(batch_num=-1), ValueError, "batch_num"),
    (dict(batch_num=-1.0), ValueError, "batch_num"),
    (dict(batch_num=2.0), TypeError, "batch_num"),
    (dict(learning_rate=1), TypeError, "learning_rate"),
    (dict(learning_rate=-0.1), ValueError, "learning_rate"),
    (dict(grad_clip=optax.clip(1.0)), TypeError, "grad_clip"),
  ],
)
def test_paddle_asgd_validation(kwargs, exc, match):
  with pytest.raises(exc, match=match):
    oj.paddle.asgd(**kwargs)
