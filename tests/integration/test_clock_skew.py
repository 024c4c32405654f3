"""The venue's clock 30 s ahead or behind ours: both venues sign with the venue's time, a
QFEX re-authentication after the venue's clock moved is accepted, and a refused one keeps
retrying and says why. Checked against the simulator's own record of closes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
import pytest_asyncio

from core.desk import Desk, IntentState
from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    Environment,
    PositionKey,
    PositionSide,
)
from core.sim import Simulator
from core.venue import AccountConfig, Credentials, EventSink, ReconnectPolicy, VenueSession
from core.venues import session_class
from core.venues.clock import http_date
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from tests.helpers.polling import market_data, until
from tests.integration.conftest import ES_PAIR, QFEX_SYMBOL

D = Decimal
FAST = ReconnectPolicy(initial=0.05, maximum=0.2, jitter=0.0)


def fast_sessions(account: AccountConfig, creds: Credentials, sink: EventSink) -> VenueSession:
    return session_class(account.venue)(account, creds, sink, reconnect=FAST)


@dataclass
class World:
    sim: Simulator
    desk: Desk
    accounts: list[tuple[AccountConfig, Credentials]]
    events: list[object]
    qfex: PositionKey
    everstrike: PositionKey

    def states(self, account: str) -> list[ConnectionEvent]:
        return [e for e in self.events
                if isinstance(e, ConnectionEvent) and e.account == account]


@pytest_asyncio.fixture
async def world(bare_sim: Simulator) -> AsyncIterator[World]:
    """Both venues' accounts, not yet connected: a test may move the venue's clock first."""
    sim = bare_sim
    q_pub, q_sec = sim.add_account("qfex", "skew-q", [(QFEX_SYMBOL, D(40), D(220))])
    e_pub, e_sec = sim.add_account("everstrike", "skew-e", [(ES_PAIR, D("-3.5"), D(4400))])
    q, e = sim.info.qfex, sim.info.everstrike
    accounts = [
        (AccountConfig("skew-q", QFEX, Environment.DEMO, q_pub,
                       {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}),
         Credentials(q_pub, q_sec)),
        (AccountConfig("skew-e", EVERSTRIKE, Environment.DEMO, e_pub,
                       {"rest": e.rest, "ws": e.ws}),
         Credentials(e_pub, e_sec)),
    ]
    desk = Desk(session_factory=fast_sessions)
    events: list[object] = []
    desk.subscribe(events.append)
    try:
        yield World(sim, desk, accounts, events, PositionKey("skew-q", QFEX, QFEX_SYMBOL),
                    PositionKey("skew-e", EVERSTRIKE, ES_PAIR))
    finally:
        await desk.stop()


async def started(world: World) -> None:
    assert await world.desk.start(world.accounts) == []
    await market_data(world.desk)


def request_for(world: World, venue: str) -> CloseRequest:
    if venue == "qfex":
        return CloseRequest(world.qfex, PositionSide.LONG, D(40))
    return CloseRequest(world.everstrike, PositionSide.SHORT, D("3.5"))


def skew_of(world: World, account: str) -> float:
    skew = world.desk.health(account).skew_ms
    assert skew is not None, "the venue's clock was never measured"
    return skew


@pytest.mark.parametrize("skew", [30.0, -30.0])
@pytest.mark.parametrize("venue", ["qfex", "everstrike"])
@pytest.mark.asyncio
async def test_a_venue_clock_30_s_off_is_measured_and_signed_with(
    world: World, venue: str, skew: float
) -> None:
    faults = world.sim.qfex.faults if venue == "qfex" else world.sim.everstrike.faults
    faults.clock_skew = skew
    await started(world)
    request = request_for(world, venue)
    account = request.key.account
    # The measured offset has the venue's sign and about its size (QFEX's Date header
    # counts whole seconds).
    assert 28_000 <= skew_of(world, account) * (1 if skew > 0 else -1) <= 31_000
    intent = await world.desk.close(request)
    await intent.wait(lambda i: i.state.settled, timeout=15)
    assert intent.state is IntentState.FILLED
    await until(lambda: request.key not in world.desk.positions, what="the row gone")
    assert len(world.sim.requests(venue, kind="close")) == 1
    assert [e.state for e in world.states(account)][-1] is ConnectionState.CONNECTED


@pytest.mark.parametrize("skew", [30.0, -30.0])
@pytest.mark.asyncio
async def test_qfex_reauthenticates_after_the_venue_clock_moved(
    world: World, skew: float
) -> None:
    """The clock moves while connected, then the connection drops with a close in flight:
    the reconnect reads the venue's clock again, its signature is accepted, and the close is
    reconciled to what happened at the venue, never resent."""
    await started(world)
    faults = world.sim.qfex.faults
    faults.clock_skew = skew
    faults.drop_next(1, execute=True)
    intent = await world.desk.close(request_for(world, "qfex"))
    await intent.wait(lambda i: i.state.settled, timeout=15)
    assert intent.state is IntentState.FILLED
    states = [e.state for e in world.states("skew-q")]
    assert ConnectionState.DISCONNECTED in states
    assert ConnectionState.FAILED not in states
    assert states[-1] is ConnectionState.CONNECTED
    assert 28_000 <= skew_of(world, "skew-q") * (1 if skew > 0 else -1) <= 31_000
    assert len(world.sim.requests("qfex", kind="close")) == 1  # never resent


@pytest.mark.asyncio
async def test_a_refused_qfex_reauthentication_keeps_retrying_and_says_why(
    world: World,
) -> None:
    await started(world)
    faults = world.sim.qfex.faults
    faults.force_error("PermissionDenied", count=2, request_type="auth")
    faults.drop_next(1, execute=True)
    intent = await world.desk.close(request_for(world, "qfex"))

    def refusals() -> list[ConnectionEvent]:
        return [e for e in world.states("skew-q") if e.state is ConnectionState.FAILED]

    await until(lambda: len(refusals()) >= 2, timeout=15, what="two refused attempts")
    for failed in refusals():
        assert "permission denied" in failed.message
        assert "Retrying in" in failed.message
    # The third attempt is accepted: the session never gave up.
    await intent.wait(lambda i: i.state.settled, timeout=15)
    assert intent.state is IntentState.FILLED
    assert world.desk.connection_state("skew-q") is ConnectionState.CONNECTED
    auths = [r for r in world.sim.qfex.received if r.channel == "ws" and r.kind == "auth"]
    assert len(auths) == 4  # the first connect, two refused, one accepted
    assert len(world.sim.requests("qfex", kind="close")) == 1  # never resent


@pytest.mark.parametrize("venue", ["qfex", "everstrike"])
@pytest.mark.asyncio
async def test_the_simulator_dates_its_replies_by_the_venues_clock(
    bare_sim: Simulator, venue: str
) -> None:
    faults = bare_sim.qfex.faults if venue == "qfex" else bare_sim.everstrike.faults
    faults.clock_skew = -30.0
    base = bare_sim.info.qfex.rest if venue == "qfex" else bare_sim.info.everstrike.rest
    path = "/refdata" if venue == "qfex" else "/pairs"
    async with httpx.AsyncClient(base_url=base) as client:
        before = time.time()
        response = await client.get(path)
        after = time.time()
    dates = response.headers.get_list("date")
    assert len(dates) == 1  # the server's own, from the machine's clock, is off
    stamp = http_date(dates[0])
    assert stamp is not None and before - 31 <= stamp <= after - 29
