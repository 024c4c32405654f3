"""Working orders (resting limit closes and stops), derived from the parsed events, so the
session only keeps the map."""

from __future__ import annotations

from core.model import OrderStatus, OrderUpdate, TriggerEvent, WorkingKind, WorkingOrder
from core.venues.qfex.protocol.events import StopOrder
from core.venues.qfex.protocol.facts import VENUE
from core.venues.qfex.protocol.statuses import _CANCELLED, _STOP_TYPES, _WORKING

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
