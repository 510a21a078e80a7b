"""oj.keras / oj.tf_keras learning-rate schedules against tables recorded from tf_keras 2.21 and Keras 3.15.

tests/golden/keras_schedules/ (tools/golden_cases/keras_schedules.py) holds, for every configuration of
the six ``optimizers.schedules`` classes, the float32 value each Keras returns at counts 0..N and at
far counts up to 2**31 - 1 (called with an int64 step, as the optimizers pass ``iterations``), their
signatures and what each raises for bad arguments. Ours are compared to both in one jitted program per
class: at most 1 ulp apart, NaN where Keras is NaN (measured: 0 ulp everywhere); exact for the classes
that only add, multiply and divide.
"""

from __future__ import annotations

import functools
import inspect
import json
import pickle

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from tests import golden_utils

FOLDER = golden_utils.GOLDEN_DIR / "keras_schedules"
CLASSES = golden_utils.KERAS_SCHEDULES  # Keras class -> our function name
VERSIONS = {"tf_keras": oj.tf_keras, "keras": oj.keras}
EXACT = {"PiecewiseConstantDecay", "InverseTimeDecay"}  # IEEE arithmetic only: no cos, log or pow


@functools.cache
def _table(cls):
  meta = json.loads((FOLDER / f"{cls}.json").read_text())
  with np.load(FOLDER / f"{cls}.npz") as z:
    arrays = {k: z[k] for k in z.files}
  return meta, arrays


@functools.cache
def _signatures():
  return json.loads((FOLDER / "signatures.json").read_text())


@functools.cache
def _ours(cls):
  """case -> version -> our values at the table's counts: one jitted program per class."""
  meta, arrays = _table(cls)
  fn = CLASSES[cls]
  scheds = {(name, v): getattr(mod, fn)(**info["kwargs"]) for name, info in meta["cases"].items()
            for v, mod in VERSIONS.items()}  # fmt: skip
  counts = {name: jnp.asarray(arrays[f"{name}/count"], jnp.int32) for name in meta["cases"]}

  @jax.jit
  def run(counts):
    return {key: jax.vmap(s)(counts[key[0]]) for key, s in scheds.items()}

  return {key: np.asarray(v) for key, v in run(counts).items()}


def _ulps(a, b):
  a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
  return np.abs(a.view(np.int32).astype(np.int64) - b.view(np.int32).astype(np.int64))


@pytest.mark.parametrize("cls", list(CLASSES))
def test_matches_both_kerases_at_every_recorded_count(cls):
  meta, arrays = _table(cls)
  ours = _ours(cls)
  assert meta["frameworks"] == {"tf_keras": "2.21.0", "keras": "3.15.1"}
  for name in meta["cases"]:
    counts = arrays[f"{name}/count"]
    assert counts.max() == 2**31 - 1 and len(counts) > meta["cases"][name]["n"] + 20
    for version in VERSIONS:
      ref, got = arrays[f"{name}/{version}"], ours[name, version]
      assert got.dtype == np.float32
      nan = np.isnan(ref)
      np.testing.assert_array_equal(np.isnan(got), nan, err_msg=f"{cls}/{name} {version}: NaN")
      worst = _ulps(got[~nan], ref[~nan]).max()
      assert worst <= (0 if cls in EXACT else 1), f"{cls}/{name} vs {version}: {worst} ulp"
  # the two versions compute the same values (ours share the implementation)
  for name in meta["cases"]:
    np.testing.assert_array_equal(arrays[f"{name}/tf_keras"], arrays[f"{name}/keras"])


