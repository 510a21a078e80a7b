"""Shared helpers: state allocation, dtypes, hyperparameters and validation.

Every primitive of optim_jax follows one dtype contract, decided here:
  * state buffers that mirror a parameter are allocated by `like` (dtype of the parameter unless
    the caller asks for another one);
  * arithmetic runs in `compute_dtype` (at least float32: bfloat16 and float16 are promoted);
  * hyperparameters are cast explicitly with `hyper` (so strict dtype promotion never trips and an
    injected float32 hyperparameter is not rounded to bfloat16);
  * updates come back in the gradient's dtype.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

NO_PARAMS_MSG = (
  "You are using a transformation that requires the current value of parameters, but you are not "
  "passing `params` when calling `update`."
)


def like(param: jax.Array, dtype: Any = None) -> jax.Array:
  """Zeros shaped like `param`: the one place where state buffers are allocated."""
  return jnp.zeros_like(param, dtype=dtype)


def compute_dtype(dtype: Any) -> jnp.dtype:
  """The dtype the maths runs in: float32 for half types, the dtype itself otherwise."""
  dtype = jnp.dtype(dtype)
  if jnp.issubdtype(dtype, jnp.floating) and dtype.itemsize < 4:
    return jnp.dtype(jnp.float32)
  return dtype


def hyper(value: Any, dtype: Any) -> jax.Array:
  """A scalar hyperparameter (Python number, array or tracer) cast to `dtype`."""
  return jnp.asarray(value).astype(dtype)


def value_at(value: Any, count: jax.Array) -> Any:
  """Evaluates a schedule at `count`; returns a constant unchanged."""
  return value(count) if callable(value) else value


def is_static_number(value: Any) -> bool:
  """True for a Python or NumPy number known at construction (not a tracer, not a schedule)."""
  if isinstance(value, bool):
    return False
  if isinstance(value, numbers.Number):
    return True
  return isinstance(value, np.ndarray) and value.ndim == 0


def is_static_zero(value: Any) -> bool:
  """A hyperparameter that is a literal 0: the transform it drives is structurally off."""
  return value is None or (is_static_number(value) and float(value) == 0.0)


def as_float32(value: Any) -> Any:
  """Rounds a hyperparameter (number, array or schedule) to float32, like kernel attributes."""
  if callable(value):
    return lambda count: jnp.asarray(value(count)).astype(jnp.float32)
  if is_static_number(value):
    return float(np.float32(value))
  return jnp.asarray(value).astype(jnp.float32)


def check(ok: bool, exc: type[Exception], name: str, value: Any, allowed: str) -> None:
  """Raises `exc` naming the argument, the value and what is allowed."""
  if not ok:
    raise exc(f"Invalid value of {name}: {value!r}; expected {allowed}.")


def check_range(
  name: str,
  value: Any,
  *,
  lo: float | None = None,
  hi: float | None = None,
  lo_open: bool = False,
  hi_open: bool = False,
  exc: type[Exception] = ValueError,
) -> None:
  """Validates a numeric hyperparameter known at construction; schedules and tracers pass."""
  if not is_static_number(value):
    return
  v = float(value)
  ok = not np.isnan(v)
  if lo is not None:
    ok = ok and (v > lo if lo_open else v >= lo)
  if hi is not None:
    ok = ok and (v < hi if hi_open else v <= hi)
  if ok:
    return
  left = "" if lo is None else f"{name} {'>' if lo_open else '>='} {lo:g}"
  right = "" if hi is None else f"{name} {'<' if hi_open else '<='} {hi:g}"
  check(False, exc, name, value, " and ".join(s for s in (left, right) if s))


def maybe_mask(tx: optax.GradientTransformation, mask: Any) -> optax.GradientTransformation:
  """optax.masked when a mask is given (a pytree of bools or a callable of the params)."""
  return tx if mask is None else optax.masked(tx, mask)


def unzip(tree: Any, like_tree: Any, n: int) -> tuple[Any, ...]:
  """Splits a tree whose leaves (at `like_tree`'s leaves) are n-tuples into n trees."""
  return tuple(jax.tree.map(lambda _, t, i=i: t[i], like_tree, tree) for i in range(n))


def count_state_init() -> jax.Array:
  return jnp.zeros([], jnp.int32)

