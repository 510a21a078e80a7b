"""oj.schedules: signatures and validation as Paddle's, the schedule contract, formulas and edge cases.

The comparisons with the real frameworks' numbers are in test_schedules_golden.py; here the formulas
are checked against independent numpy versions of Paddle's lr formulas (hypothesis),
and the behaviours that Paddle does not define (past OneCycleLR's end, triangular2 past cycle 1024).
"""

from __future__ import annotations

import inspect
import json
import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optim_jax as oj
from tests import registry
from tests import schedule_cases as sc

S = oj.schedules
VALIDATION = json.loads((sc.LR_DIR / "validation.json").read_text())


def _values(schedule, counts):
  return np.asarray(jax.jit(jax.vmap(schedule))(jnp.asarray(counts, jnp.int32)), np.float64)


# --- the same arguments, defaults and checks as Paddle ----------------------------------------------


@pytest.mark.parametrize("cls", sorted(VALIDATION["signatures"]))
def test_signature_is_paddles(cls):
  """Paddle's argument names and defaults, in order; last_epoch and verbose are not taken."""
  want = [(n, d) for n, d in VALIDATION["signatures"][cls] if n not in ("last_epoch", "verbose")]
  params = inspect.signature(sc.CLASSES[cls]).parameters.values()
  got = [(p.name, None if p.default is p.empty else repr(p.default)) for p in params]
  assert got == want


# Deliberate differences from Paddle's exception types (documented in the docstrings).
DEVIATIONS = {
  ("NoamDecay", "warmup_steps", 0): "ValueError",  # Paddle: ZeroDivisionError from 0 ** -1.5
}


def _deviation(case):
  for (cls, arg, value), exc in DEVIATIONS.items():
    if case["class"] == cls and case["kwargs"].get(arg) == value:
      return exc
  return case["paddle_raises"]


@pytest.mark.parametrize(
  "case", VALIDATION["cases"], ids=[f"{c['class']}-{json.dumps(c['kwargs'])}" for c in VALIDATION["cases"]]
)
def test_validation_like_paddle(case):
  """The exception type Paddle raised for the same arguments (recorded from Paddle 3.3.1)."""
  want = _deviation(case)
  if want is None:
    sc.build(case["class"], case["kwargs"])
    return
  with pytest.raises(Exception) as info:  # noqa: PT011 - the type is compared below
    sc.build(case["class"], case["kwargs"])
  assert type(info.value).__name__ == want, info.value
  assert str(info.value)  # a message, naming the argument where Paddle's does not


def test_messages_name_argument_and_value():
  with pytest.raises(ValueError, match=r"gamma.*1\.5.*< 1"):
    S.step_decay(0.1, 3, gamma=1.5)
  with pytest.raises(AssertionError, match=r"T_max.*-2"):
    S.cosine_annealing_decay(0.1, -2)
  with pytest.raises(TypeError, match=r"phase_pct.*float.*int"):
    S.one_cycle_lr(0.1, 10, phase_pct=1)


# --- schedules inside presets (the schedule contract itself is in test_contract.py) -------------


def _params(dtype):
  return {"w": jnp.linspace(-1.0, 1.0, 6, dtype=dtype).reshape(2, 3), "b": jnp.ones(3, dtype)}


def _run(tx, dtype=jnp.float32, steps=4):
  params = _params(dtype)
  state = tx.init(params)
  out = []
  update = jax.jit(tx.update)
  for t in range(steps):
    g = jax.tree.map(lambda p, t=t: (jnp.cos(3.0 * p + t) + 0.1).astype(dtype), params)
    u, state = update(g, state, params)
    params = optax.apply_updates(params, u)
    out.append(params)
  return out


@pytest.mark.parametrize("name", ["oj.schedules.one_cycle_lr", "oj.schedules.multiplicative_decay[loop]"])
def test_preset_evaluates_the_schedule_at_the_count(name):
  """The same updates as with the schedule's values given one by one."""
  (entry,) = [e for e in registry.SCHEDULES if e.name == name]
  s = entry.make()
  table = jnp.asarray(_values(s, np.arange(8)), jnp.float32)
  lookup = lambda count: table[count]  # noqa: E731
  got = _run(oj.paddle.rmsprop(s, momentum=0.9, weight_decay=s))
  want = _run(oj.paddle.rmsprop(lookup, momentum=0.9, weight_decay=lookup))
  chex.assert_trees_all_close(got, want, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["oj.schedules.cosine_annealing_warm_restarts", "oj.schedules.noam_decay"])
