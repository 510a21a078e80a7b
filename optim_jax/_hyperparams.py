"""Learning-rate access in an optimizer state, and optax.inject_hyperparams with float32 hyperparameters."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _base, _groups, _tree, _validation

_LR_NAMES = ("learning_rate", "lr")
_INJECT_STATES = (optax.InjectHyperparamsState, optax.InjectStatefulHyperparamsState)


def inject_hyperparams(
  inner_factory: Callable[..., optax.GradientTransformation],
  static_args: str | Iterable[str] = (),
  hyperparam_dtype: Any = None,
) -> Callable[..., optax.GradientTransformationExtraArgs]:
  """``optax.inject_hyperparams`` whose float hyperparameters are at least float32.

  optax casts injected float hyperparameters to the parameters' dtype, so with bfloat16 parameters
  ``rho=0.999`` becomes 1.0 and ``learning_rate=1e-3`` loses three digits. Here the default dtype
  is the parameters' widest float dtype promoted to at least float32 (float64 parameters keep
  float64 hyperparameters); ``hyperparam_dtype`` overrides it, as in optax. The state is optax's
  ``InjectStatefulHyperparamsState``, so ``state.hyperparams``, :func:`get_lr` and :func:`set_lr`
  work the same with either wrapper.

  Unlike optax, the inner factory's checks run at construction on the values given (so
  ``learning_rate=-0.01`` raises there, not NaN later; injected values are traced and not checked
  again), and arguments the factory cannot take traced are kept static without being named in
  ``static_args``: an int size such as ``batch_num``, ``norm_type``, an int beyond int32, a function
  argument such as ``lr_lambda``. (Strings, bools, None, tuples and transformations are never
  injected, as in optax.) Where a traced hyperparameter still fails inside ``init`` or ``update``,
  the TypeError names ``static_args``.

  Args:
    inner_factory: a function returning a ``GradientTransformation`` (an optim_jax preset or
      primitive, or any optax factory).
    static_args: names of arguments not to inject (as in optax), beyond those found above.
    hyperparam_dtype: dtype of the float hyperparameters; None for the rule above.

  Returns:
    A callable with ``inner_factory``'s signature returning a ``GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.inject_hyperparams(oj.keras.rmsprop)(learning_rate=1e-3, rho=0.999)
    >>> state = tx.init(jnp.zeros(2, jnp.bfloat16))
    >>> state.hyperparams["rho"].dtype, float(state.hyperparams["rho"])
    (dtype('float32'), 0.9990000128746033)

  References:
    ``optax.inject_hyperparams``.
  """

  def dtype_of(tree: Any) -> Any:
    if hyperparam_dtype is not None:
      return hyperparam_dtype
    dtypes = [jnp.asarray(x).dtype for x in jax.tree.leaves(tree)]
    floats = [d for d in dtypes if jnp.issubdtype(d, jnp.floating)]
    widest = max(floats, key=lambda d: jnp.dtype(d).itemsize, default=jnp.float32)
    return _base.compute_dtype(widest)

  if not callable(inner_factory):
    raise TypeError(
      f"inner_factory should be a function returning a GradientTransformation, got "
      f"{type(inner_factory).__name__} {inner_factory!r}"
    )
  given_static = {static_args} if isinstance(static_args, str) else set(static_args)
  for name in given_static:
    if not isinstance(name, str):
      raise TypeError(f"static_args should be argument names (str), got {type(name).__name__} {name!r}")
  if hyperparam_dtype is not None:
    hyperparam_dtype = _validation.float_dtype("hyperparam_dtype", hyperparam_dtype)
  signature = inspect.signature(inner_factory)

  def factory(*args: Any, **kwargs: Any) -> optax.GradientTransformationExtraArgs:
    bound = signature.bind(*args, **kwargs)  # a wrong name fails here, not at init
    bound.apply_defaults()
    values = dict(bound.arguments)
    static = given_static | _structural(inner_factory, signature, values, given_static)
    injected = sorted(k for k, v in values.items() if _injected(k, v, static))

    def build(tree: Any) -> optax.GradientTransformationExtraArgs:
      return optax.inject_hyperparams(inner_factory, static, dtype_of(tree))(*args, **kwargs)

    build(None)

    def explain(error: TypeError) -> TypeError:
      if not injected:
        return error
      return TypeError(
        f"{type(error).__name__}: {error}\n{getattr(inner_factory, '__name__', 'inner_factory')} "
        f"failed with injected (traced) hyperparameters {injected}: if one of them is structural (a "
        "size, a count, a mode), pass it in static_args=... so that it is not injected."
      )

    def init_fn(params):
      try:
        return build(params).init(params)
      except TypeError as e:
        raise explain(e) from e

    def update_fn(updates, state, params=None, **extra_args):
      tx = build(updates if params is None else params)
      try:
        return tx.update(updates, state, params, **extra_args)
      except TypeError as e:
        raise explain(e) from e

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)

  return factory


def _injected(name: str, value: Any, static: set[str]) -> bool:
  """Whether optax.inject_hyperparams injects ``value`` (a number, an array or a schedule)."""
  if name in static or isinstance(value, bool):
    return False
  return callable(value) or isinstance(value, (int, float, jax.Array, np.ndarray))


def _abstract(value: Any) -> jax.ShapeDtypeStruct:
  """The traced stand-in of an injected value: a scalar of the dtype optax gives it."""
  if callable(value):
    return jax.ShapeDtypeStruct((), jnp.float32)  # a schedule's value
  dtype = jnp.result_type(value)
  if jnp.issubdtype(dtype, jnp.floating):
    dtype = jnp.float32
  return jax.ShapeDtypeStruct(jnp.shape(value), dtype)


def _structural(factory: Callable[..., Any], signature: inspect.Signature, values: dict[str, Any],
                static: set[str]) -> set[str]:  # fmt: skip
  """Runs ``factory``'s checks on the concrete values, then returns the arguments it cannot take traced.

  Numbers are passed as given (so their value checks run now) and schedules as traced scalars (a
  callable the factory only takes as itself, a ``lr_lambda``, is structural). An int outside int32
  (without x64) cannot be injected; every other number is tried traced, alone: one the factory
  rejects traced (``batch_num``, ``norm_type``) is structural.
  """
  candidates = [k for k, v in values.items() if _injected(k, v, static)]
  schedules = [k for k in candidates if callable(values[k])]

  def run(traced: list[str]) -> None:
    def build(*tracers):
      arguments = {**values, **dict(zip(traced, tracers, strict=True))}
      b = signature.bind_partial()
      b.arguments = arguments
      factory(*b.args, **b.kwargs)
      return jnp.zeros([])

    jax.eval_shape(build, *[_abstract(values[k]) for k in traced])

  found = set()
  try:
    run(schedules)  # the factory's own errors for the values given, raised as they are
  except Exception:
    # a callable the factory takes as a function, not a schedule (a ``lr_lambda``)
    for k in schedules:
      try:
        run([s for s in schedules if s != k])
      except Exception:  # noqa: BLE001
        continue
      found.add(k)
    if not found:
      raise
    schedules = [k for k in schedules if k not in found]
    run(schedules)
  for k in candidates:
    v = values[k]
    if callable(v):
      continue
    if _validation.is_int(v) and not jax.config.jax_enable_x64 and not -(2**31) <= v < 2**31:
      found.add(k)
      continue
    try:
      run([*schedules, k])
    except Exception:  # noqa: BLE001 - any failure on a traced value makes the argument structural
      found.add(k)
  return found


def _is_inject(x: Any) -> bool:
  return isinstance(x, _INJECT_STATES)


def _is_plateau(x: Any) -> bool:
  """The state of ``oj.schedules.reduce_on_plateau``, whose ``learning_rate`` is Paddle's ``last_lr``."""
  from optim_jax.schedules._plateau import ReduceOnPlateauState  # noqa: PLC0415 - schedules import this module

  return isinstance(x, ReduceOnPlateauState)


