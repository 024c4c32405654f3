"""QfexSession against a tiny hand-written venue: a real WebSocket server on loopback for the
trade and market-data sockets, and ``httpx.MockTransport`` for REST."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

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
    Venue,
)
from core.venue import (
    AccountConfig,
    CloseRejected,
    Credentials,
    InsecureEndpoint,
    ReconnectPolicy,
    SessionClosed,
)
from core.venues.qfex.session import QfexAuthError, QfexConnectError, QfexSession

D = Decimal
PUB = "qfex_pub_test0123456789"
SECRET = "qfex_secret_do_not_leak_42"
ACCOUNT = "acct"
TS = 1760545414
AAPL = PositionKey(ACCOUNT, Venue.QFEX, "AAPL-USD")


def valid(nonce: str, ts: int, signature: str, secret: str = SECRET) -> bool:
    expected = hmac.new(secret.encode(), f"{nonce}:{ts}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class FakeVenue:
    """Just enough QFEX: HMAC auth, subscribe acks, scripted replies to closes."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []  # every trade frame, across connections
        self.handshakes: list[tuple[str, dict[str, str]]] = []
        self.trade_sockets: list[ServerConnection] = []
        self.nonces: list[str] = []
        self.auth_reply = '{"authenticated": true}'
        self.on_close = "fill"  # fill | drop | silent | err | fill_without_id
        self.open_orders: list[dict[str, Any]] = []
        self.after_subscribe: list[str] = []
        self.marks = {"AAPL-USD": "200"}
        self.rest_positions: list[dict[str, Any]] = [
            {"symbol": "AAPL-USD", "position": 2, "average_price": 190, "unrealised_pnl": 20}
        ]
        self.rest_calls: list[str] = []
        self.server: Server | None = None
        self.reject_handshake: int | None = None

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.reject_handshake is not None and not request.path.startswith("/mds"):
            return connection.respond(self.reject_handshake, "refused\n")
        return None

    def count(self, kind: str) -> int:
        return sum(1 for f in self.frames if f["type"] == kind)

    # -- REST ---------------------------------------------------------------------------------

    def rest(self, request: httpx.Request) -> httpx.Response:
        self.rest_calls.append(request.url.path)
        if request.url.path == "/refdata":
            return httpx.Response(
                200,
                json={
                    "type": "refdata",
                    "data": [{"symbol": "AAPL-USD", "tick_size": "0.01", "lot_size": "0.1"}],
                },
            )
        if request.url.path == "/user/positions":
            h = request.headers
            self.nonces.append(h["x-qfex-nonce"])
            if h["x-qfex-public-key"] != PUB or not valid(
                h["x-qfex-nonce"], int(h["x-qfex-timestamp"]), h["x-qfex-hmac-signature"]
            ):
                return httpx.Response(
                    401,
                    json={"title": "Unauthorized", "status": 401, "detail": "bad signature"},
                    headers={"content-type": "application/problem+json"},
                )
            return httpx.Response(200, json={"positions": self.rest_positions, "balance": {}})
        return httpx.Response(404, json={"title": "Not Found", "status": 404})

    # -- WebSocket ----------------------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        # A client stopped mid-handshake drops the socket; a real venue shrugs, so do we.
        with contextlib.suppress(ConnectionClosed):
            await self.serve(ws)

    async def serve(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        if ws.request.path.startswith("/mds"):
            await self.mds(ws)
            return
        self.handshakes.append((ws.request.path, dict(ws.request.headers.raw_items())))
        self.trade_sockets.append(ws)
        subscribed = 0
        async for raw in ws:
            msg = json.loads(raw)
            self.frames.append(msg)
            kind, params = msg["type"], msg.get("params", {})
            if kind == "auth":
                h = params["hmac"]
                self.nonces.append(h["nonce"])
                ok = h["public_key"] == PUB and valid(h["nonce"], h["unix_ts"], h["signature"])
                await ws.send(self.auth_reply if ok else '{"authenticated": false}')
            elif kind == "subscribe":
                (channel,) = params["channels"]
                await ws.send(json.dumps({"subscribed": channel}))
                subscribed += 1
                if subscribed == 4:
                    for frame in self.after_subscribe:
                        await ws.send(frame)
            elif kind in ("close_position", "add_order"):
                if not await self.close_reply(ws, params):
                    return
            elif kind == "get_user_orders":
                await ws.send(json.dumps({"all_orders_response": {"orders": self.open_orders}}))

    async def close_reply(self, ws: ServerConnection, params: dict[str, Any]) -> bool:
        cid = params.get("client_order_id", "")
        if self.on_close == "drop":
            await ws.close()
            return False
        if self.on_close == "silent":
            return True
        if self.on_close == "err":
            await ws.send(
                json.dumps(
                    {
                        "err": {
                            "error_code": "InvalidOrder",
                            "message": "no position",
                            "incoming_message": {"type": "close_position", "params": params},
                        }
                    }
                )
            )
            return True
        echo = "" if self.on_close == "fill_without_id" else cid
        base = {
            "order_id": "oid-1",
            "symbol": params["symbol"],
            "quantity": 2.0,
            "price": 199.8,
            "side": params.get("side", "SELL"),
            "type": params.get("order_type", "LIMIT"),
            "time_in_force": "IOC",
            "client_order_id": echo,
            "quantity_remaining": 2.0,
        }
        await ws.send(json.dumps({"order_response": {**base, "status": "ACK"}}))
        await ws.send(
            json.dumps({"order_response": {**base, "status": "FILLED", "quantity_remaining": 0}})
        )
        flat = {"symbol": params["symbol"], "position": 0}
        await ws.send(json.dumps({"position_response": flat}))
        return True

    async def mds(self, ws: ServerConnection) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            assert msg == {"type": "subscribe", "channels": ["market_stats"], "symbols": ["*"]}
            marks = [{"symbol": s, "price": p, "time": "t"} for s, p in self.marks.items()]
            await ws.send(json.dumps({"type": "market_stats", "mark_prices": marks}))

    async def drop_trade(self) -> None:
        for ws in self.trade_sockets:
            await ws.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port


class Recorder:
    """The session's sink; tests await the events they expect instead of sleeping."""

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: SessionEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[SessionEvent], bool], count: int = 1) -> Any:
        async with asyncio.timeout(10):
            while True:
                matches = [e for e in self.events if predicate(e)]
                if len(matches) >= count:
                    return matches[count - 1]
                self._changed.clear()
                await self._changed.wait()

    def states(self) -> list[ConnectionState]:
        return [e.state for e in self.events if isinstance(e, ConnectionEvent)]

    def orders(self, cid: str) -> list[OrderUpdate]:
        return [e for e in self.events if isinstance(e, OrderUpdate) and e.client_order_id == cid]


