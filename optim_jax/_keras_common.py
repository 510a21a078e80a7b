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


def clip_chain(clipnorm: Any, clipvalue: Any, global_clipnorm: Any, *, keras3: bool) -> list:
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
    return [clip_by_global_norm(global_clipnorm, nonfinite="nan")]
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
  keras3: bool,
) -> optax.GradientTransformation:
  if keras3 and _validation.is_static_number(learning_rate) and not isinstance(learning_rate, float):
    raise ValueError(
      "Argument `learning_rate` should be float, or a schedule. "
      f"Received instead: learning_rate={learning_rate!r} ({type(learning_rate).__name__})"
    )
  _validation.learning_rate("learning_rate", learning_rate)
  _validation.hyperparameter("momentum", momentum, lo=0.0)
  _validation.hyperparameter("weight_decay", weight_decay, schedule=True, none=True, lo=0.0)
  _validation.flag("centered", centered)
  _validation.flag("use_ema", use_ema)
  if use_ema:
    momentum_, frequency = ema_args(ema_momentum, ema_overwrite_frequency, keras3=keras3)
  # Keras keeps a float learning rate in a float32 variable and rounds weight decay to float32.
  lr = _base.as_float32(learning_rate)
  chain = clip_chain(clipnorm, clipvalue, global_clipnorm, keras3=keras3)
  chain.append(scale_by_rms_paddle(rho, epsilon, centered))
  chain.append(scale_by_learning_rate(lr))
  if not _validation.is_static_zero(momentum):
    chain.append(trace(momentum))
  if not _validation.is_static_zero(weight_decay):
    chain.append(decoupled_weight_decay(_base.as_float32(weight_decay), lr))
  if use_ema:
    chain.append(param_ema(momentum_, frequency, warm_start=keras3))
  return optax.chain(*chain)


def ema_args(ema_momentum: Any, ema_overwrite_frequency: Any, *, keras3: bool) -> tuple[Any, Any]:
  """Validates Keras's EMA arguments as tf_keras / Keras 3 do; returns (momentum, frequency or None).

  Both check only when ``use_ema`` is set: ``ema_momentum`` outside [0, 1] and a truthy
  ``ema_overwrite_frequency`` that is not an int >= 1 raise ValueError; a falsy frequency (None, 0)
  means never overwrite. Values injected by ``optax.inject_hyperparams`` (arrays) are not checked.
  """
  if _validation.is_static_number(ema_momentum) and (ema_momentum > 1 or ema_momentum < 0):
    raise ValueError(f"`ema_momentum` must be in the range [0, 1]. Received: ema_momentum={ema_momentum}")
  f = ema_overwrite_frequency
  if isinstance(f, jax.Array):
    return ema_momentum, f
  if f and (not isinstance(f, int) or f < 1):
    # tf_keras's message says "> 1" although 1 is accepted; Keras 3 says ">= 1".
    bound = ">= 1" if keras3 else "> 1"
    raise ValueError(
      f"`ema_overwrite_frequency` must be an integer {bound} or None. Received: ema_overwrite_frequency={f}"
    )
  return ema_momentum, (int(f) if f else None)


PARITY = """
  ==========================  ===============================================================
  Keras                        optim_jax
  ==========================  ===============================================================
  eps placement                inside the sqrt: lr * g / sqrt(v + eps) (as Keras)
  lr and momentum              lr inside the buffer: mom = momentum*mom + lr*g/sqrt(.) (as Keras)
  order                        clip -> rms -> lr -> momentum, decoupled weight decay added to
                               the same step (p <- p - lr*wd*p, from the pre-step p) -> EMA
  float64 params               learning rate and weight decay rounded to float32 (as Keras's
                               float32 variables); rho, epsilon, momentum exact
  state                        momentum buffer only if momentum != 0, mean gradient only if
                               centered (as Keras)
  negative lr, rho, epsilon,   ValueError (Keras accepts them)
  momentum, clip values;
  rho > 1
  ``exclude_from_weight_decay``  not an argument: wrap with a mask, e.g.
                               ``optax.masked`` or oj.decoupled_weight_decay(mask=...)
  ``jit_compile``, ``name``,   not arguments: jit is the caller's choice
  ``loss_scale_factor``,
  ``gradient_accumulation_steps``   use optax.MultiSteps around the preset
  ==========================  ===============================================================
"""
