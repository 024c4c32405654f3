"""Typed readers for fields of parsed JSON. A missing or mistyped field raises ``_Bad``;
callers catch ``_PARSE_ERRORS`` and turn it into their own error kind."""

from __future__ import annotations

from decimal import Decimal, DecimalException
from typing import Any

from core.bounds import in_bounds
from core.venues.everstrike.protocol.facts import _RAW_LIMIT


class _Bad(Exception):
    """Internal: a field is missing or has the wrong type."""


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"{what} is not an object")
    return value


def _str(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise _Bad(f"{what} is missing or not a string")
    return value


def _opt_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _dec(value: object, what: str) -> Decimal:
    """A number within the one bound (``core.bounds``): the desk's arithmetic and every
    front end's formatting must not blow up on venue data."""
    if isinstance(value, bool):
        raise _Bad(f"{what} is not a number")
    if isinstance(value, int):
        value = Decimal(value)
    elif isinstance(value, str):  # tolerated: some venues quote numbers
        try:
            value = Decimal(value)
        except DecimalException:
            raise _Bad(f"{what} is not a number") from None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise _Bad(f"{what} is not a number")
    if not in_bounds(value):
        raise _Bad(f"{what} is out of range")
    return value


def _opt_dec(value: object, what: str) -> Decimal | None:
    return None if value is None else _dec(value, what)


def _int(value: object, what: str) -> int:
    number = _dec(value, what)
    if number != number.to_integral_value() or abs(number.adjusted()) > 30:
        raise _Bad(f"{what} is not an integer")
    return int(number)


def _truncate(text: str) -> str:
    return text if len(text) <= _RAW_LIMIT else text[:_RAW_LIMIT] + "…"


_PARSE_ERRORS = (_Bad, KeyError, TypeError, ValueError, ArithmeticError, RecursionError)


def received_text(frame: str | bytes) -> str:
    """A received frame as the journal keeps it beside what was read from it: truncated."""
    if isinstance(frame, bytes):
        frame = frame.decode("utf-8", "replace")
    return _truncate(frame)
