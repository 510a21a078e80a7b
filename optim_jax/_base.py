"""The dtype contract and state allocation, shared by every primitive.

Every primitive of optim_jax follows one dtype contract, decided here:
  * state buffers that mirror a parameter are allocated by `like` (dtype of the parameter unless
    the caller asks for another one);
  * arithmetic runs in `compute_dtype` (at least float32: bfloat16 and float16 are promoted);
  * hyperparameters are cast explicitly with `hyper` (so strict dtype promotion never trips and an
    injected float32 hyperparameter is not rounded to bfloat16);
  * updates come back in the gradient's dtype.

State in the parameter's dtype is rounded to it after every update, so a float16 second moment
overflows where the float32 arithmetic does not: ``(1 - alpha) g^2`` exceeds float16's 65504 for
``|g| > 809`` with ``alpha = 0.9`` (an inf moment gives zero updates from then on, not NaN). Pass
``state_dtype=jnp.float32`` (or use ``oj.multi_precision``) when float16 gradients can be that large.
Centered RMS in 16-bit state rounds its mean square and mean separately, so for a nearly constant
gradient their difference can cancel to 0 and the update overflow where float32 state gives a finite
one; ``state_dtype=jnp.float32`` again.

The RMSProp presets compute their whole step in the compute dtype and round the update to the
gradient's dtype once (`chain_in_compute_dtype`): an intermediate that does not fit the gradient's
dtype, such as an RMS direction of 1.6e5 before a learning rate of 1e-3 in float16, does not overflow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _validation

NO_PARAMS_MSG = (
  "You are using a transformation that requires the current value of parameters, but you are not "
  "passing `params` when calling `update`."
)


def like(param: jax.Array, dtype: Any = None) -> jax.Array:
  """Zeros shaped like `param`: the one place where state buffers are allocated.

  Always strongly typed: a buffer made from a weakly typed parameter (``jnp.asarray(0.5)``) would be
  weak while its update is strong, and a jitted step would trace twice.
  """
  return jnp.zeros_like(param, dtype=jnp.result_type(param) if dtype is None else dtype)


def compute_dtype(dtype: Any) -> jnp.dtype:
  """The dtype the maths runs in: float32 for half types, the dtype itself otherwise."""
  dtype = jnp.dtype(dtype)
  if jnp.issubdtype(dtype, jnp.floating) and dtype.itemsize < 4:
    return jnp.dtype(jnp.float32)
  return dtype


def hyper(value: Any, dtype: Any) -> jax.Array:
  """A scalar hyperparameter (Python number, array or tracer) cast to `dtype`."""
  if _validation.is_static_number(value):  # directly: an int beyond int32 is a valid float
    return jnp.asarray(value, dtype=dtype)
  return jnp.asarray(value).astype(dtype)


def once(fn: Callable[[jax.Array], Any], count: jax.Array) -> Any:
  """``fn(count)``, computed once per step however many leaves read it.

  XLA:CPU copies cheap scalar arithmetic into every per-leaf loop that reads its result, so a
  schedule's (exact, double-float) arithmetic was compiled once per leaf: 220 HLO lines per leaf for
  ``cosine_annealing_decay``, a 2.7x slower compile at 200 leaves. Fusion does not cross a
  conditional. Its predicate holds for every count a state holds (``optax.safe_increment`` stops at
  the largest int32), so the value is ``fn(count)``; the other branch (zeros) is never taken and is
  there because it compiles to nothing, where a second copy of ``fn`` would compile twice.
  """
  count = jnp.asarray(count)
  zeros = lambda c: jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(fn, c))  # noqa: E731
  return jax.lax.cond(count >= 0, fn, zeros, count)


def value_at(value: Any, count: jax.Array) -> Any:
  """Evaluates a schedule at `count` (once per step, see `once`); returns a constant unchanged."""
  return once(value, count) if callable(value) else value


def as_float32(value: Any) -> Any:
  """Rounds a hyperparameter (number, array or schedule) to float32, like kernel attributes."""
  if callable(value):
    return lambda count: jnp.asarray(value(count)).astype(jnp.float32)
  if _validation.is_static_number(value):
    return float(np.float32(value))
  return jnp.asarray(value).astype(jnp.float32)


def chain_in_compute_dtype(
  *links: optax.GradientTransformation, narrow: int = 0
) -> optax.GradientTransformationExtraArgs:
  """``optax.chain(*links)``, with the same state, run on updates in the compute dtype.

  The gradients are widened to `compute_dtype` before the first link and the updates rounded back to
  the gradients' dtypes once, before the last ``narrow`` links (which need the final update, as
  `param_ema` does) or at the end. Links keep their state in its own dtype; for float32 and float64
  gradients nothing is cast and this is ``optax.chain``.
  """
  links = tuple(optax.with_extra_args_support(t) for t in links)
  cut = len(links) - narrow

  def widen(g):
    cd = compute_dtype(g.dtype)
    return g if g.dtype == cd else g.astype(cd)

  def round_back(updates, grads):
    return jax.tree.map(lambda u, g: u if u.dtype == g.dtype else u.astype(g.dtype), updates, grads)

  def init_fn(params):
    return tuple(t.init(params) for t in links)

  def update_fn(updates, state, params=None, **extra_args):
    if len(state) != len(links):
      raise ValueError(f"Expected a state of {len(links)} transformations, got {len(state)}.")
    out = jax.tree.map(widen, updates)
    new_state = []
    for i, (t, s) in enumerate(zip(links, state, strict=True)):
      if i == cut:
        out = round_back(out, updates)
      out, s = t.update(out, s, params, **extra_args)
      new_state.append(s)
    if cut == len(links):
      out = round_back(out, updates)
    return out, tuple(new_state)

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)


def count_state_init() -> jax.Array:
  """The int32 update counter every state starts with."""
  return jnp.zeros([], jnp.int32)


def _split(x: jax.Array) -> tuple[jax.Array, jax.Array]:
  """Dekker's split of x into a high half and the exact rest (x = hi + lo, each half the mantissa)."""
  factor = 2.0 ** -(-(jnp.finfo(x.dtype).nmant + 1) // 2) + 1  # 4097 for float32, 2^27 + 1 for float64
  big = x * jnp.asarray(factor, x.dtype)
  hi = big - (big - x)
  return hi, x - hi


def minus_product(a: jax.Array, e: jax.Array, g: jax.Array) -> jax.Array:
  """a - e g rounded once, as a fused multiply-add (PyTorch's ``add_(g, alpha=-e)``): the product
  is split into its rounded value and exact error (Dekker), the sum into its rounded value and error
  (Knuth's two-sum), and the errors are added back before the last rounding."""
  prod = e * g
  (eh, el), (gh, gl) = _split(jnp.broadcast_to(e, g.shape)), _split(g)
  prod_err = ((eh * gh - prod) + eh * gl + el * gh) + el * gl
  s = a - prod
  bb = s - a
  sum_err = (a - (s - bb)) + (-prod - bb)
  return s + (sum_err - prod_err)
