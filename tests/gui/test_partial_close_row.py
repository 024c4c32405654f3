"""A partial close on the row, with marks moving in the simulator: the button says what was
closed and what is still open, never "Filled", and goes back to Close after a while (time is
moved by hand here, not waited out)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication
from pytestqt.qtbot import QtBot

from core.venues.qfex import QFEX
from gui.models import BUTTON_ROLE, PositionColumn
from tests.gui.test_close_workflow import AAPL, cell, click_close, running, send
from tests.gui.test_keyboard_close import TICK, marks_move
from tests.helpers.clock import FakeClock
from tests.helpers.polling import until
from tests.helpers.shots import shot, shot_style, shots_wanted  # noqa: F401 - shot_style is a fixture

D = Decimal


@pytest.mark.asyncio
async def test_a_partial_close_says_closed_and_open_then_close_never_filled(
    qtbot: QtBot, shot_style: None  # noqa: F811
) -> None:
    async with running(tick_interval=TICK) as (rig, _):
        w = rig.window
        model = w.positions_model
        clock = FakeClock()
        model.closedNotes.clock = clock
        await marks_move(w, AAPL)
        assert rig.desk.positions[AAPL].quantity == 25
        dialog = click_close(qtbot, w, AAPL)
        qtbot.keyClick(dialog.quantityInput, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
        assert D(dialog.quantityInput.text()) == D("12.5")
        await send(qtbot, dialog)
        await until(lambda: (p := rig.desk.positions.get(AAPL)) is not None
                    and p.quantity == D("12.5"), what="AAPL at 12.5")
        shown = re.compile(r"Closed 12\.50* · 12\.50* open")
        await until(lambda: shown.fullmatch(str(cell(w, AAPL, PositionColumn.ACTION))),
                    what="the row to say what closed and what is open")
        assert cell(w, AAPL, PositionColumn.ACTION, BUTTON_ROLE) == "Closed"  # not green
        tip = cell(w, AAPL, PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole)
        assert "Filled" not in tip and "the rest stays open" in tip
        if shots_wanted():
            w.resize(1400, 640)
            QApplication.sendPostedEvents()
            w.positionsView.scrollTo(w.proxy_index(AAPL, PositionColumn.SYMBOL),
                                     QAbstractItemView.ScrollHint.PositionAtCenter)
            shot(w.positionsView, "partial-close-row.png")
        assert len(rig.closes(QFEX)) == 1

        # Marks keep moving; the note stays until its time is up, then the button says Close.
        await marks_move(w, AAPL, 1)
        clock.now = clock.start + model.closedNotes.ms / 1000 - 0.5
        model.closedNotes.expire()
        assert shown.fullmatch(cell(w, AAPL, PositionColumn.ACTION))
        clock.now = clock.start + model.closedNotes.ms / 1000
        model.closedNotes.expire()
        assert cell(w, AAPL, PositionColumn.ACTION) == "Close"
        assert cell(w, AAPL, PositionColumn.ACTION, BUTTON_ROLE) == "Close"
        await marks_move(w, AAPL, 1)  # repricing does not bring it back
        assert cell(w, AAPL, PositionColumn.ACTION) == "Close"
        assert rig.desk.positions[AAPL].quantity == D("12.5")
