"""The close dialog's working orders and "Cancel them first", over the real desk and
cancel-first with hand-written venue fakes: the list, the box's default, each cancel's exact
request in the preview, cancels confirmed before the close goes, and a failed cancel that
stops the close."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QCheckBox, QWidget
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.flatten import CancelFirst
from core.model import PositionKey, WorkingOrder
from core.settings import Preferences
from core.venues.qfex import QFEX
from gui.dialogs.close import CloseDialog
from tests.helpers.fakes import FlatSession, World
from tests.helpers.polling import until
from tests.unit.core.flatten.test_flatten import make_desk, pos, resting

KEY = PositionKey("qa", QFEX, "AAPL-USD")
NEVER = Preferences(confirm="never", stale_after_s=3600.0)
W1_PREVIEW = "# 1. cancel order w1 (limit SELL 1 @ 120.00)\nCANCEL w1\n\n"


@dataclass
class Rig:
    desk: Desk
    world: World

    @property
    def session(self) -> FlatSession:
        return self.world.sessions["qa"]


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    world = World()
    desk = await make_desk(world, None, {"qa": [pos("qa", "AAPL-USD", "10")]},
                           orders={"qa": [resting("qa", "AAPL-USD", "w1")]})
    try:
        yield Rig(desk, world)
    finally:
        await desk.stop()


def open_dialog(qtbot: QtBot, rig: Rig, preferences: Preferences = NEVER) -> CloseDialog:
    desk = rig.desk
    dialog = CloseDialog(desk.positions[KEY], desk.capabilities(KEY), desk.instrument(KEY),
                         desk.close, preview=desk.preview, guard=desk.check,
                         preferences=preferences, cancel_first=CancelFirst(desk, KEY))
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


def click(qtbot: QtBot, widget: QWidget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def tick(qtbot: QtBot, box: QCheckBox) -> None:
    """Click the box where a user would: on its indicator (the widget is wider than that)."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


@pytest.mark.asyncio
async def test_a_full_close_lists_the_orders_and_cancels_them_first(qtbot: QtBot,
                                                                     rig: Rig) -> None:
    dialog = open_dialog(qtbot, rig)
    reported: list[str] = []
    dialog.reported.connect(reported.append)
    assert dialog.workingPanel.isVisible()
    assert "1 working order on AAPL-USD" in dialog.workingPanel.workingTitle.text()
    assert dialog.workingPanel.workingList.text() == "• limit SELL 1 @ 120.00 · order w1"
    assert dialog.cancelFirstInput.isChecked()  # on by default for a full close
    assert dialog.previewText.toPlainText() == (
        W1_PREVIEW + "# 2. then the close\nCLOSE AAPL-USD ALL")
    assert dialog.summaryLine.text().startswith("First cancel 1 working order, then ")

    click(qtbot, dialog.sendButton)
    assert dialog.task is not None
    await dialog.task
    assert rig.world.log == [("cancel", "w1"), ("close", "qa/AAPL-USD")]  # cancel, then close
    assert reported == ["Cancelled 1 working order, then sent the close of AAPL-USD on qa."]
    assert not dialog.isVisible()


@pytest.mark.asyncio
async def test_a_partial_close_leaves_the_box_clear_until_the_user_ticks_it(
    qtbot: QtBot, rig: Rig
) -> None:
    dialog = open_dialog(qtbot, rig)
    dialog.quantityInput.setText("4")
    assert not dialog.cancelFirstInput.isChecked()
    assert dialog.previewText.toPlainText() == "CLOSE AAPL-USD 4"  # no cancel in it
    tick(qtbot, dialog.cancelFirstInput)  # the user's choice
    assert dialog.cancelFirstInput.isChecked()
    assert dialog.previewText.toPlainText() == W1_PREVIEW + "# 2. then the close\nCLOSE AAPL-USD 4"
    dialog.quantityInput.setText("10")
    dialog.quantityInput.setText("3")
    assert dialog.cancelFirstInput.isChecked()  # the choice stands
    tick(qtbot, dialog.cancelFirstInput)
    dialog.quantityInput.setText("10")
    assert not dialog.cancelFirstInput.isChecked()  # cleared by hand: stays clear
    click(qtbot, dialog.sendButton)
    assert dialog.task is not None
    await dialog.task
    assert rig.world.log == [("close", "qa/AAPL-USD")]  # nothing cancelled
    assert [o.order_id for o in rig.desk.working_for(KEY)] == ["w1"]


