"""The tray icon: the app's icon with a dot for the connection state ("3 of 4 accounts
connected" in its tooltip), and a menu to show the window or quit it."""

from __future__ import annotations

import enum

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QGuiApplication,
    QIcon,
    QPainter,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

__all__ = ["ConnectionTray", "TrayState", "tray_state", "tray_tooltip"]

_SIZE = 64  # the icon's pixmap; the platform scales it to its tray


class TrayState(enum.StrEnum):
    NO_ACCOUNTS = "no accounts"
    ALL_CONNECTED = "all connected"
    SOME_DOWN = "some down"
    ALL_DOWN = "all down"


_DOT = {
    TrayState.NO_ACCOUNTS: "#9aa1ab",
    TrayState.ALL_CONNECTED: "#1b7f3b",
    TrayState.SOME_DOWN: "#f5b301",
    TrayState.ALL_DOWN: "#c62828",
}


def tray_state(connected: int, total: int) -> TrayState:
    if total == 0:
        return TrayState.NO_ACCOUNTS
    if connected >= total:
        return TrayState.ALL_CONNECTED
    return TrayState.ALL_DOWN if connected == 0 else TrayState.SOME_DOWN


def tray_tooltip(connected: int, total: int) -> str:
    if total == 0:
        return "Closeout — no accounts"
    noun = "account" if total == 1 else "accounts"
    return f"Closeout — {connected} of {total} {noun} connected"


def _badged(base: QIcon, colour: str) -> QIcon:
    """The app icon with a coloured dot in its lower right corner (a plain disc without one)."""
    pix = base.pixmap(_SIZE, _SIZE) if not base.isNull() else QPixmap()
    if pix.isNull():
        pix = QPixmap(_SIZE, _SIZE)
        pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("#ffffff"), 4))
    painter.setBrush(QBrush(QColor(colour)))
    d = _SIZE * 0.46
    painter.drawEllipse(QRectF(_SIZE - d - 2, _SIZE - d - 2, d, d))
    painter.end()
    return QIcon(pix)


class ConnectionTray(QSystemTrayIcon):
    """The tray icon of one window. Shown only where the platform has a tray."""

    stateChanged = Signal(str)  # the new TrayState's value

    def __init__(self, window: QWidget, base_icon: QIcon | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent if parent is not None else window)
        self.setObjectName("connectionTray")
        self.window = window
        icon = base_icon if base_icon is not None else QApplication.windowIcon()
        self._icons = {state: _badged(icon, colour) for state, colour in _DOT.items()}
        self.state = TrayState.NO_ACCOUNTS
        self.connected = self.total = 0
        self.menu = QMenu(window)
        self.menu.setObjectName("trayMenu")
        self.showAction = QAction("&Show window", self.menu)
        self.showAction.setObjectName("trayShowAction")
        self.showAction.triggered.connect(self.show_window)
        self.quitAction = QAction("&Quit", self.menu)
        self.quitAction.setObjectName("trayQuitAction")
        self.menu.addAction(self.showAction)
        self.menu.addSeparator()
        self.menu.addAction(self.quitAction)
        self.setContextMenu(self.menu)
        self.activated.connect(self._on_activated)
        self.set_counts(0, 0)

    @property
    def available(self) -> bool:
        """The platform shows tray icons (not offscreen, not every Linux desktop)."""
        return QSystemTrayIcon.isSystemTrayAvailable()

    def set_counts(self, connected: int, total: int) -> None:
        state = tray_state(connected, total)
        changed = state is not self.state
        self.connected, self.total, self.state = connected, total, state
        self.setIcon(self._icons[state])
        self.setToolTip(tray_tooltip(connected, total))
        if changed:
            self.stateChanged.emit(state.value)

    def show_window(self) -> None:
        w = self.window
        w.showNormal()
        if QGuiApplication.platformName() != "offscreen":  # it cannot raise, and says so
            w.raise_()
        w.activateWindow()

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason is QSystemTrayIcon.ActivationReason.Trigger:
            self.show_window()
