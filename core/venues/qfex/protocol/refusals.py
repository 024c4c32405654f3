"""``err`` frames: the venue's refusals in plain words, tied to the request they echo, with
the wait a rate limit hinted at."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, DecimalException
from typing import Any

from core.bounds import in_bounds
from core.venues.qfex.protocol.codec import _DECIMAL_TEXT
from core.venues.qfex.protocol.events import ErrorFrame, QfexProtocolError
from core.venues.qfex.protocol.facts import RAW_LIMIT
from core.venues.qfex.protocol.fields import _echoed, _opt_str, _str

# Plain words for the ``err`` frame codes (VENUES.md §1.9).
ERROR_TEXT: dict[str, str] = {
    "RateLimited": "Rate limited by the venue; wait before sending more",
    "InvalidJSONFormat": "The venue could not read the request",
    "AlreadyAuthenticated": "This connection is already authenticated",
    "InvalidParameter": "The venue refused a parameter of the request",
    "PermissionDenied": "The API key lacks permission for this request",
    "ServerError": "The venue had an internal error; check before retrying",
    "InvalidOrder": "The venue refused the order",
    "KycRequired": "The account must complete KYC first",
    "TncRequired": "The account must accept the terms and conditions first",
    "AlreadySubscribedToLeaderboard": "Already subscribed to the leaderboard",
}


def _error_frame(obj: Mapping[str, Any]) -> ErrorFrame:
    code = _str(obj, "error_code")
    venue_message = obj.get("message")
    if venue_message is not None and not isinstance(venue_message, str):
        raise QfexProtocolError("'message' is not a string")
    incoming = obj.get("incoming_message")
    incoming_type = None
    params: Mapping[str, Any] = {}
    if isinstance(incoming, dict):
        incoming_type = _opt_str(incoming, "type")
        echoed = incoming.get("params")
        params = echoed if isinstance(echoed, dict) else {}
    elif incoming is not None:
        raise QfexProtocolError("'incoming_message' is not an object")
    text = ERROR_TEXT.get(code, f"Venue error {code}")
    if venue_message:
        text = f"{text}: {venue_message}"
    return ErrorFrame(
        code,
        text,
        client_order_id=_echoed(params, "client_order_id"),
        incoming_type=incoming_type,
        symbol=_echoed(params, "symbol"),
        order_id=_echoed(params, "order_id"),
        stop_order_id=_echoed(params, "stop_order_id"),
        retry_after=retry_after(obj) if code == "RateLimited" else None,
    )


# UNKNOWN (VENUES.md 1.11 #2): the docs say a RateLimited error "includes a retry-after hint"
# but not where or in what unit. These are the plausible spellings; a field or a phrase whose
# unit says milliseconds is read as milliseconds, anything else as seconds.
_RETRY_FIELDS = (
    "retry_after_ms",
    "retryAfterMs",
    "retry_after_millis",
    "retry_after",
    "retryAfter",
    "retry_after_s",
    "retry_after_seconds",
    "retry_in",
    "wait",
    "wait_ms",
)
_RETRY_TEXT = re.compile(
    r"(?:retry|after|again in|wait)\D{0,20}?(\d{1,9}(?:\.\d{1,9})?)\s*"
    r"(ms|msecs?|millis(?:econds?)?|s|secs?|seconds?)?\b",
    re.IGNORECASE,
)


def retry_after(err: Mapping[str, Any]) -> float | None:
    """Seconds to wait from a RateLimited ``err`` body, if it hinted at any; never raises."""
    for key in _RETRY_FIELDS:
        value = err.get(key)
        if isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value.strip()):
            try:
                value = Decimal(value.strip())
            except DecimalException:  # no Decimal holds it: not a hint
                continue
        if isinstance(value, Decimal) and in_bounds(value) and value >= 0:
            seconds = float(value)
            return seconds / 1000 if key.lower().endswith(("ms", "millis")) else seconds
    message = err.get("message")
    if isinstance(message, str):
        match = _RETRY_TEXT.search(message[:RAW_LIMIT])
        if match:
            seconds = float(match.group(1))
            unit = (match.group(2) or "s").lower()
            return seconds / 1000 if unit.startswith("m") else seconds
    return None
