"""Makes docs/log-filtering.png: the order log while a new search is worked out in slices
("filtering… 40 %"), the previous result (one account and a search) still on screen. Run:
QT_QPA_PLATFORM=offscreen .venv/bin/python docs/log_rescan_shot.py (from the checkout's root;
no venue, no secret, no journal)."""

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
from docs.log_filters_shot import SYMBOLS, lines
from gui.main_window import MainWindow
from tests.helpers.fakes import FakeSession, account, position

OUT = Path(__file__).with_name("log-filtering.png")


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
    window.bridge.flush()
    window.positions_model.flush()
    lines(window)
    bar, filters = window.logPane.bar, window.log_filters
    bar.account.setCurrentIndex(bar.account.findData("Desk A"))
    bar.search.setText("tsla")
    filters.apply()
    window.splitter.setSizes([200, 470])
    filters.slice_lines, filters.budget = 10, 0.0  # small slices, one a turn: stop at 40 %
    bar.search.setText("tsla q-41")
    filters.apply()
    while filters.rescan is not None and filters.rescan.progress < 0.4:  # noqa: ASYNC110
        await asyncio.sleep(0)
    filters.turn.stop()
    filters.update_count()
    await asyncio.sleep(0.3)
    window.logPane.grab().save(str(OUT), "PNG")
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
