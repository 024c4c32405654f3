"""A third venue in one folder: what a new venue must provide, and nothing more.

In memory, no sockets: each account starts with the same small book, marks are fixed, and a
close fills at once at the mark, like a REST venue that answers with the fill. Tests add it
with ``core.venues.register(INFO)`` (and remove it with ``unregister``); nothing outside this
folder names it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType
from typing import ClassVar, Final

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
    SessionHealth,
    Venue,
    WorkingOrder,
    WorkingOrdersSnapshot,
)
from core.venue import (
    AccountConfig,
    CancelRejected,
    CloseRejected,
    Credentials,
    EventSink,
    PreparedCancel,
    PreparedClose,
    ReconnectPolicy,
    Restamped,
    SessionClosed,
    VenueSession,
    redact,
)
from core.venues.info import VenueInfo

__all__ = ["BOOK", "INFO", "THIRD", "ThirdAuthError", "ThirdSession"]

D = Decimal
THIRD: Final = Venue("thirdvenue")
LABEL: Final = "Third Venue"
MECHANISM: Final = "Third Venue POST /close (market, IOC)"
CONCURRENCY: Final = 2
REFUSED_KEY: Final = "pub-refused"  # a public key this venue refuses, for auth-error tests

# symbol -> (side, quantity, entry, mark); every account starts with this book.
BOOK: Final[Mapping[str, tuple[PositionSide, Decimal, Decimal, Decimal]]] = MappingProxyType({
    "ALPHA-USD": (PositionSide.LONG, D("3"), D("100"), D("104.5")),
    "BETA-USD": (PositionSide.SHORT, D("5"), D("20"), D("19.25")),
    "GAMMA-USD": (PositionSide.LONG, D("1.5"), D("300"), D("290")),
})

CAPABILITIES: Final = Capabilities(full_close=True, partial_close=True)


class ThirdAuthError(Exception):
    """The venue refused the key."""


class ThirdSession(VenueSession):
    venue = THIRD
    capabilities = CAPABILITIES
    # Every session started, so a test can see what each one sent, and the most closes that
    # were in flight at once on the venue (all its accounts). Tests call ``reset``.
    started: ClassVar[list[ThirdSession]] = []
    in_flight: ClassVar[int] = 0
    most_in_flight: ClassVar[int] = 0

    @classmethod
    def reset(cls) -> None:
        cls.started.clear()
        cls.in_flight = cls.most_in_flight = 0

    def __init__(
        self,
        account: AccountConfig,
        credentials: Credentials,
        sink: EventSink,
        *,
        reconnect: ReconnectPolicy | None = None,
    ) -> None:
        super().__init__(account, credentials, sink, reconnect=reconnect)
        self.book: dict[str, Position] = {}
        self.sent: list[PreparedClose] = []
        self._connected = False
        self._orders = 0

    def _position(self, symbol: str, quantity: Decimal) -> Position:
        side, _, entry, mark = BOOK[symbol]
        return Position(PositionKey(self.name, THIRD, symbol), side, quantity,
                        entry_price=entry, mark_price=mark)

    async def start(self) -> None:
        if self.credentials.public_key == REFUSED_KEY:
            raise ThirdAuthError("key refused")
        ThirdSession.started.append(self)
        self.book = {s: self._position(s, qty) for s, (_, qty, _, _) in BOOK.items()}
        self._connected = True
        self.sink(ConnectionEvent(THIRD, self.name, ConnectionState.CONNECTED))
        await self.refresh_positions()
        await self.refresh_orders()

    async def stop(self) -> None:
        self._connected = False

    def prepare_close(self, request: CloseRequest) -> PreparedClose:
        if request.limit_price is not None or request.trigger is not None:
            raise CloseRejected(f"{LABEL} closes at market only")
        fields: dict[str, str] = {"symbol": request.key.symbol, "id": request.client_order_id,
                                  "key": self.credentials.public_key}
        if request.quantity is not None:
            fields["qty"] = str(request.quantity)
        wire = json.dumps(fields)
        redacted = json.dumps({**fields, "key": redact(self.credentials.public_key)})
        return PreparedClose(redacted=redacted, wire=wire.encode(), target="/close",
                             request=request)

    async def send(self, prepared: PreparedClose, *, restamped: Restamped | None = None) -> None:
        if not self._connected:
            raise SessionClosed(f"{LABEL} is not connected")
        cls = ThirdSession
        cls.in_flight += 1
        cls.most_in_flight = max(cls.most_in_flight, cls.in_flight)
        try:
            for _ in range(3):  # the round trip: other sends may start meanwhile
                await asyncio.sleep(0)
        finally:
            cls.in_flight -= 1
        self.sent.append(prepared)
        self._fill(prepared.request)

    def _fill(self, request: CloseRequest) -> None:
        symbol = request.key.symbol
        held = self.book.get(symbol)
        if held is None:
            raise CloseRejected("no position to close", code="NO_POSITION")
        qty = held.quantity if request.quantity is None else min(request.quantity, held.quantity)
        self._orders += 1
        left = held.quantity - qty
        self.sink(OrderUpdate(THIRD, self.name, symbol, OrderStatus.FILLED, "DONE", True,
                              order_id=f"t-{self._orders}",
                              client_order_id=request.client_order_id, quantity=qty,
                              remaining=D(0), filled=qty, price=held.mark_price))
        if left > 0:
            self.book[symbol] = self._position(symbol, left)
            self.sink(self.book[symbol])
        else:
            del self.book[symbol]
            self.sink(PositionRemoved(held.key))

    def prepare_cancel(self, order: WorkingOrder) -> PreparedCancel:
        raise CancelRejected(f"{LABEL} has no resting orders")

    async def cancel(self, prepared: PreparedCancel, *, restamped: Restamped | None = None) -> None:
        raise CancelRejected(f"{LABEL} has no resting orders")

    async def refresh_orders(self) -> None:
        self.sink(WorkingOrdersSnapshot(THIRD, self.name, ()))

    async def refresh_positions(self) -> None:
        self.sink(PositionsSnapshot(THIRD, self.name, tuple(self.book.values())))

    def health(self) -> SessionHealth:
        return SessionHealth(connected=self._connected)

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return {s: Instrument(s, tick_size=D("0.01"), lot_size=D("0.5")) for s in BOOK}

    @property
    def connected(self) -> bool:
        return self._connected


INFO: Final = VenueInfo(
    id=THIRD,
    label=LABEL,
    capabilities=CAPABILITIES,
    session=ThirdSession,
    endpoints={
        Environment.LIVE: {"api": "https://api.thirdvenue.example"},
        Environment.TESTNET: {"api": "https://api.test.thirdvenue.example"},
    },
    options={"region": "Which of the venue's regions to trade in (default: eu)"},
    close_mechanism=MECHANISM,
    flatten_concurrency=CONCURRENCY,
    auth_errors=(ThirdAuthError,),
)
