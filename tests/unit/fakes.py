"""Hand-written fakes of the venue contract for desk tests (no sockets)."""

from __future__ import annotations

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
    Venue,
)
from core.venue import (
    AccountConfig,
    CloseRejected,
    Credentials,
    EventSink,
    SessionClosed,
    VenueSession,
)


class FakeSession(VenueSession):
    venue = Venue.QFEX
    capabilities = Capabilities(partial_close=True)

    def __init__(self, account: AccountConfig, credentials: Credentials, sink: EventSink) -> None:
        super().__init__(account, credentials, sink)
        self.sent: list[CloseRequest] = []
        self.reject_with: Exception | None = None
        self.initial: tuple[Position, ...] = ()
        self._connected = False

    async def start(self) -> None:
        self._connected = True
        self.sink(ConnectionEvent(self.account.venue, self.name, ConnectionState.CONNECTED))
        self.sink(PositionsSnapshot(self.account.venue, self.name, self.initial))

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

    async def refresh_positions(self) -> None:
        self.sink(PositionsSnapshot(self.account.venue, self.name, self.initial))

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return {"AAPL-USD": Instrument("AAPL-USD", tick_size=Decimal("0.01"))}

    @property
    def connected(self) -> bool:
        return self._connected


def account(name: str = "acct", venue: Venue = Venue.QFEX) -> AccountConfig:
    return AccountConfig(name=name, venue=venue, environment=Environment.DEMO, public_key="pub")


def position(symbol: str = "AAPL-USD", qty: str = "10", side: PositionSide = PositionSide.LONG,
             acct: str = "acct", entry: str = "100", venue: Venue = Venue.QFEX) -> Position:
    return Position(
        key=PositionKey(acct, venue, symbol),
        side=side,
        quantity=Decimal(qty),
        entry_price=Decimal(entry),
    )

FAKE_REJECT = CloseRejected("venue said no", code="REJECTED")
