"""Sorting and filtering of the positions table: the rows shown, in the order shown."""

from __future__ import annotations

import itertools
import time
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
)

from core.model import PositionKey, Venue
from gui.models.columns import AnyIndex, runs
from gui.models.grouped_rows import FIRST_FIGURE, LAST_FIGURE, GroupedRows
from gui.models.position_groups import AccountGroups, GroupRow, TotalsRow
from gui.models.positions import PositionColumn, PositionRow, PositionsModel
from gui.models.roles import SORT_ROLE
from gui.models.sort_keys import RowTies, build_keys, row_ties

__all__ = ["FROZEN", "LIVE_COLUMNS", "LIVE_RESORT_MS", "PositionsProxy"]

LIVE_RESORT_MS = 1000  # a live column re-sorts at most this often
# ... and spends at most this share of the GUI thread doing so: a live re-sort of 10,000 rows
# takes about 20 ms, every row of a desk's table reprices each second, and a 20 ms pause each
# second is one late frame in a hundred. Past 1,000 ms x this share, the interval grows.
LIVE_RESORT_SHARE = 0.01
# A live re-sort of more rows than this runs in two turns of the loop: the order is worked out
# in one, the rows move in the next. At 10,000 rows each half took 3-11 ms here, where the
# whole took 10-18 ms in one turn, long enough to make the window late for its next frame.
SPLIT_RESORT_ABOVE = 2000
# Columns whose values move while a row is shown (repricing, fills, a close's progress).
LIVE_COLUMNS = frozenset({PositionColumn.SIDE, PositionColumn.QUANTITY, PositionColumn.ENTRY,
                          PositionColumn.MARK, PositionColumn.PNL, PositionColumn.NOTIONAL,
                          PositionColumn.REALISED, PositionColumn.LEVERAGE,
                          PositionColumn.LIQUIDATION, PositionColumn.AGE,
                          PositionColumn.ACTION})
_SHORT_NAMES = {PositionColumn.PNL: "P&L", PositionColumn.ACTION: "Close"}
# Why the order is held, as the hint says it (the sort is live, and a re-sort came due).
_HOLD_WORDS = {
    "pointer": "order held while pointing · live sort resumes when you move away",
    "keyboard": "order held while a row is chosen by keyboard · Esc lets it go",
    "dialog": "order held while a close dialog is open",
    "flatten": "order held while a flatten plan is open",
}
# "Freeze order" (the user's own hold) is said whether or not a re-sort came due.
FROZEN = "frozen"
_FROZEN_WORDS = "order frozen · untick Freeze order to re-sort"
# A change of more rows than this repaints the whole column instead of finding each row.
_MAP_LIMIT = 32
# Rows landing in (or leaving from) more places than this come in one layout change instead.
_RANGES = 16
_ASC = Qt.SortOrder.AscendingOrder
_NO_PARENT = QModelIndex()
_SORT = int(SORT_ROLE)
_ACTION_COLUMN = int(PositionColumn.ACTION)


