"""The seeds every fuzzed frame starts from, per venue.

Three sources, all read when the suite starts:

* the seeds: every JSON object in ``docs/seeds/*.md`` (the two documents the project started
  from), found by matching braces;
* the wire shapes VENUES.md documents, written out below (``DOCUMENTED``);
* the examples the tests already use: every literal dict, and every string that reads as a JSON
  object, in the venues' protocol, order-machine and session tests and the fake venue.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
VENUES = ("everstrike", "qfex")
_SEED_FILES = {"everstrike": "everstrike-close.md", "qfex": "qfex-close-position.md"}
_TEST_FILES = {
    "everstrike": ["tests/unit/core/venues/everstrike/test_protocol.py",
                   "tests/unit/core/venues/everstrike/test_orders.py",
                   "tests/unit/core/venues/everstrike/test_session.py"],
    "qfex": ["tests/unit/core/venues/qfex/test_protocol.py",
             "tests/unit/core/venues/qfex/test_orders.py",
             "tests/unit/core/venues/qfex/test_session.py",
             "tests/helpers/venues.py"],
}

_ES_ORDER: dict[str, Any] = {
    "id": "5c9a3ea8b0c3f9a1e0d2", "pair": "USD_BTC_PERP", "side": "SELL", "type": "LIMIT",
    "customer_id": "cust-1", "leverage": 10, "price": 101.5, "price_orig": 101.5, "qty_orig": 2,
    "qty_orig_usd": 203, "qty_remaining": 1, "qty_filled": 1, "status": "ACTIVE",
    "time": 1551137077642, "time_in_force": "GTC", "oco": None, "icebergs": None,
    "trigger_price": None, "trigger_event": None, "close_on_trigger": False,
    "reduce_only": True, "post_only": False, "hidden": False, "fills": [], "msg": None,
}
_ES_TRIGGER = {**_ES_ORDER, "id": "7d1e", "type": "MARKET", "status": "UNTRIGGERED",
               "price": None, "trigger_price": 95, "trigger_event": "MARK_PRICE",
               "close_on_trigger": True}
_ES_POSITION: dict[str, Any] = {
    "size": 1, "free": 1, "locked": 0, "realized": 0, "funding": 0, "fees": 0, "fills": [],
    "stats": {"size": 1, "notional": 0.14, "margin": 1, "pnl": 0, "upnl": 0, "rpnl": 0,
              "equity": 1, "roe": 0, "mark": 2.1, "avg_entry": 3.4, "leverage": 2.82, "lp": 3.7,
              "bankrupt": 3.78, "direction": "BUY"},
}
_ES_PAIR = {
    "key": "USD_BTC_PERP", "base": "BTC", "quote": "USD", "base_precision": 8,
    "quote_precision": 2, "symbol": "BTC/USD", "description": "Bitcoin perpetual",
    "status": "TRADING",
    "filters": [
        {"filter_type": "PRICE_FILTER", "min_price": 0.5, "max_price": 1000000,
         "tick_size": 0.5, "display": 1},
        {"filter_type": "LOT_SIZE", "min_qty": 0.001, "max_qty": 1000, "tick_size": 0.001},
    ],
}


def _ws(category: str, result: object, pair: str | None = "USD_BTC_PERP") -> dict[str, Any]:
    return {"code": 200, "msg": "ok", "category": category, "pair": pair, "result": result}


def _ok(result: object) -> dict[str, Any]:
    return {"code": 200, "msg": "null", "result": result}


_QF_ORDER: dict[str, Any] = {
    "order_id": "uuid", "symbol": "AAPL-USD", "status": "ACK", "quantity": 2.0, "price": 199.8,
    "take_profit": 0.0, "stop_loss": 0.0, "side": "SELL", "type": "LIMIT",
    "time_in_force": "IOC", "user_id": "uuid", "client_order_id": "", "quantity_remaining": 2.0,
    "update_time": 1758208770.55, "trade_id": None,
}
_QF_POSITION: dict[str, Any] = {
    "id": "p1", "symbol": "AAPL-USD", "position": 0.0, "margin_alloc": 0.0, "realised_pnl": 0.0,
    "unrealised_pnl": 0.0, "net_funding": 0.0, "open_orders": 0.0, "open_quantity": 0.0,
    "leverage": 20.0, "initial_margin": 0.05, "maintenance_margin": 0.0333,
    "average_price": 0.0,
}

# The wire shapes of VENUES.md, one per documented message.
DOCUMENTED: dict[str, list[Any]] = {
    "everstrike": [
        *[_ws(c, {"order": o}) for c, o in [
            ("order_added", _ES_ORDER), ("order_partially_completed", _ES_ORDER),
            ("order_completed", {**_ES_ORDER, "status": "COMPLETED", "qty_remaining": 0}),
            ("order_cancelled", {**_ES_ORDER, "status": "CANCELLED"}),
            ("order_triggered", _ES_TRIGGER), ("trigger_added", _ES_TRIGGER),
            ("trigger_cancelled", _ES_TRIGGER),
            ("trigger_failed", {**_ES_TRIGGER, "msg": "Order was rejected due to insufficient "
                                                      "balance"})]],
        _ws("index", {"mark": 2.1, "index": 2.05, "underlying_price": 60000, "strike": 60000,
                      "volatility": 0.6, "black_scholes": 2.0}),
        _ws("position_updated", _ES_POSITION), _ws("position_closed", {"pair": "USD_BTC_PERP"}),
        _ws("authenticated", None, None), _ws("subscribed", "USD_BTC_PERP:index"),
        _ws("unsubscribed", "USD_BTC_PERP:index"), _ws("ok", None, None),
        _ws("subscriptions", ["USD_BTC_PERP:index", "USD_ETH_PERP:depth"], None),
        {"code": 400, "msg": "Invalid content", "category": "error", "pair": None,
         "result": None},
        _ws("depth", {"bids": [[100, 1]], "asks": [[101, 2]]}),
        _ok({"order": _ES_ORDER, "balances": {"USD": {"free": 100, "locked": 1, "withdrawn": 0,
                                                      "pnl": 0, "margin": 1, "fees": 0}},
             "position": _ES_POSITION}),
        {"code": 503, "msg": "Invalid request", "result": {}},
        {"code": 429, "msg": "You have done that too much recently. Care to try again in "
                             "0.043 seconds?", "result": None},
        {"code": 414, "msg": "The timestamp is too old.", "result": None},
        _ok({"USD_BTCCALL_PERP": _ES_POSITION, "USD_BTC_PERP": {**_ES_POSITION, "size": -2}}),
        _ok(_ES_POSITION), _ok({"USD_BTC_PERP": _ES_PAIR}), _ok(1551137077642),
        _ok(_ES_ORDER), _ok([_ES_ORDER, _ES_TRIGGER]), _ok([]),
        _ok({"positions": {"USD_BTC_PERP": _ES_POSITION},
             "balances": {"USD": {"free": 1, "locked": 0}}}),
    ],
    "qfex": [
        {"authenticated": True}, {"authenticated": False}, {"subscribed": "positions"},
        {"unsubscribed": "positions"},
        {"order_response": _QF_ORDER},
        {"order_response": {**_QF_ORDER, "status": "FILLED", "quantity_remaining": 0.5,
                            "trade_id": "t1"}},
        {"order_response": {**_QF_ORDER, "status": "REJECTED_MARKET_CLOSED"}},
        {"order_response": {**_QF_ORDER, "type": "STOP_LOSS", "time_in_force": "GTC"}},
        {"fill_response": {"trade_id": "t1", "user_id": "u", "symbol": "AAPL-USD",
                           "price": 199.8, "quantity": 2, "side": "SELL",
                           "aggressor_side": "SELL", "order_id": "uuid", "fee": 0.01,
                           "order_type": "LIMIT", "tif": "IOC", "order_price": 199.8,
                           "client_order_id": "c1", "remaining_quantity": 0,
                           "take_profit": 0, "stop_loss": 0, "execution_type": "TRADE",
                           "timestamp": "2025-05-09T03:47:20.505934+00:00",
                           "realised_pnl": 1.5}},
        {"position_response": _QF_POSITION},
        {"position_response": {**_QF_POSITION, "position": -3.5, "average_price": 190}},
        {"type": "position_update", "connection_id": "c", "message_id": 1, "id": "i",
         "channel": "v4_positions",
         "contents": [{**_QF_POSITION, "position": 2, "user_id": "u",
                       "timestamp": "2025-05-09T03:47:20.505934+00:00"}]},
        {"type": "balance_update", "channel": "v4_balances", "contents": [{"deposit": 1}]},
        {"balance_response": {"deposit": 1}},
        {"err": {"error_code": "RateLimited", "message": "Rate limit exceeded, retry after 250ms",
                 "incoming_message": {"type": "add_order",
                                      "params": {"symbol": "AAPL-USD",
                                                 "client_order_id": "c1"}}}},
        {"err": {"error_code": "InvalidOrder", "message": None, "incoming_message": None}},
        {"stop_order_response": {"stop_order_id": "s1", "user_id": "u", "symbol": "AAPL-USD",
                                 "price": 160, "quantity": 5, "direction": "SELL",
                                 "stop_order_type": "STOP_LOSS", "client_order_id": "c1",
                                 "update_time": 1758208770.55}},
        {"all_orders_response": {"orders": [_QF_ORDER], "twaps": []}},
        {"ack": {"incoming_message": {"type": "cancel_stop_order",
                                      "params": {"stop_order_id": "s1"}}}},
        {"type": "mark_price", "symbol": "AAPL-USD", "price": "437.45",
         "time": "2025-05-08T20:52:48.000Z"},
        {"type": "market_stats", "sequence": 5, "time": "2025-05-08T20:52:48.000Z",
         "symbol": "*", "bbos": [],
         "mark_prices": [{"time": "t", "symbol": "AAPL-USD", "price": "437.45"}],
         "open_interests": [], "daily_volumes": []},
        {"type": "refdata", "data": [{"symbol": "AAPL-USD", "tick_size": "0.01",
                                      "lot_size": "0.1", "min_price": "1", "max_price": "10000",
                                      "min_quantity": "0.1", "max_quantity": "1000",
                                      "status": "ACTIVE", "quote_asset": "usd"}]},
        {"positions": [{"symbol": "AAPL-USD", "position": 2, "average_price": 190,
                        "realised_pnl": 0, "unrealised_pnl": 20, "net_funding": 0,
                        "open_orders": 0, "open_quantity": 0, "leverage": 20,
                        "initial_margin": 0, "maintenance_margin": 0}],
         "balance": {"deposit": 0, "available_balance": 0}},
        {"positions": None, "balance": {}},
        {"title": "Unauthorized", "status": 401, "detail": "invalid signature",
         "errors": [{"location": "header.x-qfex-hmac-signature", "message": "mismatch",
                     "value": "x"}], "type": "about:blank", "instance": "/user/positions"},
    ],
}


def _objects_in(text: str) -> Iterator[Any]:
    """Every JSON object in ``text`` that parses, found by matching braces."""
    for start, char in enumerate(text):
        if char != "{":
            continue
        depth = 0
        for end in range(start, len(text)):
            depth += {"{": 1, "}": -1}.get(text[end], 0)
            if depth == 0:
                try:
                    value = json.loads(text[start:end + 1], parse_float=Decimal)
                except ValueError:
                    break
                yield value
                break


def _literal(node: ast.AST) -> Any:
    """A literal the way the tests write one: constants, containers, ``Decimal("...")``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            raise ValueError("** in a dict")
        return {_literal(k): _literal(v) for k, v in zip(node.keys, node.values, strict=True)
                if k is not None}
    if isinstance(node, ast.List | ast.Tuple):
        return [_literal(e) for e in node.elts]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_literal(node.operand)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
            and node.func.id in ("Decimal", "D") and len(node.args) == 1:
        return Decimal(_literal(node.args[0]))
    raise ValueError("not a literal")


