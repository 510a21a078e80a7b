"""Keras 3 (``keras.optimizers``) optimizers and learning-rate schedules, with Keras 3's names and checks."""

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
  ema_overwrite_frequency: int | None = None,
  loss_scale_factor: Any = None,
  gradient_accumulation_steps: int | None = None,
  name: str | None = None,
  *,
  exclude_from_weight_decay: Any = None,
  decay: Any = None,
  axis_name: Any = None,
) -> _keras_common.Keras3Optimizer:
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

  Excluded variables: ``exclude_from_weight_decay`` (or the returned object's method
  ``exclude_from_weight_decay(var_list, var_names)``, as Keras users call it before training) takes
  leaves out of the weight decay; names are regular expressions searched in each leaf's path, its keys
  joined by ``/`` (``"dense/bias"``), joined into one pattern with ``|`` as Keras 3 does.

  Loss scaling (``loss_scale_factor``): Keras 3 differentiates ``opt.scale_loss(loss)`` (the loss
  times the factor) and divides the gradients by the factor before anything else; so does ``update``,
  and the returned object has ``scale_loss``. Gradient accumulation (``gradient_accumulation_steps``
  :math:`s`): as Keras 3, ``update`` sums the gradients and returns zero updates, and on every
  :math:`s`-th call applies the step above to the mean of the last :math:`s` gradients; the schedules
  (learning rate, weight decay) are then evaluated at the number of calls before it (Keras's
  ``_iterations``: :math:`s-1, 2s-1, \dots`), and the EMA is updated on every call with Keras's
  ``iterations`` (calls // :math:`s`) deciding its first step and its overwrites.

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
    loss_scale_factor: None (the default) or a finite number > 0: the gradients are divided by it
      first (differentiate ``scale_loss(loss)``).
    gradient_accumulation_steps: None (the default) or 0: off; an int >= 2: accumulate this many
      gradients per update (ValueError otherwise, Keras 3's message); structural (static under
      ``optax.inject_hyperparams``).
    name: None or a string without '/' (ValueError otherwise, as Keras 3); no effect here.
    exclude_from_weight_decay: keyword-only, not a Keras argument (Keras has the method): None, a
      list of regular expressions searched in the paths (Keras's ``var_names``), a pytree of bools
      shaped like the parameters, True for excluded leaves, or a function ``fn(path, leaf) -> bool``
      (Keras's ``var_list``). Checked against the parameters at ``init`` when ``weight_decay`` is
      set: a name, path or mask entry that matches no parameter is a ValueError naming it.
    decay: keyword-only, Keras 3's removed argument: ignored, with Keras 3's UserWarning when not None.
    axis_name: keyword-only, not a Keras argument: None (the default), or a mapped axis name or
      tuple of names over which the leaves are split (inside ``jax.shard_map`` / ``jax.pmap``):
      ``global_clipnorm`` then clips to the norm of the whole parameters (``jax.lax.psum`` of the
      squared norms). See `oj.clip_by_global_norm`.

  Returns:
    A ``KerasOptimizer``: an ``optax.GradientTransformationExtraArgs`` (it unpacks, chains and jits as
    one) with the methods ``exclude_from_weight_decay`` and ``scale_loss``; its ``update`` needs
    ``params`` when ``weight_decay`` or ``use_ema`` is set.

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
  arguments = dict(locals())  # exactly the arguments, so the call follows the signature
  _keras_common.keras3_extras(name, decay)
  maths = {k: v for k, v in arguments.items() if k not in ("name", "decay")}
  tx = _keras_common.rmsprop(**maths, keras3=True)
  return _keras_common.finish(rmsprop, arguments, tx, _keras_common.Keras3Optimizer)


rmsprop.__doc__ += _keras_common.parity(keras3=True)


# --- keras.optimizers.schedules ----------------------------------------------------------------------


def exponential_decay(
  initial_learning_rate: float,
  decay_steps: Any,
  decay_rate: Any,
  staircase: bool = False,
  name: str | None = "ExponentialDecay",
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.exponential_decay(**locals(), cls="oj.keras.exponential_decay")


def piecewise_constant_decay(
  boundaries: Any, values: Any, name: str | None = "PiecewiseConstant"
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.piecewise_constant_decay(**locals(), cls="oj.keras.piecewise_constant_decay")


def polynomial_decay(
  initial_learning_rate: float,
  decay_steps: Any,
  end_learning_rate: Any = 0.0001,
  power: Any = 1.0,
  cycle: bool = False,
  name: str | None = "PolynomialDecay",
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.polynomial_decay(**locals(), cls="oj.keras.polynomial_decay")


def inverse_time_decay(
  initial_learning_rate: float,
  decay_steps: Any,
  decay_rate: Any,
  staircase: bool = False,
  name: str | None = "InverseTimeDecay",
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.inverse_time_decay(**locals(), cls="oj.keras.inverse_time_decay")


def cosine_decay(
  initial_learning_rate: float,
  decay_steps: Any,
  alpha: Any = 0.0,
  name: str | None = "CosineDecay",
  warmup_target: Any = None,
  warmup_steps: Any = 0,
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.cosine_decay(**locals(), cls="oj.keras.cosine_decay")


def cosine_decay_restarts(
  initial_learning_rate: float,
  first_decay_steps: Any,
  t_mul: Any = 2.0,
  m_mul: Any = 1.0,
  alpha: Any = 0.0,
  name: str | None = "SGDRDecay",
) -> _keras_schedules.KerasSchedule:
  return _keras_schedules.cosine_decay_restarts(**locals(), cls="oj.keras.cosine_decay_restarts")


for _fn in (
  exponential_decay, piecewise_constant_decay, polynomial_decay, inverse_time_decay, cosine_decay,
  cosine_decay_restarts,
):  # fmt: skip
  _fn.__doc__ = _keras_schedules.doc(_fn.__name__, keras3=True)
del _fn
