"""Working the window from the keyboard: go to a pane (Alt+1 … Alt+4), cancel the selected
working order (Delete, after a confirmation), and Tab that leaves a table instead of walking
its cells. The keys themselves are in the registry (gui/controllers/shortcuts.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QMessageBox, QWidget

from gui.controllers.shortcuts import (
    CANCEL_WORKING,
    FOCUS_HISTORY,
    FOCUS_LOG,
    FOCUS_POSITIONS,
    FOCUS_WORKING,
    Shortcut,
    bind,
)
from gui.models.working import CancelState
from gui.widgets.ask import ask

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["Keyboard", "cancel_question"]

CANCEL_REASON = "Delete pressed in Working orders"


def cancel_question(what: str) -> str:
    return f"Cancel {what} at the venue?\n\nThe cancel is sent once and recorded in the journal."


class Keyboard:
    """The window's keys beyond the menus."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.confirm: QMessageBox | None = None  # the open "Cancel this order?" question
        w = window
        self.focus_actions = [
            self._action(FOCUS_POSITIONS, lambda: self._go(w.positionsView)),
            self._action(FOCUS_LOG, lambda: self._go_tab(w.logPane, w.logView)),
            self._action(FOCUS_WORKING,
                         lambda: self._go_tab(w.workingOrdersView, w.workingOrdersView)),
            self._action(FOCUS_HISTORY, lambda: self._go_tab(w.historyView, w.historyView.table)),
        ]
        self.cancelAction = bind(QAction("Cancel selected working order…", w.workingOrdersView),
                                 CANCEL_WORKING, Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.cancelAction.triggered.connect(self.cancel_selected)
        w.workingOrdersView.addAction(self.cancelAction)
        # Tab moves between controls; arrows move within a table.
        for view in w.findChildren(QAbstractItemView):
            view.setTabKeyNavigation(False)

    def _action(self, shortcut: Shortcut, slot: object) -> QAction:
        action = bind(QAction(shortcut.what, self.window), shortcut)
        action.triggered.connect(slot)
        self.window.addAction(action)
        return action

    def _go(self, widget: QWidget) -> None:
        widget.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _go_tab(self, page: QWidget, focus: QWidget) -> None:
        self.window.bottomTabs.setCurrentWidget(page)
        self._go(focus)

    def cancel_selected(self) -> QMessageBox | None:
        """Delete in Working orders: ask, then cancel the selected order through the same path
        as its Cancel button (sent once, journaled)."""
        w = self.window
        index = w.workingOrdersView.currentIndex()
        if not index.isValid():
            w.statusBar().showMessage("Select a working order to cancel first.", 5000)
            return None
        ident = w.working_model.ident_at(index.row())
        order = w.working_model.order(ident)
        if order is None:
            return None
        if w.working_model.cancel_state(ident) is not CancelState.IDLE:
            w.cancelling.request_cancel(ident, reason=CANCEL_REASON)  # says why nothing is sent
            return None
        if self.confirm is not None:
            self.confirm.raise_()
            return self.confirm
        what = (f"the {order.kind.value} order {order.order_id} ({order.symbol} on "
                f"{order.account})")
        def forget() -> None:
            self.confirm = None

        self.confirm = ask(
            w, name="cancelWorkingConfirm", icon=QMessageBox.Icon.Question,
            title="Cancel working order", text=cancel_question(what), act="Cancel the order",
            keep="Keep it", on_done=forget,
            on_act=lambda: w.cancelling.request_cancel(ident, reason=CANCEL_REASON))
        return self.confirm
