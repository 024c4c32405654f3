"""Loopback fake venue servers: real ``websockets`` servers on 127.0.0.1 and ``httpx``
MockTransport handlers, so a session's own connect, read loop, keep-alive and reconnect run
unchanged. Each speaks just enough of its venue's documented wire for the session tests; the
full simulator (core/sim) is for the integration tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

# --------------------------------------------------------------------------- Everstrike


class FakeWs:
    """Everstrike's WS as documented: auth_api -> authenticated; status -> ok; sub -> subscribed."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.received: list[dict[str, Any]] = []
        self.per_connection: list[list[dict[str, Any]]] = []
        self.connections: list[ServerConnection] = []
        self.reject_auth = False
        self.hold_auth: asyncio.Event | None = None  # delay the auth reply until set
        self._changed = asyncio.Event()
        self.server: Server | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def handler(self, conn: ServerConnection) -> None:
        self.connections.append(conn)
        mine: list[dict[str, Any]] = []
        self.per_connection.append(mine)
        self._changed.set()
        with contextlib.suppress(ConnectionClosed):
            async for raw in conn:
                message = json.loads(raw)
                self.received.append(message)
                mine.append(message)
                self._changed.set()
                if message.get("op") == "auth_api" and self.hold_auth is not None:
                    await self.hold_auth.wait()
                await conn.send(json.dumps(self.reply(message)))

    def reply(self, message: dict[str, Any]) -> dict[str, Any]:
        op, content = message.get("op"), message.get("content")
        if op == "auth_api":
            if self.reject_auth or content != self.api_key:
                return {"code": 401, "msg": "Invalid API key", "category": "error"}
            return {"code": 200, "msg": "Authenticated", "category": "authenticated"}
        if op == "status":
            return {"code": 200, "msg": "ok", "category": "ok"}
        if op in ("sub", "unsub"):
            category = "subscribed" if op == "sub" else "unsubscribed"
            return {"code": 200, "msg": content, "category": category}
        return {"code": 400, "msg": f"unexpected op {op}", "category": "error"}

    async def send(self, message: dict[str, Any] | str) -> None:
        text = message if isinstance(message, str) else json.dumps(message)
        await self.connections[-1].send(text)

    async def wait_for(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        count: int = 1,
        connection: int | None = None,
    ) -> None:
        async with asyncio.timeout(10):
            while True:
                if connection is None:
                    messages = self.received
                elif connection < len(self.per_connection):
                    messages = self.per_connection[connection]
                else:
                    messages = []
                if sum(1 for m in messages if predicate(m)) >= count:
                    return
                self._changed.clear()
                await self._changed.wait()

    def ops(self, op: str) -> list[str]:
        return [m["content"] for m in self.received if m.get("op") == op]


Handler = Callable[[httpx.Request], Awaitable[httpx.Response]]


def envelope(result: Any, code: int = 200, msg: str = "") -> dict[str, Any]:
    return {"code": code, "msg": msg, "result": result}


def position_json(size: float, direction: str = "BUY") -> dict[str, Any]:
    return {
        "size": size,
        "stats": {
            "size": size, "mark": 100.5, "avg_entry": 99, "upnl": 1.5, "direction": direction
        },
    }


