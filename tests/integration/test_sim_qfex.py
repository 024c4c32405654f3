"""The simulated QFEX over real loopback sockets, driven by a plain ``websockets``/``httpx``
client written from VENUES.md (never our core.venues code)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from core.sim import Simulator
from core.sim.faults import (
    MALFORMED_FRAME,
    QFEX_ERROR_CODES,
    QFEX_FORCEABLE_STATUSES,
    Faults,
)

D = Decimal
AAPL = "AAPL-USD"


# ----------------------------------------------------------------------------- client helpers
def sign(secret: str, nonce: str, unix_ts: int) -> str:
    return hmac.new(secret.encode(), f"{nonce}:{unix_ts}".encode(), hashlib.sha256).hexdigest()


def auth_frame(
    sim: Simulator,
    *,
    nonce: str | None = None,
    unix_ts: int | None = None,
    secret: str | None = None,
    public_key: str | None = None,
) -> str:
    nonce = nonce or secrets.token_hex(16)
    unix_ts = int(time.time()) if unix_ts is None else unix_ts
    signature = sign(secret or sim.info.qfex.secret_key, nonce, unix_ts)
    creds = {
        "public_key": public_key or sim.info.qfex.public_key,
        "nonce": nonce,
        "unix_ts": unix_ts,
        "signature": signature,
    }
    return json.dumps({"type": "auth", "params": {"hmac": creds}})


def connect(url: str, **kwargs: Any) -> ws_connect:
    """Unbounded client buffer: a test that stops reading mid-flood must still close promptly
    (a full buffer pauses the client's reads, so it would not see the server's close)."""
    return ws_connect(url, max_queue=None, **kwargs)


def parse(text: str | bytes) -> Any:
    return json.loads(text, parse_float=Decimal)


async def recv(ws: ClientConnection) -> Any:
    async with asyncio.timeout(10):
        return parse(await ws.recv())


async def recv_until(ws: ClientConnection, pred: Callable[[Any], bool]) -> list[Any]:
    """Every message up to and including the first one matching ``pred``."""
    seen: list[Any] = []
    async with asyncio.timeout(10):
        while True:
            msg = parse(await ws.recv())
            seen.append(msg)
            if pred(msg):
                return seen


async def barrier(ws: ClientConnection) -> list[Any]:
    """Everything the venue sent before it answers a side-effect-free round trip."""
    await ws.send(json.dumps({"type": "unsubscribe", "params": {"channels": ["stop_orders"]}}))
    return (await recv_until(ws, lambda m: m == {"unsubscribed": "stop_orders"}))[:-1]


async def until_closed(ws: ClientConnection) -> list[Any]:
    """Read until the venue drops the connection; what arrived before."""
    seen: list[Any] = []
    async with asyncio.timeout(10):
        try:
            while True:
                seen.append(parse(await ws.recv()))
        except ConnectionClosed:
            return seen


def order_responses(msgs: Sequence[Any]) -> list[dict[str, Any]]:
    return [m["order_response"] for m in msgs if isinstance(m, dict) and "order_response" in m]


def is_status(*statuses: str) -> Callable[[Any], bool]:
    return lambda m: isinstance(m, dict) and m.get("order_response", {}).get("status") in statuses


@asynccontextmanager
async def trade(
    sim: Simulator, channels: Sequence[str] = ("order_responses",)
) -> AsyncIterator[ClientConnection]:
    async with connect(sim.info.qfex.trade_ws + f"?api_key={sim.info.qfex.public_key}") as ws:
        await ws.send(auth_frame(sim))
        assert await recv(ws) == {"authenticated": True}
        for ch in channels:
            await ws.send(json.dumps({"type": "subscribe", "params": {"channels": [ch]}}))
            ack = {"subscribed": ch}
            await recv_until(ws, ack.__eq__)
        yield ws


async def send(ws: ClientConnection, kind: str, **params: Any) -> None:
    await ws.send(json.dumps({"type": kind, "params": params}))


def add_order(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "symbol": AAPL,
        "side": "SELL",
        "order_type": "LIMIT",
        "order_time_in_force": "GTC",
        "quantity": 10,
        "price": 300.0,
        "reduce_only": True,
        "client_order_id": "t-1",
    }
    params.update(overrides)
    return params


async def size(sim: Simulator, symbol: str = AAPL) -> Decimal:
    account = sim.info.qfex.account_id
    return await sim.acall(lambda: sim.qfex.market.position(account, symbol).size)


async def mark(sim: Simulator, symbol: str = AAPL) -> Decimal:
    return await sim.acall(lambda: sim.qfex.market.instruments[symbol].mark)


async def set_mark(sim: Simulator, price: Decimal, symbol: str = AAPL) -> None:
    await sim.acall(lambda: sim.qfex.market.set_mark(symbol, price))


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> None:
    """Poll simulator state that has no event to await."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:  # polled: the state has no event
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached before the deadline")


# ----------------------------------------------------------------------------- auth
@pytest.mark.asyncio
async def test_auth_succeeds_and_frame_is_recorded_verbatim(sim: Simulator) -> None:
    frame = auth_frame(sim)
    async with connect(sim.info.qfex.trade_ws) as ws:
        await ws.send(frame)
        assert await recv(ws) == {"authenticated": True}
    received = await sim.acall(lambda: list(sim.qfex.received))
    assert [(r.channel, r.path, r.body) for r in received] == [("ws", "/", frame)]
    assert "host" in received[0].headers


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "bad",
    [
        {"secret": "not-the-secret"},
        {"public_key": "qfex_pub_nobody"},
        {"unix_ts": int(time.time()) - 3600},
        {"unix_ts": int(time.time()) + 3600},
        {"nonce": "not hex!"},
    ],
    ids=["bad-signature", "unknown-key", "stale", "future", "non-hex-nonce"],
)
async def test_auth_is_refused_and_commands_need_auth(sim: Simulator, bad: Any) -> None:
    async with connect(sim.info.qfex.trade_ws) as ws:
        await ws.send(auth_frame(sim, **bad))
        assert await recv(ws) == {"authenticated": False}
        close = {"type": "close_position", "params": {"symbol": AAPL}}
        await ws.send(json.dumps(close))
        err = (await recv(ws))["err"]
        assert err["error_code"] == "PermissionDenied"
        assert err["incoming_message"] == close
    assert await size(sim) == 25


