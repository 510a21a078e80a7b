"""optim_jax: framework-faithful optimizers (PaddlePaddle, Keras, PyTorch) as optax transformations."""

from optim_jax import interop as interop
from optim_jax import keras as keras
from optim_jax import paddle as paddle
from optim_jax import schedules as schedules
from optim_jax import tf_keras as tf_keras
from optim_jax import torch as torch
from optim_jax._averaging import AveragedSgdState as AveragedSgdState
from optim_jax._averaging import averaged_sgd as averaged_sgd
from optim_jax._checkpoint import restore_state as restore_state
from optim_jax._clipping import clip_by_global_norm as clip_by_global_norm
from optim_jax._clipping import clip_by_norm as clip_by_norm
from optim_jax._clipping import clip_by_value as clip_by_value
from optim_jax._ema import ParamEmaState as ParamEmaState
from optim_jax._ema import ema_params as ema_params
from optim_jax._ema import param_ema as param_ema
from optim_jax._flax import apply_gradients as apply_gradients
from optim_jax._groups import ParamGroupsState as ParamGroupsState
from optim_jax._groups import param_groups as param_groups
from optim_jax._hyperparams import get_lr as get_lr
from optim_jax._hyperparams import inject_hyperparams as inject_hyperparams
from optim_jax._hyperparams import set_lr as set_lr
from optim_jax._learning_rate import ScaleByLearningRateState as ScaleByLearningRateState
from optim_jax._learning_rate import scale_by_learning_rate as scale_by_learning_rate
from optim_jax._momentum import MomentumState as MomentumState
from optim_jax._momentum import trace as trace
from optim_jax._precision import MultiPrecisionState as MultiPrecisionState
from optim_jax._precision import multi_precision as multi_precision
from optim_jax._radam import ScaleByRadamState as ScaleByRadamState
from optim_jax._radam import scale_by_radam as scale_by_radam
from optim_jax._rms import ScaleByRmsPaddleState as ScaleByRmsPaddleState
from optim_jax._rms import ScaleByRmsTorchState as ScaleByRmsTorchState
from optim_jax._rms import scale_by_rms_paddle as scale_by_rms_paddle
from optim_jax._rms import scale_by_rms_torch as scale_by_rms_torch
from optim_jax._sag import SagAverageState as SagAverageState
from optim_jax._sag import sag_average as sag_average
from optim_jax._sharding import state_sharding as state_sharding
from optim_jax._weight_decay import add_l1_decay as add_l1_decay
from optim_jax._weight_decay import add_l2_decay as add_l2_decay
from optim_jax._weight_decay import decoupled_weight_decay as decoupled_weight_decay

__version__ = "0.1.0"

__all__ = [
  "AveragedSgdState",
  "MomentumState",
  "MultiPrecisionState",
  "ParamEmaState",
  "ParamGroupsState",
  "SagAverageState",
  "ScaleByLearningRateState",
  "ScaleByRadamState",
  "ScaleByRmsPaddleState",
  "ScaleByRmsTorchState",
  "add_l1_decay",
  "add_l2_decay",
  "apply_gradients",
  "averaged_sgd",
  "clip_by_global_norm",
  "clip_by_norm",
  "clip_by_value",
  "decoupled_weight_decay",
  "ema_params",
  "get_lr",
  "inject_hyperparams",
  "interop",
  "keras",
  "multi_precision",
  "paddle",
  "param_ema",
  "param_groups",
  "restore_state",
  "sag_average",
  "scale_by_learning_rate",
  "scale_by_radam",
  "scale_by_rms_paddle",
  "scale_by_rms_torch",
  "schedules",
  "set_lr",
  "state_sharding",
  "tf_keras",
  "torch",
  "trace",
]
