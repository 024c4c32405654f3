"""The History tab's detail pane: the chosen record whole, selectable and copyable, and
"Copy as ticket" (the record, its intent's whole story and its place in the hash chain)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from core.journal import Journal, JournalRecord
from gui.models.history_text import record_text, ticket_text

__all__ = ["EMPTY_DETAIL", "HistoryDetail"]

EMPTY_DETAIL = "Select a record to see it whole: every field, the reason in full, the payload."
STORY_LIMIT = 1000  # records of one intent put in a ticket (a close has a handful)


class HistoryDetail(QWidget):
    """Shows one record; ``copied(text)`` after "Copy as ticket" filled the clipboard."""

    copied = Signal(str)

    def __init__(self, mono: QFont, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyDetail")
        self.setAccessibleName("Selected journal record")
        self.record: JournalRecord | None = None
        self.desk: tuple[str, str] | None = None  # (name, id): a record of the shared journal
        self.journal: Journal | None = None
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(4)
        bar = QHBoxLayout()
        self.title = QLabel("Record", self)
        self.title.setObjectName("historyDetailTitle")
        bar.addWidget(self.title, 1)
        self.copyTicketButton = QPushButton("Copy as &ticket", self)
        self.copyTicketButton.setObjectName("historyCopyTicket")
        self.copyTicketButton.setToolTip(
            "Copy this record, every record of its close (same intent id, in order) and its "
            "place in the journal's hash chain, as plain text for a support ticket")
        self.copyTicketButton.clicked.connect(self.copy_ticket)
        bar.addWidget(self.copyTicketButton)
        root.addLayout(bar)
        self.text = QPlainTextEdit(self)
        self.text.setObjectName("historyDetailText")
        self.text.setAccessibleName("Record details")
        self.text.setReadOnly(True)  # read-only still selects and copies (Ctrl+C)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                          | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(mono)
        root.addWidget(self.text, 1)
        self.show_record(None)

    def show_record(self, record: JournalRecord | None,
                    desk: tuple[str, str] | None = None) -> None:
        """``desk`` (name, id) for a record of the shared journal: whose record it is (its
        number and chain are that desk's). Shown as stored; nothing is verified here."""
        self.record, self.desk = record, desk
        self.copyTicketButton.setEnabled(record is not None)
        if record is None:
            self.title.setText("Record")
            self.text.setPlainText(EMPTY_DETAIL)
            return
        text = record_text(record)
        if desk is None:
            self.title.setText(f"Record #{record.seq} · {record.kind}")
        else:
            self.title.setText(f"{desk[0]} · record #{record.seq} · {record.kind}")
            head, _, rest = text.partition("\n")
            text = f"{head}\nDesk:      {desk[0]} (desk id {desk[1]})\n{rest}"
        self.text.setPlainText(text)

    def ticket(self) -> str | None:
        """The ticket text for the shown record (its intent's records read from the journal)."""
        r = self.record
        if r is None:
            return None
        story: list[JournalRecord] = []
        last = r.seq
        if self.journal is not None:
            if r.intent_id:
                story = self.journal.intent_records(r.intent_id, limit=STORY_LIMIT)
            last = max(last, self.journal.last_seq())
        text = ticket_text(r, story or [r], last)
        if self.desk is not None:
            text = f"Desk: {self.desk[0]} (desk id {self.desk[1]})\n{text}"
        return text

    def copy_ticket(self) -> None:
        text = self.ticket()
        if text is None:
            return
        QGuiApplication.clipboard().setText(text)
        self.copied.emit(text)
