"""A cancelled order's message says why it ended, for that order: the desk knows which cancels
it asked for, the close that placed the order, and whether the position is still open."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.desk import Desk
from core.desk.endings import CancelsAsked, order_context
from core.journal import Journal
from core.model import (
    CloseRequest,
    OrderStatus,
    OrderUpdate,
    PositionRemoved,
    PositionSide,
    TimeInForce,
    Trigger,
    TriggerEvent,
)
from tests.helpers.fakes import position, working
from tests.unit.core.desk.test_desk import KEY, journal, make_desk  # noqa: F401

D = Decimal


def cancelled(order_id: str, *, order_type: str | None = "LIMIT", tif: str | None = "GTC",
              client_id: str | None = None, filled: str = "0") -> OrderUpdate:
    return OrderUpdate(KEY.venue, KEY.account, KEY.symbol, OrderStatus.CANCELLED, "CANCELLED",
                       True, order_id=order_id, client_order_id=client_id,
                       order_type=order_type, time_in_force=tif, filled=D(filled),
                       message="Cancelled")


async def said(desk: Desk, session_sink: object, update: OrderUpdate) -> str:
    heard: list[OrderUpdate] = []
    desk.subscribe(lambda e: heard.append(e) if isinstance(e, OrderUpdate) else None)
    session_sink(update)  # type: ignore[operator]
    await desk.journaled()
    [shown] = heard
    return shown.message


@pytest.mark.asyncio
async def test_a_gtc_limit_the_user_cancelled_says_so(journal: Journal) -> None:  # noqa: F811
    desk, session = await make_desk(journal, position(), orders=(working("w-1"),))
    await desk.cancel(working("w-1"), reason="tidy up")
    message = await said(desk, session.sink, cancelled("w-1"))
    assert message.startswith("Cancelled at your request: the GTC limit close is off the book")
    assert "IOC" not in message
    [record] = [r for r in journal.records(limit=1000) if r.kind == "order_update"]
    assert "Cancelled at your request" in record.payload  # the journal has the same words


@pytest.mark.asyncio
async def test_a_gtc_limit_the_venue_cancelled_says_it_was_not_you(
    journal: Journal,  # noqa: F811
) -> None:
    desk, session = await make_desk(journal, position(), orders=(working("w-1"),))
    message = await said(desk, session.sink, cancelled("w-1"))
    assert message.startswith("Cancelled by the venue, not by you: the GTC limit close")


@pytest.mark.asyncio
async def test_a_resting_close_dropped_because_the_position_closed(
    journal: Journal,  # noqa: F811
) -> None:
    desk, session = await make_desk(journal, position(), orders=(working("w-1"),))
    session.sink(PositionRemoved(KEY))
    message = await said(desk, session.sink, cancelled("w-1"))
    assert message.startswith("Cancelled by the venue because the position is closed")


@pytest.mark.asyncio
async def test_the_rest_of_an_ioc_close_is_the_ioc_remainder(journal: Journal) -> None:  # noqa: F811
    """QFEX's full close is a LIMIT IOC the venue chose: the update's own type and time in
    force say so, though the request was "at market"."""
    desk, session = await make_desk(journal, position())
    intent = await desk.close(CloseRequest(KEY, PositionSide.LONG, D(10)))
    update = cancelled("o-9", tif="IOC", client_id=intent.request.client_order_id, filled="4")
    message = await said(desk, session.sink, update)
    assert message.startswith("This IOC limit close takes what it can at once")
    assert "4 filled" in message


def test_the_close_fills_in_what_the_update_leaves_out() -> None:
    request = CloseRequest(KEY, PositionSide.LONG, D(10), limit_price=D(120),
                           time_in_force=TimeInForce.GTC)
    bare = cancelled("o-1", order_type=None, tif=None)
    context = order_context(bare, request, cancel_requested=False, position_open=True)
    assert (context.order_type, context.time_in_force, context.trigger) == ("LIMIT", "GTC", False)
    stop = CloseRequest(KEY, PositionSide.LONG, D(10), trigger=Trigger(D(90), TriggerEvent.MARK))
    context = order_context(bare, stop, cancel_requested=True, position_open=True)
    assert context.trigger and context.words() == "trigger close"
    alone = order_context(bare, None, cancel_requested=False, position_open=False)
    assert (alone.order_type, alone.words()) == ("", "close")


def test_cancels_asked_are_remembered_within_bounds() -> None:
    asked = CancelsAsked(memory=2)
    for order_id in ("a", "b", "c"):
        asked.add("acct", order_id)
    assert ("acct", "a") not in asked
    assert ("acct", "b") in asked and ("acct", "c") in asked
    assert ("other", "c") not in asked
