"""QFEX wire protocol, sans-IO: typed requests to exact frames, received frames to typed events.

No sockets, no clock, no randomness: nonces and timestamps are passed in. (The ``received_at``
stamps on ``core.model`` events come from those dataclasses' own defaults.) Facts and their
confidence are in VENUES.md §1; assumptions are marked INFERRED or UNKNOWN below.

Error policy, one rule per kind of input:

* Streamed frames (``parse``, ``parse_mds``) never raise: a bad frame becomes a
  ``core.model.ProtocolError`` event, so the session's reader cannot die on venue data.
* REST bodies (``parse_refdata``, ``parse_positions_rest``) raise only ``QfexProtocolError``,
  because they return a value, not a list of events. ``parse_problem`` never raises.
* Builders raise ``InvalidClose`` (for a ``CloseRequest`` the venue cannot take) and nothing else.

Working orders (resting limit closes and stops) are derived from the same events by
``working_order``, ``working_stop`` and ``removal_reason``, so the session only keeps the map.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from core.closing.rules import FieldError, check_request
from core.model import (
    Capabilities,
    CloseRequest,
    Environment,
    Fill,
    Instrument,
    MarkUpdate,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    PositionSide,
    ProtocolError,
    TimeInForce,
    TriggerEvent,
    Venue,
    WorkingKind,
    WorkingOrder,
)
from core.venue import redact

__all__ = [
    "CAPABILITIES",
    "CHANNELS",
    "DEFAULT_ENDPOINTS",
    "DEFAULT_RATE_WEIGHTS",
    "ERROR_TEXT",
    "RATE_BUDGET",
    "RATE_WINDOW",
    "STATUS_TEXT",
    "Ack",
    "Authenticated",
    "BalanceUpdate",
    "ErrorFrame",
    "InvalidClose",
    "OrdersList",
    "QfexEvent",
    "QfexProtocolError",
    "StopOrder",
    "Subscribed",
    "Unsubscribed",
    "build_add_order",
    "build_auth",
    "build_cancel_order",
    "build_cancel_stop_order",
    "build_close",
    "build_close_position",
    "build_get_order",
    "build_get_user_orders",
    "build_mds_subscribe",
    "build_subscribe",
    "build_unsubscribe",
    "parse",
    "parse_mds",
    "parse_positions_rest",
    "parse_problem",
    "parse_refdata",
    "redacted",
    "removal_reason",
    "rest_auth_headers",
    "retry_after",
    "sign",
    "stop_type",
    "working_order",
    "working_stop",
]

VENUE = Venue.QFEX
RAW_LIMIT = 500

# The trade channels a position manager needs. The official CLI subscribes one per message.
CHANNELS: tuple[str, ...] = ("order_responses", "positions", "fills", "stop_orders")

DEFAULT_ENDPOINTS: dict[Environment, dict[str, str]] = {
    Environment.LIVE: {
        "trade_ws": "wss://trade.qfex.com/",
        "mds_ws": "wss://mds.qfex.com/",
        "rest": "https://api.qfex.com",
    },
    Environment.TESTNET: {
        "trade_ws": "wss://trade.qfex.io/",
        "mds_ws": "wss://mds.qfex.io/",
        "rest": "https://api.qfex.io",
    },
    Environment.DEMO: {},  # the simulator supplies its loopback URLs
}

CAPABILITIES = Capabilities(
    full_close=True,
    partial_close=True,
    limit_close=True,
    trigger_close=True,
    trigger_events=frozenset({TriggerEvent.MARK}),
    close_on_trigger=False,
    limit_with_trigger=False,
    time_in_force=(TimeInForce.GTC, TimeInForce.IOC),
    reasons={
        "trigger_event": "QFEX triggers on the mark price only",
        "close_on_trigger": "QFEX has no close-on-trigger option",
        "limit_with_trigger": "QFEX has no stop-limit: a trigger becomes a market order",
    },
)

# Rate limit (VENUES.md 1.9, Q-DOCS rate): per user, across all connections, measured as an
# EMA. Weights change over time, so they are defaults that settings can override.
RATE_BUDGET = 12_000.0
RATE_WINDOW = 60.0
DEFAULT_RATE_WEIGHTS: dict[str, float] = {
    "add_order": 1.0,
    "cancel_order": 1.0,
    "modify_order": 1.0,
    "get_order": 2.0,
    "get_user_orders": 5.0,
    "cancel_all_orders": 2.0,
    "get_user_trades": 0.5,
    "subscribe": 0.1,
    "unsubscribe": 0.1,
    "cancel_stop_order": 1.0,
    "modify_stop_order": 1.0,
    "cancel_on_disconnect": 0.1,
    # UNKNOWN: the rate page lists no weight for close_position; it places one order, so it is
    # assumed to cost what add_order costs.
    "close_position": 1.0,
    # UNKNOWN: auth is not on the rate page either; one per connection, assumed 1.
    "auth": 1.0,
}

# Plain words for every order status in VENUES.md §1.8, for the log pane.
STATUS_TEXT: dict[str, str] = {
    "ACK": "Accepted by the venue",
    "FILLED": "Filled",
    "MODIFIED": "Order was modified",
    "CANCELLED": "Cancelled; an IOC order cancels whatever does not fill at once",
    "CANCELLED_STP": "Cancelled by self-trade prevention: it would have traded with your own order",
    "REJECTED": "Rejected by the venue",
    "NO_SUCH_ORDER": "The venue has no such order (already done, cancelled, or never placed)",
    "INVALID_ORDER_TYPE": "The venue does not accept this order type here",
    "BAD_SYMBOL": "The venue does not know this symbol or it is not tradeable",
    "PRICE_LESS_THAN_MIN_PRICE": "Price is below the symbol's minimum price",
    "PRICE_GREATER_THAN_MAX_PRICE": "Price is above the symbol's maximum price",
    "CANNOT_MODIFY_PARTIAL_FILL": "A partly filled order cannot be modified",
    "FAILED_MARGIN_CHECK": "Not enough margin for this order",
    "INVALID_TICK_SIZE_PRECISION_PRICE": "Price is not a multiple of the tick size",
    "INVALID_TICK_SIZE_PRECISION_QUANTITY": "Quantity is not a multiple of the lot size",
    "QUANTITY_LESS_THAN_MIN_QUANTITY": "Quantity is below the symbol's minimum quantity",
    "QUANTITY_GREATER_THAN_MAX_QUANTITY": "Quantity is above the symbol's maximum quantity",
    "INVALID_TIME_IN_FORCE": "Time in force not allowed for this order type (market is IOC only)",
    "REJECTED_WOULD_BREACH_MAX_NOTIONAL": "The order would exceed the maximum notional value",
    "CANNOT_MODIFY_NO_SUCH_ORDER": "Cannot modify: the venue has no such order",
    "REJECTED_MARKET_CLOSED": "The market is closed",
    "REJECTED_FAILED_TO_PROCESS": "The venue failed to process the order; check before retrying",
    "INVALID_TAKEPROFIT_PRICE": "Take-profit price is invalid or on the wrong side of the mark",
    "INVALID_STOPLOSS_PRICE": "Stop-loss price is invalid or on the wrong side of the mark",
    "RATE_LIMITED": "Rate limited by the venue; wait before sending more",
    "REJECTED_TOO_MANY_OPEN_ORDERS": "The account has too many open orders",
    "REJECTED_OPEN_INTEREST_LIMIT": "The order would breach the open-interest limit",
}

# Plain words for the ``err`` frame codes (VENUES.md §1.9).
ERROR_TEXT: dict[str, str] = {
    "RateLimited": "Rate limited by the venue; wait before sending more",
    "InvalidJSONFormat": "The venue could not read the request",
    "AlreadyAuthenticated": "This connection is already authenticated",
    "InvalidParameter": "The venue refused a parameter of the request",
    "PermissionDenied": "The API key lacks permission for this request",
    "ServerError": "The venue had an internal error; check before retrying",
    "InvalidOrder": "The venue refused the order",
    "KycRequired": "The account must complete KYC first",
    "TncRequired": "The account must accept the terms and conditions first",
    "AlreadySubscribedToLeaderboard": "Already subscribed to the leaderboard",
}

_WORKING = {"ACK": OrderStatus.ACK, "MODIFIED": OrderStatus.ACK}
_CANCELLED = {"CANCELLED", "CANCELLED_STP"}
_STOP_TYPES = {"STOP_LOSS", "TAKE_PROFIT"}
_IMMEDIATE = {"IOC", "FOK"}


class QfexProtocolError(ValueError):
    """Venue data we cannot read. Carries no secret: QFEX never echoes one."""


class InvalidClose(ValueError):
    """A ``CloseRequest`` QFEX cannot take as asked; ``field`` names the dialog field at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- events


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

