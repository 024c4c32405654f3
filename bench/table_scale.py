"""Table scale: the positions table at 1k, 10k and 50k rows in the real window.

The real ``MainWindow`` over a real ``Desk``; positions arrive as a venue session delivers them
(a ``PositionsSnapshot`` per account, through the session's sink). Measured, each until the
table is repainted (``viewport().repaint()`` at the end of the clock):

* insert: from the first snapshot until every row is in the table and painted (and how much
  of it the garbage collector took: at 50k rows its full passes are a large share);
* sort: a mouse click on the Unrealised P&L header (ascending), then a second (descending);
* filter: typing a symbol filter that keeps about 1 % of rows, then clearing it.

Also the longest event-loop stall during the insert (a 10 ms ``PreciseTimer``'s delay). No
journal is attached: positions are not journaled, so it would not change these figures. Two
accounts per venue: with many more, the header strips widen the window past any screen,
which makes every repaint dearer and is not what this measures.

    python -m bench.table_scale [--tiny] [--sizes 1000,10000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from bench.report import Metric, Report, load_average

if TYPE_CHECKING:
    from core.model import Position

TITLE = "Table scale: insert, sort and filter the positions table (real window, real desk)"

SIZES = (1_000, 10_000, 50_000)
TINY_SIZES = (200,)
ACCOUNTS_PER_VENUE = 2  # more widens the window past any screen (health strip: ~400 px each)
# (what, rows) -> target in seconds, from the issue.
TARGETS: dict[tuple[str, int], float] = {
    ("insert", 10_000): 0.3,
    ("insert", 50_000): 1.5,
    ("sort P&L", 10_000): 0.1,
    ("sort P&L", 50_000): 0.3,
    ("sort P&L reversed", 10_000): 0.1,
    ("sort P&L reversed", 50_000): 0.3,
    ("filter clear", 10_000): 0.1,
    ("filter set", 10_000): 0.1,
}


def _positions(n: int, seed: int = 7) -> dict[tuple[str, str], list[Position]]:
    """``n`` positions over 2 venues x 2 accounts, with ties in every numeric column."""
    from core.model import Position, PositionKey, PositionSide
    from core.venues.everstrike import EVERSTRIKE
    from core.venues.qfex import QFEX

    rng = random.Random(seed)
    accounts = [(QFEX, f"qfex-{i:02d}") for i in range(ACCOUNTS_PER_VENUE)] + \
        [(EVERSTRIKE, f"ever-{i:02d}") for i in range(ACCOUNTS_PER_VENUE)]
    out: dict[tuple[str, str], list[Position]] = {(v.value, a): [] for v, a in accounts}
    for i in range(n):
        venue, acct = accounts[i % len(accounts)]
        qty = Decimal(rng.randint(1, 400)) / 4
        entry = Decimal(rng.randint(1_000, 500_000)) / 100
        mark = entry + Decimal(rng.randint(-2_000, 2_000)) / 100
        side = PositionSide.LONG if rng.random() < 0.6 else PositionSide.SHORT
        sign = 1 if side is PositionSide.LONG else -1
        out[(venue.value, acct)].append(Position(
            key=PositionKey(acct, venue, f"C{i // len(accounts):05d}-USD"), side=side,
            quantity=qty, entry_price=entry, mark_price=mark,
            unrealised_pnl=(mark - entry) * qty * sign))
    return out


class _GcClock:
    """Seconds spent in the garbage collector while running (it pauses the event loop too)."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0
        self.running = False

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if not self.running:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._started

    def __enter__(self) -> _GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self)


class _LagProbe:
    """How late a 10 ms PreciseTimer fires: the event loop's stalls."""

    def __init__(self) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.worst = 0.0
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.worst = 0.0
        self._last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst = max(self.worst, now - self._last - 0.010)
        self._last = now


async def _until(done: Callable[[], bool], timeout: float = 600.0) -> None:
    deadline = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > deadline:
            raise TimeoutError("the table never caught up")
        await asyncio.sleep(0.001)


