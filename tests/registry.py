"""Every public transformation factory of optim_jax with a small valid configuration.

The contract suite (tests/test_contract.py) runs over all of it. Later features add entries here,
not tests there. Fields:
  factory       the public callable;
  kwargs        a small valid configuration (non-default where it matters, so state is non-trivial);
  hyperparams   the numeric keyword arguments optax.inject_hyperparams must be able to trace;
  schedules     keyword arguments that accept a schedule (the suite swaps in a constant schedule
                and expects identical updates);
  extra_args    extra keyword arguments passed to ``update`` (e.g. SAG's ``index``);
  needs_params  whether ``update`` needs ``params``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax

import optim_jax as oj


@dataclasses.dataclass(frozen=True)
class Entry:
  name: str
  factory: Callable[..., Any]
  kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
  hyperparams: tuple[str, ...] = ()
  schedules: tuple[str, ...] = ()
  extra_args: dict[str, Any] = dataclasses.field(default_factory=dict)
  needs_params: bool = True
  state_follows_params: bool = True  # False where a state buffer has its own dtype (e.g. master weights)
  # kwargs replacing those that need the contract's tree (parameter groups of matrices and vectors), for
  # the suites that step other trees (the fuzz, the Flax model): one group over every leaf
  any_tree: dict[str, Any] = dataclasses.field(default_factory=dict)

  def make(self, **overrides: Any):
    return self.factory(**{**self.kwargs, **overrides})


# Parameter-group selectors of the entries below: matrices, and the rest (vectors, scalars, empty leaves).
def MATRICES(path, leaf):  # noqa: N802 - constants of the tables
  return leaf.ndim == 2


def VECTORS(path, leaf):  # noqa: N802
  return leaf.ndim <= 1


def PADDLE_ATTRS(path, leaf):  # noqa: N802 - per-leaf attributes of the oj.paddle entries below
  if leaf.ndim == 2:
    return oj.paddle.ParamAttr(learning_rate=2.0, regularizer=oj.paddle.l1_decay(0.01))
  return oj.paddle.ParamAttr(trainable=False) if leaf.ndim == 0 else oj.paddle.ParamAttr(need_clip=False)


def BIASES(path, leaf):  # noqa: N802 - the Keras entries' exclude_from_weight_decay: leaves named b or bias
  return path.rsplit("/", 1)[-1] in ("b", "bias")


def EVERY(path, leaf):  # noqa: N802 - one group over every leaf (Entry.any_tree)
  return True


TORCH_ONE_GROUP = dict(param_groups=[{"params": EVERY, "lr": 0.003, "weight_decay": 0.0}])
PADDLE_ONE_GROUP = dict(parameters=[{"params": EVERY, "learning_rate": 0.5}])


# The tables below keep one entry per line.
# fmt: off
ENTRIES: list[Entry] = [
  # --- primitives: RMS, clipping, weight decay ---------------------------------------------------
  Entry("oj.scale_by_rms_paddle", oj.scale_by_rms_paddle, dict(rho=0.9, epsilon=1e-6), ("rho", "epsilon")),
  Entry("oj.scale_by_rms_paddle[centered]", oj.scale_by_rms_paddle, dict(rho=0.9, centered=True), ("rho",)),
  Entry("oj.scale_by_rms_torch", oj.scale_by_rms_torch, dict(alpha=0.9, eps=1e-8), ("alpha", "eps")),
  Entry("oj.scale_by_rms_torch[centered]", oj.scale_by_rms_torch, dict(alpha=0.9, centered=True), ("alpha",)),
  Entry("oj.clip_by_value", oj.clip_by_value, dict(min_value=-0.05, max_value=0.1), ("min_value", "max_value")),
  Entry("oj.clip_by_norm", oj.clip_by_norm, dict(max_norm=0.1), ("max_norm",)),
  Entry("oj.clip_by_global_norm", oj.clip_by_global_norm, dict(max_norm=0.1), ("max_norm",)),
  Entry("oj.clip_by_global_norm[p=3,eps]", oj.clip_by_global_norm, dict(max_norm=0.1, norm_type=3.0, eps=1e-6),
        ("max_norm", "eps")),
  Entry("oj.clip_by_global_norm[inf]", oj.clip_by_global_norm, dict(max_norm=0.1, norm_type=float("inf"))),
  Entry("oj.add_l2_decay", oj.add_l2_decay, dict(coeff=0.1), ("coeff",), ("coeff",)),
  Entry("oj.add_l1_decay", oj.add_l1_decay, dict(coeff=0.1), ("coeff",), ("coeff",)),
  Entry("oj.decoupled_weight_decay", oj.decoupled_weight_decay, dict(weight_decay=0.1, learning_rate=0.01),
        ("weight_decay", "learning_rate"), ("weight_decay", "learning_rate")),
  # --- primitives: momentum, learning rate ------------------------------------------------------
  Entry("oj.trace", oj.trace, dict(decay=0.9), ("decay",)),
  Entry("oj.trace[f32 buffer]", oj.trace, dict(decay=0.5, accumulator_dtype="float32"), ("decay",),
        state_follows_params=False),
  Entry("oj.scale_by_learning_rate", oj.scale_by_learning_rate, dict(learning_rate=0.1), ("learning_rate",),
        ("learning_rate",), needs_params=False),
  Entry("oj.scale_by_learning_rate[ascent]", oj.scale_by_learning_rate, dict(learning_rate=0.1, flip_sign=False),
        ("learning_rate",), needs_params=False),
  # --- presets: RMSProp family -------------------------------------------------------------------
  Entry("oj.paddle.rmsprop", oj.paddle.rmsprop,
        dict(learning_rate=0.01, momentum=0.9, centered=True, weight_decay=0.01,
             grad_clip=oj.paddle.clip_grad_by_global_norm(1.0)),
        ("learning_rate", "rho", "epsilon", "momentum"), ("learning_rate", "weight_decay")),
  Entry("oj.paddle.rmsprop[l1,clip_norm]", oj.paddle.rmsprop,
        dict(learning_rate=0.01, weight_decay=oj.paddle.l1_decay(0.01), grad_clip=oj.paddle.clip_grad_by_norm(0.5)),
        ("learning_rate", "rho"), ("learning_rate",)),
  Entry("oj.paddle.clip_grad_by_value", oj.paddle.clip_grad_by_value, {"max": 0.1}, ("max",)),
  Entry("oj.paddle.clip_grad_by_norm", oj.paddle.clip_grad_by_norm, dict(clip_norm=0.1), ("clip_norm",)),
  Entry("oj.paddle.clip_grad_by_global_norm", oj.paddle.clip_grad_by_global_norm, dict(clip_norm=0.1),
        ("clip_norm",)),
  Entry("oj.paddle.l2_decay", oj.paddle.l2_decay, dict(coeff=0.1), ("coeff",), ("coeff",)),
  Entry("oj.paddle.l1_decay", oj.paddle.l1_decay, dict(coeff=0.1), ("coeff",), ("coeff",)),
  Entry("oj.tf_keras.rmsprop", oj.tf_keras.rmsprop,
        dict(learning_rate=0.01, momentum=0.9, centered=True, weight_decay=0.01, clipnorm=1.0),
        ("learning_rate", "rho", "momentum", "epsilon", "weight_decay"), ("learning_rate", "weight_decay")),
  Entry("oj.keras.rmsprop", oj.keras.rmsprop,
        dict(learning_rate=0.01, momentum=0.9, weight_decay=0.01, global_clipnorm=1.0),
        ("learning_rate", "rho", "momentum", "epsilon", "weight_decay"), ("learning_rate", "weight_decay")),
  Entry("oj.torch.rmsprop", oj.torch.rmsprop,
        dict(lr=0.01, momentum=0.9, centered=True, weight_decay=0.01, maximize=True),
        ("lr", "alpha", "eps", "weight_decay", "momentum"), ("lr", "weight_decay")),
  Entry("oj.torch.clip_grad_norm", oj.torch.clip_grad_norm, dict(max_norm=0.1), ("max_norm",)),
  Entry("oj.torch.clip_grad_value", oj.torch.clip_grad_value, dict(clip_value=0.05), ("clip_value",)),
  # --- RAdam, SAG, averaged SGD, multi-precision ---------------------------------------------------
  Entry("oj.scale_by_radam", oj.scale_by_radam, dict(b1=0.8, b2=0.9, eps=1e-6), ("b1", "b2", "eps", "threshold")),
  Entry("oj.scale_by_radam[recursion]", oj.scale_by_radam, dict(b2=0.5, rho_rule="recursion"), ("b1", "b2")),
  Entry("oj.sag_average", oj.sag_average, dict(batch_num=3)),
  Entry("oj.sag_average[index]", oj.sag_average, dict(batch_num=3), extra_args=dict(index=2)),
  Entry("oj.sag_average[bf16 memory]", oj.sag_average, dict(batch_num=2, memory_dtype="bfloat16"),
        state_follows_params=False),
  Entry("oj.averaged_sgd", oj.averaged_sgd, dict(learning_rate=0.05, lambd=0.01, t0=1.0),
        ("learning_rate", "lambd", "alpha", "t0"), ("learning_rate",)),
  Entry("oj.multi_precision", oj.multi_precision, dict(inner=oj.torch.radam(lr=0.01, betas=(0.8, 0.9))),
        state_follows_params=False),
  Entry("oj.paddle.radam", oj.paddle.radam,
        dict(learning_rate=0.01, beta2=0.9, weight_decay=0.01, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0)),
        ("learning_rate", "beta1", "beta2", "epsilon"), ("learning_rate", "weight_decay")),
  Entry("oj.paddle.asgd", oj.paddle.asgd,
        dict(learning_rate=0.01, batch_num=3, weight_decay=oj.paddle.l1_decay(0.01),
             grad_clip=oj.paddle.clip_grad_by_norm(1.0)),
        ("learning_rate",), ("learning_rate",), extra_args=dict(index=1)),
  Entry("oj.paddle.asgd[multi_precision]", oj.paddle.asgd,
        dict(learning_rate=0.01, batch_num=2, weight_decay=0.01, multi_precision=True),
        ("learning_rate",), ("learning_rate", "weight_decay"), state_follows_params=False),
  Entry("oj.torch.radam", oj.torch.radam, dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.01, maximize=True),
        ("lr", "eps", "weight_decay"), ("lr", "weight_decay")),
  Entry("oj.torch.radam[decoupled]", oj.torch.radam, dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
        ("lr", "weight_decay"), ("lr", "weight_decay")),
  Entry("oj.torch.asgd", oj.torch.asgd, dict(lr=0.05, lambd=0.01, t0=1.0, weight_decay=0.01, maximize=True),
        ("lr", "lambd", "alpha", "t0", "weight_decay"), ("lr", "weight_decay")),
  # --- parameter groups ---------------------------------------------------------------------------
  Entry("oj.param_groups", oj.param_groups,
        dict(transforms=[oj.torch.rmsprop(lr=0.01, momentum=0.9), oj.scale_by_learning_rate(0.1)],
             selectors=[MATRICES, VECTORS]),
        any_tree=dict(transforms=[oj.torch.rmsprop(lr=0.01, momentum=0.9)], selectors=[EVERY])),
  Entry("oj.param_groups[labels]", oj.param_groups,
        dict(transforms=[oj.torch.radam(lr=0.01), oj.paddle.asgd(0.01, batch_num=2)], selectors=["m", ("v", "s")],
             param_labels=lambda t: jax.tree.map(lambda p: {2: "m", 1: "v", 0: "s"}[p.ndim], t)),
        any_tree=dict(transforms=[oj.torch.radam(lr=0.01)], selectors=["m"],
                      param_labels=lambda t: jax.tree.map(lambda p: "m", t))),
  Entry("oj.torch.rmsprop[param_groups]", oj.torch.rmsprop,
        dict(lr=0.01, momentum=0.9, weight_decay=0.01, param_groups=[
          {"params": MATRICES, "centered": True}, {"params": VECTORS, "lr": 0.001, "weight_decay": 0.0}]),
        ("lr", "alpha", "eps", "momentum"), ("lr", "weight_decay"), any_tree=TORCH_ONE_GROUP),
  Entry("oj.torch.radam[param_groups]", oj.torch.radam,
        dict(lr=0.01, param_groups=[{"params": MATRICES, "betas": (0.8, 0.9)},
                                    {"params": VECTORS, "weight_decay": 0.1, "decoupled_weight_decay": True}]),
        ("lr", "eps"), ("lr",), any_tree=TORCH_ONE_GROUP),
  Entry("oj.torch.asgd[param_groups]", oj.torch.asgd,
        dict(lr=0.05, t0=1.0, param_groups=[{"params": MATRICES, "lambd": 0.01}, {"params": VECTORS, "lr": 0.01}]),
        ("lr", "lambd"), ("lr",), any_tree=TORCH_ONE_GROUP),
  Entry("oj.paddle.rmsprop[parameters]", oj.paddle.rmsprop,
        dict(learning_rate=0.01, momentum=0.9, weight_decay=0.01, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0),
             parameters=[{"params": MATRICES, "learning_rate": 0.5, "centered": True},
                         {"params": VECTORS, "weight_decay": oj.paddle.l1_decay(0.01), "rho": 0.8}],
             param_attrs=lambda path, leaf: oj.paddle.ParamAttr(need_clip=False) if leaf.ndim == 1 else None),
        ("learning_rate", "rho", "momentum"), ("learning_rate", "weight_decay"), any_tree=PADDLE_ONE_GROUP),
  Entry("oj.paddle.asgd[parameters,param_attrs]", oj.paddle.asgd,
        dict(learning_rate=0.01, batch_num=3, weight_decay=0.01, param_attrs=PADDLE_ATTRS,
             parameters=[{"params": MATRICES, "learning_rate": 0.5, "grad_clip": oj.paddle.clip_grad_by_norm(1.0)},
                         {"params": VECTORS, "weight_decay": oj.paddle.l2_decay(0.1)}]),
        ("learning_rate",), ("learning_rate", "weight_decay"), extra_args=dict(index=1), any_tree=PADDLE_ONE_GROUP),
  # --- parameter EMA -----------------------------------------------------------------------------
  Entry("oj.param_ema", oj.param_ema, dict(momentum=0.9, overwrite_frequency=2), ("momentum",)),
  Entry("oj.param_ema[warm_start]", oj.param_ema, dict(momentum=0.9, warm_start=True), ("momentum",)),
  Entry("oj.param_ema[f32 average]", oj.param_ema, dict(momentum=0.99, state_dtype="float32"), ("momentum",),
        state_follows_params=False),
  Entry("oj.tf_keras.rmsprop[ema]", oj.tf_keras.rmsprop,
        dict(learning_rate=0.01, momentum=0.9, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=2),
        ("learning_rate", "ema_momentum"), ("learning_rate",)),
  Entry("oj.keras.rmsprop[ema]", oj.keras.rmsprop,
        dict(learning_rate=0.01, momentum=0.9, use_ema=True, ema_momentum=0.9, ema_overwrite_frequency=3),
        ("learning_rate", "ema_momentum"), ("learning_rate",)),
  # --- Keras: exclude_from_weight_decay, gradient accumulation, loss scaling ----------------------------
  # (predicates: a name must match a path of the tree, and the suites step these on many trees;
  # tests/test_keras_options.py checks names, paths and masks)
  Entry("oj.keras.rmsprop[exclude, accumulate 2, ema]", oj.keras.rmsprop,
        dict(learning_rate=0.01, momentum=0.9, weight_decay=0.05, gradient_accumulation_steps=2, use_ema=True,
             ema_momentum=0.9, ema_overwrite_frequency=3, exclude_from_weight_decay=BIASES),
        ("learning_rate", "weight_decay", "ema_momentum"), ("learning_rate", "weight_decay")),
  Entry("oj.keras.rmsprop[loss scale, accumulate 3]", oj.keras.rmsprop,
        dict(learning_rate=0.01, momentum=0.9, centered=True, loss_scale_factor=8.0, gradient_accumulation_steps=3,
             clipnorm=1.0), ("learning_rate", "rho"), ("learning_rate",)),
  Entry("oj.tf_keras.rmsprop[exclude fn]", oj.tf_keras.rmsprop,
        dict(learning_rate=0.01, momentum=0.9, weight_decay=0.05, global_clipnorm=1.0, exclude_from_weight_decay=VECTORS),
        ("learning_rate", "weight_decay"), ("learning_rate", "weight_decay")),
  # --- ReduceOnPlateau ---------------------------------------------------------------------------
  Entry("oj.schedules.reduce_on_plateau", oj.schedules.reduce_on_plateau,
        dict(learning_rate=0.1, factor=0.5, patience=0, cooldown=1, min_lr=0.001),
        ("learning_rate", "factor", "threshold", "min_lr", "epsilon"), extra_args={"metric": 0.5},
        needs_params=False),
  Entry("oj.schedules.reduce_on_plateau[max,abs]", oj.schedules.reduce_on_plateau,
        dict(learning_rate=0.1, mode="max", threshold_mode="abs", patience=1, min_lr=0.02),
        ("factor", "min_lr"), extra_args={"metric": 0.5}, needs_params=False),
  Entry("oj.torch.reduce_lr_on_plateau", oj.torch.reduce_lr_on_plateau,
        dict(lr=0.1, factor=0.5, patience=0, cooldown=1, min_lr=0.001),
        ("lr", "factor", "threshold", "min_lr", "eps"), extra_args={"metric": 0.5}, needs_params=False),
  Entry("oj.torch.reduce_lr_on_plateau[max,abs]", oj.torch.reduce_lr_on_plateau,
        dict(lr=0.1, mode="max", threshold_mode="abs", patience=1, min_lr=0.02),
        ("factor", "min_lr"), extra_args={"metric": 0.5}, needs_params=False),
]

def is_preset(entry: Entry) -> bool:
  """A framework optimizer: ``oj.<framework>.<optimizer>[variant]``, not a clip, a regulariser or a
  plateau scheduler (which the suites that train a model chain with an optimizer, or skip)."""
  parts = entry.name.split("[")[0].split(".")
  return (
    len(parts) == 3
    and parts[1] in ("paddle", "torch", "keras", "tf_keras")
    and not parts[2].startswith(("clip_", "reduce_"))
    and not parts[2].endswith("_decay")
  )


PRESETS = [e for e in ENTRIES if is_preset(e)]

# Public callables that are not transformation factories (helpers that read or write a state).
NOT_TRANSFORMS = {
  "ema_params", "get_lr", "set_lr", "global_norm", "inject_hyperparams", "state_sharding", "apply_gradients",
  "restore_state",
  # oj.torch's lr schedulers: TorchLRScheduler schedules (float64 under x64), tested in test_torch_lr_scheduler.py
  "lambda_lr", "multiplicative_lr", "step_lr", "multi_step_lr", "constant_lr", "linear_lr", "exponential_lr",
  "polynomial_lr", "cosine_annealing_lr", "cosine_annealing_warm_restarts", "cyclic_lr", "one_cycle_lr",
  "sequential_lr", "chained_scheduler",
  # oj.keras / oj.tf_keras schedules (tests/test_keras_schedules.py checks them against both Kerases, under
  # jit and vmap, float32 under x64, and as learning_rate and weight_decay of the Keras presets)
  "cosine_decay", "cosine_decay_restarts", "exponential_decay", "inverse_time_decay", "piecewise_constant_decay",
  "polynomial_decay",
}

# Schedules (oj.schedules): name -> (factory, kwargs). The contract suite checks each under jit and
# vmap, float32 output, and as learning_rate / weight_decay of presets.
SCHEDULES: list[Entry] = [
  # --- Paddle lr schedules -----------------------------------------------------------------------
  Entry("oj.schedules.step_decay", oj.schedules.step_decay, dict(learning_rate=0.1, step_size=3, gamma=0.5)),
  Entry("oj.schedules.multi_step_decay", oj.schedules.multi_step_decay,
        dict(learning_rate=0.1, milestones=[2, 5], gamma=0.5)),
  Entry("oj.schedules.piecewise_decay", oj.schedules.piecewise_decay,
        dict(boundaries=[2, 5], values=[0.1, 0.05, 0.01])),
  Entry("oj.schedules.natural_exp_decay", oj.schedules.natural_exp_decay, dict(learning_rate=0.1, gamma=0.1)),
  Entry("oj.schedules.inverse_time_decay", oj.schedules.inverse_time_decay,
        dict(learning_rate=0.1, gamma=0.5)),
  Entry("oj.schedules.polynomial_decay", oj.schedules.polynomial_decay,
        dict(learning_rate=0.1, decay_steps=4, end_lr=0.01, power=2.0)),
  Entry("oj.schedules.polynomial_decay[cycle]", oj.schedules.polynomial_decay,
        dict(learning_rate=0.1, decay_steps=3, power=0.5, cycle=True)),
  Entry("oj.schedules.linear_warmup", oj.schedules.linear_warmup,
        dict(learning_rate=0.1, warmup_steps=3, start_lr=0.0, end_lr=0.1)),
  Entry("oj.schedules.linear_warmup[inner]", oj.schedules.linear_warmup,
        dict(learning_rate=oj.schedules.cosine_annealing_decay(0.1, 4), warmup_steps=2, start_lr=0.01,
             end_lr=0.1)),
  Entry("oj.schedules.exponential_decay", oj.schedules.exponential_decay, dict(learning_rate=0.1, gamma=0.9)),
  Entry("oj.schedules.lambda_decay", oj.schedules.lambda_decay,
        dict(learning_rate=0.1, lr_lambda=lambda e: 1.0 / (1.0 + e.astype("float32")))),
  Entry("oj.schedules.multiplicative_decay", oj.schedules.multiplicative_decay,
        dict(learning_rate=0.1, lr_lambda=lambda k: 0.9)),
  Entry("oj.schedules.multiplicative_decay[loop]", oj.schedules.multiplicative_decay,
        dict(learning_rate=0.1, lr_lambda=lambda k: 1.0 - 0.5 / (k.astype("float32") + 1.0))),
  Entry("oj.schedules.noam_decay", oj.schedules.noam_decay,
        dict(d_model=16, warmup_steps=3, learning_rate=0.5)),
  Entry("oj.schedules.cosine_annealing_decay", oj.schedules.cosine_annealing_decay,
        dict(learning_rate=0.1, T_max=3, eta_min=0.01)),
  Entry("oj.schedules.one_cycle_lr", oj.schedules.one_cycle_lr, dict(max_learning_rate=0.1, total_steps=6)),
  Entry("oj.schedules.one_cycle_lr[three,linear]", oj.schedules.one_cycle_lr,
        dict(max_learning_rate=0.1, total_steps=8, phase_pct=0.25, anneal_strategy="linear",
             three_phase=True)),
  Entry("oj.schedules.cyclic_lr", oj.schedules.cyclic_lr,
        dict(base_learning_rate=0.01, max_learning_rate=0.1, step_size_up=2, mode="triangular2")),
  Entry("oj.schedules.cyclic_lr[exp_range]", oj.schedules.cyclic_lr,
        dict(base_learning_rate=0.01, max_learning_rate=0.1, step_size_up=2, step_size_down=3,
             mode="exp_range", exp_gamma=0.9)),
  Entry("oj.schedules.cyclic_lr[scale_fn]", oj.schedules.cyclic_lr,
        dict(base_learning_rate=0.01, max_learning_rate=0.1, step_size_up=2, scale_fn=lambda c: 1.0 / c)),
  Entry("oj.schedules.linear_lr", oj.schedules.linear_lr, dict(learning_rate=0.1, total_steps=4)),
  Entry("oj.schedules.cosine_annealing_warm_restarts", oj.schedules.cosine_annealing_warm_restarts,
        dict(learning_rate=0.1, T_0=2, T_mult=2, eta_min=0.001)),
  Entry("oj.schedules.per_epoch", oj.schedules.per_epoch,
        dict(schedule=oj.schedules.step_decay(0.1, 1, 0.5), steps_per_epoch=2)),
]
# fmt: on