@pytest.mark.asyncio
async def test_auth_window_is_a_setting(sim: Simulator) -> None:
    sim.qfex.settings.auth_window = 5.0
    async with connect(sim.info.qfex.trade_ws) as ws:
        await ws.send(auth_frame(sim, unix_ts=int(time.time()) - 20))
        assert await recv(ws) == {"authenticated": False}
        await ws.send(auth_frame(sim))
        assert await recv(ws) == {"authenticated": True}


@pytest.mark.asyncio
async def test_reused_nonce_is_refused(sim: Simulator) -> None:
    nonce, ts = secrets.token_hex(16), int(time.time())
    async with connect(sim.info.qfex.trade_ws) as ws:
        await ws.send(auth_frame(sim, nonce=nonce, unix_ts=ts))
        assert await recv(ws) == {"authenticated": True}
    async with connect(sim.info.qfex.trade_ws) as ws:
        await ws.send(auth_frame(sim, nonce=nonce, unix_ts=ts))
        assert await recv(ws) == {"authenticated": False}


@pytest.mark.asyncio
async def test_second_auth_is_already_authenticated(sim: Simulator) -> None:
    async with trade(sim, channels=()) as ws:
        frame = auth_frame(sim)
        await ws.send(frame)
        err = (await recv(ws))["err"]
        assert err["error_code"] == "AlreadyAuthenticated"
        assert err["incoming_message"] == parse(frame)


@pytest.mark.asyncio
async def test_late_auth_closes_the_socket(sim: Simulator) -> None:
    sim.qfex.settings.auth_timeout = 0.05
    async with connect(sim.info.qfex.trade_ws) as ws:
        async with asyncio.timeout(10):
            await ws.wait_closed()
        assert ws.close_code == 1008


@pytest.mark.asyncio
async def test_handshake_headers_and_query_key_are_accepted(sim: Simulator) -> None:
    nonce, ts = secrets.token_hex(16), int(time.time())
    headers = {
        "x-qfex-public-key": sim.info.qfex.public_key,
        "x-qfex-hmac-signature": sign(sim.info.qfex.secret_key, nonce, ts),
        "x-qfex-nonce": nonce,
        "x-qfex-timestamp": str(ts),
    }
    url = sim.info.qfex.trade_ws + f"?api_key={sim.info.qfex.public_key}"
    async with connect(url, additional_headers=headers) as ws:
        await ws.send(auth_frame(sim))
        assert await recv(ws) == {"authenticated": True}
    received = await sim.acall(lambda: list(sim.qfex.received))
    assert received[0].path == f"/?api_key={sim.info.qfex.public_key}"
    assert received[0].headers["x-qfex-nonce"] == nonce


# ----------------------------------------------------------------------------- protocol errors
@pytest.mark.asyncio
async def test_protocol_errors(sim: Simulator) -> None:
    async with trade(sim) as ws:
        await ws.send("{not json")
        assert (await recv(ws))["err"]["error_code"] == "InvalidJSONFormat"
        frames: tuple[dict[str, Any], ...] = (
            {"type": "warp_drive", "params": {}},
            {"type": "close_position", "params": {}},
            {"type": "subscribe", "params": {"channels": ["nope"]}},
            {"type": "add_order", "params": add_order(quantity="10")},
            {"params": {}},
        )
        for frame in frames:
            await ws.send(json.dumps(frame))
            err = (await recv(ws))["err"]
            assert err["error_code"] == "InvalidParameter", frame
            assert err["incoming_message"] == frame


# ----------------------------------------------------------------------------- closing
@pytest.mark.asyncio
async def test_close_position_fills_in_full(sim: Simulator) -> None:
    async with trade(sim, channels=("order_responses", "fills")) as ws:
        frame = json.dumps(
            {"type": "close_position", "params": {"symbol": AAPL, "client_order_id": "c-1"}}
        )
        await ws.send(frame)
        msgs = await recv_until(ws, is_status("FILLED", "CANCELLED"))
        ack, filled = order_responses(msgs)
        assert (ack["status"], ack["type"], ack["time_in_force"], ack["side"]) == (
            "ACK", "LIMIT", "IOC", "SELL")
        assert ack["client_order_id"] == "c-1"
        assert ack["quantity"] == 25
        assert filled["status"] == "FILLED"
        assert filled["quantity_remaining"] == 0
        assert filled["trade_id"] is not None
        assert filled["order_id"] == ack["order_id"]
        assert isinstance(filled["update_time"], Decimal)
        fills = [m["fill_response"] for m in msgs if "fill_response" in m]
        assert sum(f["quantity"] for f in fills) == 25
        assert {f["order_id"] for f in fills} == {ack["order_id"]}
    assert await size(sim) == 0
    bodies = [r.body for r in await sim.acall(lambda: list(sim.qfex.received))]
    assert frame in bodies


@pytest.mark.asyncio
async def test_close_position_leaves_an_ioc_residual_beyond_liquidity(sim: Simulator) -> None:
    async with trade(sim) as ws:
        await send(ws, "close_position", symbol="CL-USD", client_order_id="c-2")
        ack, filled = order_responses(await recv_until(ws, is_status("FILLED", "CANCELLED")))
        assert (ack["status"], ack["side"], ack["quantity"]) == ("ACK", "BUY", 30)
        assert filled["status"] == "FILLED"
        assert filled["quantity_remaining"] == 20
    assert await size(sim, "CL-USD") == -20


@pytest.mark.asyncio
async def test_close_position_without_a_position_is_rejected(sim: Simulator) -> None:
    async with trade(sim) as ws:
        await send(ws, "close_position", symbol=AAPL, client_order_id="first")
        await recv_until(ws, is_status("FILLED"))
        await send(ws, "close_position", symbol=AAPL, client_order_id="second")
        (rejected,) = order_responses(await recv_until(ws, is_status("REJECTED")))
        assert rejected["client_order_id"] == "second"


