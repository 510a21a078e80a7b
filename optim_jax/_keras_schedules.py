"""Keras's learning-rate schedules (``keras.optimizers.schedules``) as optax schedules, in float32.

`oj.keras` (Keras 3) and `oj.tf_keras` (Keras 2) export them under snake_case names with their own
defaults and checks; the maths is the same in both versions (measured against both, see
tests/test_keras_schedules.py). Keras computes a schedule in the dtype of ``initial_learning_rate``,
float32 for a Python float, and so do these: each step of Keras's formula is one float32 operation
here, in Keras's order, so that results agree to the ulp wherever XLA's float32 ``cos``, ``log`` and
``pow`` agree with TensorFlow's (they differ by an ulp or a few on some inputs, measured).

A schedule is a picklable callable of the update count (0 for the first update, as Keras's optimizer
calls it with ``iterations``).
"""

from __future__ import annotations

import math
from typing import Any

import jax.numpy as jnp
import numpy as np

from optim_jax import _validation

F32 = jnp.float32
_F32_MAX = float(np.finfo(np.float32).max)
_INT32 = (-(2**31), 2**31 - 1)


def _f32(value: Any) -> Any:
  """A Python number as Keras makes it a float32 tensor (rounded once)."""
  return jnp.asarray(value, F32)


def _mul(a: Any, b: Any) -> Any:
  """``a * b``, rounded before it is added to anything: XLA (LLVM) fuses ``a * b + c`` into one FMA
  (one rounding), TensorFlow rounds the product first. The select is the identity (a product above
  the largest float32 is inf) but keeps them apart, where selects on NaN are seen through."""
  product = a * b
  return jnp.where(product > _F32_MAX, jnp.inf, product)


def _div(a: Any, b: Any) -> Any:
  """``a / b``, a true division: XLA turns a division by a constant (or by a broadcast scalar) into a
  multiplication by its reciprocal, which rounds differently (measured: 57% of float32 quotients by
  7); a divisor that depends on the dividend (the same value, NaN included) stays a division."""
  return a / jnp.where(jnp.isnan(a), a, b)


def _step(count: Any) -> Any:
  return jnp.asarray(count).astype(F32)


def _fail(name: str, value: Any, rule: str, exc: type[Exception] = ValueError) -> None:
  _validation.fail(name, value, rule, exc=exc, style="keras")


def _number(
  name: str, value: Any, *, lo: float | None = 0.0, lo_open: bool = False, none: bool = False
) -> None:
  """A real number (TypeError otherwise), finite in float32 and >= lo (> lo if lo_open)."""
  if value is None and none:
    return
  if not _validation.is_real(value):
    raise TypeError(f"`{name}` should be a number, got {type(value).__name__} {value!r}.")
  _validation.finite(name, value, float32=True)
  if lo is not None and not (value > lo if lo_open else value >= lo):
    _fail(name, value, f"{'>' if lo_open else '>='} {lo:g}")


def _rate(name: str, value: Any) -> None:
  """A float learning rate: an int makes Keras compute in int32 (Keras 3 returns 0, tf_keras fails)."""
  if _validation.is_int(value):
    raise TypeError(
      f"`{name}` should be a float, got the int {value!r}: Keras computes the schedule in the dtype of "
      f"`{name}` (int32 for an int). Write it as {float(value)!r}."
    )
  _number(name, value)


def _common(name: Any, steps: tuple[tuple[str, Any], ...], flags: tuple[tuple[str, Any], ...]) -> None:
  if name is not None and not isinstance(name, str):
    raise TypeError(f"`name` should be a string or None, got {type(name).__name__} {name!r}.")
  for arg, value in steps:  # Keras 3's own message; tf_keras would divide by zero
    _number(arg, value, lo=0.0, lo_open=True)
  for arg, value in flags:
    _validation.flag(arg, value)


