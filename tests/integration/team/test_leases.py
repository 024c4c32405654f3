"""Close leases decided by PostgreSQL: of desks asking at once exactly one wins and the others
learn who; a vanished desk's lease expires and can be taken; an override says whose it took."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from typing import Any

import psycopg
import pytest

from core.desk.coordination import Holder
from core.team.leases import Granted, LeaseKey, Leases
from tests.helpers.postgres import TeamDatabase

KEY = LeaseKey("client-7", "qfex", "BTC-USD")


@contextlib.asynccontextmanager
async def _desks(db: TeamDatabase, *names: str, ttl_s: float = 30.0
                 ) -> AsyncIterator[list[Leases]]:
    conns: list[psycopg.AsyncConnection[Any]] = []
    try:
        desks = []
        for i, name in enumerate(names, 1):
            conn = await psycopg.AsyncConnection.connect(db.app_dsn, autocommit=True)
            conns.append(conn)
            await conn.execute("INSERT INTO desks (desk_id, name, operator) VALUES (%s, %s, %s)",
                               (f"d{i}", f"Desk {i}", name))
            desks.append(Leases(conn, f"d{i}", name, ttl_s=ttl_s))
        yield desks
    finally:
        for conn in conns:
            await conn.close()


@pytest.mark.asyncio
async def test_of_three_desks_asking_at_once_exactly_one_wins_each_time(
    team_db: TeamDatabase,
) -> None:
    rng = random.Random(5)
    async with _desks(team_db, "maria", "li", "sam") as desks:
        for round_ in range(300):
            async def ask(desk: Leases, intent: str) -> Granted | Holder:
                await asyncio.sleep(rng.random() * 0.002)
                return await desk.take(KEY, intent)

            results = await asyncio.gather(*(ask(d, f"{d.desk_id}-{round_}") for d in desks))
            winners = [r for r in results if isinstance(r, Granted)]
            assert len(winners) == 1, results
            winner = desks[results.index(winners[0])]
            for lost in (r for r in results if isinstance(r, Holder)):
                assert (lost.desk_id, lost.operator, lost.intent_id) == (
                    winner.desk_id, winner.operator, winners[0].intent_id)
                assert lost.desk_name == f"Desk {winner.desk_id[1:]}"
            assert await winner.release(KEY, winners[0].intent_id)


@pytest.mark.asyncio
async def test_the_holder_renews_and_a_second_intent_of_the_same_desk_waits(
    team_db: TeamDatabase,
) -> None:
    async with _desks(team_db, "maria") as (desk,):
        assert isinstance(await desk.take(KEY, "i1"), Granted)
        assert isinstance(await desk.take(KEY, "i1"), Granted)  # asking again is harmless
        held = await desk.take(KEY, "i2")
        assert isinstance(held, Holder) and held.intent_id == "i1"
        assert await desk.renew(KEY, "i1")
        assert not await desk.renew(KEY, "i2")
        assert not await desk.release(KEY, "i2")
        assert await desk.release(KEY, "i1")
        assert await desk.holder(KEY) is None


@pytest.mark.asyncio
async def test_a_vanished_desks_lease_expires_then_another_desk_takes_it(
    team_db: TeamDatabase,
) -> None:
    async with _desks(team_db, "maria", "li", ttl_s=0.3) as (gone, other):
        assert isinstance(await gone.take(KEY, "a"), Granted)
        first = await other.take(KEY, "b")
        assert isinstance(first, Holder) and 0 < first.expires_in_s <= 0.3
        async with asyncio.timeout(30):
            while isinstance(await other.take(KEY, "b"), Holder):  # noqa: ASYNC110
                await asyncio.sleep(0.05)  # expiry is the server's clock: nothing to await
        assert not await gone.renew(KEY, "a")  # too late: it is the other desk's now
        assert not await gone.release(KEY, "a")
        holder = await gone.holder(KEY)
        assert holder is not None and holder.desk_id == "d2"


@pytest.mark.asyncio
async def test_an_override_takes_the_lease_and_names_whose_it_was(team_db: TeamDatabase) -> None:
    async with _desks(team_db, "maria", "li") as (first, second):
        await first.take(KEY, "a")
        granted = await second.override(KEY, "b")
        assert granted.overrode == ("d1", "maria", "a")
        holder = await first.holder(KEY)
        assert holder is not None and (holder.desk_id, holder.intent_id) == ("d2", "b")
        assert (await second.override(LeaseKey("x", "qfex", "Y"), "c")).overrode is None


def test_the_holder_text_says_who_and_for_how_long() -> None:
    held = Holder("d3", "Desk 3", "maria", "i", 4.2, 25.6)
    assert held.text() == "Desk 3 (maria) is closing this · 4 s, expires in 26 s"


@pytest.mark.asyncio
async def test_a_time_to_live_must_be_positive(team_db: TeamDatabase) -> None:
    async with await psycopg.AsyncConnection.connect(team_db.app_dsn) as conn:
        with pytest.raises(ValueError, match="above 0"):
            Leases(conn, "d", "o", ttl_s=0)
