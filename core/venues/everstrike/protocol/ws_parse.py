"""Everstrike wire format, sans-IO: sign, encode and parse. No sockets, no clock, no randomness.

Facts and their confidence are in VENUES.md §2. Trading is signed REST (``/auth/*``, a form body
signed with base64 HMAC-SHA256); events arrive over a WebSocket authenticated by the API key
alone. Every parser turns bad input into :class:`EverstrikeError` (REST) or a ``ProtocolError``
event (WebSocket) and never raises anything else.

Events built here take their ``received_at`` from the model's default factories; that is the
only time read, and it is the model's, not this module's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, DecimalException
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlencode

from core.closing.rules import FieldError, check_amounts, check_request
from core.model import (
    Capabilities,
    CloseRequest,
    Environment,
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
    TriggerEvent,
    Venue,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
)
from core.venue import redact

__all__ = [
    "ACTIVE_ORDERS_PATH",
    "CANCEL_PATH",
    "CAPABILITIES",
    "CLOSE_PATH",
    "DEFAULT_ENDPOINTS",
    "FORM_CONTENT_TYPE",
    "INDEX_SUBSCRIPTION_LIMIT",
    "ORDERS_PATH",
    "ORDER_PATH",
    "TRIGGERS_PATH",
    "Authenticated",
    "ControlEvent",
    "EncodeError",
    "EverstrikeError",
    "MalformedReply",
    "RateLimited",
    "SignedRequest",
    "StaleTimestamp",
    "StatusOk",
    "Subscribed",
    "Subscriptions",
    "Unsubscribed",
    "VenueOrder",
    "WsError",
    "WsEvent",
    "auth_api",
    "build_signed_post",
    "check_close",
    "encode_cancel",
    "encode_close",
    "format_decimal",
    "loads",
    "match_close",
    "parse_active_positions",
    "parse_close_reply",
    "parse_envelope",
    "parse_order",
    "parse_order_list",
    "parse_pairs",
    "parse_position",
    "parse_time",
    "parse_working_orders",
    "parse_ws",
    "redacted",
    "sign",
    "status",
    "sub",
    "sub_pair",
    "unsub",
    "unsub_all",
    "working_order",
]

VENUE: Final = Venue.EVERSTRIKE
CLOSE_PATH: Final = "/auth/close"
# UNKNOWN whether /auth/cancel also cancels trigger orders (VENUES §2.9 #6). We assume it does,
# by trigger id, as the simulator does; a refusal is shown as a plain CancelRejected.
CANCEL_PATH: Final = "/auth/cancel"
ORDERS_PATH: Final = "/orders"  # recent orders, every status: used to reconcile lost replies
ORDER_PATH: Final = "/order"  # one order by ?id=
ACTIVE_ORDERS_PATH: Final = "/active_orders"  # resting orders (E-MM); untriggered ones: /triggers
TRIGGERS_PATH: Final = "/triggers"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
# E-WS: at most 10 public categories per client; private events need no subscription.
INDEX_SUBSCRIPTION_LIMIT: Final = 10
_RAW_LIMIT: Final = 500  # how much of an offending frame a ProtocolError keeps

CAPABILITIES: Final = Capabilities(
    full_close=True,
    partial_close=True,
    limit_close=True,
    trigger_close=True,
    trigger_events=frozenset(TriggerEvent),
    close_on_trigger=True,
    limit_with_trigger=True,  # /auth/close takes price and trigger_price together
    time_in_force=(),
    reasons=MappingProxyType(
        {"time_in_force": "Everstrike's close endpoint takes no time in force."}
    ),
)

DEFAULT_ENDPOINTS: Final[Mapping[Environment, Mapping[str, str]]] = MappingProxyType(
    {
        Environment.LIVE: MappingProxyType(
            {"rest": "https://api.everstrike.io", "ws": "wss://wss.everstrike.io"}
        ),
        Environment.TESTNET: MappingProxyType(
            {"rest": "https://api.testnet.everstrike.io", "ws": "wss://wss.testnet.everstrike.io"}
        ),
        # Demo runs against the simulator, whose URLs are known only once it has started.
        Environment.DEMO: MappingProxyType({}),
    }
)


# --------------------------------------------------------------------------- errors


class EverstrikeError(Exception):
    """The venue refused a request, or its reply could not be read.

    ``http_status`` is None when no HTTP response was involved (a parser fed a bad object).
    """

    def __init__(
        self,
        http_status: int | None,
        code: int | None,
        msg: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(msg)
        self.http_status = http_status
        self.code = code
        self.msg = msg
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(http_status={self.http_status!r}, code={self.code!r}, "
            f"msg={self.msg!r}, retry_after={self.retry_after!r})"
        )


class RateLimited(EverstrikeError):
    """HTTP 429; the wait is only in the text ("Care to try again in 0.043 seconds?")."""


class StaleTimestamp(EverstrikeError):
    """HTTP 408 with body code 414: our timestamp is too old, so our clock offset is off."""


class MalformedReply(EverstrikeError):
    """Not JSON, not the documented envelope, or a result without the fields we need."""


class EncodeError(ValueError):
    """A close request that cannot be put on the wire; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


