"""Flax's ``TrainState.apply_gradients`` with extra arguments for ``tx.update`` (SAG's ``index``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optax

# flax.training.train_state.OVERWRITE_WITH_GRADIENT, spelled out so that flax is not imported.
_OVERWRITE_WITH_GRADIENT = "_overwrite_with_gradient"


def apply_gradients(state: Any, grads: Any, /, **extra_args: Any) -> Any:
  """A flax ``TrainState``'s ``apply_gradients(grads=grads)`` that passes ``extra_args`` to ``tx.update``.

  ``flax.training.train_state.TrainState.apply_gradients(grads=..., **kwargs)`` takes its
  keyword arguments as dataclass fields to replace, so it cannot pass an extra argument such as
  the batch index of ``oj.paddle.asgd`` / ``oj.sag_average`` (``index=``) to the transformation.
  This does what it does (the same ``_overwrite_with_gradient`` handling, ``optax.apply_updates``,
  ``step + 1``) and calls ``state.tx.update(grads, state.opt_state, state.params, **extra_args)``.
  To replace other fields as well, call ``.replace(...)`` on the result. (``nnx.Optimizer.update``
  forwards its keyword arguments already: ``optimizer.update(model, grads, index=i)``.)

  Any object with ``step``, ``params``, ``opt_state``, ``tx`` and a dataclass ``replace`` works
  (a ``TrainState`` or a subclass of it); flax is not imported.

  Args:
    state: a flax ``TrainState`` (or a subclass).
    grads: gradients with the structure of ``state.params``.
    **extra_args: keyword arguments of ``tx.update`` (e.g. ``index=`` of SAG); transformations in an
      ``optax.chain`` that do not take them ignore them.

  Returns:
    ``state.replace(step=state.step + 1, params=..., opt_state=...)``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> from flax.training import train_state
    >>> tx = oj.paddle.asgd(learning_rate=1.0, batch_num=2)
    >>> state = train_state.TrainState.create(apply_fn=None, params=jnp.zeros(1), tx=tx)
    >>> state = oj.apply_gradients(state, jnp.array([2.0]), index=1)  # d = 2, / min(1, 2)
    >>> state = oj.apply_gradients(state, jnp.array([4.0]), index=1)  # slot 1 again: d = 4, / 2
    >>> int(state.step), float(state.params[0])
    (2, -4.0)
  """
  overwrite = isinstance(grads, Mapping) and _OVERWRITE_WITH_GRADIENT in grads
  if overwrite:
    grads_with_opt, params_with_opt = grads["params"], state.params["params"]
  else:
    grads_with_opt, params_with_opt = grads, state.params
  updates, opt_state = state.tx.update(grads_with_opt, state.opt_state, params_with_opt, **extra_args)
  new_params_with_opt = optax.apply_updates(params_with_opt, updates)
  if overwrite:
    params = {"params": new_params_with_opt, _OVERWRITE_WITH_GRADIENT: grads[_OVERWRITE_WITH_GRADIENT]}
  else:
    params = new_params_with_opt
  return state.replace(step=state.step + 1, params=params, opt_state=opt_state)
