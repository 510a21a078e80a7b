"""Pytree helpers: splitting per-leaf results, optional masks, and finding one state in a chain."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import optax


def maybe_mask(tx: optax.GradientTransformation, mask: Any) -> optax.GradientTransformation:
  """optax.masked when a mask is given (a pytree of bools or a callable of the params)."""
  return tx if mask is None else optax.masked(tx, mask)


def unzip(tree: Any, like_tree: Any, n: int) -> tuple[Any, ...]:
  """Splits a tree whose leaves (at `like_tree`'s leaves) are n-tuples into n trees."""
  return tuple(jax.tree.map(lambda _, t, i=i: t[i], like_tree, tree) for i in range(n))


def find_one(opt_state: Any, is_target: Callable[[Any], bool], what: str, hint: str) -> Any:
  """The one node of ``opt_state`` (anywhere in a chain, mask or wrapper) for which ``is_target``.

  Raises ``ValueError("... holds no <what> ...")`` or ``"... holds 2 <what> ..."`` otherwise, with
  ``hint`` saying how to get exactly one.
  """
  found = [x for x in jax.tree.leaves(opt_state, is_leaf=is_target) if is_target(x)]
  if len(found) != 1:
    count = "no" if not found else f"{len(found)}"
    raise ValueError(f"The optimizer state holds {count} {what}; expected exactly one. {hint}")
  return found[0]
