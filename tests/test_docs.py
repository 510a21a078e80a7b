"""Docstrings of the public API (STYLE.md, "Docstrings"): the template's sections, and presets'
"Framework parity" tables that are valid reStructuredText simple tables.

The table checks are the rules docutils applies to a simple table, written out so that the project
does not depend on docutils: a ruler, a header row, a ruler, body rows, a ruler; no text in the gap
between two columns (a first-column entry wider than its ``====`` column is "Malformed table. Text in
column margin"); continuation lines with an empty first column.
"""

from __future__ import annotations

import inspect
import re

import pytest

import optim_jax as oj

MODULES = [oj] + [getattr(oj, m) for m in ("paddle", "tf_keras", "keras", "torch", "schedules")]

#: The optimizer presets: each documents its framework parity in a table.
OPTIMIZERS = [
  "optim_jax.paddle.rmsprop",
  "optim_jax.paddle.radam",
  "optim_jax.paddle.asgd",
  "optim_jax.torch.rmsprop",
  "optim_jax.torch.radam",
  "optim_jax.torch.asgd",
  "optim_jax.keras.rmsprop",
  "optim_jax.tf_keras.rmsprop",
]


def _public_functions() -> dict[str, object]:
  """Every public callable of optim_jax that is not a class, as test_contract walks them."""
  found = {}
  for mod in MODULES:
    for name in getattr(mod, "__all__", [n for n in dir(mod) if not n.startswith("_")]):
      obj = getattr(mod, name)
      if not callable(obj) or isinstance(obj, type):
        continue
      if not getattr(obj, "__module__", "").startswith("optim_jax"):
        continue  # re-exported from optax or typing
      found[f"{mod.__name__}.{name}"] = obj
  return found


FUNCTIONS = _public_functions()


def _doc(path: str) -> str:
  return inspect.getdoc(FUNCTIONS[path]) or ""


def _section(doc: str, header: str) -> list[str] | None:
  """The lines of a Google-style section (``header`` alone on an unindented line), or None."""
  lines = doc.splitlines()
  for i, line in enumerate(lines):
    if line in (f"{header}:", f"{header}s:"):
      body = []
      for nxt in lines[i + 1 :]:
        if nxt.strip() and not nxt.startswith(" "):
          break
        body.append(nxt)
      return body
  return None


@pytest.mark.parametrize("path", sorted(FUNCTIONS))
def test_docstring_has_template_sections(path):
  doc = _doc(path)
  assert doc, f"{path} has no docstring"
  missing = []
  if inspect.signature(FUNCTIONS[path]).parameters and _section(doc, "Args") is None:
    missing.append("Args:")
  if _section(doc, "Returns") is None:
    missing.append("Returns:")
  example = _section(doc, "Example")
  if example is None or not any(line.lstrip().startswith(">>> ") for line in example):
    missing.append("Example: with a >>> line")
  assert not missing, f"{path}: missing {missing}"


def _documented_args(args: list[str]) -> set[str]:
  """The argument names of an Args section: the lines at its first indentation, ``name: ...``."""
  items = [line for line in args if line.strip()]
  if not items:
    return set()
  indent = len(items[0]) - len(items[0].lstrip())
  names = set()
  for line in items:
    if len(line) - len(line.lstrip()) == indent:
      m = re.match(r"\s*\**(\w+)( \(.*\))?:", line)
      if m:
        names.add(m.group(1))
  return names


@pytest.mark.parametrize("path", sorted(FUNCTIONS))
def test_args_document_every_parameter(path):
  params = set(inspect.signature(FUNCTIONS[path]).parameters)
  args = _section(_doc(path), "Args")
  if not params or args is None:
    pytest.skip("no parameters, or no Args section (test_docstring_has_template_sections)")
  documented = _documented_args(args)
  assert params <= documented, f"{path}: Args does not document {sorted(params - documented)}"
  assert documented <= params, f"{path}: Args documents {sorted(documented - params)}, not arguments"


# --- "Framework parity" tables ---------------------------------------------------------------------

RULER = re.compile(r"^( *)(=+(?: +=+)+) *$")


