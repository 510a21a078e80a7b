"""Make the data files that ``python -m optim_jax.demo`` ships in optim_jax/demo/data/.

Two steps, both by default::

  /work/venv-fw/bin/python tools/make_demo_data.py            # digits (needs scikit-learn) and golden
  python tools/make_demo_data.py golden                        # the golden copies alone (numpy only)

``digits``: the 8x8 hand-written digits (1,797 images, pixels 0..16, labels 0..9) from the copy of
the UCI ML hand-written digits test set that scikit-learn ships (``sklearn.datasets.load_digits``,
no download), written as ``digits.npz`` (uint8 ``images`` (1797, 8, 8) and ``labels`` (1797,),
compressed) with its provenance and licence in ``digits.json``. scikit-learn is used here only: it
is never a dependency of the project.

``golden``: byte-for-byte copies of the few golden trajectories that the demo's fidelity part
replays (`CASES`; recorded from the real frameworks by tools/make_golden.py into tests/golden/), with
their provenance .json, into ``data/golden/<family>/``. tests/test_demo.py checks that the copies
are identical to tests/golden/ and that the demo pairs every one with our preset and optax's
look-alike.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
DATA = ROOT / "optim_jax" / "demo" / "data"

#: family/case of tests/golden/ replayed by the demo (float32, <= 60 steps); each shows a semantic
#: difference from optax's closest look-alike, except the first, where optax agrees.
CASES = (
  "rmsprop/paddle_mom_step_f32",
  "rmsprop/torch_mom_exp_f32",
  "radam/torch_defaults_step_f32",
  "radam/paddle_eps_0625_exp_f32",
  "rmsprop/keras_clipnorm_wd_mom_exp_f32",
  "rmsprop/tf_keras_global_clipnorm_over_clipvalue_wd_mom_piece_f32",
  "rmsprop/torch_clipnorm1_wd_centered_step_f32",
)


def make_digits() -> None:
  try:
    import sklearn
    from sklearn.datasets import load_digits
  except ImportError:
    sys.exit(
      "the digits step needs scikit-learn: run it with /work/venv-fw/bin/python (pip install scikit-learn)"
    )
  digits = load_digits()
  images = digits.images.astype(np.uint8)
  labels = digits.target.astype(np.uint8)
  assert (images == digits.images).all() and (labels == digits.target).all()
  DATA.mkdir(parents=True, exist_ok=True)
  np.savez_compressed(DATA / "digits.npz", images=images, labels=labels)
  provenance = {
    "name": "Optical recognition of handwritten digits (8x8), the UCI ML test set",
    "source": "scikit-learn's copy (sklearn.datasets.load_digits) of the test set of the UCI ML "
    "hand-written digits data set, https://archive.ics.uci.edu/ml/datasets/Optical+Recognition+of+Handwritten+Digits",
    "creators": "E. Alpaydin, C. Kaynak (Bogazici University), July 1998",
    "licence": "CC BY 4.0 (UCI Machine Learning Repository); scikit-learn's copy is distributed under "
    "scikit-learn's BSD-3-Clause licence",
    "citation": "E. Alpaydin, C. Kaynak (1998). Optical Recognition of Handwritten Digits. UCI Machine "
    "Learning Repository",
    "scikit_learn_version": sklearn.__version__,
    "arrays": {
      "images": {"dtype": "uint8", "shape": list(images.shape), "range": [0, 16]},
      "labels": {"dtype": "uint8", "shape": list(labels.shape), "range": [0, 9]},
    },
    "images_per_label": np.bincount(labels, minlength=10).tolist(),
    "sha256": {
      "images": hashlib.sha256(images.tobytes()).hexdigest(),
      "labels": hashlib.sha256(labels.tobytes()).hexdigest(),
    },
    "generated_by": "tools/make_demo_data.py",
  }
  (DATA / "digits.json").write_text(json.dumps(provenance, indent=1) + "\n")
  print(f"wrote {DATA / 'digits.npz'} ({(DATA / 'digits.npz').stat().st_size} bytes) and digits.json")


def copy_golden() -> None:
  target = DATA / "golden"
  if target.exists():
    shutil.rmtree(target)
  for case in CASES:
    family, name = case.split("/")
    (target / family).mkdir(parents=True, exist_ok=True)
    for suffix in (".npz", ".json"):
      shutil.copyfile(GOLDEN / family / f"{name}{suffix}", target / family / f"{name}{suffix}")
  print(f"copied {len(CASES)} golden cases to {target}")


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("steps", nargs="*", help="digits, golden (default: both)")
  steps = parser.parse_args().steps or ["digits", "golden"]
  if set(steps) - {"digits", "golden"}:
    parser.error(f"unknown steps {sorted(set(steps) - {'digits', 'golden'})}; choose from digits, golden")
  if "digits" in steps:
    make_digits()
  if "golden" in steps:
    copy_golden()


if __name__ == "__main__":
  main()
