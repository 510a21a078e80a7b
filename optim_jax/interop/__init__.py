"""Framework optimizer state in and out, and optim_jax transformations from live framework optimizers.

Nothing here imports a framework at module level: the state functions take plain dicts of numpy
arrays and Python numbers, and ``from_torch``/``from_paddle``/``from_keras`` import their framework
inside the call.
"""

from optim_jax.interop._keras import export_keras_state as export_keras_state
from optim_jax.interop._keras import import_keras_state as import_keras_state
from optim_jax.interop._keras_live import KerasImport as KerasImport
from optim_jax.interop._keras_live import from_keras as from_keras
from optim_jax.interop._keras_live import from_keras_config as from_keras_config
from optim_jax.interop._slots import Slot as Slot
from optim_jax.interop._slots import map_params as map_params
from optim_jax.interop._slots import param_paths as param_paths
from optim_jax.interop._slots import replace_slots as replace_slots
from optim_jax.interop._slots import state_slots as state_slots

__all__ = [
  "KerasImport",
  "Slot",
  "export_keras_state",
  "from_keras",
  "from_keras_config",
  "import_keras_state",
  "map_params",
  "param_paths",
  "replace_slots",
  "state_slots",
]
