"""Order listings (``/orders``, ``/active_orders``, ``/triggers``) to ``VenueOrder``s and
working orders, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.model import OrderUpdate, WorkingOrder
from core.venues.everstrike.protocol.envelope import _malformed
from core.venues.everstrike.protocol.fields import _PARSE_ERRORS, _Bad, _int, _obj, _opt_dec
from core.venues.everstrike.protocol.order import _status_of, _update
from core.venues.everstrike.protocol.working import _resting_kind, _working


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
