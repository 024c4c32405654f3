"""EverstrikeSession over httpx.MockTransport (REST) and a hand-written loopback WS fake.

The WS fake is a real ``websockets`` server on 127.0.0.1, so the session's own connect,
read loop, keep-alive and reconnect run unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import urllib.parse
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest
import pytest_asyncio
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

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
    TriggerEvent,
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
from core.venues.everstrike import EverstrikeSession
from core.venues.everstrike import protocol as p
from core.venues.everstrike.session import AuthenticationFailed

API_KEY = "ak-unit-0123456789abcdef"
SECRET = "unit-secret-do-not-leak-42"
PAIR = "USD_BTC_PERP"
ACCOUNT = "es-unit"
LOCAL_NOW = 1_700_000_000.0  # the injected clock, seconds
SERVER_MS = 1_700_000_000_250  # the venue's /time: 250 ms ahead of us
ZERO_BACKOFF = ReconnectPolicy(initial=0.0, maximum=0.0, jitter=0.0)


# --------------------------------------------------------------------------- fakes


class Recorder:
    """The session's sink; lets a test await the events it expects instead of sleeping."""

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []
        self._changed = asyncio.Event()

    def __call__(self, event: SessionEvent) -> None:
        self.events.append(event)
        self._changed.set()

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(
        self, predicate: Callable[[SessionEvent], bool], count: int = 1
    ) -> list[Any]:
        async with asyncio.timeout(10):
            while True:
                found = [e for e in self.events if predicate(e)]
                if len(found) >= count:
                    return found
                self._changed.clear()
                await self._changed.wait()


def connection_state(state: ConnectionState) -> Callable[[SessionEvent], bool]:
    return lambda e: isinstance(e, ConnectionEvent) and e.state is state


class FakeWs:
    """Everstrike's WS as documented: auth_api -> authenticated; status -> ok; sub -> subscribed."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.per_connection: list[list[dict[str, Any]]] = []
        self.connections: list[ServerConnection] = []
        self.reject_auth = False
        self._changed = asyncio.Event()
        self.server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def handler(self, conn: ServerConnection) -> None:
        self.connections.append(conn)
        mine: list[dict[str, Any]] = []
        self.per_connection.append(mine)
        self._changed.set()
        with contextlib.suppress(ConnectionClosed):
            async for raw in conn:
                message = json.loads(raw)
                self.received.append(message)
                mine.append(message)
                self._changed.set()
                await conn.send(json.dumps(self.reply(message)))

    def reply(self, message: dict[str, Any]) -> dict[str, Any]:
        op, content = message.get("op"), message.get("content")
        if op == "auth_api":
            if self.reject_auth or content != API_KEY:
                return {"code": 401, "msg": "Invalid API key", "category": "error"}
            return {"code": 200, "msg": "Authenticated", "category": "authenticated"}
        if op == "status":
            return {"code": 200, "msg": "ok", "category": "ok"}
        if op in ("sub", "unsub"):
            category = "subscribed" if op == "sub" else "unsubscribed"
            return {"code": 200, "msg": content, "category": category}
        return {"code": 400, "msg": f"unexpected op {op}", "category": "error"}

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        await self.connections[-1].send(text)

    async def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        count: int = 1,
        connection: int | None = None,
    ) -> None:
        async with asyncio.timeout(10):
            while True:
                if connection is None:
                    messages = self.received
                elif connection < len(self.per_connection):
                    messages = self.per_connection[connection]
                else:
                    messages = []
                if sum(1 for m in messages if predicate(m)) >= count:
                    return
                self._changed.clear()
                await self._changed.wait()

    def ops(self, op: str) -> list[str]:
        return [m["content"] for m in self.received if m.get("op") == op]


Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def envelope(result: Any, code: int = 200, msg: str = "") -> dict[str, Any]:
    return {"code": code, "msg": msg, "result": result}


def position_json(size: float, direction: str = "BUY") -> dict[str, Any]:
    return {
        "size": size,
        "stats": {
            "size": size, "mark": 100.5, "avg_entry": 99, "upnl": 1.5, "direction": direction
        },
    }


def order_json(status: str = "ACTIVE", order_id: str = "ord-1", **extra: Any) -> dict[str, Any]:
    base = {"id": order_id, "pair": PAIR, "side": "SELL", "type": "MARKET", "status": status}
    base.update({"qty_orig": 2, "qty_remaining": 2, "time": 1700000000300})
    base.update(extra)
    return base


@dataclass
class FakeRest:
    """Everstrike's REST as documented; ``close`` answers ``POST /auth/close``."""

    positions: dict[str, Any] = field(default_factory=lambda: {PAIR: position_json(2)})
    server_ms: int = SERVER_MS
    close: Handler | None = None
    requests: list[httpx.Request] = field(default_factory=list)
    snapshot_failures: int = 0  # answer this many /active_positions with 503 first

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.url.path == path)

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if request.method == "GET":
            assert "x-signature" not in request.headers
        if path == "/pairs":
            return httpx.Response(200, json=envelope({PAIR: {"key": PAIR, "filters": []}}))
        if path == "/time":
            return httpx.Response(200, json=envelope(self.server_ms))
        if path == "/active_positions":
            assert request.headers["x-api-key"] == API_KEY
            if self.snapshot_failures:
                self.snapshot_failures -= 1
                return httpx.Response(503, json=envelope({}, 503, "Invalid request"))
            return httpx.Response(200, json=envelope(self.positions))
        if path == "/auth/close" and request.method == "POST":
            assert self.close is not None, "unexpected close"
            return await self.close(request)
        return httpx.Response(503, json=envelope({}, 503, "Invalid request"))


