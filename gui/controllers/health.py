"""Connections and health on the window: each account's badge and health figures, refreshed
every second (silence is exactly what no event would ever report), and its rows greyed while
their numbers may be out of date; and the journal's back-pressure or failure. Which rows are
stale, and since when, the core decides (core.desk.freshness); this only shows it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from core.desk.freshness import AccountFreshness
from core.model import ConnectionEvent, SessionHealth, Venue
from gui.widgets.connection import fmt_clock
from gui.widgets.health import journal_figure

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["HEALTH_INTERVAL_MS", "HealthMonitor", "stale_text"]

log = logging.getLogger(__name__)

HEALTH_INTERVAL_MS = 1000


def stale_text(venue: Venue, what: str, since: float) -> str:
    """The tooltip of a stale row: why and since when its numbers may be out of date."""
    return f"Stale: {venue.label} {what} since {fmt_clock(since)} — numbers may be out of date"


class HealthMonitor:
    """Polls every session's health on ``timer`` and keeps the badges, the health strip and
    the stale rows up to date."""

    def __init__(
        self,
        window: MainWindow,
        *,
        interval_ms: int = HEALTH_INTERVAL_MS,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.window = window
        self.desk = window.desk
        self.clock = clock  # time.monotonic: the clock of SessionHealth.last_message_at
        self.wall = wall_clock
        self.freshness = AccountFreshness()  # since when each account may be out of date
        self._failed: set[str] = set()
        self.timer = QTimer(window)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.refresh_health)

    def on_connection(self, event: ConnectionEvent) -> None:
        w = self.window
        name = event.account
        config = self.desk.accounts.get(name)
        if config is not None:
            w.envs.set_account_environment(name, config.environment)
        self.freshness.connection(name, event.state, event.at)
        w.connectionStrip.set_state(
            name, event.venue, event.state, event.message,
            since=self.freshness.outage_since(name),
        )
        self._refresh_health_of(name, self.clock())
        self.refresh_stale(name)
        w.filters.refresh_account_choices()

    def _venue_of(self, account: str) -> Venue | None:
        badge = self.window.connectionStrip.badges.get(account)
        if badge is not None:
            return badge.venue
        config = self.desk.accounts.get(account)
        return config.venue if config is not None else None

    def stale_reason(self, account: str) -> str | None:
        """Why this account's rows may be out of date now, or None when they are live."""
        venue = self._venue_of(account)
        if venue is None:
            return None
        stale = self.freshness.stale(account)
        return None if stale is None else stale_text(venue, stale.what, stale.since)

    def refresh_stale(self, account: str) -> None:
        reason = self.stale_reason(account)
        self.window.positions_model.set_stale(account, reason)
        self.window.working_model.set_stale(account, reason)

    def refresh_health(self) -> None:
        """Ask every session for its health (cheap) and show it; runs every second."""
        now = self.clock()
        healths: dict[str, SessionHealth] = {}
        for name in list(self.window.connectionStrip.badges):
            health = self._refresh_health_of(name, now)
            if health is not None:
                healths[name] = health
            self.refresh_stale(name)
        self._refresh_row_ages(healths)
        self.refresh_journal()

    def refresh_journal(self) -> None:
        """The journal's figure: how far behind its writer is, or that it stopped."""
        journal = self.desk.journal
        figure = None if journal is None else journal_figure(journal.backlog, journal.failure())
        self.window.healthStrip.update_journal(figure)

    def _refresh_row_ages(self, healths: dict[str, SessionHealth]) -> None:
        """Mark the rows whose venue data is older than the stale threshold ("stale 12 s"); the
        desk decides which (ages on time.monotonic(), the clock of ``Position.received_at``)."""
        self.window.positions_model.set_row_ages(
            self.desk.stale_rows(self.window.preferences.stale_after_s, healths,
                                 time.monotonic()))

    def _refresh_health_of(self, account: str, now: float) -> SessionHealth | None:
        badge = self.window.connectionStrip.badges.get(account)
        if badge is None:
            return None
        try:
            health = self.desk.health(account)
        except Exception:  # a broken health() must not stop the others' badges
            if account not in self._failed:
                self._failed.add(account)
                log.warning("health of %s failed", account, exc_info=True)
            return None
        badge.set_health(health, now)
        if account in self.desk.accounts:
            self.window.healthStrip.update_account(account, badge.venue, badge.state, health,
                                                   now)
        self.freshness.health(account, badge.state, health, now, self.wall())
        return health
