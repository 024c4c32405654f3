"""Help → About Closeout…: one About dialog per window, made when first asked for (its module
is imported then, not at the start)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction

if TYPE_CHECKING:
    from gui.dialogs.about import AboutDialog, Opener
    from gui.main_window import MainWindow

__all__ = ["About"]


class About:
    """The Help menu's About action and its dialog. ``opener`` opens a folder (None: the
    desktop's, ``QDesktopServices.openUrl``); a test sets it to see the URL instead."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.dialog: AboutDialog | None = None
        self.opener: Opener | None = None
        self.action = QAction("&About Closeout…", window)
        self.action.setObjectName("aboutAction")
        self.action.setStatusTip("The version, the licence, and where the settings, journals "
                                 "and logs are")
        self.action.setMenuRole(QAction.MenuRole.AboutRole)
        self.action.triggered.connect(lambda: self.show())
        window.helpMenu.addSeparator()
        window.helpMenu.addAction(self.action)

    def show(self) -> AboutDialog:
        if self.dialog is None:
            from gui.dialogs.about import AboutDialog
            from gui.dialogs.about_facts import gather

            facts = gather(self.window.settings_path)
            if self.opener is None:
                self.dialog = AboutDialog(facts, parent=self.window)
            else:
                self.dialog = AboutDialog(facts, self.opener, parent=self.window)
            if self.window.team_status is not None:
                self.dialog.more = self.window.team_status.details
        self.dialog.open()
        return self.dialog
