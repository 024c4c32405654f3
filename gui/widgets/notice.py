"""A notice strip that the user can dismiss: said once, where it is read, then out of the way.

Used for the keyring: "Credentials can't be saved" matters only when a secret is needed, so it
is shown then (not in demo mode's first seconds) and, once read, goes with one click. A notice
dismissed stays away for the session unless what it says changes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from gui.models.style import NOTICE_LOOK, BannerLook
from gui.widgets.banners import colour_notice

__all__ = ["DismissibleNotice", "secrets_problem_text"]


def secrets_problem_text(problem: str) -> str:
    return (f"Credentials can't be saved ({problem}). Secrets you enter are kept in memory for "
            "this session only; everything else works.")


class DismissibleNotice(QFrame):
    """A wrapped line of text with a Dismiss button, coloured in code (``look``) so it shows
    even when the style sheet did not load."""

    def __init__(self, name: str, accessible: str, parent: QWidget | None = None,
                 look: BannerLook = NOTICE_LOOK) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setAccessibleName(accessible)
        self._dismissed: str | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 4, 8, 4)
        layout.setSpacing(8)
        self.label = QLabel(self)
        self.label.setObjectName(f"{name}Text")
        self.label.setAccessibleName(accessible)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.label, 1)
        self.dismissButton = QPushButton("Dismiss", self)
        self.dismissButton.setObjectName(f"{name}Dismiss")
        self.dismissButton.setToolTip("Hide this notice for the rest of the session")
        self.dismissButton.clicked.connect(self.dismiss)
        layout.addWidget(self.dismissButton, 0, Qt.AlignmentFlag.AlignTop)
        colour_notice(self, self.label, look)
        self.setVisible(False)

    @property
    def dismissed(self) -> bool:
        return self._dismissed is not None and self._dismissed == self.label.text()

    def say(self, text: str | None) -> None:
        """Show ``text`` (None hides the notice); a text already dismissed stays hidden."""
        self.label.setText(f"⚠ {text}" if text else "")
        self.label.setToolTip(text or "")
        self.setVisible(bool(text) and not self.dismissed)

    def text(self) -> str:
        return self.label.text()

    def dismiss(self) -> None:
        self._dismissed = self.label.text()
        self.setVisible(False)
