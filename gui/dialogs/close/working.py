"""The close dialog's working orders: what is resting on this position at the venue, and
"Cancel them first".

Reduce-only orders resting at the venue can block a new close, so a close that ignores them may
be refused. The panel lists every order working on the (account, venue, symbol) and offers to
cancel the ones that can block it first. The box is ticked for a full close and left clear for a
partial one (a partial close usually keeps the orders that manage the rest), until the user
ticks or clears it: then their choice stands.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QCheckBox, QFrame, QLabel, QVBoxLayout, QWidget

from core.flatten import blocks_close, order_words
from core.model import WorkingOrder
from core.numbers import NumberFormat

__all__ = ["WorkingOrdersPanel"]


class WorkingOrdersPanel(QFrame):
    """The list of working orders and the "Cancel them first" box; hidden when there are none."""

    toggled = Signal()  # the box changed (by the user or by the default following the close)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("workingOrdersPanel")
        self.setAccessibleName("Orders working on this position")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(3)
        self.workingTitle = QLabel(self)
        self.workingTitle.setObjectName("workingTitle")
        self.workingTitle.setWordWrap(True)
        layout.addWidget(self.workingTitle)
        self.workingList = QLabel(self)
        self.workingList.setObjectName("workingList")
        self.workingList.setAccessibleName("Working orders")
        self.workingList.setTextFormat(Qt.TextFormat.PlainText)
        self.workingList.setWordWrap(True)
        layout.addWidget(self.workingList)
        self.cancelFirstInput = QCheckBox("Cancel them first", self)
        self.cancelFirstInput.setObjectName("cancelFirstInput")
        self.cancelFirstInput.setAccessibleName("Cancel them first")
        self.cancelFirstInput.setToolTip(
            "Cancel each of these orders, one at a time, and send the close only once the "
            "venue has confirmed every cancel. If a cancel fails, the close is not sent.")
        layout.addWidget(self.cancelFirstInput)
        self._chosen = False  # the user ticked or cleared the box: the default no longer moves
        self._setting = False
        self.cancelFirstInput.toggled.connect(self._on_toggled)
        self.orders: tuple[WorkingOrder, ...] = ()
        self.setVisible(False)

    def _on_toggled(self, _: bool) -> None:
        if not self._setting:
            self._chosen = True
        self.toggled.emit()

    def show_orders(self, orders: Sequence[WorkingOrder], symbol: str,
                    fmt: NumberFormat | None = None) -> None:
        """Show what works on the position now (``orders`` in a stable order), written to
        the instrument's ``fmt`` when it is known."""
        self.orders = tuple(orders)
        blocking = [o for o in self.orders if blocks_close(o)]
        n = len(self.orders)
        self.setVisible(n > 0)
        self.workingTitle.setText(
            f"<b>{n} working order{'s' if n != 1 else ''} on {symbol}</b>"
            + (" — reduce-only orders resting at the venue can block this close"
               if blocking else ""))
        lines = []
        for order in self.orders:
            kept = "" if blocks_close(order) else " — not reduce-only: left working"
            lines.append(f"• {order_words(order, fmt)} · order {order.order_id}{kept}")
        self.workingList.setText("\n".join(lines))
        self.cancelFirstInput.setEnabled(bool(blocking))
        if not blocking:
            self._set_checked(False)

    def follow_default(self, full_close: bool) -> None:
        """Ticked for a full close, clear for a partial one, unless the user chose."""
        if not self._chosen and any(blocks_close(o) for o in self.orders):
            self._set_checked(full_close)

    def _set_checked(self, on: bool) -> None:
        if self.cancelFirstInput.isChecked() == on:
            return
        self._setting = True
        try:
            self.cancelFirstInput.setChecked(on)
        finally:
            self._setting = False

    def to_cancel(self) -> list[WorkingOrder]:
        """The orders a send would cancel first: none unless the box is ticked."""
        if not self.cancelFirstInput.isChecked():
            return []
        return [o for o in self.orders if blocks_close(o)]

    def set_busy(self, busy: bool) -> None:
        self.cancelFirstInput.setEnabled(not busy and any(blocks_close(o) for o in self.orders))
