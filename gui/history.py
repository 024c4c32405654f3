"""The History tab: the audit journal, newest first, a window of it at a time.

The model (``gui.models.history``) holds a bounded window of records, paged in from the journal
by keyset as the reader scrolls either way, and nothing while the tab is hidden: hiding drops
the rows and stops the poll, showing loads the newest page again. At the top, new records come
in as they are written; further down nothing moves under the reader, and a bar says how many
new records wait above ("jump to newest"). Export writes the filtered view, streamed page by
page on a worker thread.

In team mode (``set_team``) a picker chooses between "This desk" (the local journal, as in
solo mode) and "All desks" (the shared journal, with a Desk column and a Desk filter,
``gui.models.team_history``), whose pages come from the network without blocking the window;
there Export writes the shared journal's filtered records, with each record's desk.
Solo mode never imports the team code (nor psycopg).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Literal

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
from core.journal.export import written_in_place
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

if TYPE_CHECKING:
    from core.team.history import TeamHistory
    from gui.models.team_history import TeamHistoryModel

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
THIS_DESK, ALL_DESKS = "This desk", "All desks"
UNREACHABLE = "The shared journal cannot be reached"
EXPORT_TIP = "Write the records matching the filters to a CSV or JSON Lines file"
TEAM_EXPORT_TIP = ("Write every desk's records matching the filters to a CSV or JSON Lines "
                   "file, with each record's desk")
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
    with written_in_place(path) as out:
        return journal.export(where, fmt, out)


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
        self.localModel = HistoryModel(journal, self, page_size=page_size, max_rows=max_rows)
        self.teamModel: TeamHistoryModel | None = None
        self.model: HistoryModel | TeamHistoryModel = self.localModel
        self._sizes = (page_size, max_rows)
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
        self.sourceBox = QComboBox(self)  # team mode only: which journal
        self.sourceBox.setObjectName("historySource")
        self.sourceBox.setAccessibleName("Records of")
        self.sourceBox.setToolTip("This desk's journal, or the shared journal of every desk")
        self.sourceBox.addItems([THIS_DESK, ALL_DESKS])
        self.sourceBox.setVisible(False)
        self.sourceBox.currentIndexChanged.connect(self._on_source_changed)
        bar.addWidget(self.sourceBox)
        self.deskFilter = combo("historyDeskFilter", "Any desk", "Filter by desk")
        self.deskFilter.setVisible(False)
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
        self.exportButton.setToolTip(EXPORT_TIP)
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
        self._size_columns()
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.detail = HistoryDetail(self.model.mono_font, self)
        self.detail.journal = self.localModel.journal
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
        self._bind(self.model, True)
        self.table.verticalScrollBar().valueChanged.connect(self._on_scrolled)
        self._update_status()

    def _size_columns(self) -> None:
        mono = QFontMetrics(self.model.mono_font)
        widths = {
            "SEQ": 56, "TIME": mono.horizontalAdvance("2026-01-01 00:00:00.000") + 20,
            "DESK": 96, "KIND": 116, "ACCOUNT": 112, "VENUE": 86, "SYMBOL": 112,
            "OPERATOR": 110, "REASON": 160, "LATENCY": 84,
        }
        header = self.table.horizontalHeader()
        for col in self.model.COLUMNS:
            if col.name in widths:  # Interactive again: the other model's payload column
                header.setSectionResizeMode(col.value, QHeaderView.ResizeMode.Interactive)
                self.table.setColumnWidth(col.value, widths[col.name])
            else:
                # The payload column takes the width left (the detail pane has it whole), so
                # the rows always span the table; table and pane share the tab's height.
                header.setSectionResizeMode(col.value, QHeaderView.ResizeMode.Stretch)

    def _bind(self, m: HistoryModel | TeamHistoryModel, on: bool) -> None:
        """Connect (or disconnect) the shown model's signals: status, pending, the place."""
        pairs = [(m.rowsInserted, self._update_status), (m.rowsRemoved, self._update_status),
                 (m.modelReset, self._update_status), (m.pendingChanged, self._update_status),
                 (m.pendingChanged, self._on_pending),
                 # Rows coming or going above the reader keep the row they read in place.
                 (m.rowsAboutToBeInserted, self._hold_place_for_insert),
                 (m.rowsAboutToBeRemoved, self._hold_place),
                 (m.rowsInserted, self._restore_place), (m.rowsRemoved, self._restore_place)]
        if not isinstance(m, HistoryModel):
            pairs.append((m.stateChanged, self._update_status))
        for signal, slot in pairs:
            if on:
                signal.connect(slot)
            else:
                signal.disconnect(slot)

    # ------------------------------------------------------------------ team mode
    @property
    def all_desks(self) -> bool:
        return self.model is self.teamModel

    def set_team(self, source: TeamHistory, *, all_desks: bool = True) -> None:
        """Team mode: the journal picker appears, on "All desks" unless told otherwise."""
        from gui.models.team_history import TeamHistoryModel

        page_size, max_rows = self._sizes
        self.teamModel = TeamHistoryModel(source, self.tracker, self, page_size=page_size,
                                          max_rows=max_rows)
        self.sourceBox.setVisible(True)
        self.sourceBox.setCurrentText(ALL_DESKS if all_desks else THIS_DESK)
        self._on_source_changed()

    def _on_source_changed(self, *_: object) -> None:
        team = self.teamModel
        if team is None:
            return
        want = team if self.sourceBox.currentText() == ALL_DESKS else self.localModel
        if want is self.model:
            return
        old, self.model = self.model, want
        self._bind(old, False)
        old.set_active(False)
        self.table.setModel(want)
        self._size_columns()
        self.table.selectionModel().currentRowChanged.connect(self._on_current_row)
        self._bind(want, True)
        self.deskFilter.setVisible(want is team)
        # Another desk's intent is not in this desk's journal: its ticket is the record alone.
        self.detail.journal = None if want is team else self.localModel.journal
        self.exportButton.setToolTip(TEAM_EXPORT_TIP if want is team else EXPORT_TIP)
        self._on_pending(want.pending)
        if self.isVisible():
            self.refresh_choices()
            self._apply(want)
            want.set_active(True)
            self.table.scrollToTop()
        self._update_status()

    # ------------------------------------------------------------------ shown or hidden
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.localModel.journal is None:
            return
        if not self.model.active:
            self.refresh_choices()
            self._apply(self.model)
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
        return self.model.key_of(index.row()), self.table.visualRect(index).top()

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
        row = self.model.row_of_key(anchor[0])
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
        if not (current.isValid() and current.row() < self.model.rowCount()):
            return
        if self.model is self.teamModel:
            t = self.model.team_record(current.row())
            self.detail.show_record(t.record, desk=(t.desk_name, t.desk_id))
        else:
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
        self.localModel.set_journal(journal)
        if not self.all_desks:
            self.detail.journal = journal
        self.detail.show_record(None)
        if journal is None or not self.isVisible():
            self.pollTimer.stop()
            return
        self.refresh_choices()
        self.model.set_active(True)
        self.pollTimer.start()

    def refresh_choices(self) -> None:
        """Fill the pickers from the values the journal holds, keeping what is selected (the
        shared journal's values arrive when the database answers)."""
        if self.teamModel is not None and self.all_desks:
            self.tracker.spawn(self._team_choices(self.teamModel.source),
                               name="team history: choices")
            return
        journal = self.localModel.journal
        for box, column in ((self.accountFilter, "account"), (self.symbolFilter, "symbol"),
                            (self.kindFilter, "kind")):
            self._fill(box, [(v, v) for v in journal.distinct(column)]
                       if journal is not None else [])

    async def _team_choices(self, source: TeamHistory) -> None:
        from core.team.history import TeamUnreachable

        try:
            values = {column: await source.distinct(column)
                      for column in ("account", "symbol", "kind")}
            desks = await source.desks()
        except TeamUnreachable:
            return  # the table says so; the pickers keep what they have
        if not self.all_desks:
            return
        for box, column in ((self.accountFilter, "account"), (self.symbolFilter, "symbol"),
                            (self.kindFilter, "kind")):
            self._fill(box, [(v, v) for v in values[column]])
        self._fill(self.deskFilter, [(name, desk) for desk, name in desks])

    def _fill(self, box: QComboBox, items: list[tuple[str, str]]) -> None:
        current = box.currentData()
        box.blockSignals(True)
        box.clear()
        box.addItem(self._all_text[box], None)
        for text, value in items:
            box.addItem(text, value)
            box.setItemData(box.count() - 1, value, Qt.ItemDataRole.ToolTipRole)
        if current is not None and box.findData(current) < 0:
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
        self._apply(self.model)

    def _apply(self, model: HistoryModel | TeamHistoryModel, force: bool = False) -> None:
        where = self.current_filter()
        if isinstance(model, HistoryModel):
            if force or where != model.filter:
                model.set_filter(where)
            return
        desk = self.deskFilter.currentData()
        if force or (where, desk) != (model.filter, model.desk):
            model.set_filter(where, desk)

    def _on_time_edited(self, *_: object) -> None:
        if self.sinceCheck.isChecked() or self.untilCheck.isChecked():
            self.apply_filters()

    def refresh(self) -> None:
        self.refresh_choices()
        self._apply(self.model, force=True)
        self.table.scrollToTop()

    def poll(self) -> None:
        self.model.poll_new()

    def _update_status(self, *_: object) -> None:
        m = self.model
        n = m.rowCount()
        if not isinstance(m, HistoryModel):
            self.statusLabel.setText(self._team_status(m))
            return
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

    @staticmethod
    def _team_status(m: TeamHistoryModel) -> str:
        n = m.rowCount()
        if not m.active:
            return ""
        if m.error is not None:
            held = (f"showing the {n:,} records loaded before" if n else
                    "choose “This desk” for this desk's records")
            return f"{UNREACHABLE} ({m.error}): {held}; trying again."
        if m.loading and n == 0:
            return "Loading…"
        if n == 0:
            return "No records of any desk match the filters."
        more = ("; scroll up for newer ones" if m.more_newer else "") + (
            "; scroll down for older ones" if m.more_older else "")
        return f"{n:,} records of every desk shown{more}."

    # ------------------------------------------------------------------ export
    @property
    def exporting(self) -> bool:
        return self._export_task is not None and not self._export_task.done()

    def choose_export_file(self) -> None:
        """Ask where to write (non-blocking: ``open()``, never ``exec()``)."""
        if self.exporting or (self.localModel.journal is None and not self.all_desks):
            return
        dialog = QFileDialog(self, "Export journal records")
        dialog.setObjectName("historyExportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["CSV (*.csv)", "JSON Lines (*.jsonl)"])
        dialog.setDefaultSuffix("csv")
        dialog.selectFile("closeout-team-journal.csv" if self.all_desks
                          else "closeout-journal.csv")
        dialog.fileSelected.connect(
            lambda name: self.start_export(Path(name), _fmt_from_path(
                Path(name), dialog.selectedNameFilter()))
        )
        self.fileDialog = dialog
        dialog.open()

    def start_export(self, path: Path, fmt: ExportFormat) -> asyncio.Task[int] | None:
        """Export the filtered view without holding up the window: the local journal on a
        worker thread, the shared one (on All desks) page by page from the database. One
        export at a time."""
        if self.exporting:
            return None
        where = self.current_filter()
        unreachable: tuple[type[Exception], ...] = ()
        if self.teamModel is not None and self.all_desks:
            from core.team.history import TeamUnreachable

            unreachable = (TeamUnreachable,)
            run = self.teamModel.source.export_file(where, self.deskFilter.currentData(), path,
                                                    fmt)
        elif (journal := self.localModel.journal) is not None:
            run = asyncio.to_thread(export_history, journal, where, path, fmt)
        else:
            return None
        self.exportButton.setEnabled(False)
        self.statusLabel.setText(f"Exporting to {path}…")
        task = self.tracker.spawn(self._export(run, path, unreachable),
                                  name=f"export {path.name}")
        self._export_task = task
        return task

    async def _export(self, run: Awaitable[int], path: Path,
                      unreachable: tuple[type[Exception], ...]) -> int:
        errors: tuple[type[Exception], ...] = (OSError, ValueError, *unreachable)
        try:
            n = await run
        except errors as exc:
            why = f"{UNREACHABLE} ({exc})" if isinstance(exc, unreachable) else str(exc)
            self.statusLabel.setText(f"Export failed: {why}. No file was written.")
            self.exportFailed.emit(why)
            return 0
        finally:
            self.exportButton.setEnabled(True)
        self.statusLabel.setText(f"Exported {n:,} records to {path}.")
        self.exported.emit(str(path), n)
        return n

    def shutdown(self) -> None:
        self.pollTimer.stop()
