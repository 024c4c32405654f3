"""The ``{code,msg,result}`` envelope of every REST reply: its result, or the typed error it
carries (rate limit with its wait, stale timestamp, refusal, unreadable reply)."""

from __future__ import annotations

import re
from typing import Any

from core.bounds import UnreadableJson
from core.venues.everstrike.protocol.codec import loads
from core.venues.everstrike.protocol.errors import (
    EverstrikeError,
    MalformedReply,
    RateLimited,
    StaleTimestamp,
)
from core.venues.everstrike.protocol.facts import _RAW_LIMIT
from core.venues.everstrike.protocol.fields import _PARSE_ERRORS, _Bad, _int, _truncate

_WAIT = re.compile(
    r"(\d{1,9}(?:\.\d{1,9})?)\s*(ms|milliseconds?|s|sec|secs|seconds?)\b", re.IGNORECASE
)


def _retry_after(msg: str) -> float | None:
    """Loosely read "try again in 0.043 seconds" (E-MM README); None when absent."""
    match = _WAIT.search(msg)
    if match is None:
        return None
    wait = float(match.group(1))  # a delay, not money
    return wait / 1000.0 if match.group(2).lower().startswith("m") else wait


def parse_envelope(status_code: int, body: bytes | str) -> Any:
    """Return ``result`` of a ``{code,msg,result}`` reply; raise a typed EverstrikeError otherwise.

    The body's ``code`` is authoritative: 408 arrives with body code 414 (stale timestamp).
    """
    try:
        data = loads(body)
    except UnreadableJson as exc:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        snippet = _truncate(text[: _RAW_LIMIT * 2]).strip()
        raise MalformedReply(
            status_code, None,
            f"HTTP {status_code} with a reply that is not readable JSON ({exc.reason}): "
            f"{snippet!r}",
        ) from None
    if not isinstance(data, dict) or "code" not in data:
        raise MalformedReply(
            status_code, None, f"HTTP {status_code} without the {{code,msg}} envelope"
        )
    try:
        code = _int(data["code"], "code")
    except _Bad:
        raise MalformedReply(status_code, None, "reply code is not an integer") from None
    raw_msg = data.get("msg")
    msg = raw_msg if isinstance(raw_msg, str) else ""
    if code == 200 and 200 <= status_code < 300:
        return data.get("result")
    if status_code == 429 or code == 429:
        raise RateLimited(status_code, code, msg or "Too many requests", _retry_after(msg))
    if code == 414 or status_code == 408:
        raise StaleTimestamp(status_code, code, msg or "The timestamp is too old.")
    if code == 200:  # a success body on an error status: trust the status
        raise EverstrikeError(status_code, code, msg or f"HTTP {status_code}")
    raise EverstrikeError(status_code, code, msg or f"error {code}")


def _malformed(what: str, exc: BaseException) -> MalformedReply:
    detail = str(exc) if isinstance(exc, _Bad) else f"{type(exc).__name__}: {exc}"
    return MalformedReply(None, None, f"{what}: {_truncate(detail)}")


def parse_time(result: object) -> int:
    """``GET /time`` result: epoch milliseconds."""
    try:
        return _int(result, "time")
    except _PARSE_ERRORS as exc:
        raise _malformed("bad /time result", exc) from None
