"""Paddle's user-function schedules: ``LambdaDecay`` and ``MultiplicativeDecay``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _validation
from optim_jax.schedules import _common as c


def lambda_decay(learning_rate: float, lr_lambda: Callable[[jax.Array], Any]) -> optax.Schedule:
  r"""``paddle.optimizer.lr.LambdaDecay``: :math:`\eta_0\, \lambda(e)`.

  :math:`e` is the update count (0 for the first update), :math:`\eta_0` = ``learning_rate`` and
  :math:`\lambda` = ``lr_lambda``. ``lr_lambda`` receives the count as an int32 array (possibly a tracer), so
  it must be written with jnp operations (``jnp.where`` rather than ``if``); its result is used in float32.

  Args:
    learning_rate: :math:`\eta_0`, a float or int >= 0 (TypeError, ValueError otherwise).
    lr_lambda: :math:`\lambda`, a function of the count (TypeError if not callable, as Paddle) that
      returns one number for one count (TypeError otherwise, when the schedule is evaluated); a
      batch of counts is mapped over it, so it may return a constant or use ``jax.lax.cond``.

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.lambda_decay(0.5, lambda e: 0.95**e)
    >>> round(float(s(2)), 6)
    0.45125

  References:
    ``paddle.optimizer.lr.LambdaDecay`` (Paddle 3.3).
  """
  _validation.function("lr_lambda", lr_lambda, "LambdaDecay")
  _validation.scheduler_rate("learning_rate", learning_rate)
  lr0 = float(learning_rate)

  def one(e):
    return c.df_round(c.df_mul(c.df(lr0), c.df_of(_scalar(lr_lambda(e)))))

  def schedule(count):
    e = c.count_i32(count)
    # lr_lambda is a function of one count (it may return a constant): mapped over a batch of counts
    return jnp.vectorize(one)(e) if e.ndim else one(e)

  return schedule


def _scalar(value: Any) -> jax.Array:
  """lr_lambda's value for one count, as float32 (a TypeError if it is not one number)."""
  value = c.as_f32(value)
  if value.shape != ():
    raise TypeError(f"lr_lambda should return one number for one count, got an array of shape {value.shape}.")
  return value


def _constant_value(fn: Callable[[jax.Array], Any]) -> float | None:
  """The value of ``fn`` if it does not depend on its (traced) argument, else None."""
  out = []

  def probe(k):
    out.append(fn(k))
    return jnp.zeros([], c.F32)

  try:
    jax.make_jaxpr(probe)(jnp.zeros([], c.I32))
  except Exception:  # noqa: BLE001 - not traceable here: it fails with its own error when used
    return None
  value = out[0]
  if isinstance(value, jax.core.Tracer):
    return None
  value = np.asarray(value)
  return float(value) if value.size == 1 and np.issubdtype(value.dtype, np.number) else None


def multiplicative_decay(learning_rate: float, lr_lambda: Callable[[jax.Array], Any]) -> optax.Schedule:
  r"""``paddle.optimizer.lr.MultiplicativeDecay``: :math:`\eta_0 \prod_{k=1}^{e} \lambda(k)`.

  :math:`e` is the update count (0 for the first update), :math:`\eta_0` = ``learning_rate`` and
  :math:`\lambda` = ``lr_lambda``. When ``lr_lambda`` does not depend on its argument (``lambda k: 0.95``)
  this is the closed form :math:`\eta_0 \lambda^e`, computed in O(1) from the Python float (so ``0.95`` is not
  rounded to float32 first). Otherwise the product is a loop over :math:`k = 1 \dots e`, as Paddle recomputes
  it on every call: O(count) work per evaluation (prefer :func:`lambda_decay` with a closed form for long
  runs). The running product is kept in double-float (a float32 pair), so the only rounding left is that of
  each float32 :math:`\lambda(k)`.

  Args:
    learning_rate: :math:`\eta_0`, a float or int >= 0 (TypeError, ValueError otherwise).
    lr_lambda: :math:`\lambda`, a function of the int32 count k >= 1, written with jnp operations
      (TypeError if not callable, as Paddle); a constant one must be finite and >= 0 (ValueError
      otherwise).

  Returns:
    An ``optax.Schedule`` of the update count (0 for the first update) returning float32.

  Example:
    >>> import optim_jax as oj
    >>> s = oj.schedules.multiplicative_decay(1.0, lambda k: 1.0 / (k + 1))
    >>> [round(float(s(e)), 4) for e in range(4)]  # 1, 1/2, 1/(2*3), 1/(2*3*4)
    [1.0, 0.5, 0.1667, 0.0417]

  References:
    ``paddle.optimizer.lr.MultiplicativeDecay`` (Paddle 3.3).
  """
  _validation.function("lr_lambda", lr_lambda, "MultiplicativeDecay")
  _validation.scheduler_rate("learning_rate", learning_rate)
  lr0 = float(learning_rate)
  const = _constant_value(lr_lambda)
  if const is not None:
    _validation.check(
      math.isfinite(const) and const >= 0, "lr_lambda", lr_lambda,
      f"a factor >= 0 and finite (this one is the constant {const!r})",
    )  # fmt: skip

    def closed(count):
      return c.scaled_power(lr0, const, c.count_i32(count))

    return closed

  start = tuple(jnp.asarray(x) for x in c.df(lr0))

  def one(e):
    def body(k, carry):
      return c.df_mul(carry, c.df_of(_scalar(lr_lambda(k + 1))))

    return c.df_round(jax.lax.fori_loop(0, e, body, start))  # k + 1 = 1 .. e (e + 1 wraps at int32's end)

  def schedule(count):
    e = c.count_i32(count)
    return jnp.vectorize(one)(e) if e.ndim else one(e)

  return schedule
