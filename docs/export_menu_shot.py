"""Makes docs/export-menu.png: File → Export ▸ open over the window (filtered to one symbol,
the totals strip below the table). The menus are separate windows: each is grabbed and drawn
where it opened. Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/export_menu_shot.py
(from the checkout's root; no venue, no secret, no journal)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import qasync
from PySide6.QtCore import QPoint
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QWidget

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.desk import Desk
from core.model import SessionHealth
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from docs.grouped_rows_shot import BOOK, Session
from gui.main_window import MainWindow
from tests.helpers.fakes import account

OUT = Path(__file__).with_name("export-menu.png")


async def shoot() -> None:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> Session:
        s = Session(acct, creds, sink)
        s.health_now = SessionHealth(connected=True, rtt_ms=21.0, skew_ms=4.0)
        s.initial = BOOK[acct.name]
        return s

    desk = Desk(session_factory=factory)
    window = MainWindow(desk, coalesce_ms=5)
    window.resize(1180, 640)
    window.show()
    creds = Credentials("pub", "sec")
    await desk.start([(account("Desk A"), creds), (account("Desk B", EVERSTRIKE), creds),
                      (account("Client 7"), creds)])
    window.bridge.flush()
    window.positions_model.flush()
    window.symbolFilter.setText("a")
    file_menu, export_menu = window.fileMenu, window.exporting.menu
    file_menu.popup(window.mapToGlobal(QPoint(4, window.menuBar().height())))
    await asyncio.sleep(0.3)
    file_menu.setActiveAction(export_menu.menuAction())
    export_menu.popup(file_menu.mapToGlobal(
        file_menu.actionGeometry(export_menu.menuAction()).topRight()))
    export_menu.setActiveAction(window.exporting.positionsAction)
    await asyncio.sleep(0.5)
    image = window.grab().toImage()
    painter = QPainter(image)
    menu: QWidget
    for menu in (file_menu, export_menu):
        painter.drawPixmap(window.mapFromGlobal(menu.mapToGlobal(QPoint(0, 0))), menu.grab())
    painter.end()
    image.save(str(OUT), "PNG")
    export_menu.close()
    file_menu.close()
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
