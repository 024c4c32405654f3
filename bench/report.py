"""What every benchmark returns, and how ``python -m bench`` writes it down.

Each benchmark module in ``bench/`` exposes ``TITLE`` and ``run(*, tiny: bool) -> Report``.
``tiny`` is the size ``make test`` runs so every benchmark keeps working; it asserts nothing
about time. The full size is what ``make bench`` measures against the targets.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Distribution", "Metric", "Report", "distribution", "finite_json", "load_average"]


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
    whether the value reached it (None when there is no target); ``note`` says anything the
    figure needs beside it (how it was taken, why it is missing)."""

    name: str
    value: float | None
    unit: str
    target: str | None = None
    met: bool | None = None
    spread: Distribution | None = None
    note: str = ""

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Metric:
        spread = data.get("spread")
        return cls(
            name=str(data["name"]),
            value=None if data.get("value") is None else _float(data["value"]),
            unit=str(data.get("unit", "")),
            target=data.get("target"),
            met=data.get("met"),
            spread=None if spread is None else Distribution(
                int(spread["n"]), _float(spread["p50"]), _float(spread["p99"]),
                _float(spread["max"])),
            note=str(data.get("note", "")),
        )


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

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        """The inverse of ``to_json`` (how ``python -m bench`` reads a benchmark's result)."""
        load = data.get("load_average")
        return cls(
            title=str(data["title"]),
            metrics=[Metric.from_json(m) for m in data.get("metrics", [])],
            notes=[str(n) for n in data.get("notes", [])],
            load_average=None if load is None else (float(load[0]), float(load[1]),
                                                    float(load[2])),
            tiny=bool(data.get("tiny", False)),
        )

    def metric(self, name: str) -> Metric | None:
        """The first metric of that name, if any."""
        return next((m for m in self.metrics if m.name == name), None)


def _float(value: Any) -> float:
    """JSON has no NaN: a missing figure is written as null and read back as NaN."""
    return float("nan") if value is None else float(value)


def finite_json(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None, so it is valid (strict) JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


def load_average() -> tuple[float, float, float] | None:
    """The 1/5/15-minute load average, reported beside every run (None where unsupported)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return None
    return (one, five, fifteen)
