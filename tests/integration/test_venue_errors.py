"""Every documented venue status and error, end to end: the simulator answers with it, and the
user sees a plain-language reason (on the close intent, which drives the row and the log line)
while the positions book stays exactly as the venue has it.

The expected words are this test's own, written from the venue documentation, not copied from
the client's message tables.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from core.desk import CloseIntent, IntentState
from core.model import CloseRequest, OrderStatus, OrderUpdate, PositionSide, Trigger
from core.venue import CloseRejected
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from tests.helpers.polling import until
from tests.integration.conftest import Rig

D = Decimal

# VENUES.md §1.8: each rejection status and words its plain message must contain.
QFEX_STATUSES: dict[str, str] = {
    "REJECTED": r"reject",
    "NO_SUCH_ORDER": r"no such order",
    "BAD_SYMBOL": r"symbol",
    "INVALID_ORDER_TYPE": r"order type",
    "PRICE_LESS_THAN_MIN_PRICE": r"below .*minimum",
    "PRICE_GREATER_THAN_MAX_PRICE": r"above .*maximum",
    "CANNOT_MODIFY_PARTIAL_FILL": r"partly filled",
    "FAILED_MARGIN_CHECK": r"margin",
    "INVALID_TICK_SIZE_PRECISION_PRICE": r"tick",
    "INVALID_TICK_SIZE_PRECISION_QUANTITY": r"lot",
    "QUANTITY_LESS_THAN_MIN_QUANTITY": r"below .*minimum",
    "QUANTITY_GREATER_THAN_MAX_QUANTITY": r"above .*maximum",
    "INVALID_TIME_IN_FORCE": r"time in force",
    "REJECTED_WOULD_BREACH_MAX_NOTIONAL": r"notional",
    "CANNOT_MODIFY_NO_SUCH_ORDER": r"no such order",
    "REJECTED_MARKET_CLOSED": r"market is closed",
    "REJECTED_FAILED_TO_PROCESS": r"failed to process",
    "INVALID_TAKEPROFIT_PRICE": r"take-profit",
    "INVALID_STOPLOSS_PRICE": r"stop-loss",
    "RATE_LIMITED": r"rate limit",
    "REJECTED_TOO_MANY_OPEN_ORDERS": r"too many open orders",
    "REJECTED_OPEN_INTEREST_LIMIT": r"open.interest",
}

# VENUES.md §1.9 err codes that can answer an order request.
QFEX_ERRORS: dict[str, str] = {
    "RateLimited": r"rate limit",
    "InvalidJSONFormat": r"could not read",
    "InvalidParameter": r"parameter",
    "PermissionDenied": r"permission",
    "ServerError": r"internal error",
    "InvalidOrder": r"refused the order",
    "KycRequired": r"KYC",
    "TncRequired": r"terms and conditions",
}


def book(rig: Rig) -> dict[str, Decimal]:
    return {k.symbol: p.signed_quantity for k, p in rig.desk.positions.items()}


def sim_size(rig: Rig, venue: str, symbol: str) -> Decimal:
    market = rig.sim.qfex.market if venue == "qfex" else rig.sim.everstrike.market
    account = next(k for k in rig.sim.call(lambda: list(market.positions)) if k[1] == symbol)[0]
    return rig.sim.call(lambda: market.position(account, symbol).size)


async def settle(intent: CloseIntent) -> CloseIntent:
    return await intent.settled(timeout=10)


def log_lines(rig: Rig, collected: list[object], intent: CloseIntent) -> list[OrderUpdate]:
    cid = intent.request.client_order_id
    return [e for e in collected if isinstance(e, OrderUpdate) and e.client_order_id == cid]


@pytest.mark.parametrize(("status", "words"), list(QFEX_STATUSES.items()))
@pytest.mark.asyncio
async def test_qfex_status_is_explained_and_the_book_is_unchanged(
    rig: Rig, status: str, words: str
) -> None:
    seen: list[object] = []
    rig.desk.subscribe(seen.append)
    before = book(rig)
    rig.sim.qfex.faults.force_status(status, symbol=rig.qfex.symbol)
    intent = await rig.desk.close(CloseRequest(rig.qfex, PositionSide.LONG, D(40),
                                               quantity=D(5)))
    await settle(intent)
    assert intent.state is IntentState.REJECTED
    assert intent.raw_status == status
    assert re.search(words, intent.message, re.IGNORECASE), intent.message
    (line,) = [u for u in log_lines(rig, seen, intent) if u.raw_status == status]
    assert line.status is OrderStatus.REJECTED and line.message == intent.message
    assert book(rig) == before
    assert sim_size(rig, "qfex", rig.qfex.symbol) == D(40)


@pytest.mark.asyncio
async def test_qfex_self_trade_cancel_is_explained(rig: Rig) -> None:
    rig.sim.qfex.faults.force_status("CANCELLED_STP", symbol=rig.qfex.symbol)
    intent = await rig.desk.close(CloseRequest(rig.qfex, PositionSide.LONG, D(40)))
    await settle(intent)
    assert intent.state is IntentState.CANCELLED
    assert re.search(r"self-trade", intent.message, re.IGNORECASE)
    assert book(rig)[rig.qfex.symbol] == D(40)


@pytest.mark.parametrize(("code", "words"), list(QFEX_ERRORS.items()))
@pytest.mark.asyncio
async def test_qfex_err_frame_is_matched_to_the_close_and_explained(
    rig: Rig, code: str, words: str
) -> None:
    before = book(rig)
    rig.sim.qfex.faults.force_error(code, request_type="add_order")
    intent = await rig.desk.close(CloseRequest(rig.qfex, PositionSide.LONG, D(40),
                                               quantity=D(5)))
    await settle(intent)
    assert intent.state is IntentState.REJECTED
    assert re.search(words, intent.message, re.IGNORECASE), intent.message
    assert book(rig) == before
    closes = rig.sim.requests("qfex", kind="close")
    assert len(closes) == 1  # shown, never retried


@pytest.mark.asyncio
async def test_qfex_close_with_no_position_at_the_venue_is_rejected(rig: Rig) -> None:
    """The book still shows the row (the venue's flat push has not arrived yet)."""
    market = rig.sim.qfex.market
    account = next(k[0] for k in rig.sim.call(lambda: list(market.positions)))
    rig.sim.call(lambda: market.set_position(account, rig.qfex.symbol, D(0), D(0)))
    intent = await rig.desk.close(CloseRequest(rig.qfex, PositionSide.LONG, D(40)))
    await settle(intent)
    assert intent.state is IntentState.REJECTED
    await until(lambda: rig.qfex not in rig.desk.positions, what="the venue's flat push")


# Everstrike: HTTP status -> words of the plain message (VENUES.md §2.7).
ES_HTTP: dict[int, str] = {
    503: r"generic failure",
    429: r"rate limit",
    408: r"clock",
    401: r"key|signature",
    500: r"venue error|internal",
}


@pytest.mark.parametrize(("status", "words"), list(ES_HTTP.items()))
@pytest.mark.asyncio
async def test_everstrike_error_is_explained_and_not_retried(
    rig: Rig, status: int, words: str
) -> None:
    before = book(rig)
    rig.sim.everstrike.faults.force_http(status, path="/auth/close")
    with pytest.raises(CloseRejected) as info:
        await rig.desk.close(CloseRequest(rig.everstrike, PositionSide.SHORT, D("3.5"),
                                          quantity=D(1)))
    assert re.search(words, str(info.value), re.IGNORECASE), str(info.value)
    (intent,) = rig.desk.intents().values()
    assert intent.state is IntentState.REJECTED
    assert intent.message == str(info.value)
    assert book(rig) == before
    assert sim_size(rig, "everstrike", rig.everstrike.symbol) == D("-3.5")
    assert len(rig.sim.requests("everstrike", kind="close")) == 1


@pytest.mark.parametrize(("status", "state"), [("REJECTED", IntentState.REJECTED),
                                               ("CANCELLED", IntentState.CANCELLED)])
@pytest.mark.asyncio
async def test_everstrike_order_refused_in_a_200_reply_shows_the_venue_msg(
    rig: Rig, status: str, state: IntentState
) -> None:
    rig.sim.everstrike.faults.force_order_status(
        status, "Order was rejected due to insufficient balance", pair=rig.everstrike.symbol
    )
    intent = await rig.desk.close(CloseRequest(rig.everstrike, PositionSide.SHORT, D("3.5")))
    await settle(intent)
    assert intent.state is state
    assert "insufficient balance" in intent.message
    assert book(rig)[rig.everstrike.symbol] == D("-3.5")


@pytest.mark.asyncio
async def test_everstrike_trigger_failed_on_firing_is_explained(rig: Rig) -> None:
    intent = await rig.desk.close(CloseRequest(
        rig.everstrike, PositionSide.SHORT, D("3.5"), trigger=Trigger(D(4500))))
    await settle(intent)
    assert intent.state is IntentState.RESTING
    rig.sim.everstrike.faults.fail_next_trigger()
    market = rig.sim.everstrike.market
    rig.sim.call(lambda: market.set_mark(rig.everstrike.symbol, D(4510)))
    await intent.wait(lambda i: i.state is IntentState.REJECTED, timeout=10)
    assert "insufficient balance" in intent.message
    assert book(rig)[rig.everstrike.symbol] == D("-3.5")
    assert (rig.everstrike.account, intent.order_id) not in rig.desk.working_orders


@pytest.mark.asyncio
async def test_malformed_venue_frames_are_logged_and_leave_the_book_alone(rig: Rig) -> None:
    from core.model import ProtocolError

    seen: list[object] = []
    rig.desk.subscribe(seen.append)
    before = book(rig)
    rig.sim.qfex.faults.inject_malformed(1)
    rig.sim.everstrike.faults.inject_malformed(1)
    rig.sim.step()  # the next pushes carry the malformed frames
    await until(lambda: {e.venue for e in seen if isinstance(e, ProtocolError)}
                == {QFEX, EVERSTRIKE}, 10, "a protocol error from each venue")
    assert book(rig) == before
