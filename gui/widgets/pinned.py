"""A column pinned to the right edge of a table: the positions' Close column stays on screen
however narrow the window is and however far the table is scrolled sideways.

When the table is wider than its viewport, a second view of the same model, showing only that
column, sits over the viewport's right edge. It shares the table's selection model and its
delegate, so a row selected in one is selected in the other and a click on its Close button
is the table's own click. Rows scroll together. When everything fits, it hides and the table
is exactly as before.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QAbstractItemView, QFrame, QHeaderView, QTableView, QWidget

__all__ = ["PinnedColumn"]


class PinnedColumn(QTableView):
    """Column ``column`` of ``table``, pinned over the right edge of its viewport."""

    def __init__(self, table: QTableView, column: int) -> None:
        super().__init__(table)
        self.table = table
        self.column = column
        self.setObjectName(f"{table.objectName()}Pinned")
        self.setAccessibleName(f"{table.accessibleName()}: actions")
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the table keeps the keyboard
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(table.verticalScrollMode())
        self.setSelectionBehavior(table.selectionBehavior())
        self.setSelectionMode(table.selectionMode())
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(table.alternatingRowColors())
        self.setShowGrid(table.showGrid())
        self.setWordWrap(False)
        self.setMouseTracking(True)
        self.setTabKeyNavigation(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(table.verticalHeader().defaultSectionSize())
        header = self.horizontalHeader()
        header.setSectionsClickable(False)
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        self.hide()
        self.attach()
        table.horizontalHeader().sectionResized.connect(self.refit)
        table.horizontalScrollBar().rangeChanged.connect(self.refit)
        table.verticalScrollBar().valueChanged.connect(self.verticalScrollBar().setValue)
        self.verticalScrollBar().valueChanged.connect(table.verticalScrollBar().setValue)
        table.viewport().installEventFilter(self)
        table.installEventFilter(self)

    def attach(self) -> None:
        """Show the table's model, selection and delegate (again, after a new model)."""
        model = self.table.model()
        if model is None:
            return
        if self.model() is not model:
            self.setModel(model)
        self.setSelectionModel(self.table.selectionModel())
        delegate = self.table.itemDelegateForColumn(self.column)
        if delegate is not None:
            self.setItemDelegateForColumn(self.column, delegate)
        for col in range(model.columnCount()):
            self.setColumnHidden(col, col != self.column)
        self.refit()

    def dataChanged(self, top_left: QModelIndex | QPersistentModelIndex,
                    bottom_right: QModelIndex | QPersistentModelIndex,
                    roles: Sequence[int] = ()) -> None:
        # Only the pinned column paints here; a repricing of the other columns costs nothing.
        if top_left.column() <= self.column <= bottom_right.column():
            super().dataChanged(top_left, bottom_right, roles)

    @property
    def needed(self) -> bool:
        """The table is wider than its viewport, so the column could be off screen."""
        return self.table.horizontalScrollBar().maximum() > 0

    def refit(self, *_: object) -> None:
        """Lay the pinned view over the viewport's right edge, or hide it when all fits."""
        table = self.table
        if not self.needed or table.isColumnHidden(self.column):
            self.hide()
            return
        width = table.columnWidth(self.column)
        viewport = table.viewport().geometry()
        header = table.horizontalHeader()
        top = header.geometry().top() if header.isVisible() else viewport.top()
        # Its rows start exactly where the table's do.
        self.horizontalHeader().setFixedHeight(max(0, viewport.top() - top))
        self.setGeometry(QRect(viewport.right() + 1 - width, top, width,
                               viewport.bottom() + 1 - top))
        self.verticalScrollBar().setRange(table.verticalScrollBar().minimum(),
                                          table.verticalScrollBar().maximum())
        self.verticalScrollBar().setValue(table.verticalScrollBar().value())
        self.show()
        self.raise_()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.table.setFocus(Qt.FocusReason.MouseFocusReason)  # Enter and the arrows go on there
        super().mousePressEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.LayoutRequest):
            self.refit()
        return super().eventFilter(watched, event)

    def cell(self, index: QModelIndex) -> tuple[QWidget, QRect]:
        """Where the user sees ``index``'s pinned cell: this viewport and its rect, or the
        table's when nothing is pinned."""
        if self.isVisible():
            return self.viewport(), self.visualRect(index)
        return self.table.viewport(), self.table.visualRect(index)
