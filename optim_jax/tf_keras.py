"""tf_keras (Keras 2, ``tf_keras.optimizers``) optimizers as optax chains, with its names and checks."""

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
  *,
  axis_name: Any = None,
) -> optax.GradientTransformation:
  r"""tf_keras's ``tf_keras.optimizers.RMSprop`` (Keras 2): epsilon inside the sqrt, lr inside momentum.

  With :math:`\eta_t` = ``learning_rate`` at update :math:`t`, :math:`\rho` = ``rho``,
  :math:`\epsilon` = ``epsilon``, :math:`\mu` = ``momentum`` and :math:`\lambda` = ``weight_decay``,
  after clipping :math:`g`:

  .. math::
    v &\leftarrow \rho v + (1-\rho) g^2, \qquad mg \leftarrow \rho\, mg + (1-\rho) g
        \quad(\text{if centered}) \\
    m &\leftarrow \mu m + \eta_t\, g / \sqrt{v + \epsilon}
        \quad(\sqrt{\max(v - mg^2, 0) + \epsilon}\ \text{if centered}), \qquad
    p \leftarrow p - m - \eta_t \lambda p

  Clipping: only one option is applied, by priority ``clipnorm`` (per variable) >
  ``global_clipnorm`` > ``clipvalue``; setting ``clipnorm`` and ``global_clipnorm`` together is a
  ValueError and ``clipvalue`` is silently ignored next to either, as in tf_keras. A value of 0 means
  off. A non-finite global norm makes every gradient NaN (TensorFlow's rule). With ``axis_name``
  the global norm is taken over the devices of those mapped axes too.

  EMA (``use_ema``): the average starts at the initial parameters and is updated after each step;
  every ``ema_overwrite_frequency`` steps the parameters are replaced by it (0 or None: never).
  Read it with ``oj.ema_params(state)``.

  Values out of range (NaN and inf included, except for the clip options) raise ValueError; a
  schedule or a non-number for ``rho``, ``momentum``, ``epsilon`` or a clip option, or a non-bool
  flag, is a TypeError.

  Args:
    learning_rate: :math:`\eta`, a number >= 0 and finite in float32 (an int works, as in
      tf_keras) or a schedule of the update count.
    rho: :math:`\rho`, decay of the mean square, a number in [0, 1].
    momentum: :math:`\mu`, a finite number >= 0; 0.0 (the default) keeps no momentum buffer.
    epsilon: :math:`\epsilon`, added inside the square root, a finite number >= 0.
    centered: True or False; True divides by the estimated standard deviation (:math:`mg`).
    weight_decay: :math:`\lambda`, decoupled weight decay: None (the default, none), a number
      >= 0 and finite in float32, or a schedule of the update count.
    clipnorm: None (the default) or a number >= 0: clip each variable's gradient to this L2 norm.
    clipvalue: None (the default) or a number >= 0: clip every element to [-clipvalue, clipvalue].
    global_clipnorm: None (the default) or a number >= 0: clip all gradients together to this L2
      norm.
    use_ema: True or False; True keeps an exponential moving average of the parameters in the state.
    ema_momentum: the EMA's momentum, a number in [0, 1] (ValueError otherwise) or a schedule;
      checked and used only with ``use_ema``.
    ema_overwrite_frequency: an int >= 1 (not a bool): replace the parameters by the average
      every this many updates (100 by default, as tf_keras); None or 0: never (ValueError for
      anything else); checked and used only with ``use_ema``.
    axis_name: keyword-only, not a Keras argument: None (the default), or a mapped axis name or
      tuple of names over which the leaves are split (inside ``jax.shard_map`` / ``jax.pmap``):
      ``global_clipnorm`` then clips to the norm of the whole parameters (``jax.lax.psum`` of the
      squared norms). See `oj.clip_by_global_norm`.

  Returns:
    An ``optax.GradientTransformation``; its ``update`` needs ``params`` when ``weight_decay`` or
    ``use_ema`` is set.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = oj.tf_keras.rmsprop(learning_rate=0.1, weight_decay=0.1, use_ema=True)
    >>> p = jnp.array([1.0]); s = tx.init(p)
    >>> u, s = tx.update(jnp.array([1.0]), s, p); p = optax.apply_updates(p, u)
    >>> round(float(p[0]), 4), round(float(oj.ema_params(s)[0]), 4)  # EMA: 0.99 * 1 + 0.01 * p
    (0.6738, 0.9967)

  References:
    Tieleman and Hinton, Lecture 6.5 - rmsprop, COURSERA 2012; ``tf_keras.optimizers.RMSprop``
    (tf_keras 2.21).

  Framework parity (golden tests: tf_keras 2.21.0, tensorflow-cpu 2.21.0):
  """
  # locals() is exactly the arguments here, so the call follows the signature.
  return _keras_common.rmsprop(**locals(), keras3=False)


rmsprop.__doc__ += _keras_common.PARITY
