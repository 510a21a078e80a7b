"""PyTorch optimizers (``torch.optim``) and gradient clipping as optax chains, with PyTorch's names.

PyTorch's ``step()`` negates the gradient for ``maximize``, adds coupled weight decay, and applies
the learning rate *after* the momentum buffer, so a scheduled lr rescales the whole buffer (optax's
rmsprop puts lr inside it). ``clip_grad_norm`` and ``clip_grad_value`` go before the optimizer in a
chain, as PyTorch users call them before ``step()``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import optax

from optim_jax import _base, _hyperparams, _validation
from optim_jax._averaging import averaged_sgd as _averaged_sgd
from optim_jax._clipping import clip_by_global_norm as _clip_by_global_norm
from optim_jax._clipping import clip_by_value as _clip_by_value
from optim_jax._groups import grouped as _grouped_tx
from optim_jax._learning_rate import scale_by_learning_rate as _scale_by_learning_rate
from optim_jax._momentum import trace as _trace
from optim_jax._radam import scale_by_radam as _scale_by_radam
from optim_jax._rms import scale_by_rms_torch as _scale_by_rms_torch
from optim_jax._weight_decay import add_l2_decay as _add_l2_decay
from optim_jax._weight_decay import decoupled_weight_decay as _decoupled_weight_decay


def _check(schedules: tuple[str, ...] = (), **values: Any) -> None:
  """PyTorch's ValueError for each value < 0 ("Invalid learning rate: -1"); alpha also <= 1; all finite."""
  for name, value in values.items():
    hi = 1.0 if name == "alpha" else None
    _validation.hyperparameter(
      name,
      value,
      schedule=name in schedules,
      lo=0.0,
      hi=hi,
      style="torch",
      label=_validation.TORCH_LABELS[name],
    )
    _validation.finite(name, value, float32=True)


def _unsupported(name: str, foreach: Any, capturable: Any, differentiable: Any, fused: Any) -> None:
  """PyTorch's implementation switches: accepted (a copied call works) and without effect under XLA."""
  _validation.flag("foreach", foreach, none=True)
  _validation.flag("capturable", capturable)
  _validation.flag("differentiable", differentiable)
  if fused not in (None, False):
    raise TypeError(
      f"fused={fused!r}: torch.optim.{name} 2.13 has no fused implementation (XLA fuses the update)"
    )


def _grouped(
  factory: Callable[..., optax.GradientTransformation],
  options: dict[str, Any],
  param_groups: Any,
  param_labels: Any,
  *,
  cycled: str,
) -> optax.GradientTransformationExtraArgs:
  """``factory`` once per parameter group, each group's options over ``options`` (the defaults); each
  group's lr is kept in the state as PyTorch keeps it in ``param_groups`` (`oj.get_lr`/`oj.set_lr`
  read and set it per group). ``cycled`` is the option a scheduler's momentum cycling drives
  (momentum or betas[0])."""
  if isinstance(param_groups, dict) or not isinstance(param_groups, (list, tuple)):
    raise TypeError(
      f"param_groups should be a list of dicts {{'params': selector, <option>: value}}, got "
      f"{type(param_groups).__name__}"
    )
  if not param_groups:
    raise ValueError("optimizer got an empty parameter list")  # PyTorch's message
  factory(**options)  # the defaults are checked as PyTorch checks them, whatever the groups set
  allowed = sorted(options)
  selectors, txs = [], []
  for i, group in enumerate(param_groups):
    where = f"param_groups[{i}]"
    if not isinstance(group, dict):
      raise TypeError(
        f"{where} should be a dict {{'params': selector, <option>: value}}, got {type(group).__name__}"
      )
    if "params" not in group:
      raise ValueError(f"{where} has no 'params' (a bool pytree, a function (path, leaf) -> bool, or labels)")
    unknown = sorted(set(group) - {"params", *allowed})
    if unknown:
      raise ValueError(f"{where} has unknown option(s) {unknown}; {factory.__name__} takes {allowed}")
    values = {**options, **{k: v for k, v in group.items() if k != "params"}}
    lr = options["lr"]
    if hasattr(lr, "for_group") and ("lr" not in group or not callable(group["lr"])):
      # a torch scheduler rescales each group's own initial lr, and picks the group's entry of lists
      values["lr"] = lr.for_group(i, group.get("lr"), groups=len(param_groups))
    momentum = getattr(values["lr"], "momentum", None)
    if momentum is not None and not cycled:
      raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    if momentum is not None and cycled == "betas":
      values["betas"] = (_CycledBeta1(momentum), values["betas"][1])
    elif momentum is not None:
      values[cycled] = momentum
    # The lr in the state (read and set per group), unless it is an array already (as
    # optax.inject_hyperparams passes it: that state holds it); the other options static, exact.
    static = [k for k in values if k != "lr" or isinstance(values[k], (jax.Array, np.ndarray))]
    if momentum is not None:
      static = [k for k in static if k != cycled]  # a scheduler's momentum, driven by the count
    try:
      txs.append(_hyperparams.inject_hyperparams(factory, static_args=static)(**values))
    except (TypeError, ValueError) as e:
      raise type(e)(f"{where}: {e}") from e
    selectors.append(group["params"])
  names = [f"param_groups[{i}]" for i in range(len(txs))]
  return _grouped_tx(txs, selectors, param_labels=param_labels, names=names)


