"""The rows "Group by account" adds to the positions table: one header row per account, with
its subtotals (positions, notional, unrealised P&L) and a ▾/▸ that collapses it, and totals
rows at the bottom, one per venue and one for the whole table.

Subtotals are exact ``Decimal`` sums of the rows the filters let through (a collapsed account's
rows count: collapsing hides them, it does not filter them), added by ``core.totals`` as the
window's totals strip and the CLI add them. Notional is the sum of size × mark over the rows
that have a mark; P&L the sum of the rows that have one. Money is summed per quote currency:
a header over several currencies reads "mixed", its tooltip one figure per currency. Sums are
written with the most P&L decimals among their rows' instruments (core.numbers).

A header or totals row has no position: no key, no Close button, nothing to select for a
close. The sorted view (``PositionsProxy``) holds header rows among its rows, with a sort key
that is a prefix of its account's rows' keys, so it sorts just above them whichever way the
table is sorted; totals rows sit below every sorted row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from core.model import Venue
from core.numbers import DEFAULT_PNL_DECIMALS, fixed, shown
from core.totals import Sums, sums_text
from gui.models.columns import LEFT, RIGHT
from gui.models.position_rows import PositionColumn, PositionRow
from gui.models.roles import KEY_ROLE, SORT_ROLE
from gui.models.style import GROUP_HEADER, GROUP_TOTALS, LOSS, PROFIT, brush, monospace
from gui.models.text import venue_label

__all__ = ["MIXED", "AccountGroups", "GroupRow", "GroupStyle", "Subtotal", "TotalsRow",
           "subtotal"]

MIXED = "mixed"  # a figure over several quote currencies: one per currency in the tooltip


@dataclass(slots=True)
class Subtotal(Sums):
    """Exact sums over some rows (``core.totals``: money per quote currency), with the venues
    and accounts they span and the decimals a single figure is written with."""

    places: int = DEFAULT_PNL_DECIMALS  # the most P&L decimals among the rows
    venues: set[Venue] = field(default_factory=set)
    accounts: set[str] = field(default_factory=set)

    def merge(self, other: Sums) -> None:
        if not other.positions:
            return
        if isinstance(other, Subtotal):
            self.places = max(self.places, other.places) if self.positions else other.places
            self.venues |= other.venues
            self.accounts |= other.accounts
        Sums.merge(self, other)


def subtotal(rows: Iterable[PositionRow]) -> dict[Venue, Subtotal]:
    """Each venue's sums over ``rows`` (an account lives on one venue, but two accounts whose
    names differ only in case share a header)."""
    out: dict[Venue, Subtotal] = {}
    for r in rows:
        pos = r.position
        if pos is None:
            continue
        venue = pos.key.venue
        s = out.get(venue)
        if s is None:
            s = out[venue] = Subtotal(places=r.fmt.pnl_decimals)
        s.venues.add(venue)
        s.accounts.add(pos.key.account)
        if r.fmt.pnl_decimals > s.places:
            s.places = r.fmt.pnl_decimals
        s.add(pos, r.fmt.quote)
    return out


class GroupRow(PositionRow):
    """An account's header row, held among the sorted rows. ``account`` is its casefolded name
    (what the rows sort by); ``skey`` its sort key, a prefix of every one of its rows' keys.
    Its ``key`` is None: no position, so no Close, no close dialog, nothing to close."""

    __slots__ = ("account", "label", "skey")

    def __init__(self, account: str, label: str) -> None:
        super().__init__(None, -1)  # type: ignore[arg-type]
        self.account = account
        self.label = label
        self.skey: tuple[Any, ...] = (account,)

    def __repr__(self) -> str:
        return f"GroupRow({self.label!r})"


class TotalsRow:
    """A totals row: one venue's rows (``venue``), or every row (None)."""

    __slots__ = ("venue",)
    key = None

    def __init__(self, venue: Venue | None) -> None:
        self.venue = venue

    def __repr__(self) -> str:
        return f"TotalsRow({self.venue})"


