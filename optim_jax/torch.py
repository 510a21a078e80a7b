"""PyTorch optimizers (``torch.optim``) and gradient clipping as optax chains, with PyTorch's names.

PyTorch's ``step()`` negates the gradient for ``maximize``, adds coupled weight decay, and applies
the learning rate *after* the momentum buffer, so a scheduled lr rescales the whole buffer (optax's
rmsprop puts lr inside it). ``clip_grad_norm`` and ``clip_grad_value`` go before the optimizer in a
chain, as PyTorch users call them before ``step()``.
"""

from __future__ import annotations

from typing import Any

import optax

from optim_jax import _validation
from optim_jax._averaging import averaged_sgd as _averaged_sgd
from optim_jax._clipping import clip_by_global_norm as _clip_by_global_norm
from optim_jax._clipping import clip_by_value as _clip_by_value
from optim_jax._learning_rate import scale_by_learning_rate as _scale_by_learning_rate
from optim_jax._momentum import trace as _trace
from optim_jax._radam import scale_by_radam as _scale_by_radam
from optim_jax._rms import scale_by_rms_torch as _scale_by_rms_torch
from optim_jax._weight_decay import add_l2_decay as _add_l2_decay
from optim_jax._weight_decay import decoupled_weight_decay as _decoupled_weight_decay


def _check(schedules: tuple[str, ...] = (), **values: Any) -> None:
  """PyTorch's ValueError for each value < 0 ("Invalid learning rate: -1"); alpha also <= 1."""
  for name, value in values.items():
    hi = 1.0 if name == "alpha" else None
    _validation.hyperparameter(
      name,
      value,
      schedule=name in schedules,
      lo=0.0,
      hi=hi,
      style="torch",
      label=_validation.TORCH_LABELS[name],
    )


