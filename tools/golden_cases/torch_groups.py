"""PyTorch parameter groups: RMSprop, RAdam and ASGD with per-group options, under a scheduler.

Each case gives torch a list of groups ``{"params": [leaf names], <option>: value}`` over the default
pytree {"b": (3,), "s": (), "w": (2, 3)}; options a group does not set come from the constructor's
kwargs, and a leaf in no group is not given to torch (it never moves). The scheduler scales every
group's own lr. Cases cover per-group lr, weight_decay, momentum, alpha, eps, centered, betas,
decoupled weight decay, lambd and t0, a leaf in no group, clip_grad_norm_ over all leaves in front,
float32 and float64, and 300-step runs; and the schedulers that cycle the momentum (OneCycleLR and
CyclicLR with PyTorch's default ``cycle_momentum=True``: RMSprop's ``momentum``, RAdam's
``betas[0]``), with per-group ``max_lr``/``base_lr``/momentum lists.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from golden_cases import harness as h
from golden_cases.harness import DTYPES, Case

T = h.TORCH_SCHEDULES
W, REST, B = ["w"], ["b", "s"], ["b"]


def _ax(opt: Any, variables: list) -> list:
  """ASGD's average ``state[p]["ax"]``; a parameter in no group has none: its value (it never moves)."""
  return [(opt.state[v]["ax"] if v in opt.state else v).detach().numpy().copy() for v in variables]


_rms = partial(h.torch_case, "torch.optim.RMSprop", defaults={"lr": 0.01, "alpha": 0.99, "eps": 1e-8})
_radam = partial(h.torch_case, "torch.optim.RAdam", defaults={"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8})
_asgd = partial(
  h.torch_case, "torch.optim.ASGD", defaults={"lr": 0.02, "lambd": 1e-4, "alpha": 0.75, "t0": 1e6},
  extras={"ax": _ax},
)  # fmt: skip


def _sched(name: str, **kwargs: Any) -> dict[str, Any]:
  return h.spec(h.TORCH_LR + name, **kwargs)


# Schedulers that set each group's lr themselves (per-group lists) and cycle the momentum (RMSprop's
# momentum, RAdam's betas[0]) by default.
ONE_CYCLE_GROUPS = _sched("OneCycleLR", max_lr=[0.01, 0.05], total_steps=60)
ONE_CYCLE_THREE = _sched("OneCycleLR", max_lr=0.02, total_steps=50, three_phase=True, base_momentum=0.8)
CYCLIC = _sched("CyclicLR", base_lr=0.001, max_lr=0.01, step_size_up=5, mode="triangular2")
CYCLIC_GROUPS = _sched("CyclicLR", base_lr=[0.001, 0.002], max_lr=[0.01, 0.02], step_size_up=4,
                       base_momentum=[0.7, 0.8], max_momentum=[0.9, 0.95])  # fmt: skip


def cases() -> list[Case]:
  cn = h.clip_grad_norm
  out = []
  for dt in DTYPES:
    out += [
      _rms("groups_lr_wd_momentum_step", dt, 60, schedule=T.step, momentum=0.9, weight_decay=0.01,
           param_groups=[{"params": W},
                         {"params": REST, "lr": 0.003, "weight_decay": 0.0, "momentum": 0.5}]),
      _rms("groups_centered_alpha_eps_frozen_exp", dt, 60, schedule=T.exp, momentum=0.8,
           param_groups=[{"params": W, "centered": True, "alpha": 0.9},
                         {"params": B, "eps": 1e-3, "lr": 0.02}]),
      _rms("long_groups_clipnorm_step", dt, 300, schedule=T.step_long, clips=[cn(1.0)], momentum=0.9,
           param_groups=[{"params": W, "weight_decay": 0.05},
                         {"params": REST, "lr": 0.001, "momentum": 0.0}]),
      _radam("groups_betas_decoupled_exp", dt, 60, schedule=T.exp, weight_decay=0.02,
             param_groups=[{"params": W, "betas": (0.8, 0.99)},
                           {"params": REST, "lr": 0.002, "weight_decay": 0.1,
                            "decoupled_weight_decay": True}]),
      _asgd("groups_lambd_t0_step", dt, 60, schedule=T.step,
            param_groups=[{"params": W, "lambd": 1e-3, "t0": 0}, {"params": B, "lr": 0.05, "t0": 5}]),
      # momentum cycling (cycle_momentum=True, PyTorch's default), with and without groups
      _rms("one_cycle_groups_cycled_momentum", dt, 60, schedule=ONE_CYCLE_GROUPS,
           param_groups=[{"params": W}, {"params": REST, "weight_decay": 0.01}]),
      _rms("cyclic_cycled_momentum", dt, 60, schedule=CYCLIC, momentum=0.9, centered=True),
      _rms("cyclic_groups_cycled_momentum", dt, 60, schedule=CYCLIC_GROUPS, momentum=0.9,
           param_groups=[{"params": W}, {"params": REST, "alpha": 0.9}]),
      _radam("one_cycle_three_phase_cycled_beta1", dt, 50, schedule=ONE_CYCLE_THREE, weight_decay=0.01),
      _radam("long_one_cycle_groups_cycled_beta1", dt, 300,
             schedule=_sched("OneCycleLR", max_lr=[0.01, 0.003], total_steps=300, anneal_strategy="linear"),
             param_groups=[{"params": W, "betas": (0.9, 0.99)}, {"params": REST}]),
    ]  # fmt: skip
  return out