# --------------------------------------------------------------------------- signing + building


def sign(secret: str, nonce: str, unix_ts: int) -> str:
    """Lower-case hex HMAC-SHA256 of ``nonce:unix_ts``, keyed by the secret's UTF-8 bytes."""
    message = f"{nonce}:{unix_ts}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def rest_auth_headers(
    public_key: str, secret: str, nonce: str, unix_ts: int, account_id: str | None = None
) -> dict[str, str]:
    """REST (and WebSocket handshake) HMAC headers. Method, path and body are not signed."""
    headers = {
        "x-qfex-public-key": public_key,
        "x-qfex-hmac-signature": sign(secret, nonce, unix_ts),
        "x-qfex-nonce": nonce,
        "x-qfex-timestamp": str(unix_ts),
    }
    if account_id:
        headers["x-qfex-requested-account-id"] = account_id
    return headers


_MAX_DIGITS = 60  # no real price or size is this long; bounds the plain text of 1E+999999999


def _number(value: Decimal) -> str:
    """A Decimal as plain JSON number text: never via float, never exponent notation."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    if value.is_zero():
        return "0"
    if abs(value.adjusted()) > _MAX_DIGITS:
        raise ValueError(f"{value} is out of range")
    return format(value, "f")


def _encode(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__}")


def _frame(kind: str, params: Mapping[str, object]) -> str:
    return _encode({"type": kind, "params": params})


def build_auth(
    public_key: str, secret: str, nonce: str, unix_ts: int, account_id: str | None = None
) -> str:
    params: dict[str, object] = {
        "hmac": {
            "public_key": public_key,
            "nonce": nonce,
            "unix_ts": unix_ts,
            "signature": sign(secret, nonce, unix_ts),
        }
    }
    if account_id:
        params["account_id"] = account_id
    return _frame("auth", params)


def build_subscribe(channel: str) -> str:
    return _frame("subscribe", {"channels": [channel]})


def build_unsubscribe(channel: str) -> str:
    return _frame("unsubscribe", {"channels": [channel]})


def build_close_position(symbol: str, client_order_id: str) -> str:
    return _frame("close_position", {"symbol": symbol, "client_order_id": client_order_id})


def build_add_order(
    *,
    symbol: str,
    side: OrderSide,
    order_type: str,
    time_in_force: str,
    quantity: Decimal,
    price: Decimal,
    client_order_id: str,
    reduce_only: bool = True,
) -> str:
    """``reduce_only`` is sent by the official CLI but missing from the published schema."""
    return _frame(
        "add_order",
        {
            "symbol": symbol,
            "side": side.value,
            "order_type": order_type,
            "order_time_in_force": time_in_force,
            "quantity": quantity,
            "price": price,
            "reduce_only": reduce_only,
            "client_order_id": client_order_id,
        },
    )


def build_cancel_order(symbol: str, order_id: str, id_type: str = "order_id") -> str:
    return _frame(
        "cancel_order", {"symbol": symbol, "order_id": order_id, "cancel_order_id_type": id_type}
    )


def build_cancel_stop_order(stop_order_id: str) -> str:
    return _frame("cancel_stop_order", {"stop_order_id": stop_order_id})


def build_get_order(order_id: str, symbol: str) -> str:
    return _frame("get_order", {"order_id": order_id, "symbol": symbol})


def build_get_user_orders(symbol: str | None = None, *, limit: int = 1000, offset: int = 0) -> str:
    params: dict[str, object] = {"limit": limit, "offset": offset}
    if symbol:
        params["symbol"] = symbol
    return _frame("get_user_orders", params)


def build_mds_subscribe(
    channels: Sequence[str] = ("market_stats",), symbols: Sequence[str] = ("*",)
) -> str:
    """MDS puts its fields at the top level, unlike the trade socket's ``params``."""
    return _encode({"type": "subscribe", "channels": list(channels), "symbols": list(symbols)})


