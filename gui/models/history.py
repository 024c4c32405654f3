"""The History tab's table: a bounded window onto the audit journal, newest first.

The journal can hold millions of records and grow by thousands a second, so the model holds
only a window of at most ``max_rows`` consecutive matching records (a few pages), and nothing
at all while the tab is hidden (``set_active(False)``). Every page is a keyset query on
``seq`` (``before_seq`` going down, ``after_seq`` going up), never OFFSET:

- Scrolling down fetches older pages (``canFetchMore``/``fetchMore``); past the cap the newest
  rows of the window leave, and scrolling back up fetches them again (``fetch_newer``).
- While the reader follows the newest records (the view at the top), ``poll_new`` puts new
  records at the top and the oldest rows of the window leave. While they read further down,
  nothing moves under them: new records are only counted (``pending``) until they jump back.

Each record enters the window once per page that brings it, and leaves once; a page never
overlaps the window (its keyset bound is the window's edge).
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator, Sequence
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal
from PySide6.QtGui import QBrush, QFont

from core.journal import Journal, JournalFilter, JournalRecord
from gui.models.columns import AnyIndex, ColumnsModel
from gui.models.history_text import fmt_wall, pretty_payload, venue_text
from gui.models.history_window import MAX_PAGES, PAGE_SIZE, HistoryWindow
from gui.models.style import LOSS, MUTED

__all__ = [
    "MAX_PAGES",
    "PAGE_SIZE",
    "PAYLOAD_CHARS",
    "HistoryColumn",
    "HistoryModel",
    "cell_text",
    "fmt_wall",
    "payload_tooltip",
]

PAYLOAD_CHARS = 160  # the cell; the tooltip has the whole payload (up to TOOLTIP_CHARS)
TOOLTIP_CHARS = 4000
COUNT_PAGES_PER_POLL = 10  # counting new records under a filter: at most this much per poll

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_BAD = LOSS
_MUTED = MUTED
_BAD_KINDS = frozenset({"protocol_error", "error"})


class HistoryColumn(enum.IntEnum):
    SEQ = 0
    TIME = 1
    KIND = 2
    ACCOUNT = 3
    VENUE = 4
    SYMBOL = 5
    OPERATOR = 6
    REASON = 7
    LATENCY = 8
    PAYLOAD = 9

    @property
    def title(self) -> str:
        return _TITLES[self]


_TITLES = {
    HistoryColumn.SEQ: "Seq",
    HistoryColumn.TIME: "Time",
    HistoryColumn.KIND: "Kind",
    HistoryColumn.ACCOUNT: "Account",
    HistoryColumn.VENUE: "Venue",
    HistoryColumn.SYMBOL: "Symbol",
    HistoryColumn.OPERATOR: "Operator",
    HistoryColumn.REASON: "Reason",
    HistoryColumn.LATENCY: "Latency ms",
    HistoryColumn.PAYLOAD: "Payload",
}
_NUMERIC = frozenset({HistoryColumn.SEQ, HistoryColumn.LATENCY})
_MONO = frozenset({HistoryColumn.SEQ, HistoryColumn.TIME, HistoryColumn.LATENCY,
                   HistoryColumn.PAYLOAD})
_COLUMNS = tuple(HistoryColumn)


def payload_tooltip(text: str) -> str:
    """The whole payload, pretty-printed when it is JSON (it usually is); the detail pane
    has it all."""
    shown = pretty_payload(text)
    if len(shown) > TOOLTIP_CHARS:
        shown = shown[:TOOLTIP_CHARS] + f"\n… ({len(shown) - TOOLTIP_CHARS:,} more characters)"
    return shown


def cell_text(r: JournalRecord, col: HistoryColumn) -> str:
    """A cell's text (the team model shares it)."""
    if col is HistoryColumn.SEQ:
        return str(r.seq)
    if col is HistoryColumn.TIME:
        return fmt_wall(r.wall_time)
    if col is HistoryColumn.KIND:
        return r.kind
    if col is HistoryColumn.ACCOUNT:
        return r.account or ""
    if col is HistoryColumn.VENUE:
        return venue_text(r.venue)
    if col is HistoryColumn.SYMBOL:
        return r.symbol or ""
    if col is HistoryColumn.OPERATOR:
        return r.operator
    if col is HistoryColumn.REASON:
        return r.reason or ""
    if col is HistoryColumn.LATENCY:
        return "" if r.latency_ms is None else f"{r.latency_ms:.1f}"
    text = " ".join(r.payload.split())  # one line in the cell
    return text if len(text) <= PAYLOAD_CHARS else text[: PAYLOAD_CHARS - 1] + "…"


