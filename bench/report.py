"""What every benchmark returns, and how ``python -m bench`` writes it down.

Each benchmark module in ``bench/`` exposes ``TITLE`` and ``run(*, tiny: bool) -> Report``.
``tiny`` is the size ``make test`` runs so every benchmark keeps working; it asserts nothing
about time. The full size is what ``make bench`` measures against the targets.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Distribution", "Metric", "Report", "distribution", "load_average"]


@dataclass(frozen=True, slots=True)
class Distribution:
    """p50/p99/max of a sample, in the metric's unit."""

    n: int
    p50: float
    p99: float
    max: float


def distribution(samples: Sequence[float]) -> Distribution:
    if not samples:
        return Distribution(0, float("nan"), float("nan"), float("nan"))
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]
    return Distribution(len(ordered), statistics.median(ordered), p99, ordered[-1])


@dataclass(slots=True)
class Metric:
    """One measured figure. ``target`` is the text of the goal ("<= 0.3 s"); ``met`` is
    whether the value reached it (None when there is no target)."""

    name: str
    value: float | None
    unit: str
    target: str | None = None
    met: bool | None = None
    spread: Distribution | None = None


@dataclass(slots=True)
class Report:
    title: str
    metrics: list[Metric] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_average: tuple[float, float, float] | None = None
    tiny: bool = False

    def add(self, metric: Metric) -> Metric:
        self.metrics.append(metric)
        return metric

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def load_average() -> tuple[float, float, float] | None:
    """The 1/5/15-minute load average, reported beside every run (None where unsupported)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return None
    return (one, five, fifteen)
