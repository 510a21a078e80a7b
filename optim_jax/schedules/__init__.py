"""Paddle's learning-rate schedules (``paddle.optimizer.lr``) as optax schedules of the update count.

Every function takes the arguments of the Paddle class of the same name (snake_case), with the same
defaults and checks, and returns an ``optax.Schedule``: a pure jnp function of the update count
(0 for the first update, Paddle's ``last_epoch`` in the usual ``opt.step(); sched.step()`` loop)
that returns float32, under jit and vmap. ``reduce_on_plateau`` is a transformation instead (its
rate depends on a metric), and ``per_epoch`` steps any schedule once per epoch.

Paddle's ``last_epoch`` and ``verbose`` arguments are not taken: a resumed run restores the update
count from the optimizer state, and ``per_epoch`` or ``lambda c: s(c + k)`` shift a schedule.
"""

from optim_jax.schedules._cyclic import cosine_annealing_decay as cosine_annealing_decay
from optim_jax.schedules._cyclic import cosine_annealing_warm_restarts as cosine_annealing_warm_restarts
from optim_jax.schedules._cyclic import cyclic_lr as cyclic_lr
from optim_jax.schedules._cyclic import one_cycle_lr as one_cycle_lr
from optim_jax.schedules._decay import exponential_decay as exponential_decay
from optim_jax.schedules._decay import inverse_time_decay as inverse_time_decay
from optim_jax.schedules._decay import multi_step_decay as multi_step_decay
from optim_jax.schedules._decay import natural_exp_decay as natural_exp_decay
from optim_jax.schedules._decay import noam_decay as noam_decay
from optim_jax.schedules._decay import piecewise_decay as piecewise_decay
from optim_jax.schedules._decay import polynomial_decay as polynomial_decay
from optim_jax.schedules._decay import step_decay as step_decay
from optim_jax.schedules._lambda import lambda_decay as lambda_decay
from optim_jax.schedules._lambda import multiplicative_decay as multiplicative_decay
from optim_jax.schedules._linear import linear_lr as linear_lr
from optim_jax.schedules._linear import linear_warmup as linear_warmup
from optim_jax.schedules._linear import per_epoch as per_epoch
from optim_jax.schedules._plateau import ReduceOnPlateauState as ReduceOnPlateauState
from optim_jax.schedules._plateau import reduce_on_plateau as reduce_on_plateau

__all__ = [
  "ReduceOnPlateauState",
  "cosine_annealing_decay",
  "cosine_annealing_warm_restarts",
  "cyclic_lr",
  "exponential_decay",
  "inverse_time_decay",
  "lambda_decay",
  "linear_lr",
  "linear_warmup",
  "multi_step_decay",
  "multiplicative_decay",
  "natural_exp_decay",
  "noam_decay",
  "one_cycle_lr",
  "per_epoch",
  "piecewise_decay",
  "polynomial_decay",
  "reduce_on_plateau",
  "step_decay",
]
