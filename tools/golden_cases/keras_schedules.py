"""Keras's learning-rate schedules, tables: every ``keras.optimizers.schedules`` class, tf_keras and Keras 3.

Family ``keras_schedules`` (tools/make_golden.py, or run this file with the framework environment):
``tests/golden/keras_schedules/<Class>.npz`` + ``.json``. For every configuration ``<case>`` of a class
(`CASES`): ``<case>/count`` the counts (0..N, then far counts up to 2**31 - 1 and each side of the
boundaries, periods and restarts there), ``<case>/tf_keras`` and ``<case>/keras`` the float32 value
each version's schedule returns at each count, called with the int64 count as the optimizers call it
with ``iterations``. ``signatures.json``: each class's and each RMSprop constructor's arguments and
defaults in both versions, the ``get_config()`` of a few RMSprop optimizers, and the exception each
version raises (or not) for each bad argument of `VALIDATION`.

Both versions run in one process (both are TensorFlow; Keras 3 with ``KERAS_BACKEND=tensorflow``).
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

if __package__ in (None, ""):  # run as a script: make `golden_cases` importable
  sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from golden_cases import harness, runners  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "golden" / "keras_schedules"
GENERATED_BY = Path(__file__).resolve().relative_to(ROOT).as_posix()
FRAMEWORKS = ("tf_keras", "keras")
INT32_MAX = 2**31 - 1

# class -> [(case name, N, keyword arguments)]; counts 0..N are recorded, then the far counts.
CASES: dict[str, list[tuple[str, int, dict[str, Any]]]] = {
  "ExponentialDecay": [
    ("a_smooth", 300, dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.96)),
    ("b_staircase", 200, dict(initial_learning_rate=0.01, decay_steps=8, decay_rate=0.5, staircase=True)),
    ("c_slow", 100, dict(initial_learning_rate=0.5, decay_steps=1000, decay_rate=0.9)),
    ("d_float_steps", 200, dict(initial_learning_rate=0.003, decay_steps=7.5, decay_rate=0.8)),
    ("e_growth_staircase", 60, dict(initial_learning_rate=0.001, decay_steps=5, decay_rate=1.5,
                                    staircase=True)),
  ],
  "PiecewiseConstantDecay": [
    ("a", 60, dict(boundaries=[10, 30], values=[0.1, 0.05, 0.01])),
    ("b_one_boundary", 20, dict(boundaries=[0], values=[0.5, 0.25])),
    ("c_repeated", 60, dict(boundaries=[5, 20, 20, 40], values=[1.0, 0.5, 0.3, 0.25, 0.125])),
    ("d_float_boundaries", 30, dict(boundaries=[2.7, 9.2], values=[0.1, 0.02, 0.004])),
    ("e_beyond_int32", 20, dict(boundaries=[5, 2**40], values=[0.3, 0.2, 0.1])),
  ],
  "PolynomialDecay": [
    ("a_linear", 150, dict(initial_learning_rate=0.1, decay_steps=100)),
    ("b_square", 150, dict(initial_learning_rate=0.1, decay_steps=60, end_learning_rate=0.001, power=2.0)),
    ("c_cycle", 300, dict(initial_learning_rate=0.1, decay_steps=50, end_learning_rate=0.001, power=2.0,
                          cycle=True)),
    ("d_sqrt_cycle", 200, dict(initial_learning_rate=0.5, decay_steps=37, end_learning_rate=0.0, power=0.5,
                               cycle=True)),
    ("e_linear_cycle_to_zero", 100, dict(initial_learning_rate=0.02, decay_steps=30, end_learning_rate=0.0,
                                         cycle=True)),
  ],
  "InverseTimeDecay": [
    ("a", 300, dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
    ("b_staircase", 200, dict(initial_learning_rate=0.01, decay_steps=20, decay_rate=1.0, staircase=True)),
    ("c_fast", 100, dict(initial_learning_rate=0.5, decay_steps=1, decay_rate=3.7)),
  ],
  "CosineDecay": [
    ("a", 150, dict(initial_learning_rate=0.1, decay_steps=100)),
    ("b_alpha", 150, dict(initial_learning_rate=0.05, decay_steps=70, alpha=0.1)),
    ("c_warmup", 200, dict(initial_learning_rate=0.0, decay_steps=100, warmup_target=0.1, warmup_steps=20)),
    ("d_warmup_alpha", 200, dict(initial_learning_rate=0.001, decay_steps=60, alpha=0.05, warmup_target=0.02,
                                 warmup_steps=15)),
    ("e_warmup_down", 100, dict(initial_learning_rate=0.1, decay_steps=40, warmup_target=0.05,
                                warmup_steps=10)),
  ],
  "CosineDecayRestarts": [
    ("a_defaults", 400, dict(initial_learning_rate=0.1, first_decay_steps=10)),
    ("b_equal_periods", 200, dict(initial_learning_rate=0.1, first_decay_steps=20, t_mul=1.0, m_mul=0.8,
                                  alpha=0.01)),
    ("c_t3", 800, dict(initial_learning_rate=0.5, first_decay_steps=5, t_mul=3.0, m_mul=0.5, alpha=0.02)),
    ("d_t15", 500, dict(initial_learning_rate=0.05, first_decay_steps=7, t_mul=1.5, m_mul=0.9)),
  ],
}  # fmt: skip

# Periods whose multiples (and neighbours) are recorded far out, per class.
PERIOD_KEYS = ("decay_steps", "first_decay_steps")


def far_counts(cls: str, kwargs: dict[str, Any]) -> list[int]:
  """Counts up to 2**31 - 1: log-spaced, the last ones, each side of the last multiples of the period
  near 2**24 (where float32 stops holding every count) and 2**31, and the restarts of t_mul."""
  counts = set(np.unique(np.logspace(3, np.log10(INT32_MAX), 30).astype(np.int64)).tolist())
  counts.update(range(INT32_MAX - 5, INT32_MAX + 1))
  counts.update(range(2**24 - 3, 2**24 + 4))
  period = next((kwargs[k] for k in PERIOD_KEYS if k in kwargs), None)
  if period is not None:
    for top in (2**24, INT32_MAX):
      k = int(top // period * period)
      counts.update(k + d for d in (-1, 0, 1))
  if cls == "CosineDecayRestarts":  # the starts of the periods, and their neighbours
    t, start, length = float(kwargs.get("t_mul", 2.0)), 0.0, float(kwargs["first_decay_steps"])
    for _ in range(40):
      counts.update(int(start) + d for d in (-1, 0, 1))
      start, length = start + length, length * t
  if cls == "PiecewiseConstantDecay":
    for b in kwargs["boundaries"]:
      counts.update(int(b) + d for d in (-1, 0, 1))
  return sorted(c for c in counts if 0 <= c <= INT32_MAX)


def counts_of(cls: str, n: int, kwargs: dict[str, Any]) -> np.ndarray:
  return np.array(sorted(set(range(n + 1)) | set(far_counts(cls, kwargs))), np.int64)


# One bad argument each: what each version raises is recorded (None: accepted), the test checks ours.
VALIDATION: list[tuple[str, dict[str, Any]]] = [
  ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=0, decay_rate=0.5)),
  ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=-3, decay_rate=0.5)),
  ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=0)),
  ("InverseTimeDecay", dict(initial_learning_rate=0.1, decay_steps=0, decay_rate=0.5)),
  ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=0)),
  ("CosineDecayRestarts", dict(initial_learning_rate=0.1, first_decay_steps=0)),
  ("PiecewiseConstantDecay", dict(boundaries=[10], values=[0.1])),
  ("PiecewiseConstantDecay", dict(boundaries=[10, 20], values=[0.1, 0.2])),
]

# RMSprop optimizers whose get_config() is recorded (our presets must take it back: rmsprop(**config)).
CONFIGS: dict[str, list[dict[str, Any]]] = {
  "tf_keras": [{}, dict(learning_rate=0.01, momentum=0.9, centered=True, weight_decay=0.01, clipnorm=1.0,
                        use_ema=True, ema_overwrite_frequency=5, jit_compile=False, name="opt")],
  "keras": [{}, dict(learning_rate=0.01, momentum=0.9, weight_decay=0.01, global_clipnorm=1.0, use_ema=True,
                     loss_scale_factor=8.0, gradient_accumulation_steps=4, name="opt")],
}  # fmt: skip


def _modules() -> dict[str, Any]:
  os.environ.setdefault("KERAS_BACKEND", "tensorflow")
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  import keras
  import tf_keras

  if keras.backend.backend() != "tensorflow":
    raise RuntimeError("Keras 3 tables are made with KERAS_BACKEND=tensorflow")
  return {"tf_keras": tf_keras, "keras": keras}


def record_values(module: Any, cls: str, kwargs: dict[str, Any], counts: np.ndarray) -> np.ndarray:
  """The schedule's float32 value at each count, called with an int64 count (``iterations``)."""
  import tensorflow as tf

  sched = getattr(module.optimizers.schedules, cls)(**kwargs)
  values = [np.asarray(sched(tf.constant(int(c), tf.int64))) for c in counts]
  out = np.array(values)
  if out.dtype != np.float32:
    raise ValueError(f"{cls}{kwargs}: Keras returned {out.dtype}, not float32")
  return out


