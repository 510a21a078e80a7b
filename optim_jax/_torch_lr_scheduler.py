"""PyTorch's learning-rate schedulers (``torch.optim.lr_scheduler``, torch 2.13) as optax schedules.

**The count.** An optax schedule is a function of the update count, 0 for the first update. A
PyTorch loop ``for t ...: optimizer.step(); scheduler.step()`` uses at its update t the lr the
scheduler holds after t calls of ``step()``, so every scheduler here is that lr as a function of t:
``s(0)`` is the lr right after PyTorch builds the scheduler. A loop that steps the scheduler once
per epoch is ``oj.schedules.per_epoch(s, steps_per_epoch)``.

**Resumed runs** (``last_epoch=k >= 0``). PyTorch requires each parameter group's ``initial_lr``
(here: the ``lr`` argument, the rate the run started with) and continues from the lr the optimizer
holds. These schedules model the resume PyTorch documents: the optimizer restored from the
checkpoint of the same run after k scheduler steps (``optimizer.load_state_dict``, so its lr is the
one of epoch k), then ``Scheduler(optimizer, ..., last_epoch=k)``. Count 0 is then the lr right
after that construction, which is *not* always the fresh run's lr at k + 1 (measured, torch 2.13):
StepLR, MultiStepLR, ConstantLR, LambdaLR, CyclicLR and OneCycleLR continue at epoch k + 1;
ExponentialLR and MultiplicativeLR at epoch k (their first step on resume changes nothing);
LinearLR and PolynomialLR keep the lr of epoch k and then skip the factor of epoch k + 1 for good;
CosineAnnealingLR continues its recursion from the lr of epoch k; CosineAnnealingWarmRestarts wraps
its cycle at most once on resume. Each factory documents its own rule.

**Arithmetic.** PyTorch computes each lr in Python floats (float64), most of them with the
chainable ``get_lr()``: the new lr from the group's current one. Under ``jax_enable_x64`` these
schedules return float64 and repeat PyTorch's operations where it matters: its constants are
computed on the host as PyTorch computes them, closed forms use PyTorch's own expressions, and a
recursion is telescoped into a closed form in PyTorch's rounded values (the worst difference from
PyTorch measured for each class is in its docstring; typically <= 1e-13 relative). Without x64 they
return float32, computed without cancellation (within 1e-6 relative of PyTorch's float64 values,
which a float32 optimizer rounds to float32 anyway). On CPU XLA's float64 ``cos`` and ``pow`` give
glibc's (PyTorch's) bits; a division by a constant is kept a division (XLA would multiply by a
rounded reciprocal).

**Parameter groups.** A scheduler scales one group: ``for_group(index, lr)`` gives the same
scheduler for PyTorch's ``param_groups[index]`` whose ``initial_lr`` is ``lr``; arguments PyTorch
takes per group as lists (``lr_lambda``, ``max_lr``, ``base_lr``, the momenta, ``min_lr``) pick entry
``index`` there, and a scheduler made with a list must be given its group before it is evaluated.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optim_jax import _validation
from optim_jax.schedules import _common as c

F64 = jnp.float64
I32_MAX = c.I32_MAX
MOMENTUM_ERROR = "optimizer must support momentum or beta1 with `cycle_momentum` option enabled"  # PyTorch's


# --- the rules: how each scheduler computes its lr from the count ----------------------------------


@dataclasses.dataclass(frozen=True)
class Rule:
  """A scheduler for one parameter group: its lr (and momentum) at count ``n`` in dtype ``dt``.

  For ``chained_scheduler`` and ``sequential_lr``: ``kind`` says how PyTorch's ``step()`` changes the
  group's lr: ``"multiply"`` (by ``factor(e)``, PyTorch's factor at epoch e, 1 where it leaves the lr;
  ``cumulative(n)`` is the product of the factors up to count n), ``"overwrite"`` (sets its own value
  whatever the lr was) or ``"other"``. ``continued(start, n)``: the lr when PyTorch's SequentialLR
  switches to this scheduler with the group's lr at ``start`` (only MultiplicativeLR, which has no
  closed form, starts from the previous scheduler's lr).
  """

  value: Callable[[jax.Array, Any], jax.Array]
  momentum: Callable[[jax.Array, Any], jax.Array] | None = None
  kind: str = "other"
  factor: Callable[[jax.Array, Any], jax.Array] | None = None
  cumulative: Callable[[jax.Array, Any], jax.Array] | None = None
  continued: Callable[[jax.Array, jax.Array, Any], jax.Array] | None = None


# A per-group list argument: (name, its length, PyTorch's ValueError message with {n} groups, {k} given).
ListArg = tuple[str, int, str]


@dataclasses.dataclass(frozen=True, eq=False)
class TorchLRScheduler:
  """A ``torch.optim.lr_scheduler`` scheduler of one parameter group, as an ``optax.Schedule``.

  Made by the factories of ``oj.torch`` (``step_lr``, ``one_cycle_lr``...). Calling it with the update
  count (0 for the first update; a Python or NumPy int, an integer array or tracer, also under
  ``jax.jit`` and ``jax.vmap``) gives the lr PyTorch's optimizer uses at that update: float64 under
  ``jax_enable_x64``, float32 otherwise, shaped like the count.

  Attributes:
    name: PyTorch's class, e.g. ``"StepLR"``.
    arguments: PyTorch's arguments as given (per-group lists kept whole).
    lr: the group's initial lr the scheduler scales (PyTorch's ``initial_lr``), None for
      ``one_cycle_lr`` and ``cyclic_lr``, which set the group's lr themselves.
    group: the parameter group it was picked for with `for_group` (None: not picked).
    last_epoch: PyTorch's ``last_epoch`` (-1: a fresh run).
    cycle_momentum: whether it drives the optimizer's momentum (``momentum`` is then a schedule).

  Example:
    >>> import jax, jax.numpy as jnp, optim_jax as oj
    >>> s = oj.torch.step_lr(0.1, step_size=2, gamma=0.5)
    >>> [round(float(x), 4) for x in jax.vmap(s)(jnp.arange(5))]
    [0.1, 0.1, 0.05, 0.05, 0.025]
    >>> s2 = s.for_group(1, 0.4)  # param_groups[1] with lr 0.4
    >>> round(float(s2(2)), 4), s.momentum is None
    (0.2, True)
  """

  name: str
  arguments: Mapping[str, Any]
  lr: float | None
  group: int | None
  last_epoch: int
  cycle_momentum: bool
  build: Callable[[float | None, int | None], Rule] = dataclasses.field(repr=False)
  lists: tuple[ListArg, ...] = dataclasses.field(default=(), repr=False)
  members: tuple[TorchLRScheduler, ...] = dataclasses.field(default=(), repr=False)

  def __repr__(self) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in self.arguments.items())
    group = "" if self.group is None else f", group={self.group}"
    return f"TorchLRScheduler({self.name}(lr={self.lr!r}, {args}){group})"

  @functools.cached_property
  def rule(self) -> Rule:
    """The computation for this group (a ValueError while a per-group list has no group picked)."""
    if self.group is None and self.lists:
      names = ", ".join(name for name, _, _ in self.lists)
      raise ValueError(
        f"{self.name} was given per-group lists ({names}): pick the parameter group with "
        f"for_group(index, lr) before evaluating it."
      )
    if self.members:
      return self.build(self.lr, self.group, self.members)
    return self.build(self.lr, self.group)

  def __call__(self, count: Any) -> jax.Array:
    return self.rule.value(c.count_i32(count), dtype())

  @property
  def momentum(self) -> Callable[[Any], jax.Array] | None:
    """None, or (``cycle_momentum=True``) the momentum PyTorch writes into the group at each count:
    ``group['momentum']``, or ``group['betas'][0]`` for an optimizer with betas (the same values).
    Like the lr, it is evaluated for a picked group when the scheduler has per-group lists."""
    if not self.cycle_momentum:
      return None
    return lambda count: self.rule.momentum(c.count_i32(count), dtype())

  def for_group(self, index: int, lr: Any = None, *, groups: int | None = None) -> TorchLRScheduler:
    """The same scheduler as PyTorch applies it to ``param_groups[index]``.

    Args:
      index: the group's index, an int >= 0.
      lr: the group's own initial lr, which the scheduler scales instead of its ``lr``; None keeps
        it. Ignored by ``one_cycle_lr`` and ``cyclic_lr`` (PyTorch sets the group's lr from their
        ``max_lr``/``base_lr``).
      groups: the number of parameter groups, when known: every per-group list must have that many
        entries (PyTorch's ValueError otherwise). Without it, a list must have an entry ``index``.

    Returns:
      A `TorchLRScheduler` for that group.
    """
    _validation.integer("index", index, lo=0)
    if groups is not None:
      _validation.integer("groups", groups, lo=1)
      _validation.check(index < groups, "index", index, f"an index < groups = {groups}")
    for name, length, message in self.lists:
      if groups is not None and length != groups:
        raise ValueError(message.format(n=groups, k=length))
      if index >= length:
        raise ValueError(f"{name} has {length} values, none for param_groups[{index}].")
    if lr is not None and self.lr is not None:
      rate("lr", lr)
      lr = float(lr)
    members = tuple(m.for_group(index, lr, groups=groups) for m in self.members)
    new_lr = self.lr if lr is None or self.lr is None else lr
    return dataclasses.replace(self, lr=new_lr, group=index, members=members)

  def check_optimizer(self, defaults: Iterable[str]) -> str | None:
    """PyTorch's check of the optimizer a momentum-cycling scheduler drives, at its construction.

    Args:
      defaults: the names of the optimizer's hyperparameters (PyTorch's ``optimizer.defaults``
        keys, e.g. ``("lr", "alpha", "eps", "weight_decay", "momentum", "centered")``).

    Returns:
      None if the scheduler does not cycle momentum; else which option it drives: ``"betas"``
      (``betas[0]``, when the optimizer has betas) or ``"momentum"``.

    Raises:
      ValueError: PyTorch's, when it cycles momentum and the optimizer has neither ``momentum`` nor
        ``betas`` (``torch.optim.ASGD``, for one).
    """
    names = set(defaults)
    cycling = self.cycle_momentum or any(m.cycle_momentum for m in self.members)
    if not cycling:
      return None
    if "momentum" not in names and "betas" not in names:
      raise ValueError(MOMENTUM_ERROR)
    return "betas" if "betas" in names else "momentum"


def make(name: str, lr: float | None, arguments: dict[str, Any], build: Callable[..., Rule], *,
         last_epoch: int = -1, cycle_momentum: bool = False, lists: tuple[ListArg, ...] = (),
         members: tuple[TorchLRScheduler, ...] = ()) -> TorchLRScheduler:  # fmt: skip
  """A `TorchLRScheduler` with no group picked (its rule is built, and checked, on first use)."""
  sched = TorchLRScheduler(
    name,
    dict(arguments),
    None if lr is None else float(lr),
    None,
    last_epoch,
    cycle_momentum,
    build,
    lists,
    members,
  )
  if not lists:
    sched.rule  # noqa: B018 - errors of the configuration at construction, as PyTorch raises them
  return sched


# --- helpers -----------------------------------------------------------------------------------------


def dtype() -> Any:
  """float64 under ``jax_enable_x64``, float32 otherwise (decided when the schedule is traced)."""
  return jnp.dtype(jnp.result_type(float))


def is64(dt: Any) -> bool:
  return jnp.dtype(dt) == jnp.dtype(F64)


def epoch(n: jax.Array, j0: int) -> jax.Array:
  """PyTorch's ``last_epoch`` at count n: ``j0 + n`` (j0 = last_epoch + 1), saturating at int32's end."""
  return n if j0 == 0 else jnp.minimum(n, I32_MAX - j0) + j0


def div(a: Any, b: Any) -> jax.Array:
  """``a / b`` rounded once, as Python divides: XLA rewrites a division by a constant or a broadcast
  scalar as a multiplication by its rounded reciprocal, unless the divisor is an array of a's shape."""
  a = jnp.asarray(a)
  return a / (a * 0 + b)


