"""Coupled L2 / L1 and decoupled weight decay."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import optim_jax as oj

P = {"w": jnp.array([1.0, -2.0, 0.0]), "b": jnp.array(3.0)}
G = {"w": jnp.array([0.1, 0.2, 0.3]), "b": jnp.array(-0.5)}


def _step(tx, n=1):
  state = tx.init(P)
  out = []
  for _ in range(n):
    u, state = tx.update(G, state, P)
    out.append(u)
  return out


def test_l2_is_coupled_without_half():
  u = _step(oj.add_l2_decay(0.5))[0]
  np.testing.assert_allclose(u["w"], G["w"] + 0.5 * P["w"], rtol=1e-7)
  chex_equal = _step(optax.add_decayed_weights(0.5))[0]
  np.testing.assert_allclose(u["w"], chex_equal["w"], rtol=1e-7)


def test_l1_uses_sign():
  u = _step(oj.add_l1_decay(0.5))[0]
  np.testing.assert_allclose(u["w"], G["w"] + 0.5 * np.sign(P["w"]), rtol=1e-7)
  np.testing.assert_allclose(u["b"], G["b"] + 0.5, rtol=1e-7)


def test_scheduled_coefficient_follows_count():
  us = _step(oj.add_l2_decay(lambda c: 0.1 * (c + 1)), n=3)
  for k, u in enumerate(us):
    np.testing.assert_allclose(u["w"], G["w"] + 0.1 * (k + 1) * P["w"], rtol=1e-6)


def test_decoupled_uses_lr_times_wd_and_schedules():
  lr = optax.exponential_decay(0.5, 1, 0.5)
  us = _step(oj.decoupled_weight_decay(0.1, lr), n=3)
  for k, u in enumerate(us):
    np.testing.assert_allclose(u["w"], G["w"] - 0.5 * 0.5**k * 0.1 * P["w"], rtol=1e-6)


def test_decoupled_decay_stays_out_of_momentum():
  """Keras order: momentum buffer holds only gradient steps; the decay term is added after it."""
  from optim_jax._momentum import trace

  tx = optax.chain(trace(0.9), oj.decoupled_weight_decay(0.1, 1.0))
  state = tx.init(P)
  u1, state = tx.update(G, state, P)
  u2, state = tx.update(G, state, P)
  np.testing.assert_allclose(u2["w"], 1.9 * G["w"] - 0.1 * P["w"], rtol=1e-6)


def test_mask():
  u = _step(oj.add_l2_decay(0.5, mask={"w": False, "b": True}))[0]
  np.testing.assert_array_equal(u["w"], G["w"])
  np.testing.assert_allclose(u["b"], G["b"] + 1.5, rtol=1e-7)


def test_needs_params():
  tx = oj.add_l2_decay(0.1)
  with pytest.raises(ValueError):
    tx.update(G, tx.init(P), None)


def test_decoupled_rejects_negative():
  with pytest.raises(ValueError, match="weight_decay"):
    oj.decoupled_weight_decay(-0.1, 0.01)
