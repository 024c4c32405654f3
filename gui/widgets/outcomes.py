"""The status bar as the place where outcomes are read: the latest one in full (it wraps onto a
second line rather than lose its end; the whole text is also its tooltip), and the last
``OUTCOMES_KEPT`` one click away, with their times.

Every ``statusBar().showMessage(...)`` the app makes from Python is an outcome: a close sent,
refused or verified flat, a cancel confirmed, an account connected. Qt's own status tips
(hovering a menu entry) call the C++ method, are not outcomes, and keep Qt's behaviour: they
cover the outcome while they last.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QMenu, QPushButton, QStatusBar, QWidget

__all__ = ["MENU_TEXT_CHARS", "OUTCOMES_KEPT", "Outcome", "OutcomeBar", "fmt_time"]

OUTCOMES_KEPT = 20
MENU_TEXT_CHARS = 140  # a menu entry longer than this ends in "…" (its tooltip has it all)


def fmt_time(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


@dataclass(frozen=True, slots=True)
class Outcome:
    at: float  # wall-clock seconds
    text: str

    def line(self) -> str:
        return f"{fmt_time(self.at)}  {self.text}"


class OutcomeBar(QStatusBar):
    """The window's status bar: the latest outcome, never cut, and a button listing the recent
    ones (newest first; choosing one copies it)."""

    def __init__(self, parent: QWidget | None = None, *,
                 wall_clock: Callable[[], float] = time.time) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.setSizeGripEnabled(False)
        self._clock = wall_clock
        self.history: deque[Outcome] = deque(maxlen=OUTCOMES_KEPT)
        self._current = ""
        self.outcomeLabel = QLabel(self)
        self.outcomeLabel.setObjectName("outcomeText")
        self.outcomeLabel.setAccessibleName("Last outcome")
        self.outcomeLabel.setWordWrap(True)
        self.outcomeLabel.setTextFormat(Qt.TextFormat.PlainText)
        self.outcomeLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.addWidget(self.outcomeLabel, 1)
        self.recentButton = QPushButton(self)
        self.recentButton.setObjectName("recentOutcomesButton")
        self.recentButton.setAccessibleName("Recent outcomes")
        self.recentButton.setFlat(True)
        self.recentButton.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.recentButton.clicked.connect(self.show_recent)
        self.addPermanentWidget(self.recentButton)
        self.recentMenu = QMenu(self)
        self.recentMenu.setObjectName("recentOutcomesMenu")
        self.recentMenu.setToolTipsVisible(True)
        self._expiry = QTimer(self)
        self._expiry.setSingleShot(True)
        self._expiry.timeout.connect(self.clearMessage)
        self._update_button()

    # QStatusBar's own methods, for the app's Python callers (Qt's status tips keep the C++ ones)
    def showMessage(self, text: str, timeout: int | None = 0) -> None:
        """Show an outcome (``timeout`` ms, 0 = until the next) and keep it in the history."""
        if text:
            self.history.append(Outcome(self._clock(), text))
            self._update_button()
        self._set_current(text)
        if timeout and timeout > 0 and text:
            self._expiry.start(timeout)
        else:
            self._expiry.stop()

    def currentMessage(self) -> str:
        return self._current

    def clearMessage(self) -> None:
        self._expiry.stop()
        self._set_current("")

    def _set_current(self, text: str) -> None:
        if text == self._current:
            return
        self._current = text
        self.outcomeLabel.setText(text)
        self.outcomeLabel.setToolTip(text)
        self.messageChanged.emit(text)

    # the history
    def _update_button(self) -> None:
        n = len(self.history)
        self.recentButton.setText(f"Recent ({n})")
        self.recentButton.setEnabled(n > 0)
        self.recentButton.setToolTip(
            f"The last {OUTCOMES_KEPT} outcomes with their times" if n else "Nothing yet")

    def show_recent(self) -> QMenu:
        """The recent outcomes, newest first, in a menu over the button (opened with popup(),
        never a nested event loop). Choosing one copies its line to the clipboard."""
        menu = self.recentMenu
        menu.clear()
        for outcome in reversed(self.history):
            line = outcome.line()
            shown = line if len(line) <= MENU_TEXT_CHARS else line[:MENU_TEXT_CHARS - 1] + "…"
            action = menu.addAction(shown.replace("&", "&&"))
            action.setToolTip(line)
            action.triggered.connect(lambda _=False, t=line: self._copy(t))
        if self.history:
            menu.addSeparator()
            copy_all = menu.addAction("Copy all")
            copy_all.triggered.connect(
                lambda: self._copy("\n".join(o.line() for o in reversed(self.history))))
        button = self.recentButton
        size = menu.sizeHint()
        at = button.mapToGlobal(QPoint(button.width() - size.width(), -size.height()))
        menu.popup(at)
        return menu

    def _copy(self, text: str) -> None:
        QGuiApplication.clipboard().setText(text)
