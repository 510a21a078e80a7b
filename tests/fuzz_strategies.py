"""Generators and checks of the property-based fuzz of every public factory (tests/registry.py).

Used by tests/test_fuzz.py (hypothesis, a few examples per entry, CI) and tools/fuzz.py (the long
run, plain random numbers, thousands of configurations): both draw through the small `Draw`
interface, so each generator is written once. A generator returns a case (a frozen dataclass whose
``repr`` is the Python code that rebuilds it); a check runs a case and raises `Defect` with a
signature (what kind of failure, where) and a one-line reproduction.

Ranges: ``TRANSFORMS`` and ``SCHEDULES`` give, per factory (the registry name without its
``[variant]``) and argument, a spec: the documented valid range, the moderate part of it that valid
configurations are drawn from, and the invalid values to reject at construction (wrong types:
strings, lists, arrays of shape (2,), None where not allowed, bools for numbers, callables where a
schedule is not allowed; out of range: below the minimum, above the maximum, NaN, inf where not
allowed). "Gray" values are those the issue leaves to the implementation (``2**31`` for an int
argument, ``inf`` where it could mean "off"): either rejected at construction with a message naming
the argument, or accepted and then run without an exception or a non-finite value.

What a valid configuration must do (`check_valid`): build, ``init`` and update eagerly for a few
steps on drawn gradients (fixed template shapes with scalars, empty leaves and None; float32,
bfloat16, float16, a tree mixing them, or float64 under ``jax.enable_x64``; moderate values, at
most 100 in magnitude; the parameters stay as drawn) without an exception or warning; return
updates with the gradient's tree, shapes and dtypes; keep the state's abstract signature (tree,
shapes, dtypes, weak types) from ``init`` on, which is what makes a jitted update trace once
(tools/fuzz.py also counts traces under ``jax.jit``); and return finite updates. A bfloat16 or
float16 update may overflow only where the same computation on the same values in float32 does not
fit the dtype (that float32 run is made to decide).

Schedules (`check_schedule`): float32 values of the right shape on a vector of counts up to
``2**31 - 1`` (and on a Python int count), finite and non-negative for non-negative arguments.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import random
import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np
import optax

import optim_jax as oj
from tests import registry

inf, nan = math.inf, math.nan
I32_MAX = 2**31 - 1

# --- values whose repr is the code that makes them ---------------------------------------------------

NAMESPACE = {"oj": oj, "jax": jax, "jnp": jnp, "np": np, "optax": optax, "inf": inf, "nan": nan}


@dataclasses.dataclass(frozen=True)
class Expr:
  """A value written as code (arrays, schedules, transformations, lambdas), built when used.

  ``value`` is the number it stands for, where it stands for one (repairs compare numbers).
  """

  code: str
  value: float | None = None

  def build(self) -> Any:
    return eval(self.code, dict(NAMESPACE))  # noqa: S307 - our own table of expressions

  def __repr__(self) -> str:
    return self.code


def build(value: Any) -> Any:
  """The value an argument gets: expressions evaluated, lists and tuples element-wise."""
  if isinstance(value, Expr):
    return value.build()
  if type(value) is dict:  # not NamedTuples (transformations) or other containers
    return {k: build(v) for k, v in value.items()}
  if type(value) is list:
    return [build(v) for v in value]
  if type(value) is tuple:
    return tuple(build(v) for v in value)
  return value


def number(value: Any) -> float | None:
  """The number a drawn value stands for, or None (a schedule, an object)."""
  if isinstance(value, Expr):
    return value.value
  if isinstance(value, (bool, np.bool_)) or value is None:
    return None
  if isinstance(value, (int, float, np.integer, np.floating)):
    return float(value)
  return None


# --- drawing -----------------------------------------------------------------------------------------


class Draw(Protocol):
  """Where the generators get their choices: `RandomDraw` here, a hypothesis one in tests/test_fuzz.py."""

  def choice(self, options: Sequence[Any]) -> Any: ...
  def uniform(self, lo: float, hi: float) -> float: ...
  def integer(self, lo: int, hi: int) -> int: ...  # inclusive
  def boolean(self) -> bool: ...


class RandomDraw:
  """`Draw` from a ``random.Random`` (tools/fuzz.py)."""

  def __init__(self, rng: random.Random):
    self.rng = rng

  def choice(self, options: Sequence[Any]) -> Any:
    return options[self.rng.randrange(len(options))]

  def uniform(self, lo: float, hi: float) -> float:
    return self.rng.uniform(lo, hi)

  def integer(self, lo: int, hi: int) -> int:
    return self.rng.randint(lo, hi)

  def boolean(self) -> bool:
    return self.rng.random() < 0.5


def _log_uniform(draw, lo: float, hi: float) -> float:
  return float(10.0 ** draw.uniform(math.log10(lo), math.log10(hi)))


def _schedule_expr(draw, v: float) -> Expr:
  return draw.choice(
    [
      Expr(f"oj.schedules.step_decay({v!r}, 2, 0.5)", v),
      Expr(f"oj.schedules.cosine_annealing_decay({v!r}, 3)", v),
      Expr(f"optax.constant_schedule({v!r})", v),
    ]
  )


# --- argument specs ----------------------------------------------------------------------------------

Bad = tuple[str, Any]  # (what kind of bad value, the value)


@dataclasses.dataclass(frozen=True)
class Real:
  """A real hyperparameter in [lo, hi] (open ends with lo_open/hi_open; None: unbounded).

  Valid values are drawn from ``span`` (log-uniform if ``log``) and ``edges``; ``inf``, ``below``
  say whether +-inf and values below ``lo`` are "valid", "gray" or "invalid".
  """

  lo: float | None = None
  hi: float | None = None
  lo_open: bool = False
  hi_open: bool = False
  span: tuple[float, float] = (0.0, 1.0)
  log: bool = False
  edges: tuple[float, ...] = ()
  inf: str = "invalid"
  below: str = "invalid"
  none: bool = False  # None is valid
  schedule: bool = False  # a schedule is valid
  ints: bool = True  # an int in range is valid (Paddle's preset learning rates: TypeError)
  arrays: bool = True  # a 0-d jax array is valid (transform hyperparameters, not Paddle scheduler args)
  exc: tuple[type[Exception], ...] = ()  # accepted besides the default exception types
  bad: tuple[str, ...] | None = None  # restrict the invalid values to these kinds
  gray_extra: tuple[Bad, ...] = ()

  def contains(self, v: float) -> bool:
    if math.isnan(v):
      return False
    if self.lo is not None and (v < self.lo or (self.lo_open and v == self.lo)):
      return False
    return self.hi is None or not (v > self.hi or (self.hi_open and v == self.hi))

  def mid(self) -> float:
    a, b = self.span
    return float(math.sqrt(a * b)) if self.log else (a + b) / 2

  def _span_value(self, draw) -> float:
    a, b = self.span
    v = _log_uniform(draw, a, b) if self.log else draw.uniform(a, b)
    return v if self.contains(v) else self.mid()

  def valid(self, draw, *, ci: bool = False) -> Any:
    """A valid value; ``ci``: Python numbers only (NumPy scalars, arrays and schedules compile more)."""
    kinds = ["span", "span", "span", *([] if ci else ["np"])]
    if self.edges:
      kinds.append("edge")
    if self.ints and self._int_values():
      kinds.append("int")
    if self.arrays and not ci:
      kinds.append("jnp")
    if self.none:
      kinds.append("none")
    if self.schedule and not ci:
      kinds.append("schedule")
    if self.inf == "valid":
      kinds.append("inf")
    kind = draw.choice(kinds)
    if kind == "edge":
      return draw.choice(self.edges)
    if kind == "int":
      return draw.choice(self._int_values())
    if kind == "none":
      return None
    if kind == "inf":
      return inf
    v = self._span_value(draw)
    if kind == "np":
      return np.float64(v)
    if kind == "jnp" and self.contains(float(np.float32(v))):
      return Expr(f"jnp.asarray({v!r}, jnp.float32)", v)
    if kind == "schedule":
      return _schedule_expr(draw, v)
    return v

  def _int_values(self) -> list[int]:
    a, b = self.span
    ints = (i for i in range(math.ceil(a), math.floor(b) + 1) if self.contains(i))
    return list(itertools.islice(ints, 3))

  @property
  def ranged(self) -> bool:
    """Has out-of-range numbers to draw."""
    return self.bad is None and ((self.lo is not None and self.below == "invalid") or self.hi is not None)

  def _below(self) -> list[Bad]:
    if self.lo is None:
      return []
    lo = self.lo
    out = [("= lo of an open interval", lo)] if self.lo_open else []
    tiny = 1e-12 if lo == 0 else abs(lo) * 1e-9
    return [*out, ("just below the minimum", lo - tiny), ("below the minimum", lo - 1.0), ("-inf", -inf)]

  def _above(self) -> list[Bad]:
    if self.hi is None:
      return []
    hi = self.hi
    out = [("= hi of an open interval", hi)] if self.hi_open else []
    return [*out, ("just above the maximum", hi + 1e-7 * max(1.0, abs(hi))), ("above the maximum", hi + 1.0)]

  def invalid(self) -> list[Bad]:
    m = self.mid()
    out: list[Bad] = [
      ("str", str(m)),
      ("list", [m]),
      ("array of shape (2,)", Expr(f"np.array([{m!r}, {m!r}])")),
      ("bool", True),
      ("nan", nan),
    ]
    if not self.none:
      out.append(("None", None))
    if not self.schedule:
      out.append(("callable (no schedule here)", Expr(f"lambda count: {m!r}")))
    if not self.ints:
      ints = [i for i in (0, 1, 2, 10) if self.contains(i)]
      if ints:
        out.append(("int", ints[-1]))
    if self.hi is None and self.inf == "invalid":
      out.append(("inf", inf))
    if self.lo is None and self.inf == "invalid":
      out.append(("-inf", -inf))
    if self.below == "invalid":
      out += self._below()
    out += self._above()
    if self.bad is not None:
      out = [b for b in out if b[0] in self.bad]
    return out

  def invalid_number(self, draw) -> Bad | None:
    """A drawn out-of-range number, or None if every real number is allowed."""
    if not self.ranged:
      return None
    sides = (["below"] if self.lo is not None and self.below == "invalid" else []) + (
      ["above"] if self.hi is not None else []
    )
    if draw.choice(sides) == "below":
      return ("drawn below the minimum", self.lo - _log_uniform(draw, 1e-9, 1e6) * max(1.0, abs(self.lo)))
    return ("drawn above the maximum", self.hi + _log_uniform(draw, 1e-6, 1e6) * max(1.0, abs(self.hi)))

  def gray(self) -> list[Bad]:
    out = list(self.gray_extra)
    if self.hi is None and self.inf == "gray":
      out.append(("inf", inf))
    if self.lo is None and self.inf == "gray":
      out.append(("-inf", -inf))
    if self.below == "gray":
      out += self._below()
    return out


@dataclasses.dataclass(frozen=True)
class Int:
  """An int >= lo; valid values drawn from ``span``. ``big``: 2**31 and 2**40 are "gray" or "skip"."""

  lo: int = 1
  span: tuple[int, int] = (1, 10)
  none: bool = False
  big: str = "gray"
  below: str = "invalid"
  floats: str = "invalid"  # an integral float (2.0): "invalid" or "gray"
  exc: tuple[type[Exception], ...] = ()
  valid_extra: tuple[int, ...] = ()
  numpy: bool = True  # a NumPy integer is valid

  def valid(self, draw, **_) -> Any:
    kinds = ["span", "span", *(["np"] if self.numpy else []), *(["none"] if self.none else [])]
    kinds += ["extra"] if self.valid_extra else []
    kind = draw.choice(kinds)
    if kind == "none":
      return None
    if kind == "extra":
      return draw.choice(self.valid_extra)
    v = draw.integer(*self.span)
    return np.int64(v) if kind == "np" else v

  def invalid(self) -> list[Bad]:
    m = max(self.lo, self.span[0]) + 1
    out: list[Bad] = [
      ("str", str(m)),
      ("bool", True),
      ("list", [m]),
      ("nan", nan),
      ("non-integral float", m + 0.5),
    ]
    if self.floats == "invalid":
      out.append(("integral float", float(m)))
    if not self.none:
      out.append(("None", None))
    if self.below == "invalid":
      out.append(("below the minimum", self.lo - 1))
      if self.lo - 1 > -1:
        out.append(("negative", -1))
    return out

  @property
  def ranged(self) -> bool:
    return self.below == "invalid"

  def invalid_number(self, draw) -> Bad | None:
    if not self.ranged:
      return None
    return ("drawn below the minimum", self.lo - draw.integer(1, 2**40))

  def gray(self) -> list[Bad]:
    out: list[Bad] = [("2**31", 2**31), ("2**40", 2**40)] if self.big == "gray" else []
    if self.floats == "gray":
      out.append(("integral float", float(max(self.lo, self.span[0]) + 1)))
    if self.below == "gray":
      out.append(("negative", -1))
    return out


@dataclasses.dataclass(frozen=True)
class Flag:
  """A structural switch: True or False only (``centered="no"`` must not mean centered)."""

  exc: tuple[type[Exception], ...] = ()

  def valid(self, draw, **_) -> Any:
    return draw.choice([True, False])

  def invalid(self) -> list[Bad]:
    return [("str", "no"), ("int 1", 1), ("int 0", 0), ("None", None)]

  ranged = False

  def invalid_number(self, draw) -> Bad | None:
    return None

  def gray(self) -> list[Bad]:
    return []


@dataclasses.dataclass(frozen=True)
class Choice:
  """One of a few strings."""

  values: tuple[Any, ...]
  exc: tuple[type[Exception], ...] = ()

  def valid(self, draw, **_) -> Any:
    return draw.choice(self.values)

  def invalid(self) -> list[Bad]:
    return [("unknown string", "bogus"), ("None", None), ("int", 3)]

  ranged = False

  def invalid_number(self, draw) -> Bad | None:
    return None

  def gray(self) -> list[Bad]:
    return []


@dataclasses.dataclass(frozen=True)
class Dtype(Choice):
  """A floating dtype (None where the parameter's dtype is the default)."""

  def invalid(self) -> list[Bad]:
    return [("unknown dtype", "bogus"), ("integer dtype", "int32"), ("number", 3)]


@dataclasses.dataclass(frozen=True)
class Obj:
  """An object argument (a transformation, a regulariser, a function) from fixed lists."""

  values: tuple[Any, ...]
  bad: tuple[Bad, ...] = ()
  exc: tuple[type[Exception], ...] = ()

  def valid(self, draw, **_) -> Any:
    return draw.choice(self.values)

  def invalid(self) -> list[Bad]:
    return list(self.bad)

  ranged = False

  def invalid_number(self, draw) -> Bad | None:
    return None

  def gray(self) -> list[Bad]:
    return []


@dataclasses.dataclass(frozen=True)
class Pair:
  """A pair of reals (PyTorch's ``betas``)."""

  first: Real
  second: Real
  exc: tuple[type[Exception], ...] = ()

  def valid(self, draw, **_) -> Any:
    pair = (self.first.valid(draw, **_), self.second.valid(draw, **_))
    return list(pair) if draw.boolean() else pair

  def invalid(self) -> list[Bad]:
    a, b = self.first.mid(), self.second.mid()
    out: list[Bad] = [("not a pair", a), ("three values", (a, b, b)), ("None", None), ("str", f"{a},{b}")]
    out += [(f"[0] {kind}", (v, b)) for kind, v in self.first.invalid() if kind != "None"]
    out += [(f"[1] {kind}", (a, v)) for kind, v in self.second.invalid() if kind != "None"]
    return out

  @property
  def ranged(self) -> bool:
    return self.first.ranged

  def invalid_number(self, draw) -> Bad | None:
    bad = self.first.invalid_number(draw)
    return None if bad is None else (f"[0] {bad[0]}", (bad[1], self.second.mid()))

  def gray(self) -> list[Bad]:
    return []


@dataclasses.dataclass(frozen=True)
class IntList:
  """A list of counts (milestones, boundaries), strictly increasing if ``increasing``."""

  min_len: int = 0
  max_len: int = 4
  span: tuple[int, int] = (0, 100)
  increasing: bool = True
  exc: tuple[type[Exception], ...] = ()

  def valid(self, draw, **_) -> Any:
    n = draw.integer(self.min_len, self.max_len)
    values = sorted({draw.integer(*self.span) for _ in range(n)})
    while len(values) < self.min_len:
      values.append(values[-1] + 1 if values else 1)
    return tuple(values) if draw.boolean() else values

  def invalid(self) -> list[Bad]:
    out: list[Bad] = [
      ("not a sequence", 5),
      ("str", "12"),
      ("str element", ["a", 3]),
      ("None element", [1, None]),
      ("nan element", [nan, 3]),
    ]
    if self.increasing:
      out += [("decreasing", [3, 2]), ("repeated", [2, 2])]
    if self.min_len > 0:
      out.append(("empty", []))
    return out

  ranged = False

  def invalid_number(self, draw) -> Bad | None:
    return None

  def gray(self) -> list[Bad]:
    return [
      ("2**31 element", [1, 2**31]),
      ("2**40 element", [2**40]),
      ("inf element", [1, inf]),  # never reached
      ("negative element", [-3, 2]),
    ]


@dataclasses.dataclass(frozen=True)
class FloatList:
  """A list of learning rates (PiecewiseDecay's values); its length is set by the repair."""

  length: int = 5
  span: tuple[float, float] = (0.0, 1.0)
  exc: tuple[type[Exception], ...] = ()

  def valid(self, draw, **_) -> Any:
    return [draw.uniform(*self.span) for _ in range(self.length)]

  def invalid(self) -> list[Bad]:
    return [
      ("not a sequence", 0.1),
      ("too short", [0.1, 0.05]),
      ("nan element", [0.1, nan, 0.01]),
      ("inf element", [0.1, inf, 0.01]),
      ("str element", [0.1, "a", 0.01]),
      ("None element", [0.1, None, 0.01]),
    ]

  ranged = False

  def invalid_number(self, draw) -> Bad | None:
    return None

  def gray(self) -> list[Bad]:
    return [("negative element", [0.1, -0.05, 0.01])]


FLAG = Flag()

# --- the ranges: transformations ---------------------------------------------------------------------

LR = Real(lo=0.0, span=(1e-4, 1.0), log=True, edges=(0.0,), schedule=True)
LR_NO_INT = dataclasses.replace(LR, ints=False)  # Paddle's presets and Keras 3: an int rate is an error
DECAY = Real(lo=0.0, hi=1.0, span=(0.0, 1.0), edges=(0.0, 1.0))  # rho, alpha
BETA = Real(lo=0.0, hi=1.0, hi_open=True, span=(0.0, 0.9999), edges=(0.0, 0.5, 0.99999999))
# Paddle passes betas to its kernel as float32 attributes: 0.99999999 is 1.0 there (reject or run)
PADDLE_BETA = dataclasses.replace(BETA, edges=(0.0, 0.5), gray_extra=(("1.0 in float32", 0.99999999),))
EPS = Real(lo=0.0, span=(1e-8, 1.0), log=True)  # not 0: 0 / sqrt(0) for a zero gradient
RADAM_EPS = Real(lo=0.0, span=(1e-10, 1e-2), log=True)
MOMENTUM = Real(lo=0.0, span=(0.0, 0.99), edges=(0.0,))
WD = Real(lo=0.0, span=(0.0, 0.1), edges=(0.0,), schedule=True)
CLIP_NORM = Real(lo=0.0, lo_open=True, span=(1e-3, 1e3), log=True, inf="valid")  # inf: measure, don't clip
NORM_TYPE = Real(lo=0.0, lo_open=True, span=(0.5, 4.0), edges=(1.0, 2.0, 3.0, inf), inf="valid", arrays=False)
STATE_DTYPE = Dtype((None, "float32", Expr("jnp.float32"), "bfloat16", "float16"))
ACC_DTYPE = Dtype((None, "float32", Expr("jnp.float32")))
KERAS_CLIP = Real(lo=0.0, span=(1e-3, 1e2), log=True, edges=(0.0,), none=True, inf="gray")  # 0 or None: off
PADDLE_WD = Obj(
  (
    None,
    0.0,
    0.01,
    Expr("oj.paddle.l2_decay(0.01)"),
    Expr("oj.paddle.l1_decay(0.05)"),
    Expr("oj.schedules.step_decay(0.01, 2, 0.5)"),
  ),
  bad=(
    ("str", "0.01"),
    ("list", [0.01]),
    ("bool", True),
    ("nan", nan),
    ("inf", inf),
    ("below the minimum", -0.01),
    ("array of shape (2,)", Expr("np.array([0.01, 0.01])")),
  ),
)
PADDLE_CLIP = Obj(
  (
    None,
    Expr("oj.paddle.clip_grad_by_value(0.5)"),
    Expr("oj.paddle.clip_grad_by_norm(1.0)"),
    Expr("oj.paddle.clip_grad_by_global_norm(1.0)"),
    Expr("oj.paddle.clip_grad_by_global_norm(1.0, auto_skip_clip=True)"),
  ),
  bad=(("float", 1.0), ("str", "1.0"), ("optax transformation", Expr("optax.clip(1.0)"))),
)
LAMBD = Real(lo=0.0, span=(0.0, 0.1), edges=(0.0,))
ASGD_ALPHA = Real(lo=0.0, span=(0.0, 1.0), edges=(0.0, 0.75))
T0 = Real(span=(0.0, 1e6), edges=(0.0, 1.0, 1e6), inf="gray")
EMA_MOMENTUM = Real(lo=0.0, hi=1.0, span=(0.0, 1.0), edges=(0.0, 1.0), schedule=True)
INDEX = Int(lo=0, span=(0, 20), none=True, below="gray", valid_extra=(I32_MAX,))  # None: cyclic order
METRIC = Real(
  span=(-10.0, 10.0), none=True, exc=(AssertionError,), bad=("array of shape (2,)",)
)  # one number

_KERAS = {
  "learning_rate": LR,
  "rho": DECAY,
  "momentum": MOMENTUM,
  "epsilon": EPS,
  "centered": FLAG,
  "weight_decay": dataclasses.replace(WD, none=True),
  "clipnorm": KERAS_CLIP,
  "clipvalue": KERAS_CLIP,
  "global_clipnorm": KERAS_CLIP,
  "use_ema": FLAG,
  "ema_momentum": EMA_MOMENTUM,
  # 0 and None: never; a NumPy int is a ValueError as in Keras (isinstance(f, int))
  "ema_overwrite_frequency": Int(lo=0, span=(1, 5), none=True, numpy=False),
}

#: factory (registry name without ``[variant]``) -> argument -> spec.
TRANSFORMS: dict[str, dict[str, Any]] = {
  "oj.scale_by_rms_paddle": {"rho": DECAY, "epsilon": EPS, "centered": FLAG, "state_dtype": STATE_DTYPE},
  "oj.scale_by_rms_torch": {"alpha": DECAY, "eps": EPS, "centered": FLAG, "state_dtype": STATE_DTYPE},
  "oj.clip_by_value": {
    "min_value": Real(span=(-10.0, 0.0), edges=(0.0,), inf="gray"),
    "max_value": Real(span=(0.0, 10.0), edges=(0.0,), inf="gray"),
  },
  "oj.clip_by_norm": {"max_norm": CLIP_NORM},
  "oj.clip_by_global_norm": {
    "max_norm": dataclasses.replace(CLIP_NORM, lo_open=False),
    "norm_type": NORM_TYPE,
    "eps": Real(lo=0.0, span=(1e-8, 1e-2), log=True, edges=(0.0,)),
    "error_if_nonfinite": FLAG,
    "nonfinite": Choice(("scale", "nan", "skip_nan")),
  },
  "oj.add_l2_decay": {"coeff": WD},
  "oj.add_l1_decay": {"coeff": WD},
  "oj.decoupled_weight_decay": {"weight_decay": WD, "learning_rate": LR},
  "oj.trace": {"decay": MOMENTUM, "accumulator_dtype": ACC_DTYPE},
  "oj.scale_by_learning_rate": {"learning_rate": LR, "flip_sign": FLAG},
  "oj.param_groups": {},  # transforms and selectors: ENTRY_OVERRIDES
  "oj.paddle.rmsprop": {
    "learning_rate": LR_NO_INT,
    "rho": DECAY,
    "epsilon": EPS,
    "momentum": MOMENTUM,
    "centered": FLAG,
    "weight_decay": PADDLE_WD,
    "grad_clip": PADDLE_CLIP,
  },
  "oj.paddle.clip_grad_by_value": {
    "max": Real(lo=0.0, lo_open=True, span=(1e-3, 10.0), log=True, inf="gray", exc=(AssertionError,)),
    "min": Real(span=(-10.0, 0.0), none=True, inf="gray"),
  },
  "oj.paddle.clip_grad_by_norm": {"clip_norm": dataclasses.replace(CLIP_NORM, inf="gray")},
  "oj.paddle.clip_grad_by_global_norm": {
    "clip_norm": dataclasses.replace(CLIP_NORM, lo_open=False, inf="gray"),
    "group_name": Obj(("default_group", "g")),
    "auto_skip_clip": FLAG,
  },
  "oj.paddle.l2_decay": {"coeff": WD},
  "oj.paddle.l1_decay": {"coeff": WD},
  "oj.tf_keras.rmsprop": _KERAS,
  "oj.keras.rmsprop": {**_KERAS, "learning_rate": LR_NO_INT},
  "oj.torch.rmsprop": {
    "lr": LR,
    "alpha": DECAY,
    "eps": EPS,
    "weight_decay": WD,
    "momentum": MOMENTUM,
    "centered": FLAG,
    "maximize": FLAG,
  },
  "oj.torch.clip_grad_norm": {
    "max_norm": Real(lo=0.0, span=(1e-3, 1e3), log=True, edges=(0.0,), inf="valid"),
    "norm_type": NORM_TYPE,
    "error_if_nonfinite": FLAG,
  },
  "oj.torch.clip_grad_value": {"clip_value": Real(lo=0.0, span=(0.0, 10.0), edges=(0.0,), inf="gray")},
  "oj.scale_by_radam": {
    "b1": BETA,
    "b2": BETA,
    "eps": RADAM_EPS,
    "threshold": Real(lo=4.0, span=(4.0, 20.0), edges=(4.0, 5.0), inf="gray"),
    "rho_rule": Choice(("closed_form", "recursion")),
    "state_dtype": STATE_DTYPE,
  },
  "oj.sag_average": {"batch_num": Int(lo=1, span=(1, 4), big="skip"), "memory_dtype": ACC_DTYPE},
  "oj.averaged_sgd": {
    "learning_rate": LR,
    "lambd": LAMBD,
    "alpha": ASGD_ALPHA,
    "t0": T0,
    "scalar_dtype": Dtype((Expr("jnp.float32"), "float32")),
  },
  "oj.multi_precision": {
    "inner": Obj(
      (
        Expr("oj.torch.radam(lr=0.01, betas=(0.8, 0.9))"),
        Expr("oj.paddle.rmsprop(0.01, momentum=0.9)"),
        Expr("oj.torch.asgd(lr=0.05, t0=1.0)"),
        Expr("optax.sgd(0.1)"),
      ),
      bad=(("str", "adam"), ("None", None), ("factory, not a transformation", Expr("oj.torch.radam"))),
    ),
    "master_dtype": Dtype((Expr("jnp.float32"), "float32")),
  },
  "oj.paddle.radam": {
    "learning_rate": LR_NO_INT,
    "beta1": PADDLE_BETA,
    "beta2": PADDLE_BETA,
    "epsilon": RADAM_EPS,
    "weight_decay": PADDLE_WD,
    "grad_clip": PADDLE_CLIP,
  },
  "oj.paddle.asgd": {
    "learning_rate": LR_NO_INT,
    "batch_num": Int(lo=1, span=(1, 4), big="skip"),
    "weight_decay": PADDLE_WD,
    "grad_clip": PADDLE_CLIP,
    "multi_precision": FLAG,
  },
  "oj.torch.radam": {
    "lr": LR,
    "betas": Pair(BETA, BETA),
    "eps": RADAM_EPS,
    "weight_decay": WD,
    "decoupled_weight_decay": FLAG,
    "maximize": FLAG,
  },
  "oj.torch.asgd": {
    "lr": LR,
    "lambd": LAMBD,
    "alpha": ASGD_ALPHA,
    "t0": T0,
    "weight_decay": WD,
    "maximize": FLAG,
  },
  "oj.param_ema": {
    "momentum": EMA_MOMENTUM,
    "overwrite_frequency": Int(lo=1, span=(1, 5), none=True),
    "warm_start": FLAG,
    "state_dtype": STATE_DTYPE,
  },
  "oj.schedules.reduce_on_plateau": {
    # Paddle checks only the learning rate's type and factor < 1: values it does not define are gray
    "learning_rate": Real(lo=0.0, span=(1e-4, 1.0), log=True, below="gray"),
    "mode": Choice(("min", "max", "MAX")),
    "factor": Real(lo=0.0, hi=1.0, hi_open=True, span=(0.0, 0.99), below="gray"),
    "patience": Int(lo=0, span=(0, 3), floats="gray"),
    "threshold": Real(lo=0.0, span=(0.0, 0.1), edges=(0.0,), below="gray"),
    "threshold_mode": Choice(("rel", "abs")),
    "cooldown": Int(lo=0, span=(0, 3), floats="gray"),
    "min_lr": Real(lo=0.0, span=(0.0, 0.01), edges=(0.0,), below="gray"),
    "epsilon": Real(lo=0.0, span=(0.0, 1e-3), edges=(0.0,), below="gray"),
  },
}

TRANSFORMS["oj.torch.reduce_lr_on_plateau"] = {  # PyTorch checks factor < 1 and the modes; the rest is gray
  "lr": Real(lo=0.0, span=(1e-4, 1.0), log=True, below="gray"),
  "mode": Choice(("min", "max")),
  "factor": Real(lo=0.0, hi=1.0, hi_open=True, span=(0.0, 0.99), below="gray"),
  "patience": Int(lo=0, span=(0, 3), floats="gray"),
  "threshold": Real(lo=0.0, span=(0.0, 0.1), edges=(0.0,), below="gray"),
  "threshold_mode": Choice(("rel", "abs")),
  "cooldown": Int(lo=0, span=(0, 3), floats="gray"),
  # a list is PyTorch's one min_lr per parameter group
  "min_lr": Real(
    lo=0.0,
    span=(0.0, 0.01),
    edges=(0.0,),
    below="gray",
    bad=("str", "array of shape (2,)", "bool", "nan", "None", "callable (no schedule here)"),
  ),
  "eps": Real(lo=0.0, span=(0.0, 1e-3), edges=(0.0,), below="gray"),
}

#: Extra keyword arguments of ``update`` (the registry's ``extra_args``).
EXTRAS: dict[str, Any] = {"index": INDEX, "metric": METRIC}

# --- the ranges: schedules (Paddle's LRScheduler arguments: Python numbers, not arrays) --------------

S_LR = Real(lo=0.0, span=(1e-4, 1.0), log=True, edges=(0.0,), arrays=False)
S_GAMMA = Real(hi=1.0, hi_open=True, span=(0.0, 0.99), edges=(0.0, 0.5), arrays=False)
S_REAL = Real(span=(0.0, 1e-3), edges=(0.0,), arrays=False)  # eta_min, end_lr: no range but finite
S_STEPS = Int(lo=1, span=(1, 100))
S_LAMBDA_BAD = (("number", 3), ("None", None), ("str", "f"))

SCHEDULES: dict[str, dict[str, Any]] = {
  "oj.schedules.step_decay": {"learning_rate": S_LR, "step_size": S_STEPS, "gamma": S_GAMMA},
  "oj.schedules.multi_step_decay": {"learning_rate": S_LR, "milestones": IntList(0, 4), "gamma": S_GAMMA},
  "oj.schedules.piecewise_decay": {"boundaries": IntList(1, 4, increasing=False), "values": FloatList()},
  "oj.schedules.natural_exp_decay": {
    "learning_rate": S_LR,
    "gamma": Real(lo=0.0, lo_open=True, span=(1e-3, 10.0), log=True, arrays=False),
  },
  "oj.schedules.inverse_time_decay": {
    "learning_rate": S_LR,
    "gamma": Real(span=(0.0, 10.0), edges=(0.0,), arrays=False),
  },
  "oj.schedules.polynomial_decay": {
    "learning_rate": S_LR,
    "decay_steps": S_STEPS,
    "end_lr": S_REAL,
    "power": Real(lo=0.0, lo_open=True, span=(0.1, 5.0), log=True, edges=(1.0,), arrays=False),
    "cycle": FLAG,
  },
  "oj.schedules.linear_warmup": {
    "learning_rate": Real(lo=0.0, span=(1e-4, 1.0), log=True, schedule=True, arrays=False, below="gray"),
    "warmup_steps": S_STEPS,
    "start_lr": Real(lo=0.0, span=(0.0, 0.1), edges=(0.0,), arrays=False),
    "end_lr": Real(lo=0.0, lo_open=True, span=(1e-3, 1.0), log=True, arrays=False),
  },
  "oj.schedules.exponential_decay": {
    "learning_rate": S_LR,
    "gamma": Real(
      lo=0.0, hi=1.0, lo_open=True, hi_open=True, span=(0.01, 0.999999), edges=(0.5,), arrays=False
    ),
  },
  "oj.schedules.lambda_decay": {
    "learning_rate": S_LR,
    "lr_lambda": Obj(
      (
        Expr("lambda e: 1.0 / (1.0 + e.astype('float32'))"),
        Expr("lambda e: 0.95 ** e"),
        Expr("lambda e: jnp.where(e < 10, 1.0, 0.1)"),
      ),
      bad=S_LAMBDA_BAD,
    ),
  },
  "oj.schedules.multiplicative_decay": {
    "learning_rate": S_LR,
    "lr_lambda": Obj((Expr("lambda k: 0.9"), Expr("lambda k: 1.0")), bad=S_LAMBDA_BAD),
  },
  "oj.schedules.noam_decay": {
    "d_model": Real(lo=0.0, lo_open=True, span=(1.0, 1024.0), log=True, arrays=False),
    "warmup_steps": Real(
      lo=0.0,
      lo_open=True,
      span=(1.0, 1e4),
      log=True,
      arrays=False,
      gray_extra=(("2**31", 2**31), ("2**40", 2**40)),
    ),
    "learning_rate": S_LR,
  },
  "oj.schedules.cosine_annealing_decay": {
    "learning_rate": S_LR,
    "T_max": Int(lo=1, span=(1, 1000)),
    "eta_min": S_REAL,
  },
  "oj.schedules.one_cycle_lr": {
    "max_learning_rate": S_LR,
    "total_steps": Int(lo=1, span=(2, 1000)),
    "divide_factor": Real(
      lo=0.0, lo_open=True, span=(1.0, 100.0), log=True, arrays=False, exc=(ZeroDivisionError,)
    ),
    "end_learning_rate": S_REAL,
    "phase_pct": Real(lo=0.0, hi=1.0, span=(0.05, 0.95), edges=(0.5, 1.0), ints=False, arrays=False),
    "anneal_strategy": Choice(("cos", "linear")),
    "three_phase": FLAG,
  },
  "oj.schedules.cyclic_lr": {
    "base_learning_rate": S_LR,
    "max_learning_rate": S_LR,
    "step_size_up": S_STEPS,
    "step_size_down": Int(lo=1, span=(1, 100), none=True),
    "mode": Choice(("triangular", "triangular2", "exp_range")),
    "exp_gamma": Real(span=(0.5, 1.0), edges=(1.0,), ints=False, arrays=False),
    "scale_fn": Obj(
      (None, Expr("lambda x: 0.5 ** x"), Expr("lambda x: 1.0 / (1.0 + x)")), bad=(("number", 3), ("str", "f"))
    ),
    "scale_mode": Choice(("cycle", "iterations")),
  },
  "oj.schedules.linear_lr": {
    "learning_rate": S_LR,
    "total_steps": Real(
      lo=0.0,
      lo_open=True,
      span=(1.0, 1000.0),
      log=True,
      arrays=False,
      gray_extra=(("2**31", 2**31), ("2**40", 2**40)),
    ),
    "start_factor": Real(lo=0.0, hi=1.0, lo_open=True, span=(0.01, 1.0), edges=(1.0,), arrays=False),
    "end_factor": Real(lo=0.0, hi=1.0, span=(0.0, 1.0), edges=(0.0, 1.0), arrays=False),
  },
  "oj.schedules.cosine_annealing_warm_restarts": {
    "learning_rate": S_LR,
    "T_0": S_STEPS,
    "T_mult": Int(lo=1, span=(1, 4)),
    "eta_min": S_REAL,
  },
  "oj.schedules.per_epoch": {
    "schedule": Obj(
      (
        Expr("oj.schedules.step_decay(0.1, 1, 0.5)"),
        0.1,
        Expr("oj.schedules.cosine_annealing_decay(0.1, 4)"),
        Expr("oj.schedules.exponential_decay(0.1, 0.9)"),
      ),
      bad=(("str", "0.1"), ("None", None), ("nan", nan), ("inf", inf), ("list", [0.1])),
    ),
    "steps_per_epoch": S_STEPS,
  },
}


def base_kwargs(entry: registry.Entry) -> dict[str, Any]:
  """The registry's configuration of an entry, in its form for any tree (`registry.Entry.any_tree`:
  the fuzz's trees need not hold the matrices and vectors of the registry's parameter groups; several
  groups are tested in test_param_groups.py, test_paddle_groups.py and the golden families)."""
  return {**entry.kwargs, **entry.any_tree}


#: Registry entries whose variant must not be redrawn: argument -> None (kept from the registry).
ENTRY_OVERRIDES: dict[str, dict[str, Any]] = {
  # lr_lambda depends on k: the product is a loop over the count, O(count) per evaluation (documented)
  "oj.schedules.multiplicative_decay[loop]": {"lr_lambda": None},
}

#: Largest count at which a schedule is evaluated (others: 2**31 - 1).
MAX_COUNT = {"oj.schedules.multiplicative_decay[loop]": 2000}

ENTRIES = {e.name: e for e in registry.ENTRIES}
SCHEDULE_ENTRIES = {e.name: e for e in registry.SCHEDULES}


def base_name(entry: registry.Entry) -> str:
  return entry.name.split("[")[0]


def is_schedule(entry: registry.Entry) -> bool:
  return entry.name in SCHEDULE_ENTRIES


def space(entry: registry.Entry) -> dict[str, Any]:
  """Argument -> spec for this entry (None: keep the registry's value)."""
  table = SCHEDULES if is_schedule(entry) else TRANSFORMS
  return {**table[base_name(entry)], **ENTRY_OVERRIDES.get(entry.name, {})}


def entry_named(name: str) -> registry.Entry:
  return ENTRIES.get(name) or SCHEDULE_ENTRIES[name]


# --- repairs: valid arguments that depend on each other -----------------------------------------------


def _swap_if_greater(kw: dict, lo_name: str, hi_name: str) -> None:
  lo, hi = number(kw.get(lo_name)), number(kw.get(hi_name))
  if lo is not None and hi is not None and lo > hi:
    kw[lo_name], kw[hi_name] = kw[hi_name], kw[lo_name]


def _repair_keras(kw: dict, *, keras3: bool) -> None:
  names = ("clipnorm", "clipvalue", "global_clipnorm") if keras3 else ("clipnorm", "global_clipnorm")
  kept = False
  for name in names:
    if kw.get(name) is not None:
      if kept:
        kw[name] = None
      kept = True


def _repair_one_cycle(kw: dict) -> None:
  pct, n = float(kw.get("phase_pct", 0.3)), int(kw["total_steps"])
  if kw.get("three_phase") and pct >= 0.5:
    pct = min(pct / 2.0, 0.45)
  if pct * n == 1.0:
    pct = pct * 0.75
  kw["phase_pct"] = pct


def _repair_warmup(kw: dict) -> None:
  start, end = number(kw["start_lr"]), number(kw["end_lr"])
  if end <= start:
    kw["end_lr"] = start + max(end, 1e-3)


def _repair_piecewise(kw: dict) -> None:
  n = len(kw["boundaries"]) + 1
  values = list(kw["values"])
  kw["values"] = (values + [values[-1]] * n)[:n]


def _repair_clip_grad_by_value(kw: dict) -> None:
  if kw.get("min") is not None:
    _swap_if_greater(kw, "min", "max")
    if number(kw["max"]) is not None and number(kw["max"]) <= 0:  # swapped below 0: not a valid max
      kw["min"] = None


def _repair_cyclic(kw: dict) -> None:
  if (
    kw.get("scale_mode") == "iterations"
    and kw.get("scale_fn") is not None
    and not isinstance(kw["scale_fn"], Expr)
  ):
    kw["scale_fn"] = Expr("lambda x: 0.5 ** x")  # the registry's 1 / c is infinite at count 0


REPAIRS: dict[str, Callable[[dict], None]] = {
  "oj.schedules.cyclic_lr": _repair_cyclic,
  "oj.clip_by_value": lambda kw: _swap_if_greater(kw, "min_value", "max_value"),
  "oj.paddle.clip_grad_by_value": _repair_clip_grad_by_value,
  "oj.keras.rmsprop": lambda kw: _repair_keras(kw, keras3=True),
  "oj.tf_keras.rmsprop": lambda kw: _repair_keras(kw, keras3=False),
  "oj.schedules.one_cycle_lr": _repair_one_cycle,
  "oj.schedules.linear_warmup": _repair_warmup,
  "oj.schedules.piecewise_decay": _repair_piecewise,
}


def _invalid_base(entry: registry.Entry, arg: str) -> dict[str, Any]:
  """Overrides that make ``arg`` the only thing that can fail (no other rule can name it first)."""
  base = base_name(entry)
  if base in ("oj.keras.rmsprop", "oj.tf_keras.rmsprop"):
    if arg in ("clipnorm", "clipvalue", "global_clipnorm"):
      return {n: None for n in ("clipnorm", "clipvalue", "global_clipnorm") if n != arg}
    if arg.startswith("ema_"):
      return {"use_ema": True}  # Keras checks the EMA arguments only then
  if base == "oj.schedules.cyclic_lr" and arg == "mode":
    return {"scale_fn": None}  # mode is ignored when scale_fn is given (as Paddle)
  return {}


# --- gradient trees ----------------------------------------------------------------------------------

# Four shapes in all, in different structures: eager updates compile one kernel per operation,
# shape and dtype, so a small fixed set of shapes keeps that cache hitting.
TEMPLATES: dict[str, Callable[[Callable], Any]] = {
  "dict": lambda f: {"w": f((3, 4)), "b": f((4,)), "s": f(()), "e": f((0,)), "n": None},
  "scalar": lambda f: f(()),
  "list": lambda f: [f((4,)), f((3, 4)), f((0,))],
  "nested": lambda f: {"a": {"x": f((4,)), "y": f(())}, "t": (f((3, 4)),), "n": None},
  # every low precision in one tree (the CI module)
  "mixed": lambda f: {
    "f32": {"v": f((4,), "float32"), "s": f((), "float32"), "e": f((0,), "float32"), "n": None},
    "bf16": f((4,), "bfloat16"),
    "f16": [f((4,), "float16")],
  },
  "small": lambda f: {"v": f((4,)), "n": None},  # float64 in CI: scalars and empty leaves are in "mixed"
}
DTYPES = ("float32", "bfloat16", "float16", "float64")
SCALES = (1e-3, 0.1, 1.0, 10.0, 100.0)
PATTERNS = ("normal", "constant", "zeros", "sparse", "sign", "growing")
PARAM_SCALES = (0.0, 0.1, 1.0, 10.0)
GRAD_MAX = 100.0  # moderate: float16 holds its square


@dataclasses.dataclass(frozen=True)
class TreeSpec:
  """A gradient and parameter tree: a fixed template of shapes, a dtype and how values are drawn.

  ``dtype`` applies to every leaf whose template does not fix it ("mixed" fixes all). ``weak``:
  scalar leaves are weakly typed (``jnp.asarray(0.5)``), for float32/float64. ``twin``: every leaf
  rounded to its dtype and then cast to float32 (the float32 twin of a low-precision run).
  """

  template: str = "dict"
  dtype: str = "float32"
  seed: int = 0
  scale: float = 1.0
  pattern: str = "normal"
  param_scale: float = 1.0
  weak: bool = False
  twin: bool = False

  def _tree(self, values: Callable[[np.random.Generator, tuple[int, ...]], np.ndarray], salt: int, step: int):
    counter = iter(range(1000))

    def leaf(shape, dtype=None):
      dtype = dtype or self.dtype
      i = next(counter)
      v = values(np.random.default_rng([self.seed, i, salt, step]), shape)
      v = np.clip(v, -GRAD_MAX, GRAD_MAX)
      if self.weak and shape == () and dtype in ("float32", "float64") and not self.twin:
        return jnp.asarray(float(v))
      x = v.astype(jnp.dtype(dtype))  # rounded on the host (ml_dtypes): no cast kernel to compile
      return jnp.asarray(x.astype(np.float32) if self.twin else x)

    return TEMPLATES[self.template](leaf)

  def grads(self, step: int):
    pattern = self.pattern
    step_key = 0 if pattern in ("constant", "sign") else step

    def values(rng, shape):
      if pattern == "zeros":
        return np.zeros(shape)
      if pattern == "sign":
        return self.scale * rng.choice([-1.0, 1.0], size=shape)
      v = rng.standard_normal(shape) * self.scale
      if pattern == "sparse":
        v = v * (rng.random(shape) < 0.3)
      if pattern == "growing":
        v = v * (1 + step)
      return v

    return self._tree(values, 0, step_key)

  def params(self):
    return self._tree(lambda rng, shape: rng.standard_normal(shape) * self.param_scale, 1, 0)

  @property
  def x64(self) -> bool:
    return self.dtype == "float64"


LONG_TREES = (
  ("dict", DTYPES),
  ("scalar", DTYPES),
  ("list", DTYPES),
  ("nested", DTYPES),
  ("mixed", ("mixed",)),
)
CI_TREES = (("mixed", ("mixed",)), ("small", ("float64",)))
MIXED = TreeSpec(template="mixed", dtype="mixed")  # the tree of the gray runs
GRAY_COUNTS = (0, 1, 2, 1000, 2**20, 2**30, I32_MAX - 1, I32_MAX)  # eight, as counts_for


def draw_tree(draw, trees: Sequence[tuple[str, Sequence[str]]] = LONG_TREES) -> TreeSpec:
  template, dtypes = draw.choice(list(trees))
  return TreeSpec(
    template=template,
    dtype=draw.choice(list(dtypes)),
    seed=draw.integer(0, 2**16),
    scale=draw.choice(SCALES),
    pattern=draw.choice(PATTERNS),
    param_scale=draw.choice(PARAM_SCALES),
    weak=draw.boolean(),
  )


# --- cases -------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ValidCase:
  """A valid configuration of a registry entry (its kwargs with ``overrides``) run on a tree."""

  entry: str
  overrides: dict[str, Any]
  tree: TreeSpec = TreeSpec()
  extras: dict[str, Any] = dataclasses.field(default_factory=dict)
  steps: int = 3
  strict: bool = False  # under jax.numpy_dtype_promotion("strict")


@dataclasses.dataclass(frozen=True)
class ArgCase:
  """One argument of an entry set to one bad (``kind="invalid"``) or gray value."""

  entry: str
  arg: str
  label: str
  value: Any
  kind: str = "invalid"


@dataclasses.dataclass(frozen=True)
class ScheduleCase:
  """A valid schedule configuration evaluated at ``counts`` (and at its last count alone)."""

  entry: str
  overrides: dict[str, Any]
  counts: tuple[int, ...]
  x64: bool = False
  scalar: bool = True  # also evaluate at the last count alone, as a Python int


def draw_overrides(draw, entry: registry.Entry, *, ci: bool = False) -> dict[str, Any]:
  """Valid values for the entry's hyperparameters and, half of the time each, its other arguments.

  ``ci``: the hyperparameters as Python numbers, and flags and choices; the other arguments (ints
  that size buffers, dtypes, objects) as in the registry. Eager updates compile one small kernel per
  operation, shape and dtype: this keeps the CI module within its time.
  """
  overrides = {}
  for arg, spec in space(entry).items():
    if spec is None or (ci and arg not in entry.hyperparams and not isinstance(spec, (Flag, Choice))):
      continue
    if ci and isinstance(spec, Dtype):
      continue
    if arg in entry.hyperparams or draw.boolean():
      overrides[arg] = spec.valid(draw, ci=ci)
  repair = REPAIRS.get(base_name(entry))
  if repair is None:
    return overrides
  merged = {**base_kwargs(entry), **overrides}
  repair(merged)
  return {k: v for k, v in merged.items() if k in overrides or base_kwargs(entry).get(k, merged) is not v}


def draw_valid_case(
  draw, entry: registry.Entry, *, steps: Sequence[int] = (3,), trees=LONG_TREES, ci: bool = False
) -> ValidCase:
  overrides = draw_overrides(draw, entry, ci=ci)
  extras = {name: EXTRAS[name].valid(draw) for name in entry.extra_args}
  return ValidCase(
    entry.name, overrides, draw_tree(draw, trees), extras, draw.choice(list(steps)), draw.boolean()
  )


def counts_for(entry: registry.Entry, draw) -> tuple[int, ...]:
  """Eight counts: 0, 1, two small, two anywhere in int32, and the last two of int32."""
  top = MAX_COUNT.get(entry.name, I32_MAX)
  anywhere = [int(_log_uniform(draw, 1.0, float(I32_MAX))) for _ in range(2)]
  counts = [0, 1, draw.integer(2, 300), draw.integer(2, 300), *anywhere, I32_MAX - 1, I32_MAX]
  return tuple(min(c, top) for c in counts)


def draw_schedule_case(draw, entry: registry.Entry, *, full: bool = True) -> ScheduleCase:
  """``full=False`` (CI): not under x64, no scalar count (fewer kernels to compile)."""
  x64 = draw.boolean() if full else False
  return ScheduleCase(entry.name, draw_overrides(draw, entry), counts_for(entry, draw), x64, full)


def arg_cases(entry: registry.Entry, kind: str = "invalid") -> list[ArgCase]:
  """Every fixed bad (or gray) value of every argument of the entry."""
  out = []
  specs = {
    **{k: v for k, v in space(entry).items() if v is not None},
    **{k: EXTRAS[k] for k in entry.extra_args},
  }
  for arg, spec in specs.items():
    for label, value in spec.invalid() if kind == "invalid" else spec.gray():
      out.append(ArgCase(entry.name, arg, label, value, kind))
  return out


def draw_arg_case(draw, entry: registry.Entry, kind: str = "invalid") -> ArgCase | None:
  """A fixed bad value, or (for ranged numbers, half of the time) a drawn out-of-range number."""
  if kind == "invalid" and draw.boolean():
    ranged = [(a, s) for a, s in space(entry).items() if s is not None and s.ranged]
    if ranged:
      arg, spec = draw.choice(ranged)
      label, value = spec.invalid_number(draw)
      return ArgCase(entry.name, arg, label, value, kind)
  cases = arg_cases(entry, kind)
  return draw.choice(cases) if cases else None


# --- checks ------------------------------------------------------------------------------------------

REPRO = "from math import inf, nan; from tests.fuzz_strategies import *; "


class Defect(AssertionError):
  """A failed property: ``signature`` groups equal failures, ``repro`` is one line of Python."""

  def __init__(self, signature: tuple[str, ...], detail: str, repro: str):
    super().__init__(f"{' | '.join(signature)}\n  {detail}\n  reproduce: python -c {repro!r}")
    self.signature, self.detail, self.repro = signature, detail, repro


def exc_line(e: BaseException) -> str:
  text = str(e).strip().splitlines()
  return f"{type(e).__name__}: {text[0][:160] if text else ''}"


def _normalize(line: str) -> str:
  """The first line of a message with its numbers blanked, so equal failures group together."""
  return re.sub(r"-?\d+(\.\d*)?(e[-+]?\d+)?", "#", line)[:120]


@contextlib.contextmanager
def _mode(x64: bool, strict: bool = False):
  with contextlib.ExitStack() as stack:
    if x64:
      stack.enter_context(jax.enable_x64(True))
    if strict:
      stack.enter_context(jax.numpy_dtype_promotion("strict"))
    yield


def signature_of(tree: Any) -> tuple:
  """What jax.jit keys its cache on: tree structure, and each leaf's shape, dtype and weak type."""
  leaves, treedef = jax.tree.flatten(tree)
  return treedef, tuple(str(jax.typeof(x)) for x in leaves)


def _diff(a: tuple, b: tuple) -> str:
  if a[0] != b[0]:
    return f"tree {a[0]} -> {b[0]}"
  return ", ".join(f"leaf {i}: {x} -> {y}" for i, (x, y) in enumerate(zip(a[1], b[1], strict=True)) if x != y)


def _finite(x: Any) -> np.ndarray:
  return np.isfinite(np.asarray(x, np.float64))


def _run(entry: registry.Entry, kwargs: dict, tree: TreeSpec, steps: int, extras: dict, strict: bool, where):
  """Builds and runs eagerly; yields (step, grads, updates, state, params) after each update.

  The parameters stay as drawn: the inputs of every update are then moderate by construction (an
  update applied to the parameters feeds back through weight decay, and a centered RMS with
  ``alpha=0`` or a tiny ``eps`` legitimately diverges that way, in the frameworks too).
  """
  with _mode(False, strict):
    tx = where("construction", lambda: entry.factory(**kwargs))
  params = tree.params()
  with _mode(False, strict):
    state = where("init", lambda: tx.init(params))
  yield -1, None, None, state, params
  for k in range(steps):
    grads = tree.grads(k)
    with _mode(False, strict):
      updates, state = where("update", lambda g=grads, s=state, p=params: tx.update(g, s, p, **extras))
    yield k, grads, updates, state, params


def check_valid(case: ValidCase, *, twin: bool = True) -> list:
  """Runs a valid configuration; raises Defect on the first failed property. Returns the updates."""
  entry = ENTRIES[case.entry]
  repro = f"{REPRO}check_valid({case!r})"
  base, dtype = base_name(entry), case.tree.dtype
  tag = f"{dtype}{', strict' if case.strict else ''}"

  def defect(what: str, detail: str, extra: str = ""):
    raise Defect(("valid", base, what, extra), detail, repro)

  def where(stage, fn):
    try:
      return fn()
    except Exception as e:  # noqa: BLE001 - every exception of a valid configuration is a defect
      raise Defect(("valid", base, f"raises in {stage}", _normalize(exc_line(e))), exc_line(e), repro) from e

  history = []
  with _mode(case.tree.x64):
    kwargs = build({**base_kwargs(entry), **case.overrides})
    extras = build(case.extras)
    run = _run(entry, kwargs, case.tree, case.steps, extras, case.strict, where)
    _, _, _, state0, _ = next(run)
    sig_state = signature_of(state0)
    for k, grads, updates, state, _ in run:
      history.append(updates)
      g_leaves, g_def = jax.tree.flatten(grads)
      u_leaves, u_def = jax.tree.flatten(updates)
      if u_def != g_def:
        defect("update tree changed", f"step {k}: gradient tree {g_def}, update tree {u_def}")
      for i, (g, u) in enumerate(zip(g_leaves, u_leaves, strict=True)):
        if jnp.shape(u) != jnp.shape(g) or jnp.result_type(u) != jnp.result_type(g):
          defect(
            "shape/dtype changed",
            f"step {k}, leaf {i}: gradient {jnp.result_type(g)}{list(jnp.shape(g))}, "
            f"update {jnp.result_type(u)}{list(jnp.shape(u))}",
            tag,
          )
      bad = [i for i, u in enumerate(u_leaves) if not _finite(u).all()]
      if bad and not _centered_low_precision_state(kwargs):
        _non_finite(case, k, bad, u_leaves, defect, tag, twin)
      now = signature_of(state)
      if now != sig_state:
        defect("retrace: state signature changed", f"after update {k}: {_diff(sig_state, now)}", tag)
    if "index" in case.extras and base in ("oj.sag_average", "oj.paddle.asgd"):
      _check_index_mod(case, entry, kwargs, history, defect)
  return history


def _centered_low_precision_state(kwargs: dict) -> bool:
  """A centered RMS whose state is in the parameters' dtype: the dtype contract (optim_jax/_base.py)
  lets a 16-bit mean square minus squared mean cancel to 0 or overflow there (state_dtype=float32
  is the remedy, tested in tests/test_robust.py), so its 16-bit updates may be inf."""
  return kwargs.get("centered") is True and kwargs.get("state_dtype") is None


def _non_finite(
  case: ValidCase, k: int, bad: list[int], u_leaves: list, defect, tag: str, twin: bool
) -> None:
  dtypes = {i: str(jnp.result_type(u_leaves[i])) for i in bad}
  wide = [i for i in bad if dtypes[i] in ("float32", "float64")]
  if wide or not twin:
    i = (wide or bad)[0]
    where_ = f"step {k}, leaf {i} ({dtypes[i]})"
    defect("non-finite output", f"{where_}: {np.asarray(u_leaves[i], np.float64).ravel()[:6].tolist()}", tag)
  # the same values in float32: is the true update representable in the low-precision dtype?
  ref_case = dataclasses.replace(case, tree=dataclasses.replace(case.tree, twin=True), steps=k + 1)
  try:
    ref = jax.tree.leaves(check_valid(ref_case, twin=False)[k])
  except Defect as d:
    defect("non-finite output", f"step {k}, leaves {bad}; the float32 twin fails too: {d.signature[2]}", tag)
  for i in bad:
    r = np.asarray(ref[i], np.float64)
    fits = np.isfinite(r) & (np.abs(r) <= float(jnp.finfo(dtypes[i]).max) / 2)
    if (fits & ~_finite(u_leaves[i])).any():
      j = int(np.argmax(fits & ~_finite(u_leaves[i])))
      got, want = np.asarray(u_leaves[i], np.float64).ravel()[j], r.ravel()[j]
      defect(
        f"non-finite output in {dtypes[i]} where float32 fits",
        f"step {k}, leaf {i}: element {j} is {got} in {dtypes[i]}, {want} from the same values in float32",
        tag,
      )


def _check_index_mod(case: ValidCase, entry, kwargs: dict, history: list, defect) -> None:
  """SAG: ``index`` and ``index mod batch_num`` name the same slot."""
  index, batch_num = number(case.extras["index"]), int(kwargs.get("batch_num", 1))
  if index is None or index < batch_num:
    return
  index = int(index)
  twin = dataclasses.replace(case, extras={**case.extras, "index": index % batch_num})
  for k, (u, v) in enumerate(zip(history, check_valid(twin), strict=True)):
    for a, b in zip(jax.tree.leaves(u), jax.tree.leaves(v), strict=True):
      if not np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64), equal_nan=True):
        defect(
          "index mod batch_num not honoured", f"index={index}, batch_num={batch_num}: update {k} differs"
        )


