"""PaddlePaddle optimizers (``paddle.optimizer``) as optax chains, with Paddle's names and checks.

Paddle's pipeline for one ``step()``: clip the gradients (``grad_clip``), add the regulariser
(``weight_decay``, coupled, never clipped), then run the kernel with the learning rate. Paddle passes
its kernel hyperparameters (rho, epsilon, momentum, betas) as float32 attributes, even for float64
parameters; the presets round them the same way, so float64 runs match too.
"""

from __future__ import annotations

from typing import Any

import optax

from optim_jax import _base, _validation
from optim_jax._clipping import clip_by_global_norm as _clip_by_global_norm
from optim_jax._clipping import clip_by_norm as _clip_by_norm
from optim_jax._clipping import clip_by_value as _clip_by_value
from optim_jax._learning_rate import scale_by_learning_rate as _scale_by_learning_rate
from optim_jax._momentum import trace as _trace
from optim_jax._precision import multi_precision as _multi_precision
from optim_jax._radam import scale_by_radam as _scale_by_radam
from optim_jax._rms import scale_by_rms_paddle as _scale_by_rms_paddle
from optim_jax._sag import sag_average as _sag_average
from optim_jax._weight_decay import add_l1_decay as _add_l1_decay
from optim_jax._weight_decay import add_l2_decay as _add_l2_decay


class Regularizer(optax.GradientTransformation):
  """A Paddle regulariser (``L2Decay``/``L1Decay``): a transformation usable as ``weight_decay``."""


class GradClip(optax.GradientTransformation):
  """A Paddle gradient-clip strategy (``ClipGradBy*``): a transformation usable as ``grad_clip``."""


def l2_decay(coeff: Any = 0.0) -> Regularizer:
  r"""``paddle.regularizer.L2Decay``: coupled :math:`g \leftarrow g + c\,p` (no factor 1/2)."""
  return Regularizer(*_add_l2_decay(coeff))


def l1_decay(coeff: Any = 0.0) -> Regularizer:
  r"""``paddle.regularizer.L1Decay``: coupled :math:`g \leftarrow g + c\,\mathrm{sign}(p)`."""
  return Regularizer(*_add_l1_decay(coeff))


def clip_grad_by_value(max: Any, min: Any = None) -> GradClip:  # noqa: A002 - Paddle's names
  """``paddle.nn.ClipGradByValue``: clip every element to [min, max]; ``min=None`` means -max.

  Paddle asserts ``max > 0`` when min is None (AssertionError) and raises ValueError at the first
  step when min > max; here both are raised at construction.
  """
  if min is None:
    if _validation.is_static_number(max) and not float(max) > 0:
      raise AssertionError(f"Invalid value of max: {max!r}; expected max > 0 when min is None.")
    min = -max  # noqa: A001
  if _validation.is_static_number(max) and _validation.is_static_number(min) and float(min) > float(max):
    raise ValueError(f"Invalid value of min: {min!r}; expected min <= max (max={max!r}).")
  return GradClip(*_clip_by_value(min, max))


def clip_grad_by_norm(clip_norm: Any) -> GradClip:
  r"""``paddle.nn.ClipGradByNorm``: per tensor, :math:`g \cdot c / \max(\lVert g\rVert_2, c)`.

  Paddle's CPU kernel is float32-only and rejects ``clip_norm <= 0`` at the first step; here any
  float dtype works and the check is made at construction.
  """
  _validation.hyperparameter("clip_norm", clip_norm, lo=0.0, lo_open=True)
  return GradClip(*_clip_by_norm(clip_norm))


def clip_grad_by_global_norm(
  clip_norm: Any, group_name: str = "default_group", auto_skip_clip: bool = False
) -> GradClip:
  r"""``paddle.nn.ClipGradByGlobalNorm``: :math:`g \cdot c / \max(\lVert g\rVert_{global}, c)`.

  Always multiplied (also when the norm is below ``clip_norm``). With ``auto_skip_clip=True`` it
  clips only when the norm exceeds ``clip_norm``, so a NaN norm leaves the gradients unchanged.
  ``group_name`` is accepted and ignored, as Paddle's dygraph mode does. Paddle accepts a negative
  ``clip_norm`` (it flips the gradients' sign); here it is a ValueError.
  """
  del group_name
  _validation.hyperparameter("clip_norm", clip_norm, lo=0.0)
  _validation.flag("auto_skip_clip", auto_skip_clip)
  return GradClip(*_clip_by_global_norm(clip_norm, nonfinite="skip_nan" if auto_skip_clip else "scale"))


def _grad_clip(grad_clip: Any) -> list[optax.GradientTransformation]:
  if grad_clip is None:
    return []
  if not isinstance(grad_clip, GradClip):
    raise TypeError(
      "'grad_clip' should be an instance of GradientClipBase's derived class: one of "
      f"oj.paddle.clip_grad_by_value/_by_norm/_by_global_norm, got {type(grad_clip).__name__}"
    )
  return [grad_clip]