def floordiv(e: jax.Array, k: int) -> jax.Array:
  """``e // k`` for int32 counts and a host int k > 0 (0 when k is beyond int32)."""
  return e // k if k <= I32_MAX else jnp.zeros_like(e)


def mod(e: jax.Array, k: int) -> jax.Array:
  return e % k if k <= I32_MAX else e


def minus(k: int, m: jax.Array, dt: Any) -> jax.Array:
  """``k - m`` in dtype dt for a host int k and an int32 array 0 <= m <= k: exact in int32 when k is
  (an int beyond int32 is rounded once, far from m: no cancellation)."""
  if k <= I32_MAX:
    return (k - m).astype(dt)
  return jnp.asarray(float(k), dt) - m.astype(dt)


def split32(value: float) -> tuple[np.float32, np.float32]:
  """A host float64 as float32 ``hi + lo`` (hi rounded once, lo its rounding error, rounded)."""
  hi = np.float32(value)
  return hi, np.float32(value - float(hi))


def scaled32(x: jax.Array, k: float) -> jax.Array:
  """``x * k`` in float32 for a host constant k, without the bias of rounding k to float32.

  The optimization barrier keeps XLA's simplifier from factoring ``x * hi + x * lo`` into
  ``x * (hi + lo)``, which is ``x * hi`` again.
  """
  hi, lo = split32(k)
  return x * hi + jax.lax.optimization_barrier(x) * lo


