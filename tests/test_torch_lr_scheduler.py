"""oj.torch's lr schedulers against the values recorded from torch.optim.lr_scheduler 2.13.

Data: tests/golden/torch_lr/ (tools/golden_cases/torch_lr.py). Each group's lr (and the momentum or
betas[0] a cycling scheduler writes) at the recorded counts, float64: ours under x64 within 1e-12
relative (PyTorch's recursions telescoped; the worst measured is 1.2e-13, CosineAnnealingLR past
T_max with eta_min > 0), ours in float32 within 1e-6 relative (plus the float32 rounding of a user
lr_lambda). Also: resumed runs, per-group lists and for_group, PyTorch's exceptions and signatures,
jit/vmap, the presets with a scheduler, ReduceLROnPlateau, and RMSprop/RAdam/ASGD trajectories with
PyTorch's schedulers in float64 to 1e-12 (tests/golden/torch_lr/trajectories).
"""

from __future__ import annotations

import builtins
import functools
import inspect
import json
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from tests import golden_utils

DIR = Path(__file__).resolve().parent / "golden" / "torch_lr"
RTOL_F64 = 1e-12
RTOL_F32 = 1e-6

FUNCTIONS = {  # jnp twins of the generator's FUNCTIONS
  "inv_sqrt": lambda e: 1.0 / jnp.sqrt(1.0 + e),
  "half_every_7": lambda e: 0.5 ** (e // 7),
  "pow_095": lambda e: 0.95**e,
  "const_095": lambda e: 0.95,
  "three_quarters_every_3": lambda e: jnp.where(e % 3 == 0, 0.75, 1.0),
  "harmonic": lambda e: e / (e + 1.0),
  "inv_cycle": lambda x: 1.0 / x,
  "decay_iter": lambda x: 1.0 / (1.0 + 0.01 * x),
}
PY_FUNCTIONS = {  # the generator's float64 originals
  "inv_sqrt": lambda e: 1.0 / math.sqrt(1.0 + e),
  "half_every_7": lambda e: 0.5 ** (e // 7),
  "pow_095": lambda e: 0.95**e,
}
FACTORIES = {
  "LambdaLR": oj.torch.lambda_lr,
  "MultiplicativeLR": oj.torch.multiplicative_lr,
  "StepLR": oj.torch.step_lr,
  "MultiStepLR": oj.torch.multi_step_lr,
  "ConstantLR": oj.torch.constant_lr,
  "LinearLR": oj.torch.linear_lr,
  "ExponentialLR": oj.torch.exponential_lr,
  "PolynomialLR": oj.torch.polynomial_lr,
  "CosineAnnealingLR": oj.torch.cosine_annealing_lr,
  "CosineAnnealingWarmRestarts": oj.torch.cosine_annealing_warm_restarts,
  "CyclicLR": oj.torch.cyclic_lr,
  "OneCycleLR": oj.torch.one_cycle_lr,
  "SequentialLR": oj.torch.sequential_lr,
  "ChainedScheduler": oj.torch.chained_scheduler,
  "ReduceLROnPlateau": oj.torch.reduce_lr_on_plateau,
}
NO_LR = {"CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler"}


def decode(value, lr):
  if isinstance(value, dict) and "$fn" in value:
    return FUNCTIONS[value["$fn"]]
  if isinstance(value, dict) and "$sched" in value:
    return build(value["$sched"]["class"], value["$sched"]["kwargs"], lr)
  if isinstance(value, list):
    return [decode(v, lr) for v in value]
  return value


def build(cls, kwargs, lr, last_epoch=-1):
  """Our scheduler for PyTorch's ``cls(optimizer with lr, **kwargs)``."""
  kw = {k: decode(v, lr) for k, v in kwargs.items()}
  if last_epoch != -1:
    kw["last_epoch"] = last_epoch
  return FACTORIES[cls](**kw) if cls in NO_LR else FACTORIES[cls](lr, **kw)


@functools.cache
def load(cls):
  meta = json.loads((DIR / f"{cls}.json").read_text())
  with np.load(DIR / f"{cls}.npz") as z:
    arrays = {k: z[k] for k in z.files}
  return meta, arrays


TABLES = [c for c in FACTORIES if c != "ReduceLROnPlateau"]
CASES = [(cls, name) for cls in TABLES for name in load(cls)[0]["cases"]]
IDS = [f"{c}-{n}" for c, n in CASES]


PAD = 2048  # every table is evaluated on counts padded to this length: eager ops compiled once


@functools.cache
def ours(cls, x64):
  """Our lr (and momentum) of every group at the recorded counts, for every case of a class: name ->
  (lr, momentum or None). Evaluated eagerly on the counts padded to one length, so that XLA compiles
  each operation once for all tables (a jitted program per case would compile for ~0.5 s each);
  `test_jit_traces_once_and_agrees_with_vmap_and_eager` checks that jit and vmap give these values."""
  meta, arrays = load(cls)
  dt = jnp.float64 if x64 else jnp.float32
  out = {}
  with jax.enable_x64(x64):
    for name, info in meta["cases"].items():
      groups = info["groups"]
      counts = arrays[f"{name}/count"]
      assert len(counts) <= PAD
      n = jnp.asarray(np.pad(counts, (0, PAD - len(counts)), mode="edge"), jnp.int32)
      sched = build(cls, info["kwargs"], groups[0], info["last_epoch"])
      per_group = [sched.for_group(i, lr, groups=len(groups)) for i, lr in enumerate(groups)]
      lr = np.stack([np.asarray(s(n))[: len(counts)] for s in per_group], -1)
      assert all(s(n).dtype == dt for s in per_group)
      mom = None
      if f"{name}/momentum" in arrays:
        mom = np.stack([np.asarray(s.momentum(n))[: len(counts)] for s in per_group], -1)
      out[name] = (lr.astype(np.float64), None if mom is None else mom.astype(np.float64))
  return out


def relative(got, want):
  return np.abs(got - want) / np.maximum(np.abs(want), 1e-300)


def user_rounding(info, counts):
  """The float32 rounding of a user lr_lambda (relative), which PyTorch's float64 lambda has not."""
  spec = info["kwargs"].get("lr_lambda")
  specs = spec if isinstance(spec, list) else [spec]
  out = np.zeros((len(counts), len(specs)))
  for j, s in enumerate(specs):
    if isinstance(s, dict) and s["$fn"] in PY_FUNCTIONS:
      e = counts + (info["last_epoch"] + 1)
      f32 = np.asarray(jax.vmap(FUNCTIONS[s["$fn"]])(jnp.asarray(e, jnp.int32)), np.float64)
      exact = np.array([PY_FUNCTIONS[s["$fn"]](int(x)) for x in e])
      out[:, j] = relative(f32, exact)
  return out


@pytest.mark.parametrize("cls, name", CASES, ids=IDS)
def test_float64_matches_torch(cls, name):
  _, arrays = load(cls)
  lr, mom = ours(cls, True)[name]
  err = relative(lr, arrays[f"{name}/lr"])
  assert err.max() <= RTOL_F64, (
    f"{cls}/{name}: lr {err.max():.3g} at counts {arrays[f'{name}/count'][err.max(1) > RTOL_F64][:5]}"
  )
  if mom is not None:
    assert relative(mom, arrays[f"{name}/momentum"]).max() <= RTOL_F64


@pytest.mark.parametrize("cls, name", CASES, ids=IDS)
def test_float32_matches_torch(cls, name):
  meta, arrays = load(cls)
  lr, mom = ours(cls, False)[name]
  tol = RTOL_F32
  if cls == "LambdaLR":
    tol = RTOL_F32 + user_rounding(meta["cases"][name], arrays[f"{name}/count"])
  err = relative(lr, arrays[f"{name}/lr"])
  assert (err <= tol).all(), f"{cls}/{name}: lr {err.max():.3g}"
  if mom is not None:
    assert relative(mom, arrays[f"{name}/momentum"]).max() <= RTOL_F32


def test_tables_cover_every_class_resumes_groups_and_momentum():
  seen = {"resume": set(), "groups": set(), "momentum": set()}
  for cls, name in CASES:
    meta, arrays = load(cls)
    info = meta["cases"][name]
    assert meta["framework"] == "torch" and meta["framework_version"].startswith("2.13")
    if info["last_epoch"] >= 0:
      seen["resume"].add(cls)
    if len(info["groups"]) > 1:
      seen["groups"].add(cls)
    if f"{name}/momentum" in arrays:
      seen["momentum"].add(cls)
  assert set(TABLES) - seen["resume"] == {"ChainedScheduler"}  # ChainedScheduler takes no last_epoch
  assert {"LambdaLR", "MultiplicativeLR", "CyclicLR", "OneCycleLR", "SequentialLR"} <= seen["groups"]
  assert {"CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler"} <= seen["momentum"]


# --- ReduceLROnPlateau ----------------------------------------------------------------------------


@functools.cache
def plateau(x64):
  """Each group's lr after each metric, for every case: one jitted program (a lax.scan per group)."""
  meta, arrays = load("ReduceLROnPlateau")
  dt = jnp.float64 if x64 else jnp.float32
  with jax.enable_x64(x64):
    txs, metrics = {}, {}
    for name, info in meta["cases"].items():
      groups = info["groups"]
      tx = oj.torch.reduce_lr_on_plateau(groups[0], **info["kwargs"])
      txs[name] = [tx.for_group(i, lr, groups=len(groups)) for i, lr in enumerate(groups)]
      metrics[name] = jnp.asarray(arrays[f"{name}/metrics"], dt)

    def one(t, ms):
      def body(state, m):
        _, state = t.update(jnp.ones(2, dt), state, metric=m)
        return state, oj.get_lr(state)

      return jax.lax.scan(body, t.init(jnp.zeros(2, dt)), ms)[1]

    @jax.jit
    def run(metrics):
      return {name: jnp.stack([one(t, metrics[name]) for t in ts], -1) for name, ts in txs.items()}

    return {k: np.asarray(v, np.float64) for k, v in run(metrics).items()}


PLATEAU_CASES = list(load("ReduceLROnPlateau")[0]["cases"])


@pytest.mark.parametrize("name", PLATEAU_CASES)
@pytest.mark.parametrize("x64", [True, False], ids=["f64", "f32"])
def test_plateau_matches_torch(name, x64):
  _, arrays = load("ReduceLROnPlateau")
  want = arrays[f"{name}/lr"]
  assert len(np.unique(want)) > 2, "a plateau case should reduce the lr more than once"
  err = relative(plateau(x64)[name], want)
  assert err.max() <= (RTOL_F64 if x64 else RTOL_F32), err.max()


def test_plateau_lr_is_read_and_set_with_get_lr():
  tx = optax.chain(oj.torch.rmsprop(lr=1.0), oj.torch.reduce_lr_on_plateau(0.1, patience=0))
  ref = oj.torch.rmsprop(lr=1.0)
  p, g = jnp.ones(3), jnp.ones(3)

  @jax.jit
  def run():
    s = tx.init(p)
    u0, s = tx.update(g, s, p, metric=1.0)
    u1, s = tx.update(g, s, p, metric=2.0)  # a bad epoch, patience 0: the next lr is 0.01
    lr1 = oj.get_lr(s)
    s = oj.set_lr(s, 0.5)  # param_groups[0]['lr'] = 0.5
    u2, s = tx.update(g, s, p)
    r, rs = ref.init(p), []
    for _ in range(3):
      u, r = ref.update(g, r, p)
      rs.append(u)
    return lr1, jnp.stack([u0, u1, u2]), jnp.stack(rs)

  lr1, got, plain = run()
  assert float(lr1) == pytest.approx(0.01)
  np.testing.assert_allclose(got, plain * jnp.array([[0.1], [0.1], [0.5]]), rtol=1e-6)


def test_plateau_min_lr_list_needs_a_group():
  tx = oj.torch.reduce_lr_on_plateau(0.1, min_lr=[0.01, 0.02])
  with pytest.raises(ValueError, match="for_group"):
    tx.init(jnp.zeros(1))
  with pytest.raises(ValueError, match="expected 3 min_lrs, got 2"):
    tx.for_group(0, groups=3)
  assert tx.for_group(1, 0.2).arguments["group"] == 1


# --- PyTorch's exceptions and signatures -------------------------------------------------------------

VALIDATION = json.loads((DIR / "validation.json").read_text())
V_IDS = [f"{c['class']}-{c['label']}" for c in VALIDATION["cases"]]
ASGD_DEFAULTS = (
  "lr",
  "lambd",
  "alpha",
  "t0",
  "weight_decay",
  "foreach",
  "maximize",
  "differentiable",
  "capturable",
)
# Where PyTorch accepts the value (or raises only at a later step) and ours raises at construction.
OURS = {
  "StepLR-float_step_size": TypeError,
  "StepLR-zero_step_size": ValueError,
  "StepLR-negative_gamma": ValueError,
  "MultiStepLR-float_milestone": TypeError,
  "ConstantLR-zero_factor": ValueError,
  "ExponentialLR-negative_gamma": ValueError,
  "PolynomialLR-negative_power": ValueError,
  "CosineAnnealingLR-zero_t_max": ValueError,
  "CosineAnnealingLR-float_t_max": TypeError,
  "CosineAnnealingLR-negative_eta_min": ValueError,
  "CyclicLR-float_step_size": TypeError,
  "SequentialLR-unsorted_milestones": ValueError,
  "ReduceLROnPlateau-negative_factor": ValueError,
}
# PyTorch's exception type, our own words (PyTorch's message comes from Python, not from a check).
OWN_MESSAGE = {"MultiStepLR-int_milestones", "LambdaLR-not_callable"}
# PyTorch needs param_groups[i]['initial_lr'] to resume; ours takes it as `lr`: nothing to raise.
NOTHING_TO_RAISE = {"StepLR-resume_without_initial_lr"}


def _ours_for(case):
  """Builds ours for a validation case the way a user would (lists picked for the recorded groups, the
  optimizer checked when it has no momentum); returns the scheduler."""
  s = build(case["class"], {k: v for k, v in case["kwargs"].items() if k != "last_epoch"}, 0.1,
            case["kwargs"].get("last_epoch", -1))  # fmt: skip
  if hasattr(s, "for_group"):
    s = s.for_group(0, 0.1, groups=case["groups"])
  if case["optimizer"] == "torch.optim.ASGD":
    s.check_optimizer(ASGD_DEFAULTS)
  return s


def _with_plateau(kwargs):
  return {**kwargs, "schedulers": [oj.torch.reduce_lr_on_plateau(0.1) if m["$sched"]["class"] ==
                                   "ReduceLROnPlateau" else m for m in kwargs["schedulers"]]}  # fmt: skip


@pytest.mark.parametrize("case", VALIDATION["cases"], ids=V_IDS)
def test_validation_as_torch(case):
  key = f"{case['class']}-{case['label']}"
  if "schedulers" in case["kwargs"] and any(m["$sched"]["class"] == "ReduceLROnPlateau"
                                            for m in case["kwargs"]["schedulers"]):  # fmt: skip
    case = {**case, "kwargs": _with_plateau(case["kwargs"])}
  if key in NOTHING_TO_RAISE:
    _ours_for(case)
    return
  if key in OURS:
    with pytest.raises(OURS[key]):
      _ours_for(case)
    return
  if case["raises"] is None:  # PyTorch accepts it, so do we
    _ours_for(case)
    return
  if case["when"] != "construction":  # e.g. OneCycleLR past total_steps: NaN from that count on
    step = int(case["when"].split()[1])
    s = _ours_for(case)
    assert np.isnan(float(s(step))) and np.isfinite(float(s(step - 1))), key
    return
  with pytest.raises(getattr(builtins, case["raises"])) as info:
    _ours_for(case)
  if key not in OWN_MESSAGE:  # PyTorch's message, then (where it does not) the argument and its value
    assert str(info.value).startswith(case["message"]), key


@pytest.mark.parametrize("cls", list(FACTORIES))
def test_signature_is_torch_without_the_optimizer(cls):
  theirs = VALIDATION["signatures"][cls]
  theirs = [p for p in theirs if p[0] != "optimizer"]
  params = [p for p in inspect.signature(FACTORIES[cls]).parameters.values() if p.kind is not p.KEYWORD_ONLY]
  mine = [[p.name, None if p.default is p.empty else repr(p.default)] for p in params]
  if cls not in NO_LR:
    assert mine[0] == ["lr", None]
    mine = mine[1:]
  assert mine == theirs


# --- for_group, momentum, jit and vmap, presets -----------------------------------------------------


def test_for_group_rescales_and_picks_list_entries():
  s = oj.torch.lambda_lr(0.1, [lambda e: 0.5**e, lambda e: 1.0 / (e + 1.0)])
  with pytest.raises(ValueError, match="for_group"):
    s(0)
  with pytest.raises(ValueError, match="none for param_groups"):
    s.for_group(2)
  with pytest.raises(ValueError, match="Expected 3 lr_lambdas, but got 2"):
    s.for_group(0, groups=3)
  assert float(s.for_group(1, 0.3)(2)) == pytest.approx(0.1)
  step = oj.torch.step_lr(0.1, 2, 0.5)
  assert float(step.for_group(5)(2)) == pytest.approx(0.05)  # lr=None keeps the scheduler's
  assert float(step.for_group(1, 0.4)(2)) == pytest.approx(0.2)
  seq = oj.torch.sequential_lr([oj.torch.constant_lr(0.1, 0.5, 2), oj.torch.exponential_lr(0.1, 0.5)], [2])
  assert [round(float(seq.for_group(0, 1.0)(t)), 6) for t in range(4)] == [0.5, 0.5, 1.0, 0.5]
  cyc = oj.torch.cyclic_lr([0.01, 0.02], 0.1, 2)
  assert float(cyc.for_group(1, 123.0)(0)) == pytest.approx(0.02)  # its own base_lr, not the group's lr


def test_momentum_and_check_optimizer():
  assert oj.torch.step_lr(0.1, 2).momentum is None
  assert oj.torch.step_lr(0.1, 2).check_optimizer(ASGD_DEFAULTS) is None
  one = oj.torch.one_cycle_lr(0.1, total_steps=10)
  assert one.check_optimizer(["lr", "betas", "eps"]) == "betas"
  assert one.check_optimizer(["lr", "momentum", "alpha"]) == "momentum"
  assert float(one.momentum(0)) == pytest.approx(0.95)
  assert oj.torch.one_cycle_lr(0.1, total_steps=10, cycle_momentum=False).momentum is None
  with pytest.raises(ValueError, match="cycle_momentum"):
    one.check_optimizer(ASGD_DEFAULTS)


REPRESENTATIVE = [
  oj.torch.lambda_lr(0.1, lambda e: 1.0 / (1.0 + e)),
  oj.torch.multiplicative_lr(0.1, lambda e: jnp.where(e % 2 == 0, 0.5, 1.0)),
  oj.torch.multi_step_lr(0.1, [2, 5]),
  oj.torch.linear_lr(0.1, total_iters=6, last_epoch=1),
  oj.torch.polynomial_lr(0.1, total_iters=7, power=2.0),
  oj.torch.cosine_annealing_lr(0.1, T_max=4, eta_min=0.01),
  oj.torch.cosine_annealing_warm_restarts(0.1, T_0=2, T_mult=2),
  oj.torch.cyclic_lr(0.01, 0.1, step_size_up=3, mode="exp_range", gamma=0.9),
  oj.torch.one_cycle_lr(0.1, total_steps=20, three_phase=True),
  oj.torch.chained_scheduler([oj.torch.constant_lr(0.1), oj.torch.step_lr(0.1, 3)]),
]


@pytest.mark.parametrize("x64", [False, True], ids=["f32", "f64"])
def test_jit_traces_once_and_agrees_with_vmap_and_eager(x64):
  """One scalar program per scheduler for every count, equal to the vmapped values (the tables are
  compared through vmap); eager calls and a float count give the same values."""
  with jax.enable_x64(x64):
    traces = []

    @jax.jit
    def every(c):
      traces.append(None)
      return jnp.stack([s(c) for s in REPRESENTATIVE])

    one_by_one = np.stack([np.asarray(every(jnp.int32(c))) for c in range(12)], -1)
    assert len(traces) == 1
    batched = np.asarray(
      jax.jit(lambda n: jnp.stack([jax.vmap(s)(n) for s in REPRESENTATIVE]))(jnp.arange(12))
    )
    assert batched.dtype == (np.float64 if x64 else np.float32)
    # float64: XLA may fuse a product and a sum into one FMA in one program and not another (1 ulp)
    rtol = 1e-15 if x64 else 0
    np.testing.assert_allclose(batched, one_by_one, rtol=rtol)
    for s, row in zip(REPRESENTATIVE[:3], one_by_one, strict=False):
      np.testing.assert_allclose([float(s(5)), float(s(np.float32(5.0)))], row[[5, 5]], rtol=rtol)
    assert np.isfinite(one_by_one).all() and all(len(np.unique(r)) > 1 for r in one_by_one)


@pytest.mark.parametrize("preset", [oj.torch.rmsprop, oj.torch.radam])
def test_presets_take_a_scheduler(preset):
  """A scheduler object as ``lr``: the same updates as its values given one by one."""
  sched = oj.torch.chained_scheduler(
    [oj.torch.linear_lr(0.01, 0.5, total_iters=3), oj.torch.step_lr(0.01, 2)]
  )
  table = jax.vmap(sched)(jnp.arange(4))

  def run(tx):
    p = jnp.ones(3)

    def body(s, g):
      u, s = tx.update(g, s, p)
      return s, u

    return jax.jit(lambda: jax.lax.scan(body, tx.init(p), jnp.arange(1.0, 5.0)[:, None] * jnp.ones(3))[1])()

  np.testing.assert_array_equal(run(preset(lr=sched)), run(preset(lr=lambda c: table[c])))


# --- trajectories: RMSprop, RAdam, ASGD with PyTorch's schedulers ---------------------------------------

FAMILY = "torch_lr/trajectories"
TRAJ = golden_utils.case_names(FAMILY)


@pytest.mark.parametrize("name", TRAJ)
def test_trajectory_with_torch_scheduler(name):
  case = golden_utils.load_case(FAMILY, name)
  extras = case.meta["extras"]
  with golden_utils.precision(case):
    tx = golden_utils.build_optimizer(case.meta)
    if extras:
      params, average = golden_utils.replay(tx, case, average=True)
    else:
      params = golden_utils.replay(tx, case)
  golden_utils.assert_matches(case, params, case.params)
  for key in extras:
    golden_utils.assert_matches(case, average, golden_utils.load_extra(FAMILY, name, key), key)


def test_a_float32_schedule_would_miss_the_float64_trajectory():
  """The issue's measurement: PyTorch's lr is a Python float; rounded to float32 it moves a float64
  trajectory by ~1e-9, far beyond the 1e-12 the float64 schedules meet."""
  name = next(n for n in TRAJ if "rmsprop" in n)
  case = golden_utils.load_case(FAMILY, name)
  config = case.meta["config"]
  with golden_utils.precision(case):
    sched = golden_utils.schedule(config["schedule"], base_lr=config["kwargs"]["lr"])
    rounded = lambda c: sched(c).astype(jnp.float32).astype(jnp.float64)  # noqa: E731
    params = golden_utils.replay(oj.torch.rmsprop(**{**config["kwargs"], "lr": rounded}), case)
  assert 1e-10 < max(golden_utils.normwise_error(params, case.params).values()) < 1e-6


def test_trajectories_cover_each_optimizer_and_scheduler_in_float64():
  """CosineAnnealingLR here; StepLR and ExponentialLR in the families of the optimizers themselves
  (tests/test_golden.py replays them with oj.torch's schedulers, through golden_utils)."""
  seen = set()
  for family in (FAMILY, "rmsprop", "radam", "asgd"):
    for name in golden_utils.case_names(family):
      meta = golden_utils.load_meta(family, name)
      if meta["framework"] == "torch":
        short = meta["config"]["schedule"]["type"].rsplit(".", 1)[-1]
        seen.add((meta["config"]["optimizer"], short, meta["dtype"]))
  for opt in ("torch.optim.RMSprop", "torch.optim.RAdam", "torch.optim.ASGD"):
    for sched in ("StepLR", "ExponentialLR", "CosineAnnealingLR"):
      assert (opt, sched, "float64") in seen, (opt, sched)
