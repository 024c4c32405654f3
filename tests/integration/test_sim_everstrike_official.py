"""The simulated Everstrike where the official clients read it: the market maker's ccxt-style
adapter (fills, ticker, bulk orders, leverage, order history) and the WebSocket README
(subscriptions). Driven by plain ``httpx``/``websockets`` clients, never our core.venues code."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from core.sim import Simulator
from tests.integration.test_sim_everstrike import (
    ETH,
    SOL,
    client,
    connect,
    envelope,
    now_ms,
    ok,
    parse,
    recv,
    recv_until,
    sign,
)

D = Decimal
PUBLIC = ("depth", "ticker", "index", "ohlcv", "match", "trades", "liquidation")
# The fields the fills page documents for each fill (its example's keys).
FILL_FIELDS = {
    "id", "pair", "side", "type", "price", "qty", "qty_usd", "cost", "time", "is_buyer_maker",
    "liquidation", "discount", "gross_commission", "net_commission", "gross_commission_asset",
    "net_commission_asset",
}


def bulk_fields(orders: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    """An array of objects as indexed form fields, as a query-string encoder writes it."""
    return [(f"orders[{i}][{k}]", v) for i, order in enumerate(orders) for k, v in order.items()]


def quote(price: str, side: str = "BUY", **extra: Any) -> dict[str, Any]:
    return {"pair": SOL, "qty": "1.5", "price": price, "side": side, **extra}


# ----------------------------------------------------------------------------- fills
@pytest.mark.asyncio
async def test_order_fills_carry_the_fields_of_the_fills_page(sim: Simulator) -> None:
    async with client(sim) as c:
        order = ok(await c.post("/auth/close", {"pair": SOL, "qty": 2}))["order"]
        fills = order["fills"]
        assert fills, order
        for fill in fills:
            assert set(fill) == FILL_FIELDS
            assert (fill["pair"], fill["side"], fill["type"]) == (SOL, "SELL", "MARKET")
            assert fill["cost"] == fill["price"] * fill["qty"]
            assert fill["is_buyer_maker"] is True  # the close sold into the book
        assert sum(f["qty"] for f in fills) == 2
        listed = await c.get("/order", id=order["id"])
        assert [f["pair"] for f in listed["fills"]] == [SOL] * len(fills)


@pytest.mark.asyncio
async def test_fills_lists_the_accounts_fills_newest_first(sim: Simulator) -> None:
    async with client(sim) as c:
        first = ok(await c.post("/auth/close", {"pair": SOL, "qty": 1}))["order"]
        second = ok(await c.post("/auth/close", {"pair": ETH, "qty": "0.5"}))["order"]
        fills = await c.get("/fills")
        assert [f["id"] for f in fills] == [f["id"] for f in second["fills"] + first["fills"]]
        assert all(set(f) == FILL_FIELDS for f in fills)
        assert [f["pair"] for f in await c.get("/fills", pair=ETH)] == [ETH] * len(
            second["fills"])
        assert len(await c.get("/fills", limit=1)) == 1
        assert await c.get("/fills", end=first["fills"][0]["time"] - 1) == []


# ----------------------------------------------------------------------------- ticker
@pytest.mark.asyncio
async def test_ticker_is_keyed_by_pair_without_the_envelope(sim: Simulator) -> None:
    async with httpx.AsyncClient(base_url=sim.info.everstrike.rest) as http:
        whole = parse((await http.get("/ticker")).text)
        one = parse((await http.get("/ticker", params={"pair": SOL})).text)
        sim.everstrike.settings.ticker_enveloped = True
        wrapped = parse((await http.get("/ticker")).text)
    assert "result" not in whole and SOL in whole and ETH in whole
    sol = whole[SOL]
    assert sol["bid_price"] < sol["mark_price"] < sol["ask_price"]
    assert sol["mark_price"] == D("205.37")
    assert set(one) == {SOL}
    assert (wrapped["code"], set(wrapped["result"])) == (200, set(whole))


# ----------------------------------------------------------------------------- WebSocket
@pytest.mark.asyncio
async def test_subscriptions_reply_is_a_plain_array_of_pair_categories(sim: Simulator) -> None:
    async with connect(sim.info.everstrike.ws) as ws:
        await ws.send(json.dumps({"op": "sub_pair", "content": SOL}))
        await ws.send(json.dumps({"op": "subscriptions", "content": "empty"}))
        reply = (await recv_until(ws, lambda m: m["category"] == "subscriptions"))[-1]
    assert (reply["code"], reply["pair"]) == (200, None)
    assert sorted(reply["result"]) == sorted(f"{SOL}:{c}" for c in PUBLIC)


@pytest.mark.asyncio
async def test_sub_pair_counts_as_seven_public_categories(sim: Simulator) -> None:
    async with connect(sim.info.everstrike.ws) as ws:
        await ws.send(json.dumps({"op": "sub_pair", "content": SOL}))
        for cat in ("index", "ticker", "depth", "trades"):
            await ws.send(json.dumps({"op": "sub", "content": f"{ETH}:{cat}"}))
        await ws.send(json.dumps({"op": "sub_pair", "content": ETH}))
        await ws.send(json.dumps({"op": "subscriptions", "content": "empty"}))
        seen = await recv_until(ws, lambda m: m["category"] == "subscriptions")
    answers = [m["category"] for m in seen if m["category"] in ("subscribed", "error")]
    assert answers == ["subscribed"] * 4 + ["error", "error"]  # 7 + 3 = 10, then full
    assert len(seen[-1]["result"]) == 10


@pytest.mark.asyncio
async def test_unsub_pair_frees_all_seven(sim: Simulator) -> None:
    async with connect(sim.info.everstrike.ws) as ws:
        await ws.send(json.dumps({"op": "sub_pair", "content": SOL}))
        await ws.send(json.dumps({"op": "unsub_pair", "content": SOL}))
        await ws.send(json.dumps({"op": "sub_pair", "content": ETH}))
        await ws.send(json.dumps({"op": "subscriptions", "content": "empty"}))
        reply = (await recv_until(ws, lambda m: m["category"] == "subscriptions"))[-1]
    assert sorted(reply["result"]) == sorted(f"{ETH}:{c}" for c in PUBLIC)


# ----------------------------------------------------------------------------- bulk orders
@pytest.mark.asyncio
async def test_bulk_orders_as_the_official_adapter_sends_them(sim: Simulator) -> None:
    # The adapter puts timestamp and recv_window first, then the bot's payload.
    orders = [quote("200.00", ks="false", post_only="false", leverage=1, reduce_only="false"),
              quote("210.00", "SELL", ks="false", post_only="false", leverage=1,
                    reduce_only="false")]
    fields = [("timestamp", now_ms()), ("recv_window", 5000), *bulk_fields(orders)]
    async with client(sim) as c:
        placed = ok(await c.post("/auth/order/bulk", fields, stamp=False))["orders"]
        assert [(o["pair"], o["side"], o["price"], o["status"]) for o in placed] == [
            (SOL, "BUY", D("200.00"), "ACTIVE"), (SOL, "SELL", D("210.00"), "ACTIVE")]
        active = await c.get("/active_orders")
    assert sorted(o["id"] for o in active) == sorted(o["id"] for o in placed)


@pytest.mark.asyncio
async def test_bulk_orders_as_the_docs_example_stamps_them(sim: Simulator) -> None:
    orders = [quote("200.00", timestamp=now_ms()), quote("199.50", timestamp=now_ms())]
    stale = [quote("200.00", timestamp=now_ms() - 60_000)]
    async with client(sim) as c:
        placed = ok(await c.post("/auth/order/bulk", bulk_fields(orders), stamp=False))
        assert len(placed["orders"]) == 2
        status, code, _, _ = envelope(
            await c.post("/auth/order/bulk", bulk_fields(stale), stamp=False))
        assert (status, code) == (408, 414)
        assert len(await c.get("/active_orders")) == 2


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "orders",
    [
        [quote("200.00"), quote("200.005")],  # the second is off the tick: none is placed
        [quote("200.00"), {**quote("4000.00"), "pair": ETH}],  # one market per request
        [quote("200.00", reduce_only="true")],  # documented: no reduce-only orders
        [quote("200.00")] * 51,  # documented: at most 50
        [],
    ],
    ids=["all-or-nothing", "two-pairs", "reduce-only", "51-orders", "empty"],
)
async def test_bulk_orders_are_refused_whole(sim: Simulator, orders: list[dict[str, Any]]
                                             ) -> None:
    async with client(sim) as c:
        r = await c.post("/auth/order/bulk", bulk_fields(orders))
        assert envelope(r)[:2] == (503, 503)
        assert await c.get("/active_orders") == []


# ----------------------------------------------------------------------------- leverage
@pytest.mark.asyncio
async def test_leverage_as_the_official_adapter_sets_it(sim: Simulator) -> None:
    body = urlencode({"pair": SOL, "leverage": 5})  # signed, with no timestamp
    async with client(sim) as c:
        for _ in range(2):  # the bot sends the same body again: not a replay
            result = ok(await c.raw("/leverage", body, sign(c.secret, body)))
            assert set(result) == {"balances", "positions"}
            assert result["positions"][SOL]["stats"]["leverage"] == 5
        assert (await c.get("/position", pair=SOL))["stats"]["leverage"] == 5
        assert (await c.get("/position", pair=ETH))["stats"]["leverage"] == 10
        unsigned = await c.http.post("/leverage", content=urlencode(
            {"pair": ETH, "leverage": 2}).encode(), headers={
                "x-api-key": c.key, "content-type": "application/x-www-form-urlencoded"})
        assert ok(unsigned)["positions"][ETH]["stats"]["leverage"] == 2
        assert envelope(await c.raw("/leverage", body, "bad"))[:2] == (401, 401)
        bad = urlencode({"pair": SOL, "leverage": 0})
        assert envelope(await c.raw("/leverage", bad, sign(c.secret, bad)))[:2] == (503, 503)


# ----------------------------------------------------------------------------- history
@pytest.mark.asyncio
async def test_completed_and_cancelled_orders(sim: Simulator) -> None:
    async with client(sim) as c:
        done = ok(await c.post("/auth/close", {"pair": ETH}))["order"]
        resting = ok(await c.post("/auth/close", {"pair": SOL, "qty": 1, "price": "300"}))
        ok(await c.post("/auth/cancel", {"id": resting["order"]["id"]}))
        completed = await c.get("/completed_orders")
        cancelled = await c.get("/cancelled_orders")
        assert [(o["id"], o["status"]) for o in completed] == [(done["id"], "COMPLETED")]
        assert [(o["id"], o["status"]) for o in cancelled] == [
            (resting["order"]["id"], "CANCELLED")]
        assert await c.get("/completed_orders", pair=SOL) == []


@pytest.mark.asyncio
async def test_index_arrives_after_sub_pair(sim: Simulator) -> None:
    async with connect(sim.info.everstrike.ws) as ws:
        await ws.send(json.dumps({"op": "sub_pair", "content": SOL}))
        subscribed, index = await recv(ws), await recv(ws)
    assert (subscribed["category"], index["category"], index["pair"]) == (
        "subscribed", "index", SOL)
