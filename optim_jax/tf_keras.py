"""tf_keras (the Keras 2 API, ``tf_keras.optimizers``) optimizers as optax chains."""

from __future__ import annotations

from typing import Any

import optax

from optim_jax import _keras_common


def rmsprop(
  learning_rate: Any = 0.001,
  rho: Any = 0.9,
  momentum: Any = 0.0,
  epsilon: Any = 1e-7,
  centered: bool = False,
  weight_decay: Any = None,
  clipnorm: Any = None,
  clipvalue: Any = None,
  global_clipnorm: Any = None,
  use_ema: bool = False,
  ema_momentum: Any = 0.99,
  ema_overwrite_frequency: int | None = 100,
) -> optax.GradientTransformation:
  r"""``tf_keras.optimizers.RMSprop`` (Keras 2, tf_keras 2.21).

  .. math::
    v &\leftarrow \rho v + (1-\rho) g^2, \qquad
    m \leftarrow \mu m + \eta_t\, g / \sqrt{v + \epsilon}, \\
    p &\leftarrow p - m - \eta_t \lambda p

  Clipping: only one option is applied, by priority ``clipnorm`` (per variable) >
  ``global_clipnorm`` > ``clipvalue``; setting ``clipnorm`` and ``global_clipnorm`` together is a
  ValueError and ``clipvalue`` is silently ignored next to either, as in tf_keras. A value of 0 means
  off. A non-finite global norm makes every gradient NaN (TensorFlow's rule).

  EMA (``use_ema``): the average starts at the initial parameters and is updated after each step;
  every ``ema_overwrite_frequency`` steps the parameters are replaced by it (0 or None: never).
  Read it with ``oj.ema_params(state)``.

  Framework parity (golden tests: tf_keras 2.21.0, tensorflow-cpu 2.21.0):
  """
  return _keras_common.rmsprop(
    learning_rate=learning_rate,
    rho=rho,
    momentum=momentum,
    epsilon=epsilon,
    centered=centered,
    weight_decay=weight_decay,
    clipnorm=clipnorm,
    clipvalue=clipvalue,
    global_clipnorm=global_clipnorm,
    use_ema=use_ema,
    ema_momentum=ema_momentum,
    ema_overwrite_frequency=ema_overwrite_frequency,
    keras3=False,
  )


rmsprop.__doc__ += _keras_common.PARITY