def account(ws_url: str, rest_url: str = "http://127.0.0.1:9") -> AccountConfig:
    return AccountConfig(
        name=ACCOUNT,
        venue=Venue.EVERSTRIKE,
        environment=Environment.DEMO,
        public_key=API_KEY,
        endpoints={"rest": rest_url, "ws": ws_url},
    )


def close_request(**kwargs: Any) -> CloseRequest:
    return CloseRequest(
        key=PositionKey(ACCOUNT, Venue.EVERSTRIKE, PAIR),
        position_side=PositionSide.LONG,
        position_quantity=Decimal(2),
        **kwargs,
    )


def verify(request: httpx.Request) -> str:
    """Check a POST as the venue would: signature over the exact body bytes."""
    body = request.content.decode("utf-8")
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest()
    ).decode()
    assert request.headers["x-signature"] == expected
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    return body


@dataclass
class Rig:
    ws: FakeWs
    rest: FakeRest
    sink: Recorder
    make: Callable[..., EverstrikeSession]


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    fake_ws = FakeWs()
    rest = FakeRest()
    sink = Recorder()
    sessions: list[EverstrikeSession] = []

    def make(**kwargs: Any) -> EverstrikeSession:
        options: dict[str, Any] = {
            "transport": httpx.MockTransport(rest),
            "clock": lambda: LOCAL_NOW,
            "reconnect": ZERO_BACKOFF,
        }
        options.update(kwargs)
        session = EverstrikeSession(
            account(fake_ws.url), Credentials(API_KEY, SECRET), sink, **options
        )
        sessions.append(session)
        return session

    async with serve(fake_ws.handler, "127.0.0.1", 0) as server:
        fake_ws.server = server
        yield Rig(fake_ws, rest, sink, make)
        for session in sessions:
            await session.stop()
    for event in sink.events:  # nothing the session emitted may carry the secret
        assert SECRET not in repr(event)


async def started(rig: Rig, **kwargs: Any) -> EverstrikeSession:
    session = rig.make(**kwargs)
    await session.start()
    return session


async def settled(rig: Rig, connection: int = 0) -> None:
    """Wait until the fake has read everything the session sent while connecting: the first
    keep-alive on a connection is written after its auth and subscriptions."""
    await rig.ws.wait_for(lambda m: m.get("op") == "status", connection=connection)


# --------------------------------------------------------------------------- start


@pytest.mark.asyncio
async def test_start_snapshots_authenticates_and_subscribes(rig: Rig) -> None:
    session = await started(rig, keepalive=0.01)
    await settled(rig)
    assert session.connected
    assert session.skew_ms == 250
    assert PAIR in session.instruments
    (snapshot,) = rig.sink.of(PositionsSnapshot)
    (position,) = snapshot.positions
    assert position.key.symbol == PAIR and position.quantity == Decimal(2)
    assert position.side is PositionSide.LONG
    assert rig.ws.ops("auth_api") == [API_KEY]
    assert rig.ws.ops("sub") == [f"{PAIR}:index"]
    states = [e.state for e in rig.sink.of(ConnectionEvent)]
    assert states == [ConnectionState.CONNECTING, ConnectionState.CONNECTED]


