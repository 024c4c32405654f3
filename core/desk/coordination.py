"""Who else may be closing this position: the desk asks before it sends a close or a cancel.

Alone (the default) the answer is always "go". In team mode (``core.team``) the desk must hold
the position's lease in the shared database first; another desk's lease refuses the close
before anything is recorded as sent, and says who holds it and since when. The user may still
send, with a typed reason: that is an override, journaled with whose lease it took. Nothing is
ever sent or resent because a lease was granted, expired or released.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from core.model import PositionKey
from core.venue import CloseRejected

__all__ = ["Claims", "CoordinationDown", "Coordinator", "ElsewhereChanged", "Holder",
           "LeaseHeld", "Override", "Solo"]


@dataclass(frozen=True, slots=True)
class Holder:
    """Another desk's claim on a position: which desk, who, for which intent, how long it
    has held it and when the claim runs out if that desk stops renewing it."""

    desk_id: str
    desk_name: str
    operator: str
    intent_id: str
    held_for_s: float
    expires_in_s: float

    def text(self) -> str:
        """"Desk 3 (maria) is closing this · 4 s, expires in 26 s"."""
        who = f"{self.desk_name} ({self.operator})" if self.operator else self.desk_name
        return (f"{who} is closing this · {self.held_for_s:.0f} s, "
                f"expires in {max(0.0, self.expires_in_s):.0f} s")


class LeaseHeld(CloseRejected):
    """Another desk holds the position's lease; nothing was sent."""

    def __init__(self, holder: Holder) -> None:
        super().__init__(f"{holder.text()}; nothing was sent", code="lease_held")
        self.holder = holder


class CoordinationDown(CloseRejected):
    """The team database cannot be reached, so no lease could be taken; nothing was sent.
    The user may send anyway with a typed reason (an override)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"the team database cannot be reached ({why}), so no other desk "
                         "can be asked; nothing was sent", code="coordination_down")


@dataclass(frozen=True, slots=True)
class ElsewhereChanged:
    """A desk event: another desk started or stopped closing this position (team mode).
    ``desk`` names it ("Desk 3"), None once no other desk is closing it."""

    key: PositionKey
    desk: str | None
    holder: Holder | None = None  # who, since when, and when it runs out, when known


@dataclass(frozen=True, slots=True)
class Override:
    """What an override did: whose lease it took (None: nobody held one), and whether it holds
    the lease now (False when the team database could not be reached: sent unlocked)."""

    took_from: Holder | None
    locked: bool


class Coordinator(Protocol):
    async def acquire(self, key: PositionKey, intent_id: str) -> None:
        """Hold the position's lease for ``intent_id``, or raise LeaseHeld / CoordinationDown."""

    async def override(self, key: PositionKey, intent_id: str) -> Override:
        """Take the lease whoever holds it. When the database cannot be reached the send goes
        ahead unlocked, and the result says so (the caller journals it)."""

    def finished(self, key: PositionKey, intent_id: str) -> None:
        """The intent is final: give its lease up (in the background; never blocks)."""

    def elsewhere(self, key: PositionKey) -> str | None:
        """Which other desk is closing this position now, as far as this desk has heard
        ("Desk 3"), or None. For showing and planning; the lease decides at send time."""

    def heard(self, key: PositionKey) -> Holder | None:
        """What this desk heard of the other desk's lease on this position (who, how long it
        has held it, when it runs out unless renewed), or None when nobody else holds it or
        the times are not known."""

    def attach(self, changed: Callable[[PositionKey], None]) -> None:
        """``changed(key)`` is called whenever ``elsewhere(key)`` or ``heard(key)`` may have
        changed."""


class Solo:
    """One desk alone: nothing to ask."""

    async def acquire(self, key: PositionKey, intent_id: str) -> None:
        return None

    async def override(self, key: PositionKey, intent_id: str) -> Override:
        return Override(None, locked=True)

    def finished(self, key: PositionKey, intent_id: str) -> None:
        return None

    def elsewhere(self, key: PositionKey) -> str | None:
        return None

    def heard(self, key: PositionKey) -> Holder | None:
        return None

    def attach(self, changed: Callable[[PositionKey], None]) -> None:
        return None


class JournalFn(Protocol):
    def __call__(self, kind: str, payload: Mapping[str, Any] | str, **kw: Any) -> object: ...


class Claims:
    """The desk's use of a coordinator: claim before sending, with the refusal or the override
    journaled beside the close, and give the claim up when the intent is final."""

    def __init__(self, coordinator: Coordinator, journal: JournalFn) -> None:
        self.coordinator = coordinator
        self._journal = journal

    async def claim(self, key: PositionKey, intent_id: str, ctx: Mapping[str, Any],
                    override_reason: str | None = None) -> None:
        """Hold the lease for ``intent_id`` or raise (LeaseHeld, CoordinationDown), journaled
        either way. With ``override_reason`` it is taken whoever holds it."""
        if override_reason is not None:
            done = await self.coordinator.override(key, intent_id)
            self._journal("lease_override", {
                "reason": override_reason,
                # Whose send it was for: a close's intent id, or "cancel:<order id>" (a
                # cancel-first overrides once per cancel, then once for its close).
                "intent": intent_id,
                "took_from": None if done.took_from is None else asdict(done.took_from),
                "locked": done.locked,
            }, **ctx)
            return
        try:
            await self.coordinator.acquire(key, intent_id)
        except LeaseHeld as exc:
            self._journal("lease_held", {"holder": asdict(exc.holder), "sent": False}, **ctx)
            raise
        except CoordinationDown as exc:
            self._journal("lease_unavailable", {"message": str(exc), "sent": False}, **ctx)
            raise

    def release(self, key: PositionKey, intent_id: str) -> None:
        self.coordinator.finished(key, intent_id)

    @contextlib.asynccontextmanager
    async def held(self, key: PositionKey, intent_id: str, ctx: Mapping[str, Any],
                   override_reason: str | None = None) -> AsyncIterator[None]:
        """Claim for the length of the block (a cancel: final when its answer is in)."""
        await self.claim(key, intent_id, ctx, override_reason)
        try:
            yield
        finally:
            self.release(key, intent_id)
