"""Two desks, each with its own session to the same simulated account and its own lease
connection to one PostgreSQL, close the same position at the same moment, round after round
with random timing: the venue receives one close per round, and the desk that lost is told
which desk won. ``CLOSEOUT_RACES`` sets the rounds: 1,000 unless told (``make test`` runs
them; ``make team-race`` runs this test alone and prints the tally).

A round waits on events, never on a clock, so 1,000 of them fit in the suite: the simulator
sends its positions pulse as soon as the round changed the position (instead of on its 1 s
timer), and the desks' own events end each wait."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from core.desk import CloseIntent, Desk
from core.desk.coordination import LeaseHeld
from core.desk.freshness import PositionChanged
from core.model import CloseRequest, Environment, PositionKey
from core.sim import Simulator
from core.team.coordinator import TeamCoordinator
from core.venue import AccountConfig, Credentials
from core.venues.qfex import QFEX
from tests.helpers.polling import desks_until
from tests.helpers.postgres import TeamDatabase

SYMBOL = "AAPL-USD"
ROUNDS = int(os.environ.get("CLOSEOUT_RACES", "1000"))


@contextlib.asynccontextmanager
async def _desk(sim: Simulator, db: TeamDatabase, desk_id: str, operator: str,
                account: tuple[AccountConfig, Credentials]
                ) -> AsyncIterator[tuple[Desk, TeamCoordinator]]:
    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(db.app_dsn, autocommit=True)

    async with await connect() as conn:
        await conn.execute("INSERT INTO desks (desk_id, name, operator) VALUES (%s, %s, %s)",
                           (desk_id, f"Desk {desk_id[-1]}", operator))
    coordinator = TeamCoordinator(connect, desk_id, operator, desk_name=f"Desk {desk_id[-1]}",
                                  ttl_s=10)
    desk = Desk(coordinator=coordinator)
    try:
        assert await desk.start([account]) == []
        yield desk, coordinator
    finally:
        await desk.stop()
        await coordinator.close()


@pytest.mark.asyncio
@pytest.mark.timeout(600)
async def test_two_desks_closing_at_once_send_one_close_and_the_loser_hears_who_won(
    bare_sim: Simulator, team_db: TeamDatabase,
) -> None:
    sim = bare_sim
    pub, secret = sim.add_account("qfex", "client-7", [(SYMBOL, Decimal(40), Decimal(220))])
    q = sim.info.qfex
    account = (AccountConfig("client-7", QFEX, Environment.DEMO, pub,
                             {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}),
               Credentials(pub, secret))
    qfex = sim.qfex
    market = qfex.market
    venue_account = sim.account_id("qfex", pub)
    key = PositionKey("client-7", QFEX, SYMBOL)
    rng = random.Random(int(os.environ.get("CLOSEOUT_RACE_SEED", "11")))
    async with _desk(sim, team_db, "d1", "maria", account) as (one, one_leases), \
            _desk(sim, team_db, "d2", "li", account) as (two, two_leases):
        desks = {"d1": one, "d2": two}

        def set_size(size: Decimal) -> None:
            market.set_position(venue_account, SYMBOL, size, Decimal(220))
            qfex.pulse()

        counted = 0  # how much of the venue's log has been counted

        def closes_since_last_asked() -> int:
            nonlocal counted
            log = sim.requests("qfex")
            fresh, counted = log[counted:], len(log)
            return sum(1 for r in fresh
                       if qfex.is_request(r) and r.kind in qfex.request_groups["close"])

        assert closes_since_last_asked() == 0
        refused = {"lease": 0, "flat": 0}
        for round_ in range(ROUNDS):
            size = Decimal(rng.randint(1, 50))
            await sim.acall(lambda s=size: set_size(s))
            await desks_until(desks.values(), lambda s=size: all(
                (p := d.positions.get(key)) is not None and p.quantity == s
                for d in desks.values()), timeout=30, what=f"round {round_}: both see {size}")

            async def close(desk: Desk, delay: float, s: Decimal = size) -> Any:
                await asyncio.sleep(delay)
                pos = desk.positions[key]
                try:
                    return await desk.close(CloseRequest(key, pos.side, s))
                except (LeaseHeld, PositionChanged) as exc:
                    return exc

            results = dict(zip(desks, await asyncio.gather(
                *(close(d, rng.random() * 0.003) for d in desks.values())), strict=True))
            won = [name for name, r in results.items() if not isinstance(r, Exception)]
            assert len(won) == 1, (round_, results)
            (loser_name,) = set(desks) - set(won)
            lost = results[loser_name]
            if isinstance(lost, LeaseHeld):
                assert lost.holder.desk_id == won[0], (round_, lost.holder)
                operator = {"d1": "maria", "d2": "li"}[won[0]]
                assert lost.holder.operator == operator
                assert f"Desk {won[0][-1]} ({operator}) is closing this" in str(lost), lost
                refused["lease"] += 1
            else:  # it asked after the winner was done and saw the position flat
                assert "already flat" in str(lost), (round_, lost)
                refused["flat"] += 1
            intent: CloseIntent = results[won[0]]
            await desks_until(desks.values(), lambda i=intent: i.state.settled, timeout=30,
                              what=f"round {round_}: the winner's close settled")
            await sim.acall(qfex.pulse)  # the venue shows it flat
            await desks_until(desks.values(), lambda i=intent: (
                key not in one.positions and key not in two.positions
                and i.verified_flat is not None),
                timeout=30, what=f"round {round_}: flat on both desks")
            assert closes_since_last_asked() == 1, round_
            assert intent.verified_flat, (round_, intent)
            assert one_leases.held == [] and two_leases.held == [], round_  # given up
        print(f"{ROUNDS} rounds: the loser was refused by the lease {refused['lease']} times, "
              f"and found the position already flat {refused['flat']} times")
        assert refused["lease"] > 0  # the desks did meet at the lease, not only one by one
