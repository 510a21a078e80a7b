"""Framework optimizer state in and out, and optim_jax transformations from live framework optimizers.

Nothing here imports a framework at module level: the state functions take plain dicts of numpy
arrays and Python numbers, and ``from_torch``/``from_paddle``/``from_keras`` import their framework
inside the call.
"""

from optim_jax.interop._keras import export_keras_state as export_keras_state
from optim_jax.interop._keras import import_keras_state as import_keras_state
from optim_jax.interop._keras_live import FromKeras as FromKeras
from optim_jax.interop._keras_live import from_keras as from_keras
from optim_jax.interop._keras_live import from_keras_config as from_keras_config
from optim_jax.interop._paddle import export_paddle_state as export_paddle_state
from optim_jax.interop._paddle import import_paddle_state as import_paddle_state
from optim_jax.interop._paddle import paddle_state_to_numpy as paddle_state_to_numpy
from optim_jax.interop._paddle import to_paddle as to_paddle
from optim_jax.interop._paddle_live import FromPaddle as FromPaddle
from optim_jax.interop._paddle_live import describe_paddle_optimizer as describe_paddle_optimizer
from optim_jax.interop._paddle_live import from_paddle as from_paddle
from optim_jax.interop._paddle_live import from_paddle_config as from_paddle_config
from optim_jax.interop._paddle_live import paddle_schedule as paddle_schedule
from optim_jax.interop._slots import Slot as Slot
from optim_jax.interop._slots import map_params as map_params
from optim_jax.interop._slots import param_paths as param_paths
from optim_jax.interop._slots import replace_slots as replace_slots
from optim_jax.interop._slots import state_slots as state_slots
from optim_jax.interop._torch import import_torch_state as import_torch_state
from optim_jax.interop._torch import to_numpy as to_numpy
from optim_jax.interop._torch import to_torch as to_torch
from optim_jax.interop._torch_config import TorchConfig as TorchConfig
from optim_jax.interop._torch_config import torch_config as torch_config
from optim_jax.interop._torch_export import export_torch_state as export_torch_state
from optim_jax.interop._torch_live import FromTorch as FromTorch
from optim_jax.interop._torch_live import describe_torch as describe_torch
from optim_jax.interop._torch_live import from_torch as from_torch
from optim_jax.interop._torch_live import from_torch_config as from_torch_config

__all__ = [
  "FromKeras",
  "FromPaddle",
  "FromTorch",
  "Slot",
  "TorchConfig",
  "describe_paddle_optimizer",
  "describe_torch",
  "export_keras_state",
  "export_paddle_state",
  "export_torch_state",
  "from_keras",
  "from_keras_config",
  "from_paddle",
  "from_paddle_config",
  "from_torch",
  "from_torch_config",
  "import_keras_state",
  "import_paddle_state",
  "import_torch_state",
  "map_params",
  "paddle_schedule",
  "paddle_state_to_numpy",
  "param_paths",
  "replace_slots",
  "state_slots",
  "to_numpy",
  "to_paddle",
  "to_torch",
  "torch_config",
]
