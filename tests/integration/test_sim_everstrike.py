"""The simulated Everstrike over real loopback sockets, driven by plain ``httpx``/``websockets``
clients written from VENUES.md (never our core.venues code)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

from core.sim import Simulator
from core.sim.faults import MALFORMED_FRAME, TRIGGER_FAILED_MESSAGE

D = Decimal
SOL = "USD_SOL_PERP"  # demo: long 120 @ 188.40, mark 205.37, liquidity 5000
ETH = "USD_ETH_PERP"  # demo: short 3.5


# ----------------------------------------------------------------------------- client helpers
def now_ms() -> int:
    return int(time.time() * 1000)


def sign(secret: str, body: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
                            ).decode()


def parse(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


class Client:
    """A bare Everstrike REST client: signs the exact form body it sends."""

    def __init__(self, sim: Simulator, http: httpx.AsyncClient) -> None:
        self.sim = sim
        self.http = http
        self.key = sim.info.everstrike.api_key
        self.secret = sim.info.everstrike.secret_key

    async def post(self, path: str, fields: Sequence[tuple[str, Any]] | dict[str, Any], *,
                   stamp: bool = True, secret: str | None = None,
                   signature: str | None = None) -> httpx.Response:
        items = list(fields.items()) if isinstance(fields, dict) else list(fields)
        if stamp:
            items.append(("timestamp", now_ms()))
        body = urlencode(items)
        return await self.raw(path, body, signature or sign(secret or self.secret, body))

    async def raw(self, path: str, body: str, signature: str) -> httpx.Response:
        headers = {"content-type": "application/x-www-form-urlencoded", "x-api-key": self.key,
                   "x-signature": signature}
        return await self.http.post(path, content=body.encode(), headers=headers)

    async def get(self, path: str, **params: Any) -> Any:
        r = await self.http.get(path, params=params, headers={"x-api-key": self.key})
        assert r.status_code == 200, r.text
        return parse(r.text)["result"]


@asynccontextmanager
async def client(sim: Simulator) -> AsyncIterator[Client]:
    async with httpx.AsyncClient(base_url=sim.info.everstrike.rest) as http:
        yield Client(sim, http)


def ok(r: httpx.Response) -> Any:
    assert r.status_code == 200, r.text
    body = parse(r.text)
    assert (body["code"], body["msg"]) == (200, "null")
    return body["result"]


def envelope(r: httpx.Response) -> tuple[int, int, str, Any]:
    body = parse(r.text)
    assert set(body) == {"code", "msg", "result"}
    return r.status_code, body["code"], body["msg"], body["result"]


def connect(url: str) -> ws_connect:
    """Unbounded client buffer, so closing never waits on unread frames."""
    return ws_connect(url, max_queue=None)


async def recv(ws: ClientConnection) -> Any:
    async with asyncio.timeout(10):
        return parse(await ws.recv())


async def recv_until(ws: ClientConnection, pred: Callable[[Any], bool]) -> list[Any]:
    seen: list[Any] = []
    async with asyncio.timeout(10):
        while True:
            msg = parse(await ws.recv())
            seen.append(msg)
            if pred(msg):
                return seen


def category(*names: str) -> Callable[[Any], bool]:
    return lambda m: m.get("category") in names


async def barrier(ws: ClientConnection) -> list[Any]:
    """Everything sent before the venue answers a keep-alive."""
    await ws.send(json.dumps({"op": "status", "content": "empty"}))
    return (await recv_until(ws, category("ok")))[:-1]


@asynccontextmanager
async def events(sim: Simulator) -> AsyncIterator[ClientConnection]:
    async with connect(sim.info.everstrike.ws) as ws:
        await ws.send(json.dumps({"op": "auth_api", "content": sim.info.everstrike.api_key}))
        reply = await recv(ws)
        assert reply == {"code": 200, "msg": "Authenticated", "category": "authenticated",
                         "pair": None, "result": {}}
        yield ws


def categories(msgs: Sequence[Any]) -> list[str]:
    return [m["category"] for m in msgs]


def account(sim: Simulator) -> str:
    return sim.account_id("everstrike", sim.info.everstrike.api_key)


async def size(sim: Simulator, pair: str = SOL, who: str | None = None) -> Decimal:
    acc = who or account(sim)
    return await sim.acall(lambda: sim.everstrike.market.position(acc, pair).size)


async def set_mark(sim: Simulator, pair: str, mark: Decimal, *, index: Decimal | None = None
                   ) -> None:
    await sim.acall(lambda: sim.everstrike.market.set_mark(pair, mark, index=index))


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # polled: the state has no event
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached before the deadline")


# ----------------------------------------------------------------------------- signing
@pytest.mark.asyncio
async def test_signed_close_succeeds_and_body_is_recorded_verbatim(sim: Simulator) -> None:
    async with client(sim) as c:
        fields = [("pair", SOL), ("timestamp", now_ms()), ("recv_window", 5000)]
        body = urlencode(fields)
        result = ok(await c.raw("/auth/close", body, sign(c.secret, body)))
    order = result["order"]
    assert (order["pair"], order["side"], order["type"], order["status"]) == (
        SOL, "SELL", "MARKET", "COMPLETED")
    assert order["qty_filled"] == 120
    assert len(order["id"]) == 32
    int(order["id"], 16)
    assert result["position"]["size"] == 0
    assert "USD" in result["balances"]
    assert await size(sim) == 0
    (rec,) = await sim.acall(lambda: list(sim.everstrike.received))
    assert (rec.channel, rec.method, rec.path, rec.body) == ("http", "POST", "/auth/close", body)
    assert rec.headers["x-signature"] == sign(c.secret, body)


@pytest.mark.asyncio
async def test_bad_credentials_are_401(sim: Simulator) -> None:
    async with client(sim) as c:
        good_sig = sign(c.secret, "pair=USD_SOL_PERP")
        cases = [
            await c.post("/auth/close", {"pair": SOL}, secret="wrong"),
            await c.raw("/auth/close", "pair=USD_SOL_PERP", good_sig.rstrip("=")),  # no padding
            await c.raw("/auth/close", "pair=USD_SOL_PERP", ""),
        ]
        c.key = "nobody"
        cases.append(await c.post("/auth/close", {"pair": SOL}))
        unauth_get = await c.http.get("/active_positions")
    for r in cases:
        status, code, _msg, result = envelope(r)
        assert (status, code, result) == (401, 401, None)
    assert unauth_get.status_code == 401
    assert await size(sim) == 120


@pytest.mark.asyncio
async def test_stale_and_future_timestamps_are_rejected(sim: Simulator) -> None:
    async with client(sim) as c:
        stale = await c.post("/auth/close", {"pair": SOL, "timestamp": now_ms() - 20_000},
                             stamp=False)
        future = await c.post("/auth/close", {"pair": SOL, "timestamp": now_ms() + 60_000},
                              stamp=False)
        narrow = await c.post("/auth/close", {"pair": SOL, "qty": 1, "recv_window": 1,
                                              "timestamp": now_ms() - 2_000}, stamp=False)
        assert envelope(stale) == (408, 414, "The timestamp is too old.", None)
        assert envelope(future)[:2] == (408, 414)
        assert envelope(narrow)[:2] == (408, 414)
        assert await size(sim) == 120
        wide = await c.post("/auth/close", {"pair": SOL, "qty": 1, "recv_window": 60_000,
                                            "timestamp": now_ms() - 20_000}, stamp=False)
        ok(wide)
        # The docs' Python sample sends a float timestamp.
        ok(await c.post("/auth/close", {"pair": SOL, "qty": 1,
                                        "timestamp": time.time() * 1000.0}, stamp=False))
        # Some doc examples sign a body without any timestamp; accepted (assumption).
        ok(await c.post("/auth/close", {"pair": SOL, "qty": 1}, stamp=False))
    assert await size(sim) == 117


@pytest.mark.asyncio
async def test_replayed_body_is_rejected(sim: Simulator) -> None:
    body = urlencode({"pair": SOL, "qty": 10, "timestamp": now_ms()})
    async with client(sim) as c:
        ok(await c.raw("/auth/close", body, sign(c.secret, body)))
        status, code, _msg, result = envelope(await c.raw("/auth/close", body, sign(c.secret,
                                                                                  body)))
    assert (status, code, result) == (503, 503, {})
    assert await size(sim) == 110


# ----------------------------------------------------------------------------- closing
@pytest.mark.asyncio
async def test_full_close_pushes_order_and_position_events(sim: Simulator) -> None:
    async with events(sim) as ws, client(sim) as c:
        ok(await c.post("/auth/close", {"pair": SOL}))
        msgs = await recv_until(ws, category("order_completed"))
        msgs += await barrier(ws)
    cats = categories(msgs)
    assert cats[0] == "order_added"
    assert "position_closed" in cats
    assert cats.index("position_closed") < cats.index("order_completed")
    closed = next(m for m in msgs if m["category"] == "position_closed")
    assert (closed["pair"], closed["result"]["pair"], closed["result"]["size"]) == (SOL, SOL, 0)
    done = next(m for m in msgs if m["category"] == "order_completed")
    assert done["result"]["order"]["qty_remaining"] == 0


@pytest.mark.asyncio
async def test_partial_close_by_qty(sim: Simulator) -> None:
    async with client(sim) as c:
        result = ok(await c.post("/auth/close", {"pair": SOL, "qty": "20.5"}))
    assert result["order"]["qty_filled"] == D("20.5")
    assert result["position"]["size"] == D("99.5")
    assert await size(sim) == D("99.5")


@pytest.mark.asyncio
async def test_market_close_beyond_liquidity_leaves_a_residual(sim: Simulator) -> None:
    key, secret = sim.add_account("everstrike", "whale",
                                  [("USD_BTC_PERP", D("8"), D("100000"))])
    whale = sim.account_id("everstrike", key)
    async with client(sim) as c:
        c.key, c.secret = key, secret
        result = ok(await c.post("/auth/close", {"pair": "USD_BTC_PERP"}))
    order = result["order"]
    assert (order["status"], order["qty_filled"], order["qty_remaining"]) == ("CANCELLED", 5, 3)
    assert await size(sim, "USD_BTC_PERP", who=whale) == 3


@pytest.mark.asyncio
async def test_limit_close_rests_until_the_mark_crosses(sim: Simulator) -> None:
    async with events(sim) as ws, client(sim) as c:
        result = ok(await c.post("/auth/close", {"pair": SOL, "qty": 50, "price": "210.00"}))
        order = result["order"]
        assert (order["type"], order["status"], order["time_in_force"]) == (
            "LIMIT", "ACTIVE", "GTC")
        active = await c.get("/active_orders")
        assert [o["id"] for o in active] == [order["id"]]
        assert categories(await barrier(ws)) == ["order_added"]
        await set_mark(sim, SOL, D("211"))
        msgs = await recv_until(ws, category("order_completed"))
        assert msgs[-1]["result"]["order"]["id"] == order["id"]
        assert (await c.get("/order", id=order["id"]))["status"] == "COMPLETED"
    assert await size(sim) == 70


@pytest.mark.asyncio
async def test_trigger_close_fires_on_the_mark(sim: Simulator) -> None:
    async with events(sim) as ws, client(sim) as c:
        result = ok(await c.post("/auth/close", {"pair": SOL, "trigger_price": "200",
                                                 "trigger_event": "MARK_PRICE",
                                                 "close_on_trigger": "false"}))
        trig = result["order"]
        assert (trig["status"], trig["trigger_price"], trig["trigger_event"]) == (
            "UNTRIGGERED", 200, "MARK_PRICE")
        assert [t["id"] for t in await c.get("/triggers")] == [trig["id"]]
        assert await c.get("/active_orders") == []
        assert categories(await barrier(ws)) == ["trigger_added"]
        await set_mark(sim, SOL, D("201"))
        assert await size(sim) == 120
        await set_mark(sim, SOL, D("199"))
        msgs = await recv_until(ws, category("order_completed"))
        assert categories(msgs)[0] == "order_triggered"
    assert await size(sim) == 0


@pytest.mark.asyncio
async def test_index_trigger_with_close_on_trigger(sim: Simulator) -> None:
    async with events(sim) as ws, client(sim) as c:
        resting = ok(await c.post("/auth/close", {"pair": SOL, "qty": 10, "price": "250"}))
        ok(await c.post("/auth/close", {"pair": SOL, "trigger_price": "200",
                                        "trigger_event": "INDEX_PRICE",
                                        "close_on_trigger": "true"}))
        await set_mark(sim, SOL, D("205"), index=D("199"))  # only the index crosses
        msgs = await recv_until(ws, category("order_completed"))
    cancelled = [m["result"]["order"]["id"] for m in msgs if m["category"] == "order_cancelled"]
    assert cancelled == [resting["order"]["id"]]
    assert await size(sim) == 0


@pytest.mark.asyncio
async def test_reduce_only_is_enforced(sim: Simulator) -> None:
    async with client(sim) as c:
        wrong_way = await c.post("/auth/order", {"pair": SOL, "side": "BUY", "qty": 5,
                                                 "reduce_only": "true"})
        assert envelope(wrong_way)[:2] == (503, 503)
        assert await size(sim) == 120
        too_much = ok(await c.post("/auth/order", {"pair": SOL, "side": "SELL", "qty": 500,
                                                   "reduce_only": "true"}))
        assert too_much["order"]["qty_filled"] == 120
    assert await size(sim) == 0


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "fields",
    [
        {"pair": "USD_NOPE_PERP"},
        {"qty": 1},
        {"pair": SOL, "qty": "abc"},
        {"pair": SOL, "price": "-1"},
        {"pair": SOL, "trigger_price": "200", "trigger_event": "WHENEVER"},
        {"pair": SOL, "close_on_trigger": "maybe"},
        {"pair": SOL, "qty": "0.001"},  # off the 0.01 lot
    ],
)
async def test_invalid_close_is_the_documented_503(sim: Simulator, fields: dict[str, Any]
                                                   ) -> None:
    async with client(sim) as c:
        status, code, msg, result = envelope(await c.post("/auth/close", fields))
    assert (status, code, result) == (503, 503, {})
    assert msg.startswith("Invalid request")
    assert await size(sim) == 120


@pytest.mark.asyncio
async def test_close_without_a_position_is_503(sim: Simulator) -> None:
    async with client(sim) as c:
        ok(await c.post("/auth/close", {"pair": SOL}))
        assert envelope(await c.post("/auth/close", {"pair": SOL}))[:3] == (
            503, 503, f"Invalid request: no open position in {SOL}")


@pytest.mark.asyncio
async def test_cancel_and_bulk_cancel(sim: Simulator) -> None:
    async with client(sim) as c:
        a = ok(await c.post("/auth/close", {"pair": SOL, "qty": 1, "price": "300"}))["order"]
        b = ok(await c.post("/auth/close", {"pair": SOL, "qty": 2, "price": "301"}))["order"]
        t = ok(await c.post("/auth/close", {"pair": SOL, "trigger_price": "100"}))["order"]
        cancelled = ok(await c.post("/auth/cancel", {"id": a["id"]}))
        assert (cancelled["id"], cancelled["status"]) == (a["id"], "CANCELLED")
        assert envelope(await c.post("/auth/cancel", {"id": a["id"]}))[:2] == (503, 503)
        bulk = ok(await c.post("/auth/cancel/bulk", {}))
        assert [o["id"] for o in bulk] == [b["id"]]
        assert await c.get("/active_orders") == []
        assert [o["status"] for o in await c.get("/triggers")] == ["UNTRIGGERED"]
        by_id = ok(await c.post("/auth/cancel/bulk", [("ids[]", t["id"])]))
        assert [o["status"] for o in by_id] == ["CANCELLED"]


# ----------------------------------------------------------------------------- listing
@pytest.mark.asyncio
async def test_private_gets(sim: Simulator) -> None:
    async with client(sim) as c:
        positions = await c.get("/active_positions")
        assert len(positions) == 8
        eth = positions[ETH]
        assert (eth["pair"], eth["size"], eth["stats"]["direction"]) == (ETH, D("-3.5"), "SELL")
        assert positions[SOL]["stats"]["direction"] == "BUY"
        assert {"mark", "avg_entry", "lp", "bankrupt", "leverage"} <= set(eth["stats"])
        assert (await c.get("/position", pair=ETH))["size"] == D("-3.5")
        ok(await c.post("/auth/close", {"pair": ETH}))
        assert ETH not in await c.get("/active_positions")
        flat = await c.get("/position", pair=ETH)
        assert (flat["size"], flat["stats"]["direction"]) == (0, "SELL")
        acct = await c.get("/account")
        assert set(acct) == {"positions", "balances"}
        assert set(await c.get("/balances")) == {"USD"}
        assert set((await c.get("/personal"))["balances"]["USD"]) == {
            "free", "locked", "withdrawn", "pnl", "margin", "fees"}
        orders = await c.get("/orders")
        assert [o["pair"] for o in orders] == [ETH]


@pytest.mark.asyncio
async def test_public_gets(sim: Simulator) -> None:
    async with httpx.AsyncClient(base_url=sim.info.everstrike.rest) as http:
        pairs = parse((await http.get("/pairs")).text)["result"]
        server_ms = parse((await http.get("/time")).text)["result"]
        ping = parse((await http.get("/ping")).text)
        ticker = parse((await http.get("/ticker")).text)  # unwrapped, as the official bot reads
    call = pairs["USD_BTCCALL_PERP"]
    assert call["status"] == "TRADING"
    filters = {f["filter_type"]: f for f in call["filters"]}
    assert D(1) % filters["PRICE_FILTER"]["tick_size"] == 0
    assert D("0.001") % filters["LOT_SIZE"]["tick_size"] == 0
    assert isinstance(server_ms, int)
    assert abs(server_ms - now_ms()) < 60_000
    assert ping["code"] == 200
    assert ticker[SOL]["bid_price"] < ticker[SOL]["ask_price"]


# ----------------------------------------------------------------------------- WebSocket
@pytest.mark.asyncio
async def test_ws_control_messages(sim: Simulator) -> None:
    async with connect(sim.info.everstrike.ws) as ws:
        for frame, expect in (
            ('{"op": "auth_api", "content": "nobody"}', "error"),
            ('{"op": "status", "content": ""}', "error"),
            ("nonsense", "error"),
            ('{"op": "teleport", "content": "x"}', "error"),
            ('{"op": "status", "content": "empty"}', "ok"),
            ('{"op": "subscriptions", "content": "empty"}', "subscriptions"),
        ):
            await ws.send(frame)
            reply = await recv(ws)
            assert reply["category"] == expect, frame
            assert set(reply) == {"code", "msg", "category", "pair", "result"}


@pytest.mark.asyncio
async def test_ws_index_subscription(sim: Simulator) -> None:
    async with connect(sim.info.everstrike.ws) as ws:
        await ws.send(json.dumps({"op": "sub", "content": f"{SOL}:index"}))
        subscribed, snapshot = await recv(ws), await recv(ws)
        assert (subscribed["category"], subscribed["pair"]) == ("subscribed", SOL)
        assert (snapshot["category"], snapshot["pair"]) == ("index", SOL)
        await set_mark(sim, SOL, D("222.22"), index=D("222.00"))
        moved = await recv(ws)
        assert (moved["result"]["mark"], moved["result"]["index"]) == (D("222.22"),
                                                                        D("222.00"))
        await ws.send(json.dumps({"op": "unsub", "content": f"{SOL}:index"}))
        assert (await recv(ws))["category"] == "unsubscribed"
        await set_mark(sim, SOL, D("223"))
        assert await barrier(ws) == []
        await ws.send(json.dumps({"op": "sub_pair", "content": ETH}))
        assert [m["category"] for m in (await recv(ws), await recv(ws))] == ["subscribed",
                                                                             "index"]
        await set_mark(sim, ETH, D("4000"))
        assert (await recv(ws))["result"]["mark"] == 4000


@pytest.mark.asyncio
async def test_ws_idle_connection_is_dropped(sim: Simulator) -> None:
    sim.everstrike.settings.idle_timeout = 0.05
    async with connect(sim.info.everstrike.ws) as ws:
        async with asyncio.timeout(10):
            await ws.wait_closed()


@pytest.mark.asyncio
async def test_ws_public_subscription_limit(sim: Simulator) -> None:
    sim.everstrike.settings.max_public_subscriptions = 2
    async with connect(sim.info.everstrike.ws) as ws:
        for content in (f"{SOL}:ticker", f"{SOL}:depth", f"{SOL}:trades"):
            await ws.send(json.dumps({"op": "sub", "content": content}))
        replies = await recv_until(ws, category("error"))
    assert categories(replies) == ["subscribed", "subscribed", "error"]


# ----------------------------------------------------------------------------- faults
@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (429, (429, 429, "You have done that too much recently. Care to try again in 0.043 "
                         "seconds?", None)),
        (503, (503, 503, "Invalid request", {})),
        (408, (408, 414, "The timestamp is too old.", None)),
        (401, (401, 401, "Invalid API key", None)),
        (500, (500, 500, "Internal server error", None)),
    ],
)
async def test_fault_forced_http_status(sim: Simulator, status: int, expected: Any) -> None:
    sim.everstrike.faults.force_http(status, count=2)
    async with client(sim) as c:
        first = await c.post("/auth/close", {"pair": SOL})
        second = await c.http.get("/time")
        third = await c.post("/auth/close", {"pair": SOL, "qty": 1})
    assert envelope(first) == expected
    assert envelope(second) == expected
    ok(third)
    assert await size(sim) == 119  # the forced replies executed nothing


@pytest.mark.asyncio
@pytest.mark.parametrize("execute", [True, False])
async def test_fault_drop_without_reply(sim: Simulator, execute: bool) -> None:
    sim.everstrike.faults.drop_next(execute=execute)
    async with client(sim) as c:
        with pytest.raises(httpx.TransportError):
            await c.post("/auth/close", {"pair": SOL})
        ok(await c.post("/auth/close", {"pair": ETH}))  # the next request is answered
    assert await size(sim) == (0 if execute else 120)


@pytest.mark.asyncio
async def test_fault_latency(sim: Simulator) -> None:
    sim.everstrike.faults.latency = 0.2
    async with client(sim) as c:
        started = time.monotonic()
        await c.http.get("/ping")
        assert time.monotonic() - started >= 0.2  # a floor set by a sleep, not a benchmark


@pytest.mark.asyncio
async def test_fault_clock_skew(sim: Simulator) -> None:
    sim.everstrike.faults.clock_skew = 60.0
    async with client(sim) as c:
        server_ms = parse((await c.http.get("/time")).text)["result"]
        assert server_ms >= now_ms() + 50_000
        assert envelope(await c.post("/auth/close", {"pair": SOL}))[:2] == (408, 414)
        ok(await c.post("/auth/close", {"pair": SOL, "timestamp": server_ms}, stamp=False))


@pytest.mark.asyncio
async def test_fault_silent_holds_http_and_ws(sim: Simulator) -> None:
    async with events(sim) as ws, client(sim) as c:
        sim.everstrike.faults.silent = True
        pending = asyncio.create_task(c.post("/auth/close", {"pair": SOL}))

        async def arrived() -> bool:
            return len(await sim.acall(lambda: list(sim.everstrike.received))) >= 1

        await eventually(arrived)
        await ws.send(json.dumps({"op": "status", "content": "empty"}))

        async def keepalive_handled() -> bool:
            got = await sim.acall(lambda: list(sim.everstrike.received))
            return any(r.channel == "ws" and '"status"' in r.body for r in got)

        await eventually(keepalive_handled)
        assert not pending.done()
        assert sim.everstrike.faults.silenced >= 1  # the keep-alive's "ok"
        async with asyncio.timeout(10):
            await (await ws.ping())  # silent, yet open: protocol pings still get pongs
        sim.everstrike.faults.silent = False
        ok(await pending)
        msgs = await recv_until(ws, category("order_completed"))
    assert "ok" not in categories(msgs)  # the keep-alive reply was swallowed while silent


@pytest.mark.asyncio
async def test_fault_malformed_duplicate_and_reordered_events(sim: Simulator) -> None:
    faults = sim.everstrike.faults
    async with events(sim) as ws, client(sim) as c:
        faults.inject_malformed()
        await ws.send(json.dumps({"op": "status", "content": "empty"}))
        async with asyncio.timeout(10):
            assert await ws.recv() == MALFORMED_FRAME
        assert (await recv(ws))["category"] == "ok"

        faults.duplicate = True
        ok(await c.post("/auth/close", {"pair": SOL, "qty": 1}))
        dup = await recv_until(ws, category("order_completed"))
        dup += await recv_until(ws, category("order_completed"))
        assert [x for x in categories(dup) if x.startswith("order_")] == [
            "order_added", "order_added", "order_completed", "order_completed"]

        faults.duplicate, faults.reorder = False, True
        ok(await c.post("/auth/close", {"pair": SOL, "qty": 1}))
        swapped = await recv_until(ws, category("order_added"))
        assert [x for x in categories(swapped) if x.startswith("order_")] == [
            "order_completed", "order_added"]


@pytest.mark.asyncio
async def test_stuck_close_never_reduces(sim: Simulator) -> None:
    acc = account(sim)
    await sim.acall(lambda: sim.everstrike.market.stuck.add((acc, SOL)))
    async with client(sim) as c:
        order = ok(await c.post("/auth/close", {"pair": SOL}))["order"]
    assert (order["status"], order["qty_filled"]) == ("CANCELLED", 0)
    assert await size(sim) == 120


@pytest.mark.asyncio
async def test_fault_forced_http_status_for_one_path_with_its_own_text(sim: Simulator) -> None:
    wait = "You have done that too much recently. Care to try again in 1.5 seconds?"
    sim.everstrike.faults.force_http(429, path="/auth/close", msg=wait)
    async with client(sim) as c:
        time_reply = await c.http.get("/time")  # not the forced path: answered normally
        limited = await c.post("/auth/close", {"pair": SOL})
        done = await c.post("/auth/close", {"pair": SOL, "qty": 1})
    assert parse(time_reply.text)["code"] == 200
    assert envelope(limited) == (429, 429, wait, None)
    ok(done)
    assert await size(sim) == 119


# ----------------------------------------------------------------------------- forced orders
ORDER_FIELDS = {
    "id", "pair", "side", "type", "customer_id", "leverage", "price", "price_orig", "qty_orig",
    "qty_orig_usd", "qty_remaining", "qty_filled", "status", "time", "time_in_force", "oco",
    "icebergs", "trigger_price", "trigger_event", "close_on_trigger", "reduce_only",
    "post_only", "hidden", "fills", "msg",
}


@pytest.mark.asyncio
@pytest.mark.parametrize("status", ["REJECTED", "CANCELLED"])
async def test_force_order_status_answers_a_close_without_executing_it(sim: Simulator,
                                                                      status: str) -> None:
    reason = "Order was rejected due to insufficient balance"
    sim.everstrike.faults.force_order_status(status, reason, pair=SOL)
    async with events(sim) as ws, client(sim) as c:
        ok(await c.post("/auth/close", {"pair": ETH, "qty": "0.5"}))  # other pair: executes
        await recv_until(ws, category("order_completed"))
        result = ok(await c.post("/auth/close", {"pair": SOL, "qty": 10, "price": "250"}))
        order = result["order"]
        assert set(order) == ORDER_FIELDS
        assert (order["status"], order["msg"], order["pair"], order["side"]) == (
            status, reason, SOL, "SELL")
        assert (order["qty_orig"], order["qty_filled"], order["qty_remaining"]) == (10, 0, 10)
        assert result["position"]["size"] == 120
        cats = categories(await barrier(ws))
        assert cats == (["order_added", "order_cancelled"] if status == "CANCELLED" else [])
        assert (await c.get("/order", id=order["id"]))["status"] == status
        assert await c.get("/active_orders") == []
        ok(await c.post("/auth/close", {"pair": SOL, "qty": 1}))  # the knob is used up
    assert await size(sim) == 119
    with pytest.raises(ValueError):
        sim.everstrike.faults.force_order_status("COMPLETED", "no")


@pytest.mark.asyncio
async def test_fail_next_trigger_pushes_trigger_failed(sim: Simulator) -> None:
    sim.everstrike.faults.fail_next_trigger()
    async with events(sim) as ws, client(sim) as c:
        trig = ok(await c.post("/auth/close", {"pair": SOL, "trigger_price": "200"}))["order"]
        await set_mark(sim, SOL, D("199"))
        msgs = await recv_until(ws, category("trigger_failed"))
        failed = msgs[-1]["result"]["order"]
        assert (failed["id"], failed["msg"]) == (trig["id"], TRIGGER_FAILED_MESSAGE)
        assert "order_completed" not in categories(msgs + await barrier(ws))
        (listed,) = await c.get("/triggers")
        assert (listed["status"], listed["msg"]) == ("CANCELLED", TRIGGER_FAILED_MESSAGE)
        # Only the next trigger fails.
        ok(await c.post("/auth/close", {"pair": SOL, "trigger_price": "198"}))
        await set_mark(sim, SOL, D("197"))
        await recv_until(ws, category("order_completed"))
    assert await size(sim) == 0


# ----------------------------------------------------------------------------- cancel paths
@pytest.mark.asyncio
async def test_cancel_resting_limit_and_untriggered_trigger(sim: Simulator) -> None:
    async with events(sim) as ws, client(sim) as c:
        limit = ok(await c.post("/auth/close", {"pair": SOL, "qty": 5, "price": "300"}))["order"]
        trig = ok(await c.post("/auth/close", {"pair": SOL, "trigger_price": "150",
                                               "trigger_event": "LAST_PRICE"}))["order"]
        (active,) = await c.get("/active_orders")
        assert set(active) == ORDER_FIELDS
        assert (active["id"], active["status"], active["price"], active["reduce_only"]) == (
            limit["id"], "ACTIVE", 300, True)
        (listed,) = await c.get("/triggers")
        assert set(listed) == ORDER_FIELDS
        assert (listed["id"], listed["status"], listed["trigger_price"],
                listed["trigger_event"]) == (trig["id"], "UNTRIGGERED", 150, "LAST_PRICE")
        await barrier(ws)

        cancelled = ok(await c.post("/auth/cancel", {"id": limit["id"]}))
        assert (cancelled["id"], cancelled["status"]) == (limit["id"], "CANCELLED")
        msgs = await recv_until(ws, category("order_cancelled"))
        assert msgs[-1]["result"]["order"]["id"] == limit["id"]

        untriggered = ok(await c.post("/auth/cancel", {"id": trig["id"]}))
        assert (untriggered["id"], untriggered["status"]) == (trig["id"], "CANCELLED")
        msgs = await recv_until(ws, category("trigger_cancelled"))
        assert msgs[-1]["result"]["order"]["id"] == trig["id"]

        assert await c.get("/active_orders") == []
        assert [t["status"] for t in await c.get("/triggers")] == ["CANCELLED"]
        await set_mark(sim, SOL, D("140"))  # a cancelled trigger never fires
        assert "order_triggered" not in categories(await barrier(ws))
    assert await size(sim) == 120


# ----------------------------------------------------------------------------- request log
@pytest.mark.asyncio
async def test_requests_filters_the_log(sim: Simulator) -> None:
    async with events(sim) as ws, client(sim) as c:
        limit = ok(await c.post("/auth/close", {"pair": SOL, "qty": 5, "price": "300"}))["order"]
        ok(await c.post("/auth/cancel", {"id": limit["id"]}))
        ok(await c.post("/auth/close", {"pair": ETH}))
        await c.get("/active_positions", pair=SOL)
        await barrier(ws)
    closes = sim.requests("everstrike", kind="close")
    assert [r.form()["pair"] for r in closes] == [SOL, ETH]
    assert closes[0].form()["price"] == "300"
    (cancel,) = sim.requests("everstrike", kind="cancel")
    assert (cancel.path, cancel.form()["id"]) == ("/auth/cancel", limit["id"])
    (listing,) = sim.requests("everstrike", kind="/active_positions")
    assert listing.path == f"/active_positions?pair={SOL}"
    assert [r.kind for r in sim.requests("everstrike", kind="status")] == ["status"]
    assert [r.json()["op"] for r in sim.requests("everstrike", kind="auth_api")] == ["auth_api"]
    assert sim.requests("qfex", kind="close") == []
