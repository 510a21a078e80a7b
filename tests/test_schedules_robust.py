"""oj.schedules under any input (issue 13): every invalid argument rejected at construction with a message
naming it, no NaN or negative rate from valid arguments, no overflow for arguments beyond int32 or counts
near int32's end, and vectors of counts.

Each test carries the reproduction that failed before. The references are float64 numpy versions of
Paddle's formulas; the schedules are jitted once per configuration and evaluated on many counts by vmap.
"""

from __future__ import annotations

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from tests import registry

S = oj.schedules
NAN, INF = float("nan"), float("inf")
I32_MAX = 2**31 - 1
END = [0, 1, 2, 3, 2**24 + 1, 2**30, 2**30 + 7, I32_MAX - 1, I32_MAX]  # counts, near int32's end too


def _values(schedule, counts):
  return np.asarray(jax.jit(jax.vmap(schedule))(jnp.asarray(counts, jnp.int32)), np.float64)


# --- 1. every invalid argument: a construction-time error naming the argument and the value -----------

# (factory, kwargs, exception type, the argument as named in the message, the value as shown)
INVALID = [
  # types: before, the first two failed inside float() with "could not convert string to float: 'a'"
  (S.multi_step_decay, dict(learning_rate=0.1, milestones=["a"]), TypeError, "milestones[0]", "'a'"),
  (S.multi_step_decay, dict(learning_rate=0.1, milestones=[1, None]), TypeError, "milestones[1]", "None"),
  (S.piecewise_decay, dict(boundaries=["a"], values=[0.1, 0.2]), TypeError, "boundaries[0]", "'a'"),
  (S.piecewise_decay, dict(boundaries=5, values=[0.1, 0.2]), TypeError, "boundaries", "5"),
  (S.piecewise_decay, dict(boundaries=[1], values=0.1), TypeError, "values", "0.1"),
  (S.piecewise_decay, dict(boundaries=[1], values=[0.1, "x"]), TypeError, "values[1]", "'x'"),
  (S.polynomial_decay, dict(learning_rate=0.1, decay_steps=5, cycle="no"), TypeError, "cycle", "'no'"),
  (S.one_cycle_lr, dict(max_learning_rate=0.1, total_steps=10, three_phase="yes"), TypeError, "three_phase", "'yes'"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, factor="0.5"), TypeError, "factor", "'0.5'"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, factor=[0.5]), TypeError, "factor", "[0.5]"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, patience=1.5), TypeError, "patience", "1.5"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, threshold="1e-4"), TypeError, "threshold", "'1e-4'"),
  # NaN: before, NaN rates (or milestones: "cannot convert float NaN to integer")
  (S.cosine_annealing_warm_restarts, dict(learning_rate=0.1, T_0=3, eta_min=NAN), ValueError, "eta_min", "nan"),
  (S.cosine_annealing_decay, dict(learning_rate=0.1, T_max=3, eta_min=NAN), ValueError, "eta_min", "nan"),
  (S.piecewise_decay, dict(boundaries=[2], values=[0.1, NAN]), ValueError, "values[1]", "nan"),
  (S.piecewise_decay, dict(boundaries=[NAN], values=[0.1, 0.2]), ValueError, "boundaries[0]", "nan"),
  (S.multi_step_decay, dict(learning_rate=0.1, milestones=[NAN]), ValueError, "milestones[0]", "nan"),
  (S.inverse_time_decay, dict(learning_rate=0.1, gamma=NAN), ValueError, "gamma", "nan"),
  (S.polynomial_decay, dict(learning_rate=0.1, decay_steps=5, end_lr=NAN), ValueError, "end_lr", "nan"),
  (S.one_cycle_lr, dict(max_learning_rate=0.1, total_steps=10, divide_factor=NAN), ValueError, "divide_factor", "nan"),
  # Paddle's ZeroDivisionError, now naming the argument (before: "float division by zero")
  (S.one_cycle_lr, dict(max_learning_rate=0.1, total_steps=10, divide_factor=0.0), ZeroDivisionError, "divide_factor",
   "0.0"),
  (S.per_epoch, dict(schedule=NAN, steps_per_epoch=2), ValueError, "schedule", "nan"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, epsilon=NAN), ValueError, "epsilon", "nan"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, threshold=NAN), ValueError, "threshold", "nan"),
  (S.reduce_on_plateau, dict(learning_rate=NAN), ValueError, "learning_rate", "nan"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, min_lr=NAN), ValueError, "min_lr", "nan"),
  (S.linear_warmup, dict(learning_rate=NAN, warmup_steps=3, start_lr=0.0, end_lr=0.1), ValueError, "learning_rate",
   "nan"),
  # inf: before, inf or NaN rates (linear_lr: OverflowError "cannot convert float infinity to integer")
  (S.step_decay, dict(learning_rate=INF, step_size=3), ValueError, "learning_rate", "inf"),
  (S.step_decay, dict(learning_rate=0.1, step_size=3, gamma=-INF), ValueError, "gamma", "-inf"),
  (S.inverse_time_decay, dict(learning_rate=0.1, gamma=INF), ValueError, "gamma", "inf"),
  (S.polynomial_decay, dict(learning_rate=0.1, decay_steps=5, power=INF), ValueError, "power", "inf"),
  (S.linear_warmup, dict(learning_rate=0.1, warmup_steps=3, start_lr=0.0, end_lr=INF), ValueError, "end_lr", "inf"),
  (S.cosine_annealing_decay, dict(learning_rate=0.1, T_max=3, eta_min=INF), ValueError, "eta_min", "inf"),
  (S.one_cycle_lr, dict(max_learning_rate=INF, total_steps=10), ValueError, "max_learning_rate", "inf"),
  (S.cyclic_lr, dict(base_learning_rate=INF, max_learning_rate=0.1, step_size_up=2), ValueError, "base_learning_rate",
   "inf"),
  (S.linear_lr, dict(learning_rate=0.1, total_steps=INF), ValueError, "total_steps", "inf"),
  (S.natural_exp_decay, dict(learning_rate=0.1, gamma=INF), ValueError, "gamma", "inf"),
  (S.noam_decay, dict(d_model=INF, warmup_steps=3), ValueError, "d_model", "inf"),
  (S.noam_decay, dict(d_model=16, warmup_steps=INF), ValueError, "warmup_steps", "inf"),
  (S.noam_decay, dict(d_model=1e-300, warmup_steps=3), ValueError, "d_model", "1e-300"),  # rate beyond float32
  (S.step_decay, dict(learning_rate=1e39, step_size=3), ValueError, "learning_rate", "1e+39"),  # inf in float32
  (S.linear_lr, dict(learning_rate=0.1, total_steps=10**400), ValueError, "total_steps", "1000"),  # beyond float64
  # out of range: before, accepted and negative (or NaN) rates
  (S.reduce_on_plateau, dict(learning_rate=0.1, cooldown=-1), ValueError, "cooldown", "-1"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, patience=-1), ValueError, "patience", "-1"),
  (S.reduce_on_plateau, dict(learning_rate=-1.0), ValueError, "learning_rate", "-1.0"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, min_lr=-1.0), ValueError, "min_lr", "-1.0"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, factor=-0.5), ValueError, "factor", "-0.5"),
  (S.reduce_on_plateau, dict(learning_rate=0.1, epsilon=-1.0), ValueError, "epsilon", "-1.0"),
  (S.step_decay, dict(learning_rate=0.1, step_size=3, gamma=-0.5), ValueError, "gamma", "-0.5"),
  (S.multi_step_decay, dict(learning_rate=0.1, milestones=[2], gamma=-0.5), ValueError, "gamma", "-0.5"),
  (S.piecewise_decay, dict(boundaries=[2], values=[0.1, -0.1]), ValueError, "values[1]", "-0.1"),
  (S.polynomial_decay, dict(learning_rate=0.1, decay_steps=5, end_lr=-0.1), ValueError, "end_lr", "-0.1"),
  (S.cosine_annealing_decay, dict(learning_rate=0.1, T_max=3, eta_min=-1.0), ValueError, "eta_min", "-1.0"),
  (S.cosine_annealing_warm_restarts, dict(learning_rate=0.1, T_0=3, eta_min=-1.0), ValueError, "eta_min", "-1.0"),
  (S.linear_warmup, dict(learning_rate=-1.0, warmup_steps=3, start_lr=0.0, end_lr=0.1), ValueError, "learning_rate",
   "-1.0"),
  (S.per_epoch, dict(schedule=-0.1, steps_per_epoch=2), ValueError, "schedule", "-0.1"),
  (S.cyclic_lr, dict(base_learning_rate=0.01, max_learning_rate=0.1, step_size_up=2, mode="exp_range", exp_gamma=-1.0),
   ValueError, "exp_gamma", "-1.0"),
  (S.multiplicative_decay, dict(learning_rate=0.1, lr_lambda=lambda k: NAN), ValueError, "lr_lambda", "nan"),
  (S.cyclic_lr, dict(base_learning_rate=0.01, max_learning_rate=0.1, step_size_up=2, mode=1), ValueError, "mode", "1"),
]  # fmt: skip