@pytest.mark.asyncio
async def test_stuck_close_is_acked_but_never_reduces(sim: Simulator) -> None:
    account = sim.info.qfex.account_id
    await sim.acall(lambda: sim.qfex.market.stuck.add((account, AAPL)))
    async with trade(sim) as ws:
        await send(ws, "close_position", symbol=AAPL, client_order_id="c-3")
        statuses = [r["status"] for r in order_responses(
            await recv_until(ws, is_status("FILLED", "CANCELLED")))]
        assert statuses == ["ACK", "CANCELLED"]
    assert await size(sim) == 25


@pytest.mark.asyncio
async def test_limit_close_rests_until_the_mark_crosses(sim: Simulator) -> None:
    price = (await mark(sim) + 5).quantize(D("0.01"))
    async with trade(sim) as ws:
        await send(ws, "add_order", **add_order(price=float(price), quantity=10))
        (ack,) = order_responses(await recv_until(ws, is_status("ACK")))
        assert (ack["type"], ack["time_in_force"], ack["price"]) == ("LIMIT", "GTC", price)
        assert order_responses(await barrier(ws)) == []  # resting, nothing else yet
        assert await size(sim) == 25
        await set_mark(sim, price + 1)
        (filled,) = order_responses(await recv_until(ws, is_status("FILLED")))
        assert filled["order_id"] == ack["order_id"]
        assert filled["quantity_remaining"] == 0
    assert await size(sim) == 15


@pytest.mark.asyncio
async def test_partial_close_at_market(sim: Simulator) -> None:
    async with trade(sim) as ws:
        await send(ws, "add_order", **add_order(order_type="MARKET", order_time_in_force="IOC",
                                                price=0, quantity=5))
        statuses = [r["status"] for r in order_responses(
            await recv_until(ws, is_status("FILLED", "CANCELLED")))]
        assert statuses == ["ACK", "FILLED"]
    assert await size(sim) == 20


@pytest.mark.asyncio
async def test_stop_loss_fires_when_the_mark_reaches_it(sim: Simulator) -> None:
    trigger = (await mark(sim) - 5).quantize(D("0.01"))
    async with trade(sim, channels=("order_responses", "stop_orders")) as ws:
        await send(ws, "add_order", **add_order(order_type="STOP_LOSS", price=float(trigger),
                                                quantity=25, client_order_id="sl-1"))
        msgs = await recv_until(ws, lambda m: "stop_order_response" in m)
        stop = msgs[-1]["stop_order_response"]
        assert (stop["stop_order_type"], stop["direction"], stop["price"]) == (
            "STOP_LOSS", "SELL", trigger)
        (ack,) = order_responses(msgs) or order_responses(await recv_until(ws, is_status("ACK")))
        assert (ack["type"], ack["status"]) == ("STOP_LOSS", "ACK")
        await send(ws, "get_user_orders")
        listing = (await recv_until(ws, lambda m: "all_orders_response" in m))[-1]
        orders = listing["all_orders_response"]["orders"]
        assert [(o["order_id"], o["type"]) for o in orders] == [(stop["stop_order_id"],
                                                                 "STOP_LOSS")]
        await set_mark(sim, trigger + 1)
        assert order_responses(await barrier(ws)) == []
        await set_mark(sim, trigger - 1)
        (filled,) = order_responses(await recv_until(ws, is_status("FILLED")))
        assert filled["client_order_id"] == "sl-1"
    assert await size(sim) == 0


@pytest.mark.asyncio
async def test_stop_on_the_wrong_side_of_the_mark_is_rejected(sim: Simulator) -> None:
    below = (await mark(sim) - 5).quantize(D("0.01"))
    async with trade(sim) as ws:
        await send(ws, "add_order", **add_order(order_type="TAKE_PROFIT", price=float(below)))
        (rejected,) = order_responses(await recv_until(ws, lambda m: "order_response" in m))
        assert rejected["status"] == "INVALID_TAKEPROFIT_PRICE"


@pytest.mark.asyncio
async def test_cancel_stop_order_acks(sim: Simulator) -> None:
    trigger = (await mark(sim) - 5).quantize(D("0.01"))
    async with trade(sim, channels=("order_responses", "stop_orders")) as ws:
        await send(ws, "add_order", **add_order(order_type="STOP_LOSS", price=float(trigger)))
        msgs = await recv_until(ws, lambda m: "stop_order_response" in m)
        stop_id = msgs[-1]["stop_order_response"]["stop_order_id"]
        await send(ws, "cancel_stop_order", stop_order_id=stop_id)
        ack = (await recv_until(ws, lambda m: "ack" in m))[-1]
        assert ack["ack"]["incoming_message"]["params"] == {"stop_order_id": stop_id}
        await send(ws, "get_user_orders")
        listing = (await recv_until(ws, lambda m: "all_orders_response" in m))[-1]
        assert listing["all_orders_response"] == {"orders": [], "twaps": []}


@pytest.mark.asyncio
async def test_reduce_only_is_enforced(sim: Simulator) -> None:
    async with trade(sim) as ws:
        await send(ws, "add_order", **add_order(side="BUY", price=100.0,
                                                order_time_in_force="IOC"))
        (rejected,) = order_responses(await recv_until(ws, lambda m: "order_response" in m))
        assert rejected["status"] == "REJECTED"
        assert await size(sim) == 25
        # A reduce-only SELL larger than the position stops at flat.
        await send(ws, "add_order", **add_order(order_type="MARKET", order_time_in_force="IOC",
                                                price=0, quantity=40))
        await recv_until(ws, is_status("FILLED", "CANCELLED"))
    assert await size(sim) == 0


