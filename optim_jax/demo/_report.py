"""Plain-text tables, the progress bar (rich) and PNG figures (matplotlib, optional) of the demo."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Sequence
from typing import Any

MISSING = 'pip install "optim_jax[demo]"'


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> None:
  """Prints aligned columns (those in ``right`` right-aligned) with a ruler under the header."""
  widths = [max(len(str(x)) for x in column) for column in zip(header, *rows, strict=True)]

  def line(cells: Sequence[str]) -> str:
    padded = [
      str(c).rjust(w) if i in right else str(c).ljust(w)
      for i, (c, w) in enumerate(zip(cells, widths, strict=True))
    ]
    return "  ".join(padded).rstrip()

  print(line(header))
  print("  ".join("-" * w for w in widths))
  for row in rows:
    print(line(row))


def figure(**kwargs: Any) -> Any:
  """A matplotlib Figure (object API: no pyplot, so a notebook's backend is left alone), or None
  with a message when matplotlib is not installed."""
  try:
    from matplotlib.figure import Figure
  except ImportError:
    print(f"(matplotlib is not installed, so no PNG is written: {MISSING})")
    return None
  return Figure(**kwargs)


@contextlib.contextmanager
def progress() -> Iterator[Any]:
  """A rich progress display (rich comes with flax); one bar per task, kept when done."""
  try:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
  except ImportError as e:
    raise ImportError(f"The demo's progress bars need rich: {MISSING}") from e
  columns = (
    TextColumn("{task.description:<20}"),
    BarColumn(bar_width=30),
    MofNCompleteColumn(),
    TextColumn("steps  {task.fields[status]}"),
    TimeElapsedColumn(),
  )
  width = None if sys.stdout.isatty() else 110  # a log or a notebook: rich's default of 80 cuts the bar
  with Progress(*columns, console=Console(file=sys.stdout, width=width)) as bar:
    yield bar
