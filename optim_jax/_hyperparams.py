"""Learning-rate access in an optimizer state, and optax.inject_hyperparams with float32 hyperparameters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from optim_jax import _base, _tree

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

  Args:
    inner_factory: a function returning a ``GradientTransformation`` (an optim_jax preset or
      primitive, or any optax factory).
    static_args: names of callable arguments that are not schedules (as in optax).
    hyperparam_dtype: dtype of the float hyperparameters; None for the rule above.

  Returns:
    A callable with ``inner_factory``'s signature returning a ``GradientTransformationExtraArgs``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.inject_hyperparams(oj.keras.rmsprop)(learning_rate=1e-3, rho=0.999)
    >>> state = tx.init(jnp.zeros(2, jnp.bfloat16))
    >>> state.hyperparams["rho"].dtype, float(state.hyperparams["rho"])
    (dtype('float32'), 0.9990000128746033)
  """

  def dtype_of(tree: Any) -> Any:
    if hyperparam_dtype is not None:
      return hyperparam_dtype
    dtypes = [jnp.asarray(x).dtype for x in jax.tree.leaves(tree)]
    floats = [d for d in dtypes if jnp.issubdtype(d, jnp.floating)]
    widest = max(floats, key=lambda d: jnp.dtype(d).itemsize, default=jnp.float32)
    return _base.compute_dtype(widest)

  def factory(*args: Any, **kwargs: Any) -> optax.GradientTransformationExtraArgs:
    def build(tree: Any) -> optax.GradientTransformationExtraArgs:
      return optax.inject_hyperparams(inner_factory, static_args, dtype_of(tree))(*args, **kwargs)

    build(None)  # binds the arguments now: a wrong name fails here, not at init

    def init_fn(params):
      return build(params).init(params)

    def update_fn(updates, state, params=None, **extra_args):
      return build(updates if params is None else params).update(updates, state, params, **extra_args)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)

  return factory


def _is_inject(x: Any) -> bool:
  return isinstance(x, _INJECT_STATES)


def _find(opt_state: Any, name: str | None) -> tuple[Any, str]:
  names = _LR_NAMES if name is None else (name,)
  state = _tree.find_one(
    opt_state,
    lambda x: _is_inject(x) and any(k in x.hyperparams for k in names),
    f"injected learning rates named {' or '.join(map(repr, names))}",
    "Build the optimizer with optax.inject_hyperparams(...) or oj.inject_hyperparams(...), pass "
    "`name=` for another hyperparameter, or pass the sub-state that holds the one you want.",
  )
  keys = [k for k in names if k in state.hyperparams]
  if len(keys) != 1:
    raise ValueError(f"The injected state holds both {keys}: pass `name=` to pick one.")
  return state, keys[0]


def get_lr(opt_state: Any, *, name: str | None = None) -> jax.Array:
  """The learning rate held in a state made by ``optax.inject_hyperparams``, found anywhere in it.

  Paddle's ``optimizer.get_lr()`` and Keras's ``optimizer.learning_rate`` for functional code. The
  injected state may sit anywhere: inside ``optax.chain``, ``optax.masked``, ``optax.MultiSteps``,
  ``optax.apply_if_finite``... Works under ``jax.jit`` (it returns a scalar array: use
  ``float(...)`` outside jit). For a scheduled learning rate it returns the value used by the most
  recent update (the schedule at 0 before the first one).

  Args:
    opt_state: an optimizer state.
    name: the hyperparameter's name; by default ``"learning_rate"`` or ``"lr"`` (PyTorch presets).

  Raises:
    ValueError: if the state holds no such hyperparameter, or more than one.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = optax.chain(optax.clip(1.0), oj.inject_hyperparams(oj.torch.rmsprop)(lr=0.01))
    >>> state = oj.set_lr(tx.init(jnp.zeros(3)), 0.005)
    >>> round(float(oj.get_lr(state)), 6)
    0.005
  """
  s, k = _find(opt_state, name)
  return s.hyperparams[k]


def set_lr(opt_state: Any, value: Any, *, name: str | None = None) -> Any:
  """A copy of ``opt_state`` whose injected learning rate is ``value`` (see :func:`get_lr`).

  Paddle's ``optimizer.set_lr(value)`` and Keras's ``optimizer.learning_rate = value``. The new
  value keeps the old one's dtype and shape, so a jitted step does not recompile; it works under
  ``jax.jit`` too (``value`` may be traced). The next update uses it.

  Args:
    opt_state: an optimizer state holding exactly one injected learning rate.
    value: the new learning rate (a number or a scalar array).
    name: the hyperparameter's name; by default ``"learning_rate"`` or ``"lr"``.

  Raises:
    ValueError: if the state holds no such hyperparameter or more than one, or if it is driven by a
      schedule (the schedule would overwrite the value at the next update).
    TypeError: if ``value`` is callable, or the injected learning rate is not a float.
  """
  if callable(value):
    raise TypeError("set_lr sets a value; to follow a schedule, build the optimizer with the schedule.")
  target, key = _find(opt_state, name)
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
  new = jnp.asarray(value).astype(old.dtype)
  if new.shape != old.shape:
    raise ValueError(f"set_lr: expected a value of shape {old.shape}, got shape {new.shape}.")

  def replace(s: Any) -> Any:
    if s is target:
      return s._replace(hyperparams={**s.hyperparams, key: new})
    return s

  return jax.tree.map(replace, opt_state, is_leaf=_is_inject)
