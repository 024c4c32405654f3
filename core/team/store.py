"""Reading the shared journal: every desk's chain verified, one desk's copy held against its
local journal, and records paged out for History and export with the desk on each.

Each desk's records form their own hash chain (the one its local SQLite journal holds), so a
shared journal is verified desk by desk with the same walk as a local one
(``core.journal.chain.walk``). The database refuses a record that breaks a chain as it is
stored; this is the auditor's check that nobody with more rights changed one since.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

import psycopg

from core.journal.chain import ChainReport, walk
from core.journal.records import JournalRecord

__all__ = ["TeamRecord", "compare_with_local", "team_records", "verify_team"]

_PAGE: Final = 5000
_COLUMNS: Final = ("r.desk_seq, r.wall_time, r.kind, r.account, r.venue, r.symbol, r.operator, "
                   "r.reason, r.intent_id, r.payload, r.latency_ms, r.prev_hash, r.hash")


@dataclass(frozen=True, slots=True)
class TeamRecord:
    """A record of the shared journal: which desk wrote it, the record as that desk's
    journal holds it, and its place in the shared journal (``stored_id``, 0 when not read)."""

    desk_id: str
    desk_name: str
    record: JournalRecord
    stored_id: int = 0


def _desk_records(db: psycopg.Connection[Any], desk_id: str,
                  after: int = 0) -> Iterator[JournalRecord]:
    last = after
    while True:
        rows = db.execute(f"SELECT {_COLUMNS} FROM records r WHERE r.desk_id = %s AND "
                          "r.desk_seq > %s ORDER BY r.desk_seq LIMIT %s",
                          (desk_id, last, _PAGE)).fetchall()
        for row in rows:
            yield JournalRecord(*row)
        if len(rows) < _PAGE:
            return
        last = int(rows[-1][0])


def verify_team(db: psycopg.Connection[Any]) -> dict[str, ChainReport]:
    """Each desk's chain, walked from its first record: desk id -> report."""
    desks = [str(r[0]) for r in db.execute(
        "SELECT DISTINCT desk_id FROM records ORDER BY desk_id").fetchall()]
    return {desk: walk(_desk_records(db, desk)) for desk in desks}


def compare_with_local(db: psycopg.Connection[Any], desk_id: str,
                       local: Iterator[JournalRecord]) -> str | None:
    """Why the shared copy of ``desk_id`` is not the local journal's first records, or None.
    The shared copy may be shorter (records not sent yet), never different or longer."""
    remote = _desk_records(db, desk_id)
    for mine in local:
        theirs = next(remote, None)
        if theirs is None:
            return None  # the rest is still to be sent
        if theirs != mine:
            return (f"record {mine.seq} differs between the local journal and the shared one "
                    f"(local hash {mine.hash[:16]}…, shared {theirs.hash[:16]}…)")
    extra = next(remote, None)
    if extra is not None:
        return f"the shared journal holds record {extra.seq} of this desk, the local one does not"
    return None


def team_records(db: psycopg.Connection[Any], *, account: str | None = None,
                 symbol: str | None = None, since: float | None = None,
                 limit: int = 1000) -> list[TeamRecord]:
    """The newest records of every desk (newest first), with the desk's name; for History."""
    clauses: list[str] = ["TRUE"]
    params: list[object] = []
    for column, value in (("r.account", account), ("r.symbol", symbol)):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if since is not None:
        clauses.append("r.wall_time >= %s")
        params.append(since)
    rows = db.execute(
        f"SELECT r.desk_id, coalesce(d.name, r.desk_id), {_COLUMNS} FROM records r "
        f"LEFT JOIN desks d ON d.desk_id = r.desk_id WHERE {' AND '.join(clauses)} "
        "ORDER BY r.stored_at DESC, r.desk_id, r.desk_seq DESC LIMIT %s",
        (*params, limit)).fetchall()
    return [TeamRecord(str(row[0]), str(row[1]), JournalRecord(*row[2:])) for row in rows]