def signature(obj: Any) -> list[list[Any]]:
  params = list(inspect.signature(obj).parameters.values())
  return [
    [p.name, None if p.default is p.empty else repr(p.default), p.kind.name]
    for p in params
    if p.name != "self"
  ]


def record_validation(modules: dict[str, Any]) -> list[dict[str, Any]]:
  import tensorflow as tf

  out = []
  for cls, kwargs in VALIDATION:
    entry: dict[str, Any] = {"class": cls, "kwargs": kwargs}
    for fw, module in modules.items():
      try:
        sched = getattr(module.optimizers.schedules, cls)(**kwargs)
        value = float(np.asarray(sched(tf.constant(3, tf.int64))))
        entry[fw] = {"raises": None, "value_at_3": value}
      except Exception as err:  # noqa: BLE001 - the type is what is recorded
        entry[fw] = {"raises": type(err).__name__, "message": str(err)}
    out.append(entry)
  return out


def write_tables(folder: Path = OUT) -> None:
  """Records every table and writes ``<folder>/<Class>.npz`` + ``.json`` and ``signatures.json``."""
  modules = _modules()
  versions = harness.all_versions(runners.versions())
  folder.mkdir(parents=True, exist_ok=True)
  for cls, cases in CASES.items():
    arrays, meta = {}, {}
    for name, n, kwargs in cases:
      counts = counts_of(cls, n, kwargs)
      arrays[f"{name}/count"] = counts
      for fw, module in modules.items():
        arrays[f"{name}/{fw}"] = record_values(module, cls, kwargs, counts)
      meta[name] = {"kwargs": kwargs, "n": n, "far_counts": int(len(counts) - (n + 1))}
    np.savez_compressed(folder / f"{cls}.npz", **arrays)
    provenance = {
      "class": f"optimizers.schedules.{cls}",
      "frameworks": {fw: versions[fw] for fw in FRAMEWORKS},
      "versions": versions,
      "dtype": "float32 (Keras computes in the dtype of a float initial_learning_rate)",
      "step": "an int64 tensor, as the optimizers pass iterations",
      "cases": meta,
      "generated_by": GENERATED_BY,
    }
    (folder / f"{cls}.json").write_text(json.dumps(provenance, indent=1) + "\n")
    print(f"keras_schedules/{cls}: {(folder / f'{cls}.npz').stat().st_size / 1024:.1f} KiB")
  sigs: dict[str, Any] = {"frameworks": {fw: versions[fw] for fw in FRAMEWORKS}, "versions": versions}
  for fw, module in modules.items():
    sigs[fw] = {
      "schedules": {cls: signature(getattr(module.optimizers.schedules, cls)) for cls in CASES},
      "RMSprop": signature(module.optimizers.RMSprop),
      "get_config": [module.optimizers.RMSprop(**kw).get_config() for kw in CONFIGS[fw]],
    }
  sigs["validation"] = record_validation(modules)
  sigs["generated_by"] = GENERATED_BY
  (folder / "signatures.json").write_text(json.dumps(sigs, indent=1, default=_plain) + "\n")


def _plain(value: Any) -> Any:
  """NumPy scalars (tf_keras's get_config holds float32 learning rates) as Python numbers."""
  if isinstance(value, np.generic):
    return value.item()
  return repr(value)


if __name__ == "__main__":
  write_tables()
