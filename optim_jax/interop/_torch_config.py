"""What an ``oj.torch`` transformation was built with: PyTorch's ``param_groups`` options, read back.

An ``optax.GradientTransformation`` is a pair of functions and records no arguments, but checking a
checkpoint's ``param_groups`` against a transformation, and writing ``param_groups`` that
``optimizer.load_state_dict`` accepts, needs them. The presets of ``oj.torch`` keep their arguments
in the closures of the primitives they chain (``_scale_by_rms``'s ``decay``, ``averaged_sgd``'s
``t0``...), and parameter groups keep each group's preset arguments whole; `torch_config` reads
them back, exactly (Python numbers and the schedules themselves, nothing measured). A transformation
this does not recognise is a ValueError naming what it found.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any

# PyTorch's options per optimizer class, in the order of its ``param_groups`` (torch 2.13); the
# implementation switches that have no effect here come after.
OPTIONS: dict[str, tuple[str, ...]] = {
  "RMSprop": ("lr", "momentum", "alpha", "eps", "centered", "weight_decay", "maximize"),
  "RAdam": ("lr", "betas", "eps", "weight_decay", "maximize", "decoupled_weight_decay"),
  "ASGD": ("lr", "lambd", "alpha", "t0", "weight_decay", "maximize"),
}
SWITCHES: dict[str, tuple[str, ...]] = {
  "RMSprop": ("capturable", "foreach", "differentiable"),
  "RAdam": ("foreach", "capturable", "differentiable"),
  "ASGD": ("foreach", "differentiable", "capturable"),
}
# The order of a fresh group's keys in PyTorch's state_dict (the constructor's defaults).
GROUP_ORDER: dict[str, tuple[str, ...]] = {
  "RMSprop": ("lr", "momentum", "alpha", "eps", "centered", "weight_decay", "capturable", "foreach",
              "maximize", "differentiable"),
  "RAdam": ("lr", "betas", "eps", "weight_decay", "maximize", "foreach", "capturable",
            "decoupled_weight_decay", "differentiable"),
  "ASGD": ("lr", "lambd", "alpha", "t0", "weight_decay", "foreach", "maximize", "differentiable",
           "capturable"),
}  # fmt: skip
PRESETS = {"rmsprop": "RMSprop", "radam": "RAdam", "asgd": "ASGD"}


@dataclasses.dataclass(frozen=True)
class TorchConfig:
  """A transformation's PyTorch optimizer class and each parameter group's options.

  Attributes:
    optimizer: ``"RMSprop"``, ``"RAdam"`` or ``"ASGD"``.
    groups: one dict per parameter group, PyTorch's option names (`OPTIONS`) to our values (``lr``
      a number or a schedule of the update count, ``betas`` a tuple; ``momentum`` or ``betas[0]`` a
      schedule where a scheduler cycles the momentum).
    grouped: whether the transformation has ``param_groups=`` (its state holds each group's lr).
  """

  optimizer: str
  groups: tuple[dict[str, Any], ...]
  grouped: bool


def _closure(fn: types.FunctionType) -> dict[str, Any]:
  out = {}
  for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True):
    try:
      out[name] = cell.cell_contents
    except ValueError:  # an empty cell
      continue
  return out


def _functions(root: Any) -> list[tuple[str, dict[str, Any]]]:
  """Every function reachable from ``root`` through closures, tuples, lists and dicts, depth first in
  chain order: (qualified name, its closure)."""
  out: list[tuple[str, dict[str, Any]]] = []
  seen: set[int] = set()

  def visit(obj: Any) -> None:
    if id(obj) in seen:
      return
    seen.add(id(obj))
    if isinstance(obj, types.FunctionType):
      cells = _closure(obj)
      out.append((obj.__qualname__, cells))
      for value in cells.values():
        visit(value)
    elif isinstance(obj, (tuple, list)):
      for x in obj:
        visit(x)
    elif isinstance(obj, dict):
      for x in obj.values():
        visit(x)

  visit(root)
  return out


def _unsupported(what: str) -> ValueError:
  return ValueError(
    f"{what}: the PyTorch interop reads transformations made by oj.torch.rmsprop, oj.torch.radam or "
    "oj.torch.asgd (with param_groups=, a schedule as lr, and stateless clips chained in front)."
  )


def _group_options(qualname_cells: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
  """A parameter group's preset and arguments, from optim_jax's inject_hyperparams closure."""
  for name, cells in qualname_cells:
    if name.endswith("inject_hyperparams.<locals>.factory.<locals>.build") and "kwargs" in cells:
      factory = cells.get("inner_factory")
      preset = getattr(factory, "__name__", "")
      if getattr(factory, "__module__", "") == "optim_jax.torch" and preset in PRESETS:
        return PRESETS[preset], dict(cells["kwargs"])
  raise _unsupported("a parameter group that is not an oj.torch optimizer")


def _weight_decay(cells: dict[str, Any], decoupled: bool) -> Any:
  """The coefficient of ``add_l2_decay`` or ``decoupled_weight_decay`` from their ``_decay`` closure:
  its ``hyperparams`` (``(coeff,)``, ``(lr, weight_decay)``) or the term's own closure."""
  if "hyperparams" in cells:
    return cells["hyperparams"][1 if decoupled else 0]
  term = _closure(cells["term"])
  for key in ("weight_decay", "coeff"):
    if key in term:
      return term[key]
  raise _unsupported("a weight decay whose coefficient is not found")


def _injected(cells: dict[str, Any]) -> tuple[str, dict[str, Any]]:
  """An ``inject_hyperparams`` build closure's factory name and arguments by name (a scheduler's cycled
  momentum: ``trace(decay=...)``, ``scale_by_radam(b1, b2, eps)``)."""
  factory = cells.get("inner_factory")
  name = getattr(factory, "__name__", "")
  kwargs = dict(cells.get("kwargs", {}))
  if name == "scale_by_radam":
    kwargs |= dict(zip(("b1", "b2", "eps"), cells.get("args", ()), strict=False))
  return name, kwargs


def _single(found: list[tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
  kinds = []
  cycled = None  # a scheduler's momentum (RMSprop) or beta1 (RAdam)
  for name, cells in found:
    if name.endswith("inject_hyperparams.<locals>.factory.<locals>.build"):
      factory, kwargs = _injected(cells)
      if factory == "trace":
        cycled = kwargs["decay"]
      elif factory == "scale_by_radam":
        kinds.append(("RAdam", {"betas": (kwargs["b1"], kwargs["b2"]), "eps": kwargs["eps"]}))
      else:
        raise _unsupported(f"an injected {factory or 'factory'}")
    state_cls = getattr(cells.get("state_cls"), "__name__", "")
    if name.endswith("_scale_by_rms.<locals>.update_fn") and state_cls == "ScaleByRmsTorchState":
      kinds.append(("RMSprop", {"alpha": cells["decay"], "eps": cells["eps"], "centered": cells["centered"]}))
    elif name.endswith("scale_by_radam.<locals>.update_fn"):
      kinds.append(("RAdam", {"betas": (cells["b1"], cells["b2"]), "eps": cells["eps"]}))
    elif name.endswith("averaged_sgd.<locals>.update_fn"):
      kinds.append(("ASGD", {k: cells[k] for k in ("lambd", "alpha", "t0")} | {"lr": cells["learning_rate"]}))
  if len(kinds) != 1:
    names = [k for k, _ in kinds]
    raise _unsupported(
      f"found {len(kinds)} PyTorch optimizers {names}" if kinds else "no PyTorch optimizer found"
    )
  optimizer, options = kinds[0]
  options |= {"maximize": False, "weight_decay": 0}
  if optimizer == "RMSprop":
    options["momentum"] = 0
  if optimizer == "RAdam":
    options["decoupled_weight_decay"] = False
  for name, cells in found:
    if name == "scale.<locals>.update_fn" and cells.get("step_size") == -1.0:
      options["maximize"] = True
    elif name.endswith("_decay.<locals>.update_fn") and "term" in cells:
      term = getattr(cells["term"], "__qualname__", "")
      if term.startswith("decoupled_weight_decay."):
        options["decoupled_weight_decay"] = True
      elif not term.startswith("add_l2_decay."):
        raise _unsupported(f"a weight decay {term!r} that is not PyTorch's")
      options["weight_decay"] = _weight_decay(cells, options.get("decoupled_weight_decay") is True)
    elif name.endswith("trace.<locals>.update_fn") and "decay" in cells:
      options["momentum"] = cells["decay"]
    elif name.startswith("scale_by_learning_rate.<locals>.") and "learning_rate" in cells:
      options["lr"] = cells["learning_rate"]
  if cycled is not None:
    options["momentum"] = cycled
  return optimizer, options


def torch_config(tx: Any) -> TorchConfig:
  """The PyTorch optimizer class and ``param_groups`` options an ``oj.torch`` transformation was built with.

  Args:
    tx: a transformation made by ``oj.torch.rmsprop``, ``radam`` or ``asgd`` (also with
      ``param_groups=``), possibly in ``optax.chain`` after stateless clips.

  Returns:
    A `TorchConfig`.

  Raises:
    ValueError: for any other transformation, and for more than one optimizer in it.

  Example:
    >>> import optim_jax as oj
    >>> from optim_jax.interop._torch_config import torch_config
    >>> cfg = torch_config(oj.torch.rmsprop(lr=0.01, momentum=0.9))
    >>> cfg.optimizer, cfg.groups[0]["momentum"], cfg.groups[0]["alpha"]
    ('RMSprop', 0.9, 0.99)
  """
  update = getattr(tx, "update", None)
  if not isinstance(update, types.FunctionType):
    raise _unsupported(f"{type(tx).__name__} is not an optax transformation")
  found = _functions(update)
  for name, cells in found:
    if name.endswith("grouped.<locals>.masked") and "transforms" in cells:
      groups, kinds = [], set()
      for sub in cells["transforms"]:
        optimizer, options = _group_options(_functions(sub.update))
        kinds.add(optimizer)
        groups.append(options)
      if len(kinds) != 1:
        raise _unsupported(f"parameter groups of different optimizers {sorted(kinds)}")
      (optimizer,) = kinds
      return TorchConfig(optimizer, tuple(groups), True)
  optimizer, options = _single(found)
  return TorchConfig(optimizer, (options,), False)
