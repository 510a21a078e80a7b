"""Helpers shared by the schedules: the count, host constants and accurate float32 kernels.

Every schedule is a pure jnp function of the update count. Boundaries, cycles and phases are
computed with integer arithmetic on the int32 count (XLA on CPU rewrites ``x / c`` as
``x * (1 / c)`` under jit, so a float ``floor``/``ceil`` of a quotient can land on the wrong side of
a boundary); constants are computed once on the host in float64 and rounded to float32 once; the
value is returned as float32, also under ``jax_enable_x64``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

F32 = jnp.float32
I32 = jnp.int32


def count_i32(count: Any) -> jax.Array:
  """The update count as int32 (a float count is floored first)."""
  count = jnp.asarray(count)
  if jnp.issubdtype(count.dtype, jnp.floating):
    count = jnp.floor(count)
  return count.astype(I32)


def f32(value: float) -> np.float32:
  """A host constant rounded once to float32."""
  return np.float32(value)


def as_f32(x: Any) -> jax.Array:
  return jnp.asarray(x).astype(F32)


# --- double-float arithmetic: a value as a float32 pair hi + lo (about 48 bits) -----------------------
#
# Only additions, and products of numbers with at most 12 significant bits (exact), are used, so the
# results do not depend on whether XLA contracts a multiply and an add into one FMA.

DF = tuple  # (hi, lo)


def _split(a: jax.Array) -> tuple[jax.Array, jax.Array]:
  """a = hi + lo with at most 12 significant bits each, by masking the mantissa."""
  a = jnp.asarray(a, F32)
  bits = jax.lax.bitcast_convert_type(a, jnp.uint32) & jnp.uint32(0xFFFFF000)
  hi = jax.lax.bitcast_convert_type(bits, F32)
  return hi, a - hi


def two_sum(a: jax.Array, b: jax.Array) -> DF:
  """s = fl(a + b) and the exact error (Knuth).

  The operands go through an optimization barrier: XLA's simplifier otherwise folds constants
  through additions (``(b + 1) - 1`` becomes ``b``), which zeroes the error term.
  """
  a, b = jax.lax.optimization_barrier((jnp.asarray(a, F32), jnp.asarray(b, F32)))
  s = a + b
  bb = s - a
  return s, (a - (s - bb)) + (b - bb)


def two_prod(a: jax.Array, b: jax.Array) -> DF:
  """a * b as s + e, exactly but for ~2**-48 (Dekker's split, summed with two_sum).

  The partial products of the 12-bit halves are exact, so contracting any of them with an addition
  into an FMA cannot change a result; ``fl(a * b)`` itself is never used (XLA may fuse it into an
  FMA on one path and not another, which breaks the classic ``a*b - fl(a*b)`` error term).
  """
  ah, al = _split(a)
  bh, bl = _split(b)
  s, e1 = two_sum(ah * bh, ah * bl)
  s, e2 = two_sum(s, al * bh)
  return s, (e1 + e2) + al * bl


def df(value: float) -> DF:
  """A float64 host constant as a float32 pair."""
  hi = np.float32(value)
  return hi, np.float32(value - float(hi))


def df_of(x: jax.Array) -> DF:
  x = jnp.asarray(x, F32)
  return x, jnp.zeros_like(x)


def _renorm(hi, lo) -> DF:
  return two_sum(hi, lo)  # hi dominates: the error is exact


def df_add(x: DF, y: DF) -> DF:
  s, e = two_sum(x[0], y[0])
  return _renorm(s, e + x[1] + y[1])


def df_mul(x: DF, y: DF) -> DF:
  p, e = two_prod(x[0], y[0])
  return _renorm(p, e + (x[0] * y[1] + x[1] * y[0]))


def df_div(x: DF, y: DF) -> DF:
  q = x[0] / y[0]
  r = df_add(x, df_mul((-q, jnp.zeros_like(q)), y))
  return _renorm(q, (r[0] + r[1]) / y[0])


def df_round(x: DF) -> jax.Array:
  return (x[0] + x[1]).astype(F32)


def affine(a: float, x: DF, b: float) -> jax.Array:
  """``a * x + b`` for host float64 constants a, b, rounded once to float32."""
  return df_round(df_add(df_mul(df(a), x), df(b)))


# --- kernels ---------------------------------------------------------------------------------------


def power(base: float, n: jax.Array) -> DF:
  r"""``base**n`` for a host float ``base`` and an integer array :math:`0 \le n < 2^{31}`, as a float32 pair.

  Binary exponentiation over the bits of n with the factors :math:`base^{2^j}` computed on the host
  in float64 and kept as float32 pairs: about 31 double-float products, so the result is correct to
  ~1e-13 before its final rounding (``jnp.power`` in float32 is ~0.5 ulp, and rounding ``base`` to
  float32 first would put ``base**n`` off by a relative ``n * 6e-8``).
  """
  base = float(base)
  n = jnp.asarray(n).astype(I32)
  factors = []
  for j in range(31):
    try:
      factors.append(base ** (2**j))
    except OverflowError:
      factors.append(math.inf if base > 0 or j > 0 else -math.inf)
  with np.errstate(invalid="ignore", over="ignore"):  # a growing base overflows float32: inf, as it should
    table_hi = np.array(factors).astype(np.float32)
    table_lo = np.where(np.isfinite(table_hi), np.array(factors) - table_hi.astype(np.float64), 0.0).astype(
      np.float32
    )
  rows = (jnp.asarray(table_hi), jnp.asarray(table_lo), jnp.arange(31, dtype=I32))
  (hi, lo, _), _ = jax.lax.scan(_power_step, (*df_of(jnp.ones(n.shape, F32)), n), rows)  # small to compile
  return hi, lo


def _power_step(carry, row):
  """One bit of binary exponentiation (module level, so that eager calls reuse the compiled scan)."""
  hi, lo, n = carry
  factor_hi, factor_lo, j = row
  bit = (n >> j) & 1 == 1
  hi, lo = df_mul((hi, lo), (jnp.where(bit, factor_hi, f32(1.0)), jnp.where(bit, factor_lo, f32(0.0))))
  return (hi, lo, n), None


def scaled_power(scale: float, base: float, n: jax.Array) -> jax.Array:
  """``scale * base**n`` in float32, correctly rounded but for ~1e-13."""
  return df_round(df_mul(df(scale), power(base, n)))


# sin(x) = x + x^3 P(x^2) on [-pi/4, pi/4]; the Taylor terms up to x^15 (the next is < 1e-15).
_SIN_TAYLOR = [(-1.0) ** (i + 1) / math.factorial(2 * i + 3) for i in range(7)]


def sin_df(x: DF) -> DF:
  r""":math:`\sin` of a float32-pair angle in :math:`[-\pi/4, \pi/4]`, as a float32 pair.

  The leading term is the angle itself, exact; the rest, at most 0.11 of it, is a float32
  polynomial, so the result is accurate to about 0.3 float32 ulp (XLA's float32 ``sin`` is ~0.5 ulp,
  and its square twice that).
  """
  hi, lo = x
  y = hi * hi
  poly = f32(_SIN_TAYLOR[-1])
  for coef in reversed(_SIN_TAYLOR[:-1]):
    poly = poly * y + f32(coef)
  return df_add((hi, lo), df_of(hi * y * poly))


def half_cosine(num: jax.Array, den: jax.Array, step: DF) -> DF:
  r""":math:`(1 + \cos(\pi\, num / den)) / 2` for integers :math:`0 \le num \le den`, as a float32 pair.

  ``step`` is :math:`\pi / (2\, den)` as a float32 pair. Written as :math:`1 - \sin^2(k\, step)` with
  :math:`k = num` in the first half and :math:`\sin^2(k\, step)` with :math:`k = den - num` in the
  second (angles in :math:`[0, \pi/4]`), so the value keeps its relative accuracy near 0
  (``1 + cos(x)`` near :math:`x = \pi` loses it all to cancellation).
  """
  num = num.astype(I32)
  den = jnp.asarray(den).astype(I32)
  first = 2 * num <= den
  k = jnp.where(first, num, den - num).astype(F32)
  s2 = sin2(df_mul(df_of(k), step))
  one_minus = df_add(df(1.0), (-s2[0], -s2[1]))
  return jnp.where(first, one_minus[0], s2[0]), jnp.where(first, one_minus[1], s2[1])


def sin2(angle: DF) -> DF:
  r""":math:`\sin^2(angle)` for a float32-pair angle in :math:`[-\pi/4, \pi/4]`, as a float32 pair."""
  s = sin_df(angle)
  return df_mul(s, s)