def _regularizer(weight_decay: Any) -> list[optax.GradientTransformation]:
  if weight_decay is None:
    return []
  if isinstance(weight_decay, Regularizer):
    return [weight_decay]
  if isinstance(weight_decay, bool) or not (
    _validation.is_static_number(weight_decay) or callable(weight_decay) or hasattr(weight_decay, "dtype")
  ):
    raise TypeError(
      "weight_decay should be None, a float (L2 coefficient), a schedule, oj.paddle.l2_decay(c) or "
      f"oj.paddle.l1_decay(c), got {type(weight_decay).__name__} {weight_decay!r}"
    )
  _validation.in_range("weight_decay", weight_decay, lo=0.0)
  return [] if _validation.is_static_zero(weight_decay) else [_add_l2_decay(weight_decay)]


def rmsprop(
  learning_rate: Any,
  rho: Any = 0.95,
  epsilon: Any = 1e-6,
  momentum: Any = 0.0,
  centered: bool = False,
  weight_decay: Any = None,
  grad_clip: GradClip | None = None,
) -> optax.GradientTransformation:
  r"""``paddle.optimizer.RMSProp``.

  .. math::
    g &\leftarrow \mathrm{clip}(g) + R(p) \\
    ms &\leftarrow \rho\, ms + (1-\rho)\, g^2 \\
    v &\leftarrow \mu\, v + \eta_t\, g / \sqrt{ms + \epsilon}
        \quad(\sqrt{ms - mg^2 + \epsilon}\ \text{if centered}) \\
    p &\leftarrow p - v

  The learning rate is *inside* the momentum buffer, so a schedule changes only the new term.

  Args:
    learning_rate: float or schedule (required, as in Paddle; an int raises TypeError as in Paddle).
    rho: decay of the mean square, in [0, 1].
    epsilon: inside the square root, >= 0.
    momentum: heavy-ball momentum, >= 0 (Paddle's docs say Nesterov; the code is heavy-ball).
    centered: divide by the estimated standard deviation.
    weight_decay: None, a float or schedule (coupled L2), ``l2_decay(c)`` or ``l1_decay(c)``.
    grad_clip: None or one of ``clip_grad_by_value``, ``clip_grad_by_norm``,
      ``clip_grad_by_global_norm``; applied before the regulariser.

  Framework parity (golden tests: paddlepaddle 3.3.1, CPU):

  ==========================  ===============================================================
  Paddle                       optim_jax
  ==========================  ===============================================================
  eps placement                inside the sqrt (as Paddle)
  lr and momentum              lr inside the buffer: v = mu*v + lr*g/denom (as Paddle)
  order                        clip -> regulariser -> rms -> lr -> momentum (as Paddle)
  float64 params               rho, epsilon, momentum rounded to float32 (as Paddle's kernel)
  state                        ms always; mg only if centered; v only if momentum != 0
                               (Paddle allocates all three)
  negative learning_rate,      ValueError (Paddle accepts them)
  rho > 1
  ``parameters``, ``name``     not arguments: optax transforms are pure functions of the pytree
  ==========================  ===============================================================
  """
  _validation.learning_rate("learning_rate", learning_rate, allow_int=False)
  for name, value, hi in (("rho", rho, 1.0), ("epsilon", epsilon, None), ("momentum", momentum, None)):
    _validation.not_none(name, value)
    _validation.hyperparameter(name, value, lo=0.0, hi=hi)
  _validation.flag("centered", centered)
  chain = _grad_clip(grad_clip) + _regularizer(weight_decay)
  chain.append(_scale_by_rms_paddle(_base.as_float32(rho), _base.as_float32(epsilon), centered))
  chain.append(_scale_by_learning_rate(learning_rate))
  if not _validation.is_static_zero(momentum):
    chain.append(_trace(_base.as_float32(momentum)))
  return optax.chain(*chain)


