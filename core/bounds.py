"""One bound on every number a venue sends, shared by every venue's protocol and by the number
formatting of the front ends.

A JSON number can be any size: ``1E+999999999`` is valid JSON, and written out in plain digits
it is a gigabyte; ``1e99999999999999999999`` cannot even be held by a Decimal. No price, size or
P&L comes near either, so a number is accepted only when it is finite, below 10**61 in size and
has at most 60 digits after the point (its exponent and its adjusted exponent both within
+-60). Plain text of an accepted number is then at most 122 characters. Anything else is
refused where it is read, as a protocol error of the venue that sent it.
"""

from __future__ import annotations

import json
from decimal import Decimal, DecimalException
from typing import Any, Final

__all__ = ["MAX_EXPONENT", "NumberOutOfBounds", "UnreadableJson", "bounded", "in_bounds",
           "loads"]

MAX_EXPONENT: Final = 60


class NumberOutOfBounds(ValueError):
    """A number that is not finite or is outside the bound."""


class UnreadableJson(ValueError):
    """Text that is not JSON, or JSON holding a number outside the bound, a NaN or an
    Infinity, or nested too deeply to read. ``reason`` says which, in a few words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def in_bounds(value: Decimal) -> bool:
    """True for a finite Decimal within the bound (see the module docstring)."""
    if not value.is_finite():
        return False
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -MAX_EXPONENT \
        and value.adjusted() <= MAX_EXPONENT


def bounded(value: Decimal, what: str = "number") -> Decimal:
    """``value`` itself when it is within the bound; NumberOutOfBounds otherwise."""
    if not in_bounds(value):
        raise NumberOutOfBounds(f"{what} is out of range")
    return value


def _number(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except DecimalException:  # 1e99999999999999999999: no Decimal holds it
        raise NumberOutOfBounds("number out of range") from None
    return bounded(value)


def _constant(name: str) -> Any:
    raise NumberOutOfBounds(f"{name} is not a JSON number")


def loads(text: str | bytes) -> Any:
    """JSON with every number a bounded Decimal (money never passes through float). Raises
    UnreadableJson and nothing else, whatever the text."""
    try:
        return json.loads(text, parse_float=_number, parse_int=_number, parse_constant=_constant)
    except NumberOutOfBounds as exc:
        raise UnreadableJson(str(exc)) from None
    except RecursionError:
        raise UnreadableJson("nested too deeply") from None
    except UnicodeDecodeError:
        raise UnreadableJson("not UTF-8 text") from None
    except (ValueError, TypeError):
        raise UnreadableJson("malformed JSON") from None
