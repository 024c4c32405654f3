"""Domain types shared by every layer.

Everything here is immutable and venue-neutral. Money and quantities are always ``Decimal``:
a float cannot represent 0.1 exactly, and a close must send exactly what the user saw.
"""

from __future__ import annotations

import enum
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal
from typing import ClassVar, Literal

__all__ = [
    "ZERO",
    "Capabilities",
    "CloseRequest",
    "ConnectionEvent",
    "ConnectionState",
    "DroppedUpdate",
    "Environment",
    "Fill",
    "Instrument",
    "MarkUpdate",
    "OrderSide",
    "OrderStatus",
    "OrderUpdate",
    "Position",
    "PositionKey",
    "PositionRemoved",
    "PositionSide",
    "PositionsSnapshot",
    "ProtocolError",
    "SessionEvent",
    "SessionHealth",
    "TimeInForce",
    "Trigger",
    "TriggerEvent",
    "Venue",
    "WorkingKind",
    "WorkingOrder",
    "WorkingOrderRemoved",
    "WorkingOrdersSnapshot",
    "new_client_order_id",
]

ZERO = Decimal(0)


class Venue(str):
    """A venue's id, such as ``"qfex"``: the name of its folder under ``core/venues/``.

    Open on purpose: a new venue is a new folder, not a new member here. Each value is
    interned, so ``is`` compares as ``==`` does. Whether an id names a known venue, and its
    label, are the registry's to say (``core.venues``).
    """

    __slots__ = ()
    _interned: ClassVar[dict[str, Venue]] = {}

    def __new__(cls, text: str) -> Venue:
        found = cls._interned.get(text)
        if found is None:
            found = cls._interned.setdefault(text, super().__new__(cls, text))
        return found

    def __repr__(self) -> str:
        return f"Venue({str.__repr__(self)})"

    def __reduce__(self) -> tuple[type[Venue], tuple[str]]:
        return (Venue, (str(self),))

    @property
    def value(self) -> str:
        """The id as a plain ``str`` (for JSON and TOML)."""
        return str.__str__(self)

    @property
    def label(self) -> str:
        """The name people read, from the venue's registered ``VenueInfo``; the id when the
        venue is not registered (an old journal record, say)."""
        from core.venues import label_of  # the registry imports this module: import late

        return label_of(self)


class Environment(enum.StrEnum):
    DEMO = "demo"
    TESTNET = "testnet"
    LIVE = "live"


