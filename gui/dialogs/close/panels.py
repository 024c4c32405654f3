"""The close dialog's two inline panels: what the freshness guard found (with "Clamp to N"),
and the one more click that the stale question or the confirmation policy asks for.

Both are inline, never a nested dialog. The confirmation's button sits apart from Send, so a
double click on Send can never confirm by itself.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from gui.models import fmt_decimal

__all__ = ["ConfirmPanel", "GuardPanel"]


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


class ConfirmPanel(QFrame):
    """The question, Back, and the button that sends."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confirmPanel")
        self.setAccessibleName("Confirm the close")
        layout = _panel_layout(self)
        self.confirmMessage = _message(self, "confirmMessage", layout)
        self.confirmBackButton = QPushButton("Back", self)
        self.confirmBackButton.setObjectName("confirmBackButton")
        self.confirmBackButton.setAutoDefault(False)
        layout.addWidget(self.confirmBackButton, 0, Qt.AlignmentFlag.AlignVCenter)
        self.confirmButton = QPushButton("Confirm close", self)
        self.confirmButton.setObjectName("confirmButton")
        self.confirmButton.setAccessibleName("Confirm close")
        layout.addWidget(self.confirmButton, 0, Qt.AlignmentFlag.AlignVCenter)
        self.setVisible(False)

    def ask(self, question: str, button: str) -> None:
        self.confirmMessage.setText(question)
        self.confirmButton.setText(button)
        self.confirmButton.setAccessibleName(button)
        self.setVisible(True)