class HistoryModel(HistoryWindow, ColumnsModel):
    """Journal records matching a filter, newest first, in a bounded window; see the module
    docstring.

    ``pages_fetched`` counts the keyset queries for pages since the last reload (the first page
    included), so a test can see that nothing was loaded whole. ``pending`` is how many new
    records arrived above the window while the reader was not following the newest.
    """

    COLUMNS = HistoryColumn
    pendingChanged = Signal(int)

    def __init__(
        self,
        journal: Journal | None = None,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
        max_rows: int | None = None,
        active: bool = False,
    ) -> None:
        super().__init__(parent)
        self._init_window(page_size, max_rows)
        self._journal = journal
        self._records: list[JournalRecord] = []
        self._counted = 0  # the highest seq counted into ``pending`` (filtered case)
        # A view (or a model tester) may ask for more from inside our own row signals; one
        # change at a time keeps the window consistent and each page fetched once.
        self._changing = False
        if active:
            self.set_active(True)

    # ------------------------------------------------------------------ state
    @property
    def journal(self) -> Journal | None:
        return self._journal

    def record(self, row: int) -> JournalRecord:
        return self._records[row]

    @property
    def records(self) -> list[JournalRecord]:
        return list(self._records)

    def key_of(self, row: int) -> int:
        """What identifies a row across pages (the view keeps the reader's place by it)."""
        return self._records[row].seq

    def row_of_key(self, seq: int) -> int | None:
        return self.row_of(seq)

    def row_of(self, seq: int) -> int | None:
        """The row showing record ``seq`` (the window is sorted by seq, descending)."""
        lo, hi = 0, len(self._records)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._records[mid].seq > seq:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self._records) and self._records[lo].seq == seq else None

    def set_journal(self, journal: Journal | None) -> None:
        self._journal = journal
        self.reload()

    def set_filter(self, where: JournalFilter) -> None:
        self._filter = where
        self.reload()

    def set_active(self, active: bool) -> None:
        """Shown: load the newest page. Hidden: hold nothing and ask the journal nothing."""
        if active == self._active:
            return
        self._active = active
        self.reload()

    def reload(self) -> None:
        """Start over from the newest matching record (shown, filter change, Refresh, jump)."""
        with self._change():
            self._reload()
        self._set_pending(0)

    def _reload(self) -> None:
        self.beginResetModel()
        self._records = []
        self._older = self._newer = False
        self._following = True
        self.pages_fetched = 0
        if self._active and self._journal is not None:
            # The first page now, so the view shows something before it asks.
            self._records = self._page(before_seq=None, newest_first=True)
            self._older = len(self._records) == self.page_size
        self.endResetModel()
        self._counted = self._records[0].seq if self._records else 0

    def _query(self, *, before_seq: int | None = None, after_seq: int | None = None,
               newest_first: bool) -> list[JournalRecord]:
        assert self._journal is not None
        return self._journal.query(self._filter, before_seq=before_seq, after_seq=after_seq,
                                   limit=self.page_size, newest_first=newest_first)

    def _page(self, *, before_seq: int | None = None, after_seq: int | None = None,
              newest_first: bool) -> list[JournalRecord]:
        """A page the reader asked for (counted in ``pages_fetched``)."""
        self.pages_fetched += 1
        return self._query(before_seq=before_seq, after_seq=after_seq,
                           newest_first=newest_first)

    # ------------------------------------------------------------------ paging
    @contextlib.contextmanager
    def _change(self) -> Iterator[None]:
        self._changing = True
        try:
            yield
        finally:
            self._changing = False

    def canFetchMore(self, parent: AnyIndex) -> bool:
        return not parent.isValid() and self._active and self._older and not self._changing

    def fetchMore(self, parent: AnyIndex) -> None:
        if not parent.isValid():
            self.fetch_older()

    def fetch_older(self) -> int:
        """The next older page below the window; the newest rows leave past the cap."""
        if self._changing or not (self._active and self._older and self._records):
            return 0
        with self._change():
            return self._fetch_older()

    def _fetch_older(self) -> int:
        page = self._page(before_seq=self._records[-1].seq, newest_first=True)
        self._older = len(page) == self.page_size
        if page:
            first = len(self._records)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._records.extend(page)
            self.endInsertRows()
            self._trim_top()
        return len(page)

    def fetch_newer(self) -> int:
        """The next newer page above the window (scrolling back up); the oldest rows leave
        past the cap. Reaching the newest record resumes following it."""
        if self._changing or not (self._active and self._newer and self._records):
            return 0
        with self._change():
            return self._fetch_newer()

    def _fetch_newer(self) -> int:
        page = self._page(after_seq=self._records[0].seq, newest_first=False)
        if len(page) < self.page_size:
            self._newer = False
            self._set_pending(0)
        if page:
            self._counted = max(self._counted, page[-1].seq)
            self._insert_top(page[::-1])
        return len(page)

    def poll_new(self) -> int:
        """What the poll timer calls. Following: put the records written since the top row at
        the top (one page at most; after a bigger burst, the newest page replaces the window).
        Otherwise only count them. Returns how many rows were added."""
        if self._changing or not self._active or self._journal is None:
            return 0
        with self._change():
            if not self.following:
                self._count_new()
                return 0
            return self._poll_new()

    def _poll_new(self) -> int:
        top = self._records[0].seq if self._records else 0
        page = self._query(after_seq=top, newest_first=True)
        if not page:
            return 0
        if len(page) == self.page_size and self._records:
            # More came than a page: what lies between is reached by scrolling down.
            self.beginResetModel()
            self._records = page
            self._older = True
            self.endResetModel()
        else:
            self._insert_top(page)
            self._older = self._older or len(page) == self.page_size
        self._counted = self._records[0].seq
        return len(page)

    def _count_new(self) -> None:
        """How many matching records are newer than the window's newest known one: O(1)
        without a filter (seqs are consecutive), a few pages of reading with one."""
        assert self._journal is not None
        n = self._pending
        if self._filter == JournalFilter():
            last = self._journal.last_seq()
            n += max(0, last - self._counted)
            self._counted = max(self._counted, last)
        else:
            for _ in range(COUNT_PAGES_PER_POLL):
                page = self._query(after_seq=self._counted, newest_first=False)
                if not page:
                    break
                n += len(page)
                self._counted = page[-1].seq
                if len(page) < self.page_size:
                    break
        if n:
            self._newer = True
        self._set_pending(n)

    def _insert_top(self, newest_first: Sequence[JournalRecord]) -> None:
        self.beginInsertRows(QModelIndex(), 0, len(newest_first) - 1)
        self._records[0:0] = newest_first
        self.endInsertRows()
        excess = len(self._records) - self.max_rows
        if excess > 0:
            first = len(self._records) - excess
            self.beginRemoveRows(QModelIndex(), first, len(self._records) - 1)
            del self._records[first:]
            self.endRemoveRows()
            self._older = True

    def _trim_top(self) -> None:
        excess = len(self._records) - self.max_rows
        if excess > 0:
            self.beginRemoveRows(QModelIndex(), 0, excess - 1)
            del self._records[:excess]
            self.endRemoveRows()
            self._newer = True

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def column_is_numeric(self, col: Any) -> bool:
        return col in _NUMERIC

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        r = self._records[index.row()]
        col = _COLUMNS[index.column()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return cell_text(r, col)
        return record_data(r, col, role, self._mono)


def record_data(r: JournalRecord, col: HistoryColumn, role: int, mono: QFont) -> Any:
    """A record's cell in every role but its text: the tooltips, alignment, colours and font
    that both History tables (this desk's journal and the shared one) show alike."""
    if role == Qt.ItemDataRole.ToolTipRole:
        if col is HistoryColumn.PAYLOAD:
            return payload_tooltip(r.payload)
        if col is HistoryColumn.REASON and r.reason:
            return r.reason
        if col is HistoryColumn.TIME:
            return f"{fmt_wall(r.wall_time)} local ({r.wall_time:.6f})"
        if col is HistoryColumn.KIND and r.intent_id:
            return f"Intent {r.intent_id}"
        return None
    if role == Qt.ItemDataRole.TextAlignmentRole:
        return _RIGHT if col in _NUMERIC else _LEFT
    if role == Qt.ItemDataRole.ForegroundRole:
        if r.kind in _BAD_KINDS:
            return QBrush(_BAD)
        if col in (HistoryColumn.SEQ, HistoryColumn.OPERATOR):
            return QBrush(_MUTED)
        return None
    if role == Qt.ItemDataRole.FontRole and col in _MONO:
        return mono
    return None
