"""Every preset in flax train steps (linen TrainState, nnx.Optimizer) and through orbax checkpoints.

One scheduled run per preset (``optax.chain(<the framework's clip>, <preset with a decaying lr>)``,
a jitted linen step, shuffled batch indices passed to SAG as ``index=``) is the reference: the nnx
run must give the same parameters, and a checkpoint written at step K and restored (with a target,
or without one through ``oj.restore_state``) must continue bit-identically.
"""

from __future__ import annotations

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest
from flax import nnx
from flax.training import train_state

import optim_jax as oj
from tests import registry

STEPS, K = 4, 2  # the run's length and the step the checkpoint is written at
ORDER = [2, 0, 1, 1]  # the batch of each step, shuffled; SAG gets it as index=
N_BATCHES = 3


PRESETS = registry.PRESETS


def _clip(entry: registry.Entry) -> optax.GradientTransformation:
  """The framework's own global-norm clip (Keras's is the `global_clipnorm` of oj.clip_by_global_norm)."""
  if entry.name.startswith("oj.paddle."):
    return oj.paddle.clip_grad_by_global_norm(0.5)
  if entry.name.startswith("oj.torch."):
    return oj.torch.clip_grad_norm(0.5)
  return oj.clip_by_global_norm(0.5)


def _tx(entry: registry.Entry) -> optax.GradientTransformation:
  lr = next(k for k in entry.schedules if k in ("learning_rate", "lr"))
  schedule = oj.schedules.exponential_decay(learning_rate=entry.kwargs[lr], gamma=0.7)
  return optax.chain(_clip(entry), entry.make(**entry.any_tree, **{lr: schedule}))  # a one-kernel model


def _extra(entry: registry.Entry, t: int) -> dict:
  return {"index": jnp.int32(ORDER[t])} if "index" in entry.extra_args else {}


# --- the model, written once for linen and once for nnx -------------------------------------------------
# One weight matrix: each preset's step is compiled twice (linen, nnx), and its cost grows with the
# number of leaves (the optimizer's maths is unrolled per leaf).


class LinenModel(nn.Module):
  @nn.compact
  def __call__(self, x):
    return jnp.tanh(nn.Dense(2, use_bias=False, name="dense")(x))


class NnxModel(nnx.Module):
  def __init__(self, rngs: nnx.Rngs):
    # Zeros: the weights are overwritten with the linen model's, and zeros compile no random kernel.
    self.dense = nnx.Linear(4, 2, use_bias=False, kernel_init=nnx.initializers.zeros_init(), rngs=rngs)

  def __call__(self, x):
    return jnp.tanh(self.dense(x))


def _loss(pred, y):
  return jnp.mean((pred - y) ** 2)


_rng = np.random.default_rng(0)
XS = _rng.normal(size=(N_BATCHES, 5, 4)).astype(np.float32)
YS = _rng.normal(size=(N_BATCHES, 5, 2)).astype(np.float32)


def _linen_params(n_in: int = 4):
  """The parameters of LinenModel, drawn from the seed with NumPy (no random kernel to compile)."""
  rng = np.random.default_rng(1)
  dense = {"kernel": rng.normal(size=(n_in, 2)) / np.sqrt(n_in)}
  params = {"params": {"dense": jax.tree.map(lambda x: jnp.asarray(x, jnp.float32), dense)}}
  assert jax.tree.structure(params) == jax.tree.structure(
    jax.eval_shape(LinenModel().init, jax.random.key(0), jnp.zeros((1, n_in)))
  )
  return params


def _to_nnx(params):
  """The linen parameters as nnx's state holds them (the same names)."""
  return params["params"]


def _nnx_model(params) -> NnxModel:
  model = NnxModel(nnx.Rngs(0))
  model.dense.kernel[...] = params["params"]["dense"]["kernel"]
  return model


@jax.jit
def _linen_step(state, x, y, extra):
  grads = jax.grad(lambda p: _loss(state.apply_fn(p, x), y))(state.params)
  if extra:
    return oj.apply_gradients(state, grads, **extra)
  return state.apply_gradients(grads=grads)


@nnx.jit
def _nnx_step(model, optimizer, x, y, extra):
  grads = nnx.grad(lambda m: _loss(m(x), y))(model)
  optimizer.update(model, grads, **extra)


def _linen_run(entry, state, start):
  states = [state]
  for t in range(start, STEPS):
    states.append(_linen_step(states[-1], XS[ORDER[t]], YS[ORDER[t]], _extra(entry, t)))
  return states


