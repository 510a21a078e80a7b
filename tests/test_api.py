"""The public surface promised by the API contract (API.md), one public path per symbol."""

from __future__ import annotations

import importlib
import inspect
import pathlib
import re

import pytest

import optim_jax as oj

PRIMITIVES = [
  "scale_by_rms_paddle", "scale_by_rms_torch", "scale_by_radam", "sag_average", "clip_by_value", "clip_by_norm",
  "clip_by_global_norm", "add_l2_decay", "add_l1_decay", "decoupled_weight_decay", "param_ema", "ema_params",
  "multi_precision", "get_lr", "set_lr", "trace", "scale_by_learning_rate", "averaged_sgd", "state_sharding",
  "param_groups", "apply_gradients", "restore_state",
]  # fmt: skip
PRESETS = {
  "paddle": ["rmsprop", "radam", "asgd", "l2_decay", "l1_decay", "clip_grad_by_value", "clip_grad_by_norm",
             "clip_grad_by_global_norm"],
  "tf_keras": ["rmsprop"],
  "keras": ["rmsprop"],
  "torch": ["rmsprop", "radam", "asgd", "clip_grad_norm", "clip_grad_value"],
  "schedules": ["step_decay", "multi_step_decay", "piecewise_decay", "natural_exp_decay", "inverse_time_decay",
                "polynomial_decay", "linear_warmup", "exponential_decay", "lambda_decay", "multiplicative_decay",
                "noam_decay", "cosine_annealing_decay", "one_cycle_lr", "cyclic_lr", "linear_lr",
                "cosine_annealing_warm_restarts", "reduce_on_plateau", "per_epoch"],
  "interop": ["from_torch", "from_paddle", "from_keras", "import_torch_state", "export_torch_state",
              "import_paddle_state", "export_paddle_state", "import_keras_state", "export_keras_state",
              "to_numpy", "to_torch", "to_paddle", "state_slots", "replace_slots", "map_params", "param_paths"],
}  # fmt: skip
SIGNATURES = {
  "scale_by_rms_paddle": "rho=0.95, epsilon=1e-06, centered=False",
  "scale_by_rms_torch": "alpha=0.99, eps=1e-08, centered=False",
  "scale_by_radam": "b1=0.9, b2=0.999, eps=1e-08, threshold=5.0",
  "paddle.rmsprop": "learning_rate, rho=0.95, epsilon=1e-06, momentum=0.0, centered=False, weight_decay=None, "
  "grad_clip=None",
  "paddle.radam": "learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-08, weight_decay=None, grad_clip=None",
  "paddle.asgd": "learning_rate=0.001, batch_num=1, weight_decay=None, grad_clip=None, multi_precision=False",
  "tf_keras.rmsprop": "learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-07, centered=False, "
  "weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99, "
  "ema_overwrite_frequency=100",
  "keras.rmsprop": "learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-07, centered=False, "
  "weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None, use_ema=False, ema_momentum=0.99, "
  "ema_overwrite_frequency=None",
  "torch.rmsprop": "lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0, momentum=0, centered=False, maximize=False",
  "torch.radam": "lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, decoupled_weight_decay=False, "
  "maximize=False",
  "torch.asgd": "lr=0.01, lambd=0.0001, alpha=0.75, t0=1000000.0, weight_decay=0, maximize=False",
  "torch.clip_grad_norm": "max_norm, norm_type=2.0, error_if_nonfinite=False",
  "interop.from_torch": "optimizer, scheduler=None",
  "interop.from_paddle": "optimizer",
  "interop.from_keras": "optimizer",
}


@pytest.mark.parametrize("name", PRIMITIVES)
def test_primitive_exported(name):
  assert name in oj.__all__ and callable(getattr(oj, name))


@pytest.mark.parametrize("module, name", [(m, n) for m, ns in PRESETS.items() for n in ns])
def test_preset_exported(module, name):
  mod = importlib.import_module(f"optim_jax.{module}")
  assert callable(getattr(mod, name)), f"oj.{module}.{name}"
  assert module in oj.__all__


@pytest.mark.parametrize("path, expected", SIGNATURES.items())
def test_signature_prefix(path, expected):
  """Argument names and defaults of API.md come first, in order (keyword-only extras may follow)."""
  obj = oj
  for part in path.split("."):
    obj = getattr(obj, part)
  params = [p for p in inspect.signature(obj).parameters.values() if p.kind is not p.KEYWORD_ONLY]
  got = ", ".join(str(p).split(":")[0].split(" =")[0] + ("" if p.default is p.empty else f"={p.default!r}")
                  for p in params)  # fmt: skip
  assert got.startswith(expected), got


def test_all_is_sorted_and_resolvable():
  assert list(oj.__all__) == sorted(oj.__all__)
  for name in oj.__all__:
    assert hasattr(oj, name), name


def test_matches_shared_api_md_when_present():
  """Cross-check against ../shared/API.md when the checkout has it beside it (CI does)."""
  api = pathlib.Path(__file__).resolve().parents[2] / "shared" / "API.md"
  if not api.exists():
    pytest.skip("../shared/API.md is not beside this checkout")
  names = set(re.findall(r"`oj\.([a-z_]+)\(", api.read_text()))
  assert names <= set(PRIMITIVES), names - set(PRIMITIVES)
