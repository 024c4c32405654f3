"""Makes docs/columns.png: the positions table with the optional columns shown (Notional,
Realised P&L, Leverage, Liq. price, Data age; Env hidden) and the header's column chooser
open over it. Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/columns_shot.py (from the
checkout's root; no venue, no secret, no journal, no layout file)."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Mapping
from decimal import Decimal as D
from pathlib import Path

import qasync
from PySide6.QtCore import QPoint
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.desk import Desk
from core.model import Instrument, Position, PositionKey, PositionSide, SessionHealth, Venue
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models import PositionColumn as P
from tests.helpers.fakes import FakeSession, account

OUT = Path(__file__).with_name("columns.png")
USD = {"tick_size": D("0.01"), "lot_size": D("0.01"), "quote_currency": "USD"}
USDT = {"tick_size": D("0.5"), "lot_size": D("0.001"), "quote_currency": "USDT"}
INSTRUMENTS = {s: Instrument(s, **USD) for s in ("AAPL-USD", "TSLA-USD", "NVDA-USD")} | {
    s: Instrument(s, **USDT) for s in ("USD_BTC_PERP", "USD_ETH_PERP")}  # type: ignore[arg-type]
NOW = time.monotonic()


def pos(acct: str, venue: Venue, symbol: str, side: PositionSide, qty: str, entry: str,
        mark: str, realised: str | None, leverage: str, liq: str | None, age: float) -> Position:
    sign = 1 if side is PositionSide.LONG else -1
    pnl = (D(mark) - D(entry)) * D(qty) * sign
    return Position(PositionKey(acct, venue, symbol), side, D(qty), D(entry), D(mark), pnl,
                    liquidation_price=D(liq) if liq else None, leverage=D(leverage),
                    realised_pnl=D(realised) if realised is not None else None,
                    received_at=NOW - age)


L, S = PositionSide.LONG, PositionSide.SHORT
BOOK = {
    "Desk A": (pos("Desk A", QFEX, "AAPL-USD", L, "25", "250.10", "264.66", "120.40", "20",
                   None, 0.4),
               pos("Desk A", QFEX, "TSLA-USD", S, "12", "182.40", "181.35", None, "20",
                   None, 2.2),
               pos("Desk A", QFEX, "NVDA-USD", L, "40", "121.05", "118.70", "-35.00", "20",
                   None, 1.1)),
    "Desk B": (pos("Desk B", EVERSTRIKE, "USD_BTC_PERP", L, "0.5", "60560", "65000", "0", "10",
                   "55110", 0.7),
               pos("Desk B", EVERSTRIKE, "USD_ETH_PERP", S, "3.5", "4420", "4310.5", "18.25",
                   "10", "4818", 14.0)),
}


class Session(FakeSession):
    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return INSTRUMENTS


async def shoot() -> None:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> Session:
        s = Session(acct, creds, sink)
        s.health_now = SessionHealth(connected=True, rtt_ms=21.0, skew_ms=4.0)
        s.initial = BOOK[acct.name]
        return s

    desk = Desk(session_factory=factory)
    window = MainWindow(desk, coalesce_ms=5)  # no layout_path: nothing read or written
    window.resize(1800, 640)
    window.show()
    creds = Credentials("pub", "sec")
    await desk.start([(account("Desk A"), creds), (account("Desk B", EVERSTRIKE), creds)])
    window.bridge.flush()
    window.positions_model.flush()
    chooser = window.window_layout.positions
    chooser.set_shown(P.ENV, False)
    for col in (P.NOTIONAL, P.REALISED, P.LEVERAGE, P.LIQUIDATION, P.AGE):
        chooser.set_shown(col, True)
    window.splitter.setSizes([400, 140])
    await asyncio.sleep(0.5)
    shot = window.grab()
    # The header's menu, as a right-click on "Data age" opens it; a popup is its own window,
    # so it is painted onto the window's picture where it would appear.
    header = window.positionsView.horizontalHeader()
    x = header.sectionViewportPosition(P.AGE) + 20
    header.customContextMenuRequested.emit(QPoint(x, header.height() // 2))
    menu = chooser.menu
    assert menu is not None
    await asyncio.sleep(0.3)
    at = header.mapTo(window, QPoint(x, header.height() // 2))
    painter = QPainter(shot)
    painter.drawPixmap(at, menu.grab())
    painter.end()
    menu.hide()
    shot.save(str(OUT), "PNG")
    await window.shutdown()
    await desk.stop()


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot())
    print(OUT)


if __name__ == "__main__":
    main()