class FakeRest:
    """Everstrike's REST as documented; ``close``/``cancel`` answer the signed POSTs.

    Use it as ``httpx.MockTransport(rest)``. It knows one API key and one pair.
    """

    def __init__(self, api_key: str, pair: str, server_ms: int) -> None:
        self.api_key = api_key
        self.pair = pair
        self.positions: dict[str, Any] = {pair: position_json(2)}
        self.server_ms = server_ms
        self.close: Handler | None = None
        self.cancel: Handler | None = None
        self.active_orders: list[dict[str, Any]] = []
        self.triggers: list[dict[str, Any]] = []
        self.orders: list[dict[str, Any]] = []  # GET /orders
        self.by_id: dict[str, Any] = {}  # GET /order?id= (else from orders)
        self.requests: list[httpx.Request] = []
        self.snapshot_failures = 0  # answer this many /active_positions with 503 first
        self.orders_failures = 0  # answer this many /orders with 503 first
        self._changed = asyncio.Event()

    def count(self, path: str) -> int:
        return sum(1 for r in self.requests if r.url.path == path)

    def gets(self, path: str) -> list[dict[str, str]]:
        return [dict(r.url.params) for r in self.requests if r.url.path == path]

    async def wait_for_count(self, path: str, count: int) -> None:
        async with asyncio.timeout(10):
            while self.count(path) < count:
                self._changed.clear()
                await self._changed.wait()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self._changed.set()
        path = request.url.path
        if request.method == "GET":
            assert "x-signature" not in request.headers
        if path == "/pairs":
            pairs = {self.pair: {"key": self.pair, "filters": []}}
            return httpx.Response(200, json=envelope(pairs))
        if path == "/time":
            return httpx.Response(200, json=envelope(self.server_ms))
        if request.method == "GET" and path != "/time":
            assert request.headers["x-api-key"] == self.api_key
        if path == "/active_positions":
            if self.snapshot_failures:
                self.snapshot_failures -= 1
                return httpx.Response(503, json=envelope({}, 503, "Invalid request"))
            return httpx.Response(200, json=envelope(self.positions))
        if path == "/active_orders":
            return httpx.Response(200, json=envelope(self.active_orders))
        if path == "/triggers":
            return httpx.Response(200, json=envelope(self.triggers))
        if path == "/orders":
            if self.orders_failures:
                self.orders_failures -= 1
                return httpx.Response(503, json=envelope({}, 503, "Invalid request"))
            return httpx.Response(200, json=envelope(self.orders))
        if path == "/order":
            wanted = request.url.params.get("id")
            if wanted in self.by_id:
                return httpx.Response(200, json=envelope(self.by_id[wanted]))
            for order in self.orders:
                if order["id"] == wanted:
                    return httpx.Response(200, json=envelope(order))
        if path == "/auth/close" and request.method == "POST":
            assert self.close is not None, "unexpected close"
            return await self.close(request)
        if path == "/auth/cancel" and request.method == "POST":
            assert self.cancel is not None, "unexpected cancel"
            return await self.cancel(request)
        return httpx.Response(503, json=envelope({}, 503, "Invalid request"))


# --------------------------------------------------------------------------- QFEX


