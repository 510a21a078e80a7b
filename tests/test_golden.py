"""Presets against trajectories recorded from the real frameworks.

The files in tests/golden/<family>/ come from tools/make_golden.py (cases in
tools/golden_cases/<family>.py): rmsprop (Paddle, tf_keras, Keras 3, PyTorch), radam (Paddle,
PyTorch), asgd (Paddle's SAG, PyTorch's averaged SGD) and ema (tf_keras and Keras 3 with
``use_ema=True``). Each case is replayed under jit and compared after every step with the normwise
error max|ours - ref| / max|ref| per leaf: <= 1e-6 in float32 (1e-5 beyond 100 steps), <= 1e-12 in
float64. The framework's parameter average a case records as an extra (PyTorch ASGD's ``ax``, the
Keras EMA ``average``, whose last row is the final average ``finalize_variable_values`` installs) is
compared the same way with ``oj.ema_params(state)``. The schedule-driven cases (oj.schedules inside
Paddle's RMSProp) are in test_schedules_rmsprop.py.
"""

from __future__ import annotations

import collections
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from tests import golden_utils

FAMILIES = {  # family -> the frameworks it was recorded from
  "rmsprop": ("paddle", "tf_keras", "keras", "torch"),
  "radam": ("paddle", "torch"),
  "asgd": ("paddle", "torch"),
  "ema": ("tf_keras", "keras"),
  "paddle_groups": ("paddle",),
  "torch_groups": ("torch",),
  "keras_options": ("tf_keras", "keras"),
}
CASES = [(family, name) for family in FAMILIES for name in golden_utils.case_names(family)]
AVERAGES = {"ax", "average"}  # the extras that are the framework's parameter average


@pytest.mark.parametrize("family, name", CASES, ids=[f"{f}-{n}" for f, n in CASES])
def test_golden_trajectory(family, name):
  case = golden_utils.load_case(family, name)
  extras = case.meta["extras"]
  assert set(extras) <= AVERAGES, f"{name}: nothing of ours to compare with the extras {extras}"
  params, average = golden_utils.replay_case(case)
  golden_utils.assert_matches(case, params, case.params)
  for key in extras:
    golden_utils.assert_matches(case, average, golden_utils.load_extra(family, name, key), key)


# --- the committed cases cover every option value of every framework, in both dtypes ----------------


def _short(spec_type):
  return spec_type.rsplit(".", 1)[-1]


def _grid(family, record=None):
  """Per (framework, option), the values that the family's cases cover (`record` adds the family's
  own); checks what every case and every framework needs: a non-constant schedule, float32 and
  float64, a case within the short-run tolerance (<= 100 steps) and a long one (>= 300 steps)."""
  seen = collections.defaultdict(set)
  for name in golden_utils.case_names(family):
    m = golden_utils.load_meta(family, name)
    fw, cfg = m["framework"], m["config"]
    assert cfg["schedule"] is not None, f"{m['case']}: a golden case needs a non-constant schedule"
    seen[fw, "dtype"].add(m["dtype"])
    seen[fw, "steps"].add(m["steps"])
    seen[fw, "clip"] |= {_short(c["type"]) for c in cfg["clip"]} or {None}
    wd = cfg["weight_decay"]
    seen[fw, "weight_decay"].add(None if wd is None else _short(wd["type"]))
    if record is not None:
      record(seen, fw, m, cfg["kwargs"])
  for fw in FAMILIES[family]:
    assert seen[fw, "dtype"] == {"float32", "float64"}, fw
    assert seen[fw, "steps"] and min(seen[fw, "steps"]) <= 100 and max(seen[fw, "steps"]) >= 300, fw
  return seen


def test_rmsprop_grid():
  def record(seen, fw, m, kw):
    clips = m["config"]["clip"]
    seen[fw, "centered"].add(kw["centered"])
    seen[fw, "momentum"].add(kw["momentum"] > 0)
    seen[fw, "clip_combo"].add(tuple(sorted(c["type"] for c in clips)))
    if fw == "torch":
      seen[fw, "maximize"].add(kw.get("maximize", False))
      seen[fw, "torch_wd"].add(kw.get("weight_decay", 0) > 0)
      seen[fw, "norm_type"] |= {str(c["kwargs"].get("norm_type")) for c in clips if "norm" in c["type"]}
    if fw == "paddle":
      seen[fw, "auto_skip_clip"] |= {c["kwargs"].get("auto_skip_clip", False) for c in clips}
      seen[fw, "asymmetric"] |= {c["kwargs"].get("min") is not None for c in clips if "Value" in c["type"]}

  seen = _grid("rmsprop", record)
  for fw in FAMILIES["rmsprop"]:
    assert seen[fw, "centered"] == {False, True}
    assert seen[fw, "momentum"] == {False, True}
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


TIE_B2 = 0.8397685748659791


def _betas(meta):
  kw = meta["config"]["kwargs"]
  b1, b2 = kw["betas"] if "betas" in kw else (kw["beta1"], kw["beta2"])
  if meta["framework"] == "paddle":  # Paddle's kernel takes float32 attributes
    b1, b2 = float(np.float32(b1)), float(np.float32(b2))
  return b1, b2


