"""PyTorch optimizers (``torch.optim``) and gradient clipping as optax chains, with PyTorch's names.

PyTorch's ``step()`` negates the gradient for ``maximize``, adds coupled weight decay, and applies
the learning rate *after* the momentum buffer, so a scheduled lr rescales the whole buffer (optax's
rmsprop puts lr inside it). ``clip_grad_norm`` and ``clip_grad_value`` go before the optimizer in a
chain, as PyTorch users call them before ``step()``.
"""

from __future__ import annotations

from typing import Any

import optax

from optim_jax import _base, _validation
from optim_jax._clipping import clip_by_global_norm as _clip_by_global_norm
from optim_jax._clipping import clip_by_value as _clip_by_value
from optim_jax._learning_rate import scale_by_learning_rate as _scale_by_learning_rate
from optim_jax._momentum import trace as _trace
from optim_jax._rms import scale_by_rms_torch as _scale_by_rms_torch
from optim_jax._weight_decay import add_l2_decay as _add_l2_decay


def _check(name: str, label: str, value: Any, hi: float | None = None) -> None:
  if _base.is_static_number(value) and (value < 0 or (hi is not None and value > hi)):
    rng = ">= 0" if hi is None else f"in [0, {hi:g}]"
    raise ValueError(f"Invalid {label}: {value} ({name}); expected {name} {rng}.")


def _prologue(maximize: bool, weight_decay: Any) -> list[optax.GradientTransformation]:
  chain = [optax.scale(-1.0)] if maximize else []
  if not _base.is_static_zero(weight_decay):
    chain.append(_add_l2_decay(weight_decay))
  return chain


def rmsprop(
  lr: Any = 0.01,
  alpha: Any = 0.99,
  eps: Any = 1e-8,
  weight_decay: Any = 0,
  momentum: Any = 0,
  centered: bool = False,
  maximize: bool = False,
) -> optax.GradientTransformation:
  r"""``torch.optim.RMSprop``.

  .. math::
    g &\leftarrow \pm g + \lambda p, \qquad
    sq \leftarrow \alpha\, sq + (1-\alpha) g^2 \\
    b &\leftarrow \mu b + g / (\sqrt{sq} + \epsilon)
        \quad(\sqrt{sq - ga^2} + \epsilon\ \text{if centered}), \qquad
    p \leftarrow p - \eta_t\, b

  Framework parity (golden tests: torch 2.13.0+cpu):

  ==========================  ===============================================================
  PyTorch                      optim_jax
  ==========================  ===============================================================
  eps placement                outside the sqrt (as PyTorch; optax.rmsprop needs eps_in_sqrt=False)
  lr and momentum              lr after the buffer: p -= lr * buf (as PyTorch; optax.rmsprop puts
                               lr inside, which differs with a schedule)
  order                        maximize -> weight decay (coupled) -> rms -> momentum -> lr
  state                        square_avg; grad_avg if centered; momentum buffer if momentum != 0
                               (as PyTorch); no ``step`` counter unless lr is a schedule
  alpha > 1                    ValueError (PyTorch accepts it)
  ``foreach``, ``capturable``,  not arguments: XLA fuses the update
  ``differentiable``
  ==========================  ===============================================================
  """
  _check("lr", "learning rate", lr)
  _validation.learning_rate("lr", lr)
  _check("eps", "epsilon value", eps)
  _check("momentum", "momentum value", momentum)
  _check("weight_decay", "weight_decay value", weight_decay)
  _check("alpha", "alpha value", alpha, hi=1.0)
  chain = _prologue(maximize, weight_decay)
  chain.append(_scale_by_rms_torch(alpha, eps, centered))
  if not _base.is_static_zero(momentum):
    chain.append(_trace(momentum))
  chain.append(_scale_by_learning_rate(lr))
  return optax.chain(*chain)


def clip_grad_norm(
  max_norm: Any, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> optax.GradientTransformation:
  r"""``torch.nn.utils.clip_grad_norm_``: :math:`g \leftarrow g \cdot \min(c / (n + 10^{-6}), 1)`.

  :math:`n` is the global ``norm_type``-norm over all leaves (``inf``: max abs). Because of the
  1e-6 the clipped norm is slightly below ``max_norm``, as in PyTorch. An inf norm zeroes the finite
  entries (inf entries become NaN), a NaN norm gives NaN; ``error_if_nonfinite=True`` raises
  RuntimeError instead (under jit, from a host callback). PyTorch accepts a negative ``max_norm``
  (it flips the gradients' sign); here it is a ValueError.
  """
  _base.check_range("max_norm", max_norm, lo=0.0)
  return _clip_by_global_norm(max_norm, norm_type=norm_type, eps=1e-6, error_if_nonfinite=error_if_nonfinite)


def clip_grad_value(clip_value: Any) -> optax.GradientTransformation:
  """``torch.nn.utils.clip_grad_value_``: clamp to [-clip_value, clip_value]; NaN is kept.

  PyTorch accepts a negative ``clip_value`` (every element becomes that value); here it is a
  ValueError.
  """
  _base.check_range("clip_value", clip_value, lo=0.0)
  return _clip_by_value(-clip_value, clip_value)