@pytest.mark.parametrize(
  "factory, kwargs, exc, name, shown", INVALID, ids=[f"{f.__name__}-{n}={s}" for f, _, _, n, s in INVALID]
)
def test_invalid_argument_raises_at_construction_naming_it(factory, kwargs, exc, name, shown):
  with pytest.raises(exc) as info:
    factory(**kwargs)
  message = str(info.value)
  assert name in message and shown in message, message
  if exc is ValueError:  # and what is allowed
    assert re.search(r"expected|should|must", message), message


def test_cyclic_lr_not_negative_at_count_1():
  """cyclic_lr(0.1, 0.0, 2, mode="exp_range", exp_gamma=3.0) gave -0.05 at count 1: every argument is
  non-negative, but gamma > 1 grows the (negative) amplitude beyond the base rate (and to inf, then
  NaN, for any base). exp_gamma is now in [0, 1]; with it the rate stays between the two rates."""
  with pytest.raises(ValueError, match=r"exp_gamma.*3\.0.*0 <= exp_gamma <= 1"):
    S.cyclic_lr(0.1, 0.0, 2, mode="exp_range", exp_gamma=3.0)
  for base, peak, gamma in ((0.1, 0.0, 1.0), (0.0, 0.1, 0.9)):
    v = _values(S.cyclic_lr(base, peak, 2, 3, mode="exp_range", exp_gamma=gamma), np.arange(40))
    lo, hi = np.float32(min(base, peak)), np.float32(max(base, peak))
    assert (v >= lo).all() and (v <= hi).all(), v


