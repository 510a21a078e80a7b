"""Gradient clipping: by value, by per-leaf norm and by global p-norm, with the frameworks' edge cases."""

from __future__ import annotations

import math
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _base, _tree, _validation

NonFinite = Literal["scale", "nan", "skip_nan"]


def clip_by_value(min_value: Any, max_value: Any, *, mask: Any = None) -> optax.GradientTransformation:
  r"""Clips every element to ``[min_value, max_value]`` (bounds may be asymmetric).

  Computed as :math:`\min(\max(g, \text{min}), \text{max})`, so NaN is kept, ±inf becomes a bound,
  and with ``min_value > max_value`` every element becomes ``max_value`` (PyTorch's
  ``clip_grad_value_`` with a negative value). Presets validate the bounds the way their framework
  does; this primitive accepts any pair.

  Args:
    min_value: lower bound.
    max_value: upper bound.
    mask: optional optax mask: only the selected leaves are clipped.
  """
  _validation.hyperparameter("min_value", min_value)
  _validation.hyperparameter("max_value", max_value)

  def clip(updates):
    def one(g):
      return jnp.minimum(jnp.maximum(g, _base.hyper(min_value, g.dtype)), _base.hyper(max_value, g.dtype))

    return jax.tree.map(one, updates)

  return _tree.maybe_mask(optax.stateless(lambda updates, params: clip(updates)), mask)


def _leaf_norm_sq(g: jax.Array, dtype) -> jax.Array:
  gc = g.astype(dtype)
  return jnp.sum(gc * gc)


def clip_by_norm(max_norm: Any, *, mask: Any = None) -> optax.GradientTransformation:
  r"""Clips each leaf to a maximum L2 norm: :math:`g \cdot c / \max(\lVert g \rVert_2, c)`.

  This is Paddle's ``ClipGradByNorm`` and Keras's ``clipnorm`` (``tf.clip_by_norm``), which act
  per tensor. optax has no per-leaf norm clip: ``optax.clip_by_block_rms`` clips the RMS
  :math:`\lVert g\rVert/\sqrt{n}`, not the norm. A leaf whose norm is inf gets 0 in its finite
  entries and NaN in its infinite ones; a NaN norm gives NaN.

  Args:
    max_norm: the largest allowed L2 norm of each leaf, > 0.
    mask: optional optax mask: only the selected leaves are clipped.
  """
  _validation.hyperparameter("max_norm", max_norm, lo=0.0, lo_open=True)

  def clip(updates):
    def one(g):
      cd = _base.compute_dtype(g.dtype)
      c = _base.hyper(max_norm, cd)
      norm = jnp.sqrt(_leaf_norm_sq(g, cd))
      return (g.astype(cd) * (c / jnp.maximum(norm, c))).astype(g.dtype)

    return jax.tree.map(one, updates)

  return _tree.maybe_mask(optax.stateless(lambda updates, params: clip(updates)), mask)


def global_norm(updates: Any, norm_type: float = 2.0) -> jax.Array:
  """The p-norm of all leaves together, accumulated in float32 (float64 if any leaf is float64)."""
  leaves = [g for g in jax.tree.leaves(updates)]
  acc = jnp.float64 if any(g.dtype == jnp.float64 for g in leaves) else jnp.float32
  if not leaves:
    return jnp.zeros([], acc)
  if math.isinf(norm_type):
    return jnp.max(jnp.stack([jnp.max(jnp.abs(g.astype(acc)), initial=0.0) for g in leaves]))
  if norm_type == 2.0:
    return jnp.sqrt(sum(_leaf_norm_sq(g, acc) for g in leaves))
  p = float(norm_type)
  total = sum(jnp.sum(jnp.abs(g.astype(acc)) ** p) for g in leaves)
  return total if p == 1.0 else total ** (1.0 / p)


def _raise_nonfinite(norm, norm_type):
  if not np.isfinite(norm):
    raise RuntimeError(
      f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
      "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
      "anyway, set `error_if_nonfinite=False`"
    )


def clip_by_global_norm(
  max_norm: Any,
  *,
  norm_type: float = 2.0,
  eps: Any = 0.0,
  error_if_nonfinite: bool = False,
  nonfinite: NonFinite = "scale",
  mask: Any = None,
) -> optax.GradientTransformation:
  r"""Clips all leaves together to a maximum global p-norm.

  .. math::
    n = \Big(\sum_{\text{leaves}} \sum |g|^p\Big)^{1/p}, \qquad
    g \leftarrow g \cdot \frac{c}{\max(n + \epsilon,\ c)}

  With ``eps=0`` this is Paddle's ``ClipGradByGlobalNorm`` (always multiplied, also when
  :math:`n \le c`); ``eps=1e-6`` gives PyTorch's ``clip_grad_norm_`` coefficient
  :math:`\min(c / (n + 10^{-6}), 1)` exactly. ``norm_type=inf`` uses :math:`\max|g|`.

  Non-finite norms (``nonfinite``):
    * ``"scale"`` (Paddle, PyTorch, optax): multiply anyway; an inf norm zeroes the finite entries
      and makes infinite ones NaN, a NaN norm makes everything NaN.
    * ``"nan"`` (TensorFlow, Keras ``global_clipnorm``): any non-finite norm makes every gradient NaN.
    * ``"skip_nan"`` (Paddle ``auto_skip_clip=True``): clip only when :math:`n > c`, so a NaN norm
      leaves the gradients unchanged.

  Args:
    max_norm: the largest allowed global norm (not validated: PyTorch and Paddle accept any value,
      and a negative one flips the sign of the gradients; presets validate).
    norm_type: p > 0, or ``float('inf')``.
    eps: added to the norm in the coefficient.
    error_if_nonfinite: raise ``RuntimeError`` on a non-finite norm (PyTorch). Under ``jax.jit``
      the error is raised from a host callback and reaches the caller as a ``JaxRuntimeError``.
    nonfinite: what a non-finite norm does, see above.
    mask: optional optax mask: only the selected leaves are clipped *and* counted in the norm
      (Paddle's ``need_clip=False``).
  """
  _validation.hyperparameter("max_norm", max_norm)
  _validation.hyperparameter("eps", eps, lo=0.0)
  if not _validation.is_real(norm_type):
    raise TypeError(f"norm_type should be a float > 0 or inf, got {type(norm_type).__name__} {norm_type!r}")
  norm_type = float(norm_type)
  _validation.check(norm_type > 0, "norm_type", norm_type, "a float > 0 or inf")
  _validation.flag("error_if_nonfinite", error_if_nonfinite)
  _validation.one_of("nonfinite", nonfinite, ("scale", "nan", "skip_nan"))

  def clip(updates):
    n = global_norm(updates, norm_type)
    if error_if_nonfinite:
      if isinstance(n, jax.core.Tracer):
        jax.debug.callback(_raise_nonfinite, n, norm_type)
      else:
        _raise_nonfinite(np.asarray(n), norm_type)
    c = _base.hyper(max_norm, n.dtype)
    if nonfinite == "skip_nan":
      coef = jnp.where(n > c, c / n, jnp.ones_like(n))
    else:
      coef = c / jnp.maximum(n + _base.hyper(eps, n.dtype), c)
      if nonfinite == "nan":
        coef = jnp.where(jnp.isfinite(n), coef, jnp.full_like(n, jnp.nan))

    def one(g):
      cd = _base.compute_dtype(g.dtype)
      return (g.astype(cd) * coef.astype(cd)).astype(g.dtype)

    return jax.tree.map(one, updates)

  return _tree.maybe_mask(optax.stateless(lambda updates, params: clip(updates)), mask)
