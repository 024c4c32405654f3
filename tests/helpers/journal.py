"""A gate for the journal's writer thread: tests pause it, count its transactions, or make a
write fail, without any timing."""

from __future__ import annotations

import threading

__all__ = ["Gate"]


class Gate:
    """The ``before_commit`` hook of a Journal: every transaction waits here until the gate is
    open, and its size is recorded. ``fail_with`` makes the next transaction raise."""

    def __init__(self, *, opened: bool = True) -> None:
        self._open = threading.Event()
        if opened:
            self._open.set()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.batches: list[int] = []  # rows per transaction, in order
        self.fail_with: BaseException | None = None

    def __call__(self, rows: int) -> None:
        with self._arrived:
            self.batches.append(rows)
            self._arrived.notify_all()
        if not self._open.wait(timeout=30):  # a test that forgot to open it fails, not hangs
            raise TimeoutError("the test never opened the journal's gate")
        if self.fail_with is not None:
            exc, self.fail_with = self.fail_with, None
            raise exc

    def open(self) -> None:
        self._open.set()

    def close(self) -> None:
        self._open.clear()

    def wait_arrivals(self, n: int, timeout: float = 10.0) -> None:
        """Block until ``n`` transactions have reached the gate."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.batches) >= n, timeout):
                raise TimeoutError(f"only {len(self.batches)} transaction(s) reached the gate")