@pytest.mark.asyncio
async def test_subscribes_marks_for_at_most_ten_pairs(rig: Rig) -> None:
    rig.rest.positions = {f"USD_C{i:02d}_PERP": position_json(1) for i in range(12)}
    await started(rig, keepalive=0.01)
    await settled(rig)
    subs = rig.ws.ops("sub")
    assert len(subs) == 10
    assert subs == [f"USD_C{i:02d}_PERP:index" for i in range(10)]


@pytest.mark.asyncio
async def test_wrong_key_fails_start(rig: Rig) -> None:
    rig.ws.reject_auth = True
    session = rig.make()
    with pytest.raises(AuthenticationFailed, match="refused the API key"):
        await session.start()
    assert not session.connected
    assert rig.sink.of(ConnectionEvent)[-1].state is ConnectionState.FAILED
    with pytest.raises(SessionClosed):
        await session.send_close(close_request())


def test_insecure_urls_are_refused() -> None:
    creds = Credentials(API_KEY, SECRET)
    with pytest.raises(InsecureEndpoint):
        EverstrikeSession(account("wss://ok.example", "http://api.example.com"), creds, print)
    with pytest.raises(InsecureEndpoint):
        EverstrikeSession(account("ws://wss.example.com", "https://api.example.com"), creds, print)
    demo = AccountConfig(ACCOUNT, Venue.EVERSTRIKE, Environment.DEMO, API_KEY)
    with pytest.raises(ValueError, match="endpoints"):
        EverstrikeSession(demo, creds, print)


def test_live_defaults_are_tls() -> None:
    live = AccountConfig(ACCOUNT, Venue.EVERSTRIKE, Environment.LIVE, API_KEY)
    session = EverstrikeSession(live, Credentials(API_KEY, SECRET), print)
    assert session.capabilities is p.CAPABILITIES and not session.connected


# --------------------------------------------------------------------------- closes


@pytest.mark.asyncio
async def test_close_body_is_the_signed_string_and_events_carry_the_client_id(rig: Rig) -> None:
    sent: list[str] = []

    async def close(request: httpx.Request) -> httpx.Response:
        sent.append(verify(request))
        result = {"order": order_json(), "position": position_json(2)}
        return httpx.Response(200, json=envelope(result))

    rig.rest.close = close
    session = await started(rig)
    request = close_request(quantity=Decimal("0.50"), limit_price=Decimal("101.0"))
    preview = session.preview_close(request)
    await session.send_close(request)

    (body,) = sent
    assert body == f"pair={PAIR}&qty=0.5&price=101&timestamp={SERVER_MS}&recv_window=5000"
    assert preview.endswith("\n" + body)  # the preview shows exactly what went out
    assert SECRET not in preview and API_KEY not in preview
    assert rig.rest.count("/auth/close") == 1

    (update,) = rig.sink.of(OrderUpdate)
    assert update.client_order_id == request.client_order_id
    assert (update.status, update.order_id) == (OrderStatus.ACK, "ord-1")
    assert update.raw_status == "ACTIVE"
    assert isinstance(rig.sink.events[-1], Position)

    # A later WS event for that order carries our id too.
    order = order_json("COMPLETED", qty_remaining=0)
    await rig.ws.send(
        {"code": 200, "category": "order_completed", "pair": PAIR, "result": {"order": order}}
    )
    (filled,) = await rig.sink.wait_for(
        lambda e: isinstance(e, OrderUpdate) and e.status is OrderStatus.FILLED
    )
    assert filled.client_order_id == request.client_order_id and filled.final


@pytest.mark.asyncio
async def test_trigger_close_fields(rig: Rig) -> None:
    bodies: list[str] = []

    async def close(request: httpx.Request) -> httpx.Response:
        bodies.append(verify(request))
        order = order_json("UNTRIGGERED", trigger_price=95, trigger_event="INDEX_PRICE")
        return httpx.Response(200, json=envelope({"order": order}))

    rig.rest.close = close
    session = await started(rig, recv_window=None)
    request = close_request(trigger=Trigger(Decimal(95), TriggerEvent.INDEX, True))
    await session.send_close(request)
    fields = dict(urllib.parse.parse_qsl(bodies[0]))
    assert fields == {
        "pair": PAIR,
        "trigger_price": "95",
        "trigger_event": "INDEX_PRICE",
        "close_on_trigger": "true",
        "timestamp": str(SERVER_MS),
    }
    (update,) = rig.sink.of(OrderUpdate)
    assert update.status is OrderStatus.TRIGGER_ACK
    assert update.client_order_id == request.client_order_id


