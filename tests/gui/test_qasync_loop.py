"""The GUI tests' qasync loop runs its callbacks only while it runs (tests/gui/conftest.py)."""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QApplication

from tests.gui.conftest import _TestLoop


def test_a_callback_due_while_the_loop_is_stopped_waits_for_it_to_run(
    qapp: QApplication,
) -> None:
    loop = _TestLoop(qapp)
    seen: list[asyncio.AbstractEventLoop | None] = []
    try:
        loop.call_soon(lambda: seen.append(asyncio.get_running_loop()))
        dropped = loop.call_soon(lambda: seen.append(None))
        qapp.processEvents()  # what pytest-qt does between a fixture and its test
        assert seen == []
        dropped.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        assert seen == [loop]
    finally:
        loop.close()
