"""EverstrikeSession against the simulated Everstrike over real loopback sockets."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
import urllib.parse
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
    OrderSide,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    PositionSide,
    PositionsSnapshot,
    Trigger,
    TriggerEvent,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
from core.sim import Simulator
from core.sim.common import Received
from core.venue import AccountConfig, CancelRejected, CloseRejected, Credentials, ReconnectPolicy
from core.venues.everstrike import EVERSTRIKE, EverstrikeSession
from tests.helpers.clock import FakeClock
from tests.helpers.fakes import Recorder

D = Decimal
ACCOUNT = "it-everstrike"
POSITIONS = [
    ("USD_SOL_PERP", D("120"), D("188.40")),  # LONG, deep liquidity: closes fill fully
    ("USD_ETH_PERP", D("-3.5"), D("4420.10")),  # SHORT
    ("USD_BTCCALL_PERP", D("5"), D("1.850")),  # LONG
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

    async def make(
        secret: str | None = None, clock: Callable[[], float] = time.time, **options: Any
    ) -> Client:
        sink = Recorder()
        account = AccountConfig(
            name=ACCOUNT,
            venue=EVERSTRIKE,
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
            **{"reconcile_delay": 0.0, **options},
        )
        sessions.append(session)
        await session.start()
        return Client(session, sink)

    yield make
    for session in sessions:
        await session.stop()


async def send_close(session: EverstrikeSession, close: CloseRequest) -> None:
    """Prepare once and send exactly that, as the desk does."""
    await session.send(session.prepare_close(close))


async def cancel_order(session: EverstrikeSession, order: WorkingOrder) -> None:
    await session.cancel(session.prepare_cancel(order))


def request(symbol: str, side: PositionSide, size: str, **kwargs: Any) -> CloseRequest:
    return CloseRequest(
        key=PositionKey(ACCOUNT, EVERSTRIKE, symbol),
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
    await send_close(client.session, close)
    latest = client.sink.orders(close.client_order_id)[-1]
    assert latest.status is OrderStatus.FILLED and latest.final
    assert latest.quantity == D(120) and latest.filled == D(120)
    await client.sink.wait_for(
        lambda e: isinstance(e, PositionRemoved) and e.key.symbol == "USD_SOL_PERP"
    )
    # The venue's WS events (order_added, then order_completed) race the REST latest. Once the
    # WS has said the order is done, the close has been reported FILLED once, with our id, and
    # never ACK after it: whichever channel spoke first, each step is said once (ACK only when
    # the WS said it before the latest said FILLED).
    await client.sink.wait_for(
        lambda e: isinstance(e, WorkingOrderRemoved) and e.order_id == latest.order_id
    )
    updates = [e for e in client.sink.events if isinstance(e, OrderUpdate)]
    said = [(u.status, u.client_order_id) for u in updates]
    assert said in ([(OrderStatus.FILLED, close.client_order_id)],
                    [(OrderStatus.ACK, close.client_order_id),
                     (OrderStatus.FILLED, close.client_order_id)])
    await client.session.refresh_positions()
    latest = [e for e in client.sink.events if isinstance(e, PositionsSnapshot)][-1]
    assert "USD_SOL_PERP" not in {p.key.symbol for p in latest.positions}


@pytest.mark.asyncio
async def test_partial_close(connect: Callable[..., Any]) -> None:
    client = await connect()
    close = request("USD_ETH_PERP", PositionSide.SHORT, "3.5", quantity=D("1.5"))
    await send_close(client.session, close)
    latest = client.sink.orders(close.client_order_id)[-1]
    assert latest.status is OrderStatus.FILLED and latest.filled == D("1.5")
    left = await client.sink.wait_for(
        lambda e: isinstance(e, Position) and e.key.symbol == "USD_ETH_PERP"
    )
    assert (left.side, left.quantity) == (PositionSide.SHORT, D(2))


@pytest.mark.asyncio
async def test_limit_close_rests_then_fills(venue: SimVenue, connect: Callable[..., Any]) -> None:
    client = await connect()
    close = request("USD_BTCCALL_PERP", PositionSide.LONG, "5", limit_price=D("2.5"))
    await send_close(client.session, close)
    latest = client.sink.orders(close.client_order_id)[-1]
    assert latest.status is OrderStatus.ACK and latest.price == D("2.5")
    market = venue.sim.everstrike.market
    await venue.sim.acall(lambda: market.set_mark("USD_BTCCALL_PERP", D("2.6")))
    filled = await client.sink.wait_for(
        lambda e: isinstance(e, OrderUpdate) and e.status is OrderStatus.FILLED
    )
    assert filled.client_order_id == close.client_order_id  # a WS event, mapped to our id
    removed = await client.sink.wait_for(lambda e: isinstance(e, WorkingOrderRemoved))
    assert (removed.order_id, removed.reason) == (latest.order_id, "filled")


@pytest.mark.asyncio
async def test_trigger_close(venue: SimVenue, connect: Callable[..., Any]) -> None:
    client = await connect()
    trigger = Trigger(D("150"), TriggerEvent.MARK, close_on_trigger=True)
    close = request("USD_SOL_PERP", PositionSide.LONG, "120", quantity=D(20), trigger=trigger)
    await send_close(client.session, close)
    latest = client.sink.orders(close.client_order_id)[-1]
    assert latest.status is OrderStatus.TRIGGER_ACK and latest.trigger_price == D(150)
    market = venue.sim.everstrike.market
    await venue.sim.acall(lambda: market.set_mark("USD_SOL_PERP", D("149")))
    await client.sink.wait_for(
        lambda e: isinstance(e, OrderUpdate)
        and e.status is OrderStatus.TRIGGERED
        and e.client_order_id == close.client_order_id
    )
    # It stops being a trigger; a market trigger never rests as a limit.
    removed = await client.sink.wait_for(lambda e: isinstance(e, WorkingOrderRemoved))
    assert (removed.order_id, removed.reason) == (latest.order_id, "triggered")
    working = [e for e in client.sink.events if isinstance(e, WorkingOrder)]
    assert [w.kind for w in working] == [WorkingKind.TRIGGER]
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
        await send_close(client.session, close)
    assert info.value.code == "401"
    (update,) = client.sink.orders(close.client_order_id)
    assert update.status is OrderStatus.REJECTED


def posts(venue: SimVenue, path: str) -> list[Received]:
    return [r for r in venue.sim.everstrike.received if r.method == "POST" and r.path == path]


def gets(venue: SimVenue, path: str) -> list[Received]:
    return [
        r for r in venue.sim.everstrike.received
        if r.method == "GET" and r.path.split("?")[0] == path
    ]


async def eventually(predicate: Callable[[], bool]) -> None:
    """For state with no event to await (a background /time sync): poll briefly, then fail."""
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 - the state lives behind a background task
            await asyncio.sleep(0.01)


def customer(venue: SimVenue) -> str:
    return venue.sim.account_id("everstrike", venue.api_key)


def open_order_ids(venue: SimVenue) -> set[str]:
    market = venue.sim.everstrike.market
    cid = customer(venue)
    return venue.sim.call(lambda: {o.id for o in market.open_orders(cid)})


@pytest.mark.asyncio
async def test_stale_timestamp_is_rejected_then_resynced(
    venue: SimVenue, connect: Callable[..., Any]
) -> None:
    client = await connect(time_sync_interval=None)
    venue.sim.everstrike.faults.clock_skew = 60.0  # the venue's clock runs a minute ahead
    close = request("USD_SOL_PERP", PositionSide.LONG, "120")
    with pytest.raises(CloseRejected) as info:
        await send_close(client.session, close)
    assert info.value.code == "414"
    match = re.fullmatch(
        r"Your clock is off by about (\d+) ms; Closeout re-synchronised with the venue\. "
        r"Nothing was resent — send the close again\.",
        str(info.value),
    )
    assert match is not None and 59_000 < int(match.group(1)) < 61_000
    assert 59_000 < client.session.skew_ms < 61_000  # resynchronised from /time
    assert len(gets(venue, "/time")) == 2
    again = request("USD_SOL_PERP", PositionSide.LONG, "120")
    await send_close(client.session, again)
    assert client.sink.orders(again.client_order_id)[-1].status is OrderStatus.FILLED
    assert len(posts(venue, "/auth/close")) == 2  # the refused one was never resent


@pytest.mark.asyncio
async def test_clock_is_measured_periodically(venue: SimVenue, connect: Callable[..., Any]) -> None:
    client = await connect(time_sync_interval=0.05)
    first = client.session.health().skew_ms
    assert first is not None and abs(first) < 1_000
    venue.sim.everstrike.faults.clock_skew = 30.0
    await eventually(lambda: (client.session.health().skew_ms or 0) > 29_000)
    assert (client.session.health().skew_ms or 0) < 31_000
    # Signed with the corrected time: 30 s of skew would otherwise be a stale timestamp.
    close = request("USD_ETH_PERP", PositionSide.SHORT, "3.5", quantity=D("0.5"))
    await send_close(client.session, close)
    assert client.sink.orders(close.client_order_id)[-1].status is OrderStatus.FILLED


@pytest.mark.asyncio
async def test_429_slows_later_posts_and_resends_nothing(
    venue: SimVenue, connect: Callable[..., Any]
) -> None:
    fake = FakeClock()
    client = await connect(monotonic=fake, sleep=fake.sleep)
    venue.sim.everstrike.faults.force_http(429)
    refused = request("USD_SOL_PERP", PositionSide.LONG, "120", quantity=D(10))
    with pytest.raises(CloseRejected) as info:
        await send_close(client.session, refused)
    assert str(info.value) == (
        "rate limited by Everstrike; slowed down for 0.043 s — nothing was resent"
    )
    assert client.session.health().rate_headroom == 0.0
    later = request("USD_SOL_PERP", PositionSide.LONG, "120", quantity=D(10))
    await send_close(client.session, later)
    assert fake.slept == [pytest.approx(0.043)]  # it waited out the venue's wait first
    assert client.sink.orders(later.client_order_id)[-1].status is OrderStatus.FILLED
    assert len(posts(venue, "/auth/close")) == 2


@pytest.mark.asyncio
async def test_503_is_the_venues_generic_failure(
    venue: SimVenue, connect: Callable[..., Any]
) -> None:
    client = await connect()
    venue.sim.everstrike.faults.force_http(503)
    close = request("USD_SOL_PERP", PositionSide.LONG, "120")
    with pytest.raises(CloseRejected) as info:
        await send_close(client.session, close)
    assert str(info.value) == (
        "the venue's generic failure (Invalid request): Everstrike refused the close without a "
        "specific reason. Nothing was placed or resent."
    )
    await client.session.refresh_positions()
    latest = [e for e in client.sink.events if isinstance(e, PositionsSnapshot)][-1]
    assert D(120) in {p.quantity for p in latest.positions}  # the book is untouched


@pytest.mark.asyncio
async def test_dropped_close_is_unknown_then_reconciled_never_resent(
    venue: SimVenue, connect: Callable[..., Any]
) -> None:
    client = await connect()
    venue.sim.everstrike.faults.drop_next(1, execute=True)  # runs, then the reply is lost
    close = request("USD_ETH_PERP", PositionSide.SHORT, "3.5", quantity=D("1.5"))
    await send_close(client.session, close)
    unknown = client.sink.orders(close.client_order_id)[0]
    assert unknown.status is OrderStatus.UNKNOWN and not unknown.final
    found = await client.sink.wait_for(
        lambda e: isinstance(e, OrderUpdate)
        and e.client_order_id == close.client_order_id
        and e.status is OrderStatus.FILLED
    )
    assert found.message.startswith("Found at Everstrike after the lost reply: ")
    market = venue.sim.everstrike.market
    real = venue.sim.call(lambda: [o for o in market.orders.values() if o.symbol == "USD_ETH_PERP"])
    assert [o.id for o in real] == [found.order_id]
    assert (found.filled, found.side) == (D("1.5"), OrderSide.BUY)
    assert len(posts(venue, "/auth/close")) == 1  # never resent
    (lookup,) = gets(venue, "/orders")
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(lookup.path).query))
    assert query == {"limit": "100", "pair": "USD_ETH_PERP"}
    assert "x-signature" not in lookup.headers and lookup.headers["x-api-key"] == venue.api_key


@pytest.mark.asyncio
async def test_dropped_close_that_never_ran_is_not_found(
    venue: SimVenue, connect: Callable[..., Any]
) -> None:
    client = await connect()
    venue.sim.everstrike.faults.drop_next(1, execute=False)
    close = request("USD_SOL_PERP", PositionSide.LONG, "120")
    await send_close(client.session, close)
    final = await client.sink.wait_for(
        lambda e: isinstance(e, OrderUpdate)
        and e.client_order_id == close.client_order_id
        and e.final
    )
    assert final.status is OrderStatus.UNKNOWN
    assert final.message == "not found at the venue: it may not have arrived; check the position"
    def snapshots() -> list[PositionsSnapshot]:
        return [e for e in client.sink.events if isinstance(e, PositionsSnapshot)]

    await client.sink.wait_for(lambda _: len(snapshots()) >= 2)  # a fresh one was taken
    assert D(120) in {p.quantity for p in snapshots()[-1].positions}
    assert len(posts(venue, "/auth/close")) == 1


# --------------------------------------------------------------------------- working orders


@pytest.mark.asyncio
async def test_working_orders_snapshot_on_connect(
    venue: SimVenue, connect: Callable[..., Any]
) -> None:
    market = venue.sim.everstrike.market
    cid = customer(venue)
    limit = venue.sim.call(
        lambda: market.submit(cid, "USD_BTCCALL_PERP", "SELL", "LIMIT", "GTC", D(2), D("2.5"),
                              reduce_only=True, is_close=True)
    )
    stop = venue.sim.call(
        lambda: market.submit(cid, "USD_SOL_PERP", "SELL", "MARKET", "IOC", D(20), D(0),
                              reduce_only=True, trigger_price=D(150),
                              trigger_event="INDEX_PRICE", close_on_trigger=True, is_close=True)
    )
    client = await connect()
    (snapshot,) = [e for e in client.sink.events if isinstance(e, WorkingOrdersSnapshot)]
    orders = {o.order_id: o for o in snapshot.orders}
    assert set(orders) == {limit.id, stop.id}
    resting = orders[limit.id]
    assert (resting.kind, resting.symbol, resting.price, resting.remaining) == (
        WorkingKind.LIMIT, "USD_BTCCALL_PERP", D("2.5"), D(2)
    )
    trigger = orders[stop.id]
    assert (trigger.kind, trigger.trigger_price, trigger.trigger_event, trigger.price) == (
        WorkingKind.TRIGGER, D(150), TriggerEvent.INDEX, None
    )
    assert trigger.close_on_trigger and trigger.quantity == D(20)
    for path in ("/active_orders", "/triggers"):
        (listing,) = gets(venue, path)
        assert "x-signature" not in listing.headers
    await venue.sim.acall(lambda: market.cancel(cid, stop.id))
    await client.session.refresh_orders()
    latest = [e for e in client.sink.events if isinstance(e, WorkingOrdersSnapshot)][-1]
    assert [o.order_id for o in latest.orders] == [limit.id]


async def cancel_and_check(venue: SimVenue, client: Client, order: WorkingOrder) -> None:
    await cancel_order(client.session, order)
    (sent,) = posts(venue, "/auth/cancel")
    fields = urllib.parse.parse_qsl(sent.body)
    timestamp = dict(fields)["timestamp"]
    assert sent.body == f"id={order.order_id}&timestamp={timestamp}&recv_window=5000"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    signature = base64.b64encode(
        hmac.new(venue.secret.encode(), sent.body.encode(), hashlib.sha256).digest()
    ).decode()
    assert sent.headers["x-signature"] == signature
    assert order.order_id not in open_order_ids(venue)
    removed = await client.sink.wait_for(
        lambda e: isinstance(e, WorkingOrderRemoved) and e.order_id == order.order_id
    )
    assert removed.reason == "cancelled"
    cancelled = [
        u for u in client.sink.orders(order.client_order_id or "")
        if u.status is OrderStatus.CANCELLED
    ]
    assert cancelled and cancelled[0].final


@pytest.mark.asyncio
async def test_cancel_a_resting_limit_close(venue: SimVenue, connect: Callable[..., Any]) -> None:
    client = await connect()
    close = request("USD_BTCCALL_PERP", PositionSide.LONG, "5", limit_price=D("2.5"))
    await send_close(client.session, close)
    working = await client.sink.wait_for(lambda e: isinstance(e, WorkingOrder))
    assert (working.kind, working.client_order_id, working.price) == (
        WorkingKind.LIMIT, close.client_order_id, D("2.5")
    )
    assert working.order_id in open_order_ids(venue)
    await cancel_and_check(venue, client, working)


@pytest.mark.asyncio
async def test_cancel_a_resting_trigger(venue: SimVenue, connect: Callable[..., Any]) -> None:
    client = await connect()
    trigger = Trigger(D(150), TriggerEvent.LAST, close_on_trigger=False)
    close = request("USD_SOL_PERP", PositionSide.LONG, "120", trigger=trigger, limit_price=D(149))
    await send_close(client.session, close)
    working = await client.sink.wait_for(lambda e: isinstance(e, WorkingOrder))
    assert (working.kind, working.trigger_price, working.trigger_event, working.price) == (
        WorkingKind.TRIGGER, D(150), TriggerEvent.LAST, D(149)
    )
    assert working.client_order_id == close.client_order_id
    await cancel_and_check(venue, client, working)


@pytest.mark.asyncio
async def test_cancel_refused_by_the_venue(venue: SimVenue, connect: Callable[..., Any]) -> None:
    client = await connect()
    close = request("USD_BTCCALL_PERP", PositionSide.LONG, "5", limit_price=D("2.5"))
    await send_close(client.session, close)
    working = await client.sink.wait_for(lambda e: isinstance(e, WorkingOrder))
    venue.sim.everstrike.faults.force_http(503)
    with pytest.raises(CancelRejected) as info:
        await cancel_order(client.session, working)
    assert str(info.value) == (
        "the venue refused the cancel (generic failure); the order may already be filled or "
        "cancelled — refresh"
    )
    assert working.order_id in open_order_ids(venue)
    assert len(posts(venue, "/auth/cancel")) == 1


@pytest.mark.asyncio
async def test_health(venue: SimVenue, connect: Callable[..., Any]) -> None:
    client = await connect()
    health = client.session.health()
    assert health.connected and health.keepalive_s == 5.0
    assert health.rtt_ms is not None and health.rtt_ms >= 0
    assert health.last_message_at is not None and health.last_message_at <= time.monotonic()
    assert health.skew_ms is not None and abs(health.skew_ms) < 1_000
    assert health.rate_headroom is None


# --------------------------------------------------------------------------- the wire table

WIRE_ROWS = [
    pytest.param(
        ("USD_SOL_PERP", PositionSide.LONG, "120", {}),
        "pair=USD_SOL_PERP",
        OrderStatus.FILLED,
        id="full-at-market",
    ),
    pytest.param(
        ("USD_ETH_PERP", PositionSide.SHORT, "3.5", {"quantity": D("1.5")}),
        "pair=USD_ETH_PERP&qty=1.5",
        OrderStatus.FILLED,
        id="partial-at-market",
    ),
    pytest.param(
        ("USD_BTCCALL_PERP", PositionSide.LONG, "5", {"limit_price": D("2.500")}),
        "pair=USD_BTCCALL_PERP&price=2.5",
        OrderStatus.ACK,
        id="limit-full",
    ),
    pytest.param(
        ("USD_BTCCALL_PERP", PositionSide.LONG, "5",
         {"quantity": D(2), "limit_price": D("2.5")}),
        "pair=USD_BTCCALL_PERP&qty=2&price=2.5",
        OrderStatus.ACK,
        id="limit-partial",
    ),
    pytest.param(
        ("USD_SOL_PERP", PositionSide.LONG, "120",
         {"trigger": Trigger(D(150), TriggerEvent.MARK)}),
        "pair=USD_SOL_PERP&trigger_price=150&trigger_event=MARK_PRICE&close_on_trigger=false",
        OrderStatus.TRIGGER_ACK,
        id="trigger",
    ),
    pytest.param(
        ("USD_SOL_PERP", PositionSide.LONG, "120",
         {"quantity": D(20), "limit_price": D(149),
          "trigger": Trigger(D(150), TriggerEvent.INDEX, close_on_trigger=True)}),
        "pair=USD_SOL_PERP&qty=20&price=149&trigger_price=150&trigger_event=INDEX_PRICE"
        "&close_on_trigger=true",
        OrderStatus.TRIGGER_ACK,
        id="trigger-qty-price",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("close", "fields", "status"), WIRE_ROWS)
@pytest.mark.asyncio
async def test_closing_what_goes_on_the_wire(
    venue: SimVenue,
    connect: Callable[..., Any],
    close: tuple[str, PositionSide, str, dict[str, Any]],
    fields: str,
    status: OrderStatus,
) -> None:
    """DESIGN.md "Closing: what goes on the wire", Everstrike column: the exact form body."""
    client = await connect()
    symbol, side, size, extra = close
    sent = request(symbol, side, size, **extra)
    await send_close(client.session, sent)
    (received,) = posts(venue, "/auth/close")
    timestamp = dict(urllib.parse.parse_qsl(received.body))["timestamp"]
    assert received.body == f"{fields}&timestamp={timestamp}&recv_window=5000"
    signature = base64.b64encode(
        hmac.new(venue.secret.encode(), received.body.encode(), hashlib.sha256).digest()
    ).decode()
    assert received.headers["x-signature"] == signature
    assert received.headers["x-api-key"] == venue.api_key
    assert client.sink.orders(sent.client_order_id)[-1].status is status


@pytest.mark.asyncio
async def test_500_is_a_venue_error_never_resent(
    venue: SimVenue, connect: Callable[..., Any]
) -> None:
    client = await connect()
    venue.sim.everstrike.faults.force_http(500)  # answered without running the close
    close = request("USD_SOL_PERP", PositionSide.LONG, "120")
    with pytest.raises(CloseRejected) as info:
        await send_close(client.session, close)
    assert str(info.value) == (
        "Everstrike reported a venue error (HTTP 500: Internal server error); the close was "
        "most likely not placed and was not resent. Closeout is checking the venue's orders in "
        "case it was."
    )
    (update,) = client.sink.orders(close.client_order_id)
    assert update.status is OrderStatus.REJECTED and update.final
    assert len(posts(venue, "/auth/close")) == 1
