"""core.closing.words: what the dialog and the CLI both say about a close."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.closing.rules import FieldError
from core.closing.words import (
    FIELD_LABELS,
    OUTCOME_LABELS,
    FieldName,
    describe,
    pending_text,
    plain,
    price_text,
    quantity_text,
    refusal,
    to_step,
)
from core.model import (
    CloseRequest,
    Instrument,
    PositionKey,
    PositionSide,
    TimeInForce,
    Trigger,
    TriggerEvent,
)
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX

D = Decimal
AAPL = Instrument("AAPL-USD", tick_size=D("0.01"), lot_size=D("0.01"))
ETH = Instrument("USD_ETH_PERP", tick_size=D("0.05"), lot_size=D("0.001"))
CLI_NAMES: dict[FieldName, str] = {
    "quantity": "--qty", "limit_price": "--price", "trigger_price": "--trigger-price",
    "close_on_trigger": "--close-on-trigger", "time_in_force": "--tif"}


def aapl(**kw: object) -> CloseRequest:
    key = PositionKey("q", QFEX, "AAPL-USD")
    return CloseRequest(key, PositionSide.LONG, D(40), **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- numbers
def test_plain_numbers_are_exact() -> None:
    assert plain(D("1E+2")) == "100" and plain(D("0.00010")) == "0.00010"
    assert plain(D("-0")) == "0" and plain(None) == "" and plain(None, "-") == "-"


@pytest.mark.parametrize(("value", "step", "text"), [
    ("2", "0.01", "2.00"),
    ("2.5", "0.01", "2.50"),
    ("2.000", "0.01", "2.00"),  # trailing zeros beyond the step say nothing
    ("40.005", "0.01", "40.005"),  # off the step: no digit is hidden
    ("250", "0.5", "250.0"),
    ("4500", "5", "4500"),
    ("4500.5", "1E+1", "4500.5"),
    ("1.5", None, "1.5"),
    ("1.5", "0", "1.5"),
])
def test_numbers_show_the_steps_decimals_and_never_fewer_than_they_hold(
        value: str, step: str | None, text: str) -> None:
    assert to_step(D(value), None if step is None else D(step)) == text
    assert D(text) == D(value)


def test_quantities_follow_the_lot_and_prices_the_tick() -> None:
    assert quantity_text(D(3), ETH) == "3.000" and price_text(D(4500), ETH) == "4500.00"
    assert quantity_text(D(3), None) == "3" and price_text(None, ETH) == ""


# ------------------------------------------------------------------------------- a close
@pytest.mark.parametrize(("request_", "inst", "text"), [
    (aapl(), AAPL, "SELL 40.00 AAPL-USD (full position) at market, reduce-only."),
    (aapl(), None, "SELL 40 AAPL-USD (full position) at market, reduce-only."),
    (aapl(quantity=D(10), limit_price=D("250.5"), time_in_force=TimeInForce.IOC), AAPL,
     "SELL 10.00 AAPL-USD (part) at limit 250.50 IOC, reduce-only."),
    (aapl(trigger=Trigger(D(200))), AAPL,
     "SELL 40.00 AAPL-USD (full position) when the mark price reaches 200.00, then at market, "
     "reduce-only."),
    (CloseRequest(PositionKey("e", EVERSTRIKE, "USD_ETH_PERP"), PositionSide.SHORT,
                  D("3.5"), quantity=D(1), limit_price=D(4510),
                  trigger=Trigger(D(4500), TriggerEvent.LAST, True)), ETH,
     "BUY 1.000 USD_ETH_PERP (part) when the last price reaches 4500.00 (close on trigger), "
     "then at limit 4510.00, reduce-only."),
])
def test_a_close_is_described_in_one_line(request_: CloseRequest, inst: Instrument | None,
                                          text: str) -> None:
    assert describe(request_, inst) == text


# ------------------------------------------------------------------------------- refusals
def test_a_refusal_is_a_sentence_in_the_dialog_and_a_clause_in_the_cli() -> None:
    exc = FieldError("quantity", "is more than the position size 40", value="41")
    assert exc.message == "Quantity 41 is more than the position size 40."
    assert exc.said(FIELD_LABELS, sentence=True) == exc.message
    assert exc.said(CLI_NAMES, sentence=False) == "--qty 41 is more than the position size 40"
    assert str(exc) == exc.message


def test_what_the_venue_can_not_do_stands_alone() -> None:
    exc = FieldError("close_on_trigger", "QFEX has no close-on-trigger option", standalone=True)
    assert exc.message == "QFEX has no close-on-trigger option."
    assert exc.said(CLI_NAMES, sentence=False) == \
        "--close-on-trigger: QFEX has no close-on-trigger option"
    tif = FieldError("time_in_force", "QFEX takes GTC or IOC", value="FOK", standalone=True)
    assert tif.said(CLI_NAMES, sentence=False) == "--tif FOK: QFEX takes GTC or IOC"


def test_a_clash_names_the_other_field_in_each_front_ends_words() -> None:
    exc = FieldError("limit_price", "and {other} can't be combined on QFEX; clear one",
                     other="trigger_price")
    assert exc.message == "Limit price and trigger price can't be combined on QFEX; clear one."
    assert exc.said(CLI_NAMES, sentence=False) == \
        "--price and --trigger-price can't be combined on QFEX; clear one"


def test_refusal_keeps_a_sentence_that_already_ends() -> None:
    assert refusal("--tif", "", "It takes none.", standalone=True, sentence=True) == \
        "It takes none."


# ------------------------------------------------------------------------------- outcomes
def test_outcome_words_and_a_close_already_in_flight() -> None:
    assert OUTCOME_LABELS["closed_verified_flat"] == "Closed, verified flat"
    assert pending_text(PositionKey("q", QFEX, "AAPL-USD"), "Sending") == \
        "A close of AAPL-USD on q is already sending — nothing new was sent."
