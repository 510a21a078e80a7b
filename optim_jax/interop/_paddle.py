"""Paddle's saved optimizer state (``optimizer.state_dict()``) in and out of the `oj.paddle` presets' state.

Paddle keeps one accumulator per parameter and buffer, named ``<param.name>_<buffer>_0`` (measured on
paddlepaddle 3.3.1, CPU):

=========  =================================================================  ===========================
optimizer  accumulators (created at the first ``step()``)                     ours
=========  =================================================================  ===========================
RMSProp    ``momentum``, ``mean_square``, ``mean_grad``                        momentum, ms, mg
RAdam      ``moment1``, ``moment2``; ``beta1_pow``, ``beta2_pow``, ``rho``      mu, nu; the int32 count
           (full-shape arrays, every element the same)
ASGD       ``d``, ``y`` (``[batch_num, *shape]``), ``m`` (int64 ``[1]``)       d, y, count
=========  =================================================================  ===========================

plus ``LR_Scheduler`` (``{"last_epoch", "last_lr"}``) when the learning rate is an ``LRScheduler``
and ``master_weights`` (``{param.name: float32 array}``) for ASGD's ``multi_precision``. Paddle's
counters are the recursions its kernels run (``beta_pow *= beta``, RAdam's ``rho``) in the
parameter's dtype, reproduced here bit for bit; ``last_epoch`` is our schedule's count in the usual
``opt.step(); sched.step()`` loop.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optim_jax.interop import _paddle_plateau
from optim_jax.interop._slots import Slot, map_params, param_paths, replace_slots, state_slots

# our state class -> {our field: Paddle's accumulator}
_BUFFERS = {
  "ScaleByRmsPaddleState": {"ms": "mean_square", "mg": "mean_grad"},
  "MomentumState": {"momentum": "momentum"},
  "ScaleByRadamState": {"mu": "moment1", "nu": "moment2"},
  "SagAverageState": {"d": "d", "y": "y"},
}
# the kernel's state class -> (Paddle's class, every accumulator Paddle keeps for a parameter)
_KINDS = {
  "ScaleByRmsPaddleState": ("RMSProp", ("momentum", "mean_square", "mean_grad")),
  "ScaleByRadamState": ("RAdam", ("beta1_pow", "beta2_pow", "rho", "moment1", "moment2")),
  "SagAverageState": ("ASGD", ("d", "y", "m")),
}
_SPECIAL = ("LR_Scheduler", "master_weights")
# Paddle's RMSProp keeps v with p -= v; our trace follows the signed step (p += v): the buffer is -v
_NEGATED = {("MomentumState", "momentum")}


def _kind(like: Any, params: Any) -> tuple[str, tuple[str, ...], list[tuple[Slot, Any]]]:
  slots = state_slots(like, params)
  owners = {s.owner for s, _ in slots} & set(_KINDS)
  if len(owners) != 1:
    raise TypeError(
      "tx is not one of oj.paddle.rmsprop, oj.paddle.radam, oj.paddle.asgd (its state has "
      f"{sorted({s.owner for s, _ in slots})})."
    )
  name, accs = _KINDS[owners.pop()]
  return name, accs, slots


def _names_dict(params: Any, names: Sequence[str] | Mapping[str, str]) -> dict[str, str]:
  """``names`` as ``{Paddle parameter name: path}``: a dict as given, a list in leaves order."""
  if isinstance(names, Mapping):
    return dict(names)
  if isinstance(names, str) or not isinstance(names, Sequence):
    raise TypeError(f"names should be a dict {{Paddle name: path}} or a list of Paddle names, got {names!r}")
  paths = param_paths(params)
  if len(names) != len(paths):
    raise ValueError(
      f"names= lists {len(names)} Paddle parameter names; params has {len(paths)} leaves (one name per "
      "leaf, in jax.tree.leaves order, or a dict {Paddle name: path})."
    )
  return dict(zip(names, paths, strict=True))


def _split_key(key: str, accs: Sequence[str], kind: str) -> tuple[str, str]:
  for acc in sorted(accs, key=len, reverse=True):
    suffix = f"_{acc}_0"
    if key.endswith(suffix) and len(key) > len(suffix):
      return key[: -len(suffix)], acc
  raise ValueError(
    f"The checkpoint key {key!r} is not an accumulator of paddle.optimizer.{kind} "
    f"(<param.name>_<{'|'.join(accs)}>_0) nor one of {list(_SPECIAL)}."
  )


def _describe(x: Any) -> str:
  return f"{np.dtype(x.dtype).name}{list(np.shape(x))}"


def _check(key: str, value: Any, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
  arr = np.asarray(value)
  if tuple(arr.shape) != tuple(shape) or arr.dtype != np.dtype(dtype):
    raise ValueError(
      f"{key}: expected {np.dtype(dtype).name}{list(shape)}, the checkpoint holds {_describe(arr)}."
    )
  return arr


def _uniform(key: str, arr: np.ndarray) -> Any:
  """The one value of a full-shape counter accumulator (Paddle fills every element alike)."""
  flat = arr.reshape(-1)
  if flat.size == 0:
    raise ValueError(f"{key}: an empty counter accumulator.")
  if not np.all(flat == flat[0]):
    raise ValueError(f"{key}: its elements differ ({flat.min()} .. {flat.max()}); Paddle keeps one value.")
  return flat[0]


# --- Paddle's counter recursions, in the parameter's dtype ------------------------------------------


@functools.lru_cache(maxsize=64)
def _recursions(b1: float, b2: float, dtype: str, steps: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """beta1_pow, beta2_pow and rho after t = 0 .. steps updates, as Paddle's RAdam kernel keeps them."""
  dt = np.dtype(dtype).type
  one, beta1, beta2 = dt(1), dt(b1), dt(b2)
  p1 = np.empty(steps + 1, dtype)
  p2 = np.empty(steps + 1, dtype)
  rho = np.empty(steps + 1, dtype)
  a, b, r = one, one, one
  p1[0], p2[0], rho[0] = a, b, r
  with np.errstate(all="ignore"):
    for t in range(1, steps + 1):
      a = a * beta1
      b = b * beta2
      r = (r * (beta2 - b) + b) / (one - b)
      p1[t], p2[t], rho[t] = a, b, r
  return p1, p2, rho


