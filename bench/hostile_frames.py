"""Hostile frames for the live fuzz: every one is something neither venue documents, so a client
must not understand it, and each must cost exactly one protocol error.

They are built from the documented frame shapes of each socket (VENUES.md), then broken on
purpose in one way, by kind. Nothing here imports the client's protocol code: what counts as
"bad" is decided from the documents, so a client that accepted one of these would show up as
a miscount instead of being excused by its own parser.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any, Final

__all__ = ["KINDS", "OVERSIZED", "SOCKETS", "hostile", "oversized"]

# The sockets a hostile frame can arrive on: name -> the simulator's WebSocket path.
SOCKETS: Final = {"qfex-trade": "/", "qfex-mds": "/mds", "everstrike": "/ws"}

KINDS: Final = ("malformed_json", "truncated", "wrong_types", "huge_numbers",
                "unknown_category", "binary")
OVERSIZED: Final = "oversized"

# Documented shapes (VENUES.md 1.5, 1.8, 1.9, 2.6); values are made up.
_QFEX_TRADE: Final[tuple[dict[str, Any], ...]] = (
    {"order_response": {"order_id": "9f1c", "symbol": "AAPL-USD", "status": "ACK",
                        "quantity": 2.0, "price": 199.8, "side": "SELL", "type": "LIMIT",
                        "time_in_force": "IOC", "client_order_id": "fz-1",
                        "quantity_remaining": 2.0, "update_time": 1758208770.55}},
    {"position_response": {"id": "p1", "symbol": "AAPL-USD", "position": 5.0,
                           "average_price": 210.0, "unrealised_pnl": 0.0, "leverage": 20.0}},
    {"fill_response": {"order_id": "9f1c", "symbol": "AAPL-USD", "side": "SELL",
                       "price": 199.8, "quantity": 1.0, "trade_id": "t1",
                       "timestamp": 1758208770.55}},
)
_QFEX_MDS: Final[tuple[dict[str, Any], ...]] = (
    {"type": "mark_price", "symbol": "AAPL-USD", "price": "220.5", "time": "2025-05-09T03:47"},
    {"type": "market_stats", "mark_prices": [{"symbol": "AAPL-USD", "price": "220.5"}]},
)
_EVERSTRIKE: Final[tuple[dict[str, Any], ...]] = (
    {"code": 200, "msg": "", "category": "index", "pair": "USD_ETH_PERP",
     "result": {"mark": 4400.5, "index": 4400.1}},
    {"code": 200, "msg": "", "category": "order_added", "pair": "USD_ETH_PERP",
     "result": {"order": {"id": "ab12", "pair": "USD_ETH_PERP", "side": "BUY", "price": 4400,
                          "qty_orig": 1, "qty_remaining": 1, "status": "ACTIVE"}}},
    {"code": 200, "msg": "", "category": "position_updated", "pair": "USD_ETH_PERP",
     "result": {"size": -3.5, "stats": {"mark": 4400, "avg_entry": 4400, "direction": "SELL"}}},
)
_SHAPES: Final = {"qfex-trade": _QFEX_TRADE, "qfex-mds": _QFEX_MDS, "everstrike": _EVERSTRIKE}

# One field per shape whose documented type is swapped: (path into the frame).
_TYPED: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    "qfex-trade": (("order_response", "status"), ("position_response", "position"),
                   ("fill_response", "quantity")),
    "qfex-mds": (("symbol",), ("mark_prices",)),
    "everstrike": (("result", "mark"), ("result", "order"), ("result", "size")),
}
_WRONG: Final[dict[tuple[str, ...], tuple[Any, ...]]] = {
    # A string where a string belongs is fine, so each field gets only types it cannot have.
    ("order_response", "status"): (7, [], {"a": 1}, True, None),
    ("position_response", "position"): ("lots", [], {"a": 1}, True),
    ("fill_response", "quantity"): ("one", [1], {"a": 1}, False),
    ("symbol",): (7, [], {"a": 1}, True),
    ("mark_prices",): (7, "AAPL", {"a": 1}, True),
    ("result", "mark"): ("high", [], {"a": 1}, True),
    ("result", "order"): ("ab12", 7, [], True),
    ("result", "size"): ("big", [], {"a": 1}, True),
}
# Where a huge number goes, per shape, and the exponents: QFEX bounds every number at
# |exponent| <= 60; Everstrike numbers are refused as unreadable beyond that too.
_HUGE_AT: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    "qfex-trade": (("order_response", "quantity"), ("position_response", "position"),
                   ("fill_response", "price")),
    "qfex-mds": (("price",), ("mark_prices", "0", "price")),
    "everstrike": (("result", "mark"), ("result", "order", "qty_orig"), ("result", "size")),
}
_UNKNOWN: Final[dict[str, Callable[[random.Random], dict[str, Any]]]] = {
    "qfex-trade": lambda r: {f"mystery_{r.randrange(10**6)}_response": {"symbol": "AAPL-USD"}},
    "qfex-mds": lambda r: {"type": f"mystery_{r.randrange(10**6)}", "symbol": "AAPL-USD"},
    "everstrike": lambda r: {"code": 200, "msg": "", "category": f"mystery_{r.randrange(10**6)}",
                             "pair": "USD_ETH_PERP", "result": {}},
}


def _dump(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _set(frame: Any, path: tuple[str, ...], value: Any) -> None:
    """Put ``value`` at ``path`` (a list index as a digit string) in ``frame``, in place."""
    target = frame
    for step in path[:-1]:
        target = target[int(step)] if isinstance(target, list) else target[step]
    last = path[-1]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value


def _with(shape_of: str, rng: random.Random, paths: dict[str, tuple[tuple[str, ...], ...]]
          ) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A fresh copy of the shape that has one of ``paths``, and that path."""
    path = rng.choice(paths[shape_of])
    for shape in _SHAPES[shape_of]:
        head = shape
        try:
            for step in path[:-1]:
                head = head[int(step)] if isinstance(head, list) else head[step]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(head, list) or path[-1] in head:
            frame: dict[str, Any] = json.loads(_dump(shape))
            return frame, path
    raise LookupError(f"no {shape_of} shape has {path}")