def accepted_exceptions(entry: registry.Entry, spec: Any) -> tuple[type[Exception], ...]:
  """ValueError/TypeError, Paddle's AssertionError for scheduler arguments, and the spec's own."""
  default = (ValueError, TypeError, AssertionError) if is_schedule(entry) else (ValueError, TypeError)
  return default + tuple(getattr(spec, "exc", ()))


def _names(arg: str, message: str) -> bool:
  """The message names the argument (``threshold_mode`` or Paddle's "threshold mode"; ``betas``)."""
  word = arg.split("[")[0]
  return word in message or word.replace("_", " ") in message


def check_arg(case: ArgCase, *, consequence: bool = True) -> None:
  """An invalid value must raise at construction (a gray one may instead run cleanly)."""
  entry = entry_named(case.entry)
  extra = case.arg in entry.extra_args
  spec = EXTRAS[case.arg] if extra else space(entry)[case.arg]
  repro = f"{REPRO}check_arg({case!r})"
  base = base_name(entry)
  sig = (case.kind, base, case.arg, case.label)
  allowed = accepted_exceptions(entry, spec)
  overrides = {} if extra else {**_invalid_base(entry, case.arg), case.arg: case.value}
  value = build(case.value)
  try:
    made = entry.factory(**build({**base_kwargs(entry), **overrides}))
    if extra:  # an argument of update: rejected there
      _run_once(entry, made, {**entry.extra_args, case.arg: value})
  except Exception as e:  # noqa: BLE001 - the type is checked below
    if not isinstance(e, allowed):
      raise Defect((*sig, f"wrong exception type {type(e).__name__}"), exc_line(e), repro) from e
    if not _names(case.arg, str(e)):
      raise Defect((*sig, "message does not name the argument"), exc_line(e), repro) from e
    return
  if case.kind == "gray":
    _check_gray_run(case, entry, made, sig, repro)
    return
  what = f"{'update' if extra else 'construction'} accepts {case.arg}={value!r}"
  if consequence and not extra:
    what += "; then " + _consequence(entry, made)
  raise Defect((*sig, "accepted" + (" at update" if extra else "")), what, repro)