# --- 2. arguments beyond int32: evaluated correctly (before: OverflowError inside the first call) -------


def _cos(lr, lo, num, den):
  return lo + (lr - lo) * (1 + np.cos(np.pi * np.asarray(num, np.float64) / den)) / 2


def _one_cycle(max_lr, n, e, div=25.0, end=1e-4, pct=0.3):
  """Paddle's OneCycleLR ('cos', two phases) at counts e <= n - 1, in float64."""
  e = np.asarray(e, np.float64)
  stop = pct * n - 1
  up = (max_lr / div) + (max_lr - max_lr / div) * (1 - np.cos(np.pi * e / stop)) / 2
  down = end + (max_lr - end) * (1 + np.cos(np.pi * (e - stop) / (n - 1 - stop))) / 2
  return np.where(e <= math.floor(stop), up, down)


E = np.array(END, np.float64)
LARGE = {
  "step_decay(step_size=2**31)": (lambda: S.step_decay(0.1, 2**31), np.full(len(END), 0.1)),
  "cosine_annealing_decay(T_max=2**40)": (lambda: S.cosine_annealing_decay(0.1, 2**40), _cos(0.1, 0, E, 2**40)),
  "cosine_annealing_decay(T_max=2**30)": (lambda: S.cosine_annealing_decay(0.1, 2**30), _cos(0.1, 0, E, 2**30)),
  "cosine_annealing_warm_restarts(T_0=2**31)": (lambda: S.cosine_annealing_warm_restarts(0.1, 2**31),
                                                _cos(0.1, 0, E, 2**31)),
  "cosine_annealing_warm_restarts(T_0=2**40, T_mult=2)": (lambda: S.cosine_annealing_warm_restarts(0.1, 2**40, 2),
                                                          _cos(0.1, 0, E, 2**40)),
  "cosine_annealing_warm_restarts(T_0=2**30+5, T_mult=2)": (
    lambda: S.cosine_annealing_warm_restarts(0.1, 2**30 + 5, 2),
    np.where(E < 2**30 + 5, _cos(0.1, 0, E, 2**30 + 5), _cos(0.1, 0, E - (2**30 + 5), 2**31 + 10))),
  "one_cycle_lr(total_steps=2**31)": (lambda: S.one_cycle_lr(0.1, 2**31), _one_cycle(0.1, 2**31, E)),
  "cyclic_lr(step_size_up=2**31)": (lambda: S.cyclic_lr(0.01, 0.1, 2**31), 0.01 + 0.09 * E / 2**31),
  "cyclic_lr(step_size_up=2**30, step_size_down=2**30)": (
    lambda: S.cyclic_lr(0.01, 0.1, 2**30, 2**30), 0.01 + 0.09 * np.minimum(E, 2**31 - E) / 2**30),
  "cyclic_lr(step_size_up=2, step_size_down=2**31)": (
    lambda: S.cyclic_lr(0.01, 0.1, 2, 2**31), 0.01 + 0.09 * np.where(E <= 2, E / 2, (2**31 + 2 - E) / 2**31)),
  "linear_warmup(warmup_steps=2**31)": (lambda: S.linear_warmup(0.1, 2**31, 0.0, 0.1), 0.1 * E / 2**31),
  "linear_warmup(warmup_steps=2**31-1)": (lambda: S.linear_warmup(0.05, I32_MAX, 0.0, 0.1),
                                          np.where(E < I32_MAX, 0.1 * E / I32_MAX, 0.05)),
  "per_epoch(steps_per_epoch=2**31)": (lambda: S.per_epoch(S.step_decay(0.1, 1, 0.5), 2**31),
                                       np.full(len(END), 0.1)),
  "polynomial_decay(decay_steps=2**31)": (lambda: S.polynomial_decay(0.1, 2**31, 0.0, 0.5),
                                          0.1 * (1 - E / 2**31) ** 0.5),
  "polynomial_decay(decay_steps=2**31, cycle=True)": (lambda: S.polynomial_decay(0.1, 2**31, 0.0, 2.0, True),
                                                      0.1 * (1 - E / 2**31) ** 2),
  "multi_step_decay(milestones=[10, 2**40])": (lambda: S.multi_step_decay(0.1, [10, 2**40], 0.5),
                                               np.where(E >= 10, 0.05, 0.1)),
  "piecewise_decay(boundaries=[10, 2**40])": (lambda: S.piecewise_decay([10, 2**40], [0.3, 0.2, 0.1]),
                                              np.where(E < 10, 0.3, 0.2)),
  "piecewise_decay(boundaries=[10, inf])": (lambda: S.piecewise_decay([10, INF], [0.3, 0.2, 0.1]),
                                            np.where(E < 10, 0.3, 0.2)),
}  # fmt: skip


