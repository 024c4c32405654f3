"""An order object to an ``OrderUpdate``: its status normalised, its fill worked out, and a
message a person can read."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.bounds import in_bounds
from core.model import OrderSide, OrderStatus, OrderUpdate
from core.venues.everstrike.protocol.envelope import _malformed
from core.venues.everstrike.protocol.facts import VENUE
from core.venues.everstrike.protocol.fields import (
    _PARSE_ERRORS,
    _Bad,
    _int,
    _obj,
    _opt_dec,
    _opt_str,
    _str,
)


def _side(value: object) -> OrderSide | None:
    return OrderSide(value) if value in ("BUY", "SELL") else None


def _filled(order: dict[str, Any]) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    """(quantity, remaining, filled); filled prefers ``qty_filled`` else orig - remaining."""
    quantity = _opt_dec(order.get("qty_orig"), "qty_orig")
    remaining = _opt_dec(order.get("qty_remaining"), "qty_remaining")
    filled = _opt_dec(order.get("qty_filled"), "qty_filled")
    if filled is None and quantity is not None and remaining is not None:
        filled = max(quantity - remaining, Decimal(0))
        if not in_bounds(filled):  # two numbers in bounds can differ by more
            raise _Bad("qty_orig - qty_remaining is out of range")
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
