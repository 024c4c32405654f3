"""The seam between core (asyncio, callbacks) and Qt (signals).

:class:`DeskBridge` subscribes to the desk and re-emits each event as a typed Qt signal, so
widgets never import the desk's listener protocol. :class:`TaskTracker` owns every coroutine
the GUI starts: it keeps a reference (asyncio only holds weak ones), and it logs and surfaces
any exception, because a task whose failure nobody sees is a silent lost close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from PySide6.QtCore import QObject, Signal

from core.desk import Desk, DeskEvent, IntentChanged, PositionUpserted
from core.model import (
    ConnectionEvent,
    Fill,
    MarkUpdate,
    OrderUpdate,
    PositionRemoved,
    ProtocolError,
    WorkingOrder,
    WorkingOrderRemoved,
)

__all__ = ["DeskBridge", "TaskTracker"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class DeskBridge(QObject):
    """Turns desk callbacks into Qt signals. Call :meth:`detach` before the desk goes away."""

    positionUpserted = Signal(object)  # core.model.Position
    positionRemoved = Signal(object)  # core.model.PositionKey
    intentChanged = Signal(object)  # core.desk.CloseIntent
    orderUpdate = Signal(object)  # core.model.OrderUpdate
    fill = Signal(object)  # core.model.Fill
    connectionChanged = Signal(object)  # core.model.ConnectionEvent
    protocolError = Signal(object)  # core.model.ProtocolError
    markUpdated = Signal(object)  # core.model.MarkUpdate
    workingOrder = Signal(object)  # core.model.WorkingOrder (new or changed)
    workingOrderRemoved = Signal(object)  # core.model.WorkingOrderRemoved
    logEvent = Signal(object)  # any event the log pane shows

    def __init__(self, desk: Desk, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self._unsubscribe: Callable[[], None] | None = desk.subscribe(self._on_event)

    def detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_event(self, event: DeskEvent) -> None:
        if isinstance(event, PositionUpserted):
            self.positionUpserted.emit(event.position)
        elif isinstance(event, PositionRemoved):
            self.positionRemoved.emit(event.key)
        elif isinstance(event, IntentChanged):
            self.intentChanged.emit(event.intent)
        elif isinstance(event, MarkUpdate):
            self.markUpdated.emit(event)
        elif isinstance(event, OrderUpdate):
            self.orderUpdate.emit(event)
            self.logEvent.emit(event)
        elif isinstance(event, Fill):
            self.fill.emit(event)
            self.logEvent.emit(event)
        elif isinstance(event, ConnectionEvent):
            self.connectionChanged.emit(event)
            self.logEvent.emit(event)
        elif isinstance(event, ProtocolError):
            self.protocolError.emit(event)
            self.logEvent.emit(event)
        elif isinstance(event, WorkingOrder):
            self.workingOrder.emit(event)
        elif isinstance(event, WorkingOrderRemoved):
            self.workingOrderRemoved.emit(event)


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
