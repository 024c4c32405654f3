"""Where an alert is shown: a desktop notification from the tray icon where the platform has
a tray, else a notice in the window's status bar (with the recent ones), so none is ever lost.

The window's alerts controller takes any :class:`Notifier`; tests pass one that records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from core.alerts import Alert, AlertKind
from gui.widgets.alert_notice import AlertNotice

__all__ = ["POPUP_MS", "DesktopNotifier", "Notifier"]

POPUP_MS = 10_000

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


class DesktopNotifier:
    """Shows alerts from ``tray`` when it can, else on ``notice``; beeps for an alert that asks
    for sound (the system's bell: no media library for one sound)."""

    def __init__(self, tray: QSystemTrayIcon, notice: AlertNotice, *,
                 beep: Callable[[], None] = QApplication.beep) -> None:
        self.tray = tray
        self.notice = notice
        self.beep = beep
        self.popups = 0  # shown as a desktop notification (the rest went to the notice)

    def notify(self, alert: Alert) -> None:
        tray = self.tray
        if not alert.quiet and tray.isVisible() and tray.supportsMessages():
            tray.showMessage(alert.title, alert.text, _ICONS[alert.kind], POPUP_MS)
            self.popups += 1
        else:
            self.notice.show_alert(alert)
        if alert.sound and not alert.quiet:
            self.beep()
