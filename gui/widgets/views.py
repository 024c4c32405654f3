"""The table views: positions (Enter closes the selected row), working orders (each with its
Cancel button) and the order log (it follows new lines while the user is at the bottom)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QRect, Qt, QTimer, Signal
from PySide6.QtGui import QEnterEvent, QFocusEvent, QHideEvent, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from core.model import PositionKey
from gui.models.columns import POSITIONS_PHASE, WINDOW_REFRESH_MS, next_slot_ms
from gui.models.log import LogColumn
from gui.models.positions import PositionColumn
from gui.models.roles import KEY_ROLE
from gui.models.working import WorkingColumn
from gui.widgets.delegates import CancelButtonDelegate, CloseButtonDelegate
from gui.widgets.env import EnvChipDelegate
from gui.widgets.log_view import LogView

__all__ = [
    "LOG_WIDTHS",
    "POSITION_WIDTHS",
    "WORKING_WIDTHS",
    "LogView",
    "PositionsView",
    "WorkingOrdersView",
]

# The columns' widths when the window opens.
POSITION_WIDTHS = {
    PositionColumn.VENUE: 96,
    PositionColumn.ACCOUNT: 160,
    PositionColumn.ENV: 84,
    PositionColumn.SYMBOL: 170,
    PositionColumn.SIDE: 60,
    PositionColumn.QUANTITY: 112,
    PositionColumn.ENTRY: 110,
    PositionColumn.MARK: 110,
    PositionColumn.PNL: 130,
    PositionColumn.NOTIONAL: 120,
    PositionColumn.REALISED: 120,
    PositionColumn.LEVERAGE: 80,
    PositionColumn.LIQUIDATION: 110,
    PositionColumn.AGE: 80,
    PositionColumn.ACTION: 250,
}
LOG_WIDTHS = {  # the rest of the width goes to Message (its tooltip has the whole text)
    LogColumn.TIME: 104,
    LogColumn.KIND: 100,
    LogColumn.VENUE: 84,
    LogColumn.ACCOUNT: 124,
    LogColumn.SYMBOL: 136,
    LogColumn.STATUS: 118,
    LogColumn.RAW_STATUS: 114,
    LogColumn.QUANTITY: 86,
    LogColumn.REMAINING: 102,
    LogColumn.PRICE: 80,
}
WORKING_WIDTHS = {
    WorkingColumn.VENUE: 90,
    WorkingColumn.ACCOUNT: 150,
    WorkingColumn.SYMBOL: 150,
    WorkingColumn.KIND: 72,
    WorkingColumn.SIDE: 56,
    WorkingColumn.QUANTITY: 92,
    WorkingColumn.REMAINING: 102,
    WorkingColumn.PRICE: 100,
    WorkingColumn.TRIGGER: 130,
    WorkingColumn.STATUS: 116,
    WorkingColumn.AGE: 84,
    WorkingColumn.ACTION: 132,
}


# Keys that move the current row: while the user steers with them, rows hold still.
_CHOOSING_KEYS = frozenset({Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_PageUp,
                            Qt.Key.Key_PageDown, Qt.Key.Key_Home, Qt.Key.Key_End})


class PositionsView(QTableView):
    """The positions table. Enter on a selected row asks to close it, like its button.

    ``pointerInside`` says when the mouse pointer enters and leaves the table, and
    ``keyboardChoice`` when the user starts and stops choosing a row with the keyboard (arrows,
    page keys, Home, End; it stops at a click in the table, Esc, or when the focus leaves): a
    live sort holds its re-sorts meanwhile, so a row never moves under a click or a keypress.

    What the keyboard acts on (Enter, Ctrl+Shift+C) is ``chosen_key``: the current row, and only
    while it is also selected. When that row goes (its position closed, or filtered out), the
    choice goes with it: nothing becomes current until the user chooses again, so a second
    keyboard close can never land on the neighbour that slid into its place.

    A change to the Close column (a close's progress, a flash) repaints at once. Numbers (a
    venue's repricing, applied in slices so no turn of the loop runs long) repaint the table
    at most once per ``repaint_ms``: each repaint costs about 10 ms of the GUI thread at desk
    size, and one per slice ran it a dozen times a second.
    """

    closeRequested = Signal(object)  # PositionKey
    residualRequested = Signal(object)  # PositionKey: its Close residual button
    quickCloseRequested = Signal(object)  # PositionKey or None: Ctrl+Shift+C on it
    pointerInside = Signal(bool)
    keyboardChoice = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._by_keyboard = False
        self._losing_current = False  # the current row is being removed
        self.setObjectName("positionsView")
        self.setAccessibleName("Open positions")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setSortingEnabled(True)
        self.setMouseTracking(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(30)
        self.horizontalHeader().setHighlightSections(False)
        self.horizontalHeader().setStretchLastSection(False)
        # Only the Close column is painted in Python; every other cell keeps Qt's own delegate.
        self.delegate = CloseButtonDelegate(self)
        self.setItemDelegateForColumn(PositionColumn.ACTION, self.delegate)
        self.delegate.clicked.connect(self.closeRequested)
        self.delegate.residualClicked.connect(self.residualRequested)
        self.envDelegate = EnvChipDelegate(self)
        self.setItemDelegateForColumn(PositionColumn.ENV, self.envDelegate)
        self.repaint_ms = WINDOW_REFRESH_MS
        self._repainted_at = -1e9  # monotonic seconds of the last batched repaint
        self.repaintTimer = QTimer(self)
        self.repaintTimer.setSingleShot(True)
        self.repaintTimer.timeout.connect(self._repaint_batch)

    def dataChanged(self, top_left: QModelIndex | QPersistentModelIndex,
                    bottom_right: QModelIndex | QPersistentModelIndex,
                    roles: Sequence[int] = ()) -> None:
        if bottom_right.column() >= PositionColumn.ACTION:  # a close's progress, a flash
            super().dataChanged(top_left, bottom_right, roles)
            return
        if not self.repaintTimer.isActive():
            # Once per interval, on the table's phase of it (the log repaints on another).
            wait = self._repainted_at + self.repaint_ms / 1000 - time.monotonic()
            self.repaintTimer.start(max(round(wait * 1000),
                                        next_slot_ms(self.repaint_ms, POSITIONS_PHASE)))

    def _repaint_batch(self) -> None:
        self._repainted_at = time.monotonic()
        self.viewport().update()

    def setModel(self, model: Any) -> None:
        old = self.model()
        if old is not None:
            old.rowsRemoved.disconnect(self._after_remove)
        super().setModel(model)
        if model is not None:
            model.rowsRemoved.connect(self._after_remove)

    def rowsAboutToBeRemoved(self, parent: QModelIndex | QPersistentModelIndex,
                             start: int, end: int) -> None:
        # Runs before the selection model moves the current row onto a neighbour.
        current = self.currentIndex()
        if current.isValid() and start <= current.row() <= end:
            self._losing_current = True
        super().rowsAboutToBeRemoved(parent, start, end)

    def _after_remove(self, *_: object) -> None:
        if self._losing_current:
            self._losing_current = False
            self.forget_choice()

    def forget_choice(self) -> None:
        """Nothing selected, nothing current: the next keyboard action needs a new choice."""
        model = self.selectionModel()
        if model is not None:
            model.clearSelection()
            model.clearCurrentIndex()
        self._choosing(False)

    def chosen_key(self) -> PositionKey | None:
        """The row the keyboard acts on: the current row, if it is selected too. (A view can
        make a row current without selecting it, e.g. the first row when it takes the focus;
        that is no choice of the user's.)"""
        index = self.currentIndex()
        if not index.isValid() or not self.selectionModel().isRowSelected(index.row()):
            return None
        key = index.data(KEY_ROLE)
        return key if isinstance(key, PositionKey) else None

    def enterEvent(self, event: QEnterEvent) -> None:
        super().enterEvent(event)
        self.pointerInside.emit(True)

    def leaveEvent(self, event: QEvent) -> None:
        super().leaveEvent(event)
        self.pointerInside.emit(False)

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.pointerInside.emit(False)  # a hidden table is under no pointer
        self._choosing(False)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self._choosing(False)  # the pointer's own hold takes over
        super().mousePressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        super().focusOutEvent(event)
        self._choosing(False)

    def _choosing(self, on: bool) -> None:
        if on != self._by_keyboard:
            self._by_keyboard = on
            self.keyboardChoice.emit(on)

    @property
    def choosing_by_keyboard(self) -> bool:
        return self._by_keyboard

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in _CHOOSING_KEYS:
            super().keyPressEvent(event)
            self._choosing(self.currentIndex().isValid())
            return
        if event.key() == Qt.Key.Key_Escape and self._by_keyboard:
            self.forget_choice()
            event.accept()
            return
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        key = self.chosen_key()
        if key is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) \
                and not mods:
            self.closeRequested.emit(key)
            event.accept()
            return
        # The window's Ctrl+Shift+C action normally takes this first; a key event that skips
        # the shortcut map (a synthetic one) still gets here. With no row chosen it is None,
        # and the window asks the user to choose one.
        quick = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
        if event.key() == Qt.Key.Key_C and mods == quick:
            self.quickCloseRequested.emit(key)
            event.accept()
            return
        super().keyPressEvent(event)


class WorkingOrdersView(QTableView):
    """Orders resting at the venues, each with a Cancel button (one click, sent once)."""

    cancelRequested = Signal(object)  # (account, order id)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workingOrdersView")
        self.setAccessibleName("Working orders")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.setMouseTracking(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(28)
        self.horizontalHeader().setHighlightSections(False)
        self.horizontalHeader().setStretchLastSection(False)
        self.delegate = CancelButtonDelegate(self)
        self.setItemDelegateForColumn(WorkingColumn.ACTION, self.delegate)
        self.delegate.clicked.connect(self.cancelRequested)

    def dataChanged(self, top_left: QModelIndex | QPersistentModelIndex,
                    bottom_right: QModelIndex | QPersistentModelIndex,
                    roles: Sequence[int] = ()) -> None:
        """The Age column's once-a-second tick repaints that column's strip only; Qt would
        repaint every cell of the table (the Cancel buttons are painted in Python)."""
        age = WorkingColumn.AGE
        if top_left.column() == age == bottom_right.column() \
                and top_left.row() != bottom_right.row():
            if not self.isColumnHidden(age):
                self.viewport().update(QRect(self.columnViewportPosition(age), 0,
                                             self.columnWidth(age), self.viewport().height()))
            return
        super().dataChanged(top_left, bottom_right, roles)

