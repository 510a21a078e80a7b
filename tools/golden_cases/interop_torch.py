"""PyTorch checkpoints in and out of optim_jax (oj.interop), against torch 2.13 itself (a table family).

Each case runs the real optimizer (and scheduler, stepped after every optimizer step) k steps on the
case's seeded gradients, saves ``optimizer.state_dict()`` and ``scheduler.state_dict()``, and runs n
more steps: (a) the test imports that checkpoint and continues in JAX. Then optim_jax runs the same
k steps from the same start (the transformation ``from_torch_config`` makes of the description, checked
to have the options of ``golden_utils.build_optimizer``'s preset), exports its state
(``export_torch_state``), and a fresh torch optimizer and scheduler load it and run the n steps:
(b) the test checks that our export still equals the recorded one and that our continued run
matches torch's. The live objects are also described (``describe_torch``: the fixture json holds
the description the test builds the transformation from), and ``from_torch`` is run on them once
here, its state checked against the import of the saved checkpoint.

Arrays in ``tests/golden/interop_torch/<case>.npz`` (leaves as jax orders dict keys): ``init/<leaf>``,
``grads/<leaf>`` (k + n steps), ``params_k/<leaf>`` torch's parameters after k steps, ``cont_a/<leaf>``
torch's n continued steps, ``ckpt/<index>/<key>`` torch's saved state, ``export/<index>/<key>`` our
exported state, ``cont_b/<leaf>`` torch's n steps from our export. The json holds the configuration (as
harness.py's), k, n, ``names`` (our path of torch's parameter i), the checkpoint's ``param_groups``
and scheduler state, the description, and our export's ``param_groups`` and scheduler state.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import sys
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from golden_cases import harness as h
from golden_cases import runners

ROOT = Path(__file__).resolve().parents[2]
T = h.TORCH_SCHEDULES
W, REST, B = ["w"], ["b", "s"], ["b"]


@dataclasses.dataclass
class InteropCase:
  case: h.Case
  k: int
  n: int


def _provenance(case: h.Case, versions: dict, k: int, n: int) -> dict:
  """The keys every interop_torch case's json starts with, in their order."""
  return {
    "family": "interop_torch",
    "case": case.name,
    "framework": "torch",
    "framework_version": versions["torch"],
    "versions": h.all_versions(versions),
    "dtype": case.dtype,
    "seed": case.seed,
    "k": k,
    "n": n,
    "shapes": {name: list(s) for name, s in case.shapes.items()},
    "grad_spec": dataclasses.asdict(case.grad_spec),
    "config": case.config(),
  }


def _sched(name: str, **kwargs: Any) -> dict[str, Any]:
  return h.spec(h.TORCH_LR + name, **kwargs)


def _case(optimizer: str, defaults: dict[str, Any], label: str, dtype: str, k: int, n: int, **kwargs: Any):
  return InteropCase(h.torch_case(optimizer, label, dtype, k + n, defaults=defaults, **kwargs), k, n)


