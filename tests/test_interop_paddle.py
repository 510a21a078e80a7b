"""oj.interop for Paddle: state import and export against the real framework, from_paddle's mapping, bad input.

The golden cases (tests/golden/interop_paddle/, made by tools/golden_cases/interop_paddle.py with
paddlepaddle 3.3.1) hold Paddle's ``state_dict()`` after k steps and its next n steps, the live
optimizer as `describe_paddle_optimizer` recorded it, and our k-step export with Paddle's continuation
from it.
"""

from __future__ import annotations

import contextlib
import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from optim_jax.interop import (
  describe_paddle_optimizer,
  export_paddle_state,
  from_paddle,
  from_paddle_config,
  import_paddle_state,
  paddle_schedule,
  paddle_state_to_numpy,
)
from tests.golden_utils import GOLDEN_DIR, TOL_F32, TOL_F64, normwise_error, resume_runs

FOLDER = GOLDEN_DIR / "interop_paddle"
CASES = sorted(p.stem for p in FOLDER.glob("*.npz") if not p.stem.startswith("plateau_"))
PLATEAU_CASES = sorted(p.stem for p in FOLDER.glob("plateau_*.npz"))


@functools.cache
def load(name: str) -> tuple[dict, dict]:
  meta = json.loads((FOLDER / f"{name}.json").read_text())
  with np.load(FOLDER / f"{name}.npz") as data:
    arrays = {k: data[k] for k in data.files}
  return meta, arrays


def group(arrays: dict, prefix: str) -> dict:
  return {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith(prefix + "/")}


def state_dict(meta: dict, arrays: dict, which: str) -> dict:
  """The checkpoint (``ckpt``) or our recorded export (``export``) as the state dict, keys in order."""
  flat = group(arrays, which)
  keys = meta["ckpt_keys" if which == "ckpt" else "export_keys"]
  out = {k: (dict(meta["lr_scheduler"][which]) if k == "LR_Scheduler" else flat[k]) for k in keys}
  return out


def precision(meta: dict):
  return jax.enable_x64(True) if meta["dtype"] == "float64" else contextlib.nullcontext()


def tolerance(meta: dict) -> float:
  return TOL_F64 if meta["dtype"] == "float64" else TOL_F32


def jnp_tree(tree: dict, dtype: str) -> dict:
  return {k: jnp.asarray(v, dtype) for k, v in tree.items()}


@functools.cache
def runner(tx):
  """n steps from (params, state) in one jitted scan: params after each step and the final state."""

  def body(carry, g):
    p, s = carry
    u, s = tx.update(g, s, p)
    p = optax.apply_updates(p, u)
    return (p, s), p

  @jax.jit
  def run(p, s, gs):
    (p, s), traj = jax.lax.scan(body, (p, s), gs)
    return p, s, traj

  return run


def assert_same_scheduler(ours: dict, ref: dict, rtol: float) -> None:
  """LR_Scheduler dicts, with a LinearWarmup's nested LinearWarmup_LR."""
  assert list(ours) == list(ref)
  assert ours["last_epoch"] == ref["last_epoch"]
  np.testing.assert_allclose(ours["last_lr"], ref["last_lr"], rtol=rtol, atol=0)
  for key, value in ref.items():
    if isinstance(value, dict):
      assert_same_scheduler(ours[key], value, rtol)


def assert_same_state_dict(ours: dict, ref: dict, *, last_lr_rtol: float = 0.0) -> None:
  assert list(ours) == list(ref)
  for key, r in ref.items():
    o = ours[key]
    if key == "LR_Scheduler":
      assert_same_scheduler(o, r, last_lr_rtol)
      continue
    assert np.asarray(o).dtype == np.asarray(r).dtype, key
    np.testing.assert_array_equal(np.asarray(o), np.asarray(r), err_msg=key)


def check(meta: dict, ours: dict, ref: dict, what: str) -> float:
  errors = normwise_error({k: np.asarray(v) for k, v in ours.items()}, ref)
  worst = max(errors.values())
  assert worst <= tolerance(meta), f"{meta['case']} ({what}): {worst:.3g} > {tolerance(meta):g}; {errors}"
  return worst


