"""oj.paddle's per-parameter attributes (`ParamAttr`, ``param_attrs=``) and parameter groups
(``parameters=``): the rules measured on paddlepaddle 3.3.1, bad input, masks on the regularisers and
the clips, and Paddle's full argument lists.

The trajectories against the real Paddle are the golden family ``paddle_groups`` (replayed in
tests/test_golden.py); `test_golden_family_covers_every_rule` checks what those cases cover. The checks
here run eagerly on a tiny tree (no compilation).
"""

from __future__ import annotations

import collections
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj
from tests import golden_utils

PA = oj.paddle.ParamAttr
PARAMS = {"a": jnp.array([3.0]), "b": jnp.array([4.0]), "c": jnp.array([2.0])}
GRADS = {"a": jnp.array([3.0]), "b": jnp.array([4.0]), "c": jnp.array([4.0])}


def _updates(tx, grads=GRADS, params=PARAMS, **extra):
  u, _ = tx.update(grads, tx.init(params), params, **extra)
  return {k: float(v[0]) for k, v in u.items()}


def _only(*names):
  return lambda path, leaf: path in names


def _sgd(**kwargs):
  """Paddle's ASGD with batch_num=1 is SGD: the update is -lr * (clipped gradient + regulariser)."""
  return oj.paddle.asgd(1.0, **kwargs)


# --- the rules, as measured on Paddle 3.3.1 -----------------------------------------------------------


def test_group_learning_rate_multiplies_the_optimizers():
  tx = oj.paddle.asgd(
    0.1, parameters=[{"params": _only("a"), "learning_rate": 0.5}, {"params": _only("b", "c")}]
  )
  u = _updates(tx)
  np.testing.assert_allclose([u["a"], u["b"], u["c"]], [-0.05 * 3, -0.1 * 4, -0.1 * 4], rtol=1e-6)


def test_param_attr_learning_rate_and_regularizer():
  attrs = {"a": PA(learning_rate=0.5), "b": PA(regularizer=oj.paddle.l1_decay(0.5)), "c": None}
  u = _updates(oj.paddle.asgd(0.1, weight_decay=0.1, param_attrs=attrs))
  # a: half the rate, the optimizer's L2; b: its own L1 replaces the optimizer's weight decay
  np.testing.assert_allclose(
    [u["a"], u["b"], u["c"]], [-0.05 * (3 + 0.1 * 3), -0.1 * (4 + 0.5), -0.1 * (4 + 0.1 * 2)], rtol=1e-6
  )


def test_group_replaces_the_param_attr_learning_rate_and_regularizer():
  """Paddle's _add_param_group sets every leaf's optimize_attr and regularizer from the group."""
  attrs = {
    "a": PA(learning_rate=0.3, regularizer=oj.paddle.l1_decay(0.5)),
    "b": PA(learning_rate=0.3),
    "c": None,
  }
  groups = [
    {"params": _only("a")},  # multiplier 1.0, the optimizer's weight decay (None): a's L1 is gone
    {"params": _only("b"), "learning_rate": 2.0},
    {"params": _only("c"), "weight_decay": None},  # None: the optimizer's, as Paddle falls back
  ]
  u = _updates(oj.paddle.asgd(0.1, param_attrs=attrs, parameters=groups))
  np.testing.assert_allclose([u["a"], u["b"], u["c"]], [-0.3, -0.8, -0.4], rtol=1e-6)
  u = _updates(oj.paddle.asgd(0.1, weight_decay=0.1, parameters=groups[2:]))
  np.testing.assert_allclose(u["c"], -0.1 * (4 + 0.1 * 2), rtol=1e-6)


def test_global_norm_and_clip_per_group():
  clip = oj.paddle.clip_grad_by_global_norm(1.0)
  u = _updates(_sgd(grad_clip=clip, parameters=[{"params": _only("a", "b")}, {"params": _only("c")}]))
  np.testing.assert_allclose([u["a"], u["b"], u["c"]], [-0.6, -0.8, -1.0], rtol=1e-6)  # norms 5 and 4
  groups = [
    {"params": _only("a"), "grad_clip": None},
    {"params": _only("b"), "grad_clip": oj.paddle.clip_grad_by_value(0.5)},
  ]
  u = _updates(_sgd(grad_clip=clip, parameters=groups + [{"params": _only("c")}]))
  np.testing.assert_allclose([u["a"], u["b"], u["c"]], [-3.0, -0.5, -1.0], rtol=1e-6)


