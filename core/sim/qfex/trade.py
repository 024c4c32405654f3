"""The QFEX trade socket (``/``): connection lifetime, the ``auth`` message, dispatch by
``type``, channel subscriptions, and the market's order and fill events as pushes."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.websockets import WebSocket

from core.sim.common import Outbox, Received, close_quietly, loads, record_ws, run_connection
from core.sim.faults import Faults
from core.sim.market import UNTRIGGERED, FillHappened, Market, OrderChanged
from core.sim.qfex.auth import Authenticator
from core.sim.qfex.limits import RateLimiter
from core.sim.qfex.orders import Handler, OrderCommands
from core.sim.qfex.params import BadParam, flag_param
from core.sim.qfex.positions import AccountFeed
from core.sim.qfex.session import TradeConn, TradeConns, err, send
from core.sim.qfex.settings import QfexAccount, QfexSettings
from core.sim.qfex.wire import OrderWire

__all__ = ["TradeSocket"]

CHANNELS = ("order_responses", "stop_orders", "positions", "balances", "fills")


class TradeSocket:
    """Serves every trade socket; order messages go to the commands."""

    def __init__(
        self, name: str, market: Market, faults: Faults, settings: QfexSettings,
        received: list[Received], conns: TradeConns, auth: Authenticator, limiter: RateLimiter,
        commands: OrderCommands, feed: AccountFeed, wire: OrderWire,
    ) -> None:
        self._name = name
        self._market = market
        self._faults = faults
        self._settings = settings
        self._received = received
        self._conns = conns
        self._auth = auth
        self._limiter = limiter
        self._feed = feed
        self._wire = wire
        self._handlers: dict[str, Handler] = {
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            **commands.handlers(),
            "cancel_on_disconnect": self._cancel_on_disconnect,
        }

    # ------------------------------------------------------------------ connection
    async def endpoint(self, websocket: WebSocket) -> None:
        await websocket.accept()
        conn = TradeConn(websocket, Outbox(websocket, self._faults))
        self._conns.add(conn)
        timer = asyncio.create_task(self._auth_deadline(conn))
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
            if conn.cancel_on_disconnect and conn.account is not None:
                for order in self._market.open_orders(conn.account.account_id):
                    if order.status != UNTRIGGERED:
                        self._market.cancel(order.account, order.id)

    async def _auth_deadline(self, conn: TradeConn) -> None:
        await asyncio.sleep(self._settings.auth_timeout)
        if conn.account is None:
            conn.outbox.closed = True
            await close_quietly(conn.websocket, 1008, "authentication timeout")

    def _on_text(self, conn: TradeConn, text: str) -> None:
        try:
            msg = loads(text)
        except ValueError:
            err(conn, "InvalidJSONFormat", "message is not valid JSON", None)
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            err(conn, "InvalidParameter", "missing message type", msg)
            return
        kind: str = msg["type"]
        forced = self._faults.take_error(kind)
        if forced is not None:
            err(conn, forced.error_code, forced.message, msg)
            return
        params = msg.get("params", {})
        if not isinstance(params, dict):
            err(conn, "InvalidParameter", "params must be an object", msg)
            return
        if kind == "auth":
            self._authenticate(conn, params, msg)
            return
        if conn.account is None:
            err(conn, "PermissionDenied", "not authenticated", msg)
            return
        limited = self._limiter.charge(conn.account, kind)
        if limited is not None:
            err(conn, "RateLimited", limited, msg)
            return
        handler = self._handlers.get(kind)
        if handler is None:
            err(conn, "InvalidParameter", f"unknown message type {kind!r}", msg)
            return
        try:
            handler(conn, params, msg)
        except BadParam as exc:
            err(conn, "InvalidParameter", str(exc), msg)

    def _authenticate(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        if conn.account is not None:
            err(conn, "AlreadyAuthenticated", "already authenticated", msg)
            return
        creds = params.get("hmac")
        if not isinstance(creds, dict):
            if "jwt" in params:  # JWT auth exists at the venue but is not simulated
                send(conn, {"authenticated": False})
                return
            err(conn, "InvalidParameter", "params.hmac is required", msg)
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
            err(conn, "InvalidParameter", "hmac needs public_key, nonce, unix_ts, signature",
                msg)
            return
        result = self._auth.verify(pub, nonce, ts, sig)
        account_id = params.get("account_id")
        if isinstance(result, QfexAccount) and account_id not in (None, result.account_id):
            result = "unknown account_id"
        if isinstance(result, str):
            send(conn, {"authenticated": False})
            return
        conn.account = result
        send(conn, {"authenticated": True})

    # ------------------------------------------------------------------ subscriptions
    @staticmethod
    def _channels(params: dict[str, Any]) -> list[str]:
        channels = params.get("channels")
        if not isinstance(channels, list) or not channels:
            raise BadParam("channels must be a non-empty list")
        for ch in channels:
            if ch not in CHANNELS:
                raise BadParam(f"unknown channel {ch!r}")
        return list(channels)

    def _subscribe(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        for ch in self._channels(params):
            conn.channels.add(ch)
            send(conn, {"subscribed": ch})
            if ch == "positions":
                self._feed.push_positions(conn)
            elif ch == "balances":
                self._feed.push_balance(conn)

    def _unsubscribe(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        for ch in self._channels(params):
            conn.channels.discard(ch)
            send(conn, {"unsubscribed": ch})

    def _cancel_on_disconnect(self, conn: TradeConn, params: dict[str, Any], msg: Any) -> None:
        conn.cancel_on_disconnect = flag_param(params, "cancel_on_disconnect")
        send(conn, {"ack": {"incoming_message": msg}})

    # ------------------------------------------------------------------ market events
    def on_order(self, event: OrderChanged) -> None:
        """Push an order's change to the account's subscribed sockets."""
        order = event.order
        if event.kind == "trigger_added":
            for conn in self._conns.subscribed(order.account, "stop_orders"):
                send(conn, {"stop_order_response": self._wire.stop_body(order)})
        status = {
            "added": "ACK",
            "trigger_added": "ACK",
            "partial": "FILLED",
            "filled": "FILLED",
            "trigger_failed": "REJECTED",
        }.get(event.kind)
        if event.kind == "cancelled":
            status = self._wire.status_of(order)
        if status is None:  # "triggered" is internal; "trigger_cancelled" is answered by an ack
            return
        body = self._wire.order_body(order, status)
        for conn in self._conns.subscribed(order.account, "order_responses"):
            send(conn, {"order_response": body}, update=True)

    def on_fill(self, event: FillHappened) -> None:
        body = self._wire.fill_body(event)
        for conn in self._conns.subscribed(event.fill.account, "fills"):
            send(conn, {"fill_response": body})