@functools.cache
@pytest.mark.parametrize("name", CASES)
def test_golden(name: str) -> None:
  """(a) Paddle's checkpoint imported, continued n steps, matches Paddle's continuation, and exports to
  the checkpoint bit for bit; (b) our k steps export to the recorded dict that Paddle continued from, and
  our continuation matches Paddle's."""
  meta, arrays = load(name)
  k, dt = meta["k"], meta["dtype"]
  grads = group(arrays, "grads")
  ckpt = state_dict(meta, arrays, "ckpt")
  with precision(meta):
    params_k = jnp_tree(group(arrays, "params_k"), dt)
    tx, state = from_paddle_config(meta["config"], params=params_k, names=meta["names"], state_dict=ckpt)
    lr = paddle_schedule(meta["config"]["learning_rate"])
    lr = lr if callable(lr) else None
    # (a) import -> export is the checkpoint (Paddle's momentum_0 of momentum=0 is never read: zeros)
    again = export_paddle_state(tx, params_k, state, names=meta["names"], learning_rate=lr)
    expected = dict(ckpt)
    if meta["config"]["options"].get("momentum", 1.0) == 0.0:
      expected = {key: (np.zeros_like(v) if key.endswith("_momentum_0") else v) for key, v in ckpt.items()}
    assert_same_state_dict(again, expected, last_lr_rtol=1e-6)
    p0 = jnp_tree(group(arrays, "init"), dt)
    (ours_k, state_k), cont_ours, cont_import = resume_runs(tx, k)(p0, jnp_tree(grads, dt), params_k, state)
    check(meta, cont_import, group(arrays, "ref"), "import, continued")
    # (b) ours k steps -> the recorded export; its continuation in Paddle -> ours
    export = export_paddle_state(tx, ours_k, state_k, names=meta["export_names"], learning_rate=lr)
    assert_same_state_dict(export, state_dict(meta, arrays, "export"))
    for leaf, v in group(arrays, "ours_k").items():
      np.testing.assert_array_equal(np.asarray(ours_k[leaf]), v)
    check(meta, cont_ours, group(arrays, "fwcont"), "export, continued in Paddle")


def test_golden_cover() -> None:
  """Every preset, momentum, centered, groups, a float64 case of each, a long one."""
  metas = [load(name)[0] for name in CASES]
  classes = {(m["config"]["class"], m["dtype"]) for m in metas}
  assert classes == {(c, d) for c in ("RMSProp", "RAdam", "ASGD") for d in ("float32", "float64")}
  assert any(m["config"]["groups"] for m in metas if m["config"]["class"] == "RMSProp")
  assert any(m["config"]["groups"] for m in metas if m["config"]["class"] == "RAdam")
  assert any(m["config"]["options"].get("centered") for m in metas)
  assert any(m["k"] >= 100 and m["n"] >= 200 for m in metas)
  assert any(m["paddle_order"] != sorted(m["paddle_order"]) for m in metas)  # an order not the leaves'
  assert all(m["framework_version"] == "3.3.1" for m in metas)
  lrs = [(m["config"]["learning_rate"], m) for m in metas if isinstance(m["config"]["learning_rate"], dict)]
  nested = [(lr, m) for lr, m in lrs if isinstance(lr["kwargs"].get("learning_rate"), dict)]
  assert {lr["class"] for lr, _ in lrs} >= {"OneCycleLR", "CyclicLR", "LinearWarmup"}
  assert {m["dtype"] for _, m in nested} == {"float32", "float64"}
  assert any(m["dtype"] == "float64" for lr, m in lrs if lr["class"] == "CyclicLR")
  # a warmup resumed inside its warmup (the inner scheduler at 0) and after it
  assert {m["lr_scheduler"]["ckpt"]["LinearWarmup_LR"]["last_epoch"] == 0 for _, m in nested} == {True, False}


# --- small hand-made checkpoints ---------------------------------------------------------------------

PARAMS = {"b": jnp.zeros(3), "w": jnp.zeros((2, 3))}
NAMES = ["linear_0.b_0", "linear_0.w_0"]
GRADS = [{"b": jnp.full(3, 0.5 + i), "w": jnp.full((2, 3), 1.0 - 0.3 * i)} for i in range(4)]


def steps(tx, params=PARAMS):
  """Our state after four updates at fixed ``params`` (one jitted scan)."""
  gs = jax.tree.map(lambda *x: jnp.stack(x), *GRADS)
  gs = {k: v.astype(params[k].dtype) for k, v in gs.items()}

  @jax.jit
  def go(params, gs):
    def body(s, g):
      return tx.update(g, s, params)[1], None

    return jax.lax.scan(body, tx.init(params), gs)[0]

  return go(params, gs)


@pytest.fixture(scope="module")
def radam():
  tx = oj.paddle.radam(0.01, beta1=0.8)
  state = steps(tx)
  return tx, state, export_paddle_state(tx, PARAMS, state, names=NAMES)


def test_round_trip_every_preset() -> None:
  sched = oj.schedules.step_decay(0.1, 2, 0.5)
  for tx in (
    oj.paddle.rmsprop(sched, momentum=0.9, centered=True),
    oj.paddle.rmsprop(0.1),
    oj.paddle.radam(sched, weight_decay=0.1),
    oj.paddle.asgd(sched, batch_num=3),
    oj.paddle.rmsprop(0.1, momentum=0.5, parameters=[{"params": lambda p, _: p == "w", "rho": 0.5}, {"params": lambda p, _: p == "b"}]),
  ):  # fmt: skip
    state = steps(tx)
    sd = export_paddle_state(tx, PARAMS, state, names=NAMES, learning_rate=sched)
    back = import_paddle_state(tx, PARAMS, sd, names=NAMES)
    jax.tree.map(np.testing.assert_array_equal, back, state)
    assert_same_state_dict(export_paddle_state(tx, PARAMS, back, names=NAMES, learning_rate=sched), sd)


