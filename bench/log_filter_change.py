"""Order log: what a change of filter costs the window at 200,000 lines.

Method: a fresh ``MainWindow`` (as ``table_scale``, no accounts) whose log holds 200,000 order
lines (20 accounts, 500 symbols, messages with numbers in them). Each change is made as the
filter bar makes it (``LogFilters.apply``, as Enter or a choice does), from inside a turn of
the loop, while a zero-interval timer stamps every turn: the longest gap between two stamps
is the longest single turn the change caused (an upper bound: it holds the stamp itself),
and the time from the change to the filtered view on screen is the total. Changes: a search
turned on, a search changed, kind and status chosen, and everything cleared; three times
each. A change that rescans in slices spreads its work over many short turns; one done in one
go is one long turn.

Budget: about 10 s on a 2-core machine (three windows of 200,000 lines).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench._window import close_stack, open_stack, run_on_qt
from bench.report import Metric, Report, distribution, load_average

TITLE = "Order log: a filter change at 200,000 lines (longest loop turn, time to the view)"
SIZE, TINY = 200_000, 5_000
TURN_TARGET_MS = 16.0  # a frame: the window never freezes while a filter changes


def _fill(window: Any, size: int) -> None:
    from gui.models.log import LogEntry

    log = window.log_model
    for i in range(size):
        log.append(LogEntry(
            at=1.7e9 + i / 1000, kind="Order" if i % 3 else "Fill", venue="QFEX",
            account=f"bench-{i % 20:02d}", symbol=f"S{i % 500:05d}-USD",
            status="ACK" if i % 2 else "FILLED", raw_status="NEW", quantity="5",
            price="101.25", message=f"order o-{i} acknowledged"))
    log.flush()


def _choose(combo: Any, value: str) -> None:
    combo.blockSignals(True)
    combo.setCurrentIndex(max(combo.findData(value), 0))
    combo.blockSignals(False)


def _set(window: Any, search: str, kind: str = "", status: str = "") -> None:
    bar = window.logPane.bar
    for edit in (bar.search,):
        edit.blockSignals(True)
        edit.setText(search)
        edit.blockSignals(False)
    _choose(bar.kind, kind)
    _choose(bar.status, status)


async def _change(window: Any, settings: Callable[[], None]) -> tuple[float, float]:
    """The longest loop turn and the seconds to the view, for one change."""
    from PySide6.QtCore import QTimer

    stamps: list[float] = []
    ticker = QTimer()
    ticker.setInterval(0)
    ticker.timeout.connect(lambda: stamps.append(time.perf_counter()))
    started: list[float] = []

    def change() -> None:
        settings()
        started.append(time.perf_counter())
        window.log_filters.apply()

    def settled() -> bool:
        filters = window.log_filters
        return bool(started) and not getattr(filters, "busy", False)

    ticker.start()
    await asyncio.sleep(0.05)
    QTimer.singleShot(0, change)
    while not settled():  # noqa: ASYNC110 - no event says so; a turn each look
        await asyncio.sleep(0)
    done = time.perf_counter()
    window.logView.model().rowCount()
    await asyncio.sleep(0.05)
    ticker.stop()
    turns = [b - a for a, b in itertools.pairwise(stamps) if b >= started[0]]
    return max(turns, default=0.0), done - started[0]


async def _one(size: int, out: dict[str, list[float]]) -> None:
    stack = await open_stack()
    try:
        w = stack.window
        _fill(w, size)
        if w.log_model.line_count < size:
            raise RuntimeError("the log did not take every line")
        for name, search, kind, status in (
                ("search on", "o-12", "", ""), ("search changed", "o-123", "", ""),
                ("kind and status", "", "Order", "ACK"), ("cleared", "", "", "")):
            turn, total = await _change(w, lambda s=search, k=kind, t=status: _set(w, s, k, t))
            out[f"{name}: longest turn"].append(turn)
            out[f"{name}: to the view"].append(total)
    finally:
        await close_stack(stack)


def run(*, tiny: bool, repeat: int = 3) -> Report:
    size = TINY if tiny else SIZE
    out: dict[str, list[float]] = defaultdict(list)

    async def main() -> None:
        for _ in range(max(1, repeat)):
            await _one(size, out)

    run_on_qt(main, style=not tiny)
    report = Report(TITLE, tiny=tiny)
    for name, samples in out.items():
        spread = distribution([s * 1000 for s in samples])
        turn = name.endswith("turn")
        report.add(Metric(
            f"{name}, {size:,} lines", spread.max if turn else spread.p50, "ms",
            f"<= {TURN_TARGET_MS:g} ms (max)" if turn else None,
            spread.max <= TURN_TARGET_MS if turn else None, spread))
    report.notes.append(
        "a change made from inside a loop turn, as Enter or a choice in the bar makes it; "
        "'longest turn' is the longest gap between two turns of a zero-interval timer from "
        "the change until the view shows the result (its max over the runs is the figure), "
        "'to the view' the time from the change to the result shown (median).")
    report.load_average = load_average()
    return report


if __name__ == "__main__":
    from bench.__main__ import print_report

    print_report(run(tiny=False), "log_filter_change")
