"""A close from the keyboard, with marks moving in the simulator: the confirmation names what
it closes and ignores an Enter pressed as it appears, and once the row is closed nothing is
chosen, so the same keys pressed again cannot close the neighbour that slid into its place."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from core.model import PositionKey
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.dialogs.close import QuickCloseDialog
from gui.main_window import MainWindow
from gui.models import PositionColumn
from tests.gui.test_close_workflow import AAPL, ALWAYS, MSFT, frame, running
from tests.helpers.clock import FakeClock
from tests.helpers.polling import until
from tests.helpers.shots import shot, shot_style  # noqa: F401 - shot_style is a fixture

QUICK = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
TICK = 0.05  # the simulator moves every mark this often
ENTER_GUARD_S = 0.3  # a fresh confirmation ignores Enter this long


def quick_close_keys(qtbot: QtBot, w: MainWindow) -> QuickCloseDialog | None:
    """Ctrl+Shift+C on the table, as the user presses it."""
    view = w.positionsView
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, QUICK)
    dialogs = list(w.quickDialogs.values())
    return dialogs[0] if dialogs else None


async def marks_move(w: MainWindow, key: PositionKey, times: int = 2) -> None:
    """Wait until the row's mark has changed ``times`` times: the prices are live."""
    seen: set[str] = set()

    def moved() -> bool:
        index = w.proxy_index(key, PositionColumn.MARK)
        seen.add(str(index.data()))
        return len(seen) > times

    await until(moved, what=f"{key.symbol}'s mark to move")


@pytest.mark.asyncio
async def test_after_a_keyboard_close_nothing_is_chosen_and_the_keys_again_close_nothing(
    qtbot: QtBot,
) -> None:
    async with running(preferences=ALWAYS, tick_interval=TICK) as (rig, _):
        w = rig.window
        view = w.positionsView
        clock = FakeClock()
        w.closing.clock = clock
        await marks_move(w, AAPL)
        view.sortByColumn(PositionColumn.PNL, Qt.SortOrder.DescendingOrder)
        assert w.select_row(MSFT)
        quick = quick_close_keys(qtbot, w)
        assert isinstance(quick, QuickCloseDialog) and quick.isVisible()
        assert quick.position.key == MSFT
        # The confirmation says what goes: the symbol, the position's side and its size.
        said = quick.positionLine.text()
        assert "MSFT-USD" in said and "Short" in said and "6" in said

        # Enter at once (a double press, a held key) is ignored: nothing is sent.
        qtbot.keyClick(quick, Qt.Key.Key_Return)
        qtbot.keyClick(quick.confirmButton, Qt.Key.Key_Return)
        assert quick.task is None and quick.isVisible() and rig.closes(QFEX) == []
        clock.now += ENTER_GUARD_S / 2
        qtbot.keyClick(quick, Qt.Key.Key_Enter)
        assert quick.task is None and rig.closes(QFEX) == []
        # Once the confirmation has been up long enough, Enter confirms.
        clock.now = clock.start + ENTER_GUARD_S
        qtbot.keyClick(quick, Qt.Key.Key_Return)
        assert quick.task is not None
        await quick.task
        await until(lambda: w.positions_proxy.proxy_row_of(MSFT) is None,
                    what="MSFT's row to go")
        [sent] = rig.closes(QFEX)
        assert frame(sent)["type"] == "close_position"

        # Its neighbour did not become the chosen row: nothing is selected or current.
        assert w.selected_key() is None
        assert not view.currentIndex().isValid()
        assert not view.selectionModel().hasSelection()
        w.logView.setFocus()
        view.setFocus()  # the table taking the focus back chooses nothing either
        assert w.selected_key() is None

        # The same keys again: no dialog, no close; the status bar says to choose a row.
        assert quick_close_keys(qtbot, w) is None
        qtbot.keyClick(view, Qt.Key.Key_Return)
        assert w.dialogs == {} and w.quickDialogs == {}
        assert "Select a position first" in w.statusBar().currentMessage()
        await rig.desk.journaled()
        assert len(rig.closes(QFEX)) == 1 and rig.closes(EVERSTRIKE) == []
        assert AAPL in rig.desk.positions

        # Choosing a row again by keyboard works as before.
        qtbot.keyClick(view, Qt.Key.Key_Down)
        assert w.selected_key() is not None


@pytest.mark.asyncio
async def test_the_quick_close_confirmation_has_no_blank_band(
    qtbot: QtBot, shot_style: None  # noqa: F811
) -> None:
    """The dialog is as tall as what it shows: no empty message line above the buttons and
    nothing under them but the margin."""
    async with running(preferences=ALWAYS, tick_interval=TICK) as (rig, _):
        w = rig.window
        assert w.select_row(MSFT)
        quick = quick_close_keys(qtbot, w)
        assert isinstance(quick, QuickCloseDialog)
        layout = quick.layout()
        assert layout is not None
        bottom_margin = layout.contentsMargins().bottom()
        buttons = quick.confirmButton.geometry()
        assert quick.height() - 1 - buttons.bottom() <= bottom_margin + 1
        shown = [lab for lab in quick.findChildren(QLabel)
                 if lab.isVisible() and lab.parent() is quick]
        above = max(lab.geometry().bottom() for lab in shown)
        assert buttons.top() - above <= layout.spacing() + 2
        assert all(lab.text() for lab in shown)  # no empty label holds a line
        shot(quick, "quick-close.png")
        quick.reject()
        await until(lambda: w.quickDialogs == {}, what="the dialog to go")
        assert rig.closes(QFEX) == [] and Decimal(6) == rig.desk.positions[MSFT].quantity
