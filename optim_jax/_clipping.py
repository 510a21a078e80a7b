"""Gradient clipping: by value, by per-leaf norm and by global p-norm, with the frameworks' edge cases.

Every clip takes ``mask=``: the leaves it selects are clipped (and, for the global norm, counted), the
others pass unchanged, as Paddle's ``need_clip=False`` parameters. `masked` checks a mask against the
tree at every ``init``/``update`` and names the path of a leaf it does not match.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import optax

from optim_jax import _base, _tree, _validation

NonFinite = Literal["scale", "nan", "skip_nan"]


def _is_masked(x: Any) -> bool:
  return isinstance(x, optax.MaskedNode)


def _no_leaf(x: Any) -> bool:
  return x is None or _is_masked(x)


def resolve_mask(mask: Any, tree: Any, where: str = "mask") -> Any:
  """``mask`` (a bool pytree shaped like ``tree`` or a prefix of it, or a function of the tree
  returning one) as a bool pytree of ``tree``'s structure. Leaves already masked out
  (``optax.MaskedNode``, inside ``optax.masked`` or a parameter group) and None need no entry and
  are kept.

  Raises TypeError for an entry that is not a Python bool and ValueError for a leaf without an entry
  or an entry without a leaf, naming the leaf's path (its keys joined by ``/``).
  """
  if callable(mask):
    mask = mask(tree)
  items = jax.tree_util.tree_flatten_with_path(mask, is_leaf=_is_masked)[0]
  entries = []
  for path, m in items:
    if _is_masked(m):
      continue
    if not isinstance(m, (bool, np.bool_)):
      raise TypeError(
        f"{where}: a mask holds Python bools, got {type(m).__name__} {m!r} at {_tree.path_name(path)!r}"
      )
    entries.append((tuple(path), bool(m)))
  leaves, treedef = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_no_leaf)
  out, used = [], set()
  for path, leaf in leaves:
    path = tuple(path)
    hit = next((i for i, (mpath, _) in enumerate(entries) if path[: len(mpath)] == mpath), None)
    if hit is not None:
      used.add(hit)
    if _no_leaf(leaf):
      out.append(leaf)
    elif hit is None:
      raise ValueError(f"{where}: the mask has no entry for the parameter {_tree.path_name(path)!r}")
    else:
      out.append(entries[hit][1])
  for i, (mpath, _) in enumerate(entries):
    if i not in used:
      raise ValueError(f"{where}: the mask entry {_tree.path_name(mpath)!r} is not a parameter")
  return jax.tree.unflatten(treedef, out)


def masked(tx: optax.GradientTransformation, mask: Any, where: str = "mask") -> optax.GradientTransformation:
  """``optax.masked(tx, mask)`` with the mask checked by `resolve_mask` (errors name the path);
  ``tx`` itself when ``mask`` is None."""
  if mask is None:
    return tx
  if not callable(mask) and not jax.tree.leaves(mask, is_leaf=_is_masked):
    raise TypeError(f"{where} should be a pytree of bools or a function of the parameters, got {mask!r}")
  return optax.masked(tx, lambda tree: resolve_mask(mask, tree, where))


def clip_by_value(min_value: Any, max_value: Any, *, mask: Any = None) -> optax.GradientTransformation:
  r"""Clips every element to ``[min_value, max_value]`` (bounds may be asymmetric).

  .. math::
    g \leftarrow \min(\max(g, a), b)

  with :math:`a` = ``min_value`` and :math:`b` = ``max_value``, elementwise: NaN is kept, ±inf
  becomes a bound, and with ``min_value > max_value`` every element becomes ``max_value`` (PyTorch's
  ``clip_grad_value_`` with a negative value). Presets validate the bounds the way their framework
  does; this primitive accepts any pair.

  Args:
    min_value: the lower bound :math:`a`, a real number < inf or a scalar array (not a schedule).
    max_value: the upper bound :math:`b`, a real number > -inf or a scalar array (not a schedule).
    mask: None (the default: every leaf), or a pytree of Python bools shaped like the parameters (or
      a prefix of them), or a function of the parameters returning one: only the selected leaves are
      clipped. A mask that does not match the parameters is an error naming the leaf's path.

  Returns:
    A stateless ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.clip_by_value(-1.0, 0.5)
    >>> u, _ = tx.update(jnp.array([-3.0, 0.2, 2.0]), tx.init(jnp.zeros(3)))
    >>> [round(float(x), 4) for x in u]
    [-1.0, 0.2, 0.5]

  References:
    ``paddle.nn.ClipGradByValue``; ``torch.nn.utils.clip_grad_value_``; Keras's ``clipvalue``.
  """
  # an infinite bound on the wrong side would map every gradient to it
  _validation.hyperparameter("min_value", min_value, hi=math.inf, hi_open=True)
  _validation.hyperparameter("max_value", max_value, lo=-math.inf, lo_open=True)

  def clip(updates):
    def one(g):
      return jnp.minimum(jnp.maximum(g, _base.hyper(min_value, g.dtype)), _base.hyper(max_value, g.dtype))

    return jax.tree.map(one, updates)

  return masked(optax.stateless(lambda updates, params: clip(updates)), mask)


def _leaf_norm_sq(g: jax.Array, dtype) -> jax.Array:
  gc = g.astype(dtype)
  return jnp.sum(gc * gc)


def clip_by_norm(max_norm: Any, *, mask: Any = None) -> optax.GradientTransformation:
  r"""Clips each leaf to a maximum L2 norm.

  .. math::
    g \leftarrow g \cdot \frac{c}{\max(\lVert g \rVert_2,\ c)}

  for every leaf :math:`g` separately, with :math:`c` = ``max_norm``. This is Paddle's ``ClipGradByNorm`` and
  Keras's ``clipnorm`` (``tf.clip_by_norm``), which act per tensor. optax has no per-leaf norm clip:
  ``optax.clip_by_block_rms`` clips the RMS :math:`\lVert g\rVert/\sqrt{n}`, not the norm. A leaf whose norm
  is inf gets 0 in its finite entries and NaN in its infinite ones; a NaN norm gives NaN.

  Args:
    max_norm: the largest allowed L2 norm :math:`c` of each leaf, a number or scalar array > 0
      (not a schedule); ``inf`` leaves every leaf unchanged, non-finite ones too.
    mask: None (the default: every leaf), or a pytree of Python bools shaped like the parameters (or
      a prefix of them), or a function of the parameters returning one: only the selected leaves are
      clipped. A mask that does not match the parameters is an error naming the leaf's path.

  Returns:
    A stateless ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.clip_by_norm(1.0)
    >>> g = {"a": jnp.array([3.0, 4.0]), "b": jnp.array([0.5])}
    >>> u, _ = tx.update(g, tx.init(g))
    >>> [round(float(x), 4) for x in u["a"]], float(u["b"][0])  # norm 5 -> 1; norm 0.5 kept
    ([0.6, 0.8], 0.5)

  References:
    ``paddle.nn.ClipGradByNorm``; ``tf.clip_by_norm`` (Keras's ``clipnorm``).
  """
  _validation.hyperparameter("max_norm", max_norm, lo=0.0, lo_open=True)

  def clip(updates):
    def one(g):
      cd = _base.compute_dtype(g.dtype)
      c = _base.hyper(max_norm, cd)
      norm = jnp.sqrt(_leaf_norm_sq(g, cd))
      # 1 where the norm is within c (c / c before): max_norm=inf leaves every leaf unchanged
      coef = jnp.where(norm <= c, jnp.ones_like(norm), c / norm)
      return (g.astype(cd) * coef).astype(g.dtype)

    return jax.tree.map(one, updates)

  return masked(optax.stateless(lambda updates, params: clip(updates)), mask)


def global_norm(updates: Any, norm_type: float = 2.0, *, axis_name: Any = None) -> jax.Array:
  r"""The p-norm of all leaves together, accumulated in float32 (float64 if any leaf is float64).

  .. math::
    n = \Big(\sum_{\text{leaves}} \sum |g|^p\Big)^{1/p}, \qquad
    n = \max_{\text{leaves}} \max |g| \ \text{ for } p = \infty

  with :math:`p` = ``norm_type``. An empty tree has norm 0. With ``axis_name`` the sums (maxima
  for :math:`p = \infty`) are also taken over the devices of those mapped axes, before the root.

  Args:
    updates: a pytree of arrays.
    norm_type: :math:`p`, a float > 0 or ``float('inf')`` (not checked here;
      `clip_by_global_norm` checks it).
    axis_name: None (the default: this device's leaves only), or a mapped axis name or tuple of
      names (inside ``jax.shard_map`` or ``jax.pmap``) whose devices hold parts of the leaves.

  Returns:
    A scalar array, float32 (float64 if any leaf is float64).

  Example:
    >>> import jax.numpy as jnp
    >>> from optim_jax._clipping import global_norm
    >>> g = {"a": jnp.array([3.0]), "b": jnp.array([-4.0, 0.0])}
    >>> float(global_norm(g)), float(global_norm(g, 1.0)), float(global_norm(g, float("inf")))
    (5.0, 7.0, 4.0)
  """
  leaves = [g for g in jax.tree.leaves(updates)]
  acc = jnp.float64 if any(g.dtype == jnp.float64 for g in leaves) else jnp.float32
  if not leaves:
    return jnp.zeros([], acc)
  if math.isinf(norm_type):
    n = jnp.max(jnp.stack([jnp.max(jnp.abs(g.astype(acc)), initial=0.0) for g in leaves]))
    return n if axis_name is None else jax.lax.pmax(n, axis_name)
  p = float(norm_type)
  if p == 2.0:
    total = sum(_leaf_norm_sq(g, acc) for g in leaves)
  else:
    total = sum(jnp.sum(jnp.abs(g.astype(acc)) ** p) for g in leaves)
  if axis_name is not None:  # the partial sums of each device's part of the leaves
    total = jax.lax.psum(total, axis_name)
  if p == 2.0:
    return jnp.sqrt(total)
  return total if p == 1.0 else total ** (1.0 / p)


def _raise_nonfinite(norm, norm_type):
  if not np.isfinite(norm):
    raise RuntimeError(
      f"The total norm of order {norm_type} for gradients from `parameters` is non-finite, so it "
      "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
      "anyway, set `error_if_nonfinite=False`"
    )


def clip_by_global_norm(
  max_norm: Any,
  *,
  norm_type: float = 2.0,
  eps: Any = 0.0,
  error_if_nonfinite: bool = False,
  nonfinite: NonFinite = "scale",
  mask: Any = None,
  axis_name: Any = None,
) -> optax.GradientTransformation:
  r"""Clips all leaves together to a maximum global p-norm.

  .. math::
    n = \Big(\sum_{\text{leaves}} \sum |g|^p\Big)^{1/p}, \qquad
    g \leftarrow g \cdot \frac{c}{\max(n + \epsilon,\ c)}

  With ``eps=0`` this is Paddle's ``ClipGradByGlobalNorm`` (always multiplied, also when
  :math:`n \le c`); ``eps=1e-6`` gives PyTorch's ``clip_grad_norm_`` coefficient
  :math:`\min(c / (n + 10^{-6}), 1)` exactly. ``norm_type=inf`` uses :math:`\max|g|`. With
  ``axis_name``, inside ``jax.shard_map`` or ``jax.pmap``, the sum runs over the leaves' parts on every
  device of those axes too (model-parallel leaves), so :math:`n` is the norm of the whole parameters.

  Non-finite norms (``nonfinite``):
    * ``"scale"`` (Paddle, PyTorch, optax): multiply anyway; an inf norm zeroes the finite entries
      and makes infinite ones NaN, a NaN norm makes everything NaN.
    * ``"nan"`` (TensorFlow, Keras ``global_clipnorm``): any non-finite norm makes every gradient NaN.
    * ``"skip_nan"`` (Paddle ``auto_skip_clip=True``): clip only when :math:`n > c`, so a NaN norm
      leaves the gradients unchanged.

  Args:
    max_norm: the largest allowed global norm :math:`c`, a number or scalar array >= 0 (not a
      schedule; PyTorch and Paddle accept a negative one, which flips the sign of the gradients: a
      ValueError here). ``inf`` measures without clipping (PyTorch's ``clip_grad_norm_(params,
      inf)``): the gradients come back unchanged, also with an inf norm (PyTorch: inf/inf, NaN),
      except that ``"nan"`` still makes a non-finite norm NaN.
    norm_type: :math:`p`, a real number > 0, or ``float('inf')`` (TypeError for a non-number,
      ValueError otherwise).
    eps: :math:`\epsilon`, added to the norm in the coefficient, finite and >= 0.
    error_if_nonfinite: True or False: raise ``RuntimeError`` on a non-finite norm (PyTorch). Under
      ``jax.jit`` the error is raised from a host callback and reaches the caller as a ``JaxRuntimeError``.
    nonfinite: what a non-finite norm does, see above.
    mask: None (the default: every leaf), or a pytree of Python bools shaped like the parameters (or
      a prefix of them), or a function of the parameters returning one: only the selected leaves are
      clipped *and* counted in the norm (the others are Paddle's ``need_clip=False``). A mask that
      does not match the parameters is an error naming the leaf's path.
    axis_name: None (the default: the norm of this device's leaves, as optax), or the name of a
      mapped axis, or a tuple of names, over which the leaves are split: the partial sums
      :math:`\sum |g|^p` are added up (``jax.lax.psum``; ``jax.lax.pmax`` for ``inf``) over its
      devices. Needs to run inside ``jax.shard_map`` or ``jax.pmap`` with those axes.

  Returns:
    A stateless ``optax.GradientTransformation``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.clip_by_global_norm(1.0)
    >>> g = {"a": jnp.array([3.0]), "b": jnp.array([4.0])}
    >>> u, _ = tx.update(g, tx.init(g))
    >>> round(float(u["a"][0]), 4), round(float(u["b"][0]), 4)  # global norm 5 -> 1
    (0.6, 0.8)

  References:
    ``paddle.nn.ClipGradByGlobalNorm``; ``torch.nn.utils.clip_grad_norm_``;
    ``tf.clip_by_global_norm`` (Keras's ``global_clipnorm``).
  """
  _validation.hyperparameter("max_norm", max_norm, lo=0.0)
  _validation.hyperparameter("eps", eps, lo=0.0)
  _validation.finite("eps", eps, float32=True)
  if not _validation.is_real(norm_type):
    raise TypeError(f"norm_type should be a float > 0 or inf, got {type(norm_type).__name__} {norm_type!r}")
  norm_type = float(norm_type)
  _validation.check(norm_type > 0, "norm_type", norm_type, "a float > 0 or inf")
  _validation.flag("error_if_nonfinite", error_if_nonfinite)
  _validation.one_of("nonfinite", nonfinite, ("scale", "nan", "skip_nan"))
  _validation.axis_names("axis_name", axis_name)

  def clip(updates):
    n = global_norm(updates, norm_type, axis_name=axis_name)
    if error_if_nonfinite:
      if isinstance(n, jax.core.Tracer):
        jax.debug.callback(_raise_nonfinite, n, norm_type)
      else:
        _raise_nonfinite(np.asarray(n), norm_type)
    c = _base.hyper(max_norm, n.dtype)
    if nonfinite == "skip_nan":
      coef = jnp.where(n > c, c / n, jnp.ones_like(n))
    else:
      # c / max(n + eps, c), written so that max_norm=inf leaves the gradients unchanged (not inf/inf)
      n_eps = n + _base.hyper(eps, n.dtype)
      coef = jnp.where(n_eps <= c, jnp.ones_like(n), c / n_eps)
      if nonfinite == "nan":
        coef = jnp.where(jnp.isfinite(n), coef, jnp.full_like(n, jnp.nan))

    def one(g):
      cd = _base.compute_dtype(g.dtype)
      return (g.astype(cd) * coef.astype(cd)).astype(g.dtype)

    return jax.tree.map(one, updates)

  return masked(optax.stateless(lambda updates, params: clip(updates)), mask)
