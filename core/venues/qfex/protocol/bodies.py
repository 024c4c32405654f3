"""REST response bodies: refdata, positions, and the problem document of a failed call.

``parse_refdata`` and ``parse_positions_rest`` raise only ``QfexProtocolError``, because they
return a value, not a list of events; ``parse_problem`` never raises.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from core.bounds import UnreadableJson
from core.model import Instrument, Position
from core.venues.qfex.protocol.codec import _loads
from core.venues.qfex.protocol.events import QfexProtocolError
from core.venues.qfex.protocol.facts import RAW_LIMIT
from core.venues.qfex.protocol.fields import _list, _obj, _opt_dec, _reason, _str
from core.venues.qfex.protocol.trade import _position

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _rest(parser: Callable[_P, _R]) -> Callable[_P, _R]:
    """Turn every failure to read a REST body into ``QfexProtocolError``, and nothing else."""

    @functools.wraps(parser)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return parser(*args, **kwargs)
        except QfexProtocolError:
            raise
        except (ValueError, ArithmeticError, RecursionError) as exc:
            raise QfexProtocolError(f"unreadable response: {_reason(exc)}") from None

    return wrapper


@_rest
def parse_refdata(body: bytes | str) -> dict[str, Instrument]:
    """``GET /refdata``: precision and limits arrive as decimal strings."""
    data = _obj(_loads(body), "response").get("data")
    out: dict[str, Instrument] = {}
    for item in _list(data, "'data'") if data is not None else []:
        entry = _obj(item, "refdata entry")
        symbol = _str(entry, "symbol")
        out[symbol] = Instrument(
            symbol=symbol,
            tick_size=_opt_dec(entry, "tick_size"),
            lot_size=_opt_dec(entry, "lot_size"),
            min_quantity=_opt_dec(entry, "min_quantity"),
            max_quantity=_opt_dec(entry, "max_quantity"),
            min_price=_opt_dec(entry, "min_price"),
            max_price=_opt_dec(entry, "max_price"),
            quote_currency=_quote(entry.get("quote_asset")),
        )
    return out


def _quote(value: object) -> str | None:
    return value.upper() if isinstance(value, str) and value else None


@_rest
def parse_positions_rest(body: bytes | str, account: str) -> tuple[Position, ...]:
    """``GET /user/positions``: ``positions`` may be null; flat rows are dropped."""
    positions = _obj(_loads(body), "response").get("positions")
    out: list[Position] = []
    for item in _list(positions, "'positions'") if positions is not None else []:
        event = _position(_obj(item, "position"), account)
        if isinstance(event, Position):
            out.append(event)
    return tuple(out)


def parse_problem(body: bytes | str) -> str:
    """A readable line from an RFC 9457 ``problem+json`` body, or the body's start if it is not
    one. Never raises: it only describes a failure that is reported anyway."""
    try:
        obj = _loads(body)
    except UnreadableJson:  # out-of-bound numbers included: then the body is shown as text
        obj = None
    if not isinstance(obj, dict):
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return text[: RAW_LIMIT * 2].strip()[:RAW_LIMIT] or "empty response"
    parts = [str(obj[k]) for k in ("title", "detail") if isinstance(obj.get(k), str) and obj[k]]
    details = _problem_errors(obj.get("errors"))
    if details:
        parts.append("; ".join(details))
    status = obj.get("status")
    line = ": ".join(parts) or "request failed"
    if isinstance(status, Decimal) and 100 <= status <= 999 and status == status.to_integral():
        line = f"{line} (HTTP {int(status)})"  # an HTTP status is three digits; else ignored
    return line[:RAW_LIMIT]


def _problem_errors(errors: Any) -> list[str]:
    out = []
    for err in errors if isinstance(errors, list) else []:
        if not isinstance(err, dict):
            continue
        message = err.get("message")
        location = err.get("location")
        if isinstance(message, str):
            out.append(f"{location}: {message}" if isinstance(location, str) else message)
    return out