@pytest.mark.asyncio
async def test_order_responses_only_reach_subscribed_connections(sim: Simulator) -> None:
    async with trade(sim, channels=()) as quiet, trade(sim) as listener:
        await send(quiet, "close_position", symbol=AAPL, client_order_id="q-1")
        statuses = [r["status"] for r in order_responses(
            await recv_until(listener, is_status("FILLED", "CANCELLED")))]
        assert statuses == ["ACK", "FILLED"]
        assert order_responses(await barrier(quiet)) == []
        # Rejections answer only the caller, and only when it is subscribed.
        await send(quiet, "close_position", symbol=AAPL, client_order_id="q-2")
        assert order_responses(await barrier(quiet)) == []
        assert order_responses(await barrier(listener)) == []
    assert await size(sim) == 0



@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("overrides", "status"),
    [
        ({"symbol": "NOPE-USD"}, "BAD_SYMBOL"),
        ({"order_type": "ICEBERG"}, "INVALID_ORDER_TYPE"),
        ({"order_time_in_force": "DAY"}, "INVALID_TIME_IN_FORCE"),
        ({"order_type": "MARKET", "order_time_in_force": "GTC", "price": 0},
         "INVALID_TIME_IN_FORCE"),
        ({"order_type": "ALO", "order_time_in_force": "IOC"}, "INVALID_TIME_IN_FORCE"),
        ({"price": 300.001}, "INVALID_TICK_SIZE_PRECISION_PRICE"),
        ({"quantity": 1.005}, "INVALID_TICK_SIZE_PRECISION_QUANTITY"),
        ({"quantity": 0}, "QUANTITY_LESS_THAN_MIN_QUANTITY"),
        ({"quantity": 1_000_001}, "QUANTITY_GREATER_THAN_MAX_QUANTITY"),
        ({"price": 0.0}, "PRICE_LESS_THAN_MIN_PRICE"),
        ({"price": 1_000_000.0}, "PRICE_GREATER_THAN_MAX_PRICE"),
    ],
)
async def test_add_order_validation_statuses(
    sim: Simulator, overrides: dict[str, Any], status: str
) -> None:
    async with trade(sim) as ws:
        await send(ws, "add_order", **add_order(**overrides))
        (reply,) = order_responses(await recv_until(ws, lambda m: "order_response" in m))
        assert reply["status"] == status
        assert reply["client_order_id"] == "t-1"
    assert await size(sim) == 25


@pytest.mark.asyncio
async def test_cancel_and_get_order(sim: Simulator) -> None:
    async with trade(sim) as ws:
        await send(ws, "add_order", **add_order(price=900.0, client_order_id="rest-1"))
        (ack,) = order_responses(await recv_until(ws, is_status("ACK")))
        await send(ws, "get_order", order_id=ack["order_id"], symbol=AAPL)
        (got,) = order_responses(await recv_until(ws, lambda m: "order_response" in m))
        assert (got["order_id"], got["status"]) == (ack["order_id"], "ACK")
        await send(ws, "cancel_order", symbol=AAPL, order_id="rest-1",
                   cancel_order_id_type="client_order_id")
        (cancelled,) = order_responses(await recv_until(ws, is_status("CANCELLED")))
        assert cancelled["order_id"] == ack["order_id"]
        await send(ws, "cancel_order", symbol=AAPL, order_id=ack["order_id"],
                   cancel_order_id_type="order_id")
        (missing,) = order_responses(await recv_until(ws, lambda m: "order_response" in m))
        assert missing["status"] == "NO_SUCH_ORDER"


# ----------------------------------------------------------------------------- positions
@pytest.mark.asyncio
async def test_positions_channel_pushes_every_symbol_ever_held(sim: Simulator) -> None:
    sim.qfex.settings.positions_interval = 0.02
    async with trade(sim, channels=("order_responses",)) as ws:
        await send(ws, "close_position", symbol=AAPL)
        await recv_until(ws, is_status("FILLED"))
        await send(ws, "subscribe", channels=["positions"])
        latest: dict[str, Any] = {}
        pulses = 0

        def two_full_pulses(m: Any) -> bool:
            nonlocal pulses
            if "position_response" in m:
                p = m["position_response"]
                pulses += p["symbol"] == AAPL
                latest[p["symbol"]] = p
            return pulses >= 2

        await recv_until(ws, two_full_pulses)
    assert len(latest) == 8
    assert latest[AAPL]["position"] == 0  # flat positions are pushed too
    assert latest["TSLA-USD"]["position"] == -12
    assert isinstance(latest["TSLA-USD"]["average_price"], Decimal)


@pytest.mark.asyncio
async def test_a_pulse_on_demand_pushes_what_the_timer_would(sim: Simulator) -> None:
    sim.qfex.settings.positions_interval = 3600.0  # no pulse from the timer in this test
    async with trade(sim, channels=("order_responses", "positions", "balances")) as ws, \
            trade(sim, channels=("order_responses",)) as quiet:
        await send(ws, "close_position", symbol=AAPL)
        await recv_until(ws, is_status("FILLED"))
        await sim.acall(sim.qfex.pulse)
        msgs = await recv_until(ws, lambda m: m.get("position_response", {}).get("symbol")
                                == AAPL)
        assert msgs[-1]["position_response"]["position"] == 0  # the close, shown at once
        await recv_until(ws, lambda m: "balance_response" in m)
        assert [m for m in await barrier(quiet) if "position_response" in m] == []


@pytest.mark.asyncio
async def test_positions_envelope_shape_fault(sim: Simulator) -> None:
    sim.qfex.faults.positions_shape = "v4_positions"
    async with trade(sim, channels=("positions",)) as ws:
        msgs = await recv_until(ws, lambda m: m.get("channel") == "v4_positions")
    envelope = msgs[-1]
    assert envelope["type"] in ("subscribed", "position_update")
    (content,) = envelope["contents"]
    assert {"symbol", "position", "user_id", "timestamp"} <= set(content)


def rest_headers(sim: Simulator, *, nonce: str | None = None, secret: str | None = None
                 ) -> dict[str, str]:
    nonce = nonce or secrets.token_hex(16)
    ts = int(time.time())
    return {
        "x-qfex-public-key": sim.info.qfex.public_key,
        "x-qfex-hmac-signature": sign(secret or sim.info.qfex.secret_key, nonce, ts),
        "x-qfex-nonce": nonce,
        "x-qfex-timestamp": str(ts),
    }