@pytest.mark.asyncio
@pytest.mark.parametrize("why", ["no such order", "the venue did not answer in time"])
async def test_a_failed_cancel_sends_no_close_and_says_so(qtbot: QtBot, rig: Rig,
                                                          why: str) -> None:
    rig.session.cancel_fail["w1"] = why
    dialog = open_dialog(qtbot, rig)
    click(qtbot, dialog.sendButton)
    assert dialog.task is not None
    await dialog.task
    assert rig.world.log == [("cancel", "w1")]  # sent once; the close never left
    assert rig.desk.intents() == {}
    text = dialog.validationMessage.text()
    assert text.startswith(f"Cancelling working order w1 (limit SELL 1 @ 120) failed: {why}.")
    assert "The close was NOT sent" in text
    assert dialog.isVisible() and not dialog.busy and dialog.sendButton.isEnabled()
    assert dialog.workingPanel.workingList.text() == "• limit SELL 1 @ 120.00 · order w1"


@pytest.mark.asyncio
async def test_an_order_that_appears_after_opening_stops_send_once(qtbot: QtBot,
                                                                    rig: Rig) -> None:
    dialog = open_dialog(qtbot, rig)
    w2 = resting("qa", "AAPL-USD", "w2")
    rig.session.sink(w2)  # the venue reports a new resting order
    await until(lambda: any(o.order_id == "w2" for o in rig.desk.working_for(KEY)))
    click(qtbot, dialog.sendButton)
    assert dialog.task is None and rig.world.log == []
    assert "changed; check them and press Send again" in dialog.validationMessage.text()
    assert "order w2" in dialog.workingPanel.workingList.text()
    assert "CANCEL w2" in dialog.previewText.toPlainText()
    click(qtbot, dialog.sendButton)
    assert dialog.task is not None
    await dialog.task
    assert rig.world.log == [("cancel", "w1"), ("cancel", "w2"), ("close", "qa/AAPL-USD")]


@pytest.mark.asyncio
async def test_with_a_confirmation_the_close_follows_the_cancels_once(qtbot: QtBot,
                                                                      rig: Rig) -> None:
    rig.session.release.clear()  # the venue holds the cancel's answer
    dialog = open_dialog(qtbot, rig, Preferences(confirm="always", stale_after_s=3600.0))
    click(qtbot, dialog.sendButton)
    assert dialog.confirming
    click(qtbot, dialog.confirmButton)
    task = dialog.task
    assert task is not None
    await until(lambda: rig.world.log == [("cancel", "w1")])
    await until(lambda: dialog.validationMessage.text()
                == "Cancelling 1 working order, then sending the close…")
    dialog.confirm()
    dialog.send()  # more clicks while the cancel is out send nothing
    assert dialog.task is task and rig.world.log == [("cancel", "w1")]
    rig.session.release.set()
    await task
    assert rig.world.log == [("cancel", "w1"), ("close", "qa/AAPL-USD")]


def test_without_working_orders_the_panel_is_hidden(qtbot: QtBot) -> None:
    from tests.gui.test_close_dialog import INSTRUMENT, QFEX_LIKE, position
    from tests.helpers.fakes import FakeSubmit

    class NoOrders:
        def orders(self) -> list[WorkingOrder]:
            return []

    dialog = CloseDialog(position(), QFEX_LIKE, INSTRUMENT, FakeSubmit(), preferences=NEVER,
                         cancel_first=NoOrders())  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.open()
    assert not dialog.workingPanel.isVisible() and not dialog.cancelFirstInput.isChecked()


@pytest.mark.asyncio
async def test_esc_while_the_cancels_are_out_sends_no_close(qtbot: QtBot, rig: Rig) -> None:
    rig.session.release.clear()
    dialog = open_dialog(qtbot, rig)
    reported: list[str] = []
    dialog.reported.connect(reported.append)
    click(qtbot, dialog.sendButton)
    task = dialog.task
    assert task is not None
    await until(lambda: rig.world.log == [("cancel", "w1")])
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)  # the user changes their mind
    assert not dialog.isVisible()
    rig.session.release.set()
    await task
    assert rig.world.log == [("cancel", "w1")]  # the cancel is followed; no close leaves
    assert rig.desk.intents() == {}
    assert reported == ["Cancelled 1 working order on AAPL-USD on qa; the close was not sent "
                        "(the dialog was cancelled)."]


@pytest.mark.asyncio
async def test_a_position_that_moved_during_the_cancels_is_not_closed(qtbot: QtBot,
                                                                       rig: Rig) -> None:
    rig.session.release.clear()
    dialog = open_dialog(qtbot, rig)
    click(qtbot, dialog.sendButton)
    task = dialog.task
    assert task is not None
    await until(lambda: rig.world.log == [("cancel", "w1")])
    rig.session.sink(pos("qa", "AAPL-USD", "4"))  # part of it filled meanwhile
    await until(lambda: rig.desk.positions[KEY].quantity == 4)
    rig.session.release.set()
    await task
    assert rig.world.log == [("cancel", "w1")]  # the freshness guard held the close
    assert dialog.guardPanel.isVisible() and "LONG 4" in dialog.guardMessage.text()
    assert dialog.validationMessage.text() == (
        "Cancelled 1 working order first; the close was not sent.")
    assert not dialog.workingPanel.isVisible()  # nothing works on it any more