@pytest.mark.asyncio
async def test_ws_events_racing_ahead_of_the_reply_are_held_then_stamped(rig: Rig) -> None:
    session = await started(rig)
    request = close_request()

    async def close(request_: httpx.Request) -> httpx.Response:
        verify(request_)
        added = order_json("ACTIVE")
        done = order_json("COMPLETED", qty_remaining=0)
        for category, order in (("order_added", added), ("order_completed", done)):
            await rig.ws.send(
                {"code": 200, "category": category, "pair": PAIR, "result": {"order": order}}
            )
        await rig.ws.send(
            {"code": 200, "category": "position_closed", "pair": PAIR, "result": {"pair": PAIR}}
        )
        # A mark after them proves the session has read them before we answer.
        await rig.ws.send({"code": 200, "category": "index", "pair": PAIR, "result": {"mark": 7}})
        await rig.sink.wait_for(lambda e: isinstance(e, MarkUpdate))
        assert not rig.sink.of(OrderUpdate)  # held, not emitted without our id
        assert not rig.sink.of(PositionRemoved)
        return httpx.Response(200, json=envelope({"order": added, "position": position_json(2)}))

    rig.rest.close = close
    await session.send_close(request)

    tail = [e for e in rig.sink.events if isinstance(e, OrderUpdate | Position | PositionRemoved)]
    kinds = [
        (type(e).__name__, e.status if isinstance(e, OrderUpdate) else None) for e in tail
    ]
    assert kinds == [
        ("OrderUpdate", OrderStatus.ACK),  # the REST reply
        ("Position", None),  # the reply's position
        ("OrderUpdate", OrderStatus.ACK),  # held order_added
        ("OrderUpdate", OrderStatus.FILLED),  # held order_completed
        ("PositionRemoved", None),  # held position_closed: the latest state lands last
    ]
    for update in rig.sink.of(OrderUpdate):
        assert update.client_order_id == request.client_order_id


@pytest.mark.asyncio
async def test_unrelated_ws_orders_are_not_held(rig: Rig) -> None:
    await started(rig)
    order = order_json("ACTIVE", order_id="someone-else", pair="USD_ETH_PERP")
    await rig.ws.send(
        {"code": 200, "category": "order_added", "pair": "USD_ETH_PERP", "result": {"order": order}}
    )
    (update,) = await rig.sink.wait_for(lambda e: isinstance(e, OrderUpdate))
    assert update.client_order_id is None and update.order_id == "someone-else"


ERROR_CASES = [
    pytest.param(
        503, {"code": 503, "msg": "Invalid request", "result": {}}, "503", "refused", id="503"
    ),
    pytest.param(
        429,
        {
            "code": 429,
            "msg": "You have done that too much recently. Care to try again in 0.043 seconds?",
            "result": None,
        },
        "429",
        "0.043 s",
        id="429",
    ),
    pytest.param(
        408,
        {"code": 414, "msg": "The timestamp is too old.", "result": None},
        "414",
        "timestamp",
        id="408",
    ),
    pytest.param(
        401, {"code": 401, "msg": "Bad signature", "result": None}, "401", "key", id="401"
    ),
]


@pytest.mark.parametrize(("status", "body", "code", "phrase"), ERROR_CASES)
@pytest.mark.asyncio
async def test_venue_errors_raise_close_rejected_and_emit_rejected(
    rig: Rig, status: int, body: dict[str, Any], code: str, phrase: str
) -> None:
    async def close(request: httpx.Request) -> httpx.Response:
        verify(request)
        return httpx.Response(status, json=body)

    rig.rest.close = close
    session = await started(rig)
    request = close_request(quantity=Decimal(1))
    with pytest.raises(CloseRejected) as info:
        await session.send_close(request)
    assert info.value.code == code
    assert phrase in str(info.value)
    assert "Nothing was placed" in str(info.value) or "nothing was placed" in str(info.value)
    (update,) = rig.sink.of(OrderUpdate)
    assert update.status is OrderStatus.REJECTED and update.final
    assert update.client_order_id == request.client_order_id
    assert update.message == str(info.value)
    assert rig.rest.count("/auth/close") == 1  # never retried
    assert rig.rest.count("/time") == (2 if status == 408 else 1)


