"""Whether an order rests at the venue (a reduce-only limit in the book, or a trigger
waiting for its price), and the ``WorkingOrder`` it is then."""

from __future__ import annotations

from typing import Any

from core.model import OrderStatus, TriggerEvent, WorkingKind, WorkingOrder
from core.venues.everstrike.protocol.envelope import _malformed
from core.venues.everstrike.protocol.facts import VENUE
from core.venues.everstrike.protocol.fields import _PARSE_ERRORS, _Bad, _obj, _opt_dec
from core.venues.everstrike.protocol.order import _filled, _update


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