class KerasSchedule:
  """A Keras schedule: ``kind`` and Keras's arguments; called with the update count, it returns the
  learning rate in float32. Picklable, and printed as the Keras call it stands for."""

  def __init__(self, cls: str, kind: str, **kwargs: Any) -> None:
    self.cls, self.kind, self.kwargs = cls, kind, kwargs

  def __repr__(self) -> str:
    args = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
    return f"{self.cls}({args})"

  def __call__(self, count: Any) -> Any:
    return getattr(self, "_" + self.kind)(count, **self.kwargs)

  @staticmethod
  def _exponential(count, initial_learning_rate, decay_steps, decay_rate, staircase, name):
    del name
    p = _div(_step(count), _f32(decay_steps))
    if staircase:
      p = jnp.floor(p)
    return _f32(initial_learning_rate) * jnp.power(_f32(decay_rate), p)

  @staticmethod
  def _piecewise(count, boundaries, values, name):
    del name
    step = jnp.asarray(count)
    if jnp.issubdtype(step.dtype, jnp.integer):  # beyond the count's range, a boundary is never passed
      info = jnp.iinfo(step.dtype)
      boundaries = [min(max(b, int(info.min)), int(info.max)) for b in boundaries]
    passed = jnp.sum(step[..., None] > jnp.asarray(boundaries, step.dtype), axis=-1, dtype=jnp.int32)
    return jnp.asarray(values, F32)[passed]  # values[i] while boundaries[i-1] < step <= boundaries[i]

  @staticmethod
  def _polynomial(count, initial_learning_rate, decay_steps, end_learning_rate, power, cycle, name):
    del name
    step, steps = _step(count), _f32(decay_steps)
    if cycle:  # the first multiple of decay_steps at or after the step (1 at step 0)
      steps = steps * jnp.where(step == 0, _f32(1.0), jnp.ceil(_div(step, steps)))
    else:
      step = jnp.minimum(step, steps)
    end = _f32(end_learning_rate)
    decayed = jnp.power(1 - _div(step, steps), _f32(power))
    return _mul(_f32(initial_learning_rate) - end, decayed) + end

  @staticmethod
  def _inverse_time(count, initial_learning_rate, decay_steps, decay_rate, staircase, name):
    del name
    p = _div(_step(count), _f32(decay_steps))
    if staircase:
      p = jnp.floor(p)
    return _div(_f32(initial_learning_rate), _f32(1.0) + _mul(_f32(decay_rate), p))

  @staticmethod
  def _cosine_from(step, steps, lr, alpha):
    """Keras's ``_decay_function``: ``1 - alpha`` is taken in double (a Python float) before float32."""
    cosine = _f32(0.5) * (1 + jnp.cos(_f32(math.pi) * _div(step, steps)))
    return lr * (_mul(_f32(1 - alpha), cosine) + _f32(alpha))

  @staticmethod
  def _cosine(count, initial_learning_rate, decay_steps, alpha, name, warmup_target, warmup_steps):
    del name
    step, steps, lr = _step(count), _f32(decay_steps), _f32(initial_learning_rate)
    if warmup_target is None:
      return KerasSchedule._cosine_from(jnp.minimum(step, steps), steps, lr, alpha)
    target, warmup = _f32(warmup_target), _f32(warmup_steps)
    step = jnp.minimum(step, steps + warmup)
    warm = _mul(target - lr, _div(step, warmup)) + lr
    return jnp.where(step < warmup, warm, KerasSchedule._cosine_from(step - warmup, steps, target, alpha))

  @staticmethod
  def _restarts(count, initial_learning_rate, first_decay_steps, t_mul, m_mul, alpha, name):
    del name
    fraction = _div(_step(count), _f32(first_decay_steps))
    t, m, a = _f32(t_mul), _f32(m_mul), _f32(alpha)
    if np.float32(t_mul) == 1:  # Keras's cond on the float32 t_mul: periods of equal length
      restart = jnp.floor(fraction)
      fraction = fraction - restart
    else:  # period i has length first_decay_steps * t_mul**i
      restart = jnp.floor(_div(jnp.log(1 - _mul(fraction, 1 - t)), jnp.log(t)))
      done = _div(1 - jnp.power(t, restart), 1 - t)
      fraction = _div(fraction - done, jnp.power(t, restart))
    cosine = _f32(0.5) * jnp.power(m, restart) * (1 + jnp.cos(_f32(math.pi) * fraction))
    return _f32(initial_learning_rate) * (_mul(1 - a, cosine) + a)


