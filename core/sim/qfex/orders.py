"""Simulated QFEX: trade WebSocket, market-data WebSocket and REST on one loopback server.

Written from the venue documentation (VENUES.md section 1 and docs/seeds/qfex-close-position.md),
never from our client code, so a client bug cannot be mirrored here. Paths:

* ``/``      trade WS (``?api_key=`` and the ``x-qfex-*`` handshake headers are accepted and
             ignored; the ``auth`` message is what authenticates)
* ``/mds``   market-data WS (public)
* ``GET /user/positions`` (HMAC headers), ``GET /refdata[?ticker=]`` (public)

Assumptions where the documentation is silent (each also noted at its code):

* ``unix_ts`` may differ from the server clock by at most ``auth_window`` (30 s) either way.
* Nonces must be lower-case or upper-case hex, 1-100 chars; a nonce is remembered per public key
  for ``nonce_window`` (15 min, documented) once it authenticated successfully.
* A failed auth replies ``{"authenticated": false}`` and leaves the socket open.
* The ``x-qfex-*`` handshake headers are not verified (the CLI sends them *and* the auth message).
* ``close_position`` with no open position -> ``order_response`` status REJECTED, quantity 0.
* ``close_position`` is pegged at the touch (SELL at the bid, BUY at the ask).
* A FILLED ``order_response`` carries the fills' average price; ACK carries the limit price.
* A standalone TAKE_PROFIT/STOP_LOSS ``add_order`` is ACKed on ``order_responses`` (type = the
  stop type, price = trigger) and shown on ``stop_orders``; a trigger already on the wrong side
  of the mark is rejected with INVALID_TAKEPROFIT_PRICE / INVALID_STOPLOSS_PRICE.
* An ALO order that would cross is REJECTED.
* ``get_user_orders`` lists stops with ``order_id`` = ``stop_order_id`` (UNKNOWN #7).
* ``cancel_stop_order`` answers ``{"ack":{"incoming_message":...}}`` and sends nothing on
  ``stop_orders`` (the documented ``stop_order_response`` has no status field to say
  "cancelled"); the stop leaves ``get_user_orders``. A stop that fires or fails also just
  leaves. An unknown ``stop_order_id`` gets ``err`` InvalidOrder.
* ``cancel_order`` on a stop answers the caller CANCELLED with the stop's type and trigger.
* A rejected order's ``quantity_remaining`` equals its ``quantity`` (nothing was filled), and
  ``get_order`` on a rejected order's ``order_id`` returns the rejection again.
* Rate limit (off unless ``QfexSettings.rate_limit_budget`` is set): the documented weights,
  summed per user over a sliding ``rate_limit_window`` (the docs say "an EMA"), in two buckets
  (cancels; everything else) that each get the whole budget. ``close_position`` is not in the
  weight table: it weighs ``rate_limit_default_weight`` (1, like ``add_order``). A refused
  request is not executed, does not count, and gets ``err`` RateLimited whose message carries
  the hint as "Rate limit exceeded, retry after <N>ms" (format UNKNOWN, VENUES.md 1.11 #2).
* ``positions``/``balances`` also push a snapshot right after subscribing.
* ``fill_response.timestamp`` is epoch seconds (a JSON number, like ``update_time``).
* MDS ``subscribe`` gets no acknowledgement; unsupported channels get
  ``{"type":"error","message":...}``; ``mark_price`` sends the current mark on subscribe.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import math
import random
import re
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from core.sim import demo
from core.sim.common import (
    Outbox,
    Received,
    TransportRegistry,
    close_quietly,
    dumps,
    loads,
    record_http,
    record_ws,
    run_connection,
    wait_while_silent,
)
from core.sim.faults import RATE_LIMITED_MESSAGE, Faults
from core.sim.market import (
    ACTIVE,
    BUY,
    CANCELLED,
    FILLED,
    PARTIAL,
    SELL,
    UNTRIGGERED,
    ZERO,
    FillHappened,
    Market,
    MarketEvent,
    MarksMoved,
    OrderChanged,
    Rejected,
    SimInstrument,
    SimOrder,
    SimPosition,
)

__all__ = ["QfexAccount", "QfexSettings", "QfexVenue"]

CHANNELS = ("order_responses", "stop_orders", "positions", "balances", "fills")
ORDER_TYPES = ("LIMIT", "MARKET", "ALO", "TAKE_PROFIT", "STOP_LOSS")
STOP_TYPES = ("TAKE_PROFIT", "STOP_LOSS")
TIFS = ("GTC", "IOC", "FOK")
MDS_CHANNELS = ("market_stats", "mark_price")
HEX = re.compile(r"[0-9a-fA-F]{1,100}")
LEVERAGE = Decimal(20)
INITIAL_MARGIN = Decimal("0.05")
MAINTENANCE_MARGIN = Decimal("0.0333")
DEPOSIT = Decimal(100000)
REJECTIONS_KEPT = 1000  # rejected orders get_order can still answer for

# VENUES.md 1.9, current weights (the docs changed them once: keep them in settings).
RATE_WEIGHTS: dict[str, float] = {
    "add_order": 1.0,
    "cancel_order": 1.0,
    "modify_order": 1.0,
    "get_order": 2.0,
    "get_user_orders": 5.0,
    "cancel_all_orders": 2.0,
    "get_user_trades": 0.5,
    "subscribe": 0.1,
    "unsubscribe": 0.1,
    "cancel_stop_order": 1.0,
    "modify_stop_order": 1.0,
    "cancel_on_disconnect": 0.1,
}
CANCEL_BUCKET = frozenset({"cancel_order", "cancel_all_orders", "cancel_stop_order"})


@dataclass
class QfexSettings:
    """Timings and windows. Read live, so a test may change them while the sim runs."""

    auth_window: float = 30.0  # ASSUMPTION: max |now - unix_ts| in seconds (not documented)
    nonce_window: float = 900.0  # documented: nonces unique within 15 minutes
    auth_timeout: float = 60.0  # documented: authenticate within 1 minute or the socket closes
    positions_interval: float = 1.0  # documented 1 s pulses (positions and balances channels)
    mds_interval: float = 1.0  # documented 1 s market_stats pulses
    ping_interval: float | None = 20.0  # server WS pings (period undocumented); read at start
    ping_timeout: float | None = 20.0
    # Documented: 12,000 weight units per 60 s per user. None = not enforced (the default, so
    # demo mode and tests that flood are not throttled).
    rate_limit_budget: float | None = None
    rate_limit_window: float = 60.0
    rate_limit_weights: dict[str, float] = field(default_factory=lambda: dict(RATE_WEIGHTS))
    rate_limit_default_weight: float = 1.0  # ASSUMPTION: for close_position and unlisted types


@dataclass
class QfexAccount:
    name: str
    public_key: str
    secret_key: str
    account_id: str  # also the user_id on the wire and the market's account key


class _BadParam(Exception):
    pass


@dataclass(eq=False)
class _TradeConn:
    websocket: WebSocket
    outbox: Outbox
    account: QfexAccount | None = None
    channels: set[str] = field(default_factory=set)
    cancel_on_disconnect: bool = False
    positions_pushed: bool = False
    message_id: int = 0


@dataclass(eq=False)
class _MdsConn:
    websocket: WebSocket
    outbox: Outbox
    stats: bool = False
    marks: set[str] = field(default_factory=set)  # symbols, or "*"
    sequence: int = 0


async def _pulses(interval: Callable[[], float]) -> AsyncIterator[None]:
    """Yield every ``interval()`` seconds, re-reading the setting so a test can shorten it
    while the simulator runs."""
    last = time.monotonic()
    while True:
        await asyncio.sleep(max(0.001, min(interval(), 0.05)))
        if time.monotonic() - last >= interval():
            last = time.monotonic()
            yield None


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _secs(t: float) -> Decimal:
    return Decimal(f"{t:.6f}")


class QfexVenue:
    """One simulated QFEX. All methods run on the simulator's event loop thread."""

    name = "qfex"

    def __init__(self, *, seed: int = 7) -> None:
        self.faults = Faults()
        self.settings = QfexSettings()
        self.received: list[Received] = []
        self._rng = random.Random(f"qfex:{seed}")
        self.market = Market(
            demo.qfex_instruments(), seed=seed, id_factory=self._new_id, clock=self.now
        )
        self.market.subscribe(self._on_market)
        self.accounts: dict[str, QfexAccount] = {}  # by public key
        self.registry = TransportRegistry()
        self.closing = asyncio.Event()
        self._trade: set[_TradeConn] = set()
        self._mds: set[_MdsConn] = set()
        self._nonces: dict[tuple[str, str], float] = {}
        self._wire: dict[str, tuple[str, str]] = {}  # order id -> (wire type, wire tif)
        self._next_wire: tuple[str, str] | None = None
        self._attached: dict[str, tuple[Decimal, Decimal]] = {}  # order id -> (tp, sl)
        self._taking = False  # True while a new order is being matched (taker fills)
        self._fired: set[str] = set()  # stops that triggered (their wire type is now MARKET)
        self._rejections: dict[str, dict[str, Any]] = {}  # order id -> rejected order_response
        self._spent: dict[tuple[str, str], deque[tuple[float, Decimal]]] = {}
        self.market.trigger_veto = lambda _order: self.faults.take_trigger_failure()

    # ------------------------------------------------------------------ setup
    def now(self) -> float:
        return time.time() + self.faults.clock_skew

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def add_account(
        self,
        name: str,
        positions: list[tuple[str, Decimal, Decimal]],
        *,
        public_key: str | None = None,
        secret_key: str | None = None,
        account_id: str | None = None,
    ) -> QfexAccount:
        digest = hashlib.sha256(f"qfex:{name}".encode()).hexdigest()
        account = QfexAccount(
            name=name,
            public_key=public_key or f"qfex_pub_{name}",
            secret_key=secret_key or f"qfex_secret_{digest[:32]}",
            account_id=account_id or str(uuid.UUID(digest[32:64], version=4)),
        )
        if account.public_key in self.accounts:
            raise ValueError(f"QFEX public key {account.public_key!r} already exists")
        self.accounts[account.public_key] = account
        for symbol, size, entry in positions:
            if symbol not in self.market.instruments:
                raise ValueError(f"unknown QFEX symbol {symbol!r}")
            self.market.set_position(account.account_id, symbol, Decimal(size), Decimal(entry))
        return account

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        return Starlette(
            routes=[
                WebSocketRoute("/", self._trade_ws),
                WebSocketRoute("/mds", self._mds_ws),
                Route("/{path:path}", self._http, methods=methods),
            ]
        )

    async def background(self) -> None:
        """Periodic pushes: positions and balances, and MDS market_stats."""
        await asyncio.gather(self._positions_loop(), self._stats_loop())

    # ------------------------------------------------------------------ auth
    def _verify(
        self, public_key: str, nonce: str, unix_ts: int, signature: str
    ) -> QfexAccount | str:
        """The documented HMAC recipe; returns the account or why it failed."""
        account = self.accounts.get(public_key)
        if account is None:
            return "unknown public key"
        if not HEX.fullmatch(nonce):
            return "nonce must be 1-100 hex characters"
        expected = hmac.new(
            account.secret_key.encode(), f"{nonce}:{unix_ts}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "bad signature"
        now = self.now()
        if abs(now - unix_ts) > self.settings.auth_window:
            return "timestamp outside the allowed window"
        for key, seen in list(self._nonces.items()):
            if now - seen > self.settings.nonce_window:
                del self._nonces[key]
        if (public_key, nonce) in self._nonces:
            return "nonce already used"
        self._nonces[(public_key, nonce)] = now
        return account

    # ------------------------------------------------------------------ trade WS
    async def _trade_ws(self, websocket: WebSocket) -> None:
        await websocket.accept()
        conn = _TradeConn(websocket, Outbox(websocket, self.faults))
        self._trade.add(conn)
        timer = asyncio.create_task(self._auth_deadline(conn))
        try:
            await run_connection(
                websocket,
                conn.outbox,
                lambda text: self._on_trade_text(conn, text),
                lambda text: self.received.append(record_ws(self.name, websocket, text)),
                timers=[timer],
            )
        finally:
            self._trade.discard(conn)
            if conn.cancel_on_disconnect and conn.account is not None:
                for order in self.market.open_orders(conn.account.account_id):
                    if order.status != UNTRIGGERED:
                        self.market.cancel(order.account, order.id)

    async def _auth_deadline(self, conn: _TradeConn) -> None:
        await asyncio.sleep(self.settings.auth_timeout)
        if conn.account is None:
            conn.outbox.closed = True
            await close_quietly(conn.websocket, 1008, "authentication timeout")

    def _send(self, conn: _TradeConn, payload: Any, *, update: bool = False) -> None:
        conn.outbox.push(dumps(payload, float_style=True), update=update)

    def _err(self, conn: _TradeConn, code: str, message: str | None, incoming: Any) -> None:
        self._send(
            conn, {"err": {"error_code": code, "message": message, "incoming_message": incoming}}
        )

    def _on_trade_text(self, conn: _TradeConn, text: str) -> None:
        try:
            msg = loads(text)
        except ValueError:
            self._err(conn, "InvalidJSONFormat", "message is not valid JSON", None)
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            self._err(conn, "InvalidParameter", "missing message type", msg)
            return
        kind: str = msg["type"]
        forced = self.faults.take_error(kind)
        if forced is not None:
            self._err(conn, forced.error_code, forced.message, msg)
            return
        params = msg.get("params", {})
        if not isinstance(params, dict):
            self._err(conn, "InvalidParameter", "params must be an object", msg)
            return
        if kind == "auth":
            self._auth(conn, params, msg)
            return
        if conn.account is None:
            self._err(conn, "PermissionDenied", "not authenticated", msg)
            return
        limited = self._rate_limited(conn.account, kind)
        if limited is not None:
            self._err(conn, "RateLimited", limited, msg)
            return
        handler = {
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "close_position": self._close_position,
            "add_order": self._add_order,
            "cancel_order": self._cancel_order,
            "cancel_all_orders": self._cancel_all,
            "modify_order": self._modify_order,
            "get_order": self._get_order,
            "get_user_orders": self._get_user_orders,
            "cancel_stop_order": self._cancel_stop,
            "modify_stop_order": self._modify_stop,
            "cancel_on_disconnect": self._cancel_on_disconnect,
        }.get(kind)
        if handler is None:
            self._err(conn, "InvalidParameter", f"unknown message type {kind!r}", msg)
            return
        try:
            handler(conn, params, msg)
        except _BadParam as exc:
            self._err(conn, "InvalidParameter", str(exc), msg)

    def _rate_limited(self, account: QfexAccount, kind: str) -> str | None:
        """Charge ``kind``'s weight to the user's bucket; the RateLimited message if over."""
        budget = self.settings.rate_limit_budget
        if budget is None:
            return None
        weight = Decimal(str(self.settings.rate_limit_weights.get(
            kind, self.settings.rate_limit_default_weight)))
        bucket = "cancel" if kind in CANCEL_BUCKET else "general"
        spent = self._spent.setdefault((account.account_id, bucket), deque())
        now, window = time.monotonic(), self.settings.rate_limit_window
        while spent and now - spent[0][0] >= window:
            spent.popleft()
        used = sum((w for _, w in spent), ZERO)
        excess = used + weight - Decimal(str(budget))
        if excess <= 0:
            spent.append((now, weight))
            return None
        wait, freed = window, ZERO
        for at, w in spent:  # retry once enough weight has left the window
            freed += w
            if freed >= excess:
                wait = at + window - now
                break
        return RATE_LIMITED_MESSAGE.format(ms=max(1, math.ceil(wait * 1000)))

    def _auth(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        if conn.account is not None:
            self._err(conn, "AlreadyAuthenticated", "already authenticated", msg)
            return
        creds = params.get("hmac")
        if not isinstance(creds, dict):
            if "jwt" in params:  # JWT auth exists at the venue but is not simulated
                self._send(conn, {"authenticated": False})
                return
            self._err(conn, "InvalidParameter", "params.hmac is required", msg)
            return
        keys = ("public_key", "nonce", "unix_ts", "signature")
        pub, nonce, ts, sig = (creds.get(k) for k in keys)
        if not (
            isinstance(pub, str)
            and isinstance(nonce, str)
            and isinstance(sig, str)
            and isinstance(ts, int)
            and not isinstance(ts, bool)
        ):
            self._err(conn, "InvalidParameter", "hmac needs public_key, nonce, unix_ts, signature",
                      msg)
            return
        result = self._verify(pub, nonce, ts, sig)
        account_id = params.get("account_id")
        if isinstance(result, QfexAccount) and account_id not in (None, result.account_id):
            result = "unknown account_id"
        if isinstance(result, str):
            self._send(conn, {"authenticated": False})
            return
        conn.account = result
        self._send(conn, {"authenticated": True})

    # ------------------------------------------------------------------ parameters
    @staticmethod
    def _str(params: dict[str, Any], key: str, default: str | None = None) -> str:
        value = params.get(key, default)
        if not isinstance(value, str):
            raise _BadParam(f"{key} must be a string")
        return value

    @staticmethod
    def _dec(params: dict[str, Any], key: str, default: Decimal | None = None) -> Decimal:
        value = params.get(key)
        if value is None:
            if default is None:
                raise _BadParam(f"{key} is required")
            return default
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise _BadParam(f"{key} must be a number")
        return Decimal(value)

    @staticmethod
    def _flag(params: dict[str, Any], key: str) -> bool:
        value = params.get(key, False)
        if not isinstance(value, bool):
            raise _BadParam(f"{key} must be true or false")
        return value

    # ------------------------------------------------------------------ subscriptions
    def _channels(self, params: dict[str, Any]) -> list[str]:
        channels = params.get("channels")
        if not isinstance(channels, list) or not channels:
            raise _BadParam("channels must be a non-empty list")
        for ch in channels:
            if ch not in CHANNELS:
                raise _BadParam(f"unknown channel {ch!r}")
        return list(channels)

    def _subscribe(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        for ch in self._channels(params):
            conn.channels.add(ch)
            self._send(conn, {"subscribed": ch})
            if ch == "positions":
                self._push_positions(conn)
            elif ch == "balances":
                self._push_balance(conn)

    def _unsubscribe(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        for ch in self._channels(params):
            conn.channels.discard(ch)
            self._send(conn, {"unsubscribed": ch})

    def _account_conns(self, account_id: str, channel: str) -> list[_TradeConn]:
        return [
            c
            for c in self._trade
            if c.account is not None
            and c.account.account_id == account_id
            and channel in c.channels
        ]

    # ------------------------------------------------------------------ order wire format
    def _wire_of(self, order: SimOrder) -> tuple[str, str]:
        wire = self._wire.get(order.id)
        if wire and (wire[0] not in STOP_TYPES or order.id not in self._fired):
            return wire
        return order.order_type, order.tif

    @staticmethod
    def _vwap(order: SimOrder, inst: SimInstrument) -> Decimal:
        qty = sum((f.quantity for f in order.fills), ZERO)
        if not qty:
            return order.price
        return inst.q_price(sum((f.price * f.quantity for f in order.fills), ZERO) / qty)

    def _status_of(self, order: SimOrder) -> str:
        if order.status in (ACTIVE, UNTRIGGERED):
            return "ACK"
        if order.status in (PARTIAL, FILLED):
            return "FILLED"
        if order.status == CANCELLED:
            ioc = order.tif in ("IOC", "FOK") or order.order_type == "MARKET"
            return "FILLED" if ioc and order.filled > 0 else "CANCELLED"
        return "REJECTED"

    def _order_body(self, order: SimOrder, status: str) -> dict[str, Any]:
        inst = self.market.instruments[order.symbol]
        wire_type, wire_tif = self._wire_of(order)
        price = self._vwap(order, inst) if status == "FILLED" else order.price
        if wire_type in STOP_TYPES and order.trigger_price is not None:
            price = order.trigger_price
        tp, sl = self._attached.get(order.id, (ZERO, ZERO))
        return {
            "order_id": order.id,
            "symbol": order.symbol,
            "status": status,
            "quantity": order.quantity,
            "price": price,
            "take_profit": tp,
            "stop_loss": sl,
            "side": order.side,
            "type": wire_type,
            "time_in_force": wire_tif,
            "user_id": order.account,
            "client_order_id": order.client_order_id,
            "quantity_remaining": order.remaining,
            "update_time": _secs(order.updated),
            "trade_id": order.fills[-1].trade_id if status == "FILLED" and order.fills else None,
        }

    def _reject_body(
        self, account_id: str, params: dict[str, Any], status: str, *, order_type: str,
        tif: str, side: str,
    ) -> dict[str, Any]:
        def num(key: str) -> Decimal:
            v = params.get(key)
            return Decimal(v) if isinstance(v, int | Decimal) and not isinstance(v, bool) else ZERO

        cid = params.get("client_order_id")
        return {
            "order_id": self._new_id(),
            "symbol": str(params.get("symbol", "")),
            "status": status,
            "quantity": num("quantity"),
            "price": num("price"),
            "take_profit": num("take_profit"),
            "stop_loss": num("stop_loss"),
            "side": side,
            "type": order_type,
            "time_in_force": tif,
            "user_id": account_id,
            "client_order_id": cid if isinstance(cid, str) else "",
            "quantity_remaining": num("quantity"),  # nothing filled
            "update_time": _secs(self.now()),
            "trade_id": None,
        }

    def _reply_rejection(self, conn: _TradeConn, body: dict[str, Any]) -> None:
        """Answer a refused add_order/close_position, and remember it for ``get_order``."""
        self._rejections[body["order_id"]] = body
        while len(self._rejections) > REJECTIONS_KEPT:
            del self._rejections[next(iter(self._rejections))]
        self._reply_order(conn, body)

    def _reply_order(self, conn: _TradeConn, body: dict[str, Any]) -> None:
        """order_responses are delivered only when subscribed (breaking change 2025-09-25)."""
        if "order_responses" in conn.channels:
            self._send(conn, {"order_response": body}, update=True)

    def _stop_body(self, order: SimOrder) -> dict[str, Any]:
        wire_type, _ = self._wire.get(order.id, ("STOP_LOSS", "GTC"))
        return {
            "stop_order_id": order.id,
            "user_id": order.account,
            "symbol": order.symbol,
            "price": order.trigger_price,
            "quantity": order.quantity,
            "direction": order.side,
            "stop_order_type": wire_type,
            "client_order_id": order.client_order_id,
            "update_time": _secs(order.updated),
        }

    # ------------------------------------------------------------------ market events
    def _on_market(self, event: MarketEvent) -> None:
        if isinstance(event, OrderChanged):
            self._on_order(event)
        elif isinstance(event, FillHappened):
            self._on_fill(event)
        elif isinstance(event, MarksMoved):
            self._on_marks(event.symbols)

    def _on_order(self, event: OrderChanged) -> None:
        order = event.order
        if event.kind in ("added", "trigger_added") and self._next_wire is not None:
            self._wire[order.id] = self._next_wire
        if event.kind == "triggered":
            self._fired.add(order.id)
        if event.kind == "trigger_added":
            for conn in self._account_conns(order.account, "stop_orders"):
                self._send(conn, {"stop_order_response": self._stop_body(order)})
        status = {
            "added": "ACK",
            "trigger_added": "ACK",
            "partial": "FILLED",
            "filled": "FILLED",
            "trigger_failed": "REJECTED",
        }.get(event.kind)
        if event.kind == "cancelled":
            status = self._status_of(order)
        if status is None:  # "triggered" is internal; "trigger_cancelled" is answered by an ack
            return
        body = self._order_body(order, status)
        for conn in self._account_conns(order.account, "order_responses"):
            self._send(conn, {"order_response": body}, update=True)

    def _on_fill(self, event: FillHappened) -> None:
        fill, order = event.fill, event.order
        wire_type, wire_tif = self._wire_of(order)
        tp, sl = self._attached.get(order.id, (ZERO, ZERO))
        # Taker: filled while being placed, or a market/IOC order (a fired stop); else maker.
        taker = self._taking or order.order_type == "MARKET" or order.tif in ("IOC", "FOK")
        body = {
            "trade_id": fill.trade_id,
            "user_id": fill.account,
            "symbol": fill.symbol,
            "price": fill.price,
            "quantity": fill.quantity,
            "side": fill.side,
            "aggressor_side": fill.side if taker else (SELL if fill.side == BUY else BUY),
            "order_id": order.id,
            "fee": fill.fee,
            "order_type": wire_type,
            "tif": wire_tif,
            "order_price": order.price,
            "client_order_id": order.client_order_id,
            "remaining_quantity": order.remaining,
            "take_profit": tp,
            "stop_loss": sl,
            "execution_type": "TAKER" if taker else "MAKER",
            "timestamp": _secs(fill.time),
            "realised_pnl": fill.realised,
        }
        for conn in self._account_conns(fill.account, "fills"):
            self._send(conn, {"fill_response": body})

    # ------------------------------------------------------------------ commands
    def _submit(self, wire: tuple[str, str], **kwargs: Any) -> SimOrder:
        self._next_wire = wire
        self._taking = True
        try:
            return self.market.submit(**kwargs)
        finally:
            self._next_wire = None
            self._taking = False

    def _maybe_drop(self, conn: _TradeConn) -> tuple[bool, bool]:
        drop, execute = self.faults.take_drop()
        if drop:
            conn.outbox.closed = True  # nothing more reaches this socket, not even the ACK
        return drop, execute

    def _abort(self, conn: _TradeConn) -> None:
        if not self.registry.abort(conn.websocket.scope):
            asyncio.get_running_loop().create_task(close_quietly(conn.websocket, 1011))

    def _close_position(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        symbol = self._str(params, "symbol")
        cid = self._str(params, "client_order_id", "")
        forced = self.faults.take_status(symbol)
        if forced is not None:
            self._force_close_status(conn, conn.account, symbol, params, forced)
            return
        drop, execute = self._maybe_drop(conn)
        if not drop or execute:
            self._do_close(conn, conn.account, symbol, cid, params)
        if drop:
            self._abort(conn)

    def _force_close_status(
        self, conn: _TradeConn, account: QfexAccount, symbol: str, params: dict[str, Any],
        status: str,
    ) -> None:
        """The order close_position would have sent, answered with a forced status."""
        pos = self.market.position(account.account_id, symbol)
        side = BUY if pos.size < 0 else SELL
        body = self._reject_body(account.account_id, params, status, order_type="LIMIT",
                                 tif="IOC", side=side)
        inst = self.market.instruments.get(symbol)
        if inst is not None:
            body["price"] = inst.bid if side == SELL else inst.ask
        body["quantity"] = body["quantity_remaining"] = abs(pos.size)
        self._reply_rejection(conn, body)

    def _do_close(
        self, conn: _TradeConn, account: QfexAccount, symbol: str, cid: str,
        params: dict[str, Any],
    ) -> None:
        inst = self.market.instruments.get(symbol)
        if inst is None:
            self._reply_rejection(conn, self._reject_body(
                account.account_id, params, "BAD_SYMBOL", order_type="LIMIT", tif="IOC",
                side=SELL))
            return
        pos = self.market.position(account.account_id, symbol)
        side = SELL if pos.size > 0 else BUY
        try:
            self._submit(
                ("LIMIT", "IOC"),
                account=account.account_id,
                symbol=symbol,
                side=side,
                order_type="LIMIT",
                tif="IOC",
                quantity=None,
                price=inst.bid if side == SELL else inst.ask,
                reduce_only=True,
                client_order_id=cid,
                is_close=True,
            )
        except Rejected:
            # ASSUMPTION (docs: "the command is rejected"): an order_response with REJECTED.
            self._reply_rejection(conn, self._reject_body(
                account.account_id, params, "REJECTED", order_type="LIMIT", tif="IOC",
                side=SELL))

    def _add_order(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        account = conn.account
        symbol = self._str(params, "symbol")
        side = self._str(params, "side")
        if side not in (BUY, SELL):
            raise _BadParam("side must be BUY or SELL")
        order_type = self._str(params, "order_type")
        tif = self._str(params, "order_time_in_force")
        quantity = self._dec(params, "quantity")
        price = self._dec(params, "price", ZERO)
        tp = self._dec(params, "take_profit", ZERO)
        sl = self._dec(params, "stop_loss", ZERO)
        reduce_only = self._flag(params, "reduce_only")  # CLI-only field (VENUES.md 1.6)
        cid = self._str(params, "client_order_id", "")
        forced = self.faults.take_status(symbol)
        if forced is not None:
            self._reply_rejection(conn, self._reject_body(
                account.account_id, params, forced, order_type=order_type, tif=tif, side=side))
            return
        drop, execute = self._maybe_drop(conn)
        if not drop or execute:
            status = self._validate(account, symbol, side, order_type, tif, quantity, price, tp,
                                    sl)
            if status is not None:
                self._reply_rejection(conn, self._reject_body(
                    account.account_id, params, status, order_type=order_type, tif=tif,
                    side=side))
            else:
                self._place(conn, account, params, symbol, side, order_type, tif, quantity,
                            price, reduce_only, cid, tp, sl)
        if drop:
            self._abort(conn)

    def _validate(
        self, account: QfexAccount, symbol: str, side: str, order_type: str, tif: str,
        quantity: Decimal, price: Decimal, tp: Decimal, sl: Decimal,
    ) -> str | None:
        """The documented up-front checks, in the order a client most likely trips them."""
        inst = self.market.instruments.get(symbol)
        if inst is None:
            return "BAD_SYMBOL"
        if order_type not in ORDER_TYPES:
            return "INVALID_ORDER_TYPE"
        if tif not in TIFS:
            return "INVALID_TIME_IN_FORCE"
        if (order_type == "MARKET" and tif != "IOC") or (order_type == "ALO" and tif != "GTC"):
            return "INVALID_TIME_IN_FORCE"
        stop = order_type in STOP_TYPES
        if quantity <= 0:
            return "QUANTITY_LESS_THAN_MIN_QUANTITY"
        if quantity % inst.lot != 0:
            return "INVALID_TICK_SIZE_PRECISION_QUANTITY"
        if not stop:  # stops respect the lot size but not the min/max (documented)
            if quantity < inst.min_qty:
                return "QUANTITY_LESS_THAN_MIN_QUANTITY"
            if quantity > inst.max_qty:
                return "QUANTITY_GREATER_THAN_MAX_QUANTITY"
        if order_type != "MARKET":
            if price % inst.tick != 0:
                return "INVALID_TICK_SIZE_PRECISION_PRICE"
            if price < inst.min_price:
                return "PRICE_LESS_THAN_MIN_PRICE"
            if price > inst.max_price:
                return "PRICE_GREATER_THAN_MAX_PRICE"
        if tp and (tp < 0 or tp % inst.tick != 0):
            return "INVALID_TAKEPROFIT_PRICE"
        if sl and (sl < 0 or sl % inst.tick != 0):
            return "INVALID_STOPLOSS_PRICE"
        if stop:
            # TAKE_PROFIT closes a long above the mark / a short below it; STOP_LOSS the reverse.
            above = (order_type == "TAKE_PROFIT") == (side == SELL)
            if (price <= inst.mark) if above else (price >= inst.mark):
                return "INVALID_TAKEPROFIT_PRICE" if order_type == "TAKE_PROFIT" else \
                    "INVALID_STOPLOSS_PRICE"
        if order_type == "ALO":
            crosses = price >= inst.ask if side == BUY else price <= inst.bid
            if crosses:
                return "REJECTED"
        return None

    def _place(
        self, conn: _TradeConn, account: QfexAccount, params: dict[str, Any], symbol: str,
        side: str, order_type: str, tif: str, quantity: Decimal, price: Decimal,
        reduce_only: bool, cid: str, tp: Decimal, sl: Decimal,
    ) -> None:
        stop = order_type in STOP_TYPES
        try:
            if stop:
                # The stop becomes a market order when the mark reaches the trigger; stops only
                # reduce (documented), so reduce_only is forced.
                self._submit(
                    (order_type, tif),
                    account=account.account_id, symbol=symbol, side=side,
                    order_type="MARKET", tif="IOC", quantity=quantity, price=ZERO,
                    reduce_only=True, client_order_id=cid, trigger_price=price,
                    trigger_event="MARK_PRICE",
                )
                return
            order = self._submit(
                (order_type, tif),
                account=account.account_id, symbol=symbol, side=side,
                order_type="MARKET" if order_type == "MARKET" else "LIMIT",
                tif=tif, quantity=quantity, price=ZERO if order_type == "MARKET" else price,
                reduce_only=reduce_only, client_order_id=cid,
            )
        except Rejected as exc:
            status = "BAD_SYMBOL" if exc.reason == "BAD_SYMBOL" else "REJECTED"
            self._reply_rejection(conn, self._reject_body(
                account.account_id, params, status, order_type=order_type, tif=tif, side=side))
            return
        if tp or sl:
            self._attached[order.id] = (tp, sl)
            self._stage_attached(account, order, tp, sl)

    def _stage_attached(
        self, account: QfexAccount, parent: SimOrder, tp: Decimal, sl: Decimal
    ) -> None:
        """Attached TP/SL become reduce-only stops on the closing side, if there is something
        to close once the parent has matched (simplification: otherwise they are dropped)."""
        closing = SELL if parent.side == BUY else BUY
        for kind, trigger in (("TAKE_PROFIT", tp), ("STOP_LOSS", sl)):
            if not trigger:
                continue
            with contextlib.suppress(Rejected):
                self._submit(
                    (kind, "GTC"), account=account.account_id, symbol=parent.symbol,
                    side=closing, order_type="MARKET", tif="IOC", quantity=parent.quantity,
                    price=ZERO, reduce_only=True, client_order_id=parent.client_order_id,
                    trigger_price=trigger, trigger_event="MARK_PRICE",
                )

    def _find_order(self, account: QfexAccount, params: dict[str, Any]) -> SimOrder | None:
        id_type = self._str(params, "cancel_order_id_type", "order_id")
        if id_type not in ("order_id", "client_order_id", "twap_id", "client_twap_id"):
            raise _BadParam("cancel_order_id_type is invalid")
        key = self._str(params, id_type if id_type in params else "order_id")
        if id_type == "client_order_id":
            matches = [
                o for o in self.market.open_orders(account.account_id)
                if o.client_order_id == key
            ]
            return matches[-1] if matches else None
        order = self.market.orders.get(key)
        return order if order is not None and order.account == account.account_id else None

    def _cancel_order(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        order = self._find_order(conn.account, params)
        if order is None or order.status not in (ACTIVE, PARTIAL, UNTRIGGERED):
            body = self._reject_body(conn.account.account_id, params, "NO_SUCH_ORDER",
                                     order_type="LIMIT", tif="GTC", side=BUY)
            oid = params.get("order_id")
            if order is not None:
                body = self._order_body(order, "NO_SUCH_ORDER")
            elif isinstance(oid, str):
                body["order_id"] = oid
            self._reply_order(conn, body)
            return
        was_stop = order.status == UNTRIGGERED
        self.market.cancel(order.account, order.id)
        if was_stop:  # trigger_cancelled is silent on order_responses; answer this caller
            self._reply_order(conn, self._order_body(order, "CANCELLED"))

    def _cancel_all(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        for order in self.market.open_orders(conn.account.account_id):
            if order.status != UNTRIGGERED:
                self.market.cancel(order.account, order.id)
        self._send(conn, {"ack": {"incoming_message": msg}})

    def _modify_order(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        self._str(params, "symbol")
        self._str(params, "side")
        self._str(params, "order_type")  # required since 2025-10-13
        order = self.market.orders.get(self._str(params, "order_id"))
        if (
            order is None
            or order.account != conn.account.account_id
            or order.status not in (ACTIVE, PARTIAL)
        ):
            body = self._reject_body(conn.account.account_id, params,
                                     "CANNOT_MODIFY_NO_SUCH_ORDER", order_type="LIMIT",
                                     tif="GTC", side=BUY)
            self._reply_order(conn, body)
            return
        if order.filled > 0:
            self._reply_order(conn, self._order_body(order, "CANNOT_MODIFY_PARTIAL_FILL"))
            return
        inst = self.market.instruments[order.symbol]
        price = self._dec(params, "price", order.price)
        quantity = self._dec(params, "quantity", order.quantity)
        if price % inst.tick or not inst.min_price <= price <= inst.max_price:
            self._reply_order(conn, self._order_body(order, "INVALID_TICK_SIZE_PRECISION_PRICE"))
            return
        if quantity <= 0 or quantity % inst.lot:
            self._reply_order(conn, self._order_body(order,
                                                     "INVALID_TICK_SIZE_PRECISION_QUANTITY"))
            return
        order.price, order.quantity, order.updated = price, quantity, self.now()
        body = self._order_body(order, "MODIFIED")
        for c in self._account_conns(order.account, "order_responses"):
            self._send(c, {"order_response": body}, update=True)
        self.market.match_resting()

    def _get_order(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        oid = self._str(params, "order_id")
        order = self.market.orders.get(oid)
        rejected = self._rejections.get(oid)
        if order is None and rejected is not None and \
                rejected["user_id"] == conn.account.account_id:
            self._reply_order(conn, dict(rejected))
            return
        if order is None or order.account != conn.account.account_id:
            body = self._reject_body(conn.account.account_id, params, "NO_SUCH_ORDER",
                                     order_type="LIMIT", tif="GTC", side=BUY)
            body["order_id"] = oid
            self._reply_order(conn, body)
            return
        self._reply_order(conn, self._order_body(order, self._status_of(order)))

    def _get_user_orders(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        assert conn.account is not None
        limit = int(self._dec(params, "limit", Decimal(1000)))
        offset = int(self._dec(params, "offset", ZERO))
        symbol = params.get("symbol")
        orders = [
            self._order_body(o, self._status_of(o))
            for o in sorted(self.market.open_orders(conn.account.account_id),
                            key=lambda o: o.created)
            if symbol in (None, "", o.symbol)
        ]
        self._send(conn, {"all_orders_response": {"orders": orders[offset:offset + limit],
                                                  "twaps": []}})

    def _stop_of(self, conn: _TradeConn, params: dict[str, Any]) -> SimOrder | None:
        assert conn.account is not None
        order = self.market.orders.get(self._str(params, "stop_order_id"))
        if order is None or order.account != conn.account.account_id:
            return None
        return order if order.status == UNTRIGGERED else None

    def _cancel_stop(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        order = self._stop_of(conn, params)
        if order is None:
            self._err(conn, "InvalidOrder", "no such stop order", msg)
            return
        self.market.cancel(order.account, order.id)
        self._send(conn, {"ack": {"incoming_message": msg}})

    def _modify_stop(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        order = self._stop_of(conn, params)
        if order is None:
            self._err(conn, "InvalidOrder", "no such stop order", msg)
            return
        inst = self.market.instruments[order.symbol]
        price = self._dec(params, "price", order.trigger_price)
        quantity = self._dec(params, "quantity", order.quantity)
        if price % inst.tick or quantity <= 0 or quantity % inst.lot:
            self._err(conn, "InvalidOrder", "price or quantity off the tick/lot", msg)
            return
        order.trigger_price, order.quantity, order.updated = price, quantity, self.now()
        order.full_close = False
        self._send(conn, {"ack": {"incoming_message": msg}})
        for c in self._account_conns(order.account, "stop_orders"):
            self._send(c, {"stop_order_response": self._stop_body(order)})

    def _cancel_on_disconnect(self, conn: _TradeConn, params: dict[str, Any], msg: Any) -> None:
        conn.cancel_on_disconnect = self._flag(params, "cancel_on_disconnect")
        self._send(conn, {"ack": {"incoming_message": msg}})

    # ------------------------------------------------------------------ positions, balances
    def _position_body(self, pos: SimPosition) -> dict[str, Any]:
        inst = self.market.instruments[pos.symbol]
        orders = [o for o in self.market.open_orders(pos.account, pos.symbol)
                  if o.status != UNTRIGGERED]
        return {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"qfex:{pos.account}:{pos.symbol}")),
            "symbol": pos.symbol,
            "position": pos.size,
            "margin_alloc": abs(pos.size) * inst.mark * INITIAL_MARGIN,
            "realised_pnl": pos.realised,
            "unrealised_pnl": self.market.unrealised(pos),
            "net_funding": ZERO,
            "open_orders": Decimal(len(orders)),
            "open_quantity": sum((o.remaining for o in orders), ZERO),
            "leverage": LEVERAGE,
            "initial_margin": INITIAL_MARGIN,
            "maintenance_margin": MAINTENANCE_MARGIN,
            "average_price": pos.entry,
        }

    def _balance_body(self, account_id: str) -> dict[str, Any]:
        positions = self.market.account_positions(account_id, include_flat=True)
        realised = sum((p.realised for p in positions), ZERO)
        unrealised = sum((self.market.unrealised(p) for p in positions), ZERO)
        pos_margin = sum(
            (abs(p.size) * self.market.instruments[p.symbol].mark * INITIAL_MARGIN
             for p in positions), ZERO)
        order_margin = sum(
            (o.remaining * o.price * INITIAL_MARGIN for o in self.market.open_orders(account_id)
             if o.status != UNTRIGGERED), ZERO)
        return {
            "deposit": DEPOSIT,
            "realised_pnl": realised,
            "unrealised_pnl": unrealised,
            "order_margin": order_margin,
            "position_margin": pos_margin,
            "net_funding": ZERO,
            "available_balance": DEPOSIT + realised + unrealised - pos_margin - order_margin,
        }

    def _envelope(self, conn: _TradeConn, channel: str, contents: list[Any]) -> dict[str, Any]:
        assert conn.account is not None
        conn.message_id += 1
        first = not conn.positions_pushed if channel == "v4_positions" else False
        return {
            "type": "subscribed" if first else (
                "position_update" if channel == "v4_positions" else "balance_update"),
            "connection_id": str(id(conn)),
            "message_id": conn.message_id,
            "id": conn.account.account_id,
            "channel": channel,
            "contents": contents,
        }

    def _push_positions(self, conn: _TradeConn) -> None:
        """One message per symbol ever held, flat ones included (as the venue does)."""
        if conn.account is None:
            return
        v4 = self.faults.positions_shape == "v4_positions"
        for pos in self.market.account_positions(conn.account.account_id, include_flat=True):
            body = self._position_body(pos)
            if v4:
                body.update(user_id=pos.account, timestamp=_iso(self.now()))
                self._send(conn, self._envelope(conn, "v4_positions", [body]))
            else:
                self._send(conn, {"position_response": body})
        conn.positions_pushed = True

    def _push_balance(self, conn: _TradeConn) -> None:
        if conn.account is None:
            return
        body = self._balance_body(conn.account.account_id)
        if self.faults.positions_shape == "v4_positions":
            body.update(user_id=conn.account.account_id, timestamp=_iso(self.now()))
            self._send(conn, self._envelope(conn, "v4_balances", [body]))
        else:
            self._send(conn, {"balance_response": body})

    async def _positions_loop(self) -> None:
        async for _ in _pulses(lambda: self.settings.positions_interval):
            for conn in list(self._trade):
                if "positions" in conn.channels:
                    self._push_positions(conn)
                if "balances" in conn.channels:
                    self._push_balance(conn)

    # ------------------------------------------------------------------ MDS
    async def _mds_ws(self, websocket: WebSocket) -> None:
        await websocket.accept()
        conn = _MdsConn(websocket, Outbox(websocket, self.faults))
        self._mds.add(conn)
        try:
            await run_connection(
                websocket,
                conn.outbox,
                lambda text: self._on_mds_text(conn, text),
                lambda text: self.received.append(record_ws(self.name, websocket, text)),
            )
        finally:
            self._mds.discard(conn)

    def _mds_send(self, conn: _MdsConn, payload: Any) -> None:
        conn.outbox.push(dumps(payload))

    def _on_mds_text(self, conn: _MdsConn, text: str) -> None:
        try:
            msg = loads(text)
        except ValueError:
            self._mds_send(conn, {"type": "error", "message": "invalid JSON"})
            return
        if not isinstance(msg, dict) or msg.get("type") not in ("subscribe", "unsubscribe"):
            self._mds_send(conn, {"type": "error", "message": "unknown message type"})
            return
        channels, symbols = msg.get("channels"), msg.get("symbols")
        if not (isinstance(channels, list) and isinstance(symbols, list) and symbols):
            self._mds_send(conn, {"type": "error", "message": "channels and symbols required"})
            return
        for ch in channels:
            if ch not in MDS_CHANNELS:
                self._mds_send(conn, {"type": "error", "message": f"unsupported channel {ch!r}"})
                return
        for s in symbols:
            if s != "*" and s not in self.market.instruments:
                self._mds_send(conn, {"type": "error", "message": f"unknown symbol {s!r}"})
                return
        subscribe = msg["type"] == "subscribe"
        if "market_stats" in channels:
            conn.stats = subscribe
            if subscribe:
                self._push_stats(conn)  # documented: immediate snapshot
        if "mark_price" in channels:
            if subscribe:
                conn.marks.update(symbols)
                self._push_marks(conn, self._mark_symbols(symbols))
            else:
                conn.marks.difference_update(symbols)

    def _mark_symbols(self, wanted: Any) -> list[str]:
        if "*" in wanted:
            return list(self.market.instruments)
        return [s for s in self.market.instruments if s in wanted]

    def _push_marks(self, conn: _MdsConn, symbols: list[str]) -> None:
        now = _iso(self.now())
        for s in symbols:
            conn.sequence += 1
            self._mds_send(conn, {
                "type": "mark_price", "sequence": conn.sequence, "symbol": s,
                "price": str(self.market.instruments[s].mark), "time": now,
            })

    def _push_stats(self, conn: _MdsConn) -> None:
        now = _iso(self.now())
        conn.sequence += 1
        self._mds_send(conn, {
            "type": "market_stats",
            "sequence": conn.sequence,
            "time": now,
            "symbol": "*",
            "bbos": [],
            "mark_prices": [
                {"time": now, "symbol": s, "price": str(i.mark)}
                for s, i in self.market.instruments.items()
            ],
            "open_interests": [],
            "daily_volumes": [],
        })

    def _on_marks(self, symbols: tuple[str, ...]) -> None:
        for conn in list(self._mds):
            if conn.marks:
                moved = [s for s in symbols if "*" in conn.marks or s in conn.marks]
                self._push_marks(conn, moved)

    async def _stats_loop(self) -> None:
        async for _ in _pulses(lambda: self.settings.mds_interval):
            for conn in list(self._mds):
                if conn.stats:
                    self._push_stats(conn)

    # ------------------------------------------------------------------ REST
    def _problem(self, status: int, title: str, detail: str, instance: str,
                 location: str | None = None) -> Response:
        body = {
            "title": title,
            "status": status,
            "detail": detail,
            "errors": [{"location": location, "message": detail, "value": None}]
            if location else [],
            "type": "about:blank",
            "instance": instance,
        }
        return Response(dumps(body), status, media_type="application/problem+json")

    async def _http(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(record_http(self.name, request, body))
        await wait_while_silent(self.faults, self.closing)
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        path = request.url.path
        if request.method == "GET" and path == "/refdata":
            return self._refdata(request.query_params.get("ticker"))
        if request.method == "GET" and path == "/user/positions":
            return self._user_positions(request)
        return self._problem(404, "Not Found", f"no route for {request.method} {path}", path)

    def _user_positions(self, request: Request) -> Response:
        h = request.headers
        pub = h.get("x-qfex-public-key")
        sig = h.get("x-qfex-hmac-signature")
        nonce = h.get("x-qfex-nonce")
        ts = h.get("x-qfex-timestamp")
        path = request.url.path
        if not (pub and sig and nonce and ts):
            return self._problem(401, "Unauthorized", "missing x-qfex-* authentication headers",
                                 path, "header.x-qfex-hmac-signature")
        if not ts.isdigit():
            return self._problem(401, "Unauthorized", "x-qfex-timestamp must be Unix seconds",
                                 path, "header.x-qfex-timestamp")
        result = self._verify(pub, nonce, int(ts), sig)
        if isinstance(result, str):
            return self._problem(401, "Unauthorized", result, path, "header.x-qfex-hmac-signature")
        positions = [self._position_body(p)
                     for p in self.market.account_positions(result.account_id)]
        for p in positions:
            p.pop("id")
            p.pop("margin_alloc")
        payload = {"positions": positions or None, "balance": self._balance_body(result.account_id)}
        return Response(dumps(payload, float_style=True), 200, media_type="application/json")

    def _refdata(self, ticker: str | None) -> Response:
        category = {"US100-USD": "INDEX", "CL-USD": "COMMODITY", "XAU-USD": "COMMODITY"}
        data = [
            {
                "symbol": s,
                "status": "ACTIVE",
                "tick_size": str(i.tick),
                "lot_size": str(i.lot),
                "min_price": str(i.min_price),
                "max_price": str(i.max_price),
                "min_quantity": str(i.min_qty),
                "max_quantity": str(i.max_qty),
                "order_types": list(ORDER_TYPES),
                "order_time_in_force": list(TIFS),
                "default_max_leverage": str(LEVERAGE),
                "market_hours": "24/7",
                "product_category": category.get(s, "EQUITY"),
                "base_asset": s.split("-")[0],
                "quote_asset": "USD",
                "margin_asset": "USD",
                "underlier_price": str(i.index),
                "price_change_24h": "0",
                "clobPairId": n,
            }
            for n, (s, i) in enumerate(self.market.instruments.items())
            if ticker in (None, "", s)
        ]
        return Response(dumps({"type": "refdata", "data": data}), 200,
                        media_type="application/json")
