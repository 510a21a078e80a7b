"""Keras state interop goldens (table family): tf_keras and Keras 3 RMSprop resumed mid-training.

For each case, with the seeded inputs of `harness.make_inputs` (k + n steps):

(a) the framework runs k steps; its ``opt.variables`` are saved (``a/state/<i>``, the keys in the json's
    ``a_state_keys``: ``v.path`` in Keras 3, ``v.name`` in tf_keras) with the parameters then
    (``a/params_k/<leaf>``); it continues n steps: ``a/params/<leaf>`` (n, ...) and, with ``use_ema``,
    ``a/average/<leaf>``.
(b) optim_jax (``from_keras_config`` of the recorded configuration) runs the same k steps; its state is
    exported with ``export_keras_state`` (``b/export/<i>``, keys in ``b_export_keys``) with our
    parameters (``b/params_k/<leaf>``), loaded into a fresh framework optimizer built on model variables
    holding them, and the framework continues n steps: ``b/params/<leaf>``, ``b/average/<leaf>``.

The model variables are created in a Dense layer's order (kernel, bias, scale) and named as a layer
names them (``dense/kernel``, ``dense/bias``, ``scale``); our leaves are ``bias``, ``kernel``, ``scale``
(jax's order), so the mapping ``names`` (json) is not the identity. The json also records what the live
optimizer exposes (``from_keras``: class, version, ``get_config()``, the excluded paths) and the live
``from_keras`` is checked here: its imported state must export back to the saved variables exactly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from golden_cases import harness, runners

SHAPES = {"bias": (3,), "kernel": (2, 3), "scale": ()}
MODEL = [("dense/kernel", "kernel"), ("dense/bias", "bias"), ("scale", "scale")]  # model order
NAMES = dict(MODEL)


def _sched(version: str, kind: str, **kwargs: Any) -> dict[str, Any]:
  return harness.spec(f"{version}.optimizers.schedules.{kind}", **kwargs)


def _exp(version: str, lr: float = 0.01, steps: int = 5) -> dict[str, Any]:
  return _sched(version, "ExponentialDecay", initial_learning_rate=lr, decay_steps=steps, decay_rate=0.9)


def _piece(version: str) -> dict[str, Any]:
  return _sched(version, "PiecewiseConstantDecay", boundaries=[8, 20], values=[0.01, 0.005, 0.002])


def cases() -> list[dict[str, Any]]:
  """Each: name, version, dtype, k, n, kwargs (the RMSprop's, the schedule as a spec), exclude names."""
  out = []

  def add(version, label, dtype, k, n, **kwargs):
    exclude = kwargs.pop("exclude", None)
    name = f"{version}_{label}_{harness.SHORT_DTYPES[dtype]}"
    out.append(dict(name=name, version=version, dtype=dtype, k=k, n=n, kwargs=kwargs, exclude=exclude))

  for v in ("tf_keras", "keras"):
    add(v, "mom_centered_exp", "float32", 13, 30, learning_rate=_exp(v), momentum=0.9, centered=True)
    add(
      v,
      "ema_f4_mom_piece",
      "float32",
      10,
      20,
      learning_rate=_piece(v),
      momentum=0.9,
      use_ema=True,
      ema_momentum=0.9,
      ema_overwrite_frequency=4,
    )
    add(
      v,
      "wd_exclude_bias_gnorm_mom_piece",
      "float32",
      12,
      25,
      learning_rate=_piece(v),
      momentum=0.5,
      weight_decay=0.1,
      global_clipnorm=2.0,
      exclude=["bias"],
    )
    add(
      v,
      "centered_ema_f3_wd_clipnorm_mom_piece",
      "float64",
      12,
      25,
      learning_rate=_piece(v),
      momentum=0.9,
      centered=True,
      use_ema=True,
      ema_momentum=0.8,
      ema_overwrite_frequency=3,
      weight_decay=0.05,
      clipnorm=1.5,
    )
    add(v, "const_clipvalue_mom", "float32", 10, 20, learning_rate=0.01, momentum=0.9, clipvalue=0.5)
    add(v, "long_mom_exp", "float32", 100, 200, learning_rate=_exp(v, 0.005, 20), momentum=0.9)
  for dt in harness.DTYPES:
    add(
      "keras",
      "accumulate2_k11_ema_f3_wd_loss_scale_mom_piece",
      dt,
      11,
      24,
      learning_rate=_piece("keras"),
      momentum=0.9,
      gradient_accumulation_steps=2,
      use_ema=True,
      ema_momentum=0.9,
      ema_overwrite_frequency=3,
      weight_decay=0.05,
      loss_scale_factor=4.0,
    )
  return out


# --- the framework side --------------------------------------------------------------------------------


def _make_optimizer(case: dict[str, Any]) -> Any:
  kwargs = dict(case["kwargs"])
  if isinstance(kwargs["learning_rate"], dict):
    kwargs["learning_rate"] = runners._build(kwargs["learning_rate"])
  opt = runners.resolve(f"{case['version']}.optimizers.RMSprop")(**kwargs)
  if case["exclude"]:
    opt.exclude_from_weight_decay(var_names=case["exclude"])
  return opt


def _model_variables(case: dict[str, Any], values: dict[str, np.ndarray]) -> list:
  """The model's variables in its order, holding ``values`` (by leaf)."""
  if case["version"] == "tf_keras":
    import tensorflow as tf

    return [tf.Variable(values[leaf], dtype=case["dtype"], name=name) for name, leaf in MODEL]
  import keras

  out = []
  for name, leaf in MODEL:
    scope, _, short = name.rpartition("/")
    with keras.name_scope(scope) if scope else contextlib.nullcontext():
      out.append(keras.Variable(values[leaf], dtype=case["dtype"], name=short))
  return out


def _step(case: dict[str, Any], opt: Any, variables: list, grads: dict[str, np.ndarray], t: int) -> None:
  if case["version"] == "tf_keras":
    import tensorflow as tf

    g = [tf.constant(grads[leaf][t], dtype=case["dtype"]) for _, leaf in MODEL]
  else:
    import keras

    g = [keras.ops.convert_to_tensor(grads[leaf][t], dtype=case["dtype"]) for _, leaf in MODEL]
  opt.apply_gradients(zip(g, variables, strict=True))


def _average(case: dict[str, Any], opt: Any, variables: list) -> list[np.ndarray]:
  avg = opt._model_variables_moving_average
  if case["version"] == "tf_keras":
    return [np.array(avg[opt._index_dict[opt._var_key(v)]].numpy()) for v in variables]
  return [np.array(avg[opt._get_variable_index(v)].numpy()) for v in variables]


def _continue(case, opt, variables, grads) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
  """n more framework steps: (params, average) after each, per leaf."""
  params = {leaf: [] for _, leaf in MODEL}
  average = {leaf: [] for _, leaf in MODEL}
  for t in range(case["k"], case["k"] + case["n"]):
    _step(case, opt, variables, grads, t)
    for (_, leaf), v in zip(MODEL, variables, strict=True):
      params[leaf].append(np.array(v.numpy()))
    if case["kwargs"].get("use_ema"):
      for (_, leaf), a in zip(MODEL, _average(case, opt, variables), strict=True):
        average[leaf].append(a)
  stack = {k: np.stack(v) for k, v in params.items()}
  return stack, ({k: np.stack(v) for k, v in average.items()} if case["kwargs"].get("use_ema") else None)


def _saved(case: dict[str, Any], opt: Any) -> dict[str, np.ndarray]:
  key = (lambda v: v.path) if case["version"] == "keras" else (lambda v: v.name)
  return {key(v): np.array(v.numpy()) for v in opt.variables}


# --- our side (optim_jax in this venv) ---------------------------------------------------------------


def _ours(case: dict[str, Any], tx: Any, init: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> Any:
  import jax
  import jax.numpy as jnp
  import optax

  @jax.jit  # as the test runs it (one jitted step), so that the export is reproduced bit for bit
  def step(params, state, g):
    updates, state = tx.update(g, state, params)
    return optax.apply_updates(params, updates), state

  params = {leaf: jnp.asarray(init[leaf]) for leaf in SHAPES}
  state = tx.init(params)
  for t in range(case["k"]):
    params, state = step(params, state, {leaf: jnp.asarray(grads[leaf][t]) for leaf in SHAPES})
  return jax.tree.map(np.asarray, params), state


def _record_case(case: dict[str, Any], folder: Path, versions: dict[str, str]) -> Path:
  import jax

  from optim_jax import interop

  steps = case["k"] + case["n"]
  hcase = harness.named_case(
    case["name"], framework=case["version"], dtype=case["dtype"], steps=steps, optimizer="RMSprop",
    shapes=dict(SHAPES),
  )  # fmt: skip
  init, grads = harness.make_inputs(hcase)
  arrays: dict[str, np.ndarray] = {}
  for leaf in SHAPES:
    arrays[f"init/{leaf}"] = init[leaf]
    arrays[f"grads/{leaf}"] = grads[leaf]

  # (a) the framework: k steps, save, n more
  variables = _model_variables(case, init)
  opt = _make_optimizer(case)
  unbuilt = interop.from_keras(opt, variables=variables, names=NAMES, params=init)
  assert unbuilt.opt_state is None
  opt.build(variables)
  for t in range(case["k"]):
    _step(case, opt, variables, grads, t)
  saved = _saved(case, opt)
  params_k = {leaf: np.array(v.numpy()) for (_, leaf), v in zip(MODEL, variables, strict=True)}
  config = opt.get_config()
  x64 = jax.enable_x64(True) if case["dtype"] == "float64" else contextlib.nullcontext()
  with x64:
    live = interop.from_keras(opt, params=params_k, names=NAMES, variables=variables)
    iteration = int(next(iter(saved.values())))  # opt.variables[0] is the iteration counter
    back = interop.export_keras_state(live.tx, params_k, live.opt_state, names=NAMES, step=iteration)
  stripped = {k.rsplit("/", 1)[-1] if case["version"] == "keras" else k: v for k, v in saved.items()}
  assert list(back) == list(stripped), (list(back), list(stripped))
  for key in back:
    assert back[key].dtype == stripped[key].dtype or key.startswith("iteration"), key
    assert np.array_equal(back[key], stripped[key]), key
  # what from_keras read from the live optimizer (Keras's own rule on the model variables)
  excluded = interop._keras_live._excluded_paths(opt, case["version"], variables, params_k, NAMES)
  a_params, a_average = _continue(case, opt, variables, grads)
  for i, value in enumerate(saved.values()):
    arrays[f"a/state/{i}"] = value
  for leaf in SHAPES:
    arrays[f"a/params_k/{leaf}"] = params_k[leaf]
    arrays[f"a/params/{leaf}"] = a_params[leaf]
    if a_average is not None:
      arrays[f"a/average/{leaf}"] = a_average[leaf]

  # (b) ours: k steps, export, the framework continues
  with x64:
    tx = interop.from_keras_config(config, version=case["version"], excluded=excluded)
    our_params, our_state = _ours(case, tx, init, grads)
    export = interop.export_keras_state(tx, our_params, our_state, names=NAMES, step=case["k"])
  variables = _model_variables(case, our_params)
  opt = _make_optimizer(case)
  opt.build(variables)
  by_name = {v.name: v for v in opt.variables}
  assert sorted(by_name) == sorted(export), (sorted(by_name), sorted(export))
  for v in opt.variables:
    v.assign(export[v.name])
  b_params, b_average = _continue(case, opt, variables, grads)
  for i, value in enumerate(export.values()):
    arrays[f"b/export/{i}"] = value
  for leaf in SHAPES:
    arrays[f"b/params_k/{leaf}"] = our_params[leaf]
    arrays[f"b/params/{leaf}"] = b_params[leaf]
    if b_average is not None:
      arrays[f"b/average/{leaf}"] = b_average[leaf]

  folder.mkdir(parents=True, exist_ok=True)
  path = folder / f"{case['name']}.npz"
  np.savez_compressed(path, **arrays)
  meta = {
    "family": "interop_keras",
    "case": case["name"],
    "framework": case["version"],
    "framework_version": versions[case["version"]],
    "versions": harness.all_versions(versions),
    "dtype": case["dtype"],
    "seed": hcase.seed,
    "k": case["k"],
    "n": case["n"],
    "shapes": {k: list(v) for k, v in SHAPES.items()},
    "grad_spec": dataclasses.asdict(hcase.grad_spec),
    "model_variables": [name for name, _ in MODEL],
    "names": NAMES,
    "keras_kwargs": case["kwargs"],
    "exclude_from_weight_decay": {"var_names": case["exclude"]},
    "from_keras": {
      "class_name": type(opt).__name__,
      "version": case["version"],
      "config": config,
      "excluded": excluded,
    },
    "a_state_keys": list(saved),
    "b_export_keys": list(export),
    "generated_by": "tools/make_golden.py interop_keras",
  }
  path.with_suffix(".json").write_text(json.dumps(harness._jsonable(meta), indent=1) + "\n")
  return path


def write_tables(folder: Path) -> None:
  os.environ.setdefault("KERAS_BACKEND", "tensorflow")
  versions = runners.versions()
  names = set()
  for case in cases():
    path = _record_case(case, folder, versions)
    names.add(case["name"])
    print(f"interop_keras/{case['name']}: {path.stat().st_size / 1024:.1f} KiB")
  for stale in folder.glob("*.npz"):
    if stale.stem not in names:
      stale.unlink()
      stale.with_suffix(".json").unlink(missing_ok=True)
