"""The Everstrike WebSocket (``/ws``): authentication by API key, public subscriptions, the
message rate limit, and the market's events as private pushes."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from core.sim.common import Outbox, Received, close_quietly, dumps, loads, record_ws, run_connection
from core.sim.everstrike.settings import EverstrikeAccount, EverstrikeSettings
from core.sim.everstrike.wire import WireObjects, ms
from core.sim.faults import Faults
from core.sim.market import (
    FillHappened,
    Market,
    MarketEvent,
    MarksMoved,
    OrderChanged,
    PositionChanged,
)

__all__ = ["EventSocket"]

PUBLIC_CATEGORIES = ("depth", "ticker", "index", "ohlcv", "match", "trades", "liquidation")


@dataclass(eq=False)
class _EsConn:
    websocket: WebSocket
    outbox: Outbox
    account: EverstrikeAccount | None = None
    subs: set[str] = field(default_factory=set)  # "PAIR:category"; sub_pair adds all seven
    recent: deque[float] = field(default_factory=deque)


class EventSocket:
    """Every connected ``/ws`` socket, its account and subscriptions."""

    def __init__(
        self, name: str, market: Market, faults: Faults, settings: EverstrikeSettings,
        accounts: dict[str, EverstrikeAccount], received: list[Received], wire: WireObjects,
        now: Callable[[], float],
    ) -> None:
        self._name = name
        self._market = market
        self._faults = faults
        self._settings = settings
        self._accounts = accounts  # by API key, shared with the venue
        self._received = received
        self._wire = wire
        self._now = now
        self._conns: set[_EsConn] = set()

    async def endpoint(self, websocket: WebSocket) -> None:
        await websocket.accept()
        conn = _EsConn(websocket, Outbox(websocket, self._faults))
        self._conns.add(conn)
        timer = asyncio.create_task(self._idle_deadline(conn))
        try:
            await run_connection(
                websocket,
                conn.outbox,
                lambda text: self._on_text(conn, text),
                lambda text: self._received.append(record_ws(self._name, websocket, text)),
                timers=[timer],
            )
        finally:
            self._conns.discard(conn)

    async def _idle_deadline(self, conn: _EsConn) -> None:
        await asyncio.sleep(self._settings.idle_timeout)
        if conn.account is None and not conn.subs:
            conn.outbox.closed = True
            await close_quietly(conn.websocket, 1008, "idle")

    @staticmethod
    def _send(conn: _EsConn, code: int, msg: str, category: str, pair: str | None,
              result: Any) -> None:
        conn.outbox.push(dumps({"code": code, "msg": msg, "category": category, "pair": pair,
                                "result": result}))

    def _error(self, conn: _EsConn, msg: str) -> None:
        self._send(conn, 400, msg, "error", None, {})

    def _on_text(self, conn: _EsConn, text: str) -> None:
        now = time.monotonic()
        conn.recent.append(now)
        while conn.recent and now - conn.recent[0] > 1.0:
            conn.recent.popleft()
        if len(conn.recent) > self._settings.max_messages_per_second:
            self._error(conn, "Too many messages")
            return
        try:
            msg = loads(text)
        except ValueError:
            self._error(conn, "Invalid JSON")
            return
        if not isinstance(msg, dict):
            self._error(conn, "Invalid message")
            return
        op, content = msg.get("op"), msg.get("content")
        if not isinstance(op, str) or not isinstance(content, str) or not content:
            self._error(conn, "op and a non-empty content are required")
            return
        if op == "auth_api":
            account = self._accounts.get(content)
            if account is None:
                self._error(conn, "Invalid API key")
                return
            conn.account = account
            self._send(conn, 200, "Authenticated", "authenticated", None, {})
        elif op == "status":
            self._send(conn, 200, "ok", "ok", None, {})
        elif op in ("sub", "sub_pair"):
            self._sub(conn, op, content)
        elif op in ("unsub", "unsub_pair"):
            conn.subs.discard(content)
            if op == "unsub_pair":
                conn.subs = {s for s in conn.subs if s.split(":")[0] != content}
            pair = content.split(":")[0]
            self._send(conn, 200, "Unsubscribed", "unsubscribed", pair,
                       {"subscriptions": sorted(conn.subs)})
        elif op == "unsub_all":
            conn.subs.clear()
            self._send(conn, 200, "Unsubscribed", "unsubscribed", None, {"subscriptions": []})
        elif op == "subscriptions":  # the README's example: a plain array of PAIR:category
            self._send(conn, 200, "subscriptions", "subscriptions", None, sorted(conn.subs))
        else:
            self._error(conn, f"Unknown op {op}")

    def _sub(self, conn: _EsConn, op: str, content: str) -> None:
        if op == "sub":
            pair, _, category = content.partition(":")
            if category not in PUBLIC_CATEGORIES:
                self._error(conn, f"Unknown category {category or '(none)'}")
                return
            wanted = {content}
        else:  # every public category of the pair, each counting toward the limit
            pair, category = content, "index"
            wanted = {f"{pair}:{c}" for c in PUBLIC_CATEGORIES}
        if pair not in self._market.instruments:
            self._error(conn, f"Unknown pair {pair}")
            return
        if len(conn.subs | wanted) > self._settings.max_public_subscriptions:
            self._error(conn, "Too many subscriptions")
            return
        conn.subs |= wanted
        self._send(conn, 200, "Subscribed", "subscribed", pair,
                   {"subscriptions": sorted(conn.subs)})
        if category == "index":
            self._push_index(conn, pair)

    # ------------------------------------------------------------------ pushes
    def on_market(self, event: MarketEvent) -> None:
        """Push a market event to the sockets that should hear it."""
        if isinstance(event, OrderChanged):
            category = {
                "added": "order_added",
                "filled": "order_completed",
                "cancelled": "order_cancelled",
                "trigger_added": "trigger_added",
                "triggered": "order_triggered",
                "trigger_failed": "trigger_failed",
                "trigger_cancelled": "trigger_cancelled",
            }.get(event.kind)  # "partial" is announced per fill below
            if category:
                self.private(event.order.account, category, event.order.symbol,
                             {"order": self._wire.order_obj(event.order)}, update=True)
        elif isinstance(event, FillHappened):
            if event.order.remaining > 0:
                self.private(event.order.account, "order_partially_completed",
                             event.order.symbol, {"order": self._wire.order_obj(event.order)},
                             update=True)
        elif isinstance(event, PositionChanged):
            pos = event.position
            category = "position_updated" if pos.size else "position_closed"
            self.private(pos.account, category, pos.symbol, self._wire.position_obj(pos))
        elif isinstance(event, MarksMoved):
            for pair in event.symbols:
                for conn in list(self._conns):
                    if f"{pair}:index" in conn.subs:
                        self._push_index(conn, pair)

    def private(self, customer_id: str, category: str, pair: str, result: Any, *,
                update: bool = False) -> None:
        """Push an event to every socket authenticated as the account."""
        text = dumps({"code": 200, "msg": "", "category": category, "pair": pair,
                      "result": result})
        for conn in list(self._conns):
            if conn.account is not None and conn.account.customer_id == customer_id:
                conn.outbox.push(text, update=update)

    def _push_index(self, conn: _EsConn, pair: str) -> None:
        inst = self._market.instruments[pair]
        self._send(conn, 200, "", "index", pair, {
            "mark": inst.mark,
            "index": inst.index,
            "underlying_price": inst.index,
            "strike": None,
            "volatility": None,
            "black_scholes": None,
            "time": ms(self._now()),
        })
