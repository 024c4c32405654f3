"""Makes docs/totals-strip.png: the window at its minimum size (1024 x 640) with the totals
strip under the positions table, the per-account line open, then filtered to one symbol
(totals-strip-filtered.png).
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/totals_strip_shot.py (from the
checkout's root; no venue, no secret, no journal)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.desk import Desk
from core.model import SessionHealth
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from docs.grouped_rows_shot import BOOK, Session
from gui.main_window import MINIMUM_SIZE, MainWindow
from tests.helpers.fakes import account

OUT = Path(__file__).with_name("totals-strip.png")


async def shoot() -> None:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> Session:
        s = Session(acct, creds, sink)
        s.health_now = SessionHealth(connected=True, rtt_ms=21.0, skew_ms=4.0)
        s.initial = BOOK[acct.name]
        return s

    desk = Desk(session_factory=factory)
    window = MainWindow(desk, coalesce_ms=5)
    window.resize(MINIMUM_SIZE)
    window.show()
    creds = Credentials("pub", "sec")
    await desk.start([(account("Desk A"), creds), (account("Desk B", EVERSTRIKE), creds),
                      (account("Client 7"), creds)])
    window.bridge.flush()
    window.positions_model.flush()
    window.totals.strip.accountsToggle.setChecked(True)
    window.splitter.setSizes([420, 120])
    await asyncio.sleep(0.5)
    window.grab().save(str(OUT), "PNG")
    window.symbolFilter.setText("aapl")
    await asyncio.sleep(0.5)
    window.grab().save(str(OUT.with_name("totals-strip-filtered.png")), "PNG")
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