# --------------------------------------------------------------------------- numbers


def format_decimal(value: Decimal, field: str = "value") -> str:
    """Plain decimal text, exactly the value: no exponent, no float, trailing zeros dropped.

    ``format(d, "f")`` is exact (``normalize()`` is not: it rounds to the context precision).
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise EncodeError(field, f"{field} must be a finite decimal number, not {value!r}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    if len(text) > 40:
        raise EncodeError(field, f"{field} {text[:20]}… has too many digits")
    return text


# --------------------------------------------------------------------------- signing, encoding


def sign(secret: str, body: str) -> str:
    """x-signature: standard base64 (padded) of HMAC-SHA256(secret, body), both UTF-8."""
    digest = hmac.new(secret.encode("utf-8"), body.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _finish(fields: list[tuple[str, str]], timestamp_ms: int, recv_window: int | None) -> str:
    if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, int) or timestamp_ms <= 0:
        raise EncodeError("timestamp", f"timestamp must be positive ms, not {timestamp_ms!r}")
    fields.append(("timestamp", str(timestamp_ms)))
    if recv_window is not None:
        if isinstance(recv_window, bool) or not isinstance(recv_window, int) or recv_window <= 0:
            raise EncodeError("recv_window", f"recv_window must be positive, not {recv_window!r}")
        fields.append(("recv_window", str(recv_window)))
    return urlencode(fields)


def encode_close(request: CloseRequest, timestamp_ms: int, recv_window: int | None) -> str:
    """The exact form body for ``POST /auth/close``: only the fields the user set.

    Built once; the caller signs this string and sends these very bytes.
    """
    pair = request.key.symbol
    if not pair or pair != pair.strip():
        raise EncodeError("symbol", f"invalid pair {pair!r}")
    if request.time_in_force is not None:
        raise EncodeError("time_in_force", "Everstrike's close endpoint takes no time in force")
    try:
        check_amounts(request)
    except FieldError as exc:
        raise EncodeError(exc.field, exc.message) from None
    fields: list[tuple[str, str]] = [("pair", pair)]
    if request.quantity is not None:
        fields.append(("qty", format_decimal(request.quantity, "quantity")))
    if request.limit_price is not None:
        fields.append(("price", format_decimal(request.limit_price, "limit_price")))
    if request.trigger is not None:
        trigger = request.trigger
        fields.append(("trigger_price", format_decimal(trigger.price, "trigger_price")))
        try:
            event = TriggerEvent(trigger.event)
        except ValueError:
            raise EncodeError("trigger_event", f"unknown trigger event {trigger.event!r}") from None
        fields.append(("trigger_event", event.value))
        fields.append(("close_on_trigger", "true" if trigger.close_on_trigger else "false"))
    return _finish(fields, timestamp_ms, recv_window)


def check_close(request: CloseRequest, instrument: Instrument | None) -> None:
    """Refuse, naming the field, what ``GET /pairs`` and the capabilities say the venue would
    refuse: the close rules (core.closing.rules), as Everstrike sizes a close. Only a close with
    a ``qty`` puts a quantity on the wire; a full close is sized by the venue.
    """
    try:
        check_request(request, CAPABILITIES, instrument, sized=request.quantity is not None)
    except FieldError as exc:
        raise EncodeError(exc.field, exc.message) from None


def encode_cancel(order_id: str, timestamp_ms: int, recv_window: int | None) -> str:
    """The form body for ``POST /auth/cancel``."""
    if not order_id:
        raise EncodeError("order_id", "order id is empty")
    return _finish([("id", order_id)], timestamp_ms, recv_window)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    method: str
    path: str
    body: str
    headers: Mapping[str, str] = field(default_factory=dict)


def build_signed_post(path: str, body: str, api_key: str, secret: str) -> SignedRequest:
    return SignedRequest(
        method="POST",
        path=path,
        body=body,
        headers=MappingProxyType(
            {
                "content-type": FORM_CONTENT_TYPE,
                "x-api-key": api_key,
                "x-signature": sign(secret, body),
            }
        ),
    )


_SENSITIVE_HEADERS: Final = frozenset({"x-api-key", "x-signature"})


def redacted(signed: SignedRequest) -> str:
    """What the dialog previews and the journal stores: key and signature redacted."""
    lines = [f"{signed.method} {signed.path}"]
    for name, value in signed.headers.items():
        shown = redact(value) if name.lower() in _SENSITIVE_HEADERS else value
        lines.append(f"{name}: {shown}")
    lines.append("")
    lines.append(signed.body)
    return "\n".join(lines)


# --------------------------------------------------------------------------- WS messages


def _op(op: str, content: str) -> str:
    if not content:
        raise EncodeError("content", "Everstrike WS content must be non-empty")
    return json.dumps({"op": op, "content": content}, separators=(",", ":"))


def auth_api(api_key: str) -> str:
    return _op("auth_api", api_key)


def status() -> str:
    """The keep-alive the venue expects about every 5 s."""
    return _op("status", "empty")


def sub(pair: str, category: str = "index") -> str:
    return _op("sub", f"{pair}:{category}")


def sub_pair(pair: str) -> str:
    return _op("sub_pair", pair)


def unsub(pair: str, category: str = "index") -> str:
    return _op("unsub", f"{pair}:{category}")


def unsub_all() -> str:
    return _op("unsub_all", "empty")


# --------------------------------------------------------------------------- JSON helpers


class _Bad(Exception):
    """Internal: a field is missing or has the wrong type."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def loads(text: str | bytes) -> Any:
    """JSON with every number as Decimal; NaN/Infinity refused (not JSON, and not money)."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant)


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"{what} is not an object")
    return value


def _str(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _Bad(f"{what} is missing or not a string")
    return value


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dec(value: object, what: str) -> Decimal:
    if isinstance(value, bool):
        raise _Bad(f"{what} is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    if isinstance(value, str):  # tolerated: some venues quote numbers
        try:
            parsed = Decimal(value)
        except DecimalException:
            raise _Bad(f"{what} is not a number") from None
        if parsed.is_finite():
            return parsed
    raise _Bad(f"{what} is not a number")


def _opt_dec(value: object, what: str) -> Decimal | None:
    return None if value is None else _dec(value, what)


def _int(value: object, what: str) -> int:
    number = _dec(value, what)
    if number != number.to_integral_value() or abs(number.adjusted()) > 30:
        raise _Bad(f"{what} is not an integer")
    return int(number)


def _truncate(text: str) -> str:
    return text if len(text) <= _RAW_LIMIT else text[:_RAW_LIMIT] + "…"


_PARSE_ERRORS = (_Bad, KeyError, TypeError, ValueError, ArithmeticError, RecursionError)


# --------------------------------------------------------------------------- REST parsers

_WAIT = re.compile(
    r"(\d{1,9}(?:\.\d{1,9})?)\s*(ms|milliseconds?|s|sec|secs|seconds?)\b", re.IGNORECASE
)


def _retry_after(msg: str) -> float | None:
    """Loosely read "try again in 0.043 seconds" (E-MM README); None when absent."""
    match = _WAIT.search(msg)
    if match is None:
        return None
    wait = float(match.group(1))  # a delay, not money
    return wait / 1000.0 if match.group(2).lower().startswith("m") else wait


def parse_envelope(status_code: int, body: bytes) -> Any:
    """Return ``result`` of a ``{code,msg,result}`` reply; raise a typed EverstrikeError otherwise.

    The body's ``code`` is authoritative: 408 arrives with body code 414 (stale timestamp).
    """
    try:
        data = loads(body)
    except (ValueError, RecursionError):
        snippet = _truncate(body.decode("utf-8", "replace")).strip()
        raise MalformedReply(
            status_code, None, f"HTTP {status_code} with a reply that is not JSON: {snippet!r}"
        ) from None
    if not isinstance(data, dict) or "code" not in data:
        raise MalformedReply(
            status_code, None, f"HTTP {status_code} without the {{code,msg}} envelope"
        )
    try:
        code = _int(data["code"], "code")
    except _Bad:
        raise MalformedReply(status_code, None, "reply code is not an integer") from None
    raw_msg = data.get("msg")
    msg = raw_msg if isinstance(raw_msg, str) else ""
    if code == 200 and 200 <= status_code < 300:
        return data.get("result")
    if status_code == 429 or code == 429:
        raise RateLimited(status_code, code, msg or "Too many requests", _retry_after(msg))
    if code == 414 or status_code == 408:
        raise StaleTimestamp(status_code, code, msg or "The timestamp is too old.")
    if code == 200:  # a success body on an error status: trust the status
        raise EverstrikeError(status_code, code, msg or f"HTTP {status_code}")
    raise EverstrikeError(status_code, code, msg or f"error {code}")


def _malformed(what: str, exc: BaseException) -> MalformedReply:
    detail = str(exc) if isinstance(exc, _Bad) else f"{type(exc).__name__}: {exc}"
    return MalformedReply(None, None, f"{what}: {_truncate(detail)}")


def parse_time(result: object) -> int:
    """``GET /time`` result: epoch milliseconds."""
    try:
        return _int(result, "time")
    except _PARSE_ERRORS as exc:
        raise _malformed("bad /time result", exc) from None


def parse_position(obj: object, account: str, pair: str) -> Position | PositionRemoved:
    """One position object; flat (size 0) becomes PositionRemoved.

    INFERRED: side from ``stats.direction``; ``size`` may be signed, so quantity is ``|size|``
    and a negative size with no direction means SHORT.
    """
    data = _obj(obj, "position")
    raw_stats = data.get("stats")
    stats = raw_stats if isinstance(raw_stats, dict) else {}
    size_raw = data.get("size", stats.get("size"))
    size = _dec(size_raw, "position size")
    key = PositionKey(account=account, venue=VENUE, symbol=pair)
    if size == 0:
        return PositionRemoved(key=key)
    direction = stats.get("direction", data.get("direction"))
    if direction == "BUY":
        side = PositionSide.LONG
    elif direction == "SELL" or (direction is None and size < 0):
        side = PositionSide.SHORT
    else:
        raise _Bad(f"position direction {direction!r} is neither BUY nor SELL")
    return Position(
        key=key,
        side=side,
        quantity=size.copy_abs(),
        entry_price=_opt_dec(stats.get("avg_entry"), "avg_entry"),
        mark_price=_opt_dec(stats.get("mark"), "mark"),
        unrealised_pnl=_opt_dec(stats.get("upnl"), "upnl"),
        liquidation_price=_opt_dec(stats.get("lp"), "lp"),
        leverage=_opt_dec(stats.get("leverage"), "leverage"),
    )


def parse_active_positions(result: object, account: str) -> tuple[Position, ...]:
    """``GET /active_positions``: an object keyed by pair; flat entries are dropped."""
    try:
        data = _obj(result, "active_positions result")
        positions: list[Position] = []
        for pair, obj in data.items():
            parsed = parse_position(obj, account, _str(pair, "pair"))
            if isinstance(parsed, Position):
                positions.append(parsed)
        return tuple(positions)
    except _PARSE_ERRORS as exc:
        raise _malformed("bad /active_positions result", exc) from None


def parse_pairs(result: object) -> dict[str, Instrument]:
    """``GET /pairs``: PRICE_FILTER gives tick and price bounds, LOT_SIZE the lot and qty bounds.

    A bound of 0 is read as "no bound" (assumption: no instrument trades at a maximum of 0).
    """

    def bound(value: object, what: str) -> Decimal | None:
        number = _opt_dec(value, what)
        return None if number is None or number == 0 else number

    try:
        instruments: dict[str, Instrument] = {}
        for pair, raw in _obj(result, "pairs result").items():
            entry = _obj(raw, f"pair {pair!r}")
            symbol = _opt_str(entry.get("key")) or _str(pair, "pair")
            price: dict[str, Any] = {}
            lot: dict[str, Any] = {}
            filters = entry.get("filters") or []
            if not isinstance(filters, list):
                raise _Bad(f"{symbol} filters is not a list")
            for item in filters:
                flt = _obj(item, f"{symbol} filter")
                if flt.get("filter_type") == "PRICE_FILTER":
                    price = flt
                elif flt.get("filter_type") == "LOT_SIZE":
                    lot = flt
            instruments[symbol] = Instrument(
                symbol=symbol,
                tick_size=bound(price.get("tick_size"), "tick_size"),
                min_price=bound(price.get("min_price"), "min_price"),
                max_price=bound(price.get("max_price"), "max_price"),
                lot_size=bound(lot.get("tick_size"), "lot tick_size"),
                min_quantity=bound(lot.get("min_qty"), "min_qty"),
                max_quantity=bound(lot.get("max_qty"), "max_qty"),
            )
        return instruments
    except _PARSE_ERRORS as exc:
        raise _malformed("bad /pairs result", exc) from None


def _side(value: object) -> OrderSide | None:
    return OrderSide(value) if value in ("BUY", "SELL") else None


def _filled(order: dict[str, Any]) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(quantity, remaining, filled); filled prefers ``qty_filled`` else orig - remaining."""
    quantity = _opt_dec(order.get("qty_orig"), "qty_orig")
    remaining = _opt_dec(order.get("qty_remaining"), "qty_remaining")
    filled = _opt_dec(order.get("qty_filled"), "qty_filled")
    if filled is None and quantity is not None and remaining is not None:
        filled = max(quantity - remaining, Decimal(0))
    return quantity, remaining, filled


