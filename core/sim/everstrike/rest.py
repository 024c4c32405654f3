"""Everstrike's REST API: routing, the public and private GETs, and the signed POSTs with
their fault knobs (forced statuses, dropped replies)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from core.sim.common import Received, TransportRegistry, record_http, wait_while_silent
from core.sim.everstrike.bulk import order_forms
from core.sim.everstrike.forms import int_query
from core.sim.everstrike.orders import OrderCommands
from core.sim.everstrike.replies import Invalid, envelope, forced, plain
from core.sim.everstrike.settings import DEPOSIT, EverstrikeAccount, EverstrikeSettings
from core.sim.everstrike.signing import Signer
from core.sim.everstrike.wire import WireObjects, ms
from core.sim.faults import Faults, poisoned
from core.sim.market import ACTIVE, PARTIAL, ZERO, Market, Rejected

__all__ = ["Rest"]

PRIVATE_GETS = frozenset({
    "/active_positions", "/position", "/orders", "/order", "/active_orders", "/triggers",
    "/account", "/personal", "/balances", "/completed_orders", "/cancelled_orders", "/fills",
})

# Signed POSTs outside /auth/: the official adapter signs /leverage without a timestamp.
SIGNED_POSTS = frozenset({"/leverage"})


class Rest:
    """One handler for every HTTP request the venue's server gets."""

    def __init__(
        self, name: str, market: Market, faults: Faults, accounts: dict[str, EverstrikeAccount],
        signer: Signer, commands: OrderCommands, wire: WireObjects, registry: TransportRegistry,
        received: list[Received], closing: asyncio.Event, now: Callable[[], float],
        settings: EverstrikeSettings,
    ) -> None:
        self._name = name
        self._settings = settings
        self._market = market
        self._faults = faults
        self._accounts = accounts  # by API key, shared with the venue
        self._signer = signer
        self._commands = commands
        self._wire = wire
        self._registry = registry
        self._received = received
        self._closing = closing
        self._now = now

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        self._received.append(record_http(self._name, request, body))
        knob = self._faults.take_http_status(request.url.path.rstrip("/") or "/")
        if knob is None:
            await wait_while_silent(self._faults, self._closing)
        response = forced(*knob) if knob is not None else None
        if response is None:
            response = await self._route(request, body)
            number = None if response is None or response.status_code != 200 else \
                self._faults.take_poison(request.url.path.rstrip("/") or "/")
            if response is not None and number is not None:
                text = poisoned(bytes(response.body).decode(), "balances", number)
                response = Response(text, 200, media_type="application/json")
        if response is None:  # dropped without a reply (fault knob)
            while (await request.receive())["type"] != "http.disconnect":
                pass
            return Response(status_code=204)  # never sent: the connection is gone
        if self._faults.latency:
            await asyncio.sleep(self._faults.latency)
        return response

    async def _route(self, request: Request, body: bytes) -> Response | None:
        path = request.url.path.rstrip("/") or "/"
        method = request.method
        q = request.query_params
        try:
            if method == "POST" and (path.startswith("/auth/") or path in SIGNED_POSTS):
                return self._signed(request, body, path)
            if method != "GET":
                return envelope(404, "Not found", None)
            if path == "/ticker":
                ticker = self._ticker(q.get("pair"))
                if self._settings.ticker_enveloped:
                    return envelope(200, "null", ticker)
                return plain(ticker)
            public: Callable[[], Any] | None = {
                "/pairs": self._pairs,
                "/time": lambda: ms(self._now()),
                "/ping": lambda: {},
            }.get(path)
            if public is not None:
                return envelope(200, "null", public())
            if path not in PRIVATE_GETS:
                return envelope(404, "Not found", None)
            account = self._accounts.get(request.headers.get("x-api-key", ""))
            if account is None:
                return envelope(401, "Invalid API key", None)
            return envelope(200, "null", self._private_get(account, path, dict(q)))
        except Invalid as exc:
            msg = str(exc)
            return envelope(503, f"Invalid request: {msg}" if msg else "Invalid request", {})

    def _private_get(self, account: EverstrikeAccount, path: str, q: dict[str, str]) -> Any:
        cid = account.customer_id
        pair = q.get("pair")
        if pair is not None and pair not in self._market.instruments:
            raise Invalid(f"unknown pair {pair}")
        if path == "/active_positions":
            return {p.symbol: self._wire.position_obj(p)
                    for p in self._market.account_positions(cid) if pair in (None, p.symbol)}
        if path == "/position":
            if pair is None:
                raise Invalid("pair is required")
            return self._wire.position_obj(self._market.position(cid, pair))
        if path in ("/account",):
            return {"positions": {p.symbol: self._wire.position_obj(p)
                                  for p in self._market.account_positions(cid)},
                    "balances": self._wire.balances(cid)}
        if path == "/balances":
            return self._wire.balances(cid)
        if path == "/personal":
            return {"customer_id": cid, "balances": self._wire.balances(cid),
                    "permissions": {"trading_enabled": True, "withdrawals_enabled": True},
                    "verification_level": 1, "trading_allowance": DEPOSIT}
        if path == "/order":
            order = self._market.orders.get(q.get("id", ""))
            if order is None or order.account != cid:
                raise Invalid("no such order")
            return self._wire.order_obj(order)
        orders = [o for o in self._market.orders.values()
                  if o.account == cid and pair in (None, o.symbol)]
        start, end = int_query(q, "start"), int_query(q, "end")
        limit = int_query(q, "limit")
        if path == "/fills":
            fills = [(f, o) for o in orders for f in o.fills
                     if (start is None or ms(f.time) >= start)
                     and (end is None or ms(f.time) <= end)]
            fills.sort(key=lambda fo: (fo[0].time, int(fo[0].trade_id)), reverse=True)
            return [self._wire.fill_obj(f, o) for f, o in fills[:limit or 100]]
        if path == "/active_orders":
            orders = [o for o in orders if o.status in (ACTIVE, PARTIAL)]
        elif path == "/triggers":
            orders = [o for o in orders if o.is_trigger]
        elif path == "/completed_orders":
            orders = [o for o in orders if self._wire.status(o) == "COMPLETED"]
        elif path == "/cancelled_orders":
            orders = [o for o in orders if self._wire.status(o) == "CANCELLED"]
        orders = [o for o in orders
                  if (start is None or ms(o.updated) >= start)
                  and (end is None or ms(o.updated) <= end)]
        orders.sort(key=lambda o: o.created, reverse=True)
        default = 1000 if path in ("/active_orders", "/triggers") else 100
        return [self._wire.order_obj(o) for o in orders[:limit or default]]

    def _pairs(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, inst in self._market.instruments.items():
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

    def _ticker(self, pair: str | None) -> dict[str, Any]:
        """Keyed by pair, with the docs' fields the market knows; no 24 h history is kept, so
        the day's open, high and low are the mark and the changes and volumes are zero."""
        if pair is not None and pair not in self._market.instruments:
            raise Invalid(f"unknown pair {pair}")
        return {
            key: {"last_price": i.last, "prev_last_price": i.last, "last_qty": ZERO,
                  "bid_price": i.bid, "ask_price": i.ask, "bid_qty": i.liquidity,
                  "ask_qty": i.liquidity, "mark_price": i.mark, "index_price": i.index,
                  "open_price": i.mark, "close_price": i.last, "high_price": i.mark,
                  "low_price": i.mark, "min_price": i.min_price, "max_price": i.max_price,
                  "price_change": ZERO, "price_change_percent": ZERO, "base_volume": ZERO,
                  "quote_volume": ZERO, "close_time": ms(self._now())}
            for key, i in self._market.instruments.items() if pair in (None, key)
        }

    # ------------------------------------------------------------------ signed POSTs
    def _signed(self, request: Request, body: bytes, path: str) -> Response | None:
        handler = self._commands.handler(path)
        if handler is None:
            return envelope(404, "Not found", None)
        signed = self._signer.check(request, body, settings_call=path in SIGNED_POSTS)
        if isinstance(signed, Response):
            return signed
        account, form, pairs = signed
        if path == "/auth/order/bulk":  # the docs' example stamps each order, not the request
            for order_form in order_forms(pairs):
                stale = self._signer.check_time(order_form)
                if stale is not None:
                    return stale
        if path == "/auth/close":
            status = self._faults.take_order_status(form.get("pair"))
            if status is not None:
                return envelope(200, "null", self._commands.forced_close(account, form, *status))
        if path in ("/auth/close", "/auth/order"):
            drop, execute = self._faults.take_drop()
            if drop:
                if execute:
                    with contextlib.suppress(Invalid, Rejected):
                        handler(account, form, pairs)
                self._registry.abort(request.scope)
                return None
        try:
            return envelope(200, "null", handler(account, form, pairs))
        except Rejected as exc:
            raise Invalid(str(exc)) from exc