@pytest.mark.parametrize("name", list(LARGE))
def test_arguments_beyond_int32(name):
  make, want = LARGE[name]
  got = _values(make(), END)
  assert np.isfinite(got).all() and (got >= 0).all(), got
  np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-12)


def test_plateau_patience_and_cooldown_beyond_int32():
  tx = S.reduce_on_plateau(0.1, patience=2**31, cooldown=2**40)
  state = tx.init(jnp.zeros(1))
  update = jax.jit(lambda s, m: tx.update(jnp.ones(1), s, metric=m))
  for m in (1.0, 2.0, 3.0):
    _, state = update(state, m)
  assert float(state.learning_rate) == pytest.approx(0.1) and int(state.num_bad_epochs) == 2


def test_plateau_bad_epoch_count_saturates():
  tx = S.reduce_on_plateau(0.1, patience=I32_MAX)
  state = tx.init(jnp.zeros(1))._replace(num_bad_epochs=jnp.int32(I32_MAX), last_epoch=jnp.int32(5))
  _, state = jax.jit(lambda s: tx.update(jnp.ones(1), s, metric=1e9))(state)
  assert int(state.num_bad_epochs) == I32_MAX  # not wrapped to -2**31


# --- 3. counts near int32's end: no wrap, no NaN, no negative rate ------------------------------------


def test_polynomial_decay_not_nan_near_int32_end():
  """polynomial_decay(0.1, 3, power=0.5, cycle=True) was NaN at count 2**31 - 1: the cycle length
  3 * ceil(e / 3) = 2**31 + 1 wrapped to a negative int32 (and below end_lr for power=1)."""
  e = np.array(END[-4:], np.float64)
  for d, p in ((3, 0.5), (7, 1.0), (2**30 + 1, 0.5), (I32_MAX, 2.0)):
    got = _values(S.polynomial_decay(0.1, d, 1e-4, p, cycle=True), e)
    period = d * np.maximum(np.ceil(e / d), 1)
    np.testing.assert_allclose(got, (0.1 - 1e-4) * (1 - e / period) ** p + 1e-4, rtol=1e-6)
  # a large power of a quotient near 1: the first-order correction p lo / hi was below -1 (a negative
  # rate); the float32 pair's 2**-48 limits the relative accuracy to about p * 2**-48 here
  got = _values(S.polynomial_decay(0.1, I32_MAX, 0.0, 1e10), [0, 1, 2, 1000])
  np.testing.assert_allclose(got, 0.1 * (1 - np.array([0, 1, 2, 1000]) / I32_MAX) ** 1e10, rtol=1e-4)