@pytest.mark.asyncio
async def test_stale_timestamp_resync_moves_the_next_timestamp(rig: Rig) -> None:
    bodies: list[str] = []

    async def close(request: httpx.Request) -> httpx.Response:
        bodies.append(verify(request))
        if len(bodies) == 1:
            return httpx.Response(408, json=envelope(None, 414, "The timestamp is too old."))
        return httpx.Response(200, json=envelope({"order": order_json()}))

    rig.rest.close = close
    session = await started(rig)
    rig.rest.server_ms = SERVER_MS + 60_000  # the venue's clock ran away from ours
    with pytest.raises(CloseRejected):
        await session.send_close(close_request())
    assert session.skew_ms == 60_250
    await session.send_close(close_request())  # the user sends again; we never do
    stamps = [dict(urllib.parse.parse_qsl(b))["timestamp"] for b in bodies]
    assert stamps == [str(SERVER_MS), str(SERVER_MS + 60_000)]


@pytest.mark.asyncio
async def test_timeout_after_sending_is_unknown_and_not_resent(rig: Rig) -> None:
    async def close(request: httpx.Request) -> httpx.Response:
        verify(request)
        raise httpx.ReadTimeout("no answer", request=request)

    rig.rest.close = close
    session = await started(rig)
    request = close_request()
    with pytest.raises(CloseRejected, match="not resent") as info:
        await session.send_close(request)
    assert info.value.code == "no_answer"
    (update,) = rig.sink.of(OrderUpdate)
    assert update.status is OrderStatus.UNKNOWN and not update.final
    assert update.client_order_id == request.client_order_id
    assert update.message == "No answer from the venue; not resent. Check positions at Everstrike."
    assert rig.rest.count("/auth/close") == 1


