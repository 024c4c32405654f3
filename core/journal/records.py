"""The journal's data shapes: a stored record, a record to write, a filter, and the error."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["JournalEntry", "JournalError", "JournalFilter", "JournalRecord"]


class JournalError(Exception):
    """The file is not a journal this version can read, or the journal cannot do that (it is
    read-only, or it stopped writing after an error)."""


@dataclass(frozen=True, slots=True)
class JournalRecord:
    seq: int
    wall_time: float
    kind: str
    account: str | None
    venue: str | None
    symbol: str | None
    operator: str
    reason: str | None
    intent_id: str | None
    payload: str
    latency_ms: float | None
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One record to write with ``append_many``: the arguments of ``append``."""

    kind: str
    payload: Mapping[str, Any] | str
    account: str | None = None
    venue: str | None = None
    symbol: str | None = None
    reason: str | None = None
    intent_id: str | None = None
    latency_ms: float | None = None


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """What the History view and ``closeout journal export`` select. None means any."""

    account: str | None = None
    symbol: str | None = None
    kinds: frozenset[str] | None = None
    since: float | None = None  # wall time, inclusive
    until: float | None = None  # wall time, exclusive

    def where(self) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if self.account is not None:
            clauses.append("account = ?")
            params.append(self.account)
        if self.symbol is not None:
            clauses.append("symbol = ?")
            params.append(self.symbol)
        if self.kinds is not None:
            if not self.kinds:
                clauses.append("0")
            else:
                clauses.append(f"kind IN ({','.join('?' * len(self.kinds))})")
                params.extend(sorted(self.kinds))
        if self.since is not None:
            clauses.append("wall_time >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("wall_time < ?")
            params.append(self.until)
        return (" AND ".join(clauses) or "1"), params
