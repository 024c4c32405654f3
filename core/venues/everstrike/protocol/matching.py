"""Finding the order a close became when its reply was lost: the venue has no client order
id, so a close is matched on what it asked for."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from core.model import CloseRequest
from core.venues.everstrike.protocol.listings import VenueOrder


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