def test_tables_cover_each_feature():
  kinds = {cls: {json.dumps(c["kwargs"], sort_keys=True) for c in _table(cls)[0]["cases"].values()}
           for cls in CLASSES}  # fmt: skip
  text = {cls: " ".join(v) for cls, v in kinds.items()}
  assert '"staircase": true' in text["ExponentialDecay"] and '"staircase": true' in text["InverseTimeDecay"]
  assert '"cycle": true' in text["PolynomialDecay"] and '"power": 0.5' in text["PolynomialDecay"]
  assert '"warmup_target": 0.1' in text["CosineDecay"] and '"alpha": 0.1' in text["CosineDecay"]
  assert '"t_mul": 1.0' in text["CosineDecayRestarts"] and '"t_mul": 3.0' in text["CosineDecayRestarts"]
  assert "2.7" in text["PiecewiseConstantDecay"] and str(2**40) in text["PiecewiseConstantDecay"]
  # a count where float32 rounding makes Keras's cyclic polynomial NaN (pow of a negative): ours too
  _, arrays = _table("PolynomialDecay")
  assert np.isnan(arrays["d_sqrt_cycle/keras"]).any()


@pytest.mark.parametrize("version", list(VERSIONS))
def test_signatures_are_kerases(version):
  recorded = _signatures()[version]["schedules"]
  for cls, fn in CLASSES.items():
    ours = [[p.name, None if p.default is p.empty else repr(p.default), p.kind.name]
            for p in inspect.signature(getattr(VERSIONS[version], fn)).parameters.values()]  # fmt: skip
    assert ours == recorded[cls], (version, cls)


@pytest.mark.parametrize("entry", _signatures()["validation"], ids=lambda e: e["class"])
def test_bad_arguments(entry):
  """Keras 3's ValueError for a step count <= 0 in both versions (tf_keras divides by zero: recorded)."""
  for version, module in VERSIONS.items():
    raised = entry[version]["raises"]
    assert raised in (None, "ValueError")
    if raised is None:  # tf_keras accepts it and computes 0, NaN or a rising rate
      assert version == "tf_keras"
    with pytest.raises(ValueError, match=r"decay_steps|boundaries"):
      getattr(module, CLASSES[entry["class"]])(**entry["kwargs"])


