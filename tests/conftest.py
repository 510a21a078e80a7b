"""Test configuration: hypothesis profile, and a guard that float64 mode never leaks between tests."""

from __future__ import annotations

import jax
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _no_x64_leak():
  before = jax.config.jax_enable_x64
  yield
  assert jax.config.jax_enable_x64 == before, "a test left jax_enable_x64 changed"
