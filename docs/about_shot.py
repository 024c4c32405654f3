"""Makes docs/about.png (Help → About Closeout…) and docs/missing-resource.png (the window
started without its style sheet and icon: the notice, and the banners still coloured).
Run: QT_QPA_PLATFORM=offscreen .venv/bin/python docs/about_shot.py (from the checkout's root).
It runs the demo simulator and keeps its files in a throwaway home, removed afterwards."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

import qasync
from PySide6.QtWidgets import QApplication

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DOCS = Path(__file__).resolve().parent


async def missing_resource(app: QApplication, home: Path) -> None:
    from core.demo import demo_accounts
    from core.desk import Desk
    from core.sim import Simulator
    from gui.appearance import ResourceLookup, apply_appearance, missing_text
    from gui.main_window import MainWindow
    from tests.helpers.polling import market_data, until

    empty = home / "a-build-without-resources"
    empty.mkdir()
    appearance = apply_appearance(app, ResourceLookup([empty]))  # logs two ERRORs: expected
    sim = Simulator()
    info = sim.start()
    desk = Desk()
    window = MainWindow(desk, demo=True, history_poll_ms=3_600_000)
    window.resourceWarning.say(missing_text(appearance.missing))
    window.resize(1280, 640)
    window.show()
    try:
        assert await desk.start(demo_accounts(info)) == []
        await until(lambda: window.positions_model.rowCount() > 0)
        await market_data(desk)
        await asyncio.sleep(0.5)  # a repaint with the marks
        window.grab().save(str(DOCS / "missing-resource.png"))
    finally:
        await window.shutdown()
        await desk.stop()
        sim.stop()
        window.deleteLater()


async def about(app: QApplication) -> None:
    from core.desk import Desk
    from gui.appearance import apply_appearance
    from gui.main_window import MainWindow

    apply_appearance(app)
    window = MainWindow(Desk(), demo=True, history_poll_ms=3_600_000)
    window.about.opener = lambda url: True
    window.show()
    try:
        window.aboutAction.trigger()
        dialog = window.about.dialog
        assert dialog is not None
        dialog.resize(dialog.sizeHint().expandedTo(dialog.minimumSizeHint()))
        await asyncio.sleep(0.2)
        dialog.grab().save(str(DOCS / "about.png"))
    finally:
        await window.shutdown()
        window.deleteLater()


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="closeout-docs-") as tmp:
        home = Path(tmp)
        for var, sub in (("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share"),
                         ("XDG_STATE_HOME", ".local/state")):
            os.environ[var] = str(home / sub)
            (home / sub / "closeout").mkdir(parents=True)
        (home / ".local/state/closeout/log").mkdir()
        app = QApplication(["closeout"])
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        with loop:
            loop.run_until_complete(missing_resource(app, home))
            loop.run_until_complete(about(app))


if __name__ == "__main__":
    main()