def test_linear_lr_not_negative_near_int32_end():
  """linear_lr(0.1, 2**31 - 1, end_factor=0) was -1.6e-11 at count 2**31 - 1: the count, rounded to
  float32, passed total_steps."""
  for n in (I32_MAX, I32_MAX - 1, 2.0**31 + 0.5):
    got = _values(S.linear_lr(0.1, n, start_factor=1.0, end_factor=0.0), END)
    want = 0.1 * (1 - np.minimum(E, math.floor(n)) / n)
    assert (got >= 0).all(), got
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-20)


def test_cosine_keeps_relative_accuracy_at_the_end_of_a_long_cycle():
  """T_0 = 2**31 - 1 near the end of the cycle: 2 * count wrapped, so 1 - cos was computed from the
  wrong end (2e-8 instead of 5e-20)."""
  got = _values(S.cosine_annealing_warm_restarts(0.1, I32_MAX), [I32_MAX - 2, I32_MAX - 1])
  np.testing.assert_allclose(got, 0.1 * np.sin(np.pi * np.array([2, 1]) / (2 * I32_MAX)) ** 2, rtol=1e-6)


LOOPS = {"oj.schedules.multiplicative_decay[loop]"}  # O(count) by design: 2**31 iterations (~1 min)


@pytest.mark.parametrize(
  "entry", [e for e in registry.SCHEDULES if e.name not in LOOPS], ids=lambda e: e.name
)
def test_registry_schedules_at_int32_end_on_a_batched_int_array(entry):
  """Every registry schedule at counts 2**31 - 3 .. 2**31 - 1: finite and non-negative; given as one
  int32 array of shape (2, 3) (not vmap), it returns float32 of that shape."""
  counts = jnp.array([[0, 1, 5], [I32_MAX - 2, I32_MAX - 1, I32_MAX]], jnp.int32)
  got = jax.jit(entry.make())(counts)
  assert got.shape == (2, 3) and got.dtype == jnp.float32
  assert np.isfinite(got).all() and (np.asarray(got) >= 0).all(), got


def test_counts_beyond_int32_saturate():
  """optax.safe_increment holds the int32 count at 2**31 - 1 after that many updates, so the schedule
  holds its value there; an int64 (x64), unsigned, float or Python count beyond int32 saturates the
  same way instead of wrapping to a negative count."""
  assert int(optax.safe_increment(jnp.int32(I32_MAX))) == I32_MAX
  s = S.linear_lr(1.0, 2**31 - 5, start_factor=0.5)  # rising: a wrapped count would give 0.5
  last = float(s(I32_MAX))
  assert last == pytest.approx(1.0) and float(s(2**40)) == last
  both = jax.jit(lambda a, b: jnp.stack([s(a), s(b)]))
  np.testing.assert_array_equal(both(jnp.uint32(2**32 - 1), jnp.float32(1e12)), [last, last])
  with jax.enable_x64(True):
    s = S.linear_lr(1.0, 2**31 - 5, start_factor=0.5)
    np.testing.assert_array_equal(both(jnp.int64(2**40), jnp.uint64(2**63)), [last, last])


# --- 4. vectors of counts: like jax.vmap, for every schedule ------------------------------------------


def _branchy(k):
  """A schedule written for one count (lax.cond does not batch without vmap)."""
  return jax.lax.cond(k < 3, lambda: jnp.float32(0.1), lambda: jnp.float32(0.01))


VECTOR = {
  "lambda_decay(constant)": lambda: S.lambda_decay(0.5, lambda e: 0.5),  # returned shape () before
  "lambda_decay(cond)": lambda: S.lambda_decay(0.5, lambda e: jax.lax.cond(e < 3, lambda: 1.0, lambda: 0.5)),
  "per_epoch(constant schedule)": lambda: S.per_epoch(lambda e: 0.1, 2),
  "per_epoch(cond)": lambda: S.per_epoch(_branchy, 2),
  "per_epoch(lambda_decay)": lambda: S.per_epoch(S.lambda_decay(0.1, lambda e: 0.5), 2),
  "linear_warmup(cond)": lambda: S.linear_warmup(_branchy, 2, 0.0, 0.1),
}


@pytest.mark.parametrize("name", list(VECTOR))
def test_vector_of_counts(name):
  """A batched int32 array (here (3, 4)) gives the values jax.vmap gives, in its shape."""
  s = VECTOR[name]()
  counts = jnp.arange(12, dtype=jnp.int32)
  got = jax.jit(s)(counts.reshape(3, 4))
  assert got.shape == (3, 4) and got.dtype == jnp.float32
  np.testing.assert_array_equal(np.asarray(got).ravel(), np.asarray(jax.jit(jax.vmap(s))(counts)))