class _CycledBeta1:
  """A scheduler's beta1 (OneCycleLR/CyclicLR with cycle_momentum) handed to a group's `radam`: the one
  schedule ``betas[0]`` may be (PyTorch's betas are numbers)."""

  def __init__(self, schedule: Callable[[Any], Any]) -> None:
    self.schedule = schedule

  def __call__(self, count: Any) -> Any:
    return self.schedule(count)


def _options(arguments: dict[str, Any]) -> dict[str, Any]:
  """A constructor's arguments that a parameter group may set (all but the group machinery and fused)."""
  return {k: v for k, v in arguments.items() if k not in ("param_groups", "param_labels", "fused")}


def _no_labels(param_labels: Any) -> None:
  if param_labels is not None:
    raise ValueError("param_labels names the labels that param_groups select; give param_groups too")


def _prologue(maximize: bool, weight_decay: Any) -> list[optax.GradientTransformation]:
  chain = [optax.scale(-1.0)] if maximize else []
  if not _validation.is_static_zero(weight_decay):
    chain.append(_add_l2_decay(weight_decay))
  return chain


def rmsprop(
  lr: Any = 0.01,
  alpha: Any = 0.99,
  eps: Any = 1e-8,
  weight_decay: Any = 0,
  momentum: Any = 0,
  centered: bool = False,
  maximize: bool = False,
  capturable: bool = False,
  foreach: bool | None = None,
  differentiable: bool = False,
  fused: bool | None = None,
  *,
  param_groups: Any = None,
  param_labels: Any = None,
) -> optax.GradientTransformation:
  r"""PyTorch's ``torch.optim.RMSprop``: epsilon outside the square root, lr after the momentum.

  With :math:`\eta_t` = ``lr`` at update :math:`t`, :math:`\alpha` = ``alpha``, :math:`\epsilon` =
  ``eps``, :math:`\lambda` = ``weight_decay``, :math:`\mu` = ``momentum`` and :math:`\pm g` the
  gradient negated when ``maximize``:

  .. math::
    g &\leftarrow \pm g + \lambda p, \qquad
    sq \leftarrow \alpha\, sq + (1-\alpha) g^2, \qquad ga \leftarrow \alpha\, ga + (1-\alpha) g
        \quad(\text{if centered}) \\
    b &\leftarrow \mu b + g / (\sqrt{sq} + \epsilon)
        \quad(\sqrt{\max(sq - ga^2, 0)} + \epsilon\ \text{if centered}), \qquad
    p \leftarrow p - \eta_t\, b

  The learning rate multiplies the whole buffer :math:`b`, so a schedule rescales past steps too.

  Negative values (and ``alpha > 1``) raise ValueError with PyTorch's message, and so do NaN and
  inf; a schedule for ``alpha``, ``eps`` or ``momentum``, or a non-bool flag, is a TypeError.

  Args:
    lr: :math:`\eta`, a finite number >= 0 (an int works, as in PyTorch) or a schedule of the
      update count.
    alpha: :math:`\alpha`, the smoothing constant, a number in [0, 1].
    eps: :math:`\epsilon`, added outside the square root, a finite number >= 0.
    weight_decay: :math:`\lambda`, coupled L2, a finite number >= 0 or a schedule; 0 (the default)
      adds nothing.
    momentum: :math:`\mu`, heavy-ball momentum, a finite number >= 0; 0 (the default) keeps no
      buffer.
    centered: True or False; True divides by the estimated standard deviation (:math:`ga`).
    maximize: True or False; True ascends the objective (the gradient is negated first).
    capturable: accepted for a copied call (True or False); no effect: there are no CUDA graphs to
      capture, and the step is a pure function under ``jax.jit``.
    foreach: accepted (None, True or False); no effect: XLA fuses the update of every leaf.
    differentiable: accepted (True or False); no effect: every step is differentiable in JAX.
    fused: None or False; torch.optim.RMSprop 2.13 has no fused implementation, so True is a TypeError.
    param_groups: None, or PyTorch's parameter groups as a list of dicts
      ``{'params': selector, <option>: value, ...}``: the selector picks the group's leaves (a pytree
      of Python bools shaped like the parameters, a function ``fn(path, leaf) -> bool`` of the leaf's
      ``/``-joined path and the leaf, or a label or list of labels in ``param_labels``), and any of
      this function's other arguments but ``fused`` gives the group its own value (the arguments
      given here are the defaults). Leaves in no group are not updated, as PyTorch updates only the
      parameters of its groups. A scheduler given as ``lr`` scales each group's own ``lr`` and picks
      its entry of per-group lists. The state keeps every group's ``lr``: `oj.get_lr` returns the
      groups' learning rates, ``oj.set_lr(state, v, group=i)`` is ``param_groups[i]['lr'] = v``.
    param_labels: the labels that label selectors refer to, a pytree of strings shaped like the
      parameters (or a function of the parameters returning one), as ``optax.partition`` takes.

  Returns:
    An ``optax.GradientTransformation``; its ``update`` needs ``params`` when ``weight_decay`` is set.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = oj.torch.rmsprop(lr=0.1, alpha=0.9, momentum=0.5)
    >>> p = jnp.array([1.0]); s = tx.init(p)
    >>> for _ in range(2):
    ...   u, s = tx.update(jnp.array([1.0]), s, p); p = optax.apply_updates(p, u)
    >>> round(float(p[0]), 4)  # b = 1/sqrt(0.1), then 0.5 b + 1/sqrt(0.19)
    0.2962

  References:
    Tieleman and Hinton, Lecture 6.5 - rmsprop, COURSERA 2012; ``torch.optim.RMSprop``
    (torch 2.13).

  Framework parity (golden tests: torch 2.13.0+cpu):

  ============================  ==============================================================================
  PyTorch                       optim_jax
  ============================  ==============================================================================
  arguments                     PyTorch's names, order and defaults
  eps placement                 outside the sqrt: g / (sqrt(sq) + eps) (as PyTorch; optax.rmsprop needs
                                eps_in_sqrt=False)
  lr and momentum               lr after the buffer: p -= lr * buf (as PyTorch; optax.rmsprop puts lr
                                inside, which differs with a schedule)
  order                         maximize -> weight decay (coupled) -> rms -> momentum -> lr
  state                         square_avg; grad_avg if centered; momentum buffer if momentum != 0 (as
                                PyTorch); no ``step`` counter unless lr is a schedule
  centered variance             sq - ga^2 clamped at 0 before the sqrt, a deliberate difference: PyTorch
                                takes the sqrt of a negative rounding (a constant gradient), NaN for ever
  schedules                     lr and weight_decay may be schedules of the update count
  out-of-range values           alpha > 1: ValueError (PyTorch accepts it)
  non-finite values             ValueError for a NaN or inf lr, eps, momentum or weight_decay
  parameter groups              ``param_groups=[{'params': selector, ...}]`` over pytree leaves; leaves in
                                no group are not updated (as PyTorch); each group's lr in the state
  other arguments               ``params`` is the pytree given to ``init``; ``foreach``, ``capturable``,
                                ``differentiable`` accepted without effect (XLA fuses the update, and
                                every step is a pure, differentiable function)
  ============================  ==============================================================================
  """
  _unsupported("RMSprop", foreach, capturable, differentiable, fused)
  if param_groups is not None:
    options = _options(locals())
    return _grouped(rmsprop, options, param_groups, param_labels, cycled="momentum")
  _no_labels(param_labels)
  _validation.learning_rate("lr", lr, style="torch", label="learning rate")
  _check(("weight_decay",), eps=eps, momentum=momentum, weight_decay=weight_decay, alpha=alpha)
  _validation.flag("centered", centered)
  _validation.flag("maximize", maximize)
  chain = _prologue(maximize, weight_decay)
  chain.append(_scale_by_rms_torch(alpha, eps, centered))
  cycled = getattr(lr, "momentum", None)  # a OneCycleLR/CyclicLR that cycles the momentum
  if cycled is not None:
    chain.append(_hyperparams.inject_hyperparams(_trace)(decay=cycled))
  elif not _validation.is_static_zero(momentum):
    chain.append(_trace(momentum))
  chain.append(_scale_by_learning_rate(lr))
  return _base.chain_in_compute_dtype(*chain)