class PositionSide(enum.StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def closing_side(self) -> OrderSide:
        """The order side that reduces a position of this side."""
        return OrderSide.SELL if self is PositionSide.LONG else OrderSide.BUY


class OrderSide(enum.StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class TimeInForce(enum.StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"


class TriggerEvent(enum.StrEnum):
    """What price a trigger watches. Values are Everstrike's wire names."""

    MARK = "MARK_PRICE"
    INDEX = "INDEX_PRICE"
    LAST = "LAST_PRICE"

    @property
    def label(self) -> str:
        return {"MARK_PRICE": "Mark", "INDEX_PRICE": "Index", "LAST_PRICE": "Last"}[self.value]


@dataclass(frozen=True, slots=True)
class PositionKey:
    """Identity of a position: one row in the table, one slot for an in-flight close."""

    account: str
    venue: Venue
    symbol: str

    def __str__(self) -> str:
        return f"{self.account}/{self.venue.value}/{self.symbol}"


@dataclass(frozen=True, slots=True)
class Position:
    key: PositionKey
    side: PositionSide
    quantity: Decimal  # always > 0; flat positions are removed, never stored
    entry_price: Decimal | None = None
    mark_price: Decimal | None = None
    unrealised_pnl: Decimal | None = None
    liquidation_price: Decimal | None = None
    leverage: Decimal | None = None
    # What the position has realised so far, as the venue reports it; None when it does not.
    realised_pnl: Decimal | None = None
    # time.monotonic() when our process last received venue data for this row; drives staleness.
    received_at: float = field(default_factory=time.monotonic)

    @property
    def signed_quantity(self) -> Decimal:
        return self.quantity if self.side is PositionSide.LONG else -self.quantity

    @property
    def notional(self) -> Decimal | None:
        """Size at the mark, in the quote currency: None until a mark is known. Neither venue's
        documents give a contract multiplier (VENUES.md), so a unit of size is one of the base."""
        return None if self.mark_price is None else self.quantity * self.mark_price

    def with_mark(self, mark: Decimal, received_at: float | None = None) -> Position:
        """Reprice locally: P&L follows the mark between the venue's own position pushes."""
        pnl = self.unrealised_pnl
        if self.entry_price is not None:
            pnl = (mark - self.entry_price) * self.signed_quantity
        return Position(
            key=self.key,
            side=self.side,
            quantity=self.quantity,
            entry_price=self.entry_price,
            mark_price=mark,
            unrealised_pnl=pnl,
            liquidation_price=self.liquidation_price,
            leverage=self.leverage,
            realised_pnl=self.realised_pnl,
            received_at=self.received_at if received_at is None else received_at,
        )


@dataclass(frozen=True, slots=True)
class Instrument:
    """Reference data used to round and validate before anything is sent."""

    symbol: str
    tick_size: Decimal | None = None
    lot_size: Decimal | None = None
    min_quantity: Decimal | None = None
    max_quantity: Decimal | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    # The currency prices and P&L are in ("USD"), from the venue's reference data; it picks how
    # many decimals P&L is shown with (core.numbers). None when the venue does not say.
    quote_currency: str | None = None

    def round_quantity(self, qty: Decimal) -> Decimal:
        """Round down to the lot: never close more than asked."""
        if self.lot_size is None or self.lot_size <= 0:
            return qty
        return (qty / self.lot_size).to_integral_value(rounding=ROUND_DOWN) * self.lot_size

    def round_price(self, price: Decimal) -> Decimal:
        if self.tick_size is None or self.tick_size <= 0:
            return price
        return (price / self.tick_size).to_integral_value(rounding=ROUND_HALF_EVEN) * self.tick_size

    def on_tick(self, price: Decimal) -> bool:
        return self.tick_size is None or self.tick_size <= 0 or price % self.tick_size == 0

    def on_lot(self, qty: Decimal) -> bool:
        return self.lot_size is None or self.lot_size <= 0 or qty % self.lot_size == 0


@dataclass(frozen=True, slots=True)
class Trigger:
    price: Decimal
    event: TriggerEvent = TriggerEvent.MARK
    close_on_trigger: bool = False


def new_client_order_id(prefix: str = "co") -> str:
    """A fresh id for every request; venues reply without request ids, so this is the match key."""
    return f"{prefix}-{secrets.token_hex(12)}"


@dataclass(frozen=True, slots=True)
class CloseRequest:
    """What the user asked for. ``quantity=None`` is a full close, ``limit_price=None`` is market.

    ``position_side``/``position_quantity`` are the position as the user saw it when sending; the
    venue layer derives the order side from them and the desk re-checks them against the book.
    """

    key: PositionKey
    position_side: PositionSide
    position_quantity: Decimal
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    trigger: Trigger | None = None
    time_in_force: TimeInForce | None = None
    client_order_id: str = field(default_factory=new_client_order_id)
    reason: str | None = None

    @property
    def is_full(self) -> bool:
        return self.quantity is None

    @property
    def order_side(self) -> OrderSide:
        return self.position_side.closing_side


class OrderStatus(enum.StrEnum):
    """Normalised order state. The venue's own status text always travels beside it."""

    SENT = "SENT"  # ours: the request left and nothing came back yet
    ACK = "ACK"
    TRIGGER_ACK = "TRIGGER_ACK"  # a trigger/stop close is resting at the venue
    PARTIAL = "PARTIAL"  # some filled; ``final`` says whether the rest still works
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"
    TRIGGERED = "TRIGGERED"
    UNKNOWN = "UNKNOWN"  # connection lost with the request in flight; reconcile, never resend


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    venue: Venue
    account: str
    symbol: str
    status: OrderStatus
    raw_status: str
    final: bool
    order_id: str | None = None
    client_order_id: str | None = None
    side: OrderSide | None = None
    order_type: str | None = None
    time_in_force: str | None = None
    quantity: Decimal | None = None
    remaining: Decimal | None = None
    filled: Decimal | None = None
    price: Decimal | None = None
    trigger_price: Decimal | None = None
    message: str = ""
    venue_time: float | None = None  # the venue's own timestamp, epoch seconds, when it sent one
    received_at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class Fill:
    venue: Venue
    account: str
    symbol: str
    order_id: str | None
    client_order_id: str | None
    side: OrderSide | None
    price: Decimal
    quantity: Decimal
    fee: Decimal | None = None
    trade_id: str | None = None
    venue_time: float | None = None
    received_at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class DroppedUpdate:
    """An order update or fill the order machine set aside as late or duplicate (a second
    FILLED, an ACK after the fill). The venue did send it, so the journal keeps it, marked;
    it is no new state, so nothing shows it."""

    event: OrderUpdate | Fill
    why: str
    raw: str = ""  # the frame that carried it, truncated and redacted like ProtocolError.raw

    @property
    def symbol(self) -> str:
        return self.event.symbol


@dataclass(frozen=True, slots=True)
class PositionsSnapshot:
    """The complete set of open positions of one account: anything absent is flat."""

    venue: Venue
    account: str
    positions: tuple[Position, ...]


@dataclass(frozen=True, slots=True)
class PositionRemoved:
    """The venue says this position is flat (QFEX pushes ``position: 0``; Everstrike
    ``position_closed``)."""

    key: PositionKey


@dataclass(frozen=True, slots=True)
class MarkUpdate:
    venue: Venue
    symbol: str
    mark: Decimal
    index: Decimal | None = None
    last: Decimal | None = None
    received_at: float = field(default_factory=time.monotonic)


class ConnectionState(enum.StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    # Refused (credentials, signature) or unusable (endpoint): the message says why. A session
    # that was running keeps retrying with backoff; one that never started does not.
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    venue: Venue
    account: str
    state: ConnectionState
    message: str = ""
    at: float = field(default_factory=time.time)


@dataclass(frozen=True, slots=True)
class ProtocolError:
    """Bad venue data or a venue-level error that is not about one order.

    It is logged and shown; it never changes the positions book.
    """

    venue: Venue
    account: str
    message: str
    raw: str = ""  # the offending frame, truncated and redacted by whoever produced it
    code: str | None = None
    at: float = field(default_factory=time.time)
    count: int = 1  # how many errors this stands for: a summary of repeats counts them all


class WorkingKind(enum.StrEnum):
    LIMIT = "limit"  # a resting limit (reduce-only) order
    TRIGGER = "trigger"  # a stop / take-profit / trigger close waiting for its price


@dataclass(frozen=True, slots=True)
class WorkingOrder:
    """An order resting at the venue: a limit close or a trigger. Users must see these and be
    able to cancel them, or they cannot trust what will happen to the position."""

    venue: Venue
    account: str
    symbol: str
    order_id: str
    kind: WorkingKind
    side: OrderSide | None
    quantity: Decimal | None
    remaining: Decimal | None = None
    price: Decimal | None = None  # limit price (None for a market trigger)
    trigger_price: Decimal | None = None
    trigger_event: TriggerEvent | None = None
    order_type: str = ""  # the venue's own type text: LIMIT, STOP_LOSS, TAKE_PROFIT, ...
    reduce_only: bool = True
    close_on_trigger: bool = False
    client_order_id: str | None = None
    raw_status: str = ""
    venue_time: float | None = None
    received_at: float = field(default_factory=time.time)

    @property
    def ident(self) -> tuple[str, str]:
        return (self.account, self.order_id)


@dataclass(frozen=True, slots=True)
class WorkingOrdersSnapshot:
    """Every order resting for one account: anything absent is no longer working."""

    venue: Venue
    account: str
    orders: tuple[WorkingOrder, ...]


@dataclass(frozen=True, slots=True)
class WorkingOrderRemoved:
    venue: Venue
    account: str
    order_id: str
    reason: str = ""  # filled, cancelled, triggered, ...


@dataclass(frozen=True, slots=True)
class SessionHealth:
    """What a support engineer needs to judge whether a venue's data can be trusted now."""

    connected: bool
    last_message_at: float | None = None  # time.monotonic() of the last frame or reply received
    rtt_ms: float | None = None  # last REST round trip: its wire time (core.venues.wire)
    skew_ms: float | None = None  # venue clock minus ours, when measured
    rate_headroom: float | None = None  # fraction of the rate budget left, 0..1, when known
    keepalive_s: float | None = None  # the venue's keep-alive period: silence beyond it is stale
    # How many round trips were measured so far (None: the session does not count them); the
    # strip leaves the first few uncoloured, as a connection's first trips are not typical.
    rtt_samples: int | None = None


# Position is also an event: the venue pushed a fresh state for one symbol.
SessionEvent = (
    Position
    | DroppedUpdate
    | PositionsSnapshot
    | PositionRemoved
    | MarkUpdate
    | OrderUpdate
    | Fill
    | ConnectionEvent
    | ProtocolError
    | WorkingOrder
    | WorkingOrdersSnapshot
    | WorkingOrderRemoved
)


ControlKind = Literal["quantity", "limit_price", "trigger", "trigger_event", "close_on_trigger"]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue can do for a close. The dialog enables only these, and shows the reason
    for anything disabled as its tooltip."""

    full_close: bool = True
    partial_close: bool = False
    limit_close: bool = False
    trigger_close: bool = False
    trigger_events: frozenset[TriggerEvent] = frozenset()
    close_on_trigger: bool = False
    limit_with_trigger: bool = False
    time_in_force: tuple[TimeInForce, ...] = ()
    # Whether a full close at a limit or on a trigger still goes without a size (the venue
    # sizes it). False: it carries the position's size, held to the lot and the order bounds.
    full_close_unsized_with_price: bool = True
    # Why each disabled control is disabled, keyed by ControlKind.
    reasons: Mapping[str, str] = field(default_factory=dict)

    def why_not(self, control: ControlKind) -> str:
        return self.reasons.get(control, "")
