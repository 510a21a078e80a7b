"""Polyak-Ruppert averaged SGD with PyTorch's decaying step size (``torch.optim.ASGD``)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim_jax import _base, _tree, _validation


class AveragedSgdState(NamedTuple):
  """State of `averaged_sgd`; ``oj.ema_params`` returns ``ax``."""

  count: jax.Array  # int32, number of updates so far
  eta: jax.Array  # step size of the next update, computed at the end of the previous one
  mu: jax.Array  # averaging weight of the next update
  ax: optax.Params  # the running average of the parameters


def _widest(tree: Any) -> jnp.dtype:
  """float64 if some leaf is float64, else float32: the precision eta and mu are computed in."""
  dtypes = [_base.compute_dtype(jnp.result_type(p)) for p in jax.tree.leaves(tree)]
  dtypes = [d for d in dtypes if jnp.issubdtype(d, jnp.floating)]
  return max(dtypes, key=lambda d: d.itemsize, default=jnp.dtype(jnp.float32))


def _like_sharded(x: jax.Array, like: jax.Array) -> jax.Array:
  """``x`` with the sharding of ``like`` where explicit mesh axes make them differ (ZeRO-1: a replicated
  parameter beside its sharded average), since ``jnp.where`` needs both cases sharded alike."""
  have, want = jax.typeof(x).sharding, jax.typeof(like).sharding
  return x if have.spec == want.spec else jax.sharding.reshard(x, want)


def averaged_sgd(
  learning_rate: Any = 0.01,
  lambd: Any = 1e-4,
  alpha: Any = 0.75,
  t0: Any = 1e6,
  *,
  scalar_dtype: Any = jnp.float32,
) -> optax.GradientTransformation:
  r"""SGD with a decaying step size and a Polyak average of the iterates (``torch.optim.ASGD``).

  For update :math:`t` (1-based), with :math:`\eta` and :math:`\mu` from the end of update
  :math:`t-1` (:math:`\eta = \gamma_0`, :math:`\mu = 1` at the first update):

  .. math::
    p &\leftarrow p\,(1 - \lambda\eta) - \eta\, g \\
    \bar x &\leftarrow \bar x + \mu (p - \bar x) \quad (\bar x \leftarrow p \text{ when } \mu = 1) \\
    \eta &\leftarrow \gamma_t / (1 + \lambda \gamma_t t)^{\alpha}, \qquad
    \mu \leftarrow 1 / \max(1, t - t_0)

  where :math:`\gamma_t` is ``learning_rate`` at this update. Because :math:`\eta` is computed at
  the end of the previous update, a schedule takes effect one update late, as in PyTorch. The
  parameters are never replaced by the average; read it with ``oj.ema_params(state)`` (it is
  ``ax`` in the state). Put this transformation last in a chain: the average is taken of
  ``params + update``. The learning rate is built in (do not chain a learning-rate scaling).

  Args:
    learning_rate: :math:`\gamma`, a float (or int) >= 0, a scalar array or a schedule of the update
      count.
    lambd: decay term :math:`\lambda`, finite and >= 0 (a number or a scalar array).
    alpha: power :math:`\alpha`, finite and >= 0, of the step-size decay (a number or a scalar array).
    t0: :math:`t_0`, the update after which averaging starts (before it, ``ax`` is the current
      parameters); any real number or scalar array.
    scalar_dtype: a floating dtype (not None) in which eta and mu are kept between updates. PyTorch keeps them
      in its default dtype, float32 unless ``torch.set_default_dtype(torch.float64)``, even for float64
      parameters; they are computed in the widest parameter precision and rounded to it.

  Returns:
    An ``optax.GradientTransformation`` whose ``update`` needs ``params``.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = oj.averaged_sgd(learning_rate=0.1, t0=0)
    >>> p = jnp.array([1.0]); s = tx.init(p)
    >>> for _ in range(3):
    ...   u, s = tx.update(jnp.array([1.0]), s, p); p = optax.apply_updates(p, u)
    >>> round(float(oj.ema_params(s)[0]), 4)  # mean of the iterates from update 2 on
    0.75

  References:
    Polyak and Juditsky, Acceleration of Stochastic Approximation by Averaging, 1992;
    ``torch.optim.ASGD`` (torch 2.13).
  """
  _validation.learning_rate("learning_rate", learning_rate)
  _validation.hyperparameter("lambd", lambd, lo=0.0)
  _validation.hyperparameter("alpha", alpha, lo=0.0)
  for name, value in (("lambd", lambd), ("alpha", alpha)):
    _validation.finite(name, value, float32=True)
  _validation.hyperparameter("t0", t0)
  scalar_dtype = _validation.float_dtype("scalar_dtype", scalar_dtype, none=False)

  def init_fn(params):
    lr0 = _base.hyper(_base.value_at(learning_rate, _base.count_state_init()), _widest(params))
    return AveragedSgdState(
      count=_base.count_state_init(),
      eta=lr0.astype(scalar_dtype),
      mu=jnp.ones([], scalar_dtype),
      ax=jax.tree.map(_base.like, params),
    )

  def update_fn(updates, state, params=None):
    if params is None:
      raise ValueError(_base.NO_PARAMS_MSG)
    eta, mu = state.eta, state.mu

    def one(g, p, ax):
      cd = _base.compute_dtype(g.dtype)
      e = eta.astype(cd)
      # PyTorch rounds p (1 - lambd eta) to the parameter's dtype (with lambd*eta ~ 1e-6 a bias of
      # up to half an ulp per step), then adds -eta g with one rounding (a fused multiply-add). The
      # update is the difference, exact when p_new is within a factor 2 of p (Sterbenz), so that
      # optax.apply_updates lands on PyTorch's p_new.
      pc = p.astype(cd)
      c = 1 - e * _base.hyper(lambd, cd)
      p_torch = _base.minus_product((c * pc).astype(p.dtype).astype(cd), e, g.astype(cd)).astype(p.dtype)
      u = (p_torch.astype(cd) - pc).astype(g.dtype)
      p_new = (p + u).astype(p.dtype)  # what optax.apply_updates will produce
      pc, axc, m = p_new.astype(cd), ax.astype(cd), mu.astype(cd)
      ax_new = jnp.where(m == 1, _like_sharded(pc, axc), axc + m * (pc - axc))
      return u, ax_new.astype(ax.dtype)

    out, ax = _tree.unzip(jax.tree.map(one, updates, params, state.ax), updates, 2)
    wd = _widest(params)  # computed in double where the parameters are, then rounded (as PyTorch)
    count = optax.safe_increment(state.count)
    t = count.astype(wd)
    lr = _base.hyper(_base.value_at(learning_rate, state.count), wd)
    # lr (1 + x)^-alpha as lr + lr expm1(-alpha log1p(x)): the correction is computed relative to
    # itself, so float32 gets eta to about half an ulp for small x (PyTorch: double, then rounded)
    shrink = jnp.expm1(-_base.hyper(alpha, wd) * jnp.log1p(_base.hyper(lambd, wd) * lr * t))
    eta_new = lr + lr * shrink
    mu_new = 1 / jnp.maximum(jnp.ones([], wd), t - _base.hyper(t0, wd))
    new_state = AveragedSgdState(
      count=count, eta=eta_new.astype(scalar_dtype), mu=mu_new.astype(scalar_dtype), ax=ax
    )
    return out, new_state

  return optax.GradientTransformation(init_fn, update_fn)