class PositionsProxy(GroupedRows):
    """The rows of a :class:`PositionsModel` that pass the filters, sorted.

    Not a ``QSortFilterProxyModel``: that calls a Python ``lessThan`` per comparison, about
    140,000 calls for one click at 10,000 rows. Here each shown row has a cached sort key (a
    tuple, see ``gui.models.sort_keys``): a sort is one ``list.sort``, a new row is a
    ``bisect``, a lookup by key is a ``bisect``, and the filters are a predicate run once per
    row that arrives, not per comparison. Rows arrive and leave as row ranges; a batch too
    scattered for that comes in as one range at the bottom and is moved into place by one
    layout change, so persistent indexes (the selection, the current row) follow.

    Filters: venue, account, symbol text. Sorting is on several keys: the clicked column first,
    then Venue → Account → Symbol. With ``group_by_account`` the account comes before
    everything, ascending whichever way the column is sorted; each account then has a header
    row above its rows, with its subtotals, that ``set_collapsed`` folds (its rows are hidden,
    still counted), and totals rows (per venue, then all) sit below every row
    (``gui.models.position_groups``). Subtotals are of the rows the filters let through.

    A *live* sort (by a column repricing changes, such as P&L) re-sorts at most once every
    ``live_resort_ms``, less often when re-sorting would take more than ``LIVE_RESORT_SHARE``
    of the GUI thread (a large table: the interval is the last re-sort's time over that
    share), and not at all while held (``set_hold``: the pointer is over the table,
    a close dialog is open); when the last hold ends, a re-sort that came due happens at once.
    Until then rows changed by repricing keep their place and new rows go where the current
    order puts them. ``hint`` says so ("sorted by P&L · live"). ``sort`` (a header click)
    re-sorts at once. A live re-sort of more than ``split_resort_above`` rows takes two turns
    of the loop: the order is worked out in the first and the rows move in the second, unless
    rows came, went or were re-sorted in between (then it is worked out again) or a hold
    began; rows repriced in between keep the value the order was worked out with until the
    next re-sort.
    """

    hintChanged = Signal(str)

    def __init__(self, parent: QObject | None = None, *,
                 live_resort_ms: int = LIVE_RESORT_MS,
                 split_resort_above: int = SPLIT_RESORT_ABOVE,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(parent)
        self._live_resort_ms = live_resort_ms
        self._split_above = split_resort_above
        self._clock = clock
        # The shown rows' layout: it counts every change of which rows are shown, or in what
        # order, so a re-sort planned in one turn knows whether it still fits the next.
        self._layout = 0
        # A live re-sort worked out and not applied yet: (layout, the keys it applies, the new
        # key of each shown row, its order, the seconds it took), and the rows whose key
        # changed again since it was planned -> their latest key.
        self._planned: tuple[int, dict[PositionRow, tuple[Any, ...]], list[tuple[Any, ...]],
                             list[int], float] | None = None
        self._since_plan: dict[PositionRow, tuple[Any, ...]] = {}
        self._src: PositionsModel | None = None
        # The source's row records (hashed by identity, never by PositionKey).
        self._shown: list[PositionRow] = []
        self._skeys: list[tuple[Any, ...]] = []  # parallel to _shown, ascending
        self._key_of: dict[PositionRow, tuple[Any, ...]] = {}  # shown rows' sort keys
        self._ties: dict[PositionRow, RowTies] = {}  # every source row
        self._arrivals = itertools.count()
        self._col = -1
        self._order = _ASC
        self._group = False
        self._venue: Venue | None = None
        self._account: str | None = None
        self._symbol = ""
        # Shown rows whose sort key changed since the last sort -> their new key, built as the
        # change arrives, so a live re-sort is one list.sort and no key building.
        self._fresh: dict[PositionRow, tuple[Any, ...]] = {}
        self._waiting = False  # a live re-sort came due while held
        self._holds: set[str] = set()
        self._hint = ""
        self._totals: list[TotalsRow] = []  # below the sorted rows, while grouped
        self._groups = AccountGroups(self._rows_of, self._passes)
        self._dirty_heads: set[str] = set()
        self._groupTimer = QTimer(self)  # repaints changed subtotals once per loop turn
        self._groupTimer.setSingleShot(True)
        self._groupTimer.setInterval(0)
        self._groupTimer.timeout.connect(self._repaint_dirty)
        self.resortTimer = QTimer(self)
        self.resortTimer.setSingleShot(True)
        self.resortTimer.setInterval(live_resort_ms)
        self.resortTimer.timeout.connect(self.resort_if_due)
        self.finishTimer = QTimer(self)  # the second turn of a split re-sort
        self.finishTimer.setSingleShot(True)
        self.finishTimer.setInterval(0)
        self.finishTimer.timeout.connect(self.finish_resort)

    # ------------------------------------------------------------------ source
    def setSourceModel(self, model: PositionsModel) -> None:
        old = self._src
        if old is not None:
            old.rowsInserted.disconnect(self._on_inserted)
            old.rowsAboutToBeRemoved.disconnect(self._on_removing)
            old.modelAboutToBeReset.disconnect(self.beginResetModel)
            old.modelReset.disconnect(self._on_reset)
            old.remove_cells_listener(self._on_cells)
        self.beginResetModel()
        self._src = model
        model.rowsInserted.connect(self._on_inserted)
        model.rowsAboutToBeRemoved.connect(self._on_removing)
        model.modelAboutToBeReset.connect(self.beginResetModel)
        model.modelReset.connect(self._on_reset)
        model.add_cells_listener(self._on_cells)
        self._rebuild()
        self.endResetModel()

    def sourceModel(self) -> PositionsModel | None:
        return self._src

    def _rebuild(self) -> None:
        """Every source row again (inside a reset)."""
        self._ties.clear()
        self._shown, self._skeys, self._key_of = [], [], {}
        src = self._src
        if src is None:
            return
        rows = list(src.records())
        for r in rows:
            self._ties[r] = row_ties(r.key, next(self._arrivals))
        passed = self._passes(rows)
        shown = self._collapse(passed)
        skeys = self._build(shown)
        groups = self._groups
        groups.headers.clear()
        self._totals = []
        if self._group:
            groups.recount(passed)
            for cf, label in groups.wanted().items():
                head = groups.headers[cf] = GroupRow(cf, label)
                shown.append(head)
                skeys.append(head.skey)
            self._totals = [TotalsRow(v) for v in groups.venues()]
        self._place(*_sorted(skeys, shown))
        self._fresh.clear()
        self._waiting = False

    def _on_reset(self) -> None:
        self._rebuild()
        self.endResetModel()

    def _on_inserted(self, _parent: AnyIndex, first: int, last: int) -> None:
        assert self._src is not None
        rows = self._src.records()[first:last + 1]
        ties = self._ties
        for r in rows:
            ties[r] = row_ties(r.key, next(self._arrivals))
        passed = self._passes(rows)
        self._add(self._collapse(passed))
        if self._group:
            self._groups.count(passed, 1)
            self._sync_groups()

    def _on_removing(self, _parent: AnyIndex, first: int, last: int) -> None:
        assert self._src is not None
        rows = self._src.records()[first:last + 1]
        self._drop([r for r in rows if r in self._key_of])
        if self._group:
            self._groups.count(self._passes(rows), -1)
            self._sync_groups()
        for r in rows:
            self._ties.pop(r, None)
            self._fresh.pop(r, None)

    def _on_cells(self, rows: Sequence[PositionRow], first: int, last: int,
                  roles: Sequence[int]) -> None:
        """A batch of changed source cells: repaint them here, and note a stale order."""
        if self._group and first <= LAST_FIGURE and last >= FIRST_FIGURE:
            self._group_cells(rows)  # before: a collapsed account's rows count too
        key_of = self._key_of
        shown = [r for r in rows if r in key_of]
        if not shown:
            return
        if first <= self._col <= last and _SORT in roles:
            fresh = self._fresh
            built = self._build(shown)
            for r, skey in zip(shown, built, strict=True):
                if skey != key_of[r]:
                    fresh[r] = skey
                else:
                    fresh.pop(r, None)
            if self._planned is not None:
                self._since_plan.update(zip(shown, built, strict=True))
            if fresh and not self.resortTimer.isActive():
                self.resortTimer.start()
        if len(shown) > _MAP_LIMIT:
            self.dataChanged.emit(self.index(0, first), self.index(len(self._shown) - 1, last),
                                  roles)
            return
        skeys = self._skeys
        for top, bottom in runs([bisect_left(skeys, key_of[r]) for r in shown]):
            self.dataChanged.emit(self.index(top, first), self.index(bottom, last), roles)

    # ------------------------------------------------------------------ keys and rows
    def _build(self, rows: Sequence[PositionRow]) -> list[tuple[Any, ...]]:
        src = self._src
        assert src is not None
        return build_keys(rows, self._col, self._order != _ASC, self._group, self._ties,
                          lambda r: src.row_sort_value(r, _ACTION_COLUMN))

    def _place(self, skeys: list[tuple[Any, ...]], rows: list[PositionRow]) -> None:
        """Show exactly these rows with these sort keys, sorted (the caller signals)."""
        self._layout += 1
        self._skeys, self._shown = skeys, rows
        self._key_of = dict(zip(rows, skeys, strict=True))

    def _row(self, row: PositionRow) -> int | None:
        skey = self._key_of.get(row)
        return None if skey is None else bisect_left(self._skeys, skey)

    def _relayout(self, skeys: list[tuple[Any, ...]], rows: list[PositionRow],
                  key_of: dict[PositionRow, tuple[Any, ...]] | None = None) -> None:
        """Reorder the shown rows to these (the same rows, sorted) in one layout change;
        persistent indexes (the selection, the current row) follow their rows."""
        old = self._shown
        self._layout += 1
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        if key_of is None:
            self._place(skeys, rows)
        else:
            self._skeys, self._shown, self._key_of = skeys, rows, key_of
        moved: list[QModelIndex] = []
        for index in persistent:
            at = index.row()
            if at >= len(old):  # a totals row: below the sorted rows, it stays
                moved.append(self.index(at, index.column()))
                continue
            row = self._row(old[at]) if at >= 0 else None
            moved.append(_NO_PARENT if row is None else self.index(row, index.column()))
        if persistent:
            self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _add(self, rows: list[PositionRow],
             keys: list[tuple[Any, ...]] | None = None) -> None:
        """Show these rows where the current order puts them: as row ranges when they land in
        a few places, else as one range at the bottom moved into place by one layout change
        (a range costs the view a pass over the rows below it; the move costs one pass).
        ``keys``: their sort keys, when they are not source rows (group headers)."""
        if not rows:
            return
        self._layout += 1
        new_skeys, new_rows = _sorted(self._build(rows) if keys is None else keys, rows)
        self._key_of.update(zip(new_rows, new_skeys, strict=True))
        skeys, shown = self._skeys, self._shown
        n, k = len(shown), len(new_rows)
        if k <= 4 * _RANGES or n < _RANGES:  # few rows, or few places to go
            at = [bisect_left(skeys, s) for s in new_skeys]
            if len(set(at)) <= _RANGES:
                end = k
                while end > 0:  # from the bottom up, so the places above stay where they are
                    start = end - 1
                    while start > 0 and at[start - 1] == at[end - 1]:
                        start -= 1
                    pos = at[start]
                    self.beginInsertRows(_NO_PARENT, pos, pos + end - start - 1)
                    skeys[pos:pos] = new_skeys[start:end]
                    shown[pos:pos] = new_rows[start:end]
                    self.endInsertRows()
                    end = start
                return
        self.beginInsertRows(_NO_PARENT, n, n + k - 1)
        merged = _merge(skeys, shown, new_skeys, new_rows)
        skeys.extend(new_skeys)
        shown.extend(new_rows)
        self.endInsertRows()
        self._relayout(*merged, key_of=self._key_of)

    def _drop(self, rows: Sequence[PositionRow]) -> None:
        """Stop showing these (shown) rows: as row ranges when they sit in a few runs, else
        moved to the bottom in one layout change and removed there as one range."""
        if not rows:
            return
        self._layout += 1
        skeys, shown, key_of = self._skeys, self._shown, self._key_of
        at = sorted(bisect_left(skeys, key_of[r]) for r in rows)
        spans = runs(at)
        for r in rows:
            del key_of[r]
            self._fresh.pop(r, None)
        if len(spans) <= _RANGES:
            for top, bottom in reversed(spans):
                self.beginRemoveRows(_NO_PARENT, top, bottom)
                del shown[top:bottom + 1]
                del skeys[top:bottom + 1]
                self.endRemoveRows()
            return
        kept_skeys: list[tuple[Any, ...]] = []
        kept: list[PositionRow] = []
        prev = 0
        for top, bottom in spans:
            kept_skeys += skeys[prev:top]
            kept += shown[prev:top]
            prev = bottom + 1
        kept_skeys += skeys[prev:]
        kept += shown[prev:]
        first = len(kept)
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        moved: list[QModelIndex] = []
        for index in persistent:
            row = index.row()
            if row >= len(shown):  # a totals row: the removal below moves it up
                moved.append(self.index(row, index.column()))
                continue
            j = bisect_left(at, row)
            gone = j < len(at) and at[j] == row
            moved.append(self.index(first + j if gone else row - j, index.column()))
        kept_skeys += [skeys[i] for i in at]
        kept += [shown[i] for i in at]
        self._skeys, self._shown = kept_skeys, kept
        if persistent:
            self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()
        self.beginRemoveRows(_NO_PARENT, first, len(kept) - 1)
        del kept[first:]
        del kept_skeys[first:]
        self.endRemoveRows()

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
            self._venue = venue
            self._refilter()

    def set_account_filter(self, account: str | None) -> None:
        if account != self._account:
            self._account = account
            self._refilter()

    def set_symbol_filter(self, text: str) -> None:
        text = text.strip().casefold()
        if text != self._symbol:
            self._symbol = text
            self._refilter()

    @property
    def filtering(self) -> bool:
        return self._venue is not None or self._account is not None or bool(self._symbol)

    def _accepted(self, rows: Sequence[PositionRow]) -> list[PositionRow]:
        """The rows shown: through the filters, and not in a collapsed group."""
        return self._collapse(self._passes(rows))

    def _collapse(self, rows: list[PositionRow]) -> list[PositionRow]:
        collapsed = self._groups.collapsed
        if not (self._group and collapsed):
            return rows
        ties = self._ties
        return [r for r in rows if ties[r][0] not in collapsed]

    def _passes(self, rows: Sequence[PositionRow]) -> list[PositionRow]:
        """The rows the filters let through: one pass, no call per row."""
        venue, account, symbol, ties = self._venue, self._account, self._symbol, self._ties
        if venue is not None:
            rows = [r for r in rows if r.key.venue is venue]
        if account is not None:
            rows = [r for r in rows if r.key.account == account]
        if symbol:
            rows = [r for r in rows if symbol in ties[r][1]]
        return list(rows)

    def passing(self, rows: Sequence[PositionRow]) -> list[PositionRow]:
        """The source rows the filters let through (shown, or folded under a header)."""
        return self._passes(rows)

    def filterAcceptsRow(self, source_row: int, _parent: AnyIndex = _NO_PARENT) -> bool:
        """Whether the source row passes the filters (as ``QSortFilterProxyModel`` says)."""
        assert self._src is not None
        return bool(self._accepted([self._src.records()[source_row]]))

    def _refilter(self) -> None:
        """Hide the rows the filters now refuse and show the ones they now let through, each
        where the current order puts it."""
        src = self._src
        if src is None:
            return
        passed = self._passes(src.records())
        want = self._collapse(passed)
        wanted = set(want)
        key_of = self._key_of
        self._drop([r for r in self._shown if r not in wanted and type(r) is not GroupRow])
        self._add([r for r in want if r not in key_of])
        if self._group:
            self._groups.recount(passed)
            self._sync_groups()
            self._repaint_groups()

    # ------------------------------------------------------------------ sorting
    @property
    def group_by_account(self) -> bool:
        return self._group

    def set_group_by_account(self, group: bool) -> None:
        """Group the rows by account under header rows with subtotals, with totals rows at the
        bottom; or show them plainly again (a collapsed account's rows come back)."""
        if group == self._group:
            return
        if not group:
            self._group = False
            self._sync_groups()  # headers and totals go, in the grouped order they sit in
            self._groups.recount(())  # sums are kept only while grouped
        self._group = group
        self.resort()
        self._refilter()  # a collapsed account's rows hide again, or come back

    def sortColumn(self) -> int:
        return self._col

    def sortOrder(self) -> Qt.SortOrder:
        return self._order

    def sort(self, column: int, order: Qt.SortOrder = _ASC) -> None:
        """A header click: sorts at once, held or not."""
        self._col = column
        self._order = order
        self.resort()

    def resort(self) -> None:
        """Sort the shown rows now, every key built again (the sort column, its direction or
        the grouping changed)."""
        self._fresh.clear()
        if self._src is not None and self._shown:
            self._apply(self._build_shown())
        else:
            self._settled()

    def _build_shown(self) -> list[tuple[Any, ...]]:
        """Every shown row's key again; a header keeps its own (it depends on no column)."""
        if not self._groups.headers:
            return self._build(self._shown)
        rows = [r for r in self._shown if type(r) is not GroupRow]
        built = iter(self._build(rows))
        return [r.skey if type(r) is GroupRow else next(built) for r in self._shown]

    def resort_if_due(self) -> None:
        """The live re-sort (its timer): the rows whose value changed take their new keys,
        now, or when the last hold ends."""
        if not self._fresh:
            return
        if self._holds:
            self._waiting = True
            self._update_hint()
            return
        if self._planned is not None:
            return  # worked out already; it moves the rows in the next turn
        started = self._clock()
        fresh = self._fresh
        if len(self._shown) <= self._split_above:
            key_of = self._key_of
            key_of.update(fresh)  # only these keys changed: the map needs no rebuilding
            # Each shown row's new key, or its old one: a loop in C (``map`` over dict.get).
            self._apply(list(map(fresh.get, self._shown, self._skeys)), key_of)
            self._pace(self._clock() - started)
            return
        # First turn: the order, touching nothing the table reads. The rows move in the
        # next turn, if nothing moved them meanwhile.
        applying = dict(fresh)
        skeys = list(map(applying.get, self._shown, self._skeys))
        order = sorted(range(len(skeys)), key=skeys.__getitem__)
        self._planned = (self._layout, applying, skeys, order, self._clock() - started)
        self._since_plan = {}
        self.finishTimer.start()

    def finish_resort(self) -> None:
        """The second turn of a split live re-sort: move the rows to the order worked out,
        unless rows came, went or were re-sorted since (then it is worked out again), or a
        hold began (then it waits for the hold to end, as any re-sort does)."""
        planned, self._planned = self._planned, None
        since, self._since_plan = self._since_plan, {}
        if planned is None:
            return
        layout, applying, skeys, order, first_turn = planned
        if layout != self._layout or self._holds:
            if self._holds:
                self._waiting = True
                self._update_hint()
            elif self._fresh and not self.resortTimer.isActive():
                self.resortTimer.start()
            return
        started = self._clock()
        key_of = self._key_of
        key_of.update(applying)
        shown = self._shown
        new_skeys = list(map(skeys.__getitem__, order))
        new_rows = list(map(shown.__getitem__, order))
        if new_rows == shown:
            self._layout += 1
            self._skeys = new_skeys
        else:
            self._relayout(new_skeys, new_rows, key_of)
        self._settled()
        # Rows repriced again between the turns are out of order by their latest value:
        # they wait for the next re-sort.
        fresh = self._fresh
        for r, skey in since.items():
            if skey != key_of[r]:
                fresh[r] = skey
        if fresh:
            self.resortTimer.start()
        self._pace(first_turn + self._clock() - started)

    def _pace(self, took: float) -> None:
        """The next live re-sort waits long enough that re-sorting stays within its share
        of the GUI thread."""
        self.resortTimer.setInterval(max(self._live_resort_ms,
                                         round(took * 1000 / LIVE_RESORT_SHARE)))

    def _apply(self, skeys: list[tuple[Any, ...]],
               key_of: dict[PositionRow, tuple[Any, ...]] | None = None) -> None:
        """Show the rows in the order of these keys (one per shown row); rows move only if
        the order changed, in one layout change that persistent indexes follow. ``key_of``:
        the row -> key map, when the caller has it up to date."""
        shown = self._shown
        order = sorted(range(len(shown)), key=skeys.__getitem__)
        new_skeys = list(map(skeys.__getitem__, order))
        new_rows = list(map(shown.__getitem__, order))
        if new_rows == shown:  # the same order, new values: nothing moves
            self._layout += 1
            self._skeys = new_skeys
            if key_of is None:
                self._place(new_skeys, shown)
        else:
            self._relayout(new_skeys, new_rows, key_of)
        self._settled()

    def _settled(self) -> None:
        self.resortTimer.stop()
        self._fresh.clear()
        self._waiting = False
        self._update_hint()

    @property
    def live(self) -> bool:
        """Sorted by a column that repricing changes."""
        return self._col in LIVE_COLUMNS

    @property
    def resort_pending(self) -> bool:
        """Rows are out of order by their latest values (a re-sort is due or held)."""
        return bool(self._fresh)

    @property
    def holds(self) -> frozenset[str]:
        return frozenset(self._holds)

    def set_hold(self, reason: str, held: bool) -> None:
        """Hold live re-sorts while ``reason`` lasts ("pointer", "dialog"): rows must not move
        under the pointer. When the last hold ends, a re-sort that came due happens."""
        if held:
            self._holds.add(reason)
        else:
            self._holds.discard(reason)
        if not self._holds and self._waiting:
            self.resort()
        else:
            self._update_hint()

    @property
    def hint(self) -> str:
        return self._hint

    def _update_hint(self) -> None:
        """"sorted by Venue"; for a column that moves with prices, "· live" and why a due
        re-sort waits."""
        text = ""
        if 0 <= self._col < len(PositionColumn):
            col = PositionColumn(self._col)
            text = f"sorted by {_SHORT_NAMES.get(col, col.title)}"
        if self.live:
            text += " · live"
            if FROZEN in self._holds:
                text += " · " + _FROZEN_WORDS
            elif self._waiting:
                why = [_HOLD_WORDS.get(h, "order held") for h in sorted(self._holds)]
                text += " · " + "; ".join(why)
        if text != self._hint:
            self._hint = text
            self.hintChanged.emit(text)

    # ------------------------------------------------------------------ lookups
    def key_at(self, row: int) -> PositionKey | None:
        return self._shown[row].key if 0 <= row < len(self._shown) else None

    def proxy_row_of(self, key: PositionKey) -> int | None:
        """The row showing ``key``; None when it is filtered out or gone."""
        record = self._src.record(key) if self._src is not None else None
        return None if record is None else self._row(record)

    def shown_keys(self) -> list[PositionKey]:
        return [r.key for r in self._shown if r.key is not None]

    def mapToSource(self, index: AnyIndex) -> QModelIndex:
        src = self._src
        if src is None or not index.isValid() or index.row() >= len(self._shown):
            return QModelIndex()
        row = src.row_of(self._shown[index.row()].key)
        return QModelIndex() if row is None else src.index(row, index.column())

    def mapFromSource(self, index: AnyIndex) -> QModelIndex:
        src = self._src
        if src is None or not index.isValid():
            return QModelIndex()
        row = self._row(src.records()[index.row()])
        return QModelIndex() if row is None else self.index(row, index.column())

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._shown) + len(self._totals)

    def columnCount(self, parent: AnyIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else _COLUMN_COUNT

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        src = self._src
        shown = self._shown
        if src is None or not index.isValid():
            return None
        if 0 <= row < len(shown):
            r = shown[row]
            if type(r) is GroupRow:
                return self._groups.header_cell(r, index.column(), role)
            return src.cell(r, index.column(), role)
        at = row - len(shown)
        if 0 <= at < len(self._totals):
            return self._groups.totals_cell(self._totals[at], index.column(), role)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if self._src is None:
            return None
        return self._src.headerData(section, orientation, role)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return _NO_FLAGS
        return _FLAGS if index.row() < len(self._shown) else _ENABLED  # totals: not selectable


_COLUMN_COUNT = len(PositionColumn)
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_ENABLED = Qt.ItemFlag.ItemIsEnabled
_NO_FLAGS = Qt.ItemFlag.NoItemFlags


def _sorted(skeys: list[tuple[Any, ...]], rows: list[PositionRow]
            ) -> tuple[list[tuple[Any, ...]], list[PositionRow]]:
    """Both lists in the order of the sort keys (compared in C, never the rows)."""
    order = sorted(range(len(rows)), key=skeys.__getitem__)
    return [skeys[i] for i in order], [rows[i] for i in order]


def _merge(a_skeys: list[tuple[Any, ...]], a_rows: list[PositionRow],
           b_skeys: list[tuple[Any, ...]], b_rows: list[PositionRow]
           ) -> tuple[list[tuple[Any, ...]], list[PositionRow]]:
    """Two sorted runs as one: each item of the shorter one is placed in the longer by bisect,
    and the stretches between are copied as slices (C), so the loop is over the shorter."""
    if len(a_skeys) > len(b_skeys):
        a_skeys, a_rows, b_skeys, b_rows = b_skeys, b_rows, a_skeys, a_rows
    skeys: list[tuple[Any, ...]] = []
    rows: list[PositionRow] = []
    prev = 0
    for s, r in zip(a_skeys, a_rows, strict=True):
        at = bisect_left(b_skeys, s, prev)
        if at > prev:
            skeys += b_skeys[prev:at]
            rows += b_rows[prev:at]
            prev = at
        skeys.append(s)
        rows.append(r)
    skeys += b_skeys[prev:]
    rows += b_rows[prev:]
    return skeys, rows


