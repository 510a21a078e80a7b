"""RMS scaling with epsilon inside (Paddle, Keras) or outside (PyTorch) the square root."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim_jax import _base


class ScaleByRmsPaddleState(NamedTuple):
  """State of `scale_by_rms_paddle`."""

  ms: optax.Updates
  mg: optax.Updates | None  # None unless centered


class ScaleByRmsTorchState(NamedTuple):
  """State of `scale_by_rms_torch`."""

  square_avg: optax.Updates
  grad_avg: optax.Updates | None  # None unless centered


def _init(params: optax.Params, centered: bool, state_dtype: Any):
  first = jax.tree.map(lambda p: _base.like(p, state_dtype), params)
  second = jax.tree.map(lambda p: _base.like(p, state_dtype), params) if centered else None
  return first, second


def _rms_update(updates, sq, avg, decay, eps, centered, eps_in_sqrt):
  """One pass over the leaves: new second moment, new first moment, scaled direction."""

  def one(g, s, a):
    cd = _base.compute_dtype(g.dtype)
    d = _base.hyper(decay, cd)
    e = _base.hyper(eps, cd)
    gc = g.astype(cd)
    s_new = d * s.astype(cd) + (1 - d) * gc * gc
    if centered:
      a_new = d * a.astype(cd) + (1 - d) * gc
      var = s_new - a_new * a_new
    else:
      a_new, var = None, s_new
    denom = jnp.sqrt(var + e) if eps_in_sqrt else jnp.sqrt(var) + e
    out = (gc / denom).astype(g.dtype)
    return out, s_new.astype(s.dtype), (a_new.astype(a.dtype) if centered else None)

  avg_tree = avg if centered else jax.tree.map(lambda _: None, updates)
  res = jax.tree.map(one, updates, sq, avg_tree)
  out, sq_new, avg_new = _base.unzip(res, updates, 3)
  return out, sq_new, (avg_new if centered else None)


def scale_by_rms_paddle(
  rho: float = 0.95,
  epsilon: float = 1e-6,
  centered: bool = False,
  *,
  state_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""Rescales updates by the root mean square, epsilon inside the square root (Paddle, Keras).

  .. math::
    ms_t = \rho\, ms_{t-1} + (1 - \rho)\, g_t^2, \qquad
    u_t = g_t / \sqrt{ms_t + \epsilon}

  and, if ``centered``, :math:`mg_t = \rho\, mg_{t-1} + (1-\rho) g_t` and
  :math:`u_t = g_t / \sqrt{ms_t - mg_t^2 + \epsilon}`. No learning rate, no momentum.

  Args:
    rho: decay of the moving averages (``rho`` in Paddle and Keras), in [0, 1].
    epsilon: added to the mean square *inside* the square root, >= 0.
    centered: also track the mean gradient and divide by the estimated standard deviation.
    state_dtype: dtype of the moving averages; the parameter's dtype when None.

  Returns:
    An ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.scale_by_rms_paddle(rho=0.9)
    >>> u, _ = tx.update(jnp.array([3.0]), tx.init(jnp.zeros(1)))
    >>> round(float(u[0]), 4)
    3.1623

  References:
    Tieleman and Hinton, Lecture 6.5 - rmsprop, COURSERA 2012;
    ``paddle.optimizer.RMSProp``; ``tf_keras.optimizers.RMSprop``.
  """
  _base.check_range("rho", rho, lo=0.0, hi=1.0)
  _base.check_range("epsilon", epsilon, lo=0.0)

  def init_fn(params):
    ms, mg = _init(params, centered, state_dtype)
    return ScaleByRmsPaddleState(ms=ms, mg=mg)

  def update_fn(updates, state, params=None):
    del params
    out, ms, mg = _rms_update(updates, state.ms, state.mg, rho, epsilon, centered, True)
    return out, ScaleByRmsPaddleState(ms=ms, mg=mg)

  return optax.GradientTransformation(init_fn, update_fn)


def scale_by_rms_torch(
  alpha: float = 0.99,
  eps: float = 1e-8,
  centered: bool = False,
  *,
  state_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""Rescales updates by the root mean square, epsilon outside the square root (PyTorch).

  .. math::
    sq_t = \alpha\, sq_{t-1} + (1 - \alpha)\, g_t^2, \qquad
    u_t = g_t / (\sqrt{sq_t} + \epsilon)

  and, if ``centered``, :math:`ga_t = \alpha\, ga_{t-1} + (1-\alpha) g_t` and
  :math:`u_t = g_t / (\sqrt{sq_t - ga_t^2} + \epsilon)`. No learning rate, no momentum.

  Args:
    alpha: smoothing constant of ``torch.optim.RMSprop``, in [0, 1].
    eps: added to the root mean square *outside* the square root, >= 0.
    centered: also track the mean gradient and divide by the estimated standard deviation.
    state_dtype: dtype of the moving averages; the parameter's dtype when None.

  Returns:
    An ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.scale_by_rms_torch(alpha=0.99, eps=0.0)
    >>> u, _ = tx.update(jnp.array([3.0]), tx.init(jnp.zeros(1)))
    >>> round(float(u[0]), 4)
    10.0

  References:
    ``torch.optim.RMSprop`` (torch 2.13).
  """
  _base.check_range("alpha", alpha, lo=0.0, hi=1.0)
  _base.check_range("eps", eps, lo=0.0)

  def init_fn(params):
    sq, ga = _init(params, centered, state_dtype)
    return ScaleByRmsTorchState(square_avg=sq, grad_avg=ga)

  def update_fn(updates, state, params=None):
    del params
    out, sq, ga = _rms_update(updates, state.square_avg, state.grad_avg, alpha, eps, centered, False)
    return out, ScaleByRmsTorchState(square_avg=sq, grad_avg=ga)

  return optax.GradientTransformation(init_fn, update_fn)
