"""The flatten dialog's last page: each position's outcome, the totals, "Retry the residuals
and rejections" (a new plan, confirmed again; the dialog connects it) and "Export…"."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.flatten import FlattenReport, Outcome
from gui.dialogs.flatten.common import item_columns, restyle, table
from gui.dialogs.flatten.models import RunModel
from gui.dialogs.flatten.text import (
    export_report,
    item_story,
    plural,
    report_headline,
    report_totals_text,
)

__all__ = ["ReportPage"]

# Which row a report selects first: the one that most needs a look (lowest first).
_ATTENTION: Mapping[Outcome | None, int] = {
    None: 0, Outcome.UNKNOWN: 0, Outcome.REJECTED: 1, Outcome.BLOCKED: 1, Outcome.RESIDUAL: 2,
    Outcome.SKIPPED: 3, Outcome.CANCELLED_BEFORE_SEND: 4,
}


class ReportPage(QWidget):
    """The report of one run, and what can be done with it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("flattenReport")
        self.report: FlattenReport | None = None
        self.fileDialog: QFileDialog | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.reportHeadline = QLabel(self)
        self.reportHeadline.setObjectName("reportHeadline")
        layout.addWidget(self.reportHeadline)
        self.reportTotals = QLabel(self)
        self.reportTotals.setObjectName("reportTotals")
        self.reportTotals.setWordWrap(True)
        layout.addWidget(self.reportTotals)
        self.reportNote = QLabel(self)
        self.reportNote.setObjectName("reportNote")
        self.reportNote.setWordWrap(True)
        self.reportNote.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.reportNote)
        self.reportModel = RunModel(self)
        self.reportTable = table(self, "reportTable", "Flatten report", 26)
        self.reportTable.setModel(self.reportModel)
        item_columns(self.reportTable)
        self.reportTable.selectionModel().selectionChanged.connect(self._show_detail)
        self.reportDetail = QPlainTextEdit(self)
        self.reportDetail.setObjectName("reportDetail")
        self.reportDetail.setAccessibleName("What happened to the selected position")
        self.reportDetail.setReadOnly(True)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.setObjectName("reportSplitter")
        split.setChildrenCollapsible(False)
        split.addWidget(self.reportTable)
        split.addWidget(self.reportDetail)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        split.setSizes([440, 110])
        layout.addWidget(split, 1)
        row = QHBoxLayout()
        row.setSpacing(8)
        self.reportMessage = QLabel(self)
        self.reportMessage.setObjectName("reportMessage")
        self.reportMessage.setWordWrap(True)
        row.addWidget(self.reportMessage, 1)
        self.exportButton = QPushButton("Export…", self)
        self.exportButton.setObjectName("exportButton")
        self.exportButton.setToolTip("Save this report as JSON or text (it is in the journal "
                                     "already)")
        self.exportButton.clicked.connect(self.choose_export)
        self.retryButton = QPushButton("Retry the residuals and rejections", self)
        self.retryButton.setObjectName("retryButton")
        self.reportCloseButton = QPushButton("Close", self)
        self.reportCloseButton.setObjectName("reportCloseButton")
        for b in (self.exportButton, self.retryButton, self.reportCloseButton):
            b.setAutoDefault(False)
            row.addWidget(b)
        layout.addLayout(row)

    def show_report(self, report: FlattenReport) -> None:
        self.report = report
        self.reportModel.load(report.plan, report.items)
        headline, tone = report_headline(report)
        self.reportHeadline.setText(headline)
        restyle(self.reportHeadline, "tone", tone)
        self.reportTotals.setText(report_totals_text(report))
        notes = []
        if report.cancelled:
            sent = len(report.sent)
            notes.append(f"Stopped by you: {plural(sent, 'close')} had been sent and were "
                         f"followed to the end; {len(report.items) - sent} were not sent.")
        if report.plan.reason:
            notes.append(f"Reason: {report.plan.reason}.")
        notes.append(f"Took {report.elapsed_ms / 1000:.1f} s; the report is saved in the "
                     "journal.")
        self.reportNote.setText(" ".join(notes))
        retry = report.retry_keys
        self.retryButton.setEnabled(bool(retry))
        self.retryButton.setText(f"Retry the residuals and rejections ({len(retry)})"
                                 if retry else "Retry the residuals and rejections")
        self.retryButton.setToolTip(
            "Build a new plan for them from the live book; it needs confirming again"
            if retry else "Nothing to retry: no residual or rejection")

    def select_worst(self) -> None:
        """The worst outcome first (unknown, then refused, then still open): its story shows."""
        report = self.report
        if report is not None and report.items:
            worst = min(range(len(report.items)),
                        key=lambda n: _ATTENTION.get(report.items[n].outcome, 9))
            self.reportTable.selectRow(worst)

    def _show_detail(self, *_: object) -> None:
        rows = self.reportTable.selectionModel().selectedRows()
        key = self.reportModel.key_at(rows[0].row()) if rows else None
        state = self.reportModel.state(key) if key is not None else None
        self.reportDetail.setPlainText(item_story(state) if state is not None else "")

    # ------------------------------------------------------------------ export
    def choose_export(self) -> None:
        """Ask where to save (non-blocking: ``open()``, never ``exec()``)."""
        report = self.report
        if report is None:
            return
        dialog = QFileDialog(self.window(), "Export flatten report")
        dialog.setObjectName("flattenExportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["JSON (*.json)", "Text (*.txt)"])
        dialog.setDefaultSuffix("json")
        dialog.selectFile(f"{report.plan_id}.json")
        dialog.fileSelected.connect(lambda name: self.export_to(Path(name)))
        self.fileDialog = dialog
        dialog.open()

    def export_to(self, path: Path) -> bool:
        report = self.report
        if report is None:
            return False
        try:
            export_report(report, path)
        except OSError as exc:
            self.say(f"Could not save {path}: {exc.strerror or exc}")
            return False
        self.say(f"Saved {path}", "info")
        return True

    def say(self, text: str, tone: str = "error") -> None:
        restyle(self.reportMessage, "tone", tone)
        self.reportMessage.setText(text)
