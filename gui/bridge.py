"""The seam between core (asyncio, callbacks) and Qt (signals).

:class:`DeskBridge` subscribes to the desk and hands its events to the window as one Qt
signal per loop turn, carrying every event of that turn in order. A signal per event cost
more than the event's own work: at 5,000 order updates a second, emitting them one by one
kept the loop busy for tens of milliseconds at a time. :class:`TaskTracker` owns every
coroutine the GUI starts: it keeps a reference (asyncio only holds weak ones), and it logs
and surfaces any exception, because a task whose failure nobody sees is a silent lost close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from core.desk import Desk, DeskEvent

__all__ = ["DeskBridge", "TaskTracker"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class DeskBridge(QObject):
    """Turns desk callbacks into Qt signals. Call :meth:`detach` before the desk goes away.

    ``events`` carries a list of desk events, in the desk's order. Events that arrive while
    the loop runs are gathered until the loop's next turn, so a burst (a venue's positions
    frame, the journal releasing held updates) is one emit of up to ``MAX_BATCH``. With no
    loop running (a script, a synchronous test) each event goes out at once.
    """

    events = Signal(object)  # list[DeskEvent]
    MAX_BATCH = 1000  # events handed over in one turn of the loop

    def __init__(self, desk: Desk, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self._pending: list[DeskEvent] = []
        self._unsubscribe: Callable[[], None] | None = desk.subscribe(self._on_event)

    def detach(self) -> None:
        """Stop listening; what was gathered and not yet handed over is handed over now."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.flush()

    @property
    def pending(self) -> int:
        """Events gathered for the next hand-over."""
        return len(self._pending)

    def flush(self) -> None:
        """Hand over everything gathered, now (a test, a window going away)."""
        while self._pending:
            batch, self._pending = self._pending, []
            self.events.emit(batch)

    def _turn(self) -> None:
        """The loop's callback: hand over at most ``MAX_BATCH`` events, so the journal
        releasing a backlog of thousands never holds the loop for tens of milliseconds; the
        rest follow on the next turn, in order."""
        pending = self._pending
        if len(pending) <= self.MAX_BATCH:
            self._pending = []
        else:
            pending, self._pending = pending[:self.MAX_BATCH], pending[self.MAX_BATCH:]
            self._schedule()
        if pending:
            self.events.emit(pending)

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()  # no loop to come back on
            return
        loop.call_soon(self._turn)

    def _on_event(self, event: DeskEvent) -> None:
        pending = self._pending
        pending.append(event)
        if len(pending) > 1:
            return  # the hand-over is already scheduled
        self._schedule()


class TaskTracker(QObject):
    """Holds every task the GUI starts and reports the ones that fail."""

    failed = Signal(str, str)  # task name, error text

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        return frozenset(self._tasks)

    def spawn(self, coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
        loop = _current_loop()
        task = loop.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is None:
            return
        log.error("GUI task %r failed", task.get_name(), exc_info=exc)
        self.failed.emit(task.get_name(), f"{type(exc).__name__}: {exc}")

    async def join(self, timeout: float | None = None) -> None:
        """Wait for every tracked task (including ones spawned while waiting)."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.wait(set(self._tasks))

    async def cancel_all(self) -> None:
        tasks = set(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


def _current_loop() -> asyncio.AbstractEventLoop:
    """The running loop, or (from a Qt slot before qasync runs) the installed one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.get_event_loop_policy().get_event_loop()