def _describe(status: OrderStatus, order: dict[str, Any], venue_msg: str) -> str:
    quantity, remaining, filled = _filled(order)
    trigger = order.get("trigger_price")
    event = order.get("trigger_event") or "MARK_PRICE"
    detail = f" ({venue_msg})" if venue_msg else ""
    if status is OrderStatus.ACK:
        return "Everstrike accepted the close; it is working."
    if status is OrderStatus.TRIGGER_ACK:
        return f"Trigger close resting: it fires when {event} reaches {trigger}."
    if status is OrderStatus.TRIGGERED:
        return "Trigger fired: the close order is now in the book."
    if status is OrderStatus.PARTIAL:
        left = f", {remaining} left" if remaining is not None else ""
        return f"Partly filled: {filled} of {quantity}{left}."
    if status is OrderStatus.FILLED:
        return "Filled." if quantity is None else f"Filled {quantity}."
    if status is OrderStatus.CANCELLED:
        return f"Cancelled{detail}."
    if status is OrderStatus.REJECTED:
        return f"Rejected by Everstrike{detail or ' (no reason given)'}."
    return f"Everstrike reported a status we do not know{detail}; check the order at the venue."


def _update(
    order: dict[str, Any],
    account: str,
    status: OrderStatus,
    raw_status: str,
    final: bool,
    pair: str | None,
) -> OrderUpdate:
    symbol = _opt_str(order.get("pair")) or pair
    if symbol is None:
        raise _Bad("order has no pair")
    quantity, remaining, filled = _filled(order)
    raw_time = order.get("time")
    venue_time = None
    if raw_time is not None:
        venue_time = float(_int(raw_time, "order time")) / 1000.0  # a timestamp, not money
    venue_msg = order.get("msg")
    return OrderUpdate(
        venue=VENUE,
        account=account,
        symbol=symbol,
        status=status,
        raw_status=raw_status,
        final=final,
        order_id=_str(order.get("id"), "order id"),
        side=_side(order.get("side")),
        order_type=_opt_str(order.get("type")),
        time_in_force=_opt_str(order.get("time_in_force")),
        quantity=quantity,
        remaining=remaining,
        filled=filled,
        price=_opt_dec(order.get("price"), "price"),
        trigger_price=_opt_dec(order.get("trigger_price"), "trigger_price"),
        message=_describe(status, order, venue_msg if isinstance(venue_msg, str) else ""),
        venue_time=venue_time,
    )


