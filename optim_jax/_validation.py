"""Argument validation for every factory of optim_jax, in one place and one argument order.

Every check takes ``(name, value, ...)``: the argument's name as the user wrote it, then its value.
Values known at construction (Python and NumPy numbers) are checked for type and range; schedules
and arrays (``optax.inject_hyperparams`` passes tracers) are checked for type and shape only, since
their values are not known yet. The frameworks' exception types and wording are data: each check
takes ``exc`` and a message ``style`` from `MESSAGES`, so a preset raises what its framework raises
and every message names the argument, the value and what is allowed.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, NoReturn

import jax
import jax.numpy as jnp
import numpy as np

#: How each framework words a value outside its range. ``{name}``: the argument; ``{value}``: what
#: was passed; ``{rule}``: what is allowed; ``{label}``: the framework's own word for the argument.
MESSAGES = {
  "default": "Invalid value of {name}: {value!r}; expected {rule}.",
  "torch": "Invalid {label}: {value} ({name}); expected {name} {rule}.",
  "paddle": "Invalid {label}: {value}, expect {rule}.",
  "keras": "`{name}` must be {rule}. Received: {name}={value}",
}

#: PyTorch's word for each argument in its ValueError messages ("Invalid learning rate: -1").
TORCH_LABELS = {
  "lr": "learning rate",
  "eps": "epsilon value",
  "momentum": "momentum value",
  "weight_decay": "weight_decay value",
  "alpha": "alpha value",
  "lambd": "lambd value",
}


def is_static_number(value: Any) -> bool:
  """True for a Python or NumPy number known at construction (not a tracer, not a schedule)."""
  if isinstance(value, (bool, np.bool_)):
    return False
  if isinstance(value, numbers.Number):
    return True
  return isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"


def is_static_zero(value: Any) -> bool:
  """A hyperparameter that is a literal 0 (or None): the transform it drives is structurally off."""
  return value is None or (is_static_number(value) and float(value) == 0.0)


def is_int(value: Any) -> bool:
  """A Python or NumPy integer, not a bool."""
  return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def is_real(value: Any) -> bool:
  """A Python or NumPy real number, not a bool."""
  return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _describe(value: Any) -> str:
  return f"{type(value).__name__} {value!r}"


def fail(name: str, value: Any, rule: str, *, exc: type[Exception] = ValueError, style: str = "default",
         label: str | None = None) -> NoReturn:  # fmt: skip
  """Raises ``exc`` with the message of ``style``, naming the argument, the value and the rule."""
  raise exc(MESSAGES[style].format(name=name, value=value, rule=rule, label=label or name))


def check(ok: bool, name: str, value: Any, rule: str, *, exc: type[Exception] = ValueError,
          style: str = "default", label: str | None = None) -> None:  # fmt: skip
  """`fail` unless ``ok``."""
  if not ok:
    fail(name, value, rule, exc=exc, style=style, label=label)


def _rule(name: str, lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
  if lo is not None and hi is not None:
    return f"{lo:g} {'<' if lo_open else '<='} {name} {'<' if hi_open else '<='} {hi:g}"
  if lo is not None:
    return f"{name} {'>' if lo_open else '>='} {lo:g}"
  if hi is not None:
    return f"{name} {'<' if hi_open else '<='} {hi:g}"
  return f"a number {name}"


def in_range(
  name: str,
  value: Any,
  *,
  lo: float | None = None,
  hi: float | None = None,
  lo_open: bool = False,
  hi_open: bool = False,
  exc: type[Exception] = ValueError,
  style: str = "default",
  label: str | None = None,
  rule: str | None = None,
) -> None:
  """Checks a number known at construction against ``[lo, hi]`` (NaN fails); others pass."""
  if not is_static_number(value):
    return
  v = float(value)
  ok = not np.isnan(v)
  if lo is not None:
    ok = ok and (v > lo if lo_open else v >= lo)
  if hi is not None:
    ok = ok and (v < hi if hi_open else v <= hi)
  if not ok:
    if rule is None:
      rule = (
        _rule(name, lo, hi, lo_open, hi_open) if style != "torch" else _interval(lo, hi, lo_open, hi_open)
      )
    fail(name, value, rule, exc=exc, style=style, label=label)


def _interval(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
  """'>= 0' or 'in [0, 1)': the rule as PyTorch-style messages write it after the name."""
  if hi is None:
    return f"{'>' if lo_open else '>='} {lo:g}"
  if lo is None:
    return f"{'<' if hi_open else '<='} {hi:g}"
  return f"in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


def hyperparameter(
  name: str,
  value: Any,
  *,
  schedule: bool = False,
  none: bool = False,
  **range_args: Any,
) -> None:
  """A numeric hyperparameter: a real number, a 0-d array or tracer, or a schedule if ``schedule``.

  Strings, lists, bools and arrays of another shape are a TypeError (they would broadcast or fail
  inside the first update); a number is then checked by `in_range` with ``range_args``.
  """
  if value is None:
    if none:
      return
    raise TypeError(f"{name} should be a number{' or a schedule' if schedule else ''}, got None.")
  if callable(value) and not isinstance(value, (jax.Array, np.ndarray)):
    if schedule:
      return
    raise TypeError(
      f"{name} should be a number, got the callable {value!r} (a schedule is not allowed here)."
    )
  if isinstance(value, (jax.Array, np.ndarray, np.generic)) and not isinstance(value, np.bool_):
    if jnp.ndim(value) != 0:
      raise TypeError(f"{name} should be a scalar, got an array of shape {jnp.shape(value)}.")
    if not (jnp.issubdtype(value.dtype, jnp.floating) or jnp.issubdtype(value.dtype, jnp.integer)):
      raise TypeError(f"{name} should be a real number, got an array of dtype {value.dtype}.")
  elif not is_real(value):
    what = "a number or a schedule" if schedule else "a number"
    raise TypeError(f"{name} should be {what}, got {_describe(value)}.")
  in_range(name, value, **range_args)


def learning_rate(
  name: str,
  value: Any,
  *,
  allow_int: bool = True,
  none: bool = False,
  style: str = "default",
  label: str | None = None,
) -> None:
  """A learning rate: a finite float >= 0, a schedule or a scalar array (``inject_hyperparams``)."""
  if value is None:
    if none:
      return
    raise ValueError(f"{name} should not be None: expected a float >= 0 or a schedule.")
  in_range(name, value, lo=0.0, style=style, label=label)  # Paddle checks the value before the type
  if is_int(value) and not allow_int:
    raise TypeError(
      f"{name} should be a float or a schedule, got {_describe(value)} (the framework rejects an int "
      "learning rate: write it as a float)"
    )
  if not (callable(value) or isinstance(value, (jax.Array, np.ndarray)) or is_real(value)):
    raise TypeError(f"{name} should be a float or a schedule, got {_describe(value)}")
  hyperparameter(name, value, schedule=True, lo=0.0, style=style, label=label)
  finite(name, value, float32=True)


def not_none(name: str, value: Any) -> None:
  """Paddle's kernel arguments may not be None (it fails inside the kernel otherwise)."""
  if value is None:
    raise ValueError(f"{name} is not set.")