def exponential_decay(
  initial_learning_rate, decay_steps, decay_rate, staircase, name, *, cls
) -> KerasSchedule:
  _rate("initial_learning_rate", initial_learning_rate)
  _number("decay_rate", decay_rate)
  _common(name, (("decay_steps", decay_steps),), (("staircase", staircase),))
  return KerasSchedule(
    cls, "exponential", initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
    decay_rate=decay_rate, staircase=staircase, name=name,
  )  # fmt: skip


def piecewise_constant_decay(boundaries, values, name, *, cls) -> KerasSchedule:
  bounds = _validation.real_sequence("boundaries", boundaries)
  vals = _validation.real_sequence("values", values, float32=True, lo=0.0)
  if len(bounds) != len(vals) - 1:
    raise ValueError(
      "The length of boundaries should be 1 less than the length of values. Received: "
      f"boundaries={boundaries} of length {len(bounds)}, and values={values} of length {len(vals)}."
    )
  if not bounds:  # Keras fails at the first call (IndexError)
    raise ValueError(f"`boundaries` must hold at least one boundary. Received: boundaries={boundaries}")
  for i, v in enumerate(vals):
    if _validation.is_int(v):
      raise TypeError(
        f"`values[{i}]` should be a float, got the int {v!r}: Keras returns values in the dtype of "
        f"values[0] (int32 for an int). Write it as {float(v)!r}."
      )
  steps = [math.trunc(b) for b in bounds]  # Keras casts the boundaries to the int64 step: truncation
  if any(b > c for b, c in zip(steps, steps[1:], strict=False)):
    raise ValueError(f"`boundaries` must be sorted (non-decreasing). Received: boundaries={boundaries}")
  _common(name, (), ())
  return KerasSchedule(cls, "piecewise", boundaries=tuple(steps), values=tuple(vals), name=name)


def polynomial_decay(
  initial_learning_rate, decay_steps, end_learning_rate, power, cycle, name, *, cls
) -> KerasSchedule:
  _rate("initial_learning_rate", initial_learning_rate)
  _number("end_learning_rate", end_learning_rate)
  _number("power", power)
  _common(name, (("decay_steps", decay_steps),), (("cycle", cycle),))
  return KerasSchedule(
    cls, "polynomial", initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
    end_learning_rate=end_learning_rate, power=power, cycle=cycle, name=name,
  )  # fmt: skip


def inverse_time_decay(
  initial_learning_rate, decay_steps, decay_rate, staircase, name, *, cls
) -> KerasSchedule:
  _rate("initial_learning_rate", initial_learning_rate)
  _number("decay_rate", decay_rate)
  _common(name, (("decay_steps", decay_steps),), (("staircase", staircase),))
  return KerasSchedule(
    cls, "inverse_time", initial_learning_rate=initial_learning_rate, decay_steps=decay_steps,
    decay_rate=decay_rate, staircase=staircase, name=name,
  )  # fmt: skip


def cosine_decay(
  initial_learning_rate, decay_steps, alpha, name, warmup_target, warmup_steps, *, cls
) -> KerasSchedule:
  _rate("initial_learning_rate", initial_learning_rate)
  _number("alpha", alpha)
  _number("warmup_target", warmup_target, none=True)
  _number("warmup_steps", warmup_steps)
  _common(name, (("decay_steps", decay_steps),), ())
  return KerasSchedule(
    cls, "cosine", initial_learning_rate=initial_learning_rate, decay_steps=decay_steps, alpha=alpha,
    name=name, warmup_target=warmup_target, warmup_steps=warmup_steps,
  )  # fmt: skip


