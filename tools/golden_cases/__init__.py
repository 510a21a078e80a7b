"""Golden-case families for tools/make_golden.py: one module per family, each with `cases()` (or, for
tables, `write_tables(folder)`); the helpers they share are in `harness`, the framework runners in
`runners`."""
