"""Remake the close dialog's pictures under docs/ (offscreen; the working-orders one runs the
simulator on loopback and the real clients, so its requests are the real ones).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python docs/shots_close_dialog.py
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from core.model import CloseRequest, Environment
from core.settings import Preferences
from gui.theme.sheet import style_sheet

DOCS = Path(__file__).resolve().parent


def qfex_frame(request: CloseRequest) -> str:
    return json.dumps({"type": "close_position", "params": {
        "symbol": request.key.symbol, "client_order_id": request.client_order_id}},
        separators=(",", ":"))


def settle(app: QApplication) -> None:
    for _ in range(3):
        app.processEvents()


def confirmation_shots(app: QApplication) -> None:
    """The dialog before and after it asks for confirmation: the question takes the buttons'
    place and nothing else moves."""
    from gui.dialogs.close import CloseDialog
    from tests.gui.test_close_dialog import INSTRUMENT, QFEX_LIKE, position
    from tests.helpers.fakes import FakeSubmit

    dialog = CloseDialog(position(), QFEX_LIKE, INSTRUMENT, FakeSubmit(),
                         preview=qfex_frame, environment=Environment.LIVE,
                         preferences=Preferences(confirm="always", stale_after_s=5.0),
                         data_age=lambda: 12.0)
    dialog.show()
    settle(app)
    dialog.grab().save(str(DOCS / "close-dialog-confirm-before.png"))
    dialog.send()
    settle(app)
    dialog.grab().save(str(DOCS / "close-dialog-confirm-after.png"))
    dialog.close()


async def working_orders_shot(app: QApplication) -> None:
    """A QFEX position with a resting reduce-only limit and a stop-loss: the dialog lists
    both, "Cancel them first" is ticked, and the preview shows each cancel, then the close."""
    from decimal import Decimal

    from core.demo import demo_accounts
    from core.desk import Desk
    from core.flatten import CancelFirst
    from core.model import PositionKey, Trigger
    from core.sim import Simulator
    from core.venues.qfex import QFEX
    from gui.dialogs.close import CloseDialog
    from tests.helpers.polling import market_data, until

    sim = Simulator(seed=7, tick_interval=None)
    info = sim.start()
    desk = Desk()
    try:
        accounts = [pair for pair in demo_accounts(info) if pair[0].venue is QFEX]
        assert await desk.start(accounts) == []
        await market_data(desk)
        key = next(k for k in desk.positions if k.symbol == "AAPL-USD")
        pos = desk.positions[key]
        assert pos.mark_price is not None
        mark = pos.mark_price
        for request in (
            CloseRequest(key, pos.side, pos.quantity, quantity=Decimal(5),
                         limit_price=(mark * Decimal("1.2")).quantize(Decimal(1))),
            CloseRequest(key, pos.side, pos.quantity,
                         trigger=Trigger((mark * Decimal("0.8")).quantize(Decimal(1)))),
        ):
            await (await desk.close(request)).settled(timeout=10)
        await until(lambda: len(desk.working_for(key)) == 2, what="two orders working")
        dialog = CloseDialog(desk.positions[key], desk.capabilities(key), desk.instrument(key),
                             desk.close, preview=desk.preview, guard=desk.check,
                             environment=Environment.DEMO, cancel_first=CancelFirst(desk, key),
                             preferences=Preferences(confirm="never"),
                             mark=desk.mark(key.venue, key.symbol))
        dialog.show()
        settle(app)
        dialog.grab().save(str(DOCS / "close-dialog-working-orders.png"))
        dialog.close()
        assert isinstance(key, PositionKey)
    finally:
        await desk.stop()
        sim.stop()


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setStyleSheet(style_sheet("light"))
    confirmation_shots(app)
    asyncio.run(working_orders_shot(app))
    return 0


if __name__ == "__main__":
    sys.exit(main())
