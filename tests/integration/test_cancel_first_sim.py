"""Cancel-first before a single close, end to end: the real desk and both real clients against
the simulator on loopback. A reduce-only limit rests; cancel-first cancels it, and only once
the venue has confirmed does the full close go. Evidence comes from the simulator: its order
book and the order in which requests arrived."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.flatten import CancelFirst, CancelOutcome
from core.model import CloseRequest, PositionKey, PositionSide, TimeInForce
from core.sim import Received
from core.sim.market import Market
from tests.helpers.polling import until
from tests.integration.conftest import Rig

D = Decimal


def market(rig: Rig, key: PositionKey) -> Market:
    return rig.sim.qfex.market if key.venue.value == "qfex" else rig.sim.everstrike.market


def concerns(r: Received, order_id: str) -> bool:
    """The request names the order (a QFEX frame's order id, an Everstrike form's ``id``)."""
    return order_id in r.body


@pytest.mark.asyncio
@pytest.mark.parametrize("venue", ["qfex", "everstrike"])
async def test_a_resting_limit_is_cancelled_at_the_venue_before_the_full_close(
    rig: Rig, venue: str
) -> None:
    desk, sim = rig.desk, rig.sim
    key = rig.qfex if venue == "qfex" else rig.everstrike
    pos = desk.positions[key]
    # A reduce-only limit that rests: a sell far above a long's mark, a buy far below a short's.
    limit = D(260) if pos.side is PositionSide.LONG else D(4000)
    tif = TimeInForce.GTC if venue == "qfex" else None  # Everstrike's close takes none
    resting = CloseRequest(key, pos.side, pos.quantity, quantity=D(1), limit_price=limit,
                           time_in_force=tif)
    await (await desk.close(resting)).settled(timeout=10)
    await until(lambda: len(desk.working_for(key)) == 1, 10, "the limit resting on the desk")
    m = market(rig, key)
    account = next(iter({o.account for o in sim.call(lambda: list(m.orders.values()))
                         if o.symbol == key.symbol}))
    assert len(sim.call(lambda: m.open_orders(account, key.symbol))) == 1

    first = CancelFirst(desk, key)
    orders = first.blocking()
    assert [o.order_id for o in orders] == [o.order_id for o in desk.working_for(key)]
    (order,) = orders
    preview = first.preview(order)
    assert order.order_id in preview  # the exact cancel request names the order
    closes_before = len(sim.requests(venue, kind="close"))

    done = await first.cancel(orders, reason="cancel first, before a close (test)")
    assert done.ok and [r.outcome for r in done.results] == [CancelOutcome.CANCELLED]
    assert done.then_sent() == "Cancelled 1 working order, then sent the close"
    # Cancelled at the venue by the time the desk said so, and off the desk's book.
    assert sim.call(lambda: m.open_orders(account, key.symbol)) == []
    assert sim.call(lambda: m.orders[order.order_id].status) == "CANCELLED"
    await until(lambda: desk.working_for(key) == [], 10, "the order gone from the desk")

    live = desk.positions[key]
    intent = await desk.close(CloseRequest(key, live.side, live.quantity))
    await intent.settled(timeout=10)
    await until(lambda: key not in desk.positions, 10, "the position flat on the desk")
    assert sim.call(lambda: m.position(account, key.symbol).size) == 0

    # At the venue: exactly one cancel of the order, answered before the one full close.
    log = sim.requests(venue)
    (cancel,) = [r for r in sim.requests(venue, kind="cancel") if concerns(r, order.order_id)]
    (close,) = sim.requests(venue, kind="close")[closes_before:]
    assert log.index(cancel) < log.index(close)
