"""The QFEX REST endpoints: ``GET /user/positions`` (HMAC headers) and ``GET /refdata``
(public); anything else is a problem+json 404."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from core.sim.common import Received, dumps, record_http, wait_while_silent
from core.sim.faults import Faults
from core.sim.market import Market
from core.sim.qfex.auth import Authenticator
from core.sim.qfex.positions import AccountFeed
from core.sim.qfex.settings import LEVERAGE, ORDER_TYPES, TIFS

__all__ = ["Rest"]


def _problem(status: int, title: str, detail: str, instance: str,
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


class Rest:
    """One handler for every HTTP request the venue's server gets."""

    def __init__(
        self, name: str, market: Market, faults: Faults, auth: Authenticator, feed: AccountFeed,
        received: list[Received], closing: asyncio.Event,
    ) -> None:
        self._name = name
        self._market = market
        self._faults = faults
        self._auth = auth
        self._feed = feed
        self._received = received
        self._closing = closing

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        self._received.append(record_http(self._name, request, body))
        await wait_while_silent(self._faults, self._closing)
        if self._faults.latency:
            await asyncio.sleep(self._faults.latency)
        path = request.url.path
        if request.method == "GET" and path == "/refdata":
            return self._refdata(request.query_params.get("ticker"))
        if request.method == "GET" and path == "/user/positions":
            return self._user_positions(request)
        return _problem(404, "Not Found", f"no route for {request.method} {path}", path)

    def _user_positions(self, request: Request) -> Response:
        h = request.headers
        pub = h.get("x-qfex-public-key")
        sig = h.get("x-qfex-hmac-signature")
        nonce = h.get("x-qfex-nonce")
        ts = h.get("x-qfex-timestamp")
        path = request.url.path
        if not (pub and sig and nonce and ts):
            return _problem(401, "Unauthorized", "missing x-qfex-* authentication headers",
                            path, "header.x-qfex-hmac-signature")
        if not ts.isdigit():
            return _problem(401, "Unauthorized", "x-qfex-timestamp must be Unix seconds",
                            path, "header.x-qfex-timestamp")
        result = self._auth.verify(pub, nonce, int(ts), sig)
        if isinstance(result, str):
            return _problem(401, "Unauthorized", result, path, "header.x-qfex-hmac-signature")
        positions = [self._feed.position_body(p)
                     for p in self._market.account_positions(result.account_id)]
        for p in positions:
            p.pop("id")
            p.pop("margin_alloc")
        payload = {"positions": positions or None,
                   "balance": self._feed.balance_body(result.account_id)}
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
            for n, (s, i) in enumerate(self._market.instruments.items())
            if ticker in (None, "", s)
        ]
        return Response(dumps({"type": "refdata", "data": data}), 200,
                        media_type="application/json")
