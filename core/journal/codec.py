"""Payload encoding: one encode per record, on the caller's thread, and every check that could
otherwise fail later on the writer's thread (where a failure would stop the journal).

orjson does the common case in about a microsecond. Decimals become strings (never floats:
no precision is lost) and enums their values, as they always have. What orjson refuses (keys
that are not strings, integers beyond 64 bits, nesting deeper than it allows) goes through the
original ``to_jsonable`` + ``json.dumps`` path, so no payload that was accepted before fails
now, and such a payload is written exactly as it was before.

orjson and ``json.dumps`` write the same text for everything the desk journals. The only
differences are in floats, and payloads carry money as Decimal, never float: a float whose
exponent is below -4 is written ``1e-7`` rather than ``1e-07`` (the same number), and NaN or
infinity would be written as null (``json.dumps`` wrote ``NaN``, which is not JSON).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import orjson

__all__ = ["check_column", "encode_payload", "to_jsonable"]

# Dataclasses and datetimes go through ``_default`` (and so fail as they always did) rather than
# being written in a shape the journal never had.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1  # what an SQLite INTEGER holds


def to_jsonable(value: Any) -> Any:
    """Decimals become strings so no precision is lost in the journal."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "value") and isinstance(value.value, str):  # enums
        return value.value
    return value


def _default(value: Any) -> Any:
    """What orjson cannot write by itself, as ``to_jsonable`` would have written it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset):
        return list(value)
    if hasattr(value, "value") and isinstance(value.value, str):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def encode_payload(payload: Mapping[str, Any] | str) -> str:
    """The stored (and hashed) text of a payload: a string as it is, anything else as compact
    JSON. Raises TypeError or ValueError for what cannot be journaled, as before."""
    if isinstance(payload, str):
        check_column(payload, "payload")
        return payload
    try:
        return orjson.dumps(payload, default=_default, option=_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError: the slower path takes all it ever took
        text = json.dumps(to_jsonable(payload), separators=(",", ":"), ensure_ascii=False)
        check_column(text, "payload")
        return text


def check_column(value: object, name: str) -> None:
    """Refuse, on the caller's thread, a column value SQLite or the hash chain cannot take:
    anything but None, text (valid UTF-8), a 64-bit integer or a float. A bool is refused: it
    would be stored as 0/1 and then fail its own hash."""
    kind = type(value)
    if kind is str:
        if not value.isascii():  # type: ignore[attr-defined]
            value.encode()  # type: ignore[attr-defined]  # lone surrogates raise here
        return
    if value is None or kind is float:
        return
    if isinstance(value, str):
        value.encode()
        return
    if isinstance(value, int) and not isinstance(value, bool):
        if not _INT_MIN <= value <= _INT_MAX:
            raise OverflowError(f"journal column {name}: {value} does not fit in 64 bits")
        return
    if isinstance(value, float):
        return
    raise TypeError(f"journal column {name} cannot hold a {kind.__name__}")