def test_names_forms_and_default_order(radam) -> None:
  tx, state, sd = radam
  by_dict = import_paddle_state(tx, PARAMS, sd, names=dict(zip(NAMES, ["b", "w"], strict=True)))
  default = import_paddle_state(tx, PARAMS, sd)  # the checkpoint's order is the leaves'
  jax.tree.map(np.testing.assert_array_equal, by_dict, state)
  jax.tree.map(np.testing.assert_array_equal, default, state)
  swapped = {k.replace("linear_0.b_0", "X").replace("linear_0.w_0", "linear_0.b_0").replace("X", "linear_0.w_0"): v for k, v in sd.items()}  # fmt: skip
  with pytest.raises(ValueError, match="linear_0"):  # w's buffers given to b: shapes differ, named
    import_paddle_state(tx, PARAMS, swapped, names=NAMES)


def test_fresh_checkpoint_and_master_weights() -> None:
  tx = oj.paddle.rmsprop(0.1)
  jax.tree.map(np.testing.assert_array_equal, import_paddle_state(tx, PARAMS, {}), tx.init(PARAMS))
  params = {"b": jnp.zeros(3, jnp.bfloat16), "w": jnp.zeros((2, 3))}
  tx = oj.paddle.asgd(0.1, batch_num=2, multi_precision=True)
  state = steps(tx, params)
  sd = export_paddle_state(tx, params, state, names=NAMES)
  assert (
    list(sd["master_weights"]) == ["linear_0.b_0"]
    and sd["master_weights"]["linear_0.b_0"].dtype == np.float32
  )
  back = import_paddle_state(tx, params, sd, names=NAMES)
  jax.tree.map(np.testing.assert_array_equal, back, state)
  half = dict(sd, **{"linear_0.b_0_d_0": sd["linear_0.b_0_d_0"].astype(jnp.bfloat16)})  # Paddle's d in bf16
  import_paddle_state(tx, params, half, names=NAMES)
  with pytest.raises(KeyError, match="master_weights"):
    import_paddle_state(tx, params, {k: v for k, v in sd.items() if k != "master_weights"}, names=NAMES)


def test_frozen_parameter() -> None:
  """A frozen parameter (Paddle: stop_gradient, no accumulators; ours: ParamAttr(trainable=False), no state)."""
  tx = oj.paddle.rmsprop(
    0.1, momentum=0.9, param_attrs={"b": oj.paddle.ParamAttr(trainable=False), "w": None}
  )
  state = steps(tx)
  names = dict(zip(NAMES, ["b", "w"], strict=True))
  sd = export_paddle_state(tx, PARAMS, state, names=names)
  assert sorted(sd) == ["linear_0.w_0_mean_grad_0", "linear_0.w_0_mean_square_0", "linear_0.w_0_momentum_0"]
  jax.tree.map(np.testing.assert_array_equal, import_paddle_state(tx, PARAMS, sd, names=names), state)
  with pytest.raises(ValueError, match="linear_0.b_0.*does not update"):
    extra = {**sd, **{k.replace("w_0", "b_0"): v[0] for k, v in sd.items()}}
    import_paddle_state(tx, PARAMS, extra, names=names)


def test_paddle_state_to_numpy() -> None:
  class T:
    def __init__(self, a):
      self.a = a

    def numpy(self):
      return self.a

  sd = paddle_state_to_numpy({"p_d_0": T(np.ones(2)), "LR_Scheduler": {"last_epoch": 2, "last_lr": 0.5}})
  assert isinstance(sd["p_d_0"], np.ndarray) and sd["LR_Scheduler"] == {"last_epoch": 2, "last_lr": 0.5}


# --- bad input ---------------------------------------------------------------------------------------


def test_missing_extra_shape_dtype(radam) -> None:
  tx, _, sd = radam
  key = "linear_0.w_0_moment2_0"
  with pytest.raises(KeyError, match=key):
    import_paddle_state(tx, PARAMS, {k: v for k, v in sd.items() if k != key}, names=NAMES)
  with pytest.raises(ValueError, match="linear_0.w_0_mean_square_0"):
    import_paddle_state(tx, PARAMS, {**sd, "linear_0.w_0_mean_square_0": sd[key]}, names=NAMES)
  with pytest.raises(ValueError, match="linear_9.w_0"):  # a parameter names= does not map
    import_paddle_state(
      tx, PARAMS, {**sd, "linear_9.w_0_moment2_0": sd[key]}, names=dict(zip(NAMES, ["b", "w"], strict=True))
    )
  with pytest.raises(ValueError, match=f"{key}: expected float32\\[2, 3\\]"):
    import_paddle_state(tx, PARAMS, {**sd, key: sd[key][:1]}, names=NAMES)
  with pytest.raises(ValueError, match=f"{key}: expected float32"):
    import_paddle_state(tx, PARAMS, {**sd, key: sd[key].astype(np.float64)}, names=NAMES)
  with pytest.raises(ValueError, match="'b'"):  # two checkpoint parameters for one path
    import_paddle_state(tx, PARAMS, sd, names={"linear_0.b_0": "b", "linear_0.w_0": "b"})


