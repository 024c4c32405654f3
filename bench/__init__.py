"""Benchmarks with their targets (DESIGN.md "Where we are going"). Not part of `make test`:
timings are measured and reported here, never asserted in tests. Run with `make bench`."""
