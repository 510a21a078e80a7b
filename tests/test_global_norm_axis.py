"""Global-norm clips with ``axis_name``: argument checks on one device; on 8 simulated CPU devices (a
subprocess: XLA_FLAGS must be set before jax is imported) the clips of every framework inside
`jax.shard_map` and `jax.pmap` with model-parallel leaves, and ZeRO-1 of ``oj.torch.asgd`` under
explicit mesh axes (tests/multidevice/global_norm_step.py)."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

import optim_jax as oj
from tests import multidevice

CLIPS = {
  "oj.clip_by_global_norm": lambda **kw: oj.clip_by_global_norm(1.0, **kw),
  "oj.paddle.clip_grad_by_global_norm": lambda **kw: oj.paddle.clip_grad_by_global_norm(1.0, **kw),
  "oj.torch.clip_grad_norm": lambda **kw: oj.torch.clip_grad_norm(1.0, **kw),
  "oj.keras.rmsprop": lambda **kw: oj.keras.rmsprop(global_clipnorm=1.0, **kw),
  "oj.tf_keras.rmsprop": lambda **kw: oj.tf_keras.rmsprop(global_clipnorm=1.0, **kw),
}


@pytest.mark.parametrize("make", CLIPS.values(), ids=CLIPS)
def test_axis_name_is_checked(make):
  for bad in (1, ["model"], ("model", 2)):
    with pytest.raises(TypeError, match="axis_name"):
      make(axis_name=bad)
  for bad in ("", ()):
    with pytest.raises(ValueError, match="axis_name"):
      make(axis_name=bad)
  make(axis_name="model"), make(axis_name=("data", "model"))


def test_axis_name_none_is_the_default():
  g = {"a": jnp.array([3.0]), "b": jnp.array([4.0])}
  for make in (CLIPS["oj.clip_by_global_norm"], CLIPS["oj.torch.clip_grad_norm"]):
    want, got = make(), make(axis_name=None)
    u0, u1 = want.update(g, want.init(g))[0], got.update(g, got.init(g))[0]
    np.testing.assert_array_equal(np.asarray(u0["a"]), np.asarray(u1["a"]))


def test_sharded_clips_and_asgd_zero1_on_8_devices():
  out = multidevice.run("global_norm_step.py")
  print(out)
  assert "ok global_norm_step" in out
