"""EverstrikeSession over httpx.MockTransport (REST) and a hand-written loopback WS fake.

The WS fake is a real ``websockets`` server on 127.0.0.1, so the session's own connect,
read loop, keep-alive and reconnect run unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import urllib.parse
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

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
    OrderSide,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    PositionSide,
    PositionsSnapshot,
    ProtocolError,
    SessionEvent,
    SessionHealth,
    Trigger,
    TriggerEvent,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
from core.venue import (
    AccountConfig,
    CancelRejected,
    CloseRejected,
    Credentials,
    InsecureEndpoint,
    ReconnectPolicy,
    SessionClosed,
)
from core.venues.everstrike import EVERSTRIKE, EverstrikeSession
from core.venues.everstrike import protocol as p
from core.venues.everstrike.session import AuthenticationFailed
from tests.helpers.clock import FakeClock
from tests.helpers.fakes import Recorder
from tests.helpers.venues import FakeRest, FakeWs, envelope, position_json

API_KEY = "ak-unit-0123456789abcdef"
SECRET = "unit-secret-do-not-leak-42"
PAIR = "USD_BTC_PERP"
ACCOUNT = "es-unit"
LOCAL_NOW = 1_700_000_000.0  # the injected clock, seconds
SERVER_MS = 1_700_000_000_250  # the venue's /time: 250 ms ahead of us
ZERO_BACKOFF = ReconnectPolicy(initial=0.0, maximum=0.0, jitter=0.0)


# --------------------------------------------------------------------------- helpers


def connection_state(state: ConnectionState) -> Callable[[SessionEvent], bool]:
    return lambda e: isinstance(e, ConnectionEvent) and e.state is state


def order_json(status: str = "ACTIVE", order_id: str = "ord-1", **extra: Any) -> dict[str, Any]:
    base = {"id": order_id, "pair": PAIR, "side": "SELL", "type": "MARKET", "status": status}
    base.update({"qty_orig": 2, "qty_remaining": 2, "time": 1700000000300})
    base.update(extra)
    return base


def account(ws_url: str, rest_url: str = "http://127.0.0.1:9") -> AccountConfig:
    return AccountConfig(
        name=ACCOUNT,
        venue=EVERSTRIKE,
        environment=Environment.DEMO,
        public_key=API_KEY,
        endpoints={"rest": rest_url, "ws": ws_url},
    )


def close_request(**kwargs: Any) -> CloseRequest:
    return CloseRequest(
        key=PositionKey(ACCOUNT, EVERSTRIKE, PAIR),
        position_side=PositionSide.LONG,
        position_quantity=Decimal(2),
        **kwargs,
    )


async def send_close(session: EverstrikeSession, request: CloseRequest) -> None:
    """Prepare once and send exactly that, as the desk does."""
    await session.send(session.prepare_close(request))


async def cancel_order(session: EverstrikeSession, order: WorkingOrder) -> None:
    await session.cancel(session.prepare_cancel(order))


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
    fake_ws = FakeWs(API_KEY)
    rest = FakeRest(API_KEY, PAIR, SERVER_MS)
    sink = Recorder()
    sessions: list[EverstrikeSession] = []

    def make(**kwargs: Any) -> EverstrikeSession:
        options: dict[str, Any] = {
            "transport": httpx.MockTransport(rest),
            "clock": lambda: LOCAL_NOW,
            "reconnect": ZERO_BACKOFF,
            "reconcile_delay": 0.0,
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
        await send_close(session, close_request())


def test_insecure_urls_are_refused() -> None:
    creds = Credentials(API_KEY, SECRET)
    with pytest.raises(InsecureEndpoint):
        EverstrikeSession(account("wss://ok.example", "http://api.example.com"), creds, print)
    with pytest.raises(InsecureEndpoint):
        EverstrikeSession(account("ws://wss.example.com", "https://api.example.com"), creds, print)
    demo = AccountConfig(ACCOUNT, EVERSTRIKE, Environment.DEMO, API_KEY)
    with pytest.raises(ValueError, match="endpoints"):
        EverstrikeSession(demo, creds, print)


def test_live_defaults_are_tls() -> None:
    live = AccountConfig(ACCOUNT, EVERSTRIKE, Environment.LIVE, API_KEY)
    session = EverstrikeSession(live, Credentials(API_KEY, SECRET), print)
    assert session.capabilities is p.CAPABILITIES and not session.connected


# --------------------------------------------------------------------------- closes


@pytest.mark.asyncio
async def test_close_body_is_the_signed_string_and_events_carry_the_client_id(rig: Rig) -> None:
    sent: list[httpx.Request] = []

    async def close(request: httpx.Request) -> httpx.Response:
        verify(request)
        sent.append(request)
        result = {"order": order_json(), "position": position_json(2)}
        return httpx.Response(200, json=envelope(result))

    rig.rest.close = close
    session = await started(rig)
    request = close_request(quantity=Decimal("0.50"), limit_price=Decimal("101.0"))
    prepared = session.prepare_close(request)
    await session.send(prepared)

    (wire,) = sent
    body = f"pair={PAIR}&qty=0.5&price=101&timestamp={SERVER_MS}&recv_window=5000"
    assert wire.content == prepared.wire == body.encode()  # built once, sent as built
    assert (prepared.target, prepared.stamped_ms) == ("/auth/close", SERVER_MS)
    signature = wire.headers["x-signature"]
    assert prepared.redacted == (  # the wire text with only the key and signature masked
        "POST /auth/close\ncontent-type: application/x-www-form-urlencoded\n"
        f"x-api-key: ak-u…***\nx-signature: {p.redact(signature)}\n\n{body}"
    )
    assert SECRET not in prepared.redacted and API_KEY not in prepared.redacted
    assert SECRET not in repr(prepared) and signature not in repr(prepared)
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
    (filled,) = await rig.sink.wait_all(
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
    await send_close(session, request)
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
async def test_ws_events_racing_ahead_of_the_reply_are_held_then_stamped_once(rig: Rig) -> None:
    """The venue's WS events arrive before its REST reply: held until the reply names the order,
    then passed on with our id, each step once and in the order received (the reply's ACK
    repeats the WS's, which came first)."""
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
    await send_close(session, request)

    tail = [e for e in rig.sink.events if isinstance(e, OrderUpdate | Position | PositionRemoved)]
    kinds = [
        (type(e).__name__, e.status if isinstance(e, OrderUpdate) else None) for e in tail
    ]
    assert kinds == [
        ("OrderUpdate", OrderStatus.ACK),  # held order_added: the first to say it
        ("OrderUpdate", OrderStatus.FILLED),  # held order_completed
        ("Position", None),  # the reply's position (its ACK: a repeat)
        ("PositionRemoved", None),  # held position_closed: the latest state lands last
    ]
    updates = rig.sink.of(OrderUpdate)
    for update in updates:
        assert update.client_order_id == request.client_order_id
    assert [u.raw_status for u in updates] == ["order_added", "order_completed"]
    assert updates[0].received_at <= updates[1].received_at


ERROR_CASES = [
    pytest.param(
        503,
        {"code": 503, "msg": "Invalid request", "result": {}},
        "503",
        "the venue's generic failure (Invalid request): Everstrike refused the close without a "
        "specific reason. Nothing was placed or resent.",
        id="503",
    ),
    pytest.param(
        429,
        {
            "code": 429,
            "msg": "You have done that too much recently. Care to try again in 0.043 seconds?",
            "result": None,
        },
        "429",
        "rate limited by Everstrike; slowed down for 0.043 s — nothing was resent",
        id="429",
    ),
    pytest.param(
        408,
        {"code": 414, "msg": "The timestamp is too old.", "result": None},
        "414",
        "Your clock is off by about 250 ms; Closeout re-synchronised with the venue. "
        "Nothing was resent — send the close again.",
        id="408",
    ),
    pytest.param(
        401,
        {"code": 401, "msg": "Bad signature", "result": None},
        "401",
        "Everstrike refused the API key or signature (Bad signature): check the account's API "
        "key and secret. Nothing was placed.",
        id="401",
    ),
    pytest.param(
        400,
        {"code": 400, "msg": "Insufficient position", "result": None},
        "400",
        "Everstrike refused the close (HTTP 400, code 400) (Insufficient position). "
        "Nothing was placed.",
        id="400",
    ),
]


@pytest.mark.parametrize(("status", "body", "code", "message"), ERROR_CASES)
@pytest.mark.asyncio
async def test_venue_errors_raise_close_rejected_and_emit_rejected(
    rig: Rig, status: int, body: dict[str, Any], code: str, message: str
) -> None:
    async def close(request: httpx.Request) -> httpx.Response:
        verify(request)
        return httpx.Response(status, json=body)

    rig.rest.close = close
    session = await started(rig)
    request = close_request(quantity=Decimal(1))
    with pytest.raises(CloseRejected) as info:
        await send_close(session, request)
    assert info.value.code == code
    assert str(info.value) == message
    (update,) = rig.sink.of(OrderUpdate)
    assert update.status is OrderStatus.REJECTED and update.final
    assert update.client_order_id == request.client_order_id
    assert update.message == message
    assert rig.rest.count("/auth/close") == 1  # never retried
    assert rig.rest.count("/time") == (2 if status == 408 else 1)
    assert rig.rest.count("/orders") == 0  # a refusal is known: nothing to reconcile
    assert session.health().rate_headroom == (0.0 if status == 429 else None)


@pytest.mark.parametrize("executed", [True, False], ids=["it-ran", "it-did-not"])
@pytest.mark.asyncio
async def test_venue_error_is_refused_but_looked_up_once(rig: Rig, executed: bool) -> None:
    """A 500 is refused as the venue's own adapter does; a server error can still come after
    the work was done, so one quiet lookup corrects the record if the close is there."""

    async def close(request: httpx.Request) -> httpx.Response:
        verify(request)
        if executed:
            rig.rest.orders = [
                order_json("COMPLETED", order_id="ord-9", qty_orig=1, qty_remaining=0,
                           time=SERVER_MS + 5, reduce_only=True)
            ]
        return httpx.Response(500, json=envelope(None, 500, "Internal error"))

    rig.rest.close = close
    session = await started(rig)
    request = close_request(quantity=Decimal(1))
    with pytest.raises(CloseRejected) as info:
        await send_close(session, request)
    assert (info.value.code, str(info.value)) == (
        "500",
        "Everstrike reported a venue error (HTTP 500: Internal error); the close was most "
        "likely not placed and was not resent. Closeout is checking the venue's orders in case "
        "it was.",
    )
    await rig.rest.wait_for_count("/triggers", 2)  # the lookup ran (after /orders)
    if executed:
        (found,) = await rig.sink.wait_all(
            lambda e: isinstance(e, OrderUpdate) and e.order_id == "ord-9"
        )
        assert (found.status, found.client_order_id) == (OrderStatus.FILLED,
                                                         request.client_order_id)
    async with session._reconcile_lock:  # white-box barrier: the lookup holds it until done
        assert not session._orders.unresolved
    updates = rig.sink.of(OrderUpdate)
    assert [u.status for u in updates] == [OrderStatus.REJECTED] + (
        [OrderStatus.FILLED] if executed else []
    )  # nothing said when it is not there: it was already reported refused
    assert rig.rest.count("/auth/close") == 1


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
        await send_close(session, close_request())
    assert session.skew_ms == 60_250
    await send_close(session, close_request())  # the user sends again; we never do
    stamps = [dict(urllib.parse.parse_qsl(b))["timestamp"] for b in bodies]
    assert stamps == [str(SERVER_MS), str(SERVER_MS + 60_000)]


@pytest.mark.asyncio
async def test_timeout_after_sending_is_unknown_then_not_found(rig: Rig) -> None:
    async def close(request: httpx.Request) -> httpx.Response:
        verify(request)
        raise httpx.ReadTimeout("no answer", request=request)

    rig.rest.close = close
    session = await started(rig)
    request = close_request()
    await send_close(session, request)  # not a refusal: UNKNOWN, and the lookup runs
    first, last = await rig.sink.wait_all(
        lambda e: isinstance(e, OrderUpdate) and e.client_order_id == request.client_order_id,
        count=2,
    )
    assert first.status is OrderStatus.UNKNOWN and not first.final
    assert first.message == (
        "No answer from Everstrike; not resent. Checking Everstrike's order list to find out "
        "what happened."
    )
    assert last.status is OrderStatus.UNKNOWN and last.final
    assert last.message == "not found at the venue: it may not have arrived; check the position"
    await rig.rest.wait_for_count("/active_positions", 2)  # a fresh positions snapshot
    await rig.sink.wait_for(lambda e: isinstance(e, PositionsSnapshot), count=2)
    assert rig.rest.gets("/orders") == [{"limit": "100", "pair": PAIR}]
    assert rig.rest.gets("/triggers")[-1] == {"limit": "100", "pair": PAIR}
    assert rig.rest.count("/auth/close") == 1


@pytest.mark.asyncio
async def test_failed_lookups_are_retried_then_given_up(rig: Rig) -> None:
    async def close(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("reset", request=request)

    rig.rest.close = close
    rig.rest.orders_failures = 10
    session = await started(rig, reconcile_retry=0.0, reconcile_attempts=2)
    request = close_request()
    await send_close(session, request)
    (last,) = await rig.sink.wait_all(
        lambda e: isinstance(e, OrderUpdate) and e.final and e.status is OrderStatus.UNKNOWN
    )
    assert last.message.startswith("could not check at Everstrike (Invalid request)")
    assert rig.rest.count("/orders") == 2
    assert rig.rest.count("/auth/close") == 1


@pytest.mark.asyncio
async def test_lost_reply_while_disconnected_is_looked_up_after_the_reconnect(rig: Rig) -> None:
    """With the WS down, "not found" is not final yet: the venue is asked again once back."""
    gate = asyncio.Event()

    async def close(request: httpx.Request) -> httpx.Response:
        await rig.ws.connections[-1].close()
        await rig.sink.wait_for(connection_state(ConnectionState.DISCONNECTED))
        rig.ws.hold_auth = gate
        raise httpx.ReadError("reset", request=request)

    rig.rest.close = close
    session = await started(rig, timeout=30.0)
    request = close_request(quantity=Decimal(1))
    await send_close(session, request)
    await rig.rest.wait_for_count("/orders", 1)
    await rig.ws.wait_for(lambda m: m.get("op") == "auth_api", connection=1)
    assert not session.connected
    assert len(rig.sink.of(OrderUpdate)) == 1  # UNKNOWN, still open: not declared missing
    rig.rest.orders = [
        order_json("COMPLETED", order_id="late", qty_orig=1, qty_remaining=0, time=SERVER_MS)
    ]
    gate.set()
    (found,) = await rig.sink.wait_all(
        lambda e: isinstance(e, OrderUpdate) and e.order_id == "late"
    )
    assert found.client_order_id == request.client_order_id and found.final
    assert rig.rest.count("/orders") == 2
    assert rig.rest.count("/auth/close") == 1


@pytest.mark.asyncio
async def test_connect_failure_is_rejected_as_not_sent(rig: Rig) -> None:
    async def close(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    rig.rest.close = close
    session = await started(rig)
    with pytest.raises(CloseRejected, match="nothing was sent"):
        await send_close(session, close_request())
    (update,) = rig.sink.of(OrderUpdate)
    assert update.status is OrderStatus.REJECTED


@pytest.mark.asyncio
async def test_unreadable_success_reply_is_unknown(rig: Rig) -> None:
    async def close(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>oops</html>")

    rig.rest.close = close
    session = await started(rig)
    await send_close(session, close_request())
    first = rig.sink.of(OrderUpdate)[0]
    assert first.status is OrderStatus.UNKNOWN
    assert first.message.startswith("Everstrike answered HTTP 200 with an unreadable reply;")
    assert rig.sink.of(ProtocolError)
    await rig.sink.wait_for(lambda e: isinstance(e, OrderUpdate) and e.final)


@pytest.mark.asyncio
async def test_invalid_request_is_refused_before_sending(rig: Rig) -> None:
    session = await started(rig)
    with pytest.raises(CloseRejected) as info:
        await send_close(session, close_request(quantity=Decimal(-1)))
    assert info.value.code == "invalid:quantity"
    with pytest.raises(CloseRejected):
        session.prepare_close(close_request(limit_price=Decimal("NaN")))
    assert rig.rest.count("/auth/close") == 0


# --------------------------------------------------------------------------- WS lifecycle


@pytest.mark.asyncio
async def test_keepalive_status_frames_are_sent(rig: Rig) -> None:
    await started(rig, keepalive=0.01)
    await rig.ws.wait_for(lambda m: m == {"op": "status", "content": "empty"}, count=3)


@pytest.mark.asyncio
async def test_reconnect_reauthenticates_resubscribes_and_resnapshots(rig: Rig) -> None:
    # No fallback polling: it would add snapshots of its own if the outage lasted 3 s.
    session = await started(rig, keepalive=0.01, poll_interval=0)
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
    (failed,) = await rig.sink.wait_all(connection_state(ConnectionState.FAILED))
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
    (mark,) = await rig.sink.wait_all(lambda e: isinstance(e, MarkUpdate))
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
        await send_close(session, close_request())
    with pytest.raises(SessionClosed):
        await session.refresh_positions()


# --------------------------------------------------------------------------- working orders


def resting_limit(order_id: str = "lim-1", **extra: Any) -> dict[str, Any]:
    base = {"type": "LIMIT", "price": 105, "qty_orig": 2, "qty_remaining": 2,
            "time_in_force": "GTC", "reduce_only": True}
    base.update(extra)
    return order_json("ACTIVE", order_id, **base)


def untriggered(order_id: str = "trg-1", **extra: Any) -> dict[str, Any]:
    base = {"type": "MARKET", "price": 0, "trigger_price": 90, "trigger_event": "INDEX_PRICE",
            "close_on_trigger": True, "reduce_only": True}
    base.update(extra)
    status = base.pop("status", "UNTRIGGERED")
    return order_json(status, order_id, **base)


def ws_order(category: str, order: dict[str, Any]) -> dict[str, Any]:
    return {"code": 200, "category": category, "pair": PAIR, "result": {"order": order}}


@pytest.mark.asyncio
async def test_working_orders_snapshot_on_connect_and_after_reconnect(rig: Rig) -> None:
    rig.rest.active_orders = [
        resting_limit(),
        resting_limit("not-a-close", reduce_only=False),
        order_json("ACTIVE", "market-in-flight", type="MARKET"),
        resting_limit("ioc", time_in_force="IOC"),
    ]
    rig.rest.triggers = [
        untriggered(),
        untriggered("stop-limit", type="LIMIT", price=89, trigger_event="LAST_PRICE",
                    close_on_trigger=False),
        untriggered("gone", status="CANCELLED"),
    ]
    await started(rig)
    (snapshot,) = rig.sink.of(WorkingOrdersSnapshot)
    assert (snapshot.venue, snapshot.account) == (EVERSTRIKE, ACCOUNT)
    limit, trigger, stop_limit = snapshot.orders
    assert (limit.order_id, limit.kind, limit.price, limit.remaining, limit.side) == (
        "lim-1", WorkingKind.LIMIT, Decimal(105), Decimal(2), OrderSide.SELL
    )
    assert limit.trigger_price is None and limit.reduce_only
    assert (trigger.order_id, trigger.kind, trigger.price, trigger.trigger_price) == (
        "trg-1", WorkingKind.TRIGGER, None, Decimal(90)
    )
    assert (trigger.trigger_event, trigger.close_on_trigger) == (TriggerEvent.INDEX, True)
    assert (stop_limit.price, stop_limit.trigger_event, stop_limit.close_on_trigger) == (
        Decimal(89), TriggerEvent.LAST, False
    )
    assert rig.rest.gets("/active_orders") == [{"limit": "1000"}]
    assert rig.rest.gets("/triggers") == [{"limit": "1000"}]

    rig.rest.triggers = []
    await rig.ws.connections[-1].close()
    await rig.sink.wait_for(connection_state(ConnectionState.CONNECTED), count=2)
    second = rig.sink.of(WorkingOrdersSnapshot)[-1]
    assert [o.order_id for o in second.orders] == ["lim-1"]


@pytest.mark.asyncio
async def test_refresh_orders_and_a_failed_listing(rig: Rig) -> None:
    session = await started(rig)
    rig.rest.active_orders = [resting_limit()]
    await session.refresh_orders()
    assert [o.order_id for o in rig.sink.of(WorkingOrdersSnapshot)[-1].orders] == ["lim-1"]
    rig.rest.triggers = [{"id": "broken"}]  # no pair anywhere: the whole listing is suspect
    await session.refresh_orders()
    assert len(rig.sink.of(WorkingOrdersSnapshot)) == 2  # no partial snapshot emitted
    error = rig.sink.of(ProtocolError)[-1]
    assert error.code == "orders" and "could not list working orders" in error.message


# --------------------------------------------------------------------------- cancel


def cancelled_reply(order: dict[str, Any]) -> httpx.Response:
    return httpx.Response(200, json=envelope({**order, "status": "CANCELLED"}))


def working(order: dict[str, Any], kind: WorkingKind = WorkingKind.LIMIT) -> WorkingOrder:
    return WorkingOrder(
        venue=EVERSTRIKE, account=ACCOUNT, symbol=PAIR, order_id=order["id"], kind=kind,
        side=None, quantity=None,
    )


@pytest.mark.parametrize(
    ("order", "kind"),
    [(resting_limit(), WorkingKind.LIMIT), (untriggered(), WorkingKind.TRIGGER)],
    ids=["limit", "trigger"],
)
@pytest.mark.asyncio
async def test_cancel_posts_the_id_once_and_removes_the_order(
    rig: Rig, order: dict[str, Any], kind: WorkingKind
) -> None:
    bodies: list[str] = []

    async def cancel(request: httpx.Request) -> httpx.Response:
        bodies.append(verify(request))
        return cancelled_reply(order)

    rig.rest.cancel = cancel
    session = await started(rig)
    target = working(order, kind)
    prepared = session.prepare_cancel(target)
    await session.cancel(prepared)
    assert bodies == [f"id={order['id']}&timestamp={SERVER_MS}&recv_window=5000"]
    assert prepared.wire == bodies[0].encode()
    assert prepared.redacted == (
        f"POST /auth/cancel\ncontent-type: application/x-www-form-urlencoded\n"
        f"x-api-key: ak-u…***\nx-signature: {p.redact(p.sign(SECRET, bodies[0]))}\n\n{bodies[0]}"
    )
    (update,) = rig.sink.of(OrderUpdate)
    assert (update.status, update.order_id, update.final) == (
        OrderStatus.CANCELLED, order["id"], True
    )
    (removed,) = rig.sink.of(WorkingOrderRemoved)
    assert (removed.order_id, removed.reason) == (order["id"], "cancelled")


CANCEL_ERRORS = [
    pytest.param(
        httpx.Response(503, json=envelope({}, 503, "Invalid request")),
        "503",
        "the venue refused the cancel (generic failure); the order may already be filled or "
        "cancelled — refresh",
        id="503",
    ),
    pytest.param(
        httpx.Response(408, json=envelope(None, 414, "The timestamp is too old.")),
        "414",
        "Your clock is off by about 250 ms; Closeout re-synchronised with the venue. "
        "Nothing was resent — send the cancel again.",
        id="408",
    ),
    pytest.param(
        httpx.Response(429, json=envelope(None, 429, "Care to try again in 2 seconds?")),
        "429",
        "rate limited by Everstrike; slowed down for 2 s — nothing was resent",
        id="429",
    ),
    pytest.param(
        httpx.Response(401, json=envelope(None, 401, "Invalid signature")),
        "401",
        "Everstrike refused the API key or signature (Invalid signature): check the account's "
        "API key and secret. Nothing was cancelled.",
        id="401",
    ),
    pytest.param(
        httpx.Response(500, json=envelope(None, 500, "boom")),
        "500",
        "Everstrike reported a venue error (HTTP 500: boom); the order may still be "
        "working — refresh",
        id="500",
    ),
    pytest.param(
        httpx.ReadTimeout("slow"),
        "no_answer",
        "no answer; the order may still be working — refresh",
        id="no-answer",
    ),
    pytest.param(
        httpx.ConnectError("refused"),
        "unreachable",
        "could not reach Everstrike (ConnectError); nothing was sent — the order is still "
        "working",
        id="unreachable",
    ),
]


@pytest.mark.parametrize(("reply", "code", "message"), CANCEL_ERRORS)
@pytest.mark.asyncio
async def test_cancel_refusals_are_plain_and_never_retried(
    rig: Rig, reply: httpx.Response | Exception, code: str, message: str
) -> None:
    async def cancel(request: httpx.Request) -> httpx.Response:
        verify(request)
        if isinstance(reply, Exception):
            raise reply
        return reply

    rig.rest.cancel = cancel
    session = await started(rig)
    with pytest.raises(CancelRejected) as info:
        await cancel_order(session, working(resting_limit()))
    assert (str(info.value), info.value.code) == (message, code)
    assert rig.rest.count("/auth/cancel") == 1
    assert not rig.sink.of(WorkingOrderRemoved)
    if code in ("503", "500", "no_answer"):  # the panel is re-read so it shows the truth
        await rig.rest.wait_for_count("/active_orders", 2)


@pytest.mark.asyncio
async def test_cancel_when_not_running_sends_nothing(rig: Rig) -> None:
    session = rig.make()
    with pytest.raises(SessionClosed):
        await cancel_order(session, working(resting_limit()))
    with pytest.raises(SessionClosed):
        await session.refresh_orders()
    assert rig.rest.count("/auth/cancel") == 0


# --------------------------------------------------------------------------- clock, 429, health


@pytest.mark.asyncio
async def test_429_makes_later_posts_wait_and_refuses_an_overlong_wait(rig: Rig) -> None:
    replies = [
        httpx.Response(429, json=envelope(None, 429, "Care to try again in 0.043 seconds?")),
        httpx.Response(200, json=envelope({"order": order_json("COMPLETED")})),
        httpx.Response(429, json=envelope(None, 429, "Care to try again in 90 seconds?")),
    ]

    async def close(request: httpx.Request) -> httpx.Response:
        return replies.pop(0)

    rig.rest.close = close
    fake = FakeClock(500.0)
    session = await started(rig, monotonic=fake, sleep=fake.sleep)
    with pytest.raises(CloseRejected, match=r"slowed down for 0\.043 s"):
        await send_close(session, close_request())
    assert session.health().rate_headroom == 0.0
    await send_close(session, close_request())  # waits out the venue's wait, then sends
    assert fake.slept == [pytest.approx(0.043)]
    assert session.health().rate_headroom is None
    with pytest.raises(CloseRejected, match="slowed down for 90 s"):
        await send_close(session, close_request())
    with pytest.raises(CloseRejected, match=r"asked for 90\.0 s more") as info:
        await send_close(session, close_request())  # too long to hold: refused, not sent
    assert info.value.code == "rate_limited"
    with pytest.raises(CancelRejected, match=r"asked for 90\.0 s more"):
        await cancel_order(session, working(resting_limit()))
    assert rig.rest.count("/auth/close") == 3
    assert rig.rest.count("/auth/cancel") == 0
    fake.now += 90
    assert session.health().rate_headroom is None


@pytest.mark.parametrize("kind", ["close", "cancel"])
@pytest.mark.asyncio
async def test_a_wait_that_outlives_the_signed_timestamp_signs_again_and_says_so(
    rig: Rig, kind: str
) -> None:
    """A short 429 wait sends the prepared bytes; one past half the recv_window (5 s) would
    reach the venue stale, so the request is signed again, ``restamped`` hears of it before
    it is written, and the bytes written are the new ones."""
    fake = FakeClock(500.0)
    seen: list[str] = []
    posted: list[httpx.Request] = []
    throttle = iter(["0.5", "4"])

    async def answer(request: httpx.Request) -> httpx.Response:
        verify(request)
        posted.append(request)
        seen.append("posted")
        wait = next(throttle, None)
        if wait is not None:
            return httpx.Response(429, json=envelope(None, 429, f"Care to try again in {wait} s"))
        if kind == "cancel":
            return cancelled_reply(resting_limit())
        return httpx.Response(200, json=envelope({"order": order_json("COMPLETED")}))

    rig.rest.close = rig.rest.cancel = answer
    session = await started(
        rig, monotonic=fake, sleep=fake.sleep, clock=lambda: LOCAL_NOW + fake.now - 500.0
    )

    def prepare() -> Any:
        if kind == "cancel":
            return session.prepare_cancel(working(resting_limit()))
        return session.prepare_close(close_request())

    async def send(prepared: Any, restamped: Any) -> None:
        if kind == "cancel":
            await session.cancel(prepared, restamped=restamped)
        else:
            await session.send(prepared, restamped=restamped)

    replaced: list[tuple[Any, str]] = []

    def restamped(new: Any, why: str) -> None:
        seen.append("restamped")
        replaced.append((new, why))

    rejected = CancelRejected if kind == "cancel" else CloseRejected
    with pytest.raises(rejected, match=r"slowed down for 0\.5 s"):
        await send(prepare(), restamped)
    short = prepare()
    with pytest.raises(rejected, match=r"slowed down for 4 s"):
        await send(short, restamped)  # waited 0.5 s: still fresh, sent as prepared
    assert posted[-1].content == short.wire and not replaced
    stale = prepare()
    await send(stale, restamped)  # waited 4 s: signed again
    assert fake.slept == [0.5, 4.0]
    assert seen == ["posted", "posted", "restamped", "posted"]
    ((new, why),) = replaced
    assert posted[-1].content == new.wire != stale.wire
    assert new.stamped_ms == stale.stamped_ms + 4000
    stamp = dict(urllib.parse.parse_qsl(new.wire.decode()))["timestamp"]
    assert stamp == str(new.stamped_ms)
    assert new.redacted.endswith("\n" + new.wire.decode())
    assert "4000 ms" in why and "5000 ms timestamp window" in why
    assert getattr(new, "request", None) == getattr(stale, "request", None)
    assert getattr(new, "order", None) == getattr(stale, "order", None)


@pytest.mark.asyncio
async def test_clock_is_measured_periodically_and_used_for_signing(rig: Rig) -> None:
    bodies: list[str] = []

    async def close(request: httpx.Request) -> httpx.Response:
        bodies.append(verify(request))
        return httpx.Response(200, json=envelope({"order": order_json("COMPLETED")}))

    rig.rest.close = close
    session = await started(rig, time_sync_interval=0.01)
    assert session.health().skew_ms == 250.0
    rig.rest.server_ms = SERVER_MS + 3_000
    seen = rig.rest.count("/time")
    await rig.rest.wait_for_count("/time", seen + 2)  # one full sync after the change
    assert session.health().skew_ms == 3_250.0
    await send_close(session, close_request())
    assert dict(urllib.parse.parse_qsl(bodies[0]))["timestamp"] == str(SERVER_MS + 3_000)


@pytest.mark.asyncio
async def test_health(rig: Rig) -> None:
    fake = FakeClock(500.0)
    session = rig.make(monotonic=fake, keepalive=4.0)
    assert session.health() == SessionHealth(connected=False, keepalive_s=4.0, rtt_samples=0)
    await session.start()
    health = session.health()
    assert health.connected and health.last_message_at == 500.0
    assert health.rtt_ms is not None and health.rtt_ms >= 0
    assert health.rtt_samples is not None and health.rtt_samples >= 1  # one per reply
    assert (health.skew_ms, health.rate_headroom, health.keepalive_s) == (250.0, None, 4.0)
    fake.now = 600.0
    await rig.ws.send({"code": 200, "category": "index", "pair": PAIR, "result": {"mark": 1}})
    await rig.sink.wait_for(lambda e: isinstance(e, MarkUpdate))
    assert session.health().last_message_at == 600.0
    await session.stop()
    assert not session.health().connected


# --------------------------------------------------------------------------- fallback polling


@pytest.mark.asyncio
async def test_positions_are_polled_while_the_ws_is_down_and_not_after(rig: Rig) -> None:
    gate = asyncio.Event()
    # Silence is not what this test is about (see the next one): with the default limit,
    # twice the 0.01 s keep-alive, any pause of the test process would start polling too.
    await started(rig, poll_interval=0.01, timeout=30.0, keepalive=0.01, stale_after=30.0)
    rig.ws.hold_auth = gate
    rig.rest.positions = {PAIR: position_json(1)}
    await rig.ws.connections[-1].close()
    await rig.sink.wait_for(connection_state(ConnectionState.DISCONNECTED))
    before = rig.rest.count("/active_positions")
    await rig.rest.wait_for_count("/active_positions", before + 3)  # polled during the outage
    assert rig.sink.of(PositionsSnapshot)[-1].positions[0].quantity == Decimal(1)
    gate.set()
    await rig.sink.wait_for(connection_state(ConnectionState.CONNECTED), count=2)
    await settled(rig, connection=1)
    after = rig.rest.count("/active_positions")
    await rig.ws.wait_for(lambda m: m.get("op") == "status", count=10, connection=1)
    assert rig.rest.count("/active_positions") == after


@pytest.mark.asyncio
async def test_positions_are_polled_while_the_ws_is_silent(rig: Rig) -> None:
    fake = FakeClock(500.0)
    await started(rig, poll_interval=0.01, monotonic=fake, stale_after=10.0)
    await rig.ws.wait_for(lambda m: m.get("op") == "sub")
    await rig.ws.send({"code": 200, "category": "index", "pair": PAIR, "result": {"mark": 1}})
    await rig.sink.wait_for(lambda e: isinstance(e, MarkUpdate))  # every earlier frame is read
    fake.now += 11.0  # nothing heard for longer than the keep-alive allows
    before = rig.rest.count("/active_positions")
    await rig.rest.wait_for_count("/active_positions", before + 2)


# --------------------------------------------------------------------------- reference data


@pytest.mark.asyncio
async def test_pairs_filters_validate_before_sending(rig: Rig) -> None:
    filters = [
        {"filter_type": "PRICE_FILTER", "min_price": 1, "max_price": 1000, "tick_size": 0.5},
        {"filter_type": "LOT_SIZE", "min_qty": 0.3, "max_qty": 100, "tick_size": 0.1},
    ]

    async def pairs(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=envelope({PAIR: {"key": PAIR, "filters": filters}}))

    rest = rig.rest

    async def routed(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/pairs":
            return await pairs(request)
        return await rest(request)

    session = await started(rig, transport=httpx.MockTransport(routed))
    cases = [
        (close_request(quantity=Decimal("0.25")), "invalid:quantity", "lot size"),
        (close_request(quantity=Decimal("3")), "invalid:quantity", "more than the position"),
        (close_request(quantity=Decimal("0.2")), "invalid:quantity", "below Everstrike's minimum"),
        (close_request(limit_price=Decimal("100.2")), "invalid:limit_price", "tick size"),
        (
            close_request(limit_price=Decimal("2000")),
            "invalid:limit_price",
            "above Everstrike's maximum price",
        ),
        (
            close_request(trigger=Trigger(Decimal("0.5"))),
            "invalid:trigger_price",
            "below Everstrike's minimum price",
        ),
    ]
    for request, code, phrase in cases:
        with pytest.raises(CloseRejected, match=phrase) as info:
            await send_close(session, request)
        assert info.value.code == code
    assert rest.count("/auth/close") == 0


# --------------------------------------------------------------------------- reconnect


@pytest.mark.asyncio
async def test_open_closes_are_re_read_after_a_reconnect(rig: Rig) -> None:
    """Events missed during an outage: each close still working is looked up by its id."""

    async def close(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=envelope({"order": order_json("ACTIVE", "open-1")}))

    rig.rest.close = close
    session = await started(rig)
    request = close_request()
    await send_close(session, request)
    assert rig.sink.of(OrderUpdate)[-1].status is OrderStatus.ACK
    # While the WS is down the order fills; /orders no longer lists it, /order?id= does.
    rig.rest.by_id = {"open-1": order_json("COMPLETED", "open-1", qty_remaining=0, time=1)}
    await rig.ws.connections[-1].close()
    (update,) = await rig.sink.wait_all(
        lambda e: isinstance(e, OrderUpdate) and e.status is OrderStatus.FILLED
    )
    assert update.client_order_id == request.client_order_id and update.order_id == "open-1"
    assert update.message.startswith("After the reconnect: ")
    assert rig.rest.gets("/order") == [{"id": "open-1"}]
    assert rig.rest.count("/auth/close") == 1
