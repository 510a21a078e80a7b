"""RMS scaling with epsilon inside (Paddle, Keras) or outside (PyTorch) the square root."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim_jax import _base, _tree, _validation


class ScaleByRmsPaddleState(NamedTuple):
  """State of `scale_by_rms_paddle`."""

  ms: optax.Updates
  mg: optax.Updates | None  # None unless centered


class ScaleByRmsTorchState(NamedTuple):
  """State of `scale_by_rms_torch`."""

  square_avg: optax.Updates
  grad_avg: optax.Updates | None  # None unless centered


def _scale_by_rms(state_cls, decay_arg, eps_arg, centered, state_dtype, eps_in_sqrt):
  """The RMS transformation of both frameworks; ``state_cls`` holds (second moment, first moment)."""
  (decay_name, decay), (eps_name, eps) = decay_arg, eps_arg
  _validation.hyperparameter(decay_name, decay, lo=0.0, hi=1.0)
  _validation.hyperparameter(eps_name, eps, lo=0.0)
  _validation.finite(eps_name, eps, float32=True)
  _validation.flag("centered", centered)
  state_dtype = _validation.float_dtype("state_dtype", state_dtype)

  def init_fn(params):
    second = jax.tree.map(lambda p: _base.like(p, state_dtype), params)
    first = jax.tree.map(lambda p: _base.like(p, state_dtype), params) if centered else None
    return state_cls(second, first)

  def update_fn(updates, state, params=None):
    del params
    return _rms_update(updates, *state, decay, eps, centered, eps_in_sqrt, state_cls)

  return optax.GradientTransformation(init_fn, update_fn)


def _rms_update(updates, sq, avg, decay, eps, centered, eps_in_sqrt, state_cls):
  """One pass over the leaves: the scaled direction and the new state (second, first moment)."""

  def one(g, s, a):
    cd = _base.compute_dtype(g.dtype)
    d = _base.hyper(decay, cd)
    e = _base.hyper(eps, cd)
    gc = g.astype(cd)
    s_new = d * s.astype(cd) + (1 - d) * gc * gc
    if centered:
      a_new = d * a.astype(cd) + (1 - d) * gc
      # ms - mg^2 can round below zero (a constant gradient for many steps); PyTorch and Paddle then
      # take the sqrt of a negative number and are NaN for ever after. Clamped here: the same
      # value wherever theirs is finite.
      var = jnp.maximum(s_new - a_new * a_new, jnp.zeros([], cd))
    else:
      a_new, var = None, s_new
    denom = jnp.sqrt(var + e) if eps_in_sqrt else jnp.sqrt(var) + e
    out = (gc / denom).astype(g.dtype)
    return out, s_new.astype(s.dtype), (a_new.astype(a.dtype) if centered else None)

  avg_tree = avg if centered else jax.tree.map(lambda _: None, updates)
  res = jax.tree.map(one, updates, sq, avg_tree)
  out, sq_new, avg_new = _tree.unzip(res, updates, 3)
  return out, state_cls(sq_new, avg_new if centered else None)


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
    epsilon: added to the mean square *inside* the square root, finite and >= 0.
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
  return _scale_by_rms(ScaleByRmsPaddleState, ("rho", rho), ("epsilon", epsilon), centered, state_dtype, True)


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
    eps: added to the root mean square *outside* the square root, finite and >= 0.
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
  return _scale_by_rms(ScaleByRmsTorchState, ("alpha", alpha), ("eps", eps), centered, state_dtype, False)
