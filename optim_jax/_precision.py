"""Master weights: run an optimizer on float32 copies of low-precision (bf16, fp16) parameters."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from optim_jax import _base, _validation


class MultiPrecisionState(NamedTuple):
  """State of `multi_precision`."""

  master: optax.Params  # master copy of each low-precision leaf; None for the other leaves
  inner_state: optax.OptState


def _needs_master(p: Any, master_dtype: jnp.dtype) -> bool:
  dtype = jnp.result_type(p)
  return jnp.issubdtype(dtype, jnp.floating) and dtype.itemsize < master_dtype.itemsize


def _master_copy_fn(master_dtype):
  return lambda p: p.astype(master_dtype) if _needs_master(p, master_dtype) else None


def multi_precision(
  inner: optax.GradientTransformation, master_dtype: Any = jnp.float32
) -> optax.GradientTransformationExtraArgs:
  r"""Keeps ``master_dtype`` master weights for low-precision parameters and runs ``inner`` on them.

  For every floating leaf narrower than ``master_dtype`` (bfloat16, float16 with the default
  float32), the state holds a master copy :math:`w`. Each update casts the gradient up, runs
  ``inner`` on :math:`w` (``inner`` sees :math:`w` as its ``params`` and allocates its state like
  it), and moves the master:

  .. math::
    u_w = \mathrm{inner}(\mathrm{up}(g), w), \qquad w \leftarrow w + u_w, \qquad
    u = \mathrm{round}(w) - p

  so, given the same gradients, the master trajectory is the ``master_dtype`` run of ``inner``:
  the same operations on the same values. It is bit for bit the same as a ``jax.jit`` step of that
  run (tested for the optim_jax presets over 150 steps); XLA may fuse another ``inner`` differently
  in the two programs and contract a multiply-add into an FMA, which moves single elements by an
  ulp (seen with ``optax.adam``). ``optax.apply_updates(p, u)`` lands on the rounded master. The
  landing is exact
  whenever :math:`\mathrm{round}(w) - p` is representable in the parameter's dtype, which holds
  whenever the new value is within a factor 2 of the old one (Sterbenz), i.e. for every step
  smaller than half the parameter's magnitude. A parameter that changes more in one update (for
  example crossing zero) lands on the nearest value ``p + u`` can reach, one rounding away; the
  master is unaffected and the next update aims at the rounded master again, so nothing
  accumulates. Leaves that are already at least as wide as ``master_dtype``, and non-floating
  leaves, pass through ``inner`` unchanged: with float32 parameters this wrapper is a no-op (its
  state holds no copy).

  Args:
    inner: the optimizer to run on the master weights, an ``optax.GradientTransformation``
      (TypeError otherwise; any transformation or chain; extra arguments of ``update`` are
      forwarded to it).
    master_dtype: a floating dtype for the master weights, float32 by default (TypeError if it is
      not a dtype, ValueError if it is not floating).

  Returns:
    An ``optax.GradientTransformationExtraArgs`` whose ``update`` needs ``params``.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = oj.multi_precision(optax.sgd(1e-3))
    >>> p = jnp.ones(1, jnp.bfloat16); s = tx.init(p)
    >>> for _ in range(10):
    ...   u, s = tx.update(jnp.ones(1, jnp.bfloat16), s, p); p = optax.apply_updates(p, u)
    >>> float(p[0]), round(float(s.master[0]), 6)  # plain bf16 SGD would stay at 1.0
    (0.98828125, 0.99)

  References:
    Micikevicius et al., Mixed Precision Training, ICLR 2018; Paddle's ``multi_precision``.
  """
  if not isinstance(inner, optax.GradientTransformation):
    raise TypeError(f"inner should be an optax.GradientTransformation, got {type(inner).__name__} {inner!r}")
  master_dtype = _validation.float_dtype("master_dtype", master_dtype, none=False, exc=ValueError)
  inner = optax.with_extra_args_support(inner)

  def init_fn(params):
    master = jax.tree.map(_master_copy_fn(master_dtype), params)
    return MultiPrecisionState(master=master, inner_state=inner.init(_work(params, master)))

  def _work(params, master):
    leaves, treedef = jax.tree.flatten(params)
    masters = treedef.flatten_up_to(master)
    return treedef.unflatten([p if m is None else m for p, m in zip(leaves, masters, strict=True)])

  def update_fn(updates, state, params=None, **extra_args):
    if params is None:
      raise ValueError(_base.NO_PARAMS_MSG)
    g_leaves, treedef = jax.tree.flatten(updates)
    p_leaves = treedef.flatten_up_to(params)
    m_leaves = treedef.flatten_up_to(state.master)
    work_g = [g if m is None else g.astype(master_dtype) for g, m in zip(g_leaves, m_leaves, strict=True)]
    work_p = [p if m is None else m for p, m in zip(p_leaves, m_leaves, strict=True)]
    inner_u, inner_state = inner.update(
      treedef.unflatten(work_g), state.inner_state, treedef.unflatten(work_p), **extra_args
    )
    out, master = [], []
    for g, p, m, u in zip(g_leaves, p_leaves, m_leaves, treedef.flatten_up_to(inner_u), strict=True):
      if m is None:
        out.append(u)
        master.append(None)
        continue
      m_new = (m + u.astype(master_dtype)).astype(master_dtype)  # optax.apply_updates in master_dtype
      target = m_new.astype(p.dtype)
      out.append((target.astype(master_dtype) - p.astype(master_dtype)).astype(g.dtype))
      master.append(m_new)
    new_state = MultiPrecisionState(master=treedef.unflatten(master), inner_state=inner_state)
    return treedef.unflatten(out), new_state

  return optax.GradientTransformationExtraArgs(init_fn, update_fn)
