"""core.closing.rules: the only close checks, called by the form and by both venue protocols."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from core.closing.rules import (
    FieldError,
    capability_reason,
    check_amounts,
    check_close_on_trigger,
    check_limit_close,
    check_limit_with_trigger,
    check_partial_close,
    check_price,
    check_quantity,
    check_request,
    check_time_in_force,
    check_trigger_close,
    check_trigger_event,
    default_time_in_force,
    leftover_dust,
    round_limit_price,
    round_quantity,
    round_trigger_price,
)
from core.model import (
    Capabilities,
    CloseRequest,
    Instrument,
    PositionKey,
    PositionSide,
    TimeInForce,
    Trigger,
    TriggerEvent,
)
from core.venues.qfex import QFEX

D = Decimal
KEY = PositionKey("q", QFEX, "AAPL-USD")
LONG, SHORT = PositionSide.LONG, PositionSide.SHORT
AAPL = Instrument("AAPL-USD", tick_size=D("0.01"), lot_size=D("0.01"), min_quantity=D("0.5"),
                  max_quantity=D("30"), min_price=D("0.01"), max_price=D("2293.50"))
NONE_CAN = Capabilities(full_close=True)
ALL_CAN = Capabilities(
    partial_close=True, limit_close=True, trigger_close=True,
    trigger_events=frozenset({TriggerEvent.MARK, TriggerEvent.LAST}), close_on_trigger=True,
    limit_with_trigger=True, time_in_force=(TimeInForce.IOC, TimeInForce.GTC))


def qty(typed: str, held: str = "40", inst: Instrument | None = AAPL, *, sized: bool = True,
        stop: bool = False, round_to_lot: bool = True) -> Decimal:
    return check_quantity(D(typed), D(held), KEY, inst, sized=sized, stop=stop,
                          round_to_lot=round_to_lot)


def refusal(call: object, *args: object, **kwargs: object) -> FieldError:
    assert callable(call)
    with pytest.raises(FieldError) as caught:
        call(*args, **kwargs)
    return caught.value


# ------------------------------------------------------------------------------- rounding
def test_quantity_rounds_down_to_the_lot() -> None:
    assert round_quantity(D("1.239"), AAPL) == D("1.23")
    assert round_quantity(D("1.239"), None) == D("1.239")


@pytest.mark.parametrize(("side", "sent"), [(LONG, D("250.01")), (SHORT, D("250.00"))])
def test_a_limit_rounds_away_from_the_book(side: PositionSide, sent: Decimal) -> None:
    """Closing a long sells (rounded up), closing a short buys (rounded down)."""
    assert round_limit_price(D("250.001"), side, AAPL) == sent
    assert round_limit_price(D("250.001"), side, None) == D("250.001")


def test_a_trigger_rounds_to_the_nearest_tick() -> None:
    assert round_trigger_price(D("200.004"), AAPL) == D("200.00")
    assert round_trigger_price(D("200.006"), AAPL) == D("200.01")


# ------------------------------------------------------------------------------- quantity
def test_a_quantity_on_the_lot_is_sent_as_typed() -> None:
    assert qty("10") == D(10)


def test_off_the_lot_rounds_down_or_is_refused() -> None:
    assert qty("1.239") == D("1.23")
    exc = refusal(qty, "1.005", round_to_lot=False)
    assert (exc.field, exc.value, exc.detail) == ("quantity", "1.005",
                                                  "must be a multiple of the lot size 0.01")
    assert exc.message == "Quantity 1.005 must be a multiple of the lot size 0.01."


def test_less_than_one_lot_can_not_be_sent() -> None:
    exc = refusal(qty, "0.001", "0.5", stop=True)
    assert exc.message == "Quantity 0.001 is less than one lot (0.01); nothing can be sent."


def test_a_quantity_the_venue_does_not_send_is_held_to_neither_lot_nor_bounds() -> None:
    assert qty("40.005", "40.005", sized=False) == D("40.005")
    assert qty("35", "35", sized=False) == D(35)


def test_a_quantity_on_the_wire_is_held_to_the_bounds_even_for_the_whole_position() -> None:
    """QFEX sends a full limit close as an add_order for the whole size."""
    high = refusal(qty, "35", "35")
    assert high.message == "Quantity 35 is above QFEX's maximum 30 per order for AAPL-USD."


def test_more_than_the_position_is_refused() -> None:
    exc = refusal(qty, "40.01")
    assert exc.message == "Quantity 40.01 is more than the position size 40."
    assert exc.rule == "size" and not exc.standalone


@pytest.mark.parametrize("typed", ["0", "-1"])
def test_nothing_or_less_is_refused(typed: str) -> None:
    assert refusal(qty, typed).message == "Quantity must be greater than zero."


def test_min_and_max_bind_but_stops_are_exempt() -> None:
    low = refusal(qty, "0.1")
    assert low.message == ("Quantity 0.1 is below QFEX's minimum 0.5 for AAPL-USD; close more, "
                           "or close all.")
    high = refusal(qty, "35")
    assert high.message == "Quantity 35 is above QFEX's maximum 30 per order for AAPL-USD."
    assert qty("0.1", stop=True) == D("0.1")
    assert qty("35", stop=True) == D(35)


def test_without_reference_data_only_the_position_binds() -> None:
    assert qty("0.001", inst=None) == D("0.001")


def test_dust_is_what_a_partial_close_leaves_below_the_minimum() -> None:
    assert leftover_dust(D(40), D("39.8"), AAPL) == D("0.2")
    assert leftover_dust(D(40), D("39.5"), AAPL) is None
    assert leftover_dust(D(40), D(40), AAPL) is None
    assert leftover_dust(D(40), D("39.8"), None) is None


# ------------------------------------------------------------------------------- prices
def test_prices_round_per_field_or_are_refused_off_the_tick() -> None:
    assert check_price("limit_price", D("250.001"), LONG, KEY, AAPL) == D("250.01")
    assert check_price("limit_price", D("250.001"), SHORT, KEY, AAPL) == D("250.00")
    assert check_price("trigger_price", D("200.004"), LONG, KEY, AAPL) == D("200.00")
    exc = refusal(check_price, "trigger_price", D("0.001"), LONG, KEY, AAPL,
                  round_to_tick=False)
    assert exc.message == "Trigger price 0.001 must be a multiple of the tick size 0.01."


def test_a_price_below_one_tick_can_not_be_sent() -> None:
    exc = refusal(check_price, "trigger_price", D("0.004"), LONG, KEY, AAPL)
    assert exc.message == "Trigger price 0.004 is less than one tick (0.01)."


def test_price_bounds_apply_to_the_number_sent() -> None:
    exc = refusal(check_price, "limit_price", D(3000), LONG, KEY, AAPL)
    assert exc.message == "Limit price 3000 is above QFEX's maximum price 2293.50."
    floor = Instrument("AAPL-USD", tick_size=D("0.01"), min_price=D(1))
    low = refusal(check_price, "trigger_price", D("0.5"), LONG, KEY, floor)
    assert low.message == "Trigger price 0.5 is below QFEX's minimum price 1."
    assert check_price("limit_price", D("250.001"), LONG, KEY, None) == D("250.001")


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
    (check_limit_with_trigger, (), "limit_price", "Limit price and trigger price can't be "
     "combined on QFEX: a triggered close executes at market; clear one of the two."),
])
def test_what_the_venue_can_not_do_is_refused_by_field(
        check: object, args: tuple[object, ...], field: str, message: str) -> None:
    exc = refusal(check, NONE_CAN, "QFEX", *args)
    assert (exc.field, exc.message) == (field, message)


def test_the_venues_own_reason_wins() -> None:
    caps = Capabilities(trigger_close=True, trigger_events=frozenset({TriggerEvent.MARK}),
                        reasons={"trigger_event": "QFEX triggers on the mark price only",
                                 "limit_with_trigger": "QFEX has no stop-limit"})
    event = refusal(check_trigger_event, caps, "QFEX", TriggerEvent.INDEX)
    assert (event.value, event.detail) == ("index", "QFEX triggers on the mark price only")
    both = refusal(check_limit_with_trigger, caps, "QFEX")
    assert both.other == "trigger_price" and both.rule == "limit_with_trigger"
    assert "QFEX has no stop-limit" in both.detail
    assert capability_reason(caps, "limit_with_trigger", "QFEX") == "QFEX has no stop-limit"


def test_the_listed_trigger_events_and_times_in_force_are_named() -> None:
    event = refusal(check_trigger_event, ALL_CAN, "QFEX", TriggerEvent.INDEX)
    assert event.detail == "QFEX triggers on the mark or last price only"
    assert capability_reason(ALL_CAN, "trigger_event", "QFEX") == event.detail
    tif = refusal(check_time_in_force, ALL_CAN, "QFEX", TimeInForce.FOK)
    assert (tif.value, tif.message) == ("FOK", "QFEX takes IOC or GTC.")


def test_a_limit_close_defaults_to_gtc_else_the_first_listed() -> None:
    assert default_time_in_force(ALL_CAN) is TimeInForce.GTC
    assert default_time_in_force(Capabilities(time_in_force=(TimeInForce.IOC,))) is \
        TimeInForce.IOC
    assert default_time_in_force(NONE_CAN) is None


# ------------------------------------------------------------------------------- whole requests
def request(**kw: object) -> CloseRequest:
    return CloseRequest(KEY, LONG, D(40), client_order_id="co-1", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fields", "field"), [
    ({"quantity": D(0)}, "quantity"),
    ({"quantity": D("NaN")}, "quantity"),
    ({"limit_price": D("-0")}, "limit_price"),
    ({"limit_price": D("Infinity")}, "limit_price"),
    ({"trigger": Trigger(D(0))}, "trigger_price"),
])
def test_amounts_are_finite_and_above_zero(fields: dict[str, object], field: str) -> None:
    assert refusal(check_amounts, request(**fields)).field == field


def test_amounts_are_not_held_to_the_position() -> None:
    """The desk compares a quantity with the live book, not with the request's own copy."""
    check_amounts(request(quantity=D(1000), limit_price=D(1), trigger=Trigger(D(1))))


