"""oj.state_sharding: on one device for every registry entry and the placement rule; on 8 simulated CPU
devices (a subprocess: XLA_FLAGS must be set before jax is imported) for placement under explicit and
Auto axes and for ZeRO-1."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.sharding import NamedSharding, SingleDeviceSharding
from jax.sharding import PartitionSpec as P

import optim_jax as oj
from tests import multidevice, registry

PARAMS = {"w": jnp.ones((4, 3)), "b": jnp.ones(3, jnp.bfloat16), "s": jnp.float32(2.0), "none": None}


@pytest.mark.parametrize("entry", registry.ENTRIES, ids=lambda e: e.name)
def test_structure_matches_init_for_every_entry(entry):
  tx = entry.make()
  shardings = oj.state_sharding(tx, PARAMS)
  state = tx.init(PARAMS)
  assert jax.tree.structure(shardings) == jax.tree.structure(state)
  assert all(isinstance(s, jax.sharding.Sharding) for s in jax.tree.leaves(shardings))
  jax.tree.map(jax.device_put, state, shardings)  # each sharding fits its buffer


@pytest.fixture
def mesh():
  return jax.make_mesh((1, 1), ("data", "model"))


def _put(mesh, params, specs):
  return {k: jax.device_put(v, NamedSharding(mesh, specs[k])) for k, v in params.items()}


def test_mirrors_get_the_param_spec_and_the_rest_is_replicated(mesh):
  params = _put(mesh, {"w": jnp.ones((4, 6)), "b": jnp.ones(6)}, {"w": P(None, "model"), "b": P()})
  tx = optax.chain(oj.paddle.asgd(0.1, batch_num=3), optax.inject_hyperparams(optax.adam)(1e-3))
  (sag, _), adam = oj.state_sharding(tx, params)
  assert sag.d["w"].spec == P(None, "model") and sag.y["w"].spec == P(None, None, "model")
  assert sag.count.spec == P() and adam.count.spec == P() and adam.hyperparams["learning_rate"].spec == P()
  assert adam.inner_state[0].mu["w"].spec == P(None, "model")
  assert all(s.mesh == mesh for s in jax.tree.leaves(oj.state_sharding(tx, params)))


def test_masked_nodes_master_copies_and_shape_structs(mesh):
  specs = {"w": P("model"), "b": P()}
  params = _put(mesh, {"w": jnp.ones(4, jnp.bfloat16), "b": jnp.ones(2)}, specs)
  structs = {k: jax.ShapeDtypeStruct(p.shape, p.dtype, sharding=p.sharding) for k, p in params.items()}
  tx = optax.chain(
    oj.multi_precision(oj.torch.rmsprop(momentum=0.9)),
    optax.masked(optax.adam(1e-3), {"w": False, "b": True}),
  )
  for given in (params, structs):
    (mp, masked) = oj.state_sharding(tx, given)
    assert mp.master["b"] is None and mp.master["w"].spec == P("model")
    mu = masked.inner_state[0].mu
    assert isinstance(mu["w"], optax.MaskedNode) and mu["b"].is_equivalent_to(params["b"].sharding, 1)
  state = jax.jit(tx.init, out_shardings=oj.state_sharding(tx, params))(params)
  assert state[0].master["w"].sharding.spec == P("model")


def test_zero1_shards_the_first_free_divisible_dimension(mesh):
  params = _put(
    mesh,
    {"w": jnp.ones((3, 4)), "b": jnp.ones(5), "v": jnp.ones((6, 2))},
    {"w": P(), "b": P(), "v": P("data")},
  )
  sag, _ = oj.state_sharding(oj.paddle.asgd(0.1, batch_num=2), params, zero1_axis="data")
  assert sag.d["w"].spec == P("data", None)  # a size-1 axis divides anything; 8 devices test the rest
  assert sag.y["w"].spec == P(None, "data", None)  # never the slot axis in front
  assert sag.d["v"].spec == P("data", None)  # already sharded over the data axis: unchanged
  assert sag.count.spec == P()


def test_errors_and_unsharded_params(mesh):
  with pytest.raises(ValueError, match="zero1_axis"):
    oj.state_sharding(
      oj.scale_by_rms_paddle(), _put(mesh, {"w": jnp.ones(2)}, {"w": P()}), zero1_axis="batch"
    )
  with pytest.raises(ValueError, match="NamedSharding"):
    oj.state_sharding(oj.scale_by_rms_paddle(), {"w": jnp.ones(2)}, zero1_axis="data")
  shardings = oj.state_sharding(oj.scale_by_rms_paddle(), {"w": np.ones(2)})
  assert isinstance(shardings.ms["w"], SingleDeviceSharding)
  with jax.set_mesh(mesh):  # NumPy params: replicated on the mesh in context
    assert oj.state_sharding(oj.scale_by_rms_paddle(), {"w": np.ones(2)}).ms["w"].mesh == mesh


def test_eight_devices_placement_and_zero1():
  out = multidevice.run("state_sharding_step.py")
  print(out)  # the figures: per-device state bytes, replicated vs ZeRO-1
  assert "ok state_sharding" in out