def test_counters_and_hyperparameters(radam) -> None:
  tx, _, sd = radam
  with pytest.raises(ValueError, match="beta1_pow_0.*beta1"):  # the checkpoint's beta1 is 0.8
    import_paddle_state(oj.paddle.radam(0.01), PARAMS, sd, names=NAMES)
  with pytest.raises(ValueError, match="beta2_pow_0"):
    import_paddle_state(oj.paddle.radam(0.01, beta1=0.8, beta2=0.99), PARAMS, sd, names=NAMES)
  bad = dict(sd, **{"linear_0.w_0_rho_0": sd["linear_0.w_0_rho_0"] * np.float32(1.001)})
  with pytest.raises(ValueError, match="linear_0.w_0_rho_0"):
    import_paddle_state(tx, PARAMS, bad, names=NAMES)
  uneven = sd["linear_0.b_0_beta1_pow_0"].copy()
  uneven[0] = 0.5
  with pytest.raises(ValueError, match="linear_0.b_0_beta1_pow_0: its elements differ"):
    import_paddle_state(tx, PARAMS, {**sd, "linear_0.b_0_beta1_pow_0": uneven}, names=NAMES)
  with pytest.raises(ValueError, match="LR_Scheduler.*constant"):
    import_paddle_state(tx, PARAMS, {**sd, "LR_Scheduler": {"last_epoch": 4, "last_lr": 0.01}}, names=NAMES)
  sched = oj.schedules.exponential_decay(0.01, 0.9)
  txs = oj.paddle.radam(sched, beta1=0.8)
  with pytest.raises(KeyError, match="LR_Scheduler"):
    import_paddle_state(txs, PARAMS, sd, names=NAMES)
  good = {**sd, "LR_Scheduler": {"last_epoch": 4, "last_lr": float(sched(4))}}
  import_paddle_state(txs, PARAMS, good, names=NAMES, learning_rate=sched)
  with pytest.raises(ValueError, match="LR_Scheduler.last_lr"):
    bad = {**sd, "LR_Scheduler": {"last_epoch": 4, "last_lr": 0.5}}
    import_paddle_state(txs, PARAMS, bad, names=NAMES, learning_rate=sched)
  with pytest.raises(ValueError, match="LR_Scheduler.last_epoch = 5"):
    import_paddle_state(txs, PARAMS, {**sd, "LR_Scheduler": {"last_epoch": 5, "last_lr": 0.01}}, names=NAMES)
  with pytest.raises(ValueError, match="learning_rate="):
    export_paddle_state(txs, PARAMS, txs.init(PARAMS), names=NAMES)
  with pytest.raises(ValueError, match="step="):
    export_paddle_state(tx, PARAMS, radam[1], names=NAMES, step=3)


def test_radam_long_run_counters() -> None:
  """Far into a run (float32, beta2 = 0.9, t = 2000) beta2_pow stays at a subnormal and rho at its limit:
  the scheduler's last_epoch decides t, without a scheduler the step is not known (an error)."""
  sched = oj.schedules.step_decay(0.01, 100)
  tx = oj.paddle.radam(sched, beta2=0.9)
  state = tx.init(PARAMS)
  state = (
    state[0]._replace(count=jnp.asarray(2000, jnp.int32)),
    state[1]._replace(count=jnp.asarray(2000, jnp.int32)),
  )
  sd = export_paddle_state(tx, PARAMS, state, names=NAMES, learning_rate=sched)
  assert 0 < sd["linear_0.w_0_beta2_pow_0"][0, 0] < 1e-40
  back = import_paddle_state(tx, PARAMS, sd, names=NAMES, learning_rate=sched)
  assert int(back[0].count) == 2000
  with pytest.raises(ValueError, match="beta2_pow_0 .* step is not known"):
    import_paddle_state(
      oj.paddle.radam(0.01, beta2=0.9),
      PARAMS,
      {k: v for k, v in sd.items() if k != "LR_Scheduler"},
      names=NAMES,
    )


