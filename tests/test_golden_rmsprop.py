"""RMSProp presets against trajectories recorded from Paddle, tf_keras, Keras 3 and PyTorch.

The files in tests/golden/rmsprop/ come from tools/make_golden.py (see its docstring); each case is
replayed step by step under jit and compared after every step with the normwise error
max|ours - ref| / max|ref| per leaf: <= 1e-6 in float32 (1e-5 beyond 100 steps), <= 1e-12 in
float64.
"""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests import golden_utils

FAMILY = "rmsprop"
CASES = golden_utils.case_names(FAMILY)


@pytest.mark.parametrize("name", CASES)
def test_golden_trajectory(name):
  case = golden_utils.load_case(FAMILY, name)
  with golden_utils.precision(case):
    tx = golden_utils.build_optimizer(case.meta)
    ours = golden_utils.replay(tx, case)
  golden_utils.assert_matches(case, ours, case.params)


def test_schedule_mapping_matches_recorded_lr():
  """The schedule mapping alone gives the learning rate each framework reported at every step."""
  with jax.enable_x64(True):
    for name in CASES:
      case = golden_utils.load_case(FAMILY, name)
      config = case.meta["config"]
      sched = golden_utils.schedule(config["schedule"], base_lr=config["kwargs"].get("lr"))
      ours = np.asarray(jax.vmap(sched)(jnp.arange(case.steps)), np.float64)
      if case.meta["framework"] in ("tf_keras", "keras"):  # Keras evaluates its schedules in float32,
        # a few float32 ulps away from the exact value when pow is involved
        np.testing.assert_allclose(
          ours.astype(np.float32), case.lr.astype(np.float32), rtol=1e-6, err_msg=name
        )
        if case.dtype == "float64":  # float64 cases use schedules whose float32 value is exact
          np.testing.assert_array_equal(ours.astype(np.float32), case.lr.astype(np.float32), err_msg=name)
      else:  # Paddle and PyTorch compute the lr in double precision
        np.testing.assert_allclose(ours, case.lr, rtol=1e-13, atol=0, err_msg=name)


def test_grid_covers_every_option():
  """The committed cases cover every option value of every framework, in both dtypes."""
  metas = [golden_utils.load_case(FAMILY, n).meta for n in CASES]
  seen = collections.defaultdict(set)
  for m in metas:
    fw, cfg, kw = m["framework"], m["config"], m["config"]["kwargs"]
    seen[fw, "dtype"].add(m["dtype"])
    seen[fw, "centered"].add(kw["centered"])
    seen[fw, "momentum"].add(kw["momentum"] > 0)
    seen[fw, "clip"] |= {c["type"].rsplit(".", 1)[-1] for c in cfg["clip"]} or {None}
    seen[fw, "clip_combo"].add(tuple(sorted(c["type"] for c in cfg["clip"])))
    wd = cfg["weight_decay"]
    seen[fw, "weight_decay"].add(None if wd is None else wd["type"].rsplit(".", 1)[-1])
    seen[fw, "long"].add(m["steps"] >= 300)
    assert cfg["schedule"] is not None, f"{m['case']}: a golden case needs a non-constant schedule"
    if fw == "torch":
      seen[fw, "maximize"].add(kw.get("maximize", False))
      seen[fw, "torch_wd"].add(kw.get("weight_decay", 0) > 0)
      seen[fw, "norm_type"] |= {str(c["kwargs"].get("norm_type")) for c in cfg["clip"] if "norm" in c["type"]}
    if fw == "paddle":
      seen[fw, "auto_skip_clip"] |= {c["kwargs"].get("auto_skip_clip", False) for c in cfg["clip"]}
      seen[fw, "asymmetric"] |= {
        c["kwargs"].get("min") is not None for c in cfg["clip"] if "Value" in c["type"]
      }
  for fw in ("paddle", "tf_keras", "keras", "torch"):
    assert seen[fw, "dtype"] == {"float32", "float64"}
    assert seen[fw, "centered"] == {False, True}
    assert seen[fw, "momentum"] == {False, True}
    assert seen[fw, "long"] == {False, True}
  assert seen["paddle", "clip"] == {None, "ClipGradByValue", "ClipGradByNorm", "ClipGradByGlobalNorm"}
  assert seen["paddle", "weight_decay"] == {None, "float", "L2Decay", "L1Decay"}
  assert seen["paddle", "auto_skip_clip"] == {False, True}
  assert seen["paddle", "asymmetric"] == {False, True}
  for fw in ("tf_keras", "keras"):
    assert seen[fw, "clip"] == {None, "clipnorm", "clipvalue", "global_clipnorm"}
    assert seen[fw, "weight_decay"] == {None, "float"}
  assert {("clipnorm", "clipvalue"), ("clipvalue", "global_clipnorm")} <= seen["tf_keras", "clip_combo"]
  assert seen["torch", "maximize"] == {False, True}
  assert seen["torch", "torch_wd"] == {False, True}
  assert seen["torch", "norm_type"] == {"2.0", "1.0", "inf", "3.0"}
  assert ("torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad_value_") in seen["torch", "clip_combo"]
