"""Benchmarks of optim_jax: ``python -m benchmarks`` (see ``benchmarks/__main__.py``)."""