def _find(opt_state: Any, name: str | None) -> tuple[Any, str]:
  names = _LR_NAMES if name is None else (name,)
  state = _tree.find_one(
    opt_state,
    lambda x: (
      (_is_inject(x) and any(k in x.hyperparams for k in names))
      or (_is_plateau(x) and "learning_rate" in names)
    ),
    f"injected learning rates named {' or '.join(map(repr, names))}",
    "Build the optimizer with optax.inject_hyperparams(...) or oj.inject_hyperparams(...), pass "
    "`name=` for another hyperparameter, or pass the sub-state that holds the one you want.",
  )
  if _is_plateau(state):
    return state, "learning_rate"
  keys = [k for k in names if k in state.hyperparams]
  if len(keys) != 1:
    raise ValueError(f"The injected state holds both {keys}: pass `name=` to pick one.")
  return state, keys[0]


def _groups_of(opt_state: Any, name: str | None) -> tuple[Any, ...] | None:
  """The group states of the one `ParamGroupsState` in ``opt_state`` when it holds every injected
  learning rate (a grouped preset), else None."""
  names = _LR_NAMES if name is None else (name,)

  def count(tree: Any) -> int:  # injected learning rates at any depth (an inject state inside another)
    injects = [x for x in jax.tree.leaves(tree, is_leaf=_is_inject) if _is_inject(x)]
    return sum(any(k in x.hyperparams for k in names) + count(x.inner_state) for x in injects)

  is_groups = lambda x: isinstance(x, _groups.ParamGroupsState)  # noqa: E731
  grouped = [x for x in jax.tree.leaves(opt_state, is_leaf=is_groups) if is_groups(x)]
  if len(grouped) == 1 and count(grouped[0]) == count(opt_state) > 0:
    return grouped[0].groups
  return None


