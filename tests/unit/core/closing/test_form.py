"""core.closing.form: typed fields to a CloseRequest or field errors, for the dialog and the CLI."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.closing.form import (
    Fields,
    Values,
    check,
    check_values,
    one_line,
    parse,
    parse_plain_decimal,
    preset_quantity,
    read,
)
from core.closing.rules import FieldError
from core.model import (
    Capabilities,
    Instrument,
    Position,
    PositionKey,
    PositionSide,
    TimeInForce,
    Trigger,
    TriggerEvent,
)
from core.venues.qfex import QFEX

D = Decimal
AAPL = Instrument("AAPL-USD", tick_size=D("0.01"), lot_size=D("0.01"), min_quantity=D("0.5"),
                  max_quantity=D("30"), min_price=D("0.01"), max_price=D("2293.50"))
QFEX_LIKE = Capabilities(
    partial_close=True, limit_close=True, trigger_close=True,
    trigger_events=frozenset({TriggerEvent.MARK}), time_in_force=(TimeInForce.GTC,
                                                                   TimeInForce.IOC),
    reasons={"limit_with_trigger": "QFEX has no stop-limit"})
ES_LIKE = Capabilities(
    partial_close=True, limit_close=True, trigger_close=True,
    trigger_events=frozenset(TriggerEvent), close_on_trigger=True, limit_with_trigger=True)


def position(qty: str = "40", side: PositionSide = PositionSide.LONG) -> Position:
    return Position(PositionKey("q", QFEX, "AAPL-USD"), side, D(qty),
                    entry_price=D(220), mark_price=D("229.35"))


def refusal(text: str, field: str = "limit_price") -> FieldError:
    with pytest.raises(FieldError) as caught:
        parse_plain_decimal(text, field)  # type: ignore[arg-type]
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
    exc = refusal(text)
    assert exc.field == "limit_price" and exc.rule == "plain"
    assert exc.message == ("Limit price must be a plain decimal number such as 1.25 — digits "
                           "and one point, no commas, signs, exponents or spaces inside it "
                           "(spaces around it are ignored).")
    assert exc.detail == exc.message.removeprefix("Limit price ").removesuffix(".")


@pytest.mark.parametrize(("text", "accepted"), [
    (" 1", True), ("1 ", True), ("\t1.5 ", True),  # spaces around: ignored, as the rule says
    ("1 000", False), ("1. 5", False),  # a space inside: refused
    ("1\n", False), ("\u00a01", False), ("1\u2003", False), ("\x1c1", False),  # not spaces
])
def test_the_rule_about_spaces_is_the_one_the_message_states(text: str, accepted: bool) -> None:
    if accepted:
        assert parse_plain_decimal(text, "quantity") == D(text.strip(" \t"))
    else:
        assert refusal(text).rule == "plain"
    assert "no commas, signs, exponents or spaces inside it (spaces around it are ignored)" \
        in refusal("1 000").message


@pytest.mark.parametrize("field", ["quantity", "limit_price", "trigger_price"])
def test_a_number_too_long_for_any_venue_is_refused_not_crashed_on(field: str) -> None:
    exc = refusal("1" + "0" * 40, field)
    assert exc.rule == "digits" and "more than 24 digits" in exc.message


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("field", ["limit_price", "trigger_price"])
def test_a_price_too_many_ticks_long_is_refused_by_the_rules(field: str, exact: bool) -> None:
    # 24 digits typed, at a tick of 1e-8: 32 digits of ticks, more than Decimal holds exactly.
    inst = Instrument("AAPL-USD", tick_size=D("0.00000001"), lot_size=D("0.01"))
    values = Values(**{field: D("1" + "0" * 23)})  # type: ignore[arg-type]
    checked = check(values, position(), ES_LIKE, inst, exact=exact)
    assert checked.request is None and checked.errors[field].rule == "digits"  # type: ignore[index]


@pytest.mark.parametrize("text", ["-3", "0", "0.000", "-0.5"])
def test_zero_and_negatives_must_be_greater_than_zero(text: str) -> None:
    exc = refusal(text, "trigger_price")
    assert (exc.field, exc.message, exc.detail) == (
        "trigger_price", "Trigger price must be greater than zero.", "must be greater than zero")


# ------------------------------------------------------------------------------- parsing
def test_fields_parse_to_values_and_choices_by_any_name() -> None:
    values, errors = parse(Fields(quantity="10", limit_price="250.5", time_in_force="ioc",
                                  trigger_price=" ", trigger_event="last", reason=" a\n b "))
    assert errors == {}
    assert values == Values(quantity=D(10), limit_price=D("250.5"),
                            time_in_force=TimeInForce.IOC, trigger_event=TriggerEvent.LAST,
                            reason="a b")
    assert parse(Fields(trigger_event="INDEX_PRICE"))[0].trigger_event is TriggerEvent.INDEX


def test_each_unreadable_field_is_reported_and_left_out() -> None:
    values, errors = parse(Fields(quantity="", limit_price="abc", time_in_force="day",
                                  trigger_event="bid"))
    assert values == Values()
    assert errors["quantity"].message == "Quantity is required."
    assert errors["limit_price"].rule == "plain"
    assert errors["time_in_force"].message == "Time in force day must be one of GTC, IOC, FOK."
    assert errors["trigger_event"].message == "Trigger event bid must be one of mark, index, last."


@pytest.mark.parametrize(("values", "field", "detail"), [
    (Values(time_in_force=TimeInForce.IOC), "time_in_force",
     "applies to a limit close only; give a limit price too"),
    (Values(trigger_event=TriggerEvent.MARK), "trigger_event", "needs a trigger price"),
    (Values(close_on_trigger=True), "close_on_trigger", "needs a trigger price"),
    (Values(quantity=D(1), percent=D(50)), "percent",
     "can't be given with {other}; give one of the two"),
    (Values(percent=D(101)), "percent", "is more than 100"),
])
def test_fields_that_mean_nothing_alone_are_refused_before_any_position(
        values: Values, field: str, detail: str) -> None:
    errors = check_values(values)
    assert list(errors) == [field] and errors[field].detail == detail  # type: ignore[index]


def test_a_percent_is_of_the_position_rounded_down_to_the_lot() -> None:
    assert preset_quantity(D("3.5"), D(25), AAPL) == D("0.87")
    assert preset_quantity(D("3.5"), D(25), None) == D("0.875")
    assert preset_quantity(D("3.5"), D(100), AAPL) == D("3.5")
    request = check(Values(percent=D(50)), position("3.5"), QFEX_LIKE, AAPL, exact=True).request
    assert request is not None and request.quantity == D("1.75")


def test_one_line_reasons() -> None:
    assert one_line("  INC-1\n  flatten\tnow ") == "INC-1 flatten now"
    assert one_line("  ") is None and one_line(None) is None


# ------------------------------------------------------------------------------- checking
def test_nothing_given_is_a_full_close_at_market() -> None:
    request = check(Values(), position(), QFEX_LIKE, AAPL).request
    assert request is not None
    assert (request.quantity, request.limit_price, request.trigger, request.time_in_force) == \
        (None, None, None, None)
    assert (request.position_side, request.position_quantity) == (PositionSide.LONG, D(40))


def test_the_whole_size_typed_is_a_full_close_where_the_venue_has_one() -> None:
    assert check(Values(quantity=D("40.00")), position(), QFEX_LIKE, AAPL).request.is_full  # type: ignore[union-attr]
    sized = Capabilities(full_close=False, partial_close=True)
    request = check(Values(), position("20"), sized, AAPL).request
    assert request is not None and request.quantity == D(20)
    # Sent as a quantity, the whole position is held to the venue's bounds (max 30).
    assert check(Values(), position(), sized, AAPL).errors["quantity"].rule == "max"


def test_the_dialog_rounds_and_says_so_the_cli_refuses() -> None:
    values = Values(quantity=D("1.239"), limit_price=D("250.001"), trigger_price=D("200.004"))
    caps = ES_LIKE
    rounded = check(values, position(), caps, AAPL)
    assert rounded.request is not None
    assert dict(rounded.rounded) == {"quantity": D("1.23"), "limit_price": D("250.01"),
                                     "trigger_price": D("200.00")}
    exact = check(values, position(), caps, AAPL, exact=True)
    assert exact.request is None
    assert [(name, e.rule) for name, e in exact.ordered()] == [
        ("quantity", "lot"), ("limit_price", "tick"), ("trigger_price", "tick")]


def test_a_refused_size_shows_what_would_have_been_sent() -> None:
    checked = check(Values(quantity=D("0.499")), position(), QFEX_LIKE, AAPL)
    assert checked.errors["quantity"].rule == "min" and checked.rounded["quantity"] == D("0.49")


def test_a_limit_close_takes_the_chosen_or_default_time_in_force() -> None:
    gtc = check(Values(limit_price=D(250)), position(), QFEX_LIKE, AAPL).request
    ioc = check(Values(limit_price=D(250), time_in_force=TimeInForce.IOC), position(),
                QFEX_LIKE, AAPL).request
    assert gtc is not None and ioc is not None
    assert (gtc.time_in_force, ioc.time_in_force) == (TimeInForce.GTC, TimeInForce.IOC)
    fok = check(Values(limit_price=D(250), time_in_force=TimeInForce.FOK), position(),
                QFEX_LIKE, AAPL)
    assert fok.errors["time_in_force"].message == "QFEX takes GTC or IOC."
    es = check(Values(limit_price=D(250)), position(), ES_LIKE, AAPL).request
    assert es is not None and es.time_in_force is None


def test_a_trigger_with_its_event_and_close_on_trigger() -> None:
    values = Values(quantity=D(1), limit_price=D(251), trigger_price=D(250),
                    trigger_event=TriggerEvent.LAST, close_on_trigger=True)
    request = check(values, position(), ES_LIKE, AAPL).request
    assert request is not None
    assert request.trigger == Trigger(D(250), TriggerEvent.LAST, True)
    refused = check(values, position(), QFEX_LIKE, AAPL)
    assert set(refused.errors) == {"trigger_event", "limit_price"}


def test_a_stop_is_exempt_from_the_minimum_even_when_its_price_is_unreadable() -> None:
    ok = read(Fields(quantity="0.1", trigger_price="200"), position(), QFEX_LIKE, AAPL)
    assert ok.request is not None and ok.request.quantity == D("0.1")
    bad = read(Fields(quantity="0.1", trigger_price="2e2"), position(), QFEX_LIKE, AAPL)
    assert set(bad.errors) == {"trigger_price"}


def test_read_reports_every_field_at_fault_in_the_dialogs_order() -> None:
    checked = read(Fields(quantity="41", limit_price="0", trigger_price="200",
                          time_in_force="IOC"), position(), QFEX_LIKE, AAPL)
    assert checked.request is None
    assert list(checked.messages) == ["quantity", "limit_price"]
    assert checked.messages["quantity"] == "Quantity 41 is more than the position size 40."


def test_the_request_carries_the_position_the_user_saw() -> None:
    seen = position("50")
    request = read(Fields(quantity="10"), position(), QFEX_LIKE, AAPL, seen=seen,
                   client_order_id="co-7").request
    assert request is not None
    assert (request.position_quantity, request.client_order_id) == (D(50), "co-7")


def test_a_full_close_the_venue_sizes_is_held_to_its_lot_and_bounds() -> None:
    # QFEX sends a full limit or trigger close as an add_order carrying the whole size: the
    # form refuses what QFEX's encoder would, at the quantity, instead of building it.
    from core.venues.qfex.protocol import CAPABILITIES, build_close

    inst = Instrument("AAPL-USD", tick_size=D("0.01"), lot_size=D("1"), max_quantity=D("30"))
    limit = Fields(limit_price="230")
    checked = read(limit, position("40"), CAPABILITIES, inst, exact=True)
    assert checked.request is None and checked.errors["quantity"].rule == "max"
    off_lot = read(Fields(trigger_price="200"), position("20.5"), CAPABILITIES, inst, exact=True)
    assert off_lot.request is None and off_lot.errors["quantity"].rule == "lot"
    within = read(limit, position("30"), CAPABILITIES, inst, exact=True)
    assert within.request is not None and within.request.quantity is None  # the whole position
    assert '"quantity":30' in build_close(within.request, D("229.35"), inst).replace(" ", "")
    # Everstrike sizes a full close itself, at any price: no size goes, so no bound applies.
    assert read(limit, position("40"), ES_LIKE, inst, exact=True).request is not None
