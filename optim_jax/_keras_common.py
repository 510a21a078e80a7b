"""The RMSprop chain shared by tf_keras (Keras 2) and Keras 3; the public modules set the differences.

Also what both add around it: ``exclude_from_weight_decay`` (names matched against the parameters'
paths, masks, predicates), Keras 3's ``loss_scale_factor`` and ``gradient_accumulation_steps``, and
the object the presets return (`KerasOptimizer`), which has Keras's configuration methods.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _base, _groups, _tree, _validation
from optim_jax._accumulation import accumulate_gradients
from optim_jax._clipping import clip_by_global_norm, clip_by_norm, clip_by_value
from optim_jax._ema import param_ema
from optim_jax._learning_rate import scale_by_learning_rate
from optim_jax._momentum import trace
from optim_jax._rms import scale_by_rms_paddle
from optim_jax._weight_decay import decoupled_weight_decay


def _on(value: Any) -> bool:
  """Keras applies a clip option only when it is set and > 0 (a traced value counts as set)."""
  return value is not None and (not _validation.is_static_number(value) or float(value) > 0)


def clip_chain(
  clipnorm: Any, clipvalue: Any, global_clipnorm: Any, *, keras3: bool, axis_name: Any = None
) -> list:
  """The one clip Keras applies, with each version's rule for options set together."""
  for name, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm)):
    _validation.hyperparameter(name, value, none=True, lo=0.0)
  if keras3:
    if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
      raise ValueError(
        "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
        f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
      )
  elif clipnorm is not None and global_clipnorm is not None:
    raise ValueError(
      "At most one of `clipnorm` and `global_clipnorm` can be set. Received: "
      f"clipnorm={clipnorm}, global_clipnorm={global_clipnorm}."
    )
  # tf_keras keeps one by priority (clipnorm > global_clipnorm > clipvalue): clipvalue is ignored
  # when a norm clip is set. Keras 3 has the same priority but forbids combinations above.
  if _on(clipnorm):
    return [clip_by_norm(clipnorm)]
  if _on(global_clipnorm):
    return [clip_by_global_norm(global_clipnorm, nonfinite="nan", axis_name=axis_name)]
  if _on(clipvalue):
    return [clip_by_value(-clipvalue, clipvalue)]
  return []


# --- exclude_from_weight_decay ---------------------------------------------------------------------


def _paths(tree: Any) -> list[tuple[str, Any]]:
  """(path, leaf) for every leaf, the path as `_tree.path_name` writes it ("dense/bias")."""
  return [(_tree.path_name(p), leaf) for p, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]]


def _listing(paths: list[str]) -> str:
  shown = ", ".join(repr(p) for p in paths[:12])
  return shown + (f", ... ({len(paths)} in all)" if len(paths) > 12 else "")


def _is_names(value: Any) -> bool:
  return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