@pytest.fixture(scope="module")
def runs():
  """name -> (tx, the linen TrainStates after 0..STEPS steps)."""
  out = {}
  for entry in PRESETS:
    tx = _tx(entry)
    state = train_state.TrainState.create(apply_fn=LinenModel().apply, params=_linen_params(), tx=tx)
    # Committed to the device, with a strong int32 step (create's 0 becomes a weak one), as a checkpoint
    # restores it: the continued runs reuse this run's compiled step.
    state = jax.device_put(state.replace(step=jnp.zeros((), jnp.int32)), jax.devices()[0])
    out[entry.name] = (tx, _linen_run(entry, state, 0))
  return out


def _assert_equal(a, b):
  jax.tree.map(np.testing.assert_array_equal, a, b)
  assert jax.tree.structure(a) == jax.tree.structure(b)


def _average(opt_state):
  try:
    return oj.ema_params(opt_state)
  except ValueError:  # this preset keeps no parameter average
    return None


# --- flax -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", PRESETS, ids=lambda e: e.name)
def test_linen_and_nnx_agree(entry, runs):
  """The same model, data, seed and chain give the same parameters through TrainState and nnx.Optimizer."""
  tx, states = runs[entry.name]
  model = _nnx_model(_linen_params())
  optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
  for t in range(STEPS):
    _nnx_step(model, optimizer, XS[ORDER[t]], YS[ORDER[t]], _extra(entry, t))
  final = states[-1]
  assert int(final.step) == int(optimizer.step[...]) == STEPS
  assert not np.array_equal(
    final.params["params"]["dense"]["kernel"], states[0].params["params"]["dense"]["kernel"]
  )
  # Bit-identical: the two APIs run the same computation on the same arrays.
  _assert_equal(nnx.to_pure_dict(nnx.state(model, nnx.Param)), _to_nnx(final.params))
  average = _average(final.opt_state)
  if average is not None:  # oj.ema_params finds the average in both states
    _assert_equal(nnx.to_pure_dict(oj.ema_params(optimizer.opt_state)), _to_nnx(average))
    nnx.update(model, oj.ema_params(optimizer.opt_state))  # end training on the average (Keras's finalize)
    _assert_equal(nnx.to_pure_dict(nnx.state(model, nnx.Param)), _to_nnx(average))


def test_apply_gradients_passes_index_as_a_plain_loop(runs):
  """oj.apply_gradients gives a TrainState what a plain optax loop gives, SAG's shuffled index included."""
  entry = next(e for e in PRESETS if e.name == "oj.paddle.asgd")
  assert entry.kwargs["batch_num"] > 1 and "index" in entry.extra_args
  tx, states = runs[entry.name]

  @jax.jit
  def step(p, s, x, y, index):
    grads = jax.grad(lambda q: _loss(LinenModel().apply(q, x), y))(p)
    updates, s = tx.update(grads, s, p, index=index)
    return optax.apply_updates(p, updates), s

  def loop(slots):
    p, s = states[0].params, states[0].opt_state
    for t, slot in enumerate(slots):
      p, s = step(p, s, XS[ORDER[t]], YS[ORDER[t]], jnp.int32(slot))
    return p, s

  p, s = loop(ORDER)
  _assert_equal(states[-1].params, p)
  _assert_equal(states[-1].opt_state, s)
  cyclic = loop([t % entry.kwargs["batch_num"] for t in range(STEPS)])  # SAG's slots when no index reaches it
  assert not np.array_equal(cyclic[0]["params"]["dense"]["kernel"], p["params"]["dense"]["kernel"])


def test_apply_gradients_matches_train_state_with_overwrite_with_gradient():
  tx = optax.sgd(0.5)
  params = {"params": {"w": jnp.ones(2)}, "_overwrite_with_gradient": {"scale": jnp.zeros(())}}
  grads = {"params": {"w": jnp.full(2, 2.0)}, "_overwrite_with_gradient": {"scale": jnp.ones(())}}
  state = train_state.TrainState.create(apply_fn=None, params=params, tx=tx)
  _assert_equal(oj.apply_gradients(state, grads).params, state.apply_gradients(grads=grads).params)
  assert int(oj.apply_gradients(state, grads).step) == 1


