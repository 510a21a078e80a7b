"""Property-based fuzz of every public factory in tests/registry.py (issue 13).

The generators, ranges and checks are in tests/fuzz_strategies.py, shared with the long run
(``python tools/fuzz.py --configs 10000 --seed 0``). Here each entry gets a few hypothesis examples:

* valid configurations (hyperparameters drawn in their ranges around the entry's kwargs, structural
  flags and choices from their allowed values) on drawn gradients (float32, bfloat16 and float16
  leaves in one tree with a scalar, an empty leaf and None; float64 under x64 for the presets):
  no exception or warning, updates of the gradient's tree, shapes and dtypes, a state signature
  that does not change (so a jitted update traces once), finite updates;
* every fixed invalid value of every argument, and drawn out-of-range numbers: a construction-time
  ValueError/TypeError (AssertionError where Paddle's scheduler raises it) naming the argument;
* "gray" values (``2**31`` for an int, ``inf`` where it could mean off): rejected naming the
  argument, or accepted and then finite;
* schedules at counts up to ``2**31 - 1``: float32, finite, non-negative.

Updates run eagerly (a jitted update would compile once per drawn configuration; jit's cache key
is the abstract signature compared here, `test_signature_predicts_retrace`), and eager operations
compile one small kernel per operation, shape and dtype: the time goes into those compilations. So
here the shapes are few, hyperparameters are Python numbers, and buffer sizes, dtypes and objects
(``batch_num``, ``state_dtype``, ``grad_clip``) stay as in the registry; the long run draws those
too (NumPy scalars, 0-d arrays and schedules as hyperparameters, every template and dtype, float64
for every entry, up to 30 steps, and a jitted run with a trace counter).
"""

from __future__ import annotations

import inspect

import jax
import jax.numpy as jnp
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from tests import fuzz_strategies as fz
from tests import registry

TRANSFORMS = registry.ENTRIES
SCHEDULES = registry.SCHEDULES
ALL = TRANSFORMS + SCHEDULES

# No shrinking: a failure prints its own one-line reproduction, and shrinking many failing
# examples would take longer than the whole module.
FAST = dict(phases=(Phase.explicit, Phase.reuse, Phase.generate), deadline=None)
# Examples per entry, sized for the module's 30 s budget on two cores (most of it compiling kernels);
# tools/fuzz.py draws thousands.
VALID_EXAMPLES = 2  # and one more under x64 for the presets
SCHEDULE_EXAMPLES = 3
OUT_OF_RANGE_EXAMPLES = 3


class HypothesisDraw:
  """The `Draw` interface of tests/fuzz_strategies.py, drawing from hypothesis."""

  def __init__(self, data: st.DataObject):
    self.data = data

  def choice(self, options):
    return self.data.draw(st.sampled_from(list(options)))

  def uniform(self, lo, hi):
    return self.data.draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))

  def integer(self, lo, hi):
    return self.data.draw(st.integers(lo, hi))

  def boolean(self):
    return self.data.draw(st.booleans())


def _ids(entries):
  return [e.name for e in entries]


def _first_per_factory(entries):
  """The first registry entry of each factory (and set of extra arguments)."""
  seen, out = set(), []
  for e in entries:
    key = (e.factory, tuple(e.extra_args))
    if key not in seen:
      seen.add(key)
      out.append(e)
  return out


# gray values are about an argument, not a variant
GRAY = _first_per_factory([e for e in ALL if fz.arg_cases(e, "gray")])
# float64 here for one preset per primitive (the long run: every entry under x64): the float64 kernels
# cost about as much to compile as all the others
X64_NAMES = (
  "oj.paddle.rmsprop",  # clip, L2 decay, scale_by_rms_paddle, lr, trace
  "oj.paddle.radam",  # scale_by_radam (recursion)
  "oj.paddle.asgd[multi_precision]",  # sag_average inside multi_precision
  "oj.tf_keras.rmsprop[ema]",  # decoupled weight decay, param_ema
  "oj.torch.rmsprop",  # scale_by_rms_torch, centered, maximize
  "oj.torch.radam[decoupled]",  # scale_by_radam (closed form)
  "oj.torch.asgd",  # averaged_sgd
  "oj.schedules.reduce_on_plateau",
)
X64 = [fz.ENTRIES[name] for name in X64_NAMES]


def test_space_covers_the_registry():
  """Every entry has a range table, covering its hyperparameters, with only real argument names."""
  for entry in ALL:
    table = fz.SCHEDULES if fz.is_schedule(entry) else fz.TRANSFORMS
    assert fz.base_name(entry) in table, entry.name
    names = set(inspect.signature(entry.factory).parameters)
    space = fz.space(entry)
    assert set(entry.hyperparams) <= set(space), (entry.name, set(entry.hyperparams) - set(space))
    assert set(space) <= names, (entry.name, set(space) - names)
    assert set(entry.extra_args) <= set(fz.EXTRAS), entry.name


