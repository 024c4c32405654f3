"""Every benchmark runs at its tiny size and returns a well-formed report, so ``make bench``
keeps working. Nothing here asserts a timing: the tiny figures mean nothing."""

from __future__ import annotations

import importlib
import json
import math

import pytest

from bench.__main__ import Found, discover
from bench.report import Metric, Report, finite_json

BENCHMARKS = discover()

# Figures each of these benchmarks must report, finite, at its tiny size (a name ending in
# "…" is a prefix). Benchmarks not listed are held to the general shape only.
REQUIRED: dict[str, list[str]] = {
    "table_scale": ["insert, 300 rows", "sort click, 300 rows", "filter set, 300 rows",
                    "filter clear, 300 rows"],
    "responsiveness": [
        f"{mode}: {what}" for mode in ("unsorted", "sorted by P&L")
        for what in ("loop lag p99", "loop lag max", "share of wall time blocked > 100 ms",
                     "order updates delivered / sent", "position updates delivered / sent",
                     "rows showing the latest mark (sampled)")
    ] + ["order updates in the log after the feed stopped / sent", "RSS at the end",
         "RSS growth from…"],
    "click_to_wire": [f"{venue}: {what}" for venue in ("QFEX", "Everstrike")
                      for what in ("added at p50", "added at p99")],
    "close_latency": ["added at p50", "added at p99"],
    "cold_start": ["closeout --screenshot: spawn to PNG", "bare PySide6 table window: spawn to PNG",
                   "ratio closeout / bare (to PNG)"],
    "journal_history": ["reopen", "query, first page (newest 500)", "verify the whole chain"],
}


def _find(report: Report, name: str) -> Metric | None:
    if name.endswith("…"):
        return next((m for m in report.metrics if m.name.startswith(name[:-1])), None)
    return report.metric(name)


def test_the_issue_benchmarks_are_found() -> None:
    names = {f.name for f in BENCHMARKS}
    assert set(REQUIRED) <= names
    assert [f.name for f in BENCHMARKS][:2] == ["table_scale", "responsiveness"]
    assert all(f.title for f in BENCHMARKS)


@pytest.mark.parametrize("found", BENCHMARKS, ids=lambda f: f.name)
def test_each_benchmark_runs_tiny(found: Found) -> None:
    module = importlib.import_module(f"bench.{found.name}")
    report = module.run(tiny=True)
    assert isinstance(report, Report)
    assert report.title == module.TITLE
    assert report.tiny
    assert report.metrics, "a benchmark must report something"
    for m in report.metrics:
        assert m.name and isinstance(m.unit, str)
        assert m.value is None or isinstance(m.value, float | int)
        assert m.met is None or m.target, f"{m.name}: met without a target"
        if m.spread is not None:
            assert m.spread.n >= 0
    text = json.dumps(finite_json(report.to_json()), allow_nan=False)  # valid JSON
    assert Report.from_json(json.loads(text)).title == report.title
    for name in REQUIRED.get(found.name, []):
        metric = _find(report, name)
        assert metric is not None, f"{found.name}: no metric {name!r}"
        assert metric.value is not None and math.isfinite(metric.value), \
            f"{found.name}: {name} = {metric.value}"
