"""The reconciler on its own: it counts every check, tries an unanswered one again, stops once
nothing is Unknown, and never starts again after the desk stopped."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from core.desk.intents import CloseIntent, IntentState
from core.desk.reconcile import Reconciler
from core.model import CloseRequest, PositionKey, PositionSide
from core.venue import ReconnectPolicy, SessionClosed
from core.venues.qfex import QFEX
from tests.helpers.polling import until

KEY = PositionKey("acct", QFEX, "AAPL-USD")
NOW = ReconnectPolicy(initial=0.0, maximum=0.0, jitter=0.0)


class SlowVenue:
    """Answers positions only from the ``answer_from``-th look; records every look."""

    def __init__(self, answer_from: int, *, stopped: bool = False) -> None:
        self.answer_from = answer_from
        self.stopped = stopped
        self.looks = 0
        self.orders = 0

    async def refresh_positions(self) -> None:
        self.looks += 1
        if self.stopped:
            raise SessionClosed("stopped")
        if self.looks < self.answer_from:
            await asyncio.sleep(10)  # longer than the check's timeout

    async def refresh_orders(self) -> None:
        self.orders += 1


def unknown_intent() -> CloseIntent:
    return CloseIntent("i-1", CloseRequest(KEY, PositionSide.LONG, Decimal(5)),
                       state=IntentState.UNKNOWN)


def reconciler(venue: SlowVenue, intent: CloseIntent,
               seen: list[tuple[int, str]]) -> Reconciler:
    def attempt(intents: list[CloseIntent], n: int, why: str) -> None:
        seen.append((n, why))
        for i in intents:
            i.checks, i.check_failed = n, why

    def answered(account: str) -> None:
        if venue.looks >= venue.answer_from:
            intent.state = IntentState.FILLED  # what the fresh positions showed

    return Reconciler(
        session=lambda a: venue if a == "acct" else None,  # type: ignore[return-value,comparison-overlap]
        connected=lambda a: True,
        unknown=lambda a: [intent] if intent.state is IntentState.UNKNOWN else [],
        attempt=attempt, answered=answered, policy=NOW, timeout=0.05)


@pytest.mark.asyncio
async def test_each_unanswered_check_is_counted_and_tried_again_until_the_venue_answers() -> None:
    venue, intent, seen = SlowVenue(answer_from=4), unknown_intent(), []
    r = reconciler(venue, intent, seen)
    r.kick("acct")
    await until(lambda: intent.state is IntentState.FILLED, what="the answer")
    await until(lambda: not r.active(), what="the check to end")
    assert venue.looks == 4
    assert [n for n, why in seen if not why] == [1, 2, 3, 4]
    assert [n for n, why in seen if why] == [1, 2, 3]
    assert all(why == "no answer within 0.05 s" for _, why in seen if why)
    assert intent.checks == 4 and intent.check_failed == ""
    assert venue.orders == 0  # settled by the positions: nothing more to ask


@pytest.mark.asyncio
async def test_nothing_is_checked_after_the_desk_stopped() -> None:
    venue, intent, seen = SlowVenue(answer_from=1_000), unknown_intent(), []
    r = reconciler(venue, intent, seen)
    r.kick("acct")
    await until(lambda: venue.looks >= 1, what="a first look")
    await r.stop()
    assert r.active() == set()
    r.kick("acct")  # a session saying "stopped" afterwards starts nothing
    assert r.active() == set()


@pytest.mark.asyncio
async def test_removing_the_account_ends_its_checks() -> None:
    venue, intent, seen = SlowVenue(answer_from=1, stopped=True), unknown_intent(), []
    r = reconciler(venue, intent, seen)
    r.kick("acct")
    await until(lambda: venue.looks >= 1, what="a look")
    await r.stop("acct")  # the account went; its session had been stopped
    assert r.active() == set() and intent.state is IntentState.UNKNOWN
