"""Makes docs/grouped-rows.png: the window grouped by account, one account folded, with the
subtotals and the totals rows. Run: QT_QPA_PLATFORM=offscreen .venv/bin/python
docs/grouped_rows_shot.py (from the checkout's root; no venue, no secret, no journal)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from decimal import Decimal as D
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.desk import Desk
from core.model import (
    Instrument,
    Position,
    PositionKey,
    PositionSide,
    SessionHealth,
    Venue,
)
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from tests.helpers.fakes import FakeSession, account

OUT = Path(__file__).with_name("grouped-rows.png")
USD = {"tick_size": D("0.01"), "lot_size": D("0.01"), "quote_currency": "USD"}
USDT = {"tick_size": D("0.5"), "lot_size": D("0.001"), "quote_currency": "USDT"}
INSTRUMENTS = {s: Instrument(s, **USD) for s in ("AAPL-USD", "TSLA-USD", "NVDA-USD")} | {
    s: Instrument(s, **USDT) for s in ("USD_BTC_PERP", "USD_ETH_PERP")}  # type: ignore[arg-type]


def pos(acct: str, venue: Venue, symbol: str, side: PositionSide, qty: str, entry: str,
        mark: str) -> Position:
    sign = 1 if side is PositionSide.LONG else -1
    pnl = (D(mark) - D(entry)) * D(qty) * sign
    return Position(PositionKey(acct, venue, symbol), side, D(qty), D(entry), D(mark), pnl)


L, S = PositionSide.LONG, PositionSide.SHORT
BOOK = {
    "Desk A": (pos("Desk A", QFEX, "AAPL-USD", L, "25", "250.10", "264.66"),
               pos("Desk A", QFEX, "TSLA-USD", S, "12", "182.40", "181.35"),
               pos("Desk A", QFEX, "NVDA-USD", L, "40", "121.05", "118.70")),
    "Desk B": (pos("Desk B", EVERSTRIKE, "USD_BTC_PERP", L, "0.5", "60560", "65000"),
               pos("Desk B", EVERSTRIKE, "USD_ETH_PERP", S, "3.5", "4420", "4310.5")),
    "Client 7": (pos("Client 7", QFEX, "AAPL-USD", S, "10", "270.00", "264.66"),
                 pos("Client 7", QFEX, "TSLA-USD", L, "4", "175.00", "181.35")),
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
    window = MainWindow(desk, coalesce_ms=5)
    window.resize(1400, 720)
    window.show()
    creds = Credentials("pub", "sec")
    await desk.start([(account("Desk A"), creds), (account("Desk B", EVERSTRIKE), creds),
                      (account("Client 7"), creds)])
    window.bridge.flush()
    window.positions_model.flush()
    window.groupByAccount.setChecked(True)
    window.positions_proxy.set_collapsed("Client 7", True)
    window.splitter.setSizes([560, 110])  # room for every row, the totals at the bottom
    await asyncio.sleep(0.5)
    window.grab().save(str(OUT), "PNG")
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
