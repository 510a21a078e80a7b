"""The RMSprop chain shared by tf_keras (Keras 2) and Keras 3; the public modules set the differences."""

from __future__ import annotations

from typing import Any

import jax
import optax

from optim_jax import _base, _validation
from optim_jax._clipping import clip_by_global_norm, clip_by_norm, clip_by_value
from optim_jax._ema import param_ema
from optim_jax._learning_rate import scale_by_learning_rate
from optim_jax._momentum import trace
from optim_jax._rms import scale_by_rms_paddle
from optim_jax._weight_decay import decoupled_weight_decay


def _on(value: Any) -> bool:
  """Keras applies a clip option only when it is set and > 0 (a traced value counts as set)."""
  return value is not None and (not _validation.is_static_number(value) or float(value) > 0)


def clip_chain(
  clipnorm: Any, clipvalue: Any, global_clipnorm: Any, *, keras3: bool, axis_name: Any = None
) -> list:
  """The one clip Keras applies, with each version's rule for options set together."""
  for name, value in (("clipnorm", clipnorm), ("clipvalue", clipvalue), ("global_clipnorm", global_clipnorm)):
    _validation.hyperparameter(name, value, none=True, lo=0.0)
  if keras3:
    if sum(v is not None for v in (clipnorm, clipvalue, global_clipnorm)) > 1:
      raise ValueError(
        "Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set. Received: "
        f"clipnorm={clipnorm}, clipvalue={clipvalue}, global_clipnorm={global_clipnorm}"
      )
  elif clipnorm is not None and global_clipnorm is not None:
    raise ValueError(
      "At most one of `clipnorm` and `global_clipnorm` can be set. Received: "
      f"clipnorm={clipnorm}, global_clipnorm={global_clipnorm}."
    )
  # tf_keras keeps one by priority (clipnorm > global_clipnorm > clipvalue): clipvalue is ignored
  # when a norm clip is set. Keras 3 has the same priority but forbids combinations above.
  if _on(clipnorm):
    return [clip_by_norm(clipnorm)]
  if _on(global_clipnorm):
    return [clip_by_global_norm(global_clipnorm, nonfinite="nan", axis_name=axis_name)]
  if _on(clipvalue):
    return [clip_by_value(-clipvalue, clipvalue)]
  return []


def rmsprop(
  *,
  learning_rate: Any,
  rho: Any,
  momentum: Any,
  epsilon: Any,
  centered: bool,
  weight_decay: Any,
  clipnorm: Any,
  clipvalue: Any,
  global_clipnorm: Any,
  use_ema: bool,
  ema_momentum: Any,
  ema_overwrite_frequency: Any,
  axis_name: Any,
  keras3: bool,
) -> optax.GradientTransformation:
  """The RMSprop chain of both Keras versions: clip -> rms -> lr -> momentum -> weight decay -> EMA.

  The arguments are those of ``oj.keras.rmsprop`` and ``oj.tf_keras.rmsprop``, which pass them all
  by name. ``keras3`` picks Keras 3's rules (a non-float learning rate is a ValueError, at most one
  clip option, EMA warm start) over tf_keras's (clip priority, EMA from the initial parameters).
  """
  if keras3 and _validation.is_static_number(learning_rate) and not isinstance(learning_rate, float):
    raise ValueError(
      "Argument `learning_rate` should be float, or a schedule. "
      f"Received instead: learning_rate={learning_rate!r} ({type(learning_rate).__name__})"
    )
  _validation.learning_rate("learning_rate", learning_rate)
  _validation.hyperparameter("momentum", momentum, lo=0.0)
  _validation.hyperparameter("weight_decay", weight_decay, schedule=True, none=True, lo=0.0)
  # finite in float32 (Keras keeps the learning rate and weight decay in float32 variables)
  _validation.finite("learning_rate", learning_rate, float32=True)
  _validation.finite("momentum", momentum, float32=True)
  _validation.finite("weight_decay", weight_decay, float32=True)
  _validation.flag("centered", centered)
  _validation.flag("use_ema", use_ema)
  if use_ema:
    momentum_, frequency = ema_args(ema_momentum, ema_overwrite_frequency, keras3=keras3)
  # Keras keeps a float learning rate in a float32 variable and rounds weight decay to float32.
  lr = _base.as_float32(learning_rate)
  _validation.axis_names("axis_name", axis_name)
  chain = clip_chain(clipnorm, clipvalue, global_clipnorm, keras3=keras3, axis_name=axis_name)
  chain.append(scale_by_rms_paddle(rho, epsilon, centered))
  chain.append(scale_by_learning_rate(lr))
  if not _validation.is_static_zero(momentum):
    chain.append(trace(momentum))
  if not _validation.is_static_zero(weight_decay):
    chain.append(decoupled_weight_decay(_base.as_float32(weight_decay), lr))
  if use_ema:
    chain.append(param_ema(momentum_, frequency, warm_start=keras3))
  # the EMA needs the final (rounded) update: it models optax.apply_updates
  return _base.chain_in_compute_dtype(*chain, narrow=1 if use_ema else 0)


