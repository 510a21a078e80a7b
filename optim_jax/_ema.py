"""Exponential moving average of the parameters (Keras's ``use_ema``), kept in the optimizer state."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim_jax import _base, _tree, _validation
from optim_jax._averaging import AveragedSgdState

_INT32_MAX = 2**31 - 1


class ParamEmaState(NamedTuple):
  """State of `param_ema`: its own update count and the averaged parameters."""

  count: jax.Array
  ema: optax.Params


def param_ema(
  momentum: Any = 0.99,
  overwrite_frequency: int | None = None,
  *,
  warm_start: bool = False,
  state_dtype: Any = None,
) -> optax.GradientTransformation:
  r"""Keeps an exponential moving average of the parameters in the optimizer state (Keras's EMA).

  With :math:`p_t = p_{t-1} + u_t` the parameters after update :math:`t` (1-based) and :math:`m`
  the momentum:

  .. math::
    a_0 = p_0, \qquad a_t = m\, a_{t-1} + (1 - m)\, p_t

  With ``warm_start=True`` the momentum is 0 on the first update, so :math:`a_1 = p_1` (Keras 3);
  with ``warm_start=False`` the average starts at the initial parameters (tf_keras). Every
  ``overwrite_frequency`` updates (after updates f, 2f, ...) the returned update is
  :math:`a_t - p_{t-1}` instead of :math:`u_t`, so ``optax.apply_updates`` moves the parameters
  onto the average; the incoming updates pass through unchanged otherwise.

  This is not ``optax.ema``: that one is a (debiased) moving average of the *updates* flowing
  through a chain, a smoothed step; this one averages the *parameters* themselves, which is what
  Keras's ``use_ema`` and Polyak averaging mean. Put it last in a chain (it needs the final
  updates and ``params``). Read the average with :func:`optim_jax.ema_params`; to end training on it,
  as Keras's ``finalize_variable_values`` (``model.fit`` calls it) does::

    params = oj.ema_params(opt_state)

  Args:
    momentum: :math:`m` in [0, 1] (a number, an array, or a schedule of the EMA's update count).
    overwrite_frequency: None (never overwrite) or an int >= 1; one beyond 2**31 - 1 is never
      reached by the int32 count (which saturates there) and never overwrites.
    warm_start: force the momentum to 0 on the first update (Keras 3) instead of starting the
      average at the initial parameters (tf_keras). It also picks each version's rounding of
      :math:`1 - m` for a float momentum: rounded once from the Python float (tf_keras) or computed
      in the compute dtype (Keras 3); they differ by about 1e-6 relative in float32 for m = 0.99.
    state_dtype: dtype of the average; the parameter's dtype when None (as Keras). A float32
      average for bfloat16 parameters keeps increments that bfloat16 would round away.

  Returns:
    An ``optax.GradientTransformation`` whose ``update`` requires ``params``.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = optax.chain(optax.sgd(1.0), oj.param_ema(0.5, overwrite_frequency=2))
    >>> params = jnp.array([0.0]); state = tx.init(params)
    >>> for _ in range(2):
    ...   updates, state = tx.update(jnp.array([-1.0]), state, params)
    ...   params = optax.apply_updates(params, updates)
    >>> float(params[0]), float(oj.ema_params(state)[0])  # a = 0.5, then 0.5*0.5 + 0.5*2
    (1.25, 1.25)

  References:
    Polyak and Juditsky, Acceleration of stochastic approximation by averaging, 1992;
    ``tf_keras.optimizers.Optimizer(use_ema=...)`` (2.21), ``keras.optimizers.Optimizer`` (3.15).
  """
  _validation.hyperparameter("momentum", momentum, schedule=True, lo=0.0, hi=1.0)
  _validation.integer("overwrite_frequency", overwrite_frequency, lo=1, none=True)
  _validation.flag("warm_start", warm_start)
  state_dtype = _validation.float_dtype("state_dtype", state_dtype)

  def init_fn(params):
    # A copy, not the parameter itself: state and params may both be donated to a jitted step.
    def copy(p):
      z = _base.like(p, state_dtype)
      return z + p.astype(z.dtype)

    return ParamEmaState(count=_base.count_state_init(), ema=jax.tree.map(copy, params))

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError(_base.NO_PARAMS_MSG)
    count = state.count
    first = count == 0
    if overwrite_frequency is None or (
      _validation.is_int(overwrite_frequency) and overwrite_frequency > _INT32_MAX
    ):
      overwrite = None  # beyond the int32 count: never reached
    else:
      f = jnp.asarray(overwrite_frequency).astype(jnp.int32)
      # (count + 1) % f == 0 without overflow; f <= 0 (only reachable when injected) never overwrites.
      overwrite = (f > 0) & (count % jnp.maximum(f, 1) == f - 1)
    m_now = _base.value_at(momentum, count)

    def one(u, p, a):
      # The wider of the two (jnp.promote_types refuses bfloat16/float32 under strict promotion).
      cd = _base.compute_dtype(max(jnp.dtype(p.dtype), jnp.dtype(a.dtype), key=lambda d: d.itemsize))
      m = _base.hyper(m_now, cd)
      # tf_keras multiplies by the Python float 1 - m (rounded once); Keras 3 computes 1 - m in the
      # variable's dtype. The two differ by up to 1e-6 relative in float32 for m = 0.99.
      if not warm_start and _validation.is_static_number(m_now):
        one_minus = _base.hyper(1.0 - float(m_now), cd)
      else:
        one_minus = 1 - m
      if warm_start:
        m = jnp.where(first, jnp.zeros_like(m), m)
        one_minus = jnp.where(first, jnp.ones_like(m), one_minus)
      # The parameters after this step, rounded as optax.apply_updates rounds them.
      p_new = (p.astype(cd) + u.astype(cd)).astype(p.dtype).astype(cd)
      a_new = (m * a.astype(cd) + one_minus * p_new).astype(a.dtype)
      if overwrite is None:
        return u, a_new
      onto_avg = (a_new.astype(cd) - p.astype(cd)).astype(u.dtype)
      return jnp.where(overwrite, onto_avg, u), a_new

    out, ema = _tree.unzip(jax.tree.map(one, updates, params, state.ema), updates, 2)
    return out, ParamEmaState(count=optax.safe_increment(count), ema=ema)

  return optax.GradientTransformation(init_fn, update_fn)


def _is_average_state(x: Any) -> bool:
  return isinstance(x, (ParamEmaState, AveragedSgdState))


def ema_params(opt_state: Any, params: optax.Params | None = None) -> optax.Params:
  """The averaged parameters held in an optimizer state, found anywhere inside it.

  Works for the state of `param_ema` (and of the Keras presets with ``use_ema=True``) and for the
  Polyak average ``ax`` of ``oj.torch.asgd``, inside ``optax.chain``, ``optax.inject_hyperparams``,
  ``optax.masked``, ``optax.MultiSteps`` or any other pytree of states. Keras's
  ``finalize_variable_values`` (called by ``model.fit`` at the end of training) is::

    params = oj.ema_params(opt_state)

  (with a ``state_dtype`` other than the parameters', cast back:
  ``jax.tree.map(lambda p, a: a.astype(p.dtype), params, oj.ema_params(opt_state))``).

  With parameter groups (``param_groups=`` of the ``oj.torch`` presets, `oj.param_groups`,
  ``optax.partition``) each group's state holds the average of its own leaves: the result merges
  them into one tree. Leaves that no average covers (parameters in no group, which are never
  updated) are taken from ``params``; without ``params`` they are a ValueError naming the leaf.

  Args:
    opt_state: an optimizer state holding exactly one parameter average, or one per parameter
      group.
    params: None, or the current parameters: the value of the leaves no average covers.

  Returns:
    The averaged parameters, a pytree shaped like the parameters (in the average's dtype).

  Raises:
    ValueError: if the state holds no average, or more than one outside parameter groups, or a
      leaf is covered by no average and ``params`` is not given.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = optax.chain(optax.sgd(1.0), oj.param_ema(0.5))
    >>> params = jnp.array([0.0]); state = tx.init(params)
    >>> updates, state = tx.update(jnp.array([-2.0]), state, params)
    >>> float(oj.ema_params(state)[0])  # 0.5 * 0 + 0.5 * 2
    1.0
  """
  what = "parameter averages (oj.param_ema, the Keras presets with use_ema=True, oj.torch.asgd)"
  found = [x for x in jax.tree.leaves(opt_state, is_leaf=_is_average_state) if _is_average_state(x)]
  averages = [x.ema if isinstance(x, ParamEmaState) else x.ax for x in found]
  if averages and all(_tree.has_masked(a) for a in averages):
    # each over a part of the leaves (parameter groups, optax.masked): one tree
    return _tree.merge_masked(averages, "parameter averages of the groups", fallback=params)
  x = _tree.find_one(opt_state, _is_average_state, what, "Pass the sub-state that holds the one you want.")
  return x.ema if isinstance(x, ParamEmaState) else x.ax
