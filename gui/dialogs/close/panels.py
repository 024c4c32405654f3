"""The close dialog's inline panels: what the freshness guard found (with "Clamp to N"), and
the action area, where the one more click that the stale question or the confirmation policy
asks for takes the place of the buttons.

Both are inline, never a nested dialog. The confirmation replaces the buttons in place: the
action area is always as tall as its taller page, so asking moves nothing above it and never
resizes the dialog. Its Back button sits where Send was, so a double click on Send can never
confirm by itself.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gui.models import fmt_decimal

__all__ = ["QUESTION_LINES", "ActionArea", "ConfirmPanel", "GuardPanel"]

# Lines of text the action area keeps room for: the stale question, what is sent, and why it
# asks. A message that needs more (a very narrow dialog) grows the area once, while hidden.
QUESTION_LINES = 3


def _panel_layout(panel: QFrame) -> QHBoxLayout:
    layout = QHBoxLayout(panel)
    layout.setContentsMargins(10, 8, 10, 8)
    layout.setSpacing(8)
    return layout


def _message(panel: QFrame, name: str, layout: QHBoxLayout) -> QLabel:
    label = QLabel(panel)
    label.setObjectName(name)
    label.setWordWrap(True)
    layout.addWidget(label, 1)
    return label


class GuardPanel(QFrame):
    """What changed since the user looked; for a shrunk partial close, "Clamp to N"."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("guardPanel")
        self.setAccessibleName("Position changed before sending")
        layout = _panel_layout(self)
        self.guardMessage = _message(self, "guardMessage", layout)
        self.clampButton = QPushButton(self)
        self.clampButton.setObjectName("clampButton")
        self.clampButton.setAutoDefault(False)
        self.clampButton.setVisible(False)
        layout.addWidget(self.clampButton, 0, Qt.AlignmentFlag.AlignVCenter)
        self.setVisible(False)

    def offer_clamp(self, quantity: Decimal | None) -> None:
        """Offer "Clamp to ``quantity``", or no clamp when None."""
        if quantity is None:
            self.clampButton.setVisible(False)
            return
        clamp = fmt_decimal(quantity)
        self.clampButton.setText(f"Clamp to {clamp}")
        self.clampButton.setAccessibleName(f"Clamp to {clamp}")
        self.clampButton.setProperty("quantity", clamp)
        self.clampButton.setVisible(True)

    def clamp_quantity(self) -> str | None:
        """The quantity the clamp button offers, as text."""
        text = self.clampButton.property("quantity")
        return text if isinstance(text, str) and text else None

    def say(self, text: str) -> None:
        self.guardMessage.setText(text)
        self.setVisible(True)


class _Question(QLabel):
    """The question's label: as tall as the room kept for it, whatever its text, so setting a
    question never changes the action area's size (``ActionArea.ask`` makes more room, once,
    only if the text truly needs it)."""

    def sizeHint(self) -> QSize:
        return QSize(120, self.minimumHeight())

    def minimumSizeHint(self) -> QSize:
        return self.sizeHint()

    def hasHeightForWidth(self) -> bool:
        return False


