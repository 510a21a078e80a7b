"""The Keras presets' options beyond the update maths: exclude_from_weight_decay (tf_keras and Keras 3),
Keras 3's loss_scale_factor and gradient_accumulation_steps, and the constructors' other arguments.

The trajectories recorded from the real Kerases (tests/golden/keras_options/, made by
tools/golden_cases/keras_options.py) are replayed in test_golden.py; here: that they cover every
option, and the rules themselves, each checked against an independent formulation (the plain preset
on hand-masked leaves, on averaged gradients, on divided gradients), the errors, and the returned
object in chains, jit, inject_hyperparams, a flax TrainState and pickle.
"""

from __future__ import annotations

import collections
import copy
import functools
import inspect
import json
import pickle

import chex
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax.training import train_state

import optim_jax as oj
from tests import golden_utils

VERSIONS = {"tf_keras": oj.tf_keras, "keras": oj.keras}
PARAMS = {
  "dense": {"bias": jnp.array([1.0, -2.0, 0.5]), "kernel": jnp.full((2, 3), 1.5)},
  "scale": jnp.array(2.0),
}
GRADS = [
  {
    "dense": {"bias": jnp.array([0.3, -0.1, 0.2]), "kernel": jnp.full((2, 3), -0.4)},
    "scale": jnp.array(0.25),
  },
  {"dense": {"bias": jnp.array([-0.2, 0.5, 0.1]), "kernel": jnp.full((2, 3), 0.3)}, "scale": jnp.array(-0.5)},
]


def _run(txs, steps=2, grads=None):
  """Params after `steps` updates of each transformation, in one jitted program."""
  grads = grads or [GRADS[i % 2] for i in range(steps)]

  @jax.jit
  def go(p):
    out = []
    for tx in txs:
      q, state = p, tx.init(p)
      for g in grads:
        u, state = tx.update(g, state, q)
        q = optax.apply_updates(q, u)
      out.append(q)
    return out

  return go(PARAMS)


# --- the golden family covers every option ------------------------------------------------------------


def test_golden_family_covers_every_option():
  seen = collections.defaultdict(set)
  for name in golden_utils.case_names("keras_options"):
    m = golden_utils.load_meta("keras_options", name)
    fw, cfg, kw = m["framework"], m["config"], m["config"]["kwargs"]
    assert cfg["schedule"] is not None and kw["momentum"] > 0, name
    seen[fw, "dtype"].add(m["dtype"])
    seen[fw, "steps"].add(m["steps"])
    seen[fw, "schedule"].add(cfg["schedule"]["type"].rsplit(".", 1)[-1])
    wd = cfg["weight_decay"] or {}
    for key, value in (wd.get("exclude_from_weight_decay") or {}).items():
      if value:
        seen[fw, "exclude"].add(key)
    seen[fw, "accumulate"].add(kw.get("gradient_accumulation_steps"))
    seen[fw, "loss_scale"].add(kw.get("loss_scale_factor") is not None)
    if kw.get("gradient_accumulation_steps"):
      seen[fw, "accumulate_ema"].add("average" in m["extras"] and kw.get("use_ema", False))
  for fw in VERSIONS:
    assert seen[fw, "dtype"] == {"float32", "float64"}
    assert min(seen[fw, "steps"]) <= 100 and max(seen[fw, "steps"]) >= 300
    assert seen[fw, "exclude"] == {"var_list", "var_names"}
    assert seen[fw, "schedule"] == set(golden_utils.KERAS_SCHEDULES), seen[fw, "schedule"]
  assert seen["keras", "accumulate"] == {None, 2, 3} and seen["keras", "accumulate_ema"] == {True, False}
  assert seen["keras", "loss_scale"] == {True, False}


