"""RAdam presets against trajectories recorded from Paddle and PyTorch.

The files in tests/golden/radam/ come from tools/make_golden.py (family ``radam``, cases in
tools/golden_cases/radam.py). Each case is replayed under jit and compared after every step with the
normwise error max|ours - ref| / max|ref| per leaf: <= 1e-6 in float32 (1e-5 beyond 100 steps),
<= 1e-12 in float64.
"""

from __future__ import annotations

import collections

import numpy as np
import pytest

from tests import golden_utils

FAMILY = "radam"
CASES = golden_utils.case_names(FAMILY)
TIE_B2 = 0.8397685748659791


@pytest.mark.parametrize("name", CASES)
def test_golden_trajectory(name):
  case = golden_utils.load_case(FAMILY, name)
  with golden_utils.precision(case):
    ours = golden_utils.replay(golden_utils.build_optimizer(case.meta), case)
  golden_utils.assert_matches(case, ours, case.params)


def _betas(meta):
  kw = meta["config"]["kwargs"]
  b1, b2 = kw["betas"] if "betas" in kw else (kw["beta1"], kw["beta2"])
  if meta["framework"] == "paddle":  # Paddle's kernel takes float32 attributes
    b1, b2 = float(np.float32(b1)), float(np.float32(b2))
  return b1, b2


@pytest.mark.parametrize(
  "name, rectified",
  [
    ("torch_b2_tie_step_f32", False),
    ("torch_b2_tie_step_f64", False),
    ("paddle_b2_tie_step_f32", False),  # Paddle's float32 rho recursion gives exactly 5.0
    ("paddle_b2_tie_step_f64", True),  # beta2 rounded to float32, then rho_6 = 5.00000009 in double
  ],
)
def test_recorded_tie_at_step_6(name, rectified):
  """The frameworks' own step 6 at rho_6 == 5: the bias-corrected momentum alone, or rectified."""
  case = golden_utils.load_case(FAMILY, name)
  assert case.meta["config"]["clip"] == [] and case.meta["config"]["weight_decay"] is None
  b1, _ = _betas(case.meta)
  t = 6
  for leaf, grads in case.grads.items():
    g = grads.astype(np.float64)
    m = sum((1 - b1) * b1 ** (t - 1 - i) * g[i] for i in range(t))
    m_hat_step = -case.lr[t - 1] * m / (1 - b1**t)
    step = case.params[leaf][t - 1].astype(np.float64) - case.params[leaf][t - 2]
    relative = np.max(np.abs(step - m_hat_step)) / np.max(np.abs(step))
    assert (relative > 1e-2) == rectified, (leaf, relative)


def test_grid_covers_every_option():
  metas = [golden_utils.load_case(FAMILY, n).meta for n in CASES]
  seen = collections.defaultdict(set)
  for m in metas:
    fw, cfg, kw = m["framework"], m["config"], m["config"]["kwargs"]
    assert cfg["schedule"] is not None, f"{m['case']}: a golden case needs a non-constant schedule"
    seen[fw, "dtype"].add(m["dtype"])
    seen[fw, "beta2"].add(_betas(m)[1] if fw == "torch" else kw["beta2"])
    seen[fw, "eps"].add(kw.get("eps", kw.get("epsilon")))
    seen[fw, "long"].add(m["steps"] >= 300)
    seen[fw, "clip"] |= {c["type"].rsplit(".", 1)[-1] for c in cfg["clip"]} or {None}
    wd = cfg["weight_decay"]
    seen[fw, "weight_decay"].add(None if wd is None else wd["type"].rsplit(".", 1)[-1])
    if fw == "torch":
      seen[fw, "torch_wd"].add((kw.get("weight_decay", 0) > 0, kw.get("decoupled_weight_decay", False)))
      seen[fw, "maximize"].add(kw.get("maximize", False))
  for fw in ("paddle", "torch"):
    assert seen[fw, "dtype"] == {"float32", "float64"}
    assert {0.999, 0.9, 0.9999, 0.5, TIE_B2} <= seen[fw, "beta2"]
    assert 0.0625 in seen[fw, "eps"]
    assert seen[fw, "long"] == {False, True}
  assert seen["paddle", "clip"] == {None, "ClipGradByValue", "ClipGradByNorm", "ClipGradByGlobalNorm"}
  assert seen["paddle", "weight_decay"] == {None, "float", "L2Decay", "L1Decay"}
  assert seen["torch", "torch_wd"] == {(False, False), (True, False), (True, True)}
  assert seen["torch", "maximize"] == {False, True}
  assert seen["torch", "clip"] == {None, "clip_grad_norm_"}
