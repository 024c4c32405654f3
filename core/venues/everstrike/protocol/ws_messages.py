"""The messages we send on the WebSocket: authentication, the keep-alive, subscriptions."""

from __future__ import annotations

import json

from core.venues.everstrike.protocol.errors import EncodeError


def _op(op: str, content: str) -> str:
    if not content:
        raise EncodeError("content", "Everstrike WS content must be non-empty")
    return json.dumps({"op": op, "content": content}, separators=(",", ":"))


def auth_api(api_key: str) -> str:
    return _op("auth_api", api_key)


def status() -> str:
    """The keep-alive the venue expects about every 5 s."""
    return _op("status", "empty")


def sub(pair: str, category: str = "index") -> str:
    return _op("sub", f"{pair}:{category}")


def sub_pair(pair: str) -> str:
    return _op("sub_pair", pair)


def unsub(pair: str, category: str = "index") -> str:
    return _op("unsub", f"{pair}:{category}")


def unsub_all() -> str:
    return _op("unsub_all", "empty")
