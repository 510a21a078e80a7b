"""Argument checks shared by the framework presets (the frameworks' exception types, clear messages)."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from optim_jax import _base


def learning_rate(name: str, value: Any, *, allow_int: bool = True, allow_none: bool = False) -> None:
  """A learning rate is a float, a schedule or an array (as optax.inject_hyperparams passes it)."""
  if value is None:
    if allow_none:
      return
    raise ValueError(f"{name} is not set: expected a float >= 0 or a schedule.")
  if callable(value) or isinstance(value, (jax.Array, np.ndarray)):
    return
  if isinstance(value, bool) or (isinstance(value, int) and not allow_int):
    raise TypeError(
      f"{name} should be a float or a schedule, got {type(value).__name__} {value!r}"
      + (" (the framework rejects an int learning rate: write it as a float)" if not allow_int else "")
    )
  if not _base.is_static_number(value):
    raise TypeError(f"{name} should be a float or a schedule, got {type(value).__name__} {value!r}")
  _base.check_range(name, value, lo=0.0)


def not_none(name: str, value: Any) -> None:
  if value is None:
    raise ValueError(f"{name} is not set.")


def positive_int(name: str, value: Any, exc: type[Exception] = ValueError) -> None:
  if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
    raise TypeError(f"{name} should be an int, got {type(value).__name__} {value!r}")
  _base.check(value > 0, exc, name, value, f"an int {name} > 0")
