"""``python -m bench``: finding benchmarks, running each in its own process, and writing
results.json and results.md. Results go to a temporary directory, never over bench/'s."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bench.__main__ as harness
from bench.__main__ import Found, Outcome, discover, title_of
from bench.report import Distribution, Metric, Report, finite_json


def _strict(text: str) -> dict[str, object]:
    def refuse(constant: str) -> object:
        raise ValueError(f"not valid JSON: {constant}")

    data = json.loads(text, parse_constant=refuse)
    assert isinstance(data, dict)
    return data


def _only(entries: object) -> dict[str, Any]:
    assert isinstance(entries, list) and len(entries) == 1
    entry = entries[0]
    assert isinstance(entry, dict)
    return entry


def test_a_module_is_a_benchmark_only_with_a_title_and_run(tmp_path: Path) -> None:
    both = tmp_path / "both.py"
    both.write_text('TITLE = "A thing"\n\ndef run(*, tiny): ...\n')
    no_run = tmp_path / "no_run.py"
    no_run.write_text('TITLE = "A helper"\n')
    no_title = tmp_path / "no_title.py"
    no_title.write_text("def run(*, tiny): ...\n")
    assert title_of(both) == "A thing"
    assert title_of(no_run) is None
    assert title_of(no_title) is None


def test_helpers_and_the_report_are_not_benchmarks() -> None:
    names = {f.name for f in discover()}
    assert not {n for n in names if n.startswith("_")}
    assert "report" not in names


def test_one_benchmark_runs_in_its_own_process_and_both_files_are_written(
    tmp_path: Path,
) -> None:
    rc = harness.main(["journal_history", "--tiny", "--out", str(tmp_path)])
    assert rc == 0
    data = _strict((tmp_path / "results.json").read_text())
    assert data["tiny"] is True
    machine = data["machine"]
    assert isinstance(machine, dict)
    assert {"cpus", "python", "pyside6", "git_commit", "date", "load_average"} <= set(machine)
    entry = _only(data["benchmarks"])
    assert entry["name"] == "journal_history" and entry["status"] == "ok"
    report = Report.from_json(entry["report"])
    assert report.tiny and report.metric("reopen") is not None
    md = (tmp_path / "results.md").read_text()
    assert report.title in md
    assert "| metric | value | p50 / p99 / max (n) | target | met | notes |" in md


def test_a_failing_benchmark_is_reported_and_the_run_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(harness, "discover", lambda: [Found("no_such_benchmark", "Broken")])
    rc = harness.main(["--tiny", "--out", str(tmp_path)])
    assert rc != 0
    data = _strict((tmp_path / "results.json").read_text())
    entry = _only(data["benchmarks"])
    assert entry["status"] == "failed" and "no_such_benchmark" in entry["error"]
    assert "**FAILED**" in (tmp_path / "results.md").read_text()


def test_naming_benchmarks_updates_only_their_entries(tmp_path: Path) -> None:
    def outcome(name: str, value: float) -> Outcome:
        report = Report(f"title {name}", [Metric("m", value, "ms", "< 1 ms", value < 1,
                                                 Distribution(3, value, value, value))])
        return Outcome(name, report.title, True, 1.0, report)

    harness.write(tmp_path, [outcome("a", 1.0), outcome("b", 2.0)], tiny=False, merge=False)
    harness.write(tmp_path, [outcome("b", 0.5)], tiny=False, merge=True)
    data = _strict((tmp_path / "results.json").read_text())
    entries = data["benchmarks"]
    assert isinstance(entries, list)
    got = {b["name"]: b["report"]["metrics"][0]["value"] for b in entries}
    assert got == {"a": 1.0, "b": 0.5}


def test_missing_figures_are_written_as_null_and_read_back() -> None:
    report = Report("t", [Metric("lag", float("nan"), "ms",
                                 spread=Distribution(0, float("nan"), float("nan"),
                                                     float("nan")))])
    text = json.dumps(finite_json(report.to_json()), allow_nan=False)
    back = Report.from_json(_strict(text))
    metric = back.metrics[0]
    assert metric.value is None  # a figure that could not be taken
    assert metric.spread is not None and metric.spread.p50 != metric.spread.p50  # NaN again