def _run_once(entry: registry.Entry, tx: Any, extras: dict):
  tree = MIXED
  params = tree.params()
  return tx.update(tree.grads(0), tx.init(params), params, **extras)


def _consequence(entry: registry.Entry, made: Any) -> str:
  """What an accepted bad value does: for the fixers, where it fails now."""
  try:
    if is_schedule(entry):
      top = MAX_COUNT.get(entry.name, I32_MAX)
      out = np.asarray(made(jnp.asarray([min(c, top) for c in GRAY_COUNTS], jnp.int32)))
      return "runs, finite" if np.isfinite(out).all() else f"non-finite values {out.tolist()}"
    grads = MIXED.grads(0)
    updates, _ = _run_once(entry, made, entry.extra_args)
  except Exception as e:  # noqa: BLE001
    return f"raises {exc_line(e)}"
  for g, u in zip(jax.tree.leaves(grads), jax.tree.leaves(updates), strict=False):
    if jnp.shape(u) != jnp.shape(g) or jnp.result_type(u) != jnp.result_type(g):
      return (
        f"update of {jnp.result_type(u)}{list(jnp.shape(u))} for {jnp.result_type(g)}{list(jnp.shape(g))}"
      )
  if not all(_finite(u).all() for u in jax.tree.leaves(updates)):
    return "non-finite updates"
  return "runs silently"


