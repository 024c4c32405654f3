"""On a real PostgreSQL: a desk that starts while another holds a lease knows it, with the
desk's name, as soon as its stack says it has caught up (no polling: a flatten plans right
after); and an override right after this desk's own cancel (the cancel's lease still on its
way out) takes nobody's lease, so it is journaled with ``took_from: null``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.journal import Journal
from core.model import PositionKey
from core.team.config import TeamConfig
from core.team.coordinator import TeamCoordinator
from core.team.stack import TeamStack
from core.venues.qfex import QFEX
from tests.helpers.postgres import APP_PASSWORD, TeamDatabase

KEY = PositionKey("client-7", QFEX, "AAPL-USD")


@pytest.mark.asyncio
async def test_a_stack_caught_up_knows_the_leases_already_held_and_their_desks_names(
    team_db: TeamDatabase, tmp_path: Path
) -> None:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(team_db.app_dsn, autocommit=True)

    other = TeamCoordinator(connect, "desk-3", "maria", desk_name="Desk 3")
    journal = Journal(tmp_path / "j.sqlite3", operator="li")
    address = f"postgresql://closeout_app@127.0.0.1:{team_db.cluster.port}/{team_db.name}"
    stack = TeamStack(TeamConfig(address, "Desk 1", 10.0), APP_PASSWORD, journal, "li",
                      desk="desk-1")
    try:
        await other.acquire(KEY, "their-intent")  # held before this desk starts
        await stack.start()
        assert await stack.caught_up(30)
        assert stack.coordinator.elsewhere(KEY) == "Desk 3"
        holder = await stack.coordinator.holder(KEY)
        assert holder is not None and (holder.desk_name, holder.operator) == ("Desk 3", "maria")
    finally:
        await stack.stop(flush_s=0)
        await other.close()
        journal.close()


@pytest.mark.asyncio
async def test_an_override_after_this_desks_own_finished_lease_took_it_from_nobody(
    team_db: TeamDatabase,
) -> None:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(team_db.app_dsn, autocommit=True)

    other = TeamCoordinator(connect, "desk-3", "maria", desk_name="Desk 3")
    mine = TeamCoordinator(connect, "desk-1", "li", desk_name="Desk 1")
    try:
        await other.acquire(KEY, "their-intent")
        first = await mine.override(KEY, "cancel:w-1")  # the cancel takes Desk 3's lease
        assert first.took_from is not None and first.took_from.desk_name == "Desk 3"
        # The cancel is final: its lease is given up in the background. The close's override
        # may find it still there; it is this desk's own, finished: nobody's lease is taken.
        mine.finished(KEY, "cancel:w-1")
        second = await mine.override(KEY, "intent-9")
        assert second.took_from is None and second.locked
        holder = await mine.holder(KEY)
        assert holder is not None and holder.intent_id == "intent-9"
    finally:
        await mine.close()
        await other.close()
