"""PaddlePaddle optimizers (``paddle.optimizer``) as optax chains, with Paddle's names and checks.

Paddle's pipeline for one ``step()``: clip the gradients (``grad_clip``), add the regulariser
(``weight_decay``, coupled, never clipped), then run the kernel with the learning rate. Paddle passes
its kernel hyperparameters (rho, epsilon, momentum, betas) as float32 attributes, even for float64
parameters; the presets round them the same way, so float64 runs match too.

The regularisers (`l2_decay`, `l1_decay`) and clip strategies (``clip_grad_by_*``) are
transformations themselves, so they can also be chained on their own.

Per-parameter attributes and groups, as Paddle sets them (measured on paddlepaddle 3.3.1):
``param_attrs=`` gives a leaf a `ParamAttr` (``learning_rate`` multiplies the optimizer's learning
rate where the kernel takes it, ``regularizer`` replaces the optimizer's ``weight_decay`` for that
leaf, ``need_clip=False`` keeps it out of the clip and of the global norm, ``trainable=False``
freezes it); ``parameters=[{'params': selector, ...}, ...]`` are Paddle's parameter groups, each with
its own ``learning_rate`` multiplier, ``weight_decay``, ``grad_clip`` (a global norm is the norm of
the group's leaves) and kernel options. A group's ``learning_rate`` and ``weight_decay`` replace
the leaves' ``ParamAttr.learning_rate`` and ``regularizer``, as Paddle's ``_add_param_group`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import optax

from optim_jax import _base, _validation
from optim_jax._clipping import clip_by_global_norm as _clip_by_global_norm
from optim_jax._clipping import clip_by_norm as _clip_by_norm
from optim_jax._clipping import clip_by_value as _clip_by_value
from optim_jax._clipping import masked as _masked
from optim_jax._learning_rate import scale_by_learning_rate as _scale_by_learning_rate
from optim_jax._momentum import trace as _trace
from optim_jax._paddle_params import GradClip as GradClip
from optim_jax._paddle_params import ParamAttr as ParamAttr
from optim_jax._paddle_params import Regularizer as Regularizer
from optim_jax._paddle_params import _name, _paddle_optimizer
from optim_jax._precision import multi_precision as _multi_precision
from optim_jax._radam import scale_by_radam as _scale_by_radam
from optim_jax._rms import scale_by_rms_paddle as _scale_by_rms_paddle
from optim_jax._sag import sag_average as _sag_average
from optim_jax._weight_decay import add_l1_decay as _add_l1_decay
from optim_jax._weight_decay import add_l2_decay as _add_l2_decay


def l2_decay(coeff: Any = 0.0, *, mask: Any = None) -> Regularizer:
  r"""Paddle's ``paddle.regularizer.L2Decay``: coupled L2 regularisation, for ``weight_decay=``.

  With :math:`c` = ``coeff`` and :math:`p` the parameter:

  .. math::
    g \leftarrow g + c\, p

  the gradient of :math:`\tfrac12 c \lVert p\rVert^2`: no factor 1/2 on the gradient, as Paddle.
  A float ``weight_decay=c`` of a Paddle preset is the same regulariser.

  Args:
    coeff: :math:`c`, a finite number >= 0 or a schedule of the update count (ValueError if
      negative or not finite, TypeError if not a number). The default 0.0 (Paddle's) adds nothing.
    mask: None (the default: every leaf), or a pytree of Python bools shaped like the parameters (or
      a prefix of them), or a function of the parameters returning one: only the selected leaves are
      regularised (Paddle sets this per parameter with ``ParamAttr(regularizer=...)``, see
      `ParamAttr`). A mask that does not match the parameters is an error naming the leaf's path.

  Returns:
    A `Regularizer` (an ``optax.GradientTransformation``) whose ``update`` needs ``params``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.paddle.l2_decay(0.1)
    >>> p = jnp.array([2.0])
    >>> g, _ = tx.update(jnp.array([1.0]), tx.init(p), p)
    >>> round(float(g[0]), 4)  # 1 + 0.1 * 2
    1.2

  References:
    ``paddle.regularizer.L2Decay`` (Paddle 3.3).
  """
  return Regularizer(*_masked(_add_l2_decay(coeff), mask))


def l1_decay(coeff: Any = 0.0, *, mask: Any = None) -> Regularizer:
  r"""Paddle's ``paddle.regularizer.L1Decay``: coupled L1 regularisation, for ``weight_decay=``.

  With :math:`c` = ``coeff`` and :math:`p` the parameter:

  .. math::
    g \leftarrow g + c\, \mathrm{sign}(p)

  Args:
    coeff: :math:`c`, a finite number >= 0 or a schedule of the update count (ValueError if
      negative or not finite, TypeError if not a number). The default 0.0 (Paddle's) adds nothing.
    mask: None (the default: every leaf), or a pytree of Python bools shaped like the parameters (or
      a prefix of them), or a function of the parameters returning one: only the selected leaves are
      regularised (Paddle sets this per parameter with ``ParamAttr(regularizer=...)``, see
      `ParamAttr`). A mask that does not match the parameters is an error naming the leaf's path.

  Returns:
    A `Regularizer` (an ``optax.GradientTransformation``) whose ``update`` needs ``params``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.paddle.l1_decay(0.1)
    >>> p = jnp.array([-2.0])
    >>> g, _ = tx.update(jnp.array([1.0]), tx.init(p), p)
    >>> round(float(g[0]), 4)  # 1 + 0.1 * sign(-2)
    0.9

  References:
    ``paddle.regularizer.L1Decay`` (Paddle 3.3).
  """
  return Regularizer(*_masked(_add_l1_decay(coeff), mask))


def clip_grad_by_value(max: Any, min: Any = None, *, mask: Any = None) -> GradClip:  # noqa: A002 - Paddle's names
  r"""Paddle's ``paddle.nn.ClipGradByValue``: clips every gradient element to [min, max].

  .. math::
    g \leftarrow \min(\max(g, \text{min}), \text{max})

  elementwise, so NaN is kept and ±inf becomes a bound. Paddle asserts ``max > 0`` when ``min`` is
  None (AssertionError) and raises ValueError at the first step when ``min > max``; here both are
  raised at construction.

  Args:
    max: the upper bound, a number (TypeError otherwise; NaN is a ValueError); > 0 when ``min``
      is None (AssertionError otherwise).
    min: the lower bound, a number <= ``max`` (ValueError otherwise; TypeError if not a number).
      None (the default) means ``-max``.
    mask: None (the default: every leaf), or a pytree of Python bools shaped like the parameters (or
      a prefix of them), or a function of the parameters returning one: only the selected leaves are
      clipped. Paddle's own way is ``ParamAttr(need_clip=False)`` (see `ParamAttr`); a mask
      that does not match the parameters is an error naming the leaf's path.

  Returns:
    A `GradClip` (an ``optax.GradientTransformation``) for ``grad_clip=`` of the Paddle presets.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.paddle.clip_grad_by_value(1.0)
    >>> g, _ = tx.update(jnp.array([-3.0, 0.5, 2.0]), tx.init(jnp.zeros(3)))
    >>> [float(x) for x in g]
    [-1.0, 0.5, 1.0]

  References:
    ``paddle.nn.ClipGradByValue`` (Paddle 3.3).
  """
  _validation.hyperparameter("max", max)
  _validation.hyperparameter("min", min, none=True)
  if min is None:
    if _validation.is_static_number(max) and not float(max) > 0:
      raise AssertionError(f"Invalid value of max: {max!r}; expected max > 0 when min is None.")
    min = -max  # noqa: A001
  if _validation.is_static_number(max) and _validation.is_static_number(min) and float(min) > float(max):
    raise ValueError(f"Invalid value of min: {min!r}; expected min <= max (max={max!r}).")
  return GradClip(*_clip_by_value(min, max, mask=mask))


def clip_grad_by_norm(clip_norm: Any, *, mask: Any = None) -> GradClip:
  r"""Paddle's ``paddle.nn.ClipGradByNorm``: clips each gradient tensor to an L2 norm of ``clip_norm``.

  Per tensor (leaf), with :math:`c` = ``clip_norm``:

  .. math::
    g \leftarrow g \cdot \frac{c}{\max(\lVert g\rVert_2,\ c)}

  Paddle's CPU kernel is float32-only and rejects ``clip_norm <= 0`` at the first step; here any
  float dtype works and the check is made at construction.

  Args:
    clip_norm: :math:`c`, the largest L2 norm of each tensor, a number > 0 (ValueError otherwise).
    mask: None (the default: every leaf), or a pytree of Python bools shaped like the parameters (or
      a prefix of them), or a function of the parameters returning one: only the selected leaves are
      clipped. Paddle's own way is ``ParamAttr(need_clip=False)`` (see `ParamAttr`); a mask
      that does not match the parameters is an error naming the leaf's path.

  Returns:
    A `GradClip` (an ``optax.GradientTransformation``) for ``grad_clip=`` of the Paddle presets.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.paddle.clip_grad_by_norm(1.0)
    >>> g, _ = tx.update(jnp.array([3.0, 4.0]), tx.init(jnp.zeros(2)))
    >>> [round(float(x), 4) for x in g]  # norm 5 -> 1
    [0.6, 0.8]

  References:
    ``paddle.nn.ClipGradByNorm`` (Paddle 3.3).
  """
  _validation.hyperparameter("clip_norm", clip_norm, lo=0.0, lo_open=True)
  return GradClip(*_clip_by_norm(clip_norm, mask=mask))


def clip_grad_by_global_norm(
  clip_norm: Any,
  group_name: str = "default_group",
  auto_skip_clip: bool = False,
  *,
  axis_name: Any = None,
  mask: Any = None,
) -> GradClip:
  r"""Paddle's ``paddle.nn.ClipGradByGlobalNorm``: clips all gradients together to a global L2 norm.

  With :math:`c` = ``clip_norm`` and :math:`n` the L2 norm of all leaves together:

  .. math::
    g \leftarrow g \cdot \frac{c}{\max(n,\ c)}

  always multiplied, also when :math:`n \le c`, as Paddle does: an inf norm zeroes the finite
  entries (inf entries become NaN), a NaN norm makes every gradient NaN. With
  ``auto_skip_clip=True`` it multiplies by :math:`c / n` only when :math:`n > c`, so a NaN norm
  leaves the gradients unchanged. Paddle accepts a negative ``clip_norm`` (it flips the gradients'
  sign); here it is a ValueError. With ``axis_name`` (inside ``jax.shard_map`` / ``jax.pmap``) :math:`n`
  is the norm of the leaves' parts on all devices of those axes (Paddle's hybrid-parallel clip).

  Args:
    clip_norm: :math:`c`, the largest global norm, a number >= 0 (ValueError otherwise).
    group_name: a str (TypeError otherwise), accepted and ignored, as in Paddle's dygraph mode
      (the default ``"default_group"`` is Paddle's).
    auto_skip_clip: True or False (TypeError otherwise); True clips only when the norm exceeds
      ``clip_norm``. Default False.
    axis_name: None (the default: each device's own leaves), or a mapped axis name or tuple of names
      over which the leaves are split (model parallelism): the squared norms are summed over them
      with ``jax.lax.psum``. See `oj.clip_by_global_norm`.
    mask: None (the default: every leaf), or a pytree of Python bools shaped like the parameters (or
      a prefix of them), or a function of the parameters returning one: only the selected leaves are
      clipped and counted in the global norm. Paddle's own way is ``ParamAttr(need_clip=False)``
      (see `ParamAttr`); a mask that does not match the parameters is an error naming the leaf's
      path.

  Returns:
    A `GradClip` (an ``optax.GradientTransformation``) for ``grad_clip=`` of the Paddle presets.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.paddle.clip_grad_by_global_norm(1.0)
    >>> g = {"a": jnp.array([3.0]), "b": jnp.array([4.0])}
    >>> g, _ = tx.update(g, tx.init(g))
    >>> round(float(g["a"][0]), 4), round(float(g["b"][0]), 4)  # global norm 5 -> 1
    (0.6, 0.8)

  References:
    ``paddle.nn.ClipGradByGlobalNorm`` (Paddle 3.3).
  """
  if not isinstance(group_name, str):
    raise TypeError(f"group_name should be a str, got {type(group_name).__name__} {group_name!r}")
  del group_name
  _validation.hyperparameter("clip_norm", clip_norm, lo=0.0)
  _validation.flag("auto_skip_clip", auto_skip_clip)
  return GradClip(
    *_clip_by_global_norm(
      clip_norm, nonfinite="skip_nan" if auto_skip_clip else "scale", axis_name=axis_name, mask=mask
    )
  )


def rmsprop(
  learning_rate: Any,
  rho: Any = 0.95,
  epsilon: Any = 1e-6,
  momentum: Any = 0.0,
  centered: bool = False,
  weight_decay: Any = None,
  grad_clip: GradClip | None = None,
  name: str | None = None,
  *,
  parameters: Sequence[dict[str, Any]] | None = None,
  param_attrs: Any = None,
  param_labels: Any = None,
) -> optax.GradientTransformation:
  r"""Paddle's ``paddle.optimizer.RMSProp``: epsilon inside the square root, lr inside the momentum.

  With :math:`\eta_t` = ``learning_rate`` at update :math:`t`, :math:`\rho` = ``rho``,
  :math:`\epsilon` = ``epsilon``, :math:`\mu` = ``momentum``, :math:`\mathrm{clip}` = ``grad_clip``
  and :math:`R` = ``weight_decay``:

  .. math::
    g &\leftarrow \mathrm{clip}(g) + R(p) \\
    ms &\leftarrow \rho\, ms + (1-\rho)\, g^2, \qquad mg \leftarrow \rho\, mg + (1-\rho)\, g
        \quad(\text{if centered}) \\
    v &\leftarrow \mu\, v + \eta_t\, g / \sqrt{ms + \epsilon}
        \quad(\sqrt{\max(ms - mg^2, 0) + \epsilon}\ \text{if centered}) \\
    p &\leftarrow p - v

  The learning rate is *inside* the momentum buffer, so a schedule changes only the new term.
  ``rho``, ``epsilon`` and ``momentum`` are numbers, not schedules (TypeError), and may not be None
  (ValueError).

  Args:
    learning_rate: :math:`\eta`, a finite float >= 0 or a schedule of the update count; required,
      as in Paddle. An int raises TypeError, a negative or non-finite value ValueError.
    rho: :math:`\rho`, decay of the mean square, a number in [0, 1].
    epsilon: :math:`\epsilon`, added inside the square root, a number >= 0 and finite in float32
      (at most about 3.4e38).
    momentum: :math:`\mu`, heavy-ball momentum, a number >= 0 and finite in float32; 0 (the
      default) keeps no buffer.
    centered: True or False; True divides by the estimated standard deviation (:math:`mg`).
    weight_decay: :math:`R`: None (the default, no regulariser), a finite float >= 0 or a schedule
      (coupled L2, as ``l2_decay``), ``l2_decay(c)`` or ``l1_decay(c)`` (either with ``mask=``), or
      another transformation of ``(updates, params)`` such as ``optax.masked(...)``; anything else
      (a clip strategy too) is a TypeError. A leaf's ``ParamAttr.regularizer`` replaces it.
    grad_clip: None (the default, no clipping) or one of `clip_grad_by_value`,
      `clip_grad_by_norm`, `clip_grad_by_global_norm` (TypeError otherwise); applied before the
      regulariser.
    name: None or a str (TypeError otherwise), accepted for a copied call, without effect (Paddle
      names its accumulators with it).
    parameters: None (the default: every leaf, in one group), or Paddle's parameter groups, a list of dicts
      ``{'params': selector, <key>: value, ...}``. The selector picks the group's leaves: a pytree of Python
      bools shaped like the parameters (or a prefix), a function ``fn(path, leaf) -> bool`` of the leaf's
      ``/``-joined path and the leaf, or a label or list of labels of ``param_labels``. A group may set
      ``learning_rate`` (a multiplier of ``learning_rate``, a float >= 0, default 1.0), ``weight_decay`` (None
      or absent: this ``weight_decay``), ``grad_clip`` (absent: this ``grad_clip``; None: no clip; a global
      norm is the norm of the group's leaves), and the kernel's ``rho``, ``epsilon``, ``momentum``,
      ``centered``, as Paddle reads them; another key is a ValueError (Paddle ignores it). The group's
      ``learning_rate`` and ``weight_decay`` replace its leaves' ``ParamAttr.learning_rate`` and
      ``regularizer``. Leaves in no group are not updated. A leaf in two groups or a group that selects no
      leaf is a ValueError at ``init`` naming the group and the path.
    param_attrs: None (the default), or a `ParamAttr` per leaf: a pytree shaped like the parameters
      (or a prefix of them) of ``ParamAttr`` or None (Paddle's defaults), or a function
      ``fn(path, leaf) -> ParamAttr | None``, called with the parameter at ``init`` and with its
      update at ``update`` (decide on the path, shape or dtype). A leaf without an entry or an entry
      without a leaf is a ValueError at ``init`` naming the path. A function here is not a schedule:
      ``optax.inject_hyperparams`` needs it in ``static_args`` (`oj.inject_hyperparams` finds it).
    param_labels: the labels that label selectors of ``parameters`` refer to, a pytree of strings
      shaped like the parameters (or a function of the parameters returning one), as
      ``optax.partition`` takes; only with ``parameters`` (ValueError otherwise).

  Returns:
    An ``optax.GradientTransformation``; its ``update`` needs ``params`` when ``weight_decay`` is set.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = oj.paddle.rmsprop(learning_rate=0.1, rho=0.9, momentum=0.5)
    >>> p = jnp.array([1.0]); s = tx.init(p)
    >>> for _ in range(2):
    ...   u, s = tx.update(jnp.array([1.0]), s, p); p = optax.apply_updates(p, u)
    >>> round(float(p[0]), 4)  # v = 0.1/sqrt(0.1), then 0.5 v + 0.1/sqrt(0.19)
    0.2962

  References:
    Tieleman and Hinton, Lecture 6.5 - rmsprop, COURSERA 2012; ``paddle.optimizer.RMSProp``
    (Paddle 3.3).

  Framework parity (golden tests: paddlepaddle 3.3.1, CPU):

  ============================  ==============================================================================
  Paddle                        optim_jax
  ============================  ==============================================================================
  arguments                     Paddle's names, order and defaults; ``learning_rate`` is required
  eps placement                 inside the sqrt: g / sqrt(ms + eps) (as Paddle)
  lr and momentum               lr inside the buffer: v = mu*v + lr*g/denom (as Paddle)
  momentum                      heavy-ball, as Paddle's kernel computes it (not Nesterov)
  order                         clip -> regulariser -> rms -> lr -> momentum (as Paddle)
  float64 params                rho, epsilon, momentum rounded to float32 (as Paddle's kernel)
  state                         ms always; mg only if centered; v only if momentum != 0 (Paddle
                                allocates all three)
  centered variance             ms - mg^2 clamped at 0 before the sqrt, a deliberate difference: Paddle is
                                NaN from then on once it rounds below -epsilon (a constant large gradient)
  out-of-range values           negative learning_rate, rho > 1: ValueError (Paddle accepts them)
  non-finite values             ValueError for a NaN or inf learning_rate or weight_decay, and for an epsilon
                                or momentum that is inf once rounded to float32
  ``clip_norm`` = inf           ``clip_grad_by_norm(inf)`` and ``clip_grad_by_global_norm(inf)`` leave the
                                gradients unchanged, a deliberate difference (Paddle: inf/inf, NaN)
  ``parameters``                None (every leaf) or Paddle's groups over selectors of the pytree's leaves; a
                                group's ``learning_rate`` multiplies the scheduled rate inside the momentum
                                (lr_param = lr * m, in the parameter's precision); a global-norm clip is per
                                group (as Paddle); unknown keys: ValueError (Paddle ignores them); a group
                                that selects no leaf: ValueError (Paddle: an IndexError for the first group
                                only)
  ``ParamAttr``                 ``param_attrs=``: learning_rate multiplier, regularizer (replaces
                                ``weight_decay``), need_clip (out of the clip and the global norm),
                                trainable; in a group the group's learning_rate and weight_decay win (as
                                Paddle); a negative multiplier is a ValueError (Paddle ascends)
  ``name``                      accepted, no effect
  ============================  ==============================================================================
  """
  _validation.learning_rate("learning_rate", learning_rate, allow_int=False)
  _name(name)

  def kernel(
    lr: Any, rho: Any = rho, epsilon: Any = epsilon, momentum: Any = momentum, centered: Any = centered
  ):
    for key, value, hi in (("rho", rho, 1.0), ("epsilon", epsilon, None), ("momentum", momentum, None)):
      _validation.not_none(key, value)
      _validation.hyperparameter(key, value, lo=0.0, hi=hi)
      _validation.finite(key, value, float32=True)
    _validation.flag("centered", centered)
    links = [_scale_by_rms_paddle(_base.as_float32(rho), _base.as_float32(epsilon), centered)]
    links.append(_scale_by_learning_rate(lr))  # Paddle's lr_param = global lr * ParamAttr/group multiplier
    if not _validation.is_static_zero(momentum):
      links.append(_trace(_base.as_float32(momentum)))
    return links

  kernel(learning_rate)
  return _paddle_optimizer(
    "RMSProp", kernel, ("rho", "epsilon", "momentum", "centered"), learning_rate, weight_decay, grad_clip,
    parameters, param_attrs, param_labels, _base.chain_in_compute_dtype,
  )  # fmt: skip


def radam(
  learning_rate: Any = 0.001,
  beta1: Any = 0.9,
  beta2: Any = 0.999,
  epsilon: Any = 1e-8,
  weight_decay: Any = None,
  grad_clip: GradClip | None = None,
  name: str | None = None,
  *,
  parameters: Sequence[dict[str, Any]] | None = None,
  param_attrs: Any = None,
  param_labels: Any = None,
) -> optax.GradientTransformation:
  r"""Paddle's ``paddle.optimizer.RAdam``: rectified Adam, epsilon added to the uncorrected sqrt(v).

  With :math:`\eta_t` = ``learning_rate`` at update :math:`t`, :math:`\beta_1, \beta_2` =
  ``beta1``, ``beta2``, :math:`\epsilon` = ``epsilon``, :math:`\mathrm{clip}` = ``grad_clip`` and
  :math:`R` = ``weight_decay``:

  .. math::
    g &\leftarrow \mathrm{clip}(g) + R(p), \qquad
    m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
    p &\leftarrow p - \eta_t\, \frac{m}{1-\beta_1^t}
        \begin{cases} r_t \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v} + \epsilon} & \rho_t > 5 \\
        1 & \text{otherwise} \end{cases}

  with :math:`\rho_t` and :math:`r_t` as in :func:`optim_jax.scale_by_radam`. The learning rate
  multiplies the finished step; it enters neither moment. ``beta1``, ``beta2`` and ``epsilon`` are
  numbers, not schedules (TypeError), and may not be None (ValueError); out of range they raise
  Paddle's ValueError.

  Args:
    learning_rate: :math:`\eta`, a finite float >= 0 or a schedule of the update count. An int
      raises TypeError (as in Paddle), a negative or non-finite value ValueError.
    beta1: :math:`\beta_1`, decay of the first moment, a number in [0, 1), also once rounded to
      float32 (0.99999999 rounds to 1.0: ValueError).
    beta2: :math:`\beta_2`, decay of the second moment, a number in [0, 1), also once rounded to
      float32.
    epsilon: :math:`\epsilon`, added to the square root of the uncorrected second moment, a number
      >= 0 and finite in float32.
    weight_decay: :math:`R`: None (the default, no regulariser), a finite float >= 0 or a schedule
      (coupled L2, as ``l2_decay``), ``l2_decay(c)`` or ``l1_decay(c)`` (either with ``mask=``), or
      another transformation of ``(updates, params)`` such as ``optax.masked(...)``; anything else
      (a clip strategy too) is a TypeError. A leaf's ``ParamAttr.regularizer`` replaces it.
    grad_clip: None (the default, no clipping) or one of the ``clip_grad_by_*`` strategies
      (TypeError otherwise); applied before the regulariser.
    name: None or a str (TypeError otherwise), accepted for a copied call, without effect (Paddle
      names its accumulators with it).
    parameters: None (the default: every leaf, in one group), or Paddle's parameter groups, a list of dicts
      ``{'params': selector, <key>: value, ...}``. The selector picks the group's leaves: a pytree of Python
      bools shaped like the parameters (or a prefix), a function ``fn(path, leaf) -> bool`` of the leaf's
      ``/``-joined path and the leaf, or a label or list of labels of ``param_labels``. A group may set
      ``learning_rate`` (a multiplier of ``learning_rate``, a float >= 0, default 1.0), ``weight_decay`` (None
      or absent: this ``weight_decay``), ``grad_clip`` (absent: this ``grad_clip``; None: no clip; a global
      norm is the norm of the group's leaves), and the kernel's ``beta1``, ``beta2``, ``epsilon``, as Paddle
      reads them; another key is a ValueError (Paddle ignores it). The group's ``learning_rate`` and
      ``weight_decay`` replace its leaves' ``ParamAttr.learning_rate`` and ``regularizer``. Leaves in no group
      are not updated. A leaf in two groups or a group that selects no leaf is a ValueError at ``init`` naming
      the group and the path.
    param_attrs: None (the default), or a `ParamAttr` per leaf: a pytree shaped like the parameters
      (or a prefix of them) of ``ParamAttr`` or None (Paddle's defaults), or a function
      ``fn(path, leaf) -> ParamAttr | None``, called with the parameter at ``init`` and with its
      update at ``update`` (decide on the path, shape or dtype). A leaf without an entry or an entry
      without a leaf is a ValueError at ``init`` naming the path. A function here is not a schedule:
      ``optax.inject_hyperparams`` needs it in ``static_args`` (`oj.inject_hyperparams` finds it).
    param_labels: the labels that label selectors of ``parameters`` refer to, a pytree of strings
      shaped like the parameters (or a function of the parameters returning one), as
      ``optax.partition`` takes; only with ``parameters`` (ValueError otherwise).

  Returns:
    An ``optax.GradientTransformation``; its ``update`` needs ``params`` when ``weight_decay`` is set.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.paddle.radam(learning_rate=0.1)
    >>> u, _ = tx.update(jnp.array([3.0]), tx.init(jnp.zeros(1)))
    >>> round(float(u[0]), 4)  # rho_1 = 1: not rectified, -lr times the corrected first moment
    -0.3

  References:
    Liu et al., On the Variance of the Adaptive Learning Rate and Beyond, ICLR 2020;
    ``paddle.optimizer.RAdam`` (Paddle 3.3).

  Framework parity (golden tests: paddlepaddle 3.3.1, CPU):

  ============================  ==============================================================================
  Paddle                        optim_jax
  ============================  ==============================================================================
  arguments                     Paddle's names, order and defaults
  eps placement                 sqrt(v) + eps, v uncorrected (as Paddle; not optax.radam)
  lr and momentum               lr multiplies the rectified step, outside both moments (as Paddle)
  rectification                 strictly rho_t > 5, decided by Paddle's rho recursion in the parameter's
                                precision (float32 for half types), so the float32 tie at
                                beta2 = 0.8397685748659791 goes Paddle's way
  per-step scalars              1 - beta^t, rho_t, r_t computed without cancellation (Paddle keeps beta^t
                                and rho by float32 recursions, up to 2e-4 off for beta2 = 0.9999; the
                                golden trajectories agree to 1e-6)
  float64 params                beta1, beta2, epsilon rounded to float32 (as Paddle's kernel)
  weight decay                  coupled, after clipping (as Paddle)
  state                         count (one int32) and two moments; Paddle keeps beta1_pow, beta2_pow and
                                rho per parameter
  non-finite values             ValueError for a NaN or inf learning_rate or weight_decay, and an epsilon
                                that is inf once rounded to float32
  betas near 1                  ValueError for a beta1 or beta2 that rounds to 1.0 in float32 (0.99999999),
                                a deliberate difference: Paddle takes it as a float32 attribute, 1.0
  array ``weight_decay``        a scalar array is a coupled L2 coefficient (Paddle 3.3.1 accepts a Tensor
                                and fails at step())
  ``clip_norm`` = inf           ``clip_grad_by_norm(inf)`` and ``clip_grad_by_global_norm(inf)`` leave the
                                gradients unchanged, a deliberate difference (Paddle: inf/inf, NaN)
  ``parameters``                None (every leaf) or Paddle's groups over selectors of the pytree's leaves; a
                                group's ``learning_rate`` multiplies the scheduled rate (lr_param = lr * m); a
                                global-norm clip is per group (as Paddle); unknown keys: ValueError (Paddle
                                ignores them); a group that selects no leaf: ValueError (Paddle: an IndexError
                                for the first group only)
  ``ParamAttr``                 ``param_attrs=``: learning_rate multiplier, regularizer (replaces
                                ``weight_decay``), need_clip (out of the clip and the global norm),
                                trainable; in a group the group's learning_rate and weight_decay win (as
                                Paddle); a negative multiplier is a ValueError (Paddle ascends)
  ``name``                      accepted, no effect
  ============================  ==============================================================================
  """
  _validation.learning_rate(
    "learning_rate", learning_rate, allow_int=False, style="paddle", label="learning rate"
  )
  _name(name)

  def kernel(lr: Any, beta1: Any = beta1, beta2: Any = beta2, epsilon: Any = epsilon):
    for key, value in (("beta1", beta1), ("beta2", beta2), ("epsilon", epsilon)):
      _validation.not_none(key, value)
    _validation.hyperparameter("epsilon", epsilon, lo=0.0, style="paddle", label="epsilon value")
    _validation.finite("epsilon", epsilon, float32=True)
    for key, beta in (("beta1", beta1), ("beta2", beta2)):
      _validation.hyperparameter(
        key, beta, lo=0.0, hi=1.0, hi_open=True, style="paddle", rule=f"0. <= {key} < 1.0"
      )
      # Paddle passes the betas as float32 attributes: 0.99999999 would become 1.0
      _validation.check(
        not _validation.is_static_number(beta) or float(np.float32(beta)) < 1.0,
        key,
        beta,
        f"0. <= {key} < 1.0 in float32 (Paddle rounds {key} to a float32 attribute, where {beta!r} is 1.0)",
        style="paddle",
      )
    b1, b2, eps = _base.as_float32(beta1), _base.as_float32(beta2), _base.as_float32(epsilon)
    return [_scale_by_radam(b1, b2, eps, rho_rule="recursion"), _scale_by_learning_rate(lr)]

  kernel(learning_rate)
  return _paddle_optimizer(
    "RAdam", kernel, ("beta1", "beta2", "epsilon"), learning_rate, weight_decay, grad_clip, parameters,
    param_attrs, param_labels, optax.chain,
  )  # fmt: skip


def asgd(
  learning_rate: Any = 0.001,
  batch_num: int = 1,
  weight_decay: Any = None,
  grad_clip: GradClip | None = None,
  multi_precision: bool = False,
  name: str | None = None,
  *,
  parameters: Sequence[dict[str, Any]] | None = None,
  param_attrs: Any = None,
  param_labels: Any = None,
) -> optax.GradientTransformation:
  r"""Paddle's ``paddle.optimizer.ASGD``: stochastic average gradient (SAG), not averaged SGD.

  With :math:`\eta_t` = ``learning_rate`` at update :math:`t`, :math:`n` = ``batch_num``,
  :math:`m` the update count (1-based), :math:`\mathrm{clip}` = ``grad_clip`` and
  :math:`R` = ``weight_decay``:

  .. math::
    g &\leftarrow \mathrm{clip}(g) + R(p), \qquad i = (m - 1) \bmod n \\
    d &\leftarrow d - y_i + g, \qquad y_i \leftarrow g, \qquad
    p \leftarrow p - \eta_t\, d / \min(m, n)

  See :func:`optim_jax.sag_average` (whose ``index=`` extra argument of ``update`` also works
  here, for shuffled batches). The regulariser is added to the gradient *before* it enters the
  memory, as Paddle's kernel does.

  Args:
    learning_rate: :math:`\eta`, a finite float >= 0 or a schedule of the update count. An int
      raises TypeError, a negative or non-finite value ValueError.
    batch_num: :math:`n`, the number of batches, an int > 0; 1 (the default) is plain SGD. None or a
      value <= 0 raises ValueError, a float > 0 TypeError.
    weight_decay: :math:`R`: None (the default, no regulariser), a finite float >= 0 or a schedule
      (coupled L2, as ``l2_decay``), ``l2_decay(c)`` or ``l1_decay(c)`` (either with ``mask=``), or
      another transformation of ``(updates, params)`` such as ``optax.masked(...)``; anything else
      (a clip strategy too) is a TypeError. A leaf's ``ParamAttr.regularizer`` replaces it.
    grad_clip: None (the default, no clipping) or one of the ``clip_grad_by_*`` strategies
      (TypeError otherwise); applied before the regulariser.
    multi_precision: True or False (TypeError otherwise); True keeps float32 master weights for
      bfloat16/float16 parameters (:func:`optim_jax.multi_precision` around the whole chain).

    name: None or a str (TypeError otherwise), accepted for a copied call, without effect (Paddle
      names its accumulators with it).
    parameters: None (the default: every leaf, in one group), or Paddle's parameter groups, a list of dicts
      ``{'params': selector, <key>: value, ...}``. The selector picks the group's leaves: a pytree of Python
      bools shaped like the parameters (or a prefix), a function ``fn(path, leaf) -> bool`` of the leaf's
      ``/``-joined path and the leaf, or a label or list of labels of ``param_labels``. A group may set
      ``learning_rate`` (a multiplier of ``learning_rate``, a float >= 0, default 1.0), ``weight_decay`` (None
      or absent: this ``weight_decay``), ``grad_clip`` (absent: this ``grad_clip``; None: no clip; a global
      norm is the norm of the group's leaves) (``batch_num`` is the optimizer's, Paddle ignores it in a
      group), as Paddle reads them; another key is a ValueError (Paddle ignores it). The group's
      ``learning_rate`` and ``weight_decay`` replace its leaves' ``ParamAttr.learning_rate`` and
      ``regularizer``. Leaves in no group are not updated. A leaf in two groups or a group that selects no
      leaf is a ValueError at ``init`` naming the group and the path.
    param_attrs: None (the default), or a `ParamAttr` per leaf: a pytree shaped like the parameters
      (or a prefix of them) of ``ParamAttr`` or None (Paddle's defaults), or a function
      ``fn(path, leaf) -> ParamAttr | None``, called with the parameter at ``init`` and with its
      update at ``update`` (decide on the path, shape or dtype). A leaf without an entry or an entry
      without a leaf is a ValueError at ``init`` naming the path. A function here is not a schedule:
      ``optax.inject_hyperparams`` needs it in ``static_args`` (`oj.inject_hyperparams` finds it).
    param_labels: the labels that label selectors of ``parameters`` refer to, a pytree of strings
      shaped like the parameters (or a function of the parameters returning one), as
      ``optax.partition`` takes; only with ``parameters`` (ValueError otherwise).

  Returns:
    An ``optax.GradientTransformationExtraArgs`` (``update`` accepts ``index=``); its ``update`` needs
    ``params`` when ``weight_decay`` or ``multi_precision`` is set.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = oj.paddle.asgd(learning_rate=0.1, batch_num=2)
    >>> p = jnp.array([1.0]); s = tx.init(p)
    >>> for g in (2.0, 4.0):
    ...   u, s = tx.update(jnp.array([g]), s, p); p = optax.apply_updates(p, u)
    >>> round(float(p[0]), 4)  # 1 - 0.1 * 2/1 - 0.1 * (2 + 4)/2
    0.5

  References:
    Schmidt, Le Roux and Bach, Minimizing Finite Sums with the Stochastic Average Gradient, 2017;
    ``paddle.optimizer.ASGD`` (Paddle 3.3).

  Framework parity (golden tests: paddlepaddle 3.3.1, CPU):

  ============================  ==============================================================================
  Paddle                        optim_jax
  ============================  ==============================================================================
  arguments                     Paddle's names, order and defaults
  eps placement                 no epsilon
  lr and momentum               no momentum: lr multiplies the average d / min(m, n) (as Paddle)
  weight decay                  folded into g before the memory (as Paddle's kernel)
  divisor                       min(m, n), m counted per optimizer (Paddle: per parameter, which differs
                                only for parameters that miss updates)
  memory                        y: ``[batch_num, *shape]`` and d in the parameter's dtype (as Paddle)
  multi_precision               float32 master; clipping, regulariser and the memory run on the master in
                                float32 (Paddle keeps d and y in the parameter's dtype)
  float ``batch_num``           TypeError at construction (Paddle: at the first step)
  out-of-range values           negative learning_rate: ValueError (Paddle accepts it)
  non-finite values             ValueError for a NaN or inf learning_rate or weight_decay
  ``clip_norm`` = inf           ``clip_grad_by_norm(inf)`` and ``clip_grad_by_global_norm(inf)`` leave the
                                gradients unchanged, a deliberate difference (Paddle: inf/inf, NaN)
  ``parameters``                None (every leaf) or Paddle's groups over selectors of the pytree's leaves; a
                                group's ``learning_rate`` multiplies the scheduled rate (lr_param = lr * m); a
                                global-norm clip is per group (as Paddle); unknown keys: ValueError (Paddle
                                ignores them); a group that selects no leaf: ValueError (Paddle: an IndexError
                                for the first group only)
  ``ParamAttr``                 ``param_attrs=``: learning_rate multiplier, regularizer (replaces
                                ``weight_decay``), need_clip (out of the clip and the global norm),
                                trainable; in a group the group's learning_rate and weight_decay win (as
                                Paddle); a negative multiplier is a ValueError (Paddle ascends)
  ``name``                      accepted, no effect
  ============================  ==============================================================================
  """
  _validation.learning_rate("learning_rate", learning_rate, allow_int=False)
  if batch_num is None:
    raise ValueError("batch_num should not be None: expected an int > 0.")
  # Paddle: ValueError for a value <= 0 (also a float one), TypeError for a float > 0.
  _validation.in_range("batch_num", batch_num, lo=0.0, lo_open=True, rule="an int batch_num > 0")
  _validation.positive_int("batch_num", batch_num)
  _validation.flag("multi_precision", multi_precision)
  _name(name)

  def kernel(lr: Any) -> list[optax.GradientTransformation]:
    return [_sag_average(batch_num), _scale_by_learning_rate(lr)]

  tx = _paddle_optimizer(
    "ASGD",
    kernel,
    (),
    learning_rate,
    weight_decay,
    grad_clip,
    parameters,
    param_attrs,
    param_labels,
    optax.chain,
  )
  return _multi_precision(tx) if multi_precision else tx
