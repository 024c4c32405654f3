"""The public market-data socket: mark prices. ``parse_mds`` never raises."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.model import MarkUpdate, ProtocolError
from core.venues.qfex.protocol.codec import _loads
from core.venues.qfex.protocol.events import QfexProtocolError
from core.venues.qfex.protocol.facts import VENUE
from core.venues.qfex.protocol.fields import _dec, _error, _list, _obj, _reason, _str
from core.venues.qfex.protocol.refusals import _error_frame

_MDS_IGNORED = {
    "bbo",
    "level2",
    "trade",
    "candle",
    "funding",
    "open_interest",
    "underlier",
    "minmax_price",
    "refdata",
    "subscribed",
    "unsubscribed",
    "subscribe",
}


def _mark(obj: Mapping[str, Any]) -> MarkUpdate:
    return MarkUpdate(VENUE, _str(obj, "symbol"), _dec(obj, "price"))


def parse_mds(text: str | bytes, account: str = "") -> list[MarkUpdate | ProtocolError]:
    """Mark prices from ``market_stats`` (all symbols) and ``mark_price``. Never raises."""
    try:
        obj = _obj(_loads(text), "frame")
        if "err" in obj:
            err = _error_frame(_obj(obj["err"], "err"))
            return [_error(account, err.message, text, err.error_code)]
        kind = _str(obj, "type")
        if kind == "error":
            # UNKNOWN shape: how MDS refuses a subscription is not documented.
            detail = obj.get("message")
            text = detail if isinstance(detail, str) and detail else "no detail"
            return [_error(account, f"QFEX market data error: {text}", text, "error")]
        if kind == "mark_price":
            return [_mark(obj)]
        if kind == "market_stats":
            marks = obj.get("mark_prices")
            items = [] if marks is None else _list(marks, "'mark_prices'")
            return [_mark(_obj(m, "mark price")) for m in items]
        if kind in _MDS_IGNORED:
            return []
        raise QfexProtocolError(f"unknown market data type {kind!r}")
    except (ValueError, ArithmeticError, RecursionError) as exc:
        return [_error(account, f"Unreadable QFEX market data: {_reason(exc)}", text)]
