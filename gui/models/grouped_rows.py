"""The part of the positions table's sorted view that groups rows by account: header rows
with subtotals that fold, and totals rows below every row (``gui.models.position_groups`` has
the rows and their sums). A base of :class:`~gui.models.positions_proxy.PositionsProxy`, which
holds the rows, sorts them and calls in here when rows come, go or change."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QTimer

from core.model import Venue
from gui.models.position_groups import AccountGroups, GroupRow, Subtotal, TotalsRow
from gui.models.positions import PositionColumn, PositionRow, PositionsModel
from gui.models.sort_keys import RowTies

__all__ = ["FIRST_FIGURE", "LAST_FIGURE", "GroupedRows"]

FIRST_FIGURE = int(PositionColumn.QUANTITY)  # the columns a header's and a total's sums follow
LAST_FIGURE = int(PositionColumn.PNL)
_NO_PARENT = QModelIndex()


class GroupedRows(QAbstractTableModel):
    """Header and totals rows among a sorted view's rows (see ``PositionsProxy``)."""

    # Kept by the sorted view.
    _src: PositionsModel | None
    _shown: list[PositionRow]
    _skeys: list[tuple[Any, ...]]
    _group: bool
    _totals: list[TotalsRow]
    _groups: AccountGroups
    _ties: dict[PositionRow, RowTies]
    _dirty_heads: set[str]  # accounts whose header repaints on the next turn
    _groupTimer: QTimer

    def _add(self, rows: list[PositionRow],
             keys: list[tuple[Any, ...]] | None = None) -> None:
        raise NotImplementedError

    def _drop(self, rows: Sequence[PositionRow]) -> None:
        raise NotImplementedError

    def _refilter(self) -> None:
        raise NotImplementedError

    def _rows_of(self, account: str) -> list[PositionRow]:
        return list(self._src.account_rows(account)) if self._src is not None else []

    def _sync_groups(self) -> None:
        """One header row per account with rows through the filters, and the totals rows."""
        groups = self._groups
        heads = groups.headers
        wanted = groups.wanted() if self._group else {}
        gone = [h for cf, h in heads.items() if cf not in wanted]
        if gone:
            self._drop(gone)
            for h in gone:
                del heads[h.account]
        new = [GroupRow(cf, label) for cf, label in wanted.items() if cf not in heads]
        if new:
            heads.update((h.account, h) for h in new)
            self._add(list[PositionRow](new), [h.skey for h in new])
        venues = groups.venues() if self._group else []
        if venues != [t.venue for t in self._totals]:
            n = len(self._shown)
            if self._totals:
                self.beginRemoveRows(_NO_PARENT, n, n + len(self._totals) - 1)
                self._totals = []
                self.endRemoveRows()
            if venues:
                self.beginInsertRows(_NO_PARENT, n, n + len(venues) - 1)
                self._totals = [TotalsRow(v) for v in venues]
                self.endInsertRows()

    def _group_cells(self, rows: Sequence[PositionRow]) -> None:
        """Rows' figures changed: their accounts' subtotals are summed again when next read,
        and their header and the totals rows repaint once, on the next turn of the loop (a
        repricing comes in many slices; one signal per header per slice cost 30 ms at 10,000
        rows)."""
        ties = self._ties
        self._dirty_heads |= self._groups.changed({ties[r][0] for r in rows})
        if not self._groupTimer.isActive():
            self._groupTimer.start()

    def _repaint_dirty(self) -> None:
        dirty, self._dirty_heads = self._dirty_heads, set()
        heads = self._groups.headers
        for cf in dirty:
            head = heads.get(cf)
            if head is not None:
                at = bisect_left(self._skeys, head.skey)
                self.dataChanged.emit(self.index(at, 0), self.index(at, LAST_FIGURE))
        self._repaint_totals()

    def _repaint_groups(self) -> None:
        """Every header and totals row (the filters changed what they sum)."""
        for head in self._groups.headers.values():
            at = bisect_left(self._skeys, head.skey)
            self.dataChanged.emit(self.index(at, 0), self.index(at, LAST_FIGURE))
        self._repaint_totals()

    def _repaint_totals(self) -> None:
        if self._totals:
            n = len(self._shown)
            self.dataChanged.emit(self.index(n, 0),
                                  self.index(n + len(self._totals) - 1, LAST_FIGURE))

    def group_at(self, row: int) -> str | None:
        """The account whose header row this is (its shown name), else None."""
        r = self._shown[row] if 0 <= row < len(self._shown) else None
        return r.label if type(r) is GroupRow else None

    def is_collapsed(self, account: str) -> bool:
        return account.casefold() in self._groups.collapsed

    def set_collapsed(self, account: str, collapsed: bool) -> None:
        """Fold an account's rows under its header (they still count in its subtotals)."""
        cf = account.casefold()
        if (cf in self._groups.collapsed) == collapsed:
            return
        if collapsed:
            self._groups.collapsed.add(cf)
        else:
            self._groups.collapsed.discard(cf)
        self._refilter()

    def toggle_collapsed(self, account: str) -> None:
        self.set_collapsed(account, not self.is_collapsed(account))

    def subtotal(self, account: str) -> Subtotal:
        """An account's sums over its rows through the filters (collapsed or not)."""
        return self._groups.group_total(account.casefold())

    def total(self, venue: Venue | None = None) -> Subtotal:
        """One venue's total, or the whole table's (None), over the rows through the filters."""
        return self._groups.venue_total(venue)

    @property
    def position_count(self) -> int:
        """Positions shown (not header or totals rows)."""
        return len(self._shown) - len(self._groups.headers)