@pytest.mark.parametrize(
  "clip, want_b",
  [(oj.paddle.clip_grad_by_global_norm(1.0), -4 / 32**0.5), (oj.paddle.clip_grad_by_norm(1.0), -1.0),
   (oj.paddle.clip_grad_by_value(0.5), -0.5)],
  ids=["global_norm", "norm", "value"],
)  # fmt: skip
def test_need_clip_false_is_unclipped_and_out_of_the_global_norm(clip, want_b):
  u = _updates(
    _sgd(grad_clip=clip, param_attrs=lambda path, leaf: PA(need_clip=False) if path == "a" else None)
  )
  assert u["a"] == -3.0
  np.testing.assert_allclose(u["b"], want_b, rtol=1e-6)  # the global norm is b's and c's alone, sqrt(32)


def test_trainable_false_is_frozen_without_state_and_out_of_the_norm():
  attrs = {"a": PA(trainable=False), "b": None, "c": None}
  tx = oj.paddle.rmsprop(
    0.1, momentum=0.9, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0), param_attrs=attrs
  )
  state = tx.init(PARAMS)
  shapes = [x.shape for x in jax.tree.leaves(state) if hasattr(x, "shape") and x.ndim]
  assert len(shapes) == 2 * 2  # ms and the momentum of b and c only
  u = _updates(tx)
  assert u["a"] == 0.0
  u_sgd = _updates(_sgd(grad_clip=oj.paddle.clip_grad_by_global_norm(1.0), param_attrs=attrs))
  np.testing.assert_allclose([u_sgd["a"], u_sgd["b"]], [0.0, -4 / 32**0.5], rtol=1e-6)


def test_leaf_in_no_group_is_not_updated():
  u = _updates(oj.paddle.rmsprop(0.1, parameters=[{"params": _only("a", "c")}]))
  assert u["b"] == 0.0 and u["a"] != 0.0


def test_default_attributes_and_one_group_are_the_plain_preset():
  kw = dict(momentum=0.9, weight_decay=0.01, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0))
  plain = _updates(oj.paddle.rmsprop(0.1, **kw))
  assert _updates(oj.paddle.rmsprop(0.1, **kw, param_attrs=PA())) == plain  # one ParamAttr: a prefix
  assert _updates(oj.paddle.rmsprop(0.1, **kw, parameters=[{"params": True}])) == plain


def test_attribute_pytree_function_and_labels_agree():
  attrs = {"a": PA(learning_rate=0.3), "b": PA(need_clip=False), "c": None}
  kw = dict(momentum=0.9, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0))
  by_tree = _updates(oj.paddle.rmsprop(0.1, **kw, param_attrs=attrs))
  by_fn = _updates(oj.paddle.rmsprop(0.1, **kw, param_attrs=lambda path, leaf: attrs[path]))
  assert by_tree == by_fn
  groups = [{"params": "x", "learning_rate": 0.5}, {"params": ["y", "z"]}]
  labels = {"a": "x", "b": "y", "c": "z"}
  by_label = _updates(oj.paddle.radam(0.1, parameters=groups, param_labels=labels))
  masks = [
    {"params": {"a": True, "b": False, "c": False}, "learning_rate": 0.5},
    {"params": {"a": False, "b": True, "c": True}},
  ]
  assert by_label == _updates(oj.paddle.radam(0.1, parameters=masks))


def test_attributes_inside_an_enclosing_mask():
  """Leaves masked out around the preset need no attribute, and their attribute is not an error."""
  attrs = {"a": PA(learning_rate=0.5), "b": PA(need_clip=False), "c": PA()}
  inner = _sgd(param_attrs=attrs, grad_clip=oj.paddle.clip_grad_by_global_norm(1.0))
  u = _updates(optax.masked(inner, {"a": True, "b": True, "c": False}))
  np.testing.assert_allclose([u["a"], u["b"], u["c"]], [-0.5, -4.0, 4.0], rtol=1e-6)  # c passes through


def test_one_global_learning_rate_under_inject_hyperparams():
  """Paddle's get_lr/set_lr is the optimizer's rate, which every group multiplies."""
  groups = [{"params": _only("a"), "learning_rate": 0.5}, {"params": _only("b", "c")}]
  tx = oj.inject_hyperparams(oj.paddle.asgd)(learning_rate=0.1, parameters=groups)
  state = tx.init(PARAMS)
  assert float(oj.get_lr(state)) == pytest.approx(0.1)
  u1, _ = tx.update(GRADS, state, PARAMS)
  u2, _ = tx.update(GRADS, oj.set_lr(state, 0.2), PARAMS)
  for k in PARAMS:
    np.testing.assert_allclose(u2[k], 2 * u1[k], rtol=1e-6)


