"""The shared journal verified desk by desk, held against a desk's local journal, and listed
for History with each record's desk."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.journal import Journal
from core.team.replica import Replicator
from core.team.store import compare_with_local, team_records, verify_team
from tests.helpers.polling import until
from tests.helpers.postgres import TeamDatabase


async def _copy(journal: Journal, db: TeamDatabase, desk: str, name: str) -> None:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(db.app_dsn)

    replicator = Replicator(journal, connect, desk, desk_name=name, operator=name.lower())
    task = asyncio.create_task(replicator.run())
    try:
        await until(lambda: replicator.status.remote_seq == journal.last_seq(), timeout=60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def _journal(path: Path, operator: str, n: int, symbol: str) -> Journal:
    journal = Journal(path, operator=operator)
    for i in range(n):
        journal.append("order_update", {"i": i}, account="client-7", venue="qfex",
                       symbol=symbol)
    journal.flush(timeout=30)
    return journal


@pytest.mark.asyncio
async def test_every_desks_chain_verifies_and_matches_its_local_journal(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    one = _journal(tmp_path / "1.sqlite3", "maria", 30, "BTC")
    two = _journal(tmp_path / "2.sqlite3", "li", 12, "ETH")
    try:
        await _copy(one, team_db, "d1", "Desk 1")
        await _copy(two, team_db, "d2", "Desk 2")
        with psycopg.connect(team_db.admin_dsn) as db:
            reports = verify_team(db)
            assert {d: (r.ok, r.records) for d, r in reports.items()} == {
                "d1": (True, 30), "d2": (True, 12)}
            assert compare_with_local(db, "d1", one.iter_all()) is None
            assert compare_with_local(db, "d2", two.iter_all()) is None
            assert "record 1 differs" in str(compare_with_local(db, "d1", two.iter_all()))
            rows = team_records(db, symbol="ETH", limit=5)
            assert {(r.desk_id, r.desk_name) for r in rows} == {("d2", "Desk 2")}
            assert [r.record.seq for r in rows] == [12, 11, 10, 9, 8]
    finally:
        one.close()
        two.close()


@pytest.mark.asyncio
async def test_a_longer_local_journal_is_fine_and_a_longer_shared_one_is_not(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    journal = _journal(tmp_path / "1.sqlite3", "maria", 10, "BTC")
    try:
        await _copy(journal, team_db, "d1", "Desk 1")
        with psycopg.connect(team_db.admin_dsn) as db:
            journal.append("order_update", {"i": 10}, symbol="BTC")  # not sent yet
            journal.flush(timeout=30)
            assert compare_with_local(db, "d1", journal.iter_all()) is None
            shorter = list(journal.iter_all())[:6]
            assert "holds record 7" in str(compare_with_local(db, "d1", iter(shorter)))
    finally:
        journal.close()


def test_a_record_changed_behind_the_triggers_back_is_found(team_db: TeamDatabase) -> None:
    from core.journal.chain import GENESIS, digest

    fields = (1, 1.0, "k", None, None, None, "o", None, None, "{}", None)
    first = digest(GENESIS, fields)
    with psycopg.connect(team_db.admin_dsn, autocommit=True) as db:
        db.execute("INSERT INTO desks VALUES ('d', 'D', 'o')")
        db.execute("INSERT INTO records (desk_id, desk_seq, wall_time, kind, operator, payload, "
                   "prev_hash, hash) VALUES ('d', 1, 1.0, 'k', 'o', '{}', %s, %s)",
                   (GENESIS, first))
        assert verify_team(db)["d"].ok
        # A superuser who switches the triggers off can still edit a row: verify finds it.
        db.execute("ALTER TABLE records DISABLE TRIGGER USER")
        db.execute("UPDATE records SET payload = '{\"edited\": 1}'")
        db.execute("ALTER TABLE records ENABLE TRIGGER USER")
        report = verify_team(db)["d"]
        assert not report.ok and report.broken_at == 1 and "hash mismatch" in str(report.why)