def ema_args(ema_momentum: Any, ema_overwrite_frequency: Any, *, keras3: bool) -> tuple[Any, Any]:
  """Validates Keras's EMA arguments as tf_keras / Keras 3 do; returns (momentum, frequency or None).

  Both check only when ``use_ema`` is set: ``ema_momentum`` outside [0, 1] and a truthy
  ``ema_overwrite_frequency`` that is not an int >= 1 raise ValueError; a falsy frequency (None, 0)
  means never overwrite. Values injected by ``optax.inject_hyperparams`` (arrays) are not checked.
  """
  if _validation.is_static_number(ema_momentum) and (ema_momentum > 1 or ema_momentum < 0):
    raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
  _validation.hyperparameter("ema_momentum", ema_momentum, schedule=True)  # a number (TypeError), not NaN
  f = ema_overwrite_frequency
  if isinstance(f, jax.Array):
    _validation.int_scalar("ema_overwrite_frequency", f)  # injected by optax.inject_hyperparams
    return ema_momentum, f
  if f and (not isinstance(f, int) or isinstance(f, bool) or f < 1):  # Keras: a Python int (here not a bool)
    # tf_keras's message says "> 1" although 1 is accepted; Keras 3 says ">= 1".
    bound = ">= 1" if keras3 else "> 1"
    raise ValueError(
      f"`ema_overwrite_frequency` must be an integer {bound} or None. Received: ema_overwrite_frequency={f}"
    )
  return ema_momentum, (int(f) if f else None)


#: The "Framework parity" table of both Keras presets, appended to their docstrings; each docstring
#: names its golden-test versions and states its own clip and EMA rules above it.
PARITY = """
  ============================  ==============================================================================
  Keras                         optim_jax
  ============================  ==============================================================================
  arguments                     Keras's names, order and defaults (``ema_overwrite_frequency``: 100 in
                                tf_keras, None in Keras 3)
  eps placement                 inside the sqrt: lr * g / sqrt(v + eps) (as Keras)
  lr and momentum               lr inside the buffer: mom = momentum*mom + lr*g/sqrt(.) (as Keras)
  order                         clip -> rms -> lr -> momentum, decoupled weight decay added to the same
                                step (p <- p - lr*wd*p, from the pre-step p) -> EMA
  float64 params                learning rate and weight decay rounded to float32 (as Keras's float32
                                variables); rho, epsilon, momentum exact
  state                         momentum buffer only if momentum != 0, mean gradient only if centered (as
                                Keras); EMA buffer only if use_ema
  centered variance             v - mg^2 clamped at 0 before the sqrt, a deliberate difference: Keras is NaN
                                from then on once it rounds below -epsilon (a constant large gradient)
  out-of-range values           negative lr, rho, epsilon, momentum or clip values; rho > 1: ValueError
                                (Keras accepts them)
  non-finite values             ValueError for a NaN or inf lr, epsilon, momentum or weight_decay (lr and
                                weight_decay also when inf once rounded to float32)
  clip value inf                ``clipnorm``, ``global_clipnorm`` = inf leave the gradients unchanged, a
                                deliberate difference (Keras: inf/inf, NaN; ``clipvalue`` = inf is a no-op
                                in both)
  excluded variables            ``exclude_from_weight_decay`` is not an argument: pass ``weight_decay=None``
                                and chain ``oj.decoupled_weight_decay(wd, lr, mask=...)`` after the
                                preset (without ``use_ema``)
  gradient accumulation         ``gradient_accumulation_steps`` (Keras 3) is not an argument: wrap the
                                preset in ``optax.MultiSteps``
  other arguments               ``jit_compile``, ``name``, ``loss_scale_factor`` (Keras 3) are not
                                arguments: jit and loss scaling are the caller's choice
  ============================  ==============================================================================
"""