def _check_gray_run(case: ArgCase, entry: registry.Entry, made: Any, sig: tuple, repro: str) -> None:
  """An accepted gray value must work: no exception, finite values (counts up to 2**31 - 1)."""
  if is_schedule(entry):
    _evaluate_schedule(entry, made, GRAY_COUNTS, sig, repro, scalar=False)
    return
  valid = ValidCase(case.entry, {**_invalid_base(entry, case.arg), case.arg: case.value}, MIXED, steps=3)
  if case.arg in entry.extra_args:
    valid = ValidCase(case.entry, {}, MIXED, extras={**entry.extra_args, case.arg: case.value}, steps=3)
  try:
    check_valid(valid)
  except Defect as d:
    raise Defect((*sig, "accepted, then " + d.signature[2]), d.detail, repro) from d


def _evaluate_schedule(entry: registry.Entry, s: Callable, counts: Sequence[int], sig: tuple, repro: str, *,
                       scalar: bool = True, skip: Callable[[int], bool] = lambda c: False) -> None:  # fmt: skip
  def defect(what, detail):
    raise Defect((*sig, what), detail, repro)

  try:
    out = s(jnp.asarray(counts, jnp.int32))
  except Exception as e:  # noqa: BLE001
    defect(f"raises on a vector of counts: {_normalize(exc_line(e))}", exc_line(e))
  if jnp.shape(out) != (len(counts),) or jnp.result_type(out) != jnp.float32:
    defect(
      "vector output shape/dtype", f"{jnp.result_type(out)}{list(jnp.shape(out))} for {len(counts)} counts"
    )
  values = np.asarray(out, np.float64)
  for c, v in zip(counts, values, strict=True):
    if not np.isfinite(v):
      defect("non-finite value", f"count {c}: {v}")
    if v < 0 and not skip(c):
      defect("negative rate from non-negative arguments", f"count {c}: {v}")
  if not scalar:
    return
  last = counts[-1]
  try:
    one = s(last)
  except Exception as e:  # noqa: BLE001
    defect(f"raises on a Python int count: {_normalize(exc_line(e))}", f"count {last}: {exc_line(e)}")
  if jnp.shape(one) != () or jnp.result_type(one) != jnp.float32:
    defect("scalar output shape/dtype", f"count {last}: {jnp.result_type(one)}{list(jnp.shape(one))}")
  if not np.isclose(float(one), values[-1], rtol=1e-5, atol=1e-12, equal_nan=True):
    defect("scalar and vector counts disagree", f"count {last}: {float(one)} alone, {values[-1]} in a vector")


def check_schedule(case: ScheduleCase) -> None:
  entry = SCHEDULE_ENTRIES[case.entry]
  repro = f"{REPRO}check_schedule({case!r})"
  sig = ("schedule", base_name(entry))
  with _mode(case.x64):
    kwargs = build({**base_kwargs(entry), **case.overrides})
    try:
      s = entry.factory(**kwargs)
    except Exception as e:  # noqa: BLE001
      raise Defect((*sig, "raises at construction", _normalize(exc_line(e))), exc_line(e), repro) from e
    skip = lambda c: False  # noqa: E731
    if base_name(entry) == "oj.schedules.one_cycle_lr":
      # documented: Paddle's value at count total_steps is slightly past end_learning_rate
      skip = lambda c: c == kwargs["total_steps"]  # noqa: E731
    _evaluate_schedule(entry, s, case.counts, sig, repro, scalar=case.scalar, skip=skip)
