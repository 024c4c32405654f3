"""The shared journal paged for History: two desks' records interleaved, paged down and back up
with nothing skipped or doubled, filtered in SQL, a late commit and a late replay never
skipped, and the database killed mid-read (a clean error, then the same reads again)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import psycopg
import pytest

from core.journal import JournalFilter
from core.team.history import TeamHistory, TeamUnreachable
from core.team.setup import prepare
from core.team.store import TeamRecord
from tests.helpers.polling import until
from tests.helpers.postgres import APP_PASSWORD, TeamDatabase
from tests.helpers.team_records import (
    INSERT,
    KINDS,
    SYMBOLS,
    columns,
    history,
    journal,
    register,
    store,
    write,
)


def key(r: TeamRecord) -> tuple[str, int]:
    return r.desk_id, r.record.seq


async def walk_down(h: TeamHistory, where: JournalFilter, *, desk: str | None = None,
                    size: int = 7) -> list[TeamRecord]:
    out: list[TeamRecord] = []
    before = None
    while True:
        page = await h.page(where, desk=desk, before=before, limit=size)
        out += page
        if len(page) < size:
            return out
        before = page[-1].stored_id


@pytest.mark.asyncio
async def test_two_desks_interleaved_page_down_and_back_up_without_gap_or_double(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    register(team_db, ("d1", "Desk 1"), ("d2", "Desk 2"))
    with journal(tmp_path / "1.db", "maria") as one, journal(tmp_path / "2.db", "li") as two:
        for round_ in range(4):  # batches of each desk in turn, as two replicators would
            store(team_db, "d1", write(one, 9, start=round_ * 9))
            store(team_db, "d2", write(two, 5, start=round_ * 5))
        h = history(team_db)
        try:
            down = await walk_down(h, JournalFilter())
            ids = [r.stored_id for r in down]
            assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids)
            assert sorted(key(r) for r in down) == sorted(
                [("d1", s) for s in range(1, 37)] + [("d2", s) for s in range(1, 21)])
            assert {(r.desk_id, r.desk_name, r.record.operator) for r in down} == {
                ("d1", "Desk 1", "maria"), ("d2", "Desk 2", "li")}
            assert [key(r) for r in down[:6]] == [*[("d2", s) for s in range(20, 15, -1)],
                                                  ("d1", 36)]
            # Back up from the oldest, oldest first, a page at a time.
            up: list[TeamRecord] = []
            after = 0
            while page := await h.page(JournalFilter(), after=after, limit=6,
                                       newest_first=False):
                up += page
                after = page[-1].stored_id
            assert [key(r) for r in up] == [key(r) for r in reversed(down)]
        finally:
            await h.close()


@pytest.mark.asyncio
async def test_filters_run_in_sql_and_a_desk_filter_narrows_to_one_desk(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    register(team_db, ("d1", "Desk 1"), ("d2", "Desk 2"))
    with journal(tmp_path / "1.db", "maria") as one, journal(tmp_path / "2.db", "li") as two:
        store(team_db, "d1", write(one, 30))
        store(team_db, "d2", write(two, 24))
        h = history(team_db)
        try:
            everything = await walk_down(h, JournalFilter(), size=100)
            middle = sorted(r.record.wall_time for r in everything)[len(everything) // 2]
            cases: list[tuple[JournalFilter, str | None]] = [
                (JournalFilter(account="beta"), None),
                (JournalFilter(symbol="ETH"), "d2"),
                (JournalFilter(kinds=frozenset({"fill", "intent"})), None),
                (JournalFilter(account="alpha", symbol="SOL"), "d1"),
                (JournalFilter(since=middle), None),
                (JournalFilter(until=middle), "d1"),
            ]
            for where, desk in cases:
                got = await walk_down(h, where, desk=desk, size=4)
                want = [r for r in everything if (desk is None or r.desk_id == desk)
                        and (where.account is None or r.record.account == where.account)
                        and (where.symbol is None or r.record.symbol == where.symbol)
                        and (where.kinds is None or r.record.kind in where.kinds)
                        and (where.since is None or r.record.wall_time >= where.since)
                        and (where.until is None or r.record.wall_time < where.until)]
                assert want, where
                assert [key(r) for r in got] == [key(r) for r in want], (where, desk)
            assert await h.distinct("symbol") == sorted(SYMBOLS)
            assert await h.distinct("kind") == sorted(KINDS)
            assert await h.desks() == [("d1", "Desk 1"), ("d2", "Desk 2")]
            assert await h.count_after(JournalFilter(symbol="BTC"), everything[10].stored_id,
                                       desk="d2") == (
                sum(1 for r in everything[:10] if r.desk_id == "d2"
                    and r.record.symbol == "BTC"),
                max(r.stored_id for r in everything[:10] if r.desk_id == "d2"
                    and r.record.symbol == "BTC"))
        finally:
            await h.close()


@pytest.mark.asyncio
async def test_a_late_commit_is_not_skipped_by_a_reader_following_the_newest(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    """Desk 1's batch takes its ids first but commits last: desk 2's insert waits for it
    (the order lock), so a reader that saw the newest id has seen everything below it."""
    register(team_db, ("d1", "Desk 1"), ("d2", "Desk 2"))
    with journal(tmp_path / "1.db", "maria") as one, journal(tmp_path / "2.db", "li") as two:
        first, second = write(one, 3), write(two, 4)
        h = history(team_db)
        slow = await psycopg.AsyncConnection.connect(team_db.app_dsn)
        try:
            await slow.execute(INSERT, ["d1", *columns(first)])  # not committed yet

            def other() -> None:
                store(team_db, "d2", second)

            late = asyncio.create_task(asyncio.to_thread(other))
            with psycopg.connect(team_db.admin_dsn, autocommit=True) as admin:
                await until(lambda: admin.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND NOT granted").fetchone() == (1,), timeout=30)
            assert await h.page(JournalFilter()) == []
            await slow.commit()
            await late
            seen = await h.page(JournalFilter(), after=0, newest_first=False)
            assert [key(r) for r in seen] == [("d1", 1), ("d1", 2), ("d1", 3), ("d2", 1),
                                             ("d2", 2), ("d2", 3), ("d2", 4)]
        finally:
            await slow.close()
            await h.close()


@pytest.mark.asyncio
async def test_a_desk_replaying_its_queue_late_is_seen_once_at_the_top(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    """Desk 2 wrote while the database was away; its records (older wall times) are stored
    after desk 1's newer ones. A reader following the newest sees them come, once."""
    register(team_db, ("d1", "Desk 1"), ("d2", "Desk 2"))
    with journal(tmp_path / "1.db", "maria") as one, journal(tmp_path / "2.db", "li") as two:
        queued = write(two, 6)  # written first: the older wall times
        store(team_db, "d1", write(one, 5))
        h = history(team_db)
        try:
            top = await h.page(JournalFilter(), limit=3)
            assert [key(r) for r in top] == [("d1", 5), ("d1", 4), ("d1", 3)]
            store(team_db, "d2", queued[:4])  # the replay, in two batches
            new = await h.page(JournalFilter(), after=top[0].stored_id, limit=3)
            assert [key(r) for r in new] == [("d2", 4), ("d2", 3), ("d2", 2)]
            store(team_db, "d2", queued[4:])
            assert await h.count_after(JournalFilter(), new[0].stored_id) == (
                2, new[0].stored_id + 2)
            down = await walk_down(h, JournalFilter(), size=4)
            assert sorted(key(r) for r in down) == sorted(
                [("d1", s) for s in range(1, 6)] + [("d2", s) for s in range(1, 7)])
            assert max(r.record.wall_time for r in down if r.desk_id == "d2") < min(
                r.record.wall_time for r in down if r.desk_id == "d1")
        finally:
            await h.close()


