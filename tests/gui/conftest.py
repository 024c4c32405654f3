"""GUI tests run pytest-qt on a qasync loop, chosen through pytest-asyncio's loop-factory hook.

Never call ``qtbot.wait*`` inside an async test: it starts a nested Qt loop under the running
qasync loop and hangs. Await the task, or poll with ``until`` (tests.helpers.polling).
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator, Mapping

import pytest
import qasync
from PySide6.QtWidgets import QApplication

from tests.helpers.polling import until

__all__ = ["until"]


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


@pytest.fixture(autouse=True)
def collect_qt_garbage() -> Iterator[None]:
    """Collect Qt wrappers on the GUI thread after each test. Left to chance, the cyclic GC can
    run them on the simulator's thread in a later test, where Qt warns "Timers cannot be stopped
    from another thread" or crashes."""
    yield
    gc.collect()
