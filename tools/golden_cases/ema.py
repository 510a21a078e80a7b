"""Parameter-EMA goldens: tf_keras and Keras 3 RMSprop with ``use_ema=True``.

Each case records the parameters after every step and, as the extra ``average``, the framework's
moving average after every step (its last row is the final average, what
``finalize_variable_values`` would install). Overwrite frequencies None, 1 and 3 for both versions,
each with a non-constant schedule and RMSprop momentum, in float32 and float64; plus long runs with
tf_keras's default frequency (100) and a Keras 3 frequency of 50.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from golden_cases.harness import DTYPES, Case, keras_case, keras_schedules


def _average_tf_keras(opt: Any, variables: list) -> list:
  """tf_keras keeps the average in ``_model_variables_moving_average``, indexed by ``_index_dict``."""
  avg = opt._model_variables_moving_average
  return [avg[opt._index_dict[opt._var_key(v)]].numpy().copy() for v in variables]


def _average_keras(opt: Any, variables: list) -> list:
  """Keras 3 keeps it in ``_model_variables_moving_average``, indexed by ``_get_variable_index``."""
  avg = opt._model_variables_moving_average
  return [avg[opt._get_variable_index(v)].numpy().copy() for v in variables]


DEFAULTS = {"rho": 0.9, "epsilon": 1e-7, "momentum": 0.9, "centered": False}


def _ema(
  framework, label, dtype, steps, *, schedule, frequency="default", ema_momentum=0.99, **kwargs
) -> Case:
  """`kwargs`: RMSprop's (over `DEFAULTS`) and `keras_case`'s clips and wd."""
  kwargs.update(use_ema=True, ema_momentum=ema_momentum)
  if frequency != "default":  # "default": leave it out, so the framework's own default applies
    kwargs["ema_overwrite_frequency"] = frequency
  extras = {"average": _average_tf_keras if framework == "tf_keras" else _average_keras}
  return keras_case(
    framework, "RMSprop", label, dtype, steps, schedule=schedule, defaults=DEFAULTS, extras=extras, **kwargs
  )


def keras_cases(framework: str) -> list[Case]:
  out = []
  for dt in DTYPES:
    s = keras_schedules(framework, dt)
    e = partial(_ema, framework)
    out += [
      e("ema_none_mom_exp", dt, 60, schedule=s["exp"], frequency=None, ema_momentum=0.9),
      e("ema_f1_mom_piece", dt, 40, schedule=s["piece"], frequency=1, ema_momentum=0.8),
      e("ema_f3_mom_exp", dt, 60, schedule=s["exp"], frequency=3),
      e("ema_f3_centered_mom_clip_wd_piece", dt, 40, schedule=s["piece"], frequency=3, ema_momentum=0.9,
        centered=True, clips=[("global_clipnorm", 2.0)], wd=0.05),
    ]  # fmt: skip
    if framework == "tf_keras":  # the default frequency of tf_keras's RMSprop is 100
      out.append(e("long_ema_default_mom_exp", dt, 300, schedule=s["exp_long"]))
    else:
      out.append(e("long_ema_f50_mom_exp", dt, 300, schedule=s["exp_long"], frequency=50))
  return out


def cases() -> list[Case]:
  return keras_cases("tf_keras") + keras_cases("keras")