_SECRET_KEYS = {"public_key", "signature", "nonce", "jwt", "api_key"}


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in _SECRET_KEYS and isinstance(v, str):
                out[k] = redact(v) if k == "public_key" else "***"
            else:
                out[k] = _scrub(v)
        return out
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


_SECRET_TEXT = re.compile(r'("(?:public_key|signature|nonce|jwt|api_key)"\s*:\s*)"[^"]*"')


def redacted(frame: str) -> str:
    """The frame for display and the journal: keys, signatures and nonces hidden."""
    try:
        return _encode(_scrub(_loads(frame)))
    except (ValueError, TypeError, RecursionError):
        return _SECRET_TEXT.sub(r'\1"***"', frame)


def _check(request: CloseRequest, instrument: Instrument | None) -> None:
    """The close rules (core.closing.rules), as QFEX sizes its orders: every close but a full
    one at market is an ``add_order`` carrying a quantity."""
    sized = not (request.is_full and request.limit_price is None and request.trigger is None)
    try:
        check_request(request, CAPABILITIES, instrument, sized=sized)
    except FieldError as exc:
        raise InvalidClose(exc.message, field=exc.field) from None


def stop_type(position_side: PositionSide, trigger: Decimal, mark: Decimal) -> str:
    """A trigger on the losing side of the mark is a stop-loss, on the winning side a
    take-profit. QFEX needs the type; it has no generic "trigger" order."""
    losing = trigger < mark if position_side is PositionSide.LONG else trigger > mark
    return "STOP_LOSS" if losing else "TAKE_PROFIT"


