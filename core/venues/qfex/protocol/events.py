"""What reading the trade socket yields: the QFEX-only events, and the error for unreadable data.

Order, fill, position and error events are ``core.model``'s own; these are the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from core.model import Fill, OrderSide, OrderUpdate, Position, PositionRemoved, ProtocolError


class QfexProtocolError(ValueError):
    """Venue data we cannot read. Carries no secret: QFEX never echoes one."""


@dataclass(frozen=True, slots=True)
class Authenticated:
    ok: bool


@dataclass(frozen=True, slots=True)
class Subscribed:
    channel: str


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    channel: str


@dataclass(frozen=True, slots=True)
class ErrorFrame:
    """``{"err": ...}``. QFEX replies carry no request id: the echoed request is the link."""

    error_code: str
    message: str  # plain words, with the venue's own message appended when it sent one
    client_order_id: str | None = None
    incoming_type: str | None = None
    symbol: str | None = None
    order_id: str | None = None  # the echoed cancel_order/get_order target
    stop_order_id: str | None = None  # the echoed cancel_stop_order/modify_stop_order target
    retry_after: float | None = None  # seconds, when a RateLimited error hinted at a wait


@dataclass(frozen=True, slots=True)
class StopOrder:
    """A resting TAKE_PROFIT/STOP_LOSS on the ``stop_orders`` channel."""

    stop_order_id: str
    symbol: str
    stop_order_type: str
    side: OrderSide | None
    price: Decimal | None
    quantity: Decimal | None
    client_order_id: str | None
    update_time: float | None


@dataclass(frozen=True, slots=True)
class OrdersList:
    """Reply to ``get_user_orders``: the account's open orders (stops included since 2025-10)."""

    orders: tuple[OrderUpdate, ...]


@dataclass(frozen=True, slots=True)
class Ack:
    """``{"ack": {"incoming_message": ...}}``: the echoed request is the only link to it."""

    incoming_type: str | None
    stop_order_id: str | None = None


@dataclass(frozen=True, slots=True)
class BalanceUpdate:
    """Recognised so it is not reported as unknown; the app does not show balances."""


QfexEvent = (
    OrderUpdate
    | Fill
    | Position
    | PositionRemoved
    | ProtocolError
    | Authenticated
    | Subscribed
    | Unsubscribed
    | ErrorFrame
    | StopOrder
    | OrdersList
    | Ack
    | BalanceUpdate
)