def test_radam_grid():
  def record(seen, fw, m, kw):
    seen[fw, "beta2"].add(_betas(m)[1] if fw == "torch" else kw["beta2"])
    seen[fw, "eps"].add(kw.get("eps", kw.get("epsilon")))
    if fw == "torch":
      seen[fw, "torch_wd"].add((kw.get("weight_decay", 0) > 0, kw.get("decoupled_weight_decay", False)))
      seen[fw, "maximize"].add(kw.get("maximize", False))

  seen = _grid("radam", record)
  for fw in FAMILIES["radam"]:
    assert {0.999, 0.9, 0.9999, 0.5, TIE_B2} <= seen[fw, "beta2"]
    assert 0.0625 in seen[fw, "eps"]
  assert seen["paddle", "clip"] == {None, "ClipGradByValue", "ClipGradByNorm", "ClipGradByGlobalNorm"}
  assert seen["paddle", "weight_decay"] == {None, "float", "L2Decay", "L1Decay"}
  assert seen["torch", "torch_wd"] == {(False, False), (True, False), (True, True)}
  assert seen["torch", "maximize"] == {False, True}
  assert seen["torch", "clip"] == {None, "clip_grad_norm_"}


def test_asgd_grid():
  def record(seen, fw, m, kw):
    if fw == "paddle":
      seen[fw, "batch_num"].add(kw["batch_num"])
    else:
      assert "ax" in m["extras"], f"{m['case']}: PyTorch's average ax is compared after every step"
      seen[fw, "averaging"].add(kw["t0"] < m["steps"])
      seen[fw, "maximize"].add(kw.get("maximize", False))
      seen[fw, "torch_wd"].add(kw.get("weight_decay", 0) > 0)

  seen = _grid("asgd", record)
  assert {1, 2, 3, 4} <= seen["paddle", "batch_num"]
  assert seen["paddle", "clip"] == {None, "ClipGradByValue", "ClipGradByNorm", "ClipGradByGlobalNorm"}
  assert seen["paddle", "weight_decay"] == {None, "float", "L2Decay", "L1Decay"}
  assert seen["torch", "averaging"] == {False, True}
  assert seen["torch", "maximize"] == {False, True}
  assert seen["torch", "torch_wd"] == {False, True}
  assert seen["torch", "clip"] == {None, "clip_grad_norm_"}


def test_ema_grid():
  def record(seen, fw, m, kw):
    assert kw["use_ema"] and "average" in m["extras"], m["case"]
    assert kw["momentum"] > 0, f"{m['case']}: needs a schedule and momentum"
    seen[fw, "frequency"].add(kw.get("ema_overwrite_frequency", "default"))

  seen = _grid("ema", record)
  for fw in FAMILIES["ema"]:
    assert {None, 1, 3} <= seen[fw, "frequency"]
  assert "default" in seen["tf_keras", "frequency"]  # tf_keras's RMSprop default, 100


# --- family-specific checks of the recorded numbers --------------------------------------------------


def test_rmsprop_schedule_mapping_matches_recorded_lr():
  """The schedule mapping alone gives the learning rate each framework reported at every step."""
  mapped = {}  # cases with the same schedule, base lr and length share its values
  with jax.enable_x64(True):
    for name in golden_utils.case_names("rmsprop"):
      case = golden_utils.load_case("rmsprop", name)
      config = case.meta["config"]
      key = (json.dumps(config["schedule"], sort_keys=True), config["kwargs"].get("lr"), case.steps)
      if key not in mapped:
        sched = golden_utils.schedule(config["schedule"], base_lr=key[1])
        mapped[key] = np.asarray(jax.vmap(sched)(jnp.arange(case.steps)), np.float64)
      ours = mapped[key]
      if case.meta["framework"] in ("tf_keras", "keras"):  # Keras evaluates its schedules in float32,
        # a few float32 ulps away from the exact value when pow is involved
        np.testing.assert_allclose(
          ours.astype(np.float32), case.lr.astype(np.float32), rtol=1e-6, err_msg=name
        )
        if case.dtype == "float64":  # float64 cases use schedules whose float32 value is exact
          np.testing.assert_array_equal(ours.astype(np.float32), case.lr.astype(np.float32), err_msg=name)
      else:  # Paddle and PyTorch compute the lr in double precision
        np.testing.assert_allclose(ours, case.lr, rtol=1e-13, atol=0, err_msg=name)


@pytest.mark.parametrize(
  "name, rectified",
  [
    ("torch_b2_tie_step_f32", False),
    ("torch_b2_tie_step_f64", False),
    ("paddle_b2_tie_step_f32", False),  # Paddle's float32 rho recursion gives exactly 5.0
    ("paddle_b2_tie_step_f64", True),  # beta2 rounded to float32, then rho_6 = 5.00000009 in double
  ],
)
def test_radam_recorded_tie_at_step_6(name, rectified):
  """The frameworks' own step 6 at rho_6 == 5: the bias-corrected momentum alone, or rectified."""
  case = golden_utils.load_case("radam", name)
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


def test_asgd_torch_average_is_the_parameters_before_t0():
  """With the default t0 = 1e6, PyTorch's ax is a copy of the parameters after every step."""
  name = "torch_defaults_step_f64"
  ax = golden_utils.load_extra("asgd", name, "ax")
  params = golden_utils.load_case("asgd", name).params
  for leaf in params:
    np.testing.assert_array_equal(ax[leaf], params[leaf])