def test_asgd_and_rmsprop_checks() -> None:
  tx = oj.paddle.asgd(0.1, batch_num=3)
  sd = export_paddle_state(tx, PARAMS, steps(tx), names=NAMES)
  assert sd["linear_0.w_0_m_0"].tolist() == [4] and sd["linear_0.w_0_y_0"].shape == (3, 2, 3)
  with pytest.raises(ValueError, match="linear_0.b_0_m_0 = 3"):
    import_paddle_state(tx, PARAMS, {**sd, "linear_0.b_0_m_0": np.array([3])}, names=NAMES)
  with pytest.raises(ValueError, match="linear_0.b_0_y_0: expected float32\\[2, 3\\]"):  # batch_num=2
    import_paddle_state(oj.paddle.asgd(0.1, batch_num=2), PARAMS, sd, names=NAMES)
  centered = oj.paddle.rmsprop(0.1, centered=True)
  sd = export_paddle_state(centered, PARAMS, steps(centered), names=NAMES)
  with pytest.raises(ValueError, match="linear_0.b_0_mean_grad_0 is nonzero"):
    import_paddle_state(oj.paddle.rmsprop(0.1), PARAMS, sd, names=NAMES)
  with pytest.raises(ValueError, match="moment1"):  # an RAdam key in an RMSProp checkpoint
    import_paddle_state(
      centered, PARAMS, {**sd, "linear_0.w_0_moment1_0": np.zeros((2, 3), np.float32)}, names=NAMES
    )
  with pytest.raises(TypeError, match="oj.paddle"):
    import_paddle_state(optax.adam(0.1), PARAMS, sd, names=NAMES)


# --- from_paddle's mapping ---------------------------------------------------------------------------


def config(**overrides):
  base = {
    "class": "RMSProp",
    "options": {"rho": 0.95, "epsilon": 1e-6, "momentum": 0.9, "centered": False},
    "learning_rate": {"class": "StepDecay", "kwargs": {"learning_rate": 0.1, "step_size": 2, "gamma": 0.5}},
    "weight_decay": {"class": "L2Decay", "coeff": 0.01},
    "grad_clip": {"class": "ClipGradByGlobalNorm", "clip_norm": 1.0, "auto_skip_clip": False},
    "parameters": [{"name": n, "learning_rate": 1.0, "regularizer": None, "need_clip": True, "trainable": True} for n in NAMES],
    "groups": None,
  }  # fmt: skip
  return {**base, **overrides}


def test_from_paddle_config_is_the_preset() -> None:
  tx, state = from_paddle_config(config(), params=PARAMS)
  assert state is None
  sched = oj.schedules.step_decay(0.1, 2, 0.5)
  ref = oj.paddle.rmsprop(sched, 0.95, 1e-6, 0.9, weight_decay=oj.paddle.l2_decay(0.01),
                          grad_clip=oj.paddle.clip_grad_by_global_norm(1.0))  # fmt: skip
  jax.tree.map(np.testing.assert_array_equal, steps(tx), steps(ref))
  attrs = config(parameters=[{**config()["parameters"][0], "learning_rate": 0.5, "need_clip": False},
                             config()["parameters"][1]])  # fmt: skip
  tx, _ = from_paddle_config(attrs, params=PARAMS)
  ref = oj.paddle.rmsprop(sched, 0.95, 1e-6, 0.9, weight_decay=oj.paddle.l2_decay(0.01),
                          grad_clip=oj.paddle.clip_grad_by_global_norm(1.0),
                          param_attrs={"b": oj.paddle.ParamAttr(learning_rate=0.5, need_clip=False), "w": None})  # fmt: skip
  jax.tree.map(np.testing.assert_array_equal, steps(tx), steps(ref))


def test_from_paddle_errors() -> None:
  with pytest.raises(ValueError, match="paddle.optimizer.Adam is not"):
    from_paddle_config(config(**{"class": "Adam"}), params=PARAMS)
  with pytest.raises(ValueError, match="ReduceOnPlateau"):
    from_paddle_config(config(learning_rate={"class": "ReduceOnPlateau", "kwargs": {}}), params=PARAMS)
  with pytest.raises(ValueError, match="ClipGradByFoo"):
    from_paddle_config(config(grad_clip={"class": "ClipGradByFoo"}), params=PARAMS)
  with pytest.raises(ValueError, match="params="):
    from_paddle_config(config(), state_dict={"linear_0.b_0_d_0": np.zeros(3)})
  with pytest.raises(ValueError, match="ignores"):
    from_paddle_config(config(groups=[{"params": NAMES, "beta1": 0.9}]), params=PARAMS)
  tx = oj.paddle.rmsprop(oj.schedules.step_decay(0.1, 2, 0.5), momentum=0.9)
  sd = export_paddle_state(
    tx, PARAMS, steps(tx), names=NAMES, learning_rate=oj.schedules.step_decay(0.2, 2, 0.5)
  )
  with pytest.raises(ValueError, match="LR_Scheduler.last_lr"):  # a scheduler of other arguments
    from_paddle_config(config(weight_decay=None, grad_clip=None), params=PARAMS, state_dict=sd)
  with pytest.raises(ValueError, match="paddle.optimizer.object"):
    from_paddle(object())

  class Regularized:  # an optimizer class we reproduce, with a regulariser we do not
    pass

  Regularized.__name__ = "RAdam"
  opt = Regularized()
  opt._beta1, opt._beta2, opt._epsilon, opt._learning_rate = 0.9, 0.999, 1e-8, 0.1
  opt.regularization, opt._grad_clip, opt._parameter_list, opt._param_groups = object(), None, [], []
  with pytest.raises(ValueError, match="regularizer object"):
    describe_paddle_optimizer(opt)


