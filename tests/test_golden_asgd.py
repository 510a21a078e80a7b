"""ASGD presets against trajectories recorded from Paddle (SAG) and PyTorch (averaged SGD).

The files in tests/golden/asgd/ come from tools/make_golden.py (family ``asgd``, cases in
tools/golden_cases/asgd.py). PyTorch cases also hold, as ``extra/ax/<leaf>``, the Polyak average
after every step, compared with ``oj.ema_params(state)``. Normwise error max|ours - ref| / max|ref|
per leaf and step: <= 1e-6 in float32 (1e-5 beyond 100 steps), <= 1e-12 in float64.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from tests import golden_utils

FAMILY = "asgd"
CASES = golden_utils.case_names(FAMILY)


@pytest.mark.parametrize("name", CASES)
def test_golden_trajectory(name):
  case = golden_utils.load_case(FAMILY, name)
  with golden_utils.precision(case):
    tx = golden_utils.build_optimizer(case.meta)
    if case.meta["framework"] == "torch":
      params, average = golden_utils.replay(tx, case, average=True)
      compared = [
        ("params", params, case.params),
        ("ax", average, golden_utils.load_extra(FAMILY, name, "ax")),
      ]
    else:
      compared = [("params", golden_utils.replay(tx, case), case.params)]
  for what, ours, ref in compared:
    golden_utils.assert_matches(case, ours, ref, what)


def test_torch_average_is_the_parameters_before_t0():
  """With the default t0 = 1e6, PyTorch's ax is a copy of the parameters after every step."""
  name = "torch_defaults_step_f64"
  ax = golden_utils.load_extra(FAMILY, name, "ax")
  params = golden_utils.load_case(FAMILY, name).params
  for leaf in params:
    np.testing.assert_array_equal(ax[leaf], params[leaf])


def test_grid_covers_every_option():
  metas = [golden_utils.load_case(FAMILY, n).meta for n in CASES]
  seen = collections.defaultdict(set)
  for m in metas:
    fw, cfg, kw = m["framework"], m["config"], m["config"]["kwargs"]
    assert cfg["schedule"] is not None, f"{m['case']}: a golden case needs a non-constant schedule"
    seen[fw, "dtype"].add(m["dtype"])
    seen[fw, "long"].add(m["steps"] >= 300)
    seen[fw, "clip"] |= {c["type"].rsplit(".", 1)[-1] for c in cfg["clip"]} or {None}
    wd = cfg["weight_decay"]
    seen[fw, "weight_decay"].add(None if wd is None else wd["type"].rsplit(".", 1)[-1])
    if fw == "paddle":
      seen[fw, "batch_num"].add(kw["batch_num"])
    else:
      seen[fw, "averaging"].add(kw["t0"] < m["steps"])
      seen[fw, "maximize"].add(kw.get("maximize", False))
      seen[fw, "torch_wd"].add(kw.get("weight_decay", 0) > 0)
  for fw in ("paddle", "torch"):
    assert seen[fw, "dtype"] == {"float32", "float64"}
    assert seen[fw, "long"] == {False, True}
  assert {1, 2, 3, 4} <= seen["paddle", "batch_num"]
  assert seen["paddle", "clip"] == {None, "ClipGradByValue", "ClipGradByNorm", "ClipGradByGlobalNorm"}
  assert seen["paddle", "weight_decay"] == {None, "float", "L2Decay", "L1Decay"}
  assert seen["torch", "averaging"] == {False, True}
  assert seen["torch", "maximize"] == {False, True}
  assert seen["torch", "torch_wd"] == {False, True}
  assert seen["torch", "clip"] == {None, "clip_grad_norm_"}