def _status_of(order: dict[str, Any]) -> tuple[OrderStatus, bool]:
    """Normalise an order object's own ``status`` (REST replies and order lookups)."""
    raw = order.get("status")
    _, _, filled = _filled(order)
    has_fill = filled is not None and filled > 0
    if raw == "UNTRIGGERED":
        return OrderStatus.TRIGGER_ACK, False
    if raw in ("ACTIVE", "PENDING"):
        if has_fill:
            return OrderStatus.PARTIAL, False
        # A freshly placed trigger close may be reported ACTIVE with its trigger fields set.
        if order.get("trigger_price") is not None and raw == "ACTIVE" and not order.get("fills"):
            return OrderStatus.TRIGGER_ACK, False
        return OrderStatus.ACK, False
    if raw == "COMPLETED":
        return OrderStatus.FILLED, True
    if raw == "CANCELLED":
        return (OrderStatus.PARTIAL if has_fill else OrderStatus.CANCELLED), True
    if raw == "REJECTED":
        return OrderStatus.REJECTED, True
    return OrderStatus.UNKNOWN, False


def parse_order(obj: object, account: str, pair: str | None = None) -> OrderUpdate:
    """An order object (``/auth/close`` reply, ``/order``) normalised by its ``status``."""
    try:
        order = _obj(obj, "order")
        normalised, final = _status_of(order)
        raw = order.get("status")
        return _update(order, account, normalised, raw if isinstance(raw, str) else "", final, pair)
    except _PARSE_ERRORS as exc:
        raise _malformed("bad order", exc) from None