def _harvest(path: Path) -> Iterator[Any]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict) and len(node.keys) >= 2:
            try:
                value = _literal(node)
            except (ValueError, TypeError, ArithmeticError):
                continue
            if all(isinstance(k, str) for k in value):
                yield value
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and node.value.lstrip().startswith("{"):
            yield from _objects_in(node.value)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


@cache
def seeds(venue: str) -> tuple[Any, ...]:
    """Every seed of ``venue``, each once: the seed document's, VENUES.md's, the tests'."""
    found: dict[str, Any] = {}
    doc = ROOT / "docs" / "seeds" / _SEED_FILES[venue]
    sources = [_objects_in(doc.read_text(encoding="utf-8")), iter(DOCUMENTED[venue])]
    sources += [_harvest(ROOT / name) for name in _TEST_FILES[venue] if (ROOT / name).exists()]
    for source in sources:
        for value in source:
            found.setdefault(_key(value), value)
    return tuple(found.values())


@cache
def vocabulary(venue: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(keys, short string values) seen in ``venue``'s seeds: what mutations swap in, so a
    mutated frame still reaches the parsers' branches."""
    keys: set[str] = set()
    words: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                keys.add(k)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and len(value) <= 40:
            words.add(value)

    for seed in seeds(venue):
        walk(seed)
    return tuple(sorted(keys)), tuple(sorted(words))
