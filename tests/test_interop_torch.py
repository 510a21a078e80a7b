"""oj.interop for PyTorch: checkpoints in and out, against torch 2.13 (tests/golden/interop_torch).

Each golden case (tools/golden_cases/interop_torch.py) holds torch's checkpoint after k steps and its
n continued steps, and our export after k steps with torch's n steps from it. (a) imports torch's
checkpoint into the transformation `from_torch_config` makes of the recorded description and
continues in JAX; (b) runs our preset k + n steps, checks the export at k against the recorded one
and the continuation against torch's. Then round trips, the live-object layer without torch, and bad
input.
"""

from __future__ import annotations

import copy
import json

import golden_utils as gu
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from optim_jax.interop import (
  describe_torch,
  export_torch_state,
  from_torch,
  from_torch_config,
  import_torch_state,
  to_numpy,
  torch_config,
)
from optim_jax.interop._torch import option_at

FAMILY = "interop_torch"
PLATEAU = [c for c in gu.case_names(FAMILY) if c.startswith("torch_plateau_")]  # tested at the end
CASES = [c for c in gu.case_names(FAMILY) if c not in PLATEAU]


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
  """1e-12 for float64, 1e-6 for float32 (the 300-step case too: its worst is 2e-7)."""
  return gu.TOL_F64 if meta["dtype"] == "float64" else gu.TOL_F32


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


def assert_sched_equal(ours: dict, ref: dict, member: bool = False) -> None:
  """Our scheduler position equals torch's: its keys' values (lrs within 1e-13); a member of a
  SequentialLR/ChainedScheduler by its position alone (we write the group's lr as its _last_lr)."""
  for key, value in ours.items():
    if key == "_schedulers":
      assert len(value) == len(ref[key])
      for a, b in zip(value, ref[key], strict=True):
        assert_sched_equal(a, b, member=True)
    elif not (member and key == "_last_lr"):
      want = pytest.approx(ref[key], rel=1e-13) if isinstance(value, (float, list)) else ref[key]
      assert value == want, (key, value, ref[key])


def same_state(a, b) -> bool:
  return all(jax.tree.leaves(jax.tree.map(lambda x, y: x.dtype == y.dtype and np.array_equal(x, y), a, b)))


@pytest.fixture(scope="module", params=CASES)
def case(request):
  return replay(request.param)


def replay(name: str) -> dict:
  """A case, replayed once: (a) the import of torch's checkpoint and its continuation, (b) our k + n
  steps and the export at k, with one compiled step for both."""
  meta = load(name)
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
    assert_sched_equal(sched, case["ckpt_scheduler"])


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
  """from_torch_config of torch's description is the configuration's preset (same options, same lr and
  cycled momentum at the first counts)."""
  with gu.precision(gu.GoldenCase(FAMILY, case["case"], case, {}, {}, {}, None)):
    params = {k: jnp.asarray(v) for k, v in case["params_k"].items()}
    ours = torch_config(from_torch_config(case["description"], params=params, names=case["names"]))
    try:
      ref = torch_config(gu.build_optimizer(case))
    except NotImplementedError:
      pytest.skip("golden_utils maps no SequentialLR/ChainedScheduler (the golden replays check them)")
  assert ours.optimizer == ref.optimizer and len(ours.groups) == len(ref.groups)
  for a, b in zip(ours.groups, ref.groups, strict=True):
    assert sorted(a) == sorted(b)
    for key in b:
      for count in (0, 1, case["k"]):
        x, y = option_at(a[key], count), option_at(b[key], count)
        assert x == (y if isinstance(y, (bool, str, type(None))) else pytest.approx(y, rel=1e-12)), (
          key,
          count,
        )


# --- the live layer without torch: objects that quack like torch's ---------------------------------


def fake(name: str, state_dict: dict, **attrs):
  """An object of class ``name`` whose ``state_dict()`` is ``state_dict`` (a torch optimizer or scheduler)."""
  return type(name, (), {"state_dict": lambda self: copy.deepcopy(state_dict), **attrs})()


class FakeTensor:
  def __init__(self, value):
    self.value = np.asarray(value)

  def detach(self):
    return self

  def cpu(self):
    return self

  def numpy(self):
    return self.value


