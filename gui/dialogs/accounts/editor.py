"""The dialog's right side: the account form in a scroll area, Test connection with its result
line, the form-wide error, and Discard / Save."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from core.secrets import SecretStore
from gui.dialogs.accounts.form import AccountForm
from gui.dialogs.accounts.text import TEST_TOOLTIP

__all__ = ["AccountEditor"]


class AccountEditor(QFrame):
    """The form and its buttons; the dialog wires what the buttons do."""

    def __init__(self, store: SecretStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountEditor")
        el = QVBoxLayout(self)
        el.setContentsMargins(14, 12, 14, 12)
        el.setSpacing(8)
        self.formTitle = QLabel(self)
        self.formTitle.setObjectName("formTitle")
        el.addWidget(self.formTitle)
        self.form = AccountForm(store, self)
        scroll = QScrollArea(self)
        scroll.setObjectName("formScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        el.addWidget(scroll, 1)

        test_row = QHBoxLayout()
        self.testConnectionButton = QPushButton("Test connection", self)
        self.testConnectionButton.setObjectName("testConnectionButton")
        self.testConnectionButton.setAutoDefault(False)
        self.testConnectionButton.setToolTip(TEST_TOOLTIP)
        self.testConnectionResult = QLabel(self)
        self.testConnectionResult.setObjectName("testConnectionResult")
        self.testConnectionResult.setAccessibleName("Test connection result")
        self.testConnectionResult.setWordWrap(True)
        self.testConnectionResult.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row.addWidget(self.testConnectionButton)
        test_row.addWidget(self.testConnectionResult, 1)
        el.addLayout(test_row)

        self.formError = QLabel(self)
        self.formError.setObjectName("formError")
        self.formError.setProperty("role", "fieldError")
        self.formError.setWordWrap(True)
        self.formError.setVisible(False)
        el.addWidget(self.formError)

        save_row = QHBoxLayout()
        save_row.addStretch(1)
        self.discardButton = QPushButton("Discard changes", self)
        self.discardButton.setObjectName("discardButton")
        self.discardButton.setAutoDefault(False)
        self.saveButton = QPushButton("Save account", self)
        self.saveButton.setObjectName("saveAccountButton")
        self.saveButton.setDefault(True)
        save_row.addWidget(self.discardButton)
        save_row.addWidget(self.saveButton)
        el.addLayout(save_row)

    def set_result(self, text: str, tone: str) -> None:
        """The line beside Test connection: a test's outcome, or what a save did."""
        label = self.testConnectionResult
        if label.property("tone") != tone:
            label.setProperty("tone", tone)
            label.style().unpolish(label)
            label.style().polish(label)
        label.setText(text)
        label.setAccessibleDescription(text)

    def set_form_error(self, text: str) -> None:
        """A problem that belongs to no field (the file could not be written, say)."""
        self.formError.setText(text)
        self.formError.setVisible(bool(text))

    def show_form(self, shown: bool) -> None:
        """The form and its buttons, or the hint to pick or add an account."""
        self.setEnabled(shown)
        self.form.setVisible(shown)
        self.testConnectionButton.setVisible(shown)
        self.saveButton.setVisible(shown)
        self.discardButton.setVisible(shown)
        if not shown:
            self.formTitle.setText("Select an account to edit, or add one.")
            self.testConnectionResult.clear()
            self.formError.setVisible(False)