# --- OneCycleLR, CyclicLR, LambdaDecay, MultiplicativeDecay, LinearWarmup over a scheduler ---------------


def stand_in(name: str, state: dict, **attrs):
  """An object of class ``name`` with a live scheduler's attributes and state_dict()."""
  obj = type(name, (), {"state_dict": lambda self: dict(state)})()
  obj.__dict__.update(attrs)  # instance attributes: a function stays a plain function, as on Paddle's objects
  return obj


def rms_describe(lr) -> dict:
  opt = type("RMSProp", (), {})()
  opt._rho, opt._epsilon, opt._momentum, opt._centered, opt._learning_rate = 0.9, 1e-6, 0.5, False, lr
  opt.regularization = opt._grad_clip = None
  opt._parameter_list, opt._param_groups = [], []
  return describe_paddle_optimizer(opt)["learning_rate"]


def test_lambda_and_multiplicative_from_the_live_function() -> None:
  """LambdaDecay and MultiplicativeDecay: the live object's lr_lambda, against Paddle's formulas."""
  lam, fac = (lambda e: 0.9**e), (lambda k: 1.0 / (k + 1.0))
  spec = rms_describe(
    stand_in("LambdaDecay", {"last_epoch": 4, "last_lr": 0.1 * 0.9**4}, base_lr=0.1, lr_lambda=lam)
  )
  assert spec["kwargs"] == {"learning_rate": 0.1, "lr_lambda": lam}
  ours = paddle_schedule(spec)
  np.testing.assert_allclose([float(ours(e)) for e in range(6)], [0.1 * lam(e) for e in range(6)], rtol=1e-6)
  mult = paddle_schedule(rms_describe(stand_in("MultiplicativeDecay", {}, base_lr=0.5, lr_lambda=fac)))
  ref = [0.5 * float(np.prod([fac(k) for k in range(1, e + 1)])) for e in range(6)]
  np.testing.assert_allclose([float(mult(e)) for e in range(6)], ref, rtol=1e-6)
  tx = oj.paddle.rmsprop(ours, momentum=0.5)
  state = steps(tx)
  sd = export_paddle_state(tx, PARAMS, state, names=NAMES, learning_rate=spec)  # the description works too
  assert sd["LR_Scheduler"]["last_epoch"] == 4
  np.testing.assert_allclose(sd["LR_Scheduler"]["last_lr"], spec["state"]["last_lr"], rtol=1e-6)
  jax.tree.map(
    np.testing.assert_array_equal, import_paddle_state(tx, PARAMS, sd, names=NAMES, learning_rate=ours), state
  )
  with pytest.raises(ValueError, match="LambdaDecay: the description has no lr_lambda"):
    paddle_schedule({"class": "LambdaDecay", "kwargs": {"learning_rate": 0.1, "lr_lambda": None}})
  with pytest.raises(ValueError, match="MultiplicativeDecay: its lr_lambda does not run on a traced"):
    paddle_schedule({"class": "MultiplicativeDecay", "kwargs": {"learning_rate": 0.1, "lr_lambda": lambda k: 0.5 if k < 3 else 0.9}})  # fmt: skip


def test_one_cycle_and_cyclic_read_back() -> None:
  """Paddle keeps OneCycleLR's and CyclicLR's derived values: the arguments are read back from them."""
  pct, n = 0.3, 37  # 0.3 * 37 - 1 is not exact in binary: phase_pct is recovered bit for bit
  one = stand_in("OneCycleLR", {}, total_steps=n, _lr_config=[0.05 / 7.0, 0.05, 0.05 / 7.0, 0.001],
                 _step_config=[0, pct * n - 1, 2 * pct * n - 2, n - 1, n - 1],
                 anneal_func=type("F", (), {"__name__": "_linear_annealing"})())  # fmt: skip
  kw = rms_describe(one)["kwargs"]
  assert kw == {"max_learning_rate": 0.05, "total_steps": 37, "divide_factor": 7.0, "end_learning_rate": 0.001,
                "phase_pct": 0.3, "anneal_strategy": "linear", "three_phase": True}  # fmt: skip
  one.anneal_func = type("F", (), {"__name__": "my_anneal"})()
  with pytest.raises(ValueError, match="OneCycleLR with the anneal_func"):
    rms_describe(one)
  cyc = stand_in("CyclicLR", {}, base_lr=0.002, max_lr=0.02, cycle_size=10.0, step_up_pct=4.0 / 10.0,
                 mode="exp_range", gamma=0.9, scale_mode="iterations")  # fmt: skip
  cyc.scale_fn = lambda x: 0.9**x  # not the object's own method: the user's function is used
  kw = rms_describe(cyc)["kwargs"]
  assert kw["step_size_up"] == 4 and kw["step_size_down"] == 6 and kw["scale_fn"] is cyc.scale_fn
  cyc.step_up_pct = 0.41
  with pytest.raises(ValueError, match="CyclicLR: no whole step_size_up"):
    rms_describe(cyc)


