"""Simulated Everstrike: signed REST and an events WebSocket on one loopback server.

Written from the venue documentation (VENUES.md section 2 and docs/seeds/everstrike-close.md),
never from our client code. Paths: REST at ``/`` (``POST /auth/close``, ``/auth/order``,
``/auth/cancel``, ``/auth/cancel/bulk``; private GETs ``/active_positions``, ``/position``,
``/orders``, ``/order``, ``/active_orders``, ``/triggers``, ``/account``, ``/personal``,
``/balances``; public ``/pairs``, ``/time``, ``/ping``, ``/ticker``) and the WS at ``/ws``.

Assumptions where the documentation is silent (each also noted at its code):

* Bad or missing ``x-api-key``/``x-signature`` -> HTTP 401 ``{"code":401,"msg":...,"result":null}``.
* ``timestamp`` is optional (some doc examples omit it). When present, it is stale if
  ``now - timestamp > recv_window`` (default 15000 ms, from the close page's "15 seconds"), and
  rejected if more than ``future_tolerance_ms`` (5000) ahead; both -> HTTP 408, body code 414.
* Everstrike has no nonce, so an identical signed body from the same key within
  ``replay_window`` (15 min) is a replay -> HTTP 503 with the documented envelope.
* The form body must be ``application/x-www-form-urlencoded``; numbers are decimals (the docs'
  int32 typing is a doc error). Unknown fields (``leverage``, ``ks``, ``hidden``...) are ignored.
* ``/auth/order`` also takes ``time_in_force``, ``type``, ``trigger_price``, ``trigger_event`` and
  ``close_on_trigger`` like ``/auth/close``; ``/auth/cancel`` cancels trigger orders too;
  ``/auth/cancel/bulk`` with no ids cancels active (not untriggered) orders and accepts ids as
  ``ids``, ``ids[]`` or ``ids[n]``, repeated or comma-separated.
* Position ``size`` is signed; ``stats.size`` is unsigned; a flat position keeps its last
  ``direction``. Balances are in ``USD``. 200 replies carry ``msg: "null"`` as the docs' example.
* WS: ``sub``/``sub_pair`` are acknowledged with category ``subscribed`` and ``result``
  ``{"subscriptions": [...]}``; an ``index`` subscription also gets the current index at once.
  ``sub_pair`` counts as one of the 10 public subscriptions. The 20 messages/s limit is enforced
  per connection with an ``error`` reply. Partial fills are announced as
  ``order_partially_completed`` (also before an IOC residual's ``order_cancelled``).
* ``/active_orders`` lists resting (ACTIVE, partly filled) orders only, never untriggered
  triggers (VENUES.md 2.9 #7); ``/triggers`` lists every trigger order with its status
  (UNTRIGGERED until it fires, then ACTIVE/COMPLETED, or CANCELLED). Both return full order
  objects, newest first.
* ``/auth/cancel`` on a resting order pushes ``order_cancelled``; on an untriggered trigger,
  ``trigger_cancelled`` (2.9 #6 assumed yes). ``result`` is the cancelled order object.
* A trigger that fails on firing reads CANCELLED with ``msg`` in the order object, pushed as
  ``trigger_failed``. Forced 401/500 bodies (undocumented) are ``{"code":401|500,"msg":...,
  "result":null}``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import random
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

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
from core.sim.faults import Faults
from core.sim.market import (
    ACTIVE,
    BUY,
    CANCELLED,
    FILLED,
    PARTIAL,
    REJECTED,
    SELL,
    UNTRIGGERED,
    ZERO,
    FillHappened,
    Market,
    MarketEvent,
    MarksMoved,
    OrderChanged,
    PositionChanged,
    Rejected,
    SimOrder,
    SimPosition,
)

__all__ = ["EverstrikeAccount", "EverstrikeSettings", "EverstrikeVenue"]

PUBLIC_CATEGORIES = ("depth", "ticker", "index", "ohlcv", "match", "trades", "liquidation")
TRIGGER_EVENTS = ("MARK_PRICE", "INDEX_PRICE", "LAST_PRICE")
TOO_MANY = "You have done that too much recently. Care to try again in 0.043 seconds?"
LEVERAGE = Decimal(10)
Q8 = Decimal("0.00000001")
DEPOSIT = Decimal(250000)


@dataclass
class EverstrikeSettings:
    """Windows and limits. Read live, so a test may change them while the sim runs."""

    default_recv_window_ms: float = 15000.0  # close page: "15 seconds or more ... rejected"
    future_tolerance_ms: float = 5000.0  # ASSUMPTION: how far ahead a timestamp may be
    replay_window: float = 900.0  # ASSUMPTION: how long a signed body is remembered (s)
    require_timestamp: bool = False  # UNKNOWN whether it is mandatory; accept its absence
    idle_timeout: float = 30.0  # documented: unauthenticated, unsubscribed WS dropped at 30 s
    max_public_subscriptions: int = 10  # documented
    max_messages_per_second: int = 20  # documented (per account and IP; here per connection)


@dataclass
class EverstrikeAccount:
    name: str
    api_key: str
    secret_key: str
    customer_id: str  # the market's account key


class _Invalid(Exception):
    """-> HTTP 503 with the documented generic envelope (and a more specific msg)."""


@dataclass(eq=False)
class _EsConn:
    websocket: WebSocket
    outbox: Outbox
    account: EverstrikeAccount | None = None
    subs: set[str] = field(default_factory=set)  # "PAIR:category" or "PAIR" (sub_pair)
    recent: deque[float] = field(default_factory=deque)


def _ms(t: float) -> int:
    return int(t * 1000)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(dumps(payload), status, media_type="application/json")


def _envelope(code: int, msg: str, result: Any, status: int | None = None) -> Response:
    return _json({"code": code, "msg": msg, "result": result}, status or code)


class EverstrikeVenue:
    """One simulated Everstrike. All methods run on the simulator's event loop thread."""

    name = "everstrike"

    def __init__(self, *, seed: int = 7) -> None:
        self.faults = Faults()
        self.settings = EverstrikeSettings()
        self.received: list[Received] = []
        self._rng = random.Random(f"everstrike:{seed}")
        self.market = Market(
            demo.everstrike_instruments(), seed=seed, id_factory=self._new_id, clock=self.now
        )
        self.market.subscribe(self._on_market)
        self.market.trigger_veto = lambda _order: self.faults.take_trigger_failure()
        self.accounts: dict[str, EverstrikeAccount] = {}  # by api key
        self.registry = TransportRegistry()
        self.closing = asyncio.Event()
        self._conns: set[_EsConn] = set()
        self._seen: dict[tuple[str, bytes], float] = {}
        self._fees: dict[tuple[str, str], Decimal] = {}
        self._direction: dict[tuple[str, str], str] = {}
        self._wire_status: dict[str, str] = {}  # order id -> forced wire status

    # ------------------------------------------------------------------ setup
    def now(self) -> float:
        return time.time() + self.faults.clock_skew

    def _new_id(self) -> str:
        return f"{self._rng.getrandbits(128):032x}"

    def add_account(
        self,
        name: str,
        positions: list[tuple[str, Decimal, Decimal]],
        *,
        api_key: str | None = None,
        secret_key: str | None = None,
        customer_id: str | None = None,
    ) -> EverstrikeAccount:
        digest = hashlib.sha256(f"everstrike:{name}".encode()).hexdigest()
        account = EverstrikeAccount(
            name=name,
            api_key=api_key or f"es_key_{name}",
            secret_key=secret_key or f"es_secret_{digest[:32]}",
            customer_id=customer_id or str(uuid.UUID(digest[32:64], version=4)),
        )
        if account.api_key in self.accounts:
            raise ValueError(f"Everstrike API key {account.api_key!r} already exists")
        self.accounts[account.api_key] = account
        for pair, size, entry in positions:
            if pair not in self.market.instruments:
                raise ValueError(f"unknown Everstrike pair {pair!r}")
            self.market.set_position(account.customer_id, pair, Decimal(size), Decimal(entry))
        return account

    def app(self) -> Starlette:
        methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        return Starlette(
            routes=[
                WebSocketRoute("/ws", self._ws),
                Route("/{path:path}", self._http, methods=methods),
            ]
        )

    async def background(self) -> None:
        """Nothing periodic: ``index`` is pushed on each market step."""

    # ------------------------------------------------------------------ wire objects
    def _order_obj(self, order: SimOrder) -> dict[str, Any]:
        status = {
            ACTIVE: "ACTIVE",
            PARTIAL: "ACTIVE",
            FILLED: "COMPLETED",
            CANCELLED: "CANCELLED",
            UNTRIGGERED: "UNTRIGGERED",
            REJECTED: "CANCELLED",
        }[order.status]
        status = self._wire_status.get(order.id, status)
        inst = self.market.instruments[order.symbol]
        price = order.price
        if order.fills and order.order_type == "MARKET":
            qty = sum((f.quantity for f in order.fills), ZERO)
            price = inst.q_price(sum((f.price * f.quantity for f in order.fills), ZERO) / qty)
        return {
            "id": order.id,
            "pair": order.symbol,
            "side": order.side,
            "type": order.order_type,
            "status": status,
            "time": _ms(order.updated),
            "price": price,
            "price_orig": order.price,
            "qty_orig": order.quantity,
            "qty_orig_usd": (order.quantity * inst.mark).quantize(Q8),
            "qty_remaining": order.remaining,
            "qty_filled": order.filled,
            "time_in_force": order.tif,
            "trigger_price": order.trigger_price,
            "trigger_event": order.trigger_event,
            "close_on_trigger": order.close_on_trigger,
            "reduce_only": order.reduce_only,
            "post_only": False,
            "hidden": False,
            "oco": False,
            "icebergs": None,
            "leverage": LEVERAGE,
            "customer_id": order.account,
            "fills": [
                {"id": f.trade_id, "price": f.price, "qty": f.quantity, "fee": f.fee,
                 "side": f.side, "time": _ms(f.time)}
                for f in order.fills
            ],
            "msg": order.message or None,
        }

    def _position_obj(self, pos: SimPosition) -> dict[str, Any]:
        inst = self.market.instruments[pos.symbol]
        key = (pos.account, pos.symbol)
        size = abs(pos.size)
        direction = self._direction.get(key, BUY if pos.size >= 0 else SELL)
        notional = (size * inst.mark).quantize(Q8)
        margin = (notional / LEVERAGE).quantize(Q8)
        upnl = self.market.unrealised(pos).quantize(Q8)
        locked = sum(
            (o.remaining for o in self.market.open_orders(pos.account, pos.symbol)
             if o.status != UNTRIGGERED and o.reduce_only), ZERO)
        locked = min(locked, size)
        sign = 1 if direction == BUY else -1
        lp = bankrupt = ZERO
        if size:
            bankrupt = inst.q_price(pos.entry * (1 - sign / LEVERAGE))
            lp = inst.q_price(pos.entry * (1 - sign * Decimal("0.9") / LEVERAGE))
        return {
            "pair": pos.symbol,
            "size": pos.size,
            "free": size - locked,
            "locked": locked,
            "realized": pos.realised,
            "funding": ZERO,
            "fees": self._fees.get(key, ZERO),
            "cum_pnl": pos.realised,
            "fills": [],
            "stats": {
                "size": size,
                "notional": notional,
                "notional_entry": (size * pos.entry).quantize(Q8),
                "margin": margin,
                "pnl": upnl + pos.realised,
                "upnl": upnl,
                "rpnl": pos.realised,
                "equity": margin + upnl,
                "roe": (upnl / margin).quantize(Q8) if margin else ZERO,
                "mark": inst.mark,
                "avg_entry": pos.entry,
                "leverage": LEVERAGE,
                "lp": lp,
                "bankrupt": bankrupt,
                "direction": direction,
            },
        }

    def _balances(self, customer_id: str) -> dict[str, Any]:
        positions = self.market.account_positions(customer_id, include_flat=True)
        pnl = sum((p.realised for p in positions), ZERO)
        margin = sum(
            ((abs(p.size) * self.market.instruments[p.symbol].mark / LEVERAGE).quantize(Q8)
             for p in positions), ZERO)
        fees = sum((self._fees.get((customer_id, p.symbol), ZERO) for p in positions), ZERO)
        locked = sum(
            ((o.remaining * o.price / LEVERAGE).quantize(Q8)
             for o in self.market.open_orders(customer_id) if o.status != UNTRIGGERED), ZERO)
        return {
            "USD": {
                "free": DEPOSIT + pnl - fees - margin - locked,
                "locked": locked,
                "withdrawn": ZERO,
                "pnl": pnl,
                "margin": margin,
                "fees": fees,
            }
        }

    # ------------------------------------------------------------------ market events
    def _on_market(self, event: MarketEvent) -> None:
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
                self._private(event.order.account, category, event.order.symbol,
                              {"order": self._order_obj(event.order)}, update=True)
        elif isinstance(event, FillHappened):
            key = (event.fill.account, event.fill.symbol)
            self._fees[key] = self._fees.get(key, ZERO) + event.fill.fee
            if event.order.remaining > 0:
                self._private(event.order.account, "order_partially_completed",
                              event.order.symbol, {"order": self._order_obj(event.order)},
                              update=True)
        elif isinstance(event, PositionChanged):
            pos = event.position
            if pos.size:
                self._direction[(pos.account, pos.symbol)] = BUY if pos.size > 0 else SELL
            category = "position_updated" if pos.size else "position_closed"
            self._private(pos.account, category, pos.symbol, self._position_obj(pos))
        elif isinstance(event, MarksMoved):
            for pair in event.symbols:
                for conn in list(self._conns):
                    if f"{pair}:index" in conn.subs or pair in conn.subs:
                        self._push_index(conn, pair)

    def _private(self, customer_id: str, category: str, pair: str, result: Any, *,
                 update: bool = False) -> None:
        text = dumps({"code": 200, "msg": "", "category": category, "pair": pair,
                      "result": result})
        for conn in list(self._conns):
            if conn.account is not None and conn.account.customer_id == customer_id:
                conn.outbox.push(text, update=update)

    def _push_index(self, conn: _EsConn, pair: str) -> None:
        inst = self.market.instruments[pair]
        self._ws_send(conn, 200, "", "index", pair, {
            "mark": inst.mark,
            "index": inst.index,
            "underlying_price": inst.index,
            "strike": None,
            "volatility": None,
            "black_scholes": None,
            "time": _ms(self.now()),
        })

    # ------------------------------------------------------------------ REST plumbing
    async def _http(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(record_http(self.name, request, body))
        forced = self.faults.take_http_status(request.url.path.rstrip("/") or "/")
        if forced is None:
            await wait_while_silent(self.faults, self.closing)
        response = self._forced(*forced) if forced is not None else None
        if response is None:
            response = await self._route(request, body)
        if response is None:  # dropped without a reply (fault knob)
            while (await request.receive())["type"] != "http.disconnect":
                pass
            return Response(status_code=204)  # never sent: the connection is gone
        if self.faults.latency:
            await asyncio.sleep(self.faults.latency)
        return response

    @staticmethod
    def _forced(status: int, msg: str | None = None) -> Response:
        if status == 429:
            return _envelope(429, msg or TOO_MANY, None)
        if status == 503:
            return _envelope(503, msg or "Invalid request", {})
        if status in (408, 414):
            return _envelope(414, msg or "The timestamp is too old.", None, 408)
        if status == 401:
            return _envelope(401, msg or "Invalid API key", None)
        if status == 500:
            return _envelope(500, msg or "Internal server error", None)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return _envelope(status, msg or phrase, None)

    async def _route(self, request: Request, body: bytes) -> Response | None:
        path = request.url.path.rstrip("/") or "/"
        method = request.method
        q = request.query_params
        try:
            if method == "POST" and path.startswith("/auth/"):
                return self._signed(request, body, path)
            if method != "GET":
                return _envelope(404, "Not found", None)
            public = {
                "/pairs": self._pairs,
                "/time": lambda: _ms(self.now()),
                "/ping": lambda: {},
                "/ticker": self._ticker,
            }.get(path)
            if public is not None:
                return _envelope(200, "null", public())
            if path not in PRIVATE_GETS:
                return _envelope(404, "Not found", None)
            account = self.accounts.get(request.headers.get("x-api-key", ""))
            if account is None:
                return _envelope(401, "Invalid API key", None)
            return _envelope(200, "null", self._private_get(account, path, dict(q)))
        except _Invalid as exc:
            msg = str(exc)
            return _envelope(503, f"Invalid request: {msg}" if msg else "Invalid request", {})

    def _private_get(self, account: EverstrikeAccount, path: str, q: dict[str, str]) -> Any:
        cid = account.customer_id
        pair = q.get("pair")
        if pair is not None and pair not in self.market.instruments:
            raise _Invalid(f"unknown pair {pair}")
        if path == "/active_positions":
            return {p.symbol: self._position_obj(p) for p in self.market.account_positions(cid)
                    if pair in (None, p.symbol)}
        if path == "/position":
            if pair is None:
                raise _Invalid("pair is required")
            return self._position_obj(self.market.position(cid, pair))
        if path in ("/account",):
            return {"positions": {p.symbol: self._position_obj(p)
                                  for p in self.market.account_positions(cid)},
                    "balances": self._balances(cid)}
        if path == "/balances":
            return self._balances(cid)
        if path == "/personal":
            return {"customer_id": cid, "balances": self._balances(cid),
                    "permissions": {"trading_enabled": True, "withdrawals_enabled": True},
                    "verification_level": 1, "trading_allowance": DEPOSIT}
        if path == "/order":
            order = self.market.orders.get(q.get("id", ""))
            if order is None or order.account != cid:
                raise _Invalid("no such order")
            return self._order_obj(order)
        orders = [o for o in self.market.orders.values()
                  if o.account == cid and pair in (None, o.symbol)]
        if path == "/active_orders":
            orders = [o for o in orders if o.status in (ACTIVE, PARTIAL)]
        elif path == "/triggers":
            orders = [o for o in orders if o.is_trigger]
        start, end = self._int(q, "start"), self._int(q, "end")
        orders = [o for o in orders
                  if (start is None or _ms(o.updated) >= start)
                  and (end is None or _ms(o.updated) <= end)]
        orders.sort(key=lambda o: o.created, reverse=True)
        limit = self._int(q, "limit") or (100 if path == "/orders" else 1000)
        return [self._order_obj(o) for o in orders[:limit]]

    @staticmethod
    def _int(q: dict[str, str], key: str) -> int | None:
        value = q.get(key)
        if value is None:
            return None
        try:
            return int(Decimal(value))
        except (InvalidOperation, ValueError) as exc:
            raise _Invalid(f"{key} must be a number") from exc

    def _pairs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, inst in self.market.instruments.items():
            _, base, _kind = key.split("_", 2)
            out[key] = {
                "key": key,
                "base": base,
                "quote": "USD",
                "symbol": f"{base}/USD",
                "description": f"{base} perpetual",
                "status": "TRADING",
                "base_precision": -inst.lot.as_tuple().exponent,  # type: ignore[operator]
                "quote_precision": -inst.tick.as_tuple().exponent,  # type: ignore[operator]
                "filters": [
                    {"filter_type": "PRICE_FILTER", "min_price": inst.min_price,
                     "max_price": inst.max_price, "tick_size": inst.tick,
                     "display": -inst.tick.as_tuple().exponent},  # type: ignore[operator]
                    {"filter_type": "LOT_SIZE", "min_qty": inst.min_qty,
                     "max_qty": inst.max_qty, "tick_size": inst.lot},
                ],
            }
        return out

    def _ticker(self) -> dict[str, Any]:
        return {
            key: {"last_price": i.last, "bid_price": i.bid, "ask_price": i.ask,
                  "high_price": i.mark, "low_price": i.mark, "volume": ZERO}
            for key, i in self.market.instruments.items()
        }

    # ------------------------------------------------------------------ signed POSTs
    def _signed(self, request: Request, body: bytes, path: str) -> Response | None:
        handler = {
            "/auth/close": self._close,
            "/auth/order": self._order,
            "/auth/cancel": self._cancel,
            "/auth/cancel/bulk": self._cancel_bulk,
        }.get(path)
        if handler is None:
            return _envelope(404, "Not found", None)
        account = self.accounts.get(request.headers.get("x-api-key", ""))
        if account is None:
            return _envelope(401, "Invalid API key", None)
        expected = base64.b64encode(
            hmac.new(account.secret_key.encode(), body, hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, request.headers.get("x-signature", "")):
            return _envelope(401, "Invalid signature", None)
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise _Invalid("the body must be application/x-www-form-urlencoded")
        try:
            pairs = parse_qsl(
                body.decode("utf-8"), keep_blank_values=True, strict_parsing=bool(body)
            )
        except (UnicodeDecodeError, ValueError) as exc:
            raise _Invalid("the body is not a valid form") from exc
        form: dict[str, str] = {}
        for k, v in pairs:
            form.setdefault(k, v)
        stale = self._check_time(form)
        if stale is not None:
            return stale
        now = self.now()
        for key, seen in list(self._seen.items()):
            if now - seen > self.settings.replay_window:
                del self._seen[key]
        if (account.api_key, body) in self._seen:
            raise _Invalid("this signed request was already received (replay)")
        self._seen[(account.api_key, body)] = now
        if path == "/auth/close":
            forced = self.faults.take_order_status(form.get("pair"))
            if forced is not None:
                return _envelope(200, "null", self._forced_close(account, form, *forced))
        if path in ("/auth/close", "/auth/order"):
            drop, execute = self.faults.take_drop()
            if drop:
                if execute:
                    with contextlib.suppress(_Invalid, Rejected):
                        handler(account, form, pairs)
                self.registry.abort(request.scope)
                return None
        try:
            return _envelope(200, "null", handler(account, form, pairs))
        except Rejected as exc:
            raise _Invalid(str(exc)) from exc

    def _check_time(self, form: dict[str, str]) -> Response | None:
        raw = form.get("timestamp")
        if raw is None:
            if self.settings.require_timestamp:
                raise _Invalid("timestamp is required")
            return None
        ts = self._decimal(form, "timestamp")
        window = Decimal(str(self.settings.default_recv_window_ms))
        if "recv_window" in form:
            window = self._decimal(form, "recv_window")
        now_ms = Decimal(repr(self.now() * 1000))
        if now_ms - ts > window:
            return _envelope(414, "The timestamp is too old.", None, 408)
        if ts - now_ms > Decimal(str(self.settings.future_tolerance_ms)):
            return _envelope(414, "The timestamp is too far in the future.", None, 408)
        return None

    @staticmethod
    def _decimal(form: dict[str, str], key: str) -> Decimal:
        try:
            value = Decimal(form[key])
        except (InvalidOperation, ValueError) as exc:
            raise _Invalid(f"{key} must be a number") from exc
        if not value.is_finite() or value < 0:
            raise _Invalid(f"{key} must be a non-negative number")
        return value

    @staticmethod
    def _bool(form: dict[str, str], key: str) -> bool:
        value = form.get(key, "false").lower()
        if value not in ("true", "false"):
            raise _Invalid(f"{key} must be true or false")
        return value == "true"

    def _trigger_fields(self, form: dict[str, str]) -> tuple[Decimal | None, str | None, bool]:
        trigger = self._decimal(form, "trigger_price") if "trigger_price" in form else None
        if trigger is not None and trigger <= 0:
            raise _Invalid("trigger_price must be positive")
        event = form.get("trigger_event", "MARK_PRICE")
        if event not in TRIGGER_EVENTS:
            raise _Invalid("trigger_event must be MARK_PRICE, INDEX_PRICE or LAST_PRICE")
        close_on_trigger = self._bool(form, "close_on_trigger")
        return trigger, (event if trigger is not None else None), close_on_trigger

    def _pair(self, form: dict[str, str]) -> str:
        pair = form.get("pair")
        if not pair:
            raise _Invalid("pair is required")
        if pair not in self.market.instruments:
            raise _Invalid(f"unknown pair {pair}")
        return pair

    def _result(self, account: EverstrikeAccount, order: SimOrder) -> dict[str, Any]:
        return {
            "order": self._order_obj(order),
            "balances": self._balances(account.customer_id),
            "position": self._position_obj(
                self.market.position(account.customer_id, order.symbol)),
        }

    def _forced_close(self, account: EverstrikeAccount, form: dict[str, str], status: str,
                      msg: str) -> Any:
        """The order /auth/close would have placed, ended in a forced status, unexecuted."""
        pair = self._pair(form)
        pos = self.market.position(account.customer_id, pair)
        qty = self._decimal(form, "qty") if "qty" in form else abs(pos.size)
        price = self._decimal(form, "price") if "price" in form else None
        trigger, event, close_on_trigger = self._trigger_fields(form)
        now = self.now()
        order = SimOrder(
            id=self._new_id(), account=account.customer_id, symbol=pair,
            side=BUY if pos.size < 0 else SELL,
            order_type="LIMIT" if price is not None else "MARKET",
            tif="GTC" if price is not None else "IOC", quantity=qty,
            price=price if price is not None else ZERO, reduce_only=True,
            trigger_price=trigger, trigger_event=event, close_on_trigger=close_on_trigger,
            is_close=True, full_close="qty" not in form, status=CANCELLED, message=msg,
            created=now, updated=now,
        )
        self.market.orders[order.id] = order
        self._wire_status[order.id] = status
        if status == "CANCELLED":  # as an unfilled immediate order: added, then cancelled
            final = self._order_obj(order)
            self._private(account.customer_id, "order_added", pair,
                          {"order": {**final, "status": "ACTIVE", "msg": None}}, update=True)
            self._private(account.customer_id, "order_cancelled", pair, {"order": final},
                          update=True)
        return self._result(account, order)

    def _close(self, account: EverstrikeAccount, form: dict[str, str],
               pairs: list[tuple[str, str]]) -> Any:
        pair = self._pair(form)
        pos = self.market.position(account.customer_id, pair)
        if pos.size == 0:
            raise _Invalid(f"no open position in {pair}")
        qty = self._decimal(form, "qty") if "qty" in form else None
        if qty is not None and qty <= 0:
            raise _Invalid("qty must be positive")
        price = self._decimal(form, "price") if "price" in form else None
        if price is not None and price <= 0:
            raise _Invalid("price must be positive")
        trigger, event, close_on_trigger = self._trigger_fields(form)
        order = self.market.submit(
            account.customer_id,
            pair,
            SELL if pos.size > 0 else BUY,
            "LIMIT" if price is not None else "MARKET",
            "GTC" if price is not None else "IOC",
            qty,
            price if price is not None else ZERO,
            reduce_only=True,
            trigger_price=trigger,
            trigger_event=event,
            close_on_trigger=close_on_trigger,
            is_close=True,
        )
        return self._result(account, order)

    def _order(self, account: EverstrikeAccount, form: dict[str, str],
               pairs: list[tuple[str, str]]) -> Any:
        pair = self._pair(form)
        side = form.get("side", "")
        if side not in (BUY, SELL):
            raise _Invalid("side must be BUY or SELL")
        if "qty" not in form:
            raise _Invalid("qty is required")
        qty = self._decimal(form, "qty")
        price = self._decimal(form, "price") if "price" in form else None
        order_type = form.get("type", "LIMIT" if price is not None else "MARKET")
        if order_type not in ("LIMIT", "MARKET") or (order_type == "LIMIT") != (price is not None):
            raise _Invalid("type must be LIMIT with a price or MARKET without one")
        tif = form.get("time_in_force", "GTC" if price is not None else "IOC")
        if tif not in ("GTC", "IOC", "FOK") or (order_type == "MARKET" and tif == "GTC"):
            raise _Invalid("time_in_force must be GTC, IOC or FOK (not GTC at market)")
        trigger, event, close_on_trigger = self._trigger_fields(form)
        inst = self.market.instruments[pair]
        if self._bool(form, "post_only") and price is not None and (
            price >= inst.ask if side == BUY else price <= inst.bid
        ):
            raise _Invalid("post-only order would take liquidity")
        order = self.market.submit(
            account.customer_id, pair, side, order_type, tif, qty,
            price if price is not None else ZERO,
            reduce_only=self._bool(form, "reduce_only"),
            trigger_price=trigger, trigger_event=event, close_on_trigger=close_on_trigger,
        )
        return self._result(account, order)

    def _cancel(self, account: EverstrikeAccount, form: dict[str, str],
                pairs: list[tuple[str, str]]) -> Any:
        oid = form.get("id")
        if not oid:
            raise _Invalid("id is required")
        try:
            order = self.market.cancel(account.customer_id, oid)
        except Rejected as exc:
            raise _Invalid("no such open order") from exc
        return self._order_obj(order)

    def _cancel_bulk(self, account: EverstrikeAccount, form: dict[str, str],
                     pairs: list[tuple[str, str]]) -> Any:
        ids = [
            part
            for k, v in pairs
            if k == "ids" or k.startswith("ids[")
            for part in v.split(",")
            if part
        ]
        if len(ids) > 100:
            raise _Invalid("at most 100 ids")
        open_orders = self.market.open_orders(account.customer_id)
        if ids:
            targets = [o for o in open_orders if o.id in ids]
        else:
            targets = [o for o in open_orders if o.status in (ACTIVE, PARTIAL)]
        return [self._order_obj(self.market.cancel(account.customer_id, o.id)) for o in targets]

    # ------------------------------------------------------------------ WebSocket
    async def _ws(self, websocket: WebSocket) -> None:
        await websocket.accept()
        conn = _EsConn(websocket, Outbox(websocket, self.faults))
        self._conns.add(conn)
        timer = asyncio.create_task(self._idle_deadline(conn))
        try:
            await run_connection(
                websocket,
                conn.outbox,
                lambda text: self._on_ws_text(conn, text),
                lambda text: self.received.append(record_ws(self.name, websocket, text)),
                timers=[timer],
            )
        finally:
            self._conns.discard(conn)

    async def _idle_deadline(self, conn: _EsConn) -> None:
        await asyncio.sleep(self.settings.idle_timeout)
        if conn.account is None and not conn.subs:
            conn.outbox.closed = True
            await close_quietly(conn.websocket, 1008, "idle")

    def _ws_send(self, conn: _EsConn, code: int, msg: str, category: str, pair: str | None,
                 result: Any) -> None:
        conn.outbox.push(dumps({"code": code, "msg": msg, "category": category, "pair": pair,
                                "result": result}))

    def _ws_error(self, conn: _EsConn, msg: str) -> None:
        self._ws_send(conn, 400, msg, "error", None, {})

    def _on_ws_text(self, conn: _EsConn, text: str) -> None:
        now = time.monotonic()
        conn.recent.append(now)
        while conn.recent and now - conn.recent[0] > 1.0:
            conn.recent.popleft()
        if len(conn.recent) > self.settings.max_messages_per_second:
            self._ws_error(conn, "Too many messages")
            return
        try:
            msg = loads(text)
        except ValueError:
            self._ws_error(conn, "Invalid JSON")
            return
        if not isinstance(msg, dict):
            self._ws_error(conn, "Invalid message")
            return
        op, content = msg.get("op"), msg.get("content")
        if not isinstance(op, str) or not isinstance(content, str) or not content:
            self._ws_error(conn, "op and a non-empty content are required")
            return
        if op == "auth_api":
            account = self.accounts.get(content)
            if account is None:
                self._ws_error(conn, "Invalid API key")
                return
            conn.account = account
            self._ws_send(conn, 200, "Authenticated", "authenticated", None, {})
        elif op == "status":
            self._ws_send(conn, 200, "ok", "ok", None, {})
        elif op in ("sub", "sub_pair"):
            self._sub(conn, op, content)
        elif op in ("unsub", "unsub_pair"):
            conn.subs.discard(content)
            if op == "unsub_pair":
                conn.subs = {s for s in conn.subs if s.split(":")[0] != content}
            pair = content.split(":")[0]
            self._ws_send(conn, 200, "Unsubscribed", "unsubscribed", pair,
                          {"subscriptions": sorted(conn.subs)})
        elif op == "unsub_all":
            conn.subs.clear()
            self._ws_send(conn, 200, "Unsubscribed", "unsubscribed", None, {"subscriptions": []})
        elif op == "subscriptions":
            self._ws_send(conn, 200, "", "subscriptions", None,
                          {"subscriptions": sorted(conn.subs)})
        else:
            self._ws_error(conn, f"Unknown op {op}")

    def _sub(self, conn: _EsConn, op: str, content: str) -> None:
        if op == "sub":
            pair, _, category = content.partition(":")
            if category not in PUBLIC_CATEGORIES:
                self._ws_error(conn, f"Unknown category {category or '(none)'}")
                return
        else:
            pair, category = content, ""
        if pair not in self.market.instruments:
            self._ws_error(conn, f"Unknown pair {pair}")
            return
        if content not in conn.subs and len(conn.subs) >= self.settings.max_public_subscriptions:
            self._ws_error(conn, "Too many subscriptions")
            return
        conn.subs.add(content)
        self._ws_send(conn, 200, "Subscribed", "subscribed", pair,
                      {"subscriptions": sorted(conn.subs)})
        if category in ("index", ""):
            self._push_index(conn, pair)


PRIVATE_GETS = frozenset({
    "/active_positions", "/position", "/orders", "/order", "/active_orders", "/triggers",
    "/account", "/personal", "/balances",
})
