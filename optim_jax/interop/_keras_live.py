"""optim_jax transformations from Keras optimizers: a live one (`from_keras`) or its configuration."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from optim_jax.interop._keras import VERSIONS, _normalize_names, _var_key, import_keras_state
from optim_jax.interop._slots import map_params

# keras.optimizers.schedules classes -> our functions (in oj.keras and oj.tf_keras alike)
SCHEDULES = {
  "ExponentialDecay": "exponential_decay",
  "PiecewiseConstantDecay": "piecewise_constant_decay",
  "PolynomialDecay": "polynomial_decay",
  "InverseTimeDecay": "inverse_time_decay",
  "CosineDecay": "cosine_decay",
  "CosineDecayRestarts": "cosine_decay_restarts",
}
_MODULES = {"keras": "keras.src.optimizers.rmsprop", "tf_keras": "tf_keras.src.optimizers.rmsprop"}


class FromKeras(NamedTuple):
  """What `from_keras` returns: the transformation and the imported state (None if the optimizer was
  never built, so it has no state yet)."""

  tx: Any
  opt_state: Any


def _module(version: str) -> Any:
  import optim_jax as oj

  return oj.keras if version == "keras" else oj.tf_keras


def _schedule(spec: Any, version: str) -> Any:
  """A Keras learning rate from ``get_config()``: a number, or a serialized LearningRateSchedule."""
  if isinstance(spec, Mapping):
    cls = spec.get("class_name")
    if cls not in SCHEDULES:
      raise ValueError(
        f"learning_rate is a {cls!r} schedule, which optim_jax does not reproduce; it has "
        f"{sorted(SCHEDULES)} (oj.{version}.*)"
      )
    kwargs = dict(spec.get("config", {}))
    try:
      return getattr(_module(version), SCHEDULES[cls])(**kwargs)
    except TypeError as err:
      raise TypeError(f"learning_rate: the {cls} configuration {kwargs} does not fit: {err}") from None
  if isinstance(spec, (bool, np.bool_)) or not isinstance(spec, (int, float, np.integer, np.floating)):
    raise TypeError(
      f"learning_rate should be a number or a serialized keras.optimizers.schedules class, got "
      f"{type(spec).__name__} {spec!r} (a Python function as learning rate is not reproduced)"
    )
  return float(spec)


def from_keras_config(
  config: Mapping[str, Any],
  *,
  version: str,
  class_name: str = "RMSprop",
  excluded: Sequence[str] | None = None,
) -> Any:
  """Our transformation from a Keras optimizer's ``get_config()`` (what `from_keras` reads).

  Args:
    config: ``opt.get_config()`` of a tf_keras or Keras 3 ``RMSprop``: every key is an argument of
      ``oj.tf_keras.rmsprop`` / ``oj.keras.rmsprop``; ``learning_rate`` a number or a serialized schedule
      (``{"class_name": "ExponentialDecay", "config": {...}}``) of the six ``keras.optimizers.schedules``.
    version: ``"keras"`` (Keras 3) or ``"tf_keras"``.
    class_name: the optimizer's class; only ``"RMSprop"`` is reproduced.
    excluded: the parameter paths excluded from the weight decay (``exclude_from_weight_decay``, which
      ``get_config`` does not hold), or None.

  Returns:
    The ``KerasOptimizer`` of ``oj.keras.rmsprop`` or ``oj.tf_keras.rmsprop``.

  Raises:
    ValueError: another optimizer class, a schedule class we do not reproduce, a configuration key the
      preset does not have, an unknown version, or a value the preset rejects.
    TypeError: a learning rate that is neither a number nor a serialized schedule.

  Example:
    >>> from optim_jax import interop
    >>> config = {"learning_rate": {"class_name": "ExponentialDecay", "config": {
    ...   "initial_learning_rate": 0.1, "decay_steps": 5, "decay_rate": 0.9}}, "momentum": 0.9}
    >>> tx = interop.from_keras_config(config, version="keras")
    >>> type(tx).__name__
    'Keras3Optimizer'
  """
  if version not in VERSIONS:
    raise ValueError(f"version should be one of {VERSIONS}, got {version!r}")
  if class_name != "RMSprop":
    raise ValueError(
      f"The Keras optimizer {class_name!r} is not reproduced by optim_jax: it has RMSprop only"
    )
  preset = _module(version).rmsprop
  known = set(inspect.signature(preset).parameters) - {"exclude_from_weight_decay", "axis_name"}
  unknown = sorted(set(config) - known)
  if unknown:
    raise ValueError(
      f"The {version} RMSprop configuration has {unknown}, which oj.{version}.rmsprop does not take"
    )
  kwargs = dict(config)
  if "learning_rate" in kwargs:
    kwargs["learning_rate"] = _schedule(kwargs["learning_rate"], version)
  for key in ("weight_decay", "ema_momentum", "rho", "momentum", "epsilon", "loss_scale_factor"):
    if isinstance(kwargs.get(key), np.generic):
      kwargs[key] = kwargs[key].item()
  tx = preset(**kwargs)
  if excluded:
    tx = tx.exclude_from_weight_decay(var_list=list(excluded))
  return tx


def _version_of(optimizer: Any) -> str:
  module, name = type(optimizer).__module__, type(optimizer).__name__
  for version, own in _MODULES.items():
    if module == own and name == "RMSprop":
      return version
  raise ValueError(
    f"The optimizer {module}.{name} is not reproduced by optim_jax: from_keras takes tf_keras's or Keras 3's "
    "RMSprop (tf_keras.optimizers.RMSprop, keras.optimizers.RMSprop; not the legacy classes or wrappers)"
  )


def _variable_name(v: Any, version: str) -> str:
  return v.path if version == "keras" else v.name


def _excluded_paths(
  optimizer: Any, version: str, variables: Any, params: Any, names: Any
) -> list[str] | None:
  """Our paths of the model variables that Keras's own rule (``_use_weight_decay``) leaves undecayed."""
  if version == "keras":
    configured = bool(getattr(optimizer, "_exclude_from_weight_decay", None)) or (
      getattr(optimizer, "_exclude_from_weight_decay_pattern", None) is not None
    )
  else:
    configured = bool(getattr(optimizer, "_exclude_from_weight_decay", None)) or bool(
      getattr(optimizer, "_exclude_from_weight_decay_names", None)
    )
  if not configured or not optimizer.get_config().get("weight_decay"):
    return None
  if variables is None and version == "keras" and getattr(optimizer, "built", False):
    variables = optimizer._trainable_variables
  if variables is None:
    raise ValueError(
      "The optimizer excludes variables from its weight decay: pass variables=model.trainable_variables "
      "(the variables it is or will be built on), so that Keras's own rule decides which"
    )
  if params is None:
    raise ValueError("The optimizer excludes variables from its weight decay: pass params= to map them")
  keys = [_var_key(_variable_name(v, version), version) for v in variables]
  mapping = map_params(params, _normalize_names(names, keys, version), keys)
  return [mapping[k] for k, v in zip(keys, variables, strict=True) if not optimizer._use_weight_decay(v)]