@pytest.mark.asyncio
async def test_the_database_killed_mid_read_is_a_clean_error_then_reads_resume(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    register(team_db, ("d1", "Desk 1"))
    with journal(tmp_path / "1.db", "maria") as one:
        store(team_db, "d1", write(one, 12))
        h = history(team_db)
        try:
            first = await h.page(JournalFilter(), limit=5)
            team_db.cluster.kill()
            try:
                with pytest.raises(TeamUnreachable):
                    await h.page(JournalFilter(), before=first[-1].stored_id, limit=5)
                with pytest.raises(TeamUnreachable):
                    await h.count_after(JournalFilter(), first[0].stored_id)
            finally:
                team_db.cluster.restart()
            rest = await h.page(JournalFilter(), before=first[-1].stored_id, limit=50)
            assert [key(r) for r in first + rest] == [("d1", s) for s in range(12, 0, -1)]
        finally:
            await h.close()


def test_a_version_1_database_in_use_is_brought_up_to_date_and_still_takes_records(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    register(team_db, ("d1", "Desk 1"))
    with journal(tmp_path / "1.db", "maria") as one:
        store(team_db, "d1", write(one, 3))
        with psycopg.connect(team_db.admin_dsn) as db:  # as version 1 left it
            db.execute("DROP TRIGGER records_order ON records")
            db.execute("ALTER TABLE records DROP COLUMN stored_id")
            db.execute("UPDATE closeout_schema SET version = 1")
        prepare(team_db.cluster.dsn(), app_password=APP_PASSWORD, database=team_db.name)
        store(team_db, "d1", write(one, 2))
        with psycopg.connect(team_db.admin_dsn) as db:
            assert db.execute("SELECT version FROM closeout_schema").fetchall() == [(2,)]
            rows = db.execute("SELECT desk_seq, stored_id FROM records ORDER BY desk_seq")
            ids = [int(r[1]) for r in rows.fetchall()]
        assert ids == sorted(ids) and len(set(ids)) == 5