def _radam_counters(b1: Any, b2: Any, dtype: Any, t: int) -> tuple[Any, Any, Any]:
  size = 1 << max(int(t), 1).bit_length()  # cached per power of two
  p1, p2, rho = _recursions(float(b1), float(b2), np.dtype(dtype).name, size)
  return p1[t], p2[t], rho[t]


def _radam_step(
  key: str, pw1: Any, pw2: Any, rho: Any, b1: Any, b2: Any, dtype: Any, hint: int | None = None
) -> int:
  """The update count t whose recursions give the stored beta1_pow, beta2_pow and rho.

  ``hint`` (the scheduler's last_epoch) is taken when it reproduces them: far into a run the float
  recursions stop moving (beta^t stays at a subnormal, rho at its limit) and the values alone no longer
  tell t.
  """
  b1, b2 = float(b1), float(b2)

  def fits(t: int) -> bool:
    c1, c2, cr = _radam_counters(b1, b2, dtype, t)
    return bool(c1 == pw1 and c2 == pw2 and (cr == rho or (np.isnan(cr) and np.isnan(rho))))

  if hint is not None and 0 <= hint < 2**31 and fits(hint):
    return hint
  if not (0.0 < float(pw2) <= 1.0):
    raise ValueError(
      f"{key}beta2_pow_0 = {float(pw2)!r}: not a power of beta2 = {b2!r} that identifies the step."
    )
  guess = 0 if float(pw2) == 1.0 else round(np.log(float(pw2)) / np.log(b2))
  lo, hi = max(guess - 64 - guess // 100, 0), guess + 64 + guess // 100
  _, p2, _ = _recursions(b1, b2, np.dtype(dtype).name, 1 << max(hi, 1).bit_length())
  hits = [t for t in range(lo, hi + 1) if p2[t] == pw2]
  if not hits:
    raise ValueError(
      f"{key}beta2_pow_0 = {float(pw2)!r} is not beta2^t for beta2 = {b2!r} (the transformation's, as "
      f"{np.dtype(dtype).name}) at any step t near {guess}: the checkpoint's beta2 differs."
    )
  exact = [t for t in hits if fits(t)]
  if len(exact) == 1:
    return exact[0]
  if len(exact) > 1:
    raise ValueError(
      f"{key}beta2_pow_0 = {float(pw2)!r}: Paddle's recursions give these values at every step from "
      f"{exact[0]} on (they no longer move), so the step is not known; the checkpoint's "
      "LR_Scheduler.last_epoch decides it when the optimizer has a scheduler."
    )
  t = hits[0]
  c1, _, cr = _radam_counters(b1, b2, dtype, t)
  if c1 != pw1:
    raise ValueError(
      f"{key}beta1_pow_0 = {float(pw1)!r} is not beta1^t = {float(c1)!r} at the step t = {t} of "
      f"beta2_pow_0 (beta1 = {b1!r}): the checkpoint's beta1 differs from the transformation's."
    )
  raise ValueError(
    f"{key}rho_0 = {float(rho)!r}; Paddle's recursion gives {float(cr)!r} at the step t = {t}."
  )


def _probe(tx: Any, params: Any, like: Any, fields: set[str]) -> dict[tuple[str, str, int | None], Any]:
  """The per-leaf decay of the buffers ``fields``: one update with zero gradients and zero parameters
  from a state whose buffers are 1 gives ``beta * 1 + (1 - beta) * 0 = beta`` exactly (clips leave zero
  gradients alone, regularisers add ``c * 0``), e.g. RAdam's beta1 and beta2 for each parameter."""
  del like
  shapes = tuple((np.shape(x), np.dtype(x.dtype).name) for x in jax.tree.leaves(params))
  args = (tx, jax.tree.structure(params), shapes, frozenset(fields))
  try:
    hash(tx)
  except TypeError:
    return _probe_cached.__wrapped__(*args)
  return _probe_cached(*args)


@functools.lru_cache(maxsize=32)
def _probe_cached(tx: Any, treedef: Any, shapes: tuple, fields: frozenset) -> dict:
  params = jax.tree.unflatten(treedef, [jnp.zeros(shape, dtype) for shape, dtype in shapes])
  like = tx.init(params)
  state = replace_slots(like, params, lambda s, x: jnp.ones_like(x) if s.field in fields and s.param else x)
  _, new = jax.jit(tx.update)(params, state, params)  # zero gradients, zero parameters
  return {
    (s.field, s.param, s.group): np.asarray(v).reshape(-1)[0]
    for s, v in state_slots(new, params)
    if s.field in fields and s.param
  }


def _master_path(slot: Slot) -> str | None:
  """The parameter of a master weight (``MultiPrecisionState.master``), else None."""
  if slot.owner != "MultiPrecisionState":
    return None
  return slot.param if slot.field == "master" else slot.field.removeprefix("master/")


def _counter_slots(slots: list[tuple[Slot, Any]]) -> list[Slot]:
  return [s for s, _ in slots if s.param is None and s.field == "count"]


def _as_schedule(learning_rate: Any) -> Any:
  """A schedule, or a scheduler's description (``describe_paddle_optimizer(opt)["learning_rate"]``)."""
  if isinstance(learning_rate, Mapping):
    from optim_jax.interop._paddle_live import paddle_schedule  # noqa: PLC0415 - it imports this module

    learning_rate = paddle_schedule(learning_rate)
  if not callable(learning_rate):
    raise TypeError(f"learning_rate should be the schedule tx was made with, got {learning_rate!r}")
  return learning_rate


def _scheduler_state(schedule: Callable[[Any], Any], t: int) -> dict[str, Any]:
  """Paddle's ``LR_Scheduler`` at ``last_epoch = t``; a LinearWarmup over a scheduler (a schedule with
  ``warmup_steps`` and ``inner``) nests the inner one's, which Paddle steps to ``t - warmup_steps`` after
  the warmup and leaves at 0 (its construction) before."""
  out: dict[str, Any] = {"last_epoch": int(t), "last_lr": float(schedule(jnp.asarray(t, jnp.int32)))}
  inner = getattr(schedule, "inner", None)
  if inner is not None and hasattr(schedule, "warmup_steps"):
    out["LinearWarmup_LR"] = _scheduler_state(inner, max(int(t) - int(schedule.warmup_steps), 0))
  return out


def _check_scheduler(where: str, sched: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
  """The checkpoint's scheduler state against ours (last_lr to 1e-6: ours is float32, Paddle's a double)."""
  missing = [k for k in expected if k not in sched]
  extra = [k for k in sched if k not in expected]
  if missing or extra:
    raise ValueError(
      f"{where} has the keys {list(sched)}; the schedule tx was made with gives {list(expected)} "
      "(another scheduler class, or a LinearWarmup over a scheduler given as a plain schedule: pass "
      "paddle_schedule(describe_paddle_optimizer(opt)['learning_rate']))."
    )
  if int(sched["last_epoch"]) != expected["last_epoch"]:
    raise ValueError(
      f"{where}.last_epoch = {sched['last_epoch']}, but the schedule's position is {expected['last_epoch']} "
      "(Paddle steps the scheduler inside a LinearWarmup to last_epoch - warmup_steps)."
    )
  if not np.isclose(expected["last_lr"], float(sched["last_lr"]), rtol=1e-6, atol=0.0):
    raise ValueError(
      f"{where}.last_lr = {sched['last_lr']!r}, but learning_rate gives {expected['last_lr']!r} at "
      f"last_epoch = {sched['last_epoch']}: the scheduler's arguments differ."
    )
  for key, value in expected.items():
    if isinstance(value, Mapping):
      _check_scheduler(f"{where}.{key}", sched[key], value)


# --- import -----------------------------------------------------------------------------------


def import_paddle_state(
  tx: Any,
  params: Any,
  state_dict: Mapping[str, Any],
  *,
  names: Sequence[str] | Mapping[str, str] | None = None,
  learning_rate: Callable[[Any], Any] | None = None,
) -> Any:
  r"""Our state for ``tx`` from a Paddle optimizer's ``state_dict()`` converted to numpy.

  ``tx`` is an `oj.paddle` preset (``rmsprop``, ``radam``, ``asgd``, with groups, ``param_attrs``,
  a schedule, ``multi_precision``) made with the Paddle optimizer's arguments (`from_paddle` makes
  both). Every accumulator goes to its buffer (table in the module docstring); the counters become
  our int32 counts: RAdam's step ``t`` is the one whose ``beta1_pow``, ``beta2_pow`` and ``rho``
  Paddle's recursions reproduce exactly with ``tx``'s betas (so a checkpoint of other betas is an
  error), ASGD's is ``m``, and ``LR_Scheduler.last_epoch`` (a schedule's count) must agree with them.
  Paddle keeps ``momentum_0`` and ``mean_grad_0`` also when ``momentum=0`` or ``centered=False``:
  ``mean_grad_0`` must then be zero, and ``momentum_0`` (Paddle's last step, which the next step
  multiplies by 0) is not kept. A state_dict without accumulators (Paddle's before its first
  ``step()``) gives ``tx.init(params)``. For ``optax.chain(preset(learning_rate=1.0),
  oj.schedules.reduce_on_plateau(...))`` (Paddle's ``ReduceOnPlateau``; RAdam, ASGD, RMSProp without
  momentum) ``LR_Scheduler`` is the plateau's state. ``tx`` does not expose its schedule: pass it as
  ``learning_rate=`` to have ``LR_Scheduler.last_lr`` checked against it (`from_paddle` does).

  Args:
    tx: the transformation, an `oj.paddle` preset.
    params: our parameters (a pytree), the state is ``tx.init(params)``'s structure.
    state_dict: ``{key: numpy array}`` as ``{k: v.numpy() for k, v in opt.state_dict().items()}``
      gives it, with ``LR_Scheduler`` a dict of numbers and ``master_weights`` a dict of arrays.
    names: which pytree path each Paddle parameter is: None (Paddle's parameters in the order of
      the checkpoint's keys, which is the optimizer's parameter order, are the leaves in
      ``jax.tree.leaves`` order), a dict ``{Paddle name: path}`` (``"linear_0.w_0": "dense/kernel"``),
      or a list of Paddle names, one per leaf in ``jax.tree.leaves`` order (``[p.name for p in
      model.parameters()]`` where the model's order is the pytree's).
    learning_rate: None, or the schedule ``tx`` was made with (or the scheduler's description,
      ``describe_paddle_optimizer(opt)["learning_rate"]``): ``LR_Scheduler.last_lr`` must then be its
      value at ``last_epoch`` (relative 1e-6: ours is float32, Paddle's a double), and a LinearWarmup
      over a scheduler (as `paddle_schedule` makes it) must have the inner scheduler's
      ``LinearWarmup_LR`` at ``last_epoch - warmup_steps`` (0 during the warmup).

  Returns:
    The optimizer state, ``tx.init(params)``'s structure with the checkpoint's values.

  Raises:
    KeyError: an accumulator of a parameter, ``LR_Scheduler`` or ``master_weights`` is missing.
    ValueError: an unknown or extra key, a shape or dtype that does not match the buffer, counters
      that disagree, counters of other betas, an ``LR_Scheduler`` (or its ``LinearWarmup_LR``) of
      other keys, position or rate than ``learning_rate``'s, a nonzero ``mean_grad`` for an
      uncentered ``tx``, or a parameter mapping that does not fit (see ``names``).
    TypeError: ``tx`` is not an `oj.paddle` preset.

  Example:
    >>> import numpy as np, jax.numpy as jnp, optim_jax as oj
    >>> from optim_jax.interop import import_paddle_state
    >>> params = {"w": jnp.zeros(2)}
    >>> tx = oj.paddle.asgd(0.1, batch_num=2)
    >>> sd = {"linear_0.w_0_d_0": np.array([3.0, 1.0], np.float32),
    ...       "linear_0.w_0_y_0": np.array([[2.0, 1.0], [1.0, 0.0]], np.float32),
    ...       "linear_0.w_0_m_0": np.array([2])}
    >>> state = import_paddle_state(tx, params, sd)
    >>> int(state[0].count), state[0].d["w"].tolist()
    (2, [3.0, 1.0])
  """
  if _paddle_plateau.split(tx) is not None:
    if learning_rate is not None:
      raise ValueError("tx ends in reduce_on_plateau, which is its learning rate: give no learning_rate=.")
    return _paddle_plateau.import_plateau(tx, params, state_dict, names=names)
  like = tx.init(params)
  kind, accs, slots = _kind(like, params)
  sd = dict(state_dict)
  sched = sd.pop("LR_Scheduler", None)
  master = sd.pop("master_weights", None)
  per: dict[str, dict[str, Any]] = {}
  for key, value in sd.items():
    pname, acc = _split_key(str(key), accs, kind)
    per.setdefault(pname, {})[acc] = value
  counters = _counter_slots(slots)
  sched_counts = [s for s in counters if s.owner == "ScaleByLearningRateState"]
  if not per:  # Paddle before its first step
    if master:
      raise ValueError("The checkpoint has master_weights but no accumulators.")
    if sched is not None and int(sched["last_epoch"]) != 0:
      raise ValueError(
        f"LR_Scheduler.last_epoch = {sched['last_epoch']} but the checkpoint has no accumulators."
      )
    return like
  if names is None:
    mapping = map_params(params, None, list(per))
  else:  # every parameter, also the frozen ones that have no accumulators
    by_name = _names_dict(params, names)
    unmapped = [pname for pname in per if pname not in by_name]
    if unmapped:
      raise ValueError(f"names= does not map the checkpoint parameter(s) {unmapped[:8]}.")
    full = map_params(params, by_name, list(by_name))
    mapping = {pname: full[pname] for pname in per}
  by_path = {path: pname for pname, path in (full if names is not None else mapping).items()}
  trained = {s.param for s, _ in slots if s.param is not None and s.field in ("ms", "mu", "d", "momentum")}
  for pname, path in mapping.items():
    if path not in trained:
      raise ValueError(f"The checkpoint has accumulators of {pname!r} ({path!r}), which tx does not update.")
    missing = [a for a in accs if a not in per[pname]]
    if missing:
      raise KeyError(f"The checkpoint has no {pname}_{missing[0]}_0 (for the parameter {path!r}).")
  for path in sorted(trained - set(by_path)):
    raise KeyError(f"The checkpoint has no accumulators of the parameter {path!r}.")
  leaves = dict(zip(param_paths(params), jax.tree.leaves(params), strict=True))
  dtypes = {(s.param, s.field): np.dtype(v.dtype) for s, v in slots if s.param is not None}

  # the step count: Paddle's counters of every parameter, and the scheduler's
  steps: dict[str, int] = {}
  if kind == "RAdam":
    hint = int(sched["last_epoch"]) if sched is not None else None
    betas = _probe(tx, params, like, {"mu", "nu"})
    for (field, path, group), b in betas.items():
      if field != "mu":
        continue
      pname, dt = by_path[path], dtypes[(path, "mu")]
      v = {a: _uniform(f"{pname}_{a}_0", _check(f"{pname}_{a}_0", per[pname][a], np.shape(leaves[path]), dt))
           for a in ("beta1_pow", "beta2_pow", "rho")}  # fmt: skip
      steps[f"{pname}_beta2_pow_0"] = _radam_step(
        f"{pname}_", v["beta1_pow"], v["beta2_pow"], v["rho"], b, betas[("nu", path, group)], dt, hint
      )
  elif kind == "ASGD":
    for pname in per:
      m = np.asarray(per[pname]["m"])
      if m.shape != (1,) or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"{pname}_m_0: expected int64[1], the checkpoint holds {_describe(m)}.")
      steps[f"{pname}_m_0"] = int(m[0])
  if sched_counts:
    if sched is None:
      raise KeyError("The checkpoint has no LR_Scheduler, and tx's learning rate is a schedule.")
    steps["LR_Scheduler.last_epoch"] = int(sched["last_epoch"])
    if learning_rate is not None:
      _check_scheduler(
        "LR_Scheduler", sched, _scheduler_state(_as_schedule(learning_rate), int(sched["last_epoch"]))
      )
  elif sched is not None:
    raise ValueError("The checkpoint has an LR_Scheduler, and tx's learning rate is a constant.")
  if len(set(steps.values())) > 1:
    first = next(iter(steps))
    other = next(k for k, v in steps.items() if v != steps[first])
    raise ValueError(
      f"The checkpoint's counters disagree: {first} = {steps[first]}, {other} = {steps[other]}."
    )
  t = next(iter(steps.values()), 0)
  if not 0 <= t < 2**31:
    raise ValueError(f"The checkpoint's step count {t} is outside our int32 count.")

  # buffers that tx does not keep: an uncentered tx must see a zero mean_grad
  if kind == "RMSProp":
    centered = {s.param for s, _ in slots if s.field == "mg"}
    for pname, path in mapping.items():
      if path not in centered and np.any(np.asarray(per[pname]["mean_grad"]) != 0):
        raise ValueError(
          f"{pname}_mean_grad_0 is nonzero: the checkpoint is of a centered RMSProp, tx is not centered "
          f"for {path!r}."
        )
  if master is None and any(_master_path(s) for s, _ in slots):
    raise KeyError("The checkpoint has no master_weights, and tx keeps master weights (multi_precision).")
  if master is not None:
    expected = {by_path[_master_path(s)] for s, _ in slots if _master_path(s)}
    extra = sorted(set(master) - expected)
    if extra:
      raise ValueError(f"master_weights has {extra[:8]}, parameters for which tx keeps no master weight.")
    for pname in sorted(expected - set(master)):
      raise KeyError(f"master_weights has no {pname!r}.")

  def fill(slot: Slot, leaf: Any) -> Any:
    if _master_path(slot):
      pname = by_path[_master_path(slot)]
      return _check(f"master_weights[{pname!r}]", master[pname], leaf.shape, leaf.dtype)
    if slot.param is None:
      if slot.field == "count":
        return np.asarray(t, np.int32)
      raise ValueError(f"{slot.where}: a buffer ({slot.owner}.{slot.field}) that Paddle does not keep.")
    pname, path = by_path[slot.param], slot.param
    acc = _BUFFERS.get(slot.owner, {}).get(slot.field)
    if acc is None:
      raise ValueError(f"{slot.where}: a buffer ({slot.owner}.{slot.field}) that Paddle does not keep.")
    value = np.asarray(per[pname][acc])
    if multi and value.dtype == np.dtype(leaves[path].dtype) and value.dtype.itemsize < leaf.dtype.itemsize:
      value = value.astype(leaf.dtype)  # Paddle keeps ASGD's d and y in the half dtype: an exact upcast
    value = _check(f"{pname}_{acc}_0", value, leaf.shape, leaf.dtype)
    return -value if (slot.owner, slot.field) in _NEGATED else value

  multi = (
    any(s.owner == "MultiPrecisionState" for s, _ in slots) or type(like).__name__ == "MultiPrecisionState"
  )

  return replace_slots(like, params, fill)


# --- export ------------------------------------------------------------------------------------


def export_paddle_state(
  tx: Any,
  params: Any,
  opt_state: Any,
  *,
  names: Sequence[str] | Mapping[str, str],
  step: int | None = None,
  learning_rate: Callable[[Any], Any] | None = None,
) -> dict[str, Any]:
  r"""A Paddle optimizer's ``state_dict()`` (numpy arrays) from our state of an `oj.paddle` preset.

  The inverse of `import_paddle_state`: accumulators named ``<Paddle name>_<buffer>_0`` in Paddle's
  order (buffer by buffer, parameters in ``names``' order), RAdam's ``beta1_pow``, ``beta2_pow``
  and ``rho`` computed by Paddle's recursions from our count and ``tx``'s betas, ASGD's ``m``
  (int64), zeros for the buffers Paddle keeps and ``tx`` does not (``momentum_0`` when
  ``momentum=0``, ``mean_grad_0`` when not centered), ``master_weights`` under ``multi_precision``
  and ``LR_Scheduler`` for a schedule. Load it with ``opt.set_state_dict(to_paddle(sd))`` (see
  `to_paddle`) into the Paddle optimizer made with the same arguments.

  Args:
    tx: the transformation, an `oj.paddle` preset.
    params: our parameters (a pytree).
    opt_state: ``tx``'s state.
    names: the Paddle parameter name of each leaf: a dict ``{Paddle name: path}`` or a list of
      Paddle names in ``jax.tree.leaves`` order (``[p.name for p in model.parameters()]``).
    step: the update count, only checked against our counts (Paddle's RMSProp with a constant
      learning rate keeps no counter, so none is needed).
    learning_rate: the schedule ``tx`` was made with (or the scheduler's description, as for
      `import_paddle_state`); required when it has one, since Paddle's scheduler resumes from
      ``LR_Scheduler.last_lr`` (its next step uses that rate). A LinearWarmup over a scheduler made by
      `paddle_schedule` also writes the inner scheduler's state, ``LinearWarmup_LR``.

  Returns:
    ``{key: numpy array}``, with ``LR_Scheduler`` ``{"last_epoch": int, "last_lr": float}`` and
    ``master_weights`` ``{Paddle name: array}`` where they apply.

  Raises:
    ValueError: counts that disagree (between groups, with ``step``), a schedule without
      ``learning_rate``, a mapping that does not fit.
    TypeError: ``tx`` is not an `oj.paddle` preset, or ``names`` is neither a dict nor a list.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> from optim_jax.interop import export_paddle_state
    >>> params = {"w": jnp.zeros(2)}
    >>> tx = oj.paddle.radam(0.1)
    >>> state = tx.init(params)
    >>> _, state = tx.update({"w": jnp.ones(2)}, state)
    >>> sd = export_paddle_state(tx, params, state, names=["linear_0.w_0"])
    >>> sorted(sd)[:2], sd["linear_0.w_0_beta1_pow_0"].tolist()
    (['linear_0.w_0_beta1_pow_0', 'linear_0.w_0_beta2_pow_0'], [0.8999999761581421, 0.8999999761581421])
  """
  if _paddle_plateau.split(tx) is not None:
    if learning_rate is not None:
      raise ValueError("tx ends in reduce_on_plateau, which is its learning rate: give no learning_rate=.")
    return _paddle_plateau.export_plateau(tx, params, opt_state, names=names, step=step)
  kind, accs, slots = _kind(opt_state, params)
  by_name = _names_dict(params, names)
  mapping = map_params(params, by_name, list(by_name))
  by_path = {path: pname for pname, path in mapping.items()}
  counts = {s.where: int(v) for s, v in slots if s.param is None and s.field == "count"}
  if step is not None:
    counts["step="] = int(step)
  if len(set(counts.values())) > 1:
    raise ValueError(f"The state's counts disagree: {counts}.")
  t = next(iter(counts.values()), 0)
  leaves = dict(zip(param_paths(params), jax.tree.leaves(params), strict=True))
  buffers: dict[tuple[str, str], np.ndarray] = {}
  for s, v in slots:
    acc = _BUFFERS.get(s.owner, {}).get(s.field)
    if s.param is not None and acc is not None:
      buffers[(s.param, acc)] = -np.asarray(v) if (s.owner, s.field) in _NEGATED else np.asarray(v)
  trained = sorted({p for p, a in buffers if a in ("mean_square", "moment1", "d")}, key=list(by_path).index)
  betas = _probe(tx, params, opt_state, {"mu", "nu"}) if kind == "RAdam" else {}
  beta_of = {(f, p): b for (f, p, _), b in betas.items()}
  out: dict[str, Any] = {}
  for acc in accs:
    for path in trained:
      key = f"{by_path[path]}_{acc}_0"
      dt = buffers[(path, {"RMSProp": "mean_square", "RAdam": "moment1", "ASGD": "d"}[kind])].dtype
      if (path, acc) in buffers:
        out[key] = buffers[(path, acc)]
      elif acc in ("momentum", "mean_grad"):
        out[key] = np.zeros(np.shape(leaves[path]), dt)
      elif acc == "m":
        out[key] = np.array([t], np.int64)
      else:
        c = _radam_counters(beta_of[("mu", path)], beta_of[("nu", path)], dt, t)
        out[key] = np.full(np.shape(leaves[path]), c[("beta1_pow", "beta2_pow", "rho").index(acc)], dt)
  masters = {by_path[_master_path(s)]: np.asarray(v) for s, v in slots if _master_path(s)}
  if masters:
    out["master_weights"] = masters
  if any(s.owner == "ScaleByLearningRateState" for s, _ in slots):
    if learning_rate is None:
      raise ValueError(
        "tx's learning rate is a schedule: pass it as learning_rate= (Paddle's scheduler resumes from "
        "LR_Scheduler.last_lr)."
      )
    out["LR_Scheduler"] = _scheduler_state(_as_schedule(learning_rate), t)
  return out


# --- conversion ------------------------------------------------------------------------------


def _convert(state_dict: Mapping[str, Any], fn: Callable[[Any], Any]) -> dict[str, Any]:
  out: dict[str, Any] = {}
  for key, value in state_dict.items():
    if key == "LR_Scheduler":
      out[key] = {k: (v.item() if hasattr(v, "item") else v) for k, v in dict(value).items()}
    elif key == "master_weights":
      out[key] = {k: fn(v) for k, v in dict(value).items()}
    else:
      out[key] = fn(value)
  return out


def paddle_state_to_numpy(state_dict: Mapping[str, Any]) -> dict[str, Any]:
  """A Paddle ``optimizer.state_dict()`` with every tensor as a numpy array (``LR_Scheduler`` kept).

  Args:
    state_dict: the optimizer's ``state_dict()``: tensors (anything with ``.numpy()``), numpy arrays,
      ``LR_Scheduler`` and ``master_weights`` dicts.

  Returns:
    The same keys with numpy arrays, ready for `import_paddle_state`.

  Example:
    >>> import numpy as np
    >>> from optim_jax.interop import paddle_state_to_numpy
    >>> sched = {"last_epoch": 3, "last_lr": 0.1}
    >>> sd = paddle_state_to_numpy({"p_m_0": np.array([3]), "LR_Scheduler": sched})
    >>> sd["p_m_0"].tolist(), sd["LR_Scheduler"]["last_epoch"]
    ([3], 3)
  """
  return _convert(state_dict, lambda v: np.array(v.numpy() if hasattr(v, "numpy") else v))


def to_paddle(state_dict: Mapping[str, Any]) -> dict[str, Any]:
  """`export_paddle_state`'s dict with Paddle tensors, for ``optimizer.set_state_dict`` (imports paddle).

  Args:
    state_dict: ``{key: numpy array}`` with ``LR_Scheduler`` and ``master_weights`` dicts.

  Returns:
    The same keys with ``paddle.Tensor`` values (``LR_Scheduler`` stays a dict of numbers).

  Raises:
    ImportError: paddle is not installed.

  Example:
    >>> from optim_jax.interop import to_paddle
    >>> to_paddle({})  # with paddle installed, tensors come back
    {}
  """
  if not state_dict:
    return {}
  import paddle  # noqa: PLC0415 - the framework only inside the call

  return _convert(state_dict, lambda v: paddle.to_tensor(np.asarray(v)))
