"""Each oj.schedules schedule drives oj.paddle.rmsprop (momentum 0.9) against Paddle's RMSProp.

The files tests/golden/schedules/paddle_rmsprop_*.npz come from tools/make_golden.py (family
``schedules``, cases in tools/golden_cases/schedule_rmsprop.py): float32 parameters, 60 steps, the Paddle
scheduler as ``learning_rate`` and stepped after every update (or once per epoch, or with a metric
per epoch for ReduceOnPlateau). Compared with the normwise error of tests/golden_utils.py, <= 1e-6.
Our schedules return float32, so float64 trajectories would differ by the rounding of the rate
(~6e-8 relative), far above the float64 tolerance: there are none.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from tests import golden_utils
from tests import schedule_cases as sc

FAMILY = "schedules"
CASES = golden_utils.case_names(FAMILY)


def _rmsprop(config, schedule):
  return oj.paddle.rmsprop(schedule, **config["kwargs"])


@pytest.mark.parametrize("name", [n for n in CASES if n != "paddle_rmsprop_reduce_on_plateau"])
def test_schedule_drives_paddle_rmsprop(name):
  case = golden_utils.load_case(FAMILY, name)
  config = case.meta["config"]
  spec = config["schedule"]["kwargs"]
  schedule = sc.build(spec["cls"], spec["kwargs"])
  if "steps_per_epoch" in spec:
    schedule = oj.schedules.per_epoch(schedule, spec["steps_per_epoch"])
  # the lr Paddle reported at every step, to float32 rounding
  np.testing.assert_allclose(jax.vmap(schedule)(jnp.arange(case.steps)), case.lr, rtol=1e-7, atol=1e-12)
  golden_utils.assert_matches(case, golden_utils.replay(_rmsprop(config, schedule), case), case.params)


def test_covers_every_class():
  names = {golden_utils.load_meta(FAMILY, n)["config"]["schedule"]["kwargs"].get("cls") for n in CASES}
  assert set(sc.CLASSES) - {"ReduceOnPlateau"} <= names


def test_reduce_on_plateau_drives_rmsprop_with_momentum():
  """The docstring's recipe: the plateau rate inside Paddle's momentum buffer."""
  case = golden_utils.load_case(FAMILY, "paddle_rmsprop_reduce_on_plateau")
  config = case.meta["config"]
  kw = dict(config["schedule"]["kwargs"])
  metrics, every = kw.pop("metrics"), kw.pop("steps_per_epoch")
  rms = config["kwargs"]
  tx = optax.chain(
    oj.scale_by_rms_paddle(rms["rho"], rms["epsilon"]),
    oj.schedules.reduce_on_plateau(**kw),
    optax.scale(-1.0),
    optax.trace(rms["momentum"]),
  )
  params = jax.tree.map(jnp.asarray, case.init)
  state = tx.init(params)
  inner = jax.jit(lambda g, s, p: tx.update(g, s, p))
  epoch_end = jax.jit(lambda g, s, p, m: tx.update(g, s, p, metric=m))
  trajectory = {k: [] for k in params}
  lrs = []
  for t in range(case.steps):
    g = {k: jnp.asarray(v[t]) for k, v in case.grads.items()}
    lrs.append(float(optax.tree.get(state, "learning_rate")))
    if (t + 1) % every == 0:
      updates, state = epoch_end(g, state, params, jnp.float32(metrics[(t + 1) // every - 1]))
    else:
      updates, state = inner(g, state, params)
    params = optax.apply_updates(params, updates)
    for k in params:
      trajectory[k].append(np.asarray(params[k]))
  np.testing.assert_allclose(lrs, case.lr, rtol=1e-7)
  golden_utils.assert_matches(case, {k: np.stack(v) for k, v in trajectory.items()}, case.params)
