"""Freshness: how far the book can be trusted now.

Three questions, asked by the window, the dialogs and the CLI alike:

* How old is a row's venue data? A row is vouched for by its own update, or by any later
  message on its connected session (which would have carried a change).
* Is an account's data stale, and since when? While its connection is down, since the outage
  began; while it is connected but silent for longer than the venue's keep-alive allows, since
  the last message heard.
* Does a close still match the live book (the freshness guard)? It is refused, with nothing
  sent, when the position went flat, changed side or shrank below the quantity asked.

Clocks: ages and silences are on ``time.monotonic()`` (the clock of ``Position.received_at``
and ``SessionHealth.last_message_at``); "since" times are wall times, for showing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from core.closing.rules import FieldError, check_amounts
from core.model import (
    CloseRequest,
    ConnectionState,
    Position,
    PositionKey,
    SessionHealth,
)
from core.venue import CloseRejected

__all__ = [
    "AccountFreshness",
    "PositionChanged",
    "Stale",
    "check",
    "data_age",
    "silence_limit",
    "silent_for",
    "stale_age",
    "stale_rows",
    "vouches",
]


# ---------------------------------------------------------------------------- the guard
class PositionChanged(CloseRejected):
    """The live book no longer matches what the user saw; nothing was sent.

    ``current`` is the position now (None if flat), so a dialog can show it and ask again, and
    offer to clamp a partial quantity with the user's consent.
    """

    def __init__(self, message: str, reason: str, current: Position | None) -> None:
        super().__init__(message, code="POSITION_CHANGED")
        self.reason = reason  # "flat" | "side" | "shrank"
        self.current = current


def check(book: Mapping[PositionKey, Position], request: CloseRequest) -> None:
    """Refuse a request that no longer matches the live book. Raises CloseRejected."""
    pos = book.get(request.key)
    if pos is None:
        raise PositionChanged(
            f"{request.key.symbol} is already flat on {request.key.account}; nothing sent",
            "flat", None)
    if pos.side is not request.position_side:
        raise PositionChanged(
            f"the position is now {pos.side.value.lower()} {pos.quantity}, not "
            f"{request.position_side.value.lower()}; review it and close again",
            "side", pos)
    try:
        check_amounts(request)
    except FieldError as exc:
        raise CloseRejected(exc.message) from None
    if request.quantity is not None and request.quantity > pos.quantity:
        raise PositionChanged(
            f"the position is now {pos.quantity}, less than the {request.quantity} "
            "you asked to close",
            "shrank", pos)


# ---------------------------------------------------------------------------- rows
def data_age(position: Position, health: SessionHealth | None, now: float) -> float:
    """Seconds since venue data last vouched for this row: its own update, or any message on
    its session while connected."""
    newest = position.received_at
    if health is not None and health.connected and health.last_message_at is not None:
        newest = max(newest, health.last_message_at)
    return max(0.0, now - newest)


def stale_age(age: float | None, threshold: float) -> float | None:
    """The age, when it is past the stale threshold; None while the data is fresh enough."""
    return age if age is not None and age > threshold else None


def vouches(health: SessionHealth | None, threshold: float, now: float) -> bool:
    """A connected session that spoke within the threshold vouches for all its rows: it would
    have carried any change."""
    return (health is not None and health.connected and health.last_message_at is not None
            and now - health.last_message_at <= threshold)


def stale_rows(
    keys: Iterable[PositionKey],
    accounts: Iterable[str],
    healths: Mapping[str, SessionHealth],
    age_of: Callable[[PositionKey, float], float | None],
    threshold: float,
    now: float,
) -> dict[PositionKey, float]:
    """The rows whose venue data is older than the threshold, with their age in seconds.

    Only the accounts whose session does not vouch for its rows (``healths`` lacks them, or
    they are disconnected or quiet) are looked at row by row.
    """
    quiet = {name for name in accounts if not vouches(healths.get(name), threshold, now)}
    ages: dict[PositionKey, float] = {}
    if quiet:
        for key in keys:
            if key.account in quiet:
                age = age_of(key, now)
                if age is not None and age > threshold:
                    ages[key] = age
    return ages


# ---------------------------------------------------------------------------- sessions
def silence_limit(keepalive_s: float) -> float:
    """How long a connected venue may say nothing before its numbers count as stale: one and a
    half keep-alive periods and at least two seconds over one, so a merely late ping does not
    make it flicker."""
    return max(keepalive_s * 1.5, keepalive_s + 2.0)


def silent_for(health: SessionHealth, now: float) -> float | None:
    """Seconds of silence once past the venue's silence limit; None while it is talking (or
    nothing is known to judge by)."""
    if health.keepalive_s is not None and health.last_message_at is not None:
        quiet = now - health.last_message_at
        if quiet > silence_limit(health.keepalive_s):
            return quiet
    return None


@dataclass(frozen=True, slots=True)
class Stale:
    """Why an account's numbers may be out of date, and since when (wall time)."""

    what: str  # "disconnected" | "silent"
    since: float


class AccountFreshness:
    """Since when each account's data may be out of date.

    Fed with connection changes and health readings; asked by whoever shows the account.
    An outage counts from its first event (a retry does not restart it); a silence counts
    from the last message heard.
    """

    def __init__(self) -> None:
        self._outage: dict[str, float] = {}  # account -> wall time its connection went down
        self._silent: dict[str, float] = {}  # account -> wall time of the last message heard

    def connection(self, account: str, state: ConnectionState, at: float) -> None:
        """A connection event at wall time ``at``."""
        if state is ConnectionState.CONNECTED:
            self._outage.pop(account, None)
            self._silent.pop(account, None)
        else:  # DISCONNECTED, CONNECTING (a retry) and FAILED: the outage began at the first
            self._outage.setdefault(account, at)

    def health(self, account: str, state: ConnectionState, health: SessionHealth,
               now: float, wall_now: float) -> None:
        """A health reading taken at ``now`` (monotonic), ``wall_now`` on the wall clock."""
        last = health.last_message_at
        silent = state is ConnectionState.CONNECTED and silent_for(health, now) is not None
        if not silent or last is None:
            self._silent.pop(account, None)
        elif account not in self._silent:
            self._silent[account] = wall_now - (now - last)

    def forget(self, account: str) -> None:
        self._outage.pop(account, None)
        self._silent.pop(account, None)

    def outage_since(self, account: str) -> float | None:
        """Wall time the account's connection went down, while it is down."""
        return self._outage.get(account)

    def stale(self, account: str) -> Stale | None:
        """Why the account's data may be out of date now, or None while it is live."""
        if (since := self._outage.get(account)) is not None:
            return Stale("disconnected", since)
        if (since := self._silent.get(account)) is not None:
            return Stale("silent", since)
        return None