class FakeVenue:
    """Just enough QFEX: HMAC auth, subscribe acks, scripted replies to closes."""

    def __init__(self, public_key: str, secret: str) -> None:
        self.public_key = public_key
        self.secret = secret
        self.frames: list[dict[str, Any]] = []  # every trade frame, across connections
        self.texts: list[str | bytes] = []  # the same frames exactly as they arrived
        self.handshakes: list[tuple[str, dict[str, str]]] = []
        self.trade_sockets: list[ServerConnection] = []
        self.nonces: list[str] = []
        self.auth_reply = '{"authenticated": true}'
        self.on_close = "fill"  # fill | drop | silent | err | fill_without_id
        self.open_orders: list[dict[str, Any]] = []
        self.after_subscribe: list[str] = []
        self.marks = {"AAPL-USD": "200"}
        self.rest_positions: list[dict[str, Any]] = [
            {"symbol": "AAPL-USD", "position": 2, "average_price": 190, "unrealised_pnl": 20}
        ]
        self.rest_calls: list[str] = []
        self.server: Server | None = None
        self.reject_handshake: int | None = None
        # Working orders and cancels.
        self.listing_error: str | None = None  # an err error_code for get_user_orders
        self.on_cancel = "cancelled"  # cancelled | no_such | silent | err | rate_limited | drop
        self.on_cancel_stop = "ack"  # ack | err | silent
        self.close_error: dict[str, Any] | None = None  # the err body for on_close == "err"
        self.pings_after_auth = 0  # server pings sent right after auth, 50 ms apart
        self.lookup_status: str | None = "FILLED"  # get_order's answer; None: an err
        self.refdata_reply: tuple[int, bytes] | None = None  # (status, body) instead of refdata

    def valid(self, nonce: str, ts: int, signature: str) -> bool:
        """Whether ``signature`` is this venue's secret's HMAC over ``nonce:ts``."""
        message = f"{nonce}:{ts}".encode()
        expected = hmac.new(self.secret.encode(), message, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if self.reject_handshake is not None and not request.path.startswith("/mds"):
            return connection.respond(self.reject_handshake, "refused\n")
        return None

    def count(self, kind: str) -> int:
        return sum(1 for f in self.frames if f["type"] == kind)

    # -- REST ---------------------------------------------------------------------------------

    def rest(self, request: httpx.Request) -> httpx.Response:
        self.rest_calls.append(request.url.path)
        if request.url.path == "/refdata" and self.refdata_reply is not None:
            status, body = self.refdata_reply
            return httpx.Response(status, content=body,
                                  headers={"content-type": "application/problem+json"})
        if request.url.path == "/refdata":
            return httpx.Response(
                200,
                json={
                    "type": "refdata",
                    "data": [{"symbol": "AAPL-USD", "tick_size": "0.01", "lot_size": "0.1"}],
                },
            )
        if request.url.path == "/user/positions":
            h = request.headers
            self.nonces.append(h["x-qfex-nonce"])
            if h["x-qfex-public-key"] != self.public_key or not self.valid(
                h["x-qfex-nonce"], int(h["x-qfex-timestamp"]), h["x-qfex-hmac-signature"]
            ):
                return httpx.Response(
                    401,
                    json={"title": "Unauthorized", "status": 401, "detail": "bad signature"},
                    headers={"content-type": "application/problem+json"},
                )
            return httpx.Response(200, json={"positions": self.rest_positions, "balance": {}})
        return httpx.Response(404, json={"title": "Not Found", "status": 404})

    # -- WebSocket ----------------------------------------------------------------------------

    async def handler(self, ws: ServerConnection) -> None:
        # A client stopped mid-handshake drops the socket; a real venue shrugs, so do we.
        with contextlib.suppress(ConnectionClosed):
            await self.serve(ws)

    async def serve(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        if ws.request.path.startswith("/mds"):
            await self.mds(ws)
            return
        self.handshakes.append((ws.request.path, dict(ws.request.headers.raw_items())))
        self.trade_sockets.append(ws)
        subscribed = 0
        async for raw in ws:
            msg = json.loads(raw)
            self.frames.append(msg)
            self.texts.append(raw)
            kind, params = msg["type"], msg.get("params", {})
            if kind == "auth":
                h = params["hmac"]
                self.nonces.append(h["nonce"])
                ok = h["public_key"] == self.public_key and self.valid(
                    h["nonce"], h["unix_ts"], h["signature"]
                )
                await ws.send(self.auth_reply if ok else '{"authenticated": false}')
                for i in range(self.pings_after_auth):
                    if i:
                        await asyncio.sleep(0.05)  # the venue's ping period, not a sync
                    await ws.ping()
            elif kind == "subscribe":
                (channel,) = params["channels"]
                await ws.send(json.dumps({"subscribed": channel}))
                subscribed += 1
                if subscribed == 4:
                    for frame in self.after_subscribe:
                        await ws.send(frame)
            elif kind in ("close_position", "add_order"):
                if not await self.close_reply(ws, params):
                    return
            elif kind == "get_user_orders":
                if self.listing_error is not None:
                    await ws.send(self.err(self.listing_error, "try later", msg))
                else:
                    listing = {"all_orders_response": {"orders": self.open_orders, "twaps": []}}
                    await ws.send(json.dumps(listing))
            elif kind == "get_order":
                if self.lookup_status is None:
                    await ws.send(self.err("ServerError", "lookup failed", msg))
                else:
                    body = {"order_id": params["order_id"], "symbol": params["symbol"],
                            "status": self.lookup_status, "quantity": 2, "price": 205,
                            "side": "SELL", "type": "LIMIT", "time_in_force": "GTC",
                            "client_order_id": "", "quantity_remaining": 0}
                    await ws.send(json.dumps({"order_response": body}))
            elif kind in ("cancel_order", "cancel_stop_order") and not await self.cancel_reply(
                ws, msg
            ):
                return

    @staticmethod
    def err(code: str, message: str | None, incoming: Any) -> str:
        return json.dumps(
            {"err": {"error_code": code, "message": message, "incoming_message": incoming}}
        )

    async def cancel_reply(self, ws: ServerConnection, msg: dict[str, Any]) -> bool:
        params = msg["params"]
        if msg["type"] == "cancel_stop_order":
            if self.on_cancel_stop == "ack":
                await ws.send(json.dumps({"ack": {"incoming_message": msg}}))
            elif self.on_cancel_stop == "err":
                await ws.send(self.err("InvalidOrder", "no such stop order", msg))
            return True
        if self.on_cancel == "drop":
            await ws.close()
            return False
        if self.on_cancel == "err":
            await ws.send(self.err("InvalidParameter", "bad symbol", msg))
        elif self.on_cancel == "rate_limited":
            await ws.send(self.err("RateLimited", "Rate limit exceeded, retry after 1500ms", msg))
        elif self.on_cancel in ("cancelled", "no_such"):
            status = "CANCELLED" if self.on_cancel == "cancelled" else "NO_SUCH_ORDER"
            body = {
                "order_id": params["order_id"],
                "symbol": params["symbol"],
                "status": status,
                "quantity": 2,
                "price": 205,
                "side": "SELL",
                "type": "LIMIT",
                "time_in_force": "GTC",
                "client_order_id": "",
                "quantity_remaining": 2,
            }
            await ws.send(json.dumps({"order_response": body}))
        return True

    async def push(self, *frames: str) -> None:
        """Frames the venue sends on its own, on the newest trade socket."""
        for frame in frames:
            await self.trade_sockets[-1].send(frame)

    async def close_reply(self, ws: ServerConnection, params: dict[str, Any]) -> bool:
        cid = params.get("client_order_id", "")
        if self.on_close == "drop":
            await ws.close()
            return False
        if self.on_close == "silent":
            return True
        if self.on_close == "err":
            body = self.close_error or {"error_code": "InvalidOrder", "message": "no position"}
            incoming = {"type": "close_position", "params": params}
            await ws.send(json.dumps({"err": {**body, "incoming_message": incoming}}))
            return True
        if self.on_close == "rest":  # a GTC limit that rests: only the ACK
            reply = {"order_id": "oid-rest", "symbol": params["symbol"], "status": "ACK",
                     "quantity": 2.0, "price": 205, "side": "SELL", "type": "LIMIT",
                     "time_in_force": "GTC", "client_order_id": cid, "quantity_remaining": 2.0}
            await ws.send(json.dumps({"order_response": reply}))
            return True
        if self.on_close == "rate_limited_status":
            reply = {"order_id": "oid-rl", "symbol": params["symbol"], "status": "RATE_LIMITED",
                     "quantity": 2.0, "side": "SELL", "type": "LIMIT", "time_in_force": "IOC",
                     "client_order_id": cid, "quantity_remaining": 2.0}
            await ws.send(json.dumps({"order_response": reply}))
            return True
        echo = "" if self.on_close == "fill_without_id" else cid
        base = {
            "order_id": "oid-1",
            "symbol": params["symbol"],
            "quantity": 2.0,
            "price": 199.8,
            "side": params.get("side", "SELL"),
            "type": params.get("order_type", "LIMIT"),
            "time_in_force": "IOC",
            "client_order_id": echo,
            "quantity_remaining": 2.0,
        }
        await ws.send(json.dumps({"order_response": {**base, "status": "ACK"}}))
        await ws.send(
            json.dumps({"order_response": {**base, "status": "FILLED", "quantity_remaining": 0}})
        )
        flat = {"symbol": params["symbol"], "position": 0}
        await ws.send(json.dumps({"position_response": flat}))
        return True

    async def mds(self, ws: ServerConnection) -> None:
        async for raw in ws:
            msg = json.loads(raw)
            assert msg == {"type": "subscribe", "channels": ["market_stats"], "symbols": ["*"]}
            marks = [{"symbol": s, "price": p, "time": "t"} for s, p in self.marks.items()]
            await ws.send(json.dumps({"type": "market_stats", "mark_prices": marks}))

    async def drop_trade(self) -> None:
        for ws in self.trade_sockets:
            await ws.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port
