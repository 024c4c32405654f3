"""A coordinator whose answers the test sets: who holds which position, or that the team
database is away; and what the desk asked of it, in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from core.desk.coordination import CoordinationDown, Holder, LeaseHeld, Override
from core.model import PositionKey

__all__ = ["FakeCoordinator"]


@dataclass
class FakeCoordinator:
    holders: dict[PositionKey, Holder] = field(default_factory=dict)
    down: bool = False
    calls: list[tuple[str, PositionKey, str]] = field(default_factory=list)
    held: dict[PositionKey, str] = field(default_factory=dict)
    while_asked: Callable[[], None] = lambda: None  # runs while a claim is being decided
    changed: Callable[[PositionKey], None] = lambda _key: None  # set by the desk (attach)

    def attach(self, changed: Callable[[PositionKey], None]) -> None:
        self.changed = changed

    def set_holder(self, key: PositionKey, holder: Holder | None) -> None:
        """Another desk starts (or, with None, stops) closing ``key``; the desk hears of it."""
        if holder is None:
            self.holders.pop(key, None)
        else:
            self.holders[key] = holder
        self.changed(key)

    async def acquire(self, key: PositionKey, intent_id: str) -> None:
        self.calls.append(("acquire", key, intent_id))
        self.while_asked()
        if self.down:
            raise CoordinationDown("connection refused")
        if key in self.holders:
            raise LeaseHeld(self.holders[key])
        self.held[key] = intent_id

    async def override(self, key: PositionKey, intent_id: str) -> Override:
        self.calls.append(("override", key, intent_id))
        if self.down:
            return Override(self.holders.get(key), locked=False)
        took = self.holders.pop(key, None)
        self.held[key] = intent_id
        return Override(took, locked=True)

    def elsewhere(self, key: PositionKey) -> str | None:
        holder = self.holders.get(key)
        return None if holder is None else holder.desk_name

    def heard(self, key: PositionKey) -> Holder | None:
        return self.holders.get(key)

    def finished(self, key: PositionKey, intent_id: str) -> None:
        self.calls.append(("finished", key, intent_id))
        if self.held.get(key) == intent_id:
            del self.held[key]