# --- exclude_from_weight_decay ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", list(VERSIONS))
def test_every_form_excludes_the_same_leaves(version):
  """Names (argument and method), paths, a mask (full or a prefix) and a predicate: the bias keeps no
  decay and every other leaf the full decay, as the preset without weight decay on a hand-made split."""
  mod = VERSIONS[version]
  base = dict(learning_rate=mod.exponential_decay(0.1, 1, 0.5), momentum=0.9, weight_decay=0.5)
  tx = mod.rmsprop(**base)
  forms = [
    mod.rmsprop(**base, exclude_from_weight_decay=["bias"]),
    mod.rmsprop(**base, exclude_from_weight_decay=["dense/b"]),
    tx.exclude_from_weight_decay(var_names=["^dense/bias$"]),
    tx.exclude_from_weight_decay(var_list=["dense/bias"]),
    tx.exclude_from_weight_decay(var_list={"dense": {"bias": True, "kernel": False}, "scale": False}),
    mod.rmsprop(**base, exclude_from_weight_decay={"dense": {"bias": True, "kernel": False}, "scale": False}),
    mod.rmsprop(**base, exclude_from_weight_decay=lambda path, leaf: leaf.ndim == 1),
  ]
  no_decay = mod.rmsprop(**{**base, "weight_decay": None})
  out = _run([*forms, tx, no_decay])
  for got in out[1 : len(forms)]:
    chex.assert_trees_all_equal(got, out[0])
  decayed, plain = out[len(forms)], out[-1]
  chex.assert_trees_all_equal(out[0]["dense"]["bias"], plain["dense"]["bias"])
  chex.assert_trees_all_equal(out[0]["dense"]["kernel"], decayed["dense"]["kernel"])
  chex.assert_trees_all_equal(out[0]["scale"], decayed["scale"])
  assert not np.allclose(decayed["dense"]["bias"], plain["dense"]["bias"])  # the decay is visible


def test_names_on_odd_pytrees():
  """Scalars, empty leaves and None keep their place; paths of lists and attributes count too."""
  params = {"w": jnp.ones((2, 2)), "b": jnp.ones(2), "s": jnp.asarray(0.5), "e": jnp.zeros((0,)), "n": None,
            "layers": [jnp.ones(2), jnp.ones(3)]}  # fmt: skip
  grads = jax.tree.map(lambda x: 0.1 * x, params)
  for mod in VERSIONS.values():
    tx = mod.rmsprop(0.1, weight_decay=0.5, exclude_from_weight_decay=["^b$", "^s", "layers/1"])
    u, _ = jax.jit(tx.update)(grads, tx.init(params), params)
    plain = mod.rmsprop(0.1)
    v, _ = jax.jit(plain.update)(grads, plain.init(params), params)
    assert u["n"] is None and u["e"].shape == (0,) and u["s"].shape == ()
    for leaf in (("b",), ("s",), ("layers", 1)):
      x, y = u, v
      for k in leaf:
        x, y = x[k], y[k]
      chex.assert_trees_all_equal(x, y)
    assert not np.allclose(u["layers"][0], v["layers"][0]) and not np.allclose(u["w"], v["w"])


def test_keras3_joins_the_names_tf_keras_tries_each():
  """An inline flag after the first name: Keras 3's joined pattern is not a regular expression (Keras 3
  fails too, measured), tf_keras uses each name on its own."""
  names = ["bias", "(?i)KERNEL"]
  with pytest.raises(ValueError, match="joined by '\\|'"):
    oj.keras.rmsprop(weight_decay=0.1, exclude_from_weight_decay=names)
  tx = oj.tf_keras.rmsprop(weight_decay=0.1, exclude_from_weight_decay=names)
  excluded = tx.__dict__["_made_by"][1]["exclude_from_weight_decay"]
  assert oj._keras_common.exclusion(excluded, keras3=False).excluded(PARAMS) == [True, True, False]