def test_warmup_over_a_scheduler_state() -> None:
  """LinearWarmup over a scheduler: export nests the inner scheduler's state; import checks it."""
  inner = {"class": "ExponentialDecay", "kwargs": {"learning_rate": 0.5, "gamma": 0.5}}
  spec = {"class": "LinearWarmup", "kwargs": {"learning_rate": inner, "warmup_steps": 3, "start_lr": 0.0, "end_lr": 0.5}}  # fmt: skip
  sched = paddle_schedule(spec)
  tx = oj.paddle.radam(sched)
  state = steps(tx)  # count 4: one past the warmup, the inner scheduler at 1
  sd = export_paddle_state(tx, PARAMS, state, names=NAMES, learning_rate=sched)
  assert sd["LR_Scheduler"] == {"last_epoch": 4, "last_lr": 0.25, "LinearWarmup_LR": {"last_epoch": 1, "last_lr": 0.25}}  # fmt: skip
  jax.tree.map(np.testing.assert_array_equal, import_paddle_state(tx, PARAMS, sd, names=NAMES, learning_rate=sched), state)  # fmt: skip
  inside = paddle_schedule({**spec, "kwargs": {**spec["kwargs"], "warmup_steps": 6}})
  txi = oj.paddle.radam(inside)
  sdi = export_paddle_state(txi, PARAMS, steps(txi), names=NAMES, learning_rate=inside)  # in the warmup
  assert sdi["LR_Scheduler"]["LinearWarmup_LR"] == {"last_epoch": 0, "last_lr": 0.5}
  import_paddle_state(txi, PARAMS, sdi, names=NAMES, learning_rate=inside)
  sd_wrong = {
    **sd,
    "LR_Scheduler": {**sd["LR_Scheduler"], "LinearWarmup_LR": {"last_epoch": 4, "last_lr": 0.03125}},
  }
  with pytest.raises(ValueError, match="LR_Scheduler.LinearWarmup_LR.last_epoch = 4"):
    import_paddle_state(tx, PARAMS, sd_wrong, names=NAMES, learning_rate=sched)
  sd_wrong["LR_Scheduler"]["LinearWarmup_LR"] = {"last_epoch": 1, "last_lr": 0.125}
  with pytest.raises(ValueError, match="LR_Scheduler.LinearWarmup_LR.last_lr"):
    import_paddle_state(tx, PARAMS, sd_wrong, names=NAMES, learning_rate=sched)
  plain = oj.schedules.linear_warmup(oj.schedules.exponential_decay(0.5, 0.5), 3, 0.0, 0.5)
  with pytest.raises(ValueError, match="LR_Scheduler has the keys .*LinearWarmup_LR"):  # no inner state known
    import_paddle_state(tx, PARAMS, sd, names=NAMES, learning_rate=plain)
  with pytest.raises(ValueError, match="LR_Scheduler has the keys"):  # the inner state missing
    flat = {**sd, "LR_Scheduler": {"last_epoch": 4, "last_lr": 0.25}}
    import_paddle_state(tx, PARAMS, flat, names=NAMES, learning_rate=sched)


def test_reduce_on_plateau_as_a_schedule_is_an_error() -> None:
  """ReduceOnPlateau follows a metric, not the count: as a schedule, a clear error saying what is mapped."""
  with pytest.raises(ValueError, match="ReduceOnPlateau .*metric.*oj.schedules.reduce_on_plateau"):
    paddle_schedule({"class": "ReduceOnPlateau", "kwargs": {}})