def build_close(request: CloseRequest, mark: Decimal | None, instrument: Instrument | None) -> str:
    """The one frame for a close (DESIGN.md "Closing: what goes on the wire")."""
    _check(request, instrument)
    symbol = request.key.symbol
    cid = request.client_order_id
    qty = request.position_quantity if request.quantity is None else request.quantity
    tif = request.time_in_force

    if request.trigger is not None:
        trigger = request.trigger
        # QFEX has no generic trigger: the stop's type says which side of the mark it is on.
        if mark is None:
            raise InvalidClose(
                f"No mark price for {symbol} yet, so stop-loss and take-profit cannot be told "
                "apart; wait for market data",
                field="trigger_price",
            )
        if trigger.price == mark:
            raise InvalidClose(
                f"The trigger {trigger.price} equals the mark price; it would fire at once",
                field="trigger_price",
            )
        return build_add_order(
            symbol=symbol,
            side=request.order_side,
            order_type=stop_type(request.position_side, trigger.price, mark),
            time_in_force="GTC",  # required by the venue, ignored for stops
            quantity=qty,
            price=trigger.price,
            client_order_id=cid,
        )

    if request.limit_price is not None:
        return build_add_order(
            symbol=symbol,
            side=request.order_side,
            order_type="LIMIT",
            time_in_force=(tif or TimeInForce.GTC).value,
            quantity=qty,
            price=request.limit_price,
            client_order_id=cid,
        )

    if tif not in (None, TimeInForce.IOC):
        raise InvalidClose(
            "A close at market is always immediate-or-cancel on QFEX; set a limit price for "
            f"{tif.value}",
            field="time_in_force",
        )
    if request.is_full:
        # The venue sends LIMIT IOC reduce-only near the mark, sized to the whole position.
        return build_close_position(symbol, cid)
    return build_add_order(
        symbol=symbol,
        side=request.order_side,
        order_type="MARKET",
        time_in_force="IOC",
        quantity=qty,
        price=Decimal(0),  # the CLI sends 0; a real price can be refused for MARKET
        client_order_id=cid,
    )


# --------------------------------------------------------------------------- parsing helpers


def _reject_constant(name: str) -> Any:
    raise QfexProtocolError(f"{name} is not a JSON number")


def _loads(text: str | bytes) -> Any:
    """JSON with every number as Decimal: money must never pass through float."""
    return json.loads(
        text, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant
    )


_DECIMAL_TEXT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise QfexProtocolError(f"{what} is not a JSON object")
    return value


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise QfexProtocolError(f"{key!r} is missing or not a string")
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, Decimal) and value.is_finite():
        return _number(value)  # an id sent as a number
    raise QfexProtocolError(f"{key!r} is not a string")


def _as_decimal(value: Any, key: str) -> Decimal:
    """A finite number of sane size: downstream arithmetic must not overflow on venue data."""
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        value = Decimal(value)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise QfexProtocolError(f"{key!r} is not a number")
    if not value.is_zero() and abs(value.adjusted()) > _MAX_DIGITS:
        raise QfexProtocolError(f"{key!r} is out of range")
    return value


def _dec(obj: Mapping[str, Any], key: str) -> Decimal:
    if key not in obj:
        raise QfexProtocolError(f"{key!r} is missing")
    return _as_decimal(obj[key], key)


def _opt_dec(obj: Mapping[str, Any], key: str) -> Decimal | None:
    value = obj.get(key)
    return None if value is None else _as_decimal(value, key)


def _time(obj: Mapping[str, Any], key: str) -> float | None:
    """Epoch seconds from a number or an ISO-8601 text; an unreadable time is simply absent."""
    value = obj.get(key)
    seconds: float | None = None
    try:
        if isinstance(value, Decimal) and value.is_finite():
            seconds = float(value)
        elif isinstance(value, str):
            stamp = datetime.fromisoformat(value)
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=UTC)
            seconds = stamp.timestamp()
    except (ValueError, OverflowError):
        return None
    if seconds is None or seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return seconds


def _side(value: Any) -> OrderSide | None:
    if isinstance(value, str):
        try:
            return OrderSide(value.upper())
        except ValueError:
            return None
    return None


