"""Paddle's learning-rate schedules (``paddle.optimizer.lr``) as optax schedules of the update count.

Every function takes the arguments of the Paddle class of the same name (snake_case), with the same
defaults and checks, and returns an ``optax.Schedule``: a pure jnp function of the update count
(0 for the first update, Paddle's ``last_epoch`` in the usual ``opt.step(); sched.step()`` loop)
that returns float32, under jit and vmap. ``reduce_on_plateau`` is a transformation instead (its
rate depends on a metric), and ``per_epoch`` steps any schedule once per epoch.

Paddle's ``last_epoch`` and ``verbose`` arguments are not taken: a resumed run restores the update
count from the optimizer state, and ``per_epoch`` or ``lambda c: s(c + k)`` shift a schedule.

Arguments are checked once, at construction, with Paddle's exception type where Paddle raises one and
ValueError/TypeError otherwise, in a message that names the argument, the value and what is allowed.
Beyond Paddle's checks: every number must be finite (NaN and +-inf are rejected; a rate, also beyond
float32's range, where it would become inf), and every argument that is a learning rate (``eta_min``,
``end_lr``, ``values`` ...) must be >= 0, so valid arguments give finite, non-negative rates (but for
``inverse_time_decay`` with a negative ``gamma``, which Paddle accepts, and what a user's function returns).

Large counts and arguments. The update count is int32 and advances with ``optax.safe_increment``, which
saturates at :math:`2^{31} - 1`: after that many updates the count stays there and the schedule holds its
value at :math:`2^{31} - 1` from then on (a count given as int64, uint or float beyond int32 saturates the
same way; it never wraps to a negative count). Boundaries, cycles and phases are computed without int32
overflow, so every count up to :math:`2^{31} - 1` gets its exact rate; integer arguments beyond int32
(``step_size=2**31``, ``T_max=2**40``, ``total_steps=2**31`` ...) are accepted and mean what they say: a
step, a cycle end or a phase that no int32 count reaches never happens.
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
