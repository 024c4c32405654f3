"""QfexSession against the simulated QFEX over real loopback sockets.

The simulator is written from the venue documentation, not from our client, so these tests
check that the two readings of the docs agree.
"""

from __future__ import annotations

import itertools
import json
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
    SessionEvent,
    TimeInForce,
    Trigger,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
from core.sim import Simulator
from core.venue import AccountConfig, CancelRejected, Credentials, ReconnectPolicy
from core.venues.qfex import QFEX
from core.venues.qfex.orders import CANCEL_GONE, RATE_LIMITED
from core.venues.qfex.session import QfexAuthError, QfexSession
from tests.helpers.fakes import Recorder

D = Decimal
_names = itertools.count(1)



async def send(session: QfexSession, request: CloseRequest) -> None:
    """Build the close once and send exactly that, as the desk does."""
    await session.send(session.prepare_close(request))


async def cancel(session: QfexSession, order: WorkingOrder) -> None:
    await session.cancel(session.prepare_cancel(order))


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
    options: dict[str, str] | None = None,
    reconnect_delay: float = 0.0,
) -> tuple[QfexSession, Recorder, str]:
    name = f"qfex-test-{next(_names)}"
    public, secret = sim.add_account("qfex", name, positions)
    info = sim.info.qfex
    account = AccountConfig(
        name=name,
        venue=QFEX,
        environment=Environment.DEMO,
        public_key=public,
        endpoints={"trade_ws": info.trade_ws, "mds_ws": info.mds_ws, "rest": info.rest},
        options=options or {},
    )
    sink = Recorder(timeout=15)
    session = QfexSession(
        account,
        Credentials(public, secret + "x" if wrong_secret else secret),
        sink,
        reconnect=ReconnectPolicy(initial=reconnect_delay, jitter=0.0),
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
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        await sink.wait_for(lambda e: isinstance(e, Position) and e.key == key)
        await send(session, CloseRequest(key, PositionSide.LONG, D(3), client_order_id="f1"))
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
    key = PositionKey(name, QFEX, "CL-USD")
    await session.start()
    try:
        await send(session, CloseRequest(key, PositionSide.SHORT, D(30), client_order_id="r"))
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
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        request = CloseRequest(key, PositionSide.LONG, D(3), quantity=D(1), client_order_id="p1")
        await send(session, request)
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
    key = PositionKey(name, QFEX, "AAPL-USD")
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
        await send(session, request)
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
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        await sink.wait_for(lambda e: isinstance(e, MarkUpdate) and e.symbol == "AAPL-USD")
        request = CloseRequest(
            key, PositionSide.LONG, D(3), trigger=Trigger(D("225")), client_order_id="t1"
        )
        await send(session, request)
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
    """Signing with our own clock (venue_clock = local), two minutes behind, stamps a unix_ts
    outside the venue's window."""
    session, sink, _ = open_session(
        sim, [("AAPL-USD", D("1"), D("220"))], clock=lambda: time.time() - 120,
        options={"venue_clock": "local"},
    )
    with pytest.raises(QfexAuthError):
        await session.start()
    states = [e.state for e in sink.events if isinstance(e, ConnectionEvent)]
    assert states[-1] is ConnectionState.FAILED
    auths = [r for r in sim.qfex.received if r.channel == "ws" and '"type":"auth"' in r.body]
    assert auths, "the stale auth must have reached the venue and been refused there"
    await session.stop()


@pytest.mark.asyncio
async def test_a_clock_two_minutes_behind_signs_with_the_venues_time(sim: Simulator) -> None:
    """By default signatures carry the venue's time, read from its REST Date header."""
    session, sink, _ = open_session(
        sim, [("AAPL-USD", D("1"), D("220"))], clock=lambda: time.time() - 120
    )
    await session.start()
    try:
        skew = session.health().skew_ms
        assert skew is not None and 118_000 <= skew <= 121_000
        states = [e.state for e in sink.events if isinstance(e, ConnectionEvent)]
        assert states[-1] is ConnectionState.CONNECTED
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_drop_after_close_is_unknown_then_reconciled_never_resent(sim: Simulator) -> None:
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        sim.qfex.faults.drop_next(1, execute=True)  # the close executes; its reply is lost
        await send(session, CloseRequest(key, PositionSide.LONG, D(3), client_order_id="d"))
        lost = await sink.wait_for(is_order("d", OrderStatus.UNKNOWN))
        assert not lost.final
        settled = await sink.wait_for(is_order("d", OrderStatus.UNKNOWN), count=2)
        assert settled.final
        assert sink.last_snapshot().positions == ()  # the resync shows it closed
        assert session.connected
        assert close_frames(sim) == 1
    finally:
        await session.stop()


# ----------------------------------------------------------------------------- working orders


def working(cid: str, kind: WorkingKind) -> Callable[[SessionEvent], bool]:
    return lambda e: (
        isinstance(e, WorkingOrder) and e.client_order_id == cid and e.kind is kind
    )


def removed(order_id: str) -> Callable[[SessionEvent], bool]:
    return lambda e: isinstance(e, WorkingOrderRemoved) and e.order_id == order_id


def cancel_frames(sim: Simulator) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in sim.requests("qfex", kind="cancel")]


