"""The app as a benchmark sees it: the real ``MainWindow`` over a real ``Desk`` and a real
``Journal`` (a temporary file), on the app's own qasync loop, and the instruments around it:
the loop-lag probe, paints, header clicks, memory and the load average.

Only stable public surfaces are touched (the window's views, header and filter box, the desk,
the journal's constructor), and anything newer is looked up with ``getattr`` so the same
benchmark runs against the code before and after a change.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from bench._feed import BenchSession
from bench.report import Distribution, Metric, distribution, load_average

T = TypeVar("T")

__all__ = [
    "LagProbe",
    "Stack",
    "close_stack",
    "column",
    "open_stack",
    "paint",
    "rss_mb",
    "run_on_qt",
    "until",
]


# --------------------------------------------------------------------------- the loop
def run_on_qt(main: Callable[[], Coroutine[Any, Any, T]], *, style: bool = True) -> T:
    """Run ``main()`` on a fresh qasync loop over the (one) QApplication.

    ``style``: style it as the app does (its style sheet makes painting dearer, and a benchmark
    paints what users see). Tiny runs leave it alone: they share the test process's
    application, and their figures mean nothing anyway.
    """
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import qasync
    from PySide6.QtWidgets import QApplication

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(["closeout-bench"])
    app.setQuitOnLastWindowClosed(False)
    if style:
        _apply_app_style(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    errors: list[str] = []

    def on_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        errors.append(f"{context.get('message', '')}: {context.get('exception', '')!r}")
        loop.default_exception_handler(context)

    # A callback or task that failed unseen would leave figures that look fine: fail instead.
    loop.set_exception_handler(on_error)
    try:
        result: T = loop.run_until_complete(main())
        if errors:
            raise RuntimeError("the event loop reported errors: " + "; ".join(errors))
        return result
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        gc.collect()


def _apply_app_style(app: Any) -> None:
    """The app's own styling (``gui.app``), where it can be found."""
    try:
        import gui.app as gui_app
    except ImportError:
        return
    apply = getattr(gui_app, "_apply_style", None) or getattr(gui_app, "apply_style", None)
    if apply is not None:
        apply(app)


async def until(predicate: Callable[[], object], timeout: float, what: str,
                poll: float = 0.001) -> None:
    """Let the loop run until ``predicate()`` holds (polled every ``poll`` s)."""
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(poll)


# --------------------------------------------------------------------------- the window
@dataclass
class Stack:
    window: Any  # gui.main_window.MainWindow
    desk: Any  # core.desk.Desk
    journal: Any  # core.journal.Journal
    sessions: dict[str, BenchSession]
    tmp: tempfile.TemporaryDirectory[str]
    started: float = field(default_factory=time.perf_counter)

    @property
    def view(self) -> Any:
        return self.window.positionsView

    @property
    def rows_shown(self) -> int:
        return int(self.view.model().rowCount())


def _real_session_factory() -> Callable[..., Any]:
    try:
        from core.desk.desk import default_session_factory
    except ImportError:  # moved: build the venue's own session class as the desk does
        from core.venues import session_class

        def by_venue(account: Any, credentials: Any, sink: Any) -> Any:
            return session_class(account.venue)(account, credentials, sink)

        return by_venue
    return default_session_factory


