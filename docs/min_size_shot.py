"""Screenshot of the window at its minimum size with the demo simulator's rows:
``PYTHONPATH=. QT_QPA_PLATFORM=offscreen .venv/bin/python docs/min_size_shot.py [out.png]``."""

from __future__ import annotations

import asyncio
import sys

import qasync
from PySide6.QtWidgets import QApplication

from core.demo import demo_accounts
from core.desk import Desk
from core.sim import Simulator
from gui.launch import _apply_style
from gui.main_window import MainWindow
from tests.helpers.polling import market_data, until


async def shoot(out: str) -> None:
    sim = Simulator()
    info = sim.start()
    desk = Desk()
    window = MainWindow(desk, demo=True, history_poll_ms=3_600_000)
    window.show()
    window.resize(window.minimumSize())
    try:
        assert await desk.start(demo_accounts(info)) == []
        await until(lambda: window.positions_model.rowCount() > 0)
        await market_data(desk)
        window.statusBar().showMessage(
            "Close of USD_BTC_PERP on Everstrike demo sent; waiting for the venue's reply.")
        await asyncio.sleep(1.5)  # a health sample and a repaint
        window.refresh_health()
        await asyncio.sleep(0.3)
        window.grab().save(out)
    finally:
        await window.shutdown()
        await desk.stop()
        sim.stop()


def main() -> None:
    app = QApplication(sys.argv[:1])
    _apply_style(app)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        loop.run_until_complete(shoot(sys.argv[1] if len(sys.argv) > 1 else "docs/min-size.png"))


if __name__ == "__main__":
    main()
