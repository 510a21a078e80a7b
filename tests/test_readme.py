"""Every Python snippet of the README runs (with small `params` and `grads` defined first)."""

from __future__ import annotations

import pathlib
import re

import jax.numpy as jnp
import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_snippets_and_commands():
  text = README.read_text()
  first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1).strip().splitlines()
  assert first_block[0].endswith("python -m optim_jax.demo")
  assert first_block[1].endswith("python -m pytest")
  assert text.index("```bash") < text.index("```python")
  assert len(BLOCKS) >= 4


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_snippet_runs(code):
  params = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
  grads = {"w": jnp.full((3, 2), 0.1), "b": jnp.full(2, -0.2)}
  exec(compile(code, str(README), "exec"), {"params": params, "grads": grads})