def _safe_raw(text: str | bytes) -> str:
    """The start of a bad frame for the log, with anything key-like hidden. Text-only, so a
    hostile number cannot be expanded."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _SECRET_TEXT.sub(r'\1"***"', text[: RAW_LIMIT * 2])[:RAW_LIMIT]


def _error(account: str, message: str, text: str | bytes, code: str | None = None) -> ProtocolError:
    return ProtocolError(VENUE, account, message, raw=_safe_raw(text), code=code)


# --------------------------------------------------------------------------- trade socket


def _order_update(obj: Mapping[str, Any], account: str) -> OrderUpdate:
    status = _str(obj, "status")
    symbol = _str(obj, "symbol")
    quantity = _opt_dec(obj, "quantity")
    remaining = _opt_dec(obj, "quantity_remaining")
    order_type = _opt_str(obj, "type")
    tif = _opt_str(obj, "time_in_force")
    price = _opt_dec(obj, "price")
    filled = quantity - remaining if quantity is not None and remaining is not None else None
    stop = order_type in _STOP_TYPES
    text = STATUS_TEXT.get(status, "")

    if status in _WORKING:
        normal, final = (OrderStatus.TRIGGER_ACK if stop else OrderStatus.ACK), False
        if stop:
            text = f"{text}; the {order_type} rests until the mark price reaches {price}"
    elif status == "FILLED" and remaining is not None and remaining > 0:
        # FILLED also covers partial fills; an immediate order's rest is already gone.
        final = tif in _IMMEDIATE or order_type == "MARKET"
        normal = OrderStatus.PARTIAL
        rest = "the rest was cancelled" if final else "the rest is still working"
        text = f"Partly filled: {filled} of {quantity}; {rest}"
    elif status == "FILLED":
        normal, final = OrderStatus.FILLED, True
    elif status in _CANCELLED:
        normal, final = OrderStatus.CANCELLED, True
        if filled is not None and filled > 0:
            text = f"{text} (after filling {filled} of {quantity})"
    elif status in STATUS_TEXT:
        normal, final = OrderStatus.REJECTED, True
    else:
        # UNKNOWN status text: we cannot tell what happened, so reconcile rather than guess.
        normal, final = OrderStatus.UNKNOWN, False
        text = f"Unrecognised venue status {status!r}; check the order at the venue"

    return OrderUpdate(
        venue=VENUE,
        account=account,
        symbol=symbol,
        status=normal,
        raw_status=status,
        final=final,
        order_id=_opt_str(obj, "order_id"),
        client_order_id=_opt_str(obj, "client_order_id"),
        side=_side(obj.get("side")),
        order_type=order_type,
        time_in_force=tif,
        quantity=quantity,
        remaining=remaining,
        filled=filled,
        price=price,
        trigger_price=price if stop else None,
        message=text,
        venue_time=_time(obj, "update_time"),
    )


def _fill(obj: Mapping[str, Any], account: str) -> Fill:
    return Fill(
        venue=VENUE,
        account=account,
        symbol=_str(obj, "symbol"),
        order_id=_opt_str(obj, "order_id"),
        client_order_id=_opt_str(obj, "client_order_id"),
        side=_side(obj.get("side")),
        price=_dec(obj, "price"),
        quantity=_dec(obj, "quantity"),
        fee=_opt_dec(obj, "fee"),
        trade_id=_opt_str(obj, "trade_id"),
        venue_time=_time(obj, "timestamp"),
    )


def _position(obj: Mapping[str, Any], account: str) -> Position | PositionRemoved:
    """INFERRED: ``position`` is signed, > 0 long. Flat positions are pushed too (CLI f3b5cb2)."""
    key = PositionKey(account, VENUE, _str(obj, "symbol"))
    signed = _dec(obj, "position")
    if signed.is_zero():
        return PositionRemoved(key)
    entry = _opt_dec(obj, "average_price")
    return Position(
        key=key,
        side=PositionSide.LONG if signed > 0 else PositionSide.SHORT,
        quantity=signed.copy_abs(),
        entry_price=None if entry is None or entry.is_zero() else entry,
        unrealised_pnl=_opt_dec(obj, "unrealised_pnl"),
        leverage=_opt_dec(obj, "leverage"),
    )


def _error_frame(obj: Mapping[str, Any]) -> ErrorFrame:
    code = _str(obj, "error_code")
    venue_message = obj.get("message")
    if venue_message is not None and not isinstance(venue_message, str):
        raise QfexProtocolError("'message' is not a string")
    incoming = obj.get("incoming_message")
    incoming_type = None
    params: Mapping[str, Any] = {}
    if isinstance(incoming, dict):
        incoming_type = _opt_str(incoming, "type")
        echoed = incoming.get("params")
        params = echoed if isinstance(echoed, dict) else {}
    elif incoming is not None:
        raise QfexProtocolError("'incoming_message' is not an object")
    text = ERROR_TEXT.get(code, f"Venue error {code}")
    if venue_message:
        text = f"{text}: {venue_message}"
    return ErrorFrame(
        code,
        text,
        client_order_id=_echoed(params, "client_order_id"),
        incoming_type=incoming_type,
        symbol=_echoed(params, "symbol"),
        order_id=_echoed(params, "order_id"),
        stop_order_id=_echoed(params, "stop_order_id"),
        retry_after=retry_after(obj) if code == "RateLimited" else None,
    )


def _echoed(params: Mapping[str, Any], key: str) -> str | None:
    """A field of our own request as the venue echoed it; anything odd is simply absent."""
    value = params.get(key)
    return value if isinstance(value, str) and value else None


# UNKNOWN (VENUES.md 1.11 #2): the docs say a RateLimited error "includes a retry-after hint"
# but not where or in what unit. These are the plausible spellings; a field or a phrase whose
# unit says milliseconds is read as milliseconds, anything else as seconds.
_RETRY_FIELDS = (
    "retry_after_ms",
    "retryAfterMs",
    "retry_after_millis",
    "retry_after",
    "retryAfter",
    "retry_after_s",
    "retry_after_seconds",
    "retry_in",
    "wait",
    "wait_ms",
)
_RETRY_TEXT = re.compile(
    r"(?:retry|after|again in|wait)\D{0,20}?(\d+(?:\.\d+)?)\s*"
    r"(ms|msecs?|millis(?:econds?)?|s|secs?|seconds?)?\b",
    re.IGNORECASE,
)


def retry_after(err: Mapping[str, Any]) -> float | None:
    """Seconds to wait from a RateLimited ``err`` body, if it hinted at any; never raises."""
    for key in _RETRY_FIELDS:
        value = err.get(key)
        if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value.strip()):
            value = Decimal(value.strip())
        if isinstance(value, Decimal) and value.is_finite() and value >= 0:
            seconds = float(value)
            return seconds / 1000 if key.lower().endswith(("ms", "millis")) else seconds
    message = err.get("message")
    if isinstance(message, str):
        match = _RETRY_TEXT.search(message[:RAW_LIMIT])
        if match:
            seconds = float(match.group(1))
            unit = (match.group(2) or "s").lower()
            return seconds / 1000 if unit.startswith("m") else seconds
    return None


def _stop_order(obj: Mapping[str, Any]) -> StopOrder:
    return StopOrder(
        stop_order_id=_str(obj, "stop_order_id"),
        symbol=_str(obj, "symbol"),
        stop_order_type=_str(obj, "stop_order_type"),
        side=_side(obj.get("direction")),
        price=_opt_dec(obj, "price"),
        quantity=_opt_dec(obj, "quantity"),
        client_order_id=_opt_str(obj, "client_order_id"),
        update_time=_time(obj, "update_time"),
    )


def _list(value: Any, what: str) -> list[Any]:
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise QfexProtocolError(f"{what} is not a list")
    return value


def _envelope(obj: Mapping[str, Any], account: str) -> list[QfexEvent]:
    """The AsyncAPI ``v4_positions``/``v4_balances`` envelope (UNKNOWN which shape production
    uses, so both are handled)."""
    channel = obj.get("channel")
    kind = obj.get("type")
    if channel == "v4_balances" or kind == "balance_update":
        return [BalanceUpdate()]
    if channel == "v4_positions" or kind == "position_update":
        contents = obj.get("contents")
        if contents is None:
            return []
        return [_position(_obj(p, "position"), account) for p in _list(contents, "'contents'")]
    raise QfexProtocolError(f"unknown channel {channel!r}")


def _dispatch(obj: Mapping[str, Any], account: str) -> list[QfexEvent]:
    if "contents" in obj or "channel" in obj:
        return _envelope(obj, account)
    if "order_response" in obj:
        return [_order_update(_obj(obj["order_response"], "order_response"), account)]
    if "fill_response" in obj:
        return [_fill(_obj(obj["fill_response"], "fill_response"), account)]
    if "position_response" in obj:
        return [_position(_obj(obj["position_response"], "position_response"), account)]
    if "err" in obj:
        return [_error_frame(_obj(obj["err"], "err"))]
    if "authenticated" in obj:
        ok = obj["authenticated"]
        if not isinstance(ok, bool):
            raise QfexProtocolError("'authenticated' is not true or false")
        return [Authenticated(ok)]
    if "subscribed" in obj:
        return [Subscribed(_str(obj, "subscribed"))]
    if "unsubscribed" in obj:
        return [Unsubscribed(_str(obj, "unsubscribed"))]
    if "stop_order_response" in obj:
        return [_stop_order(_obj(obj["stop_order_response"], "stop_order_response"))]
    if "all_orders_response" in obj:
        body = _obj(obj["all_orders_response"], "all_orders_response")
        orders = body.get("orders")
        items = [] if orders is None else _list(orders, "'orders'")
        return [OrdersList(tuple(_order_update(_obj(o, "order"), account) for o in items))]
    if "ack" in obj:
        ack = obj["ack"]
        incoming = ack.get("incoming_message") if isinstance(ack, dict) else None
        kind = incoming.get("type") if isinstance(incoming, dict) else None
        params = incoming.get("params") if isinstance(incoming, dict) else None
        stop_id = _echoed(params, "stop_order_id") if isinstance(params, dict) else None
        return [Ack(kind if isinstance(kind, str) else None, stop_id)]
    if "balance_response" in obj:
        return [BalanceUpdate()]
    keys = ", ".join(repr(k[:40]) for k in sorted(obj)[:5])
    raise QfexProtocolError(f"unknown message with keys {keys or 'none'}")


def parse(text: str | bytes, account: str) -> list[QfexEvent]:
    """One trade-socket frame to events. Never raises: bad data becomes a ``ProtocolError``.

    The account name is not on the wire, so the caller supplies it.
    """
    try:
        return _dispatch(_obj(_loads(text), "frame"), account)
    except (ValueError, ArithmeticError, RecursionError) as exc:
        # ValueError covers QfexProtocolError, bad JSON and bad UTF-8; ArithmeticError a
        # Decimal too large to subtract; RecursionError absurdly nested JSON.
        return [_error(account, f"Unreadable QFEX message: {_reason(exc)}", text)]


def _reason(exc: BaseException) -> str:
    if isinstance(exc, QfexProtocolError):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, ArithmeticError):
        return "number out of range"
    return "malformed JSON"


# --------------------------------------------------------------------------- working orders

_LIMIT_TYPES = {"LIMIT", "ALO"}


def working_order(update: OrderUpdate, *, reduce_only: bool) -> WorkingOrder | None:
    """The resting order an ``order_response`` (or a ``get_user_orders`` entry) describes, or
    None when it does not rest: an ACKed or modified GTC limit, a GTC limit partly filled, or an
    ACKed stop. The venue does not say whether a limit is reduce-only, so the caller does.

    Stops: trigger = ``price`` and the trigger event is always the mark (VENUES.md 1.7). They
    are reduce-only by the venue's rules.
    """
    if not update.order_id or update.order_type is None:
        return None
    stop = update.order_type in _STOP_TYPES
    resting = update.raw_status in _WORKING or (
        update.status is OrderStatus.PARTIAL and not update.final
    )
    if not resting:
        return None
    if not stop and (update.order_type not in _LIMIT_TYPES or update.time_in_force != "GTC"):
        return None
    return WorkingOrder(
        venue=VENUE,
        account=update.account,
        symbol=update.symbol,
        order_id=update.order_id,
        kind=WorkingKind.TRIGGER if stop else WorkingKind.LIMIT,
        side=update.side,
        quantity=update.quantity,
        remaining=update.remaining,
        price=None if stop else update.price,
        trigger_price=update.price if stop else None,
        trigger_event=TriggerEvent.MARK if stop else None,
        order_type=update.order_type,
        reduce_only=True if stop else reduce_only,
        client_order_id=update.client_order_id,
        raw_status=update.raw_status,
        venue_time=update.venue_time,
    )


def working_stop(stop: StopOrder, account: str) -> WorkingOrder:
    """A ``stop_orders`` push: the stop as it rests now (the frame has no status field)."""
    return WorkingOrder(
        venue=VENUE,
        account=account,
        symbol=stop.symbol,
        order_id=stop.stop_order_id,
        kind=WorkingKind.TRIGGER,
        side=stop.side,
        quantity=stop.quantity,
        remaining=stop.quantity,
        trigger_price=stop.price,
        trigger_event=TriggerEvent.MARK,
        order_type=stop.stop_order_type,
        reduce_only=True,
        client_order_id=stop.client_order_id,
        raw_status=stop.stop_order_type,
        venue_time=stop.update_time,
    )


_GONE = {"NO_SUCH_ORDER", "CANNOT_MODIFY_NO_SUCH_ORDER"}


def removal_reason(update: OrderUpdate) -> str | None:
    """Why the order this ``order_response`` names no longer rests, or None if it still may.

    Only states that end an order count: a refusal of a *modify* or *cancel* (bad tick, rate
    limited, ...) leaves the order working, so those return None.
    """
    raw = update.raw_status
    if raw == "FILLED":
        if not update.final:
            return None
        return "filled" if update.status is OrderStatus.FILLED else "partly filled; rest cancelled"
    if raw in _CANCELLED:
        return "cancelled"
    if raw == "REJECTED":
        return "rejected"
    if raw in _GONE:
        return "no longer at the venue"
    return None


# --------------------------------------------------------------------------- market data socket

_MDS_IGNORED = {
    "bbo",
    "level2",
    "trade",
    "candle",
    "funding",
    "open_interest",
    "underlier",
    "minmax_price",
    "refdata",
    "subscribed",
    "unsubscribed",
    "subscribe",
}


def _mark(obj: Mapping[str, Any]) -> MarkUpdate:
    return MarkUpdate(VENUE, _str(obj, "symbol"), _dec(obj, "price"))


def parse_mds(text: str | bytes, account: str = "") -> list[MarkUpdate | ProtocolError]:
    """Mark prices from ``market_stats`` (all symbols) and ``mark_price``. Never raises."""
    try:
        obj = _obj(_loads(text), "frame")
        if "err" in obj:
            err = _error_frame(_obj(obj["err"], "err"))
            return [_error(account, err.message, text, err.error_code)]
        kind = _str(obj, "type")
        if kind == "error":
            # UNKNOWN shape: how MDS refuses a subscription is not documented.
            detail = obj.get("message")
            text = detail if isinstance(detail, str) and detail else "no detail"
            return [_error(account, f"QFEX market data error: {text}", text, "error")]
        if kind == "mark_price":
            return [_mark(obj)]
        if kind == "market_stats":
            marks = obj.get("mark_prices")
            items = [] if marks is None else _list(marks, "'mark_prices'")
            return [_mark(_obj(m, "mark price")) for m in items]
        if kind in _MDS_IGNORED:
            return []
        raise QfexProtocolError(f"unknown market data type {kind!r}")
    except (ValueError, ArithmeticError, RecursionError) as exc:
        return [_error(account, f"Unreadable QFEX market data: {_reason(exc)}", text)]


# --------------------------------------------------------------------------- REST bodies


_P = ParamSpec("_P")
_R = TypeVar("_R")


def _rest(parser: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn every failure to read a REST body into ``QfexProtocolError``, and nothing else."""

    @functools.wraps(parser)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return parser(*args, **kwargs)
        except QfexProtocolError:
            raise
        except (ValueError, ArithmeticError, RecursionError) as exc:
            raise QfexProtocolError(f"unreadable response: {_reason(exc)}") from None

    return wrapper