def test_contract_in_other_presets(name):
  (entry,) = [e for e in registry.SCHEDULES if e.name == name]
  s = entry.make()
  with jax.numpy_dtype_promotion("strict"):
    for tx in (
      oj.torch.rmsprop(lr=s, momentum=0.9, weight_decay=0.1),
      oj.tf_keras.rmsprop(learning_rate=s, momentum=0.9, weight_decay=0.1),
      oj.keras.rmsprop(learning_rate=s, weight_decay=0.1),
    ):
      chex.assert_tree_all_finite(_run(tx, jnp.bfloat16))


# --- formulas against independent numpy versions of paddle.optimizer.lr ---------------------------

COUNTS = st.lists(st.integers(0, 10**7), min_size=1, max_size=20)
FEW = settings(max_examples=12)  # every example compiles a new schedule


def _close(ours, want, peak):
  np.testing.assert_allclose(ours, want, rtol=1e-7, atol=1e-9 * peak)


@FEW
@given(st.floats(0.001, 10.0), st.integers(1, 1000), st.floats(0.01, 0.99), COUNTS)
def test_step_decay_formula(lr, step_size, gamma, counts):
  e = np.array(counts)
  _close(_values(S.step_decay(lr, step_size, gamma), e), lr * gamma ** (e // step_size), lr)


@FEW
@given(
  st.floats(0.001, 1.0), st.integers(1, 500), st.floats(0.0, 0.01), st.floats(0.2, 3.0), st.booleans(), COUNTS
)
def test_polynomial_decay_formula(lr, steps, end, power, cycle, counts):
  e = np.array(counts)
  if cycle:
    d = steps * np.maximum(np.ceil(e / steps), 1)
    want = (lr - end) * (1 - e / d) ** power + end
  else:
    want = (lr - end) * (1 - np.minimum(e, steps) / steps) ** power + end
  _close(_values(S.polynomial_decay(lr, steps, end, power, cycle), e), want, lr)


@FEW
@given(st.floats(0.001, 1.0), st.integers(1, 5000), st.floats(0.0, 1e-3), COUNTS)
def test_cosine_annealing_is_periodic(lr, t_max, eta_min, counts):
  e = np.array(counts)
  want = eta_min + (lr - eta_min) * (1 + np.cos(np.pi * e / t_max)) / 2
  ours = _values(S.cosine_annealing_decay(lr, t_max, eta_min), e)
  np.testing.assert_allclose(ours, want, rtol=1e-7, atol=1e-7 * lr)  # numpy's cos of a large float64 angle
  shifted = _values(S.cosine_annealing_decay(lr, t_max, eta_min), np.minimum(e, 10**7) + 2 * t_max)
  np.testing.assert_array_equal(shifted, ours)  # the phase is reduced on the integer count: exactly periodic


@FEW
@given(st.floats(0.001, 1.0), st.integers(1, 50), st.integers(1, 4), COUNTS)
def test_warm_restarts_formula(lr, t0, mult, counts):
  want = []
  for e in counts:
    start, length = 0, t0
    while e >= start + length:
      start, length = start + length, length * mult
    want.append(lr * (1 + math.cos(math.pi * (e - start) / length)) / 2)
  ours = _values(S.cosine_annealing_warm_restarts(lr, t0, mult), np.array(counts))
  np.testing.assert_allclose(ours, want, rtol=1e-7, atol=1e-9 * lr)


@FEW
@given(
  st.floats(0.0, 0.1), st.floats(0.1, 1.0), st.integers(1, 100), st.integers(1, 100),
  st.sampled_from(["triangular", "triangular2", "exp_range"]), COUNTS,
)  # fmt: skip
def test_cyclic_formula(base, peak, up, down, mode, counts):
  e = np.array(counts)
  size = up + down
  cycle = 1 + e // size
  x = 1 + e / size - cycle
  s = np.where(x <= up / size, x / (up / size), (1 - x) / (1 - up / size))
  f = {"triangular": 1.0, "triangular2": np.ldexp(1.0, (1 - cycle).clip(-2000)), "exp_range": 0.999**e}[mode]
  want = base + (peak - base) * s * f
  ours = _values(S.cyclic_lr(base, peak, up, down, mode, exp_gamma=0.999), e)
  np.testing.assert_allclose(ours, want, rtol=1e-7, atol=1e-12 * peak)  # numpy's x: float rounding at 1e7


def _one_cycle_numpy(max_lr, n, div, end, pct, strategy, three, e):
  """Paddle's OneCycleLR.get_lr, transcribed."""
  init = max_lr / div
  if three:
    cfg, lrs = [0, pct * n - 1, 2 * pct * n - 2, n - 1, n - 1], [init, max_lr, init, end]
  else:
    cfg, lrs = [0, pct * n - 1, n - 1, n - 1], [init, max_lr, end]
  sizes = [cfg[i + 1] - cfg[i] for i in range(len(lrs) - 1)] + [cfg[-2] - cfg[-3]]
  for i, (stop, size) in enumerate(zip(cfg[1:], sizes, strict=True)):
    if e <= stop or i == len(lrs) - 2:
      u = (e - cfg[i]) / size
      a, b = lrs[i], lrs[i + 1]
      return b + (a - b) / 2 * (math.cos(math.pi * u) + 1) if strategy == "cos" else (b - a) * u + a


@FEW
@given(
  st.integers(4, 3000), st.floats(0.001, 0.45), st.sampled_from(["cos", "linear"]), st.booleans(),
  st.floats(0.0, 1e-3),
)  # fmt: skip
def test_one_cycle_formula(n, pct, strategy, three, end):
  if pct * n - 1 == 0:  # a first phase of length 0: Paddle divides by zero at construction
    with pytest.raises(ZeroDivisionError):
      S.one_cycle_lr(0.1, n, 10.0, end, pct, strategy, three)
    return
  s = S.one_cycle_lr(0.1, n, 10.0, end, pct, strategy, three)
  e = np.unique(np.linspace(0, n, 60).astype(int))
  want = [_one_cycle_numpy(0.1, n, 10.0, end, pct, strategy, three, int(k)) for k in e]
  np.testing.assert_allclose(_values(s, e), want, rtol=1e-7, atol=1e-9)


# --- integer boundaries under jit (XLA rewrites x / c as x * (1 / c)) -------------------------------


def test_boundaries_use_integer_arithmetic_under_jit():
  # ceil(42 / 14) is 4 with XLA's x * (1/c): the cycle would be 56 and the rate not end_lr
  s = jax.jit(S.polynomial_decay(1.0, 14, end_lr=0.25, cycle=True))
  assert float(s(42)) == 0.25 and float(s(43)) > 0.25
  for size in (1, 3, 7, 10, 14, 49, 97, 100, 127, 255, 1000, 4097, 99991):
    s = jax.jit(S.step_decay(1.0, size, 0.5))
    got = np.asarray(jax.vmap(s)(jnp.array([3 * size - 1, 3 * size])))
    np.testing.assert_array_equal(got, [0.25, 0.125])


def test_noam_starts_at_zero_and_peaks_at_warmup():
  s = S.noam_decay(64, 100)
  values = _values(s, np.arange(400))
  assert values[0] == 0.0
  assert np.argmax(values) == 100
  assert values[100] == pytest.approx(64**-0.5 * 100**-0.5, rel=1e-7)


def test_linear_warmup_restarts_the_inner_schedule():
  inner = S.step_decay(0.1, 3, 0.5)
  s = S.linear_warmup(inner, 4, 0.0, 0.1)
  np.testing.assert_allclose(
    _values(s, np.arange(12)), [0, 0.025, 0.05, 0.075] + list(_values(inner, range(8)))
  )
  optax_equivalent = optax.join_schedules([optax.linear_schedule(0.0, 0.1, 4), inner], [4])
  np.testing.assert_allclose(
    _values(s, range(12)), [float(optax_equivalent(c)) for c in range(12)], rtol=1e-7
  )


# --- where Paddle raises or overflows ----------------------------------------------------------------


def test_one_cycle_past_total_steps():
  """Paddle returns a value at count total_steps (slightly past end_learning_rate: the last phase's
  fraction is (N - b) / (N - 1 - b) > 1) and raises ValueError after it; we return end_learning_rate."""
  for strategy in ("cos", "linear"):
    s = S.one_cycle_lr(0.1, 100, end_learning_rate=0.001, anneal_strategy=strategy)
    at_end, past = _values(s, [99, 100, 101, 10**6, 2**31 - 1]), 0.001
    assert at_end[0] == pytest.approx(0.001, rel=1e-7)
    assert at_end[1] == pytest.approx(
      _one_cycle_numpy(0.1, 100, 25.0, 0.001, 0.3, strategy, False, 100), rel=1e-7
    )
    np.testing.assert_allclose(at_end[2:], past, rtol=1e-7)
  # phase_pct=1.0: Paddle divides by zero at count total_steps; we return end_learning_rate from there
  s = S.one_cycle_lr(0.1, 10, phase_pct=1.0)
  assert np.isfinite(_values(s, range(20))).all() and float(s(10)) == pytest.approx(1e-4)


def test_triangular2_past_cycle_1024():
  """Paddle computes 1 / 2.0 ** (cycle - 1) and raises OverflowError past cycle 1024: we return the
  limit, the base rate (the float32 scale underflows to 0 long before)."""
  s = S.cyclic_lr(0.01, 0.1, 1, mode="triangular2")
  assert float(s(2 * 2000 + 1)) == pytest.approx(0.01, rel=1e-7)


def test_multiplicative_constant_lambda_uses_the_python_float():
  """lambda k: 0.95 is a closed form 0.95**count (not float32(0.95)**count)."""
  s = S.multiplicative_decay(1.0, lambda k: 0.95)
  assert float(s(1000)) == pytest.approx(0.95**1000, rel=1e-7)
  loop = S.multiplicative_decay(1.0, lambda k: jnp.where(k > 0, 0.95, 1.0))  # not constant: the loop
  assert float(loop(1000)) == pytest.approx(np.float32(0.95) ** 1000, rel=1e-6)  # float32 factors
  np.testing.assert_allclose(_values(loop, [0, 1, 2, 7]), [1, 0.95, 0.95**2, 0.95**7], rtol=1e-6)


def test_per_epoch():
  s = S.per_epoch(S.step_decay(1.0, 2, 0.5), 3)
  np.testing.assert_array_equal(_values(s, range(13)), [1] * 6 + [0.5] * 6 + [0.25])
  assert float(S.per_epoch(0.1, 5)(7)) == pytest.approx(0.1)
  with pytest.raises(TypeError):
    S.per_epoch(S.step_decay(1.0, 2), 2.0)
  with pytest.raises(ValueError, match="steps_per_epoch"):
    S.per_epoch(S.step_decay(1.0, 2), 0)


# --- reduce_on_plateau -----------------------------------------------------------------------------


def _plateau_run(tx, metrics, every=1):
  state = tx.init(jnp.zeros(1))
  with_metric = jax.jit(lambda g, s, m: tx.update(g, s, metric=m))
  without = jax.jit(lambda g, s: tx.update(g, s))
  lrs = []
  for t in range(len(metrics) * every):
    if (t + 1) % every == 0:
      _, state = with_metric(jnp.ones(1), state, metrics[t // every])
    else:
      _, state = without(jnp.ones(1), state)
    lrs.append(float(state.learning_rate))
  return lrs, state


def test_plateau_rules():
  tx = S.reduce_on_plateau(1.0, factor=0.5, patience=1, cooldown=2, threshold=0.1, min_lr=0.2)
  # best 10; 9.5 is not better than 10 - 10*0.1 = 9 (bad 1); 9.5 again (bad 2 > 1): reduce, cooldown 2;
  # two metrics ignored (even a much better one); then 8 is compared with best 10: better; two bad
  # 8s: reduce, two ignored, two bad: reduce to max(0.125, min_lr)
  lrs, state = _plateau_run(tx, [10.0, 9.5, 9.5, 1.0, 1.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0])
  assert lrs == pytest.approx([1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2])
  assert int(state.last_epoch) == 12 and float(state.best) == 8.0


def test_plateau_without_metric_keeps_state_and_scales():
  tx = S.reduce_on_plateau(0.1, patience=0)
  lrs, state = _plateau_run(tx, [1.0, 2.0, 3.0], every=4)
  assert lrs == pytest.approx([0.1] * 4 + [0.1] * 3 + [0.01] + [0.01] * 3 + [0.001])
  assert int(state.last_epoch) == 3
  u, _ = tx.update({"a": jnp.full(2, 3.0, jnp.bfloat16)}, tx.init({"a": jnp.zeros(2, jnp.bfloat16)}))
  assert u["a"].dtype == jnp.bfloat16 and float(u["a"][0]) == pytest.approx(0.3, rel=1e-2)


def test_plateau_max_mode_abs_threshold_and_epsilon():
  tx = S.reduce_on_plateau(0.01, mode="max", threshold_mode="abs", threshold=0.5, patience=0, epsilon=0.004)
  lrs, _ = _plateau_run(tx, [1.0, 1.4, 2.0, 2.1])  # 1.4 < 1 + 0.5: bad; 2.0 better; 2.1 bad
  assert lrs == pytest.approx([0.01, 0.001, 0.001, 0.001])  # the second cut (0.0009) is below epsilon


def test_plateau_metric_must_be_one_number():
  tx = S.reduce_on_plateau(0.1)
  with pytest.raises(AssertionError, match="size of metric"):
    tx.update(jnp.ones(1), tx.init(jnp.zeros(1)), metric=jnp.ones(3))
  tx.update(jnp.ones(1), tx.init(jnp.zeros(1)), metric=jnp.ones((1, 1)))


def test_plateau_equals_paddle_chain_with_momentum():
  """The documented momentum recipe puts the rate inside the momentum buffer, as Paddle's RMSProp."""
  rate = S.reduce_on_plateau(0.01, factor=0.5, patience=0)
  exact = optax.chain(oj.scale_by_rms_paddle(0.9, 1e-6), rate, optax.scale(-1.0), optax.trace(0.9))
  state = exact.init(jnp.zeros(2))
  p, v, ms, lr = np.zeros(2), np.zeros(2), np.zeros(2), 0.01
  for t, m in enumerate([1.0, 2.0, 3.0, 0.5, 0.6]):
    g = np.array([0.5 + t, -1.0 + 0.3 * t], np.float32)
    u, state = exact.update(jnp.asarray(g), state, metric=m)
    ms = 0.9 * ms + 0.1 * g * g
    v = 0.9 * v + lr * g / np.sqrt(ms + 1e-6)
    p = p - v
    lr = lr * 0.5 if t in (1, 2, 4) else lr  # metrics 2, 3 and 0.6 are not better than the best
    np.testing.assert_allclose(np.asarray(u), -v, rtol=1e-6)


# --- docs/schedules.md ---------------------------------------------------------------------------

DOC = (sc.LR_DIR.parents[2].parent / "docs" / "schedules.md").read_text()


def test_docs_example_runs():
  (block,) = [b.split("\n", 1)[1] for b in DOC.split("```")[1::2] if b.startswith("python")]
  exec(compile(block, "docs/schedules.md", "exec"), {})  # noqa: S102


def test_docs_table_names_the_recorded_equivalents():
  """Every PyTorch or Keras class recorded as equal in the goldens is in that class's table row."""
  rows: dict[str, str] = {}
  for line in DOC.splitlines():
    if line.startswith("| `"):
      key = line.split("`")[1].split("(")[0]
      rows[key] = rows.get(key, "") + line
  for cls, name in sc.lr_cases():
    info = sc.load(cls)[0]["cases"][name]
    for key in ("torch", "keras"):
      if key in info:
        short = info[key]["class"].rsplit(".", 1)[-1]
        assert f"= `{short}(" in rows[cls], (cls, short)
