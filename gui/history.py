"""The History tab: the audit journal, newest first, a window of it at a time.

The model (``gui.models.history``) holds a bounded window of records, paged in from the journal
by keyset as the reader scrolls either way, and nothing while the tab is hidden: hiding drops
the rows and stops the poll, showing loads the newest page again. At the top, new records come
in as they are written; further down nothing moves under the reader, and a bar says how many
new records wait above ("jump to newest"). Export writes the filtered view, streamed page by
page on a worker thread.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Literal

from PySide6.QtCore import (
    QDateTime,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFontMetrics, QHideEvent, QShowEvent
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
    QSizePolicy,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.journal import Journal, JournalFilter
from gui.bridge import TaskTracker
from gui.models.history import (
    MAX_PAGES,
    PAGE_SIZE,
    PAYLOAD_CHARS,
    HistoryColumn,
    HistoryModel,
    fmt_wall,
)
from gui.widgets.history_detail import HistoryDetail

__all__ = [
    "MAX_PAGES",
    "PAGE_SIZE",
    "PAYLOAD_CHARS",
    "POLL_MS",
    "HistoryColumn",
    "HistoryModel",
    "HistoryView",
    "export_history",
    "fmt_wall",
]

POLL_MS = 1500

AnyIndex = QModelIndex | QPersistentModelIndex
ExportFormat = Literal["csv", "jsonl"]


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
    """Filters on top (account, symbol, kind, time range), the journal table below; see the
    module docstring for what is held when."""

    exported = Signal(str, int)  # path, records written
    exportFailed = Signal(str)

    def __init__(
        self,
        journal: Journal | None = None,
        *,
        tracker: TaskTracker | None = None,
        poll_ms: int = POLL_MS,
        page_size: int = PAGE_SIZE,
        max_rows: int | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("historyView")
        self.setAccessibleName("Journal history")
        self.tracker = tracker if tracker is not None else TaskTracker(self)
        self.model = HistoryModel(journal, self, page_size=page_size, max_rows=max_rows)
        self._export_task: asyncio.Task[int] | None = None
        self.fileDialog: QFileDialog | None = None
        self._anchor: tuple[int, int] | None = None  # (seq, pixels) of the top row, held
        self.pollTimer = QTimer(self)
        self.pollTimer.setInterval(poll_ms)
        self.pollTimer.timeout.connect(self.poll)
        self._build()

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
        self.sinceCheck = QCheckBox("Fro&m", self)
        self.sinceCheck.setObjectName("historySinceCheck")
        self.sinceInput = QDateTimeEdit(now.addDays(-1), self)
        self.sinceInput.setObjectName("historySince")
        self.untilCheck = QCheckBox("T&o", self)
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

        self.jumpButton = QPushButton(self)
        self.jumpButton.setObjectName("historyJumpNewest")
        self.jumpButton.setAccessibleName("Jump to the newest records")
        self.jumpButton.setToolTip("New records were written while you read further down; "
                                   "the rows you are reading stay where they are until then")
        self.jumpButton.setVisible(False)
        self.jumpButton.clicked.connect(self.jump_to_newest)
        root.addWidget(self.jumpButton)

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
            HistoryColumn.SEQ: 56, HistoryColumn.TIME: time_width, HistoryColumn.KIND: 116,
            HistoryColumn.ACCOUNT: 112, HistoryColumn.VENUE: 86, HistoryColumn.SYMBOL: 112,
            HistoryColumn.OPERATOR: 110, HistoryColumn.REASON: 160, HistoryColumn.LATENCY: 84,
        }
        for col, width in widths.items():
            self.table.setColumnWidth(col, width)
        # The payload column takes the width left (the detail pane has it whole), so the
        # rows always span the table; the table and the pane share the tab's whole height.
        header.setSectionResizeMode(HistoryColumn.PAYLOAD, QHeaderView.ResizeMode.Stretch)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.detail = HistoryDetail(self.model.mono_font, self)
        self.detail.journal = self.model.journal
        self.detail.copied.connect(self._on_ticket_copied)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("historySplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.detail.setMinimumWidth(320)
        header.setMinimumSectionSize(40)
        root.addWidget(self.splitter, 1)
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)

        self.statusLabel = QLabel(self)
        self.statusLabel.setObjectName("historyStatus")
        self.statusLabel.setAccessibleName("History status")
        root.addWidget(self.statusLabel)
        m = self.model
        for signal in (m.rowsInserted, m.rowsRemoved, m.modelReset, m.pendingChanged):
            signal.connect(self._update_status)
        m.pendingChanged.connect(self._on_pending)
        # Rows coming or going above the reader keep the row they read in place.
        m.rowsAboutToBeInserted.connect(self._hold_place_for_insert)
        m.rowsAboutToBeRemoved.connect(self._hold_place)
        m.rowsInserted.connect(self._restore_place)
        m.rowsRemoved.connect(self._restore_place)
        self.table.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self._update_status()

    # ------------------------------------------------------------------ shown or hidden
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.model.journal is None:
            return
        if not self.model.active:
            self.refresh_choices()
            self.model.set_active(True)
            self.table.scrollToTop()
        self.pollTimer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        """Hidden: no poll. The rows go too, unless the window was only minimised."""
        super().hideEvent(event)
        self.pollTimer.stop()
        if not event.spontaneous():
            self.model.set_active(False)

    # ------------------------------------------------------------------ scrolling
    def _top_place(self) -> tuple[int, int] | None:
        """The record at the top of the viewport and how many pixels of it are scrolled off."""
        index = self.table.indexAt(QPoint(0, 0))
        if not index.isValid():
            return None
        return self.model.record(index.row()).seq, self.table.visualRect(index).top()

    def _hold_place_for_insert(self, parent: AnyIndex, first: int, last: int) -> None:
        if not self.model.following:  # following: the newest rows are what the reader wants
            self._hold_place(parent, first, last)

    def _hold_place(self, parent: AnyIndex, first: int, last: int) -> None:
        if first == 0 and self._anchor is None:
            self._anchor = self._top_place()

    def _restore_place(self, *_: object) -> None:
        anchor, self._anchor = self._anchor, None
        if anchor is None:
            return
        row = self.model.row_of(anchor[0])
        if row is None:
            return
        bar = self.table.verticalScrollBar()
        header = self.table.verticalHeader()
        if self.table.verticalScrollMode() is QAbstractItemView.ScrollMode.ScrollPerPixel:
            target = header.sectionPosition(row) - anchor[1]
        else:
            target = row
        if target > bar.maximum():
            self.table.updateGeometries()  # the range still counts the rows before the change
        bar.setValue(target)

    def _on_scrolled(self, value: int) -> None:
        bar = self.table.verticalScrollBar()
        if value <= bar.minimum() and self.model.more_newer:
            self.model.fetch_newer()  # the rows arrive above; the place is kept
        # At the very top, with nothing newer above: new records come in again.
        self.model.set_following(bar.value() <= bar.minimum() and not self.model.more_newer)

    # ------------------------------------------------------------------ the chosen record
    def _on_current_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        """The pane keeps the last chosen record while the window pages or reloads: a record
        never changes, and the reader may still be copying from it."""
        if current.isValid() and current.row() < self.model.rowCount():
            self.detail.show_record(self.model.record(current.row()))

    def _on_ticket_copied(self, text: str) -> None:
        r = self.detail.record
        if r is not None:
            self.statusLabel.setText(f"Copied record #{r.seq} as a ticket "
                                     f"({text.count(chr(10)) + 1} lines).")

    def jump_to_newest(self) -> None:
        self.model.reload()
        self.table.scrollToTop()

    def _on_pending(self, n: int) -> None:
        self.jumpButton.setText(f"{n:,} new record{'' if n == 1 else 's'} — jump to newest")
        self.jumpButton.setVisible(n > 0)

    # ------------------------------------------------------------------ filters
    def set_journal(self, journal: Journal | None) -> None:
        self.model.set_journal(journal)
        self.detail.journal = journal
        self.detail.show_record(None)
        if journal is None or not self.isVisible():
            self.pollTimer.stop()
            return
        self.refresh_choices()
        self.model.set_active(True)
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
        self.table.scrollToTop()

    def poll(self) -> None:
        self.model.poll_new()

    def _update_status(self, *_: object) -> None:
        m = self.model
        n = m.rowCount()
        if m.journal is None:
            text = "No journal is open."
        elif not m.active:
            text = ""
        elif n == 0:
            text = "No records match the filters."
        elif m.more_newer:
            span = f"{n:,} records shown (#{m.record(n - 1).seq:,} to #{m.record(0).seq:,})"
            more = "newer ones, down for older ones" if m.more_older else "newer ones"
            text = f"{span}; scroll up for {more}."
        elif m.more_older:
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
