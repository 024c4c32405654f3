"""Numbers both ways: Decimal text for the wire, bounded so a value never goes out in
exponent or float form, and JSON read with every number a Decimal."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"non-standard JSON constant {name}")


def loads(text: str | bytes) -> Any:
    """JSON with every number as Decimal; NaN/Infinity refused (not JSON, and not money)."""
    return json.loads(text, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant)
