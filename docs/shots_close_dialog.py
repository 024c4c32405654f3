"""Remake the close dialog's pictures under docs/ (offscreen, no simulator needed).

    QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python docs/shots_close_dialog.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from core.model import CloseRequest, Environment
from core.settings import Preferences

DOCS = Path(__file__).resolve().parent


def qfex_frame(request: CloseRequest) -> str:
    return json.dumps({"type": "close_position", "params": {
        "symbol": request.key.symbol, "client_order_id": request.client_order_id}},
        separators=(",", ":"))


def settle(app: QApplication) -> None:
    for _ in range(3):
        app.processEvents()


def confirmation_shots(app: QApplication) -> None:
    """The dialog before and after it asks for confirmation: the question takes the buttons'
    place and nothing else moves."""
    from gui.dialogs.close import CloseDialog
    from tests.gui.test_close_dialog import INSTRUMENT, QFEX_LIKE, position
    from tests.helpers.fakes import FakeSubmit

    dialog = CloseDialog(position(), QFEX_LIKE, INSTRUMENT, FakeSubmit(),
                         preview=qfex_frame, environment=Environment.LIVE,
                         preferences=Preferences(confirm="always", stale_after_s=5.0),
                         data_age=lambda: 12.0)
    dialog.show()
    settle(app)
    dialog.grab().save(str(DOCS / "close-dialog-confirm-before.png"))
    dialog.send()
    settle(app)
    dialog.grab().save(str(DOCS / "close-dialog-confirm-after.png"))
    dialog.close()


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setStyleSheet((DOCS.parent / "resources" / "style.qss").read_text(encoding="utf-8"))
    confirmation_shots(app)
    return 0


if __name__ == "__main__":
    sys.exit(main())