def clip_grad_norm(
  max_norm: Any, norm_type: float = 2.0, error_if_nonfinite: bool = False, *, axis_name: Any = None
) -> optax.GradientTransformation:
  r"""PyTorch's ``torch.nn.utils.clip_grad_norm_``: clips all gradients together to a global norm.

  With :math:`c` = ``max_norm`` and :math:`n` the ``norm_type``-norm of all leaves together
  (``inf``: the largest absolute value):

  .. math::
    g \leftarrow g \cdot \min\Big(\frac{c}{n + 10^{-6}},\ 1\Big)

  Because of the 1e-6 the clipped norm is slightly below ``max_norm``, as in PyTorch. An inf norm
  zeroes the finite entries (inf entries become NaN), a NaN norm gives NaN; ``error_if_nonfinite``
  raises instead. PyTorch accepts a negative ``max_norm`` (it flips the gradients' sign); here it is
  a ValueError. With ``axis_name`` (inside ``jax.shard_map`` / ``jax.pmap``) :math:`n` is the norm
  of the leaves' parts on all devices of those axes (as ``clip_grad_norm_`` of DTensors).

  Args:
    max_norm: :math:`c`, the largest global norm, a number >= 0 (ValueError otherwise).
    norm_type: the order p of the norm, a number > 0 or ``float("inf")``; 2.0 (the default) is the
      L2 norm. A value <= 0 is a ValueError, a non-number a TypeError.
    error_if_nonfinite: True or False (TypeError otherwise); True raises RuntimeError when the norm
      is NaN or inf (under ``jax.jit`` from a host callback, reaching the caller as a
      ``JaxRuntimeError``). Default False: scale anyway, as PyTorch.
    axis_name: None (the default: each device's own leaves), or a mapped axis name or tuple of names
      over which the leaves are split (model parallelism): the partial sums of :math:`|g|^p` are
      summed over them (``jax.lax.psum``; ``jax.lax.pmax`` for ``inf``). See `oj.clip_by_global_norm`.

  Returns:
    An ``optax.GradientTransformation`` to put before the optimizer in ``optax.chain``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.torch.clip_grad_norm(1.0)
    >>> g = {"a": jnp.array([3.0]), "b": jnp.array([4.0])}
    >>> g, _ = tx.update(g, tx.init(g))
    >>> round(float(g["a"][0]), 4), round(float(g["b"][0]), 4)  # global norm 5 -> 1
    (0.6, 0.8)

  References:
    ``torch.nn.utils.clip_grad_norm_`` (torch 2.13).
  """
  _validation.hyperparameter("max_norm", max_norm, lo=0.0)
  return _clip_by_global_norm(
    max_norm, norm_type=norm_type, eps=1e-6, error_if_nonfinite=error_if_nonfinite, axis_name=axis_name
  )


