"""The desk's events reach the window in order, none lost or doubled: gathered into one
signal per loop turn of at most ``MAX_BATCH``, or at once when no loop runs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication

from gui.bridge import DeskBridge


class FakeDesk:
    def __init__(self) -> None:
        self.listeners: list[Callable[[Any], None]] = []

    def subscribe(self, listener: Callable[[Any], None]) -> Callable[[], None]:
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def emit(self, event: object) -> None:
        for listener in list(self.listeners):
            listener(event)


def bridged() -> tuple[FakeDesk, DeskBridge, list[list[object]]]:
    desk = FakeDesk()
    bridge = DeskBridge(desk)  # type: ignore[arg-type]
    got: list[list[object]] = []
    bridge.events.connect(lambda batch: got.append(list(batch)))
    return desk, bridge, got


def test_without_a_loop_each_event_goes_out_at_once(qapp: QApplication) -> None:
    desk, _, got = bridged()
    desk.emit("a")
    assert got == [["a"]]
    desk.emit("b")
    assert got == [["a"], ["b"]]


@pytest.mark.asyncio
async def test_a_turns_events_are_one_signal_in_order(qapp: QApplication) -> None:
    desk, bridge, got = bridged()
    for i in range(5):
        desk.emit(i)
    assert got == [] and bridge.pending == 5
    await asyncio.sleep(0)
    assert got == [[0, 1, 2, 3, 4]] and bridge.pending == 0


@pytest.mark.asyncio
async def test_a_backlog_goes_out_in_bounded_turns_none_lost_or_doubled(
        qapp: QApplication) -> None:
    desk, bridge, got = bridged()
    sent = list(range(2 * DeskBridge.MAX_BATCH + 500))
    for i in sent:
        desk.emit(i)
    sizes = []
    while bridge.pending:
        await asyncio.sleep(0)
        sizes.append(sum(map(len, got)))
    assert [len(b) for b in got] == [DeskBridge.MAX_BATCH, DeskBridge.MAX_BATCH, 500]
    assert [e for b in got for e in b] == sent
    assert sizes[-1] == len(sent)


@pytest.mark.asyncio
async def test_flush_and_detach_hand_over_everything_now(qapp: QApplication) -> None:
    desk, bridge, got = bridged()
    for i in range(DeskBridge.MAX_BATCH + 3):
        desk.emit(i)
    bridge.flush()
    assert [e for b in got for e in b] == list(range(DeskBridge.MAX_BATCH + 3))
    desk.emit("last")
    bridge.detach()
    assert got[-1] == ["last"] and desk.listeners == []
    await asyncio.sleep(0)  # the turn scheduled for "last" finds nothing left
    assert [e for b in got for e in b].count("last") == 1


@pytest.mark.allow_error_logs  # the broken view's failure is logged, as it should be
def test_a_failing_handler_does_not_keep_the_rest_of_the_turn_from_the_window(
        qapp: QApplication, caplog: pytest.LogCaptureFixture) -> None:
    from types import SimpleNamespace

    from gui.controllers.feed import DeskFeed

    shown: list[object] = []

    def show(event: object) -> None:
        if event == "bad":
            raise RuntimeError("a broken view")
        shown.append(event)

    feed = DeskFeed(SimpleNamespace(desk=None))  # type: ignore[arg-type]
    feed._routes = {str: show}
    feed.on_events(["a", "bad", "b", 7, "c"])  # 7 has no route: skipped
    assert shown == ["a", "b", "c"]
    assert "the window failed to show str" in caplog.text
