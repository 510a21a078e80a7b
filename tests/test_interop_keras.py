"""oj.interop for Keras: tf_keras / Keras 3 RMSprop state in and out, from_keras and its configuration.

The golden cases (tests/golden/interop_keras, made by tools/make_golden.py interop_keras) hold (a) the
framework's ``opt.variables`` after k steps and its next n steps, and (b) our export after k steps and the
framework's n steps after loading it. Each case compiles one step function, shared by all its runs.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from golden_utils import GOLDEN_DIR, TOL_F32, TOL_F64, normwise_error

import optim_jax as oj
from optim_jax import interop
from optim_jax.interop._keras_live import _MODULES

FAMILY = GOLDEN_DIR / "interop_keras"
CASES = sorted(p.stem for p in FAMILY.glob("*.npz"))


@functools.cache
def load(name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
  meta = json.loads((FAMILY / f"{name}.json").read_text())
  with np.load(FAMILY / f"{name}.npz") as data:
    arrays = {k: data[k] for k in data.files}
  return meta, arrays


def group(arrays: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
  return {k[len(prefix) + 1 :]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def precision(meta: dict[str, Any]) -> Any:
  return jax.enable_x64(meta["dtype"] == "float64")


def transformation(meta: dict[str, Any]) -> Any:
  record = meta["from_keras"]
  return interop.from_keras_config(
    record["config"], version=record["version"], class_name=record["class_name"], excluded=record["excluded"]
  )


@functools.cache
def stepper(name: str) -> tuple[Any, Any]:
  """(tx, one jitted step) of a case: the step is compiled once, for every run of the case."""
  meta, _ = load(name)
  with precision(meta):
    tx = transformation(meta)

  @jax.jit
  def step(params, state, g):
    updates, state = tx.update(g, state, params)
    return optax.apply_updates(params, updates), state

  return tx, step


def run(name: str, params: Any, state: Any, grads: dict[str, np.ndarray], start: int, stop: int):
  """Steps start..stop-1: (params after each, stacked; the average after each or None; params; state)."""
  meta, _ = load(name)
  _, step = stepper(name)
  ema = bool(meta["from_keras"]["config"].get("use_ema"))
  traj, avg = [], []
  for t in range(start, stop):
    params, state = step(params, state, {k: jnp.asarray(v[t]) for k, v in grads.items()})
    traj.append(params)
    if ema:
      avg.append(oj.ema_params(state))
  stack = lambda xs: {k: np.stack([np.asarray(x[k]) for x in xs]) for k in xs[0]}  # noqa: E731
  return stack(traj), (stack(avg) if ema else None), params, state


def tolerance(meta: dict[str, Any]) -> float:
  return TOL_F64 if meta["dtype"] == "float64" else TOL_F32


def assert_close(meta, ours, ref, what):
  errors = normwise_error(ours, ref)
  assert max(errors.values()) <= tolerance(meta), f"{meta['case']} {what}: {errors}"


def framework_state(meta, arrays) -> dict[str, np.ndarray]:
  return {k: arrays[f"a/state/{i}"] for i, k in enumerate(meta["a_state_keys"])}


def short(meta, key: str) -> str:
  return key.rsplit("/", 1)[-1] if meta["framework"] == "keras" else key


def tree(arrays, prefix, dtype):
  return {k: jnp.asarray(v, dtype) for k, v in group(arrays, prefix).items()}


def assert_same_state(a, b):
  assert jax.tree.structure(a) == jax.tree.structure(b)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
    assert x.dtype == y.dtype and np.array_equal(np.asarray(x), np.asarray(y))


# --- golden: resuming the framework's run here, and ours in the framework ------------------------------


@pytest.mark.parametrize("name", CASES)
def test_resume_framework_state(name):
  """(a) import the framework's variables at step k, continue n steps, match its continuation; the
  list form imports the same state; export gives back the framework's variables bit for bit."""
  meta, arrays = load(name)
  k, n = meta["k"], meta["n"]
  with precision(meta):
    tx, _ = stepper(name)
    params = tree(arrays, "a/params_k", meta["dtype"])
    saved = framework_state(meta, arrays)
    state = interop.import_keras_state(tx, params, saved, names=meta["names"])
    order = [meta["names"][m] for m in meta["model_variables"]]
    assert_same_state(state, interop.import_keras_state(tx, params, list(saved.values()), names=order))
    iteration = int(next(iter(saved.values())))
    assert iteration == k
    back = interop.export_keras_state(tx, params, state, names=meta["names"], step=iteration)
    assert list(back) == [short(meta, key) for key in saved]
    for key, value in saved.items():
      got = back[short(meta, key)]
      assert got.dtype == value.dtype and np.array_equal(got, value), key
    traj, avg, _, _ = run(name, params, state, group(arrays, "grads"), k, k + n)
  assert_close(meta, traj, group(arrays, "a/params"), "params after import")
  if avg is not None:
    assert_close(meta, avg, group(arrays, "a/average"), "average after import")