def test_extra_arguments_and_master_weights_reach_the_groups():
  one = [{"params": True}]
  plain, grouped = oj.paddle.asgd(0.1, batch_num=3), oj.paddle.asgd(0.1, batch_num=3, parameters=one)
  assert _updates(grouped, index=2) == _updates(plain, index=2)
  p16 = jax.tree.map(lambda x: x.astype(jnp.bfloat16), PARAMS)
  tx = oj.paddle.asgd(0.1, multi_precision=True, parameters=[{"params": _only("a"), "learning_rate": 0.5}])
  u, state = tx.update(jax.tree.map(lambda x: x.astype(jnp.bfloat16), GRADS), tx.init(p16), p16)
  assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(u))
  assert float(u["b"][0]) == 0.0  # in no group
  # a moves to its float32 master 3 - 0.05 * 3, rounded to bfloat16
  assert float(p16["a"][0] + u["a"][0]) == float(jnp.bfloat16(3.0 - 0.05 * 3))


# --- masks on the regularisers and the clips ------------------------------------------------------------


def test_masked_regularizers_and_clips():
  mask = {"a": True, "b": False, "c": True}
  u = _updates(_sgd(weight_decay=oj.paddle.l2_decay(0.1, mask=mask)))
  np.testing.assert_allclose([u["a"], u["b"], u["c"]], [-3.3, -4.0, -4.2], rtol=1e-6)
  # any transformation of (updates, params) is a regulariser, an optax.masked one too
  assert _updates(_sgd(weight_decay=optax.masked(oj.add_l2_decay(0.1), mask))) == u
  u = _updates(
    _sgd(grad_clip=oj.paddle.clip_grad_by_global_norm(1.0, mask={"a": False, "b": True, "c": True}))
  )
  assert u["a"] == -3.0  # as need_clip=False
  u = _updates(
    _sgd(grad_clip=oj.paddle.clip_grad_by_value(0.5, mask=lambda t: jax.tree.map(lambda x: x.size > 0, t)))
  )
  assert max(abs(v) for v in u.values()) == 0.5


@pytest.mark.parametrize(
  "make, exc, match",
  [
    (lambda: oj.paddle.l1_decay(0.1, mask={"a": True, "b": True}), ValueError, "no entry for the parameter 'c'"),
    (lambda: oj.paddle.l2_decay(0.1, mask={"a": True, "b": True, "c": True, "d": False}), ValueError,
     "entry 'd' is not a parameter"),
    (lambda: oj.paddle.clip_grad_by_norm(1.0, mask={"a": 1, "b": True, "c": True}), TypeError, "at 'a'"),
    (lambda: oj.clip_by_global_norm(1.0, mask={"a": True}), ValueError, "no entry for the parameter 'b'"),
    (lambda: oj.clip_by_value(-1.0, 1.0, mask=[True, False, True]), ValueError, "parameter 'a'"),
  ],
)  # fmt: skip
def test_mask_mismatch_names_the_path(make, exc, match):
  tx = make()
  with pytest.raises(exc, match=match):
    tx.update(GRADS, tx.init(PARAMS), PARAMS)


# --- bad input ---------------------------------------------------------------------------------------------

GROUP_ERRORS = [
  ({"parameters": {"params": True}}, TypeError, "should not get dict type"),  # Paddle's message
  ({"parameters": "all"}, TypeError, "list of parameter groups"),
  ({"parameters": []}, ValueError, "empty list"),
  ({"parameters": [True]}, TypeError, r"parameters\[0\] should be a dict"),
  ({"parameters": [{"learning_rate": 0.1}]}, AssertionError, r"parameters\[0\]: params should be set"),
  ({"parameters": [{"params": True, "lr": 0.1}]}, ValueError, r"parameters\[0\] has unknown key\(s\) \['lr'\]"),
  ({"parameters": [{"params": True, "rho": 0.9}]}, ValueError, r"unknown key\(s\) \['rho'\]"),  # ASGD has none
  ({"parameters": [{"params": True, "batch_num": 3}]}, ValueError, "batch_num"),  # Paddle ignores it
  ({"parameters": [{"params": True, "learning_rate": optax.constant_schedule(0.1)}]}, TypeError,
   r"parameters\[0\]: learning_rate should be a float"),
  ({"parameters": [{"params": True, "learning_rate": -1.0}]}, ValueError, r"parameters\[0\]"),
  ({"parameters": [{"params": True, "weight_decay": 1}]}, TypeError, r"parameters\[0\]: weight_decay"),
  ({"parameters": [{"params": True, "weight_decay": "0.1"}]}, TypeError, r"parameters\[0\]: weight_decay"),
  ({"parameters": [{"params": True, "grad_clip": 1.0}]}, TypeError, r"parameters\[0\]: 'grad_clip'"),
  ({"param_labels": {"a": "x"}}, ValueError, "give parameters too"),
  ({"param_attrs": {"a": 0.5}}, TypeError, "ParamAttr or None, got float 0.5 at 'a'"),
  ({"name": 3}, TypeError, "name should be a str or None"),
]  # fmt: skip