async def open_stack(*, load: Mapping[str, Sequence[Any]] | None = None,
                     confirm: str = "never", show: bool = True) -> Stack:
    """The window over a desk and a journal in a temporary directory, shown at 1280×800.

    ``load`` maps account names to the positions their ``BenchSession`` opens with; any other
    account a benchmark connects gets the venue's real session.
    """
    from core.desk import Desk
    from core.journal import Journal
    from core.settings import Preferences
    from gui.main_window import MainWindow

    tmp = tempfile.TemporaryDirectory(prefix="closeout-bench-")
    journal = Journal(Path(tmp.name) / "journal.sqlite3", operator="bench")
    sessions: dict[str, BenchSession] = {}
    initial = dict(load or {})
    real = _real_session_factory()

    def factory(account: Any, credentials: Any, sink: Any) -> Any:
        if account.name in initial:
            session = BenchSession(account, credentials, sink, initial[account.name])
            sessions[account.name] = session
            return session
        return real(account, credentials, sink)

    desk = Desk(journal=journal, session_factory=factory)
    # Rows never go stale here: the feeder is the venue, and staleness is not what is measured.
    prefs = Preferences(confirm=confirm, stale_after_s=3600.0)  # type: ignore[arg-type]
    window = MainWindow(desk, preferences=prefs)
    window.resize(1280, 800)
    if show:
        window.show()
        await asyncio.sleep(0.05)
    return Stack(window, desk, journal, sessions, tmp)


async def connect(stack: Stack, pairs: Iterable[tuple[Any, Any]]) -> list[str]:
    """Connect accounts as the app does: their badges first, then every session at once."""
    pairs = list(pairs)
    expect = getattr(stack.window, "expect_accounts", None)
    if expect is not None:
        expect(a for a, _ in pairs)
    failed: list[str] = await stack.desk.start(pairs)
    try:  # what the app does once its accounts have connected (the app waits 2 s more)
        from gui.app import settle_memory
    except ImportError:
        pass
    else:
        settle_memory()
    return failed


async def close_stack(stack: Stack) -> None:
    import shiboken6

    window = stack.window
    with contextlib.suppress(Exception):
        await window.shutdown()
    await stack.desk.stop()
    flush = getattr(stack.journal, "flush", None)
    if flush is not None:
        result = flush()
        if isinstance(result, Awaitable):
            await result
    window.close()
    shiboken6.delete(window)
    stack.journal.close()
    gc.collect()
    stack.tmp.cleanup()


async def in_qt(fn: Callable[[], T]) -> tuple[float, T]:
    """Call ``fn`` from a Qt timer callback, as real input arrives, and return when it was
    called (perf_counter) and what it returned.

    QTest's mouse functions may process events; inside a task's step that would run another
    task's step re-entrantly, which asyncio refuses ("Cannot enter into task").
    """
    from PySide6.QtCore import QTimer

    loop = asyncio.get_running_loop()
    done: asyncio.Future[tuple[float, T]] = loop.create_future()

    def call() -> None:
        started = time.perf_counter()
        try:
            result = fn()
        except BaseException as exc:
            if not done.done():
                done.set_exception(exc)
            return
        if not done.done():
            done.set_result((started, result))

    QTimer.singleShot(0, call)
    return await done


def column(view: Any, *words: str) -> int:
    """The table column whose header title contains one of ``words`` (case-insensitive)."""
    from PySide6.QtCore import Qt

    model = view.model()
    for col in range(model.columnCount()):
        title = str(model.headerData(col, Qt.Orientation.Horizontal,
                                     Qt.ItemDataRole.DisplayRole) or "").casefold()
        if any(w.casefold() in title for w in words):
            return col
    raise LookupError(f"no column titled {words}")


def cell(view: Any, row: int, col: int) -> str:
    model = view.model()
    return str(model.index(row, col).data() or "")


def number(text: str) -> Decimal | None:
    """A shown number back to a Decimal ("+1,234.5" -> 1234.5); None when not a number."""
    cleaned = text.replace(",", "").replace("\u2212", "-").replace(" ", "")
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def paint(*widgets: Any) -> None:
    """Paint now, synchronously, as the next frame would (offscreen it paints to the backing
    store just the same)."""
    for w in widgets:
        w.repaint()


def click_header(view: Any, col: int) -> None:
    """A mouse click on a header section, through the real header view (call it through
    ``in_qt``)."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    header = view.horizontalHeader()
    x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
    if not 0 <= x < header.viewport().width():
        view.scrollTo(view.model().index(0, col))
        x = header.sectionViewportPosition(col) + header.sectionSize(col) // 2
    QTest.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, QPoint(x, header.height() // 2))


def pointer_to(widget: Any) -> None:
    """Move the mouse pointer over ``widget``: a trader watching something else (call it
    through ``in_qt``)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    QTest.mouseMove(widget, QPoint(10, 10))