def clip_grad_value(clip_value: Any) -> optax.GradientTransformation:
  r"""PyTorch's ``torch.nn.utils.clip_grad_value_``: clamps every gradient element.

  With :math:`c` = ``clip_value``:

  .. math::
    g \leftarrow \min(\max(g, -c),\ c)

  elementwise, so NaN is kept and ±inf becomes ±c, as in PyTorch. PyTorch accepts a negative
  ``clip_value`` (every element becomes that value); here it is a ValueError.

  Args:
    clip_value: :math:`c`, a number >= 0 (ValueError otherwise).

  Returns:
    An ``optax.GradientTransformation`` to put before the optimizer in ``optax.chain``.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.torch.clip_grad_value(1.0)
    >>> g, _ = tx.update(jnp.array([-3.0, jnp.nan, 2.0]), tx.init(jnp.zeros(3)))
    >>> [float(x) for x in g]
    [-1.0, nan, 1.0]

  References:
    ``torch.nn.utils.clip_grad_value_`` (torch 2.13).
  """
  _validation.hyperparameter("clip_value", clip_value, lo=0.0)
  return _clip_by_value(-clip_value, clip_value)


def radam(
  lr: Any = 0.001,
  betas: tuple[Any, Any] = (0.9, 0.999),
  eps: Any = 1e-8,
  weight_decay: Any = 0,
  decoupled_weight_decay: bool = False,
  maximize: bool = False,
  *,
  foreach: bool | None = None,
  capturable: bool = False,
  differentiable: bool = False,
  fused: bool | None = None,
  param_groups: Any = None,
  param_labels: Any = None,
) -> optax.GradientTransformation:
  r"""PyTorch's ``torch.optim.RAdam``: rectified Adam, epsilon added to the uncorrected sqrt(v).

  With :math:`\eta_t` = ``lr`` at update :math:`t`, :math:`(\beta_1, \beta_2)` = ``betas``,
  :math:`\epsilon` = ``eps``, :math:`\lambda` = ``weight_decay`` and :math:`\pm g` the gradient
  negated when ``maximize``:

  .. math::
    g &\leftarrow \pm g\ (+\ \lambda p \text{ if coupled}), \qquad
    m \leftarrow \beta_1 m + (1-\beta_1) g, \qquad v \leftarrow \beta_2 v + (1-\beta_2) g^2 \\
    p &\leftarrow p\,(1 - \eta_t \lambda)\ [\text{decoupled}]
        - \eta_t\, \frac{m}{1-\beta_1^t}
        \begin{cases} r_t \dfrac{\sqrt{1-\beta_2^t}}{\sqrt{v} + \epsilon} & \rho_t > 5 \\
        1 & \text{otherwise} \end{cases}

  with :math:`\rho_t` and :math:`r_t` as in :func:`optim_jax.scale_by_radam`. The learning rate
  multiplies the finished step; it enters neither moment.

  Values out of range (NaN and inf included) raise ValueError with PyTorch's message; a schedule
  for ``eps`` or a beta, or a non-bool flag, is a TypeError.

  Args:
    lr: :math:`\eta`, a finite number >= 0 (an int works, as in PyTorch) or a schedule of the
      update count.
    betas: :math:`(\beta_1, \beta_2)`, a tuple or list of two numbers, each in [0, 1); anything but
      a pair is a TypeError.
    eps: :math:`\epsilon`, added to the square root of the uncorrected second moment, a finite
      number >= 0.
    weight_decay: :math:`\lambda`, a finite number >= 0 or a schedule; 0 (the default) adds
      nothing.
    decoupled_weight_decay: True or False; False (the default) adds :math:`\lambda p` to the
      gradient (coupled L2), True multiplies the parameters by :math:`1 - \eta_t \lambda` (AdamW
      style).
    maximize: True or False; True ascends the objective (the gradient is negated first).
    capturable: accepted for a copied call (True or False); no effect: there are no CUDA graphs to
      capture, and the step is a pure function under ``jax.jit``.
    foreach: accepted (None, True or False); no effect: XLA fuses the update of every leaf.
    differentiable: accepted (True or False); no effect: every step is differentiable in JAX.
    fused: None or False; torch.optim.RAdam 2.13 has no fused implementation, so True is a TypeError.
    param_groups: None, or PyTorch's parameter groups as a list of dicts
      ``{'params': selector, <option>: value, ...}``: the selector picks the group's leaves (a pytree
      of Python bools shaped like the parameters, a function ``fn(path, leaf) -> bool`` of the leaf's
      ``/``-joined path and the leaf, or a label or list of labels in ``param_labels``), and any of
      this function's other arguments but ``fused`` gives the group its own value (the arguments
      given here are the defaults). Leaves in no group are not updated, as PyTorch updates only the
      parameters of its groups. A scheduler given as ``lr`` scales each group's own ``lr`` and picks
      its entry of per-group lists. The state keeps every group's ``lr``: `oj.get_lr` returns the
      groups' learning rates, ``oj.set_lr(state, v, group=i)`` is ``param_groups[i]['lr'] = v``.
    param_labels: the labels that label selectors refer to, a pytree of strings shaped like the
      parameters (or a function of the parameters returning one), as ``optax.partition`` takes.

  Returns:
    An ``optax.GradientTransformation``; its ``update`` needs ``params`` when ``weight_decay`` is set.

  Example:
    >>> import jax.numpy as jnp, optim_jax as oj
    >>> tx = oj.torch.radam(lr=0.1, weight_decay=0.1, decoupled_weight_decay=True)
    >>> p = jnp.array([1.0])
    >>> u, _ = tx.update(jnp.array([3.0]), tx.init(p), p)
    >>> round(float(u[0]), 4)  # rho_1 = 1: not rectified; -0.1 * 3 - 0.1 * 0.1 * 1
    -0.31

  References:
    Liu et al., On the Variance of the Adaptive Learning Rate and Beyond, ICLR 2020;
    ``torch.optim.RAdam`` (torch 2.13).

  Framework parity (golden tests: torch 2.13.0+cpu):

  ============================  ==============================================================================
  PyTorch                       optim_jax
  ============================  ==============================================================================
  arguments                     PyTorch's names, order and defaults
  eps placement                 sqrt(v) + eps, v uncorrected (as PyTorch; not optax.radam)
  lr and momentum               lr multiplies the rectified step, outside both moments (as PyTorch)
  rectification                 strictly rho_t > 5, decided with PyTorch's double formula, so the tie at
                                beta2 = 0.8397685748659791 goes PyTorch's way
  per-step scalars              computed without cancellation in the parameter's precision (PyTorch:
                                Python double), about 2e-7 relative in float32
  order                         maximize -> coupled weight decay -> RAdam -> lr; decoupled: p(1 - lr*wd)
                                added after the step (the same update)
  state                         count (one int32) and two moments (as PyTorch)
  non-finite values             ValueError for a NaN or inf lr, eps, beta or weight_decay
  schedules                     lr and weight_decay may be schedules of the update count
  parameter groups              ``param_groups=[{'params': selector, ...}]`` over pytree leaves; leaves in
                                no group are not updated (as PyTorch); each group's lr in the state
  other arguments               ``params`` is the pytree given to ``init``; ``foreach``, ``capturable``,
                                ``differentiable`` accepted without effect (XLA fuses the update, and
                                every step is a pure, differentiable function)
  ============================  ==============================================================================
  """
  _unsupported("RAdam", foreach, capturable, differentiable, fused)
  if param_groups is not None:
    options = _options(locals())
    return _grouped(radam, options, param_groups, param_labels, cycled="betas")
  _no_labels(param_labels)
  _validation.learning_rate("lr", lr, style="torch", label="learning rate")
  _check(("weight_decay",), eps=eps, weight_decay=weight_decay)
  if not isinstance(betas, (tuple, list)) or len(betas) != 2:
    raise TypeError(f"betas should be a pair (beta1, beta2), got {betas!r}")
  b1 = getattr(lr, "momentum", None) or betas[0]  # a OneCycleLR/CyclicLR cycles beta1
  for i, beta in enumerate(betas):
    if i == 0 and (b1 is not betas[0] or isinstance(b1, _CycledBeta1)):
      continue  # a scheduler's beta1, checked by the scheduler
    _validation.hyperparameter(
      f"betas[{i}]", beta, lo=0.0, hi=1.0, hi_open=True, style="torch", label=f"beta parameter at index {i}"
    )
  _validation.flag("decoupled_weight_decay", decoupled_weight_decay)
  _validation.flag("maximize", maximize)
  chain = _prologue(maximize, 0 if decoupled_weight_decay else weight_decay)
  if callable(b1):
    chain.append(
      _hyperparams.inject_hyperparams(_scale_by_radam, static_args="rho_rule")(
        b1, betas[1], eps, rho_rule="closed_form"
      )
    )
  else:
    chain.append(_scale_by_radam(b1, betas[1], eps, rho_rule="closed_form"))
  chain.append(_scale_by_learning_rate(lr))
  if decoupled_weight_decay and not _validation.is_static_zero(weight_decay):
    chain.append(_decoupled_weight_decay(weight_decay, lr))
  return optax.chain(*chain)