async def _one_size(n: int) -> dict[str, float]:
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    from core.desk import Desk
    from core.model import PositionsSnapshot
    from core.venue import AccountConfig, Credentials, EventSink
    from core.venues import venue_named
    from gui.main_window import MainWindow
    from gui.models import PositionColumn
    from tests.helpers.fakes import FakeSession, account

    by_account = _positions(n)
    sessions: dict[str, FakeSession] = {}

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        sessions[acct.name] = s
        return s

    desk = Desk(session_factory=factory)
    window = MainWindow(desk, history_poll_ms=3_600_000, health_interval_ms=3_600_000)
    window.show()
    view = window.positionsView
    model, proxy = window.positions_model, window.positions_proxy
    probe = _LagProbe()
    out: dict[str, float] = {}
    try:
        creds = Credentials("pub", "sec")
        failed = await desk.start([(account(a, venue_named(v)), creds)
                                   for v, a in by_account])
        assert failed == [], failed
        await asyncio.sleep(0.1)
        view.viewport().repaint()

        probe.start()
        with _GcClock() as gc_clock:
            gc_clock.running = True
            t0 = time.perf_counter()
            for (_venue, acct), rows in by_account.items():
                s = sessions[acct]
                s.sink(PositionsSnapshot(s.account.venue, acct, tuple(rows)))
                await asyncio.sleep(0)  # each account's snapshot is its own frame, its own turn
            await _until(lambda: model.rowCount() == n and proxy.rowCount() == n
                         and model.pending_count == 0)
            view.viewport().repaint()
            out["insert"] = time.perf_counter() - t0
            gc_clock.running = False
        probe.stop()
        out["insert: of which garbage collection"] = gc_clock.total
        out["insert: longest loop stall"] = probe.worst
        await asyncio.sleep(0.05)

        header = view.horizontalHeader()
        col = int(PositionColumn.PNL)
        at = QPoint(header.sectionViewportPosition(col) + header.sectionSize(col) // 2,
                    header.height() // 2)
        for what in ("sort P&L", "sort P&L reversed"):
            t0 = time.perf_counter()
            QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                             Qt.KeyboardModifier.NoModifier, at)
            view.viewport().repaint()
            out[what] = time.perf_counter() - t0
            await asyncio.sleep(0.05)
        assert header.sortIndicatorSection() == col

        t0 = time.perf_counter()
        window.symbolFilter.setText("C0004")
        view.viewport().repaint()
        out["filter set"] = time.perf_counter() - t0
        shown = proxy.rowCount()
        assert 0 < shown < n or n < 1000, shown
        await asyncio.sleep(0.05)
        t0 = time.perf_counter()
        window.symbolFilter.clear()
        view.viewport().repaint()
        out["filter clear"] = time.perf_counter() - t0
        assert proxy.rowCount() == n
    finally:
        probe.stop()
        await window.shutdown()
        await desk.stop()
        window.close()
        window.deleteLater()
        await asyncio.sleep(0)
    return out


def _measure(sizes: tuple[int, ...]) -> dict[int, dict[str, float]]:
    import qasync
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(["table-scale"])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    results: dict[int, dict[str, float]] = {}
    for n in sizes:
        loop = qasync.QEventLoop(app)
        try:
            results[n] = loop.run_until_complete(_one_size(n))
        finally:
            loop.close()
        gc.collect()
    return results


def run(*, tiny: bool) -> Report:
    sizes = TINY_SIZES if tiny else SIZES
    report = Report(TITLE, tiny=tiny)
    results = _measure(sizes)
    for n, figures in results.items():
        for what, seconds in figures.items():
            target = TARGETS.get((what, n))
            report.add(Metric(
                f"{what}, {n:,} rows", round(seconds * 1000, 1), "ms",
                target=None if target is None else f"<= {target * 1000:g} ms",
                met=None if target is None else seconds <= target))
    report.notes.append("Each figure is wall time until the table is repainted, offscreen.")
    report.load_average = load_average()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tiny", action="store_true")
    parser.add_argument("--sizes", default="")
    args = parser.parse_args()
    if args.sizes:
        report = Report(TITLE)
        for n, figures in _measure(tuple(int(s) for s in args.sizes.split(","))).items():
            for what, seconds in figures.items():
                report.add(Metric(f"{what}, {n:,} rows", round(seconds * 1000, 1), "ms"))
        report.load_average = load_average()
    else:
        report = run(tiny=args.tiny)
    for m in report.metrics:
        flag = "" if m.met is None else ("  ok" if m.met else f"  MISSES {m.target}")
        print(f"{m.name:>48}: {m.value:>10} {m.unit}{flag}")
    print("load average:", report.load_average)


if __name__ == "__main__":
    main()
