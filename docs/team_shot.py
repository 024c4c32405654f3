"""Makes docs/team-row.png (a row another desk is closing: "Closing by Desk 3") and
docs/team-lease-held.png (the close dialog refused by Desk 3's lease, with Send anyway open).
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/team_shot.py (from the checkout's root;
no venue, no database, no secret, no journal: the other desk is a stand-in coordinator)."""

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
from core.desk.coordination import Holder
from core.model import Instrument, Position, PositionKey, PositionSide, SessionHealth
from core.settings import Preferences
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.theme.follower import theme_follower
from tests.helpers.coordination import FakeCoordinator
from tests.helpers.fakes import FakeSession, account

ROW = Path(__file__).with_name("team-row.png")
DIALOG = Path(__file__).with_name("team-lease-held.png")
USD = {"tick_size": D("0.01"), "lot_size": D("0.01"), "quote_currency": "USD"}
SYMBOLS = ("AAPL-USD", "TSLA-USD", "NVDA-USD")
INSTRUMENTS = {s: Instrument(s, **USD) for s in SYMBOLS}  # type: ignore[arg-type]
MARIA = Holder("d3", "Desk 3", "maria", "intent-7f3a", 4.0, 26.0)


def pos(symbol: str, side: PositionSide, qty: str, entry: str, mark: str) -> Position:
    sign = 1 if side is PositionSide.LONG else -1
    pnl = (D(mark) - D(entry)) * D(qty) * sign
    return Position(PositionKey("Client 7", QFEX, symbol), side, D(qty), D(entry), D(mark), pnl)


BOOK = (pos("AAPL-USD", PositionSide.LONG, "25", "250.10", "264.66"),
        pos("TSLA-USD", PositionSide.SHORT, "12", "182.40", "181.35"),
        pos("NVDA-USD", PositionSide.LONG, "40", "121.05", "118.70"))


class Session(FakeSession):
    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return INSTRUMENTS


async def shoot() -> None:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> Session:
        s = Session(acct, creds, sink)
        s.health_now = SessionHealth(connected=True, rtt_ms=21.0, skew_ms=4.0)
        s.initial = BOOK
        return s

    coordinator = FakeCoordinator()
    desk = Desk(session_factory=factory, coordinator=coordinator)
    window = MainWindow(desk, coalesce_ms=5,
                        preferences=Preferences(confirm="never", stale_after_s=3600.0))
    window.resize(1320, 460)
    window.show()
    await desk.start([(account("Client 7"), Credentials("pub", "sec"))])
    window.bridge.flush()
    window.positions_model.flush()
    key = PositionKey("Client 7", QFEX, "TSLA-USD")
    coordinator.set_holder(key, MARIA)  # Desk 3 starts closing TSLA
    await asyncio.sleep(0.5)
    window.grab().save(str(ROW), "PNG")

    dialog = window.closing.request_close(key)
    assert dialog is not None
    dialog.send()
    assert dialog.task is not None
    await dialog.task
    panel = dialog.leasePanel
    panel.overrideButton.click()
    panel.reasonInput.setText("Desk 3 froze mid-close, ticket 881")
    await asyncio.sleep(0.3)
    dialog.grab().save(str(DIALOG), "PNG")
    dialog.reject()
    await window.shutdown()
    await desk.stop()


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    theme_follower(app, "light")  # the app's own style sheet, as it starts
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot())
    print(ROW, DIALOG)


if __name__ == "__main__":
    main()
