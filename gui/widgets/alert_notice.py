"""Where alerts show when no tray can: a button at the right of the status bar with the latest
alert's title (its whole text as the tooltip); a click lists the recent ones, newest first.
Beside the outcome, never over it: the status bar's own message stays the window's."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMenu, QPushButton, QWidget

from core.alerts import Alert
from gui.widgets.outcomes import MENU_TEXT_CHARS, fmt_time

__all__ = ["ALERTS_KEPT", "TITLE_CHARS", "AlertNotice"]

ALERTS_KEPT = 20
TITLE_CHARS = 60  # a longer title ends in "…" on the button (the tooltip has it all)


class AlertNotice(QPushButton):
    """The latest alert, and the recent ones a click away. Hidden until the first."""

    def __init__(self, parent: QWidget | None = None, *,
                 wall_clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.setObjectName("alertNotice")
        self.setAccessibleName("Latest alert")
        self.setFlat(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        font = self.font()
        font.setBold(True)
        self.setFont(font)
        self._clock = wall_clock
        self.history: deque[tuple[float, Alert]] = deque(maxlen=ALERTS_KEPT)
        self.recentMenu = QMenu(self)
        self.recentMenu.setObjectName("recentAlertsMenu")
        self.recentMenu.setToolTipsVisible(True)
        self.clicked.connect(self.show_recent)
        self.setVisible(False)

    @property
    def latest(self) -> Alert | None:
        return self.history[-1][1] if self.history else None

    def show_alert(self, alert: Alert) -> None:
        self.history.append((self._clock(), alert))
        title = f"Alert: {alert.title}"
        shown = title if len(title) <= TITLE_CHARS else title[:TITLE_CHARS - 1] + "…"
        self.setText(shown.replace("&", "&&"))
        self.setToolTip(f"{alert.title}\n{alert.text}")
        self.setProperty("kind", alert.kind.value)
        self.setVisible(True)

    def recent_lines(self) -> list[str]:
        """The recent alerts with their times, newest first."""
        return [f"{fmt_time(at)}  {alert.title} — {alert.text}"
                for at, alert in reversed(self.history)]

    def show_recent(self) -> QMenu:
        """The recent alerts in a menu over the button (popup(): no nested event loop)."""
        menu = self.recentMenu
        menu.clear()
        for line in self.recent_lines():
            shown = line if len(line) <= MENU_TEXT_CHARS else line[:MENU_TEXT_CHARS - 1] + "…"
            action = menu.addAction(shown.replace("&", "&&"))
            action.setToolTip(line)
        size = menu.sizeHint()
        menu.popup(self.mapToGlobal(QPoint(self.width() - size.width(), -size.height())))
        return menu
