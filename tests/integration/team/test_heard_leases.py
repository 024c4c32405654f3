"""Another desk's lease as a desk hears it through its team stack: with who and for how long,
shown until it is given up or runs out. A desk that vanished sends no word when its lease runs
out, and a desk that starts late reads the leases that still hold, not the dead ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.journal import Journal
from core.model import PositionKey
from core.team.config import TeamConfig
from core.team.leases import LeaseKey, Leases
from core.team.stack import TeamStack
from core.venues.qfex import QFEX
from tests.helpers.polling import until
from tests.helpers.postgres import APP_PASSWORD, TeamDatabase

KEY = PositionKey("client-7", QFEX, "AAPL-USD")
LEASE = LeaseKey("client-7", "qfex", "AAPL-USD")
OTHER = LeaseKey("client-7", "qfex", "TSLA-USD")


def _stack(db: TeamDatabase, journal: Journal) -> TeamStack:
    address = f"postgresql://closeout_app@127.0.0.1:{db.cluster.port}/{db.name}"
    return TeamStack(TeamConfig(address, "Desk B", 10.0), APP_PASSWORD, journal, "li",
                     desk="desk-b")


async def _vanished_desk(db: TeamDatabase) -> psycopg.AsyncConnection[Any]:
    """A desk that takes leases and never renews them, as one killed would."""
    conn = await psycopg.AsyncConnection.connect(db.app_dsn, autocommit=True)
    await conn.execute("INSERT INTO desks VALUES ('desk-c', 'Desk C', 'maria')")
    return conn


@pytest.mark.asyncio
async def test_a_lease_nobody_renews_stops_naming_its_desk_when_it_runs_out(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "b.sqlite3", operator="li")
    stack = _stack(team_db, journal)
    told: list[PositionKey] = []
    stack.coordinator.attach(told.append)
    async with await _vanished_desk(team_db) as conn:
        try:
            await stack.start()
            await until(lambda: stack.awareness.connected, timeout=30)
            await Leases(conn, "desk-c", "maria", ttl_s=1.5).take(LEASE, "intent-c")
            await until(lambda: stack.coordinator.elsewhere(KEY) == "Desk C", timeout=30)
            holder = stack.coordinator.heard(KEY)
            assert holder is not None and (holder.desk_name, holder.operator) == \
                ("Desk C", "maria")
            assert 0 < holder.expires_in_s <= 1.5
            told.clear()
            # No notification comes when it runs out: the desk's own deadline clears the row.
            await until(lambda: stack.coordinator.elsewhere(KEY) is None, timeout=30)
            await until(lambda: KEY in told, timeout=30)
            assert stack.coordinator.heard(KEY) is None
            cur = await conn.execute("SELECT count(*) FROM leases")
            assert await cur.fetchone() == (1,)  # the row is still there, expired
        finally:
            await stack.stop(flush_s=0)
            journal.close()


@pytest.mark.asyncio
async def test_a_desk_starting_late_reads_the_leases_that_still_hold(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "b.sqlite3", operator="li")
    stack = _stack(team_db, journal)
    async with await _vanished_desk(team_db) as conn:
        try:
            await Leases(conn, "desk-c", "maria", ttl_s=0.001).take(OTHER, "dead")
            await Leases(conn, "desk-c", "maria", ttl_s=600).take(LEASE, "live")
            await stack.start()
            await until(lambda: stack.coordinator.elsewhere(KEY) == "Desk C", timeout=30)
            holder = stack.coordinator.heard(KEY)
            assert holder is not None and holder.intent_id == "live"
            assert 590 < holder.expires_in_s <= 600
            assert stack.coordinator.elsewhere(PositionKey("client-7", QFEX, "TSLA-USD")) \
                is None
        finally:
            await stack.stop(flush_s=0)
            journal.close()