def test_from_torch_on_objects_like_torchs():
  """from_torch reads optimizer and scheduler through state_dict() (tensors through .detach()): the state
  is the import of the checkpoint, and the scheduler's position is the count."""
  meta = load("torch_groups_lr_wd_step_f32")
  ckpt = {
    "state": {i: {k: FakeTensor(v) for k, v in e.items()} for i, e in meta["ckpt"]["state"].items()},
    "param_groups": meta["ckpt"]["param_groups"],
  }
  opt = fake("RMSprop", ckpt)
  sched = fake("StepLR", meta["ckpt_scheduler"])
  params = {k: jnp.asarray(v) for k, v in meta["params_k"].items()}
  tx, state = from_torch(opt, sched, params=params, names=meta["names"])
  ref = import_torch_state(tx, params, meta["ckpt"], meta["ckpt_scheduler"], names=meta["names"])
  assert same_state(state, ref)
  assert [int(c) for c in jax.tree.leaves(state) if np.ndim(c) == 0 and c.dtype == np.int32] == [
    meta["k"]
  ] * 4
  assert describe_torch(opt, sched)["scheduler"]["class"] == "StepLR"
  with pytest.raises(ValueError, match="pass params="):
    from_torch(opt, sched)
  fresh = fake("RMSprop", {"state": {}, "param_groups": meta["ckpt"]["param_groups"][:1]})
  assert from_torch(fresh).opt_state is None


def test_from_torch_on_a_live_optimizer():
  """With torch installed: from_torch of a real RMSprop and StepLR after 3 steps (not in CI)."""
  torch = pytest.importorskip("torch")
  w = torch.nn.Parameter(torch.ones(2, 3))
  opt = torch.optim.RMSprop([w], lr=0.01, momentum=0.9, centered=True)
  sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
  for _ in range(3):
    w.grad = torch.full((2, 3), 0.5)
    opt.step()
    sched.step()
  tx, state = from_torch(opt, sched, params=jnp.ones((2, 3)))
  np.testing.assert_array_equal(state[0].square_avg, opt.state[w]["square_avg"].numpy())
  assert float(oj.torch.step_lr(0.01, 2, 0.5)(3)) == pytest.approx(opt.param_groups[0]["lr"])


def test_to_numpy_copies_and_keeps_structure():
  t = FakeTensor(np.ones(2, np.float32))
  out = to_numpy({"a": [t, (t, 1.5)], "b": None, "c": "x"})
  assert isinstance(out["a"], list) and isinstance(out["a"][1], tuple) and out["a"][1][1] == 1.5
  t.value[:] = 7  # the optimizer updates its tensors in place: the converted copy keeps its values
  assert out["a"][0].tolist() == [1.0, 1.0] and out["b"] is None and out["c"] == "x"


# --- bad input ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rms():
  """RMSprop (momentum, centered) under StepLR: its transformation, params and torch's checkpoint."""
  meta = load("torch_momentum_centered_step_f32")
  params = {k: jnp.asarray(v) for k, v in meta["params_k"].items()}
  tx = from_torch_config(meta["description"], params=params)
  return tx, params, meta


def bad(rms, edit, error, match, sched_edit=None):
  tx, params, meta = rms
  ckpt, sched = copy.deepcopy(meta["ckpt"]), copy.deepcopy(meta["ckpt_scheduler"])
  edit(ckpt)
  if sched_edit is not None:
    sched_edit(sched)
  with pytest.raises(error, match=match):
    import_torch_state(tx, params, ckpt, sched)


def test_the_fixture_checkpoint_imports(rms):
  tx, params, meta = rms
  import_torch_state(tx, params, meta["ckpt"], meta["ckpt_scheduler"])


def _set(path, value):
  def edit(d):
    for key in path[:-1]:
      d = d[key]
    d[path[-1]] = value

  return edit


def _drop(path):
  def edit(d):
    for key in path[:-1]:
      d = d[key]
    del d[path[-1]]

  return edit


