"""Paddle state interop (oj.interop.import_paddle_state / export_paddle_state / from_paddle): a table family.

Each case runs the real Paddle optimizer k steps over seeded gradients (`harness.make_inputs` with
k + n steps), saves its ``state_dict()`` (as numpy, the accumulators under ``ckpt/<key>``, the
scheduler's dict in the json) and continues n steps (``ref/<leaf>``, the parameters after each of
them; ``params_k/<leaf>`` the parameters at k). It also records the live optimizer as
``describe_paddle_optimizer`` reads it (json ``config``) and checks ``from_paddle`` on the live object:
its imported state, exported again, must equal the checkpoint bit for bit.

Then the other direction: optim_jax (the preset ``from_paddle_config`` makes of that record) runs the
first k steps in JAX (the test's own jitted function, so that it reproduces them bit for bit), its
exported state is stored (``export/<key>``), loaded into a fresh Paddle optimizer of the same arguments
(``set_state_dict``), which continues n steps from our parameters (``fwcont/<leaf>``).

Paddle parameters are created with ``ParamAttr(name=...)`` names; the json lists them in the
optimizer's order (``paddle_order``) and per leaf (``names``, ``{Paddle name: leaf}``). One case
creates them in another order than the leaves' (its test passes ``names``).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from golden_cases import harness as h
from golden_cases import runners

PD = h.PADDLE_LR


@dataclasses.dataclass
class InteropCase:
  label: str
  optimizer: str
  dtype: str
  k: int
  n: int
  kwargs: dict[str, Any]
  schedule: dict[str, Any] | None = None
  clip: dict[str, Any] | None = None
  wd: Any = None
  groups: list[dict[str, Any]] | None = None
  order: tuple[str, ...] | None = None  # Paddle's parameter order, if not the leaves'
  notes: str = ""
  plateau: dict[str, Any] | None = None  # ReduceOnPlateau's arguments: sched.step(metric) every `every` steps
  every: int = 3
  metrics: tuple[float, ...] = ()

  @property
  def name(self) -> str:
    return f"{self.label}_{h.SHORT_DTYPES[self.dtype]}"

  def harness_case(self) -> h.Case:
    return h.named_case(
      "interop_paddle_" + self.name, framework="paddle", dtype=self.dtype, steps=self.k + self.n,
      optimizer=f"paddle.optimizer.{self.optimizer}", kwargs=self.kwargs,
    )  # fmt: skip


RMS = {"rho": 0.9, "epsilon": 1e-6, "momentum": 0.9, "centered": True}
# float64: schedules whose values are float32 numbers (our schedules are float32, Paddle's lr double)
STEP_EXACT = h.spec(PD + "StepDecay", learning_rate=0.015625, step_size=7, gamma=0.5)
RADAM = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
ONE_CYCLE = h.spec(PD + "OneCycleLR", max_learning_rate=0.02, total_steps=40)


def cases() -> list[InteropCase]:
  f32, f64 = "float32", "float64"
  return [
    InteropCase("rms_momentum_centered_step", "RMSProp", f32, 15, 25, RMS, schedule=h.paddle_step(0.01)),
    InteropCase("rms_momentum_exp_gnorm_wd", "RMSProp", f32, 20, 20,
                {**RMS, "centered": False, "momentum": 0.5},
                schedule=h.paddle_exp(0.01), clip=h.by_gnorm(1.5), wd=h.float_wd(0.02)),
    InteropCase("rms_plain_constant", "RMSProp", f32, 10, 20,
                {"learning_rate": 0.01, "rho": 0.95, "epsilon": 1e-6, "momentum": 0.0, "centered": False},
                notes="momentum=0, uncentered: Paddle's momentum_0 holds the last step, mean_grad_0 zeros"),
    InteropCase("rms_groups_step", "RMSProp", f32, 15, 25, RMS, schedule=h.paddle_step(0.01),
                groups=[{"params": ["w"], "learning_rate": 0.3, "rho": 0.8},
                        {"params": ["b", "s"], "momentum": 0.5, "centered": False}],
                order=("w", "s", "b")),
    InteropCase("radam_before_rectification_step", "RAdam", f32, 3, 25,
                {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, schedule=h.paddle_step(0.01),
                notes="k = 3: rho_t <= 5 up to t = 5, the continuation crosses the threshold"),
    InteropCase("radam_after_rectification_exp_l2_gnorm", "RAdam", f32, 20, 30,
                {"beta1": 0.8, "beta2": 0.99, "epsilon": 1e-8}, schedule=h.paddle_exp(0.01),
                clip=h.by_gnorm(2.0), wd=h.l2(0.01)),
    InteropCase("radam_groups_exp", "RAdam", f32, 12, 20, {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
                schedule=h.paddle_exp(0.01),
                groups=[{"params": ["w"], "beta1": 0.8, "beta2": 0.99, "learning_rate": 0.5},
                        {"params": ["b", "s"], "epsilon": 1e-3}]),
    InteropCase("asgd_n3_piece_l1_value", "ASGD", f32, 10, 20, {"batch_num": 3},
                schedule=h.spec(PD + "PiecewiseDecay", boundaries=[5, 18], values=[0.02, 0.01, 0.005]),
                clip=h.by_value(max=0.8), wd=h.l1(0.01)),
    InteropCase("rms_momentum_centered_step", "RMSProp", f64, 15, 25, RMS, schedule=STEP_EXACT),
    InteropCase("radam_after_rectification_step", "RAdam", f64, 12, 20,
                {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}, schedule=STEP_EXACT, wd=h.float_wd(0.01)),
    InteropCase("asgd_n3_step_gnorm", "ASGD", f64, 11, 20, {"batch_num": 3}, schedule=STEP_EXACT,
                clip=h.by_gnorm(1.5)),
    InteropCase("long_rms_momentum_step", "RMSProp", f32, 100, 200, RMS,
                schedule=h.spec(PD + "StepDecay", learning_rate=0.01, step_size=60, gamma=0.6)),
    # OneCycleLR, CyclicLR, LinearWarmup over a scheduler (the inner one's state nested in LR_Scheduler)
    InteropCase("rms_onecycle_cos", "RMSProp", f32, 12, 25, RMS,
                schedule=h.spec(PD + "OneCycleLR", max_learning_rate=0.02, total_steps=40, phase_pct=0.25),
                notes="k = 12: past the peak (count 9), in the annealing phase"),
    InteropCase("asgd_onecycle_three_linear", "ASGD", f32, 8, 25, {"batch_num": 3},
                schedule=h.spec(PD + "OneCycleLR", max_learning_rate=0.05, total_steps=37, divide_factor=7.0,
                                end_learning_rate=0.001, phase_pct=0.3, anneal_strategy="linear",
                                three_phase=True)),
    InteropCase("radam_cyclic_triangular2", "RAdam", f32, 15, 20, RADAM,
                schedule=h.spec(PD + "CyclicLR", base_learning_rate=0.002, max_learning_rate=0.02,
                                step_size_up=4, step_size_down=6, mode="triangular2")),
    InteropCase("asgd_warmup_exp", "ASGD", f32, 5, 25, {"batch_num": 3},
                schedule=h.spec(PD + "LinearWarmup", learning_rate=h.paddle_exp(0.01, 0.9), warmup_steps=8,
                                start_lr=0.001, end_lr=0.01),
                notes="k = 5: inside the warmup (the inner scheduler at last_epoch 0), continued past it"),
    InteropCase("rms_warmup_onecycle", "RMSProp", f32, 14, 20, RMS,
                schedule=h.spec(PD + "LinearWarmup", learning_rate=ONE_CYCLE, warmup_steps=5, start_lr=0.0,
                                end_lr=0.001)),
    # float64: float32-exact rates (power-of-two sizes and rates)
    InteropCase("radam_cyclic_triangular", "RAdam", f64, 10, 20, RADAM,
                schedule=h.spec(PD + "CyclicLR", base_learning_rate=0.00390625, max_learning_rate=0.015625,
                                step_size_up=4, step_size_down=4)),
    InteropCase("rms_warmup_step", "RMSProp", f64, 10, 20, RMS,
                schedule=h.spec(PD + "LinearWarmup", learning_rate=STEP_EXACT, warmup_steps=4, start_lr=0.0,
                                end_lr=0.015625),
                notes="k = 10: after the warmup, the inner StepDecay at last_epoch 6"),
    # ReduceOnPlateau: sched.step(metric) after every 3rd step; metrics float32 numbers, stored in the json
    InteropCase("plateau_rms_centered_gnorm", "RMSProp", f32, 10, 26,
                {"rho": 0.9, "epsilon": 1e-6, "momentum": 0.0, "centered": True}, clip=h.by_gnorm(1.5),
                plateau={"learning_rate": 0.01, "factor": 0.5, "patience": 1, "cooldown": 1},
                metrics=(5.0, 4.0, 4.0, 4.0, 3.5, 3.75, 3.75, 3.75, 3.0, 3.0, 3.0, 3.0),
                notes="reductions after epochs 4 (step 12, after k) and 8 (cooldown 1)"),
    InteropCase("plateau_asgd_l2", "ASGD", f32, 13, 23, {"batch_num": 3}, wd=h.l2(0.01),
                plateau={"learning_rate": 0.02, "factor": 0.25, "patience": 0, "threshold": 0.1},
                metrics=(2.0, 1.0, 0.95, 0.5, 0.5, 0.25, 0.25, 0.25, 0.1, 0.1, 0.1, 0.1),
                notes="patience 0, rel threshold 0.1: reductions at epochs 3 (before k) and 5, 7, 8"),
    InteropCase("plateau_radam_max_abs_wd", "RAdam", f64, 14, 22, RADAM, wd=h.float_wd(0.01),
                plateau={"learning_rate": 0.015625, "mode": "max", "factor": 0.5, "patience": 1,
                         "threshold": 0.05, "threshold_mode": "abs", "min_lr": 0.00390625},
                metrics=(1.0, 2.0, 2.0, 2.0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5),
                notes="mode max, abs threshold, min_lr: reductions at epochs 4 (before k), 7, 10 (min_lr)"),
  ]  # fmt: skip


def _schedule(spec: dict[str, Any] | None) -> Any:
  """The Paddle scheduler of a spec; a LinearWarmup's learning_rate may be a spec itself."""
  if spec is None:
    return None
  kwargs = dict(spec.get("kwargs", {}))
  if isinstance(kwargs.get("learning_rate"), dict):
    kwargs["learning_rate"] = _schedule(kwargs["learning_rate"])
  return runners.resolve(spec["type"])(**kwargs)


