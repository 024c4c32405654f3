"""A fixed list of working orders, read-only: what a Cancel all confirmation lists (account,
symbol, side, size, price, type), so the user sees every order before any cancel is sent."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, Qt

from core.model import Instrument, PositionKey, WorkingOrder
from core.numbers import UNKNOWN, number_format
from gui.models.columns import LEFT, RIGHT, AnyIndex
from gui.models.scopes import ORDER_FIELDS, order_fields

__all__ = ["OrderListModel"]

_NUMERIC = frozenset({3, 4})  # Size, Price


class OrderListModel(QAbstractTableModel):
    def __init__(self, orders: Sequence[WorkingOrder], parent: QObject | None = None, *,
                 instruments: Callable[[PositionKey], Instrument | None] | None = None) -> None:
        super().__init__(parent)
        self.orders = tuple(orders)

        def fmt(o: WorkingOrder) -> Any:
            if instruments is None:
                return UNKNOWN
            return number_format(instruments(PositionKey(o.account, o.venue, o.symbol)))

        self._rows = [order_fields(o, fmt(o)) for o in self.orders]

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(ORDER_FIELDS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(ORDER_FIELDS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return ORDER_FIELDS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if index.column() in _NUMERIC else LEFT
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"Order {self.orders[index.row()].order_id}"
        return None
