"""Hand-written fakes of the venue contract for desk tests (no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal

from core.model import (
    Capabilities,
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    Environment,
    Instrument,
    Position,
    PositionKey,
    PositionSide,
    PositionsSnapshot,
    SessionHealth,
    Venue,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
from core.venue import (
    AccountConfig,
    CancelRejected,
    CloseRejected,
    Credentials,
    EventSink,
    SessionClosed,
    VenueSession,
)
from core.venues.qfex import QFEX


class FakeSession(VenueSession):
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
        self._connected = False

    async def start(self) -> None:
        self._connected = True
        self.sink(ConnectionEvent(self.account.venue, self.name, ConnectionState.CONNECTED))
        self.sink(PositionsSnapshot(self.account.venue, self.name, self.initial))
        self.sink(WorkingOrdersSnapshot(self.account.venue, self.name, self.working))

    async def stop(self) -> None:
        self._connected = False

    async def send_close(self, request: CloseRequest) -> None:
        if not self._connected:
            raise SessionClosed("fake is stopped")
        if self.reject_with is not None:
            raise self.reject_with
        self.sent.append(request)

    def preview_close(self, request: CloseRequest) -> str:
        return f"CLOSE {request.key.symbol} {request.quantity or 'ALL'}"

    async def cancel_order(self, order: WorkingOrder) -> None:
        if not self._connected:
            raise SessionClosed("fake is stopped")
        self.cancelled.append(order)
        await asyncio.sleep(0)  # a real cancel waits for the venue's answer
        if self.cancel_reject is not None:
            raise self.cancel_reject
        self.sink(WorkingOrderRemoved(order.venue, order.account, order.order_id, "cancelled"))

    def preview_cancel(self, order: WorkingOrder) -> str:
        return f"CANCEL {order.order_id}"

    async def refresh_orders(self) -> None:
        self.sink(WorkingOrdersSnapshot(self.account.venue, self.name, self.working))

    def health(self) -> SessionHealth:
        return SessionHealth(connected=self._connected, skew_ms=12.0)

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
