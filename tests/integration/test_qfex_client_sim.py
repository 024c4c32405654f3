"""QfexSession against the simulated QFEX over real loopback sockets.

The simulator is written from the venue documentation, not from our client, so these tests
check that the two readings of the docs agree.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
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
    TimeInForce,
    Trigger,
    Venue,
)
from core.sim import Simulator
from core.venue import AccountConfig, Credentials, ReconnectPolicy
from core.venues.qfex.session import QfexAuthError, QfexSession

D = Decimal
_names = itertools.count(1)


class Recorder:
    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: SessionEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[SessionEvent], bool], count: int = 1) -> Any:
        async with asyncio.timeout(15):
            while True:
                matches = [e for e in self.events if predicate(e)]
                if len(matches) >= count:
                    return matches[count - 1]
                self._changed.clear()
                await self._changed.wait()

    def orders(self, cid: str) -> list[OrderUpdate]:
        return [e for e in self.events if isinstance(e, OrderUpdate) and e.client_order_id == cid]

    def last_snapshot(self) -> PositionsSnapshot:
        return [e for e in self.events if isinstance(e, PositionsSnapshot)][-1]


def is_order(cid: str, status: OrderStatus) -> Callable[[SessionEvent], bool]:
    return lambda e: (
        isinstance(e, OrderUpdate) and e.client_order_id == cid and e.status is status
    )


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(seed=11, tick_interval=None, demo=False) as simulator:
        simulator.qfex.settings.positions_interval = 0.05
        yield simulator


def open_session(
    sim: Simulator,
    positions: list[tuple[str, Decimal, Decimal]],
    *,
    wrong_secret: bool = False,
    clock: Callable[[], float] = time.time,
) -> tuple[QfexSession, Recorder, str]:
    name = f"qfex-test-{next(_names)}"
    public, secret = sim.add_account("qfex", name, positions)
    info = sim.info.qfex
    account = AccountConfig(
        name=name,
        venue=Venue.QFEX,
        environment=Environment.DEMO,
        public_key=public,
        endpoints={"trade_ws": info.trade_ws, "mds_ws": info.mds_ws, "rest": info.rest},
    )
    sink = Recorder()
    session = QfexSession(
        account,
        Credentials(public, secret + "x" if wrong_secret else secret),
        sink,
        reconnect=ReconnectPolicy(initial=0.0, jitter=0.0),
        clock=clock,
    )
    return session, sink, name


def close_frames(sim: Simulator) -> int:
    return sum(
        1 for r in sim.qfex.received if r.channel == "ws" and '"type":"close_position"' in r.body
    )


@pytest.mark.asyncio
async def test_lists_positions_and_marks(sim: Simulator) -> None:
    session, sink, _ = open_session(
        sim, [("AAPL-USD", D("3"), D("220")), ("TSLA-USD", D("-2"), D("350"))]
    )
    await session.start()
    try:
        snapshot = sink.last_snapshot()
        book = {p.key.symbol: p for p in snapshot.positions}
        assert book["AAPL-USD"].side is PositionSide.LONG and book["AAPL-USD"].quantity == 3
        assert book["TSLA-USD"].side is PositionSide.SHORT and book["TSLA-USD"].quantity == 2
        assert book["AAPL-USD"].entry_price == D(220)
        assert session.instruments["AAPL-USD"].tick_size == D("0.01")
        mark = await sink.wait_for(lambda e: isinstance(e, MarkUpdate) and e.symbol == "AAPL-USD")
        assert mark.mark == D("229.35")
        assert sink.events.index(snapshot) < sink.events.index(
            next(e for e in sink.events if isinstance(e, ConnectionEvent)
                 and e.state is ConnectionState.CONNECTED)
        )
    finally:
        await session.stop()


@pytest.mark.asyncio
@pytest.mark.parametrize("shape", ["position_response", "v4_positions"])
async def test_full_close(sim: Simulator, shape: Any) -> None:
    sim.qfex.faults.positions_shape = shape
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, Venue.QFEX, "AAPL-USD")
    await session.start()
    try:
        await sink.wait_for(lambda e: isinstance(e, Position) and e.key == key)
        await session.send_close(CloseRequest(key, PositionSide.LONG, D(3), client_order_id="f1"))
        filled = await sink.wait_for(is_order("f1", OrderStatus.FILLED))
        assert filled.final and filled.filled == D(3) and filled.side is not None
        assert [u.status for u in sink.orders("f1")] == [OrderStatus.ACK, OrderStatus.FILLED]
        await sink.wait_for(lambda e: e == PositionRemoved(key))
        await session.refresh_positions()
        assert sink.last_snapshot().positions == ()
        assert close_frames(sim) == 1
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_full_close_with_thin_liquidity_leaves_a_final_partial(sim: Simulator) -> None:
    session, sink, name = open_session(sim, [("CL-USD", D("-30"), D("65"))])
    key = PositionKey(name, Venue.QFEX, "CL-USD")
    await session.start()
    try:
        await session.send_close(CloseRequest(key, PositionSide.SHORT, D(30), client_order_id="r"))
        partial = await sink.wait_for(is_order("r", OrderStatus.PARTIAL))
        assert partial.final and partial.remaining is not None and partial.remaining > 0
        await session.refresh_positions()
        (left,) = sink.last_snapshot().positions
        assert left.side is PositionSide.SHORT and left.quantity == partial.remaining
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_partial_close_at_market(sim: Simulator) -> None:
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, Venue.QFEX, "AAPL-USD")
    await session.start()
    try:
        request = CloseRequest(key, PositionSide.LONG, D(3), quantity=D(1), client_order_id="p1")
        await session.send_close(request)
        filled = await sink.wait_for(is_order("p1", OrderStatus.FILLED))
        assert filled.filled == D(1) and filled.order_type == "MARKET"
        await session.refresh_positions()
        (left,) = sink.last_snapshot().positions
        assert left.quantity == D(2)
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_limit_close_rests_until_the_mark_crosses(sim: Simulator) -> None:
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, Venue.QFEX, "AAPL-USD")
    await session.start()
    try:
        request = CloseRequest(
            key,
            PositionSide.LONG,
            D(3),
            quantity=D(1),
            limit_price=D("230.35"),
            time_in_force=TimeInForce.GTC,
            client_order_id="l1",
        )
        await session.send_close(request)
        ack = await sink.wait_for(is_order("l1", OrderStatus.ACK))
        assert not ack.final and ack.price == D("230.35")
        await sim.acall(lambda: sim.qfex.market.set_mark("AAPL-USD", D("231")))
        filled = await sink.wait_for(is_order("l1", OrderStatus.FILLED))
        assert filled.final and filled.filled == D(1)
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_trigger_close_is_a_stop_loss_that_fires_on_the_mark(sim: Simulator) -> None:
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, Venue.QFEX, "AAPL-USD")
    await session.start()
    try:
        await sink.wait_for(lambda e: isinstance(e, MarkUpdate) and e.symbol == "AAPL-USD")
        request = CloseRequest(
            key, PositionSide.LONG, D(3), trigger=Trigger(D("225")), client_order_id="t1"
        )
        await session.send_close(request)
        resting = await sink.wait_for(is_order("t1", OrderStatus.TRIGGER_ACK))
        assert resting.order_type == "STOP_LOSS" and resting.trigger_price == D(225)
        await sim.acall(lambda: sim.qfex.market.set_mark("AAPL-USD", D("224")))
        filled = await sink.wait_for(is_order("t1", OrderStatus.FILLED))
        assert filled.final and filled.filled == D(3)
        await sink.wait_for(lambda e: e == PositionRemoved(key))
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_bad_signature_is_rejected_at_auth(sim: Simulator) -> None:
    session, sink, _ = open_session(sim, [("AAPL-USD", D("1"), D("220"))], wrong_secret=True)
    with pytest.raises(QfexAuthError):
        await session.start()
    states = [e.state for e in sink.events if isinstance(e, ConnectionEvent)]
    assert states[-1] is ConnectionState.FAILED
    assert not session.connected
    await session.stop()


@pytest.mark.asyncio
async def test_stale_timestamp_is_rejected_at_auth(sim: Simulator) -> None:
    """A clock two minutes behind signs a unix_ts outside the venue's window."""
    session, sink, _ = open_session(
        sim, [("AAPL-USD", D("1"), D("220"))], clock=lambda: time.time() - 120
    )
    with pytest.raises(QfexAuthError):
        await session.start()
    states = [e.state for e in sink.events if isinstance(e, ConnectionEvent)]
    assert states[-1] is ConnectionState.FAILED
    auths = [r for r in sim.qfex.received if r.channel == "ws" and '"type":"auth"' in r.body]
    assert auths, "the stale auth must have reached the venue and been refused there"
    await session.stop()


@pytest.mark.asyncio
async def test_drop_after_close_is_unknown_then_reconciled_never_resent(sim: Simulator) -> None:
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, Venue.QFEX, "AAPL-USD")
    await session.start()
    try:
        sim.qfex.faults.drop_next(1, execute=True)  # the close executes; its reply is lost
        await session.send_close(CloseRequest(key, PositionSide.LONG, D(3), client_order_id="d"))
        lost = await sink.wait_for(is_order("d", OrderStatus.UNKNOWN))
        assert not lost.final
        settled = await sink.wait_for(is_order("d", OrderStatus.UNKNOWN), count=2)
        assert settled.final
        assert sink.last_snapshot().positions == ()  # the resync shows it closed
        assert session.connected
        assert close_frames(sim) == 1
    finally:
        await session.stop()