@_rest
def parse_refdata(body: bytes | str) -> dict[str, Instrument]:
    """``GET /refdata``: precision and limits arrive as decimal strings."""
    data = _obj(_loads(body), "response").get("data")
    out: dict[str, Instrument] = {}
    for item in _list(data, "'data'") if data is not None else []:
        entry = _obj(item, "refdata entry")
        symbol = _str(entry, "symbol")
        out[symbol] = Instrument(
            symbol=symbol,
            tick_size=_opt_dec(entry, "tick_size"),
            lot_size=_opt_dec(entry, "lot_size"),
            min_quantity=_opt_dec(entry, "min_quantity"),
            max_quantity=_opt_dec(entry, "max_quantity"),
            min_price=_opt_dec(entry, "min_price"),
            max_price=_opt_dec(entry, "max_price"),
        )
    return out


@_rest
def parse_positions_rest(body: bytes | str, account: str) -> tuple[Position, ...]:
    """``GET /user/positions``: ``positions`` may be null; flat rows are dropped."""
    positions = _obj(_loads(body), "response").get("positions")
    out: list[Position] = []
    for item in _list(positions, "'positions'") if positions is not None else []:
        event = _position(_obj(item, "position"), account)
        if isinstance(event, Position):
            out.append(event)
    return tuple(out)


def parse_problem(body: bytes | str) -> str:
    """A readable line from an RFC 9457 ``problem+json`` body, or the body's start if it is not
    one. Never raises."""
    try:
        obj = _loads(body)
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return text.strip()[:RAW_LIMIT] or "empty response"
    parts = [str(obj[k]) for k in ("title", "detail") if isinstance(obj.get(k), str) and obj[k]]
    details = _problem_errors(obj.get("errors"))
    if details:
        parts.append("; ".join(details))
    status = obj.get("status")
    line = ": ".join(parts) or "request failed"
    if isinstance(status, Decimal) and status.is_finite():
        line = f"{line} (HTTP {_number(status)})"
    return line[:RAW_LIMIT]


def _problem_errors(errors: Any) -> list[str]:
    out = []
    for err in errors if isinstance(errors, list) else []:
        if not isinstance(err, dict):
            continue
        message = err.get("message")
        location = err.get("location")
        if isinstance(message, str):
            out.append(f"{location}: {message}" if isinstance(location, str) else message)
    return out