@pytest.mark.parametrize(
  "kwargs, exc, match, when",
  [
    (dict(exclude_from_weight_decay=["bais"]), ValueError, "'bais' matches no parameter path", "init"),
    (dict(exclude_from_weight_decay=["bias$"]), None, None, None),  # (fine here; Keras-TF: nothing)
    (dict(exclude_from_weight_decay=["bias:0"]), ValueError, "no ':0'", "init"),
    (dict(exclude_from_weight_decay=["("]), ValueError, "not a regular expression", "construction"),
    (dict(exclude_from_weight_decay="bias"), TypeError, "write \\['bias'\\]", "construction"),
    (dict(exclude_from_weight_decay={"dense": {"bias": 1}}), TypeError, "dense/bias", "construction"),
    (dict(exclude_from_weight_decay={"dense": True}), ValueError, "no entry for the parameter 'scale'", "init"),
    (dict(exclude_from_weight_decay={"dense": True, "scale": False, "extra": True}), ValueError,
     "entry 'extra' is not a parameter", "init"),
    (dict(exclude_from_weight_decay=lambda path, leaf: 1), TypeError, "returns a Python bool", "init"),
    (dict(exclude_from_weight_decay=jnp.ones(3)), TypeError, "array", "construction"),
  ],
)  # fmt: skip
@pytest.mark.parametrize("version", list(VERSIONS))
def test_exclusion_errors_name_the_culprit(version, kwargs, exc, match, when):
  mod = VERSIONS[version]
  if exc is None:
    mod.rmsprop(weight_decay=0.1, **kwargs).init(PARAMS)
    return
  with pytest.raises(exc, match=match):
    tx = mod.rmsprop(weight_decay=0.1, **kwargs)
    assert when == "init", "should have failed at construction"
    tx.init(PARAMS)


def test_method_errors_and_unused_exclusion():
  tx = oj.keras.rmsprop(weight_decay=0.1)
  with pytest.raises(ValueError, match="var_list names \\['dense/b'\\], not parameter paths"):
    tx.exclude_from_weight_decay(var_list=["dense/b"]).init(PARAMS)
  with pytest.raises(TypeError, match="var_names should be a list"):
    tx.exclude_from_weight_decay(var_names="bias")
  with pytest.raises(TypeError, match="var_list should be a list of paths"):
    tx.exclude_from_weight_decay(var_list="dense/bias")
  # without weight decay an exclusion has nothing to take out (Keras: no effect); no path check then
  oj.keras.rmsprop(exclude_from_weight_decay=["nothing"]).init(PARAMS)


def test_method_replaces_the_exclusion_and_leaves_the_original():
  tx = oj.tf_keras.rmsprop(0.1, weight_decay=0.5, exclude_from_weight_decay=["bias"])
  kernel_only = tx.exclude_from_weight_decay(var_names=["kernel"])
  by_kernel = oj.tf_keras.rmsprop(0.1, weight_decay=0.5, exclude_from_weight_decay=["kernel"])
  by_bias = oj.tf_keras.rmsprop(0.1, weight_decay=0.5, exclude_from_weight_decay=["bias"])
  out = _run([tx, kernel_only, by_kernel, by_bias])
  chex.assert_trees_all_equal(out[1], out[2])
  chex.assert_trees_all_equal(out[0], out[3])
  assert not np.allclose(out[0]["dense"]["bias"], out[1]["dense"]["bias"])


