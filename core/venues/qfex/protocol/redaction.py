"""Frames made safe to show and journal: keys, signatures and nonces hidden."""

from __future__ import annotations

import re
from typing import Any

from core.venue import redact
from core.venues.qfex.protocol.codec import _encode, _loads
from core.venues.qfex.protocol.facts import RAW_LIMIT

_SECRET_KEYS = {"public_key", "signature", "nonce", "jwt", "api_key"}


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k in _SECRET_KEYS and isinstance(v, str):
                out[k] = redact(v) if k == "public_key" else "***"
            else:
                out[k] = _scrub(v)
        return out
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


_SECRET_TEXT = re.compile(r'("(?:public_key|signature|nonce|jwt|api_key)"\s*:\s*)"[^"]*"')


def redacted(frame: str) -> str:
    """The frame for display and the journal: keys, signatures and nonces hidden."""
    try:
        return _encode(_scrub(_loads(frame)))
    except (ValueError, TypeError, RecursionError):
        return _SECRET_TEXT.sub(r'\1"***"', frame)


def _safe_raw(text: str | bytes) -> str:
    """The start of a bad frame for the log, with anything key-like hidden. Text-only, so a
    hostile number cannot be expanded."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return _SECRET_TEXT.sub(r'\1"***"', text[: RAW_LIMIT * 2])[:RAW_LIMIT]


def received_text(frame: str | bytes) -> str:
    """A received frame as the journal keeps it beside what was read from it: truncated, with
    anything key-like hidden."""
    return _safe_raw(frame)
