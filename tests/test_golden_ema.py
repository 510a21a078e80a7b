"""Keras EMA (``use_ema=True``) against trajectories recorded from tf_keras and Keras 3.

The files in tests/golden/ema/ come from tools/make_golden.py (family ``ema``, cases in
tools/golden_cases/ema.py). Each holds the parameters after every step and, as
``extra/average/<leaf>``, the framework's moving average after every step (the last row is the
final average that ``finalize_variable_values`` installs). Both are compared after every step with
the normwise error max|ours - ref| / max|ref| per leaf: <= 1e-6 in float32 (1e-5 beyond 100 steps),
<= 1e-12 in float64.
"""

from __future__ import annotations

import collections

import pytest

from tests import golden_utils

FAMILY = "ema"
CASES = golden_utils.case_names(FAMILY)


@pytest.mark.parametrize("name", CASES)
def test_golden_params_and_average(name):
  case = golden_utils.load_case(FAMILY, name)
  with golden_utils.precision(case):
    params, average = golden_utils.replay(golden_utils.build_optimizer(case.meta), case, average=True)
  for what, ours, ref in (
    ("params", params, case.params),
    ("average", average, golden_utils.load_extra(FAMILY, name, "average")),
  ):
    golden_utils.assert_matches(case, ours, ref, what)


def test_grid_covers_every_option():
  seen = collections.defaultdict(set)
  for name in CASES:
    meta = golden_utils.load_case(FAMILY, name).meta
    fw, cfg = meta["framework"], meta["config"]
    kw = cfg["kwargs"]
    assert kw["use_ema"] and "average" in meta["extras"], name
    assert cfg["schedule"] is not None and kw["momentum"] > 0, f"{name}: needs a schedule and momentum"
    seen[fw, "dtype"].add(meta["dtype"])
    seen[fw, "frequency"].add(kw.get("ema_overwrite_frequency", "default"))
    seen[fw, "long"].add(meta["steps"] > 100)
  for fw in ("tf_keras", "keras"):
    assert seen[fw, "dtype"] == {"float32", "float64"}
    assert {None, 1, 3} <= seen[fw, "frequency"]
    assert seen[fw, "long"] == {False, True}
  assert "default" in seen["tf_keras", "frequency"]  # tf_keras's RMSprop default, 100
