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
I32_MAX = int(np.iinfo(np.int32).max)
I32_MIN = int(np.iinfo(np.int32).min)


def count_i32(count: Any) -> jax.Array:
  """The update count as int32 (a float count is floored first).

  A count outside int32's range (a Python int, an int64 or uint count under ``jax_enable_x64``, a
  large float) saturates at its end instead of wrapping, as ``optax.safe_increment`` does.
  """
  if isinstance(count, int) and not isinstance(count, bool):
    count = min(max(count, I32_MIN), I32_MAX)
  count = jnp.asarray(count)
  if jnp.issubdtype(count.dtype, jnp.floating):
    count = jnp.floor(count)
    big = count >= 2.0**31
    count = jnp.where(big, 0, jnp.maximum(count, -(2.0**31)))  # in range before the conversion
    return jnp.where(big, I32_MAX, count.astype(I32))
  info = jnp.iinfo(count.dtype) if jnp.issubdtype(count.dtype, jnp.integer) else jnp.iinfo(I32)
  if info.max > I32_MAX or info.min < I32_MIN:
    count = jnp.clip(count, max(info.min, I32_MIN), I32_MAX)
  return count.astype(I32)


def df_int(n: jax.Array) -> DF:
  r"""An int32 array as an exact float32 pair (``n.astype(float32)`` rounds above 2**24).

  ``(n, 0)`` exactly for :math:`|n| \le 2^{24}`, so a kernel written with it returns the same bits as
  with ``df_of(n.astype(float32))`` there.
  """
  n = jnp.asarray(n).astype(I32)
  return two_sum((n & ~0xFF).astype(F32), (n & 0xFF).astype(F32))  # each part exact; the sum exact


def df_int_sub(k: int, n: jax.Array) -> DF:
  """``k - n`` for a host int k and an int32 array :math:`n >= 0`, exactly, without int32 overflow."""
  if 0 <= k <= I32_MAX:
    return df_int(k - n)
  return df_add(df(k), df_neg(df_int(n)))


def df_sub_int(n: jax.Array, k: int) -> DF:
  """``n - k`` for an int32 array :math:`n >= 0` and a host int k, exactly, without int32 overflow."""
  if 0 <= k <= I32_MAX:
    return df_int(n - k)
  return df_add(df_int(n), df(-k))


def df_where(cond: jax.Array, x: DF, y: DF) -> DF:
  return jnp.where(cond, x[0], y[0]), jnp.where(cond, x[1], y[1])


def df_neg(x: DF) -> DF:
  return -x[0], -x[1]


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


def _scale2(x: DF, k: jax.Array) -> DF:
  """x * 2**k, exact (but for underflow) for an integer-valued float k."""
  k = k.astype(jnp.int32)
  return jnp.ldexp(x[0], k), jnp.ldexp(x[1], k)


_LN2 = df(math.log(2.0))
_INV_FACT = [df(1.0 / math.factorial(i)) for i in range(14)]


def exp_df(x: DF) -> DF:
  """exp(x) as a float32 pair, to about 2**-44 relative, for x <= 88 (float32's exp range; 0 below -104).

  x = k ln 2 + r with |r| <= ln 2 / 2, exp(r) by its Taylor series to r**13 / 13! in double-float
  arithmetic, then scaled by 2**k exactly.
  """
  k = jnp.clip(jnp.round(x[0] / np.float32(math.log(2.0))), -150.0, 128.0)
  r = df_add(x, df_mul(df_of(-k), _LN2))
  acc = _INV_FACT[13]
  for i in range(12, -1, -1):  # Horner: sum r**i / i!
    acc = df_add(df_mul(acc, r), _INV_FACT[i])
  out = _scale2(acc, k)
  under = x[0] < -104.0  # below float32's smallest subnormal, 2**-149
  return df_where(under, df_of(jnp.zeros_like(x[0])), out)


def log_df(x: DF) -> DF:
  """log(x) for x > 0 as a float32 pair: float32 log, then one Newton step on exp_df."""
  y0 = jnp.log(x[0])
  e = exp_df(df_of(y0))
  return df_add(df_of(y0), df_div(df_add(x, df_neg(e)), e))


def pow_df(x: DF, p: DF) -> DF:
  """x**p for x >= 0 and p > 0 as a float32 pair (0 at x = 0), via exp_df(p log_df(x))."""
  positive = x[0] > 0
  safe = (jnp.where(positive, x[0], 1.0), jnp.where(positive, x[1], 0.0))
  out = exp_df(df_mul(p, log_df(safe)))
  return df_where(positive, out, df_of(jnp.zeros_like(x[0])))


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


def halves(den: int) -> tuple[int, int]:
  """``(den // 2, den - den // 2)`` of a host int ``den``, each clipped to int32's range.

  `half_cosine` takes these instead of ``den``, which may be beyond int32 (a cycle longer than any
  int32 count); a half beyond int32 is never reached by a count, so clipping it changes nothing.
  """
  den = int(den)
  return min(den // 2, I32_MAX), min(den - den // 2, I32_MAX)


def half_cosine(num: jax.Array, half: Any, rest: Any, step: DF) -> DF:
  r""":math:`(1 + \cos(\pi\, num / den)) / 2` for integers :math:`0 \le num \le den`, as a float32 pair.

  ``half, rest = halves(den)`` and ``step`` is :math:`\pi / (2\, den)` as a float32 pair. Written as
  :math:`1 - \sin^2(k\, step)` with :math:`k = num` in the first half and :math:`\sin^2(k\, step)` with
  :math:`k = den - num` in the second (angles in :math:`[0, \pi/4]`), so the value keeps its relative
  accuracy near 0 (``1 + cos(x)`` near :math:`x = \pi` loses it all to cancellation). Integer
  arithmetic that cannot overflow int32 (``2 * num`` would, for a cycle beyond :math:`2^{30}`).
  """
  num = num.astype(I32)
  first = num <= half  # 2 num <= den
  k = jnp.where(first, num, rest - (num - half))  # den - num, in int32 where it is used
  s2 = sin2(df_mul(df_int(k), step))
  one_minus = df_add(df(1.0), (-s2[0], -s2[1]))
  return jnp.where(first, one_minus[0], s2[0]), jnp.where(first, one_minus[1], s2[1])


def sin2(angle: DF) -> DF:
  r""":math:`\sin^2(angle)` for a float32-pair angle in :math:`[-\pi/4, \pi/4]`, as a float32 pair."""
  s = sin_df(angle)
  return df_mul(s, s)
