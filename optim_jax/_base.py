"""The dtype contract and state allocation, shared by every primitive.

Every primitive of optim_jax follows one dtype contract, decided here:
  * state buffers that mirror a parameter are allocated by `like` (dtype of the parameter unless
    the caller asks for another one);
  * arithmetic runs in `compute_dtype` (at least float32: bfloat16 and float16 are promoted);
  * hyperparameters are cast explicitly with `hyper` (so strict dtype promotion never trips and an
    injected float32 hyperparameter is not rounded to bfloat16);
  * updates come back in the gradient's dtype.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optim_jax import _validation

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


def as_float32(value: Any) -> Any:
  """Rounds a hyperparameter (number, array or schedule) to float32, like kernel attributes."""
  if callable(value):
    return lambda count: jnp.asarray(value(count)).astype(jnp.float32)
  if _validation.is_static_number(value):
    return float(np.float32(value))
  return jnp.asarray(value).astype(jnp.float32)


def count_state_init() -> jax.Array:
  """The int32 update counter every state starts with."""
  return jnp.zeros([], jnp.int32)