def from_keras(
  optimizer: Any,
  *,
  params: Any = None,
  names: Sequence[str] | Mapping[Any, str] | None = None,
  variables: Sequence[Any] | None = None,
) -> FromKeras:
  """The optim_jax transformation of a live tf_keras or Keras 3 ``RMSprop``, and its state if it has one.

  The framework is imported by the optimizer's own module; its class decides the version (tf_keras:
  ``oj.tf_keras.rmsprop``, Keras 3: ``oj.keras.rmsprop``). Every argument comes from ``get_config()``
  (`from_keras_config`), including clipnorm / clipvalue / global_clipnorm, the EMA, Keras 3's
  ``gradient_accumulation_steps`` and ``loss_scale_factor``, and a learning-rate schedule of the six
  ``keras.optimizers.schedules`` classes. Variables excluded from the weight decay are decided by Keras's
  own rule on ``variables`` (Keras 3 knows them once built). A built optimizer's state is imported with
  `import_keras_state`. Clipping or loss scaling that a training loop applies outside the optimizer
  (``tf.clip_by_global_norm`` before ``apply_gradients``, a ``LossScaleOptimizer``) is the user's to add.

  Args:
    optimizer: a ``tf_keras.optimizers.RMSprop`` or ``keras.optimizers.RMSprop``.
    params: our parameters; needed if the optimizer is built (it has state) or excludes variables.
    names: which parameter path each model variable is (see `import_keras_state`).
    variables: ``model.trainable_variables``, needed only for ``exclude_from_weight_decay`` with tf_keras
      or an unbuilt Keras 3 optimizer.

  Returns:
    ``FromKeras(tx, opt_state)``; ``opt_state`` is None for an optimizer that was never built.

  Raises:
    ValueError: another optimizer class (named), an unknown schedule class, a state without ``params``,
      an exclusion without ``variables``; the errors of `import_keras_state`.

  Example:
    >>> from optim_jax import interop
    >>> try:
    ...   interop.from_keras(object())
    ... except ValueError as err:
    ...   print(str(err)[:47])
    The optimizer builtins.object is not reproduced
  """
  version = _version_of(optimizer)
  config = optimizer.get_config()
  built = getattr(optimizer, "built" if version == "keras" else "_built", False)
  if built and params is None:
    raise ValueError(
      f"The {version} optimizer is built and has state: pass params= (our parameters, as the model's "
      "trainable variables hold them now) to import it"
    )
  excluded = _excluded_paths(optimizer, version, variables, params, names)
  tx = from_keras_config(config, version=version, excluded=excluded)
  if not built:
    return FromKeras(tx, None)
  state = {_variable_name(v, version): np.asarray(v.numpy()) for v in optimizer.variables}
  return FromKeras(tx, import_keras_state(tx, params, state, names=names, version=version))