@pytest.mark.parametrize(
  ("edit", "error", "match"),
  [
    (_drop(["state"]), KeyError, "no 'state'"),
    (_set(["extra"], 1), ValueError, r"\['extra'\] besides"),
    (_drop(["state", 2, "momentum_buffer"]), KeyError, r"parameter 2 \('w'\) has no \['momentum_buffer'\]"),
    (
      _set(["state", 0, "exp_avg"], np.zeros(3, np.float32)),
      ValueError,
      r"parameter 0 \('b'\) has \['exp_avg'\]",
    ),
    (_drop(["state", 1]), KeyError, r"no entry for parameter 1 \('s'\)"),
    (_set(["state", 7], {}), ValueError, r"parameter\(s\) \[7\] that no param_group lists"),
    (
      _set(["state", 2, "square_avg"], np.zeros((3, 2), np.float32)),
      ValueError,
      r"square_avg\['w'\].*shape \[2, 3\]",
    ),
    (
      _set(["state", 0, "grad_avg"], np.zeros(3, np.float64)),
      ValueError,
      r"grad_avg\['b'\].*float32\[3\].*float64",
    ),
    (_set(["state", 1, "step"], np.float32(14)), ValueError, r"different steps \[14, 15\]"),
    (_set(["state", 1, "step"], np.float32(14.5)), ValueError, "not a whole number"),
    (_set(["param_groups", 0, "alpha"], 0.9), ValueError, r"param_groups\[0\]\['alpha'\] is 0.9 .* has 0.99"),
    (_set(["param_groups", 0, "centered"], False), ValueError, r"\['centered'\] is False .* has True"),
    (_set(["param_groups", 0, "momentum"], 0.8), ValueError, r"\['momentum'\] is 0.8 .* has 0.9"),
    (
      _set(["param_groups", 0, "lr"], 0.01),
      ValueError,
      r"\['lr'\] is 0.01 .* schedule gives 0.0025 at update count 15",
    ),
    (_set(["param_groups", 0, "initial_lr"], 0.1), ValueError, r"initial_lr'\] is 0.1 .* starts at 0.01"),
    (_drop(["param_groups", 0, "eps"]), KeyError, r"param_groups\[0\] has no 'eps'"),
    (_set(["param_groups", 0, "nesterov"], True), ValueError, r"\['nesterov'\] that torch.optim.RMSprop"),
    (_set(["param_groups"], []), ValueError, "0 param_groups; the transformation has 1"),
  ],
)
def test_bad_checkpoint(rms, edit, error, match):
  bad(rms, edit, error, match)


@pytest.mark.parametrize(
  ("edit", "match"),
  [
    (_set(["last_epoch"], 14), r"'last_epoch' is 14; the optimizer state's step is 15"),
    (_set(["gamma"], 0.1), r"'gamma' is 0.1; the transformation's StepLR has 0.5"),
    (_set(["base_lrs"], [0.02]), r"'base_lrs' is \[0.02\]"),
  ],
)
def test_bad_scheduler_state(rms, edit, match):
  bad(rms, lambda d: None, ValueError, match, sched_edit=edit)


def test_bad_names_and_groups():
  meta = load("torch_groups_lr_wd_step_f32")
  params = {k: jnp.asarray(v) for k, v in meta["params_k"].items()}
  tx = from_torch_config(meta["description"], params=params, names=meta["names"])
  ckpt = meta["ckpt"]
  with pytest.raises(ValueError, match="not parameter paths"):
    import_torch_state(tx, params, ckpt, names=["w", "b", "x"])
  with pytest.raises(
    ValueError, match=r"param_groups\[0\] lists parameter 0 \('b'\), which the transformation puts in"
  ):
    import_torch_state(tx, params, ckpt, names=["b", "w", "s"])
  with pytest.raises(ValueError, match="names= lists 2 paths"):
    import_torch_state(tx, params, ckpt, names=["w", "b"])
  # the default order, each group's leaves in jax.tree.leaves order, is torch's order here
  import_torch_state(tx, params, ckpt, meta["ckpt_scheduler"])


