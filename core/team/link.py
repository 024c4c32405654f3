"""The team link as the window shows it: is the team database reachable, how many of this
desk's records still wait for the shared journal, which leases this desk holds, and since when
the link is in its present state. And its transitions, each told once.

``LinkState`` is a snapshot made from plain attributes (the replicator's status, the live
updates' connection, the coordinator's held leases): reading it costs no query, so a window
may take one every second. ``LinkWatch`` turns a run of snapshots into the two transitions
worth telling: the link went down, and it is back with what waited sent. A retry that fails
again is not a transition, so an outage is told once however long it lasts.

The link is down when the copy of the journal or the live updates tried and failed (the live
updates hear a dead server at once; the copy only at its next write), and up when both are
connected. Before either has an answer it is starting: not an outage to report.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.model import PositionKey

__all__ = ["LinkBack", "LinkDown", "LinkPhase", "LinkState", "LinkWatch", "link_phase"]


class LinkPhase(enum.Enum):
    STARTING = "starting"
    UP = "up"
    DOWN = "down"


def link_phase(copy_connected: bool, copy_error: str | None, live_connected: bool,
               live_error: str | None) -> LinkPhase:
    """The link's phase from the journal copy's and the live updates' connections (an error is
    the last failure, cleared by the next connect)."""
    if (not copy_connected and copy_error is not None) or (
            not live_connected and live_error is not None):
        return LinkPhase.DOWN
    if copy_connected and live_connected:
        return LinkPhase.UP
    return LinkPhase.STARTING


@dataclass(frozen=True, slots=True)
class LinkState:
    """One reading of the team link (see the module docstring)."""

    phase: LinkPhase
    remote_seq: int  # the newest of this desk's records the shared journal holds
    local_seq: int  # the newest record of the local journal
    last_error: str | None  # the last failure of either connection, None once both are up
    held: tuple[PositionKey, ...] = ()  # the positions this desk holds a close lease on

    @property
    def queued(self) -> int:
        """This desk's records not in the shared journal yet (they wait locally)."""
        return max(0, self.local_seq - self.remote_seq)


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The link went down: closes are refused unless overridden; records wait locally."""

    at: float
    queued: int
    error: str | None


@dataclass(frozen=True, slots=True)
class LinkBack:
    """The link is back and what waited has reached the shared journal."""

    at: float
    sent: int  # records sent since the link went down


LinkChange = LinkDown | LinkBack


class LinkWatch:
    """Follows the link's readings and says each transition once. A link that was down is
    "back" once it is up and nothing waits any more, so the count sent is the whole backlog.
    ``since`` is when the present phase began, for the tooltip."""

    def __init__(self) -> None:
        self.phase = LinkPhase.STARTING
        self.since: float | None = None
        self._down_at_seq: int | None = None  # remote_seq when the outage was told

    def observe(self, state: LinkState, now: float) -> LinkChange | None:
        if state.phase is not self.phase:
            self.phase, self.since = state.phase, now
        if state.phase is LinkPhase.DOWN and self._down_at_seq is None:
            self._down_at_seq = state.remote_seq
            return LinkDown(now, state.queued, state.last_error)
        if state.phase is LinkPhase.UP and self._down_at_seq is not None and not state.queued:
            sent = max(0, state.remote_seq - self._down_at_seq)
            self._down_at_seq = None
            return LinkBack(now, sent)
        return None

    @property
    def outage(self) -> bool:
        """An outage was told and its end not yet."""
        return self._down_at_seq is not None
