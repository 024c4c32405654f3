"""A close with a reduce-only limit resting, end to end: the window, the real desk and both
real clients against the simulator. The row's Close opens a dialog that lists the working
order with "Cancel them first" ticked and its cancel in the preview; Send cancels it at the
venue, then closes the position, and the window says what it did."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from core.model import CloseRequest, PositionKey, PositionSide
from tests.gui.test_close_workflow import AAPL, ETH, click_close, running
from tests.helpers.polling import until

D = Decimal


def unstamped(text: str) -> str:
    return re.sub(r"x-signature: .*", "", re.sub(r"timestamp=\d+", "timestamp=", text))


@pytest.mark.asyncio
@pytest.mark.parametrize("key", [AAPL, ETH], ids=["qfex", "everstrike"])
async def test_close_cancels_the_resting_limit_first_then_closes(qtbot: QtBot,
                                                                 key: PositionKey) -> None:
    async with running() as (rig, _):
        desk, sim, window = rig.desk, rig.sim, rig.window
        pos = desk.positions[key]
        assert pos.mark_price is not None
        far = pos.mark_price * 2 if pos.side is PositionSide.LONG else pos.mark_price / 2
        limit = far.quantize(D(1))
        await (await desk.close(CloseRequest(key, pos.side, pos.quantity, quantity=D(1),
                                             limit_price=limit))).settled(timeout=10)
        await until(lambda: len(desk.working_for(key)) == 1, what="the limit resting")
        (order,) = desk.working_for(key)
        await until(lambda: len(window.working_model.orders_for(key)) == 1,
                    what="the window showing the working order")

        dialog = click_close(qtbot, window, key)
        assert dialog.workingPanel.isVisible()
        assert f"order {order.order_id}" in dialog.workingPanel.workingList.text()
        assert dialog.cancelFirstInput.isChecked()
        preview = dialog.previewText.toPlainText()
        cancel_text = desk.session(key.account).prepare_cancel(order).redacted
        assert preview.startswith(f"# 1. cancel order {order.order_id}")
        # The cancel's exact request (a signed one differs only by its stamp and signature).
        assert unstamped(cancel_text) in unstamped(preview)
        venue = key.venue.value
        closes_before = len(sim.requests(venue, kind="close"))

        said: list[str] = []
        window.statusBar().messageChanged.connect(said.append)
        qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
        assert dialog.task is not None
        await dialog.task
        await until(lambda: key not in desk.positions, what="the position flat")
        log = sim.requests(venue)
        (cancel,) = [r for r in sim.requests(venue, kind="cancel") if order.order_id in r.body]
        (close,) = sim.requests(venue, kind="close")[closes_before:]
        assert log.index(cancel) < log.index(close)
        assert desk.working_for(key) == []
        assert (f"Cancelled 1 working order, then sent the close of {key.symbol} on "
                f"{key.account}.") in said


@pytest.mark.asyncio
async def test_an_open_dialog_shows_an_order_that_starts_working(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        desk, window = rig.desk, rig.window
        dialog = click_close(qtbot, window, AAPL)
        assert not dialog.workingPanel.isVisible()
        pos = desk.positions[AAPL]
        assert pos.mark_price is not None
        await (await desk.close(CloseRequest(AAPL, pos.side, pos.quantity, quantity=D(1),
                                             limit_price=(pos.mark_price * 2).quantize(D(1)))
                                )).settled(timeout=10)
        await until(lambda: dialog.workingPanel.isVisible(), what="the order in the dialog")
        (order,) = desk.working_for(AAPL)
        assert dialog.cancelFirstInput.isChecked()
        assert dialog.previewText.toPlainText().startswith(f"# 1. cancel order {order.order_id}")
        await desk.cancel(order)  # cancelled elsewhere: the dialog drops it
        await until(lambda: not dialog.workingPanel.isVisible(), what="the order gone")
        assert "cancel order" not in dialog.previewText.toPlainText()