def test_bad_transformation_and_export_arguments(rms):
  tx, params, meta = rms
  with pytest.raises(ValueError, match="no PyTorch optimizer found"):
    import_torch_state(optax.adam(1e-3), params, meta["ckpt"])
  state = import_torch_state(tx, params, meta["ckpt"])
  with pytest.raises(ValueError, match="step=3 disagrees with the state's count 15"):
    export_torch_state(tx, params, state, step=3)
  plain = oj.torch.rmsprop(lr=0.01)
  with pytest.raises(ValueError, match="pass step="):
    export_torch_state(plain, params, plain.init(params))
  with pytest.raises(ValueError, match="not an oj.torch scheduler"):
    import_torch_state(plain, params, {"state": {}, "param_groups": [{**meta["ckpt"]["param_groups"][0], "lr": 0.01,
                       "momentum": 0, "centered": False, "weight_decay": 0}]}, meta["ckpt_scheduler"])  # fmt: skip


def test_unsupported_optimizer_and_scheduler_are_named(rms):
  _, params, meta = rms
  desc = copy.deepcopy(meta["description"])
  with pytest.raises(NotImplementedError, match=r"torch.optim.Adam is not supported .* torch.optim.RMSprop"):
    from_torch_config({**desc, "optimizer": "Adam"})
  with pytest.raises(NotImplementedError, match=r"lr_scheduler.MyScheduler is not supported; .*StepLR"):
    from_torch_config({**desc, "scheduler": {"class": "MyScheduler", "state": {}}})
  with pytest.raises(KeyError, match="SequentialLR description has no 'schedulers'"):
    from_torch_config(
      {**desc, "scheduler": {"class": "SequentialLR", "state": {"_milestones": [3], "_schedulers": []}}}
    )
  with pytest.raises(KeyError, match="ReduceLROnPlateau state has no"):
    from_torch_config({**desc, "scheduler": {"class": "ReduceLROnPlateau", "state": {}}})
  groups = [dict(g) for g in desc["param_groups"]]
  with pytest.raises(ValueError, match=r"\['dampening'\]"):
    from_torch_config({**desc, "param_groups": [{**groups[0], "dampening": 0}]})
  two = {**desc, "param_groups": [groups[0], {**groups[0], "params": [3]}]}
  with pytest.raises(ValueError, match="pass params="):
    from_torch_config(two)


def test_a_groups_constant_lr_is_state():
  """With param_groups= a group's constant lr is state (oj.set_lr): taken from the checkpoint, exported
  as held; a fresh checkpoint (no step yet) is our initial state with those lr."""
  params = {"b": jnp.ones(3), "w": jnp.ones((2, 2))}
  tx = oj.torch.rmsprop(
    lr=0.01, param_groups=[{"params": lambda p, _: p == "w"}, {"params": lambda p, _: p == "b"}]
  )
  saved, sched = export_torch_state(tx, params, tx.init(params))
  assert saved["state"] == {} and sched is None and [g["params"] for g in saved["param_groups"]] == [[0], [1]]
  saved["param_groups"][1]["lr"] = 0.05
  state = import_torch_state(tx, params, saved)
  assert [round(float(x), 6) for x in oj.get_lr(state)] == [0.01, 0.05]
  assert export_torch_state(tx, params, state)[0]["param_groups"][1]["lr"] == pytest.approx(0.05)


# --- ReduceLROnPlateau: optax.chain(preset(lr=1.0), oj.torch.reduce_lr_on_plateau) ------------------


def infinite(sched: dict) -> dict:
  """A recorded ReduceLROnPlateau state as torch has it: ``best`` and ``mode_worse`` floats."""
  return {k: float(v) if k in ("best", "mode_worse") else v for k, v in sched.items()}


