"""The positions table's row menu (right-click a row; the Menu key or Shift+F10 on the
selected one): Close…, Close 50 %, Close at limit…, Set trigger…, Cancel working orders on
this symbol, Copy row, Show in History.

Nothing here sends. Each close opens the row's close dialog (``Closing.request_close``: the
one-in-flight guard, the freshness guard, the confirmation policy and the stale check all
apply as from the row's button); the cancels go through Cancel all's question and the row
button's cancel path. An action that cannot apply is disabled, and its tooltip and status tip
say why. Group headers (grouped by account) get no menu: they hold no position, and the
Positions menu's "Cancel working orders" covers an account.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QLineEdit, QMenu

from core.closing.form import preset_quantity
from core.closing.words import quantity_text
from core.model import ConnectionState, PositionKey
from gui.controllers.shortcuts import ROW_MENU, bind
from gui.models.positions import PositionColumn
from gui.models.roles import KEY_ROLE
from gui.models.scopes import Scope
from gui.models.text import env_label

if TYPE_CHECKING:
    from gui.dialogs.close import CloseDialog
    from gui.main_window import MainWindow

__all__ = ["HALF", "RowMenu"]

HALF = Decimal(50)
CANCEL_REASON = "Cancel working orders on this symbol (row menu)"


class RowMenu:
    """Builds a row's menu when asked, with each action's state read at that moment."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.menu: QMenu | None = None  # the one open now
        view = window.positionsView
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._at_point)
        self.keyAction = bind(QAction("Row menu", view), ROW_MENU,
                              Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.keyAction.setShortcuts([QKeySequence(ROW_MENU.keys), QKeySequence(Qt.Key.Key_Menu)])
        self.keyAction.triggered.connect(self.open_for_selected)
        view.addAction(self.keyAction)

    # ------------------------------------------------------------------ opening
    def _at_point(self, pos: QPoint) -> None:
        view = self.window.positionsView
        index = view.indexAt(pos)
        key = index.data(KEY_ROLE) if index.isValid() else None
        if not isinstance(key, PositionKey):
            return  # empty space, or a group header
        view.selectRow(index.row())
        self.open(key, view.viewport().mapToGlobal(pos))

    def open_for_selected(self) -> QMenu | None:
        """The Menu key / Shift+F10: the selected row's menu, under its Symbol cell."""
        w = self.window
        key = w.selected_key()
        if key is None:
            w.statusBar().showMessage("Select a position first, then open its menu.", 5000)
            return None
        view = w.positionsView
        rect = view.visualRect(w.proxy_index(key, PositionColumn.SYMBOL))
        return self.open(key, view.viewport().mapToGlobal(rect.bottomLeft()))

    def open(self, key: PositionKey, at: QPoint | None = None) -> QMenu:
        """Build the row's menu and pop it up (never a nested loop)."""
        if self.menu is not None:
            self.menu.close()
        menu = self.build(key)
        self.menu = menu

        def gone() -> None:
            if self.menu is menu:
                self.menu = None
            menu.deleteLater()

        menu.aboutToHide.connect(gone)
        menu.popup(at if at is not None else self.window.positionsView.mapToGlobal(QPoint()))
        return menu

    # ------------------------------------------------------------------ building
    def build(self, key: PositionKey) -> QMenu:
        w = self.window
        menu = QMenu(w.positionsView)
        menu.setObjectName("rowMenu")
        menu.setToolTipsVisible(True)
        blocked = self.close_blocker(key)
        caps = None if blocked else w.desk.capabilities(key)

        def add(name: str, text: str, slot: object, why_not: str | None, tip: str) -> QAction:
            action = menu.addAction(text)
            action.setObjectName(name)
            action.triggered.connect(slot)
            action.setEnabled(why_not is None)
            action.setToolTip(why_not or tip)
            action.setStatusTip(why_not or tip)
            return action

        add("rowClose", "&Close…", lambda: w.closing.request_close(key), blocked,
            "Open the close dialog for this row")
        half_why = blocked or (None if caps is None or caps.partial_close
                               else caps.why_not("quantity") or "This venue closes only in full")
        half_why = half_why or self._half_blocker(key)
        add("rowCloseHalf", "Close &50 %…", lambda: self.close_half(key), half_why,
            "Open the close dialog with half the position, rounded down to the lot")
        limit_why = blocked or (None if caps is None or caps.limit_close
                                else caps.why_not("limit_price") or "This venue takes no limit")
        add("rowCloseLimit", "Close at &limit…", lambda: self.open_at(key, "limit"), limit_why,
            "Open the close dialog with the focus on the limit price")
        trig_why = blocked or (None if caps is None or caps.trigger_close
                               else caps.why_not("trigger") or "This venue takes no trigger")
        add("rowSetTrigger", "Set &trigger…", lambda: self.open_at(key, "trigger"), trig_why,
            "Open the close dialog with the focus on the trigger price")
        menu.addSeparator()
        n = len(Scope.of_position(key).pick(w.working_model.orders()))
        add("rowCancelWorking", f"Cancel &working orders on this symbol ({n})…",
            lambda: w.cancel_all.ask(Scope.of_position(key), CANCEL_REASON),
            self._cancel_blocker(key, n), "List this position's working orders, then cancel "
            "each once (asks first)")
        menu.addSeparator()
        add("rowCopy", "C&opy row", lambda: self.copy_row(key), None,
            "Put the row on the clipboard as on screen (tab-separated)")
        add("rowHistory", "Show in &History", lambda: self.show_history(key),
            None if w.journal is not None else "No journal is open in this session",
            "Show the journal's records of this position")
        return menu

    def _connected_blocker(self, account: str) -> str | None:
        state = self.window.desk.connection_state(account)
        if state is ConnectionState.CONNECTED:
            return None
        return f"Account {account} is {state.value}; nothing can be sent until it is connected."

    def close_blocker(self, key: PositionKey) -> str | None:
        """Why no close can start from this row now; None when one can."""
        w = self.window
        desk = w.desk
        if desk.positions.get(key) is None:
            return f"{key.symbol} on {key.account} is already flat."
        if (why := self._connected_blocker(key.account)) is not None:
            return why
        if desk.pending(key) is not None:
            return (f"A close of {key.symbol} on {key.account} is already on its way; "
                    "it must finish first.")
        stale = w.positions_model.stale_reason(key.account)
        if stale is None and desk.stale_age(key, w.preferences.stale_after_s) is not None:
            stale = "its data is older than the stale threshold"
        if stale is not None:
            return f"This row's data may be out of date ({stale}); wait for fresh data."
        return None

    def _half_blocker(self, key: PositionKey) -> str | None:
        position = self.window.desk.positions.get(key)
        if position is None:
            return None
        instrument = self.window.desk.instrument(key)
        if preset_quantity(position.quantity, HALF, instrument) <= 0:
            held = quantity_text(position.quantity, instrument)
            return f"Half of {held} is less than one lot; there is no half to close."
        return None

    def _cancel_blocker(self, key: PositionKey, n: int) -> str | None:
        if n == 0:
            return f"No orders are working on {key.symbol} on {key.account}."
        return self._connected_blocker(key.account)

    # ------------------------------------------------------------------ actions
    def close_half(self, key: PositionKey) -> CloseDialog | None:
        """The close dialog with half the size, rounded down to the lot; nothing is sent until
        the user presses Send (and confirms, if the policy asks). Half under one lot: said,
        and no dialog."""
        why = self._half_blocker(key)
        if why is not None:
            self.window.statusBar().showMessage(why + " Nothing was sent.", 8000)
            return None
        dialog = self.window.closing.request_close(key)
        if dialog is not None:
            dialog.apply_preset(int(HALF))
            dialog.quantityInput.setFocus(Qt.FocusReason.OtherFocusReason)
        return dialog

    def open_at(self, key: PositionKey, field: str) -> CloseDialog | None:
        """The close dialog with the focus on the limit or trigger price."""
        dialog = self.window.closing.request_close(key)
        if dialog is not None:
            target: QLineEdit = (dialog.limitPriceInput if field == "limit"
                                 else dialog.triggerPriceInput)
            target.setFocus(Qt.FocusReason.OtherFocusReason)
        return dialog

    def row_text(self, key: PositionKey) -> str:
        """The row as on screen: the shown columns in their on-screen order, tab-separated
        (the Close button is no data, so it is left out)."""
        w = self.window
        view = w.positionsView
        header = view.horizontalHeader()
        row = w.positions_proxy.proxy_row_of(key)
        if row is None:
            return ""
        cells = []
        for visual in range(header.count()):
            col = header.logicalIndex(visual)
            if header.isSectionHidden(col) or col == PositionColumn.ACTION:
                continue
            if col == PositionColumn.ENV:
                cells.append(env_label(w.envs.of(key.account)))
                continue
            value = w.positions_proxy.index(row, col).data(Qt.ItemDataRole.DisplayRole)
            cells.append("" if value is None else str(value))
        return "\t".join(cells)

    def copy_row(self, key: PositionKey) -> None:
        QApplication.clipboard().setText(self.row_text(key))
        self.window.statusBar().showMessage(f"Copied the row of {key.symbol} on "
                                            f"{key.account}.", 5000)

    def show_history(self, key: PositionKey) -> None:
        """History, filtered to this position's account and symbol, every kind, any time."""
        w = self.window
        history = w.historyView
        for box, value in ((history.accountFilter, key.account),
                           (history.symbolFilter, key.symbol)):
            index = box.findData(value)
            if index < 0:  # no record yet: the filter is kept, and shows none
                box.addItem(value, value)
                index = box.findData(value)
            box.setCurrentIndex(index)
        history.kindFilter.setCurrentIndex(0)
        history.sinceCheck.setChecked(False)
        history.untilCheck.setChecked(False)
        history.apply_filters()
        w.bottomTabs.setCurrentWidget(history)
