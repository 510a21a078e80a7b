"""``python -m optim_jax.demo``: see `optim_jax.demo`."""

from optim_jax.demo import main

if __name__ == "__main__":
  main()
