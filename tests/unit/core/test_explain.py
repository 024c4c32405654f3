"""Each venue refusal maps to a cause and a next step in plain words; a cancelled order is
explained for that order (its type, time in force and how it ended)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

import core.explain as explain_module
from core.explain import Explanation, OrderContext, explain, explain_cancel

D = Decimal

REFUSALS = [
    ("REJECTED", "no open position in AAPL-USD", "already_flat", "already flat", "Nothing to do"),
    ("503", "Invalid request: no position", "already_flat", "already flat", "Nothing to do"),
    ("REJECTED", "reduce-only order would increase the position", "would_increase",
     "increased the position", "Refresh"),
    ("QUANTITY_LESS_THAN_MIN_QUANTITY", "", "below_minimum", "below the venue's minimum",
     "close the whole position"),
    ("INVALID_TICK_SIZE_PRECISION_PRICE", "", "tick_precision", "tick size", "Round the price"),
    ("414", "The timestamp is too old.", "clock_skew", "clock is off", "re-synchronised"),
    ("408", "", "clock_skew", "clock is off", "NTP"),
    ("RATE_LIMITED", "", "rate_limited", "rate-limiting", "resent nothing"),
    ("RateLimited", "Rate limit exceeded, retry after 250ms", "rate_limited", "rate-limiting",
     "wait"),
    ("429", "You have done that too much recently.", "rate_limited", "rate-limiting", "wait"),
    ("REJECTED_MARKET_CLOSED", "", "market_closed", "market is closed", "Wait for the open"),
    ("FAILED_MARGIN_CHECK", "", "margin", "margin check failed", "Cancel resting orders"),
    ("trigger_failed", "Order was rejected due to insufficient balance", "margin",
     "margin check failed", "close a smaller"),
    ("401", "Invalid API key", "auth", "API key", "Accounts"),
    ("503", "Invalid request", "venue_generic", "without giving a reason", "Check the position"),
    ("QUANTITY_GREATER_THAN_MAX_QUANTITY", "", "above_maximum", "above the venue's maximum",
     "in parts"),
    ("INVALID_TICK_SIZE_PRECISION_QUANTITY", "", "lot_precision", "lot size",
     "Round the quantity"),
    ("PRICE_GREATER_THAN_MAX_PRICE", "", "price_band", "outside the venue's allowed band",
     "nearer the mark"),
    ("500", "", "venue_error", "internal error", "it may have run"),
    ("INVALID_STOPLOSS_PRICE", "", "trigger_side", "wrong side of the mark", "Check the trigger"),
    ("CANCELLED_STP", "", "self_trade", "self-trade prevention", "Cancel your own"),
    ("REJECTED_TOO_MANY_OPEN_ORDERS", "", "too_many_orders", "too many open orders",
     "Cancel some"),
    ("KycRequired", "", "account_blocked", "not cleared to trade", "account checks"),
    ("REJECTED", "", "no_reason", "without giving a reason", "side and size"),
]


@pytest.mark.parametrize(("raw", "message", "category", "cause", "step"), REFUSALS)
def test_each_refusal_has_a_cause_and_a_next_step(
    raw: str, message: str, category: str, cause: str, step: str
) -> None:
    found = explain(raw, message)
    assert found is not None
    assert found.category == category
    assert cause in found.cause
    assert step in found.next_step
    assert found.text().startswith(found.cause)


def test_nothing_to_add_is_none() -> None:
    assert explain("ACK", "Accepted") is None
    assert explain("REJECTED", "something new") is None


@pytest.mark.parametrize("message", ["", "Rejected by the venue"])
def test_a_bare_rejection_still_gets_a_next_step(message: str) -> None:
    found = explain("REJECTED", message)
    assert found is not None
    assert found.category == "no_reason"
    assert "side and size" in found.next_step


# --------------------------------------------------------------------------- every explanation

GTC_LIMIT = OrderContext(order_type="LIMIT", time_in_force="GTC")
CANCELS = [
    # (raw status, venue message, the order as the desk knows it, category, words it must say)
    ("CANCELLED", "Cancelled", replace(GTC_LIMIT, cancel_requested=True), "cancelled_by_you",
     "the GTC limit close is off the book"),
    ("order_cancelled", "Cancelled.", GTC_LIMIT, "cancelled_by_venue",
     "Cancelled by the venue, not by you: the GTC limit close"),
    ("CANCELLED", "Cancelled", replace(GTC_LIMIT, position_open=False),
     "cancelled_position_closed", "reduce-only GTC limit close had nothing left"),
    ("CANCELLED", "Cancelled", OrderContext(order_type="LIMIT", time_in_force="IOC",
                                            filled=D(3)),
     "ioc_remainder", "This IOC limit close takes what it can at once"),
    ("CANCELLED", "Cancelled", OrderContext(order_type="MARKET", time_in_force="IOC"),
     "ioc_remainder", "nothing filled at once"),
    ("trigger_cancelled", "Cancelled.", OrderContext(order_type="MARKET", time_in_force="IOC",
                                                     trigger=True, cancel_requested=True),
     "cancelled_by_you", "the trigger close is off the book"),
    ("CANCELLED", "Cancelled", OrderContext(order_type="STOP_LOSS", trigger=True,
                                            position_open=False),
     "cancelled_position_closed", "reduce-only trigger close"),
    ("CANCELLED_STP", "Cancelled by self-trade prevention", GTC_LIMIT, "self_trade",
     "self-trade prevention"),
]
CANCEL_IDS = [f"{c[3]}-{c[2].words().replace(' ', '-')}" for c in CANCELS]


@pytest.mark.parametrize(("raw", "message", "order", "category", "says"), CANCELS,
                         ids=CANCEL_IDS)
def test_a_cancellation_is_explained_for_its_order(
    raw: str, message: str, order: OrderContext, category: str, says: str
) -> None:
    found = explain_cancel(raw, message, order)
    assert found.category == category
    assert says in found.cause
    assert found.next_step
    assert "{" not in found.text()  # every slot filled


@pytest.mark.parametrize("why", [dict(cancel_requested=True), dict(position_open=False), {}],
                         ids=["by-you", "position-closed", "by-venue"])
def test_a_cancelled_gtc_limit_is_never_called_an_ioc(why: dict[str, bool]) -> None:
    found = explain_cancel("CANCELLED", "Cancelled", replace(GTC_LIMIT, **why))
    assert "IOC" not in found.text() and found.category != "ioc_remainder"


def test_every_explanation_is_selected_by_some_order_or_refusal() -> None:
    """Each explanation in core.explain has a case above (or here) that selects it, so none is
    dead or untested; a new one fails this until it gets its case."""
    every = {v.category for v in vars(explain_module).values() if isinstance(v, Explanation)}
    selected = {explain(raw, message).category  # type: ignore[union-attr]
                for raw, message, *_ in REFUSALS}
    selected |= {explain_cancel(raw, message, order).category
                 for raw, message, order, *_ in CANCELS}
    assert every == selected, sorted(every - selected)
