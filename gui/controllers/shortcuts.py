"""The keyboard shortcuts, and Help → Keyboard shortcuts, which lists them."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

__all__ = ["KEYBOARD_SHORTCUTS", "QUICK_CLOSE_SHORTCUT", "KeyboardHelp"]

QUICK_CLOSE_SHORTCUT = "Ctrl+Shift+C"
# Help → Keyboard shortcuts lists these; each is also shown where it works.
KEYBOARD_SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Enter", "Open the close dialog for the selected row"),
    (QUICK_CLOSE_SHORTCUT, "Close the selected row in full, after one confirmation"),
    ("Ctrl+1 … Ctrl+4", "In the close dialog: 25 %, 50 %, 75 %, 100 % of the position"),
    ("Enter (in the dialog)", "Send; when a confirmation is asked, Enter confirms"),
    ("Esc", "Cancel the dialog (a close already sent is not recalled)"),
)


class KeyboardHelp:
    """The keyboard help dialog of one window, made on first use."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.dialog: QDialog | None = None

    def show(self) -> QDialog:
        """Help → Keyboard shortcuts: every shortcut, in a small dialog opened with open()."""
        if self.dialog is None:
            dialog = QDialog(self.parent)
            dialog.setObjectName("keyboardHelp")
            dialog.setWindowTitle("Keyboard shortcuts")
            layout = QVBoxLayout(dialog)
            rows = "".join(
                f"<tr><td style='padding:3px 14px 3px 0'><b>{keys}</b></td><td>{what}</td></tr>"
                for keys, what in KEYBOARD_SHORTCUTS)
            label = QLabel(f"<table>{rows}</table>", dialog)
            label.setObjectName("keyboardHelpText")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
            buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
            buttons.rejected.connect(dialog.reject)
            layout.addWidget(buttons)
            self.dialog = dialog
        self.dialog.open()
        return self.dialog
