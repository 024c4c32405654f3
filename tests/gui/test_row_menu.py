"""The positions table's row menu, through the real window, desk and clients against the
simulator: right-click and the Menu key / Shift+F10 open it; each close action opens the close
dialog (never a silent send); Cancel working orders on this symbol lists them, asks, and sends
one cancel per order; Copy row and Show in History."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.journal import Journal
from core.model import CloseRequest, PositionKey, PositionSide, WorkingOrder
from core.settings import Preferences
from gui.controllers.row_menu import CANCEL_REASON
from gui.dialogs.cancel_all import CancelAllDialog
from gui.main_window import MainWindow
from gui.models import PositionColumn
from tests.gui.test_close_workflow import AAPL, ALWAYS, CL, ETH, MSFT, Rig, running
from tests.helpers.polling import until

D = Decimal
# A menu pops up by grabbing the keyboard, which the offscreen platform cannot do.
pytestmark = pytest.mark.qt_log_ignore("does not support grabbing the keyboard",
                                       "does not support raise")
MENU_TEXTS = ["&Close…", "Close &50 %…", "Close at &limit…", "Set &trigger…",
              "Cancel &working orders on this symbol ({n})…", "C&opy row", "Show in &History"]


def actions(menu: QMenu) -> dict[str, QAction]:
    return {a.objectName(): a for a in menu.actions() if a.objectName()}


def right_click(w: MainWindow, key: PositionKey) -> QMenu:
    """A right-click on the row's Symbol cell, as Qt delivers it to the table's viewport."""
    view = w.positionsView
    at = view.visualRect(w.proxy_index(key, PositionColumn.SYMBOL)).center()
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at))
    QApplication.sendEvent(view.viewport(), event)
    menu = w.row_menu.menu
    assert menu is not None, "no row menu opened"
    return menu


async def rest_limit(desk: Desk, w: MainWindow, key: PositionKey) -> WorkingOrder:
    """A reduce-only limit of one unit, far from the mark, resting at the venue."""
    pos = desk.positions[key]
    assert pos.mark_price is not None
    far = pos.mark_price * 2 if pos.side is PositionSide.LONG else pos.mark_price / 2
    before = {o.order_id for o in desk.working_for(key)}
    await (await desk.close(CloseRequest(key, pos.side, pos.quantity, quantity=D(1),
                                         limit_price=far.quantize(D(1))))).settled(timeout=10)
    await until(lambda: len(desk.working_for(key)) == len(before) + 1, what="the limit resting")
    (order,) = [o for o in desk.working_for(key) if o.order_id not in before]
    await until(lambda: w.working_model.order(order.ident) is not None,
                what="the window showing the order")
    return order


def cancels_of(rig: Rig, order: WorkingOrder) -> int:
    """How many cancel requests of this order reached the simulator."""
    return sum(order.order_id in r.body
               for r in rig.sim.requests(order.venue.value, kind="cancel"))


def journaled_cancels(journal: Journal, order: WorkingOrder) -> list[str]:
    return [r.reason or "" for r in journal.records(limit=100_000)
            if r.kind == "cancel_intent" and json.loads(r.payload)["order_id"] == order.order_id]


@pytest.mark.asyncio
async def test_right_click_opens_the_rows_menu_with_every_action(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        menu = right_click(w, AAPL)
        assert menu.isVisible()
        texts = [a.text() for a in menu.actions() if not a.isSeparator()]
        assert texts == [t.format(n=0) for t in MENU_TEXTS]
        found = actions(menu)
        # QFEX closes in part, at a limit and on a trigger: every close action applies.
        for name in ("rowClose", "rowCloseHalf", "rowCloseLimit", "rowSetTrigger", "rowCopy",
                     "rowHistory"):
            assert found[name].isEnabled(), (name, found[name].toolTip())
        cancel = found["rowCancelWorking"]
        assert not cancel.isEnabled()
        assert cancel.toolTip() == f"No orders are working on AAPL-USD on {AAPL.account}."
        assert w.selected_key() == AAPL  # the row right-clicked is the row acted on
        menu.close()
        # A click on empty space below the rows opens nothing.
        view = w.positionsView
        w.symbolFilter.setText("AAPL")
        await until(lambda: w.positions_proxy.rowCount() == 1, what="one row shown")
        below = QPoint(5, view.viewport().height() - 2)
        assert not view.indexAt(below).isValid()
        QApplication.sendEvent(view.viewport(), QContextMenuEvent(
            QContextMenuEvent.Reason.Mouse, below, view.viewport().mapToGlobal(below)))
        assert w.row_menu.menu is None


@pytest.mark.asyncio
@pytest.mark.parametrize("key_name", ["Menu", "Shift+F10"])
async def test_the_menu_key_and_shift_f10_open_the_selected_rows_menu(
        qtbot: QtBot, key_name: str) -> None:
    async with running() as (rig, _):
        w = rig.window
        view = w.positionsView
        view.setFocus()
        qtbot.keyClick(view, Qt.Key.Key_Menu)
        assert w.row_menu.menu is None  # no row chosen yet: nothing to act on
        assert w.statusBar().currentMessage().startswith("Select a position first")
        assert w.select_row(MSFT)
        if key_name == "Menu":
            qtbot.keyClick(view, Qt.Key.Key_Menu)
        else:
            qtbot.keyClick(view, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
        menu = w.row_menu.menu
        assert menu is not None and menu.isVisible()
        actions(menu)["rowClose"].trigger()
        assert MSFT in w.dialogs


@pytest.mark.asyncio
async def test_close_opens_the_same_dialog_as_the_rows_button(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        actions(right_click(w, ETH))["rowClose"].trigger()
        dialog = w.dialogs[ETH]
        assert dialog.quantityInput.text() == "3.500"  # in full, as the button opens it
        closes = len(rig.closes(ETH.venue))
        # A second Close… raises the open dialog; nothing is sent by either.
        actions(right_click(w, ETH))["rowClose"].trigger()
        assert w.dialogs[ETH] is dialog
        assert len(rig.closes(ETH.venue)) == closes


@pytest.mark.asyncio
@pytest.mark.parametrize(("key", "size", "half"),
                         [(AAPL, "25.01", "12.50"), (CL, "-30.3", "15.1")],
                         ids=["lot-0.01", "lot-0.1"])
async def test_close_half_prefills_half_rounded_down_and_still_asks(
        qtbot: QtBot, key: PositionKey, size: str, half: str) -> None:
    async with running(preferences=ALWAYS) as (rig, _):
        w = rig.window
        await rig.set_position(key, size)
        await until(lambda: (p := w.positions_model.position(key)) is not None
                    and p.signed_quantity == D(size), what="the row showing the new size")
        closes = len(rig.closes(key.venue))
        actions(right_click(w, key))["rowCloseHalf"].trigger()
        dialog = w.dialogs[key]
        assert dialog.quantityInput.text() == half
        assert dialog.focusWidget() is dialog.quantityInput
        assert len(rig.closes(key.venue)) == closes  # opening sends nothing
        qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
        assert dialog.confirming  # the confirmation it would get anyway
        assert dialog.task is None
        assert len(rig.closes(key.venue)) == closes
        qtbot.mouseClick(dialog.confirmButton, Qt.MouseButton.LeftButton)
        assert dialog.task is not None
        await dialog.task
        sent = rig.closes(key.venue)[closes:]
        assert len(sent) == 1
        assert json.loads(sent[0].body)["params"]["quantity"] == json.loads(half)


@pytest.mark.asyncio
async def test_close_half_of_one_lot_says_so_and_sends_nothing(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        await rig.set_position(AAPL, "0.01", "100")  # one lot
        await until(lambda: (p := w.positions_model.position(AAPL)) is not None
                    and p.quantity == D("0.01"), what="the row showing one lot")
        half = actions(right_click(w, AAPL))["rowCloseHalf"]
        assert not half.isEnabled()
        assert half.toolTip() == "Half of 0.01 is less than one lot; there is no half to close."
        closes = len(rig.closes(AAPL.venue))
        assert w.row_menu.close_half(AAPL) is None  # even if asked another way
        assert AAPL not in w.dialogs
        assert "Nothing was sent" in w.statusBar().currentMessage()
        assert len(rig.closes(AAPL.venue)) == closes


@pytest.mark.asyncio
@pytest.mark.parametrize(("name", "field"), [("rowCloseLimit", "limitPriceInput"),
                                             ("rowSetTrigger", "triggerPriceInput")])
async def test_limit_and_trigger_open_the_dialog_on_their_price(
        qtbot: QtBot, name: str, field: str) -> None:
    async with running() as (rig, _):
        w = rig.window
        actions(right_click(w, AAPL))[name].trigger()
        dialog = w.dialogs[AAPL]
        assert dialog.focusWidget() is getattr(dialog, field)
        assert dialog.quantityInput.text() == "25.00"


@pytest.mark.asyncio
async def test_cancel_working_orders_on_a_symbol_lists_asks_and_sends_each_once(
        qtbot: QtBot) -> None:
    async with running() as (rig, _):
        desk, w = rig.desk, rig.window
        first = await rest_limit(desk, w, AAPL)
        second = await rest_limit(desk, w, AAPL)
        other = await rest_limit(desk, w, MSFT)  # another symbol: left alone
        cancel = actions(right_click(w, AAPL))["rowCancelWorking"]
        assert cancel.text() == "Cancel &working orders on this symbol (2)…"
        assert cancel.isEnabled()

        cancel.trigger()
        dialog = w.cancel_all.confirm
        assert isinstance(dialog, CancelAllDialog)
        assert {o.order_id for o in dialog.orders} == {first.order_id, second.order_id}
        assert dialog.model.rowCount() == 2
        assert dialog.keepButton.isDefault()
        dialog.reject()  # Keep them (Esc): nothing is sent
        assert w.cancel_all.confirm is None
        assert cancels_of(rig, first) == cancels_of(rig, second) == 0

        actions(right_click(w, AAPL))["rowCancelWorking"].trigger()
        dialog = w.cancel_all.confirm
        assert dialog is not None
        qtbot.mouseClick(dialog.actButton, Qt.MouseButton.LeftButton)
        # While the cancels are out, asking again sends nothing new.
        again = actions(right_click(w, AAPL))["rowCancelWorking"]
        again.trigger()
        assert w.cancel_all.confirm is None
        assert "nothing new was sent" in w.statusBar().currentMessage()
        await until(lambda: not desk.working_for(AAPL), what="both orders cancelled")
        await until(lambda: w.cancel_all.last is not None, what="the report")
        assert w.cancel_all.last == {first.ident: None, second.ident: None}
        assert cancels_of(rig, first) == cancels_of(rig, second) == 1
        assert journaled_cancels(rig.journal, first) == [CANCEL_REASON]
        assert journaled_cancels(rig.journal, second) == [CANCEL_REASON]
        assert desk.working_for(MSFT) == [other]
        assert cancels_of(rig, other) == 0
        assert w.statusBar().currentMessage() == (
            f"Cancel all on AAPL-USD on {AAPL.account}: 2 of 2 cancels confirmed.")


@pytest.mark.asyncio
async def test_copy_row_puts_the_row_on_the_clipboard_as_on_screen(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        actions(right_click(w, ETH))["rowCopy"].trigger()
        text = QApplication.clipboard().text()
        cells = text.split("\t")
        row = w.positions_proxy.proxy_row_of(ETH)
        assert row is not None
        shown = [w.positions_proxy.index(row, c).data() for c in PositionColumn
                 if c not in (PositionColumn.ENV, PositionColumn.ACTION)
                 and not w.positionsView.isColumnHidden(c)]
        assert cells[:2] == shown[:2] == ["Everstrike", ETH.account]
        assert cells[2] == "DEMO"
        assert cells[3:] == shown[2:]
        assert cells[3] == "USD_ETH_PERP" and cells[5] == "3.500"
        # The on-screen order: a column dragged elsewhere is copied where it now shows.
        header = w.positionsView.horizontalHeader()
        header.moveSection(header.visualIndex(PositionColumn.SYMBOL), 0)
        actions(right_click(w, ETH))["rowCopy"].trigger()
        assert QApplication.clipboard().text().split("\t")[0] == "USD_ETH_PERP"


@pytest.mark.asyncio
async def test_show_in_history_filters_history_to_the_position(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        desk, w = rig.desk, rig.window
        await rest_limit(desk, w, AAPL)  # a record of this position in the journal
        actions(right_click(w, AAPL))["rowHistory"].trigger()
        history = w.historyView
        assert w.bottomTabs.currentWidget() is history
        where = history.current_filter()
        assert (where.account, where.symbol, where.kinds) == (AAPL.account, AAPL.symbol, None)
        assert history.model.filter == where


@pytest.mark.asyncio
async def test_a_stale_row_disables_the_close_actions_and_says_why(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        w.set_preferences(Preferences(confirm="never", stale_after_s=0.0))
        found = actions(right_click(w, AAPL))
        for name in ("rowClose", "rowCloseHalf", "rowCloseLimit", "rowSetTrigger"):
            assert not found[name].isEnabled()
            assert "may be out of date" in found[name].toolTip()
            assert found[name].statusTip() == found[name].toolTip()
        assert found["rowCopy"].isEnabled() and found["rowHistory"].isEnabled()
