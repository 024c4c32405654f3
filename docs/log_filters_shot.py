"""Makes docs/log-filters.png: the order log filtered to one account and a search, with the
count, Clear filters, and Follow newest. Run: QT_QPA_PLATFORM=offscreen .venv/bin/python
docs/log_filters_shot.py (from the checkout's root; no venue, no secret, no journal)."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal as D
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.desk import Desk
from core.model import (
    ConnectionState,
    Fill,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    SessionHealth,
)
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from gui.main_window import MainWindow
from tests.helpers.fakes import FakeSession, account, position

OUT = Path(__file__).with_name("log-filters.png")
T0 = 1_764_860_400.0  # a fixed wall time, so the picture is the same each run
ACCOUNTS = ("Desk A", "Desk B", "Client 7")
SYMBOLS = ("AAPL-USD", "TSLA-USD", "NVDA-USD")
STEPS = (OrderStatus.SENT, OrderStatus.ACK, OrderStatus.PARTIAL, OrderStatus.FILLED)


def lines(window: MainWindow) -> None:
    """A busy morning: three accounts closing, filling, and one rejection."""
    at = T0
    for n in range(40):
        acct = ACCOUNTS[n % 3]
        symbol = SYMBOLS[(n // 3) % len(SYMBOLS)]
        for status in STEPS if n % 7 else (OrderStatus.SENT, OrderStatus.REJECTED):
            at += 0.137
            raw = {"SENT": "", "ACK": "NEW", "PARTIAL": "PARTIALLY_FILLED",
                   "FILLED": "FILLED", "REJECTED": "REJECTED"}[status.value]
            message = "sell refused: reduce-only would increase the position" \
                if status is OrderStatus.REJECTED else ""
            window.log_model.append_event(OrderUpdate(
                window.desk.session(acct).account.venue, acct, symbol, status, raw,
                status in (OrderStatus.FILLED, OrderStatus.REJECTED),
                order_id=f"q-{4100 + n}", client_order_id=f"co-{n:04d}", side=OrderSide.SELL,
                quantity=D(5 + n % 4), remaining=D(0) if status is OrderStatus.FILLED else D(2),
                price=D("264.50") + n, message=message, received_at=at))
        if n % 7:
            window.log_model.append_event(Fill(
                window.desk.session(acct).account.venue, acct, symbol, f"q-{4100 + n}", None,
                OrderSide.SELL, D("264.50") + n, D(5 + n % 4), D("0.12"), received_at=at))
    window.log_model.flush()


async def shoot() -> None:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.health_now = SessionHealth(connected=True, rtt_ms=21.0, skew_ms=4.0)
        s.initial = tuple(position(sym, acct=acct.name, venue=acct.venue) for sym in SYMBOLS)
        return s

    desk = Desk(session_factory=factory)
    window = MainWindow(desk, coalesce_ms=5)
    window.resize(1280, 760)
    window.show()
    creds = Credentials("pub", "sec")
    await desk.start([(account("Desk A"), creds), (account("Desk B", EVERSTRIKE), creds),
                      (account("Client 7"), creds)])
    desk.session("Desk B").say(ConnectionState.DISCONNECTED, "read timed out", at=T0 + 3)
    window.bridge.flush()
    window.positions_model.flush()
    lines(window)
    bar = window.logPane.bar
    bar.account.setCurrentIndex(bar.account.findData("Desk A"))
    bar.search.setText("tsla")
    window.log_filters.apply()
    window.splitter.setSizes([200, 470])
    await asyncio.sleep(0.5)
    window.grab().save(str(OUT), "PNG")
    await window.shutdown()
    await desk.stop()


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    from gui.theme.sheet import style_sheet

    app.setStyleSheet(style_sheet("light"))  # the sheet's colours filled in (gui/theme)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot())
    print(OUT)


if __name__ == "__main__":
    main()
