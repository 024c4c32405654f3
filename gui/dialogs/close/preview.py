"""What the close dialog will send: the close in words, and the wire request (redacted) that
updates live, with "Copy for ticket"."""

from __future__ import annotations

import re
from collections.abc import Sequence

from PySide6.QtCore import QMimeData, Qt
from PySide6.QtGui import QFontDatabase, QFontMetrics, QTextOption
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from core.closing.words import describe
from core.model import CloseRequest, Instrument
from gui.dialogs.close.callbacks import Preview

__all__ = ["PreviewPanel", "WirePreview", "breakable"]

# A zero-width space: a place a line may break that shows nothing and is never copied.
_BREAK = "\u200b"
# Where one token of a wire request ends: after a JSON separator or a form field's "&", and
# before a nested object or list opens. A line wraps only there (or at a space).
_TOKEN_END = re.compile(r"([,&])(?=\S)|(?<=[:\[])(?=[{\[])")


def breakable(text: str) -> str:
    """``text`` with a break opportunity at every token boundary, so a long JSON frame or form
    body wraps between fields instead of in the middle of a value."""
    return _TOKEN_END.sub(lambda m: (m.group(1) or "") + _BREAK, text)


class WirePreview(QPlainTextEdit):
    """A read-only view of a wire request that wraps between tokens. Its text, and anything
    copied from it, is the request exactly: the break marks are for the layout only."""

    def set_wire(self, text: str) -> None:
        self.setPlainText(breakable(text))

    def toPlainText(self) -> str:
        return super().toPlainText().replace(_BREAK, "")

    def createMimeDataFromSelection(self) -> QMimeData:
        data = QMimeData()
        data.setText(self.textCursor().selectedText().replace(_BREAK, "")
                     .replace("\u2029", "\n"))
        return data


class PreviewPanel(QWidget):
    """The summary line, then the wire request; without a ``preview`` only the summary."""

    def __init__(self, preview: Preview | None, instrument: Instrument | None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("closePreview")
        self._preview = preview
        self.instrument = instrument
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(10)  # as the dialog's own rows
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)

        self.summaryLine = QLabel(self)
        self.summaryLine.setObjectName("orderSummary")
        self.summaryLine.setAccessibleName("What will be sent")
        self.summaryLine.setWordWrap(True)
        root.addWidget(self.summaryLine)

        preview_bar = QHBoxLayout()
        preview_bar.setSpacing(6)
        self.previewTitle = QLabel("Wire request — keys and signatures redacted", self)
        self.previewTitle.setObjectName("previewTitle")
        preview_bar.addWidget(self.previewTitle)
        preview_bar.addStretch(1)
        self.copyTicketButton = QPushButton("Copy for ticket", self)
        self.copyTicketButton.setObjectName("copyTicketButton")
        self.copyTicketButton.setAccessibleName("Copy for ticket")
        self.copyTicketButton.setToolTip(
            "Copy the account, venue, symbol, the close in words and the redacted request, "
            "to paste into a support ticket")
        self.copyTicketButton.setAutoDefault(False)
        preview_bar.addWidget(self.copyTicketButton)
        root.addLayout(preview_bar)
        # A read-only editor, not a label: wire payloads have long lines that must wrap
        # (between tokens, see WirePreview) instead of widening the dialog.
        self.previewText = WirePreview(self)
        self.previewText.setObjectName("requestPreview")
        self.previewText.setAccessibleName("Request preview (keys and signatures redacted)")
        self.previewText.setToolTip("What will go on the wire; keys and signatures redacted")
        self.previewText.setReadOnly(True)
        self.previewText.setFont(mono)
        self.previewText.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.previewText.setFrameShape(QFrame.Shape.NoFrame)
        self.show_lines(8)
        # Fixed, not expanding: spare height in the dialog is shared out, not given to this.
        self.previewText.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.previewText.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.previewText.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.previewText.setPlaceholderText("Nothing can be sent until the input is valid.")
        for w in (self.previewText, self.previewTitle, self.copyTicketButton):
            w.setVisible(preview is not None)
        root.addWidget(self.previewText)

    def show_lines(self, lines: int) -> None:
        """How many lines of request the preview shows before it scrolls."""
        mono = self.previewText.font()
        self.previewText.setFixedHeight(QFontMetrics(mono).lineSpacing() * lines + 16)

    def show_request(self, request: CloseRequest | None,
                     cancels: Sequence[tuple[str, str]] = ()) -> None:
        """Describe ``request``; None (invalid input) clears both. ``cancels`` are the cancels
        sent before it, each (what it cancels, its exact request), shown first in order."""
        summary = describe(request, self.instrument) if request is not None else ""
        if summary and cancels:
            n = len(cancels)
            summary = f"First cancel {n} working order{'s' if n != 1 else ''}, then {summary}"
        self.summaryLine.setText(summary)
        # The summary wraps: the dialog measures this panel at once when it makes room.
        self.updateGeometry()
        if request is None:
            self.previewText.set_wire("")
        elif self._preview is not None:
            try:
                close = self._preview(request)
            except Exception as exc:  # a preview is informative only; say why it is missing
                close = f"(no preview: {exc})"
            if cancels:
                parts = [f"# {n}. {what}\n{text}" for n, (what, text) in enumerate(cancels, 1)]
                parts.append(f"# {len(cancels) + 1}. then the close\n{close}")
                close = "\n\n".join(parts)
            self.previewText.set_wire(close)

    def wire_text(self) -> str:
        return self.previewText.toPlainText()