def test_signature_predicts_retrace():
  """jax.jit traces again exactly when the abstract signature compared by the fuzz changes."""
  traces = []
  f = jax.jit(lambda x: traces.append(None) or x * 2)
  strong, weak = jnp.ones((), jnp.float32), jnp.asarray(1.0)
  f(strong)
  f(jnp.zeros((), jnp.float32))
  assert len(traces) == 1 and fz.signature_of(strong) == fz.signature_of(jnp.zeros((), jnp.float32))
  f(weak)
  assert len(traces) == 2 and fz.signature_of(strong) != fz.signature_of(weak)


@pytest.mark.parametrize("entry", TRANSFORMS, ids=_ids(TRANSFORMS))
@settings(max_examples=VALID_EXAMPLES, **FAST)
@given(data=st.data())
def test_valid_configuration_runs(entry, data):
  """float32, bfloat16 and float16 leaves in one tree (with a scalar, an empty leaf and None)."""
  fz.check_valid(fz.draw_valid_case(HypothesisDraw(data), entry, trees=fz.CI_TREES[:1], ci=True))


@pytest.mark.parametrize("entry", X64, ids=_ids(X64))
@settings(max_examples=1, **FAST)
@given(data=st.data())
def test_valid_configuration_runs_under_x64(entry, data):
  """float64 parameters under jax.enable_x64(True)."""
  fz.check_valid(fz.draw_valid_case(HypothesisDraw(data), entry, trees=fz.CI_TREES[1:], ci=True))


@pytest.mark.parametrize("entry", SCHEDULES, ids=_ids(SCHEDULES))
@settings(max_examples=SCHEDULE_EXAMPLES, **FAST)
@given(data=st.data())
def test_valid_schedule_is_finite_up_to_int32_max(entry, data):
  fz.check_schedule(fz.draw_schedule_case(HypothesisDraw(data), entry, full=False))


def _check_all(cases, what):
  """Every case, then one assertion listing every failure (each with its reproduction)."""
  failures = []
  for case in cases:
    try:
      fz.check_arg(case, consequence=False)
    except fz.Defect as d:
      failures.append(str(d))
  assert not failures, f"{len(failures)} {what}:\n" + "\n".join(failures)


@pytest.mark.parametrize("entry", ALL, ids=_ids(ALL))
def test_invalid_arguments_rejected_at_construction(entry):
  """Every fixed invalid value of every argument (wrong type, out of range, NaN, inf)."""
  _check_all(fz.arg_cases(entry, "invalid"), "invalid values not rejected properly")


def _ranged(entry):
  return [(a, s) for a, s in fz.space(entry).items() if s is not None and s.ranged]


RANGED = [e for e in ALL if _ranged(e)]


@pytest.mark.parametrize("entry", RANGED, ids=_ids(RANGED))
@settings(max_examples=OUT_OF_RANGE_EXAMPLES, **FAST)
@given(data=st.data())
def test_drawn_out_of_range_numbers_rejected(entry, data):
  draw = HypothesisDraw(data)
  ranged = _ranged(entry)
  arg, spec = draw.choice(ranged)
  label, value = spec.invalid_number(draw)
  fz.check_arg(fz.ArgCase(entry.name, arg, label, value), consequence=False)


@pytest.mark.parametrize("entry", GRAY, ids=_ids(GRAY))
def test_gray_values_rejected_or_finite(entry):
  """Large ints, inf where it could mean "off": a clear error, or a clean run up to count 2**31 - 1."""
  _check_all(fz.arg_cases(entry, "gray"), "gray values neither rejected properly nor run cleanly")


# Cases the long run found (tools/fuzz.py), replayed on every run: each was a defect when found.
CORPUS = [
  # b2 rounds to 1.0 in float32: ZeroDivisionError in update (fixed)
  fz.ValidCase(
    "oj.scale_by_radam[recursion]",
    {"b1": 0.649721266354067, "b2": 0.99999999, "threshold": 6.418919213357249},
    fz.TreeSpec("scalar", "float16", seed=61261, scale=0.001, pattern="sign", param_scale=10.0, weak=True),
    steps=2,
  ),
  # centered, float16 state, a constant gradient: the variance cancels to 0 in float16 and the
  # update is inf, where the same values in float32 give 71.9: allowed by the dtype contract (state in
  # the parameters' dtype), so only the other properties are checked here
  fz.ValidCase(
    "oj.scale_by_rms_torch",
    {"alpha": 0.4903088615164104, "eps": 2.954490940722592e-05, "centered": True},
    fz.TreeSpec("mixed", "mixed", seed=20331, scale=10.0, pattern="constant", param_scale=0.0, weak=True),
    steps=30,
  ),
]


@pytest.mark.parametrize("case", CORPUS, ids=[f"{c.entry}-{i}" for i, c in enumerate(CORPUS)])
def test_corpus_of_found_cases(case):
  fz.check_valid(case)
