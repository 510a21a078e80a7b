"""tf_keras (Keras 2, ``tf_keras.optimizers``) optimizers and learning-rate schedules, with its names."""

from __future__ import annotations

from typing import Any

from optim_jax import _keras_common, _keras_schedules

__all__ = [
  "cosine_decay",
  "cosine_decay_restarts",
  "exponential_decay",
  "inverse_time_decay",
  "piecewise_constant_decay",
  "polynomial_decay",
  "rmsprop",
]


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
  jit_compile: bool = True,
  name: str = "RMSprop",
  *,
  exclude_from_weight_decay: Any = None,
  mesh: Any = None,
  lr: Any = None,
  is_legacy_optimizer: bool = False,
  axis_name: Any = None,
) -> _keras_common.KerasOptimizer:
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

  Excluded variables: ``exclude_from_weight_decay`` (or the returned object's method
  ``exclude_from_weight_decay(var_list, var_names)``, as Keras users call it before training) takes
  leaves out of the weight decay; names are regular expressions searched in each leaf's path, its keys
  joined by ``/`` (``"dense/bias"``), each tried in turn as tf_keras does.

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
    jit_compile: True or False; no effect here (jit is the caller's; tf_keras itself turns XLA off
      without a GPU).
    name: a string; no effect here.
    exclude_from_weight_decay: keyword-only, not a Keras argument (Keras has the method): None, a
      list of regular expressions searched in the paths (Keras's ``var_names``), a pytree of bools
      shaped like the parameters, True for excluded leaves, or a function ``fn(path, leaf) -> bool``
      (Keras's ``var_list``). Checked against the parameters at ``init`` when ``weight_decay`` is
      set: a name, path or mask entry that matches no parameter is a ValueError naming it.
    mesh: keyword-only (tf_keras takes it in ``**kwargs``): None; a DTensor mesh is a ValueError
      (shard the parameters with jax instead).
    lr: keyword-only (tf_keras's deprecated alias in ``**kwargs``): ignored, as tf_keras ignores it,
      with a UserWarning when not None.
    is_legacy_optimizer: keyword-only, the key tf_keras's ``get_config()`` writes: ignored, so that
      ``rmsprop(**config)`` works.
    axis_name: keyword-only, not a Keras argument: None (the default), or a mapped axis name or
      tuple of names over which the leaves are split (inside ``jax.shard_map`` / ``jax.pmap``):
      ``global_clipnorm`` then clips to the norm of the whole parameters (``jax.lax.psum`` of the
      squared norms). See `oj.clip_by_global_norm`.

  Returns:
    A ``KerasOptimizer``: an ``optax.GradientTransformationExtraArgs`` (it unpacks, chains and jits as
    one) with the method ``exclude_from_weight_decay``; its ``update`` needs ``params`` when
    ``weight_decay`` or ``use_ema`` is set.

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
  arguments = dict(locals())  # exactly the arguments, so the call follows the signature
  _keras_common.tf_keras_extras(jit_compile, name, mesh, lr, is_legacy_optimizer)
  extras = ("jit_compile", "name", "mesh", "lr", "is_legacy_optimizer")
  maths = {k: v for k, v in arguments.items() if k not in extras}
  tx = _keras_common.rmsprop(**maths, keras3=False)
  return _keras_common.finish(rmsprop, arguments, tx, _keras_common.KerasOptimizer)


rmsprop.__doc__ += _keras_common.parity(keras3=False)


# --- tf_keras.optimizers.schedules -------------------------------------------------------------------


def exponential_decay(
  initial_learning_rate: float,
  decay_steps: Any,
  decay_rate: Any,
  staircase: bool = False,
  name: str | None = None,
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.exponential_decay(**locals(), cls="oj.tf_keras.exponential_decay")


def piecewise_constant_decay(
  boundaries: Any, values: Any, name: str | None = None
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.piecewise_constant_decay(**locals(), cls="oj.tf_keras.piecewise_constant_decay")


def polynomial_decay(
  initial_learning_rate: float,
  decay_steps: Any,
  end_learning_rate: Any = 0.0001,
  power: Any = 1.0,
  cycle: bool = False,
  name: str | None = None,
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.polynomial_decay(**locals(), cls="oj.tf_keras.polynomial_decay")


def inverse_time_decay(
  initial_learning_rate: float,
  decay_steps: Any,
  decay_rate: Any,
  staircase: bool = False,
  name: str | None = None,
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.inverse_time_decay(**locals(), cls="oj.tf_keras.inverse_time_decay")


def cosine_decay(
  initial_learning_rate: float,
  decay_steps: Any,
  alpha: Any = 0.0,
  name: str | None = None,
  warmup_target: Any = None,
  warmup_steps: Any = 0,
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.cosine_decay(**locals(), cls="oj.tf_keras.cosine_decay")


def cosine_decay_restarts(
  initial_learning_rate: float,
  first_decay_steps: Any,
  t_mul: Any = 2.0,
  m_mul: Any = 1.0,
  alpha: Any = 0.0,
  name: str | None = None,
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.cosine_decay_restarts(**locals(), cls="oj.tf_keras.cosine_decay_restarts")


for _fn in (
  exponential_decay, piecewise_constant_decay, polynomial_decay, inverse_time_decay, cosine_decay,
  cosine_decay_restarts,
):  # fmt: skip
  _fn.__doc__ = _keras_schedules.doc(_fn.__name__, keras3=False)
del _fn
