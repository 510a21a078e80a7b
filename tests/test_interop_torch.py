"""oj.interop for PyTorch: checkpoints in and out, against torch 2.13 (tests/golden/interop_torch).

Each golden case (tools/golden_cases/interop_torch.py) holds torch's checkpoint after k steps and its
n continued steps, and our export after k steps with torch's n steps from it. (a) imports torch's
checkpoint into the transformation `from_torch_config` makes of the recorded description and
continues in JAX; (b) runs our preset k + n steps, checks the export at k against the recorded one
and the continuation against torch's. Then round trips, the live-object layer without torch, and bad
input.
"""

from __future__ import annotations

import json

import golden_utils as gu
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optim_jax.interop import (
  export_torch_state,
  from_torch_config,
  import_torch_state,
  torch_config,
)

FAMILY = "interop_torch"
CASES = gu.case_names(FAMILY)


def load(name: str) -> dict:
  meta = gu.load_meta(FAMILY, name)
  with np.load(gu.GOLDEN_DIR / FAMILY / f"{name}.npz") as data:
    arrays = {k: data[k] for k in data.files}

  def tree(prefix: str) -> dict:
    return {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(prefix + "/")}

  def state(prefix: str) -> dict:
    out: dict = {}
    for key, v in tree(prefix).items():
      index, field = key.split("/")
      out.setdefault(int(index), {})[field] = v
    return out

  meta["ckpt"] = {"state": state("ckpt"), "param_groups": meta["ckpt_param_groups"]}
  meta["export"] = {"state": state("export"), "param_groups": meta["export_param_groups"]}
  for key in ("init", "grads", "params_k", "cont_a", "cont_b"):
    meta[key] = tree(key)
  return meta


def tolerance(meta: dict) -> float:
  if meta["dtype"] == "float64":
    return gu.TOL_F64
  return gu.TOL_F32 if meta["k"] + meta["n"] <= 100 else gu.TOL_F32_LONG


def stepper(tx):
  """One jitted step (params, state, grad) -> (params, state), compiled once per case."""

  @jax.jit
  def step(p, s, g):
    u, s = tx.update(g, s, p)
    return optax.apply_updates(p, u), s

  return step


def run(step, params, state, grads, start, count):
  """Params after each of ``count`` steps from (params, state), the grads from step ``start``; and the
  state after each step."""
  traj, states = [], []
  for t in range(start, start + count):
    params, state = step(params, state, {k: v[t] for k, v in grads.items()})
    traj.append(params)
    states.append(state)
  return {k: np.stack([np.asarray(p[k]) for p in traj]) for k in grads}, states


def jsonable(obj):
  return json.loads(json.dumps(obj))


def assert_groups_equal(ours: list, ref: list) -> None:
  """param_groups equal: numbers within 1e-13 relative (PyTorch's chainable lr vs our closed form)."""
  ours, ref = jsonable(ours), jsonable(ref)
  assert len(ours) == len(ref)
  for i, (a, b) in enumerate(zip(ours, ref, strict=True)):
    assert sorted(a) == sorted(b), (i, sorted(a), sorted(b))
    for key in a:
      if isinstance(b[key], float):
        assert a[key] == pytest.approx(b[key], rel=1e-13, abs=0), (i, key, a[key], b[key])
      else:
        assert a[key] == b[key], (i, key, a[key], b[key])


def assert_state_equal(ours: dict, ref: dict, rel: float = 0.0) -> None:
  assert list(ours) == list(ref)
  for index in ref:
    assert list(ours[index]) == list(ref[index]), (index, list(ours[index]), list(ref[index]))
    for key, r in ref[index].items():
      o = np.asarray(ours[index][key])
      assert o.dtype == r.dtype and o.shape == r.shape, (index, key, o.dtype, r.dtype)
      if rel == 0.0:
        np.testing.assert_array_equal(o, r, err_msg=f"{index}/{key}")
      else:
        np.testing.assert_allclose(
          o, r, rtol=0, atol=rel * max(np.max(np.abs(r)), 1e-30), err_msg=f"{index}/{key}"
        )


def same_state(a, b) -> bool:
  return all(jax.tree.leaves(jax.tree.map(lambda x, y: x.dtype == y.dtype and np.array_equal(x, y), a, b)))


