"""optim_jax: framework-faithful optimizers (PaddlePaddle, Keras, PyTorch) as optax transformations."""

from optim_jax import keras as keras
from optim_jax import paddle as paddle
from optim_jax import tf_keras as tf_keras
from optim_jax import torch as torch
from optim_jax._clipping import clip_by_global_norm as clip_by_global_norm
from optim_jax._clipping import clip_by_norm as clip_by_norm
from optim_jax._clipping import clip_by_value as clip_by_value
from optim_jax._rms import ScaleByRmsPaddleState as ScaleByRmsPaddleState
from optim_jax._rms import ScaleByRmsTorchState as ScaleByRmsTorchState
from optim_jax._rms import scale_by_rms_paddle as scale_by_rms_paddle
from optim_jax._rms import scale_by_rms_torch as scale_by_rms_torch
from optim_jax._weight_decay import add_l1_decay as add_l1_decay
from optim_jax._weight_decay import add_l2_decay as add_l2_decay
from optim_jax._weight_decay import decoupled_weight_decay as decoupled_weight_decay

__version__ = "0.1.0"

__all__ = [
  "ScaleByRmsPaddleState",
  "ScaleByRmsTorchState",
  "add_l1_decay",
  "add_l2_decay",
  "clip_by_global_norm",
  "clip_by_norm",
  "clip_by_value",
  "decoupled_weight_decay",
  "keras",
  "paddle",
  "scale_by_rms_paddle",
  "scale_by_rms_torch",
  "tf_keras",
  "torch",
]
