"""Cancel all through the real window, desk and clients against the simulator: the Positions
menu and the Working orders pane's button offer everything, each venue and each account (with
counts); the question lists every order; each cancel reaches the venue once and is journaled
once, and a second Cancel all while they are out sends nothing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from core.model import WorkingOrder
from gui.dialogs.cancel_all import CancelAllDialog
from gui.main_window import MainWindow
from gui.models.scopes import ORDER_FIELDS, Scope
from gui.models.working import CancelState
from tests.gui.test_close_workflow import AAPL, ETH, MSFT, SOL, Rig, running
from tests.gui.test_row_menu import cancels_of, journaled_cancels, rest_limit
from tests.helpers.polling import until

pytestmark = pytest.mark.qt_log_ignore("does not support grabbing the keyboard",
                                       "does not support raise")


async def three_orders(rig: Rig) -> tuple[WorkingOrder, WorkingOrder, WorkingOrder]:
    """Two resting on the QFEX demo account, one on the Everstrike one."""
    d, w = rig.desk, rig.window
    return (await rest_limit(d, w, AAPL), await rest_limit(d, w, MSFT),
            await rest_limit(d, w, ETH))


def choose(w: MainWindow, name: str) -> CancelAllDialog:
    """Open the Cancel all menu as the Positions menu does, and pick one entry."""
    menu = w.cancel_all.menu
    menu.aboutToShow.emit()  # what opening it does: counted now
    (action,) = [a for a in menu.actions() if a.objectName() == name]
    action.trigger()
    dialog = w.cancel_all.confirm
    assert dialog is not None
    return dialog


@pytest.mark.asyncio
async def test_the_menu_offers_everything_each_venue_and_each_account(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        assert w.cancel_all.menu.menuAction() in w.positionsMenu.actions()
        assert w.cancel_all.button.menu() is w.cancel_all.menu
        w.cancel_all.fill()
        (none,) = w.cancel_all.menu.actions()
        assert (none.text(), none.isEnabled()) == ("No working orders", False)
        await three_orders(rig)
        texts = [a.text() for a in w.cancel_all.fill()]
        assert texts == [
            "Every account (3)…",
            "Every Everstrike account (1)…",
            "Every QFEX account (2)…",
            *sorted([f"Account {AAPL.account} (2)…", f"Account {ETH.account} (1)…"],
                    key=str.casefold),
        ]


@pytest.mark.asyncio
async def test_the_panes_button_shows_with_the_working_orders(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        button = w.cancel_all.button
        assert w.bottomTabs.cornerWidget(Qt.Corner.TopRightCorner) is button
        assert not button.isVisible()  # the order log is the pane shown
        w.bottomTabs.setCurrentWidget(w.workingOrdersView)
        assert button.isVisible()
        assert not button.isEnabled()  # nothing to cancel
        await rest_limit(rig.desk, w, SOL)
        assert button.isEnabled()
        w.bottomTabs.setCurrentWidget(w.historyView)
        assert not button.isVisible()


@pytest.mark.asyncio
async def test_cancel_everything_lists_each_order_and_sends_each_cancel_once(
        qtbot: QtBot) -> None:
    async with running() as (rig, _):
        desk, w = rig.desk, rig.window
        orders = await three_orders(rig)
        dialog = choose(w, "cancelAll:everything")
        assert isinstance(dialog, CancelAllDialog)
        assert dialog.message.text().startswith(
            "Cancel 3 working orders on every account at the venues?")
        assert dialog.actButton.text() == "Cancel 3 orders"
        assert dialog.keepButton.isDefault() and not dialog.actButton.isDefault()
        model = dialog.model
        assert [model.headerData(c, Qt.Orientation.Horizontal) for c in range(6)] == \
            list(ORDER_FIELDS)
        listed = {(model.index(r, 0).data(), model.index(r, 1).data()) for r in range(3)}
        assert listed == {(o.account, o.symbol) for o in orders}
        aapl_row = next(r for r in range(3) if model.index(r, 1).data() == AAPL.symbol)
        assert [model.index(aapl_row, c).data() for c in (2, 3, 5)] == \
            ["Sell", "1.00", "Limit (LIMIT)"]  # AAPL is long: its close sells

        qtbot.mouseClick(dialog.actButton, Qt.MouseButton.LeftButton)
        assert w.cancel_all.confirm is None
        # A second Cancel all while the cancels are out: nothing to list, nothing sent.
        w.cancel_all.menu.aboutToShow.emit()
        assert w.cancel_all.ask(Scope()) is None
        assert "nothing new was sent" in w.statusBar().currentMessage()
        await until(lambda: w.cancel_all.last is not None, what="every answer")
        assert w.cancel_all.last == {o.ident: None for o in orders}
        await until(lambda: not desk.working_orders, what="no order left working")
        for order in orders:
            assert cancels_of(rig, order) == 1, order
            assert journaled_cancels(rig.journal, order) == ["Cancel all: every account"]
        assert w.statusBar().currentMessage() == \
            "Cancel all on every account: 3 of 3 cancels confirmed."


@pytest.mark.asyncio
@pytest.mark.parametrize("by", ["venue", "account"])
async def test_cancel_one_venue_or_account_leaves_the_others(qtbot: QtBot, by: str) -> None:
    async with running() as (rig, _):
        desk, w = rig.desk, rig.window
        aapl, msft, eth = await three_orders(rig)
        name = f"cancelAll:venue:{AAPL.venue}" if by == "venue" else \
            f"cancelAll:account:{AAPL.account}"
        dialog = choose(w, name)
        assert {o.order_id for o in dialog.orders} == {aapl.order_id, msft.order_id}
        dialog.accept()
        await until(lambda: w.cancel_all.last is not None, what="both answers")
        assert [cancels_of(rig, o) for o in (aapl, msft, eth)] == [1, 1, 0]
        assert journaled_cancels(rig.journal, eth) == []
        assert desk.working_for(ETH) == [eth]


@pytest.mark.asyncio
async def test_keep_them_sends_nothing(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        orders = await three_orders(rig)
        dialog = choose(w, "cancelAll:everything")
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        assert w.cancel_all.confirm is None
        dialog = choose(w, "cancelAll:everything")
        qtbot.keyClick(dialog, Qt.Key.Key_Return)  # a stray Enter keeps them too
        assert w.cancel_all.confirm is None
        qtbot.mouseClick(choose(w, "cancelAll:everything").keepButton,
                         Qt.MouseButton.LeftButton)
        # Nothing started (a cancel is marked Cancelling at once), nothing reached the venue.
        assert all(w.working_model.cancel_state(o.ident) is CancelState.IDLE for o in orders)
        await w.tracker.join(timeout=10)
        assert all(cancels_of(rig, o) == 0 for o in orders)
        assert all(journaled_cancels(rig.journal, o) == [] for o in orders)
        assert w.cancel_all.last is None
