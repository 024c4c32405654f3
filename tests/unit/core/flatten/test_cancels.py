"""Cancel-first over the real desk with hand-written venue fakes: which orders block a close,
each cancel's exact request, cancelling one at a time until the venue confirms each, and
stopping at the first that fails (so the close is not sent)."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from core.desk import Desk
from core.flatten import CancelFirst, CancelOutcome, blocks_close, cancel_one, order_words
from core.journal import Journal
from core.model import OrderSide, PositionKey, WorkingKind, WorkingOrder
from core.numbers import NumberFormat
from core.venues.qfex import QFEX
from tests.helpers.fakes import World
from tests.unit.core.flatten.test_flatten import make_desk, pos, resting

D = Decimal
KEY = PositionKey("qa", QFEX, "AAPL-USD")


async def desk_with(world: World, journal: Journal | None,
                    orders: list[WorkingOrder]) -> Desk:
    return await make_desk(world, journal, {"qa": [pos("qa", "AAPL-USD", "10")]},
                           orders={"qa": orders})


def cancel_records(journal: Journal) -> list[tuple[str, str | None]]:
    journal.flush()
    return [(r.kind, r.reason) for r in journal.records(limit=10_000)
            if r.kind in ("cancel_intent", "cancel_result")]


def test_which_orders_block_a_close_and_how_they_read() -> None:
    limit = resting("qa", "AAPL-USD", "w1")
    plain = resting("qa", "AAPL-USD", "w2", reduce_only=False)
    trigger = resting("qa", "AAPL-USD", "w3", kind=WorkingKind.TRIGGER, reduce_only=False)
    assert [blocks_close(o) for o in (limit, plain, trigger)] == [True, False, True]
    assert order_words(limit) == "limit SELL 1 @ 120"
    assert order_words(trigger) == "trigger SELL 1 at 90, limit 120"
    market_trigger = WorkingOrder(QFEX, "qa", "AAPL-USD", "w4", WorkingKind.TRIGGER,
                                  OrderSide.BUY, None, trigger_price=D(80))
    assert order_words(market_trigger) == "trigger BUY all at 80"


def test_order_words_follow_the_instruments_lot_and_tick() -> None:
    """Written as the table writes the row: to the lot's and the tick's decimals."""
    fmt = NumberFormat(quantity_places=2, price_places=1)
    limit = resting("qa", "AAPL-USD", "w1")
    trigger = resting("qa", "AAPL-USD", "w3", kind=WorkingKind.TRIGGER)
    assert order_words(limit, fmt) == "limit SELL 1.00 @ 120.0"
    assert order_words(trigger, fmt) == "trigger SELL 1.00 at 90.0, limit 120.0"


@pytest.mark.asyncio
async def test_orders_and_previews_come_from_the_desk(world: World) -> None:
    desk = await desk_with(world, None, [resting("qa", "AAPL-USD", "w2"),
                                         resting("qa", "AAPL-USD", "w1"),
                                         resting("qa", "AAPL-USD", "w3", reduce_only=False),
                                         resting("qa", "TSLA-USD", "w9")])
    first = CancelFirst(desk, KEY)
    assert [o.order_id for o in first.orders()] == ["w1", "w2", "w3"]  # this symbol only
    assert [o.order_id for o in first.blocking()] == ["w1", "w2"]
    assert first.preview(first.orders()[0]) == "CANCEL w1"  # the session's exact request
    assert world.log == []  # looking sends nothing
    await desk.stop()


@pytest.mark.asyncio
async def test_cancels_each_once_in_order_and_journals_each(world: World,
                                                            journal: Journal) -> None:
    desk = await desk_with(world, journal, [resting("qa", "AAPL-USD", "w1"),
                                            resting("qa", "AAPL-USD", "w2")])
    first = CancelFirst(desk, KEY)
    heard: list[str] = []
    done = await first.cancel(first.blocking(), reason="cancel first (test)",
                              on_result=lambda r: heard.append(r.order.order_id))
    assert done.ok and heard == ["w1", "w2"]
    assert [o.order_id for o in done.cancelled] == ["w1", "w2"]
    assert world.log == [("cancel", "w1"), ("cancel", "w2")]  # one each, nothing resent
    assert desk.working_for(KEY) == []
    assert done.then_sent() == "Cancelled 2 working orders, then sent the close"
    assert cancel_records(journal) == [("cancel_intent", "cancel first (test)"),
                                       ("cancel_result", "cancel first (test)")] * 2
    await desk.stop()


@pytest.mark.asyncio
async def test_the_first_failure_stops_and_the_rest_are_untouched(world: World,
                                                                  journal: Journal) -> None:
    desk = await desk_with(world, journal, [resting("qa", "AAPL-USD", "w1"),
                                            resting("qa", "AAPL-USD", "w2"),
                                            resting("qa", "AAPL-USD", "w3")])
    world.sessions["qa"].cancel_fail["w2"] = "the venue did not answer in time"
    first = CancelFirst(desk, KEY)
    done = await first.cancel(first.blocking(), reason=None)
    assert not done.ok
    assert [(r.order.order_id, r.outcome) for r in done.results] == [
        ("w1", CancelOutcome.CANCELLED), ("w2", CancelOutcome.FAILED)]
    assert world.log == [("cancel", "w1"), ("cancel", "w2")]  # w3 was not touched
    assert [o.order_id for o in desk.working_for(KEY)] == ["w2", "w3"]
    assert done.not_sent() == (
        "Cancelling working order w2 (limit SELL 1 @ 120) failed: the venue did not answer in "
        "time. The close was NOT sent; 1 working order had been cancelled before it. Check the "
        "working orders, then try again.")
    journal.flush()
    results = [json.loads(r.payload) for r in journal.records(limit=1000)
               if r.kind == "cancel_result"]
    assert [r["ok"] for r in results] == [True, False]  # the failure is on record
    await desk.stop()


@pytest.mark.asyncio
async def test_an_order_already_gone_is_not_cancelled_again(world: World) -> None:
    w1, w2 = resting("qa", "AAPL-USD", "w1"), resting("qa", "AAPL-USD", "w2")
    desk = await desk_with(world, None, [w1, w2])
    first = CancelFirst(desk, KEY)
    orders = first.blocking()
    world.sessions["qa"].working = (w2,)
    await world.sessions["qa"].refresh_orders()  # w1 filled or went meanwhile
    done = await first.cancel(orders, reason=None)
    assert done.ok
    assert [r.outcome for r in done.results] == [CancelOutcome.ALREADY_GONE,
                                                 CancelOutcome.CANCELLED]
    assert world.log == [("cancel", "w2")]
    assert done.then_sent() == (
        "Cancelled 1 working order (1 more was already gone), then sent the close")
    only_gone = await first.cancel([w1], reason=None)
    assert only_gone.then_sent() == "The 1 working order was already gone; sent the close"
    assert only_gone.done_text() == "The 1 working order was already gone"
    await desk.stop()


@pytest.mark.asyncio
async def test_a_cancel_already_on_its_way_is_joined_not_sent_again(world: World) -> None:
    w1 = resting("qa", "AAPL-USD", "w1")
    desk = await desk_with(world, None, [w1])
    session = world.sessions["qa"]
    session.release.clear()  # the venue holds its answer
    theirs = asyncio.create_task(desk.cancel(w1, reason="Cancel clicked in Working orders"))
    await asyncio.sleep(0)
    assert desk.cancelling(w1)
    ours = asyncio.create_task(cancel_one(desk, w1, reason=None, wait=10))
    await asyncio.sleep(0.01)
    assert not ours.done()
    session.release.set()
    await theirs
    result = await ours
    assert result.outcome is CancelOutcome.CANCELLED
    assert world.log == [("cancel", "w1")]  # one cancel on the wire
    await desk.stop()


@pytest.mark.asyncio
async def test_a_joined_cancel_that_never_ends_fails_after_the_wait(world: World) -> None:
    w1 = resting("qa", "AAPL-USD", "w1")
    desk = await desk_with(world, None, [w1])
    world.sessions["qa"].release.clear()
    theirs = asyncio.create_task(desk.cancel(w1, reason=None))
    await asyncio.sleep(0)
    result = await cancel_one(desk, w1, reason=None, wait=0.05)
    assert result.outcome is CancelOutcome.FAILED
    assert "still working" in result.message
    assert world.log == [("cancel", "w1")]
    world.sessions["qa"].release.set()
    await theirs
    await desk.stop()


@pytest.mark.asyncio
@pytest.mark.parametrize("down", [False, True])
async def test_a_cancel_another_desks_lease_refuses_fails_with_its_words_and_sends_nothing(
    world: World, journal: Journal, down: bool
) -> None:
    from core.desk.coordination import Holder
    from tests.helpers.coordination import FakeCoordinator

    coordinator = FakeCoordinator(down=down,
                                  holders={KEY: Holder("d3", "Desk 3", "maria", "i", 2, 28)})
    desk = await make_desk(world, journal, {"qa": [pos("qa", "AAPL-USD", "10")]},
                           orders={"qa": [resting("qa", "AAPL-USD", "w1")]},
                           coordinator=coordinator)
    try:
        (order,) = desk.working_for(KEY)
        result = await cancel_one(desk, order, reason="cancel first (test)")
        assert result.outcome is CancelOutcome.FAILED
        assert ("cannot be reached" if down else "Desk 3 (maria) is closing this") \
            in result.message
        assert world.log == []  # nothing was sent
        assert desk.working_for(KEY) == [order]
        assert result.refusal is not None  # the close dialog offers the override from it
        done = await CancelFirst(desk, KEY).cancel([order], reason=None)
        assert isinstance(done.refusal, type(result.refusal)) and not done.ok
        assert done.cancelled == () and "refused by the lease" in done.refused_text()
        assert world.log == []
    finally:
        await desk.stop()
