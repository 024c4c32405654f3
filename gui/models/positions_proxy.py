"""Sorting and filtering of the positions table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractItemModel, QObject, QSortFilterProxyModel, Qt

from core.model import PositionKey, Venue
from gui.models.columns import AnyIndex
from gui.models.positions import PositionColumn, PositionsModel
from gui.models.roles import KEY_ROLE, SORT_ROLE

__all__ = ["PositionsProxy"]


class PositionsProxy(QSortFilterProxyModel):
    """Sorts by the source's Python values, so Decimals compare exactly and numerically, and
    filters by venue, account and symbol text.

    Sorting is on several keys: the clicked column first, then Venue → Account → Symbol, so rows
    that tie stay in a fixed, readable order. With ``group_by_account`` the account comes before
    everything and stays ascending whichever way the column is sorted: each account's rows sit
    together, sorted by the column inside.
    """

    _TIE_BREAK = (PositionColumn.VENUE, PositionColumn.ACCOUNT, PositionColumn.SYMBOL)
    _GROUPED_TIE_BREAK = (PositionColumn.VENUE, PositionColumn.SYMBOL)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._positions: PositionsModel | None = None
        self._venue: Venue | None = None
        self._account: str | None = None
        self._symbol = ""
        self._group = False
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    def setSourceModel(self, model: QAbstractItemModel) -> None:
        # Kept on the Python side: lessThan runs O(n log n) times, and asking Qt for the
        # source model on every call would double its cost.
        self._positions = model if isinstance(model, PositionsModel) else None
        super().setSourceModel(model)

    # ------------------------------------------------------------------ filtering
    @property
    def venue_filter(self) -> Venue | None:
        return self._venue

    @property
    def account_filter(self) -> str | None:
        return self._account

    @property
    def symbol_filter(self) -> str:
        return self._symbol

    def set_venue_filter(self, venue: Venue | None) -> None:
        if venue != self._venue:
            self.beginFilterChange()
            self._venue = venue
            self.endFilterChange()

    def set_account_filter(self, account: str | None) -> None:
        if account != self._account:
            self.beginFilterChange()
            self._account = account
            self.endFilterChange()

    def set_symbol_filter(self, text: str) -> None:
        text = text.strip().casefold()
        if text != self._symbol:
            self.beginFilterChange()
            self._symbol = text
            self.endFilterChange()

    @property
    def filtering(self) -> bool:
        return self._venue is not None or self._account is not None or bool(self._symbol)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        if not self.filtering:
            return True
        if self._positions is not None:
            key = self._positions.key_at(source_row)
        else:
            key = self.sourceModel().index(source_row, 0, source_parent).data(KEY_ROLE)
        if not isinstance(key, PositionKey):
            return True
        if self._venue is not None and key.venue is not self._venue:
            return False
        if self._account is not None and key.account != self._account:
            return False
        return not self._symbol or self._symbol in key.symbol.casefold()

    # ------------------------------------------------------------------ sorting
    @property
    def group_by_account(self) -> bool:
        return self._group

    def set_group_by_account(self, group: bool) -> None:
        if group != self._group:
            self._group = group
            self.invalidate()  # re-sort with the new keys (and re-filter, which is cheap)

    def _value(self, row: int, column: int, parent: AnyIndex) -> Any:
        if self._positions is not None:
            return self._positions.sort_value(row, column)
        return self.sourceModel().index(row, column, parent).data(self.sortRole())

    def _less(self, a: Any, b: Any) -> bool | None:
        """a < b, or None when they tie. Missing values (no mark yet) go to the bottom whichever
        way the column is sorted."""
        if a is None or b is None:
            if a is None and b is None:
                return None
            ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
            return (b is None) if ascending else (a is None)
        if isinstance(a, str) and isinstance(b, str):
            a, b = a.casefold(), b.casefold()
        try:
            if a == b:
                return None
            return bool(a < b)
        except TypeError:
            sa, sb = str(a), str(b)
            return None if sa == sb else sa < sb

    def lessThan(self, left: AnyIndex, right: AnyIndex) -> bool:
        lr, rr, col, parent = left.row(), right.row(), left.column(), left.parent()
        # Qt asks lessThan(right, left) for a descending sort. The group and tie-break keys
        # answer the other way round then, so they read A→Z whichever way the column is sorted.
        ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
        if self._group:
            acct = self._less(self._value(lr, PositionColumn.ACCOUNT, parent),
                              self._value(rr, PositionColumn.ACCOUNT, parent))
            if acct is not None:
                return acct if ascending else not acct
        first = self._less(self._value(lr, col, parent), self._value(rr, col, parent))
        if first is not None:
            return first
        for tie in self._GROUPED_TIE_BREAK if self._group else self._TIE_BREAK:
            if tie == col:
                continue
            result = self._less(self._value(lr, tie, parent), self._value(rr, tie, parent))
            if result is not None:
                return result if ascending else not result
        return False

    def key_at(self, row: int) -> PositionKey | None:
        source = self.sourceModel()
        if not isinstance(source, PositionsModel) or not 0 <= row < self.rowCount():
            return None
        return source.key_at(self.mapToSource(self.index(row, 0)).row())

    def proxy_row_of(self, key: PositionKey) -> int | None:
        source = self.sourceModel()
        if not isinstance(source, PositionsModel):
            return None
        row = source.row_of(key)
        if row is None:
            return None
        return self.mapFromSource(source.index(row, 0)).row()
