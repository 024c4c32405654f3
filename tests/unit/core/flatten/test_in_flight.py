"""Flatten's in-flight limits over the real desk with hand-written venue fakes: each account's
own limit (from its options), the venue-wide cap, both at once, and the order closes start in.
The fakes count what is in flight, per account and in all."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from core.desk import Desk
from core.flatten import FlattenScope, Outcome, build_plan, execute
from core.journal import Journal
from core.model import Environment, Position, PositionKey, PositionSide
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.everstrike.options import DEFAULT_MAX_IN_FLIGHT
from core.venues.qfex import QFEX
from tests.helpers.fakes import FlatSession, World

D = Decimal
PAIRS = ["USD_BTC_PERP", "USD_ETH_PERP", "USD_SOL_PERP", "USD_XRP_PERP", "USD_DOGE_PERP",
         "USD_BTCCALL_PERP"]


def positions(account: str, n: int) -> list[Position]:
    return [Position(PositionKey(account, EVERSTRIKE, s), PositionSide.LONG, D(1),
                     entry_price=None, mark_price=D(100)) for s in PAIRS[:n]]


async def desk_of(world: World, accounts: dict[str, tuple[int, str | None]],
                  journal: Journal | None = None) -> Desk:
    """Everstrike accounts: name -> (positions, its ``max_in_flight`` option or None)."""

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FlatSession:
        s = FlatSession(acct, creds, sink, world)
        s.initial = tuple(positions(acct.name, accounts[acct.name][0]))
        world.sessions[acct.name] = s
        return s

    desk = Desk(journal=journal, session_factory=factory)
    configs = [
        (AccountConfig(name, EVERSTRIKE, Environment.DEMO, "pub",
                       options={} if limit is None else {"max_in_flight": limit}),
         Credentials("pub", "s3cr3t"))
        for name, (_, limit) in accounts.items()
    ]
    assert await desk.start(configs) == []
    return desk


def sent_once(world: World, count: int) -> None:
    closes = [what for kind, what in world.log if kind == "close"]
    assert len(closes) == len(set(closes)) == count  # nothing dropped, nothing sent twice


@pytest.mark.asyncio
async def test_each_account_keeps_to_its_own_limit() -> None:
    world = World()
    desk = await desk_of(world, {"e1": (6, "2"), "e2": (6, "3")})
    world.yields = 5  # a little wire time, so closes overlap where they may
    report = await execute(desk, build_plan(desk, FlattenScope.everything(), reason=None),
                           concurrency={}).wait()
    assert world.max_in_flight_by == {"e1": 2, "e2": 3}  # concurrent, never more
    assert world.max_in_flight == 5
    assert report.totals[Outcome.CLOSED_VERIFIED_FLAT] == 12
    sent_once(world, 12)
    await desk.stop()


@pytest.mark.asyncio
async def test_the_venue_cap_and_the_account_limits_hold_together() -> None:
    world = World()
    desk = await desk_of(world, {"e1": (4, "2"), "e2": (4, "2"), "e3": (4, None)})
    world.yields = 5
    report = await execute(desk, build_plan(desk, FlattenScope.everything(), reason=None),
                           concurrency={EVERSTRIKE: 3}).wait()
    assert world.max_in_flight == 3
    assert world.max_in_flight_by["e1"] <= 2 and world.max_in_flight_by["e2"] <= 2
    assert report.all_flat
    sent_once(world, 12)
    await desk.stop()


@pytest.mark.asyncio
async def test_accounts_take_turns_for_the_venue_slots() -> None:
    """With one slot on the venue, closes leave one account after another, not all of the
    first account's positions first (the plan lists them account by account)."""
    world = World()
    desk = await desk_of(world, {"e1": (3, None), "e2": (3, None), "e3": (1, None)})
    plan = build_plan(desk, FlattenScope.everything(), reason=None)
    assert [i.key.account for i in plan.items] == ["e1"] * 3 + ["e2"] * 3 + ["e3"]
    report = await execute(desk, plan, concurrency={EVERSTRIKE: 1}).wait()
    order = [what.split("/")[0] for kind, what in world.log if kind == "close"]
    assert order == ["e1", "e2", "e3", "e1", "e2", "e1", "e2"]
    assert [s.key for s in report.items] == [i.key for i in plan.items]  # the report's order
    await desk.stop()


@pytest.mark.asyncio
async def test_the_limits_in_force_are_journaled_with_the_start(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", operator="tester")
    world = World()
    desk = await desk_of(world, {"e1": (2, "2"), "e2": (1, None)}, journal)
    await execute(desk, build_plan(desk, FlattenScope.everything(), reason=None),
                  concurrency={EVERSTRIKE: 5, QFEX: 0}).wait()
    (start,) = [r for r in journal.records(limit=1000) if r.kind == "flatten_start"]
    assert json.loads(start.payload)["in_flight"] == {
        "venues": {"everstrike": 5}, "accounts": {"e1": 2, "e2": DEFAULT_MAX_IN_FLIGHT}}
    await desk.stop()
    journal.close()