async def open_orders(sim: Simulator, public_key: str) -> list[str]:
    account_id = sim.account_id("qfex", public_key)
    return await sim.acall(lambda: [o.id for o in sim.qfex.market.open_orders(account_id)])


def limit_close(key: PositionKey, cid: str, price: str = "230.35") -> CloseRequest:
    return CloseRequest(
        key, PositionSide.LONG, D(3), quantity=D(1), limit_price=D(price),
        time_in_force=TimeInForce.GTC, client_order_id=cid,
    )


@pytest.mark.asyncio
async def test_cancel_a_resting_limit_close(sim: Simulator) -> None:
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        await send(session, limit_close(key, "l-cancel"))
        order = await sink.wait_for(working("l-cancel", WorkingKind.LIMIT))
        assert order.price == D("230.35") and order.remaining == D(1) and order.reduce_only
        assert await open_orders(sim, session.credentials.public_key) == [order.order_id]

        await cancel(session, order)
        assert cancel_frames(sim) == [
            {"type": "cancel_order", "params": {"symbol": "AAPL-USD", "order_id": order.order_id,
                                                "cancel_order_id_type": "order_id"}}
        ]
        gone = await sink.wait_for(removed(order.order_id))
        assert gone.reason == "cancelled"
        assert await open_orders(sim, session.credentials.public_key) == []
        cancelled = await sink.wait_for(is_order("l-cancel", OrderStatus.CANCELLED))
        assert cancelled.final
        # Cancelling it again: the venue has no such order any more, and says so.
        with pytest.raises(CancelRejected) as info:
            await cancel(session, order)
        assert str(info.value) == CANCEL_GONE
        assert len(cancel_frames(sim)) == 2
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_cancel_a_resting_trigger(sim: Simulator) -> None:
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        await sink.wait_for(lambda e: isinstance(e, MarkUpdate) and e.symbol == "AAPL-USD")
        request = CloseRequest(
            key, PositionSide.LONG, D(3), trigger=Trigger(D("225")), client_order_id="t-cancel"
        )
        await send(session, request)
        stop = await sink.wait_for(working("t-cancel", WorkingKind.TRIGGER))
        assert stop.trigger_price == D(225) and stop.order_type == "STOP_LOSS"
        assert stop.trigger_event is not None and stop.price is None
        assert await open_orders(sim, session.credentials.public_key) == [stop.order_id]

        await cancel(session, stop)
        assert cancel_frames(sim) == [
            {"type": "cancel_stop_order", "params": {"stop_order_id": stop.order_id}}
        ]
        assert (await sink.wait_for(removed(stop.order_id))).reason == "cancelled"
        assert await open_orders(sim, session.credentials.public_key) == []
        # A second cancel of the same stop is refused by the venue, in its words.
        with pytest.raises(CancelRejected, match="no such stop order"):
            await cancel(session, stop)
        # The mark now crosses the old trigger: nothing fires, the position stays.
        await sim.acall(lambda: sim.qfex.market.set_mark("AAPL-USD", D("224")))
        await session.refresh_positions()
        (left,) = sink.last_snapshot().positions
        assert left.quantity == D(3)
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_working_orders_follow_fills_and_triggers(sim: Simulator) -> None:
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        await sink.wait_for(lambda e: isinstance(e, MarkUpdate) and e.symbol == "AAPL-USD")
        await send(session, limit_close(key, "l-fill"))
        limit = await sink.wait_for(working("l-fill", WorkingKind.LIMIT))
        await sim.acall(lambda: sim.qfex.market.set_mark("AAPL-USD", D("231")))
        assert (await sink.wait_for(removed(limit.order_id))).reason == "filled"

        request = CloseRequest(
            key, PositionSide.LONG, D(2), trigger=Trigger(D("225")), client_order_id="t-fire"
        )
        await send(session, request)
        stop = await sink.wait_for(working("t-fire", WorkingKind.TRIGGER))
        await sim.acall(lambda: sim.qfex.market.set_mark("AAPL-USD", D("224")))
        fired = await sink.wait_for(removed(stop.order_id))
        assert fired.reason.startswith("triggered")
        await session.refresh_orders()
        assert [e for e in sink.events if isinstance(e, WorkingOrdersSnapshot)][-1].orders == ()
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_working_orders_snapshot_after_reconnect(sim: Simulator) -> None:
    """A trigger close is taken by the venue but the connection dies before its ACK: after the
    reconnect the listing shows it resting beside the limit that was already known."""
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        await sink.wait_for(lambda e: isinstance(e, MarkUpdate) and e.symbol == "AAPL-USD")
        await send(session, limit_close(key, "l-keep", price="232"))
        limit = await sink.wait_for(working("l-keep", WorkingKind.LIMIT))
        sim.qfex.faults.drop_next(1, execute=True)
        trigger = CloseRequest(
            key, PositionSide.LONG, D(3), quantity=D(1), trigger=Trigger(D("225")),
            client_order_id="t-lost",
        )
        await send(session, trigger)
        await sink.wait_for(is_order("t-lost", OrderStatus.UNKNOWN))
        await sink.wait_for(
            lambda e: isinstance(e, ConnectionEvent) and e.state is ConnectionState.CONNECTED,
            count=2,
        )
        first, second = [e for e in sink.events if isinstance(e, WorkingOrdersSnapshot)]
        assert first.orders == ()
        after = {o.client_order_id: o for o in second.orders}
        assert set(after) == {"l-keep", "t-lost"}
        assert after["l-keep"].order_id == limit.order_id
        assert after["t-lost"].kind is WorkingKind.TRIGGER
        assert after["t-lost"].trigger_price == D(225)
        assert sorted(await open_orders(sim, session.credentials.public_key)) == sorted(
            o.order_id for o in second.orders
        )
        # The lost close is reconciled to its real state and was never resent.
        resting = await sink.wait_for(is_order("t-lost", OrderStatus.TRIGGER_ACK))
        assert not resting.final
        assert len(sim.requests("qfex", kind="close")) == 2
    finally:
        await session.stop()


