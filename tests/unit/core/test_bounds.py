"""The one bound on venue numbers, and the JSON reader that applies it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.bounds import MAX_EXPONENT, NumberOutOfBounds, UnreadableJson, bounded, in_bounds, loads

D = Decimal


@pytest.mark.parametrize("text", [
    "0", "-0", "0.000", "1", "-1", "1E+60", "9.99E+60", "-9E+60", "1E-60", "0E-60",
    "123.456", "1" * 61, "0." + "0" * 59 + "1",
])
def test_inside_the_bound(text: str) -> None:
    assert in_bounds(D(text))
    assert bounded(D(text)) == D(text)


@pytest.mark.parametrize("text", [
    "1E+61", "-1E+61", "1" * 62, "1E-61", "0E-61", "0E+61", "0." + "0" * 60 + "1",
    "1E+999999999", "1E-999999999", "NaN", "-sNaN", "Infinity", "-Infinity",
])
def test_outside_the_bound(text: str) -> None:
    assert not in_bounds(D(text))
    with pytest.raises(NumberOutOfBounds):
        bounded(D(text))


def test_loads_reads_every_number_as_a_decimal() -> None:
    assert loads('{"a": 1, "b": 2.50, "c": [1E+60, -1e-60]}') == {
        "a": D(1), "b": D("2.50"), "c": [D("1E+60"), D("-1E-60")]}
    assert isinstance(loads(b"3"), Decimal)


@pytest.mark.parametrize("text", [
    '{"balances": {"USD": {"free": 1e99999999999999999999}}}',  # no Decimal holds it
    '{"size": 1E+999999999}',
    '{"size": 1e61}',
    '{"size": 1e-61}',
    '{"size": ' + "9" * 100 + "}",
    '{"size": NaN}', '{"size": Infinity}', '{"size": -Infinity}',
    '{"a": [1, 2',
    "",
    "[" * 100_000 + "]" * 100_000,
    b'{"a": "\xff\xfe"}',
])
def test_loads_raises_only_its_own_error(text: str | bytes) -> None:
    with pytest.raises(UnreadableJson) as caught:
        loads(text)
    assert caught.value.reason


def test_the_bound_is_the_documented_one() -> None:
    assert MAX_EXPONENT == 60