@pytest.mark.asyncio
async def test_rest_user_positions(sim: Simulator) -> None:
    async with httpx.AsyncClient(base_url=sim.info.qfex.rest) as client:
        ok = await client.get("/user/positions", headers=rest_headers(sim))
        assert ok.status_code == 200
        body = parse(ok.text)
        positions = {p["symbol"]: p for p in body["positions"]}
        assert len(positions) == 8
        assert positions[AAPL]["position"] == 25
        assert isinstance(positions[AAPL]["position"], Decimal)  # a JSON number
        assert set(body["balance"]) == {"deposit", "realised_pnl", "unrealised_pnl",
                                        "order_margin", "position_margin", "net_funding",
                                        "available_balance"}

        bad = await client.get("/user/positions", headers=rest_headers(sim, secret="nope"))
        assert bad.status_code == 401
        assert bad.headers["content-type"].startswith("application/problem+json")
        problem = bad.json()
        assert problem["status"] == 401
        assert {"title", "detail", "type", "instance", "errors"} <= set(problem)

        nonce = secrets.token_hex(16)
        first = await client.get("/user/positions", headers=rest_headers(sim, nonce=nonce))
        again = await client.get("/user/positions", headers=rest_headers(sim, nonce=nonce))
        assert (first.status_code, again.status_code) == (200, 401)

        missing = await client.get("/user/positions")
        assert missing.status_code == 401


@pytest.mark.asyncio
async def test_rest_positions_null_when_flat(sim: Simulator) -> None:
    account = sim.info.qfex.account_id

    def flatten() -> None:
        for p in sim.qfex.market.account_positions(account):
            sim.qfex.market.set_position(account, p.symbol, D(0), D(0))

    await sim.acall(flatten)
    async with httpx.AsyncClient(base_url=sim.info.qfex.rest) as client:
        body = (await client.get("/user/positions", headers=rest_headers(sim))).json()
    assert body["positions"] is None


@pytest.mark.asyncio
async def test_refdata_uses_decimal_strings(sim: Simulator) -> None:
    async with httpx.AsyncClient(base_url=sim.info.qfex.rest) as client:
        everything = (await client.get("/refdata")).json()
        one = (await client.get("/refdata", params={"ticker": AAPL})).json()
    assert everything["type"] == "refdata"
    assert len(everything["data"]) == 8
    (aapl,) = one["data"]
    assert aapl["symbol"] == AAPL
    for key in ("tick_size", "lot_size", "min_price", "max_price", "min_quantity",
                "max_quantity"):
        assert isinstance(aapl[key], str)
    assert D(aapl["tick_size"]) == D("0.01")
    assert "STOP_LOSS" in aapl["order_types"]


# ----------------------------------------------------------------------------- MDS
@pytest.mark.asyncio
async def test_mds_market_stats_snapshot_then_pulses(sim: Simulator) -> None:
    sim.qfex.settings.mds_interval = 0.02
    async with connect(sim.info.qfex.mds_ws) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channels": ["market_stats"],
                                  "symbols": ["*"]}))
        first, second = await recv(ws), await recv(ws)
    assert first["type"] == second["type"] == "market_stats"
    assert second["sequence"] == first["sequence"] + 1
    assert first["symbol"] == "*"
    marks = {m["symbol"]: m["price"] for m in first["mark_prices"]}
    assert len(marks) == 8
    assert D(marks[AAPL]) == await mark(sim)
    assert isinstance(marks[AAPL], str)


@pytest.mark.asyncio
async def test_mds_mark_price_follows_steps(sim: Simulator) -> None:
    async with connect(sim.info.qfex.mds_ws) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channels": ["mark_price"],
                                  "symbols": [AAPL]}))
        snapshot = await recv(ws)
        assert (snapshot["type"], snapshot["symbol"]) == ("mark_price", AAPL)
        await set_mark(sim, D("250.55"))
        moved = await recv(ws)
    assert moved["price"] == "250.55"


# ----------------------------------------------------------------------------- faults
@pytest.mark.asyncio
async def test_fault_latency_delays_replies(sim: Simulator) -> None:
    async with trade(sim, channels=()) as ws:
        sim.qfex.faults.latency = 0.2
        started = time.monotonic()
        await barrier(ws)
        assert time.monotonic() - started >= 0.2  # a floor set by a sleep, not a benchmark


@pytest.mark.asyncio
async def test_fault_drop_after_close_arrives_still_executes(sim: Simulator) -> None:
    async with trade(sim) as ws:
        sim.qfex.faults.drop_next()
        await send(ws, "close_position", symbol=AAPL, client_order_id="d-1")
        assert order_responses(await until_closed(ws)) == []
        assert ws.close_code == 1006  # aborted: no close frame, as when a venue crashes
    assert await size(sim) == 0  # the close happened although no ACK arrived


@pytest.mark.asyncio
async def test_fault_drop_without_execution(sim: Simulator) -> None:
    async with trade(sim) as ws:
        sim.qfex.faults.drop_next(execute=False)
        await send(ws, "add_order", **add_order(order_type="MARKET", order_time_in_force="IOC",
                                                price=0))
        await until_closed(ws)
    assert await size(sim) == 25


@pytest.mark.asyncio
async def test_fault_malformed_frame(sim: Simulator) -> None:
    async with trade(sim, channels=()) as ws:
        sim.qfex.faults.inject_malformed()
        await send(ws, "subscribe", channels=["fills"])
        async with asyncio.timeout(10):
            assert await ws.recv() == MALFORMED_FRAME
        assert await recv(ws) == {"subscribed": "fills"}


