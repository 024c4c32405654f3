"""File → Preferences… (Ctrl+,): the dialog, and putting saved settings into effect without a
restart. The app's start goes through :meth:`PreferencesControl.apply` too, so a setting does
the same whether it was read at start or saved a moment ago."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication

from core.numbers import set_thousands_separator, thousands_separator
from core.settings import Alerts, Settings
from gui.controllers.shortcuts import PREFERENCES, bind
from gui.theme.follower import has_theme_follower, theme_follower

if TYPE_CHECKING:
    from gui.dialogs.preferences import PreferencesDialog
    from gui.main_window import MainWindow

__all__ = ["PreferencesControl"]


class PreferencesControl(QObject):
    """The window's Preferences menu item and dialog; ``alertsChanged`` tells whoever raises
    notifications which kinds are on."""

    alertsChanged = Signal(object)  # Alerts

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.alerts = Alerts()
        self.dialog: PreferencesDialog | None = None
        self.action = bind(QAction("&Preferences…", window), PREFERENCES)
        self.action.triggered.connect(lambda: self.open())
        menu = window.fileMenu
        actions = menu.actions()
        at = actions.index(window.quitAction)
        before = actions[at - 1] if at and actions[at - 1].isSeparator() else window.quitAction
        menu.insertAction(before, self.action)
        window.addAction(self.action)  # the shortcut works with the menu closed

    def open(self) -> PreferencesDialog:
        """The dialog, from the file as it is now; with ``open()``, never a nested loop."""
        from gui.dialogs.preferences import PreferencesDialog  # imported when first opened

        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        w = self.window
        current = Settings(preferences=w.preferences, alerts=self.alerts)
        dialog = PreferencesDialog(w.settings_path, current, parent=w)
        dialog.saved.connect(self.apply)
        self.dialog = dialog
        dialog.open()
        return dialog

    def apply(self, settings: Settings) -> None:
        """Put ``settings``' preferences and alerts into effect: the theme, the numbers, the
        confirmation policy and stale threshold (banner, open dialogs, rows), the alerts."""
        prefs = settings.preferences
        app = QApplication.instance()
        # The app puts its theme on at start; a window made without it (a test, a tool)
        # keeps the look it has until a theme is chosen.
        if isinstance(app, QApplication) and (has_theme_follower() or prefs.theme != "system"):
            theme_follower(app, prefs.theme)
        if prefs.thousands_separator != thousands_separator():
            set_thousands_separator(prefs.thousands_separator)
            self._reformat()
        self.window.set_preferences(prefs)
        if settings.alerts != self.alerts:
            self.alerts = settings.alerts
            self.alertsChanged.emit(settings.alerts)

    def _reformat(self) -> None:
        """Numbers already shown, written again the new way (log lines keep theirs)."""
        w = self.window
        w.positions_model.reformat()
        working = w.working_model
        for order in working.orders():
            working.upsert(order)
        w.positionsView.viewport().update()  # the group rows' subtotals are written on paint
