"""EverstrikeSession against the simulated Everstrike over real loopback sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio

from core.model import (
    CloseRequest,
    Environment,
    MarkUpdate,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    PositionSide,
    PositionsSnapshot,
    SessionEvent,
    Trigger,
    TriggerEvent,
    Venue,
)
from core.sim import Simulator
from core.venue import AccountConfig, CloseRejected, Credentials, ReconnectPolicy
from core.venues.everstrike import EverstrikeSession

D = Decimal
ACCOUNT = "it-everstrike"
POSITIONS = [
    ("USD_SOL_PERP", D("120"), D("188.40")),  # LONG, deep liquidity: closes fill fully
    ("USD_ETH_PERP", D("-3.5"), D("4420.10")),  # SHORT
    ("USD_BTCCALL_PERP", D("5"), D("1.850")),  # LONG
]


class Recorder:
    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: SessionEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[SessionEvent], bool]) -> Any:
        async with asyncio.timeout(10):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()

    def updates(self, client_order_id: str) -> list[OrderUpdate]:
        return [
            e
            for e in self.events
            if isinstance(e, OrderUpdate) and e.client_order_id == client_order_id
        ]


@dataclass
class SimVenue:
    sim: Simulator
    api_key: str
    secret: str
    rest: str
    ws: str


@pytest.fixture
def venue() -> Iterator[SimVenue]:
    with Simulator(tick_interval=None, demo=False) as sim:
        api_key, secret = sim.add_account("everstrike", ACCOUNT, POSITIONS)
        info = sim.info.everstrike
        yield SimVenue(sim, api_key, secret, info.rest, info.ws)


@dataclass
class Client:
    session: EverstrikeSession
    sink: Recorder


@pytest_asyncio.fixture
async def connect(venue: SimVenue) -> AsyncIterator[Callable[..., Any]]:
    sessions: list[EverstrikeSession] = []

    async def make(secret: str | None = None, clock: Callable[[], float] = time.time) -> Client:
        sink = Recorder()
        account = AccountConfig(
            name=ACCOUNT,
            venue=Venue.EVERSTRIKE,
            environment=Environment.DEMO,
            public_key=venue.api_key,
            endpoints={"rest": venue.rest, "ws": venue.ws},
        )
        session = EverstrikeSession(
            account,
            Credentials(venue.api_key, secret or venue.secret),
            sink,
            clock=clock,
            reconnect=ReconnectPolicy(initial=0.0, maximum=0.0, jitter=0.0),
        )
        sessions.append(session)
        await session.start()
        return Client(session, sink)

    yield make
    for session in sessions:
        await session.stop()


def request(symbol: str, side: PositionSide, size: str, **kwargs: Any) -> CloseRequest:
    return CloseRequest(
        key=PositionKey(ACCOUNT, Venue.EVERSTRIKE, symbol),
        position_side=side,
        position_quantity=D(size),
        **kwargs,
    )


@pytest.mark.asyncio
async def test_lists_positions_and_marks(connect: Callable[..., Any]) -> None:
    client = await connect()
    (snapshot,) = [e for e in client.sink.events if isinstance(e, PositionsSnapshot)]
    book = {p.key.symbol: p for p in snapshot.positions}
    assert set(book) == {"USD_SOL_PERP", "USD_ETH_PERP", "USD_BTCCALL_PERP"}
    assert (book["USD_SOL_PERP"].side, book["USD_SOL_PERP"].quantity) == (
        PositionSide.LONG,
        D(120),
    )
    assert (book["USD_ETH_PERP"].side, book["USD_ETH_PERP"].quantity) == (
        PositionSide.SHORT,
        D("3.5"),
    )
    assert book["USD_SOL_PERP"].entry_price == D("188.40")
    assert client.session.instruments["USD_SOL_PERP"].tick_size == D("0.01")
    mark = await client.sink.wait_for(lambda e: isinstance(e, MarkUpdate))
    assert mark.symbol in book and isinstance(mark.mark, Decimal)


@pytest.mark.asyncio
async def test_full_close(connect: Callable[..., Any]) -> None:
    client = await connect()
    close = request("USD_SOL_PERP", PositionSide.LONG, "120")
    await client.session.send_close(close)
    reply = client.sink.updates(close.client_order_id)[0]
    assert reply.status is OrderStatus.FILLED and reply.final
    assert reply.quantity == D(120) and reply.filled == D(120)
    await client.sink.wait_for(
        lambda e: isinstance(e, PositionRemoved) and e.key.symbol == "USD_SOL_PERP"
    )
    # The venue's WS events raced the REST reply; every one of them still carries our id.
    updates = [e for e in client.sink.events if isinstance(e, OrderUpdate)]
    assert len(updates) >= 2
    assert {u.client_order_id for u in updates} == {close.client_order_id}
    await client.session.refresh_positions()
    latest = [e for e in client.sink.events if isinstance(e, PositionsSnapshot)][-1]
    assert "USD_SOL_PERP" not in {p.key.symbol for p in latest.positions}


@pytest.mark.asyncio
async def test_partial_close(connect: Callable[..., Any]) -> None:
    client = await connect()
    close = request("USD_ETH_PERP", PositionSide.SHORT, "3.5", quantity=D("1.5"))
    await client.session.send_close(close)
    reply = client.sink.updates(close.client_order_id)[0]
    assert reply.status is OrderStatus.FILLED and reply.filled == D("1.5")
    left = await client.sink.wait_for(
        lambda e: isinstance(e, Position) and e.key.symbol == "USD_ETH_PERP"
    )
    assert (left.side, left.quantity) == (PositionSide.SHORT, D(2))


@pytest.mark.asyncio
async def test_limit_close_rests_then_fills(venue: SimVenue, connect: Callable[..., Any]) -> None:
    client = await connect()
    close = request("USD_BTCCALL_PERP", PositionSide.LONG, "5", limit_price=D("2.5"))
    await client.session.send_close(close)
    reply = client.sink.updates(close.client_order_id)[0]
    assert reply.status is OrderStatus.ACK and reply.price == D("2.5")
    market = venue.sim.everstrike.market
    await venue.sim.acall(lambda: market.set_mark("USD_BTCCALL_PERP", D("2.6")))
    filled = await client.sink.wait_for(
        lambda e: isinstance(e, OrderUpdate) and e.status is OrderStatus.FILLED
    )
    assert filled.client_order_id == close.client_order_id  # a WS event, mapped to our id


@pytest.mark.asyncio
async def test_trigger_close(venue: SimVenue, connect: Callable[..., Any]) -> None:
    client = await connect()
    trigger = Trigger(D("150"), TriggerEvent.MARK, close_on_trigger=True)
    close = request("USD_SOL_PERP", PositionSide.LONG, "120", quantity=D(20), trigger=trigger)
    await client.session.send_close(close)
    reply = client.sink.updates(close.client_order_id)[0]
    assert reply.status is OrderStatus.TRIGGER_ACK and reply.trigger_price == D(150)
    market = venue.sim.everstrike.market
    await venue.sim.acall(lambda: market.set_mark("USD_SOL_PERP", D("149")))
    await client.sink.wait_for(
        lambda e: isinstance(e, OrderUpdate)
        and e.status is OrderStatus.TRIGGERED
        and e.client_order_id == close.client_order_id
    )
    # The reply carried the untouched position; the fill arrives as a later WS update.
    await client.sink.wait_for(
        lambda e: isinstance(e, Position)
        and e.key.symbol == "USD_SOL_PERP"
        and (e.side, e.quantity) == (PositionSide.LONG, D(100))
    )


@pytest.mark.asyncio
async def test_bad_signature_is_rejected(connect: Callable[..., Any]) -> None:
    client = await connect(secret="not-the-secret")
    close = request("USD_SOL_PERP", PositionSide.LONG, "120")
    with pytest.raises(CloseRejected) as info:
        await client.session.send_close(close)
    assert info.value.code == "401"
    (update,) = client.sink.updates(close.client_order_id)
    assert update.status is OrderStatus.REJECTED


@pytest.mark.asyncio
async def test_stale_timestamp_is_rejected_then_resynced(connect: Callable[..., Any]) -> None:
    skew = [0.0]
    client = await connect(clock=lambda: time.time() + skew[0])
    skew[0] = -60.0  # our clock falls a minute behind after the /time sync
    close = request("USD_SOL_PERP", PositionSide.LONG, "120")
    with pytest.raises(CloseRejected, match="timestamp") as info:
        await client.session.send_close(close)
    assert info.value.code == "414"
    assert client.session.skew_ms > 59_000  # resynchronised from /time
    again = request("USD_SOL_PERP", PositionSide.LONG, "120")
    await client.session.send_close(again)
    assert client.sink.updates(again.client_order_id)[0].status is OrderStatus.FILLED