@pytest.mark.asyncio
async def test_fault_duplicate_order_updates(sim: Simulator) -> None:
    sim.qfex.faults.duplicate = True
    async with trade(sim) as ws:
        await send(ws, "close_position", symbol=AAPL)
        msgs = await recv_until(ws, is_status("FILLED"))
        msgs += await recv_until(ws, is_status("FILLED"))
    assert [r["status"] for r in order_responses(msgs)] == ["ACK", "ACK", "FILLED", "FILLED"]


@pytest.mark.asyncio
async def test_fault_out_of_order_updates(sim: Simulator) -> None:
    sim.qfex.faults.reorder = True
    async with trade(sim) as ws:
        await send(ws, "close_position", symbol=AAPL)
        msgs = await recv_until(ws, is_status("ACK"))
    assert [r["status"] for r in order_responses(msgs)] == ["FILLED", "ACK"]


@pytest.mark.asyncio
async def test_fault_clock_skew_makes_a_correct_clock_stale(sim: Simulator) -> None:
    sim.qfex.faults.clock_skew = 120.0
    async with connect(sim.info.qfex.trade_ws) as ws:
        await ws.send(auth_frame(sim))
        assert await recv(ws) == {"authenticated": False}
        await ws.send(auth_frame(sim, unix_ts=int(time.time()) + 120))
        assert await recv(ws) == {"authenticated": True}


@pytest.mark.asyncio
async def test_fault_silent_keeps_the_socket_but_sends_nothing(sim: Simulator) -> None:
    sim.qfex.settings.positions_interval = 0.02
    async with trade(sim, channels=("order_responses", "positions")) as ws:
        await barrier(ws)
        sim.qfex.faults.silent = True
        await send(ws, "close_position", symbol=AAPL)

        async def flat_and_pulses_swallowed() -> bool:
            return await size(sim) == 0 and sim.qfex.faults.silenced >= 20

        await eventually(flat_and_pulses_swallowed)  # ACK, FILLED and position pulses
        async with asyncio.timeout(10):
            await (await ws.ping())  # the socket is open: protocol pings still get pongs
        assert ws.state.name == "OPEN"
        sim.qfex.settings.positions_interval = 3600.0
        sim.qfex.faults.silent = False
        assert order_responses(await barrier(ws)) == []  # what was swallowed never comes


@pytest.mark.asyncio
async def test_faults_reset(sim: Simulator) -> None:
    faults = sim.qfex.faults
    faults.latency, faults.silent, faults.duplicate = 1.0, True, True
    faults.drop_next(3)
    faults.force_status("REJECTED")
    faults.force_error("ServerError")
    faults.force_http(503)
    faults.force_order_status("REJECTED", "no")
    faults.fail_next_trigger()
    faults.reset()
    assert (faults.latency, faults.silent, faults.duplicate) == (0.0, False, False)
    assert faults.take_drop() == (False, True)
    assert faults.take_status(AAPL) is None
    assert faults.take_error("close_position") is None
    assert faults.take_http_status("/auth/close") is None
    assert faults.take_order_status("USD_SOL_PERP") is None
    assert faults.take_trigger_failure() is None


# ----------------------------------------------------------------------------- simulator
def test_demo_book_has_exactly_one_residual_position() -> None:
    from core.sim import demo

    liquidity = {row[0]: D(row[4]) for row in demo.QFEX_INSTRUMENTS}
    too_big = [s for s, qty, _ in demo.QFEX_DEMO.positions if abs(qty) > liquidity[s]]
    assert too_big == [demo.QFEX_RESIDUAL_SYMBOL]
    assert len(demo.QFEX_DEMO.positions) == len(demo.EVERSTRIKE_DEMO.positions) == 8
    sides = {qty > 0 for _, qty, _ in demo.QFEX_DEMO.positions + demo.EVERSTRIKE_DEMO.positions}
    assert sides == {True, False}


def test_simulator_lifecycle_and_reproducible_walk() -> None:
    marks = []
    for _ in range(2):
        sim = Simulator(seed=11, tick_interval=None, demo=False)
        info = sim.start()
        assert info.qfex.public_key == ""
        for _ in range(5):
            sim.step()
        marks.append(sim.call(functools.partial(lambda m: m.instruments[AAPL].mark,
                                                sim.qfex.market)))
        key, secret = sim.add_account("qfex", "alice", [(AAPL, D("-3"), D("200"))])
        assert key == "qfex_pub_alice"
        assert secret != key
        sim.stop()
        sim.stop()  # idempotent
        with pytest.raises(RuntimeError):
            sim.call(lambda: None)
        with pytest.raises(httpx.ConnectError):
            httpx.get(info.qfex.rest + "/refdata", timeout=5)
    assert marks[0] == marks[1]
    assert marks[0] != D("229.35")


# ----------------------------------------------------------------------------- forced replies
@pytest.mark.asyncio
@pytest.mark.parametrize("status", sorted(QFEX_FORCEABLE_STATUSES))
async def test_force_status_answers_a_close_without_executing_it(sim: Simulator,
                                                                status: str) -> None:
    sim.qfex.faults.force_status(status)
    async with trade(sim) as ws:
        await send(ws, "close_position", symbol=AAPL, client_order_id="f-1")
        (forced,) = order_responses(await recv_until(ws, lambda m: "order_response" in m))
        assert (forced["status"], forced["client_order_id"], forced["symbol"]) == (
            status, "f-1", AAPL)
        assert forced["quantity"] == forced["quantity_remaining"] == 25  # nothing filled
        assert order_responses(await barrier(ws)) == []
        assert await size(sim) == 25
        await send(ws, "close_position", symbol=AAPL, client_order_id="f-2")  # knob used up
        await recv_until(ws, is_status("FILLED"))
    assert await size(sim) == 0


