"""One WebSocket frame to events, by its category. Never raises: a bad frame becomes a
``ProtocolError`` event, so the reader cannot die on venue data."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from core.bounds import UnreadableJson
from core.model import (
    MarkUpdate,
    OrderStatus,
    Position,
    PositionKey,
    PositionRemoved,
    ProtocolError,
    WorkingOrderRemoved,
)
from core.venues.everstrike.protocol.codec import loads
from core.venues.everstrike.protocol.facts import VENUE
from core.venues.everstrike.protocol.fields import (
    _PARSE_ERRORS,
    _Bad,
    _dec,
    _int,
    _obj,
    _opt_dec,
    _opt_str,
    _truncate,
)
from core.venues.everstrike.protocol.order import _filled, _update
from core.venues.everstrike.protocol.positions import _position
from core.venues.everstrike.protocol.working import _resting_kind, _working
from core.venues.everstrike.protocol.ws_events import (
    Authenticated,
    ControlEvent,
    StatusOk,
    Subscribed,
    Subscriptions,
    Unsubscribed,
    WsError,
    WsEvent,
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
    return _position(position, account, symbol)


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
    except UnreadableJson as exc:
        return bad(f"Everstrike sent a frame that is not readable JSON ({exc.reason})")
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
