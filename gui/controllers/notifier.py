"""Where an alert is shown: a desktop notification from the tray icon where the platform has
a tray, else the window's status bar (kept in its recent outcomes), so none is ever lost.

The window's alerts controller takes any :class:`Notifier`; tests pass one that records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtWidgets import QApplication, QMainWindow, QSystemTrayIcon

from core.alerts import Alert, AlertKind

__all__ = ["NOTICE_MS", "POPUP_MS", "DesktopNotifier", "Notifier", "notice_text"]

POPUP_MS = 10_000
NOTICE_MS = 20_000

_ICONS = {
    AlertKind.CLOSE_FILLED: QSystemTrayIcon.MessageIcon.Information,
    AlertKind.TRIGGER_FIRED: QSystemTrayIcon.MessageIcon.Information,
    AlertKind.CONNECTION_RESTORED: QSystemTrayIcon.MessageIcon.Information,
    AlertKind.ORDER_REJECTED: QSystemTrayIcon.MessageIcon.Warning,
    AlertKind.CONNECTION_LOST: QSystemTrayIcon.MessageIcon.Warning,
    AlertKind.FLAT_CHECK_FAILED: QSystemTrayIcon.MessageIcon.Critical,
    AlertKind.SUMMARY: QSystemTrayIcon.MessageIcon.Information,
}


class Notifier(Protocol):
    def notify(self, alert: Alert) -> None: ...


def notice_text(alert: Alert) -> str:
    """An alert as one status-bar line. The summary's text already starts with its title."""
    if alert.kind is AlertKind.SUMMARY:
        return f"Alert · {alert.text}"
    return f"Alert · {alert.title} — {alert.text}"


class DesktopNotifier:
    """Shows alerts from ``tray`` when it can, else in ``window``'s status bar; beeps for an
    alert that asks for sound (the system's bell: no media library for one sound)."""

    def __init__(self, window: QMainWindow, tray: QSystemTrayIcon, *,
                 beep: Callable[[], None] = QApplication.beep) -> None:
        self.window = window
        self.tray = tray
        self.beep = beep
        self.popups = 0  # shown as a desktop notification (the rest went to the status bar)

    def notify(self, alert: Alert) -> None:
        tray = self.tray
        if not alert.quiet and tray.isVisible() and tray.supportsMessages():
            tray.showMessage(alert.title, alert.text, _ICONS[alert.kind], POPUP_MS)
            self.popups += 1
        else:
            self.window.statusBar().showMessage(notice_text(alert), NOTICE_MS)
        if alert.sound and not alert.quiet:
            self.beep()
