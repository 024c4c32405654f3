"""Makes docs/alerts.png: the window just after one account's connection dropped, where no
system tray exists (the alert is in the status bar), and docs/tray-states.png: the tray icon in
each connection state with its tooltip. Run: QT_QPA_PLATFORM=offscreen .venv/bin/python
docs/alerts_shot.py (from the checkout's root; no venue, no secret, no journal)."""

from __future__ import annotations

import asyncio
import sys
from decimal import Decimal as D
from pathlib import Path

import qasync
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QGridLayout, QLabel, QWidget

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.desk import Desk
from core.model import (
    ConnectionEvent,
    ConnectionState,
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
from gui.widgets.tray import ConnectionTray, TrayState
from tests.helpers.fakes import FakeSession, account

ROOT = Path(__file__).resolve().parents[1]
OUT = Path(__file__).with_name("alerts.png")
TRAY_OUT = Path(__file__).with_name("tray-states.png")
L, S = PositionSide.LONG, PositionSide.SHORT


def pos(acct: str, venue: Venue, symbol: str, side: PositionSide, qty: str, entry: str,
        mark: str) -> Position:
    sign = 1 if side is PositionSide.LONG else -1
    pnl = (D(mark) - D(entry)) * D(qty) * sign
    return Position(PositionKey(acct, venue, symbol), side, D(qty), D(entry), D(mark), pnl)


BOOK = {
    "Desk A": (pos("Desk A", QFEX, "AAPL-USD", L, "25", "250.10", "264.66"),
               pos("Desk A", QFEX, "TSLA-USD", S, "12", "182.40", "181.35")),
    "Desk B": (pos("Desk B", EVERSTRIKE, "USD_BTC_PERP", L, "0.5", "60560", "65000"),
               pos("Desk B", EVERSTRIKE, "USD_ETH_PERP", S, "3.5", "4420", "4310.5")),
    "Client 7": (pos("Client 7", QFEX, "NVDA-USD", L, "40", "121.05", "118.70"),),
}


def tray_states(icon: QIcon) -> QWidget:
    """Each state's badged icon beside its tooltip."""
    panel = QWidget()
    panel.setObjectName("trayStates")
    panel.setStyleSheet("QWidget#trayStates { background: #ffffff; } QLabel { font-size: 13px; }")
    grid = QGridLayout(panel)
    grid.setContentsMargins(16, 12, 16, 12)
    grid.setHorizontalSpacing(14)
    tray = ConnectionTray(panel, icon)
    counts = {TrayState.ALL_CONNECTED: (3, 3), TrayState.SOME_DOWN: (2, 3),
              TrayState.ALL_DOWN: (0, 3), TrayState.NO_ACCOUNTS: (0, 0)}
    for row, (state, (up, total)) in enumerate(counts.items()):
        tray.set_counts(up, total)
        assert tray.state is state
        picture = QLabel(panel)
        picture.setPixmap(tray.icon().pixmap(40, 40))
        grid.addWidget(picture, row, 0)
        grid.addWidget(QLabel(f"{state.value}: “{tray.toolTip()}”", panel), row, 1,
                       Qt.AlignmentFlag.AlignVCenter)
    panel.adjustSize()
    return panel


async def shoot() -> None:
    sessions: dict[str, FakeSession] = {}

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.health_now = SessionHealth(connected=True, rtt_ms=21.0, skew_ms=4.0)
        s.initial = BOOK[acct.name]
        sessions[acct.name] = s
        return s

    desk = Desk(session_factory=factory)
    window = MainWindow(desk, coalesce_ms=5)
    window.resize(1280, 560)
    window.show()
    creds = Credentials("pub", "sec")
    await desk.start([(account("Desk A"), creds), (account("Desk B", EVERSTRIKE), creds),
                      (account("Client 7"), creds)])
    window.bridge.flush()
    window.positions_model.flush()
    await asyncio.sleep(0.3)
    sessions["Desk B"].health_now = SessionHealth(connected=False)
    sessions["Desk B"].sink(ConnectionEvent(EVERSTRIKE, "Desk B", ConnectionState.DISCONNECTED,
                                            "socket closed (1006)"))
    await desk.journaled()
    window.bridge.flush()
    window.refresh_health()
    window.positions_model.flush()
    await asyncio.sleep(0.5)
    window.grab().save(str(OUT), "PNG")
    tray_states(QApplication.windowIcon()).grab().save(str(TRAY_OUT), "PNG")
    await window.shutdown()
    await desk.stop()


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setWindowIcon(QIcon(str(ROOT / "resources" / "closeout.png")))
    from gui.theme.sheet import style_sheet

    app.setStyleSheet(style_sheet("light"))  # the sheet's colours filled in (gui/theme)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot())
    print(OUT, TRAY_OUT)


if __name__ == "__main__":
    main()
