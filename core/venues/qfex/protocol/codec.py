"""JSON with every number a Decimal, both ways: money never passes through float, and a
number's size is bounded so hostile text cannot blow up arithmetic or output."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core.venues.qfex.protocol.events import QfexProtocolError

_MAX_DIGITS = 60  # no real price or size is this long; bounds the plain text of 1E+999999999


def _number(value: Decimal) -> str:
    """A Decimal as plain JSON number text: never via float, never exponent notation."""
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite number")
    if value.is_zero():
        return "0"
    if abs(value.adjusted()) > _MAX_DIGITS:
        raise ValueError(f"{value} is out of range")
    return format(value, "f")


def _encode(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _number(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    raise TypeError(f"cannot encode {type(value).__name__}")


def _reject_constant(name: str) -> Any:
    raise QfexProtocolError(f"{name} is not a JSON number")


def _loads(text: str | bytes) -> Any:
    """JSON with every number as Decimal: money must never pass through float."""
    return json.loads(
        text, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant
    )


_DECIMAL_TEXT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
