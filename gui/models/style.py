"""The colours and fonts the tables paint with: profit and loss, muted and stale text, the
mismatch banner and each environment's chip colours."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QFontDatabase

from core.model import Environment

__all__ = [
    "ENV_COLOURS",
    "LOSS",
    "MISMATCH_ROW",
    "MUTED",
    "PROFIT",
    "STALE",
    "WARN",
    "italic",
    "monospace",
]

PROFIT = QColor("#1b7f3b")
LOSS = QColor("#c62828")
MUTED = QColor("#6b7280")
WARN = QColor("#b45309")
STALE = QColor("#9aa1ab")
MISMATCH_ROW = QColor("#fde2e2")  # a full close the venue still shows open: the whole row

# (fill, ink) of each environment's chip, banner and badge: LIVE red, TESTNET blue, DEMO amber.
ENV_COLOURS: dict[Environment, tuple[str, str]] = {
    Environment.LIVE: ("#c62828", "#ffffff"),
    Environment.TESTNET: ("#1d5fc4", "#ffffff"),
    Environment.DEMO: ("#f5b301", "#3d2c00"),
}


def monospace() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    return font


def italic(base: QFont | None = None) -> QFont:
    """Italic on top of ``base``; from nothing, a font that sets only italic, so the view's own
    family and size (from the style sheet) still apply: the delegate resolves it against them."""
    font = QFont(base) if base is not None else QFont()
    font.setItalic(True)
    return font
