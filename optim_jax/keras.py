"""Keras 3 (``keras.optimizers``) optimizers as optax chains, with Keras 3's names and checks."""

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
  *,
  axis_name: Any = None,
) -> optax.GradientTransformation:
  r"""Keras 3's ``keras.optimizers.RMSprop``: epsilon inside the square root, lr inside the momentum.

  With :math:`\eta_t` = ``learning_rate`` at update :math:`t`, :math:`\rho` = ``rho``,
  :math:`\epsilon` = ``epsilon``, :math:`\mu` = ``momentum`` and :math:`\lambda` = ``weight_decay``,
  after clipping :math:`g`:

  .. math::
    v &\leftarrow \rho v + (1-\rho) g^2, \qquad mg \leftarrow \rho\, mg + (1-\rho) g
        \quad(\text{if centered}) \\
    m &\leftarrow \mu m + \eta_t\, g / \sqrt{v + \epsilon}
        \quad(\sqrt{\max(v - mg^2, 0) + \epsilon}\ \text{if centered}), \qquad
    p \leftarrow p - m - \eta_t \lambda p

  Clipping: at most one of ``clipnorm`` (per variable), ``clipvalue`` and ``global_clipnorm`` may
  be set (ValueError otherwise, also for a 0, as in Keras 3). A value of 0 means off. A non-finite
  global norm makes every gradient NaN (the Keras rule). With ``axis_name`` the global norm
  is taken over the devices of those mapped axes too.

  EMA (``use_ema``): on the first update the average is set to the updated parameters (Keras 3
  forces the EMA momentum to 0 then), afterwards it is updated after each step; every
  ``ema_overwrite_frequency`` steps the parameters are replaced by it (None: never). Read it with
  ``oj.ema_params(state)``.

  Values out of range (NaN and inf included, except for the clip options) raise ValueError; a
  schedule or a non-number for ``rho``, ``momentum``, ``epsilon`` or a clip option, or a non-bool
  flag, is a TypeError.

  Args:
    learning_rate: :math:`\eta`, a Python float >= 0, finite in float32, or a schedule of the
      update count; any other number (an int, a NumPy float32) raises ValueError, as in Keras 3.
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
    ema_overwrite_frequency: None (the default) or 0: never overwrite; an int >= 1 (not a bool):
      replace the parameters by the average every this many updates (ValueError otherwise);
      checked and used only with ``use_ema``.
    axis_name: keyword-only, not a Keras argument: None (the default), or a mapped axis name or
      tuple of names over which the leaves are split (inside ``jax.shard_map`` / ``jax.pmap``):
      ``global_clipnorm`` then clips to the norm of the whole parameters (``jax.lax.psum`` of the
      squared norms). See `oj.clip_by_global_norm`.

  Returns:
    An ``optax.GradientTransformation``; its ``update`` needs ``params`` when ``weight_decay`` or
    ``use_ema`` is set.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = oj.keras.rmsprop(learning_rate=0.1, weight_decay=0.1, use_ema=True)
    >>> p = jnp.array([1.0]); s = tx.init(p)
    >>> u, s = tx.update(jnp.array([1.0]), s, p); p = optax.apply_updates(p, u)
    >>> round(float(p[0]), 4), round(float(oj.ema_params(s)[0]), 4)  # 1 - 0.1/sqrt(0.1) - 0.01
    (0.6738, 0.6738)

  References:
    Tieleman and Hinton, Lecture 6.5 - rmsprop, COURSERA 2012; ``keras.optimizers.RMSprop``
    (Keras 3.15).

  Framework parity (golden tests: keras 3.15.1, TensorFlow backend, tensorflow-cpu 2.21.0):
  """
  # locals() is exactly the arguments here, so the call follows the signature.
  return _keras_common.rmsprop(**locals(), keras3=True)


rmsprop.__doc__ += _keras_common.PARITY