@pytest.mark.asyncio
async def test_force_status_on_add_order_filters_by_symbol_and_counts(sim: Simulator) -> None:
    sim.qfex.faults.force_status("REJECTED_MARKET_CLOSED", count=2, symbol="TSLA-USD")
    market_buy = {"order_type": "MARKET", "order_time_in_force": "IOC", "price": 0}
    async with trade(sim) as ws:
        await send(ws, "add_order", **add_order(**market_buy, side="SELL", quantity=1))
        assert [r["status"] for r in order_responses(
            await recv_until(ws, is_status("FILLED")))] == ["ACK", "FILLED"]
        forced = []
        for n in range(2):
            await send(ws, "add_order", **add_order(**market_buy, symbol="TSLA-USD", side="BUY",
                                                    quantity=2, client_order_id=f"t-{n}"))
            forced += order_responses(await recv_until(ws, lambda m: "order_response" in m))
        assert [(r["status"], r["client_order_id"], r["quantity_remaining"]) for r in forced] == [
            ("REJECTED_MARKET_CLOSED", "t-0", 2), ("REJECTED_MARKET_CLOSED", "t-1", 2)]
        assert await size(sim, "TSLA-USD") == -12
        await send(ws, "get_order", order_id=forced[0]["order_id"], symbol="TSLA-USD")
        (again,) = order_responses(await recv_until(ws, lambda m: "order_response" in m))
        assert again == forced[0]
        await send(ws, "add_order", **add_order(**market_buy, symbol="TSLA-USD", side="BUY",
                                                quantity=2))
        await recv_until(ws, is_status("FILLED"))
    assert (await size(sim), await size(sim, "TSLA-USD")) == (24, -10)


def test_force_status_refuses_statuses_that_claim_execution() -> None:
    faults = Faults()
    for bad in ("ACK", "FILLED", "NOT_A_STATUS"):
        with pytest.raises(ValueError):
            faults.force_status(bad)
    assert faults.take_status(AAPL) is None


@pytest.mark.asyncio
@pytest.mark.parametrize("code", sorted(QFEX_ERROR_CODES - {"AlreadySubscribedToLeaderboard"}))
async def test_force_error_answers_the_matching_request_with_err(sim: Simulator,
                                                                code: str) -> None:
    sim.qfex.faults.force_error(code, request_type="close_position")
    async with trade(sim) as ws:  # auth and subscribe are not close_position: answered normally
        frame = {"type": "close_position", "params": {"symbol": AAPL, "client_order_id": "e-1"}}
        await ws.send(json.dumps(frame))
        err = (await recv(ws))["err"]
        assert (err["error_code"], err["incoming_message"]) == (code, frame)
        assert err["incoming_message"]["params"]["client_order_id"] == "e-1"
        assert isinstance(err["message"], str) and err["message"]
        if code == "RateLimited":
            assert err["message"] == "Rate limit exceeded, retry after 250ms"
        assert order_responses(await barrier(ws)) == []
        assert await size(sim) == 25
        await send(ws, "close_position", symbol=AAPL)
        await recv_until(ws, is_status("FILLED"))
    assert await size(sim) == 0


@pytest.mark.asyncio
async def test_force_error_without_a_type_takes_the_next_request_even_auth(sim: Simulator
                                                                           ) -> None:
    sim.qfex.faults.force_error("ServerError", "try later")
    with pytest.raises(ValueError):
        sim.qfex.faults.force_error("Teapot")
    async with connect(sim.info.qfex.trade_ws) as ws:
        frame = auth_frame(sim)
        await ws.send(frame)
        assert await recv(ws) == {"err": {"error_code": "ServerError", "message": "try later",
                                          "incoming_message": parse(frame)}}
        await send(ws, "subscribe", channels=["fills"])
        assert (await recv(ws))["err"]["error_code"] == "PermissionDenied"  # not authenticated
        await ws.send(auth_frame(sim))
        assert await recv(ws) == {"authenticated": True}


# ----------------------------------------------------------------------------- rate limit
RETRY_HINT = re.compile(r"Rate limit exceeded, retry after (\d+)ms")


@pytest.mark.asyncio
async def test_rate_limit_budget_refuses_without_executing(sim: Simulator) -> None:
    market_sell = add_order(order_type="MARKET", order_time_in_force="IOC", price=0, quantity=1)
    async with trade(sim) as ws:
        sim.qfex.settings.rate_limit_budget = 2  # two add_orders (weight 1) per window
        for _ in range(2):
            await send(ws, "add_order", **market_sell)
            await recv_until(ws, is_status("FILLED"))
        await send(ws, "add_order", **market_sell)
        err = (await recv(ws))["err"]
        assert err["error_code"] == "RateLimited"
        assert err["incoming_message"]["params"] == market_sell
        hint = RETRY_HINT.fullmatch(err["message"])
        assert hint is not None and 0 < int(hint.group(1)) <= 60_000
        assert await size(sim) == 23
        # Cancels have their own bucket.
        await send(ws, "cancel_order", symbol=AAPL, order_id="nope",
                   cancel_order_id_type="order_id")
        (missing,) = order_responses(await recv_until(ws, lambda m: "order_response" in m))
        assert missing["status"] == "NO_SUCH_ORDER"
        # Once the charged weight leaves the window, requests pass again.
        sim.qfex.settings.rate_limit_window = 0.05
        async with asyncio.timeout(10):
            while True:  # polled: the window has no event to await
                await send(ws, "add_order", **market_sell)
                reply = await recv(ws)
                if "order_response" in reply:
                    break
                assert reply["err"]["error_code"] == "RateLimited"
        await recv_until(ws, is_status("FILLED"))
    assert await size(sim) == 22


@pytest.mark.asyncio
async def test_rate_limit_weights_live_in_settings(sim: Simulator) -> None:
    async with trade(sim) as ws:
        sim.qfex.settings.rate_limit_budget = 4
        await send(ws, "get_user_orders")  # documented weight 5
        assert (await recv(ws))["err"]["error_code"] == "RateLimited"
        sim.qfex.settings.rate_limit_weights["get_user_orders"] = 1
        await send(ws, "get_user_orders")
        assert "all_orders_response" in await recv(ws)