def plateau_inputs(meta: dict):
  t = np.arange(meta["k"] + meta["n"])
  every, metrics = meta["every"], meta["metrics"]
  return (
    np.asarray([metrics[min(i // every, len(metrics) - 1)] for i in t], np.float32),
    (t + 1) % every == 0,
  )


@pytest.mark.parametrize("name", PLATEAU_CASES)
def test_golden_plateau(name: str) -> None:
  """ReduceOnPlateau resumed both ways: import -> export is the checkpoint (LR_Scheduler included, Paddle's
  double last_lr recovered), our continuation (with a reduction after k) matches Paddle's; our k-step export
  is the recorded one and Paddle's continuation from it matches ours."""
  meta, arrays = load(name)
  k, dt = meta["k"], meta["dtype"]
  ckpt = state_dict(meta, arrays, "ckpt")
  with precision(meta):
    params_k = jnp_tree(group(arrays, "params_k"), dt)
    tx, state = from_paddle_config(meta["config"], params=params_k, names=meta["names"], state_dict=ckpt)
    again = export_paddle_state(tx, params_k, state, names=meta["names"])
    expected = dict(ckpt)
    if meta["config"]["options"].get("momentum", 1.0) == 0.0:
      expected = {key: (np.zeros_like(v) if key.endswith("_momentum_0") else v) for key, v in ckpt.items()}
    assert again.pop("LR_Scheduler") == expected.pop("LR_Scheduler")
    assert_same_state_dict(again, expected)
    metric, last = plateau_inputs(meta)
    p0 = jnp_tree(group(arrays, "init"), dt)
    run = resume_runs(tx, k, with_metric=True)
    (ours_k, state_k), cont_ours, cont_import = run(
      p0, (jnp_tree(group(arrays, "grads"), dt), metric, last), params_k, state
    )
    check(meta, cont_import, group(arrays, "ref"), "import, continued")
    export = export_paddle_state(tx, ours_k, state_k, names=meta["export_names"])
    recorded = state_dict(meta, arrays, "export")
    assert export.pop("LR_Scheduler") == recorded.pop("LR_Scheduler")
    assert_same_state_dict(export, recorded)
    for leaf, v in group(arrays, "ours_k").items():
      np.testing.assert_array_equal(np.asarray(ours_k[leaf]), v)
    check(meta, cont_ours, group(arrays, "fwcont"), "export, continued in Paddle")


def test_plateau_cover_and_errors() -> None:
  """The three exact presets are covered; momentum, a bad LR_Scheduler and a misplaced plateau raise."""
  assert {load(n)[0]["config"]["class"] for n in PLATEAU_CASES} == {"RMSProp", "RAdam", "ASGD"}
  meta, arrays = load("plateau_rms_centered_gnorm_f32")
  ckpt = state_dict(meta, arrays, "ckpt")
  params = jnp_tree(group(arrays, "params_k"), "float32")
  names = meta["names"]
  tx, _ = from_paddle_config(meta["config"], params=params, names=names)
  sched = ckpt["LR_Scheduler"]
  assert sched["last_epoch"] == 3 and sched["best"] == 4.0
  for change, kind, match in (
    ({"best": None}, ValueError, "best is None"),
    ({"num_bad_epochs": 2}, ValueError, "patience 1"),
    ({"cooldown_counter": 2}, ValueError, "cooldown 1"),
    ({"last_epoch": 1.5}, ValueError, "last_epoch"),
    ({"last_lr": 0.02}, ValueError, "last_lr"),
    ({"extra": 1}, ValueError, "extra"),
  ):
    with pytest.raises(kind, match=match):
      import_paddle_state(tx, params, {**ckpt, "LR_Scheduler": {**sched, **change}}, names=names)
  for key in ("best", "last_lr"):
    with pytest.raises(KeyError, match=key):
      import_paddle_state(tx, params, {**ckpt, "LR_Scheduler": {k: v for k, v in sched.items() if k != key}},
                          names=names)  # fmt: skip
  with pytest.raises(KeyError, match="LR_Scheduler"):
    import_paddle_state(tx, params, {k: v for k, v in ckpt.items() if k != "LR_Scheduler"}, names=names)
  momentum = {**meta["config"], "options": {**meta["config"]["options"], "momentum": 0.9}}
  with pytest.raises(ValueError, match="momentum buffer"):
    from_paddle_config(momentum, params=params, names=names)
  plateau = oj.schedules.reduce_on_plateau(0.01)
  with pytest.raises(ValueError, match="momentum buffer"):
    export_paddle_state(optax.chain(oj.paddle.rmsprop(1.0, momentum=0.5), plateau), params,
                        optax.chain(oj.paddle.rmsprop(1.0, momentum=0.5), plateau).init(params), names=names)  # fmt: skip
  with pytest.raises(ValueError, match="plateau last"):
    bad = optax.chain(plateau, oj.paddle.radam(1.0))
    export_paddle_state(bad, params, bad.init(params), names=names)
  with pytest.raises(ValueError, match="schedule"):
    sch = optax.chain(oj.paddle.radam(optax.constant_schedule(1.0)), plateau)
    export_paddle_state(sch, params, sch.init(params), names=names)


def test_live_from_paddle() -> None:
  """from_paddle on a live optimizer (only where paddle is installed: tools' venv, not CI)."""
  paddle = pytest.importorskip("paddle")
  w = paddle.create_parameter(shape=[3], dtype="float32", attr=paddle.ParamAttr(name="live.w"))
  sched = paddle.optimizer.lr.StepDecay(0.1, 2)
  opt = paddle.optimizer.RAdam(sched, parameters=[w])
  with pytest.raises(ValueError, match="params="):
    (w * 2.0).sum().backward()
    opt.step()
    from_paddle(opt)
  sched.step()
  params = {"w": jnp.asarray(w.numpy())}
  tx, state = from_paddle(opt, params=params)
  assert_same_state_dict(
    export_paddle_state(tx, params, state, names=["live.w"], learning_rate=paddle_schedule(describe_paddle_optimizer(opt)["learning_rate"])),
    paddle_state_to_numpy(opt.state_dict()), last_lr_rtol=1e-6,
  )  # fmt: skip