@pytest.mark.parametrize("kwargs, exc, match", GROUP_ERRORS)
def test_bad_groups_and_attributes_at_construction(kwargs, exc, match):
  with pytest.raises(exc, match=match):
    oj.paddle.asgd(0.1, **kwargs)


def test_bad_group_options_name_the_group():
  with pytest.raises(ValueError, match=r"parameters\[1\]: Invalid value of rho"):
    oj.paddle.rmsprop(0.1, parameters=[{"params": True}, {"params": True, "rho": 1.5}])
  with pytest.raises(ValueError, match=r"parameters\[0\]: .*beta2"):
    oj.paddle.radam(parameters=[{"params": True, "beta2": 1.0}])
  with pytest.raises(TypeError, match=r"parameters\[0\]: centered"):
    oj.paddle.rmsprop(0.1, parameters=[{"params": True, "centered": "yes"}])


INIT_ERRORS = [
  ({"parameters": [{"params": _only("a", "b")}, {"params": _only("b")}]}, ValueError,
   r"'b' is in more than one group: parameters\[0\] and parameters\[1\]"),
  ({"parameters": [{"params": _only("a")}, {"params": _only("z")}]}, ValueError, r"parameters\[1\] selects no parameter"),
  ({"parameters": [{"params": {"a": True, "b": True}}]}, ValueError, "no entry for the parameter 'c'"),
  ({"parameters": [{"params": "w"}], "param_labels": {"a": "x", "b": "y", "c": "y"}}, ValueError, r"label\(s\) \['w'\]"),
  ({"param_attrs": {"a": PA(), "b": PA()}}, ValueError, "param_attrs has no entry for the parameter 'c'"),
  ({"param_attrs": {"a": PA(), "b": PA(), "c": None, "d": PA()}}, ValueError, "entry 'd' is not a parameter"),
  ({"param_attrs": lambda path, leaf: 1.0}, TypeError, "returns an oj.paddle.ParamAttr or None, got float for 'a'"),
]  # fmt: skip


@pytest.mark.parametrize("kwargs, exc, match", INIT_ERRORS)
def test_groups_and_attributes_not_matching_the_parameters_fail_at_init(kwargs, exc, match):
  tx = oj.paddle.rmsprop(0.1, **kwargs)
  with pytest.raises(exc, match=match):
    tx.init(PARAMS)


@pytest.mark.parametrize(
  "kwargs, exc, match",
  [({"name": ""}, ValueError, "name of ParamAttr can not be empty str"),  # Paddle's message
   ({"name": 1}, TypeError, "name"), ({"learning_rate": "1"}, TypeError, "learning_rate should be a float"),
   ({"learning_rate": -0.5}, ValueError, "learning_rate"), ({"learning_rate": float("nan")}, ValueError, "learning_rate"),
   ({"regularizer": 0.1}, TypeError, "regularizer"), ({"regularizer": oj.paddle.clip_grad_by_norm(1.0)}, TypeError, "regularizer"),
   ({"need_clip": 1}, TypeError, "need_clip"), ({"trainable": "no"}, TypeError, "trainable"),
   ({"do_model_average": None}, TypeError, "do_model_average")],
)  # fmt: skip
def test_bad_param_attr(kwargs, exc, match):
  with pytest.raises(exc, match=match):
    PA(**kwargs)


# --- Paddle's full argument lists ----------------------------------------------------------------------------