# ----------------------------------------------------------------------------- cancel paths
@pytest.mark.asyncio
async def test_cancel_a_resting_limit_and_a_stop_by_id(sim: Simulator) -> None:
    trigger = (await mark(sim) - 5).quantize(D("0.01"))
    async with trade(sim, channels=("order_responses", "stop_orders")) as ws:
        await send(ws, "add_order", **add_order(price=900.0, quantity=5, client_order_id="lim"))
        (limit,) = order_responses(await recv_until(ws, is_status("ACK")))
        await send(ws, "add_order", **add_order(order_type="STOP_LOSS", price=float(trigger),
                                                client_order_id="sl"))
        msgs = await recv_until(ws, lambda m: "stop_order_response" in m)
        stop = msgs[-1]["stop_order_response"]
        assert stop["client_order_id"] == "sl"
        await send(ws, "get_user_orders")
        listing = (await recv_until(ws, lambda m: "all_orders_response" in m))[-1]
        assert {(o["order_id"], o["client_order_id"], o["type"])
                for o in listing["all_orders_response"]["orders"]} == {
            (limit["order_id"], "lim", "LIMIT"), (stop["stop_order_id"], "sl", "STOP_LOSS")}

        await send(ws, "cancel_order", symbol=AAPL, order_id=limit["order_id"],
                   cancel_order_id_type="order_id")
        (cancelled,) = order_responses(await recv_until(ws, is_status("CANCELLED")))
        assert (cancelled["order_id"], cancelled["client_order_id"]) == (limit["order_id"],
                                                                         "lim")
        await send(ws, "cancel_order", symbol=AAPL, order_id=stop["stop_order_id"],
                   cancel_order_id_type="order_id")
        (stop_cancelled,) = order_responses(await recv_until(ws, is_status("CANCELLED")))
        assert (stop_cancelled["type"], stop_cancelled["price"]) == ("STOP_LOSS", trigger)
        await send(ws, "cancel_order", symbol=AAPL, order_id=limit["order_id"],
                   cancel_order_id_type="order_id")
        (missing,) = order_responses(await recv_until(ws, lambda m: "order_response" in m))
        assert (missing["status"], missing["order_id"]) == ("NO_SUCH_ORDER", limit["order_id"])
        await send(ws, "get_user_orders")
        listing = (await recv_until(ws, lambda m: "all_orders_response" in m))[-1]
        assert listing["all_orders_response"]["orders"] == []
    assert await size(sim) == 25


@pytest.mark.asyncio
async def test_cancel_stop_order_sends_nothing_on_stop_orders(sim: Simulator) -> None:
    trigger = (await mark(sim) + 5).quantize(D("0.01"))
    async with trade(sim, channels=("order_responses", "stop_orders")) as ws:
        await send(ws, "add_order", **add_order(order_type="TAKE_PROFIT", price=float(trigger),
                                                client_order_id="tp"))
        stop_id = (await recv_until(ws, lambda m: "stop_order_response" in m))[-1][
            "stop_order_response"]["stop_order_id"]
        await barrier(ws)
        frame = {"type": "cancel_stop_order", "params": {"stop_order_id": stop_id}}
        await ws.send(json.dumps(frame))
        assert await recv(ws) == {"ack": {"incoming_message": frame}}
        after = await barrier(ws)
        assert [m for m in after if "stop_order_response" in m or "order_response" in m] == []
        await ws.send(json.dumps(frame))
        assert (await recv(ws))["err"]["error_code"] == "InvalidOrder"
        await set_mark(sim, trigger + 1)  # a cancelled stop never fires
        assert order_responses(await barrier(ws)) == []
    assert await size(sim) == 25


@pytest.mark.asyncio
async def test_fail_next_trigger_rejects_the_stop_when_it_fires(sim: Simulator) -> None:
    trigger = (await mark(sim) - 5).quantize(D("0.01"))
    sim.qfex.faults.fail_next_trigger()
    async with trade(sim) as ws:
        await send(ws, "add_order", **add_order(order_type="STOP_LOSS", price=float(trigger),
                                                client_order_id="sl-f"))
        (ack,) = order_responses(await recv_until(ws, is_status("ACK")))
        await set_mark(sim, trigger - 1)
        (failed,) = order_responses(await recv_until(ws, is_status("REJECTED")))
        assert (failed["order_id"], failed["client_order_id"], failed["type"]) == (
            ack["order_id"], "sl-f", "STOP_LOSS")
        await send(ws, "get_user_orders")
        listing = (await recv_until(ws, lambda m: "all_orders_response" in m))[-1]
        assert listing["all_orders_response"]["orders"] == []
    assert await size(sim) == 25


# ----------------------------------------------------------------------------- request log
@pytest.mark.asyncio
async def test_requests_filters_the_log(sim: Simulator) -> None:
    async with trade(sim) as ws:
        await send(ws, "add_order", **add_order(price=900.0, client_order_id="r-1"))
        (ack,) = order_responses(await recv_until(ws, is_status("ACK")))
        await send(ws, "cancel_order", symbol=AAPL, order_id=ack["order_id"],
                   cancel_order_id_type="order_id")
        await recv_until(ws, is_status("CANCELLED"))
        await send(ws, "close_position", symbol="TSLA-USD", client_order_id="r-2")
        await recv_until(ws, is_status("FILLED"))
    async with httpx.AsyncClient(base_url=sim.info.qfex.rest) as client:
        await client.get("/refdata", params={"ticker": AAPL})
    closes = sim.requests("qfex", kind="close")
    assert [(r.kind, r.json()["params"]["client_order_id"]) for r in closes] == [
        ("add_order", "r-1"), ("close_position", "r-2")]
    assert [r.json()["params"]["order_id"] for r in sim.requests("qfex", kind="cancel")] == [
        ack["order_id"]]
    assert [r.kind for r in sim.requests("qfex", kind="auth")] == ["auth"]
    (refdata,) = sim.requests("qfex", kind="/refdata")
    assert (refdata.channel, refdata.method, refdata.path) == ("http", "GET",
                                                               f"/refdata?ticker={AAPL}")
    everything = sim.requests("qfex")
    assert [r.time for r in everything] == sorted(r.time for r in everything)
    assert sim.requests("everstrike") == []
    with pytest.raises(ValueError):
        sim.requests("nasdaq")
