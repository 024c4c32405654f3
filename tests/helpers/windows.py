"""Tearing down a test's main window in the one order that leaves nothing running behind it."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

import shiboken6
from PySide6.QtWidgets import QWidget

if TYPE_CHECKING:
    from core.desk import Desk
    from gui.main_window import MainWindow

__all__ = ["dispose", "kept", "shut"]

W = TypeVar("W", bound=QWidget)


async def shut(window: MainWindow, desk: Desk | None = None) -> None:
    """Stop the window's tasks, then the desk's connections, then destroy the window.

    Stop the simulator and close journals after this: the window must be gone before another
    thread can run a garbage collection (see ``dispose``).
    """
    await window.shutdown()
    if desk is not None:
        await desk.stop()
    dispose(window)


@contextmanager
def kept(widget: W, end: Callable[[W], object]) -> Iterator[W]:
    """Yield an open dialog or view; afterwards ``end`` it (``reject``, ``shutdown``), then
    destroy it on this thread, as ``dispose`` does a window."""
    try:
        yield widget
    finally:
        end(widget)
        dispose(widget)


def dispose(window: QWidget) -> None:
    """Destroy the window now, on this thread.

    A Python-owned widget left to the cyclic garbage collector may be finalised on whatever
    thread triggers the collection (a simulator's, say), and Qt then stops its timers from the
    wrong thread: a warning, sometimes a crash.
    """
    window.close()
    shiboken6.delete(window)
    gc.collect()
