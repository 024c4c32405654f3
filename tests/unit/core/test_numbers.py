"""core.numbers: every number is written by its instrument, every branch."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.model import Instrument
from core.numbers import (
    DEFAULT_PNL_DECIMALS,
    PNL_DECIMALS,
    UNKNOWN,
    NumberFormat,
    fixed,
    grouped,
    number_format,
    places,
    plain,
    pnl_places,
    set_thousands_separator,
    shown,
    thousands_separator,
    to_step,
    trimmed,
)

D = Decimal


def test_plain_is_exact_without_exponent_or_minus_zero() -> None:
    assert plain(D("1E+2")) == "100" and plain(D("0.00010")) == "0.00010"
    assert plain(D("-0")) == "0" and plain(D("-0.00")) == "0.00"
    assert plain(None) == "" and plain(None, "-") == "-"


@pytest.mark.parametrize(("value", "text"), [
    ("25.0", "25"), ("25", "25"), ("25.50", "25.5"), ("1E+2", "100"), ("0.000", "0"),
    ("-0.0", "0"), ("-1.10", "-1.1"), ("0.00012345", "0.00012345"),
    # beyond the 28 digits of the context: by text, nothing is rounded
    ("123456789012345678901234567890.50", "123456789012345678901234567890.5"),
    ("Infinity", "Infinity"),
])
def test_trimmed_keeps_significant_digits_only(value: str, text: str) -> None:
    assert trimmed(D(value)) == text


def test_trimmed_of_nothing_is_empty() -> None:
    assert trimmed(None) == ""


@pytest.mark.parametrize(("step", "n"), [
    ("0.01", 2), ("0.010", 2), ("0.5", 1), ("1", 0), ("5", 0), ("1E+1", 0), ("0.00000001", 8),
    (None, None), ("0", None), ("-0.01", None), ("NaN", None), ("Infinity", None),
])
def test_places_of_a_step(step: str | None, n: int | None) -> None:
    assert places(None if step is None else D(step)) == n


@pytest.mark.parametrize(("value", "step", "text"), [
    ("25", "0.01", "25.00"),
    ("25.0", "0.01", "25.00"),  # one venue's "25.0" and another's "25" read alike
    ("2.000", "0.01", "2.00"),  # trailing zeros beyond the step say nothing
    ("40.005", "0.01", "40.005"),  # off the step: a digit that is not zero is never hidden
    ("4500.5", "5", "4500.5"),
    ("25.0", None, "25"),  # no step: significant digits
    ("Infinity", "0.01", "Infinity"),
    ("1E+30", "0.01", "1000000000000000000000000000000"),  # too many digits to quantize
])
def test_to_step(value: str, step: str | None, text: str) -> None:
    assert to_step(D(value), None if step is None else D(step)) == text


def test_to_step_of_nothing_is_empty() -> None:
    assert to_step(None, D("0.01")) == ""


@pytest.mark.parametrize(("value", "n", "signed", "text"), [
    ("364", 2, True, "+364.00"),
    ("2220.0", 2, True, "+2220.00"),
    ("-12.345", 2, True, "-12.34"),  # half-even
    ("-12.355", 2, True, "-12.36"),
    ("0.004", 2, True, "0.00"),  # rounds to nothing: no sign
    ("-0.004", 2, True, "0.00"),  # no "-0.00" either
    ("0", 2, True, "0.00"),
    ("1234.5", 0, True, "+1234"),  # half-even to the even neighbour
    ("12.5", 2, False, "12.50"),
    ("-3", 8, False, "-3.00000000"),
    ("1E+30", 2, True, "+1000000000000000000000000000000"),  # too many digits: as held
    ("NaN", 2, True, "NaN"),
])
def test_fixed(value: str, n: int, signed: bool, text: str) -> None:
    assert fixed(D(value), n, signed=signed) == text


def test_fixed_of_nothing_is_empty() -> None:
    assert fixed(None, 2, signed=True) == ""


@pytest.mark.parametrize(("quote", "n"), [
    ("USD", 2), ("USDT", 2), ("usdc", 2), ("JPY", 0), ("BTC", 8), ("ETH", 6),
    ("XYZ", DEFAULT_PNL_DECIMALS), (None, DEFAULT_PNL_DECIMALS), ("", DEFAULT_PNL_DECIMALS),
])
def test_pnl_places_by_quote_currency(quote: str | None, n: int) -> None:
    assert pnl_places(quote) == n


def test_the_table_is_documented_by_its_own_defaults() -> None:
    assert all(isinstance(v, int) and v >= 0 for v in PNL_DECIMALS.values())
    assert DEFAULT_PNL_DECIMALS == 2


def test_an_instruments_format() -> None:
    btc = Instrument("USD_BTC_PERP", tick_size=D("0.5"), lot_size=D("0.001"),
                     quote_currency="USD")
    nf = number_format(btc)
    assert nf == NumberFormat(3, 1, 2, "USD") and nf.known
    assert nf.quantity(D("25")) == "25.000"
    assert nf.price(D("64999")) == "64999.0"
    assert nf.pnl(D("364.0000")) == "+364.00"
    assert nf.money(D("12500")) == "12500.00"
    assert number_format(btc) is nf  # cached: every repricing of every row asks


def test_an_instrument_without_steps_or_quote() -> None:
    nf = number_format(Instrument("X"))
    assert nf == UNKNOWN and not nf.known
    assert number_format(Instrument("Y", quote_currency="BTC")).pnl(D("0.1")) == "+0.10000000"


def test_no_instrument_falls_back_to_significant_digits() -> None:
    nf = number_format(None)
    assert nf is UNKNOWN and not nf.known
    assert (nf.quantity(D("25.0")), nf.price(D("100.50")), nf.pnl(D("-3.1"))) == (
        "25", "100.5", "-3.10")
    assert nf.quantity(None) == nf.price(None) == nf.pnl(None) == ""


def test_a_format_with_only_a_tick_is_known() -> None:
    assert number_format(Instrument("Z", tick_size=D("0.01"))).known


def test_steps_finer_than_the_cached_ones() -> None:
    """Past 18 decimals the quantize step is made on the spot; the rules stay the same."""
    step = D("1E-20")
    assert places(step) == 20
    assert to_step(D("1.5"), step) == "1.50000000000000000000"
    assert fixed(D("0.1"), 20, signed=True) == "+0.10000000000000000000"


@pytest.mark.parametrize("text", ["1E+1000000", "-1E+1000000", "1.50E-1000000", "0E-1000000",
                                  "1E+999999999", "1E+61"])
def test_a_number_outside_the_venue_bound_keeps_its_exponent(text: str) -> None:
    """Written out, 1E+999999999 is a gigabyte: every writer keeps it short instead, and never
    changes its value (no trailing zero stripped from the exponent)."""
    value = D(text)
    fmt = NumberFormat(quantity_places=2, price_places=2)
    shown = [plain(value), trimmed(value), to_step(value, D("0.01")), fmt.quantity(value),
             fmt.price(value), UNKNOWN.quantity(value), fixed(value, 2, signed=True)]
    for text_shown in shown:
        assert len(text_shown) < 40, text_shown[:40]
    assert D(plain(value)) == value and D(trimmed(value)) == value
    assert places(value) is None  # no step that size is usable


def test_a_number_at_the_edge_of_the_bound_is_written_out() -> None:
    assert plain(D("1E+60")) == "1" + "0" * 60
    assert plain(D("1E-60")) == "0." + "0" * 59 + "1"


# ------------------------------------------------------------------------------- separators
@pytest.mark.parametrize(("text", "expected"), [
    ("", ""), ("0", "0"), ("999", "999"), ("1000", "1,000"), ("-1234567.891", "-1,234,567.891"),
    ("+12345.00", "+12,345.00"), ("123.4567", "123.4567"), ("1E+2000", "1E+2000"),
    ("NaN", "NaN"), ("-999.5", "-999.5"),
])
def test_grouped_puts_a_comma_between_groups_of_whole_digits(text: str, expected: str) -> None:
    assert grouped(text) == expected


def test_separators_are_off_by_default_and_only_in_what_is_shown() -> None:
    fmt = NumberFormat(quantity_places=2, price_places=1, pnl_decimals=2)
    assert not thousands_separator()
    assert fmt.pnl(Decimal("12345.6")) == "+12345.60"
    set_thousands_separator(True)
    try:
        assert fmt.pnl(Decimal("12345.6")) == "+12,345.60"
        assert fmt.money(Decimal("-1234567")) == "-1,234,567.00"
        assert fmt.quantity(Decimal("2500")) == "2,500.00"
        assert fmt.price(Decimal("64250.5")) == "64,250.5"
        assert shown("1000") == "1,000"
        # What fills a field or goes to a venue never has them.
        assert to_step(Decimal("2500"), Decimal("0.01")) == "2500.00"
        assert plain(Decimal("2500")) == "2500"
    finally:
        set_thousands_separator(False)
    assert fmt.price(Decimal("64250.5")) == "64250.5"
    assert shown("1000") == "1000"


@pytest.mark.parametrize("text", [
    "0", "-0", "-0.00", "12", "1234", "-1234.5", "999999.999", "1E+5", "1E-7", "123456789.0123",
    "-98765432109876543210.5", "0.00012", "1000000",
])
def test_grouped_numbers_are_the_plain_digits_with_commas(text: str) -> None:
    """Both ways of grouping (the decimal module's, regrouped text) give the same text, and
    without the commas it is exactly what is written with separators off."""
    fmt = NumberFormat(quantity_places=2, price_places=None, pnl_decimals=2)
    value = D(text)
    off = (fmt.quantity(value), fmt.price(value), fmt.pnl(value), fmt.money(value))
    set_thousands_separator(True)
    try:
        on = (fmt.quantity(value), fmt.price(value), fmt.pnl(value), fmt.money(value))
    finally:
        set_thousands_separator(False)
    assert tuple(t.replace(",", "") for t in on) == off
    assert on == tuple(grouped(t) for t in off)
