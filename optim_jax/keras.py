"""Keras 3 (``keras.optimizers``) optimizers as optax chains."""

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
  ema_overwrite_frequency: int | None = None,
) -> optax.GradientTransformation:
  r"""``keras.optimizers.RMSprop`` (Keras 3.15).

  .. math::
    v &\leftarrow \rho v + (1-\rho) g^2, \qquad
    m \leftarrow \mu m + \eta_t\, g / \sqrt{v + \epsilon}, \\
    p &\leftarrow p - m - \eta_t \lambda p

  Clipping: at most one of ``clipnorm`` (per variable), ``clipvalue`` and ``global_clipnorm`` may
  be set (ValueError otherwise, as in Keras 3). A value of 0 means off. A non-finite global norm
  makes every gradient NaN (the Keras rule).

  EMA (``use_ema``): on the first update the average is set to the updated parameters (Keras 3
  forces the EMA momentum to 0 then), afterwards it is updated after each step; every
  ``ema_overwrite_frequency`` steps the parameters are replaced by it (None: never). Read it with
  ``oj.ema_params(state)``.

  Framework parity (golden tests: keras 3.15.1, TensorFlow backend):
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
    keras3=True,
  )


rmsprop.__doc__ += _keras_common.PARITY
