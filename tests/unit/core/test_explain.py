"""Issue-5 categories: each venue refusal maps to a cause and a next step in plain words."""

from __future__ import annotations

import pytest

from core.explain import explain


@pytest.mark.parametrize(("raw", "message", "category", "cause", "step"), [
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
])
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
