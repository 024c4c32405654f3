"""A strip of per-account widgets that scrolls sideways instead of widening the window.

A support desk may watch dozens of accounts; laid out in one row their badges would force the
main window several screens wide, and every repaint would pay for the width."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget

__all__ = ["SideScroller"]


class SideScroller(QScrollArea):
    """Shows ``strip`` at its own height; wider than the space given, it scrolls sideways."""

    def __init__(self, strip: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{strip.objectName() or 'strip'}Scroller")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setWidget(strip)
        # setWidget turns the strip's background fill on; the strip sits on its parent's
        # colour (the header is white, the health row grey), so both stay see-through.
        strip.setAutoFillBackground(False)
        self.viewport().setAutoFillBackground(False)
        self.strip = strip

    def sizeHint(self) -> QSize:
        hint = self.strip.sizeHint()
        bar = self.horizontalScrollBar().sizeHint().height()
        return QSize(min(hint.width(), 600), hint.height() + bar)

    def minimumSizeHint(self) -> QSize:
        return QSize(120, self.sizeHint().height())
