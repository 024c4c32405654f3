"""Makes docs/history-detail.png: the History tab with a close's record chosen in the detail
pane. Run: PYTHONPATH=. QT_QPA_PLATFORM=offscreen .venv/bin/python docs/history_shot.py"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from core.desk import Desk
from core.journal import Journal, JournalEntry
from gui.history import HistoryColumn
from gui.main_window import MainWindow

WHY = "INC-4411: client asked to flatten AAPL before the close, confirmed by phone (J. Doe)"
A = {"account": "QFEX demo", "venue": "qfex", "symbol": "AAPL-USD", "intent_id": "intent-7f3a"}
E = {"account": "Everstrike demo", "venue": "everstrike", "symbol": "USD_BTC_PERP"}
RECORDS = [
    JournalEntry("connection", {"state": "connected", "endpoint": "wss://127.0.0.1:40211/"},
                 account="QFEX demo", venue="qfex"),
    JournalEntry("connection", {"state": "connected"}, account="Everstrike demo",
                 venue="everstrike"),
    JournalEntry("intent", {"side": "SELL", "quantity": "25", "full": True, "mechanism":
                            "close_position"}, reason=WHY, **A),
    JournalEntry("request", {"type": "close_position", "params": {
        "symbol": "AAPL-USD", "client_order_id": "co-20261204-0007"}, "auth": "<redacted>"},
        reason=WHY, **A),
    JournalEntry("order_update", {"status": "ACK", "venue_status": "ACK", "order_id": "91842",
                                  "client_order_id": "co-20261204-0007"}, latency_ms=3.4, **A),
    JournalEntry("fill", {"price": "229.35", "quantity": "25", "order_id": "91842"}, **A),
    JournalEntry("order_update", {"status": "FILLED", "venue_status": "FILLED",
                                  "filled": "25", "avg_price": "229.35"}, **A),
    JournalEntry("order_update", {"status": "FILLED", "venue_status": "FILLED"}, **E),
    JournalEntry("verified", {"flat": True, "after_ms": 412}, **A),
]


def main() -> int:
    app = QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        journal = Journal(Path(tmp) / "journal.sqlite3", operator="sam", operator_name="Desk 3")
        journal.append_many(RECORDS)
        journal.flush()
        window = MainWindow(Desk(journal=journal), journal=journal)
        window.resize(1440, 860)
        window.show()
        window.splitter.setSizes([250, 560])
        window.bottomTabs.setCurrentWidget(window.historyView)
        view = window.historyView
        app.processEvents()
        row = view.model.row_of(4)  # the request, its reason and payload whole
        assert row is not None
        rect = view.table.visualRect(view.model.index(row, HistoryColumn.KIND))
        QTest.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, QPoint(rect.center()))
        app.processEvents()
        out = Path(__file__).with_name("history-detail.png")
        window.grab().save(str(out))
        window.close()
        journal.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