def cosine_decay_restarts(
  initial_learning_rate, first_decay_steps, t_mul, m_mul, alpha, name, *, cls
) -> KerasSchedule:
  _rate("initial_learning_rate", initial_learning_rate)
  _number("t_mul", t_mul)
  if np.float32(t_mul) < 1:
    _fail(
      "t_mul", t_mul, ">= 1 (with t_mul < 1 the periods add up to first_decay_steps / (1 - t_mul) steps, "
      "and Keras's learning rate is NaN from there on)",
    )  # fmt: skip
  _number("m_mul", m_mul)
  _number("alpha", alpha)
  _common(name, (("first_decay_steps", first_decay_steps),), ())
  return KerasSchedule(
    cls, "restarts", initial_learning_rate=initial_learning_rate, first_decay_steps=first_decay_steps,
    t_mul=t_mul, m_mul=m_mul, alpha=alpha, name=name,
  )  # fmt: skip


# --- docstrings, shared by oj.keras and oj.tf_keras (``{mod}``: the module, ``{ref}``: the Keras class) --

_COUNT = """The update count :math:`t` (0 for the first update, as Keras's optimizer passes ``iterations``) is
  converted to float32 as Keras converts it; the result is float32, also for float64 parameters (Keras
  keeps float32 too, and the optimizer casts it to the variable's dtype)."""

_CHECKS = {
  True: """Out-of-range values raise ValueError (Keras 3's own check and message for a step count <= 0;
  negative rates and NaN or inf values too, which Keras 3 accepts); a non-number is a TypeError.""",
  False: """Out-of-range values raise ValueError: a step count <= 0 (tf_keras accepts it and divides by
  zero), negative rates, NaN or inf (tf_keras accepts them); a non-number is a TypeError.""",
}

_NAME = """name: a string or None, Keras's name scope (no effect here; the default is Keras's)."""

