"""The order log's table, and its follow mode.

Following, the newest line stays in view as lines arrive. The user scrolling away from the end
(wheel, scroll bar, keys) or choosing an older line turns it off; scrolling back to the end, or
the Follow toggle, turns it on again. While it is off, what the user reads stays where it is:
lines arriving at the end move nothing, and lines inserted or trimmed above the first row in
view move the view with them, so the same line stays on top.

Scrolling is per row, so the scroll bar's value is the first row in view."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPersistentModelIndex, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

__all__ = ["LogView"]

AnyIndex = QModelIndex | QPersistentModelIndex


class LogView(QTableView):
    """The order log. Follows the newest line until the user scrolls away, see the module."""

    followChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logView")
        self.setAccessibleName("Order and connection log")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        # Per row on every platform (some styles pick per pixel): the scroll bar's value is then
        # the first row in view, which is what keeps a line in place while lines come and go.
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerItem)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(22)
        self.horizontalHeader().setHighlightSections(False)
        self.horizontalHeader().setStretchLastSection(True)
        self._follow = True
        self._busy = 0  # > 0 while the model or this view moves the scroll bar, not the user
        self._top = 0  # the first row in view, taken before rows come or go
        self._anchor = QPersistentModelIndex()  # the line on top, across a new filter
        bar = self.verticalScrollBar()
        bar.valueChanged.connect(self._on_scrolled)
        bar.rangeChanged.connect(self._on_range)

    # ------------------------------------------------------------------ follow
    @property
    def following(self) -> bool:
        return self._follow

    def set_following(self, on: bool) -> None:
        """Follow the newest line (and go to it now), or stop following where the view is."""
        self._set(on)
        if on:
            self._to_end()

    def at_bottom(self) -> bool:
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum()

    def _set(self, on: bool) -> None:
        if on != self._follow:
            self._follow = on
            self.followChanged.emit(on)

    def _to_end(self) -> None:
        self._busy += 1
        try:
            self.scrollToBottom()
        finally:
            self._busy -= 1

    def _on_scrolled(self, _value: int) -> None:
        """The user moved the view: away from the end stops following, back to it resumes."""
        if not self._busy:
            self._set(self.at_bottom())

    def _on_range(self, _low: int, _high: int) -> None:
        """More rows, a taller or shorter pane: a following view stays at the end."""
        if self._follow and not self._busy and not self.at_bottom():
            self._to_end()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        before = self.currentIndex()
        super().mousePressEvent(event)
        self._chosen(before)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        before = self.currentIndex()
        super().keyPressEvent(event)
        self._chosen(before)

    def _chosen(self, before: AnyIndex) -> None:
        """The user chose a line (a click, an arrow key): an older one stops following, the
        newest (Ctrl+End) resumes it. Focus alone choosing the first line does neither."""
        current = self.currentIndex()
        model = self.model()
        if model is None or not current.isValid() or current == before:
            return
        newest = current.row() == model.rowCount() - 1
        self._set(newest and self.at_bottom())

    # ------------------------------------------------------------------ the model's changes
    def replace_model(self, model: Any, top: int, current: int) -> None:
        """Show ``model`` instead (the log itself, or the log filtered) with the columns as
        they were, the line chosen still chosen (row ``current`` of the new model, -1 for
        none), and, unless following, row ``top`` on top: a new filter, not a new pane."""
        header = self.horizontalHeader()
        columns = header.saveState()
        self._busy += 1
        try:
            self.setModel(model)
            header.restoreState(columns)
            if current >= 0:
                self.selectionModel().setCurrentIndex(
                    model.index(current, 0),
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows)
        finally:
            self._settle(max(top, 0))  # ends the _busy begun above

    def setModel(self, model: Any) -> None:
        old = self.model()
        if old is not None:
            for signal, slot in self._wiring(old):
                signal.disconnect(slot)
        super().setModel(model)
        if model is not None:
            # After the view's own handlers (connected by setModel): the rows are counted.
            for signal, slot in self._wiring(model):
                signal.connect(slot)

    def _wiring(self, model: Any) -> list[tuple[Any, Any]]:
        return [
            (model.rowsAboutToBeInserted, self._before),
            (model.rowsAboutToBeRemoved, self._before),
            (model.layoutAboutToBeChanged, self._before_layout),
            (model.modelAboutToBeReset, self._before_layout),
            (model.rowsInserted, self._inserted),
            (model.rowsRemoved, self._removed),
            (model.layoutChanged, self._relaid),
            (model.modelReset, self._relaid),
        ]

    def _before(self, *_: object) -> None:
        self._busy += 1
        self._top = self.verticalScrollBar().value()

    def _before_layout(self, *_: object) -> None:
        """A new filter: the line on top is held by identity, its row may change."""
        self._before()
        model = self.model()
        self._anchor = QPersistentModelIndex(model.index(self._top, 0)) \
            if model is not None and model.rowCount() else QPersistentModelIndex()

    def _inserted(self, _parent: AnyIndex, first: int, last: int) -> None:
        top = self._top
        self._settle(top + (last - first + 1) if first <= top else top)

    def _removed(self, _parent: AnyIndex, first: int, last: int) -> None:
        top = self._top
        if last < top:  # all above: the line on top moved up by as many rows
            top -= last - first + 1
        elif first <= top:  # the line on top went: the first line after it
            top = first
        self._settle(top)

    def _relaid(self, *_: object) -> None:
        """After a new filter, the line read stays on top if it is still shown; else the line
        chosen, if it is; else the view stays at the same row."""
        anchor, self._anchor = self._anchor, QPersistentModelIndex()
        current = self.currentIndex()
        top = anchor.row() if anchor.isValid() else \
            current.row() if current.isValid() else self._top
        self._settle(top)

    def _settle(self, top: int) -> None:
        """After rows came or went: at the end when following, else ``top`` stays on top."""
        try:
            # The view lays rows out later; do it now, so the scroll bar's range is right.
            self.executeDelayedItemsLayout()
            self.updateGeometries()
            bar = self.verticalScrollBar()
            bar.setValue(bar.maximum() if self._follow else top)
        finally:
            self._busy -= 1
