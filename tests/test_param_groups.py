"""Parameter groups: `oj.param_groups` and the ``param_groups=`` argument of the `oj.torch` presets.

The trajectories against the real PyTorch are golden cases (tests/golden/torch_groups, replayed in
tests/test_golden.py); here: a grouped preset is the presets of its groups side by side, leaves in no
group stay, per-group learning rates are read and set without recompiling, averages are merged, and
bad groups are clear errors naming the group or the leaf.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj

PARAMS = {"dense": {"kernel": jnp.arange(6.0).reshape(2, 3) / 6, "bias": jnp.ones(3)}, "scale": jnp.ones(3)}
GRADS = jax.tree.map(lambda p: jnp.cos(3 * p) + 0.5, PARAMS)


def is_bias(path, leaf):
  return path.endswith("bias")


def is_kernel(path, leaf):
  return path == "dense/kernel"


def _run(tx, steps=3, params=PARAMS, grads=GRADS):
  state = tx.init(params)
  step = jax.jit(tx.update)
  out = []
  for i in range(steps):
    u, state = step(jax.tree.map(lambda g, i=i: g * (1 + i), grads), state, params)
    params = optax.apply_updates(params, u)
    out.append(params)
  return out, state


@pytest.mark.parametrize(
  "preset, default, override",
  [
    (
      oj.torch.rmsprop,
      dict(lr=0.01, momentum=0.9, weight_decay=0.01),
      dict(lr=0.1, centered=True, alpha=0.9),
    ),
    (oj.torch.radam, dict(lr=0.01, weight_decay=0.01), dict(betas=(0.5, 0.9), decoupled_weight_decay=True)),
    (oj.torch.asgd, dict(lr=0.05, t0=1.0), dict(lambd=0.01, weight_decay=0.1)),
  ],
)
def test_groups_are_the_presets_of_each_group_and_leaves_in_none_stay(preset, default, override):
  grouped = preset(**default, param_groups=[{"params": is_kernel}, {"params": is_bias, **override}])
  reference = optax.partition(
    {"k": preset(**default), "b": preset(**{**default, **override}), "none": optax.set_to_zero()},
    {"dense": {"kernel": "k", "bias": "b"}, "scale": "none"},
  )
  ours, state = _run(grouped)
  ref, _ = _run(reference)
  for a, b in zip(ours, ref, strict=True):
    jax.tree.map(lambda x, y: np.testing.assert_array_equal(x, y), a, b)
  np.testing.assert_array_equal(ours[-1]["scale"], PARAMS["scale"])  # in no group: never updated
  assert isinstance(state, oj.ParamGroupsState) and len(state.groups) == 2


def test_group_learning_rates_are_read_and_set_per_group_without_recompiling():
  tx = oj.torch.rmsprop(lr=0.01, param_groups=[{"params": is_kernel}, {"params": is_bias, "lr": 0.001}])
  state = tx.init(PARAMS)
  assert [float(x) for x in oj.get_lr(state)] == pytest.approx([0.01, 0.001])
  assert float(oj.get_lr(state, group=-1)) == pytest.approx(0.001)
  step = jax.jit(tx.update)
  u1, _ = step(GRADS, state, PARAMS)
  state2 = oj.set_lr(state, 0.002, group=1)  # torch: optimizer.param_groups[1]["lr"] = 0.002
  u2, _ = step(GRADS, state2, PARAMS)
  assert step._cache_size() == 1
  np.testing.assert_array_equal(u1["dense"]["kernel"], u2["dense"]["kernel"])
  np.testing.assert_allclose(u2["dense"]["bias"], 2 * u1["dense"]["bias"], rtol=1e-6)
  both = oj.set_lr(state, 0.5)  # every group, as `for g in optimizer.param_groups: g["lr"] = 0.5`
  assert [float(x) for x in oj.get_lr(both)] == [0.5, 0.5]
  with pytest.raises(ValueError, match="group=2: the optimizer has 2 parameter groups"):
    oj.get_lr(state, group=2)
  with pytest.raises(ValueError, match="no parameter groups"):
    oj.get_lr(oj.inject_hyperparams(oj.torch.rmsprop)(lr=0.1).init(PARAMS), group=0)


def test_outer_inject_hyperparams_drives_the_groups_without_their_own_lr():
  tx = oj.inject_hyperparams(oj.torch.rmsprop)(
    lr=0.01, param_groups=[{"params": is_kernel}, {"params": is_bias, "lr": 0.001}]
  )
  state = oj.set_lr(tx.init(PARAMS), 0.02)
  u, _ = jax.jit(tx.update)(GRADS, state, PARAMS)
  ref = oj.torch.rmsprop(lr=0.02)
  r, _ = jax.jit(ref.update)(GRADS["dense"]["kernel"], ref.init(PARAMS["dense"]["kernel"]))
  np.testing.assert_allclose(u["dense"]["kernel"], r, rtol=1e-6)


def test_averages_of_the_groups_are_merged():
  tx = oj.torch.asgd(lr=0.05, t0=0, param_groups=[{"params": is_kernel}, {"params": is_bias, "lr": 0.01}])
  params, state = _run(tx)
  merged = oj.ema_params(state, params[-1])
  ref_k = oj.torch.asgd(lr=0.05, t0=0)
  kernel = {"dense": {"kernel": PARAMS["dense"]["kernel"]}}
  _, s = _run(ref_k, params=kernel, grads={"dense": {"kernel": GRADS["dense"]["kernel"]}})
  np.testing.assert_array_equal(merged["dense"]["kernel"], oj.ema_params(s)["dense"]["kernel"])
  np.testing.assert_array_equal(merged["scale"], PARAMS["scale"])  # in no group: the parameters
  with pytest.raises(ValueError, match="'scale' is held by none"):
    oj.ema_params(state)


def test_ema_params_of_a_partition_of_two_presets():
  """optax.partition of two presets with averages: one merged tree (it used to say "holds 2")."""
  tx = optax.partition(
    {"a": oj.keras.rmsprop(0.01, use_ema=True), "b": oj.keras.rmsprop(0.1, use_ema=True)},
    {"dense": {"kernel": "a", "bias": "b"}, "scale": "b"},
  )
  params, state = _run(tx)
  merged = oj.ema_params(state)
  assert jax.tree.structure(merged) == jax.tree.structure(PARAMS)


def test_clip_grad_norm_in_front_is_global_over_every_leaf():
  clip = oj.torch.clip_grad_norm(0.5)
  grouped = optax.chain(clip, oj.torch.rmsprop(lr=0.1, param_groups=[{"params": is_kernel}]))
  plain = optax.chain(clip, oj.torch.rmsprop(lr=0.1))
  u1, _ = grouped.update(GRADS, grouped.init(PARAMS), PARAMS)
  u2, _ = plain.update(GRADS, plain.init(PARAMS), PARAMS)
  np.testing.assert_array_equal(u1["dense"]["kernel"], u2["dense"]["kernel"])
  assert not np.any(u1["dense"]["bias"]) and not np.any(u1["scale"])


def test_selectors_masks_and_labels():
  mask = {"dense": {"kernel": True, "bias": False}, "scale": False}
  labels = {"dense": {"kernel": "decay", "bias": "no_decay"}, "scale": "no_decay"}
  by_mask = oj.torch.rmsprop(
    lr=0.1, param_groups=[{"params": mask}, {"params": {"dense": False, "scale": True}}]
  )
  by_label = oj.torch.rmsprop(
    lr=0.1, param_groups=[{"params": "decay"}, {"params": ["no_decay"], "lr": 0.2}], param_labels=labels
  )
  u, _ = by_mask.update(GRADS, by_mask.init(PARAMS), PARAMS)  # a prefix mask: "dense" for both its leaves
  assert not np.any(u["dense"]["bias"]) and np.all(u["scale"] != 0)
  u, _ = by_label.update(GRADS, by_label.init(PARAMS), PARAMS)
  assert np.all(u["dense"]["bias"] != 0)


@pytest.mark.parametrize(
  "groups, kwargs, error, match",
  [
    ([{"params": is_kernel}, {"params": lambda p, x: p.startswith("dense")}], {}, ValueError,
     "'dense/kernel' is in more than one group: param_groups\\[0\\] and param_groups\\[1\\]"),
    ([{"params": lambda p, x: p == "nope"}], {}, ValueError, "param_groups\\[0\\] selects no parameter"),
    ([{"params": {"dense": {"kernel": True}}}], {}, ValueError,
     "param_groups\\[0\\]: the mask has no entry for the parameter 'dense/bias'"),
    ([{"params": {"dense": True, "scale": False, "extra": True}}], {}, ValueError,
     "the mask entry 'extra' is not a parameter"),
    ([{"params": {"dense": 1, "scale": False}}], {}, TypeError, "a mask holds Python bools"),
    ([{"params": "decay"}], {}, ValueError, "no param_labels were given"),
    ([{"params": "decay"}], {"param_labels": {"dense": "x", "scale": "y"}}, ValueError,
     "no parameter has the label\\(s\\) \\['decay'\\]"),
    ([{"params": lambda p, x: 1}], {}, TypeError, "returns a Python bool"),
  ],
)  # fmt: skip
def test_bad_selectors_are_errors_at_init_naming_the_group_and_path(groups, kwargs, error, match):
  tx = oj.torch.rmsprop(lr=0.1, param_groups=groups, **kwargs)
  with pytest.raises(error, match=match):
    tx.init(PARAMS)


@pytest.mark.parametrize(
  "kwargs, error, match",
  [
    (dict(param_groups=[{"params": is_bias, "betas": (0.9, 0.99)}]), ValueError,
     "param_groups\\[0\\] has unknown option\\(s\\) \\['betas'\\]; rmsprop takes"),
    (dict(param_groups=[{"lr": 0.1}]), ValueError, "param_groups\\[0\\] has no 'params'"),
    (dict(param_groups=[]), ValueError, "optimizer got an empty parameter list"),
    (dict(param_groups={"params": is_bias}), TypeError, "param_groups should be a list of dicts"),
    (dict(param_groups=[is_bias]), TypeError, "param_groups\\[0\\] should be a dict"),
    (dict(param_groups=[{"params": is_bias, "momentum": -1}]), ValueError,
     "param_groups\\[0\\]: .*Invalid momentum value: -1"),
    (dict(param_groups=[{"params": is_bias, "fused": True}]), ValueError, "unknown option"),
    (dict(param_labels={"dense": "a"}), ValueError, "give param_groups too"),
    (dict(fused=True), TypeError, "torch.optim.RMSprop 2.13 has no fused implementation"),
    (dict(foreach="yes"), TypeError, "foreach should be True or False or None"),
    (dict(capturable=None), TypeError, "capturable should be True or False"),
  ],
)  # fmt: skip
def test_bad_groups_and_switches_are_errors_at_construction(kwargs, error, match):
  with pytest.raises(error, match=match):
    oj.torch.rmsprop(lr=0.1, **kwargs)


def test_implementation_switches_are_accepted_without_effect():
  plain = oj.torch.radam(lr=0.01)
  switched = oj.torch.radam(lr=0.01, foreach=True, capturable=True, differentiable=True, fused=False)
  u1, _ = jax.jit(plain.update)(GRADS, plain.init(PARAMS), PARAMS)
  u2, _ = jax.jit(switched.update)(GRADS, switched.init(PARAMS), PARAMS)
  jax.tree.map(np.testing.assert_array_equal, u1, u2)


def test_param_groups_primitive_checks_its_arguments():
  with pytest.raises(ValueError, match="2 transforms for 1 selectors"):
    oj.param_groups([optax.sgd(1.0), optax.sgd(1.0)], [is_bias])
  with pytest.raises(ValueError, match="at least one group"):
    oj.param_groups([], [])