class Exclusion:
  """The leaves ``exclude_from_weight_decay`` takes out of the weight decay, as Keras's method takes
  them: ``var_list`` (exact paths, a bool pytree with True for excluded leaves, or a function
  ``fn(path, leaf) -> bool``) and ``var_names`` (regular expressions searched in each path: Keras 3
  joins them with ``|``, tf_keras tries each). Picklable; `decay_mask` is optax's mask (True = decay).
  """

  def __init__(self, var_list: Any = None, var_names: Any = None, *, keras3: bool,
               where: str = "exclude_from_weight_decay") -> None:  # fmt: skip
    self.var_list, self.var_names, self.keras3, self.where = var_list, var_names, keras3, where
    if isinstance(var_names, str) or (var_names is not None and not _is_names(var_names)):
      raise TypeError(
        f"{where}: var_names should be a list of strings (regular expressions), got "
        f"{type(var_names).__name__} {var_names!r}"
        + (
          " (a string would be read one character at a time, as Keras reads it: write [name])"
          if isinstance(var_names, str)
          else ""
        )
      )
    if isinstance(var_list, str):
      raise TypeError(
        f"{where}: var_list should be a list of paths, got the string {var_list!r}: write [path]"
      )
    self._patterns = []
    for name in var_names or ():
      try:
        self._patterns.append(re.compile(name))
      except re.error as err:
        raise ValueError(f"{where}: var_names holds {name!r}, not a regular expression ({err})") from None
    if var_names and keras3:  # Keras 3 searches one pattern, the names joined by "|"
      joined = "|".join(dict.fromkeys(var_names))
      try:
        self._joined = re.compile(joined)
      except re.error as err:  # e.g. an inline flag not at the start, as Keras 3 fails on it too
        raise ValueError(
          f"{where}: var_names joined by '|' as Keras 3 joins them, {joined!r}, is not a regular expression "
          f"({err})"
        ) from None
    if var_list is not None and not callable(var_list) and not _is_names(var_list):
      for p, m in jax.tree_util.tree_flatten_with_path(var_list)[0]:
        if not isinstance(m, (bool, np.bool_)):
          raise TypeError(
            f"{where}: var_list is a list of paths, a function (path, leaf) or a pytree of Python bools "
            f"(True: excluded), got {type(m).__name__} {m!r} at {_tree.path_name(p)!r}"
          )

  def __repr__(self) -> str:
    return f"Exclusion(var_list={self.var_list!r}, var_names={self.var_names!r})"

  def __getstate__(self) -> dict[str, Any]:
    return {k: getattr(self, k) for k in ("var_list", "var_names", "keras3", "where")}

  def __setstate__(self, state: dict[str, Any]) -> None:
    keras3 = state.pop("keras3")
    self.__init__(**state, keras3=keras3)

  def _listed(self, tree: Any, paths: list[str]) -> list[bool]:
    """Which leaves ``var_list`` excludes, checked against the parameters' paths."""
    where, spec = self.where, self.var_list
    if spec is None:
      return [False] * len(paths)
    if callable(spec):
      return _groups.predicate_bools(spec, tree, f"{where}: a var_list function")
    if _is_names(spec):
      unknown = [p for p in spec if p not in paths]
      if unknown:
        raise ValueError(
          f"{where}: var_list names {unknown}, not parameter paths; the paths are {_listing(paths)}"
        )
      return [p in spec for p in paths]
    return _groups.mask_bools(spec, tree, f"{where}: var_list")

  def excluded(self, tree: Any) -> list[bool]:
    """Per leaf of ``tree`` (in leaf order), whether it is excluded; a ValueError names a pattern that
    matches no path, a path that is not a parameter, or a mask entry without a parameter."""
    paths = [p for p, _ in _paths(tree)]
    out = self._listed(tree, paths)
    for pattern in self._patterns:
      if not any(pattern.search(p) for p in paths):
        raise ValueError(
          f"{self.where}: var_names pattern {pattern.pattern!r} matches no parameter path; the paths are "
          f"{_listing(paths)} (Keras searches TensorFlow variable names such as 'dense/bias:0'; paths here "
          "have no ':0')"
        )
    if self._patterns:
      if self.keras3:
        named = [self._joined.search(p) is not None for p in paths]
      else:
        named = [any(pattern.search(p) for pattern in self._patterns) for p in paths]
      out = [a or b for a, b in zip(out, named, strict=True)]
    return out

  def decay_mask(self, tree: Any) -> Any:
    """optax's mask for the weight decay: a pytree of bools shaped like ``tree``, True where decayed."""
    flags = iter(self.excluded(tree))
    return jax.tree.map(lambda _: not next(flags), tree)


def exclusion(value: Any, *, keras3: bool) -> Exclusion | None:
  """The preset argument ``exclude_from_weight_decay``: None, an `Exclusion`, a list of names
  (``var_names``), or a pytree of bools or a function (path, leaf) (``var_list``)."""
  if value is None or isinstance(value, Exclusion):
    return value
  if isinstance(value, str):
    raise TypeError(
      f"exclude_from_weight_decay should be a list of names, got the string {value!r}: write [{value!r}]"
    )
  if isinstance(value, (jax.Array, np.ndarray)) and not (np.ndim(value) == 0 and value.dtype == bool):
    raise TypeError(
      f"exclude_from_weight_decay should be names, a mask or a function, got the array {value!r}"
    )
  if _is_names(value) and value:
    return Exclusion(var_names=list(value), keras3=keras3)
  return Exclusion(var_list=value, keras3=keras3)


# --- Keras 3's loss_scale_factor and gradient_accumulation_steps --------------------------------------


def _unscale(loss_scale_factor: Any) -> optax.GradientTransformation:
  """g / loss_scale_factor (a division, as Keras 3 divides: a multiplication by 1/s rounds differently)."""

  def update_fn(updates, state, params=None):
    del params
    return jax.tree.map(lambda g: g / _base.hyper(loss_scale_factor, g.dtype), updates), state

  return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