@pytest.mark.parametrize("name", CASES)
def test_framework_resumes_ours(name):
  """(b) our k steps exported as recorded (bit for bit where recorded: the generator runs the same jitted
  step; within the tolerance elsewhere); our next n steps match the framework's from that export."""
  meta, arrays = load(name)
  k, n = meta["k"], meta["n"]
  with precision(meta):
    tx, _ = stepper(name)
    init = tree(arrays, "init", meta["dtype"])
    grads = group(arrays, "grads")
    _, _, params, state = run(name, init, tx.init(init), grads, 0, k)
    export = interop.export_keras_state(tx, params, state, names=meta["names"], step=k)
    recorded = {key: arrays[f"b/export/{i}"] for i, key in enumerate(meta["b_export_keys"])}
    assert list(export) == list(recorded)
    for key, value in recorded.items():
      assert export[key].dtype == value.dtype and export[key].shape == value.shape, key
      scale = max(float(np.max(np.abs(value))), 1e-30)
      assert float(np.max(np.abs(export[key] - value))) <= tolerance(meta) * scale, key
    traj, avg, _, _ = run(name, params, state, grads, k, k + n)
  assert_close(meta, traj, group(arrays, "b/params"), "params after export")
  if avg is not None:
    assert_close(meta, avg, group(arrays, "b/average"), "average after export")


def test_cases_cover_the_brief():
  metas = [load(name)[0] for name in CASES]
  for version in ("tf_keras", "keras"):
    mine = [m for m in metas if m["framework"] == version]
    configs = [m["from_keras"]["config"] for m in mine]
    assert any(c["momentum"] and c["centered"] and isinstance(c["learning_rate"], dict) for c in configs)
    assert any(
      c["use_ema"] and m["k"] % c["ema_overwrite_frequency"] for m, c in zip(mine, configs, strict=True)
    )
    assert any(m["from_keras"]["excluded"] and m["from_keras"]["config"]["weight_decay"] for m in mine)
    assert any(m["dtype"] == "float64" for m in mine)
    assert any(m["k"] == 100 and m["n"] == 200 for m in mine)
    assert any(not isinstance(c["learning_rate"], dict) for c in configs)  # no counter: step=
  assert any(m["from_keras"]["config"].get("gradient_accumulation_steps") == 2 and m["k"] % 2 for m in metas)


# --- from_keras on a stand-in of a live optimizer (the framework is not installed here) ------------------


class _Var:
  def __init__(self, path: str, value: Any, name: str | None = None) -> None:
    self.path, self.name, self._value = path, name or path.rsplit("/", 1)[-1], np.asarray(value)

  def numpy(self) -> np.ndarray:
    return self._value


def _live(meta, arrays, *, built=True):
  """An object that looks to from_keras like the case's optimizer after k steps."""
  version = meta["framework"]
  cls = type("RMSprop", (), {"__module__": _MODULES[version]})
  opt = cls()
  opt.get_config = lambda: meta["from_keras"]["config"]
  saved = framework_state(meta, arrays)
  opt.variables = [_Var(k, v, name=k if version == "tf_keras" else None) for k, v in saved.items()]
  setattr(opt, "built" if version == "keras" else "_built", built)
  return opt


