"""The soak's smoke run: about 21 s of demo trading at 10× the update rate with every fault kind
once, and the counts (asyncio tasks, sockets, file descriptors) back at their post-warm-up level
once it settles; every close settled. No timing is asserted: lag and RSS figures over 21 s on a
busy machine mean nothing. The pass rule itself is checked on made-up samples."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bench import soak
from bench._soakvenue import KINDS
from bench.report import Report

COUNTS = ("asyncio tasks at the end", "open sockets at the end", "file descriptors at the end")


def _met(report: Report, name: str) -> bool | None:
    metric = report.metric(name)
    assert metric is not None, f"no metric {name!r}"
    return metric.met


# Dropped connections and malformed frames are the point: whatever the app logs about them
# is allowed here (the report counts it).
@pytest.mark.allow_error_logs
def test_a_short_soak_with_every_fault_returns_to_its_baseline() -> None:
    report = soak.run(tiny=True, plan=soak.SMOKE)
    faults = next(n for n in report.notes if n.startswith("faults: "))
    for kind in KINDS:
        assert f"{kind} (" in faults, f"{kind} was never injected: {faults}"
    sent = report.metric("closes sent")
    assert sent is not None and sent.value is not None and sent.value >= 5
    for name in COUNTS:
        assert _met(report, name), f"{name}: {report.metric(name)}"
    assert _met(report, "closes still Sending or Unknown at the end")


def _sample(at: float, *, rss: float = 100.0, tasks: int = 10, sockets: int = 5,
            fds: int = 20) -> soak.Sample:
    return soak.Sample(at, rss, tasks, sockets, fds, threads=4, qobjects=400, journal=1000)


def _judged(end: soak.Sample) -> Report:
    """The report of a run whose baseline is ``_sample(10)`` and whose end is ``end``."""
    run = soak.Soak(replace(soak.SMOKE, warmup=10.0))
    run.samples = [_sample(4, tasks=12), _sample(6, tasks=11, fds=22), _sample(8), end]
    run.baseline = run._baseline(_sample(10, tasks=13, sockets=6, fds=21))
    run.final = end
    return run.report(tiny=True)


def test_the_baseline_is_the_lowest_count_of_the_warm_ups_second_half() -> None:
    report = _judged(_sample(30, tasks=11, fds=20))
    # 11 tasks at the end against 12 at 4 s (first half: ignored) and 10 at 8 s: a leak.
    assert _met(report, "asyncio tasks at the end") is False
    assert _met(report, "file descriptors at the end") is True
    assert _met(report, "open sockets at the end") is True


@pytest.mark.parametrize("field", ["tasks", "sockets", "fds"])
def test_one_more_of_any_count_fails_the_soak(field: str) -> None:
    base = _sample(0)
    end = replace(_sample(30), **{field: getattr(base, field) + 1})
    report = _judged(end)
    failed = {m.name for m in report.metrics if m.met is False}
    assert failed & set(COUNTS) == {
        {"tasks": COUNTS[0], "sockets": COUNTS[1], "fds": COUNTS[2]}[field]}


def test_rss_growth_over_five_percent_fails_the_soak() -> None:
    assert _met(_judged(_sample(30, rss=104.9)), "RSS growth from 10 s to 30 s") is True
    assert _met(_judged(_sample(30, rss=105.1)), "RSS growth from 10 s to 30 s") is False