DOCS = {
  "exponential_decay": r"""Keras's ``ExponentialDecay``: :math:`\eta_0\, r^{t / T}`, staircase or smooth.

  With :math:`\eta_0` = ``initial_learning_rate``, :math:`T` = ``decay_steps`` and :math:`r` =
  ``decay_rate``, computed in float32 as Keras does: ``p = t / T`` (floored if ``staircase``), then
  ``eta0 * pow(r, p)``. {count}

  {checks}

  Args:
    initial_learning_rate: :math:`\eta_0`, a float >= 0 (an int is a TypeError: Keras would compute in int32).
    decay_steps: :math:`T`, a number > 0.
    decay_rate: :math:`r`, a number >= 0.
    staircase: True or False; True decays in steps, at multiples of ``decay_steps``.
    {name}

  Returns:
    A schedule: a picklable callable of the update count returning the learning rate (float32).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.{mod}.exponential_decay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    >>> [round(float(s(t)), 6) for t in (0, 9, 10, 25)]
    [0.1, 0.1, 0.05, 0.025]

  References:
    ``{ref}.ExponentialDecay``.
  """,
  "piecewise_constant_decay": r"""Keras's ``PiecewiseConstantDecay``: a constant rate between boundaries.

  ``values[i]`` while ``boundaries[i-1] < t <= boundaries[i]``: ``values[0]`` up to and including
  count ``boundaries[0]``, ``values[-1]`` after ``boundaries[-1]``.
  Boundaries are compared with the integer count, as Keras casts them to its int64 ``iterations``
  (a float boundary is truncated); the values are float32. {count}

  Errors: ``len(values) != len(boundaries) + 1`` is Keras's ValueError; no boundary at all (Keras fails
  at the first call), unsorted boundaries (Keras 3 then adds up overlapping values, tf_keras raises in
  ``tf.case``), a negative, NaN or infinite value are ValueErrors; an int value (Keras would return
  int32) or a non-number is a TypeError.

  Args:
    boundaries: a list of numbers, sorted (non-decreasing), at least one.
    values: a list of floats >= 0, one more than ``boundaries``.
    {name}

  Returns:
    A schedule: a picklable callable of the update count returning the learning rate (float32).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.{mod}.piecewise_constant_decay([10, 20], [0.1, 0.01, 0.001])
    >>> [round(float(s(t)), 6) for t in (0, 10, 11, 20, 21)]
    [0.1, 0.1, 0.01, 0.01, 0.001]

  References:
    ``{ref}.PiecewiseConstantDecay``.
  """,
  "polynomial_decay": r"""Keras's ``PolynomialDecay``: :math:`(\eta_0 - \eta_e)(1 - t/T)^{k} + \eta_e`.

  With :math:`\eta_0` = ``initial_learning_rate``, :math:`\eta_e` = ``end_learning_rate``,
  :math:`T` = ``decay_steps`` and :math:`k` = ``power``; :math:`t` stops at :math:`T` unless
  ``cycle``, which replaces :math:`T` by the first multiple of it at or after :math:`t` (:math:`T`
  itself at :math:`t = 0`), so the rate jumps back up after each multiple. Float32, in Keras's order.
  {count}

  {checks}

  Args:
    initial_learning_rate: :math:`\eta_0`, a float >= 0 (an int is a TypeError: Keras would compute in int32).
    decay_steps: :math:`T`, a number > 0.
    end_learning_rate: :math:`\eta_e`, a number >= 0.
    power: :math:`k`, a number >= 0.
    cycle: True or False; True restarts the decay after each multiple of ``decay_steps``.
    {name}

  Returns:
    A schedule: a picklable callable of the update count returning the learning rate (float32).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.{mod}.polynomial_decay(0.1, decay_steps=10, end_learning_rate=0.0, power=1.0)
    >>> [round(float(s(t)), 6) for t in (0, 5, 10, 20)]
    [0.1, 0.05, 0.0, 0.0]

  References:
    ``{ref}.PolynomialDecay``.
  """,
  "inverse_time_decay": r"""Keras's ``InverseTimeDecay``: :math:`\eta_0 / (1 + r t / T)`, staircase or smooth.

  With :math:`\eta_0` = ``initial_learning_rate``, :math:`T` = ``decay_steps`` and :math:`r` =
  ``decay_rate``, in float32 and Keras's order: ``p = t / T`` (floored if ``staircase``), then
  ``eta0 / (1 + r * p)``. {count}

  {checks}

  Args:
    initial_learning_rate: :math:`\eta_0`, a float >= 0 (an int is a TypeError: Keras would compute in int32).
    decay_steps: :math:`T`, a number > 0.
    decay_rate: :math:`r`, a number >= 0.
    staircase: True or False; True decays in steps, at multiples of ``decay_steps``.
    {name}

  Returns:
    A schedule: a picklable callable of the update count returning the learning rate (float32).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.{mod}.inverse_time_decay(0.1, decay_steps=1, decay_rate=1.0)
    >>> [round(float(s(t)), 6) for t in (0, 1, 3)]
    [0.1, 0.05, 0.025]

  References:
    ``{ref}.InverseTimeDecay``.
  """,
  "cosine_decay": r"""Keras's ``CosineDecay``, with its optional linear warm-up.

  Without ``warmup_target``: :math:`\eta_0 ((1 - \alpha) \tfrac12 (1 + \cos(\pi \min(t, T) / T)) +
  \alpha)`, :math:`\eta_0` = ``initial_learning_rate``, :math:`T` = ``decay_steps``, :math:`\alpha` =
  ``alpha``. With it (:math:`\eta_w` = ``warmup_target``, :math:`W` = ``warmup_steps``): a line from
  :math:`\eta_0` to :math:`\eta_w` while :math:`t < W`, then the cosine from :math:`\eta_w` over
  :math:`T` more steps (the count stops at :math:`W + T`). Float32, in Keras's order (``1 - alpha``
  is taken in double first, as Keras's Python arithmetic does). {count}

  {checks}

  Args:
    initial_learning_rate: :math:`\eta_0`, a float >= 0 (an int is a TypeError: Keras would compute in int32).
    decay_steps: :math:`T`, a number > 0.
    alpha: :math:`\alpha`, the final rate as a fraction of the decay's start, a number >= 0.
    {name}
    warmup_target: None (no warm-up) or :math:`\eta_w`, a number >= 0.
    warmup_steps: :math:`W`, a number >= 0; used only with ``warmup_target``.

  Returns:
    A schedule: a picklable callable of the update count returning the learning rate (float32).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.{mod}.cosine_decay(0.0, decay_steps=10, warmup_target=0.1, warmup_steps=5)
    >>> [round(float(s(t)), 6) for t in (0, 1, 5, 10, 15, 99)]
    [0.0, 0.02, 0.1, 0.05, 0.0, 0.0]

  References:
    Loshchilov and Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017;
    ``{ref}.CosineDecay``.
  """,
  "cosine_decay_restarts": r"""Keras's ``CosineDecayRestarts`` (SGDR): cosine periods, each longer and lower.

  Period :math:`i` (from 0) lasts :math:`T \mu_t^i` steps (:math:`T` = ``first_decay_steps``,
  :math:`\mu_t` = ``t_mul``) and starts at :math:`\eta_0 \mu_m^i` (``m_mul``); within it, at the
  fraction :math:`f` done, the rate is :math:`\eta_0 ((1 - \alpha) \tfrac12 \mu_m^i (1 + \cos \pi f)
  + \alpha)`. Keras finds :math:`i` with a float32 logarithm, ``floor(log(1 - t/T (1 - t_mul)) /
  log(t_mul))``, and so does this (periods of equal length when ``t_mul`` is 1 in float32); XLA's and
  TensorFlow's float32 ``log`` differ by an ulp on some inputs, which can move a restart by one count
  (measured, see tests/test_keras_schedules.py). {count}

  {checks} ``t_mul`` < 1 is a ValueError (the periods then end after :math:`T / (1 - \mu_t)` steps,
  where Keras's rate turns NaN).

  Args:
    initial_learning_rate: :math:`\eta_0`, a float >= 0 (an int is a TypeError: Keras would compute in int32).
    first_decay_steps: :math:`T`, a number > 0.
    t_mul: :math:`\mu_t`, a number >= 1: each period is this many times longer than the one before.
    m_mul: :math:`\mu_m`, a number >= 0: each period starts this many times lower.
    alpha: :math:`\alpha`, the lowest rate as a fraction of :math:`\eta_0`, a number >= 0.
    {name}

  Returns:
    A schedule: a picklable callable of the update count returning the learning rate (float32).

  Example:
    >>> import optim_jax as oj
    >>> s = oj.{mod}.cosine_decay_restarts(0.1, first_decay_steps=10, t_mul=2.0, m_mul=0.5)
    >>> [round(float(s(t)), 6) for t in (0, 5, 10, 20, 30)]
    [0.1, 0.05, 0.05, 0.025, 0.025]

  References:
    Loshchilov and Hutter, SGDR: Stochastic Gradient Descent with Warm Restarts, ICLR 2017;
    ``{ref}.CosineDecayRestarts``.
  """,
}


def doc(function: str, *, keras3: bool) -> str:
  """The docstring of ``oj.keras.<function>`` (``keras3``) or ``oj.tf_keras.<function>``."""
  fields = {
    "{mod}": "keras" if keras3 else "tf_keras",
    "{ref}": "keras.optimizers.schedules" if keras3 else "tf_keras.optimizers.schedules",
    "{count}": _COUNT,
    "{checks}": _CHECKS[keras3],
    "{name}": _NAME,
  }
  text = DOCS[function]
  for field, value in fields.items():  # (not str.format: the maths has braces)
    text = text.replace(field, value)
  return text