# ----------------------------------------------------------------------------- rate limits


@pytest.mark.asyncio
async def test_rate_limited_close_is_shown_backed_off_and_not_resent(sim: Simulator) -> None:
    session, sink, name = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        sim.qfex.faults.force_error("RateLimited", request_type="add_order")
        request = CloseRequest(key, PositionSide.LONG, D(3), quantity=D(1),
                               client_order_id="rl-1")
        before = time.monotonic()
        await send(session, request)
        rejected = await sink.wait_for(is_order("rl-1", OrderStatus.REJECTED))
        after = time.monotonic()
        assert rejected.final and rejected.raw_status == "RateLimited"
        assert rejected.message == RATE_LIMITED
        # The sim's hint ("retry after 250ms") holds every sender back for that long, not for
        # the 1 s default.
        assert before + 0.25 <= session.limiter.penalised_until <= after + 0.25
        assert len(sim.requests("qfex", kind="close")) == 1
        # The position is unchanged: nothing executed.
        await session.refresh_positions()
        (left,) = sink.last_snapshot().positions
        assert left.quantity == D(3)
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_client_limiter_keeps_under_the_venue_meter(sim: Simulator) -> None:
    """The simulated venue meters 12 units per second; we allow ourselves half that, so a
    burst of closes is paced, never refused."""
    sim.qfex.settings.rate_limit_budget = 12
    sim.qfex.settings.rate_limit_window = 1.0
    session, sink, name = open_session(
        sim, [("AAPL-USD", D("3"), D("220"))],
        options={"rate_budget": "6", "rate_window": "1"},
    )
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        cids = [f"burst-{i}" for i in range(8)]
        for cid in cids:
            await send(session,
                CloseRequest(key, PositionSide.LONG, D(3), quantity=D("0.1"), client_order_id=cid)
            )
        for cid in cids:
            await sink.wait_for(is_order(cid, OrderStatus.FILLED))
        assert not [e for e in sink.events if isinstance(e, OrderUpdate)
                    and e.raw_status == "RateLimited"]
        assert len(sim.requests("qfex", kind="close")) == 8
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_health_against_the_sim(sim: Simulator) -> None:
    session, _sink, _ = open_session(sim, [("AAPL-USD", D("3"), D("220"))])
    await session.start()
    try:
        health = session.health()
        assert health.connected and health.rtt_ms is not None and health.rtt_ms >= 0
        assert health.last_message_at is not None
        assert health.rate_headroom is not None and 0 < health.rate_headroom < 1
    finally:
        await session.stop()
    assert not session.health().connected


