"""Golden-case families for tools/make_golden.py: one module per family, each with `cases()`."""
