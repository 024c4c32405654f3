"""Cancel all's question: every order it would cancel, listed (a table that scrolls when the
list is long), then "Keep them" — the default and Esc — or "Cancel N orders". Opened with
``open()``; nothing is sent from here, the answer goes to ``on_act``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.model import Instrument, PositionKey, WorkingOrder
from gui.models.order_list import OrderListModel

__all__ = ["CancelAllDialog", "cancel_all_text"]


def cancel_all_text(n: int, label: str, skipped: int = 0,
                    live: Sequence[str] = ()) -> str:
    """The question; ``live``: the LIVE accounts among the orders', named so none is missed."""
    orders = f"{n} working order{'s' if n != 1 else ''}"
    text = f"Cancel {orders} on {label} at the venues?"
    if live:
        text += f"\n\nLIVE (real money): {', '.join(live)}."
    text += "\n\nEach cancel is sent once and recorded in the journal; the positions stay open."
    if skipped:
        text += (f" {skipped} more {'are' if skipped != 1 else 'is'} already being cancelled "
                 "and will not be sent again.")
    return text


class CancelAllDialog(QDialog):
    """The question, listing each order: account, symbol, side, size, price, type."""

    def __init__(self, orders: Sequence[WorkingOrder], label: str, *, skipped: int = 0,
                 live: Sequence[str] = (), on_act: Callable[[], object],
                 instruments: Callable[[PositionKey], Instrument | None] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cancelAllConfirm")
        self.setWindowTitle("Cancel working orders")
        self.setModal(True)
        self.orders = tuple(orders)
        root = QVBoxLayout(self)
        self.message = QLabel(cancel_all_text(len(self.orders), label, skipped, live), self)
        self.message.setObjectName("cancelAllMessage")
        self.message.setWordWrap(True)
        root.addWidget(self.message)
        self.model = OrderListModel(self.orders, self, instruments=instruments)
        self.table = QTableView(self)
        self.table.setObjectName("cancelAllOrders")
        self.table.setAccessibleName("Orders to cancel")
        self.table.setModel(self.model)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        # A dozen rows show; a longer list scrolls instead of growing past the screen.
        self.table.setMinimumHeight(24 * min(len(self.orders), 12) + 30)
        root.addWidget(self.table, 1)
        buttons = QDialogButtonBox(self)
        n = len(self.orders)
        self.actButton = QPushButton(f"Cancel {n} order{'s' if n != 1 else ''}", self)
        self.actButton.setObjectName("cancelAllAct")
        self.actButton.setAutoDefault(False)
        self.keepButton = QPushButton("Keep them", self)
        self.keepButton.setObjectName("cancelAllKeep")
        self.keepButton.setDefault(True)  # a stray Enter keeps the orders
        buttons.addButton(self.actButton, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.keepButton, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)  # so does Esc
        root.addWidget(buttons)
        self._on_act = on_act
        self.finished.connect(self._done)
        self.resize(760, self.sizeHint().height())
        self.keepButton.setFocus()

    def _done(self, result: int) -> None:
        self.deleteLater()
        if result == QDialog.DialogCode.Accepted:
            self._on_act()