def asgd(
  lr: Any = 0.01,
  lambd: Any = 1e-4,
  alpha: Any = 0.75,
  t0: Any = 1e6,
  weight_decay: Any = 0,
  maximize: bool = False,
  foreach: bool | None = None,
  differentiable: bool = False,
  capturable: bool = False,
  fused: bool | None = None,
  *,
  param_groups: Any = None,
  param_labels: Any = None,
) -> optax.GradientTransformation:
  r"""PyTorch's ``torch.optim.ASGD``: averaged SGD (Polyak-Ruppert), not Paddle's ASGD (which is SAG).

  With :math:`\gamma_t` = ``lr`` at update :math:`t` (1-based), :math:`\lambda` = ``lambd``,
  :math:`\alpha` = ``alpha``, :math:`t_0` = ``t0``, :math:`\lambda_{wd}` = ``weight_decay`` and
  :math:`\pm g` the gradient negated when ``maximize``:

  .. math::
    g &\leftarrow \pm g + \lambda_{wd}\, p, \qquad
    p \leftarrow p\,(1 - \lambda\eta) - \eta\, g, \qquad
    \bar x \leftarrow \bar x + \mu (p - \bar x) \\
    \eta &\leftarrow \gamma_t / (1 + \lambda \gamma_t t)^{\alpha}, \qquad
    \mu \leftarrow 1 / \max(1, t - t_0)

  :math:`\eta` and :math:`\mu` are computed at the end of the previous update (:math:`\eta =
  \gamma_0`, :math:`\mu = 1` at the first), so a scheduled ``lr`` takes effect one update late, as
  in PyTorch. The average :math:`\bar x` lives only in the state; read it with
  ``oj.ema_params(state)``. See :func:`optim_jax.averaged_sgd`.

  Values out of range (NaN, and inf except for ``t0``, included) raise ValueError with PyTorch's
  message; a schedule for ``lambd``, ``alpha`` or ``t0``, or a non-bool flag, is a TypeError.

  Args:
    lr: :math:`\gamma`, a finite number >= 0 (an int works, as in PyTorch) or a schedule of the
      update count.
    lambd: :math:`\lambda`, the decay term, a finite number >= 0.
    alpha: :math:`\alpha`, the power of the step-size decay, a finite number >= 0.
    t0: :math:`t_0`, the update after which averaging starts, any real number but NaN; before it
      the average is the current parameters (the default 1e6 means: for the first million
      updates).
    weight_decay: :math:`\lambda_{wd}`, coupled L2, a finite number >= 0 or a schedule; 0 (the
      default) adds nothing.
    maximize: True or False; True ascends the objective (the gradient is negated first).
    capturable: accepted for a copied call (True or False); no effect: there are no CUDA graphs to
      capture, and the step is a pure function under ``jax.jit``.
    foreach: accepted (None, True or False); no effect: XLA fuses the update of every leaf.
    differentiable: accepted (True or False); no effect: every step is differentiable in JAX.
    fused: None or False; torch.optim.ASGD 2.13 has no fused implementation, so True is a TypeError.
    param_groups: None, or PyTorch's parameter groups as a list of dicts
      ``{'params': selector, <option>: value, ...}``: the selector picks the group's leaves (a pytree
      of Python bools shaped like the parameters, a function ``fn(path, leaf) -> bool`` of the leaf's
      ``/``-joined path and the leaf, or a label or list of labels in ``param_labels``), and any of
      this function's other arguments but ``fused`` gives the group its own value (the arguments
      given here are the defaults). Leaves in no group are not updated, as PyTorch updates only the
      parameters of its groups. A scheduler given as ``lr`` scales each group's own ``lr`` and picks
      its entry of per-group lists. The state keeps every group's ``lr``: `oj.get_lr` returns the
      groups' learning rates, ``oj.set_lr(state, v, group=i)`` is ``param_groups[i]['lr'] = v``.
    param_labels: the labels that label selectors refer to, a pytree of strings shaped like the
      parameters (or a function of the parameters returning one), as ``optax.partition`` takes.

  Returns:
    An ``optax.GradientTransformation`` whose ``update`` needs ``params``.

  Example:
    >>> import jax.numpy as jnp, optax, optim_jax as oj
    >>> tx = oj.torch.asgd(lr=0.1, lambd=0.0, t0=0)
    >>> p = jnp.array([1.0]); s = tx.init(p)
    >>> for _ in range(3):
    ...   u, s = tx.update(jnp.array([1.0]), s, p); p = optax.apply_updates(p, u)
    >>> round(float(p[0]), 4), round(float(oj.ema_params(s)[0]), 4)  # average of 0.8 and 0.7
    (0.7, 0.75)

  References:
    Polyak and Juditsky, Acceleration of Stochastic Approximation by Averaging, 1992;
    ``torch.optim.ASGD`` (torch 2.13).

  Framework parity (golden tests: torch 2.13.0+cpu):

  ============================  ==============================================================================
  PyTorch                       optim_jax
  ============================  ==============================================================================
  arguments                     PyTorch's names, order and defaults
  eps placement                 no epsilon
  lr and momentum               no momentum: lr enters the step size eta, computed at the end of the
                                previous update (as PyTorch)
  eta, mu                       float32 scalars, computed in the widest parameter precision and rounded,
                                as PyTorch keeps them in its default dtype (float32 unless
                                ``torch.set_default_dtype(torch.float64)``, which this preset does not
                                follow: 1e-8 relative in float64)
  average ``ax``                ``oj.ema_params(state)``; parameters never replaced (as PyTorch)
  schedules                     lr and weight_decay may be schedules of the update count
  out-of-range values           negative lambd, alpha: ValueError (PyTorch accepts them: they make eta
                                grow or flip sign)
  non-finite values             ValueError for a NaN or inf lr, lambd, alpha or weight_decay, and a NaN t0
  parameter groups              ``param_groups=[{'params': selector, ...}]`` over pytree leaves; leaves in
                                no group are not updated (as PyTorch); each group's lr in the state
  other arguments               ``params`` is the pytree given to ``init``; ``foreach``, ``capturable``,
                                ``differentiable`` accepted without effect (XLA fuses the update, and
                                every step is a pure, differentiable function)
  ============================  ==============================================================================
  """
  _unsupported("ASGD", foreach, capturable, differentiable, fused)
  if param_groups is not None:
    options = _options(locals())
    return _grouped(asgd, options, param_groups, param_labels, cycled="")
  _no_labels(param_labels)
  if getattr(lr, "momentum", None) is not None:  # PyTorch's message
    raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
  _validation.learning_rate("lr", lr, style="torch", label="learning rate")
  _check(("weight_decay",), weight_decay=weight_decay, lambd=lambd)
  _validation.hyperparameter("alpha", alpha, lo=0.0, style="torch", label="alpha value")
  _validation.hyperparameter("t0", t0)
  _validation.flag("maximize", maximize)
  chain = _prologue(maximize, weight_decay)
  chain.append(_averaged_sgd(lr, lambd, alpha, t0))
  return optax.chain(*chain)


