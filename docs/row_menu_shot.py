"""Screenshots of the row menu and of Cancel all, in demo mode against the simulator:
docs/row-menu.png (a row's menu, its position with working orders), docs/working-orders-age.png
(the Working orders pane: the Age column and the Cancel all button) and
docs/cancel-all-confirm.png (the question listing every order).
Run: ``PYTHONPATH=. QT_QPA_PLATFORM=offscreen .venv/bin/python docs/row_menu_shot.py``."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal
from pathlib import Path

import qasync
from PySide6.QtCore import QPoint
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QWidget

from core.demo import demo_account_name, demo_accounts
from core.desk import Desk
from core.model import CloseRequest, PositionKey, PositionSide, Trigger, TriggerEvent
from core.sim import Simulator
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.launch import _apply_style
from gui.main_window import MainWindow
from gui.models import PositionColumn
from gui.models.scopes import Scope
from tests.helpers.polling import market_data, until

DOCS = Path(__file__).resolve().parent
AAPL = PositionKey(demo_account_name(QFEX), QFEX, "AAPL-USD")
MSFT = PositionKey(demo_account_name(QFEX), QFEX, "MSFT-USD")
ETH = PositionKey(demo_account_name(EVERSTRIKE), EVERSTRIKE, "USD_ETH_PERP")


async def rest(desk: Desk, key: PositionKey, *, trigger: bool = False) -> None:
    """A resting reduce-only limit (or a trigger) of one unit, far from the mark."""
    pos = desk.positions[key]
    assert pos.mark_price is not None
    up = pos.side is PositionSide.LONG
    far = (pos.mark_price * (Decimal(2) if up else Decimal("0.5"))).quantize(Decimal(1))
    if trigger:  # a stop on the losing side
        far = (pos.mark_price * (Decimal("0.8") if up else Decimal("1.2"))).quantize(Decimal(1))
        request = CloseRequest(key, pos.side, pos.quantity, quantity=Decimal(1),
                               trigger=Trigger(far, TriggerEvent.MARK))
    else:
        request = CloseRequest(key, pos.side, pos.quantity, quantity=Decimal(1), limit_price=far)
    n = len(desk.working_for(key))
    await (await desk.close(request)).settled(timeout=10)
    await until(lambda: len(desk.working_for(key)) == n + 1, what=f"an order on {key.symbol}")


def with_popup(window: QWidget, popup: QWidget) -> QPainter:
    """The window's picture with a popup (a menu, a dialog) painted where it shows."""
    picture = window.grab()
    painter = QPainter(picture)
    painter.drawPixmap(window.mapFromGlobal(popup.mapToGlobal(QPoint(0, 0))), popup.grab())
    painter.end()
    return picture  # type: ignore[return-value]


async def shoot() -> None:
    sim = Simulator()
    info = sim.start()
    desk = Desk()
    window = MainWindow(desk, demo=True, history_poll_ms=3_600_000)
    window.resize(1400, 820)
    window.show()
    try:
        assert await desk.start(demo_accounts(info)) == []
        await until(lambda: window.positions_model.rowCount() > 0)
        await market_data(desk)
        await rest(desk, AAPL)
        await asyncio.sleep(2.2)  # ages that differ
        await rest(desk, AAPL, trigger=True)
        await rest(desk, MSFT)
        await asyncio.sleep(1.1)
        await rest(desk, ETH)
        await asyncio.sleep(1.2)
        window.working_model.refresh_ages()

        window.select_row(AAPL)
        view = window.positionsView
        rect = view.visualRect(window.proxy_index(AAPL, PositionColumn.SYMBOL))
        menu = window.row_menu.open(AAPL, view.viewport().mapToGlobal(rect.center()))
        await asyncio.sleep(0.3)
        with_popup(window, menu).save(str(DOCS / "row-menu.png"))  # type: ignore[attr-defined]
        menu.close()

        window.bottomTabs.setCurrentWidget(window.workingOrdersView)
        window.splitter.setSizes([420, 300])
        await asyncio.sleep(0.3)
        window.grab().save(str(DOCS / "working-orders-age.png"))

        dialog = window.cancel_all.ask(Scope())
        assert dialog is not None
        await asyncio.sleep(0.3)
        dialog.grab().save(str(DOCS / "cancel-all-confirm.png"))
        dialog.reject()
    finally:
        await window.shutdown()
        await desk.stop()
        sim.stop()


def main() -> None:
    app = QApplication(sys.argv[:1])
    _apply_style(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot())
    for name in ("row-menu.png", "working-orders-age.png", "cancel-all-confirm.png"):
        print(DOCS / name)


if __name__ == "__main__":
    main()