def radam(
  learning_rate: Any = 0.001,
  beta1: Any = 0.9,
  beta2: Any = 0.999,
  epsilon: Any = 1e-8,
  weight_decay: Any = None,
  grad_clip: GradClip | None = None,
) -> optax.GradientTransformation:
  r"""``paddle.optimizer.RAdam``.

  .. math::
    g &\leftarrow \mathrm{clip}(g) + R(p), \qquad
    m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
    p &\leftarrow p - \eta_t\, \frac{m}{1-\beta_1^t}
        \begin{cases} r_t \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v} + \epsilon} & \rho_t > 5 \\
        1 & \text{otherwise} \end{cases}

  with :math:`\rho_t` and :math:`r_t` as in :func:`optim_jax.scale_by_radam`.

  Args:
    learning_rate: float >= 0 or schedule (an int raises TypeError as in Paddle).
    beta1: decay of the first moment, in [0, 1).
    beta2: decay of the second moment, in [0, 1).
    epsilon: added to the square root of the uncorrected second moment, >= 0.
    weight_decay: None, a float or schedule (coupled L2), ``l2_decay(c)`` or ``l1_decay(c)``.
    grad_clip: None or one of the ``clip_grad_by_*`` strategies; applied before the regulariser.

  Framework parity (golden tests: paddlepaddle 3.3.1, CPU):

  ==========================  ===============================================================
  Paddle                       optim_jax
  ==========================  ===============================================================
  eps placement                sqrt(v) + eps, v uncorrected (as Paddle; not optax.radam)
  rectification                strictly rho_t > 5, decided by Paddle's rho recursion in the
                               parameter's precision (float32 for half types), so the float32
                               tie at beta2 = 0.8397685748659791 goes Paddle's way
  per-step scalars             1 - beta^t, rho_t, r_t computed without cancellation (Paddle
                               keeps beta^t and rho by float32 recursions, up to 2e-4 off for
                               beta2 = 0.9999; the golden trajectories agree to 1e-6)
  float64 params               beta1, beta2, epsilon rounded to float32 (as Paddle's kernel)
  weight decay                 coupled, after clipping (as Paddle)
  state                        count (one int32) and two moments; Paddle keeps beta1_pow,
                               beta2_pow and rho per parameter
  ``weight_decay=Tensor``      an array works (Paddle documents it and fails at step())
  ``parameters``, ``name``     not arguments: optax transforms are pure functions of the pytree
  ==========================  ===============================================================
  """
  _validation.learning_rate(
    "learning_rate", learning_rate, allow_int=False, style="paddle", label="learning rate"
  )
  for name, value in (("beta1", beta1), ("beta2", beta2), ("epsilon", epsilon)):
    _validation.not_none(name, value)
  _validation.hyperparameter("epsilon", epsilon, lo=0.0, style="paddle", label="epsilon value")
  for name, beta in (("beta1", beta1), ("beta2", beta2)):
    _validation.hyperparameter(
      name, beta, lo=0.0, hi=1.0, hi_open=True, style="paddle", rule=f"0. <= {name} < 1.0"
    )
  chain = _grad_clip(grad_clip) + _regularizer(weight_decay)
  chain.append(
    _scale_by_radam(
      _base.as_float32(beta1), _base.as_float32(beta2), _base.as_float32(epsilon), rho_rule="recursion"
    )
  )
  chain.append(_scale_by_learning_rate(learning_rate))
  return optax.chain(*chain)


def asgd(
  learning_rate: Any = 0.001,
  batch_num: int = 1,
  weight_decay: Any = None,
  grad_clip: GradClip | None = None,
  multi_precision: bool = False,
) -> optax.GradientTransformation:
  r"""``paddle.optimizer.ASGD``: stochastic average gradient (SAG), not averaged SGD.

  .. math::
    g &\leftarrow \mathrm{clip}(g) + R(p), \qquad i = (m - 1) \bmod n \\
    d &\leftarrow d - y_i + g, \qquad y_i \leftarrow g, \qquad
    p \leftarrow p - \eta_t\, d / \min(m, n)

  with :math:`m` the update count (1-based) and :math:`n` = ``batch_num``; see
  :func:`optim_jax.sag_average` (whose ``index=`` extra argument also works here, for shuffled
  batches). The regulariser is added to the gradient *before* it enters the memory, as Paddle's
  code does (its docs put :math:`\lambda p` outside the average).

  Args:
    learning_rate: float >= 0 or schedule (an int raises TypeError as in Paddle).
    batch_num: the number of batches n, an int > 0; 1 is plain SGD.
    weight_decay: None, a float or schedule (coupled L2), ``l2_decay(c)`` or ``l1_decay(c)``.
    grad_clip: None or one of the ``clip_grad_by_*`` strategies; applied before the regulariser.
    multi_precision: keep float32 master weights for bfloat16/float16 parameters
      (:func:`optim_jax.multi_precision` around the whole chain).

  Framework parity (golden tests: paddlepaddle 3.3.1, CPU):

  ==========================  ===============================================================
  Paddle                       optim_jax
  ==========================  ===============================================================
  weight decay                 folded into g before the memory (as Paddle's code)
  divisor                      min(m, n), m counted per optimizer (Paddle: per parameter, which
                               differs only for parameters that miss updates)
  memory                       y: [batch_num, *shape] and d in the parameter's dtype (as Paddle)
  multi_precision              float32 master; clipping, regulariser and the memory run on the
                               master in float32 (Paddle keeps d and y in the parameter's dtype)
  float ``batch_num``          TypeError at construction (Paddle: at the first step)
  negative learning_rate       ValueError (Paddle accepts it)
  ``parameters``, ``name``     not arguments: optax transforms are pure functions of the pytree
  ==========================  ===============================================================
  """
  _validation.learning_rate("learning_rate", learning_rate, allow_int=False)
  if batch_num is None:
    raise ValueError("batch_num should not be None: expected an int > 0.")
  # Paddle: ValueError for a value <= 0 (also a float one), TypeError for a float > 0.
  _validation.in_range("batch_num", batch_num, lo=0.0, lo_open=True, rule="an int batch_num > 0")
  _validation.positive_int("batch_num", batch_num)
  _validation.flag("multi_precision", multi_precision)
  chain = _grad_clip(grad_clip) + _regularizer(weight_decay)
  chain.append(_sag_average(batch_num))
  chain.append(_scale_by_learning_rate(learning_rate))
  tx = optax.chain(*chain)
  return _multi_precision(tx) if multi_precision else tx