def is_state(state: ConnectionState) -> Callable[[SessionEvent], bool]:
    return lambda e: isinstance(e, ConnectionEvent) and e.state is state


def is_order(cid: str, status: OrderStatus) -> Callable[[SessionEvent], bool]:
    return lambda e: (
        isinstance(e, OrderUpdate) and e.client_order_id == cid and e.status is status
    )


@pytest_asyncio.fixture
async def venue() -> AsyncIterator[FakeVenue]:
    fake = FakeVenue()
    async with serve(fake.handler, "127.0.0.1", 0, process_request=fake.process_request) as server:
        fake.server = server
        yield fake


def make_session(
    fake: FakeVenue,
    sink: Recorder,
    *,
    secret: str = SECRET,
    endpoints: dict[str, str] | None = None,
) -> QfexSession:
    account = AccountConfig(
        name=ACCOUNT,
        venue=Venue.QFEX,
        environment=Environment.DEMO,
        public_key=PUB,
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
        assert valid(headers["x-qfex-nonce"], int(headers["x-qfex-timestamp"]),
                     headers["x-qfex-hmac-signature"])
        assert headers["x-qfex-timestamp"] == str(TS)

        auth, *subscribes = venue.frames
        assert auth["type"] == "auth" and auth["params"]["hmac"]["unix_ts"] == TS
        assert [s["params"]["channels"] for s in subscribes] == [
            ["order_responses"], ["positions"], ["fills"], ["stop_orders"]
        ]
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
        assert session.preview_close(request) == (
            '{"type":"close_position","params":{"symbol":"AAPL-USD","client_order_id":"co-full"}}'
        )
        await session.send_close(request)
        filled = await sink.wait_for(is_order("co-full", OrderStatus.FILLED))
        assert filled.final and filled.filled == D(2)
        assert [u.status for u in sink.orders("co-full")] == [OrderStatus.ACK, OrderStatus.FILLED]
        await sink.wait_for(lambda e: e == PositionRemoved(AAPL))
        assert [f for f in venue.frames if f["type"] == "close_position"] == [
            {"type": "close_position",
             "params": {"symbol": "AAPL-USD", "client_order_id": "co-full"}}
        ]
        with pytest.raises(CloseRejected, match="never resent"):
            await session.send_close(request)
        assert venue.count("close_position") == 1
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_reply_without_client_id_is_matched_to_the_pending_close(venue: FakeVenue) -> None:
    venue.on_close = "fill_without_id"  # the seed's examples echo client_order_id ""
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        await session.send_close(close("co-fifo"))
        filled = await sink.wait_for(is_order("co-fifo", OrderStatus.FILLED))
        assert filled.order_id == "oid-1"
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
        await session.send_close(request)
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
            await session.send_close(close("co-bad", quantity=D("0.55")))  # lot is 0.1
        assert info.value.code == "quantity"
        with pytest.raises(CloseRejected) as info:
            await session.send_close(close("co-trig", trigger=Trigger(D("190"))))
        assert info.value.code == "trigger"  # no mark yet
        assert venue.count("add_order") == 0
        # a refused request was not sent, so its id may still be used
        await session.send_close(close("co-bad", quantity=D("0.5")))
        await sink.wait_for(is_order("co-bad", OrderStatus.FILLED))
        assert venue.count("add_order") == 1
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_err_frame_rejects_the_matching_close(venue: FakeVenue) -> None:
    venue.on_close = "err"
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        await session.send_close(close("co-err"))
        rejected = await sink.wait_for(is_order("co-err", OrderStatus.REJECTED))
        assert rejected.final and rejected.raw_status == "InvalidOrder"
        assert rejected.symbol == "AAPL-USD"
        assert rejected.message == "The venue refused the order: no position"
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_send_close_when_not_connected(venue: FakeVenue) -> None:
    session = make_session(venue, Recorder())
    with pytest.raises(SessionClosed):
        await session.send_close(close("co-early"))
    await session.start()
    await session.stop()
    await session.stop()  # idempotent
    with pytest.raises(SessionClosed):
        await session.send_close(close("co-late"))
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
async def test_close_in_flight_at_disconnect_is_unknown_and_never_resent(
    venue: FakeVenue,
) -> None:
    venue.on_close = "drop"  # the venue takes the close and the connection dies, no reply
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        await session.send_close(close("co-lost"))
        unknown = await sink.wait_for(is_order("co-lost", OrderStatus.UNKNOWN))
        assert not unknown.final
        assert unknown.message == "Connection lost before the venue answered; not resent"
        assert unknown.symbol == "AAPL-USD"

        # After reconnecting, the venue is asked (not told again): it has no such open order.
        gone = await sink.wait_for(is_order("co-lost", OrderStatus.UNKNOWN), count=2)
        assert gone.final and "check the position" in gone.message
        assert venue.count("get_user_orders") == 1
        assert venue.count("close_position") == 1
        assert venue.rest_calls.count("/user/positions") == 2
    finally:
        await session.stop()
    assert venue.count("close_position") == 1


@pytest.mark.asyncio
async def test_unknown_close_found_open_reports_its_real_state(venue: FakeVenue) -> None:
    venue.on_close = "drop"
    venue.open_orders = [
        {
            "order_id": "oid-9",
            "symbol": "AAPL-USD",
            "status": "ACK",
            "quantity": 2,
            "price": 205,
            "side": "SELL",
            "type": "LIMIT",
            "time_in_force": "GTC",
            "client_order_id": "co-limit",
            "quantity_remaining": 2,
        }
    ]
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    try:
        await session.send_close(close("co-limit", limit_price=D("205")))
        found = await sink.wait_for(is_order("co-limit", OrderStatus.ACK))
        assert found.order_id == "oid-9" and not found.final
        assert [u.status for u in sink.orders("co-limit")] == [
            OrderStatus.UNKNOWN,
            OrderStatus.ACK,
        ]
        assert venue.count("add_order") == 1
    finally:
        await session.stop()


@pytest.mark.asyncio
async def test_close_pending_at_stop_is_unknown(venue: FakeVenue) -> None:
    venue.on_close = "silent"
    sink = Recorder()
    session = make_session(venue, sink)
    await session.start()
    await session.send_close(close("co-pending"))
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
