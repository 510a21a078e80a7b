"""RAdam's rectified direction, exactly as PyTorch and Paddle compute it."""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _base, _tree, _validation

RhoRule = Literal["closed_form", "recursion"]


class ScaleByRadamState(NamedTuple):
  """State of `scale_by_radam`."""

  count: jax.Array  # int32, number of updates so far
  mu: optax.Updates  # first moment (uncorrected)
  nu: optax.Updates  # second moment (uncorrected)


# Taylor coefficients of s(z) = (z coth z - 1) / z^2 = sum_n 2^(2n) B_2n z^(2n-2) / (2n)!, n >= 1.
# Twelve terms reach 1e-17 relative for |z| <= 1/2, where the series is used.
_BERNOULLI = [
  Fraction(1, 6), Fraction(-1, 30), Fraction(1, 42), Fraction(-1, 30), Fraction(5, 66),
  Fraction(-691, 2730), Fraction(7, 6), Fraction(-3617, 510), Fraction(43867, 798),
  Fraction(-174611, 330), Fraction(854513, 138), Fraction(-236364091, 2730),
]  # fmt: skip
_S_COEFFS = [float(2 ** (2 * n) * b / math.factorial(2 * n)) for n, b in enumerate(_BERNOULLI, start=1)]


def _s(z: jax.Array) -> jax.Array:
  """(z coth z - 1) / z^2 by its Taylor series (Horner in z^2), for |z| <= 1/2."""
  z2 = z * z
  acc = jnp.zeros_like(z)
  for c in reversed(_S_COEFFS):
    acc = acc * z2 + jnp.asarray(c, z.dtype)
  return acc


def _neg_log(b: Any, dtype: Any) -> jax.Array:
  """-log(b) without cancellation near b = 1 (on the host in double when b is a number)."""
  if _validation.is_static_number(b):
    return _base.hyper(-math.log(float(b)) if float(b) > 0 else math.inf, dtype)
  bc = _base.hyper(b, dtype)
  return -jnp.log1p(bc - 1)


def _static_or(value: Any, dtype: Any, host, graph) -> jax.Array:
  """host(value) in double when `value` is a number, else graph(value) in `dtype`."""
  if _validation.is_static_number(value):
    return _base.hyper(host(float(value)), dtype)
  return graph(_base.hyper(value, dtype))


def _rho(t: jax.Array, a2: jax.Array, rho_inf: jax.Array) -> jax.Array:
  r"""rho_t = rho_inf - 2 t b2^t / (1 - b2^t) with b2 = exp(-a2), free of cancellation.

  With x = t a2: for x < 1, rho_t = t - (a2/2) (t^2 s(x/2) - s(a2/2)) (exact rewriting through
  z coth z); for x >= 1, rho_t = rho_inf - 2 t / expm1(x), where the two terms no longer cancel.
  """
  x = t * a2
  small = x < 1
  xs = jnp.where(small, x, 0.0)  # keeps the unused branch finite
  a_s = jnp.where(small, a2, 0.0)
  series = t - 0.5 * a_s * (t * t * _s(0.5 * xs) - _s(0.5 * a_s))
  direct = rho_inf - 2 * t / jnp.expm1(jnp.where(small, 1.0, x))
  return jnp.where(small, series, direct)


