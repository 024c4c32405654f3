"""DESIGN.md "Closing: what goes on the wire", row by row, for each venue.

Each test goes through the real desk and the real session to the simulator over loopback, and
checks the exact frame or form body the simulator received.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest

from core.model import CloseRequest, PositionSide, TimeInForce, Trigger, TriggerEvent
from core.sim import Received, Simulator
from core.venues.qfex import QFEX
from tests.integration.conftest import ES_PAIR, QFEX_SYMBOL, Rig

D = Decimal


def qfex_orders(sim: Simulator) -> list[Received]:
    return [r for r in sim.qfex.received if r.channel == "ws"
            and re.search(r'"type":"(close_position|add_order)"', r.body)]


def es_closes(sim: Simulator) -> list[Received]:
    return [r for r in sim.everstrike.received if r.path.startswith("/auth/close")]


async def send(rig: Rig, request: CloseRequest) -> None:
    intent = await rig.desk.close(request)
    await intent.settled(timeout=10)


def only_frame(rig: Rig) -> dict[str, object]:
    (frame,) = qfex_orders(rig.sim)
    assert " " not in frame.body  # compact JSON, exactly as built
    parsed = json.loads(frame.body, parse_float=Decimal, parse_int=Decimal)
    assert isinstance(parsed, dict)
    return parsed


def only_body(rig: Rig) -> list[tuple[str, str]]:
    (post,) = es_closes(rig.sim)
    assert post.method == "POST"
    assert post.headers["content-type"] == "application/x-www-form-urlencoded"
    expected = base64.b64encode(
        hmac.new(rig.es_secret.encode(), post.body.encode(), hashlib.sha256).digest()
    ).decode()
    assert post.headers["x-signature"] == expected  # signed exactly the bytes that arrived
    fields = parse_qsl(post.body, keep_blank_values=True, strict_parsing=True)
    names = [k for k, _ in fields]
    assert names[-2:] == ["timestamp", "recv_window"]
    assert re.fullmatch(r"\d{13}", dict(fields)["timestamp"])
    assert dict(fields)["recv_window"] == "5000"
    return fields[:-2]


# ------------------------------------------------------------------------------------ QFEX
@pytest.mark.asyncio
async def test_qfex_full_at_market_is_close_position(rig: Rig) -> None:
    req = CloseRequest(rig.qfex, PositionSide.LONG, D(40))
    await send(rig, req)
    assert only_frame(rig) == {"type": "close_position", "params": {
        "symbol": QFEX_SYMBOL, "client_order_id": req.client_order_id}}


@pytest.mark.asyncio
async def test_qfex_partial_at_market_is_market_ioc_reduce_only(rig: Rig) -> None:
    req = CloseRequest(rig.qfex, PositionSide.LONG, D(40), quantity=D(15))
    await send(rig, req)
    assert only_frame(rig) == {"type": "add_order", "params": {
        "symbol": QFEX_SYMBOL, "side": "SELL", "order_type": "MARKET",
        "order_time_in_force": "IOC", "quantity": D(15), "price": D(0), "reduce_only": True,
        "client_order_id": req.client_order_id}}


@pytest.mark.parametrize(("tif", "qty", "sent_qty"), [
    (TimeInForce.GTC, None, D(40)),  # full size at a limit
    (TimeInForce.IOC, D(10), D(10)),  # part, immediate-or-cancel
])
@pytest.mark.asyncio
async def test_qfex_limit_is_limit_reduce_only_with_the_chosen_tif(
    rig: Rig, tif: TimeInForce, qty: Decimal | None, sent_qty: Decimal
) -> None:
    req = CloseRequest(rig.qfex, PositionSide.LONG, D(40), quantity=qty,
                       limit_price=D("260.25"), time_in_force=tif)
    await send(rig, req)
    assert only_frame(rig) == {"type": "add_order", "params": {
        "symbol": QFEX_SYMBOL, "side": "SELL", "order_type": "LIMIT",
        "order_time_in_force": tif.value, "quantity": sent_qty, "price": D("260.25"),
        "reduce_only": True, "client_order_id": req.client_order_id}}


@pytest.mark.parametrize(("offset", "order_type"), [(D(-20), "STOP_LOSS"),
                                                    (D(20), "TAKE_PROFIT")])
@pytest.mark.asyncio
async def test_qfex_trigger_is_a_stop_order_typed_by_the_side_of_the_mark(
    rig: Rig, offset: Decimal, order_type: str
) -> None:
    mark = rig.desk.mark(QFEX, QFEX_SYMBOL)
    assert mark is not None
    trigger = mark.mark + offset
    req = CloseRequest(rig.qfex, PositionSide.LONG, D(40), quantity=D(5),
                       trigger=Trigger(trigger, TriggerEvent.MARK))
    await send(rig, req)
    frame = only_frame(rig)
    assert frame == {"type": "add_order", "params": {
        "symbol": QFEX_SYMBOL, "side": "SELL", "order_type": order_type,
        "order_time_in_force": "GTC", "quantity": D(5), "price": trigger, "reduce_only": True,
        "client_order_id": req.client_order_id}}


# ------------------------------------------------------------------------------ Everstrike
@pytest.mark.asyncio
async def test_everstrike_full_at_market_is_pair_only(rig: Rig) -> None:
    await send(rig, CloseRequest(rig.everstrike, PositionSide.SHORT, D("3.5")))
    assert only_body(rig) == [("pair", ES_PAIR)]


@pytest.mark.asyncio
async def test_everstrike_partial_at_market_adds_qty(rig: Rig) -> None:
    await send(rig, CloseRequest(rig.everstrike, PositionSide.SHORT, D("3.5"),
                                 quantity=D("1.25")))
    assert only_body(rig) == [("pair", ES_PAIR), ("qty", "1.25")]


@pytest.mark.parametrize(("qty", "expected"), [
    (None, [("pair", ES_PAIR), ("price", "4100.5")]),
    (D("2"), [("pair", ES_PAIR), ("qty", "2"), ("price", "4100.5")]),
])
@pytest.mark.asyncio
async def test_everstrike_limit_adds_price(
    rig: Rig, qty: Decimal | None, expected: list[tuple[str, str]]
) -> None:
    await send(rig, CloseRequest(rig.everstrike, PositionSide.SHORT, D("3.5"), quantity=qty,
                                 limit_price=D("4100.5")))
    assert only_body(rig) == expected


@pytest.mark.parametrize("event", list(TriggerEvent))
@pytest.mark.parametrize("close_on_trigger", [True, False])
@pytest.mark.asyncio
async def test_everstrike_trigger_sends_price_event_and_close_on_trigger(
    rig: Rig, event: TriggerEvent, close_on_trigger: bool
) -> None:
    await send(rig, CloseRequest(
        rig.everstrike, PositionSide.SHORT, D("3.5"), quantity=D(1), limit_price=D(4600),
        trigger=Trigger(D(4500), event, close_on_trigger),
    ))
    assert only_body(rig) == [
        ("pair", ES_PAIR), ("qty", "1"), ("price", "4600"), ("trigger_price", "4500"),
        ("trigger_event", event.value),
        ("close_on_trigger", "true" if close_on_trigger else "false"),
    ]