def _paddle_run(
  case: InteropCase, init: dict, grads: dict, steps: range, tag: str, state: dict | None = None
):
  """Paddle from `init` over grads[steps]; optionally set_state_dict(state) first. Returns the optimizer,
  its parameters by leaf and the parameters after each step."""
  import paddle

  from optim_jax.interop import to_paddle

  paddle.set_device("cpu")
  leaves = sorted(init)
  order = list(case.order or leaves)
  variables = {
    leaf: paddle.create_parameter(
      shape=list(init[leaf].shape), dtype=case.dtype, attr=paddle.ParamAttr(name=f"{tag}.{leaf}"),
      default_initializer=paddle.nn.initializer.Assign(init[leaf]),
    )
    for leaf in order
  }  # fmt: skip
  kwargs = dict(case.kwargs)
  sched = _schedule(case.schedule)
  if case.plateau is not None:
    sched = paddle.optimizer.lr.ReduceOnPlateau(**case.plateau)
  if sched is not None:
    kwargs["learning_rate"] = sched
  if case.clip is not None:
    kwargs["grad_clip"] = runners._build(case.clip)
  if case.wd is not None:
    kwargs["weight_decay"] = runners._paddle_regularizer(case.wd)
  params = [variables[leaf] for leaf in order]
  if case.groups is not None:
    params = runners._paddle_groups(case.groups, variables)
  opt = runners.resolve(f"paddle.optimizer.{case.optimizer}")(parameters=params, **kwargs)
  if state is not None:
    opt.set_state_dict(to_paddle(state))
  traj = []
  for t in steps:
    loss = paddle.add_n([paddle.sum(variables[leaf] * paddle.to_tensor(grads[leaf][t])) for leaf in order])
    loss.backward()
    opt.step()
    opt.clear_grad()
    if case.plateau is not None:
      if (t + 1) % case.every == 0:
        sched.step(case.metrics[(t + 1) // case.every - 1])
    elif sched is not None:
      sched.step()
    traj.append({leaf: variables[leaf].numpy().copy() for leaf in leaves})
  return opt, variables, traj


def _stack(traj: list[dict], leaves: list[str]) -> dict[str, np.ndarray]:
  return {leaf: np.stack([s[leaf] for s in traj]) for leaf in leaves}


def _resume_runs(tx, k, with_metric=False):
  """The test's own jitted function (tests/golden_utils.py `resume_runs`): our k-step export is taken
  from the same program, so that the test reproduces it bit for bit."""
  import sys

  sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
  import golden_utils

  return golden_utils.resume_runs(tx, k, with_metric)


def plateau_inputs(every: int, metrics, steps: int):
  """Per step: the metric (that of its epoch) and whether the step ends an epoch."""
  t = np.arange(steps)
  last = (t + 1) % every == 0
  metric = np.asarray([metrics[min(i // every, len(metrics) - 1)] for i in t], np.float32)
  return metric, last


def _same(a: dict, b: dict) -> bool:
  if set(a) != set(b):
    return False
  for key in a:
    if isinstance(a[key], dict):
      if not _same(a[key], b[key]):
        return False
    elif (
      not np.array_equal(np.asarray(a[key]), np.asarray(b[key]))
      or np.asarray(a[key]).dtype != np.asarray(b[key]).dtype
    ):
      return False
  return True


def _same_scheduler(ours: dict, ref: dict) -> None:
  """LR_Scheduler dicts (nested for a LinearWarmup over a scheduler): keys and last_epoch exactly, last_lr to
  1e-6 (ours is the float32 schedule, Paddle's a double)."""
  assert list(ours) == list(ref), (ours, ref)
  assert ours["last_epoch"] == ref["last_epoch"], (ours, ref)
  assert np.isclose(ours["last_lr"], ref["last_lr"], rtol=1e-6), (ours, ref)
  for key in ref:
    if isinstance(ref[key], dict):
      _same_scheduler(ours[key], ref[key])


def _scheduler_json(value: dict) -> dict:
  return {kk: _scheduler_json(v) if isinstance(v, dict) else float(v) if kk == "last_lr" else int(v)
          for kk, v in value.items()}  # fmt: skip


def _record(case: InteropCase, versions: dict[str, str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
  import jax
  import jax.numpy as jnp

  from optim_jax.interop import (
    describe_paddle_optimizer,
    export_paddle_state,
    from_paddle,
    from_paddle_config,
    paddle_schedule,
    paddle_state_to_numpy,
  )

  hc = case.harness_case()
  init, grads = h.make_inputs(hc)
  leaves = sorted(init)
  k, n = case.k, case.n
  # (a) Paddle k steps, its state, n more steps
  opt, variables, traj = _paddle_run(case, init, grads, range(k + n), f"full_{case.name}")
  # replay for the checkpoint at k: a second optimizer run to k only
  opt_k, vars_k, traj_k = _paddle_run(case, init, grads, range(k), f"{case.name}")
  ckpt = paddle_state_to_numpy(opt_k.state_dict())
  config = describe_paddle_optimizer(opt_k)
  order = [p["name"] for p in config["parameters"]]
  by_name = {vars_k[leaf].name: leaf for leaf in leaves}
  names = {pname: by_name[pname] for pname in order}  # in Paddle's order, as its keys are
  params_k = {leaf: vars_k[leaf].numpy().copy() for leaf in leaves}
  for leaf in leaves:
    assert np.array_equal(params_k[leaf], traj[k - 1][leaf]), "Paddle is not deterministic"
  with jax.enable_x64(case.dtype == "float64"):
    pk = {leaf: jnp.asarray(v) for leaf, v in params_k.items()}
    # from_paddle on the live object: its state, exported again, is the checkpoint bit for bit
    tx_live, state_live = from_paddle(opt_k, params=pk, names=names)
    plateau = case.plateau is not None
    if plateau:  # a reduction after the resume point
      assert opt._learning_rate.last_lr < ckpt["LR_Scheduler"]["last_lr"], case.name
    lr = None if plateau else paddle_schedule(config["learning_rate"])
    again = export_paddle_state(
      tx_live, pk, state_live, names=names, learning_rate=lr if callable(lr) else None
    )
    if case.kwargs.get("momentum", 1.0) == 0.0:  # the momentum_0 that momentum=0 never reads
      again = {key: v for key, v in again.items() if not key.endswith("_momentum_0")}
      ckpt_cmp = {key: v for key, v in ckpt.items() if not key.endswith("_momentum_0")}
    else:
      ckpt_cmp = ckpt
    # Paddle's last_lr is its double; ours the float32 schedule: compare the rest exactly
    if plateau:  # the plateau state: last_lr is Paddle's double, recovered from our float32 rate
      assert again["LR_Scheduler"] == ckpt_cmp["LR_Scheduler"], (
        again["LR_Scheduler"],
        ckpt_cmp["LR_Scheduler"],
      )
    if "LR_Scheduler" in ckpt_cmp and not plateau:
      _same_scheduler(again["LR_Scheduler"], ckpt_cmp["LR_Scheduler"])
      again = {kk: v for kk, v in again.items() if kk != "LR_Scheduler"}
      ckpt_cmp = {kk: v for kk, v in ckpt_cmp.items() if kk != "LR_Scheduler"}
    assert _same(again, ckpt_cmp), f"{case.name}: from_paddle's import, exported, differs from the checkpoint"
    assert list(again) == [kk for kk in ckpt_cmp], f"{case.name}: key order {list(again)} vs {list(ckpt_cmp)}"
    # (b) ours k steps, exported, continued in Paddle
    tx, _ = from_paddle_config(config, params=pk, names=names)
    p0 = {leaf: jnp.asarray(init[leaf]) for leaf in leaves}
    g_all = {leaf: jnp.asarray(grads[leaf]) for leaf in leaves}
    if plateau:
      metric, last = plateau_inputs(case.every, case.metrics, k + n)
      (ours_k, state_k), _, _ = _resume_runs(tx, k, True)(p0, (g_all, metric, last), pk, state_live)
      assert int(state_k[-1].last_epoch) == k // case.every
    else:
      (ours_k, state_k), _, _ = _resume_runs(tx, k)(p0, g_all, pk, state_live)
    # the fresh Paddle optimizer's parameters have names of their own: export under those
    export_names = [f"resumed_{case.name}.{leaf}" for leaf in leaves]
    export = export_paddle_state(
      tx, ours_k, state_k, names=export_names, learning_rate=lr if callable(lr) else None
    )
    ours_k = {leaf: np.asarray(v) for leaf, v in ours_k.items()}
  _, _, fwcont = _paddle_run(case, ours_k, grads, range(k, k + n), f"resumed_{case.name}", state=export)
  arrays: dict[str, np.ndarray] = {}
  for leaf in leaves:
    arrays[f"init/{leaf}"] = init[leaf]
    arrays[f"grads/{leaf}"] = grads[leaf]
    arrays[f"params_k/{leaf}"] = params_k[leaf]
    arrays[f"ref/{leaf}"] = _stack(traj[k:], [leaf])[leaf]
    arrays[f"ours_k/{leaf}"] = ours_k[leaf]
    arrays[f"fwcont/{leaf}"] = _stack(fwcont, [leaf])[leaf]
  specials = {}
  for prefix, sd in (("ckpt", ckpt), ("export", export)):
    for key, value in sd.items():
      if key == "LR_Scheduler":
        specials[prefix] = dict(value) if plateau else _scheduler_json(value)
      else:
        arrays[f"{prefix}/{key}"] = np.asarray(value)
  meta = {
    "family": "interop_paddle",
    "case": case.name,
    "framework": "paddle",
    "framework_version": versions["paddle"],
    "versions": h.all_versions(versions),
    "dtype": case.dtype,
    "seed": hc.seed,
    "k": k,
    "n": n,
    "shapes": {leaf: list(init[leaf].shape) for leaf in leaves},
    "grad_spec": dataclasses.asdict(hc.grad_spec),
    "case_config": {"optimizer": case.optimizer, "kwargs": case.kwargs, "schedule": case.schedule,
                    "clip": case.clip, "weight_decay": case.wd, "groups": case.groups},
    "config": config,
    "names": names,
    "export_names": export_names,
    "paddle_order": order,
    "ckpt_keys": list(ckpt),
    "export_keys": list(export),
    "lr_scheduler": specials,
    "notes": case.notes,
    **({"plateau": case.plateau, "every": case.every, "metrics": list(case.metrics)} if plateau else {}),
    "generated_by": "tools/make_golden.py",
  }  # fmt: skip
  return arrays, meta


def write_tables(folder: Path) -> None:
  versions = runners.versions()
  folder.mkdir(parents=True, exist_ok=True)
  for case in cases():
    arrays, meta = _record(case, versions)
    np.savez_compressed(folder / f"{case.name}.npz", **arrays)
    (folder / f"{case.name}.json").write_text(json.dumps(h._jsonable(meta), indent=1) + "\n")
    print(f"interop_paddle/{case.name}: k={case.k} n={case.n} {len(meta['ckpt_keys'])} keys")