# --------------------------------------------------------------------------- working orders


def _trigger_event(value: object) -> TriggerEvent | None:
    try:
        return TriggerEvent(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _resting_kind(
    order: dict[str, Any], status: object, *, fresh: bool = False
) -> WorkingKind | None:
    """Whether an order rests at the venue, and as what.

    UNTRIGGERED is a trigger waiting for its price. ACTIVE (or PENDING) is in the book: a
    reduce-only LIMIT that is not IOC/FOK rests there, so a triggered stop-limit rests as a limit.
    ``fresh``: an ``/auth/close`` reply reported ACTIVE with trigger fields and no fill is still
    a trigger (the same assumption as :func:`_status_of`). ``reduce_only`` absent counts as
    reduce-only: hiding a resting order is worse than showing one too many.
    """
    if status == "UNTRIGGERED":
        return WorkingKind.TRIGGER
    if status not in ("ACTIVE", "PENDING"):
        return None
    _, _, filled = _filled(order)
    if (
        fresh
        and order.get("trigger_price") is not None
        and not order.get("fills")
        and not (filled is not None and filled > 0)
    ):
        return WorkingKind.TRIGGER
    if order.get("time_in_force") in ("IOC", "FOK") or order.get("type") == "MARKET":
        return None
    price = _opt_dec(order.get("price"), "price")
    if price is None or price <= 0 or order.get("reduce_only") is False:
        return None
    return WorkingKind.LIMIT


def _working(
    order: dict[str, Any], account: str, pair: str | None, kind: WorkingKind, raw_status: str
) -> WorkingOrder:
    update = _update(order, account, OrderStatus.ACK, raw_status, False, pair)
    if update.order_id is None:  # _update requires one; this only narrows the type
        raise _Bad("order has no id")
    price = update.price
    if kind is WorkingKind.TRIGGER and (order.get("type") == "MARKET" or not price or price <= 0):
        price = None  # a market trigger: no limit price once it fires
    return WorkingOrder(
        venue=VENUE,
        account=account,
        symbol=update.symbol,
        order_id=update.order_id,
        kind=kind,
        side=update.side,
        quantity=update.quantity,
        remaining=update.remaining,
        price=price,
        trigger_price=update.trigger_price if kind is WorkingKind.TRIGGER else None,
        trigger_event=_trigger_event(order.get("trigger_event")),
        order_type=update.order_type or "",
        reduce_only=order.get("reduce_only") is not False,
        close_on_trigger=order.get("close_on_trigger") is True,
        raw_status=raw_status,
        venue_time=update.venue_time,
    )


def working_order(
    obj: object, account: str, pair: str | None = None, *, fresh: bool = False
) -> WorkingOrder | None:
    """The order as a working (resting) order, or None when it does not rest."""
    try:
        order = _obj(obj, "order")
        status = order.get("status")
        kind = _resting_kind(order, status, fresh=fresh)
        if kind is None:
            return None
        return _working(order, account, pair, kind, status if isinstance(status, str) else "")
    except _PARSE_ERRORS as exc:
        raise _malformed("bad order", exc) from None


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order from a listing: its normalised state plus what reconciliation matches on."""

    update: OrderUpdate
    status: str
    time_ms: int | None  # ``time``: the order's LAST update, not its creation (E-DOCS)
    reduce_only: bool | None
    limit_price: Decimal | None  # ``price_orig`` if given, else ``price``; None for MARKET
    working: WorkingOrder | None


def _listing(result: object, what: str) -> list[dict[str, Any]]:
    """An order listing is an array (E-DOCS); an object keyed by id is tolerated."""
    if isinstance(result, list):
        items: list[object] = result
    elif isinstance(result, dict):
        items = list(result.values())
    elif result is None:
        items = []
    else:
        raise _Bad(f"{what} result is not a list")
    return [_obj(item, f"{what} entry") for item in items]


def _venue_order(order: dict[str, Any], account: str) -> VenueOrder:
    normalised, final = _status_of(order)
    raw = order.get("status")
    status = raw if isinstance(raw, str) else ""
    update = _update(order, account, normalised, status, final, None)
    raw_time = order.get("time")
    time_ms = None if raw_time is None else _int(raw_time, "order time")
    reduce_only = order.get("reduce_only")
    limit = _opt_dec(order.get("price_orig", order.get("price")), "price_orig")
    if order.get("type") == "MARKET":
        limit = None
    kind = _resting_kind(order, raw)
    return VenueOrder(
        update=update,
        status=status,
        time_ms=time_ms,
        reduce_only=reduce_only if isinstance(reduce_only, bool) else None,
        limit_price=limit,
        working=None if kind is None else _working(order, account, None, kind, status),
    )


def parse_order_list(result: object, account: str) -> list[VenueOrder]:
    """``GET /orders``, ``/active_orders`` or ``/triggers``. One bad entry spoils the listing:
    a partial list would read as "those orders are gone"."""
    try:
        return [_venue_order(order, account) for order in _listing(result, "order list")]
    except _PARSE_ERRORS as exc:
        raise _malformed("bad order list", exc) from None


def parse_working_orders(
    active_orders: object, triggers: object, account: str
) -> tuple[WorkingOrder, ...]:
    """Every resting order: ACTIVE reduce-only limits from ``/active_orders`` and UNTRIGGERED
    triggers from ``/triggers`` (VENUES §2.9 #7: ``/active_orders`` most likely omits them)."""
    seen: dict[str, WorkingOrder] = {}
    for listing in (active_orders, triggers):
        for order in parse_order_list(listing, account):
            working = order.working
            if working is not None and working.order_id not in seen:
                seen[working.order_id] = working
    return tuple(seen.values())


def match_close(
    orders: Sequence[VenueOrder],
    request: CloseRequest,
    sent_ms: int,
    *,
    slack_ms: int = 2000,
    claimed: Collection[str] = (),
) -> VenueOrder | None:
    """Find the order a close became, when its reply was lost.

    Everstrike has no client order id, so this is a heuristic on what we know: the pair, the
    closing side, reduce-only, the quantity (partial closes only: a full close is sized by the
    venue), the limit and trigger prices, and a venue time no earlier than our send time less
    ``slack_ms`` (clock error). Orders already known to be another close of ours (``claimed``)
    are skipped. Several candidates: the one whose last update is nearest our send time.
    """
    trigger = request.trigger
    best: VenueOrder | None = None
    for order in orders:
        update = order.update
        if update.order_id in claimed or update.symbol != request.key.symbol:
            continue
        if update.side is not request.order_side or order.reduce_only is False:
            continue
        if order.time_ms is None or order.time_ms < sent_ms - slack_ms:
            continue
        if request.quantity is not None and update.quantity != request.quantity:
            continue
        if trigger is not None:
            if update.trigger_price != trigger.price:
                continue
        elif update.trigger_price is not None:
            continue
        if request.limit_price is not None:
            if order.limit_price != request.limit_price:
                continue
        elif trigger is None and update.order_type == "LIMIT":
            continue
        if best is None or abs(order.time_ms - sent_ms) < abs((best.time_ms or 0) - sent_ms):
            best = order
    return best


def parse_close_reply(
    result: object, account: str, pair: str | None = None
) -> list[OrderUpdate | Position | PositionRemoved | WorkingOrder]:
    """The ``/auth/close`` result ``{order, balances, position}``: the order's state (and the
    order as a working order if it rests), then the position it left (the position object
    carries no pair, so the order's or ``pair`` is used)."""
    try:
        data = _obj(result, "close result")
        events: list[OrderUpdate | Position | PositionRemoved | WorkingOrder] = []
        symbol = pair
        order = data.get("order")
        if order is not None:
            update = parse_order(order, account, pair)
            events.append(update)
            symbol = update.symbol
            working = working_order(order, account, pair, fresh=True)
            if working is not None:
                events.append(working)
        position = data.get("position")
        if isinstance(position, dict) and position:
            where = _opt_str(position.get("pair")) or symbol
            if where is None:
                raise _Bad("position has no pair")
            events.append(parse_position(position, account, where))
        elif position is not None and not isinstance(position, dict):
            raise _Bad("position is not an object")
        return events
    except MalformedReply:
        raise
    except _PARSE_ERRORS as exc:
        raise _malformed("bad /auth/close result", exc) from None


# --------------------------------------------------------------------------- WS parser


@dataclass(frozen=True, slots=True)
class ControlEvent:
    """A WS control message; the session acts on these and never shows them as trades."""

    msg: str = ""
    result: object = None


class Authenticated(ControlEvent):
    __slots__ = ()


class Subscribed(ControlEvent):
    __slots__ = ()


class Unsubscribed(ControlEvent):
    __slots__ = ()


class Subscriptions(ControlEvent):
    __slots__ = ()


class StatusOk(ControlEvent):
    """The reply to the ``status`` keep-alive."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class WsError:
    """Category ``error``: the venue refused something we sent (auth, a subscription)."""

    message: str
    code: int | None = None


WsEvent = (
    ControlEvent
    | WsError
    | OrderUpdate
    | Position
    | PositionRemoved
    | MarkUpdate
    | ProtocolError
    | WorkingOrder
    | WorkingOrderRemoved
)

_CONTROL: Final[Mapping[str, type[ControlEvent]]] = MappingProxyType(
    {
        "authenticated": Authenticated,
        "subscribed": Subscribed,
        "unsubscribed": Unsubscribed,
        "subscriptions": Subscriptions,
        "ok": StatusOk,
    }
)

# category -> (status, final); the app-level mapping of VENUES.md §3.
_ORDER_CATEGORIES: Final[Mapping[str, tuple[OrderStatus, bool]]] = MappingProxyType(
    {
        "order_added": (OrderStatus.ACK, False),
        "order_partially_completed": (OrderStatus.PARTIAL, False),
        "order_completed": (OrderStatus.FILLED, True),
        "order_cancelled": (OrderStatus.CANCELLED, True),
        "order_triggered": (OrderStatus.TRIGGERED, False),
        "trigger_added": (OrderStatus.TRIGGER_ACK, False),
        "trigger_cancelled": (OrderStatus.CANCELLED, True),
        "trigger_failed": (OrderStatus.REJECTED, True),
    }
)

# Documented categories we neither subscribe to nor need: accepted and dropped.
_IGNORED: Final = frozenset(
    {
        "depth",
        "ticker",
        "ohlcv",
        "match",
        "trades",
        "liquidation",
        "deposit_added",
        "deposit_completed",
        "withdrawal_completed",
    }
)


# category -> why the order stops working; the order's own status cannot say (it may lag).
_REMOVED: Final[Mapping[str, str]] = MappingProxyType(
    {
        "order_completed": "filled",
        "order_cancelled": "cancelled",
        "trigger_cancelled": "cancelled",
        "trigger_failed": "rejected",
        "order_triggered": "triggered",
    }
)


def _ws_order(
    category: str, result: dict[str, Any], account: str, pair: str | None
) -> list[WsEvent]:
    """The OrderUpdate, then what it does to the working orders: resting -> upsert; filled,
    cancelled, failed or triggered -> removed (a triggered order that rests is upserted anew as
    a limit). The category, not the object's ``status``, says what happened."""
    order = _obj(result.get("order", result), "order")
    status, final = _ORDER_CATEGORIES[category]
    if category == "order_cancelled":
        _, _, filled = _filled(order)
        if filled is not None and filled > 0:
            status = OrderStatus.PARTIAL  # partly filled, the rest cancelled: final
    update = _update(order, account, status, category, final, pair)
    if update.order_id is None:  # _update requires one; this only narrows the type
        raise _Bad("order has no id")
    events: list[WsEvent] = [update]
    reason = _REMOVED.get(category)
    if reason is not None:
        events.append(WorkingOrderRemoved(VENUE, account, update.order_id, reason))
    if category == "trigger_added":
        state: object = "UNTRIGGERED"
    elif category == "order_added" and order.get("status") in ("PENDING", "UNTRIGGERED"):
        state = order.get("status")
    elif category in ("order_added", "order_partially_completed", "order_triggered"):
        state = "ACTIVE"
    else:
        return events
    kind = _resting_kind(order, state)
    if kind is not None:
        events.append(_working(order, account, pair, kind, category))
    return events


def _ws_position(
    category: str, result: object, account: str, pair: str | None
) -> Position | PositionRemoved:
    """UNKNOWN shape: accept the position itself or ``{"position": {...}}``; the pair comes from
    the object, else from the envelope."""
    data = _obj(result, f"{category} result")
    inner = data.get("position")
    position = inner if isinstance(inner, dict) else data
    symbol = _opt_str(position.get("pair")) or _opt_str(data.get("pair")) or pair
    if symbol is None:
        raise _Bad(f"{category} carries no pair")
    if category == "position_closed":
        return PositionRemoved(key=PositionKey(account=account, venue=VENUE, symbol=symbol))
    return parse_position(position, account, symbol)


def _ws_mark(result: object, pair: str | None) -> MarkUpdate:
    data = _obj(result, "index result")
    symbol = pair or _opt_str(data.get("pair"))
    if symbol is None:
        raise _Bad("index update carries no pair")
    return MarkUpdate(
        venue=VENUE,
        symbol=symbol,
        mark=_dec(data.get("mark"), "mark"),
        index=_opt_dec(data.get("index"), "index"),
    )


def parse_ws(text: str | bytes, account: str) -> list[WsEvent]:
    """One WS frame to events. Never raises: anything bad becomes a ProtocolError event."""

    def bad(message: str, code: str = "malformed") -> list[WsEvent]:
        raw = text if isinstance(text, str) else text.decode("utf-8", "replace")
        return [ProtocolError(VENUE, account, message, raw=_truncate(raw), code=code)]

    try:
        data = loads(text)
    except (ValueError, RecursionError):
        return bad("Everstrike sent a frame that is not JSON")
    if not isinstance(data, dict):
        return bad("Everstrike sent a frame that is not a JSON object")
    category = data.get("category")
    raw_msg = data.get("msg")
    msg = raw_msg if isinstance(raw_msg, str) else ""
    pair = _opt_str(data.get("pair"))
    if pair == "null":
        pair = None
    try:
        code = None if data.get("code") is None else _int(data.get("code"), "code")
    except _PARSE_ERRORS:
        return bad("Everstrike sent a frame with a non-integer code")
    if not isinstance(category, str):
        return bad("Everstrike sent a frame without a category")
    if category == "error" or (code is not None and code != 200):
        return [WsError(message=msg or f"error {code}", code=code)]
    result = data.get("result")
    try:
        if category in _CONTROL:
            return [_CONTROL[category](msg=msg, result=result)]
        if category == "index":
            return [_ws_mark(result, pair)]
        if category in _ORDER_CATEGORIES:
            return _ws_order(category, _obj(result, f"{category} result"), account, pair)
        if category in ("position_updated", "position_closed"):
            return [_ws_position(category, result, account, pair)]
        if category in _IGNORED:
            return []
    except _PARSE_ERRORS as exc:
        detail = str(exc) if isinstance(exc, _Bad) else type(exc).__name__
        return bad(f"Everstrike sent a bad {category} event: {_truncate(detail)}")
    return bad(f"Everstrike sent an unknown category {category[:60]!r}", code="unknown_category")