@pytest.mark.parametrize(
  "fn, kwargs, exc, match",
  [
    ("exponential_decay", dict(initial_learning_rate=1, decay_steps=10, decay_rate=0.5), TypeError, "int32"),
    ("exponential_decay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=-0.5), ValueError, "decay_rate"),
    ("exponential_decay", dict(initial_learning_rate=-0.1, decay_steps=10, decay_rate=0.5), ValueError, "initial"),
    ("exponential_decay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=1), TypeError,
     "staircase"),
    ("exponential_decay", dict(initial_learning_rate=0.1, decay_steps=float("nan"), decay_rate=0.5), ValueError,
     "decay_steps"),
    ("exponential_decay", dict(initial_learning_rate=0.1, decay_steps="10", decay_rate=0.5), TypeError,
     "decay_steps"),
    ("exponential_decay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, name=3), TypeError, "name"),
    ("piecewise_constant_decay", dict(boundaries=[], values=[0.1]), ValueError, "boundary"),
    ("piecewise_constant_decay", dict(boundaries=[5, 3], values=[0.1, 0.2, 0.3]), ValueError, "sorted"),
    ("piecewise_constant_decay", dict(boundaries=[5], values=[1, 0.2]), TypeError, r"values\[0\]"),
    ("piecewise_constant_decay", dict(boundaries=[5], values=[0.1, float("inf")]), ValueError, r"values\[1\]"),
    ("piecewise_constant_decay", dict(boundaries=5, values=[0.1, 0.2]), TypeError, "boundaries"),
    ("polynomial_decay", dict(initial_learning_rate=0.1, decay_steps=10, power=-1.0), ValueError, "power"),
    ("polynomial_decay", dict(initial_learning_rate=0.1, decay_steps=10, cycle="yes"), TypeError, "cycle"),
    ("inverse_time_decay", dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=float("inf")), ValueError,
     "decay_rate"),
    ("cosine_decay", dict(initial_learning_rate=0.1, decay_steps=10, alpha=-0.1), ValueError, "alpha"),
    ("cosine_decay", dict(initial_learning_rate=0.1, decay_steps=10, warmup_target=-1.0), ValueError, "warmup"),
    ("cosine_decay", dict(initial_learning_rate=0.1, decay_steps=10, warmup_target=0.2, warmup_steps=-1), ValueError,
     "warmup_steps"),
    ("cosine_decay_restarts", dict(initial_learning_rate=0.1, first_decay_steps=10, t_mul=0.5), ValueError, "t_mul"),
    ("cosine_decay_restarts", dict(initial_learning_rate=0.1, first_decay_steps=10, m_mul=-1.0), ValueError,
     "m_mul"),
  ],
)  # fmt: skip
def test_our_checks(fn, kwargs, exc, match):
  for module in VERSIONS.values():
    with pytest.raises(exc, match=match):
      getattr(module, fn)(**kwargs)


def _examples(module):
  return [
    module.exponential_decay(0.1, 7, 0.9),
    module.piecewise_constant_decay([3, 6], [0.1, 0.05, 0.01]),
    module.polynomial_decay(0.1, 5, power=2.0, cycle=True),
    module.inverse_time_decay(0.1, 2, 0.5, staircase=True),
    module.cosine_decay(0.0, 8, alpha=0.1, warmup_target=0.1, warmup_steps=3),
    module.cosine_decay_restarts(0.1, 3, m_mul=0.5),
  ]


def test_jit_vmap_eager_and_x64_agree():
  """The same bits under jit (one program for all), vmap and eagerly; float32 under x64 for int64 and
  float64 counts; picklable, printed as the call."""
  scheds = _examples(oj.keras) + _examples(oj.tf_keras)
  counts = jnp.arange(12, dtype=jnp.int32)
  batched = jax.jit(lambda c: [jax.vmap(s)(c) for s in scheds])(counts)
  one = jax.jit(lambda c: [s(c) for s in scheds])(jnp.int32(5))
  for i, (s, b, o) in enumerate(zip(scheds, batched, one, strict=True)):
    assert b.dtype == jnp.float32 and b.shape == (12,) and len(np.unique(np.asarray(b))) > 1, s
    np.testing.assert_array_equal(np.asarray(o), np.asarray(b)[5])
    if i < 6:  # eagerly (one kernel per operation to compile: the Keras 3 ones only), an array of counts
      np.testing.assert_array_equal(np.asarray(s(np.arange(12))), np.asarray(b))
    again = pickle.loads(pickle.dumps(s))
    assert repr(again) == repr(s) and repr(s).startswith("oj.")
  with jax.enable_x64(True):
    for c in (jnp.int64(5), jnp.float64(5.0)):
      values = jax.jit(lambda c: [f(c) for f in scheds])(c)
      for s, v, b in zip(scheds, values, batched, strict=True):
        assert v.dtype == jnp.float32 and float(v) == float(np.asarray(b)[5]), s


def test_as_learning_rate_and_weight_decay_of_the_presets():
  """In oj.keras.rmsprop with bf16 params under strict promotion, evaluated at the update count: the
  same updates as the table of the schedule's values indexed by the count."""
  scheds = _examples(oj.keras)
  params = {"w": jnp.ones((2, 3), jnp.bfloat16), "b": jnp.ones(3, jnp.bfloat16)}
  grads = {"w": jnp.full((2, 3), 0.5, jnp.bfloat16), "b": jnp.full(3, -0.25, jnp.bfloat16)}

  def run(lrs):
    txs = [oj.keras.rmsprop(s, momentum=0.9, weight_decay=s) for s in lrs]

    def go(p):
      out = []
      for tx in txs:
        q, state = p, tx.init(p)
        for _ in range(3):
          u, state = tx.update(grads, state, q)
          q = optax.apply_updates(q, u)
        out.append(q)
      return out

    with jax.numpy_dtype_promotion("strict"):
      return jax.jit(go)(params)

  tables = [jax.vmap(s)(jnp.arange(3)) for s in scheds]
  got = run(scheds)
  want = run([lambda c, t=t: t[c] for t in tables])
  chex.assert_trees_all_equal(got, want)
  for q in got:
    assert q["w"].dtype == jnp.bfloat16 and bool(jnp.all(jnp.isfinite(q["w"].astype(jnp.float32))))
