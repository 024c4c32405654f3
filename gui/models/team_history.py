"""History's "All desks" table: the shared journal (every desk's records), newest first, with
each record's desk, in a bounded window like the local one (``gui.models.history``).

The same paging rules, keyed by ``stored_id`` (the order records were stored in the shared
journal, see ``core.team.history``) instead of the local ``seq``: keyset pages both ways, at
most ``max_rows`` held, new records put at the top while the reader follows the newest and
only counted (``pending``) while they read further down. Each page comes from the network, so
every fetch is a task on the asyncio loop and the rows change when it returns; one fetch runs
at a time, and a reload (a filter change) makes any fetch still out of date drop its result.
When the database cannot be reached the window keeps what it holds and ``error`` says why;
the next poll tries again and clears it.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush

from core.journal import JournalFilter, JournalRecord
from core.team.history import TeamHistory, TeamUnreachable
from core.team.store import TeamRecord
from gui.bridge import TaskTracker
from gui.models.columns import AnyIndex, ColumnsModel
from gui.models.history import HistoryColumn, cell_text, record_data
from gui.models.history_window import PAGE_SIZE, HistoryWindow
from gui.models.style import LOSS

__all__ = ["COUNT_CAP_PAGES", "TeamColumn", "TeamHistoryModel"]

COUNT_CAP_PAGES = 10  # counting new records while the reader is down: at most this many pages

_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_BAD_KINDS = frozenset({"protocol_error", "error"})


class TeamColumn(enum.IntEnum):
    SEQ = 0
    TIME = 1
    DESK = 2
    KIND = 3
    ACCOUNT = 4
    VENUE = 5
    SYMBOL = 6
    OPERATOR = 7
    REASON = 8
    LATENCY = 9
    PAYLOAD = 10

    @property
    def title(self) -> str:
        return "Desk" if self is TeamColumn.DESK else HistoryColumn[self.name].title


_COLUMNS = tuple(TeamColumn)
_SHARED = {c: HistoryColumn[c.name] for c in TeamColumn if c is not TeamColumn.DESK}
_NUMERIC = frozenset({TeamColumn.SEQ, TeamColumn.LATENCY})


class TeamHistoryModel(HistoryWindow, ColumnsModel):
    """See the module docstring. ``stateChanged`` says ``loading`` or ``error`` changed;
    ``pages_fetched`` counts the pages asked for since the last reload."""

    COLUMNS = TeamColumn
    pendingChanged = Signal(int)
    stateChanged = Signal()

    def __init__(self, source: TeamHistory, tracker: TaskTracker, parent: QObject | None = None,
                 *, page_size: int = PAGE_SIZE, max_rows: int | None = None) -> None:
        super().__init__(parent)
        self.source = source
        self._tracker = tracker
        self._init_window(page_size, max_rows)
        self._desk: str | None = None
        self._rows: list[TeamRecord] = []
        self._counted = 0  # the newest stored_id counted into ``pending`` or shown
        self._gen = 0  # bumped by each reload: older fetches drop their result
        self._task: asyncio.Task[None] | None = None
        self._loaded = False  # the current reload's first page arrived
        self.loading = False
        self.error: str | None = None

    # ------------------------------------------------------------------ state
    @property
    def desk(self) -> str | None:
        return self._desk

    @property
    def busy(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def rows(self) -> list[TeamRecord]:
        return list(self._rows)

    def team_record(self, row: int) -> TeamRecord:
        return self._rows[row]

    def record(self, row: int) -> JournalRecord:
        return self._rows[row].record

    def key_of(self, row: int) -> int:
        return self._rows[row].stored_id

    def row_of_key(self, stored_id: int) -> int | None:
        """The row showing ``stored_id`` (the window is sorted by it, descending)."""
        lo, hi = 0, len(self._rows)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._rows[mid].stored_id > stored_id:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self._rows) and self._rows[lo].stored_id == stored_id else None

    async def idle(self) -> None:
        """Wait until no fetch runs (tests, and a caller that wants the rows settled)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})

    def set_filter(self, where: JournalFilter, desk: str | None = None) -> None:
        self._filter, self._desk = where, desk
        self.reload()

    def set_active(self, active: bool) -> None:
        """Shown: load the newest page. Hidden: hold nothing and ask the database nothing."""
        if active != self._active:
            self._active = active
            self.reload()

    def _set_loading(self, loading: bool) -> None:
        if loading != self.loading:
            self.loading = loading
            self.stateChanged.emit()

    def _set_error(self, error: str | None) -> None:
        if error != self.error:
            self.error = error
            self.stateChanged.emit()

    # ------------------------------------------------------------------ fetching
    def _spawn(self, work: Callable[[int], Awaitable[None]], name: str) -> asyncio.Task[None]:
        gen = self._gen

        async def run() -> None:
            try:
                await work(gen)
            except TeamUnreachable as exc:
                if gen == self._gen:
                    self._set_error(str(exc))
            else:
                if gen == self._gen:
                    self._set_error(None)
            finally:
                if gen == self._gen:
                    self._set_loading(False)

        self._set_loading(True)  # now: the view says "Loading…", never "no records", meanwhile
        self._task = self._tracker.spawn(run(), name=f"team history: {name}")
        return self._task

    def reload(self) -> asyncio.Task[None] | None:
        """Start over from the newest matching record; the page comes when the database
        answers ("Loading…" until then)."""
        self._gen += 1
        self.beginResetModel()
        self._rows = []
        self._older = self._newer = False
        self._following = True
        self._loaded = False
        self.pages_fetched = 0
        self._counted = 0
        self.endResetModel()
        self._set_pending(0)
        if not self._active:
            self._set_loading(False)
            self._set_error(None)
            return None
        return self._spawn(self._load, "reload")

    async def _load(self, gen: int) -> None:
        self.pages_fetched += 1
        page = await self.source.page(self._filter, desk=self._desk, limit=self.page_size)
        if gen != self._gen:
            return
        self.beginResetModel()
        self._rows = page
        self._older = len(page) == self.page_size
        self.endResetModel()
        self._counted = page[0].stored_id if page else 0
        self._loaded = True

    def canFetchMore(self, parent: AnyIndex) -> bool:
        return not parent.isValid() and self._active and self._older and not self.busy

    def fetchMore(self, parent: AnyIndex) -> None:
        if not parent.isValid():
            self.fetch_older()

    def fetch_older(self) -> asyncio.Task[None] | None:
        """The next older page below the window; the newest rows leave past the cap."""
        if self.busy or not (self._active and self._older and self._rows):
            return None
        before = self._rows[-1].stored_id
        return self._spawn(lambda gen: self._fetch_older(gen, before), "older")

    async def _fetch_older(self, gen: int, before: int) -> None:
        self.pages_fetched += 1
        page = await self.source.page(self._filter, desk=self._desk, before=before,
                                      limit=self.page_size)
        if gen != self._gen:
            return
        self._older = len(page) == self.page_size
        if page:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._rows.extend(page)
            self.endInsertRows()
            excess = len(self._rows) - self.max_rows
            if excess > 0:
                self.beginRemoveRows(QModelIndex(), 0, excess - 1)
                del self._rows[:excess]
                self.endRemoveRows()
                self._newer = True

    def fetch_newer(self) -> asyncio.Task[None] | None:
        """The next newer page above the window (scrolling back up); reaching the newest
        record resumes following it."""
        if self.busy or not (self._active and self._newer and self._rows):
            return None
        after = self._rows[0].stored_id
        return self._spawn(lambda gen: self._fetch_newer(gen, after), "newer")

    async def _fetch_newer(self, gen: int, after: int) -> None:
        self.pages_fetched += 1
        page = await self.source.page(self._filter, desk=self._desk, after=after,
                                      limit=self.page_size, newest_first=False)
        if gen != self._gen:
            return
        if len(page) < self.page_size:
            self._newer = False
            self._set_pending(0)
        if page:
            self._counted = max(self._counted, page[-1].stored_id)
            self._insert_top(page[::-1])

    def poll_new(self) -> asyncio.Task[None] | None:
        """The poll (or another desk's news): following, put what was stored since the top
        row at the top; otherwise count it. After a failed reload, try the reload again."""
        if self.busy or not self._active:
            return None
        if not self._loaded:
            return self.reload()
        if not self.following:
            counted = self._counted
            return self._spawn(lambda gen: self._count_new(gen, counted), "count")
        top = self._rows[0].stored_id if self._rows else self._counted
        return self._spawn(lambda gen: self._poll_new(gen, top), "poll")

    async def _poll_new(self, gen: int, top: int) -> None:
        page = await self.source.page(self._filter, desk=self._desk, after=top,
                                      limit=self.page_size)
        if gen != self._gen or not page:
            return
        if len(page) == self.page_size and self._rows:
            # More came than a page: what lies between is reached by scrolling down.
            self.beginResetModel()
            self._rows = page
            self._older = True
            self.endResetModel()
        else:
            self._insert_top(page)
            self._older = self._older or len(page) == self.page_size
        self._counted = max(self._counted, self._rows[0].stored_id)

    async def _count_new(self, gen: int, counted: int) -> None:
        n, newest = await self.source.count_after(self._filter, counted, desk=self._desk,
                                                  cap=COUNT_CAP_PAGES * self.page_size)
        if gen != self._gen or not n:
            return
        self._counted = newest
        self._newer = True
        self._set_pending(self._pending + n)

    def _insert_top(self, newest_first: Sequence[TeamRecord]) -> None:
        self.beginInsertRows(QModelIndex(), 0, len(newest_first) - 1)
        self._rows[0:0] = newest_first
        self.endInsertRows()
        excess = len(self._rows) - self.max_rows
        if excess > 0:
            first = len(self._rows) - excess
            self.beginRemoveRows(QModelIndex(), first, len(self._rows) - 1)
            del self._rows[first:]
            self.endRemoveRows()
            self._older = True

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def column_is_numeric(self, col: Any) -> bool:
        return col in _NUMERIC

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        t = self._rows[index.row()]
        r = t.record
        col = _COLUMNS[index.column()]
        text = role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole)
        if col is TeamColumn.DESK:
            if text:
                return t.desk_name
            if role == Qt.ItemDataRole.ToolTipRole:
                return f"{t.desk_name} (desk id {t.desk_id})"
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return _LEFT
            if role == Qt.ItemDataRole.ForegroundRole and r.kind in _BAD_KINDS:
                return QBrush(LOSS)
            return None
        if text:
            return cell_text(r, _SHARED[col])
        if role == Qt.ItemDataRole.ToolTipRole and col is TeamColumn.SEQ:
            return (f"Record {r.seq} of {t.desk_name}'s journal; #{t.stored_id} in the "
                    "shared journal")
        return record_data(r, _SHARED[col], role, self._mono)
