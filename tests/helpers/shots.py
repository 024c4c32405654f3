"""Screenshots for the README, taken by the GUI tests that set up what they show.

``CLOSEOUT_SHOTS=docs`` (a folder) makes ``shot`` save there, drawn with the app's style sheet;
without it ``shot`` does nothing, so a test run writes no files."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

__all__ = ["shot", "shots_wanted"]

_STYLE = Path(__file__).resolve().parents[2] / "resources" / "style.qss"


def shots_wanted() -> bool:
    """Whether this run saves screenshots (a test may arrange its picture only then)."""
    return bool(os.environ.get("CLOSEOUT_SHOTS"))


def shot(widget: QWidget, name: str) -> Path | None:
    """Save ``widget`` as ``$CLOSEOUT_SHOTS/name``, styled as the app styles it."""
    folder = os.environ.get("CLOSEOUT_SHOTS")
    if not folder:
        return None
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.styleSheet()
    app.setStyleSheet(_STYLE.read_text(encoding="utf-8"))
    try:
        QApplication.sendPostedEvents()
        path = Path(folder) / name
        widget.grab().save(str(path))
        return path
    finally:
        app.setStyleSheet(before)
