"""The local journal reaches the team database in order, whole, and once, through a database
that goes away and comes back; and the database itself refuses anything but appending."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.journal import Journal
from core.journal.chain import walk
from core.journal.records import JournalRecord
from core.team.replica import Diverged, ReplicaStatus, Replicator
from tests.helpers.polling import until
from tests.helpers.postgres import TeamDatabase

_COLUMNS = ("desk_seq, wall_time, kind, account, venue, symbol, operator, reason, intent_id, "
            "payload, latency_ms, prev_hash, hash")


def _remote(db: TeamDatabase, desk: str) -> list[JournalRecord]:
    with psycopg.connect(db.admin_dsn) as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM records WHERE desk_id = %s "
                            "ORDER BY desk_seq", (desk,)).fetchall()
    return [JournalRecord(*row) for row in rows]


def _connector(db: TeamDatabase) -> Callable[[], Any]:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(db.app_dsn)
    return connect


@contextlib.asynccontextmanager
async def _running(replicator: Replicator, journal: Journal) -> AsyncIterator[asyncio.Task[None]]:
    loop = asyncio.get_running_loop()
    stop = journal.on_durable(lambda *_: loop.call_soon_threadsafe(replicator.wake))
    task = asyncio.create_task(replicator.run())
    try:
        yield task
    finally:
        stop()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Diverged):
            await task


def _append(journal: Journal, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        journal.append("order_update", {"i": i}, account="acct", venue="qfex", symbol="BTC")
    journal.flush(timeout=30)


@pytest.mark.asyncio
async def test_every_record_arrives_once_in_order_with_the_local_chain(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.sqlite3", operator="maria")
    replicator = Replicator(journal, _connector(team_db), "desk-1", desk_name="Desk 1",
                            operator="maria", batch=700)
    try:
        _append(journal, 2500)
        async with _running(replicator, journal):
            await until(lambda: replicator.status.remote_seq == 2500, timeout=60)
            _append(journal, 10, start=2500)
            await until(lambda: replicator.status.remote_seq == 2510, timeout=60)
        remote = _remote(team_db, "desk-1")
        assert remote == list(journal.iter_all())
        assert walk(remote).ok and walk(remote).records == 2510
        assert replicator.status.batches >= 4  # 2,500 in batches of 700, then the 10
    finally:
        journal.close()


@pytest.mark.asyncio
@pytest.mark.allow_error_logs
async def test_records_wait_locally_while_the_database_is_down_then_all_arrive_once(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    statuses: list[ReplicaStatus] = []
    journal = Journal(tmp_path / "j.sqlite3", operator="maria")
    replicator = Replicator(journal, _connector(team_db), "desk-1", batch=300,
                            backoff=(0.05, 0.1), on_status=lambda s: statuses.append(
                                ReplicaStatus(**vars(s))))
    try:
        async with _running(replicator, journal):
            _append(journal, 1000)
            await until(lambda: replicator.status.remote_seq == 1000, timeout=60)
            await asyncio.to_thread(team_db.cluster.kill)
            try:
                _append(journal, 1500, start=1000)
                await until(lambda: not replicator.status.connected, timeout=60)
                assert replicator.status.queued == 1500
            finally:
                await asyncio.to_thread(team_db.cluster.restart)
            await until(lambda: replicator.status.remote_seq == 2500, timeout=60)
        remote = _remote(team_db, "desk-1")
        assert [r.seq for r in remote] == list(range(1, 2501))
        assert remote == list(journal.iter_all())
        assert any(s.last_error for s in statuses)
    finally:
        journal.close()


@pytest.mark.asyncio
async def test_a_resend_of_stored_records_is_skipped_not_doubled(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.sqlite3", operator="maria")
    try:
        _append(journal, 50)
        first = Replicator(journal, _connector(team_db), "desk-1", batch=20)
        async with _running(first, journal):
            await until(lambda: first.status.remote_seq == 50, timeout=60)
        # As after a lost commit reply: a second run starts from an older head and resends.
        second = Replicator(journal, _connector(team_db), "desk-1", batch=20)
        async with db_connection(team_db) as db:
            head = await second._send(db, 30)  # records 31-50 again
        assert head == 50
        assert [r.seq for r in _remote(team_db, "desk-1")] == list(range(1, 51))
    finally:
        journal.close()


@contextlib.asynccontextmanager
async def db_connection(db: TeamDatabase) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(db.app_dsn) as conn:
        yield conn


@pytest.mark.asyncio
async def test_a_database_holding_other_records_for_this_desk_stops_the_copy(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    other = Journal(tmp_path / "other.sqlite3", operator="someone")
    mine = Journal(tmp_path / "mine.sqlite3", operator="maria")
    try:
        _append(other, 5)
        _append(mine, 5, start=100)  # same sequence numbers, other contents
        theirs = Replicator(other, _connector(team_db), "desk-1")
        async with _running(theirs, other):
            await until(lambda: theirs.status.remote_seq == 5, timeout=60)
        replicator = Replicator(mine, _connector(team_db), "desk-1")
        with pytest.raises(Diverged):
            await asyncio.wait_for(replicator.run(), timeout=60)
        assert replicator.status.last_error == "diverged"
        assert [r.payload for r in _remote(team_db, "desk-1")] == [
            r.payload for r in other.iter_all()]
    finally:
        other.close()
        mine.close()


@pytest.mark.parametrize("statement", [
    "UPDATE records SET kind = 'x'",
    "DELETE FROM records",
    "TRUNCATE records",
])
def test_the_app_role_can_only_append(team_db: TeamDatabase, statement: str,
                                      tmp_path: Path) -> None:
    with psycopg.connect(team_db.app_dsn) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege):
        conn.execute(statement)


@pytest.mark.parametrize("statement", [
    "UPDATE records SET kind = 'x'",
    "DELETE FROM records",
    "TRUNCATE records",
])
def test_even_the_owner_cannot_change_a_record(team_db: TeamDatabase, statement: str) -> None:
    with psycopg.connect(team_db.admin_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO desks (desk_id, name, operator) VALUES ('d', 'D', 'o')")
        conn.execute("INSERT INTO records (desk_id, desk_seq, wall_time, kind, operator, "
                     "payload, prev_hash, hash) VALUES ('d', 1, 1, 'k', 'o', '{}', %s, %s)",
                     ("0" * 64, "a" * 64))
    with psycopg.connect(team_db.admin_dsn) as conn, pytest.raises(
            psycopg.errors.InsufficientPrivilege, match="append-only"):
        conn.execute(statement)


def test_a_record_that_skips_or_breaks_its_chain_is_refused(team_db: TeamDatabase) -> None:
    insert = ("INSERT INTO records (desk_id, desk_seq, wall_time, kind, operator, payload, "
              "prev_hash, hash) VALUES ('d', %s, 1, 'k', 'o', '{}', %s, %s)")
    with psycopg.connect(team_db.app_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO desks (desk_id, name, operator) VALUES ('d', 'D', 'o')")
        conn.execute(insert, (1, "0" * 64, "a" * 64))
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="gap"):
            conn.execute(insert, (3, "a" * 64, "b" * 64))
        with pytest.raises(psycopg.errors.IntegrityConstraintViolation, match="chain broken"):
            conn.execute(insert, (2, "c" * 64, "b" * 64))
        conn.execute(insert, (2, "a" * 64, "b" * 64))


@pytest.mark.asyncio
async def test_a_journal_opened_again_goes_on_from_its_last_record(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    """A second start of the process hands out tickets from 1 again while the sequence goes
    on: the copy follows the sequence (it once stopped at the ticket count)."""
    path = tmp_path / "j.sqlite3"
    for run in range(2):
        journal = Journal(path, operator="maria")
        replicator = Replicator(journal, _connector(team_db), "desk-1")
        try:
            _append(journal, 5 + run * 3, start=run * 100)
            async with _running(replicator, journal):
                await until(lambda j=journal, r=replicator: r.status.remote_seq == j.last_seq(),
                            timeout=60)
        finally:
            journal.close()
    assert [r.seq for r in _remote(team_db, "desk-1")] == list(range(1, 14))
