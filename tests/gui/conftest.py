"""GUI tests run pytest-qt on a qasync loop, chosen through pytest-asyncio's loop-factory hook.

Never call ``qtbot.wait*`` inside an async test: it starts a nested Qt loop under the running
qasync loop and hangs. Await the task, or poll with ``until`` (tests.helpers.polling).

An async fixture and its test run the loop separately (one ``run_until_complete`` each), and
pytest-qt processes Qt events in between. A fixture must therefore return with nothing half
done: every connection open and its first data in (``until``), never a connect in flight.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator, Mapping
from contextvars import Context
from pathlib import Path
from typing import Any

import pytest
import qasync
from PySide6.QtCore import QPoint
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QApplication

from tests.helpers.polling import until

__all__ = ["until"]


def _qapp() -> QApplication:
    app = QApplication.instance() or QApplication(["closeout-tests"])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    return app


class _TestLoop(qasync.QEventLoop):  # type: ignore[misc]
    """A qasync loop that runs its callbacks only while it runs, as every asyncio loop does.

    qasync runs a ready callback whenever Qt processes events, including while the loop is
    stopped: in the last ``processEvents`` of ``run_until_complete``, and in pytest-qt's
    between a fixture and its test. There ``asyncio.get_running_loop()`` fails, so websockets'
    ``connection_made`` or a keep-alive task dies half way ("no running event loop", then
    "no attribute 'transport'"). The app never stops its loop, so it never sees this. Here a
    callback that comes due while the loop is stopped is held, and queued again, in order,
    when the loop next runs; closing the loop drops it, as asyncio drops its ready queue.
    """

    def __init__(self, app: QApplication) -> None:
        super().__init__(app)
        self._held: list[asyncio.Handle] = []

    def call_later(
        self, delay: float, callback: Callable[..., object], *args: Any,
        context: Context | None = None,
    ) -> asyncio.Handle:
        handle: asyncio.Handle | None = None

        def when_running(*a: Any) -> None:
            if self.is_running():
                callback(*a)
            elif handle is not None and not handle.cancelled():
                self._held.append(handle)

        handle = super().call_later(delay, when_running, *args, context=context)
        assert handle is not None
        return handle

    def run_forever(self) -> None:
        held, self._held = self._held, []
        for handle in held:
            self._add_callback(handle)  # a cancelled handle is skipped by qasync
        super().run_forever()

    def close(self) -> None:
        self._held.clear()
        super().close()


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"qasync": lambda: _TestLoop(_qapp())}


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


@pytest.fixture(autouse=True)
def park_the_pointer(qapp: QApplication) -> None:
    """Start each test with the pointer off every screen. A test that moved it (QTest.mouseMove
    moves the application's cursor) would otherwise leave it where the next test's window
    opens, and that window's table would see the pointer enter and hold its live sort."""
    QCursor.setPos(QPoint(-5000, -5000))


@pytest.fixture
def settings_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where the app will read and write settings.toml: per test, under ``tmp_path`` (the
    journal's data directory too), so nothing can touch the real home or another test."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "config" / "closeout" / "settings.toml"
