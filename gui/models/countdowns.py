"""Row notes that end by themselves: each row's note ends at its own deadline, all on one timer.

A partial close's "Closed 12.5 · 12.5 open" is such a note: it says what happened, then the
button goes back to Close. The clock is injectable, so a test moves time instead of waiting."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QTimer

from core.model import PositionKey

__all__ = ["Countdowns"]

K = PositionKey


class Countdowns(QObject):
    """Keys that each last ``ms`` from their ``start``; ``on_due`` hears of the ones that
    ended. ``expire`` (the timer's slot) ends every key whose deadline the clock has passed."""

    def __init__(self, ms: int, on_due: Callable[[Sequence[K]], None], *,
                 clock: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ms = ms
        self.clock = clock
        self._on_due = on_due
        self._until: dict[K, float] = {}
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.expire)

    def __contains__(self, key: object) -> bool:
        return key in self._until

    def start(self, key: K) -> None:
        """(Re)start ``key``'s countdown from now."""
        self._until[key] = self.clock() + self.ms / 1000
        self._arm()

    def drop(self, key: K) -> None:
        self._until.pop(key, None)

    def clear(self) -> None:
        self._until.clear()
        self.timer.stop()

    def expire(self) -> None:
        now = self.clock()
        due = [k for k, until in self._until.items() if until <= now]
        for key in due:
            del self._until[key]
        if due:
            self._on_due(due)
        self._arm()

    def _arm(self) -> None:
        if not self._until:
            self.timer.stop()
            return
        left = min(self._until.values()) - self.clock()
        self.timer.start(max(1, math.ceil(left * 1000)))
