"""The team link on the window (team mode only): the status bar's indicator, refreshed once a
second from plain attributes of the team stack (``TeamStack.link``: no query, nothing on the
GUI thread waits), and the link's transitions told once each: a line in the order log, a line
in the app's log, and an alert through the window's alerts (rate-limited like the others).
A retry that fails again changes nothing here, so an outage is told once however long."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QTimer

from core.alerts import Alert, AlertKind, enabled
from core.team.link import LinkBack, LinkChange, LinkDown, LinkState, LinkWatch
from gui.controllers.quitting import QUIT_FLUSH_S
from gui.models.log import LogEntry
from gui.widgets.team_status import (
    UNREACHABLE,
    TeamIndicator,
    indicator_text,
    records,
    tooltip_text,
)

if TYPE_CHECKING:
    from core.team.stack import TeamStack
    from gui.main_window import MainWindow

__all__ = ["TEAM_REFRESH_MS", "TeamStatus", "back_text", "down_text", "left_text",
           "stop_team"]

log = logging.getLogger(__name__)

TEAM_REFRESH_MS: Final = 1000
LOG_KIND: Final = "Team"


def down_text(change: LinkDown) -> str:
    waiting = f" ({records(change.queued)} waiting)" if change.queued else ""
    return (f"{UNREACHABLE}: closes are refused unless overridden; records wait "
            f"locally{waiting}")


def back_text(change: LinkBack) -> str:
    return f"Team database back: {records(change.sent)} sent"


def left_text(left: int) -> str:
    return (f"{records(left)} of this desk did not reach the team database before the quit: "
            "they wait in the local journal and go out at the next start")


async def stop_team(stack: TeamStack, flush_s: float = QUIT_FLUSH_S) -> int:
    """Stop the team stack as the app quits, giving the copy at most ``flush_s`` to catch up,
    and say in the app's log how many records were left for the next start."""
    left = await stack.stop(flush_s=flush_s)
    if left:
        log.warning("%s", left_text(left))
    return left


class TeamStatus:
    """See the module docstring. ``stack`` is the window's desk's team stack."""

    def __init__(self, window: MainWindow, stack: TeamStack, *,
                 interval_ms: int = TEAM_REFRESH_MS,
                 wall_clock: Callable[[], float] = time.time) -> None:
        self.window = window
        self.stack = stack
        self.wall = wall_clock
        self.watch = LinkWatch()
        self.state: LinkState = stack.link()
        self.name = stack.config.name  # read once: without desk_name it is the host's
        bar = window.statusBar()
        self.indicator = TeamIndicator(bar)
        bar.insertPermanentWidget(1, self.indicator)  # right of the outcome, left of alerts
        self.timer = QTimer(window)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh)
        self.refresh()
        self.timer.start()

    @property
    def waiting(self) -> int:
        """This desk's records not in the shared journal yet, at the last reading."""
        return self.state.queued

    def refresh(self) -> None:
        self.state = state = self.stack.link()
        change = self.watch.observe(state, self.wall())
        text, tone = indicator_text(state, self.name)
        self.indicator.show_state(text, tone, self.tooltip())
        if change is not None:
            self._tell(change)

    def tooltip(self) -> str:
        return tooltip_text(self.state, address=self.stack.config.database,
                            desk_id=self.stack.desk_id, desk_name=self.name,
                            since=self.watch.since)

    def details(self) -> str:
        """The link's state for Help → About's "Copy details" (no password: see the tooltip)."""
        text, _tone = indicator_text(self.state, self.name)
        return f"Team link: {text}\n{self.tooltip()}\n"

    def _tell(self, change: LinkChange) -> None:
        if isinstance(change, LinkDown):
            message, status, tone = down_text(change), "TEAM DOWN", "bad"
            log.warning("%s; last error: %s", message, change.error or "none")
            kind, title = AlertKind.CONNECTION_LOST, UNREACHABLE
        else:
            message, status, tone = back_text(change), "TEAM BACK", "good"
            log.info("%s", message)
            kind, title = AlertKind.CONNECTION_RESTORED, "Team database back"
        self.window.log_model.append(LogEntry(
            at=change.at, kind=LOG_KIND, status=status, message=message, tone=tone,
            detail=tooltip_text(self.state, address=self.stack.config.database,
                                desk_id=self.stack.desk_id, desk_name=self.name,
                                since=None)))
        alerts = self.window.alerts
        if enabled(kind, alerts.settings):
            lost = kind is AlertKind.CONNECTION_LOST
            alerts.offer([Alert(kind, title, message, sound=lost and alerts.settings.sound,
                                quiet=not lost)])

    def stop(self) -> None:
        self.timer.stop()
