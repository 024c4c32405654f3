"""Everstrike's REST envelope ``{"code", "msg", "result"}``, the error a bad request raises,
and the replies a fault knob forces."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from starlette.responses import Response

from core.sim.common import dumps

__all__ = ["Invalid", "envelope", "forced", "plain"]

TOO_MANY = "You have done that too much recently. Care to try again in 0.043 seconds?"


class Invalid(Exception):
    """-> HTTP 503 with the documented generic envelope (and a more specific msg)."""


def _json(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status, media_type="application/json")


def plain(payload: Any) -> Response:
    """A 200 reply without the envelope (``GET /ticker`` as the official client reads it)."""
    return _json(payload)


def envelope(code: int, msg: str, result: Any, status: int | None = None) -> Response:
    return _json({"code": code, "msg": msg, "result": result}, status or code)


def forced(status: int, msg: str | None = None) -> Response:
    """The reply ``Faults.force_http`` asked for, in the shape the venue uses for it."""
    if status == 429:
        return envelope(429, msg or TOO_MANY, None)
    if status == 503:
        return envelope(503, msg or "Invalid request", {})
    if status in (408, 414):
        return envelope(414, msg or "The timestamp is too old.", None, 408)
    if status == 401:
        return envelope(401, msg or "Invalid API key", None)
    if status == 500:
        return envelope(500, msg or "Internal server error", None)
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return envelope(status, msg or phrase, None)