def integer(
  name: str,
  value: Any,
  *,
  lo: int = 1,
  exc: type[Exception] = ValueError,
  type_exc: type[Exception] = TypeError,
  none: bool = False,
) -> None:
  """An int >= ``lo`` (a NumPy integer too; a float or a bool is ``type_exc``)."""
  if value is None and none:
    return
  if isinstance(value, jax.Array) and jnp.issubdtype(value.dtype, jnp.integer) and value.ndim == 0:
    return  # injected by optax.inject_hyperparams
  if not is_int(value):
    raise type_exc(f"{name} should be an int, got {_describe(value)}")
  check(value >= lo, name, value, f"an int {name} >= {lo}", exc=exc)


def positive_int(name: str, value: Any, *, exc: type[Exception] = ValueError,
                 type_exc: type[Exception] = TypeError) -> None:  # fmt: skip
  """An int > 0."""
  if not is_int(value):
    raise type_exc(f"{name} should be an int, got {_describe(value)}")
  check(value > 0, name, value, f"an int {name} > 0", exc=exc)


def int_scalar(name: str, value: Any) -> None:
  """An int given at update time: a Python or NumPy int, or an integer scalar array or tracer.

  A float or a bool is a TypeError (``astype(int32)`` would truncate it silently).
  """
  if is_int(value):
    return
  dtype = getattr(value, "dtype", None)
  if dtype is not None and jnp.issubdtype(dtype, jnp.integer) and jnp.ndim(value) == 0:
    return
  raise TypeError(f"{name} should be an int or an integer scalar array, got {_describe(value)}")


def flag(name: str, value: Any, *, none: bool = False) -> None:
  """A structural switch: True or False (``centered="no"`` must not mean centered); None too if
  ``none``."""
  if value is None and none:
    return
  if not isinstance(value, (bool, np.bool_)):
    raise TypeError(f"{name} should be True or False{' or None' if none else ''}, got {_describe(value)}")


def one_of(name: str, value: Any, choices: tuple[Any, ...], *, exc: type[Exception] = ValueError) -> None:
  """One of a few allowed values."""
  if not any(value is c or (type(value) is type(c) and value == c) for c in choices):
    fail(name, value, " or ".join(map(repr, choices)), exc=exc)