# --- checkpoints --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def checkpoint(runs, tmp_path_factory):
  """Every preset's TrainState at step K in one orbax checkpoint, restored with and without a target."""
  saved = {f"p{i}": runs[e.name][1][K] for i, e in enumerate(PRESETS)}  # keys orbax can use as paths
  directory = tmp_path_factory.mktemp("orbax")
  with ocp.CheckpointManager(directory, options=ocp.CheckpointManagerOptions(max_to_keep=1)) as manager:
    manager.save(K, args=ocp.args.StandardSave(saved))
    manager.wait_until_finished()
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, saved)
    with_target = manager.restore(manager.latest_step(), args=ocp.args.StandardRestore(abstract))
    without_target = manager.restore(manager.latest_step())
  return {e.name: (with_target[f"p{i}"], without_target[f"p{i}"]) for i, e in enumerate(PRESETS)}


@pytest.mark.parametrize("entry", PRESETS, ids=lambda e: e.name)
def test_checkpoint_continues_bit_identically(entry, runs, checkpoint):
  """Restored at step K (orbax with and without a target, flax msgpack without one), the scheduled run
  continues bit-identically: the schedule's count, the EMA and SAG's memory come back whole."""
  tx, states = runs[entry.name]
  with_target, raw = checkpoint[entry.name]
  assert isinstance(with_target, train_state.TrainState)
  # Without a target, orbax gives dicts (a NamedTuple's fields) and lists (tuples), None for empty states.
  assert isinstance(raw, dict) and isinstance(raw["opt_state"], list)
  via_msgpack = flax.serialization.msgpack_restore(flax.serialization.to_bytes(states[K].opt_state))
  rebuilt = [
    with_target,
    states[K].replace(step=raw["step"], params=raw["params"],
                      opt_state=oj.restore_state(tx, raw["params"], raw["opt_state"])),
    states[K].replace(opt_state=oj.restore_state(tx, states[K].params, via_msgpack)),
    states[K].replace(opt_state=oj.restore_state(tx, states[K].params, states[K].opt_state)),  # a state itself
  ]  # fmt: skip
  for restored in jax.device_put(rebuilt, jax.devices()[0]):
    _assert_equal(restored.opt_state, states[K].opt_state)
    final = _linen_run(entry, restored, K)[-1]
    assert int(final.step) == STEPS
    _assert_equal(final.params, states[-1].params)
    _assert_equal(final.opt_state, states[-1].opt_state)


def test_target_less_state_fails_at_update_without_restore_state(runs, checkpoint):
  """What restore_state is for: the raw tree is not a state, and update says so only when called."""
  name = "oj.paddle.asgd"
  tx, states = runs[name]
  raw = checkpoint[name][1]
  with pytest.raises(AttributeError, match="'dict' object has no attribute"):
    jax.eval_shape(lambda: tx.update(states[K].params, raw["opt_state"], raw["params"], index=0))


def test_restore_state_rejects_another_preset(runs, checkpoint):
  raw = checkpoint["oj.paddle.rmsprop"][1]
  tx = runs["oj.torch.rmsprop"][0]
  with pytest.raises(ValueError, match=r"does not match") as info:
    oj.restore_state(tx, raw["params"], raw["opt_state"])
  message = str(info.value)
  assert "[1][2].square_avg: missing from the checkpoint" in message
  assert "in the checkpoint but not in the state" in message


def test_restore_state_rejects_other_shapes_and_dtypes(runs, checkpoint):
  name = "oj.paddle.asgd"
  tx = runs[name][0]
  raw = checkpoint[name][1]
  with_bias = {"params": {"dense": {**raw["params"]["params"]["dense"], "bias": jnp.zeros(2)}}}
  with pytest.raises(ValueError, match=r"\['params'\]\['dense'\]\['bias'\]: missing from the checkpoint"):
    oj.restore_state(tx, with_bias, raw["opt_state"])
  wider = _linen_params(n_in=5)  # dense's kernel is (5, 2), not (4, 2)
  with pytest.raises(
    ValueError,
    match=r"\['params'\]\['dense'\]\['kernel'\]: expected float32\[5, 2\], "
    r"the checkpoint holds float32\[4, 2\]",
  ):
    oj.restore_state(tx, wider, raw["opt_state"])
  halved = jax.tree.map(
    lambda x: np.asarray(x).astype(jnp.bfloat16 if x.dtype == jnp.float32 else x.dtype), raw["opt_state"]
  )
  with pytest.raises(ValueError, match=r"expected float32\[4, 2\], the checkpoint holds bfloat16\[4, 2\]"):
    oj.restore_state(tx, raw["params"], halved)