def _parity_tables(doc: str) -> list[tuple[str, list[str]]]:
  """Each "Framework parity" heading of a docstring with the lines of the table under it (through
  its third ruler, or to the end of the docstring if it has fewer)."""
  lines = doc.splitlines()
  tables = []
  for i, line in enumerate(lines):
    if not line.lstrip().startswith("Framework parity"):
      continue
    j = i + 1
    while j < len(lines) and not lines[j].strip():
      j += 1
    table, rulers = [], 0
    while j < len(lines) and rulers < 3:
      table.append(lines[j])
      rulers += bool(RULER.match(lines[j]))
      j += 1
    tables.append((line.strip(), table))
  return tables


def table_errors(table: list[str]) -> list[str]:
  """What makes ``table`` not a simple table with one header row, as docutils would parse it."""
  while table and not table[-1].strip():
    table = table[:-1]
  if not table or not RULER.match(table[0]):
    return ["the table does not start with a ruler (==== ====)"]
  ruler = table[0].rstrip()
  indent = len(RULER.match(ruler).group(1))
  columns = [(m.start(), m.end()) for m in re.finditer(r"=+", ruler)]
  rulers = [k for k, line in enumerate(table) if RULER.match(line)]
  errors = []
  if len(rulers) != 3 or rulers[1] != 2 or rulers[2] != len(table) - 1:
    errors.append(f"expected ruler, one header row, ruler, body rows, ruler; rulers at lines {rulers}")
  errors += [f"line {k}: ruler differs from the first" for k in rulers if table[k].rstrip() != ruler]
  body = table[3:-1] if len(rulers) == 3 else table[1:]
  if len(rulers) == 3 and not any(line.strip() for line in body):
    errors.append("the table has no body rows")
  previous_row = False  # a row above in the same part (header or body): blank lines do not end it
  for k, line in enumerate(table):
    if k in rulers:
      previous_row = False
    if k in rulers or not line.strip():
      continue
    if line[:indent].strip():
      errors.append(f"line {k}: text left of the table: {line.strip()!r}")
    for (begin, end), (start, _) in zip(columns[:-1], columns[1:], strict=True):
      if line[end:start].strip():
        cell = re.match(r"\s*(\S*(?: \S+)*)", line[begin:]).group(1)
        errors.append(
          f"line {k}: text in the column margin at {end}-{start}: {cell!r} is {len(cell)} characters, "
          f"its column {end - begin}"
        )
    first = line[columns[0][0] : columns[0][1]].strip()
    rest = line[columns[1][0] :].strip()
    if first and not rest:
      errors.append(f"line {k}: {first!r} has an empty last column (an entry split over two lines?)")
    if not first and not previous_row:
      errors.append(f"line {k}: a continuation line (empty first column) that continues no row")
    previous_row = True
  return errors


PARITY = [
  (path, heading, table) for path in sorted(FUNCTIONS) for heading, table in _parity_tables(_doc(path))
]


def test_every_optimizer_preset_has_a_parity_table():
  assert set(OPTIMIZERS) <= set(FUNCTIONS)
  have = {path for path, _, _ in PARITY}
  assert not set(OPTIMIZERS) - have, f"no Framework parity table: {sorted(set(OPTIMIZERS) - have)}"


@pytest.mark.parametrize("path, heading, table", PARITY, ids=[p for p, _, _ in PARITY])
def test_parity_table_is_a_valid_simple_table(path, heading, table):
  assert re.fullmatch(r"Framework parity \(golden tests: [^)]*\d+\.\d+[^)]*\):", heading), (
    f"{path}: the heading should name the framework version of the golden tests: {heading!r}"
  )
  errors = table_errors(table)
  assert not errors, f"{path}:\n" + "\n".join(errors) + "\n" + "\n".join(table)


def test_table_check_catches_malformed_tables():
  good = [
    "==========  ===========",
    "Paddle      optim_jax",
    "==========  ===========",
    "state       ms always;",
    "            mg if centered",
    "==========  ===========",
  ]
  assert table_errors(good) == []
  overflow = good[:3] + ["``foreach``,  not arguments"] + good[5:]
  assert any("column margin" in e for e in table_errors(overflow))
  split = good[:3] + ["negative    ValueError", "rho > 1"] + good[5:]
  assert any("empty last column" in e for e in table_errors(split))
  orphan = good[:3] + good[4:]  # the body starts with a continuation line
  assert any("continues no row" in e for e in table_errors(orphan))
  assert table_errors(good[:2] + good[3:])  # no ruler under the header
  assert table_errors(good[:-1])  # no closing ruler