def test_from_keras_stand_in():
  name = "keras_accumulate2_k11_ema_f3_wd_loss_scale_mom_piece_f32"
  meta, arrays = load(name)
  params = tree(arrays, "a/params_k", meta["dtype"])
  tx, state = interop.from_keras(_live(meta, arrays), params=params, names=meta["names"])
  assert isinstance(tx, oj.keras.rmsprop().__class__)
  expected = interop.import_keras_state(
    stepper(name)[0], params, framework_state(meta, arrays), names=meta["names"]
  )
  assert_same_state(state, expected)
  assert interop.from_keras(_live(meta, arrays, built=False)).opt_state is None
  with pytest.raises(ValueError, match="pass params="):
    interop.from_keras(_live(meta, arrays))


def test_from_keras_exclusion_needs_variables():
  meta, arrays = load("tf_keras_wd_exclude_bias_gnorm_mom_piece_f32")
  opt = _live(meta, arrays)
  opt._exclude_from_weight_decay_names = ["bias"]
  with pytest.raises(ValueError, match="variables=model.trainable_variables"):
    interop.from_keras(opt, params=tree(arrays, "a/params_k", meta["dtype"]), names=meta["names"])
  opt._use_weight_decay = lambda v: "bias" not in v.name
  variables = [_Var(m, 0.0, name=m + ":0") for m in meta["model_variables"]]
  tx, _ = interop.from_keras(opt, params=tree(arrays, "a/params_k", meta["dtype"]), names=meta["names"],
                             variables=variables)  # fmt: skip
  assert tx.__dict__["_made_by"][1]["exclude_from_weight_decay"].var_list == ["bias"]


def test_from_keras_live():
  """The real framework, where installed (the generator runs this check on every case too)."""
  keras = pytest.importorskip("keras")
  v = keras.Variable(np.ones(3, "float32"), name="kernel")
  opt = keras.optimizers.RMSprop(0.01, momentum=0.9)
  opt.build([v])
  opt.apply_gradients([(keras.ops.ones(3), v)])
  tx, state = interop.from_keras(opt, params={"kernel": jnp.asarray(v.numpy())})
  back = interop.export_keras_state(tx, {"kernel": jnp.asarray(v.numpy())}, state, step=1)
  assert all(np.array_equal(back[x.name], x.numpy()) for x in opt.variables)


# --- bad input ----------------------------------------------------------------------------------------

P = {"bias": jnp.zeros(3), "kernel": jnp.zeros((2, 3))}


def _k3(lr: Any = 0.01, **kwargs):
  tx = oj.keras.rmsprop(lr, momentum=0.9, **kwargs)
  state = {"opt/iteration": np.int64(4), "opt/learning_rate": np.float32(0.01)}
  for slot in ("velocity", "momentum"):  # Keras's order: every velocity, then every momentum
    for path, leaf in P.items():
      state[f"opt/{path}_{slot}"] = np.ones(leaf.shape, np.float32)
  return tx, state


def test_missing_key():
  tx, state = _k3()
  del state["opt/kernel_momentum"]
  with pytest.raises(KeyError, match="kernel_momentum"):
    interop.import_keras_state(tx, P, state)


def test_extra_key():
  tx, state = _k3()
  state["opt/kernel_average_gradient"] = np.ones((2, 3), np.float32)
  with pytest.raises(ValueError, match="kernel_average_gradient"):
    interop.import_keras_state(tx, P, state)
  tx2 = oj.keras.rmsprop(0.01)  # no momentum: the momentum variables are extra
  with pytest.raises(ValueError, match="momentum"):
    interop.import_keras_state(tx2, P, state)


@pytest.mark.parametrize(
  "value, match",
  [
    (np.ones((3, 2), np.float32), r"'kernel'.*float32\[3, 2\]"),
    (np.ones((2, 3), np.float64), r"'kernel'.*float64"),
  ],
)
def test_shape_and_dtype(value, match):
  tx, state = _k3()
  state["opt/kernel_velocity"] = value
  with pytest.raises(ValueError, match=match):
    interop.import_keras_state(tx, P, state)


def test_learning_rate_disagrees():
  tx, state = _k3(lr=0.02)
  with pytest.raises(ValueError, match="learning_rate.*0.02"):
    interop.import_keras_state(tx, P, state)
  tx, state = _k3(lr=oj.keras.exponential_decay(0.01, 5, 0.9))  # a schedule: no learning_rate variable
  with pytest.raises(ValueError, match="learning_rate"):
    interop.import_keras_state(tx, P, state)