def _at_iteration(schedule: Any, steps: int) -> Any:
  """A schedule of the update count k seen at Keras 3's micro-step count k*steps + steps-1 (Keras 3
  calls its schedule with the raw ``_iterations`` on the micro-step that applies the update)."""
  if not callable(schedule):
    return schedule
  last = (2**31 - 1 - (steps - 1)) // steps  # beyond, the int32 micro-step count saturates

  def at(count):
    k = jnp.minimum(jnp.asarray(count).astype(jnp.int32), last)
    return schedule(k * steps + (steps - 1))

  return at


def _ema_per_iteration(ema: optax.GradientTransformation, steps: int) -> optax.GradientTransformation:
  """`param_ema` run on every micro-step, with Keras 3's ``iterations`` (micro-step count // steps) as
  its count: the first update's momentum 0 and the overwrites follow it, as in Keras 3. Its state stays
  a ``ParamEmaState`` (whose count is the micro-step count)."""

  def update_fn(updates, state, params=None):
    out, new = ema.update(updates, state._replace(count=state.count // steps), params)
    return out, new._replace(count=optax.safe_increment(state.count))

  return optax.GradientTransformation(ema.init, update_fn)


def accumulation_steps(value: Any) -> int | None:
  """Keras 3's check: falsy is off; otherwise an int >= 2 (ValueError, Keras's message; a float that
  Keras accepts too). A traced value is a TypeError: it decides the state's structure."""
  if isinstance(value, (jax.Array, np.ndarray)) and not _validation.is_static_number(value):
    raise TypeError(
      "gradient_accumulation_steps is structural and cannot be traced: pass it in static_args of "
      "optax.inject_hyperparams (oj.inject_hyperparams does so)."
    )
  if not _validation.is_real(value) and value is not None and not isinstance(value, (bool, np.bool_)):
    raise TypeError(
      f"gradient_accumulation_steps should be an int >= 2 or None, got {type(value).__name__} {value!r}"
    )
  if not value:
    return None
  if not _validation.is_int(value) or value < 2:
    raise ValueError(
      f"`gradient_accumulation_steps` must be an integer >= 2. Received: gradient_accumulation_steps={value}"
    )
  return int(value)


def rmsprop(
  *,
  learning_rate: Any,
  rho: Any,
  momentum: Any,
  epsilon: Any,
  centered: bool,
  weight_decay: Any,
  clipnorm: Any,
  clipvalue: Any,
  global_clipnorm: Any,
  use_ema: bool,
  ema_momentum: Any,
  ema_overwrite_frequency: Any,
  axis_name: Any,
  exclude_from_weight_decay: Any,
  keras3: bool,
  loss_scale_factor: Any = None,
  gradient_accumulation_steps: Any = None,
) -> optax.GradientTransformationExtraArgs:
  """The RMSprop chain of both Keras versions: clip -> rms -> lr -> momentum -> weight decay -> EMA.

  The arguments are those of ``oj.keras.rmsprop`` and ``oj.tf_keras.rmsprop`` that shape the maths.
  ``keras3`` picks Keras 3's rules (a non-float learning rate is a ValueError, at most one clip option,
  EMA warm start, ``var_names`` joined in one pattern) over tf_keras's (clip priority, EMA from the
  initial parameters). Keras 3 first divides the gradients by ``loss_scale_factor``; with
  ``gradient_accumulation_steps`` the chain up to the weight decay runs on the averaged gradients of
  every that many micro-steps and its schedules see Keras 3's micro-step count, while the EMA runs on
  every micro-step with Keras 3's ``iterations``.
  """
  if keras3 and _validation.is_static_number(learning_rate) and not isinstance(learning_rate, float):
    raise ValueError(
      "Argument `learning_rate` should be float, or a schedule. "
      f"Received instead: learning_rate={learning_rate!r} ({type(learning_rate).__name__})"
    )
  _validation.learning_rate("learning_rate", learning_rate)
  _validation.hyperparameter("momentum", momentum, lo=0.0)
  _validation.hyperparameter("weight_decay", weight_decay, schedule=True, none=True, lo=0.0)
  # finite in float32 (Keras keeps the learning rate and weight decay in float32 variables)
  _validation.finite("learning_rate", learning_rate, float32=True)
  _validation.finite("momentum", momentum, float32=True)
  _validation.finite("weight_decay", weight_decay, float32=True)
  _validation.flag("centered", centered)
  _validation.flag("use_ema", use_ema)
  if use_ema:
    momentum_, frequency = ema_args(ema_momentum, ema_overwrite_frequency, keras3=keras3)
  excluded = exclusion(exclude_from_weight_decay, keras3=keras3)
  _validation.hyperparameter("loss_scale_factor", loss_scale_factor, none=True, lo=0.0, lo_open=True)
  _validation.finite("loss_scale_factor", loss_scale_factor)
  steps = accumulation_steps(gradient_accumulation_steps)
  # Keras keeps a float learning rate in a float32 variable and rounds weight decay to float32.
  lr = _base.as_float32(learning_rate)
  decay = None if weight_decay is None else _base.as_float32(weight_decay)
  if steps:
    lr, decay = _at_iteration(lr, steps), _at_iteration(decay, steps)
  _validation.axis_names("axis_name", axis_name)
  chain = clip_chain(clipnorm, clipvalue, global_clipnorm, keras3=keras3, axis_name=axis_name)
  chain.append(scale_by_rms_paddle(rho, epsilon, centered))
  chain.append(scale_by_learning_rate(lr))
  if not _validation.is_static_zero(momentum):
    chain.append(trace(momentum))
  if not _validation.is_static_zero(weight_decay):
    chain.append(decoupled_weight_decay(decay, lr, mask=None if excluded is None else excluded.decay_mask))
  if steps:
    chain = [accumulate_gradients(optax.chain(*chain), steps)]
  if loss_scale_factor is not None:
    chain.insert(0, _unscale(loss_scale_factor))
  if use_ema:
    ema = param_ema(momentum_, frequency, warm_start=keras3)
    chain.append(_ema_per_iteration(ema, steps) if steps else ema)
  # the EMA needs the final (rounded) update: it models optax.apply_updates
  return _base.chain_in_compute_dtype(*chain, narrow=1 if use_ema else 0)


def ema_args(ema_momentum: Any, ema_overwrite_frequency: Any, *, keras3: bool) -> tuple[Any, Any]:
  """Validates Keras's EMA arguments as tf_keras / Keras 3 do; returns (momentum, frequency or None).

  Both check only when ``use_ema`` is set: ``ema_momentum`` outside [0, 1] and a truthy
  ``ema_overwrite_frequency`` that is not an int >= 1 raise ValueError; a falsy frequency (None, 0)
  means never overwrite. Values injected by ``optax.inject_hyperparams`` (arrays) are not checked.
  """
  if _validation.is_static_number(ema_momentum) and (ema_momentum > 1 or ema_momentum < 0):
    raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
  _validation.hyperparameter("ema_momentum", ema_momentum, schedule=True)  # a number (TypeError), not NaN
  f = ema_overwrite_frequency
  if isinstance(f, jax.Array):
    _validation.int_scalar("ema_overwrite_frequency", f)  # injected by optax.inject_hyperparams
    return ema_momentum, f
  if f and (not isinstance(f, int) or isinstance(f, bool) or f < 1):  # Keras: a Python int (here not a bool)
    # tf_keras's message says "> 1" although 1 is accepted; Keras 3 says ">= 1".
    bound = ">= 1" if keras3 else "> 1"
    raise ValueError(
      f"`ema_overwrite_frequency` must be an integer {bound} or None. Received: ema_overwrite_frequency={f}"
    )
  return ema_momentum, (int(f) if f else None)


# --- the returned object and the constructors' other arguments -----------------------------------------


def _rebuild(preset: Callable[..., Any], arguments: dict[str, Any]) -> KerasOptimizer:
  return preset(**arguments)


class KerasOptimizer(optax.GradientTransformationExtraArgs):
  """What ``oj.tf_keras.rmsprop`` and ``oj.keras.rmsprop`` return: an optax
  ``GradientTransformationExtraArgs`` (``init``, ``update``; it unpacks, chains and jits as one) that
  also has Keras's configuration methods, each returning a new transformation. It pickles (and
  copies) as the preset call that made it, when the arguments pickle (oj.keras schedules do)."""

  # No __slots__: the instance keeps the call that made it, (preset, arguments), for the methods.

  def _recipe(self) -> tuple[Callable[..., Any], dict[str, Any]]:
    recipe = self.__dict__.get("_made_by")
    if recipe is None:
      raise TypeError(
        "This KerasOptimizer was rebuilt without the preset call that made it (by a pytree map?): "
        "call the preset again."
      )
    return recipe

  def exclude_from_weight_decay(self, var_list: Any = None, var_names: Any = None) -> KerasOptimizer:
    """Keras's ``optimizer.exclude_from_weight_decay(var_list, var_names)``, as a new transformation.

    As in Keras, the call replaces any exclusion set before, and ``var_names`` are regular expressions
    searched in each parameter's path (its keys joined by ``/``, e.g. ``"dense/bias"``): Keras 3 joins
    them with ``|``, tf_keras tries each. ``var_list`` stands for Keras's list of variables: the
    excluded paths, a pytree of bools (True: excluded) or a function ``fn(path, leaf) -> bool``. A
    pattern that matches no path, a path that is not a parameter, or a mask that does not fit the
    parameters is a ValueError at ``init``, naming it.

    Args:
      var_list: None, a list of paths, a pytree of bools shaped like the parameters (or a prefix of
        them), or a function of (path, leaf).
      var_names: None or a list of regular expressions.

    Returns:
      The same optimizer with these leaves out of the weight decay.

    Example:
      >>> import jax.numpy as jnp, optim_jax as oj
      >>> tx = oj.keras.rmsprop(0.1, weight_decay=0.5).exclude_from_weight_decay(var_names=["bias"])
      >>> p = {"bias": jnp.ones(1), "kernel": jnp.ones(1)}
      >>> u, _ = tx.update({"bias": jnp.zeros(1), "kernel": jnp.zeros(1)}, tx.init(p), p)
      >>> bool(u["bias"][0] == 0), round(float(u["kernel"][0]), 4)  # -lr * wd * p on the kernel only
      (True, -0.05)
    """
    preset, arguments = self._recipe()
    keras3 = isinstance(self, Keras3Optimizer)
    spec = Exclusion(var_list, var_names, keras3=keras3, where="exclude_from_weight_decay()")
    return preset(**{**arguments, "exclude_from_weight_decay": spec})

  def __reduce__(self) -> tuple[Any, ...]:
    return (_rebuild, self._recipe())


class Keras3Optimizer(KerasOptimizer):
  """`KerasOptimizer` with Keras 3's ``scale_loss``."""

  def scale_loss(self, loss: Any) -> Any:
    """Keras 3's ``optimizer.scale_loss(loss)``: ``loss * loss_scale_factor`` (the loss unchanged
    without one), to differentiate instead of the loss; ``update`` divides the gradients back.

    Args:
      loss: the loss (a number or an array).

    Returns:
      The scaled loss.

    Example:
      >>> import optim_jax as oj
      >>> oj.keras.rmsprop(loss_scale_factor=128.0).scale_loss(0.5)
      64.0
    """
    factor = self._recipe()[1]["loss_scale_factor"]
    return loss if factor is None else loss * factor


def finish(preset: Callable[..., Any], arguments: dict[str, Any], tx: optax.GradientTransformationExtraArgs,
           cls: type[KerasOptimizer]) -> KerasOptimizer:  # fmt: skip
  out = cls(tx.init, tx.update)
  out.__dict__["_made_by"] = (preset, dict(arguments))
  return out


def keras3_extras(name: Any, decay: Any) -> None:
  """Keras 3's ``name`` (a string without '/', or None) and its ``decay``: ignored, with its warning."""
  if name is not None and (not isinstance(name, str) or "/" in name):
    raise ValueError(
      f"Argument `name` must be a string and cannot contain character `/`. Received: name={name}"
    )
  if decay is not None:
    warnings.warn("Argument `decay` is no longer supported and will be ignored.", UserWarning, stacklevel=3)


def tf_keras_extras(jit_compile: Any, name: Any, mesh: Any, lr: Any, is_legacy_optimizer: Any) -> None:
  """tf_keras's arguments without effect here: ``jit_compile`` (XLA is the caller's jit), ``name``,
  ``is_legacy_optimizer`` (a configuration key it drops) and ``lr`` (ignored with its warning); a
  ``mesh`` (DTensor) is a ValueError."""
  _validation.flag("jit_compile", jit_compile)
  _validation.flag("is_legacy_optimizer", is_legacy_optimizer)
  if not isinstance(name, str):
    raise TypeError(f"name should be a string, got {type(name).__name__} {name!r}")
  if mesh is not None:
    raise ValueError(
      f"mesh={mesh!r}: a DTensor mesh cannot be honoured here; shard the parameters with jax (the state "
      "follows them under jit; oj.state_sharding gives its shardings)."
    )
  if lr is not None:
    warnings.warn(
      "`lr` is deprecated in TF-Keras optimizer, please use `learning_rate` (tf_keras ignores `lr`, and so "
      "does this).",
      UserWarning,
      stacklevel=3,
    )


# --- the "Framework parity" tables -----------------------------------------------------------------------

_COMMON_ROWS = [
  ("eps placement", "inside the sqrt: lr * g / sqrt(v + eps) (as Keras)"),
  ("lr and momentum", "lr inside the buffer: mom = momentum*mom + lr*g/sqrt(.) (as Keras)"),
  (
    "order",
    "clip -> rms -> lr -> momentum, decoupled weight decay added to the same step (p <- p - "
    "lr*wd*p, from the pre-step p) -> EMA",
  ),
  (
    "float64 params",
    "learning rate and weight decay rounded to float32 (as Keras's float32 variables); "
    "rho, epsilon, momentum exact",
  ),
  (
    "state",
    "momentum buffer only if momentum != 0, mean gradient only if centered (as Keras); EMA "
    "buffer only if use_ema",
  ),
  (
    "centered variance",
    "v - mg^2 clamped at 0 before the sqrt, a deliberate difference: Keras is NaN from "
    "then on once it rounds below -epsilon (a constant large gradient)",
  ),
  (
    "out-of-range values",
    "negative lr, rho, epsilon, momentum or clip values; rho > 1: ValueError (Keras accepts them)",
  ),
  (
    "non-finite values",
    "ValueError for a NaN or inf lr, epsilon, momentum or weight_decay (lr and "
    "weight_decay also when inf once rounded to float32)",
  ),
  (
    "clip value inf",
    "``clipnorm``, ``global_clipnorm`` = inf leave the gradients unchanged, a deliberate "
    "difference (Keras: inf/inf, NaN; ``clipvalue`` = inf is a no-op in both)",
  ),
  (
    "excluded variables",
    "``exclude_from_weight_decay=`` or the method ``.exclude_from_weight_decay(var_list, "
    "var_names)``; names are regular expressions searched in the path ('dense/bias'). Keras with TensorFlow "
    "searches the variable name 'dense/bias:0', so 'bias$' matches there nothing (here the bias). A name, "
    "path or mask that matches no parameter: ValueError at init (Keras: nothing excluded)",
  ),
  (
    "schedules",
    "the six ``keras.optimizers.schedules`` classes as snake_case functions, float32 as Keras; "
    "evaluated at iterations (0 for the first update)",
  ),
]

_ROWS = {
  False: [
    ("arguments", "tf_keras's names, order and defaults (``ema_overwrite_frequency=100``)"),
    ("var_names", "each pattern searched in turn (tf_keras)"),
    (
      "jit_compile, name",
      "accepted, without effect: jit is the caller's (tf_keras also turns XLA off "
      "without a GPU); ``lr`` is ignored with tf_keras's warning, ``is_legacy_optimizer`` ignored",
    ),
    ("mesh", "None only: a DTensor mesh is a ValueError (shard with jax; oj.state_sharding)"),
  ],
  True: [
    (
      "arguments",
      "Keras 3's names, order and defaults (``ema_overwrite_frequency=None``); ``decay`` is "
      "ignored with Keras 3's warning; ``name`` a string without '/' (Keras's ValueError)",
    ),
    ("var_names", "joined with '|' into one pattern (Keras 3)"),
    (
      "loss_scale_factor",
      "gradients divided by it first (a division in the compute dtype: g*s/s can differ "
      "from g by an ulp in float32, as in Keras); ``scale_loss(loss)`` multiplies; a finite value > 0 "
      "(Keras checks nothing)",
    ),
    (
      "gradient accumulation",
      "Keras 3's rule: gradients summed, their sum divided by the steps on every "
      "steps-th call; clip, rms, momentum and weight decay run then only; the learning rate and weight decay "
      "schedules see the micro-step count (Keras's ``_iterations``: s-1, 2s-1, ...), the EMA runs on every "
      "call with iterations = calls // s; an int >= 2 (Keras accepts a float)",
    ),
  ],
}


def parity(keras3: bool) -> str:
  """The "Framework parity" table of ``oj.keras.rmsprop`` (``keras3``) or ``oj.tf_keras.rmsprop``."""
  import textwrap

  rows = _ROWS[keras3][:1] + _COMMON_ROWS + _ROWS[keras3][1:]
  ruler = "  " + "=" * 28 + "  " + "=" * 78
  lines = ["", ruler, f"  {'Keras':<28}  optim_jax", ruler]
  for key, text in rows:
    for i, part in enumerate(textwrap.wrap(text, 78)):
      lines.append(f"  {key if i == 0 else '':<28}  {part}".rstrip())
  lines.append(ruler)
  return "\n".join(lines) + "\n"