class GroupStyle:
    """What a header or totals cell answers for each role."""

    def __init__(self) -> None:
        bold = QFont()
        bold.setBold(True)
        mono_bold = monospace()
        mono_bold.setBold(True)
        self._bold, self._mono_bold = bold, mono_bold
        self._header_fill, self._totals_fill = brush(GROUP_HEADER), brush(GROUP_TOTALS)
        self._profit, self._loss = brush(PROFIT), brush(LOSS)

    def header(self, row: GroupRow, s: Subtotal, collapsed: bool, col: int, role: int) -> Any:
        arrow = "▸" if collapsed else "▾"
        if role == Qt.ItemDataRole.DisplayRole:
            if col == PositionColumn.VENUE:
                return ", ".join(sorted(venue_label(v) for v in s.venues))
            if col == PositionColumn.ACCOUNT:
                return f"{arrow} {row.label}"
            return self._figures(s, col)
        if role == Qt.ItemDataRole.ToolTipRole or role == Qt.ItemDataRole.AccessibleTextRole:
            what = "expand" if collapsed else "collapse"
            return (f"{row.label}: {_summary(s)}. "
                    f"{'Collapsed. ' if collapsed else ''}Click to {what}.")
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._header_fill
        return self._common(s, col, role)

    def totals(self, row: TotalsRow, s: Subtotal, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if col == PositionColumn.VENUE:
                return venue_label(row.venue) if row.venue is not None else "All venues"
            if col == PositionColumn.ACCOUNT:
                n = len(s.accounts)
                return f"Total · {n} account{'s' if n != 1 else ''}"
            return self._figures(s, col)
        if role == Qt.ItemDataRole.ToolTipRole or role == Qt.ItemDataRole.AccessibleTextRole:
            where = venue_label(row.venue) if row.venue is not None else "All venues"
            return f"{where} total: {_summary(s)}"
        if role == Qt.ItemDataRole.BackgroundRole:
            return self._totals_fill
        return self._common(s, col, role)

    def _figures(self, s: Subtotal, col: int) -> str:
        if col == PositionColumn.SYMBOL:
            return f"{s.positions} position{'s' if s.positions != 1 else ''}"
        if col == PositionColumn.ENTRY:
            return "notional"
        if col == PositionColumn.MARK:
            notional = s.single(s.notional)
            return MIXED if notional is None else shown(fixed(notional, s.places))
        if col == PositionColumn.PNL:
            pnl = s.single(s.pnl)
            return MIXED if pnl is None else shown(fixed(pnl, s.places, signed=True))
        return ""

    def _common(self, s: Subtotal, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.FontRole:
            return self._mono_bold if col in _FIGURES else self._bold
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if col in _RIGHT_ALIGNED else LEFT
        if role == Qt.ItemDataRole.ForegroundRole:
            pnl = s.single(s.pnl)
            if col == PositionColumn.PNL and pnl:
                return self._profit if pnl > 0 else self._loss
            return None
        if role == SORT_ROLE:
            if col == PositionColumn.MARK:
                return s.single(s.notional)
            if col == PositionColumn.PNL:
                return s.single(s.pnl)
            if col == PositionColumn.SYMBOL:
                return s.positions
        return None


_FIGURES = frozenset({PositionColumn.MARK, PositionColumn.PNL})
_RIGHT_ALIGNED = frozenset({PositionColumn.ENTRY, PositionColumn.MARK, PositionColumn.PNL})


def _summary(s: Subtotal) -> str:
    return sums_text(s)  # per currency, and what was left out (core.totals)


class AccountGroups:
    """The grouping's state, for the sorted view: which accounts have rows through the filters
    (and so a header), which are collapsed, and their subtotals, summed again only when a row
    of the account changed and a header or totals row is painted.

    ``rows_of`` gives an account's rows (by its exact name); ``passes`` keeps the rows the
    filters let through.
    """

    def __init__(self, rows_of: Callable[[str], Iterable[PositionRow]],
                 passes: Callable[[Sequence[PositionRow]], list[PositionRow]]) -> None:
        self._rows_of = rows_of
        self._passes = passes
        self.collapsed: set[str] = set()  # casefolded accounts
        self.headers: dict[str, GroupRow] = {}  # casefolded account -> its header row
        # casefolded account -> {(exact name, venue): rows through the filters}
        self._names: dict[str, dict[tuple[str, Venue], int]] = {}
        self._sums: dict[str, dict[Venue, Subtotal]] = {}  # kept until a row changes
        self.style = GroupStyle()

    # ------------------------------------------------------------------ counting
    def recount(self, rows: Iterable[PositionRow]) -> None:
        """Every row through the filters, counted afresh (a filter or the grouping changed)."""
        self._names = {}
        self._sums.clear()
        self.count(rows, 1)

    def count(self, rows: Iterable[PositionRow], step: int) -> None:
        """Rows through the filters that came (``step`` 1) or go (-1)."""
        names, sums = self._names, self._sums
        for r in rows:
            key = r.key
            cf = key.account.casefold()
            by_name = names.get(cf)
            if by_name is None:
                by_name = names[cf] = {}
            where = (key.account, key.venue)
            left = by_name.get(where, 0) + step
            if left > 0:
                by_name[where] = left
            else:
                by_name.pop(where, None)
                if not by_name:
                    del names[cf]
            sums.pop(cf, None)

    def wanted(self) -> dict[str, str]:
        """The accounts that need a header: casefolded -> the name it shows."""
        return {cf: min(name for name, _ in by_name) for cf, by_name in self._names.items()}

    def venues(self) -> list[Venue | None]:
        """The totals rows wanted: one per venue with rows (by label), then the whole table."""
        if not self._names:
            return []
        found = {venue for by_name in self._names.values() for _, venue in by_name}
        return [*sorted(found, key=lambda v: venue_label(v).casefold()), None]

    def changed(self, accounts: set[str]) -> set[str]:
        """Rows of these (casefolded) accounts changed their figures: their sums are summed
        again when next read. Returns the accounts."""
        sums = self._sums
        for cf in accounts:
            sums.pop(cf, None)
        return accounts

    # ------------------------------------------------------------------ sums
    def _group_sums(self, cf: str) -> dict[Venue, Subtotal]:
        found = self._sums.get(cf)
        if found is None:
            rows: list[PositionRow] = []
            for name in {name for name, _ in self._names.get(cf, ())}:
                rows.extend(self._rows_of(name))
            found = self._sums[cf] = subtotal(self._passes(rows))
        return found

    def group_total(self, cf: str) -> Subtotal:
        """One account's subtotal (over its rows through the filters, collapsed or not)."""
        total = Subtotal()
        for s in self._group_sums(cf).values():
            total.merge(s)
        return total

    def venue_total(self, venue: Venue | None) -> Subtotal:
        """One venue's total, or the whole table's (None)."""
        total = Subtotal()
        for cf in self._names:
            for v, s in self._group_sums(cf).items():
                if venue is None or v is venue:
                    total.merge(s)
        return total

    # ------------------------------------------------------------------ cells
    def header_cell(self, row: GroupRow, col: int, role: int) -> Any:
        if role == _KEY or (col == PositionColumn.ACTION and role not in _ACTION_PAINT):
            return None
        return self.style.header(row, self.group_total(row.account),
                                 row.account in self.collapsed, col, role)

    def totals_cell(self, row: TotalsRow, col: int, role: int) -> Any:
        if role == _KEY or (col == PositionColumn.ACTION and role not in _ACTION_PAINT):
            return None
        return self.style.totals(row, self.venue_total(row.venue), col, role)


_KEY = int(KEY_ROLE)
# A header's Close cell has no button: it answers only what paints its background.
_ACTION_PAINT = frozenset({int(Qt.ItemDataRole.BackgroundRole)})
