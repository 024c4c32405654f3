"""The trade socket's frames to events: orders, fills, positions, stops, replies.

``parse`` never raises: a bad frame becomes a ``core.model.ProtocolError`` event, so the
session's reader cannot die on venue data.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.bounds import in_bounds
from core.model import (
    Fill,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    PositionSide,
)
from core.venues.qfex.protocol.codec import _loads
from core.venues.qfex.protocol.events import (
    Ack,
    Authenticated,
    BalanceUpdate,
    OrdersList,
    QfexEvent,
    QfexProtocolError,
    StopOrder,
    Subscribed,
    Unsubscribed,
)
from core.venues.qfex.protocol.facts import VENUE
from core.venues.qfex.protocol.fields import (
    _dec,
    _echoed,
    _error,
    _list,
    _obj,
    _opt_dec,
    _opt_str,
    _reason,
    _side,
    _str,
    _time,
)
from core.venues.qfex.protocol.refusals import _error_frame
from core.venues.qfex.protocol.statuses import (
    _CANCELLED,
    _IMMEDIATE,
    _STOP_TYPES,
    _WORKING,
    STATUS_TEXT,
)


def _order_update(obj: Mapping[str, Any], account: str) -> OrderUpdate:
    status = _str(obj, "status")
    symbol = _str(obj, "symbol")
    quantity = _opt_dec(obj, "quantity")
    remaining = _opt_dec(obj, "quantity_remaining")
    order_type = _opt_str(obj, "type")
    tif = _opt_str(obj, "time_in_force")
    price = _opt_dec(obj, "price")
    filled = quantity - remaining if quantity is not None and remaining is not None else None
    if filled is not None and not in_bounds(filled):  # two numbers in bounds can differ by more
        raise QfexProtocolError("'quantity' - 'quantity_remaining' is out of range")
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
        realised_pnl=_opt_dec(obj, "realised_pnl"),
    )


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