def test_returned_object_in_chain_jit_inject_trainstate_and_pickle():
  sched = oj.keras.cosine_decay(0.1, 10, warmup_target=0.2, warmup_steps=2)
  tx = oj.keras.rmsprop(sched, momentum=0.9, weight_decay=0.3, use_ema=True).exclude_from_weight_decay(
    var_names=["bias"]
  )
  assert isinstance(tx, optax.GradientTransformationExtraArgs)
  init, update = tx  # unpacks as optax's pair
  clone = pickle.loads(pickle.dumps(tx))
  deep = copy.deepcopy(tx)
  inject = oj.inject_hyperparams(oj.keras.rmsprop)(
    learning_rate=sched, momentum=0.9, weight_decay=0.3, use_ema=True, exclude_from_weight_decay=["bias"]
  )
  inject_optax = optax.inject_hyperparams(oj.keras.rmsprop, static_args=("exclude_from_weight_decay",))(
    learning_rate=0.1,
    momentum=0.9,
    weight_decay=0.3,
    exclude_from_weight_decay=lambda path, leaf: leaf.ndim == 1,
  )
  plain_optax = oj.keras.rmsprop(0.1, momentum=0.9, weight_decay=0.3, exclude_from_weight_decay=["bias"])
  out = _run([tx, optax.chain(optax.identity(), tx), clone, deep, inject, inject_optax, plain_optax])
  for got in out[1:5]:
    chex.assert_trees_all_close(got, out[0], rtol=1e-6, atol=1e-7)
  chex.assert_trees_all_close(out[5], out[6], rtol=1e-6, atol=1e-7)
  # a flax TrainState holds it and steps with it; its state survives flax serialization and pickle
  state = train_state.TrainState.create(apply_fn=None, params=PARAMS, tx=tx)
  state = jax.jit(lambda s, g: s.apply_gradients(grads=g))(state, GRADS[0])
  restored = flax.serialization.from_bytes(state, flax.serialization.to_bytes(state))
  chex.assert_trees_all_equal(restored.opt_state, state.opt_state)
  chex.assert_trees_all_equal(pickle.loads(pickle.dumps(state.opt_state)), state.opt_state)


# --- loss_scale_factor --------------------------------------------------------------------------------


def test_loss_scale_divides_the_gradients_first():
  """update(g) with loss_scale_factor s is update(g / s) without it, bit for bit (Keras 3 divides);
  scale_loss multiplies; through jax.grad the scaled loss gives the same step up to rounding."""
  sched = oj.keras.inverse_time_decay(0.05, 2, 1.0)
  base = dict(learning_rate=sched, momentum=0.9, weight_decay=0.1, gradient_accumulation_steps=2)
  scaled = oj.keras.rmsprop(**base, loss_scale_factor=10.0)
  assert scaled.scale_loss(0.5) == 5.0 and oj.keras.rmsprop().scale_loss(0.5) == 0.5
  divided = [jax.tree.map(lambda g: g / jnp.float32(10.0), g) for g in GRADS]
  injected = oj.inject_hyperparams(oj.keras.rmsprop)(**base, loss_scale_factor=10.0)
  a, b, c = _run([scaled, oj.keras.rmsprop(**base), injected], grads=GRADS * 2)
  (d,) = _run([oj.keras.rmsprop(**base)], grads=divided * 2)
  chex.assert_trees_all_equal(a, d)
  chex.assert_trees_all_equal(c, a)
  assert not np.allclose(a["scale"], b["scale"])

  def loss(p):
    return sum(jnp.sum(x * y) for x, y in zip(jax.tree.leaves(p), jax.tree.leaves(GRADS[0]), strict=True))

  tx, plain = oj.keras.rmsprop(learning_rate=0.1, loss_scale_factor=10.0), oj.keras.rmsprop(0.1)

  @jax.jit
  def both(p):
    g_scaled = jax.grad(lambda q: tx.scale_loss(loss(q)))(p)
    return tx.update(g_scaled, tx.init(p), p)[0], plain.update(GRADS[0], plain.init(p), p)[0]

  u_scaled, u_plain = both(PARAMS)
  chex.assert_trees_all_close(u_scaled, u_plain, rtol=1e-6)


@pytest.mark.parametrize(
  "value, exc", [(0.0, ValueError), (-2.0, ValueError), (float("inf"), ValueError), (float("nan"), ValueError),
                 ("8", TypeError), (oj.keras.exponential_decay(1.0, 1, 0.5), TypeError)]
)  # fmt: skip
def test_loss_scale_factor_checks(value, exc):
  with pytest.raises(exc, match="loss_scale_factor"):
    oj.keras.rmsprop(loss_scale_factor=value)