_rms = partial(_case, "torch.optim.RMSprop", {"lr": 0.01, "alpha": 0.99, "eps": 1e-8})
_radam = partial(_case, "torch.optim.RAdam", {"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8})
_asgd = partial(_case, "torch.optim.ASGD", {"lr": 0.02, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6})
COSINE = _sched("CosineAnnealingLR", T_max=30, eta_min=1e-4)
MULTI = _sched("MultiStepLR", milestones=[5, 15, 22], gamma=0.5)


def cases() -> list[InteropCase]:
  return [
    _rms("momentum_centered_step", "float32", 15, 25, schedule=T.step, momentum=0.9, centered=True,
         weight_decay=0.01),
    _rms("plain_exp", "float32", 12, 20, schedule=T.exp),
    _rms("cosine_momentum", "float64", 15, 25, schedule=COSINE, momentum=0.8),
    _rms("constant_lr_momentum", "float64", 10, 20, schedule=None, momentum=0.5),  # no counter: step=
    _radam("before_rectification_step", "float32", 3, 20, schedule=T.step),
    _radam("after_rectification_exp", "float32", 20, 20, schedule=T.exp),
    _radam("multistep_wd", "float32", 10, 20, schedule=MULTI, weight_decay=0.01),
    _radam("decoupled_exp", "float64", 15, 25, schedule=T.exp, weight_decay=0.05,
           decoupled_weight_decay=True),
    _asgd("t0_lambd_step", "float32", 15, 25, schedule=T.step, lambd=1e-3, t0=5),
    _asgd("t0_lambd_step", "float64", 15, 25, schedule=T.step, lambd=1e-3, t0=5),
    _rms("groups_lr_wd_step", "float32", 15, 25, schedule=T.step, momentum=0.9, weight_decay=0.01,
         param_groups=[{"params": W}, {"params": REST, "lr": 0.003, "weight_decay": 0.0, "momentum": 0.5}]),
    _radam("groups_betas_decoupled_exp", "float64", 15, 25, schedule=T.exp, weight_decay=0.02,
           param_groups=[{"params": W, "betas": (0.8, 0.99)},
                         {"params": REST, "lr": 0.002, "weight_decay": 0.1, "decoupled_weight_decay": True}]),
    _asgd("groups_frozen_step", "float32", 15, 25, schedule=T.step,
          param_groups=[{"params": W, "lambd": 1e-3, "t0": 0}, {"params": B, "lr": 0.05, "t0": 5}]),
    _rms("long_momentum_step", "float32", 100, 200, schedule=T.step_long, momentum=0.9),
    # schedulers that set the groups' lr themselves (without cycling the momentum)
    _rms("one_cycle_momentum", "float64", 12, 20, momentum=0.9,
         schedule=_sched("OneCycleLR", max_lr=0.05, total_steps=40, cycle_momentum=False)),
    # schedulers of schedulers
    _asgd("chained_constant_exp", "float32", 8, 20, schedule=_sched(
      "ChainedScheduler", schedulers=[_sched("ConstantLR", factor=0.5, total_iters=5),
                                      _sched("ExponentialLR", gamma=0.95)])),
    _rms("sequential_linear_step_past_milestone", "float64", 10, 20, momentum=0.9, schedule=_sched(
      "SequentialLR", schedulers=[_sched("LinearLR", start_factor=0.2, total_iters=5),
                                  _sched("StepLR", step_size=7, gamma=0.5)], milestones=[6])),
    _radam("sequential_before_milestone", "float32", 4, 20, schedule=_sched(
      "SequentialLR", schedulers=[_sched("ConstantLR", factor=0.3, total_iters=3),
                                  _sched("ExponentialLR", gamma=0.9)], milestones=[6])),
    # ... and cycling the momentum (PyTorch's default): RMSprop's momentum, RAdam's betas[0]
    _rms("one_cycle_cycled_momentum", "float32", 15, 25, momentum=0.9, weight_decay=0.01,
         schedule=_sched("OneCycleLR", max_lr=0.05, total_steps=40, three_phase=True)),
    _radam("cyclic_groups_cycled_beta1", "float64", 10, 20,
           param_groups=[{"params": W}, {"params": REST, "betas": (0.9, 0.99)}],
           schedule=_sched("CyclicLR", base_lr=[0.001, 0.002], max_lr=[0.01, 0.02], step_size_up=4,
                           base_momentum=[0.7, 0.8], max_momentum=[0.9, 0.95])),
  ]  # fmt: skip


def _names(case: h.Case) -> list[str]:
  """Our leaf of torch's parameter i: the leaves in the groups' order (all leaves without groups)."""
  groups = case.kwargs.get("param_groups")
  return list(case.leaves) if groups is None else [n for g in groups for n in g["params"]]


def _torch_objects(case: h.Case, values: dict[str, np.ndarray]) -> tuple[Any, Any, list]:
  import torch

  dtype = getattr(torch, case.dtype)
  variables = {name: torch.nn.Parameter(torch.tensor(values[name], dtype=dtype)) for name in case.leaves}
  kwargs = dict(case.kwargs)
  groups = kwargs.pop("param_groups", None)
  params: Any = [variables[n] for n in case.leaves]
  if groups is not None:
    params = [{**g, "params": [variables[n] for n in g["params"]]} for g in groups]
  opt = runners.resolve(case.optimizer)(params, **kwargs)
  return opt, _scheduler(case.schedule, opt), [variables[n] for n in case.leaves]


def _scheduler(spec: dict[str, Any] | None, opt: Any) -> Any:
  """The case's scheduler on ``opt``; SequentialLR and ChainedScheduler get their members built first."""
  if spec is None:
    return None
  short = spec["type"].rsplit(".", 1)[-1]
  if short not in ("SequentialLR", "ChainedScheduler"):
    return runners._build(spec, opt)
  kwargs = dict(spec["kwargs"])
  members = [runners._build(s, opt) for s in kwargs.pop("schedulers")]
  cls = runners.resolve(spec["type"])
  return cls(members, optimizer=opt) if short == "ChainedScheduler" else cls(opt, members, **kwargs)


def _steps(case: h.Case, opt: Any, sched: Any, variables: list, grads: dict, start: int, count: int) -> dict:
  import torch

  dtype = getattr(torch, case.dtype)
  out: dict[str, list] = {n: [] for n in case.leaves}
  for t in range(start, start + count):
    for name, p in zip(case.leaves, variables, strict=True):
      p.grad = torch.tensor(grads[name][t], dtype=dtype)
    opt.step()
    opt.zero_grad()
    if sched is not None:
      sched.step()
    for name, p in zip(case.leaves, variables, strict=True):
      out[name].append(p.detach().numpy().copy())
  return {k: np.stack(v) for k, v in out.items()}


def _flat_state(prefix: str, state: dict) -> dict[str, np.ndarray]:
  return {f"{prefix}/{i}/{key}": np.asarray(v) for i, entry in state.items() for key, v in entry.items()}


def _ours(tx: Any, init: dict, grads: dict, k: int) -> tuple[Any, Any]:
  """Our k steps from init, one jitted step as the test runs them (the export is then the test's, bit for
  bit): (params, state)."""
  import jax
  import jax.numpy as jnp
  import optax

  @jax.jit
  def step(p, s, g):
    u, s = tx.update(g, s, p)
    return optax.apply_updates(p, u), s

  params = {n: jnp.asarray(v) for n, v in init.items()}
  state = tx.init(params)
  for t in range(k):
    params, state = step(params, state, {n: jnp.asarray(v[t]) for n, v in grads.items()})
  return jax.tree.map(np.asarray, params), state


def _same_options(case: h.Case, tx: Any) -> None:
  """The transformation from torch's description has the options of the configuration's preset."""
  sys.path.insert(0, str(ROOT / "tests"))
  import golden_utils

  from optim_jax.interop import torch_config
  from optim_jax.interop._torch import option_at

  try:
    ref = torch_config(golden_utils.build_optimizer({"config": case.config()}))
  except NotImplementedError:  # golden_utils maps no SequentialLR/ChainedScheduler: (a) and (b) check it
    return
  ours = torch_config(tx)
  assert ours.optimizer == ref.optimizer and len(ours.groups) == len(ref.groups), case.name
  for a, b in zip(ours.groups, ref.groups, strict=True):
    assert sorted(a) == sorted(b), case.name
    for key in b:  # schedules (lr, a cycled momentum) at a few counts
      for count in (0, 1, 7):
        x, y = option_at(a[key], count), option_at(b[key], count)
        numeric = not isinstance(x, (bool, str, type(None)))
        assert np.allclose(x, y, rtol=1e-12, atol=0) if numeric else x == y, (case.name, key, count, x, y)


def write_one(folder: Path, ic: InteropCase, versions: dict[str, str]) -> Path:
  import jax
  import torch

  from optim_jax.interop import (
    describe_torch,
    export_torch_state,
    from_torch,
    from_torch_config,
    import_torch_state,
    to_numpy,
    to_torch,
  )

  case, k, n = ic.case, ic.k, ic.n
  init, grads = h.make_inputs(case)
  names = _names(case)
  # (a) torch k steps, its checkpoint, n more steps
  opt, sched, variables = _torch_objects(case, init)
  _steps(case, opt, sched, variables, grads, 0, k)
  ckpt = to_numpy(opt.state_dict())
  sched_state = None if sched is None else to_numpy(sched.state_dict())
  description = describe_torch(opt, sched)
  params_k = {name: v.detach().numpy().copy() for name, v in zip(case.leaves, variables, strict=True)}
  with jax.enable_x64(case.dtype == "float64"):
    live = from_torch(opt, sched, params=params_k, names=names)  # from_torch on the live objects, once
    tx_live = live.tx
    imported = import_torch_state(tx_live, params_k, ckpt, sched_state, names=names)
    same = jax.tree.map(lambda a, b: bool(np.array_equal(a, b)), live.opt_state, imported)
    assert all(jax.tree.leaves(same)), (
      f"{case.name}: from_torch's state differs from the import of its checkpoint"
    )
  cont_a = _steps(case, opt, sched, variables, grads, k, n)
  # (b) ours k steps, exported, loaded into a fresh torch optimizer, n more steps there
  with jax.enable_x64(case.dtype == "float64"):
    tx = from_torch_config(description, params=params_k, names=names)
    _same_options(case, tx)
    ours_k, state = _ours(tx, init, grads, k)
    exported, exported_sched = export_torch_state(tx, ours_k, state, names=names, step=k)
  opt_b, sched_b, variables_b = _torch_objects(case, ours_k)
  opt_b.load_state_dict(to_torch(copy.deepcopy(exported)))
  if sched_b is not None:
    sched_b.load_state_dict(dict(exported_sched))  # a copy: CyclicLR's pops a key
  cont_b = _steps(case, opt_b, sched_b, variables_b, grads, k, n)

  arrays: dict[str, np.ndarray] = {}
  for name in case.leaves:
    arrays[f"init/{name}"] = init[name]
    arrays[f"grads/{name}"] = grads[name]
    arrays[f"params_k/{name}"] = params_k[name]
    arrays[f"cont_a/{name}"] = cont_a[name]
    arrays[f"cont_b/{name}"] = cont_b[name]
  arrays |= _flat_state("ckpt", ckpt["state"]) | _flat_state("export", exported["state"])
  folder.mkdir(parents=True, exist_ok=True)
  path = folder / f"{case.name}.npz"
  np.savez_compressed(path, **arrays)
  description = {
    **description,
    "scheduler": None if sched is None else {**description["scheduler"], "lr_lambdas": None},
  }
  meta = {
    **_provenance(case, versions, k, n),
    "names": names,
    "ckpt_param_groups": ckpt["param_groups"],
    "ckpt_scheduler": sched_state,
    "description": description,
    "export_param_groups": exported["param_groups"],
    "export_scheduler": exported_sched,
    "from_torch_live": "from_torch(optimizer, scheduler) on the live objects: state equal to the import",
    "torch_default_dtype": str(torch.get_default_dtype()),
    "generated_by": "tools/make_golden.py",
  }
  path.with_suffix(".json").write_text(json.dumps(h._jsonable(meta), indent=1) + "\n")
  return path


def write_tables(folder: Path) -> None:
  """Writes every case's .npz and .json into ``folder`` (tests/golden/interop_torch)."""
  versions = runners.versions()
  keep = set()
  for ic in cases():
    path = write_one(folder, ic, versions)
    keep.add(path.stem)
    print(f"interop_torch/{path.stem}: {path.stat().st_size / 1024:.1f} KiB")
  for pc in plateau_cases():
    path = write_plateau(folder, pc, versions)
    keep.add(path.stem)
    print(f"interop_torch/{path.stem}: {path.stat().st_size / 1024:.1f} KiB")
  for stale in folder.glob("*.npz"):
    if stale.stem not in keep:
      stale.unlink()
      stale.with_suffix(".json").unlink(missing_ok=True)


# --- ReduceLROnPlateau: the metric sequence is part of the case -----------------------------------


@dataclasses.dataclass
class PlateauCase:
  """An `InteropCase` whose optimizer runs under ``ReduceLROnPlateau(**plateau)``, stepped with
  ``metrics[e]`` after every ``epoch``-th optimizer step (the metrics are float32 numbers)."""

  case: h.Case
  k: int
  n: int
  epoch: int
  plateau: dict[str, Any]
  metrics: list[float]


def _f32(values: list[float]) -> list[float]:
  return [float(np.float32(v)) for v in values]


def plateau_cases() -> list[PlateauCase]:
  return [
    PlateauCase(
      _rms("plateau_momentum_centered_wd", "float32", 12, 24, schedule=None, momentum=0.9, centered=True,
           weight_decay=0.01).case, 12, 24, 3,
      {"factor": 0.5, "patience": 1, "cooldown": 1, "threshold": 0.01},
      _f32([1.0, 0.9, 0.95, 0.97, 0.85, 0.9, 0.88, 0.87, 0.86, 0.7, 0.75, 0.76])),
    PlateauCase(
      _radam("plateau_max_abs_min_lr", "float64", 15, 21, schedule=None, weight_decay=0.01).case, 15, 21, 3,
      {"mode": "max", "factor": 0.3, "patience": 2, "threshold": 0.05, "threshold_mode": "abs",
       "min_lr": 2e-3},
      _f32([0.1, 0.2, 0.22, 0.21, 0.5, 0.52, 0.53, 0.54, 0.8, 0.81, 0.79, 0.8])),
  ]  # fmt: skip


def _plateau_steps(
  pc: PlateauCase, opt: Any, sched: Any, variables: list, grads: dict, start: int, count: int
):
  import torch

  case = pc.case
  dtype = getattr(torch, case.dtype)
  out: dict[str, list] = {n: [] for n in case.leaves}
  lrs = []
  for t in range(start, start + count):
    for name, p in zip(case.leaves, variables, strict=True):
      p.grad = torch.tensor(grads[name][t], dtype=dtype)
    opt.step()
    opt.zero_grad()
    if (t + 1) % pc.epoch == 0:
      sched.step(pc.metrics[(t + 1) // pc.epoch - 1])
    lrs.append(opt.param_groups[0]["lr"])
    for name, p in zip(case.leaves, variables, strict=True):
      out[name].append(p.detach().numpy().copy())
  return {k: np.stack(v) for k, v in out.items()}, lrs


def _plateau_ours(pc: PlateauCase, tx: Any, init: dict, grads: dict, k: int) -> tuple[Any, Any]:
  """Our k steps with the case's metrics, by the test's own steps (tests/golden_utils.py `plateau_steps`)."""
  import jax.numpy as jnp

  sys.path.insert(0, str(ROOT / "tests"))
  import golden_utils

  params = {n: jnp.asarray(v) for n, v in init.items()}
  traj, states = golden_utils.plateau_steps(tx, pc.epoch, pc.metrics)(params, tx.init(params), grads, 0, k)
  return {n: v[-1] for n, v in traj.items()}, states[-1]


def write_plateau(folder: Path, pc: PlateauCase, versions: dict[str, str]) -> Path:
  import jax
  import torch

  from optim_jax.interop import (
    describe_torch,
    export_torch_state,
    from_torch,
    from_torch_config,
    import_torch_state,
    to_numpy,
    to_torch,
  )

  case, k, n = pc.case, pc.k, pc.n
  assert (k + n) // pc.epoch == len(pc.metrics), case.name
  init, grads = h.make_inputs(case)
  names = _names(case)
  plateau = torch.optim.lr_scheduler.ReduceLROnPlateau
  opt, _, variables = _torch_objects(case, init)
  sched = plateau(opt, **pc.plateau)
  fresh = describe_torch(opt, sched)  # the lr before any reduction: the plateau's start for (b)
  _, lrs_k = _plateau_steps(pc, opt, sched, variables, grads, 0, k)
  ckpt = to_numpy(opt.state_dict())
  sched_state = to_numpy(sched.state_dict())
  description = describe_torch(opt, sched)
  params_k = {name: v.detach().numpy().copy() for name, v in zip(case.leaves, variables, strict=True)}
  with jax.enable_x64(case.dtype == "float64"):
    live = from_torch(opt, sched, params=params_k, names=names)
    imported = import_torch_state(live.tx, params_k, ckpt, sched_state, names=names)
    same = jax.tree.map(lambda a, b: bool(np.array_equal(a, b)), live.opt_state, imported)
    assert all(jax.tree.leaves(same)), f"{case.name}: from_torch's state differs from the import"
  cont_a, lrs_n = _plateau_steps(pc, opt, sched, variables, grads, k, n)
  assert min(lrs_n) < lrs_k[-1], f"{case.name}: no reduction after the resume point"
  with jax.enable_x64(case.dtype == "float64"):
    tx = from_torch_config(fresh, params=params_k, names=names)
    ours_k, state = _plateau_ours(pc, tx, init, grads, k)
    exported, exported_sched = export_torch_state(tx, ours_k, state, names=names, step=k)
  opt_b, _, variables_b = _torch_objects(case, ours_k)
  sched_b = plateau(opt_b, **pc.plateau)
  opt_b.load_state_dict(to_torch(copy.deepcopy(exported)))
  sched_b.load_state_dict(dict(exported_sched))
  cont_b, _ = _plateau_steps(pc, opt_b, sched_b, variables_b, grads, k, n)

  arrays: dict[str, np.ndarray] = {}
  for name in case.leaves:
    arrays[f"init/{name}"] = init[name]
    arrays[f"grads/{name}"] = grads[name]
    arrays[f"params_k/{name}"] = params_k[name]
    arrays[f"cont_a/{name}"] = cont_a[name]
    arrays[f"cont_b/{name}"] = cont_b[name]
  arrays |= _flat_state("ckpt", ckpt["state"]) | _flat_state("export", exported["state"])
  folder.mkdir(parents=True, exist_ok=True)
  path = folder / f"{case.name}.npz"
  np.savez_compressed(path, **arrays)
  meta = {
    **_provenance(case, versions, k, n),
    "plateau": pc.plateau,
    "epoch": pc.epoch,
    "metrics": pc.metrics,
    "torch_lrs": lrs_k + lrs_n,
    "names": names,
    "ckpt_param_groups": ckpt["param_groups"],
    "ckpt_scheduler": sched_state,
    "description": description,
    "fresh_description": fresh,
    "export_param_groups": exported["param_groups"],
    "export_scheduler": exported_sched,
    "from_torch_live": "from_torch(optimizer, scheduler) on the live objects: state equal to the import",
    "torch_default_dtype": str(torch.get_default_dtype()),
    "generated_by": "tools/make_golden.py",
  }
  path.with_suffix(".json").write_text(json.dumps(h._jsonable(meta), indent=1) + "\n")
  return path
