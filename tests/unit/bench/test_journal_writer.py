"""The journal-writer benchmark keeps working at its tiny size (it asserts no timing)."""

from __future__ import annotations

from bench import journal_writer


def test_the_benchmark_runs_and_reports_every_figure() -> None:
    report = journal_writer.run(tiny=True)
    assert report.tiny and report.title == journal_writer.TITLE
    names = [m.name for m in report.metrics]
    assert any(n.startswith("old path: caller CPU") for n in names)
    assert any(n.startswith("event-loop CPU per record") for n in names)
    assert any(n.startswith("writer: records/s sustained") for n in names)
    assert sum(n.startswith("close wait") for n in names) == 2
    for metric in report.metrics:
        if metric.name.startswith("writer: records per CPU-second"):
            continue  # None where the platform has no per-thread CPU clock
        assert metric.value is not None and metric.value > 0, metric.name
