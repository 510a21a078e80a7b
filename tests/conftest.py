"""Test configuration: hypothesis profile, a guard that float64 mode never leaks between tests, and a
JAX compilation cache for the session.

Many checks compile the same program through different closures (a fresh ``entry.make()``, the same
transformation inside ``optax.chain``, the same run under strict dtype promotion): the persistent
cache, in a temporary directory made per session (shared with pytest-xdist's workers, removed at the
end), compiles each distinct program once. It starts empty, so a run never depends on an earlier
one, and nothing is written into the repository.
"""

from __future__ import annotations

import shutil
import tempfile

import jax
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")

_CACHE_KEY = "optim_jax_jax_cache_dir"  # in xdist's workerinput
_CACHE_DIR = pytest.StashKey[str]()  # the controller's, removed at the end


def pytest_configure(config):
  workerinput = getattr(config, "workerinput", None)  # set in pytest-xdist's workers
  if workerinput is not None:
    cache_dir = workerinput[_CACHE_KEY]
  else:
    cache_dir = tempfile.mkdtemp(prefix="optim_jax-jax-cache-")
    config.stash[_CACHE_DIR] = cache_dir
  # before the first compilation: JAX decides once per process whether the cache is used
  jax.config.update("jax_compilation_cache_dir", cache_dir)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
  jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
  """pytest-xdist: every worker uses the controller's cache directory."""
  node.workerinput[_CACHE_KEY] = node.config.stash[_CACHE_DIR]


def pytest_unconfigure(config):
  if _CACHE_DIR in config.stash:
    shutil.rmtree(config.stash[_CACHE_DIR], ignore_errors=True)


@pytest.fixture(autouse=True)
def _no_x64_leak():
  before = jax.config.jax_enable_x64
  yield
  assert jax.config.jax_enable_x64 == before, "a test left jax_enable_x64 changed"
