"""Two desks' team stacks on one PostgreSQL: what one desk's lease and journal do reaches the
other (the row "closing by Desk A", the records with their desk's name), and a stop leaves the
shared journal caught up. The desk keeps its id across starts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from core.journal import Journal
from core.model import PositionKey
from core.team.awareness import OtherRecords
from core.team.config import TeamConfig
from core.team.link import LinkPhase
from core.team.stack import TeamStack, desk_id
from core.venues.qfex import QFEX
from tests.helpers.polling import until
from tests.helpers.postgres import APP_PASSWORD, TeamDatabase

KEY = PositionKey("client-7", QFEX, "AAPL-USD")


def _config(db: TeamDatabase, name: str) -> TeamConfig:
    address = f"postgresql://closeout_app@127.0.0.1:{db.cluster.port}/{db.name}"
    return TeamConfig(address, name, 10.0)


@pytest.mark.asyncio
async def test_one_desks_lease_and_records_reach_the_other(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    ja = Journal(tmp_path / "a.sqlite3", operator="maria")
    jb = Journal(tmp_path / "b.sqlite3", operator="li")
    heard: list[tuple[str, OtherRecords]] = []
    a = TeamStack(_config(team_db, "Desk A"), APP_PASSWORD, ja, "maria", desk="desk-a")
    b = TeamStack(_config(team_db, "Desk B"), APP_PASSWORD, jb, "li", desk="desk-b",
                  on_records=lambda name, event: heard.append((name, event)))
    try:
        await a.start()
        await b.start()
        await until(lambda: b.awareness.connected and a.replicator.status.connected,
                    timeout=30)
        await a.coordinator.acquire(KEY, "intent-1")
        await until(lambda: b.coordinator.elsewhere(KEY) is not None, timeout=30)
        await until(lambda: b.coordinator.elsewhere(KEY) == "Desk A", timeout=30)
        ja.append("intent", {"q": 1}, account="client-7", venue="qfex", symbol="AAPL-USD",
                  intent_id="intent-1")
        ja.flush(timeout=30)
        await until(lambda: sum(len(e.records) for _, e in heard) == 1, timeout=30)
        assert heard[0][0] == "Desk A" and heard[0][1].records[0].intent_id == "intent-1"
        a.coordinator.finished(KEY, "intent-1")
        await until(lambda: b.coordinator.elsewhere(KEY) is None, timeout=30)
        ja.append("intent_state", {"state": "Filled"}, intent_id="intent-1")
        ja.flush(timeout=30)
    finally:
        assert await a.stop(flush_s=10) == 0  # the stop let the copy catch up
        await b.stop(flush_s=10)
        ja.close()
        jb.close()


def test_a_desk_keeps_its_id(tmp_path: Path) -> None:
    first = desk_id(tmp_path)
    assert first.startswith("desk-") and desk_id(tmp_path) == first
    assert (tmp_path / "desk-id").read_text().strip() == first
    assert desk_id(tmp_path / "other") != first


@pytest.mark.asyncio
@pytest.mark.allow_error_logs
async def test_with_the_database_away_a_stack_starts_and_stops_without_hanging(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "a.sqlite3", operator="maria")
    config = TeamConfig("postgresql://closeout_app@127.0.0.1:9/closeout", "Desk A", 10.0)
    stack = TeamStack(config, "x", journal, "maria", desk="desk-a")
    try:
        await stack.start()
        journal.append("intent", {"q": 1})
        journal.flush(timeout=30)
        await asyncio.sleep(0)
        assert await stack.stop(flush_s=0.5) == 1  # it waits in the local journal
        assert not stack.replicator.status.connected
        assert stack.replicator.status.remote_seq == 0
    finally:
        journal.close()


@pytest.mark.asyncio
@pytest.mark.allow_error_logs
async def test_with_the_database_away_the_link_is_down_and_counts_what_waits(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "a.sqlite3", operator="maria")
    config = TeamConfig("postgresql://closeout_app@127.0.0.1:9/closeout", "Desk A", 10.0)
    stack = TeamStack(config, "x", journal, "maria", desk="desk-a")
    try:
        assert stack.link().phase is LinkPhase.STARTING
        await stack.start()
        await until(lambda: stack.link().phase is LinkPhase.DOWN, timeout=30)
        assert stack.link().last_error
        for n in range(1, 4):  # the backlog grows as records are written, never connected
            journal.append("intent", {"q": n})
            journal.flush(timeout=30)
            await until(lambda n=n: stack.link().queued == n, timeout=30)
        assert stack.link().remote_seq == 0 and stack.link().local_seq == 3
    finally:
        assert await stack.stop(flush_s=0.5) == 3
        journal.close()


@pytest.mark.asyncio
async def test_a_connected_link_is_up_and_names_the_leases_held(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "a.sqlite3", operator="maria")
    stack = TeamStack(_config(team_db, "Desk A"), APP_PASSWORD, journal, "maria",
                      desk="desk-a")
    try:
        await stack.start()
        await until(lambda: stack.link().phase is LinkPhase.UP, timeout=30)
        await stack.coordinator.acquire(KEY, "intent-1")
        assert stack.link().held == (KEY,)
        journal.append("intent", {"q": 1}, intent_id="intent-1")
        journal.flush(timeout=30)
        await until(lambda: stack.link().remote_seq == 1, timeout=30)
        assert stack.link().queued == 0 and stack.link().last_error is None
        stack.coordinator.finished(KEY, "intent-1")
        assert stack.link().held == ()
    finally:
        assert await stack.stop(flush_s=10) == 0
        journal.close()
