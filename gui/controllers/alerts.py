"""Alerts on the window: the desk's events through the rules and the rate limiter
(core.alerts) to the notifier, and the tray icon's connection state.

It listens to the bridge beside the feed, so it sees exactly the events the log shows, in the
same order. A flatten's closes fold into one summary, shown when its report is in: the Flatten
controller announces each report here (``watch_flatten``). Every alert shown is logged at INFO.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QObject, QTimer

from core.alerts import Alert, AlertLimiter, AlertRules
from core.desk import IntentChanged
from core.model import ConnectionEvent, ConnectionState
from core.settings import Alerts
from gui.controllers.notifier import DesktopNotifier, Notifier
from gui.widgets.alert_notice import AlertNotice
from gui.widgets.tray import ConnectionTray

if TYPE_CHECKING:
    from core.flatten import FlattenReport
    from gui.controllers.flatten import FlattenController
    from gui.main_window import MainWindow

__all__ = ["SUMMARY_CHECK_MS", "AlertsController"]

log = logging.getLogger(__name__)

SUMMARY_CHECK_MS = 1000  # how often a pending summary's burst is checked for its end
_WANTED: Final = frozenset({IntentChanged, ConnectionEvent})


class AlertsController(QObject):
    """Decides (core.alerts), limits and shows the window's alerts; keeps the tray current."""

    def __init__(self, window: MainWindow, *, notifier: Notifier | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(window)
        self.setObjectName("alertsController")
        self.window = window
        self.desk = window.desk
        self.rules = AlertRules()
        for name in self.desk.accounts:
            self.rules.know(name, self.desk.connection_state(name))
        self.limiter = AlertLimiter(clock=clock)
        self.tray = ConnectionTray(window, parent=self)
        self.tray.quitAction.triggered.connect(window.quitAction.trigger)
        bar = window.statusBar()
        self.notice = AlertNotice(bar)
        # Beside the outcome (the one ordinary widget), left of Recent.
        bar.insertPermanentWidget(1, self.notice)
        self.notifier: Notifier = (notifier if notifier is not None
                                   else DesktopNotifier(self.tray, self.notice))
        self.timer = QTimer(self)
        self.timer.setInterval(SUMMARY_CHECK_MS)
        self.timer.timeout.connect(self._check_due)
        window.bridge.events.connect(self.on_events)
        window.closed.connect(self.close)
        self.refresh_tray()
        if self.tray.available:
            self.tray.show()

    @property
    def settings(self) -> Alerts:
        return self.rules.settings

    def set_settings(self, settings: Alerts) -> None:
        """The ``[alerts]`` section: which kinds are shown, and the sound."""
        self.rules.settings = settings

    def watch_flatten(self, controller: FlattenController) -> None:
        controller.finished.connect(self.on_flatten_finished)

    # ------------------------------------------------------------------ events
    def on_events(self, events: Sequence[object]) -> None:
        connections = False
        for event in events:
            if type(event) not in _WANTED:
                continue
            if isinstance(event, ConnectionEvent):
                connections = True
            self.offer(self.rules.on_event(event))
        if connections:
            self.refresh_tray()

    def on_flatten_finished(self, report: FlattenReport) -> None:
        """A flatten's report is in: its summary now. Events the bridge still holds for this
        turn are handed over first, so the summary counts every close of the plan."""
        self.window.bridge.flush()
        self._show(self.limiter.end_group(report.plan_id))

    def offer(self, alerts: list[Alert]) -> None:
        """Show ``alerts`` as the rate limiter allows (the rest wait for their summary)."""
        for alert in alerts:
            self._show(self.limiter.offer(alert))
        if self.limiter.pending and not self.timer.isActive():
            self.timer.start()

    def _check_due(self) -> None:
        self._show(self.limiter.due())
        if not self.limiter.pending:
            self.timer.stop()

    def _show(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            log.info("alert %s: %s — %s", alert.kind.value, alert.title, alert.text)
            self.notifier.notify(alert)

    def close(self) -> None:
        """The window is going: every pending summary is shown (and logged), the tray goes."""
        self.timer.stop()
        self._show(self.limiter.flush())
        self.tray.hide()

    # ------------------------------------------------------------------ tray
    def refresh_tray(self) -> None:
        """The tray's icon and tooltip from the desk's connection states (one per account)."""
        names = list(self.desk.accounts)
        connected = sum(1 for name in names
                        if self.desk.connection_state(name) is ConnectionState.CONNECTED)
        self.tray.set_counts(connected, len(names))