def _targets(opt_state: Any, name: str | None, group: int | None) -> tuple[list[tuple[Any, str]], bool]:
  """The injected states (with the key) that ``group`` designates, and whether the state is grouped."""
  groups = _groups_of(opt_state, name)
  if group is not None:
    if not _validation.is_int(group):
      raise TypeError(f"group should be an int (the index of a parameter group), got {group!r}")
    if groups is None:
      raise ValueError("group= picks a parameter group, but the optimizer state has no parameter groups")
    if not -len(groups) <= group < len(groups):
      raise ValueError(f"group={group}: the optimizer has {len(groups)} parameter groups")
    return [_find(groups[group], name)], True
  if groups is not None and len(groups) > 1:
    return [_find(g, name) for g in groups], True
  return [_find(opt_state, name)], groups is not None


def get_lr(opt_state: Any, *, name: str | None = None, group: int | None = None) -> Any:
  """The learning rate held in a state made by ``optax.inject_hyperparams``, found anywhere in it.

  Paddle's ``optimizer.get_lr()`` and Keras's ``optimizer.learning_rate`` for functional code. The
  injected state may sit anywhere: inside ``optax.chain``, ``optax.masked``, ``optax.MultiSteps``,
  ``optax.apply_if_finite``... Works under ``jax.jit`` (it returns a scalar array: use
  ``float(...)`` outside jit). For a scheduled learning rate it returns the value used by the most
  recent update (the schedule at 0 before the first one); for ``oj.schedules.reduce_on_plateau`` the
  rate the next update uses (Paddle's ``last_lr``).

  A preset with ``param_groups`` keeps every group's values in its state (PyTorch's
  ``optimizer.param_groups``): then the result is the list of the groups' learning rates
  (``[g['lr'] for g in optimizer.param_groups]``), or group ``group``'s alone.

  Args:
    opt_state: an optimizer state.
    name: the hyperparameter's name; by default ``"learning_rate"`` or ``"lr"`` (PyTorch presets).
    group: None, or the index of a parameter group (an int; negative counts from the end).

  Returns:
    The injected value, a scalar array in the hyperparameter's dtype; for a state with parameter
    groups and ``group=None``, a list of them, one per group in order.

  Raises:
    ValueError: if the state holds no such hyperparameter, or more than one outside parameter
      groups, or ``group`` is given for a state without groups or out of range.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = optax.chain(optax.clip(1.0), oj.inject_hyperparams(oj.torch.rmsprop)(lr=0.01))
    >>> state = oj.set_lr(tx.init(jnp.zeros(3)), 0.005)
    >>> round(float(oj.get_lr(state)), 6)
    0.005
  """
  targets, grouped = _targets(opt_state, name, group)
  values = [s.learning_rate if _is_plateau(s) else s.hyperparams[k] for s, k in targets]
  return values if grouped and group is None else values[0]