class ConfirmPanel(QFrame):
    """The question, then "Confirm close" and Back (rightmost, where Send was)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confirmPanel")
        self.setAccessibleName("Confirm the close")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        self.confirmMessage = _Question(self)
        self.confirmMessage.setObjectName("confirmMessage")
        self.confirmMessage.setWordWrap(True)
        self.confirmMessage.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.confirmMessage, 1)
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addStretch(1)
        self.confirmButton = QPushButton("Confirm close", self)
        self.confirmButton.setObjectName("confirmButton")
        self.confirmButton.setAccessibleName("Confirm close")
        row.addWidget(self.confirmButton)
        self.confirmBackButton = QPushButton("Back", self)
        self.confirmBackButton.setObjectName("confirmBackButton")
        self.confirmBackButton.setAccessibleName("Back")
        self.confirmBackButton.setAutoDefault(False)
        row.addWidget(self.confirmBackButton)
        layout.addLayout(row)

    def ask(self, question: str, button: str) -> None:
        self.confirmMessage.setText(question)
        self.confirmButton.setText(button)
        self.confirmButton.setAccessibleName(button)


class ActionArea(QStackedWidget):
    """The dialog's foot: the message line and the buttons, or, while a confirmation is asked,
    the question and its buttons in the same place. Both pages keep room for
    ``QUESTION_LINES`` lines of text, so switching pages moves nothing."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("closeActions")
        self.buttonsPage = QWidget(self)
        self.buttonsPage.setObjectName("buttonsPage")
        page = QVBoxLayout(self.buttonsPage)
        page.setContentsMargins(0, 0, 0, 0)
        page.setSpacing(4)
        self.validationMessage = QLabel(self.buttonsPage)
        self.validationMessage.setObjectName("validationMessage")
        self.validationMessage.setAccessibleName("Validation message")
        self.validationMessage.setProperty("tone", "error")
        self.validationMessage.setWordWrap(True)
        self.validationMessage.setAlignment(Qt.AlignmentFlag.AlignTop
                                            | Qt.AlignmentFlag.AlignLeft)
        page.addWidget(self.validationMessage, 1)
        buttons = QHBoxLayout()
        self.shortcutHint = QLabel("Ctrl+1…4: 25/50/75/100 %  ·  Esc: cancel", self.buttonsPage)
        self.shortcutHint.setObjectName("shortcutHint")
        buttons.addWidget(self.shortcutHint)
        buttons.addStretch(1)
        self.cancelButton = QPushButton("Cancel", self.buttonsPage)
        self.cancelButton.setObjectName("cancelButton")
        self.cancelButton.setAccessibleName("Cancel")
        self.cancelButton.setAutoDefault(False)
        self.sendButton = QPushButton("Send close", self.buttonsPage)
        self.sendButton.setObjectName("sendButton")
        self.sendButton.setAccessibleName("Send close")
        buttons.addWidget(self.cancelButton)
        buttons.addWidget(self.sendButton)
        page.addLayout(buttons)
        self.addWidget(self.buttonsPage)

        self.confirmPanel = ConfirmPanel(self)
        self.addWidget(self.confirmPanel)
        self.setCurrentWidget(self.buttonsPage)
        # Back covers at least Send's place: a second click of a double click lands on it.
        self.confirmPanel.confirmBackButton.setMinimumWidth(self.sendButton.sizeHint().width())
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self._reserve(QUESTION_LINES)

    def _reserve(self, lines: int) -> None:
        """Keep room for ``lines`` lines of message on both pages, measured on the question's
        own label as a question is drawn (rich text, one line per part)."""
        message = self.confirmPanel.confirmMessage
        text = message.text()
        message.setText("<br>".join(["<b>Xy</b>"] * lines))
        height = message.heightForWidth(1000)
        message.setText(text)
        self.validationMessage.setMinimumHeight(height)
        message.setMinimumHeight(height)

    def polish_pages(self) -> None:
        """Style the hidden page now: polished only when first shown, it would grow then, and
        the area with it, as the question appears."""
        for page in (self.buttonsPage, self.confirmPanel):
            page.ensurePolished()
            for child in page.findChildren(QWidget):
                child.ensurePolished()
        self.confirmPanel.confirmBackButton.setMinimumWidth(self.sendButton.sizeHint().width())
        self._reserve(QUESTION_LINES)  # in the font the style sheet gave
        self.updateGeometry()

    @property
    def asking(self) -> bool:
        return self.currentWidget() is self.confirmPanel

    def ask(self, question: str, button: str) -> None:
        """Put the question in the buttons' place."""
        panel = self.confirmPanel
        panel.ask(question, button)
        message = panel.confirmMessage
        need = message.heightForWidth(max(message.width(), self.width() - 22))
        if need > message.minimumHeight():  # only ever on a very narrow dialog
            message.setMinimumHeight(need)
        self.setCurrentWidget(panel)

    def show_buttons(self) -> None:
        self.setCurrentWidget(self.buttonsPage)
