"""Makes docs/team-history.png: History on "All desks", two desks' records in the shared journal
with the Desk column, and a record of the other desk chosen in the detail pane.
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/team_history_shot.py (from the checkout's
root; starts a throwaway PostgreSQL cluster, as the tests do, and removes it after)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

import psycopg
import qasync
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.journal import Journal, JournalEntry
from core.team.cluster import LocalCluster
from core.team.history import TeamHistory
from core.team.replica import Replicator
from core.team.setup import APP_ROLE, prepare
from gui.history import HistoryView
from tests.helpers.polling import until

OUT = Path(__file__).with_name("team-history.png")
PASSWORD = "docs-only"
AAPL = {"account": "Client 7", "venue": "qfex", "symbol": "AAPL-USD", "intent_id": "intent-7f3a"}
TSLA = {"account": "Client 7", "venue": "qfex", "symbol": "TSLA-USD", "intent_id": "intent-c21e"}
WHY = "INC-4411: flatten Client 7 before the close, confirmed by phone"
DESK1 = [
    JournalEntry("intent", {"side": "SELL", "quantity": "25", "full": True}, reason=WHY, **AAPL),
    JournalEntry("request", {"type": "close_position", "params": {"symbol": "AAPL-USD"}},
                 reason=WHY, **AAPL),
    JournalEntry("order_update", {"status": "ACK", "order_id": "91842"}, latency_ms=3.4, **AAPL),
    JournalEntry("fill", {"price": "264.61", "quantity": "25", "order_id": "91842"}, **AAPL),
    JournalEntry("verified", {"flat": True, "after_ms": 412}, **AAPL),
]
DESK2 = [
    JournalEntry("intent", {"side": "BUY", "quantity": "12", "full": True}, reason=WHY, **TSLA),
    JournalEntry("request", {"type": "close_position", "params": {"symbol": "TSLA-USD"}},
                 reason=WHY, **TSLA),
    JournalEntry("order_update", {"status": "ACK", "order_id": "91847"}, latency_ms=4.1, **TSLA),
    JournalEntry("fill", {"price": "181.35", "quantity": "12", "order_id": "91847"}, **TSLA),
]


async def copy(journal: Journal, dsn: str, desk: str, name: str, operator: str) -> None:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(dsn)

    replicator = Replicator(journal, connect, desk, desk_name=name, operator=operator)
    task = asyncio.create_task(replicator.run())
    await until(lambda: replicator.status.remote_seq == journal.last_seq(), timeout=60)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def shoot(dsn: str, tmp: Path) -> None:
    mine = Journal(tmp / "1.sqlite3", operator="maria")
    other = Journal(tmp / "2.sqlite3", operator="li")
    for journal, entries, desk, name in ((mine, DESK1, "desk-1f0c", "Desk 1"),
                                         (other, DESK2, "desk-9a42", "Desk 2")):
        journal.append_many(entries)
        journal.flush()
        await copy(journal, dsn, desk, name, journal.operator)

    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(dsn)

    source = TeamHistory(connect)
    view = HistoryView(mine, poll_ms=3_600_000)
    view.set_team(source)
    view.resize(1440, 420)
    view.show()
    team = view.teamModel
    assert team is not None
    await until(lambda: team.rowCount() == len(DESK1) + len(DESK2) and not team.busy,
                timeout=60)
    await view.tracker.join(timeout=30)
    view.table.selectRow(2)  # Desk 2's request: its desk, operator and reason in the pane
    view.grab().save(str(OUT), "PNG")
    view.shutdown()
    view.close()
    await source.close()
    mine.close()
    other.close()


def main() -> int:
    app = QApplication(sys.argv)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as tmp, LocalCluster() as cluster:
        prepare(cluster.dsn(), app_password=PASSWORD)
        dsn = cluster.dsn(user=APP_ROLE, password=PASSWORD, dbname="closeout")
        loop.run_until_complete(shoot(dsn, Path(tmp)))
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