def sort_order(view: Any) -> tuple[int, bool]:
    """(sorted column, ascending) as the header shows it."""
    from PySide6.QtCore import Qt

    header = view.horizontalHeader()
    return header.sortIndicatorSection(), \
        header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder


# --------------------------------------------------------------------------- instruments
class LagProbe:
    """Event-loop lag: a 10 ms PreciseTimer, and how late each tick fires against the one
    before it (the expected time). A gap over 100 ms counts as blocked time."""

    def __init__(self, interval_ms: int = 10, blocked_over_s: float = 0.1) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.interval = interval_ms / 1000
        self.blocked_over = blocked_over_s
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._fire)
        self._reset(time.perf_counter())

    def _reset(self, now: float) -> None:
        self.samples: list[float] = []  # ms late
        self.blocked = 0.0
        self._last = now
        self._since = now

    def start(self) -> None:
        self._reset(time.perf_counter())
        self.timer.start()

    def _fire(self) -> None:
        now = time.perf_counter()
        self._gap(now)
        self._last = now

    def _gap(self, now: float) -> None:
        gap = now - self._last
        self.samples.append(max(0.0, gap - self.interval) * 1000)
        if gap > self.blocked_over:
            self.blocked += gap

    def take(self) -> LagWindow:
        """The lag since ``start`` or the last ``take``; the probe keeps running (the next
        tick is still measured from the last one)."""
        now = time.perf_counter()
        window = LagWindow(list(self.samples), self.blocked, now - self._since)
        last = self._last
        self._reset(now)
        self._last = last
        return window

    def stop(self) -> LagWindow:
        self.timer.stop()
        now = time.perf_counter()
        if now - self._last > self.interval:  # a block still running at the end counts too
            self._gap(now)
        return LagWindow(list(self.samples), self.blocked, now - self._since)


@dataclass
class LagWindow:
    samples: list[float]  # ms late, one per tick
    blocked: float  # seconds inside gaps over the threshold
    wall: float  # seconds observed

    def __add__(self, other: LagWindow) -> LagWindow:
        return LagWindow(self.samples + other.samples, self.blocked + other.blocked,
                         self.wall + other.wall)

    @property
    def spread(self) -> Distribution:
        return distribution(self.samples)

    @property
    def blocked_share(self) -> float:
        return self.blocked / self.wall if self.wall > 0 else float("nan")


def lag_metrics(name: str, lag: LagWindow) -> list[Metric]:
    """The loop-lag figures every load benchmark reports, against the targets."""
    d = lag.spread
    return [
        Metric(f"{name}: loop lag p99", d.p99, "ms", "< 16 ms", d.p99 < 16, d),
        Metric(f"{name}: loop lag max", d.max, "ms", "< 50 ms", d.max < 50, d),
        Metric(f"{name}: share of wall time blocked > 100 ms", lag.blocked_share * 100, "%",
               None, None),
    ]


def rss_mb() -> float:
    """This process's resident memory, in MB (psutil when installed, else /proc)."""
    try:
        psutil = importlib.import_module("psutil")
    except ImportError:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e6
    return float(psutil.Process().memory_info().rss) / 1e6


class LoadWatch:
    """The 1-minute load average, sampled whenever asked; reported as its range."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.sample()

    def sample(self) -> None:
        now = load_average()
        if now is not None:
            self.samples.append(now[0])

    def note(self) -> str:
        self.sample()
        if not self.samples:
            return "load average: not available"
        return (f"load average (1 min) during the run: {min(self.samples):.2f}–"
                f"{max(self.samples):.2f} on {os.cpu_count()} CPUs (this benchmark itself "
                "keeps about one busy)")
