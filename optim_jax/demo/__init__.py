"""The demo: a ported optimizer follows its framework, optax's look-alike does not.

Run it with ``python -m optim_jax.demo`` (``pip install "optim_jax[demo]"`` installs flax, rich and
matplotlib), or from a notebook with ``from optim_jax import demo; demo.main()``. No download, no
framework needed; under a minute on two CPU cores. It has two parts:

1. fidelity: trajectories recorded from the real PyTorch, PaddlePaddle, Keras 3 and tf_keras (small
   files shipped in the package, with their provenance: framework version, dtype, seed and
   configuration) replayed through our preset and through optax's closest look-alike, with the
   per-step error of each against the framework (table and ``fidelity.png``);
2. training: one Flax MLP on the 8x8 digits (shipped, with their provenance) with every preset behind
   a progress bar; a table of final loss, accuracy, ms/step and optimizer-state bytes per parameter,
   and the loss curves (``training.png``).

``--compare torch`` (when PyTorch is installed) trains the same model from the same initialisation
with ``torch.optim.RMSprop`` + ``StepLR``, with ``oj.torch.rmsprop`` and with ``optax.rmsprop``
(``compare_torch.png``). ``--optimizers`` picks presets (both parts), ``--steps`` the training length,
``--part`` the parts, ``--out`` the folder for the PNGs.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import jax
import optax

import optim_jax as oj

from . import _fidelity, _torch_compare, _training

PRESETS = tuple(p.name for p in _training.PRESETS)


@dataclasses.dataclass
class Results:
  """What `main` measured: part 1's replays, part 2's runs, the comparison (None where not run)."""

  fidelity: list[_fidelity.Replay] | None = None
  training: dict[str, _training.Run] | None = None
  compare: dict[str, Any] | None = None
  files: list[Path] = dataclasses.field(default_factory=list)

  def __repr__(self) -> str:  # a notebook shows this, not the arrays
    parts = []
    if self.fidelity is not None:
      parts.append(
        f"fidelity: {len(self.fidelity)} cases, ours worst {max(r.ours.max() for r in self.fidelity):.1e}"
      )
    if self.training is not None:
      parts.append(f"training: {len(self.training)} presets")
    if self.compare is not None:
      parts.append("compare: torch")
    return f"Results({'; '.join(parts)}; files: {[str(f) for f in self.files]})"


def parser() -> argparse.ArgumentParser:
  p = argparse.ArgumentParser(
    prog="python -m optim_jax.demo",
    description=__doc__.splitlines()[0],
    formatter_class=argparse.RawDescriptionHelpFormatter,
    epilog=f"presets: {', '.join(PRESETS)}",
  )
  p.add_argument(
    "--optimizers", nargs="+", metavar="NAME", help="presets to run (default: all); part 1 keeps their cases"
  )
  p.add_argument(
    "--steps", type=int, default=400, help="training steps per run, part 2 and --compare (default: 400)"
  )
  p.add_argument(
    "--part",
    choices=("all", "fidelity", "training", "none"),
    default="all",
    help="which parts (default: all)",
  )
  p.add_argument("--compare", choices=("torch",), help="also train with PyTorch itself (needs torch)")
  p.add_argument("--out", default="optim_jax_demo", help="folder for the PNGs (default: ./optim_jax_demo)")
  p.add_argument("--seed", type=int, default=0, help="data split and initial parameters (default: 0)")
  return p


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
  """The options; with ``argv=None`` (``sys.argv[1:]``) a Jupyter kernel's ``-f kernel.json`` is ignored."""
  p = parser()
  args, unknown = p.parse_known_args(argv)
  if len(unknown) == 2 and unknown[0] == "-f":  # ipykernel's connection file
    unknown = []
  if unknown:
    p.error(f"unrecognized arguments: {' '.join(unknown)}")
  names = args.optimizers or list(PRESETS)
  bad = sorted(set(names) - set(PRESETS))
  if bad:
    p.error(f"unknown presets {bad}; choose from {', '.join(PRESETS)}")
  if args.steps < 1:
    p.error(f"--steps must be >= 1, got {args.steps}")
  args.optimizers = [n for n in PRESETS if n in names]
  return args


def _heading(text: str) -> None:
  print(f"\n{text}\n{'=' * len(text)}")


def main(argv: list[str] | None = None) -> Results:
  """Runs the demo with command-line options ``argv`` (``sys.argv[1:]`` when None) and returns what
  it measured; callable from a notebook."""
  args = parse_args(argv)
  if args.compare == "torch" and not _torch_compare.available():
    print(_torch_compare.INSTALL, file=sys.stderr)
    raise SystemExit(2)
  out = Path(args.out)
  out.mkdir(parents=True, exist_ok=True)
  results = Results()
  print(
    f"optim_jax {oj.__version__} demo (jax {jax.__version__}, optax {optax.__version__}, "
    f"{jax.default_backend()}); PNGs go to {out}/"
  )
  if args.part in ("all", "fidelity"):
    _heading(
      "Part 1 - fidelity: trajectories recorded from PyTorch, Paddle and Keras, replayed (no framework here)"
    )
    pairings = [p for p in _fidelity.PAIRINGS if p.preset in args.optimizers]
    if pairings:
      results.fidelity, files = _fidelity.run(pairings, out)
      results.files += files
    else:
      print(f"no recorded case for {args.optimizers}")
  if args.part in ("all", "training"):
    _heading("Part 2 - training: every preset on the 8x8 digits")
    results.training, files = _training.run(args.optimizers, args.steps, out, args.seed)
    results.files += files
  if args.compare == "torch":
    _heading("--compare torch: PyTorch itself, our port and optax's look-alike")
    results.compare, files = _torch_compare.run(args.steps, out, args.seed)
    results.files += files
  if results.files:
    print(f"\nwrote {', '.join(str(f) for f in results.files)}")
  return results
