"""QfexSession against a tiny hand-written venue: a real WebSocket server on loopback for the
trade and market-data sockets, and ``httpx.MockTransport`` for REST."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.server import serve

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
    ProtocolError,
    SessionEvent,
    Trigger,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
from core.ratelimit import RateLimiter
from core.venue import (
    AccountConfig,
    CancelRejected,
    CloseRejected,
    Credentials,
    InsecureEndpoint,
    Prepared,
    PreparedCancel,
    PreparedClose,
    ReconnectPolicy,
    SessionClosed,
)
from core.venues.qfex import QFEX, protocol
from core.venues.qfex.session import (
    CANCEL_GONE,
    CANCEL_LOST,
    CANCEL_NO_ANSWER,
    DEFAULT_KEEPALIVE,
    RATE_LIMITED,
    QfexAuthError,
    QfexConnectError,
    QfexRequestFailed,
    QfexSession,
)
from tests.helpers.fakes import Recorder, RecordingLimiter
from tests.helpers.venues import FakeVenue

D = Decimal
PUB = "qfex_pub_test0123456789"
SECRET = "qfex_secret_do_not_leak_42"
ACCOUNT = "acct"
TS = 1760545414
AAPL = PositionKey(ACCOUNT, QFEX, "AAPL-USD")


async def send(session: QfexSession, request: CloseRequest) -> None:
    """Build the close once and send exactly that, as the desk does."""
    await session.send(session.prepare_close(request))


async def cancel(session: QfexSession, order: WorkingOrder) -> None:
    await session.cancel(session.prepare_cancel(order))


def is_state(state: ConnectionState) -> Callable[[SessionEvent], bool]:
    return lambda e: isinstance(e, ConnectionEvent) and e.state is state


def is_order(cid: str, status: OrderStatus) -> Callable[[SessionEvent], bool]:
    return lambda e: (
        isinstance(e, OrderUpdate) and e.client_order_id == cid and e.status is status
    )


@pytest_asyncio.fixture
async def venue() -> AsyncIterator[FakeVenue]:
    fake = FakeVenue(PUB, SECRET)
    async with serve(fake.handler, "127.0.0.1", 0, process_request=fake.process_request) as server:
        fake.server = server
        yield fake


def make_session(
    fake: FakeVenue,
    sink: Recorder,
    *,
    secret: str = SECRET,
    endpoints: dict[str, str] | None = None,
    options: dict[str, str] | None = None,
    limiter: RateLimiter | None = None,
    monotonic: Callable[[], float] = time.monotonic,
) -> QfexSession:
    account = AccountConfig(
        name=ACCOUNT,
        venue=QFEX,
        environment=Environment.DEMO,
        public_key=PUB,
        options=options or {},
        endpoints=endpoints
        or {
            "trade_ws": f"ws://127.0.0.1:{fake.port}/trade",
            "mds_ws": f"ws://127.0.0.1:{fake.port}/mds",
            "rest": "http://127.0.0.1:1",
        },
    )
    counter = itertools.count(1)
    return QfexSession(
        account,
        Credentials(PUB, secret),
        sink,
        reconnect=ReconnectPolicy(initial=0.0, jitter=0.0),
        transport=httpx.MockTransport(fake.rest),
        clock=lambda: TS + 0.75,
        nonce_factory=lambda: f"{next(counter):032x}",
        limiter=limiter,
        monotonic=monotonic,
    )


def close(cid: str, **kw: Any) -> CloseRequest:
    return CloseRequest(AAPL, PositionSide.LONG, D(2), client_order_id=cid, **kw)


def assert_no_secret(sink: Recorder) -> None:
    for event in sink.events:
        assert SECRET not in repr(event)


# --------------------------------------------------------------------------------- start


@pytest.mark.asyncio
async def test_start_authenticates_subscribes_and_snapshots(venue: FakeVenue) -> None:
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        assert session.connected
        assert sink.states() == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]
        (snapshot,) = [e for e in sink.events if isinstance(e, PositionsSnapshot)]
        (position,) = snapshot.positions
        assert position.key == AAPL and position.side is PositionSide.LONG
        assert position.quantity == 2 and position.entry_price == 190
        # The snapshot is out before CONNECTED, and both before start() returned.
        connected = next(e for e in sink.events if is_state(ConnectionState.CONNECTED)(e))
        assert sink.events.index(snapshot) < sink.events.index(connected)

        # Handshake: key in the query AND signed headers (VENUES.md 1.1 recommendation).
        ((path, headers),) = venue.handshakes
        assert parse_qs(urlsplit(path).query) == {"api_key": [PUB]}
        assert headers["x-qfex-public-key"] == PUB
        assert venue.valid(headers["x-qfex-nonce"], int(headers["x-qfex-timestamp"]),
                     headers["x-qfex-hmac-signature"])
        assert headers["x-qfex-timestamp"] == str(TS)

        auth, *subscribes, listing = venue.frames
        assert auth["type"] == "auth" and auth["params"]["hmac"]["unix_ts"] == TS
        assert [s["params"]["channels"] for s in subscribes] == [
            ["order_responses"], ["positions"], ["fills"], ["stop_orders"]
        ]
        # Working orders are listed on every connect, after the subscriptions.
        assert listing == {"type": "get_user_orders", "params": {"limit": 1000, "offset": 0}}
        # Every signature used its own nonce.
        used = [headers["x-qfex-nonce"], *venue.nonces]
        assert len(used) == 3 and len(set(used)) == 3
        assert session.instruments["AAPL-USD"].tick_size == D("0.01")

        mark = await sink.wait_for(lambda e: isinstance(e, MarkUpdate))
        assert (mark.symbol, mark.mark) == ("AAPL-USD", D(200))
        assert_no_secret(sink)
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_auth_failure_raises_and_does_not_retry(venue: FakeVenue) -> None:
    sink = Recorder()
    session = make_session(venue, sink, secret="wrong-secret")
    with pytest.raises(QfexAuthError, match="authenticated: false"):
        await session.start()
    assert not session.connected
    assert sink.states()[-1] is ConnectionState.FAILED
    assert venue.count("auth") == 1 and venue.count("subscribe") == 0
    assert len(venue.handshakes) == 1
    assert all("wrong-secret" not in repr(e) for e in sink.events)
    await session.stop()


@pytest.mark.asyncio
async def test_auth_err_frame_is_an_auth_failure(venue: FakeVenue) -> None:
    venue.auth_reply = '{"err":{"error_code":"PermissionDenied","message":"key revoked"}}'
    session = make_session(venue, Recorder())
    with pytest.raises(QfexAuthError, match="key revoked"):
        await session.start()
    await session.stop()


@pytest.mark.asyncio
async def test_handshake_refused_as_unauthorised_is_an_auth_failure(venue: FakeVenue) -> None:
    venue.reject_handshake = 401
    sink = Recorder()
    session = make_session(venue, sink)
    with pytest.raises(QfexAuthError, match="HTTP 401"):
        await session.start()
    assert sink.states()[-1] is ConnectionState.FAILED
    assert venue.frames == []
    await session.stop()


@pytest.mark.asyncio
async def test_failed_start_can_be_retried(venue: FakeVenue) -> None:
    venue.reject_handshake = 503
    sink = Recorder()
    session = make_session(venue, sink)
    with pytest.raises(QfexConnectError, match="503") as info:
        await session.start()
    assert PUB not in str(info.value)
    assert sink.states() == [ConnectionState.CONNECTING, ConnectionState.FAILED]
    venue.reject_handshake = None
    await session.start()
    try:
        assert session.connected and sink.states()[-1] is ConnectionState.CONNECTED
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_bad_port_is_a_configuration_error(venue: FakeVenue) -> None:
    sink = Recorder()
    endpoints = {"trade_ws": "ws://127.0.0.1:notaport/", "rest": "http://127.0.0.1:1"}
    session = make_session(venue, sink, endpoints=endpoints)
    with pytest.raises(ValueError, match="notaport"):
        await session.start()
    assert sink.states() == [ConnectionState.FAILED]
    await session.stop()


@pytest.mark.parametrize(
    "endpoints",
    [
        {"trade_ws": "ws://trade.example.com/", "rest": "https://api.example.com"},
        {"trade_ws": "wss://trade.example.com/", "rest": "http://api.example.com"},
        {"trade_ws": "wss://trade.example.com/", "rest": "https://x", "mds_ws": "ws://10.0.0.1/"},
    ],
)
@pytest.mark.asyncio
async def test_insecure_endpoint_is_refused(venue: FakeVenue, endpoints: dict[str, str]) -> None:
    sink = Recorder()
    session = make_session(venue, sink, endpoints=endpoints)
    with pytest.raises(InsecureEndpoint):
        await session.start()
    assert sink.states() == [ConnectionState.FAILED]
    assert venue.handshakes == [] and venue.rest_calls == []
    await session.stop()


# --------------------------------------------------------------------------------- closes


@pytest.mark.asyncio
async def test_full_close_is_written_once_and_reported(venue: FakeVenue) -> None:
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        request = close("co-full")
        assert session.prepare_close(request).redacted == (
            '{"type":"close_position","params":{"symbol":"AAPL-USD","client_order_id":"co-full"}}'
        )
        await send(session, request)
        filled = await sink.wait_for(is_order("co-full", OrderStatus.FILLED))
        assert filled.final and filled.filled == D(2)
        assert [u.status for u in sink.orders("co-full")] == [OrderStatus.ACK, OrderStatus.FILLED]
        await sink.wait_for(lambda e: e == PositionRemoved(AAPL))
        assert [f for f in venue.frames if f["type"] == "close_position"] == [
            {"type": "close_position",
             "params": {"symbol": "AAPL-USD", "client_order_id": "co-full"}}
        ]
        with pytest.raises(CloseRejected, match="never resent"):
            await send(session, request)
        assert venue.count("close_position") == 1
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_what_was_prepared_is_exactly_what_goes_on_the_wire(venue: FakeVenue) -> None:
    """Built once: the venue receives the prepared bytes, as a text frame, and the redacted
    text the journal records is those bytes (QFEX close and cancel frames carry no secret).
    QFEX frames carry no timestamp, so no wait ever makes one stale: nothing is restamped."""
    venue.open_orders = [venue_order("oid-L")]
    restamped: list[Prepared] = []
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        for prepared in (session.prepare_close(close("co-wire", quantity=D("0.5"))),
                         session.prepare_close(close("co-wire-2", limit_price=D("205.10"))),
                         session.prepare_cancel(LIMIT)):
            if isinstance(prepared, PreparedClose):
                await session.send(prepared, restamped=lambda p, why: restamped.append(p))
                cid = prepared.request.client_order_id
                await sink.wait_for(is_order(cid, OrderStatus.FILLED))  # the venue has it
            else:
                assert isinstance(prepared, PreparedCancel)
                await session.cancel(prepared, restamped=lambda p, why: restamped.append(p))
            assert venue.texts.count(prepared.wire.decode()) == 1  # str: a text frame
            assert prepared.redacted == prepared.wire.decode()
            assert prepared.target == "trade_ws" and prepared.stamped_ms is None
        assert restamped == []
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_trigger_close_uses_the_market_data_mark(venue: FakeVenue) -> None:
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        request = close("co-stop", trigger=Trigger(D("190")))
        await sink.wait_for(lambda e: isinstance(e, MarkUpdate))
        await send(session, request)
        await sink.wait_for(is_order("co-stop", OrderStatus.FILLED))
        (frame,) = [f for f in venue.frames if f["type"] == "add_order"]
        assert frame["params"]["order_type"] == "STOP_LOSS"
        assert frame["params"]["side"] == "SELL"
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_invalid_close_is_rejected_before_the_wire(venue: FakeVenue) -> None:
    venue.marks = {}
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        with pytest.raises(CloseRejected) as info:
            await send(session, close("co-bad", quantity=D("0.55")))  # lot is 0.1
        assert info.value.code == "quantity"
        with pytest.raises(CloseRejected) as info:
            await send(session, close("co-trig", trigger=Trigger(D("190"))))
        assert info.value.code == "trigger_price"  # no mark yet
        assert venue.count("add_order") == 0
        # a refused request was not sent, so its id may still be used
        await send(session, close("co-bad", quantity=D("0.5")))
        await sink.wait_for(is_order("co-bad", OrderStatus.FILLED))
        assert venue.count("add_order") == 1
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_send_close_when_not_connected(venue: FakeVenue) -> None:
    session = make_session(venue, Recorder())
    with pytest.raises(SessionClosed):
        await send(session, close("co-early"))
    await session.start()
    await session.stop()
    await session.stop()  # idempotent
    with pytest.raises(SessionClosed):
        await send(session, close("co-late"))
    assert venue.count("close_position") == 0


# --------------------------------------------------------------------------------- bad data


@pytest.mark.asyncio
async def test_bad_frames_become_protocol_errors_and_reading_goes_on(venue: FakeVenue) -> None:
    venue.after_subscribe = [
        "this is not json",
        '{"who":"knows"}',
        '{"order_response":{"status":"ACK"}}',
        '{"position_response":{"symbol":"TSLA-USD","position":-1.5}}',
    ]
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        pushed = await sink.wait_for(
            lambda e: isinstance(e, Position) and e.key.symbol == "TSLA-USD"
        )
        assert pushed.side is PositionSide.SHORT and pushed.quantity == D("1.5")
        errors = [e for e in sink.events if isinstance(e, ProtocolError)]
        assert len(errors) == 3 and session.connected
        assert all(e.account == ACCOUNT and e.message for e in errors)
    finally:
        await session.stop()


# --------------------------------------------------------------------------------- reconnect


@pytest.mark.asyncio
async def test_reconnect_reauths_resubscribes_and_resyncs(venue: FakeVenue) -> None:
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        venue.rest_positions = []  # flat while we were away
        await venue.drop_trade()
        await sink.wait_for(is_state(ConnectionState.CONNECTED), count=2)
        assert sink.states() == [
            ConnectionState.CONNECTING,
            ConnectionState.CONNECTED,
            ConnectionState.DISCONNECTED,
            ConnectionState.CONNECTING,
            ConnectionState.CONNECTED,
        ]
        assert len(venue.handshakes) == 2
        assert venue.count("auth") == 2 and venue.count("subscribe") == 8
        assert venue.rest_calls.count("/user/positions") == 2
        snapshots = [e for e in sink.events if isinstance(e, PositionsSnapshot)]
        assert [len(s.positions) for s in snapshots] == [1, 0]
        assert len(venue.nonces) == len(set(venue.nonces)) == 4
        assert session.connected
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_a_failed_reconnect_is_reported_and_retried(venue: FakeVenue) -> None:
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        venue.reject_handshake = 503
        await venue.drop_trade()
        failed = await sink.wait_for(
            lambda e: is_state(ConnectionState.DISCONNECTED)(e) and "Reconnect failed" in e.message
        )
        assert "503" in failed.message and PUB not in failed.message
        venue.reject_handshake = None
        await sink.wait_for(is_state(ConnectionState.CONNECTED), count=2)
        assert session.connected
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_credentials_refused_on_reconnect_end_the_link(venue: FakeVenue) -> None:
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        venue.reject_handshake = 401
        await venue.drop_trade()
        failed = await sink.wait_for(is_state(ConnectionState.FAILED))
        assert "HTTP 401" in failed.message
        assert sink.states()[-3:] == [
            ConnectionState.DISCONNECTED, ConnectionState.CONNECTING, ConnectionState.FAILED
        ]
        assert not session.connected
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_close_in_flight_at_disconnect_is_unknown_and_never_resent(
    venue: FakeVenue,
) -> None:
    venue.on_close = "drop"  # the venue takes the close and the connection dies, no reply
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        await send(session, close("co-lost"))
        unknown = await sink.wait_for(is_order("co-lost", OrderStatus.UNKNOWN))
        assert not unknown.final
        assert unknown.message == "Connection lost before the venue answered; not resent"
        assert unknown.symbol == "AAPL-USD"

        # After reconnecting, the venue is asked (not told again): it has no such open order.
        gone = await sink.wait_for(is_order("co-lost", OrderStatus.UNKNOWN), count=2)
        assert gone.final and "check the position" in gone.message
        # One listing per connection: the reconnect's listing is what reconciles the close.
        assert venue.count("get_user_orders") == 2
        assert venue.count("close_position") == 1
        assert venue.rest_calls.count("/user/positions") == 2
    finally:
        await session.stop()
    assert venue.count("close_position") == 1


@pytest.mark.asyncio
async def test_close_pending_at_stop_is_unknown(venue: FakeVenue) -> None:
    venue.on_close = "silent"
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    await send(session, close("co-pending"))
    await session.stop()
    (update,) = sink.orders("co-pending")
    assert update.status is OrderStatus.UNKNOWN
    assert sink.states()[-1] is ConnectionState.DISCONNECTED


@pytest.mark.asyncio
async def test_refresh_positions(venue: FakeVenue) -> None:
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        venue.rest_positions = [{"symbol": "AAPL-USD", "position": -1}]
        await session.refresh_positions()
        snapshot = [e for e in sink.events if isinstance(e, PositionsSnapshot)][-1]
        assert [p.side for p in snapshot.positions] == [PositionSide.SHORT]
    finally:
        await session.stop()


# --------------------------------------------------------------------------------- working orders


def venue_order(oid: str, **fields: Any) -> dict[str, Any]:
    """One order as get_user_orders and order_responses show it."""
    base: dict[str, Any] = {
        "order_id": oid,
        "symbol": "AAPL-USD",
        "status": "ACK",
        "quantity": 2,
        "price": 205,
        "side": "SELL",
        "type": "LIMIT",
        "time_in_force": "GTC",
        "client_order_id": "",
        "quantity_remaining": 2,
        "update_time": 1758208770.5,
    }
    base.update(fields)
    return base


def snapshots(sink: Recorder) -> list[WorkingOrdersSnapshot]:
    return [e for e in sink.events if isinstance(e, WorkingOrdersSnapshot)]


def is_removed(oid: str) -> Callable[[SessionEvent], bool]:
    return lambda e: isinstance(e, WorkingOrderRemoved) and e.order_id == oid


LIMIT = WorkingOrder(
    QFEX, ACCOUNT, "AAPL-USD", "oid-L", WorkingKind.LIMIT, None, D(2), price=D(205)
)
STOP = WorkingOrder(
    QFEX, ACCOUNT, "AAPL-USD", "stop-S", WorkingKind.TRIGGER, None, D(2),
    trigger_price=D(190),
)


@pytest.mark.asyncio
async def test_start_emits_the_working_orders_snapshot(venue: FakeVenue) -> None:
    venue.open_orders = [
        venue_order("oid-L"),
        venue_order("stop-S", type="STOP_LOSS", price=190),
        venue_order("oid-ioc", time_in_force="IOC"),  # gone at once: not working
    ]
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        (snapshot,) = snapshots(sink)
        orders = {o.order_id: o for o in snapshot.orders}
        assert set(orders) == {"oid-L", "stop-S"}
        limit, stop = orders["oid-L"], orders["stop-S"]
        assert (limit.kind, limit.price, limit.remaining) == (WorkingKind.LIMIT, D(205), D(2))
        assert not limit.reduce_only  # not ours: the listing does not say
        assert (stop.kind, stop.trigger_price, stop.price) == (WorkingKind.TRIGGER, D(190), None)
        assert stop.trigger_event is not None and stop.trigger_event.value == "MARK_PRICE"
        connected = next(e for e in sink.events if is_state(ConnectionState.CONNECTED)(e))
        assert sink.events.index(snapshot) < sink.events.index(connected)
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_working_orders_snapshot_after_reconnect(venue: FakeVenue) -> None:
    venue.open_orders = [venue_order("oid-L")]
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        venue.open_orders = [venue_order("stop-S", type="TAKE_PROFIT", price=220)]
        await venue.drop_trade()
        await sink.wait_for(is_state(ConnectionState.CONNECTED), count=2)
        first, second = snapshots(sink)
        assert [o.order_id for o in first.orders] == ["oid-L"]
        assert [(o.order_id, o.kind) for o in second.orders] == [("stop-S", WorkingKind.TRIGGER)]
        assert venue.count("get_user_orders") == 2
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_refresh_orders(venue: FakeVenue) -> None:
    sink = Recorder()
    session = make_session(venue, sink)
    with pytest.raises(SessionClosed):
        await session.refresh_orders()
    await session.start()
    try:
        venue.open_orders = [venue_order("oid-L")]
        await session.refresh_orders()
        assert [o.order_id for o in snapshots(sink)[-1].orders] == ["oid-L"]
        venue.listing_error = "ServerError"
        with pytest.raises(QfexRequestFailed):
            await session.refresh_orders()
        error = await sink.wait_for(lambda e: isinstance(e, ProtocolError))
        assert "could not be listed" in error.message and error.code == "ServerError"
        assert len(snapshots(sink)) == 2
    finally:
        await session.stop()


# --------------------------------------------------------------------------------- cancels


@pytest.mark.asyncio
async def test_cancel_a_resting_limit(venue: FakeVenue) -> None:
    venue.open_orders = [venue_order("oid-L")]
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        expected = ('{"type":"cancel_order","params":{"symbol":"AAPL-USD","order_id":"oid-L",'
                    '"cancel_order_id_type":"order_id"}}')
        assert session.prepare_cancel(LIMIT).redacted == expected
        await cancel(session, LIMIT)
        assert [f for f in venue.frames if f["type"] == "cancel_order"] == [json.loads(expected)]
        removed = await sink.wait_for(is_removed("oid-L"))
        assert removed.reason == "cancelled"
        cancelled = [e for e in sink.events if isinstance(e, OrderUpdate)
                     and e.order_id == "oid-L"]
        assert [u.status for u in cancelled] == [OrderStatus.CANCELLED]
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_cancel_of_an_order_already_gone(venue: FakeVenue) -> None:
    venue.open_orders = [venue_order("oid-L")]
    venue.on_cancel = "no_such"
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        with pytest.raises(CancelRejected, match="already gone: filled or cancelled") as info:
            await cancel(session, LIMIT)
        assert str(info.value) == CANCEL_GONE and info.value.code == "NO_SUCH_ORDER"
        await sink.wait_for(is_removed("oid-L"))
        # The answer is about the cancel, not a close: no order update is shown for it.
        assert not [e for e in sink.events if isinstance(e, OrderUpdate)]
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_cancel_a_resting_trigger(venue: FakeVenue) -> None:
    venue.open_orders = [venue_order("stop-S", type="STOP_LOSS", price=190)]
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        assert session.prepare_cancel(STOP).redacted == (
            '{"type":"cancel_stop_order","params":{"stop_order_id":"stop-S"}}'
        )
        await cancel(session, STOP)
        assert (await sink.wait_for(is_removed("stop-S"))).reason == "cancelled"
        assert venue.count("cancel_stop_order") == 1 and venue.count("cancel_order") == 0
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_a_second_cancel_joins_the_first(venue: FakeVenue) -> None:
    session = make_session(venue, Recorder())
    await session.start()
    try:
        await asyncio.gather(cancel(session, LIMIT), cancel(session, LIMIT))
        assert venue.count("cancel_order") == 1
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_unanswered_cancel_times_out_and_is_never_resent(venue: FakeVenue) -> None:
    venue.on_cancel = "silent"
    session = make_session(venue, Recorder(), options={"cancel_timeout": "0.05"})
    await session.start()
    try:
        with pytest.raises(CancelRejected) as info:
            await cancel(session, LIMIT)
        assert str(info.value) == CANCEL_NO_ANSWER == (
            "no answer; the order may still be working — refresh"
        )
        assert venue.count("cancel_order") == 1
    finally:
        await session.stop()
    assert venue.count("cancel_order") == 1


@pytest.mark.asyncio
async def test_cancel_in_flight_at_disconnect_is_not_resent(venue: FakeVenue) -> None:
    venue.on_cancel = "drop"
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        with pytest.raises(CancelRejected) as info:
            await cancel(session, LIMIT)
        assert str(info.value) == CANCEL_LOST
        await sink.wait_for(is_state(ConnectionState.CONNECTED), count=2)
        assert venue.count("cancel_order") == 1
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_cancel_when_not_connected_sends_nothing(venue: FakeVenue) -> None:
    session = make_session(venue, Recorder())
    with pytest.raises(SessionClosed):
        await cancel(session, LIMIT)
    await session.start()
    try:
        with pytest.raises(CancelRejected, match="does not belong"):
            await cancel(session, replace(LIMIT, account="someone-else"))
    finally:
        await session.stop()
    assert venue.count("cancel_order") == 0


# --------------------------------------------------------------------------------- rate limits


def weight_of(frame: dict[str, Any]) -> float:
    return protocol.DEFAULT_RATE_WEIGHTS[frame["type"]]


@pytest.mark.asyncio
async def test_every_trade_frame_pays_its_weight(venue: FakeVenue) -> None:
    limiter = RecordingLimiter()
    session = make_session(venue, Recorder(), limiter=limiter)
    await session.start()
    try:
        await send(session, close("co-w", quantity=D("0.5")))
        await cancel(session, LIMIT)
        await cancel(session, replace(STOP, order_id="stop-W"))
        await session.refresh_orders()
        assert limiter.weights == [weight_of(f) for f in venue.frames]
        assert {f["type"] for f in venue.frames} == {
            "auth", "subscribe", "get_user_orders", "add_order", "cancel_order",
            "cancel_stop_order",
        }
        assert session.health().rate_headroom == pytest.approx(
            1 - sum(limiter.weights) / 12_000, abs=1e-3
        )
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_rate_weights_come_from_the_account_options(venue: FakeVenue) -> None:
    limiter = RecordingLimiter()
    options = {"rate_weights": "subscribe=0.5, get_user_orders=7", "rate_limited_backoff": "4"}
    session = make_session(venue, Recorder(), limiter=limiter, options=options)
    assert session.options.weight("add_order") == 1  # the documented default stays
    await session.start()
    try:
        assert limiter.weights == [1, 0.5, 0.5, 0.5, 0.5, 7]
        assert session.options.rate_limited_backoff == 4
    finally:
        await session.stop()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"rate_weights": "add_order=fast"}, "rate_weights"),
        ({"rate_budget": "-3"}, "rate_budget"),
        ({"cancel_timeout": "soon"}, "cancel_timeout"),
    ],
)
@pytest.mark.asyncio
async def test_bad_rate_options_fail_start_with_the_option_named(
    venue: FakeVenue, options: dict[str, str], named: str
) -> None:
    sink = Recorder()
    session = make_session(venue, sink, options=options)
    with pytest.raises(ValueError, match=named):
        await session.start()
    assert sink.states() == [ConnectionState.FAILED]
    assert venue.handshakes == []
    await session.stop()


@pytest.mark.asyncio
async def test_rate_limited_close_is_rejected_backed_off_and_not_resent(venue: FakeVenue) -> None:
    venue.on_close = "err"
    venue.close_error = {"error_code": "RateLimited",
                         "message": "Rate limit exceeded, retry after 1500ms"}
    limiter = RecordingLimiter()
    sink = Recorder()
    session = make_session(venue, sink, limiter=limiter)
    await session.start()
    try:
        await send(session, close("co-rl"))
        rejected = await sink.wait_for(is_order("co-rl", OrderStatus.REJECTED))
        assert rejected.final and rejected.raw_status == "RateLimited"
        assert rejected.message == RATE_LIMITED == (
            "rate limited by QFEX; slowed down — nothing was resent"
        )
        # The hint was read: every sender now waits 1.5 s (on the fake clock).
        assert limiter.penalised_until == pytest.approx(limiter.clock.now + 1.5)
        assert session.health().rate_headroom == 0.0
        before = limiter.clock.now
        venue.on_close = "fill"
        await send(session, close("co-after", quantity=D("0.5")))
        assert limiter.clock.now - before >= 1.5  # it waited rather than being dropped
        await sink.wait_for(is_order("co-after", OrderStatus.FILLED))
        assert venue.count("close_position") == 1
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_rate_limited_without_a_hint_backs_off_by_the_configured_default(
    venue: FakeVenue,
) -> None:
    venue.on_close = "err"
    venue.close_error = {"error_code": "RateLimited", "message": None}
    limiter = RecordingLimiter()
    sink = Recorder()
    session = make_session(venue, sink, limiter=limiter, options={"rate_limited_backoff": "2"})
    await session.start()
    try:
        await send(session, close("co-rl"))
        await sink.wait_for(is_order("co-rl", OrderStatus.REJECTED))
        assert limiter.penalised_until == pytest.approx(limiter.clock.now + 2)
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_rate_limited_hint_is_capped_at_the_window(venue: FakeVenue) -> None:
    venue.on_close = "err"
    venue.close_error = {"error_code": "RateLimited", "message": "retry after 86400 seconds"}
    limiter = RecordingLimiter()
    sink = Recorder()
    session = make_session(venue, sink, limiter=limiter)
    await session.start()
    try:
        await send(session, close("co-rl"))
        await sink.wait_for(is_order("co-rl", OrderStatus.REJECTED))
        assert limiter.penalised_until == pytest.approx(limiter.clock.now + 60)
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_rate_limited_order_status_backs_off_too(venue: FakeVenue) -> None:
    venue.on_close = "rate_limited_status"
    limiter = RecordingLimiter()
    sink = Recorder()
    session = make_session(venue, sink, limiter=limiter)
    await session.start()
    try:
        await send(session, close("co-rs"))
        rejected = await sink.wait_for(is_order("co-rs", OrderStatus.REJECTED))
        assert rejected.raw_status == "RATE_LIMITED" and rejected.message == RATE_LIMITED
        assert limiter.penalised_until == pytest.approx(limiter.clock.now + 1)
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_rate_limited_cancel_is_refused_and_not_resent(venue: FakeVenue) -> None:
    venue.on_cancel = "rate_limited"
    limiter = RecordingLimiter()
    session = make_session(venue, Recorder(), limiter=limiter)
    await session.start()
    try:
        with pytest.raises(CancelRejected) as info:
            await cancel(session, LIMIT)
        assert str(info.value) == RATE_LIMITED and info.value.code == "RateLimited"
        assert limiter.penalised_until == pytest.approx(limiter.clock.now + 1.5)
        assert venue.count("cancel_order") == 1
    finally:
        await session.stop()


# --------------------------------------------------------------------------------- health


@pytest.mark.asyncio
async def test_health(venue: FakeVenue) -> None:
    sink = Recorder()
    session = make_session(venue, sink)
    idle = session.health()
    assert not idle.connected and idle.last_message_at is None and idle.rate_headroom == 1.0
    await session.start()
    try:
        health = session.health()
        assert health.connected and health.skew_ms is None
        assert health.last_message_at is not None and health.rtt_ms is not None
        assert health.rtt_ms >= 0 and health.keepalive_s == DEFAULT_KEEPALIVE
        assert health.rate_headroom is not None and 0.99 < health.rate_headroom < 1.0
        seen = health.last_message_at
        await venue.push('{"position_response":{"symbol":"TSLA-USD","position":1}}')
        await sink.wait_for(lambda e: isinstance(e, Position) and e.key.symbol == "TSLA-USD")
        later = session.health().last_message_at
        assert later is not None and later >= seen
    finally:
        await session.stop()
    assert not session.health().connected


@pytest.mark.asyncio
async def test_health_is_timed_by_the_injected_clock(venue: FakeVenue) -> None:
    session = make_session(venue, Recorder(), monotonic=lambda: 42.0)
    await session.start()
    try:
        health = session.health()
        assert health.last_message_at == 42.0 and health.rtt_ms == 0.0
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_health_learns_the_venue_ping_period(venue: FakeVenue) -> None:
    venue.pings_after_auth = 2
    venue.after_subscribe = ['{"position_response":{"symbol":"TSLA-USD","position":1}}']
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        # Both pings came before the frame that made this event, on the same socket.
        await sink.wait_for(lambda e: isinstance(e, Position) and e.key.symbol == "TSLA-USD")
        # Two pings 50 ms apart: measured, and floored at 1 s as too short to mean anything.
        assert session.health().keepalive_s == 1.0
    finally:
        await session.stop()


# --------------------------------------------------------------------------------- lookups


@pytest.mark.parametrize(
    ("lookup", "status", "words"),
    [
        ("FILLED", OrderStatus.FILLED, "Filled"),
        (None, OrderStatus.UNKNOWN, "lookup failed"),
    ],
)
@pytest.mark.asyncio
async def test_resting_close_gone_after_reconnect_is_looked_up(
    venue: FakeVenue, lookup: str | None, status: OrderStatus, words: str
) -> None:
    venue.on_close = "rest"
    venue.lookup_status = lookup
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        await send(session, close("co-rest", limit_price=D("205")))
        await sink.wait_for(is_order("co-rest", OrderStatus.ACK))
        await venue.drop_trade()  # and the order finishes while we are away
        settled = await sink.wait_for(
            lambda e: isinstance(e, OrderUpdate) and e.client_order_id == "co-rest" and e.final
        )
        assert settled.status is status and words in settled.message
        (lookup_frame,) = [f for f in venue.frames if f["type"] == "get_order"]
        assert lookup_frame["params"] == {"order_id": "oid-rest", "symbol": "AAPL-USD"}
        assert venue.count("add_order") == 1
    finally:
        await session.stop()