# --- torch.optim.lr_scheduler ---
from optim_jax._torch_lr_compose import chained_scheduler as chained_scheduler  # noqa: E402
from optim_jax._torch_lr_compose import sequential_lr as sequential_lr  # noqa: E402
from optim_jax._torch_lr_cyclic import cosine_annealing_warm_restarts as cosine_annealing_warm_restarts  # noqa: E402
from optim_jax._torch_lr_cyclic import cyclic_lr as cyclic_lr  # noqa: E402
from optim_jax._torch_lr_decay import cosine_annealing_lr as cosine_annealing_lr  # noqa: E402
from optim_jax._torch_lr_decay import exponential_lr as exponential_lr  # noqa: E402
from optim_jax._torch_lr_decay import linear_lr as linear_lr  # noqa: E402
from optim_jax._torch_lr_decay import polynomial_lr as polynomial_lr  # noqa: E402
from optim_jax._torch_lr_multiply import constant_lr as constant_lr  # noqa: E402
from optim_jax._torch_lr_multiply import lambda_lr as lambda_lr  # noqa: E402
from optim_jax._torch_lr_multiply import multi_step_lr as multi_step_lr  # noqa: E402
from optim_jax._torch_lr_multiply import multiplicative_lr as multiplicative_lr  # noqa: E402
from optim_jax._torch_lr_multiply import step_lr as step_lr  # noqa: E402
from optim_jax._torch_lr_one_cycle import one_cycle_lr as one_cycle_lr  # noqa: E402
from optim_jax._torch_lr_plateau import TorchPlateauState as TorchPlateauState  # noqa: E402
from optim_jax._torch_lr_plateau import TorchReduceLROnPlateau as TorchReduceLROnPlateau  # noqa: E402
from optim_jax._torch_lr_plateau import reduce_lr_on_plateau as reduce_lr_on_plateau  # noqa: E402
from optim_jax._torch_lr_scheduler import TorchLRScheduler as TorchLRScheduler  # noqa: E402
