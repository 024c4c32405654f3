"""What a command shows of the other desks' leases (team mode): it waits, briefly, until the
desk has heard which positions the other desks are closing, then asks the database who holds
each lease it names, so a plan or a dry run says "Desk 3 (maria) is closing it" rather than
only a desk's name. Showing only: the lease itself decides when a close is sent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cli.common import Connection, err
from core.desk.coordination import CoordinationDown, Holder
from core.model import PositionKey

__all__ = ["TEAM_CATCH_UP_S", "LeaseView", "holder_of", "lease_views", "wait_for_team"]

# Long enough for a connect and one query on a working database; a command that waits longer
# for a database that is away only delays the closes it would send without it.
TEAM_CATCH_UP_S = 3.0


async def wait_for_team(conn: Connection, timeout: float = TEAM_CATCH_UP_S) -> bool:
    """Team mode: wait until this desk knows the other desks' current leases (True at once
    alone). Says so on standard error when it could not, and goes on."""
    if conn.team is None or await conn.team.caught_up(timeout):
        return True
    err(f"team: could not learn within {timeout:g} s which positions other desks are closing; "
        "the plan may include some of them (their closes are then refused by the lease)")
    return False


@dataclass(frozen=True, slots=True)
class LeaseView:
    """A position another desk is closing, as a command shows it. ``holder`` is None when the
    database could not be asked (``desk`` is then the name heard)."""

    key: PositionKey
    desk: str
    holder: Holder | None

    def who(self) -> str:
        """"Desk 3 (maria)"."""
        h = self.holder
        if h is None:
            return self.desk
        return f"{h.desk_name} ({h.operator})" if h.operator else h.desk_name

    def text(self) -> str:
        """"Desk 3 (maria) is closing it · 4 s, expires in 26 s"."""
        h = self.holder
        if h is None:
            return f"{self.desk} is closing it"
        return (f"{self.who()} is closing it · {h.held_for_s:.0f} s, "
                f"expires in {max(0.0, h.expires_in_s):.0f} s")

    def to_dict(self) -> dict[str, Any]:
        h = self.holder
        return {"position": str(self.key), "desk": h.desk_name if h else self.desk,
                "operator": h.operator if h else None,
                "held_for_s": round(h.held_for_s, 1) if h else None,
                "expires_in_s": round(max(0.0, h.expires_in_s), 1) if h else None,
                "text": self.text()}


async def lease_views(conn: Connection, elsewhere: Iterable[tuple[PositionKey, str]]
                      ) -> list[LeaseView]:
    """Each (position, desk heard) with its lease's holder as the database has it now. A lease
    given up meanwhile keeps the name heard; so does every one when the database is away."""
    views = []
    for key, desk in elsewhere:
        holder = None
        if conn.team is not None:
            try:
                holder = await conn.team.coordinator.holder(key)
            except CoordinationDown:
                holder = None
        views.append(LeaseView(key, desk, holder))
    return views


async def holder_of(conn: Connection, key: PositionKey) -> tuple[Holder | None, str | None]:
    """Who holds ``key``'s lease now (team mode), or why that is not known."""
    if conn.team is None:
        return None, None
    try:
        return await conn.team.coordinator.holder(key), None
    except CoordinationDown as exc:
        return None, str(exc)
