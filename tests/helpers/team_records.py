"""Two desks' records in a team database for a test: written to each desk's local journal and
stored as its replicator stores a batch (one statement, one transaction), without running one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from core.journal import Journal, JournalEntry, JournalRecord
from core.team.history import TeamHistory
from core.team.replica import _INSERT as INSERT
from tests.helpers.postgres import TeamDatabase

__all__ = ["ACCOUNTS", "INSERT", "KINDS", "SYMBOLS", "columns", "history", "journal",
           "register", "store", "write"]

ACCOUNTS = ("alpha", "beta")
SYMBOLS = ("BTC", "ETH", "SOL")
KINDS = ("intent", "fill", "order_update")


def history(db: TeamDatabase) -> TeamHistory:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(db.app_dsn, connect_timeout=5)

    return TeamHistory(connect)


@contextmanager
def journal(path: Path, operator: str) -> Iterator[Journal]:
    j = Journal(path, operator=operator)
    try:
        yield j
    finally:
        j.close()


def write(j: Journal, n: int, start: int = 0) -> list[JournalRecord]:
    """``n`` records in ``j``; returns them as stored."""
    before = j.last_seq()
    j.append_many([JournalEntry(KINDS[i % 3], {"i": i}, account=ACCOUNTS[i % 2], venue="qfex",
                                symbol=SYMBOLS[i % 3]) for i in range(start, start + n)])
    j.flush(timeout=30)
    return j.records(after=before, limit=n)


def register(db: TeamDatabase, *desks: tuple[str, str]) -> None:
    with psycopg.connect(db.app_dsn) as conn:
        for desk, name in desks:
            conn.execute("INSERT INTO desks (desk_id, name, operator) VALUES (%s, %s, %s)",
                         (desk, name, name.lower()))


def columns(records: list[JournalRecord]) -> list[list[Any]]:
    return [list(c) for c in zip(*(
        (r.seq, r.wall_time, r.kind, r.account, r.venue, r.symbol, r.operator, r.reason,
         r.intent_id, r.payload, r.latency_ms, r.prev_hash, r.hash) for r in records),
        strict=True)]


def store(db: TeamDatabase, desk: str, records: list[JournalRecord]) -> None:
    """Stored as the desk's replicator stores a batch (one statement, one transaction)."""
    with psycopg.connect(db.app_dsn) as conn:
        conn.execute(INSERT, [desk, *columns(records)])
