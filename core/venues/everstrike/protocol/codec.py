"""Numbers both ways: Decimal text for the wire, bounded so a value never goes out in
exponent or float form, and JSON read with every number a Decimal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core import bounds
from core.venues.everstrike.protocol.errors import EncodeError


def format_decimal(value: Decimal, field: str = "value") -> str:
    """Plain decimal text, exactly the value: no exponent, no float, trailing zeros dropped.

    ``format(d, "f")`` is exact (``normalize()`` is not: it rounds to the context precision).
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise EncodeError(field, f"{field} must be a finite decimal number, not {value!r}")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text == "-0":
        text = "0"
    if len(text) > 40:
        raise EncodeError(field, f"{field} {text[:20]}… has too many digits")
    return text


def loads(text: str | bytes) -> Any:
    """JSON with every number a Decimal within the one bound (``core.bounds``); NaN, Infinity
    and out-of-bound numbers refused. Raises ``bounds.UnreadableJson`` (a ValueError) and
    nothing else."""
    return bounds.loads(text)