@pytest.mark.parametrize("value", [np.int64(-1), np.float32(2.5), np.int64(2**31), np.zeros(2, np.int64)])
def test_bad_iteration(value):
  tx, state = _k3()
  state["opt/iteration"] = value
  with pytest.raises(ValueError, match="iteration"):
    interop.import_keras_state(tx, P, state)


def test_list_form_and_names():
  tx, state = _k3()
  good = interop.import_keras_state(tx, P, state)
  assert_same_state(good, interop.import_keras_state(tx, P, list(state.values())))
  with pytest.raises(ValueError, match="a list of 5 arrays"):
    interop.import_keras_state(tx, P, list(state.values())[:-1])
  with pytest.raises(ValueError, match="no names"):
    interop.import_keras_state(tx, P, list(state.values()), names={"bias": "bias", "kernel": "kernel"})
  with pytest.raises(ValueError, match="not parameter paths"):
    interop.import_keras_state(tx, P, state, names=["bias", "dense/kernel"])
  # by name, in another order, and by position
  swapped = interop.import_keras_state(tx, P, state, names={"kernel": "kernel", "bias": "bias"})
  assert_same_state(good, swapped)
  assert_same_state(
    good, interop.import_keras_state(tx, P, list(state.values()), names={0: "bias", 1: "kernel"})
  )


def test_wrong_version_and_transformation():
  tx, state = _k3()
  with pytest.raises(ValueError, match="version='tf_keras'"):
    interop.import_keras_state(tx, P, state, version="tf_keras")
  with pytest.raises(TypeError, match="oj.keras.rmsprop"):
    interop.import_keras_state(optax.rmsprop(0.01), P, state)
  with pytest.raises(KeyError, match="velocity"):  # a tf_keras transformation reading Keras 3 names
    interop.import_keras_state(oj.tf_keras.rmsprop(0.01, momentum=0.9), P, state)


def test_export_step():
  tx, state = _k3()
  ours = interop.import_keras_state(tx, P, state)
  with pytest.raises(ValueError, match="step="):
    interop.export_keras_state(tx, P, ours)
  assert int(interop.export_keras_state(tx, P, ours, step=4)["iteration"]) == 4
  txs = oj.keras.rmsprop(oj.keras.exponential_decay(0.01, 5, 0.9), momentum=0.9)
  state.pop("opt/learning_rate")
  ours = interop.import_keras_state(txs, P, state)
  assert int(interop.export_keras_state(txs, P, ours)["iteration"]) == 4
  with pytest.raises(ValueError, match="disagrees"):
    interop.export_keras_state(txs, P, ours, step=5)


def test_accumulation_counts():
  tx = oj.keras.rmsprop(oj.keras.exponential_decay(0.01, 5, 0.9), gradient_accumulation_steps=3)
  state = interop.export_keras_state(tx, P, tx.init(P))
  state["iteration"] = np.int64(7)  # 7 micro-steps: 2 updates applied
  ours = interop.import_keras_state(tx, P, state)
  counts = {s.where: int(v) for s, v in interop.state_slots(ours, P) if s.field == "count"}
  assert sorted(counts.values()) == [2, 7], counts


@pytest.mark.parametrize(
  "config, kwargs, error, match",
  [
    ({}, {"class_name": "Adam"}, ValueError, "'Adam' is not reproduced"),
    ({"learning_rate": {"class_name": "MySchedule", "config": {}}}, {}, ValueError, "MySchedule"),
    ({"amsgrad": True}, {}, ValueError, "amsgrad"),
    ({"learning_rate": "fast"}, {}, TypeError, "learning_rate"),
    ({}, {"version": "keras2"}, ValueError, "version"),
  ],
)
def test_from_keras_config_errors(config, kwargs, error, match):
  with pytest.raises(error, match=match):
    interop.from_keras_config(config, **{"version": "keras", **kwargs})


def test_from_keras_rejects_other_classes():
  legacy = type("RMSprop", (), {"__module__": "tf_keras.src.optimizers.legacy.rmsprop"})()
  with pytest.raises(ValueError, match="legacy.rmsprop.RMSprop is not reproduced"):
    interop.from_keras(legacy)
