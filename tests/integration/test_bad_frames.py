"""Every kind of frame a venue should never send, on every socket of both venues, against the
simulator: each is one journaled protocol error (counted once, whole or in a summary), the
desk says so to its listeners, the book stays the venue's, and the session keeps reading.

The frames come from ``bench.hostile_frames`` (written from the venue documents), pushed by the
simulator's ``inject_malformed`` knob. The live fuzz (``make fuzz-live``) sends thousands.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from bench.fuzz_live import EVERSTRIKE_MAX_FRAME
from bench.hostile_frames import KINDS, OVERSIZED, SOCKETS, hostile, oversized
from core.desk import Desk
from core.journal import Journal
from core.model import ConnectionEvent, ConnectionState, Environment, ProtocolError
from core.sim import Simulator
from core.venue import AccountConfig, Credentials, EventSink, ReconnectPolicy, VenueSession
from core.venues import session_class
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from core.venues.qfex.sockets import MAX_FRAME as QFEX_MAX_FRAME
from tests.helpers.polling import market_data, until

QFEX_SYMBOL = "AAPL-USD"
ES_PAIR = "USD_ETH_PERP"


@dataclass
class World:
    sim: Simulator
    desk: Desk
    journal: Journal
    heard: list[ProtocolError]
    connected: list[str]  # the account of every CONNECTED event, in order
    market: dict[str, tuple[str, str]]  # our account -> (simulated venue, its market account)


@pytest_asyncio.fixture
async def world(bare_sim: Simulator, tmp_path: Path) -> AsyncIterator[World]:
    """The real desk, journal and sessions of one account per venue; reconnects are quick,
    and repeats of a protocol error are summed up after 50 ms instead of 10 s."""
    sim = bare_sim
    sim.qfex.settings.positions_interval = 0.05  # trade-socket pushes carry the frames out
    sim.qfex.settings.mds_interval = 0.05  # and market_stats pushes, the MDS socket's
    q_pub, q_sec = sim.add_account("qfex", "bad-q", [(QFEX_SYMBOL, Decimal(40), Decimal(220))])
    e_pub, e_sec = sim.add_account("everstrike", "bad-e", [(ES_PAIR, Decimal("-3.5"),
                                                            Decimal(4400))])
    q, e = sim.info.qfex, sim.info.everstrike
    policy = ReconnectPolicy(initial=0.05, maximum=0.5)

    def factory(account: AccountConfig, creds: Credentials, sink: EventSink) -> VenueSession:
        return session_class(account.venue)(account, creds, sink, reconnect=policy)

    journal = Journal(tmp_path / "journal.sqlite3", operator="tester")
    desk = Desk(journal=journal, session_factory=factory, protocol_error_window=0.05)
    heard: list[ProtocolError] = []
    connected: list[str] = []

    def listen(event: object) -> None:
        if isinstance(event, ProtocolError):
            heard.append(event)
        elif isinstance(event, ConnectionEvent) and event.state is ConnectionState.CONNECTED:
            connected.append(event.account)

    desk.subscribe(listen)
    accounts = [
        (AccountConfig("bad-q", QFEX, Environment.DEMO, q_pub,
                       {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}),
         Credentials(q_pub, q_sec)),
        (AccountConfig("bad-e", EVERSTRIKE, Environment.DEMO, e_pub, {"rest": e.rest, "ws": e.ws}),
         Credentials(e_pub, e_sec)),
    ]
    try:
        assert await desk.start(accounts) == []
        await market_data(desk)
        market = {"bad-q": ("qfex", sim.account_id("qfex", q_pub)),
                  "bad-e": ("everstrike", sim.account_id("everstrike", e_pub))}
        yield World(sim, desk, journal, heard, connected, market)
    finally:
        await desk.stop()
        journal.close()


def counted(world: World) -> int:
    return sum(e.count for e in world.heard)


def desk_book(world: World) -> dict[tuple[str, str], Decimal]:
    return {(k.account, k.symbol): p.signed_quantity for k, p in world.desk.positions.items()}


def venue_book(world: World) -> dict[tuple[str, str], Decimal]:
    out = {}
    for name, (venue, account) in world.market.items():
        market = world.sim.venue(venue).market
        for p in world.sim.call(lambda m=market, a=account: m.account_positions(a)):
            out[(name, p.symbol)] = p.size
    return out


def journaled(journal: Journal) -> list[dict[str, object]]:
    journal.flush()
    return [json.loads(r.payload) for r in journal.iter_all() if r.kind == "protocol_error"]


@pytest.mark.asyncio
@pytest.mark.parametrize("socket", list(SOCKETS))
async def test_each_kind_of_bad_frame_is_one_journaled_protocol_error(
        world: World, socket: str) -> None:
    venue = "everstrike" if socket == "everstrike" else "qfex"
    account = "bad-e" if venue == "everstrike" else "bad-q"
    faults = world.sim.venue(venue).faults
    rng = random.Random(f"{socket}-1")
    before = venue_book(world)
    assert desk_book(world) == before
    connections = world.connected.count(account)
    for n, kind in enumerate((*KINDS, OVERSIZED), start=1):
        if kind == OVERSIZED:
            frame: str | bytes = oversized(
                EVERSTRIKE_MAX_FRAME if venue == "everstrike" else QFEX_MAX_FRAME)
        else:
            frame = hostile(socket, kind, rng)
        faults.inject_malformed(1, frame, path=SOCKETS[socket])
        world.sim.step()  # the next push on that socket carries the frame
        await until(lambda n=n: counted(world) >= n, 20, f"the protocol error of {kind}")
        assert counted(world) == n, f"{kind} was counted more than once"
        assert {e.account for e in world.heard} == {account}
    # The socket still reads: a marker frame after them all is counted too.
    faults.inject_malformed(1, hostile(socket, "truncated", rng), path=SOCKETS[socket])
    world.sim.step()
    await until(lambda: counted(world) == len(KINDS) + 2, 20, "the marker's protocol error")
    if socket != "qfex-mds":  # the oversized frame cost its socket a reconnect
        await until(lambda: world.connected.count(account) > connections, 10, "a reconnect")
    await until(lambda: desk_book(world) == venue_book(world), 10, "the venue's book")
    assert venue_book(world) == before
    await world.desk.stop()
    records = journaled(world.journal)
    assert sum(int(str(r["count"])) for r in records) == counted(world) == len(KINDS) + 2
    assert any(r["code"] == "frame_too_big" for r in records)