@pytest.fixture(scope="module", params=PLATEAU)
def plateau(request):
  """A ReduceLROnPlateau case replayed: (a) the checkpoint imported and continued, (b) our run from the
  start (the fresh optimizer's description) exported at k."""
  meta = load(request.param)
  for key in ("ckpt_scheduler", "export_scheduler"):  # the json writes infinities as "inf"/"-inf"
    meta[key] = infinite(meta[key])
  k, n, names = meta["k"], meta["n"], meta["names"]
  with gu.precision(gu.GoldenCase(FAMILY, meta["case"], meta, {}, {}, {}, None)):
    params_k = {key: jnp.asarray(v) for key, v in meta["params_k"].items()}
    grads = {key: jnp.asarray(v) for key, v in meta["grads"].items()}
    tx = from_torch_config(meta["fresh_description"], params=params_k, names=names)
    run_ = gu.plateau_steps(tx, meta["epoch"], meta["metrics"])
    state = import_torch_state(tx, params_k, meta["ckpt"], meta["ckpt_scheduler"], names=names)
    meta["tx"], meta["a_state"] = tx, state
    meta["a_again"] = export_torch_state(tx, params_k, state, names=names)
    meta["a_traj"], a_states = run_(params_k, state, grads, k, n)
    meta["a_lrs"] = [float(oj.get_lr(s[-1])) for s in a_states]
    init = {key: jnp.asarray(v) for key, v in meta["init"].items()}
    traj, states = run_(init, tx.init(init), grads, 0, k + n)
    ours_k = {key: v[k - 1] for key, v in traj.items()}
    meta["b_export"] = export_torch_state(tx, ours_k, states[k - 1], names=names, step=k)
    meta["b_back"] = import_torch_state(tx, ours_k, *meta["b_export"], names=names)
    meta["b_state"], meta["b_traj"] = states[k - 1], {key: v[k:] for key, v in traj.items()}
  return meta


def test_plateau_is_the_chain_of_the_preset_with_lr_one(plateau):
  tx = plateau["tx"]
  inner, last, parts = oj.interop._torch_plateau.split(tx)
  assert parts == 2 and oj.interop.torch_config(inner).groups[0]["lr"] == 1.0
  args = last.update.torch_arguments
  for key, value in plateau["plateau"].items():
    assert args[key] == value, key


def test_plateau_import_continues_as_torch(plateau):
  """(a) with the metrics of the fixture: a reduction happens after the resume point, at torch's step."""
  errors = gu.normwise_error(plateau["a_traj"], plateau["cont_a"])
  assert max(errors.values()) <= tolerance(plateau), errors
  torch_lrs = plateau["torch_lrs"][plateau["k"] :]
  assert min(torch_lrs) < plateau["torch_lrs"][plateau["k"] - 1]
  np.testing.assert_allclose(
    plateau["a_lrs"], torch_lrs, rtol=1e-7 if plateau["dtype"] == "float32" else 1e-15
  )


def test_plateau_round_trips(plateau):
  """import -> export is the checkpoint (the lr within float32's rounding where it is float32 state);
  export -> import is our state, bit for bit."""
  rel = 1e-7 if plateau["dtype"] == "float32" else 1e-15
  again, sched = plateau["a_again"]
  assert_state_equal(again["state"], plateau["ckpt"]["state"])
  ref = plateau["ckpt_scheduler"]
  assert list(sched) == list(ref)
  for key, value in sched.items():
    want = pytest.approx(ref[key], rel=rel) if key == "_last_lr" else ref[key]
    assert value == want, (key, value, ref[key])
  (group,) = again["param_groups"]
  assert group["lr"] == pytest.approx(plateau["ckpt"]["param_groups"][0]["lr"], rel=rel)
  assert jsonable({**group, "lr": 0}) == {**plateau["ckpt"]["param_groups"][0], "lr": 0}
  assert same_state(plateau["b_back"], plateau["b_state"])


def test_plateau_export_equals_recorded_and_continues_as_torch(plateau):
  exported, sched = plateau["b_export"]
  assert_state_equal(exported["state"], plateau["export"]["state"])
  assert jsonable(exported["param_groups"]) == plateau["export"]["param_groups"]
  assert sched == plateau["export_scheduler"]
  errors = gu.normwise_error(plateau["b_traj"], plateau["cont_b"])
  assert max(errors.values()) <= tolerance(plateau), errors


def _plateau_bad(meta, edit_sched=None, edit_opt=None):
  ckpt, sched = copy.deepcopy(meta["ckpt"]), copy.deepcopy(meta["ckpt_scheduler"])
  if edit_sched:
    edit_sched(sched)
  if edit_opt:
    edit_opt(ckpt)
  params_k = {key: jnp.asarray(v) for key, v in meta["params_k"].items()}
  return lambda: import_torch_state(meta["tx"], params_k, ckpt, sched, names=meta["names"])