def _prologue(maximize: bool, weight_decay: Any) -> list[optax.GradientTransformation]:
  chain = [optax.scale(-1.0)] if maximize else []
  if not _validation.is_static_zero(weight_decay):
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
  _validation.learning_rate("lr", lr, style="torch", label="learning rate")
  _check(("weight_decay",), eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
  _validation.flag("centered", centered)
  _validation.flag("maximize", maximize)
  chain = _prologue(maximize, weight_decay)
  chain.append(_scale_by_rms_torch(alpha, eps, centered))
  if not _validation.is_static_zero(momentum):
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
  _validation.hyperparameter("max_norm", max_norm, lo=0.0)
  return _clip_by_global_norm(max_norm, norm_type=norm_type, eps=1e-6, error_if_nonfinite=error_if_nonfinite)


def clip_grad_value(clip_value: Any) -> optax.GradientTransformation:
  """``torch.nn.utils.clip_grad_value_``: clamp to [-clip_value, clip_value]; NaN is kept.

  PyTorch accepts a negative ``clip_value`` (every element becomes that value); here it is a
  ValueError.
  """
  _validation.hyperparameter("clip_value", clip_value, lo=0.0)
  return _clip_by_value(-clip_value, clip_value)


def radam(
  lr: Any = 0.001,
  betas: tuple[Any, Any] = (0.9, 0.999),
  eps: Any = 1e-8,
  weight_decay: Any = 0,
  decoupled_weight_decay: bool = False,
  maximize: bool = False,
) -> optax.GradientTransformation:
  r"""``torch.optim.RAdam``.

  .. math::
    g &\leftarrow \pm g\ (+\ \lambda p \text{ if coupled}), \qquad
    m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
    p &\leftarrow p\,(1 - \eta_t \lambda)\ [\text{decoupled}]
        - \eta_t\, \frac{m}{1-\beta_1^t}
        \begin{cases} r_t \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v} + \epsilon} & \rho_t > 5 \\
        1 & \text{otherwise} \end{cases}

  with :math:`\rho_t` and :math:`r_t` as in :func:`optim_jax.scale_by_radam`.

  Framework parity (golden tests: torch 2.13.0+cpu):

  ==========================  ===============================================================
  PyTorch                      optim_jax
  ==========================  ===============================================================
  eps placement                sqrt(v) + eps, v uncorrected (as PyTorch; not optax.radam)
  rectification                strictly rho_t > 5, decided with PyTorch's double formula, so
                               the tie at beta2 = 0.8397685748659791 goes PyTorch's way
  per-step scalars             computed without cancellation in the parameter's precision
                               (PyTorch: Python double), about 2e-7 relative in float32
  order                        maximize -> coupled weight decay -> RAdam -> lr; decoupled:
                               p(1 - lr*wd) added after the step (the same update)
  state                        count (one int32) and two moments (as PyTorch)
  ``foreach``, ``capturable``,  not arguments: XLA fuses the update
  ``differentiable``
  ==========================  ===============================================================
  """
  _validation.learning_rate("lr", lr, style="torch", label="learning rate")
  _check(("weight_decay",), eps=eps, weight_decay=weight_decay)
  if not isinstance(betas, (tuple, list)) or len(betas) != 2:
    raise TypeError(f"betas should be a pair (beta1, beta2), got {betas!r}")
  for i, beta in enumerate(betas):
    _validation.hyperparameter(
      f"betas[{i}]", beta, lo=0.0, hi=1.0, hi_open=True, style="torch", label=f"beta parameter at index {i}"
    )
  _validation.flag("decoupled_weight_decay", decoupled_weight_decay)
  _validation.flag("maximize", maximize)
  chain = _prologue(maximize, 0 if decoupled_weight_decay else weight_decay)
  chain.append(_scale_by_radam(betas[0], betas[1], eps, rho_rule="closed_form"))
  chain.append(_scale_by_learning_rate(lr))
  if decoupled_weight_decay and not _validation.is_static_zero(weight_decay):
    chain.append(_decoupled_weight_decay(weight_decay, lr))
  return optax.chain(*chain)


def asgd(
  lr: Any = 0.01,
  lambd: Any = 1e-4,
  alpha: Any = 0.75,
  t0: Any = 1e6,
  weight_decay: Any = 0,
  maximize: bool = False,
) -> optax.GradientTransformation:
  r"""``torch.optim.ASGD``: averaged SGD (Polyak-Ruppert), not Paddle's ASGD (which is SAG).

  .. math::
    g &\leftarrow \pm g + \lambda_{wd}\, p, \qquad
    p \leftarrow p\,(1 - \lambda\eta) - \eta\, g, \qquad
    \bar x \leftarrow \bar x + \mu (p - \bar x) \\
    \eta &\leftarrow \gamma_t / (1 + \lambda \gamma_t t)^{\alpha}, \qquad
    \mu \leftarrow 1 / \max(1, t - t_0)

  :math:`\eta` and :math:`\mu` are computed at the end of the previous update (so a scheduled
  ``lr`` takes effect one update late, as in PyTorch). The average :math:`\bar x` lives only in
  the state; read it with ``oj.ema_params(state)``. See :func:`optim_jax.averaged_sgd`.

  Framework parity (golden tests: torch 2.13.0+cpu):

  ==========================  ===============================================================
  PyTorch                      optim_jax
  ==========================  ===============================================================
  eta, mu                      float32 scalars, computed in the widest parameter precision and
                               rounded, as PyTorch keeps them in its default dtype (float32 unless
                               ``torch.set_default_dtype(torch.float64)``, which this preset does
                               not follow: 1e-8 relative in float64)
  average ``ax``               ``oj.ema_params(state)``; parameters never replaced (as PyTorch)
  negative lambd, alpha        ValueError (PyTorch accepts them: they make eta grow or flip sign)
  ``foreach``, ``capturable``,  not arguments: XLA fuses the update
  ``differentiable``
  ==========================  ===============================================================
  """
  _validation.learning_rate("lr", lr, style="torch", label="learning rate")
  _check(("weight_decay",), weight_decay=weight_decay, lambd=lambd)
  _validation.hyperparameter("alpha", alpha, lo=0.0, style="torch", label="alpha value")
  _validation.hyperparameter("t0", t0)
  _validation.flag("maximize", maximize)
  chain = _prologue(maximize, weight_decay)
  chain.append(_averaged_sgd(lr, lambd, alpha, t0))
  return optax.chain(*chain)
