"""The simulated QFEX where official clients read it: the market-data ``bbo`` and ``trade``
channels in the MDS AsyncAPI's shapes, and the trade socket's refusal of numbers sent as JSON
strings. Driven by plain ``websockets`` clients, never our core.venues code."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from core.sim import Simulator
from tests.integration.test_sim_qfex import (
    AAPL,
    add_order,
    barrier,
    connect,
    is_status,
    mark,
    recv,
    recv_until,
    send,
    set_mark,
    size,
    trade,
)

D = Decimal


def is_type(kind: str) -> Any:
    return lambda m: isinstance(m, dict) and m.get("type") == kind


def book_side(levels: Any) -> tuple[Decimal, Decimal]:
    """One documented level, ``[[price, size]]`` as strings."""
    [[price, qty]] = levels
    assert isinstance(price, str) and isinstance(qty, str)
    return D(price), D(qty)


@pytest.mark.asyncio
async def test_mds_bbo_snapshot_then_follows_the_mark(sim: Simulator) -> None:
    async with connect(sim.info.qfex.mds_ws) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channels": ["bbo"], "symbols": [AAPL]}))
        snapshot = await recv(ws)
        await set_mark(sim, D("250.55"))
        moved = await recv(ws)
        await ws.send(json.dumps({"type": "unsubscribe", "channels": ["bbo"], "symbols": [AAPL]}))
        await ws.send(json.dumps({"type": "subscribe", "channels": ["mark_price"],
                                  "symbols": ["TSLA-USD"]}))
        await recv(ws)  # the snapshot: both requests are handled
        await set_mark(sim, D("252"))  # no longer watched
        await set_mark(sim, D("251"), symbol="TSLA-USD")
        after = await recv(ws)
    assert set(snapshot) == {"type", "sequence", "symbol", "time", "bid", "ask"}
    assert (snapshot["type"], snapshot["symbol"]) == ("bbo", AAPL)
    bid, bid_qty = book_side(moved["bid"])
    ask, ask_qty = book_side(moved["ask"])
    assert bid < D("250.55") < ask and bid_qty > 0 and ask_qty > 0
    assert moved["sequence"] == snapshot["sequence"] + 1
    assert (after["type"], after["symbol"], after["price"]) == ("mark_price", "TSLA-USD", "251")


@pytest.mark.asyncio
async def test_mds_trade_per_fill(sim: Simulator) -> None:
    async with connect(sim.info.qfex.mds_ws) as mds, trade(
            sim, channels=("order_responses", "fills")) as ws:
        await mds.send(json.dumps({"type": "subscribe", "channels": ["trade"],
                                   "symbols": ["*"]}))
        await mds.send(json.dumps({"type": "subscribe", "channels": ["mark_price"],
                                   "symbols": [AAPL]}))
        await recv_until(mds, is_type("mark_price"))  # the trade subscription is in place
        await send(ws, "close_position", symbol=AAPL, client_order_id="c-1")
        msgs = await recv_until(ws, is_status("FILLED", "CANCELLED"))
        fills = [m["fill_response"] for m in msgs if "fill_response" in m]
        trades = [await recv(mds) for _ in fills]
    for t in trades:
        assert set(t) == {"type", "sequence", "trade_id", "time", "symbol", "size", "price",
                          "side", "execution_type"}
        assert (t["type"], t["symbol"], t["side"], t["execution_type"]) == (
            "trade", AAPL, "SELL", "T")
        assert isinstance(t["size"], str) and isinstance(t["price"], str)
    assert [t["trade_id"] for t in trades] == [f["trade_id"] for f in fills]
    assert sum(D(t["size"]) for t in trades) == 25


@pytest.mark.asyncio
async def test_mds_market_stats_lists_every_bbo(sim: Simulator) -> None:
    async with connect(sim.info.qfex.mds_ws) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channels": ["market_stats"],
                                  "symbols": ["*"]}))
        stats = await recv(ws)
    bbos = {b["symbol"]: b for b in stats["bbos"]}
    assert len(bbos) == 8
    bid, _ = book_side(bbos[AAPL]["bid"])
    ask, _ = book_side(bbos[AAPL]["ask"])
    assert bid < await mark(sim) < ask


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "overrides",
    [{"quantity": "10"}, {"price": "300.00"}, {"order_type": "MARKET",
                                               "order_time_in_force": "IOC", "price": "0"}],
    ids=["quantity", "price", "market-price"],
)
async def test_numbers_sent_as_json_strings_are_refused(sim: Simulator,
                                                        overrides: dict[str, Any]) -> None:
    """The docs' schemas and the official CLI send JSON numbers; what the real venue does with
    strings is unknown, and the simulator refuses them so a client that sends them is caught."""
    async with trade(sim) as ws:
        frame = {"type": "add_order", "params": add_order(**overrides)}
        await ws.send(json.dumps(frame))
        reply = await recv(ws)
        assert reply["err"]["error_code"] == "InvalidParameter"
        assert reply["err"]["incoming_message"] == frame
        assert await barrier(ws) == []  # no order_response follows
    assert await size(sim) == 25