def test_a_request_within_every_rule_passes() -> None:
    check_request(request(quantity=D(10), limit_price=D("250.50")), ALL_CAN, AAPL, sized=True)
    check_request(request(), NONE_CAN, AAPL, sized=False)
    check_request(request(quantity=D("0.1"), trigger=Trigger(D(200))), ALL_CAN, AAPL,
                  sized=True)  # a stop below the minimum


@pytest.mark.parametrize(("fields", "caps", "field", "rule"), [
    ({"quantity": D(41)}, ALL_CAN, "quantity", "size"),
    ({"quantity": D("1.005")}, ALL_CAN, "quantity", "lot"),  # never rounded here
    ({"quantity": D("0.1")}, ALL_CAN, "quantity", "min"),
    ({"quantity": D(10), "limit_price": D("250.001")}, ALL_CAN, "limit_price", "tick"),
    ({"quantity": D(10), "limit_price": D(3000)}, ALL_CAN, "limit_price", "max_price"),
    ({"trigger": Trigger(D("0.001"))}, ALL_CAN, "trigger_price", "tick"),
    ({"quantity": D(10)}, NONE_CAN, "quantity", "partial_close"),
    ({"limit_price": D(250)}, NONE_CAN, "limit_price", "limit_close"),
    ({"trigger": Trigger(D(200))}, NONE_CAN, "trigger_price", "trigger_close"),
    ({"trigger": Trigger(D(200), TriggerEvent.INDEX)}, ALL_CAN, "trigger_event",
     "trigger_event"),
    ({"trigger": Trigger(D(200), close_on_trigger=True)},
     replace(ALL_CAN, close_on_trigger=False), "close_on_trigger", "close_on_trigger"),
    ({"trigger": Trigger(D(200)), "limit_price": D(199)},
     replace(ALL_CAN, limit_with_trigger=False), "limit_price", "limit_with_trigger"),
])
def test_a_request_breaking_a_rule_is_refused_by_field(
        fields: dict[str, object], caps: Capabilities, field: str, rule: str) -> None:
    exc = refusal(check_request, request(**fields), caps, AAPL, sized=True)
    assert (exc.field, exc.rule) == (field, rule)


def test_a_flat_position_has_nothing_to_close() -> None:
    flat = CloseRequest(KEY, LONG, D(0))
    exc = refusal(check_request, flat, ALL_CAN, AAPL, sized=False)
    assert exc.message == "The position is flat; there is nothing to close."


def test_the_whole_position_is_held_to_the_bounds_only_when_the_venue_sends_it() -> None:
    big = CloseRequest(KEY, LONG, D(35), limit_price=D(250))
    check_request(big, ALL_CAN, AAPL, sized=False)
    assert refusal(check_request, big, ALL_CAN, AAPL, sized=True).rule == "max"


def test_time_in_force_is_left_to_the_encoders() -> None:
    """Which ones a wire format carries is the encoder's to say (QFEX takes FOK, which the
    dialog does not offer); the form offers only the listed ones."""
    check_request(request(quantity=D(10), limit_price=D(250), time_in_force=TimeInForce.FOK),
                  ALL_CAN, AAPL, sized=True)
