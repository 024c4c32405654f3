"""Reading fields of a received frame: each reader returns the typed value or raises
``QfexProtocolError``; ``_reason`` and ``_error`` turn a failure into the ``ProtocolError`` event
(with the frame's start, secrets hidden)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, DecimalException
from typing import Any

from core.bounds import UnreadableJson, in_bounds
from core.model import OrderSide, ProtocolError
from core.venues.qfex.protocol.codec import _DECIMAL_TEXT, _number
from core.venues.qfex.protocol.events import QfexProtocolError
from core.venues.qfex.protocol.facts import VENUE
from core.venues.qfex.protocol.redaction import _safe_raw


def _obj(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise QfexProtocolError(f"{what} is not a JSON object")
    return value


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise QfexProtocolError(f"{key!r} is missing or not a string")
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return value or None
    if isinstance(value, Decimal) and value.is_finite():
        return _number(value)  # an id sent as a number
    raise QfexProtocolError(f"{key!r} is not a string")


def _as_decimal(value: Any, key: str) -> Decimal:
    """A number within the one bound (``core.bounds``): downstream arithmetic and formatting
    must not blow up on venue data."""
    if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        try:
            value = Decimal(value)
        except DecimalException:  # "1e99999999999999999999": no Decimal holds it
            raise QfexProtocolError(f"{key!r} is out of range") from None
    if not isinstance(value, Decimal) or not value.is_finite():
        raise QfexProtocolError(f"{key!r} is not a number")
    if not in_bounds(value):
        raise QfexProtocolError(f"{key!r} is out of range")
    return value


def _dec(obj: Mapping[str, Any], key: str) -> Decimal:
    if key not in obj:
        raise QfexProtocolError(f"{key!r} is missing")
    return _as_decimal(obj[key], key)


def _opt_dec(obj: Mapping[str, Any], key: str) -> Decimal | None:
    value = obj.get(key)
    return None if value is None else _as_decimal(value, key)


def _time(obj: Mapping[str, Any], key: str) -> float | None:
    """Epoch seconds from a number or an ISO-8601 text; an unreadable time is simply absent."""
    value = obj.get(key)
    seconds: float | None = None
    try:
        if isinstance(value, Decimal) and value.is_finite():
            seconds = float(value)
        elif isinstance(value, str):
            stamp = datetime.fromisoformat(value)
            if stamp.tzinfo is None:
                stamp = stamp.replace(tzinfo=UTC)
            seconds = stamp.timestamp()
    except (ValueError, OverflowError):
        return None
    if seconds is None or seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return seconds


def _side(value: Any) -> OrderSide | None:
    if isinstance(value, str):
        try:
            return OrderSide(value.upper())
        except ValueError:
            return None
    return None


def _list(value: Any, what: str) -> list[Any]:
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, list):
        raise QfexProtocolError(f"{what} is not a list")
    return value


def _echoed(params: Mapping[str, Any], key: str) -> str | None:
    """A field of our own request as the venue echoed it; anything odd is simply absent."""
    value = params.get(key)
    return value if isinstance(value, str) and value else None


def _error(account: str, message: str, text: str | bytes, code: str | None = None) -> ProtocolError:
    return ProtocolError(VENUE, account, message, raw=_safe_raw(text), code=code)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, QfexProtocolError):
        return str(exc)
    if isinstance(exc, UnreadableJson):
        return exc.reason
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, ArithmeticError):
        return "number out of range"
    return "malformed JSON"
