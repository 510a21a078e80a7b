"""oj.schedules against the learning rates recorded from Paddle, PyTorch and Keras.

Data: tests/golden/schedules/lr/ (tools/golden_cases/schedules.py; Paddle 3.3.1, torch 2.13,
tf_keras 2.21 and Keras 3.15). Errors are relative to Paddle's float64 value, with a floor of 1e-9
of the schedule's peak for values that are (nearly) zero, where Paddle's own recursions leave
~1e-17 of noise:

* counts 0..N (N past every boundary): <= 1e-7 relative, plus the float32 rounding of a user
  function (lr_lambda, scale_fn), which is the user's (`schedule_cases.user_function_error`);
* counts up to 10**7: <= 1e-6 of the peak, against Paddle's own ``step(epoch=k)`` where its
  ``get_lr`` is a closed form, or a float64 numpy formula first checked against Paddle on 0..N
  (``long_source`` in the .json says which);
* the PyTorch schedulers and Keras schedules that docs/schedules.md calls equal: PyTorch's float64
  values equal Paddle's to 1e-12 (so the formulas are the same), and Keras's float32 values are
  within Keras's own float32 rounding of them (1e-6 of the peak).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import optim_jax as oj
from tests import schedule_cases as sc

CASES = sc.lr_cases()
IDS = [f"{c}-{n}" for c, n in CASES]
RTOL = 1e-7
LONG_TOL = 1e-6  # times the peak
FLOOR = 1e-9  # times the peak


def _values(schedule, counts):
  return np.asarray(jax.jit(jax.vmap(schedule))(jnp.asarray(counts, jnp.int32)), np.float64)


@functools.cache
def _evaluated(cls, name):
  """Our values at counts 0..N (the recorded Paddle range) and at the case's far counts, in one
  jitted program per case, shared by the comparisons with Paddle, PyTorch and Keras and the long range."""
  meta, arrays = sc.load(cls)
  near = np.arange(len(arrays[f"{name}/paddle"]))
  far = arrays.get(f"{name}/long_count", np.zeros(0, np.int64))
  values = _values(sc.build(cls, meta["cases"][name]["kwargs"]), np.concatenate([near, far]))
  values.setflags(write=False)
  return values[: len(near)], values[len(near) :]


def _ours(cls, name, n):
  """Our values at counts 0..n-1 (n at most the recorded Paddle range)."""
  near, _ = _evaluated(cls, name)
  assert n <= len(near), (cls, name, n)
  return near[:n]


def _relative(ours, ref, peak):
  return np.abs(ours - ref) / np.maximum(np.abs(ref), FLOOR * peak)


def _peak(arrays, name):
  values = [np.abs(arrays[f"{name}/paddle"]).max()]
  if f"{name}/long_ref" in arrays:
    values.append(np.abs(arrays[f"{name}/long_ref"]).max())
  return float(max(values))


@pytest.mark.parametrize("cls, name", CASES, ids=IDS)
def test_matches_paddle(cls, name):
  meta, arrays = sc.load(cls)
  kwargs = meta["cases"][name]["kwargs"]
  ref = arrays[f"{name}/paddle"].copy()
  quirk = meta["cases"][name].get("paddle_step_epoch_differs_at", [])
  if quirk:  # see test_linear_warmup_paddle_log_quirk
    ref[quirk] = arrays[f"{name}/inner_consecutive"][quirk]
  counts = np.arange(len(ref))
  ours = _ours(cls, name, len(ref))
  assert ours.dtype == np.float64 and np.isfinite(ours).all()
  rel = _relative(ours, ref, _peak(arrays, name))
  allowed = RTOL + sc.user_function_error(cls, kwargs, counts)
  worst = int(np.argmax(rel - allowed))
  assert (rel <= allowed).all(), (
    f"count {worst}: ours {ours[worst]!r}, Paddle {ref[worst]!r}, relative error {rel[worst]:.3g} > "
    f"{allowed[worst]:.3g}"
  )


def test_linear_warmup_paddle_log_quirk():
  """Paddle's LinearWarmup steps its inner scheduler with step(epoch); CosineAnnealingWarmRestarts
  then finds the cycle with a float log, int(log(121, 3)) = 4 at epoch 605 = the start of cycle 5
  (T_0=5, T_mult=3), so Paddle returns eta_min there instead of restarting. We follow consecutive
  stepping (what the optimizer sees without a warmup): only that count differs."""
  meta, arrays = sc.load("LinearWarmup")
  name = "f_warm_restarts_log_quirk"
  assert meta["cases"][name]["paddle_step_epoch_differs_at"] == [610]
  ours = _values(sc.build("LinearWarmup", meta["cases"][name]["kwargs"]), [609, 610, 611])
  paddle, consecutive = arrays[f"{name}/paddle"], arrays[f"{name}/inner_consecutive"]
  assert paddle[610] == pytest.approx(0.001) and consecutive[610] == pytest.approx(0.1)
  np.testing.assert_allclose(ours, consecutive[609:612], rtol=1e-7)


LONG_CASES = [(c, n) for c, n in CASES if f"{n}/long_count" in sc.load(c)[1]]


@pytest.mark.parametrize("cls, name", LONG_CASES, ids=[f"{c}-{n}" for c, n in LONG_CASES])
def test_long_range(cls, name):
  meta, arrays = sc.load(cls)
  info = meta["cases"][name]
  if f"{name}/numpy" in arrays:  # the float64 formula used for the far counts equals Paddle on 0..N
    np.testing.assert_allclose(arrays[f"{name}/numpy"], arrays[f"{name}/paddle"], rtol=1e-12, atol=1e-15)
  counts, ref = arrays[f"{name}/long_count"], arrays[f"{name}/long_ref"]
  assert counts.max() == 10**7 or cls == "OneCycleLR", info["long_source"]
  ours = _evaluated(cls, name)[1]
  err = np.abs(ours - ref) / _peak(arrays, name)
  worst = int(np.argmax(err))
  assert err.max() <= LONG_TOL, (
    f"count {counts[worst]}: ours {ours[worst]!r}, reference {ref[worst]!r} ({info['long_source']}), "
    f"error {err[worst]:.3g} x peak"
  )


def test_long_range_of_a_loop_schedule():
  """MultiplicativeDecay with a non-constant lambda loops over k = 1..count in double-float: with
  float32-exact factors the product stays exact (here it alternates between 0.1 and 0.05)."""
  s = oj.schedules.multiplicative_decay(0.1, lambda k: jnp.where(k % 2 == 0, 2.0, 0.5))
  for count in (10**5, 10**5 + 1, 3 * 10**5 + 7):
    assert float(jax.jit(s)(count)) == pytest.approx(0.1 * 0.5 ** (count % 2), rel=1e-7)


TORCH_CASES = [(c, n) for c, n in CASES if f"{n}/torch" in sc.load(c)[1]]


@pytest.mark.parametrize("cls, name", TORCH_CASES, ids=[f"{c}-{n}" for c, n in TORCH_CASES])
def test_torch_equivalent(cls, name):
  meta, arrays = sc.load(cls)
  paddle, torch = arrays[f"{name}/paddle"], arrays[f"{name}/torch"]
  peak = _peak(arrays, name)
  rel = _relative(torch, paddle[: len(torch)], peak)
  assert rel.max() <= 1e-12, f"{meta['cases'][name]['torch']}: differs from Paddle by {rel.max():.3g}"
  ours = _ours(cls, name, len(torch))
  allowed = RTOL + sc.user_function_error(cls, meta["cases"][name]["kwargs"], np.arange(len(torch)))
  assert (_relative(ours, torch, peak) <= allowed).all()


KERAS_CASES = [(c, n, fw) for c, n in CASES for fw in ("tf_keras", "keras") if f"{n}/{fw}" in sc.load(c)[1]]


@pytest.mark.parametrize("cls, name, fw", KERAS_CASES, ids=[f"{c}-{n}-{fw}" for c, n, fw in KERAS_CASES])
def test_keras_equivalent(cls, name, fw):
  """Keras computes its schedules in float32 (cos of a float32 fraction, float32 pow, a float log
  for the restart index): equal to Paddle within 1e-6 of the peak (5.7e-7 measured), so any difference in the
  formulas (an off-by-one boundary, a clamp) would show at 1e-2."""
  meta, arrays = sc.load(cls)
  keras = arrays[f"{name}/{fw}"].astype(np.float64)
  paddle = arrays[f"{name}/paddle"][: len(keras)]
  peak = _peak(arrays, name)
  assert np.abs(keras - paddle).max() <= 1e-6 * peak
  ours = _ours(cls, name, len(keras))
  assert np.abs(ours - keras).max() <= 1e-6 * peak


def test_keras_cosine_decay_clamps_where_paddle_rises():
  """The table says CosineDecay equals cosine_annealing_decay only up to T_max: Keras clamps after."""
  _, arrays = sc.load("CosineAnnealingDecay")
  keras, paddle = arrays["a/keras"], arrays["a/paddle"]
  assert len(keras) == 51  # recorded on 0..T_max only
  s = oj.schedules.cosine_annealing_decay(0.1, 50)
  assert float(s(75)) == pytest.approx(0.05, rel=1e-6)  # rises again (Paddle: paddle[75])
  assert paddle[75] == pytest.approx(0.05, rel=1e-12)


# --- ReduceOnPlateau ------------------------------------------------------------------------------

PLATEAU = sc.load("ReduceOnPlateau")


def _plateau_lrs(kwargs, metrics):
  tx = sc.build("ReduceOnPlateau", kwargs)
  state = tx.init(jnp.zeros(2))
  update = jax.jit(lambda g, s, m: tx.update(g, s, metric=m))
  lrs, scales = [], []
  for m in metrics:
    u, state = update(jnp.ones(2, jnp.float32), state, jnp.float32(m))
    scales.append(float(u[0]))
    lrs.append(float(state.learning_rate))
  return np.array(lrs), np.array(scales)


@pytest.mark.parametrize("name", sorted(PLATEAU[0]["cases"]))
def test_plateau_matches_paddle(name):
  meta, arrays = PLATEAU
  kwargs = meta["cases"][name]["kwargs"]
  metrics, ref = arrays[f"{name}/metrics"], arrays[f"{name}/paddle"]
  lrs, scales = _plateau_lrs(kwargs, metrics)
  reductions = np.searchsorted(np.unique(-ref), -ref)  # how many reductions so far: 0, 1, 2 ...
  assert len(np.unique(ref)) >= 3, "a golden case should reduce at least twice"
  # each reduction is one float32 product (Paddle: float64), so each may add half an ulp
  rel = np.abs(lrs - ref) / ref
  assert (rel <= RTOL * (1 + reductions)).all(), (rel.max(), reductions.max())
  # the update of each step is scaled by the rate from before that step's metric
  np.testing.assert_allclose(scales, np.concatenate([[kwargs["learning_rate"]], lrs[:-1]]), rtol=1e-7)


def test_plateau_vs_torch_reduce_lr_on_plateau():
  """Equal to torch's ReduceLROnPlateau without cooldown. During a cooldown torch keeps tracking the
  best metric (Paddle ignores it), which changes the rates in case e."""
  meta, arrays = PLATEAU
  for name, info in meta["cases"].items():
    same = np.allclose(arrays[f"{name}/torch"], arrays[f"{name}/paddle"], rtol=1e-12)
    if info["kwargs"].get("cooldown", 0) == 0:
      assert same, name
  assert not np.allclose(
    arrays["e_cooldown_ignores_metric/torch"], arrays["e_cooldown_ignores_metric/paddle"]
  )
