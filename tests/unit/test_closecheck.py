"""core.closecheck: the close rules the dialog and ``closeout close`` share, checked directly."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.closecheck import (
    FieldError,
    capability_reason,
    check_close_on_trigger,
    check_limit_close,
    check_limit_with_trigger,
    check_partial_close,
    check_price,
    check_quantity,
    check_time_in_force,
    check_trigger_close,
    check_trigger_event,
    default_time_in_force,
    leftover_dust,
    parse_plain_decimal,
    round_limit_price,
    round_quantity,
    round_trigger_price,
)
from core.model import (
    Capabilities,
    Instrument,
    Position,
    PositionKey,
    PositionSide,
    TimeInForce,
    TriggerEvent,
    Venue,
)

D = Decimal
AAPL = Instrument("AAPL-USD", tick_size=D("0.01"), lot_size=D("0.01"), min_quantity=D("0.5"),
                  max_quantity=D("30"), min_price=D("0.01"), max_price=D("2293.50"))
NONE_CAN = Capabilities(full_close=True)
ALL_CAN = Capabilities(
    partial_close=True, limit_close=True, trigger_close=True,
    trigger_events=frozenset({TriggerEvent.MARK, TriggerEvent.LAST}), close_on_trigger=True,
    limit_with_trigger=True, time_in_force=(TimeInForce.IOC, TimeInForce.GTC))


def position(side: PositionSide = PositionSide.LONG, qty: str = "40") -> Position:
    return Position(PositionKey("q", Venue.QFEX, "AAPL-USD"), side, D(qty),
                    entry_price=D(220), mark_price=D("229.35"))


def refusal(call: object, *args: object, **kwargs: object) -> FieldError:
    assert callable(call)
    with pytest.raises(FieldError) as caught:
        call(*args, **kwargs)
    return caught.value


# ------------------------------------------------------------------------------- plain decimals
@pytest.mark.parametrize(("text", "value"), [
    ("12", D(12)), (" 0.5 ", D("0.5")), ("1200.25", D("1200.25")), (".5", D("0.5")),
    ("3.", D(3)), ("0.010", D("0.010")),
])
def test_plain_decimals_are_taken_exactly(text: str, value: Decimal) -> None:
    parsed = parse_plain_decimal(text, "quantity")
    assert parsed == value and str(parsed) == str(value)


@pytest.mark.parametrize("text", ["1,000.5", "1e3", "NaN", "Infinity", "+3", "١٢", "", "1 2",
                                  "1.2.3", "0x10"])
def test_anything_but_a_plain_decimal_is_refused_in_the_dialogs_words(text: str) -> None:
    exc = refusal(parse_plain_decimal, text, "limit_price")
    assert exc.field == "limit_price" and exc.rule == "plain"
    assert exc.message == ("Limit price must be a plain decimal number such as 1.25 — digits "
                           "and one point, no commas, spaces, signs or exponents.")
    assert exc.detail == exc.message.removeprefix("Limit price ").removesuffix(".")


@pytest.mark.parametrize("text", ["-3", "0", "0.000", "-0.5"])
def test_zero_and_negatives_must_be_greater_than_zero(text: str) -> None:
    exc = refusal(parse_plain_decimal, text, "trigger_price")
    assert (exc.field, exc.message, exc.detail) == (
        "trigger_price", "Trigger price must be greater than zero.", "must be greater than zero")


# ------------------------------------------------------------------------------- rounding
def test_quantity_rounds_down_to_the_lot() -> None:
    assert round_quantity(D("1.239"), AAPL) == D("1.23")
    assert round_quantity(D("1.239"), None) == D("1.239")


@pytest.mark.parametrize(("side", "sent"), [(PositionSide.LONG, D("250.01")),
                                            (PositionSide.SHORT, D("250.00"))])
def test_a_limit_rounds_away_from_the_book(side: PositionSide, sent: Decimal) -> None:
    """Closing a long sells (rounded up), closing a short buys (rounded down)."""
    assert round_limit_price(D("250.001"), side, AAPL) == sent
    assert round_limit_price(D("250.001"), side, None) == D("250.001")


def test_a_trigger_rounds_to_the_nearest_tick() -> None:
    assert round_trigger_price(D("200.004"), AAPL) == D("200.00")
    assert round_trigger_price(D("200.006"), AAPL) == D("200.01")


# ------------------------------------------------------------------------------- quantity
def test_a_quantity_on_the_lot_is_sent_as_typed() -> None:
    assert check_quantity(D(10), position(), AAPL, full_close=True, stop=False) == D(10)


def test_off_the_lot_rounds_down_or_is_refused() -> None:
    assert check_quantity(D("1.239"), position(), AAPL, full_close=True, stop=False) == D("1.23")
    exc = refusal(check_quantity, D("1.005"), position(), AAPL, full_close=True, stop=False,
                  round_to_lot=False)
    assert (exc.field, exc.value, exc.detail) == ("quantity", "1.005",
                                                  "must be a multiple of the lot size 0.01")
    assert exc.message == "Quantity 1.005 must be a multiple of the lot size 0.01."


def test_less_than_one_lot_can_not_be_sent() -> None:
    exc = refusal(check_quantity, D("0.001"), position(qty="0.5"), AAPL, full_close=True,
                  stop=True)
    assert exc.message == "Quantity 0.001 is less than one lot (0.01); nothing can be sent."


def test_a_full_close_is_not_held_to_the_lot_or_the_bounds() -> None:
    odd = position(qty="40.005")
    assert check_quantity(D("40.005"), odd, AAPL, full_close=True, stop=False) == D("40.005")
    big = position(qty="35")
    assert check_quantity(D(35), big, AAPL, full_close=True, stop=False) == D(35)


def test_more_than_the_position_is_refused() -> None:
    exc = refusal(check_quantity, D("40.01"), position(), AAPL, full_close=True, stop=False)
    assert exc.message == "Quantity 40.01 is more than the position size 40."
    assert exc.rule == "size" and not exc.capability


def test_partial_min_and_max_bind_but_stops_are_exempt() -> None:
    low = refusal(check_quantity, D("0.1"), position(), AAPL, full_close=True, stop=False)
    assert low.message == ("Quantity 0.1 is below QFEX's minimum 0.5 for AAPL-USD; close more, "
                           "or close all.")
    high = refusal(check_quantity, D(35), position(), AAPL, full_close=True, stop=False)
    assert high.message == "Quantity 35 is above QFEX's maximum 30 per order for AAPL-USD."
    assert check_quantity(D("0.1"), position(), AAPL, full_close=True, stop=True) == D("0.1")
    assert check_quantity(D(35), position(), AAPL, full_close=True, stop=True) == D(35)


def test_without_reference_data_only_the_position_binds() -> None:
    assert check_quantity(D("0.001"), position(), None, full_close=True, stop=False) == \
        D("0.001")


def test_dust_is_what_a_partial_close_leaves_below_the_minimum() -> None:
    assert leftover_dust(position(), D("39.8"), AAPL) == D("0.2")
    assert leftover_dust(position(), D("39.5"), AAPL) is None
    assert leftover_dust(position(), D(40), AAPL) is None
    assert leftover_dust(position(), D("39.8"), None) is None


# ------------------------------------------------------------------------------- prices
def test_prices_round_per_field_or_are_refused_off_the_tick() -> None:
    assert check_price("limit_price", D("250.001"), position(), AAPL) == D("250.01")
    assert check_price("limit_price", D("250.001"), position(PositionSide.SHORT), AAPL) == \
        D("250.00")
    assert check_price("trigger_price", D("200.004"), position(), AAPL) == D("200.00")
    exc = refusal(check_price, "trigger_price", D("0.001"), position(), AAPL,
                  round_to_tick=False)
    assert exc.message == "Trigger price 0.001 must be a multiple of the tick size 0.01."


def test_a_price_below_one_tick_can_not_be_sent() -> None:
    exc = refusal(check_price, "trigger_price", D("0.004"), position(), AAPL)
    assert exc.message == "Trigger price 0.004 is less than one tick (0.01)."


def test_price_bounds_apply_to_the_number_sent() -> None:
    exc = refusal(check_price, "limit_price", D(3000), position(), AAPL)
    assert exc.message == "Limit price 3000 is above QFEX's maximum price 2293.50."
    floor = Instrument("AAPL-USD", tick_size=D("0.01"), min_price=D(1))
    low = refusal(check_price, "trigger_price", D("0.5"), position(), floor)
    assert low.message == "Trigger price 0.5 is below QFEX's minimum price 1."
    assert check_price("limit_price", D("250.001"), position(), None) == D("250.001")


# ------------------------------------------------------------------------------- capabilities
def test_everything_passes_where_the_venue_can_do_it() -> None:
    check_partial_close(ALL_CAN, "QFEX")
    check_limit_close(ALL_CAN, "QFEX")
    check_trigger_close(ALL_CAN, "QFEX")
    check_trigger_event(ALL_CAN, "QFEX", TriggerEvent.LAST)
    check_close_on_trigger(ALL_CAN, "QFEX")
    check_limit_with_trigger(ALL_CAN, "QFEX")
    check_time_in_force(ALL_CAN, "QFEX", TimeInForce.IOC)


@pytest.mark.parametrize(("check", "args", "field", "message"), [
    (check_partial_close, (), "quantity", "QFEX closes only the whole position."),
    (check_limit_close, (), "limit_price", "QFEX closes at market only."),
    (check_trigger_close, (), "trigger_price", "QFEX has no trigger closes."),
    (check_trigger_event, (TriggerEvent.INDEX,), "trigger_event",
     "QFEX has no trigger closes."),
    (check_close_on_trigger, (), "close_on_trigger", "QFEX has no close-on-trigger option."),
    (check_time_in_force, (TimeInForce.GTC,), "time_in_force",
     "QFEX takes no time in force for closes."),
    (check_limit_with_trigger, (), "limit_price", "Limit price can't be combined with a trigger "
     "on QFEX: a triggered close executes at market. Clear one of the two."),
])
def test_what_the_venue_can_not_do_is_refused_by_field(
        check: object, args: tuple[object, ...], field: str, message: str) -> None:
    exc = refusal(check, NONE_CAN, "QFEX", *args)
    assert (exc.field, exc.message, exc.capability) == (field, message, True)


def test_the_venues_own_reason_wins() -> None:
    caps = Capabilities(trigger_close=True, trigger_events=frozenset({TriggerEvent.MARK}),
                        reasons={"trigger_event": "QFEX triggers on the mark price only",
                                 "limit_with_trigger": "QFEX has no stop-limit"})
    event = refusal(check_trigger_event, caps, "QFEX", TriggerEvent.INDEX)
    assert (event.value, event.detail) == ("index", "QFEX triggers on the mark price only")
    both = refusal(check_limit_with_trigger, caps, "QFEX")
    assert both.detail == "QFEX has no stop-limit" and both.rule == "limit_with_trigger"
    assert capability_reason(caps, "limit_with_trigger", "QFEX") == "QFEX has no stop-limit"


def test_the_listed_trigger_events_and_times_in_force_are_named() -> None:
    event = refusal(check_trigger_event, ALL_CAN, "QFEX", TriggerEvent.INDEX)
    assert event.detail == "QFEX triggers on the mark or last price only"
    tif = refusal(check_time_in_force, ALL_CAN, "QFEX", TimeInForce.FOK)
    assert (tif.value, tif.message) == ("FOK", "QFEX takes IOC or GTC.")


def test_a_limit_close_defaults_to_gtc_else_the_first_listed() -> None:
    assert default_time_in_force(ALL_CAN) is TimeInForce.GTC
    assert default_time_in_force(Capabilities(time_in_force=(TimeInForce.IOC,))) is \
        TimeInForce.IOC
    assert default_time_in_force(NONE_CAN) is None
