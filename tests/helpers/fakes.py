"""Hand-written fakes of product code for tests with no sockets: venue sessions, the event
sink, the rate limiter, the close dialog's submit and book check, the link's opener.

Loopback fake venue servers are in ``venues.py``; the clock is in ``clock.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from core.desk import CloseIntent, PositionChanged
from core.model import (
    Capabilities,
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    Environment,
    Instrument,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    PositionSide,
    PositionsSnapshot,
    SessionEvent,
    SessionHealth,
    Venue,
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
    EventSink,
    PreparedCancel,
    PreparedClose,
    Restamped,
    SessionClosed,
    VenueSession,
)
from core.venues.qfex import QFEX
from tests.helpers.clock import FakeClock

# --------------------------------------------------------------------------- venue sessions


class FakeSession(VenueSession):
    """A venue session with no wire: it records closes and cancels and answers from fields.

    ``release`` (set by default) holds every cancel's answer while cleared; ``health_now``,
    when set, is what ``health()`` reports; ``say`` pushes a connection event.
    """

    venue = QFEX
    capabilities = Capabilities(partial_close=True)

    def __init__(self, account: AccountConfig, credentials: Credentials, sink: EventSink) -> None:
        super().__init__(account, credentials, sink)
        self.sent: list[CloseRequest] = []
        self.reject_with: Exception | None = None
        self.initial: tuple[Position, ...] = ()
        self.working: tuple[WorkingOrder, ...] = ()
        self.cancelled: list[WorkingOrder] = []
        self.cancel_reject: CancelRejected | None = None
        self.release = asyncio.Event()
        self.release.set()
        self.health_now: SessionHealth | None = None
        self._connected = False

    async def start(self) -> None:
        self._connected = True
        self.sink(ConnectionEvent(self.account.venue, self.name, ConnectionState.CONNECTED))
        self.sink(PositionsSnapshot(self.account.venue, self.name, self.initial))
        self.sink(WorkingOrdersSnapshot(self.account.venue, self.name, self.working))

    async def stop(self) -> None:
        self._connected = False

    def prepare_close(self, request: CloseRequest) -> PreparedClose:
        text = f"CLOSE {request.key.symbol} {request.quantity or 'ALL'}"
        return PreparedClose(redacted=text, wire=text.encode(), request=request)

    async def send(self, prepared: PreparedClose, *, restamped: Restamped | None = None) -> None:
        if not self._connected:
            raise SessionClosed("fake is stopped")
        if self.reject_with is not None:
            raise self.reject_with
        self.sent.append(prepared.request)

    def prepare_cancel(self, order: WorkingOrder) -> PreparedCancel:
        text = f"CANCEL {order.order_id}"
        return PreparedCancel(redacted=text, wire=text.encode(), order=order)

    async def cancel(self, prepared: PreparedCancel, *, restamped: Restamped | None = None) -> None:
        order = prepared.order
        if not self._connected:
            raise SessionClosed("fake is stopped")
        self.cancelled.append(order)
        await asyncio.sleep(0)  # a real cancel waits for the venue's answer
        await self.release.wait()  # ... for as long as the test holds it
        if self.cancel_reject is not None:
            raise self.cancel_reject
        self.sink(WorkingOrderRemoved(order.venue, order.account, order.order_id, "cancelled"))

    async def refresh_orders(self) -> None:
        self.sink(WorkingOrdersSnapshot(self.account.venue, self.name, self.working))

    def health(self) -> SessionHealth:
        if self.health_now is not None:
            return self.health_now
        return SessionHealth(connected=self._connected, skew_ms=12.0)

    def say(self, state: ConnectionState, message: str = "", at: float | None = None) -> None:
        """A connection event as the session would push it (``at`` defaults to now)."""
        when = time.time() if at is None else at
        self.sink(ConnectionEvent(self.account.venue, self.name, state, message, at=when))

    async def refresh_positions(self) -> None:
        self.sink(PositionsSnapshot(self.account.venue, self.name, self.initial))

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return {"AAPL-USD": Instrument("AAPL-USD", tick_size=Decimal("0.01"))}

    @property
    def connected(self) -> bool:
        return self._connected


def account(name: str = "acct", venue: Venue = QFEX) -> AccountConfig:
    return AccountConfig(name=name, venue=venue, environment=Environment.DEMO, public_key="pub")


def position(symbol: str = "AAPL-USD", qty: str = "10", side: PositionSide = PositionSide.LONG,
             acct: str = "acct", entry: str = "100", venue: Venue = QFEX) -> Position:
    return Position(
        key=PositionKey(acct, venue, symbol),
        side=side,
        quantity=Decimal(qty),
        entry_price=Decimal(entry),
    )

FAKE_REJECT = CloseRejected("venue said no", code="REJECTED")


def working(order_id: str = "w-1", symbol: str = "AAPL-USD", acct: str = "acct") -> WorkingOrder:
    from core.model import OrderSide, WorkingKind

    return WorkingOrder(QFEX, acct, symbol, order_id, WorkingKind.LIMIT, OrderSide.SELL,
                        Decimal(5), remaining=Decimal(5), price=Decimal("120.5"),
                        order_type="LIMIT", raw_status="ACK")


class Reply:
    """How a ``FlatSession`` answers a close of a symbol."""

    FILL = "fill"
    REJECT = "reject"  # the venue answers REJECTED
    REFUSE = "refuse"  # send_close raises CloseRejected (refused before the wire)
    SILENT = "silent"  # no answer at all


class FlatSession(FakeSession):
    """A fake venue that answers closes. ``behaviour[symbol]`` is one of ``Reply`` or
    ``"residual:<qty>"``; ``gate`` (when set) holds every send until it opens."""

    def __init__(self, account: AccountConfig, credentials: Credentials, sink: EventSink,
                 world: World) -> None:
        super().__init__(account, credentials, sink)
        self.world = world
        self.book: dict[str, Position] = {}
        self.cancel_fail: dict[str, str] = {}  # order id -> refusal text
        self.refreshes = 0

    async def start(self) -> None:
        self.book = {p.key.symbol: p for p in self.initial}
        await super().start()

    async def send(self, prepared: PreparedClose, *, restamped: Restamped | None = None) -> None:
        request = prepared.request
        world = self.world
        world.log.append(("close", f"{self.name}/{request.key.symbol}"))
        world.in_flight += 1
        mine = world.in_flight_by[self.name] = world.in_flight_by.get(self.name, 0) + 1
        world.changed.set()
        world.max_in_flight = max(world.max_in_flight, world.in_flight)
        world.max_in_flight_by[self.name] = max(world.max_in_flight_by.get(self.name, 0), mine)
        if world.in_flight >= world.open_gate_at:
            world.gate.set()
        try:
            await world.gate.wait()
            for _ in range(world.yields):  # a little wire time, so sends can overlap
                await asyncio.sleep(0)
        finally:
            world.in_flight -= 1
            world.in_flight_by[self.name] -= 1
        behaviour = world.behaviour.get(request.key.symbol, Reply.FILL)
        if behaviour == Reply.REFUSE:
            raise CloseRejected("the venue refused it: market closed", code="MARKET_CLOSED")
        await super().send(prepared)
        asyncio.get_running_loop().call_soon(self._answer, request, behaviour)

    def _answer(self, request: CloseRequest, behaviour: str) -> None:
        key, cid = request.key, request.client_order_id
        pos = self.book.get(key.symbol)
        qty = pos.quantity if pos is not None else Decimal(0)

        def update(status: OrderStatus, *, final: bool, filled: Decimal,
                   message: str = "") -> OrderUpdate:
            return OrderUpdate(key.venue, self.name, key.symbol, status, status.value, final,
                               order_id=f"o-{cid}", client_order_id=cid, filled=filled,
                               remaining=qty - filled, message=message)

        if behaviour == Reply.SILENT:
            return
        if behaviour == Reply.REJECT:
            self.sink(update(OrderStatus.REJECTED, final=True, filled=Decimal(0),
                             message="not enough margin"))
            return
        self.sink(update(OrderStatus.ACK, final=False, filled=Decimal(0)))
        if behaviour.startswith("residual:"):
            left = Decimal(behaviour.partition(":")[2])
            assert pos is not None
            self.book[key.symbol] = replace(pos, quantity=left)
            self.sink(self.book[key.symbol])
            self.sink(update(OrderStatus.PARTIAL, final=True, filled=qty - left))
            return
        self.book.pop(key.symbol, None)
        self.sink(PositionRemoved(key))
        self.sink(update(OrderStatus.FILLED, final=True, filled=qty))

    async def cancel(self, prepared: PreparedCancel, *, restamped: Restamped | None = None) -> None:
        order = prepared.order
        self.world.log.append(("cancel", order.order_id))
        if order.order_id in self.cancel_fail:
            raise CancelRejected(self.cancel_fail[order.order_id], code="NO_SUCH_ORDER")
        await super().cancel(prepared)

    async def refresh_positions(self) -> None:
        self.refreshes += 1
        self.sink(PositionsSnapshot(self.account.venue, self.name, tuple(self.book.values())))


class World:
    """Everything the fakes share: behaviours, the gate, the order of requests."""

    def __init__(self) -> None:
        self.behaviour: dict[str, str] = {}
        self.gate = asyncio.Event()
        self.gate.set()
        self.open_gate_at = 10**9
        self.yields = 3
        self.in_flight = 0
        self.max_in_flight = 0
        self.in_flight_by: dict[str, int] = {}  # by account
        self.max_in_flight_by: dict[str, int] = {}
        self.log: list[tuple[str, str]] = []
        self.sessions: dict[str, FlatSession] = {}
        self.changed = asyncio.Event()  # set whenever in_flight changes

    async def until_in_flight(self, n: int) -> None:
        async with asyncio.timeout(10):
            while self.in_flight < n:
                self.changed.clear()
                await self.changed.wait()

    def hold(self, until_in_flight: int | None = None) -> None:
        """Hold every send; open when ``until_in_flight`` are waiting at once (if given)."""
        self.gate.clear()
        self.open_gate_at = until_in_flight if until_in_flight is not None else 10**9


# --------------------------------------------------------------------------- the event sink


class Recorder:
    """A session's event sink that keeps every event; tests await what they expect instead of
    sleeping. ``timeout`` bounds each wait."""

    def __init__(self, timeout: float = 10) -> None:
        self.events: list[SessionEvent] = []
        self.timeout = timeout
        self._changed = asyncio.Event()

    def __call__(self, event: SessionEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_all(
        self, predicate: Callable[[SessionEvent], bool], count: int = 1
    ) -> list[Any]:
        """Every matching event, once there are at least ``count``."""
        async with asyncio.timeout(self.timeout):
            while True:
                found = [e for e in self.events if predicate(e)]
                if len(found) >= count:
                    return found
                self._changed.clear()
                await self._changed.wait()

    async def wait_for(self, predicate: Callable[[SessionEvent], bool], count: int = 1) -> Any:
        """The ``count``-th matching event, once it has arrived."""
        return (await self.wait_all(predicate, count))[count - 1]

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def states(self) -> list[ConnectionState]:
        return [e.state for e in self.events if isinstance(e, ConnectionEvent)]

    def orders(self, cid: str) -> list[OrderUpdate]:
        return [e for e in self.events if isinstance(e, OrderUpdate) and e.client_order_id == cid]

    def last_snapshot(self) -> PositionsSnapshot:
        return [e for e in self.events if isinstance(e, PositionsSnapshot)][-1]


# --------------------------------------------------------------------------- other collaborators


class RecordingLimiter(RateLimiter):
    """The real limiter on a fake clock, noting every weight it was asked for."""

    def __init__(self, budget: float = 12_000, window: float = 60) -> None:
        self.clock = FakeClock(5000.0, yields=True)
        super().__init__(budget, window, clock=self.clock, sleep=self.clock.sleep)
        self.weights: list[float] = []

    async def acquire(self, weight: float = 1.0) -> None:
        self.weights.append(weight)
        await super().acquire(weight)


class FakeSubmit:
    """The close dialog's submit: records what would be sent; can refuse, or hold the send open
    until released."""

    def __init__(self) -> None:
        self.requests: list[CloseRequest] = []
        self.error: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.called = asyncio.Event()

    async def __call__(self, request: CloseRequest) -> CloseIntent:
        self.requests.append(request)
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return CloseIntent(id="i1", request=request)


class Book:
    """The live book as the desk's freshness guard sees it: ``check`` raises PositionChanged
    exactly as Desk.check does."""

    def __init__(self, pos: Position | None) -> None:
        self.pos = pos
        self.checked: list[CloseRequest] = []

    def check(self, request: CloseRequest) -> None:
        self.checked.append(request)
        pos = self.pos
        if pos is None:
            raise PositionChanged("flat", "flat", None)
        if pos.side is not request.position_side:
            raise PositionChanged("side", "side", pos)
        if request.quantity is not None and request.quantity > pos.quantity:
            raise PositionChanged("shrank", "shrank", pos)


class Opener:
    """The link's ``open``: fails with each queued exception in turn, then opens numbered
    connections."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.opened = 0

    async def __call__(self) -> int:
        if self.failures:
            raise self.failures.pop(0)
        self.opened += 1
        return self.opened
