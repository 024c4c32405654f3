"""The live sort in the window with marks moving in the simulator, the pointer moved by real
mouse events: sorted by Unrealised P&L, the rows hold their order while the pointer is over the
table (and the bar says so), and re-sort as soon as it moves away."""

from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from core.model import PositionKey
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models import PositionColumn
from tests.gui.test_close_workflow import AAPL, ALWAYS, running
from tests.gui.test_keyboard_close import TICK, marks_move
from tests.gui.test_live_sort import click_header
from tests.helpers.polling import until
from tests.helpers.shots import shot, shot_style  # noqa: F401 - shot_style is a fixture

HELD = "sorted by P&L · live · order held while pointing · live sort resumes when you move away"


def shown(w: MainWindow) -> list[PositionKey]:
    return w.positions_proxy.shown_keys()


def by_pnl(w: MainWindow) -> list[PositionKey]:
    """The rows in the order their P&L puts them now (highest first)."""
    model = w.positions_model
    pnl = {k: p.unrealised_pnl for k in model.all_keys()
           if (p := model.position(k)) is not None and p.unrealised_pnl is not None}
    return sorted(pnl, key=lambda k: pnl[k], reverse=True)


@pytest.mark.asyncio
async def test_moving_prices_do_not_move_rows_under_the_pointer(
    qtbot: QtBot, shot_style: None  # noqa: F811
) -> None:
    async with running(preferences=ALWAYS, tick_interval=TICK) as (rig, _):
        w = rig.window
        w.resize(1280, 800)
        view, px = w.positionsView, w.positions_proxy
        await marks_move(w, AAPL)
        click_header(qtbot, w, PositionColumn.PNL)
        if view.horizontalHeader().sortIndicatorOrder() != Qt.SortOrder.DescendingOrder:
            click_header(qtbot, w, PositionColumn.PNL)
        assert w.sortHint.text() == "sorted by P&L · live"
        assert shown(w)[0] != AAPL

        # The pointer comes in over the rows, as the mouse moves it.
        QTest.mouseMove(view.viewport(), view.viewport().rect().center())
        await until(lambda: "pointer" in px.holds, what="the pointer's hold")
        before = shown(w)
        moves: list[int] = []
        px.layoutChanged.connect(lambda *_: moves.append(1))
        # AAPL's price jumps (on top of the walk every mark takes): its P&L is now the top.
        market = rig.sim.qfex.market
        mark = market.instruments["AAPL-USD"].mark
        await rig.sim.acall(lambda: market.set_mark("AAPL-USD", mark * 3))
        await until(lambda: by_pnl(w)[:1] == [AAPL], what="AAPL's P&L to lead")
        # A live re-sort comes due, and waits: the bar says why.
        await until(lambda: w.sortHint.text() == HELD, what="the hint of a held order")
        await marks_move(w, AAPL)
        assert shown(w) == before and moves == []
        assert shown(w)[0] != AAPL
        shot(w, "held-sort.png")

        # The pointer leaves the table: the rows take their order at once.
        bar = w.sortHint
        QTest.mouseMove(bar, bar.rect().center())
        await until(lambda: "pointer" not in px.holds, what="the pointer's hold to end")
        assert moves and shown(w)[0] == AAPL
        assert w.sortHint.text() == "sorted by P&L · live"
        await until(lambda: shown(w) == by_pnl(w) or not px.resort_pending,
                    what="the table in P&L order")
        assert len(rig.closes(QFEX)) == 0
        assert Decimal(25) == rig.desk.positions[AAPL].quantity