def plus32(start: float, y: jax.Array) -> jax.Array:
  """``start + y`` in float32 for a host constant, with the rounding of ``start`` compensated (a
  momentum near ``start`` is then its correctly rounded value, a rate within a few ulp of it); the
  barrier keeps XLA from folding the two constants back into one."""
  hi, lo = split32(start)
  return hi + jax.lax.optimization_barrier(y + lo)


def affine32(start: float, scale: float, w: jax.Array) -> jax.Array:
  """``start + scale * w`` in float32 for host constants (see `plus32`)."""
  return plus32(start, np.float32(scale) * w)


def power(base: float, k: jax.Array, dt: Any) -> jax.Array:
  """``base ** k`` for an int32 array k >= 0, as Python computes it in float64 (XLA's pow gives libm's
  bits on CPU); in float32 from three host tables of base**j (each rounded once), correct to ~2e-7."""
  if is64(dt):
    return jnp.power(jnp.asarray(base, dt), k.astype(dt))
  t0, t1, t2 = _power_tables(float(base))
  k = k.astype(c.I32)
  return jnp.asarray(t0)[k & 1023] * jnp.asarray(t1)[(k >> 10) & 1023] * jnp.asarray(t2)[k >> 20]


@functools.cache
def _power_tables(base: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  with np.errstate(over="ignore", under="ignore", invalid="ignore"):
    return tuple(
      np.power(np.float64(base), np.arange(size, dtype=np.float64) * step).astype(np.float32)
      for size, step in ((1024, 1), (1024, 1024), (2048, 2**20))
    )


def scalar_of(fn: Callable[[jax.Array], Any], name: str) -> Callable[[jax.Array, Any], jax.Array]:
  """A user function of one int32 epoch (``lr_lambda``, ``scale_fn``), mapped over a batch of epochs
  and cast to dtype dt; a TypeError if it does not return one number."""

  def one(e, dt):
    out = jnp.asarray(fn(e))
    if out.shape != ():
      raise TypeError(f"{name} should return one number for one epoch, got an array of shape {out.shape}.")
    return out.astype(dt)

  def mapped(e, dt):
    return jnp.vectorize(lambda x: one(x, dt))(e) if e.ndim else one(e, dt)

  return mapped


# --- validation --------------------------------------------------------------------------------------


def rate(name: str, value: Any) -> None:
  """A rate known at construction: a real number (TypeError otherwise), finite and >= 0 (ValueError)."""
  real(name, value, lo=0.0)


def real(name: str, value: Any, **range_args: Any) -> None:
  """A real number (TypeError otherwise), finite and in range (ValueError otherwise)."""
  if not _validation.is_real(value):
    raise TypeError(f"{name} should be a number (float or int), got {type(value).__name__} {value!r}.")
  _validation.finite(name, value)
  _validation.in_range(name, value, **range_args)


def integer(name: str, value: Any, lo: int) -> int:
  """An int >= lo (TypeError for another type, ValueError below lo)."""
  if not _validation.is_int(value):
    raise TypeError(f"{name} should be an int, got {type(value).__name__} {value!r}.")
  _validation.check(value >= lo, name, value, f"an int {name} >= {lo}")
  return int(value)


def sin2(x: jax.Array) -> jax.Array:
  return jnp.sin(x) ** 2


def torch_int(name: str, value: Any, message: str, lo: int) -> int:
  """PyTorch's ``value < lo or not isinstance(value, int)`` ValueError; a non-number is a TypeError."""
  if not _validation.is_real(value):
    raise TypeError(f"{name} should be an int, got {type(value).__name__} {value!r}.")
  if not _validation.is_int(value) or value < lo:
    raise ValueError(message.format(value))
  return int(value)


def last_epoch_of(value: Any) -> int:
  """PyTorch's ``last_epoch``: -1 (a fresh run) or the index of the last epoch of a resumed run."""
  k = integer("last_epoch", value, -1)
  _validation.check(k < I32_MAX - 1, "last_epoch", value, "an int32 last_epoch")
  return k


def function(name: str, value: Any) -> None:
  if not callable(value):
    raise TypeError(f"{name} should be a function, but got {type(value).__name__}")  # PyTorch's words


def per_group(
  name: str, value: Any, check: Callable[[str, Any], None], message: str
) -> tuple[Any, ListArg | None]:
  """A value PyTorch takes per group as a list or tuple: the value (a list of the entries, each checked,
  for a list or tuple) and, for a list, its `ListArg`."""
  if isinstance(value, (list, tuple)):
    if not value:
      raise ValueError(f"{name} is an empty {type(value).__name__}: give one value per parameter group.")
    for i, v in enumerate(value):
      check(f"{name}[{i}]", v)
    return list(value), (name, len(value), message)
  check(name, value)
  return value, None


def pick(value: Any, group: int | None) -> Any:
  """The entry of a per-group list for ``group`` (as `per_group` returns it), or the single value."""
  return value[group or 0] if isinstance(value, list) else value


FORMAT_PARAM = (
  "{name} must have the same length as optimizer.param_groups. {name} has {k} values, param_groups has {n}."
)


def format_param_message(name: str) -> str:
  """PyTorch's ``_format_param`` ValueError for a list of the wrong length, with {n}, {k} left."""
  return FORMAT_PARAM.replace("{name}", name)