# --- gradient_accumulation_steps ---------------------------------------------------------------------------


def test_accumulation_is_the_plain_step_on_the_mean():
  """Zero updates on accumulating micro-steps; on every 3rd, the plain preset on the mean of the last 3
  gradients, its schedules at the micro-step count (Keras 3's _iterations: 2, 5, ...); the EMA runs on
  every micro-step, with momentum 0 while Keras's iterations (micro-steps // 3) is 0."""
  s = oj.keras.cosine_decay_restarts(0.1, 2, m_mul=0.5)
  wd = oj.keras.piecewise_constant_decay([3], [0.2, 0.05])
  grads = [GRADS[0], GRADS[1], jax.tree.map(lambda x: 2 * x, GRADS[0])] * 2
  means = [jax.tree.map(lambda a, b, c: (a + b + c) / 3, *grads[:3])] * 2
  acc = oj.keras.rmsprop(s, momentum=0.9, weight_decay=wd, centered=True, gradient_accumulation_steps=3,
                         use_ema=True, ema_momentum=0.5)  # fmt: skip
  plain = oj.keras.rmsprop(lambda k: s(3 * k + 2), momentum=0.9, weight_decay=lambda k: wd(3 * k + 2),
                           centered=True)  # fmt: skip

  @jax.jit
  def micro(p):
    state, out = acc.init(p), []
    for g in grads:
      u, state = acc.update(g, state, p)
      p = optax.apply_updates(p, u)
      out.append((u, p, oj.ema_params(state)))
    return out

  @jax.jit
  def reference(p):
    state, out = plain.init(p), []
    for g in means:
      u, state = plain.update(g, state, p)
      p = optax.apply_updates(p, u)
      out.append(p)
    return out

  steps, ref = micro(PARAMS), reference(PARAMS)
  for n, (u, p, ema) in enumerate(steps):
    if n % 3 != 2:
      assert all(bool(jnp.all(x == 0)) for x in jax.tree.leaves(u)), n
    else:
      chex.assert_trees_all_close(p, ref[n // 3], rtol=2e-7, atol=1e-7)
    if n < 3:  # iterations 0: the average is the parameters
      chex.assert_trees_all_equal(ema, p)
  chex.assert_trees_all_close(steps[3][2], steps[3][1], rtol=1e-6)  # (no step: m*a + (1-m)*p = p)
  assert not np.allclose(steps[5][2]["scale"], steps[5][1]["scale"])


@pytest.mark.parametrize("value", [1, -3, 2.5, True])
def test_accumulation_steps_checks(value):
  with pytest.raises(ValueError, match="`gradient_accumulation_steps` must be an integer >= 2"):
    oj.keras.rmsprop(gradient_accumulation_steps=value)


def test_accumulation_off_values_and_structure():
  plain = oj.keras.rmsprop(momentum=0.9)
  for off in (None, 0, False):
    tx = oj.keras.rmsprop(momentum=0.9, gradient_accumulation_steps=off)
    assert jax.tree.structure(tx.init(PARAMS)) == jax.tree.structure(plain.init(PARAMS))
  with pytest.raises(TypeError, match="gradient_accumulation_steps"):
    oj.keras.rmsprop(gradient_accumulation_steps="2")
  with pytest.raises(TypeError, match="static_args"):  # optax injects an int: it decides the state
    optax.inject_hyperparams(oj.keras.rmsprop)(gradient_accumulation_steps=2).init(PARAMS)
  injected = oj.inject_hyperparams(oj.keras.rmsprop)(learning_rate=0.01, gradient_accumulation_steps=2)
  assert "gradient_accumulation_steps" not in injected.init(PARAMS).hyperparams


# --- the constructors' other arguments --------------------------------------------------------------------


@functools.cache
def _recorded():
  return json.loads((golden_utils.GOLDEN_DIR / "keras_schedules" / "signatures.json").read_text())


@pytest.mark.parametrize("version", list(VERSIONS))
def test_signature_starts_with_kerases(version):
  """Keras's arguments in its order with its defaults (a positional call works), then keyword-only:
  ours and what Keras takes in **kwargs (tf_keras: mesh, lr, is_legacy_optimizer; Keras 3: decay)."""
  keras_params = [p for p in _recorded()[version]["RMSprop"] if p[2] != "VAR_KEYWORD"]
  ours = list(inspect.signature(VERSIONS[version].rmsprop).parameters.values())
  head = [[p.name, repr(p.default), p.kind.name] for p in ours[: len(keras_params)]]
  assert head == keras_params
  rest = {p.name for p in ours[len(keras_params) :]}
  assert all(p.kind is p.KEYWORD_ONLY for p in ours[len(keras_params) :])
  extras = {"mesh", "lr", "is_legacy_optimizer"} if version == "tf_keras" else {"decay"}
  assert rest == extras | {"exclude_from_weight_decay", "axis_name"}


@pytest.mark.parametrize("version", list(VERSIONS))
def test_get_config_round_trip(version):
  """rmsprop(**config) for the get_config() of real optimizers; the default one steps as the default."""
  mod = VERSIONS[version]
  configs = _recorded()[version]["get_config"]
  txs = [mod.rmsprop(**config) for config in configs]
  default_config, default = _run([txs[0], mod.rmsprop()])
  chex.assert_trees_all_equal(default_config, default)
  tx = txs[1]
  assert tx.__dict__["_made_by"][1]["name"] == "opt"


def test_arguments_without_effect_and_those_that_cannot_be_honoured():
  base = oj.tf_keras.rmsprop(0.01)
  with pytest.warns(UserWarning, match="`lr` is deprecated"):
    with_lr = oj.tf_keras.rmsprop(0.01, lr=0.5)  # ignored, as tf_keras ignores it
  with pytest.warns(UserWarning, match="`decay` is no longer supported"):
    with_decay = oj.keras.rmsprop(0.01, decay=0.1)
  positional = oj.keras.rmsprop(
    0.01, 0.9, 0.0, 1e-7, False, None, None, None, None, False, 0.99, None, None, None, "o"
  )
  others = [oj.tf_keras.rmsprop(0.01, jit_compile=False, name="x", is_legacy_optimizer=True), with_lr, with_decay,
            positional]  # fmt: skip
  out = _run([base, *others])
  for got in out[1:]:
    chex.assert_trees_all_equal(got, out[0])
  with pytest.raises(ValueError, match="DTensor mesh cannot be honoured"):
    oj.tf_keras.rmsprop(mesh="mesh")
  with pytest.raises(TypeError, match="jit_compile"):
    oj.tf_keras.rmsprop(jit_compile="yes")
  with pytest.raises(TypeError, match="name"):
    oj.tf_keras.rmsprop(name=3)
  for bad in ("a/b", 3):
    with pytest.raises(ValueError, match="`name` must be a string and cannot contain character `/`"):
      oj.keras.rmsprop(name=bad)
  with pytest.raises(TypeError):
    oj.tf_keras.rmsprop(gradient_accumulation_steps=2)  # a Keras 3 argument


def test_documentation_gives_no_optax_masked_or_multisteps_advice():
  """optax.masked around a preset passes the masked leaves' raw gradients through as updates (an ascent
  step); optax.MultiSteps is not Keras 3's accumulation: our docs recommend neither."""
  for mod in VERSIONS.values():
    for obj in (mod, mod.rmsprop, oj._keras_common):
      doc = inspect.getdoc(obj) or ""
      assert "optax.masked" not in doc and "MultiSteps" not in doc, obj
  g = {"b": jnp.array([0.5])}
  hazard = optax.masked(oj.keras.rmsprop(0.1), {"b": False})
  u, _ = hazard.update(g, hazard.init(g), g)
  assert float(u["b"][0]) == 0.5  # the raw gradient: apply_updates would add it
