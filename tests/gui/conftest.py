"""GUI tests run pytest-qt on a qasync loop, chosen through pytest-asyncio's loop-factory hook.

Never call ``qtbot.wait*`` inside an async test: it starts a nested Qt loop under the running
qasync loop and hangs. Await the task, or poll with ``until`` below.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import qasync
from PySide6.QtWidgets import QApplication


def _qapp() -> QApplication:
    app = QApplication.instance() or QApplication(["closeout-tests"])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    return app


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"qasync": lambda: qasync.QEventLoop(_qapp())}


@pytest.fixture(scope="session")
def qapp(qapp_args: list[str]) -> QApplication:
    return _qapp()


async def until(predicate: Callable[[], Any], timeout: float = 10.0, what: str = "") -> None:
    """Poll ``predicate`` on the running loop; the async stand-in for qtbot.waitUntil."""
    async with asyncio.timeout(timeout):
        while not predicate():  # noqa: ASYNC110 - polls state owned by Qt widgets
            await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    """Collect Qt wrappers on the GUI thread after each test. Left to chance, the cyclic GC can
    run them on the simulator's thread in a later test, where Qt warns "Timers cannot be stopped
    from another thread" or crashes."""
    yield
    gc.collect()