# inspect.signature of paddle.optimizer.RMSProp / RAdam / ASGD and paddle.ParamAttr, paddlepaddle 3.3.1
PADDLE_SIGNATURES = {
  "rmsprop": "learning_rate rho=0.95 epsilon=1e-06 momentum=0.0 centered=False parameters=None weight_decay=None "
  "grad_clip=None name=None",
  "radam": "learning_rate=0.001 beta1=0.9 beta2=0.999 epsilon=1e-08 parameters=None weight_decay=None grad_clip=None "
  "name=None",
  "asgd": "learning_rate=0.001 batch_num=1 parameters=None weight_decay=None grad_clip=None multi_precision=False "
  "name=None",
}


def _arguments(fn):
  return {n: p.default for n, p in inspect.signature(fn).parameters.items()}


@pytest.mark.parametrize("preset", sorted(PADDLE_SIGNATURES))
def test_every_paddle_argument_is_accepted_with_its_default(preset):
  ours = _arguments(getattr(oj.paddle, preset))
  for item in PADDLE_SIGNATURES[preset].split():
    name, _, default = item.partition("=")
    assert name in ours, name
    if default:
      assert repr(ours[name]) == default, (name, ours[name])


def test_param_attr_has_paddles_arguments_in_order():
  want = "name=None initializer=None learning_rate=1.0 regularizer=None trainable=True do_model_average=True need_clip=True"
  got = " ".join(f"{n}={d!r}" for n, d in _arguments(PA).items())
  assert got == want


def test_a_copied_paddle_call_works():
  attr = PA(name="w_0", initializer=object(), learning_rate=0.5, do_model_average=False)
  tx = oj.paddle.rmsprop(
    learning_rate=0.01, rho=0.9, epsilon=1e-6, momentum=0.9, centered=False, parameters=None, weight_decay=0.01,
    grad_clip=None, name="opt", param_attrs=attr,
  )  # fmt: skip
  assert all(np.isfinite(list(_updates(tx).values())))


# --- what the golden cases cover -------------------------------------------------------------------------------


def test_golden_family_covers_every_rule():
  seen = collections.defaultdict(set)
  for name in golden_utils.case_names("paddle_groups"):
    m = golden_utils.load_meta("paddle_groups", name)
    cfg, kw = m["config"], m["config"]["kwargs"]
    opt = cfg["optimizer"].rsplit(".", 1)[-1]
    assert cfg["schedule"] is not None, name
    if opt == "RMSProp":
      assert kw["momentum"] > 0, f"{name}: a golden case needs momentum"
    seen[opt, "dtype"].add(m["dtype"])
    seen["steps"].add(m["steps"])
    groups, attrs = kw.get("parameters"), kw.get("param_attrs", {})
    seen[opt, "groups"].add(groups is not None)
    seen[opt, "attrs"].add(bool(attrs))
    seen["groups+attrs"].add(bool(groups and attrs))
    for g in groups or ():
      seen["group keys"] |= set(g) - {"params"}
      seen["group clip"].add(
        None if g.get("grad_clip") is None else g["grad_clip"]["type"].rsplit(".", 1)[-1]
      )
      seen["group lr"].add(g.get("learning_rate", 1.0) != 1.0)
    if groups:
      grouped = {n for g in groups for n in g["params"]}
      seen["leaf in no group"].add(grouped != set(m["shapes"]))
    clip = cfg["clip"][0]["type"].rsplit(".", 1)[-1] if cfg["clip"] else None
    for a in attrs.values():
      seen["attr keys"] |= set(a)
      if a.get("need_clip") is False:
        seen["need_clip clip"].add(clip)
      if "regularizer" in a and not groups:
        seen["regularizer over weight_decay"].add(cfg["weight_decay"] is not None)
  for opt in ("RMSProp", "RAdam", "ASGD"):
    assert seen[opt, "dtype"] == {"float32", "float64"}, opt
    assert True in seen[opt, "groups"] and True in seen[opt, "attrs"], opt
  assert min(seen["steps"]) <= 100 and max(seen["steps"]) >= 300
  assert True in seen["groups+attrs"] and True in seen["leaf in no group"] and True in seen["group lr"]
  assert {
    "learning_rate",
    "weight_decay",
    "grad_clip",
    "rho",
    "momentum",
    "centered",
    "beta1",
    "beta2",
    "epsilon",
  } <= (seen["group keys"])
  assert {None, "ClipGradByValue"} <= seen["group clip"]
  assert {"learning_rate", "regularizer", "need_clip", "trainable"} <= seen["attr keys"]
  assert {"ClipGradByGlobalNorm", "ClipGradByNorm", "ClipGradByValue"} <= seen["need_clip clip"]
  assert True in seen["regularizer over weight_decay"]
