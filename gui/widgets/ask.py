"""A yes/no question whose safe answer is both the default and Esc, so a stray Enter or a
key pressed as it appears keeps things as they are."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QMessageBox, QWidget

__all__ = ["ask"]


def ask(parent: QWidget, *, name: str, icon: QMessageBox.Icon, title: str, text: str,
        act: str, keep: str, on_act: Callable[[], object],
        on_done: Callable[[], None] | None = None) -> QMessageBox:
    """Open the question (window-modal, not blocking the loop). ``on_act`` runs only when the
    ``act`` button was clicked; ``on_done`` runs however it ended, first."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName(name)
    act_button = box.addButton(act, QMessageBox.ButtonRole.AcceptRole)
    keep_button = box.addButton(keep, QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(keep_button)
    box.setEscapeButton(keep_button)

    def done(_: int) -> None:
        if on_done is not None:
            on_done()
        clicked = box.clickedButton()
        box.deleteLater()
        if clicked is act_button:
            on_act()

    box.finished.connect(done)
    box.open()
    return box