def float_dtype(name: str, value: Any, *, none: bool = True, exc: type[Exception] = TypeError) -> Any:
  """A floating dtype (or None when allowed), returned as a ``jnp.dtype``; ``exc`` for a dtype that
  is not floating (a value that is no dtype at all is a TypeError)."""
  if value is None and none:
    return None
  try:
    dtype = jnp.dtype(value)
  except TypeError:
    raise TypeError(f"{name} should be a floating dtype, got {_describe(value)}") from None
  if not jnp.issubdtype(dtype, jnp.floating):
    raise exc(f"Invalid value of {name}: {dtype}; expected a floating dtype.")
  return dtype


# --- Paddle's LRScheduler checks (the exception types Paddle 3.3.1 raises, recorded in the tests) --


def scheduler_rate(name: str, value: Any) -> None:
  """Paddle's ``LRScheduler`` base check: a float or int (TypeError), >= 0 (ValueError); and finite in
  float32 (ValueError: the schedules return float32, where it would be inf)."""
  if not is_real(value):
    raise TypeError(f"The type of {name} must be float, but received {_describe(value)}.")
  finite(name, value, float32=True, rule=f"a finite {name} >= 0 (float32: <= {_F32_MAX:.4g})")
  in_range(name, value, lo=0.0)


def real(name: str, value: Any) -> None:
  """A real number (Paddle's ``float or int`` TypeError)."""
  if not is_real(value):
    raise TypeError(f"The type of {name} must be float or int, but received {_describe(value)}.")


def scheduler_int(name: str, value: Any, *, exc: type[Exception] = AssertionError) -> None:
  """An int > 0 (Paddle checks these with ``assert``: AssertionError)."""
  if not (is_int(value) and value > 0):
    raise exc(f"Invalid value of {name}: {value!r}; expected a positive integer.")


def function(name: str, value: Any, cls: str) -> None:
  """A callable argument of Paddle's class ``cls``."""
  if not callable(value):
    raise TypeError(
      f"The type of '{name}' in '{cls}' must be 'function', but received {type(value).__name__}."
    )


_F32_MAX = float(np.finfo(np.float32).max)


def finite(name: str, value: Any, *, float32: bool = False, exc: type[Exception] = ValueError,
           rule: str | None = None) -> None:  # fmt: skip
  """A number known at construction must be finite: NaN and +-inf fail, and with ``float32`` also a
  magnitude beyond float32's range (inf once rounded); others (schedules, arrays) pass."""
  if not is_static_number(value):
    return
  try:
    v = float(value)
  except OverflowError:  # an int beyond float64
    v = math.inf
  if np.isfinite(v) and not (float32 and abs(v) > _F32_MAX):
    return
  if rule is None:
    rule = f"a finite {name}" + (f" (float32: |{name}| <= {_F32_MAX:.4g})" if float32 else "")
  fail(name, value, rule, exc=exc)


def real_sequence(name: str, value: Any, *, allow_inf: bool = False, float32: bool = False,
                  **range_args: Any) -> list[Any]:  # fmt: skip
  """A list or tuple (or 1-d NumPy array) of real numbers known at construction, returned as a list.

  Another container is a TypeError; element i is checked as ``name[i]``: a real number (TypeError,
  naming the element and the whole argument), then, unless ``allow_inf``, `finite` (with ``float32``;
  ValueError) and `in_range` with ``range_args`` (NaN fails).
  """
  if isinstance(value, np.ndarray) and value.ndim == 1:
    value = value.tolist()
  if not isinstance(value, (list, tuple)):
    raise TypeError(f"{name} should be a list or tuple of numbers, got {_describe(value)}.")
  for i, v in enumerate(value):
    item = f"{name}[{i}]"
    if not is_real(v):
      raise TypeError(f"{item} should be a number (float or int), got {_describe(v)} in {name}={value!r}.")
    if not allow_inf:
      finite(item, v, float32=float32)
    if range_args or not is_int(v):  # (an int is never NaN, and may be beyond float64)
      in_range(item, v, **(range_args or {"rule": f"a number {item} (not NaN)"}))
  return list(value)


def axis_names(name: str, value: Any) -> None:
  """None, a mapped axis name (a non-empty str) or a non-empty tuple of them (TypeError otherwise;
  ValueError for an empty name or tuple)."""
  if value is None:
    return
  names = value if isinstance(value, tuple) else (value,)
  if not all(isinstance(n, str) for n in names):
    raise TypeError(f"{name} should be None, an axis name (str) or a tuple of them, got {_describe(value)}.")
  check(bool(names) and all(names), name, value, "a non-empty axis name or a non-empty tuple of them")