@pytest.fixture(scope="module", params=CASES)
def case(request):
  """A case, replayed once: (a) the import of torch's checkpoint and its continuation, (b) our k + n
  steps and the export at k, with one compiled step for both."""
  meta = load(request.param)
  k, n, names = meta["k"], meta["n"], meta["names"]
  with gu.precision(gu.GoldenCase(FAMILY, meta["case"], meta, {}, {}, {}, None)):
    params_k = {key: jnp.asarray(v) for key, v in meta["params_k"].items()}
    tx = from_torch_config(meta["description"], params=params_k, names=names)
    step = stepper(tx)
    grads = {key: jnp.asarray(v) for key, v in meta["grads"].items()}
    state = import_torch_state(tx, params_k, meta["ckpt"], meta["ckpt_scheduler"], names=names)
    meta["a_state"] = state
    meta["a_again"] = export_torch_state(tx, params_k, state, names=names, step=k)
    meta["a_traj"], _ = run(step, params_k, state, grads, k, n)
    init = {key: jnp.asarray(v) for key, v in meta["init"].items()}
    traj, states = run(step, init, tx.init(init), grads, 0, k + n)
    ours_k = {key: v[k - 1] for key, v in traj.items()}
    exported = export_torch_state(tx, ours_k, states[k - 1], names=names, step=k)
    meta["b_export"] = exported
    meta["b_back"] = import_torch_state(tx, ours_k, *exported, names=names)
    meta["b_state"] = states[k - 1]
    meta["b_traj"] = {key: v[k:] for key, v in traj.items()}
  return meta


def test_import_continues_as_torch(case):
  """(a): torch's checkpoint after k steps, imported, continued n steps in JAX, matches torch's n steps."""
  errors = gu.normwise_error(case["a_traj"], case["cont_a"])
  assert max(errors.values()) <= tolerance(case), errors


def test_import_export_round_trip(case):
  """import -> export is torch's checkpoint again, bit for bit (param_groups' lr within 1e-13)."""
  again, sched = case["a_again"]
  assert_state_equal(again["state"], case["ckpt"]["state"])
  assert_groups_equal(again["param_groups"], case["ckpt"]["param_groups"])
  if case["ckpt_scheduler"] is not None:
    for key, value in sched.items():
      assert value == pytest.approx(case["ckpt_scheduler"][key], rel=1e-13), key


def test_export_equals_recorded(case):
  """(b): our state after k steps exports as recorded (the generator's run of optim_jax), and back."""
  exported, sched = case["b_export"]
  assert_state_equal(exported["state"], case["export"]["state"])
  assert_groups_equal(exported["param_groups"], case["export"]["param_groups"])
  assert jsonable(sched) == case["export_scheduler"]
  assert same_state(case["b_back"], case["b_state"])  # export -> import is our state, bit for bit


def test_export_continues_as_torch(case):
  """(b): torch loaded our export and ran n steps; our own n steps match them."""
  errors = gu.normwise_error(case["b_traj"], case["cont_b"])
  assert max(errors.values()) <= tolerance(case), errors


def test_description_gives_the_preset(case):
  """from_torch_config of torch's description is the configuration's preset (same options, same lr)."""
  with gu.precision(gu.GoldenCase(FAMILY, case["case"], case, {}, {}, {}, None)):
    params = {k: jnp.asarray(v) for k, v in case["params_k"].items()}
    ours = torch_config(from_torch_config(case["description"], params=params, names=case["names"]))
    ref = torch_config(gu.build_optimizer(case))
    assert ours.optimizer == ref.optimizer and len(ours.groups) == len(ref.groups)
    for a, b in zip(ours.groups, ref.groups, strict=True):
      for key in ("momentum", "alpha", "eps", "centered", "weight_decay", "betas", "lambd", "t0", "maximize"):
        if key in b:
          assert a[key] == pytest.approx(b[key]), key
      counts = np.arange(case["k"] + case["n"])
      la, lb = a["lr"], b["lr"]
      assert np.allclose(
        [la(c) if callable(la) else la for c in counts[:3]],
        [lb(c) if callable(lb) else lb for c in counts[:3]],
      )