# Exponents of the huge numbers, all outside the bound of |exponent| <= 60 on venue numbers.
EXPONENTS: Final = (61, 99, 400, 5000, 999_999, 10**12, 10**20)
# Both venues' parsers hold numbers to the same bound (core/bounds.py).
EVERSTRIKE_EXPONENTS: Final[tuple[int, ...]] = EXPONENTS


def _huge(rng: random.Random, exponents: tuple[int, ...] = EXPONENTS) -> str:
    """A JSON number far outside any venue's range, as text (json.dumps cannot write it)."""
    exponent = rng.choice(exponents)
    sign = rng.choice(("", "-"))
    return f"{sign}{rng.randint(1, 9)}e{rng.choice(('', '+'))}{exponent}"


def hostile(socket: str, kind: str, rng: random.Random) -> str | bytes:
    """One hostile frame of ``kind`` for ``socket`` (a key of SOCKETS)."""
    shape = rng.choice(_SHAPES[socket])
    text = _dump(shape)
    if kind == "malformed_json":
        how = rng.randrange(4)
        if how == 0:
            return "{" + text  # a key must be a string
        if how == 1:
            return text + rng.choice(("}", "]", ",", "x"))  # trailing data
        if how == 2:
            return text.replace(":", rng.choice((";", "=", " ")), 1)  # no key separator
        return "".join(rng.choice("{}[]:,\"'\\ ") for _ in range(rng.randint(1, 60)))
    if kind == "truncated":
        return text[: rng.randint(1, len(text) - 1)]  # a JSON object's strict prefix
    if kind == "wrong_types":
        frame, path = _with(socket, rng, _TYPED)
        _set(frame, path, rng.choice(_WRONG[path]))
        return _dump(frame)
    if kind == "huge_numbers":
        frame, path = _with(socket, rng, _HUGE_AT)
        marker = "__HUGE__"
        _set(frame, path, marker)
        huge = _huge(rng, EVERSTRIKE_EXPONENTS if socket == "everstrike" else EXPONENTS)
        # MDS quotes its numbers (VENUES.md 3), so there the huge number is a string.
        return _dump(frame).replace(f'"{marker}"', f'"{huge}"' if socket == "qfex-mds" else huge)
    if kind == "unknown_category":
        return _dump(_UNKNOWN[socket](rng))
    if kind == "binary":
        # Not UTF-8 (0xC0 never is) and no byte-order mark: bytes no JSON text starts with.
        return bytes([0xC0, 0x80]) + rng.randbytes(rng.randint(0, 200))
    raise ValueError(f"unknown kind {kind!r}")


def oversized(limit: int) -> str:
    """A syntactically fine frame just over ``limit`` bytes: the socket must refuse it."""
    pad = limit + 1 - len('{"pad":""}')
    return '{"pad":"' + "x" * pad + '"}'