def step_scalars(t: jax.Array, b1: Any, b2: Any, dtype: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
  r"""(1 - b1^t, rho_t, r_t sqrt(1 - b2^t)) for the 1-based update t, in `dtype`, without cancellation.

  .. math::
    1 - \beta_1^t, \qquad
    \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t}, \qquad
    r_t \sqrt{1 - \beta_2^t}, \quad
    r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

  with :math:`\beta_1` = ``b1``, :math:`\beta_2` = ``b2`` and :math:`\rho_\infty = 2 / (1 - \beta_2) - 1`.
  Powers go through ``expm1``/``log1p`` and :math:`\rho_t` through a series where the closed form
  cancels. Constants of number-valued betas are computed on the host in double; :math:`r_t` means
  something only where :math:`\rho_t > 4` (it is never used elsewhere, since threshold >= 4).

  Args:
    t: the 1-based update number, an int or an integer array (possibly traced).
    b1: :math:`\beta_1`, a number or a scalar array, in [0, 1) (not checked here;
      `scale_by_radam` checks it).
    b2: :math:`\beta_2`, likewise.
    dtype: the floating dtype of the results.

  Returns:
    A tuple of three arrays in ``dtype``: :math:`1 - \beta_1^t`, :math:`\rho_t` and
    :math:`r_t \sqrt{1 - \beta_2^t}`.

  Example:
    >>> import jax.numpy as jnp
    >>> from optim_jax._radam import step_scalars
    >>> bc1, rho, coef = step_scalars(jnp.array(10), 0.9, 0.999, jnp.float32)
    >>> round(float(bc1), 6), round(float(rho), 4), round(float(coef), 6)
    (0.651322, 9.9835, 0.004889)
  """
  t = jnp.asarray(t).astype(dtype)
  a1 = _neg_log(b1, dtype)
  a2 = _neg_log(b2, dtype)
  rho_inf = _static_or(b2, dtype, lambda b: 2 / (1 - b) - 1, lambda b: 2 / (1 - b) - 1)
  k = _static_or(b2, dtype, _k_host, lambda b: _k(2 / (1 - b) - 1))
  bc1 = -jnp.expm1(-t * a1)
  bc2 = -jnp.expm1(-t * a2)
  rho = _rho(t, a2, rho_inf)
  ratio = jnp.maximum((rho - 4) * (rho - 2) / rho * k, 0.0)
  return bc1, rho, jnp.sqrt(ratio) * jnp.sqrt(bc2)


def _torch_rho(t: float, b2: float) -> float:
  """rho_t as torch.optim.RAdam computes it, in Python double."""
  rho_inf = 2 / (1 - b2) - 1
  return rho_inf - 2 * t * (b2**t) / (1 - b2**t)


_INT32_MAX = 2**31 - 1


#: Steps of Paddle's recursion simulated on the host; later steps are decided by the closed form.
_RECURSION_STEPS = 10**6


def _closed_form_first(b2: float, threshold: float, start: int = 0) -> int | None:
  """First t > start with PyTorch's double rho_t > threshold (rho_t increases with t), or None."""
  if not 2 / (1 - b2) - 1 > threshold:
    return None
  lo, hi = start, start + 1  # predicate false at lo (or lo == start, unchecked), true at hi
  while not _torch_rho(float(hi), b2) > threshold:
    if hi >= _INT32_MAX:
      return None  # beyond the int32 count: never rectified
    lo, hi = hi, min(start + 2 * (hi - start), _INT32_MAX)
  while hi - lo > 1:
    mid = (lo + hi) // 2
    if _torch_rho(float(mid), b2) > threshold:
      hi = mid
    else:
      lo = mid
  return hi


@functools.lru_cache(maxsize=256)
def _first_rectified_step(b2: float, threshold: float, rule: str, dtype: str) -> int | None:
  """First update t (1-based) with rho_t > threshold, decided the framework's way, or None.

  rho_t increases with t, so the rectified steps are exactly t >= this value. "closed_form" is
  PyTorch's Python double formula; "recursion" is Paddle's kernel recursion in `dtype`
  (rho = (rho (b2 - b2^t) + b2^t) / (1 - b2^t), rho_t = rho_inf - 2 rho), evaluated with NumPy
  scalars so no fused multiply-add or reciprocal rewrite changes the tie. The recursion is a
  sequence of roundings with no shortcut, so it is simulated for the first 10**6 steps (about a
  second); a later first step (b2 within about 1e-5 of 1 and a threshold near rho_inf / 2 or above)
  is decided by the closed form in double on the same rounded b2 and threshold, the value the
  recursion approximates. Paddle's float32 recursion has drifted from it by then: for
  b2 = 0.999999 and threshold 1e6 it first rectifies at step 1,265,435, the closed form at
  1,261,849. A first step beyond 2**31 - 1 (the int32 count) is None: never rectified.
  """
  if rule == "closed_form":
    return _closed_form_first(b2, threshold)
  dt = np.dtype(dtype).type
  one, two, beta2, thr = dt(1), dt(2), dt(b2), dt(threshold)
  if beta2 == one:  # b2 rounds to 1 in this precision, where the recursion divides by zero
    return _closed_form_first(b2, threshold)
  rho_inf = two / (one - beta2) - one
  if not rho_inf > thr:
    return None
  power, rho = one, one
  for t in range(1, _RECURSION_STEPS + 1):
    power = power * beta2
    rho = (rho * (beta2 - power) + power) / (one - power)
    if rho_inf - two * rho > thr:
      return t
  return _closed_form_first(float(beta2), float(thr), start=_RECURSION_STEPS)


def scale_by_radam(
  b1: Any = 0.9,
  b2: Any = 0.999,
  eps: Any = 1e-8,
  threshold: Any = 5.0,
  *,
  rho_rule: RhoRule = "closed_form",
  state_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""Rescales updates by RAdam's rectified direction, as PyTorch and Paddle compute it.

  .. math::
    m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,
    \qquad \hat m_t = m_t / (1 - \beta_1^t) \\
    \rho_\infty &= \frac{2}{1-\beta_2} - 1, \qquad
    \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t} \\
    u_t &= \begin{cases}
      \hat m_t \, r_t \, \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v_t} + \epsilon} & \rho_t > \text{threshold} \\
      \hat m_t & \text{otherwise}
    \end{cases}, \qquad
    r_t = \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}}

  :math:`\epsilon` is added to the square root of the *uncorrected* :math:`v_t` and the test is
  strict. ``optax.scale_by_radam`` differs on both counts (it uses
  :math:`\sqrt{\hat v_t} + \epsilon` and :math:`\rho_t \ge` threshold), so it is not reused.

  The per-step scalars (:math:`1-\beta^t`, :math:`\rho_t`, :math:`r_t`) depend only on the count and
  the betas. PyTorch computes them in double precision; here they are computed without
  cancellation (``expm1``/``log1p`` and a series for :math:`\rho_t`), so float32 parameters get
  them to about 2e-7 relative, where the textbook float32 formula is off by up to 1e-3 at the
  first rectified step. Whether step t is rectified is decided on the host, the framework's way,
  when ``b2`` and ``threshold`` are numbers: ``rho_rule="closed_form"`` uses PyTorch's double
  formula, ``"recursion"`` Paddle's recursion in the parameter's precision (float32 for half
  types; simulated for 10**6 steps, the closed form decides a later first step). The two differ
  only at an exact tie: with :math:`\beta_2 = 0.8397685748659791`,
  :math:`\rho_6 = 5` and PyTorch does not rectify step 6, nor does Paddle with float32
  parameters, but Paddle with float64 parameters does. With traced ``b2``/``threshold``
  (``optax.inject_hyperparams``) the test runs in the graph on the accurate :math:`\rho_t`.

  Args:
    b1: decay of the first moment, in [0, 1).
    b2: decay of the second moment, in [0, 1).
    eps: added to :math:`\sqrt{v_t}`, finite and >= 0.
    threshold: rectify only when :math:`\rho_t` exceeds it (both frameworks use 5), >= 4 so the
      rectifier is real.
    rho_rule: ``"closed_form"`` (PyTorch) or ``"recursion"`` (Paddle), see above.
    state_dtype: dtype of the moments; the parameter's dtype when None.

  Returns:
    An ``optax.GradientTransformation``. No learning rate: chain a learning-rate scaling after it.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.scale_by_radam()
    >>> u, _ = tx.update(jnp.array([3.0]), tx.init(jnp.zeros(1)))
    >>> round(float(u[0]), 6)  # rho_1 = 1: not rectified, the bias-corrected momentum
    3.0

  References:
    Liu et al., On the Variance of the Adaptive Learning Rate and Beyond, ICLR 2020;
    ``torch.optim.RAdam`` (torch 2.13); ``paddle.optimizer.RAdam`` (Paddle 3.3).
  """
  _validation.hyperparameter("b1", b1, lo=0.0, hi=1.0, hi_open=True)
  _validation.hyperparameter("b2", b2, lo=0.0, hi=1.0, hi_open=True)
  _validation.hyperparameter("eps", eps, lo=0.0)
  _validation.finite("eps", eps, float32=True)
  _validation.hyperparameter("threshold", threshold, lo=4.0)
  _validation.one_of("rho_rule", rho_rule, ("closed_form", "recursion"))
  state_dtype = _validation.float_dtype("state_dtype", state_dtype)
  static_decision = _validation.is_static_number(b2) and _validation.is_static_number(threshold)

  def init_fn(params):
    return ScaleByRadamState(
      count=_base.count_state_init(),
      mu=jax.tree.map(lambda p: _base.like(p, state_dtype), params),
      nu=jax.tree.map(lambda p: _base.like(p, state_dtype), params),
    )

  @functools.cache
  def _first(dtype: str) -> int | None:
    return _first_rectified_step(float(b2), float(threshold), rho_rule, dtype)

  def scalars(count: jax.Array, cd: Any):
    """(1 - b1^t, rectify?, r_t sqrt(1 - b2^t)) for update t = count + 1, in `cd`."""
    # t = count + 1 in the float dtype: count saturates at int32's maximum, where count + 1 would wrap
    bc1, rho, coef = step_scalars(count.astype(cd) + 1, b1, b2, cd)
    if static_decision:
      first = _first(np.dtype(cd).name)
      rectify = jnp.asarray(False) if first is None else count >= first - 1
    else:
      rectify = rho > _base.hyper(threshold, cd)
    return bc1, rectify, coef

  def update_fn(updates, state, params=None):
    del params
    memo: dict[Any, Any] = {}

    def one(g, m, v):
      cd = _base.compute_dtype(g.dtype)
      if cd not in memo:  # once per step, not copied into every leaf's loop (see _base.once)
        memo[cd] = _base.once(lambda c, cd=cd: scalars(c, cd), state.count)
      bc1, rectify, coef = memo[cd]
      beta1 = _base.hyper(b1, cd)
      beta2 = _base.hyper(b2, cd)
      one_m_b1 = _static_or(b1, cd, lambda b: 1 - b, lambda b: 1 - b)
      one_m_b2 = _static_or(b2, cd, lambda b: 1 - b, lambda b: 1 - b)
      gc = g.astype(cd)
      m_new = beta1 * m.astype(cd) + one_m_b1 * gc
      v_new = beta2 * v.astype(cd) + one_m_b2 * gc * gc
      m_hat = m_new / bc1
      adaptive = m_hat * coef / (jnp.sqrt(v_new) + _base.hyper(eps, cd))
      out = jnp.where(rectify, adaptive, m_hat)
      return out.astype(g.dtype), m_new.astype(m.dtype), v_new.astype(v.dtype)

    res = jax.tree.map(one, updates, state.mu, state.nu)
    out, mu, nu = _tree.unzip(res, updates, 3)
    return out, ScaleByRadamState(count=optax.safe_increment(state.count), mu=mu, nu=nu)

  return optax.GradientTransformation(init_fn, update_fn)


def _k(rho_inf):
  """rho_inf / ((rho_inf - 4)(rho_inf - 2)), the constant part of the rectifier."""
  return rho_inf / ((rho_inf - 4) * (rho_inf - 2))


def _k_host(b2: float) -> float:
  """`_k` in double; 0 where rho_inf <= 4 (never rectified, since threshold >= 4)."""
  rho_inf = 2 / (1 - b2) - 1
  return _k(rho_inf) if rho_inf > 4 else 0.0