@pytest.mark.parametrize(
  "edit, error, match",
  [
    (lambda s: s.pop("best"), KeyError, "has no 'best'"),
    (lambda s: s.update(extra=1), ValueError, r"\['extra'\]"),
    (lambda s: s.update(patience=7), ValueError, "'patience' is 7"),
    (lambda s: s.update(factor=0.2), ValueError, "'factor' is 0.2"),
    (lambda s: s.update(mode="max" if s["mode"] == "min" else "min"), ValueError, "'mode' is"),
    (lambda s: s.update(threshold_mode="rel" if s["threshold_mode"] == "abs" else "abs"), ValueError,
     "'threshold_mode'"),
    (lambda s: s.update(min_lrs=[0.5]), ValueError, "'min_lrs'"),
    (lambda s: s.update(num_bad_epochs=-1), ValueError, "'num_bad_epochs' is -1"),
    (lambda s: s.update(_last_lr=[9.0]), ValueError, "'_last_lr' is"),
  ],
)  # fmt: skip
def test_plateau_bad_scheduler_state(plateau, edit, error, match):
  if plateau["dtype"] != "float32":
    pytest.skip("one case is enough")
  with pytest.raises(error, match=match):
    _plateau_bad(plateau, edit)()


def test_plateau_bad_checkpoint_and_missing_scheduler(plateau):
  if plateau["dtype"] != "float32":
    pytest.skip("one case is enough")
  with pytest.raises(ValueError, match="_last_lr"):
    _plateau_bad(plateau, edit_opt=lambda c: c["param_groups"][0].update(lr=1.0))()
  with pytest.raises(ValueError, match=r"\['momentum'\] is 0.1"):
    _plateau_bad(plateau, edit_opt=lambda c: c["param_groups"][0].update(momentum=0.1))()
  params_k = {key: jnp.asarray(v) for key, v in plateau["params_k"].items()}
  with pytest.raises(ValueError, match="pass the ReduceLROnPlateau's scheduler_state"):
    import_torch_state(plateau["tx"], params_k, plateau["ckpt"], None, names=plateau["names"])
  tx = plateau["tx"]
  state = import_torch_state(tx, params_k, plateau["ckpt"], plateau["ckpt_scheduler"], names=plateau["names"])
  with pytest.raises(ValueError, match="step=3 disagrees"):
    export_torch_state(tx, params_k, state, names=plateau["names"], step=3)


def test_plateau_where_it_is_not_exact_is_named(plateau):
  """ASGD, RAdam's decoupled weight decay and several groups are errors that say why."""
  desc = copy.deepcopy(plateau["fresh_description"])
  (group,) = desc["param_groups"]
  plain = {
    k: group[k] for k in ("params", "weight_decay", "maximize", "foreach", "differentiable", "capturable")
  }
  asgd = {**plain, "lr": 0.01, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6}
  with pytest.raises(ValueError, match="ASGD with ReduceLROnPlateau is not supported: ASGD's lr enters"):
    from_torch_config({**desc, "optimizer": "ASGD", "param_groups": [asgd]})
  radam = {**plain, "lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8, "decoupled_weight_decay": True,
           "weight_decay": 0.01}  # fmt: skip
  with pytest.raises(ValueError, match="decoupled weight decay .* the decay uses the lr again"):
    from_torch_config({**desc, "optimizer": "RAdam", "param_groups": [radam]})
  two = [{**group, "params": [0]}, {**group, "params": [1, 2]}]
  params = {key: jnp.asarray(v) for key, v in plateau["params_k"].items()}
  with pytest.raises(ValueError, match="ReduceLROnPlateau with several param_groups"):
    from_torch_config({**desc, "param_groups": two}, params=params)
  inner = oj.torch.asgd(lr=1.0)
  tx = optax.chain(inner, oj.torch.reduce_lr_on_plateau(0.01))
  with pytest.raises(ValueError, match="ASGD with ReduceLROnPlateau"):
    export_torch_state(tx, params, tx.init(params), step=0)
