"""The History tab: the audit journal, newest first, a page at a time.

The journal can hold millions of records, so the model never loads it whole: it shows the
newest page and fetches older ones with ``canFetchMore``/``fetchMore`` as the view scrolls,
each a keyset query on ``seq`` (``before_seq``), never OFFSET. New records are polled every
second or two with a cheap ``after_seq`` query and inserted at the top. Export writes the
filtered view, streamed page by page on a worker thread.
"""

from __future__ import annotations

import asyncio
import enum
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from PySide6.QtCore import (
    QDateTime,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QFontDatabase, QFontMetrics
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.journal import Journal, JournalFilter, JournalRecord
from gui.bridge import TaskTracker
from gui.models.columns import ColumnsModel

__all__ = [
    "PAGE_SIZE",
    "PAYLOAD_CHARS",
    "POLL_MS",
    "HistoryColumn",
    "HistoryModel",
    "HistoryView",
    "export_history",
    "fmt_wall",
]

PAGE_SIZE = 500
POLL_MS = 1500
PAYLOAD_CHARS = 160  # the cell; the tooltip has the whole payload (up to TOOLTIP_CHARS)
TOOLTIP_CHARS = 4000
NEW_PAGES_PER_POLL = 10  # a flood of new records is taken in over several polls, not one

AnyIndex = QModelIndex | QPersistentModelIndex
ExportFormat = Literal["csv", "jsonl"]

_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_BAD = QColor("#c62828")
_MUTED = QColor("#6b7280")
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


def fmt_wall(epoch: float) -> str:
    """Local date and time with milliseconds: the journal is read across days."""
    dt = datetime.fromtimestamp(epoch)
    return dt.strftime("%Y-%m-%d %H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def _payload_tooltip(text: str) -> str:
    """The whole payload, pretty-printed when it is JSON (it usually is)."""
    try:
        shown = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        shown = text
    if len(shown) > TOOLTIP_CHARS:
        shown = shown[:TOOLTIP_CHARS] + f"\n… ({len(shown) - TOOLTIP_CHARS:,} more characters)"
    return shown


def _cell(r: JournalRecord, col: HistoryColumn) -> str:
    if col is HistoryColumn.SEQ:
        return str(r.seq)
    if col is HistoryColumn.TIME:
        return fmt_wall(r.wall_time)
    if col is HistoryColumn.KIND:
        return r.kind
    if col is HistoryColumn.ACCOUNT:
        return r.account or ""
    if col is HistoryColumn.VENUE:
        return r.venue or ""
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


class HistoryModel(ColumnsModel):
    """Journal records matching a filter, newest first; see the module docstring.

    ``pages_fetched`` counts the keyset queries made for older pages since the last reset (the
    first page included), so a test can see that nothing was loaded whole.
    """

    COLUMNS = HistoryColumn

    def __init__(
        self,
        journal: Journal | None = None,
        parent: QObject | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> None:
        super().__init__(parent)
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self._journal = journal
        self._filter = JournalFilter()
        self._records: list[JournalRecord] = []
        self._more = False
        self._newest = 0  # the highest seq already considered (shown or filtered out)
        self.pages_fetched = 0
        self._mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.reload()

    # ------------------------------------------------------------------ state
    @property
    def journal(self) -> Journal | None:
        return self._journal

    @property
    def mono_font(self) -> QFont:
        return self._mono

    @property
    def filter(self) -> JournalFilter:
        return self._filter

    def record(self, row: int) -> JournalRecord:
        return self._records[row]

    @property
    def records(self) -> list[JournalRecord]:
        return list(self._records)

    def set_journal(self, journal: Journal | None) -> None:
        self._journal = journal
        self.reload()

    def set_filter(self, where: JournalFilter) -> None:
        self._filter = where
        self.reload()

    def reload(self) -> None:
        """Start over from the newest matching record (filter change, Refresh)."""
        self.beginResetModel()
        self._records = []
        self._more = self._journal is not None
        self.pages_fetched = 0
        self._newest = self._journal.last_seq() if self._journal is not None else 0
        self.endResetModel()
        if self._more:
            # Load the first page now, so the view shows something before it asks.
            self.fetchMore(QModelIndex())

    # ------------------------------------------------------------------ paging
    def canFetchMore(self, parent: AnyIndex) -> bool:
        return not parent.isValid() and self._more

    def fetchMore(self, parent: AnyIndex) -> None:
        if parent.isValid() or not self._more or self._journal is None:
            return
        before = self._records[-1].seq if self._records else self._newest + 1
        page = self._journal.query(
            self._filter, before_seq=before, limit=self.page_size, newest_first=True
        )
        self.pages_fetched += 1
        self._more = len(page) == self.page_size
        if page:
            first = len(self._records)
            self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
            self._records.extend(page)
            self.endInsertRows()

    def poll_new(self) -> int:
        """Insert records written since the newest one considered, at the top. Cheap: a keyset
        query on ``seq > newest``. Returns how many rows were added."""
        if self._journal is None:
            return 0
        added = 0
        for _ in range(NEW_PAGES_PER_POLL):
            page = self._journal.query(
                self._filter, after_seq=self._newest, limit=self.page_size, newest_first=False
            )
            if not page:
                break
            self._newest = page[-1].seq
            page.reverse()  # newest first, as the rest of the view
            self.beginInsertRows(QModelIndex(), 0, len(page) - 1)
            self._records[0:0] = page
            self.endInsertRows()
            added += len(page)
            if len(page) < self.page_size:
                break
        if added == 0:
            # Nothing matched; still move past records that were written but filtered out.
            self._newest = max(self._newest, self._journal.last_seq())
        return added

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._records)

    def column_is_numeric(self, col: Any) -> bool:
        return col in _NUMERIC


    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        r = self._records[index.row()]
        col = HistoryColumn(index.column())
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return _cell(r, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col is HistoryColumn.PAYLOAD:
                return _payload_tooltip(r.payload)
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
        if role == Qt.ItemDataRole.FontRole and col in (
            HistoryColumn.SEQ, HistoryColumn.TIME, HistoryColumn.LATENCY, HistoryColumn.PAYLOAD
        ):
            return self._mono
        return None


def export_history(
    journal: Journal, where: JournalFilter, path: Path, fmt: ExportFormat
) -> int:
    """Write the records matching ``where`` to ``path`` (oldest first), the same columns and
    format as ``closeout journal export``. Returns how many were written.

    The file is written beside its final name and renamed into place, so a failed export never
    leaves half a file under the name the user chose. It holds the journal's contents, so it is
    created 0600 like the journal itself.
    """
    tmp = path.with_name(f".{path.name}.partial")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as out:
            n = journal.export(where, fmt, out)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return n


def _fmt_from_path(path: Path, selected_filter: str = "") -> ExportFormat:
    if path.suffix.lower() == ".jsonl" or "jsonl" in selected_filter.lower():
        return "jsonl"
    return "csv"


class HistoryView(QWidget):
    """Filters on top (account, symbol, kind, time range), the journal table below."""

    exported = Signal(str, int)  # path, records written
    exportFailed = Signal(str)

    def __init__(
        self,
        journal: Journal | None = None,
        *,
        tracker: TaskTracker | None = None,
        poll_ms: int = POLL_MS,
        page_size: int = PAGE_SIZE,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("historyView")
        self.setAccessibleName("Journal history")
        self.tracker = tracker if tracker is not None else TaskTracker(self)
        self.model = HistoryModel(journal, self, page_size=page_size)
        self._export_task: asyncio.Task[int] | None = None
        self.fileDialog: QFileDialog | None = None
        self._build()
        self.refresh_choices()
        self.pollTimer = QTimer(self)
        self.pollTimer.setInterval(poll_ms)
        self.pollTimer.timeout.connect(self.poll)
        if journal is not None:
            self.pollTimer.start()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 4, 0, 0)
        root.setSpacing(6)
        bar = QHBoxLayout()
        bar.setSpacing(6)

        # No captions: the "All accounts" item says what each picker is, and saves the width
        # the time range needs.
        def combo(name: str, all_text: str, accessible: str) -> QComboBox:
            box = QComboBox(self)
            box.setObjectName(name)
            box.setAccessibleName(accessible)
            box.setToolTip(accessible)
            box.setMinimumContentsLength(8)
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            bar.addWidget(box)
            box.addItem(all_text, None)
            box.currentIndexChanged.connect(self.apply_filters)
            self._all_text[box] = all_text
            return box

        self._all_text: dict[QComboBox, str] = {}
        self.accountFilter = combo("historyAccountFilter", "All accounts", "Filter by account")
        self.symbolFilter = combo("historySymbolFilter", "All symbols", "Filter by symbol")
        self.kindFilter = combo("historyKindFilter", "All kinds", "Filter by kind of record")

        now = QDateTime.currentDateTime()
        self.sinceCheck = QCheckBox("&From", self)
        self.sinceCheck.setObjectName("historySinceCheck")
        self.sinceInput = QDateTimeEdit(now.addDays(-1), self)
        self.sinceInput.setObjectName("historySince")
        self.untilCheck = QCheckBox("&To", self)
        self.untilCheck.setObjectName("historyUntilCheck")
        self.untilInput = QDateTimeEdit(now.addSecs(3600), self)
        self.untilInput.setObjectName("historyUntil")
        for check, edit, what in ((self.sinceCheck, self.sinceInput, "From (inclusive)"),
                                  (self.untilCheck, self.untilInput, "To (exclusive)")):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setAccessibleName(what)
            edit.setEnabled(False)
            check.setToolTip(f"Only records {what.lower()} this time")
            check.toggled.connect(edit.setEnabled)
            check.toggled.connect(self.apply_filters)
            edit.dateTimeChanged.connect(self._on_time_edited)
            bar.addSpacing(4)
            bar.addWidget(check)
            bar.addWidget(edit)
        bar.addStretch(1)

        self.refreshButton = QPushButton("Refresh", self)
        self.refreshButton.setObjectName("historyRefresh")
        self.refreshButton.setToolTip("Reload from the newest record and refresh the filter lists")
        self.refreshButton.clicked.connect(self.refresh)
        self.exportButton = QPushButton("Export…", self)
        self.exportButton.setObjectName("historyExport")
        self.exportButton.setToolTip("Write the records matching the filters to a CSV or "
                                     "JSON Lines file")
        self.exportButton.clicked.connect(self.choose_export_file)
        bar.addWidget(self.refreshButton)
        bar.addWidget(self.exportButton)
        root.addLayout(bar)

        self.table = QTableView(self)
        self.table.setObjectName("historyTable")
        self.table.setAccessibleName("Journal records, newest first")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setCornerButtonEnabled(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setStretchLastSection(True)
        mono = QFontMetrics(self.model.mono_font)
        time_width = mono.horizontalAdvance("2026-01-01 00:00:00.000") + 20
        widths = {
            HistoryColumn.SEQ: 64, HistoryColumn.TIME: time_width, HistoryColumn.KIND: 136,
            HistoryColumn.ACCOUNT: 124, HistoryColumn.VENUE: 82, HistoryColumn.SYMBOL: 116,
            HistoryColumn.OPERATOR: 120, HistoryColumn.REASON: 150, HistoryColumn.LATENCY: 112,
        }
        for col, width in widths.items():
            self.table.setColumnWidth(col, width)
        root.addWidget(self.table, 1)

        self.statusLabel = QLabel(self)
        self.statusLabel.setObjectName("historyStatus")
        self.statusLabel.setAccessibleName("History status")
        root.addWidget(self.statusLabel)
        for signal in (self.model.rowsInserted, self.model.modelReset):
            signal.connect(self._update_status)
        self._update_status()

    # ------------------------------------------------------------------ filters
    def set_journal(self, journal: Journal | None) -> None:
        self.model.set_journal(journal)
        self.refresh_choices()
        if journal is None:
            self.pollTimer.stop()
        else:
            self.pollTimer.start()

    def refresh_choices(self) -> None:
        """Fill the pickers from the values the journal holds, keeping what is selected."""
        journal = self.model.journal
        for box, column in ((self.accountFilter, "account"), (self.symbolFilter, "symbol"),
                            (self.kindFilter, "kind")):
            values = journal.distinct(column) if journal is not None else []
            current = box.currentData()
            box.blockSignals(True)
            box.clear()
            box.addItem(self._all_text[box], None)
            for value in values:
                box.addItem(value, value)
            if current is not None and current not in values:
                box.addItem(current, current)  # keep a filter whose records are all gone
            box.setCurrentIndex(max(0, box.findData(current)) if current is not None else 0)
            box.blockSignals(False)

    def current_filter(self) -> JournalFilter:
        kind = self.kindFilter.currentData()
        since = self.sinceInput.dateTime().toSecsSinceEpoch() if self.sinceCheck.isChecked() \
            else None
        until = self.untilInput.dateTime().toSecsSinceEpoch() if self.untilCheck.isChecked() \
            else None
        return JournalFilter(
            account=self.accountFilter.currentData(),
            symbol=self.symbolFilter.currentData(),
            kinds=frozenset({kind}) if kind is not None else None,
            since=float(since) if since is not None else None,
            until=float(until) if until is not None else None,
        )

    def apply_filters(self, *_: object) -> None:
        where = self.current_filter()
        if where != self.model.filter:
            self.model.set_filter(where)

    def _on_time_edited(self, *_: object) -> None:
        if self.sinceCheck.isChecked() or self.untilCheck.isChecked():
            self.apply_filters()

    def refresh(self) -> None:
        self.refresh_choices()
        self.model.set_filter(self.current_filter())

    def poll(self) -> None:
        self.model.poll_new()

    def _update_status(self, *_: object) -> None:
        n = self.model.rowCount()
        if self.model.journal is None:
            text = "No journal is open."
        elif n == 0:
            text = "No records match the filters."
        elif self.model.canFetchMore(QModelIndex()):
            text = f"{n:,} newest records shown; scroll down for older ones."
        else:
            text = f"{n:,} records."
        self.statusLabel.setText(text)

    # ------------------------------------------------------------------ export
    def choose_export_file(self) -> None:
        """Ask where to write (non-blocking: ``open()``, never ``exec()``)."""
        if self.model.journal is None:
            return
        dialog = QFileDialog(self, "Export journal records")
        dialog.setObjectName("historyExportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["CSV (*.csv)", "JSON Lines (*.jsonl)"])
        dialog.setDefaultSuffix("csv")
        dialog.selectFile("closeout-journal.csv")
        dialog.fileSelected.connect(
            lambda name: self.start_export(Path(name), _fmt_from_path(
                Path(name), dialog.selectedNameFilter()))
        )
        self.fileDialog = dialog
        dialog.open()

    def start_export(self, path: Path, fmt: ExportFormat) -> asyncio.Task[int] | None:
        """Export the filtered view on a worker thread; the window stays responsive."""
        journal = self.model.journal
        if journal is None:
            return None
        where = self.current_filter()
        self.exportButton.setEnabled(False)
        self.statusLabel.setText(f"Exporting to {path}…")
        task = self.tracker.spawn(self._export(journal, where, path, fmt),
                                  name=f"export {path.name}")
        self._export_task = task
        return task

    async def _export(
        self, journal: Journal, where: JournalFilter, path: Path, fmt: ExportFormat
    ) -> int:
        try:
            n = await asyncio.to_thread(export_history, journal, where, path, fmt)
        except (OSError, ValueError) as exc:
            self.statusLabel.setText(f"Export failed: {exc}")
            self.exportFailed.emit(str(exc))
            return 0
        finally:
            self.exportButton.setEnabled(True)
        self.statusLabel.setText(f"Exported {n:,} records to {path}.")
        self.exported.emit(str(path), n)
        return n

    def shutdown(self) -> None:
        self.pollTimer.stop()
