"""A strip of per-account widgets that scrolls sideways instead of widening the window.

A support desk may watch dozens of accounts; laid out in one row their badges would force the
main window several screens wide, and every repaint would pay for the width."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QScrollArea, QSizePolicy, QWidget

from gui.widgets.flow import FlowLayout

__all__ = ["SideScroller", "WrapScroller"]


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


class WrapScroller(QScrollArea):
    """Shows a strip whose layout wraps (gui/widgets/flow.py) at the height its rows need for
    the width given, up to ``max_rows`` rows; more rows are a vertical scroll away. It never
    scrolls sideways, so nothing in the strip is ever cut at the window's edge."""

    def __init__(self, strip: QWidget, parent: QWidget | None = None, *,
                 max_rows: int = 2) -> None:
        super().__init__(parent)
        self.setObjectName(f"{strip.objectName() or 'strip'}Scroller")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.strip = strip
        self.max_rows = max_rows
        self._height = -1
        self.setWidget(strip)
        strip.setAutoFillBackground(False)
        self.viewport().setAutoFillBackground(False)
        strip.installEventFilter(self)

    def _row_height(self) -> int:
        layout = self.strip.layout()
        one_row = layout.heightForWidth(1 << 20) if layout is not None else 0
        return max(one_row, self.strip.fontMetrics().height())

    def _wanted(self) -> int:
        layout = self.strip.layout()
        width = max(self.viewport().width(), 1)
        need = layout.heightForWidth(width) if layout is not None else 0
        return min(need, self._step() * self.max_rows)

    def _step(self) -> int:
        """One row and the gap below it: what a scroll step moves."""
        layout = self.strip.layout()
        gap = layout.spacing() if isinstance(layout, FlowLayout) else 0
        return self._row_height() + max(gap, 0)

    def sizeHint(self) -> QSize:
        return QSize(self.strip.sizeHint().width(), self._wanted())

    def minimumSizeHint(self) -> QSize:
        return QSize(120, self._wanted())

    def _refit(self) -> None:
        wanted = self._wanted()
        if wanted != self._height:
            self._height = wanted
            self.setFixedHeight(wanted)
        self.verticalScrollBar().setSingleStep(max(1, self._step()))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._refit()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.strip and event.type() == QEvent.Type.LayoutRequest:
            self._refit()
        return super().eventFilter(watched, event)