def set_lr(opt_state: Any, value: Any, *, name: str | None = None, group: int | None = None) -> Any:
  """A copy of ``opt_state`` whose injected learning rate is ``value`` (see :func:`get_lr`).

  Paddle's ``optimizer.set_lr(value)`` and Keras's ``optimizer.learning_rate = value``. The new
  value keeps the old one's dtype and shape, so a jitted step does not recompile; it works under
  ``jax.jit`` too (``value`` may be traced). The next update uses it.

  With parameter groups, ``group=None`` sets every group's value (``for g in
  optimizer.param_groups: g['lr'] = value``) and ``group=i`` group i's alone
  (``optimizer.param_groups[i]['lr'] = value``).

  Args:
    opt_state: an optimizer state holding exactly one injected learning rate, or one per parameter
      group.
    value: the new learning rate (a number or a scalar array).
    name: the hyperparameter's name; by default ``"learning_rate"`` or ``"lr"``.
    group: None (every group), or the index of the parameter group to set.

  Returns:
    A new optimizer state of the same structure; ``opt_state`` itself is not modified.

  Raises:
    ValueError: if the state holds no such hyperparameter or more than one, if it is driven by a
      schedule (the schedule would overwrite the value at the next update), if ``value`` has
      another shape than the injected value, or if a concrete ``value`` is NaN, infinite or (for a
      learning rate) negative; a traced one is not checked.
    TypeError: if ``value`` is callable, or the injected learning rate is not a float.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.inject_hyperparams(oj.scale_by_learning_rate)(learning_rate=0.1)
    >>> state = oj.set_lr(tx.init(jnp.zeros(1)), 0.5)
    >>> u, state = tx.update(jnp.array([2.0]), state)
    >>> float(u[0])  # -0.5 * 2
    -1.0
  """
  if callable(value):
    raise TypeError("set_lr sets a value; to follow a schedule, build the optimizer with the schedule.")
  targets, _ = _targets(opt_state, name, group)
  for target, key in targets:
    opt_state = _set(opt_state, target, key, value)
  return opt_state


def _set(opt_state: Any, target: Any, key: str, value: Any) -> Any:
  if _is_plateau(target):  # Paddle's set_lr refuses an LRScheduler too
    raise ValueError(
      "The learning rate is reduce_on_plateau's, which sets it from the metrics; set_lr works on a constant "
      "learning rate (Paddle: optimizer's learning rate can't be LRScheduler when invoke this API)."
    )
  if key in target.hyperparams_states:
    raise ValueError(
      f"The learning rate {key!r} is driven by a schedule, which overwrites it at every update; "
      "set_lr works on a constant learning rate."
    )
  old = target.hyperparams[key]
  if not jnp.issubdtype(old.dtype, jnp.floating):
    raise TypeError(
      f"The injected learning rate {key!r} has dtype {old.dtype}; build the optimizer with a float "
      "learning rate to be able to set it."
    )
  if not isinstance(value, jax.core.Tracer):  # a traced value is checked by no one
    v = np.asarray(value)
    if v.ndim == 0 and v.dtype.kind in "iuf":
      v = v.item()
      # a learning rate >= 0; another hyperparameter (``name=``) finite only
      _validation.in_range(key, v, lo=0.0 if key in _LR_NAMES else None)
      _validation.finite(key, v, rule=f"a finite {key}" + (" >= 0" if key in _LR_NAMES else ""))
  new = jnp.asarray(value).astype(old.dtype)
  if new.shape != old.shape:
    raise ValueError(f"set_lr: expected a value of shape {old.shape}, got shape {new.shape}.")

  def replace(s: Any) -> Any:
    if s is target:
      return s._replace(hyperparams={**s.hyperparams, key: new})
    return s

  return jax.tree.map(replace, opt_state, is_leaf=_is_inject)
