"""Makes docs/team-status.png: the window's status bar in team mode with the team database
down (records waiting locally, closes needing an override), its tooltip shown above it.
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/team_status_shot.py (from the checkout's
root; it starts a throwaway PostgreSQL in a temporary folder, takes a lease, kills the server
and writes records while it is away; no venue, no secret, the journal in a temporary folder).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

import qasync
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QLabel, QToolTip

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.desk import Desk
from core.journal import Journal
from core.model import PositionKey
from core.settings import Preferences
from core.team.cluster import LocalCluster
from core.team.config import TeamConfig
from core.team.link import LinkPhase
from core.team.setup import prepare
from core.team.stack import TeamStack
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.theme.follower import theme_follower
from tests.helpers.fakes import FakeSession, account, position
from tests.helpers.polling import until

OUT = Path(__file__).with_name("team-status.png")
PASSWORD = "demo-only"  # a throwaway cluster's, on loopback
WAITING = 40


def tooltip_label() -> QLabel | None:
    for widget in QApplication.topLevelWidgets():
        if widget.inherits("QTipLabel") and widget.isVisible() and isinstance(widget, QLabel):
            return widget
    return None


async def shoot(cluster: LocalCluster, folder: Path) -> None:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.initial = (position("AAPL-USD"), position("TSLA-USD", qty="12"))
        return s

    journal = Journal(folder / "journal.sqlite3", operator="maria")
    config = TeamConfig(f"postgresql://closeout_app@127.0.0.1:{cluster.port}/closeout",
                        "Desk 3", 30.0)
    stack = TeamStack(config, PASSWORD, journal, "maria", desk="desk-5e1f0c2a")
    desk = Desk(journal=journal, session_factory=factory, coordinator=stack.coordinator)
    await stack.start()
    window = MainWindow(desk, coalesce_ms=5,
                        preferences=Preferences(confirm="never", stale_after_s=3600.0))
    status = window.set_team(stack)
    status.timer.setInterval(50)
    window.resize(1400, 720)
    window.show()
    await desk.start([(account("Client 7"), Credentials("pub", "sec"))])
    await until(lambda: stack.link().phase is LinkPhase.UP, timeout=30)
    # A close in flight when the database goes: its lease stays this desk's.
    await stack.coordinator.acquire(PositionKey("Client 7", QFEX, "TSLA-USD"), "intent-7f3a")
    await asyncio.to_thread(cluster.kill)
    await until(lambda: stack.link().phase is LinkPhase.DOWN, timeout=30)
    for i in range(WAITING):
        journal.append("note", {"i": i})
    journal.flush(timeout=30)
    await until(lambda: status.waiting >= WAITING, timeout=30)
    window.splitter.setSizes([170, 480])  # a tall log: its lines above the tooltip
    await asyncio.sleep(0.3)
    window.log_model.flush()

    bar = window.statusBar()
    indicator = status.indicator
    QToolTip.showText(indicator.mapToGlobal(QPoint(8, 0)), indicator.toolTip(), indicator)
    await asyncio.sleep(0.3)
    tip = tooltip_label()
    shot = window.grab()
    # The window's bottom: the log with its "TEAM DOWN" line and the status bar, the tooltip
    # drawn over it where it shows (offscreen, tooltips are windows of their own).
    height = 428
    top = shot.height() - height
    out = QPixmap(shot.width(), height)
    out.fill(QColor("white"))
    painter = QPainter(out)
    painter.drawPixmap(0, 0, shot, 0, top, shot.width(), height)
    if tip is not None:
        tip_pix = tip.grab()
        at = indicator.mapTo(window, QPoint(0, 0)) - QPoint(0, top)
        x = min(at.x(), shot.width() - tip_pix.width() - 4)
        y = at.y() - tip_pix.height() - 4
        painter.drawPixmap(x, y, tip_pix)
        painter.setPen(QColor("#9aa1ab"))
        painter.drawRect(QRect(x, y, tip_pix.width() - 1, tip_pix.height() - 1))
    painter.end()
    out.save(str(OUT), "PNG")
    print(bar.currentMessage() or indicator.text())
    QToolTip.hideText()
    await window.shutdown()
    await desk.stop()
    await stack.stop(flush_s=0)
    journal.close()
    window.close()


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv)
    theme_follower(app, "light")  # the app's own style sheet, as it starts
    cluster = LocalCluster().start()
    try:
        prepare(cluster.dsn(), app_password=PASSWORD)
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with loop, tempfile.TemporaryDirectory() as folder:
            loop.run_until_complete(shoot(cluster, Path(folder)))
    finally:
        cluster.stop()
    print(OUT)


if __name__ == "__main__":
    main()
