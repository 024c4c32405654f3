"""bench/cold_start.py at its tiny size: it runs both programs and reads their PNGs (no timing
is asserted; the figures are for ``make bench``)."""

from __future__ import annotations

from bench import cold_start


def test_cold_start_bench_runs_both_programs_once() -> None:
    report = cold_start.run(tiny=True)
    assert report.tiny and report.title == cold_start.TITLE
    by_name = {m.name: m for m in report.metrics}
    for name in ("closeout --screenshot: spawn to PNG", "bare PySide6 table window: spawn to PNG"):
        metric = by_name[name]
        assert metric.value is not None and metric.value > 0, report.notes
        assert metric.spread is not None and metric.spread.n == 1
    assert by_name["ratio closeout / bare (to PNG)"].value is not None
    assert not [n for n in report.notes if "exit" in n and "run 0" in n], report.notes
