"""Each desk hears the other desks' leases and new records as they happen, never its own, and
after losing the database reads back what it missed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.journal import Journal
from core.team.awareness import Awareness, Event, LeaseChanged, OtherRecords, parse
from core.team.leases import LeaseKey, Leases
from core.team.replica import Replicator
from core.team.schema import LEASES_CHANNEL, RECORDS_CHANNEL
from tests.helpers.polling import until
from tests.helpers.postgres import TeamDatabase

KEY = LeaseKey("client-7", "qfex", "BTC-USD")


@contextlib.asynccontextmanager
async def _running(*coroutines: Any) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(c) for c in coroutines]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _connector(db: TeamDatabase) -> Any:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(db.app_dsn, autocommit=True)
    return connect


@pytest.mark.asyncio
@pytest.mark.allow_error_logs
async def test_a_desk_hears_the_others_leases_and_records_but_not_its_own(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    heard: list[Event] = []
    connect = _connector(team_db)
    watcher = Awareness(connect, "d1", heard.append, backoff=(0.05,))
    journal = Journal(tmp_path / "d2.sqlite3", operator="li")
    replicator = Replicator(journal, connect, "d2", desk_name="Desk 2", operator="li",
                            backoff=(0.05,))
    try:
        async with await connect() as conn, _running(watcher.run(), replicator.run()):
            await conn.execute("INSERT INTO desks VALUES ('d1', 'Desk 1', 'maria') "
                               "ON CONFLICT DO NOTHING")
            await until(lambda: watcher.connected and replicator.status.connected, timeout=30)
            await until(lambda: replicator.status.remote_seq == 0 and
                        replicator.status.local_seq == 0, timeout=30)
            mine = Leases(conn, "d1", "maria")
            await mine.take(KEY, "own")  # this desk's own: not delivered
            await mine.release(KEY, "own")
            theirs = Leases(conn, "d2", "li")
            await theirs.take(KEY, "i2")
            await until(lambda: any(isinstance(e, LeaseChanged) for e in heard), timeout=30)
            await theirs.release(KEY, "i2")
            for i in range(3):
                journal.append("intent", {"i": i}, account="client-7", venue="qfex",
                               symbol="BTC-USD")
            journal.flush(timeout=30)
            replicator.wake()
            await until(lambda: sum(len(e.records) for e in heard
                                    if isinstance(e, OtherRecords)) == 3, timeout=30)
        leases = [e for e in heard if isinstance(e, LeaseChanged)]
        assert [(e.key, e.desk_id, e.intent_id, e.held, e.operator) for e in leases] == [
            (KEY, "d2", "i2", True, "li"), (KEY, "d2", "i2", False, "li")]
        taken = leases[0]  # timed by the server: just taken, a lease's life to go
        assert taken.held_for_s is not None and 0 <= taken.held_for_s < 5
        assert taken.expires_in_s is not None and 25 < taken.expires_in_s <= 30
        records = [r for e in heard if isinstance(e, OtherRecords) for r in e.records]
        assert [r.seq for r in records] == [1, 2, 3]
        assert all(e.desk_id == "d2" for e in heard if isinstance(e, OtherRecords))
    finally:
        journal.close()


@pytest.mark.parametrize(("channel", "payload"), [
    (LEASES_CHANNEL, "not json"),
    (LEASES_CHANNEL, "[]"),
    (LEASES_CHANNEL, '{"op": "MERGE", "account": "a", "venue": "v", "symbol": "s", '
                     '"desk_id": "d", "intent_id": "i"}'),
    (LEASES_CHANNEL, '{"op": "INSERT", "account": 7, "venue": "v", "symbol": "s", '
                     '"desk_id": "d", "intent_id": "i"}'),
    (LEASES_CHANNEL, '{"op": "INSERT"}'),
    (LEASES_CHANNEL, '{"op": "INSERT", "account": "a", "venue": "v", "symbol": "s", '
                     '"desk_id": "d", "intent_id": "i", "expires_in_s": "30"}'),
    (LEASES_CHANNEL, '{"op": "INSERT", "account": "a", "venue": "v", "symbol": "s", '
                     '"desk_id": "d", "intent_id": "i", "expires_in_s": true}'),
    (LEASES_CHANNEL, '{"op": "INSERT", "account": "a", "venue": "v", "symbol": "s", '
                     '"desk_id": "d", "intent_id": "i", "held_for_s": NaN}'),
    (LEASES_CHANNEL, '{"op": "INSERT", "account": "a", "venue": "v", "symbol": "s", '
                     '"desk_id": "d", "intent_id": "i", "expires_in_s": 1e999}'),
    (LEASES_CHANNEL, '{"op": "INSERT", "account": "a", "venue": "v", "symbol": "s", '
                     '"desk_id": "d", "intent_id": "i", "expires_in_s": 1e12}'),
    (LEASES_CHANNEL, '{"op": "INSERT", "account": "a", "venue": "v", "symbol": "s", '
                     '"desk_id": "d", "intent_id": "i", "operator": 3}'),
    (RECORDS_CHANNEL, '{"desk_id": "d", "desk_seq": "5"}'),
    (RECORDS_CHANNEL, '{"desk_id": "d", "desk_seq": 0}'),
    (RECORDS_CHANNEL, '{"desk_id": "d", "desk_seq": true}'),
    (RECORDS_CHANNEL, '{"desk_id": null, "desk_seq": 3}'),
    ("other_channel", '{"desk_id": "d", "desk_seq": 3}'),
])
def test_a_malformed_notification_is_not_an_event(channel: str, payload: str) -> None:
    assert parse(channel, payload) is None


def test_well_formed_notifications_parse() -> None:
    assert parse(LEASES_CHANNEL, '{"op": "DELETE", "account": "a", "venue": "v", "symbol": '
                 '"s", "desk_id": "d", "intent_id": "i"}') == LeaseChanged(
        LeaseKey("a", "v", "s"), "d", "i", held=False)
    assert parse(LEASES_CHANNEL, '{"op": "UPDATE", "account": "a", "venue": "v", "symbol": '
                 '"s", "desk_id": "d", "intent_id": "i", "operator": "maria", '
                 '"held_for_s": 4.25, "expires_in_s": 26}') == LeaseChanged(
        LeaseKey("a", "v", "s"), "d", "i", held=True, operator="maria", held_for_s=4.25,
        expires_in_s=26.0)


@pytest.mark.asyncio
@pytest.mark.allow_error_logs
async def test_records_stored_while_a_desk_was_cut_off_reach_it_once_afterwards(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    heard: list[Event] = []
    connect = _connector(team_db)
    watcher = Awareness(connect, "d1", heard.append, backoff=(0.05, 0.1))
    journal = Journal(tmp_path / "d2.sqlite3", operator="li")
    replicator = Replicator(journal, connect, "d2", backoff=(0.05, 0.1))

    def seqs() -> list[int]:
        return [r.seq for e in heard if isinstance(e, OtherRecords) for r in e.records]

    def append(n: int) -> None:
        for i in range(n):
            journal.append("order_update", {"i": i}, account="a", venue="qfex", symbol="X")
        journal.flush(timeout=30)
        replicator.wake()

    try:
        async with _running(watcher.run(), replicator.run()):
            await until(lambda: watcher.connected and replicator.status.connected, timeout=30)
            append(5)
            await until(lambda: seqs() == [1, 2, 3, 4, 5], timeout=30)
            await asyncio.to_thread(team_db.cluster.kill)
            try:
                await until(lambda: not watcher.connected, timeout=30)
                append(7)  # waits in the local journal while the database is down
            finally:
                await asyncio.to_thread(team_db.cluster.restart)
            await until(lambda: replicator.status.remote_seq == 12, timeout=60)
            await until(lambda: len(seqs()) >= 12, timeout=60)
        assert seqs() == list(range(1, 13))
    finally:
        journal.close()