@pytest.mark.asyncio
async def test_connect_failure_is_rejected_as_not_sent(rig: Rig) -> None:
    async def close(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    rig.rest.close = close
    session = await started(rig)
    with pytest.raises(CloseRejected, match="nothing was sent"):
        await session.send_close(close_request())
    (update,) = rig.sink.of(OrderUpdate)
    assert update.status is OrderStatus.REJECTED


@pytest.mark.asyncio
async def test_unreadable_success_reply_is_unknown(rig: Rig) -> None:
    async def close(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>oops</html>")

    rig.rest.close = close
    session = await started(rig)
    with pytest.raises(CloseRejected, match="may or may not"):
        await session.send_close(close_request())
    assert rig.sink.of(OrderUpdate)[0].status is OrderStatus.UNKNOWN
    assert rig.sink.of(ProtocolError)


@pytest.mark.asyncio
async def test_invalid_request_is_refused_before_sending(rig: Rig) -> None:
    session = await started(rig)
    with pytest.raises(CloseRejected) as info:
        await session.send_close(close_request(quantity=Decimal(-1)))
    assert info.value.code == "invalid:quantity"
    with pytest.raises(CloseRejected):
        session.preview_close(close_request(limit_price=Decimal("NaN")))
    assert rig.rest.count("/auth/close") == 0


# --------------------------------------------------------------------------- WS lifecycle


@pytest.mark.asyncio
async def test_keepalive_status_frames_are_sent(rig: Rig) -> None:
    await started(rig, keepalive=0.01)
    await rig.ws.wait_for(lambda m: m == {"op": "status", "content": "empty"}, count=3)


@pytest.mark.asyncio
async def test_reconnect_reauthenticates_resubscribes_and_resnapshots(rig: Rig) -> None:
    session = await started(rig, keepalive=0.01)
    await settled(rig)
    rig.rest.positions = {PAIR: position_json(1), "USD_ETH_PERP": position_json(-3, "SELL")}
    await rig.ws.connections[-1].close()
    await rig.sink.wait_for(connection_state(ConnectionState.DISCONNECTED))
    await rig.sink.wait_for(connection_state(ConnectionState.CONNECTED), count=2)
    await settled(rig, connection=1)
    assert session.connected
    assert rig.ws.ops("auth_api") == [API_KEY, API_KEY]
    assert rig.ws.ops("sub") == [f"{PAIR}:index", f"{PAIR}:index", "USD_ETH_PERP:index"]
    snapshots = rig.sink.of(PositionsSnapshot)
    assert len(snapshots) == 2
    assert {pos.key.symbol for pos in snapshots[-1].positions} == {PAIR, "USD_ETH_PERP"}
    assert rig.rest.count("/active_positions") == 2


@pytest.mark.asyncio
async def test_reconnect_keeps_trying_through_failures(rig: Rig) -> None:
    session = await started(rig)
    rig.rest.snapshot_failures = 2
    await rig.ws.connections[-1].close()
    await rig.sink.wait_for(connection_state(ConnectionState.CONNECTED), count=2)
    states = [e.state for e in rig.sink.of(ConnectionEvent)]
    assert states[2:] == [
        ConnectionState.DISCONNECTED,
        ConnectionState.CONNECTING,
        ConnectionState.DISCONNECTED,  # snapshot refused: 503
        ConnectionState.CONNECTING,
        ConnectionState.DISCONNECTED,
        ConnectionState.CONNECTING,
        ConnectionState.CONNECTED,
    ]
    assert rig.rest.count("/active_positions") == 4
    assert len(rig.sink.of(PositionsSnapshot)) == 2
    assert session.connected


@pytest.mark.asyncio
async def test_key_refused_on_reconnect_stops_retrying(rig: Rig) -> None:
    session = await started(rig)
    rig.ws.reject_auth = True
    await rig.ws.connections[-1].close()
    (failed,) = await rig.sink.wait_for(connection_state(ConnectionState.FAILED))
    assert "Invalid API key" in failed.message
    assert not session.connected
    supervisor = session._run_task  # white-box: the reconnect loop itself must have ended
    assert supervisor is not None
    async with asyncio.timeout(10):
        await supervisor
    assert len(rig.ws.ops("auth_api")) == 2


@pytest.mark.asyncio
async def test_bad_frames_become_protocol_errors_and_the_session_lives_on(rig: Rig) -> None:
    session = await started(rig)
    for bad in ("{not json", '{"code":200,"category":"brand_new"}', "[1]"):
        await rig.ws.send(bad)
    await rig.ws.send({"code": 200, "category": "error", "msg": "subscription limit"})
    await rig.ws.send({"code": 200, "category": "index", "pair": PAIR, "result": {"mark": 101.25}})
    (mark,) = await rig.sink.wait_for(lambda e: isinstance(e, MarkUpdate))
    assert mark.mark == Decimal("101.25")
    errors = rig.sink.of(ProtocolError)
    assert len(errors) == 4
    assert errors[-1].code == "ws_error" and "subscription limit" in errors[-1].message
    assert session.connected


@pytest.mark.asyncio
async def test_position_events_follow_subscriptions(rig: Rig) -> None:
    await started(rig)
    new = position_json(4, "SELL")
    await rig.ws.send(
        {"code": 200, "category": "position_updated", "pair": "USD_ETH_PERP", "result": new}
    )
    await rig.ws.wait_for(lambda m: m == {"op": "sub", "content": "USD_ETH_PERP:index"})
    await rig.ws.send({"code": 200, "category": "position_closed", "pair": PAIR, "result": {}})
    await rig.ws.wait_for(lambda m: m == {"op": "unsub", "content": f"{PAIR}:index"})
    (position,) = rig.sink.of(Position)
    assert position.side is PositionSide.SHORT and position.quantity == Decimal(4)


@pytest.mark.asyncio
async def test_refresh_and_idempotent_stop(rig: Rig) -> None:
    session = await started(rig)
    rig.rest.positions = {}
    await session.refresh_positions()
    assert rig.sink.of(PositionsSnapshot)[-1].positions == ()
    await session.stop()
    await session.stop()
    assert not session.connected
    assert [e.state for e in rig.sink.of(ConnectionEvent)].count(ConnectionState.DISCONNECTED) == 1
    with pytest.raises(SessionClosed):
        await session.send_close(close_request())
    with pytest.raises(SessionClosed):
        await session.refresh_positions()
