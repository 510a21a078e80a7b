"""Keras optimizer state in and out: ``opt.variables`` of tf_keras (Keras 2) and Keras 3 ``RMSprop``.

A built Keras optimizer keeps its state in ``opt.variables``, in this order (n model variables,
in the order of the ``var_list`` it was built on, ``model.trainable_variables``):

==========================  ===============================  ===============================  ==============
variable                    Keras 3 name (``v.name``)        tf_keras name (``v.name``)       ours
==========================  ===============================  ===============================  ==============
iteration counter           ``iteration``                    ``iteration:0``                  every count
lr (Keras 3, float lr)      ``learning_rate``                (not a variable)                 checked
EMA (``use_ema``), n        ``<var>_average``                ``average/<var>:0``              ``ema``
accumulators (Keras 3), n   ``<var>_gradient_accumulator``   (none)                           ``accumulated``
mean square, n              ``<var>_velocity``               ``velocity/<var>:0``             ``ms``
momentum (momentum > 0), n  ``<var>_momentum``               ``momentum/<var>:0``             ``momentum``
mean gradient (centered), n ``<var>_average_gradient``       ``average_gradient/<var>:0``     ``mg``
==========================  ===============================  ===============================  ==============

``<var>`` is the model variable's ``path`` with ``/`` replaced by ``_`` in Keras 3 (``dense/kernel``
gives ``dense_kernel_velocity``; ``v.path`` adds the optimizer's scope, ``rmsprop/dense_kernel_velocity``,
which is accepted too) and its name without ``:0`` in tf_keras (``velocity/dense/kernel:0``).

The counter: Keras 3 counts calls in ``iteration`` (with ``gradient_accumulation_steps`` s, micro-steps:
the updates applied are ``iteration // s``, which is what the schedules inside the accumulation count);
tf_keras counts updates. Every count of our state is set from it on import and checked against it on
export.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from optim_jax._validation import is_static_number
from optim_jax.interop._slots import Slot, map_params, param_paths, replace_slots, state_slots

VERSIONS = ("tf_keras", "keras")
_INT32_MAX = 2**31 - 1

# Keras slot name -> (our state class, its field); in the order Keras creates them after the EMA.
_SLOTS = {
  "average": ("ParamEmaState", "ema"),
  "gradient_accumulator": ("GradientAccumulationState", "accumulated"),
  "velocity": ("ScaleByRmsPaddleState", "ms"),
  "momentum": ("MomentumState", "momentum"),
  "average_gradient": ("ScaleByRmsPaddleState", "mg"),
}
_FIELDS = {v: k for k, v in _SLOTS.items()}
# Keras's momentum buffer accumulates +lr*g/sqrt(.) and is subtracted; ours sits after the learning rate's
# sign flip and is added: the same numbers, negated (exactly).
_SIGN = {"momentum": -1}
_COUNTERS = {
  "ScaleByLearningRateState",
  "WeightDecayState",
  "ParamEmaState",
  "GradientAccumulationState",
}


def _recipe(tx: Any) -> tuple[str, dict[str, Any]]:
  """(version, the preset's arguments) of a transformation made by oj.keras.rmsprop / oj.tf_keras.rmsprop."""
  from optim_jax import _keras_common

  made_by = (
    getattr(tx, "__dict__", {}).get("_made_by") if isinstance(tx, _keras_common.KerasOptimizer) else None
  )
  if made_by is None:
    raise TypeError(
      "tx should be the transformation oj.keras.rmsprop or oj.tf_keras.rmsprop returned (or from_keras), "
      "got "
      f"{type(tx).__name__}: the Keras layout of the state (which variables, the learning_rate variable) is "
      "read from its arguments."
    )
  version = "keras" if isinstance(tx, _keras_common.Keras3Optimizer) else "tf_keras"
  return version, made_by[1]


def _version(tx: Any, version: str | None) -> tuple[str, dict[str, Any]]:
  own, arguments = _recipe(tx)
  if version is not None:
    if version not in VERSIONS:
      raise ValueError(f"version should be one of {VERSIONS} or None (from tx), got {version!r}")
    if version != own:
      preset = "oj.keras.rmsprop" if own == "keras" else "oj.tf_keras.rmsprop"
      raise ValueError(f"version={version!r} but tx was made by {preset} (version {own!r})")
  return own, arguments


def _var_key(name: Any, version: str) -> str:
  """The model variable's name as it appears inside the optimizer's variable names."""
  name = str(name)
  if version == "keras":
    return name.replace("/", "_")
  return re.sub(r":\d+$", "", name)


def _slot_name(var: str, slot: str, version: str) -> str:
  return f"{var}_{slot}" if version == "keras" else f"{slot}/{var}:0"


def _counter_name(version: str) -> str:
  return "iteration" if version == "keras" else "iteration:0"


def _constant_lr(arguments: dict[str, Any], version: str) -> np.float32 | None:
  """Keras 3's ``learning_rate`` variable (float32) for a constant learning rate; None otherwise."""
  lr = arguments["learning_rate"]
  if version != "keras" or callable(lr):
    return None
  if not is_static_number(lr):
    raise TypeError(f"learning_rate of tx is {type(lr).__name__}; a number or a schedule is needed here")
  return np.float32(lr)


def _layout(state: Any, params: Any) -> tuple[list[str], list[tuple[Slot, Any]], list[tuple[Slot, Any]]]:
  """The Keras slot names present in ``state`` (in Keras's order), its per-parameter buffers, its counts."""
  buffers, counts = [], []
  for slot, leaf in state_slots(state, params):
    key = (slot.owner, slot.field)
    if slot.param is not None and key in _FIELDS:
      buffers.append((slot, leaf))
    elif slot.param is None and slot.field == "count" and slot.owner in _COUNTERS:
      counts.append((slot, leaf))
    else:
      raise NotImplementedError(
        f"The state holds {slot.where} ({slot.owner}.{slot.field}), which no Keras variable holds: only "
        "the states of oj.keras.rmsprop / oj.tf_keras.rmsprop are mapped."
      )
  present = {_FIELDS[(s.owner, s.field)] for s, _ in buffers}
  return [k for k in _SLOTS if k in present], buffers, counts


def _accumulation_steps(arguments: dict[str, Any]) -> int | None:
  steps = arguments.get("gradient_accumulation_steps")
  return int(steps) if steps else None


def _count_from_iteration(slot: Slot, iteration: int, steps: int | None) -> int:
  """Our count for Keras's ``iteration``: inside the accumulation, the number of updates applied."""
  return iteration // steps if steps and ".inner_state" in slot.where else iteration


def _framework_keys(params: Any, names: Any) -> list[tuple[Any, str]]:
  """(framework key, parameter path) in the framework's order, for export."""
  paths = param_paths(params)
  if names is None:
    keys: list[Any] = paths
  elif isinstance(names, Mapping):
    keys = sorted(names) if all(isinstance(k, (int, np.integer)) for k in names) else list(names)
  else:
    keys = list(range(len(list(names))))
  mapping = map_params(params, names, keys)
  if names is not None and not isinstance(names, Mapping):
    # a list of paths in the framework's order: the model variables are named by those paths
    return [(p, p) for p in (mapping[k] for k in keys)]
  out = []
  for k in keys:
    if isinstance(k, (int, np.integer)):
      out.append((mapping[k], mapping[k]))  # by position: named by the path
    else:
      out.append((k, mapping[k]))
  return out


def _normalize_names(names: Any, keys: list[str], version: str) -> Any:
  """``names`` with dict keys (model variable names or paths, or positions) as the checkpoint's keys."""
  if names is None or not isinstance(names, Mapping):
    return names
  out = {}
  for k, path in names.items():
    if isinstance(k, (int, np.integer)) and not isinstance(k, bool):
      if not 0 <= k < len(keys):
        raise ValueError(f"names= maps position {k}; the checkpoint has {len(keys)} model variables")
      key = keys[k]
    else:
      key = _var_key(k, version)
    if key in out:
      raise ValueError(f"names= maps the model variable {key!r} twice")
    out[key] = path
  return out


def import_keras_state(
  tx: Any,
  params: Any,
  variables: Mapping[str, Any] | Sequence[Any],
  *,
  names: Sequence[str] | Mapping[Any, str] | None = None,
  version: str | None = None,
) -> Any:
  """Our optimizer state from a Keras ``RMSprop``'s variables (tf_keras or Keras 3).

  The saved form is ``opt.variables``, either as a dict by name, ``{v.path: v.numpy() for v in
  opt.variables}`` (Keras 3; ``v.name`` also works) or ``{v.name: v.numpy() for v in opt.variables}``
  (tf_keras), or as the list ``[v.numpy() for v in opt.variables]`` in Keras's order (the module's
  table). Every buffer is checked for shape and dtype, every count is set from ``iteration``, and
  Keras 3's ``learning_rate`` variable must equal the learning rate of ``tx`` (float32).

  Args:
    tx: the transformation of ``oj.keras.rmsprop`` or ``oj.tf_keras.rmsprop`` (or `from_keras`) with the
      optimizer's configuration.
    params: our parameters at the checkpoint (shapes, dtypes and paths; the EMA comes from the checkpoint).
    variables: the dict or list described above.
    names: which parameter path each model variable is: None (``model.trainable_variables``' order is
      ``jax.tree.leaves(params)``' order), a list of paths in that order, or a dict from model variable
      name or path (``"dense/kernel"``, ``"dense/kernel:0"``) or position to path.
    version: ``"keras"`` (Keras 3) or ``"tf_keras"``; None takes it from ``tx``.

  Returns:
    The state of ``tx`` for ``params``, as ``tx.init(params)`` lays it out.

  Raises:
    KeyError: a variable that the configuration needs is missing (named).
    ValueError: an extra or unknown variable, a wrong count of variables in a list, a shape or dtype
      that does not match the parameter (named with its path), a negative or non-integer iteration,
      a ``learning_rate`` that disagrees with ``tx``, or a ``names`` mapping that does not fit.
    TypeError: ``tx`` is not a Keras preset's transformation.

  Example:
    >>> import numpy as np, jax.numpy as jnp, optim_jax as oj
    >>> from optim_jax import interop
    >>> tx = oj.keras.rmsprop(0.01, momentum=0.9)
    >>> params = {"bias": jnp.zeros(2), "kernel": jnp.zeros((2, 2))}
    >>> variables = {"rmsprop/iteration": np.int64(7), "rmsprop/learning_rate": np.float32(0.01),
    ...              "rmsprop/kernel_velocity": np.ones((2, 2), np.float32),
    ...              "rmsprop/bias_velocity": np.ones(2, np.float32),
    ...              "rmsprop/kernel_momentum": np.zeros((2, 2), np.float32),
    ...              "rmsprop/bias_momentum": np.zeros(2, np.float32)}
    >>> state = interop.import_keras_state(tx, params, variables, names=["kernel", "bias"])
    >>> state[0].ms["kernel"].tolist()
    [[1.0, 1.0], [1.0, 1.0]]
  """
  version, arguments = _version(tx, version)
  template = tx.init(params)
  kinds, _, _ = _layout(template, params)
  lr = _constant_lr(arguments, version)
  counter = _counter_name(version)
  n = len(param_paths(params))
  if isinstance(variables, Mapping):
    named = {}
    for k, v in variables.items():
      if not isinstance(k, str):
        raise TypeError(f"variables: keys should be Keras variable names, got {type(k).__name__} {k!r}")
      short = k.rsplit("/", 1)[-1] if version == "keras" else k
      if short in named:
        raise ValueError(f"variables: {k!r} and another key both name the variable {short!r}")
      named[short] = (k, v)
    if version == "keras":
      fkeys = [s[: -len("_velocity")] for s in named if s.endswith("_velocity")]
    else:
      fkeys = [re.sub(r":\d+$", "", s[len("velocity/") :]) for s in named if s.startswith("velocity/")]
    if not fkeys:
      raise KeyError(
        f"variables: no mean-square variable ({_slot_name('<var>', 'velocity', version)}) found among "
        f"{list(variables)[:8]}; is this a {version} RMSprop's opt.variables (version={version!r})?"
      )
    mapping = map_params(params, _normalize_names(names, fkeys, version), fkeys)
    expected = [counter] + (["learning_rate"] if lr is not None else [])
    expected += [_slot_name(f, kind, version) for kind in kinds for f in fkeys]
    missing = [e for e in expected if e not in named]
    if missing:
      raise KeyError(f"variables: the configuration of tx needs {missing[:8]}, which the checkpoint lacks")
    extra = [named[s][0] for s in named if s not in expected]
    if extra:
      raise ValueError(
        f"variables: {extra[:8]} are not variables of this configuration of tx (which has "
        f"{kinds + ['learning_rate'] if lr is not None else kinds} besides {counter!r})"
      )
    values = {s: named[s][1] for s in expected}
    label = {s: named[s][0] for s in expected}
  else:
    arrays = list(variables)
    if isinstance(names, Mapping) and any(not isinstance(k, (int, np.integer)) for k in names):
      raise ValueError("variables is a list (no names): give names= as a list of paths or a dict by position")
    fkeys = [f"#{i}" for i in range(n)]  # model variable i
    if isinstance(names, Mapping):
      names = {f"#{k}": v for k, v in names.items()}
    mapping = map_params(params, names, fkeys)
    expected = [counter] + (["learning_rate"] if lr is not None else [])
    expected += [_slot_name(f, kind, version) for kind in kinds for f in fkeys]
    if len(arrays) != len(expected):
      raise ValueError(
        f"variables: a list of {len(arrays)} arrays; this configuration of tx over {n} parameters has "
        f"{len(expected)} Keras variables (iteration{', learning_rate' if lr is not None else ''}, then "
        f"{', '.join(kinds)} for each parameter)"
      )
    values = dict(zip(expected, arrays, strict=True))
    label = {e: f"variables[{i}] ({e})" for i, e in enumerate(expected)}
  iteration = _iteration(values[counter], label[counter])
  if lr is not None:
    got = np.asarray(values["learning_rate"])
    if got.shape != () or not np.issubdtype(got.dtype, np.floating):
      raise ValueError(
        f"{label['learning_rate']}: expected a float scalar, the checkpoint holds "
        f"{got.dtype}{list(got.shape)}"
      )
    if np.float32(got) != lr:
      raise ValueError(
        f"{label['learning_rate']} is {str(np.float32(got))}, the learning rate of tx is {str(lr)} "
        "(float32): make tx with the checkpoint's learning rate"
      )
  by_path = {path: key for key, path in mapping.items()}
  steps = _accumulation_steps(arguments)

  def fill(slot: Slot, leaf: Any) -> Any:
    if slot.param is None:
      if slot.field == "count" and slot.owner in _COUNTERS:
        count = _count_from_iteration(slot, iteration, steps)
        return np.asarray(count, np.int32)
      return leaf
    kind = _FIELDS[(slot.owner, slot.field)]
    key = _slot_name(by_path[slot.param], kind, version)
    value = np.asarray(values[key])
    if kind in _SIGN:
      value = -value
    if value.shape != tuple(np.shape(leaf)) or value.dtype != np.dtype(leaf.dtype):
      raise ValueError(
        f"{label[key]}: expected {np.dtype(leaf.dtype).name}{list(np.shape(leaf))} for the parameter "
        f"{slot.param!r} ({kind}), the checkpoint holds {value.dtype.name}{list(value.shape)}"
      )
    return value

  return replace_slots(template, params, fill)


def _iteration(value: Any, what: str) -> int:
  arr = np.asarray(value)
  if arr.shape != () or not (
    np.issubdtype(arr.dtype, np.integer) or (np.issubdtype(arr.dtype, np.floating) and arr == np.round(arr))
  ):
    raise ValueError(
      f"{what}: expected an integer scalar, the checkpoint holds {arr.dtype.name}{list(arr.shape)}"
    )
  it = int(arr)
  if not 0 <= it <= _INT32_MAX:
    raise ValueError(f"{what} is {it}: our counts are int32, in [0, {_INT32_MAX}]")
  return it


def export_keras_state(
  tx: Any,
  params: Any,
  opt_state: Any,
  *,
  names: Sequence[str] | Mapping[Any, str] | None = None,
  step: int | None = None,
  version: str | None = None,
) -> dict[str, np.ndarray]:
  """A Keras ``RMSprop``'s variables from our state: a dict by variable name in ``opt.variables``' order.

  The names are the ``v.name`` of the Keras optimizer's variables (module table: ``dense_kernel_velocity``
  in Keras 3, ``velocity/dense/kernel:0`` in tf_keras), with the model variables named by ``names``;
  ``list(result.values())`` is the list form. To load it (the model's ``trainable_variables`` hold our
  parameters, in ``names``' order)::

    opt.build(model.trainable_variables)
    for v in opt.variables:                      # tf_keras: the same
      v.assign(state[v.name])                    # or: opt.set_weights(list(state.values()))

  Keras 3 also keeps ``learning_rate`` (float32) for a constant learning rate. ``iteration`` comes from
  our counts; a state without any (constant learning rate and weight decay, no EMA, no accumulation)
  needs ``step=``.

  Args:
    tx: the transformation of ``oj.keras.rmsprop`` or ``oj.tf_keras.rmsprop`` that made ``opt_state``.
    params: our parameters (shapes and paths).
    opt_state: the state to export.
    names: the model variables: None (named by our paths, ``dense/kernel``, in leaf order), a list
      of our paths in the model's order (named by them), or a dict from model variable name or path (or
      position) to our path, in the model's order.
    step: Keras's ``iteration`` (Keras 3: calls, with accumulation micro-steps); required only when the
      state has no count, else checked against it.
    version: ``"keras"`` or ``"tf_keras"``; None takes it from ``tx``.

  Returns:
    ``{variable name: numpy array}``, ``iteration`` int64 as Keras keeps it, buffers in the parameters'
    dtypes.

  Raises:
    ValueError: ``step`` is missing where the state has no count, or disagrees with its counts; the counts
      disagree among themselves; ``names`` does not fit.
    TypeError: ``tx`` is not a Keras preset's transformation.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> from optim_jax import interop
    >>> tx = oj.tf_keras.rmsprop(0.01, momentum=0.9)
    >>> params = {"dense": {"bias": jnp.zeros(2), "kernel": jnp.zeros((2, 2))}}
    >>> state = interop.export_keras_state(tx, params, tx.init(params), step=0)
    >>> list(state)[:3]
    ['iteration:0', 'velocity/dense/bias:0', 'velocity/dense/kernel:0']
  """
  version, arguments = _version(tx, version)
  kinds, buffers, counts = _layout(opt_state, params)
  steps = _accumulation_steps(arguments)
  outer = [(s, int(np.asarray(v))) for s, v in counts if not (steps and ".inner_state" in s.where)]
  iterations = {v for _, v in outer}
  if len(iterations) > 1:
    raise ValueError(f"the counts of opt_state disagree: {[(s.where, v) for s, v in outer]}")
  if iterations:
    (iteration,) = iterations
    if step is not None and int(step) != iteration:
      raise ValueError(f"step={step} disagrees with the count of opt_state, {iteration}")
  elif step is None:
    raise ValueError(
      "opt_state has no count (a constant learning rate and weight decay, no EMA): pass step= (Keras's "
      "iteration, the number of updates so far)"
    )
  else:
    iteration = _iteration(step, "step")
  for s, v in counts:
    want = _count_from_iteration(s, iteration, steps)
    if int(np.asarray(v)) != want:
      raise ValueError(
        f"the count {s.where} is {int(np.asarray(v))}, expected {want} for iteration {iteration}"
      )
  out: dict[str, np.ndarray] = {_counter_name(version): np.asarray(iteration, np.int64)}
  lr = _constant_lr(arguments, version)
  if lr is not None:
    out["learning_rate"] = np.asarray(lr, np.float32)
  keys = _framework_keys(params, names)
  value = {(_FIELDS[(s.owner, s.field)], s.param): v for s, v in buffers}
  for kind in kinds:
    for fkey, path in keys:
      array = np.asarray(value[(kind, path)])
      out[_slot_name(_var_key(fkey, version), kind, version)] = -array if kind in _SIGN else array
  return out
