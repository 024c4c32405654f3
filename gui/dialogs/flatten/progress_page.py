"""The flatten dialog's second page: every item's state as core reports it, and "Stop sending",
which stops new requests and says which closes had already gone."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from core.flatten import FlattenPlan, ItemState
from core.model import PositionKey
from gui.dialogs.flatten.common import item_columns, table
from gui.dialogs.flatten.models import RunModel
from gui.dialogs.flatten.text import key_text, plural

__all__ = ["SENT_LISTED", "ProgressPage"]

SENT_LISTED = 12  # sent keys named in the "Stopped" note; the table marks every one


class ProgressPage(QWidget):
    """A progress bar, the items' table and the Stop button (which the dialog connects)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("flattenProgress")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.progressBar = QProgressBar(self)
        self.progressBar.setObjectName("progressBar")
        self.progressBar.setFormat("%v of %m done")
        layout.addWidget(self.progressBar)
        self.progressStatus = QLabel(self)
        self.progressStatus.setObjectName("progressStatus")
        self.progressStatus.setWordWrap(True)
        layout.addWidget(self.progressStatus)
        self.runModel = RunModel(self)
        self.progressTable = table(self, "progressTable", "Flatten progress", 26)
        self.progressTable.setModel(self.runModel)
        item_columns(self.progressTable)
        layout.addWidget(self.progressTable, 1)
        self.progressSent = QLabel(self)
        self.progressSent.setObjectName("progressSent")
        self.progressSent.setWordWrap(True)
        self.progressSent.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progressSent.setVisible(False)
        layout.addWidget(self.progressSent)
        row = QHBoxLayout()
        row.addStretch(1)
        self.stopButton = QPushButton("Stop sending", self)
        self.stopButton.setObjectName("stopButton")
        self.stopButton.setAutoDefault(False)
        self.stopButton.setToolTip("Send no new cancel or close; what was already sent is "
                                   "followed to the end and reported")
        row.addWidget(self.stopButton)
        layout.addLayout(row)

    def begin(self, plan: FlattenPlan) -> None:
        """Every item queued."""
        self.runModel.load(plan)
        self.progressBar.setRange(0, len(plan.items))
        self.progressBar.setValue(0)
        self.progressStatus.setText(f"Flattening {plural(len(plan.items), 'position')}…")

    def show_progress(self, state: ItemState, *, stopped: bool) -> None:
        """One item changed; the status line counts, unless it says the run was stopped."""
        self.runModel.update(state)
        done = self.runModel.done_count
        self.progressBar.setValue(done)
        if not stopped:
            sent = self.runModel.sent_count
            total = self.runModel.rowCount()
            self.progressStatus.setText(f"{done} of {total} done · {sent} sent")

    def stopping(self) -> None:
        """Stop was pressed before the run began: it stops as soon as it does."""
        self.stopButton.setEnabled(False)

    def show_stopped(self, sent: Sequence[PositionKey], total: int) -> None:
        """Stopped: which closes had already gone (they are followed to the end)."""
        self.stopButton.setEnabled(False)
        self.stopButton.setText("Stopped")
        self.progressStatus.setText(
            f"Stopped: {len(sent)} sent (listed), {total - len(sent)} not sent")
        names = ", ".join(key_text(k) for k in sent[:SENT_LISTED])
        if len(sent) > SENT_LISTED:
            names += f", and {len(sent) - SENT_LISTED} more (marked “sent” above)"
        self.progressSent.setText(
            f"Already sent, followed to the end: {names}." if sent
            else "No close had been sent.")
        self.progressSent.setVisible(True)
