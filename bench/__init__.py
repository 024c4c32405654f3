"""Benchmarks with their targets (DESIGN.md "Where we are going"), run by ``make bench``
(``python -m bench``). Timings are measured and reported here, never asserted: ``make test``
runs each benchmark once at a tiny size (tests/bench) only so it keeps working."""
