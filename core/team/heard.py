"""What this desk has heard of the other desks' leases: which desk is closing which position,
since when, and until when unless it renews.

A lease binds nobody once it has expired, and a desk that vanished sends no word when that
happens: nobody deletes its row. So each lease heard of is kept with its deadline (this
desk's monotonic clock, from the duration the server gave), and forgotten once the deadline
passes without a renewal. Renewals arrive as notifications too, each with a new deadline.

No I/O and no timers here: the caller feeds what the database said and asks, on its own
clock, what has expired (``expire``) and when to ask next (``next_deadline``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from core.desk.coordination import Holder
from core.team.awareness import LeaseChanged
from core.team.leases import LeaseKey

__all__ = ["HeardLeases"]


@dataclass(frozen=True, slots=True)
class _Heard:
    desk_id: str
    intent_id: str
    operator: str
    since: float | None  # when it was taken (monotonic), when known
    deadline: float | None  # when it runs out unless renewed (monotonic), when known


class HeardLeases:
    """See the module docstring. ``clock`` is monotonic seconds (injectable for tests)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._leases: dict[LeaseKey, _Heard] = {}

    def __contains__(self, key: LeaseKey) -> bool:
        return key in self._leases

    def held(self) -> list[LeaseKey]:
        return list(self._leases)

    def desk_id(self, key: LeaseKey) -> str | None:
        heard = self._leases.get(key)
        return None if heard is None or self._expired(heard, self._clock()) else heard.desk_id

    def holder(self, key: LeaseKey, names: Mapping[str, str]) -> Holder | None:
        """The lease as a Holder timed now; None if nobody holds it or its times are unknown."""
        heard = self._leases.get(key)
        now = self._clock()
        if heard is None or heard.since is None or heard.deadline is None \
                or self._expired(heard, now):
            return None
        return Holder(heard.desk_id, names.get(heard.desk_id, heard.desk_id), heard.operator,
                      heard.intent_id, max(0.0, now - heard.since), heard.deadline - now)

    def observe(self, event: LeaseChanged) -> bool:
        """A lease taken, renewed or given up. True when what is shown of it changed (a
        renewal changes its deadline; another desk's release of a lease no longer theirs
        changes nothing)."""
        before = self._leases.get(event.key)
        if event.held:
            self._leases[event.key] = self._heard(event)
        elif before is not None and before.desk_id == event.desk_id:
            del self._leases[event.key]
        return self._leases.get(event.key) != before

    def replace(self, leases: Iterable[LeaseChanged]) -> set[LeaseKey]:
        """Everything heard, replaced by a fresh read of the table; the keys that changed."""
        before = self._leases
        self._leases = {event.key: self._heard(event) for event in leases if event.held}
        return {key for key in before.keys() | self._leases.keys()
                if before.get(key) != self._leases.get(key)}

    def expire(self) -> list[tuple[LeaseKey, str]]:
        """Forget the leases whose deadline passed without a renewal: (key, whose it was)."""
        now = self._clock()
        gone = [(key, heard.desk_id) for key, heard in self._leases.items()
                if self._expired(heard, now)]
        for key, _desk in gone:
            del self._leases[key]
        return gone

    def next_deadline(self) -> float | None:
        """The soonest deadline of a lease heard of (monotonic), if any."""
        deadlines = [h.deadline for h in self._leases.values() if h.deadline is not None]
        return min(deadlines, default=None)

    def _heard(self, event: LeaseChanged) -> _Heard:
        now = self._clock()
        return _Heard(event.desk_id, event.intent_id, event.operator,
                      None if event.held_for_s is None else now - event.held_for_s,
                      None if event.expires_in_s is None else now + event.expires_in_s)

    @staticmethod
    def _expired(heard: _Heard, now: float) -> bool:
        return heard.deadline is not None and now >= heard.deadline
