"""JSON with every number a Decimal, both ways: money never passes through float, and a
number's size is bounded so hostile text cannot blow up arithmetic or output."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from core import bounds

_MAX_DIGITS = bounds.MAX_EXPONENT  # no real price or size is this long


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


def _loads(text: str | bytes) -> Any:
    """JSON with every number a Decimal within the one bound (``core.bounds``): money never
    passes through float. Raises ``bounds.UnreadableJson`` (a ValueError) and nothing else."""
    return bounds.loads(text)


_DECIMAL_TEXT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