@pytest.mark.asyncio
async def test_resting_close_that_filled_during_the_outage_is_looked_up(sim: Simulator) -> None:
    """An acknowledged limit close fills while the connection is down. After the reconnect it
    is no longer open, so its order id is looked up with get_order and the close reports its
    real final state; the close whose reply was lost has no id and is reported gone."""
    session, sink, name = open_session(
        sim, [("AAPL-USD", D("3"), D("220"))], reconnect_delay=0.5
    )
    key = PositionKey(name, QFEX, "AAPL-USD")
    await session.start()
    try:
        await send(session, limit_close(key, "l-away"))
        limit = await sink.wait_for(working("l-away", WorkingKind.LIMIT))
        sim.qfex.faults.drop_next(1, execute=False)
        lost = CloseRequest(key, PositionSide.LONG, D(3), quantity=D(1), client_order_id="lost")
        await send(session, lost)
        await sink.wait_for(is_order("lost", OrderStatus.UNKNOWN))
        # While we are away (the reconnect waits 0.5 s) the mark crosses the limit.
        await sim.acall(lambda: sim.qfex.market.set_mark("AAPL-USD", D("231")))
        filled = await sink.wait_for(is_order("l-away", OrderStatus.FILLED))
        assert filled.final and filled.filled == D(1) and filled.order_id == limit.order_id
        lookups = [json.loads(r.body) for r in sim.requests("qfex", kind="get_order")]
        assert lookups == [
            {"type": "get_order", "params": {"order_id": limit.order_id, "symbol": "AAPL-USD"}}
        ]
        gone = await sink.wait_for(is_order("lost", OrderStatus.UNKNOWN), count=2)
        assert gone.final and "check the position" in gone.message
        # The reconnect's working-orders snapshot no longer lists the filled limit.
        assert [e for e in sink.events if isinstance(e, WorkingOrdersSnapshot)][-1].orders == ()
        assert len(sim.requests("qfex", kind="close")) == 2  # nothing was resent
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_market_data_survives_an_unexpected_failure(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A surprise in the market-data task is reported and costs that frame only; marks must
    never stop silently."""
    import core.venues.qfex.protocol as qfex_protocol
    from core.model import MarkUpdate, ProtocolError

    real = qfex_protocol.parse_mds
    failures = iter([True])

    def flaky(text: str, account: str) -> Any:
        if next(failures, False):
            raise RuntimeError("surprise")
        return real(text, account)

    monkeypatch.setattr(qfex_protocol, "parse_mds", flaky)
    session, sink, _ = open_session(sim, [("AAPL-USD", D("1"), D("220"))])
    await session.start()
    try:
        await sink.wait_for(lambda e: isinstance(e, ProtocolError)
                            and "market data frame could not be read" in e.message)
        failed_at = len(sink.events)
        sim.step()
        await sink.wait_for(lambda e: isinstance(e, MarkUpdate)
                            and sink.events.index(e) > failed_at)
    finally:
        await session.stop()
