"""The notebooks in notebooks/: each is stored with its outputs stripped and runs top to bottom without an
error (their cells assert what their text says), in a python3 kernel of this environment, from
notebooks/ as the working directory."""

from __future__ import annotations

from pathlib import Path

import nbclient
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


def test_the_notebooks_are_there():
  assert [p.name for p in PATHS] == ["01_quickstart.ipynb", "02_porting_from_pytorch.ipynb", "03_sag.ipynb"]


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_runs(path):
  nb = nbformat.read(path, as_version=4)
  code = [cell for cell in nb.cells if cell.cell_type == "code"]
  stripped = all(cell.outputs == [] and cell.execution_count is None for cell in code)
  assert stripped, f"{path.name} is stored with outputs: strip them"
  assert nb.metadata["kernelspec"]["name"] == "python3"
  client = nbclient.NotebookClient(
    nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
  )
  client.execute()  # raises CellExecutionError, naming the cell, on any error
  errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
  assert not errors, errors
