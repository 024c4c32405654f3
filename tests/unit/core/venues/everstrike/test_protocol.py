"""Everstrike sans-IO protocol: signing, form encoding and every parser, from the documents."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import urllib.parse
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.model import (
    CloseRequest,
    Environment,
    Instrument,
    MarkUpdate,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    PositionSide,
    ProtocolError,
    TimeInForce,
    Trigger,
    TriggerEvent,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
)
from core.venues.everstrike import EVERSTRIKE
from core.venues.everstrike import protocol as p

SEED = Path(__file__).resolve().parents[5] / "docs" / "seeds" / "everstrike-close.md"
SECRET = "closeout-test-secret-not-real"
API_KEY = "ak-test-0123456789abcdef"
PAIR = "USD_BTCCALL_PERP"
TS = 1_551_137_077_642
ACCOUNT = "acct"


def seed_example(status: int) -> str:
    """The JSON response example for ``status`` exactly as the seed document shows it."""
    text = SEED.read_text(encoding="utf-8")
    start = text.index(f"Response examples ({status})")
    brace = text.index("{", start)
    depth = 0
    for i in range(brace, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[brace : i + 1]
    raise AssertionError("unterminated example")


def request(**kwargs: Any) -> CloseRequest:
    return CloseRequest(
        key=PositionKey(ACCOUNT, EVERSTRIKE, PAIR),
        position_side=PositionSide.LONG,
        position_quantity=Decimal(5),
        **kwargs,
    )


def recipe_signature(secret: str, body: str) -> str:
    """The seed's Python recipe, verbatim in spirit: hmac.new(...).digest() then b64encode."""
    digest = hmac.new(bytes(secret, "utf-8"), msg=bytes(body, "utf-8"), digestmod=hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


# --------------------------------------------------------------------------- signing


def test_sign_matches_the_seed_python_recipe() -> None:
    payload = {"pair": PAIR, "qty": 0.001, "price": 1, "timestamp": 1551137077642.0}
    body = urllib.parse.urlencode(payload)
    assert body == "pair=USD_BTCCALL_PERP&qty=0.001&price=1&timestamp=1551137077642.0"
    assert p.sign(SECRET, body) == recipe_signature(SECRET, body)


def test_sign_pinned_vector() -> None:
    # Computed independently with `openssl dgst -sha256 -hmac <secret> -binary | base64`.
    body = "pair=USD_BTCCALL_PERP&qty=0.001&price=1&timestamp=1551137077642.0"
    assert p.sign(SECRET, body) == "Y+29lwrTNERJTHP0+3lIYZJgI8n+NxqfLYVii+wW4a4="


def test_encode_close_reproduces_the_seed_body_and_signature() -> None:
    body = p.encode_close(request(quantity=Decimal("0.001"), limit_price=Decimal(1)), TS, None)
    assert body == "pair=USD_BTCCALL_PERP&qty=0.001&price=1&timestamp=1551137077642"
    # Also computed with openssl, over our own body with an integer timestamp.
    assert p.sign(SECRET, body) == "2ECFbwEuGG8tWQy3C4uNOKI1eVqQTfZu/6Ggge7elLs="


def test_sign_is_padded_standard_base64_and_utf8() -> None:
    signature = p.sign("sécret", "pair=X&note=ü")
    assert len(signature) == 44 and signature.endswith("=")
    assert signature == recipe_signature("sécret", "pair=X&note=ü")
    assert p.sign("other", "pair=X&note=ü") != signature


# --------------------------------------------------------------------------- encode_close

T = f"timestamp={TS}"

ENCODE_CASES = [
    pytest.param({}, 5000, f"pair={PAIR}&{T}&recv_window=5000", id="full-market"),
    pytest.param({}, None, f"pair={PAIR}&{T}", id="full-market-no-recv-window"),
    pytest.param(
        {"quantity": Decimal("0.5")}, 5000, f"pair={PAIR}&qty=0.5&{T}&recv_window=5000", id="qty"
    ),
    pytest.param(
        {"limit_price": Decimal("101.25")},
        5000,
        f"pair={PAIR}&price=101.25&{T}&recv_window=5000",
        id="price",
    ),
    pytest.param(
        {"quantity": Decimal(2), "limit_price": Decimal("99.5")},
        250,
        f"pair={PAIR}&qty=2&price=99.5&{T}&recv_window=250",
        id="qty-price",
    ),
    *[
        pytest.param(
            {"trigger": Trigger(Decimal("95"), event, False)},
            5000,
            f"pair={PAIR}&trigger_price=95&trigger_event={event.value}"
            f"&close_on_trigger=false&{T}&recv_window=5000",
            id=f"trigger-{event.value}",
        )
        for event in TriggerEvent
    ],
    pytest.param(
        {"trigger": Trigger(Decimal("95"), TriggerEvent.MARK, True)},
        5000,
        f"pair={PAIR}&trigger_price=95&trigger_event=MARK_PRICE&close_on_trigger=true"
        f"&{T}&recv_window=5000",
        id="close-on-trigger-true",
    ),
    pytest.param(
        {
            "quantity": Decimal("0.25"),
            "limit_price": Decimal("94"),
            "trigger": Trigger(Decimal("95"), TriggerEvent.LAST, True),
        },
        None,
        f"pair={PAIR}&qty=0.25&price=94&trigger_price=95&trigger_event=LAST_PRICE"
        f"&close_on_trigger=true&{T}",
        id="qty-price-trigger",
    ),
]


@pytest.mark.parametrize(("fields", "recv_window", "expected"), ENCODE_CASES)
def test_encode_close(fields: dict[str, Any], recv_window: int | None, expected: str) -> None:
    assert p.encode_close(request(**fields), TS, recv_window) == expected


@pytest.mark.parametrize(("fields", "recv_window", "expected"), ENCODE_CASES)
def test_encode_close_sends_only_what_was_set(
    fields: dict[str, Any], recv_window: int | None, expected: str
) -> None:
    sent = dict(urllib.parse.parse_qsl(p.encode_close(request(**fields), TS, recv_window)))
    assert sent["pair"] == PAIR and sent["timestamp"] == str(TS)
    assert ("qty" in sent) == ("quantity" in fields)
    assert ("price" in sent) == ("limit_price" in fields)
    for name in ("trigger_price", "trigger_event", "close_on_trigger"):
        assert (name in sent) == ("trigger" in fields)
    assert ("recv_window" in sent) == (recv_window is not None)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1.2300"), "1.23"),
        (Decimal("100"), "100"),
        (Decimal("1E+2"), "100"),
        (Decimal("0.00000001"), "0.00000001"),
        (Decimal("1E-8"), "0.00000001"),
        (Decimal("2.50"), "2.5"),
        (Decimal("123456789012345678901234567890.123"), "123456789012345678901234567890.123"),
    ],
)
def test_decimals_are_plain_text_and_exact(value: Decimal, text: str) -> None:
    assert p.format_decimal(value) == text
    assert Decimal(text) == value
    body = p.encode_close(request(quantity=value), TS, None)
    assert f"qty={text}&" in body


@pytest.mark.parametrize(
    ("fields", "culprit"),
    [
        ({"quantity": Decimal(0)}, "quantity"),
        ({"quantity": Decimal("-1")}, "quantity"),
        ({"quantity": Decimal("NaN")}, "quantity"),
        ({"limit_price": Decimal("Infinity")}, "limit_price"),
        ({"limit_price": Decimal("-0")}, "limit_price"),
        ({"trigger": Trigger(Decimal(0))}, "trigger_price"),
        ({"time_in_force": TimeInForce.IOC}, "time_in_force"),
    ],
)
def test_encode_close_refuses_bad_input_naming_the_field(
    fields: dict[str, Any], culprit: str
) -> None:
    with pytest.raises(p.EncodeError) as info:
        p.encode_close(request(**fields), TS, 5000)
    assert info.value.field == culprit


@pytest.mark.parametrize(("ts", "window"), [(0, 5000), (-5, None), (TS, 0), (TS, -1)])
def test_encode_close_refuses_bad_timing(ts: int, window: int | None) -> None:
    with pytest.raises(p.EncodeError):
        p.encode_close(request(), ts, window)


def test_encode_close_urlencodes_the_pair() -> None:
    odd = CloseRequest(
        key=PositionKey(ACCOUNT, EVERSTRIKE, "A&B=C"),
        position_side=PositionSide.SHORT,
        position_quantity=Decimal(1),
    )
    body = p.encode_close(odd, TS, None)
    assert body == f"pair=A%26B%3DC&{T}"
    assert dict(urllib.parse.parse_qsl(body))["pair"] == "A&B=C"


def test_encode_cancel() -> None:
    assert p.encode_cancel("849cdea0", TS, 5000) == f"id=849cdea0&{T}&recv_window=5000"
    assert p.encode_cancel("849cdea0", TS, None) == f"id=849cdea0&{T}"
    with pytest.raises(p.EncodeError):
        p.encode_cancel("", TS, None)


# --------------------------------------------------------------------------- signed request


def test_build_signed_post_and_redacted_preview() -> None:
    body = p.encode_close(request(quantity=Decimal("0.5")), TS, 5000)
    signed = p.build_signed_post(p.CLOSE_PATH, body, API_KEY, SECRET)
    assert signed.method == "POST" and signed.path == "/auth/close" and signed.body == body
    assert signed.headers["content-type"] == "application/x-www-form-urlencoded"
    assert signed.headers["x-api-key"] == API_KEY
    assert signed.headers["x-signature"] == recipe_signature(SECRET, body)

    text = p.redacted(signed)
    assert text.splitlines()[0] == "POST /auth/close"
    assert text.endswith("\n" + body)
    assert "content-type: application/x-www-form-urlencoded" in text
    assert API_KEY not in text
    assert signed.headers["x-signature"] not in text
    assert SECRET not in text
    assert re.search(r"^x-api-key: ak-t…\*\*\*$", text, re.MULTILINE)


# --------------------------------------------------------------------------- WS builders


def test_ws_builders_are_compact_json() -> None:
    assert p.auth_api(API_KEY) == '{"op":"auth_api","content":"' + API_KEY + '"}'
    assert p.status() == '{"op":"status","content":"empty"}'
    assert p.sub(PAIR) == '{"op":"sub","content":"USD_BTCCALL_PERP:index"}'
    assert p.sub_pair(PAIR) == '{"op":"sub_pair","content":"USD_BTCCALL_PERP"}'
    assert p.unsub(PAIR) == '{"op":"unsub","content":"USD_BTCCALL_PERP:index"}'
    assert p.unsub_all() == '{"op":"unsub_all","content":"empty"}'
    with pytest.raises(p.EncodeError):
        p.auth_api("")


def test_capabilities_and_endpoints() -> None:
    caps = p.CAPABILITIES
    assert caps.full_close and caps.partial_close and caps.limit_close and caps.trigger_close
    assert caps.trigger_events == frozenset(TriggerEvent)
    assert caps.close_on_trigger and caps.limit_with_trigger
    assert caps.time_in_force == ()
    assert p.DEFAULT_ENDPOINTS[Environment.LIVE]["rest"] == "https://api.everstrike.io"
    assert p.DEFAULT_ENDPOINTS[Environment.LIVE]["ws"] == "wss://wss.everstrike.io"
    assert p.DEFAULT_ENDPOINTS[Environment.TESTNET]["rest"] == "https://api.testnet.everstrike.io"
    assert p.DEFAULT_ENDPOINTS[Environment.TESTNET]["ws"] == "wss://wss.testnet.everstrike.io"
    assert dict(p.DEFAULT_ENDPOINTS[Environment.DEMO]) == {}


# --------------------------------------------------------------------------- REST envelope


def test_seed_200_example_parses_to_order_and_position() -> None:
    result = p.parse_envelope(200, seed_example(200).encode())
    events = p.parse_close_reply(result, ACCOUNT)
    assert len(events) == 2
    order, position = events
    assert isinstance(order, OrderUpdate)
    assert order.status is OrderStatus.ACK and not order.final
    assert order.raw_status == "ACTIVE"
    assert order.order_id == "849cdea0395411e98f54b395ae9c7bb6"
    assert order.symbol == PAIR and order.account == ACCOUNT and order.venue is EVERSTRIKE
    assert order.side is OrderSide.SELL and order.order_type == "LIMIT"
    assert order.quantity == Decimal(100) and order.remaining == Decimal(100)
    assert order.filled == Decimal(0) and order.price == Decimal(100)
    assert isinstance(order.quantity, Decimal)
    assert order.venue_time == pytest.approx(1551137077.642)
    assert order.message
    assert isinstance(position, Position)
    assert position.key == PositionKey(ACCOUNT, EVERSTRIKE, PAIR)
    assert position.side is PositionSide.LONG and position.quantity == Decimal(1)
    assert position.entry_price == Decimal("3.4") and position.mark_price == Decimal("2.1")
    assert position.liquidation_price == Decimal("3.7") and position.leverage == Decimal("2.82")
    assert position.unrealised_pnl is None  # the example's stats carry no upnl


def test_seed_503_example_is_a_typed_error() -> None:
    with pytest.raises(p.EverstrikeError) as info:
        p.parse_envelope(503, seed_example(503).encode())
    error = info.value
    assert type(error) is p.EverstrikeError
    assert (error.http_status, error.code, error.msg) == (503, 503, "Invalid request")
    assert error.retry_after is None


def test_429_wait_is_read_from_the_text() -> None:
    body = (
        b'{"code":429,"msg":"You have done that too much recently. '
        b'Care to try again in 0.043 seconds?","result":null}'
    )
    with pytest.raises(p.RateLimited) as info:
        p.parse_envelope(429, body)
    assert info.value.retry_after == pytest.approx(0.043)
    assert info.value.code == 429


@pytest.mark.parametrize(
    ("msg", "wait"),
    [("try again in 2 seconds", 2.0), ("retry in 150 ms", 0.15), ("slow down", None)],
)
def test_429_wait_is_parsed_loosely(msg: str, wait: float | None) -> None:
    with pytest.raises(p.RateLimited) as info:
        p.parse_envelope(429, json.dumps({"code": 429, "msg": msg, "result": None}).encode())
    assert info.value.retry_after == (pytest.approx(wait) if wait is not None else None)


def test_408_with_code_414_is_a_stale_timestamp() -> None:
    with pytest.raises(p.StaleTimestamp) as info:
        p.parse_envelope(408, b'{"code":414,"msg":"The timestamp is too old.","result":null}')
    assert (info.value.http_status, info.value.code) == (408, 414)
    assert info.value.msg == "The timestamp is too old."


@pytest.mark.parametrize("status", [401, 500])
def test_other_error_codes(status: int) -> None:
    body = json.dumps({"code": status, "msg": "nope", "result": None}).encode()
    with pytest.raises(p.EverstrikeError) as info:
        p.parse_envelope(status, body)
    assert type(info.value) is p.EverstrikeError
    assert (info.value.http_status, info.value.code, info.value.msg) == (status, status, "nope")


def test_body_code_not_200_is_an_error_even_on_http_200() -> None:
    with pytest.raises(p.EverstrikeError) as info:
        p.parse_envelope(200, b'{"code":503,"msg":"Invalid request","result":{}}')
    assert info.value.code == 503


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Bad gateway</html>",
        b"",
        b"\xff\xfe\x00garbage",
        b"[1,2,3]",
        b'{"msg":"no code"}',
        b'{"code":"two hundred","result":{}}',
        b'{"code":NaN,"result":{}}',
        b'{"code":200,"result":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_unreadable_bodies_are_typed_errors(body: bytes) -> None:
    with pytest.raises(p.MalformedReply) as info:
        p.parse_envelope(502, body)
    assert info.value.http_status == 502


def test_numbers_are_decimals_never_floats() -> None:
    result = p.parse_envelope(200, b'{"code":200,"msg":"","result":{"a":0.1,"b":3}}')
    assert result == {"a": Decimal("0.1"), "b": Decimal(3)}
    assert all(isinstance(v, Decimal) for v in result.values())


def test_parse_time() -> None:
    assert p.parse_time(p.parse_envelope(200, b'{"code":200,"msg":"","result":1700000000123}')) == (
        1700000000123
    )
    for bad in (None, "soon", True, Decimal("1.5"), {}, []):
        with pytest.raises(p.MalformedReply):
            p.parse_time(bad)


# --------------------------------------------------------------------------- close reply


def order_obj(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "abc123",
        "pair": PAIR,
        "side": "SELL",
        "type": "MARKET",
        "time": Decimal(1551137077642),
        "status": "ACTIVE",
        "qty_orig": Decimal(2),
        "qty_remaining": Decimal(2),
        "price": Decimal(100),
        "trigger_price": None,
    }
    order.update(overrides)
    return order


@pytest.mark.parametrize(
    ("overrides", "status", "final", "filled"),
    [
        ({"status": "ACTIVE"}, OrderStatus.ACK, False, Decimal(0)),
        ({"status": "PENDING"}, OrderStatus.ACK, False, Decimal(0)),
        ({"status": "ACTIVE", "qty_remaining": Decimal(1)}, OrderStatus.PARTIAL, False, 1),
        ({"status": "UNTRIGGERED", "trigger_price": Decimal(9)}, OrderStatus.TRIGGER_ACK, False, 0),
        ({"status": "ACTIVE", "trigger_price": Decimal(90)}, OrderStatus.TRIGGER_ACK, False, 0),
        ({"status": "COMPLETED", "qty_remaining": Decimal(0)}, OrderStatus.FILLED, True, 2),
        ({"status": "CANCELLED"}, OrderStatus.CANCELLED, True, 0),
        (
            {"status": "CANCELLED", "qty_remaining": Decimal("0.5")},
            OrderStatus.PARTIAL,
            True,
            Decimal("1.5"),
        ),
        ({"status": "REJECTED", "msg": "insufficient balance"}, OrderStatus.REJECTED, True, 0),
        ({"status": "SOMETHING_NEW"}, OrderStatus.UNKNOWN, False, 0),
    ],
)
def test_close_reply_status_mapping(
    overrides: dict[str, Any], status: OrderStatus, final: bool, filled: Decimal
) -> None:
    update, *rest = p.parse_close_reply({"order": order_obj(**overrides)}, ACCOUNT)
    assert isinstance(update, OrderUpdate)
    assert (update.status, update.final, update.filled) == (status, final, filled)
    # A MARKET close never rests; a trigger close rests as a trigger until it fires.
    resting = [w.kind for w in rest if isinstance(w, WorkingOrder)]
    assert resting == ([WorkingKind.TRIGGER] if status is OrderStatus.TRIGGER_ACK else [])
    assert update.raw_status == overrides["status"]
    assert update.message
    if status is OrderStatus.REJECTED:
        assert "insufficient balance" in update.message


def test_close_reply_flat_position_is_removed_and_pair_comes_from_the_order() -> None:
    result = {
        "order": order_obj(status="COMPLETED", qty_remaining=Decimal(0)),
        "balances": {},
        "position": {"size": Decimal(0), "stats": {"direction": "BUY"}},
    }
    order, removed = p.parse_close_reply(result, ACCOUNT)
    assert isinstance(order, OrderUpdate) and order.status is OrderStatus.FILLED
    assert removed == PositionRemoved(PositionKey(ACCOUNT, EVERSTRIKE, PAIR))


def test_close_reply_without_order_uses_the_given_pair() -> None:
    position = {"size": Decimal(-3), "stats": {"direction": "SELL"}}
    (event,) = p.parse_close_reply({"position": position}, ACCOUNT, pair="USD_ETH_PERP")
    assert isinstance(event, Position)
    assert event.key.symbol == "USD_ETH_PERP" and event.side is PositionSide.SHORT
    assert event.quantity == Decimal(3)
    with pytest.raises(p.MalformedReply):
        p.parse_close_reply({"position": position}, ACCOUNT)


@pytest.mark.parametrize(
    "result",
    [
        None,
        [],
        "ok",
        {"order": "x"},
        {"order": order_obj(id=None)},
        {"order": order_obj(id=5)},
        {"order": order_obj(pair=None)},
        {"order": order_obj(qty_orig="lots")},
        {"order": order_obj(price=True)},
        {"order": order_obj(time="yesterday")},
        {"order": order_obj(qty_orig=Decimal("1e999999999"), qty_remaining=Decimal(1))},
        {"order": order_obj(), "position": "flat"},
        {"order": order_obj(), "position": {"size": Decimal(1), "stats": {"direction": "UP"}}},
        {"order": order_obj(), "position": {"stats": {"direction": "BUY"}}},
    ],
)
def test_close_reply_malformed_is_typed(result: object) -> None:
    with pytest.raises(p.MalformedReply):
        p.parse_close_reply(result, ACCOUNT)


# --------------------------------------------------------------------------- positions


def position_obj(size: Decimal | int, direction: str | None, **stats: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"size": Decimal(size), "free": Decimal(1), "locked": Decimal(0)}
    body["stats"] = {
        "size": Decimal(size),
        "mark": Decimal("2.1"),
        "avg_entry": Decimal("3.4"),
        "upnl": Decimal("-0.5"),
        "lp": Decimal("3.7"),
        "leverage": Decimal("2.82"),
        **({"direction": direction} if direction is not None else {}),
        **stats,
    }
    return body


def test_active_positions_signed_and_unsigned_sizes_and_flat_dropped() -> None:
    result = {
        "USD_BTC_PERP": position_obj(2, "BUY"),
        "USD_ETH_PERP": position_obj(-3, "SELL"),  # signed size
        "USD_SOL_PERP": position_obj(4, "SELL"),  # unsigned size
        "USD_XRP_PERP": position_obj(-5, None),  # signed, no direction
        "USD_DOGE_PERP": position_obj(0, "BUY"),  # flat: skipped
    }
    positions = p.parse_active_positions(result, ACCOUNT)
    by_symbol = {pos.key.symbol: pos for pos in positions}
    assert set(by_symbol) == {"USD_BTC_PERP", "USD_ETH_PERP", "USD_SOL_PERP", "USD_XRP_PERP"}
    assert (by_symbol["USD_BTC_PERP"].side, by_symbol["USD_BTC_PERP"].quantity) == (
        PositionSide.LONG,
        Decimal(2),
    )
    assert (by_symbol["USD_ETH_PERP"].side, by_symbol["USD_ETH_PERP"].quantity) == (
        PositionSide.SHORT,
        Decimal(3),
    )
    assert (by_symbol["USD_SOL_PERP"].side, by_symbol["USD_SOL_PERP"].quantity) == (
        PositionSide.SHORT,
        Decimal(4),
    )
    assert by_symbol["USD_XRP_PERP"].side is PositionSide.SHORT
    btc = by_symbol["USD_BTC_PERP"]
    assert btc.key == PositionKey(ACCOUNT, EVERSTRIKE, "USD_BTC_PERP")
    assert (btc.entry_price, btc.mark_price, btc.unrealised_pnl) == (
        Decimal("3.4"),
        Decimal("2.1"),
        Decimal("-0.5"),
    )
    assert (btc.liquidation_price, btc.leverage) == (Decimal("3.7"), Decimal("2.82"))


def test_active_positions_empty() -> None:
    assert p.parse_active_positions({}, ACCOUNT) == ()


@pytest.mark.parametrize(
    "result",
    [
        None,
        [],
        {"USD_BTC_PERP": "long"},
        {"USD_BTC_PERP": position_obj(1, "SIDEWAYS")},
        {"USD_BTC_PERP": position_obj(1, None)},  # positive size, no direction: side unknown
        {"USD_BTC_PERP": {"stats": {"direction": "BUY"}}},
        {"USD_BTC_PERP": position_obj(1, "BUY", mark="high")},
        {"": position_obj(1, "BUY")},
    ],
)
def test_active_positions_malformed_is_typed(result: object) -> None:
    with pytest.raises(p.MalformedReply):
        p.parse_active_positions(result, ACCOUNT)


# --------------------------------------------------------------------------- pairs


def test_parse_pairs() -> None:
    result = p.parse_envelope(
        200,
        json.dumps(
            {
                "code": 200,
                "msg": "",
                "result": {
                    "USD_BTC_PERP": {
                        "key": "USD_BTC_PERP",
                        "base": "BTC",
                        "quote": "USD",
                        "status": "TRADING",
                        "filters": [
                            {
                                "filter_type": "PRICE_FILTER",
                                "min_price": 0.5,
                                "max_price": 1000000,
                                "tick_size": 0.5,
                                "display": 1,
                            },
                            {
                                "filter_type": "LOT_SIZE",
                                "min_qty": 0.001,
                                "max_qty": 100,
                                "tick_size": 0.001,
                            },
                            {"filter_type": "SOMETHING_ELSE"},
                        ],
                    },
                    "USD_ETH_PERP": {"key": "USD_ETH_PERP"},
                },
            }
        ).encode(),
    )
    pairs = p.parse_pairs(result)
    assert pairs["USD_BTC_PERP"] == Instrument(
        symbol="USD_BTC_PERP",
        tick_size=Decimal("0.5"),
        lot_size=Decimal("0.001"),
        min_quantity=Decimal("0.001"),
        max_quantity=Decimal(100),
        min_price=Decimal("0.5"),
        max_price=Decimal(1000000),
        quote_currency="USD",
    )
    assert pairs["USD_ETH_PERP"] == Instrument(symbol="USD_ETH_PERP")


@pytest.mark.parametrize(
    "result",
    [
        None,
        [],
        {"X": []},
        {"X": {"filters": "none"}},
        {"X": {"filters": ["PRICE_FILTER"]}},
        {"X": {"filters": [{"filter_type": "LOT_SIZE", "tick_size": "tiny"}]}},
    ],
)
def test_parse_pairs_malformed_is_typed(result: object) -> None:
    with pytest.raises(p.MalformedReply):
        p.parse_pairs(result)


# --------------------------------------------------------------------------- WebSocket


def frame(category: str, result: object, pair: str | None = PAIR, code: int = 200) -> str:
    def default(value: object) -> object:
        if isinstance(value, Decimal):
            return float(value)  # test-side only: build a wire frame
        raise TypeError(value)

    envelope = {"code": code, "msg": "m", "category": category, "pair": pair, "result": result}
    return json.dumps(envelope, default=default)


@pytest.mark.parametrize(
    ("category", "kind"),
    [
        ("authenticated", p.Authenticated),
        ("subscribed", p.Subscribed),
        ("unsubscribed", p.Unsubscribed),
        ("subscriptions", p.Subscriptions),
        ("ok", p.StatusOk),
    ],
)
def test_ws_control_categories(category: str, kind: type[p.ControlEvent]) -> None:
    (event,) = p.parse_ws(frame(category, {}, pair=None), ACCOUNT)
    assert type(event) is kind
    assert event.msg == "m"


def test_ws_error_category() -> None:
    (event,) = p.parse_ws(frame("error", None, pair=None, code=400), ACCOUNT)
    assert event == p.WsError(message="m", code=400)


def test_ws_index_is_a_mark_update() -> None:
    text = '{"code":200,"msg":"","category":"index","pair":"USD_BTC_PERP","result":'
    text += '{"mark":64000.5,"index":63999.25,"strike":null,"volatility":0.5}}'
    (event,) = p.parse_ws(text, ACCOUNT)
    assert isinstance(event, MarkUpdate)
    assert (event.symbol, event.mark, event.index) == (
        "USD_BTC_PERP",
        Decimal("64000.5"),
        Decimal("63999.25"),
    )
    assert event.venue is EVERSTRIKE


WS_ORDER_CASES = [
    ("order_added", {}, OrderStatus.ACK, False, []),
    ("order_partially_completed", {"qty_remaining": 0.5}, OrderStatus.PARTIAL, False, []),
    ("order_completed", {"qty_remaining": 0}, OrderStatus.FILLED, True, ["filled"]),
    ("order_cancelled", {}, OrderStatus.CANCELLED, True, ["cancelled"]),
    ("order_triggered", {"trigger_price": 90}, OrderStatus.TRIGGERED, False, ["triggered"]),
    (
        "trigger_added",
        {"trigger_price": 9, "status": "UNTRIGGERED"},
        OrderStatus.TRIGGER_ACK,
        0,
        [WorkingKind.TRIGGER],
    ),
    ("trigger_cancelled", {"trigger_price": 90}, OrderStatus.CANCELLED, True, ["cancelled"]),
    ("trigger_failed", {"msg": "insufficient balance"}, OrderStatus.REJECTED, True, ["rejected"]),
]


def working_effects(events: list[p.WsEvent]) -> list[object]:
    """What each event does to the working-orders panel: a kind upserted or a removal reason."""
    return [
        e.kind if isinstance(e, WorkingOrder) else e.reason
        for e in events
        if isinstance(e, WorkingOrder | WorkingOrderRemoved)
    ]


@pytest.mark.parametrize(("category", "extra", "status", "final", "working"), WS_ORDER_CASES)
def test_ws_order_categories(
    category: str, extra: dict[str, Any], status: OrderStatus, final: bool, working: list[object]
) -> None:
    order = {"id": "o1", "pair": PAIR, "side": "SELL", "qty_orig": 2, "qty_remaining": 2, **extra}
    event, *rest = p.parse_ws(frame(category, {"order": order}), ACCOUNT)
    assert isinstance(event, OrderUpdate)
    assert (event.status, event.final, event.raw_status) == (status, final, category)
    assert (event.order_id, event.symbol, event.side) == ("o1", PAIR, OrderSide.SELL)
    assert event.client_order_id is None
    assert event.message
    if category == "order_partially_completed":
        assert event.filled == Decimal("1.5") and event.remaining == Decimal("0.5")
    if category == "trigger_failed":
        assert "insufficient balance" in event.message
    assert working_effects(rest) == working
    assert all(getattr(e, "order_id", None) == "o1" for e in rest)


def test_ws_cancel_after_partial_fill_is_a_final_partial() -> None:
    order = {"id": "o1", "pair": PAIR, "qty_orig": 2, "qty_remaining": 0.5}
    event, removed = p.parse_ws(frame("order_cancelled", {"order": order}), ACCOUNT)
    assert isinstance(event, OrderUpdate)
    assert (event.status, event.final, event.filled) == (OrderStatus.PARTIAL, True, Decimal("1.5"))
    assert removed == WorkingOrderRemoved(EVERSTRIKE, ACCOUNT, "o1", "cancelled")


RESTING = {"type": "LIMIT", "price": 105, "time_in_force": "GTC", "reduce_only": True}


@pytest.mark.parametrize(
    ("category", "extra", "working"),
    [
        ("order_added", RESTING, [WorkingKind.LIMIT]),
        ("order_added", {**RESTING, "time_in_force": "IOC"}, []),
        ("order_added", {**RESTING, "reduce_only": False}, []),
        ("order_added", {**RESTING, "type": "MARKET"}, []),
        ("order_added", {**RESTING, "price": 0}, []),
        ("order_added", {**RESTING, "status": "UNTRIGGERED", "trigger_price": 90},
         [WorkingKind.TRIGGER]),
        ("order_partially_completed", {**RESTING, "qty_remaining": 1}, [WorkingKind.LIMIT]),
        # A stop-limit that fires stops being a trigger and rests as a limit.
        ("order_triggered", {**RESTING, "trigger_price": 90, "status": "UNTRIGGERED"},
         ["triggered", WorkingKind.LIMIT]),
        ("order_triggered", {"type": "MARKET", "trigger_price": 90}, ["triggered"]),
        ("order_completed", RESTING, ["filled"]),
    ],
)  # fmt: skip
def test_ws_order_events_drive_working_orders(
    category: str, extra: dict[str, Any], working: list[object]
) -> None:
    order = {"id": "o1", "pair": PAIR, "side": "BUY", "qty_orig": 2, "qty_remaining": 2, **extra}
    events = p.parse_ws(frame(category, {"order": order}), ACCOUNT)
    assert working_effects(events) == working
    for event in events:
        if isinstance(event, WorkingOrder):
            assert (event.symbol, event.side, event.raw_status) == (PAIR, OrderSide.BUY, category)
            if event.kind is WorkingKind.LIMIT:
                assert (event.price, event.trigger_price) == (Decimal(105), None)


def test_ws_order_pair_falls_back_to_the_envelope() -> None:
    (event,) = p.parse_ws(frame("order_added", {"order": {"id": "o1"}}), ACCOUNT)
    assert isinstance(event, OrderUpdate) and event.symbol == PAIR


@pytest.mark.parametrize(
    ("result", "envelope_pair"),
    [
        ({"pair": PAIR, "size": 2, "stats": {"direction": "BUY", "mark": 3}}, None),
        ({"size": 2, "stats": {"direction": "BUY", "mark": 3}}, PAIR),
        ({"position": {"size": 2, "stats": {"direction": "BUY", "mark": 3}}}, PAIR),
        ({"pair": PAIR, "position": {"size": -2, "stats": {"direction": "BUY", "mark": 3}}}, None),
    ],
)
def test_ws_position_updated(result: dict[str, Any], envelope_pair: str | None) -> None:
    (event,) = p.parse_ws(frame("position_updated", result, pair=envelope_pair), ACCOUNT)
    assert isinstance(event, Position)
    assert event.key == PositionKey(ACCOUNT, EVERSTRIKE, PAIR)
    assert (event.side, event.quantity, event.mark_price) == (
        PositionSide.LONG,
        Decimal(2),
        Decimal(3),
    )


def test_ws_position_updated_flat_and_closed_remove() -> None:
    flat = frame("position_updated", {"size": 0, "stats": {"direction": "BUY"}})
    closed = frame("position_closed", {"pair": "USD_ETH_PERP"}, pair=None)
    closed_env = frame("position_closed", {})
    key = PositionKey(ACCOUNT, EVERSTRIKE, PAIR)
    assert p.parse_ws(flat, ACCOUNT) == [PositionRemoved(key)]
    assert p.parse_ws(closed, ACCOUNT) == [
        PositionRemoved(PositionKey(ACCOUNT, EVERSTRIKE, "USD_ETH_PERP"))
    ]
    assert p.parse_ws(closed_env, ACCOUNT) == [PositionRemoved(key)]


@pytest.mark.parametrize("category", ["depth", "ticker", "trades", "deposit_added"])
def test_ws_documented_but_unused_categories_are_dropped(category: str) -> None:
    assert p.parse_ws(frame(category, {"anything": 1}), ACCOUNT) == []


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        b"\xff\xfe",
        "[]",
        "42",
        '{"code":200}',
        '{"code":200,"category":7}',
        '{"code":"x","category":"index"}',
        '{"code":200,"category":"brand_new","result":{}}',
        '{"code":200,"category":"index","pair":"P","result":{"mark":"high"}}',
        '{"code":200,"category":"index","pair":"P","result":{"mark":NaN}}',
        '{"code":200,"category":"index","pair":null,"result":{"mark":1}}',
        '{"code":200,"category":"index","pair":"P","result":[]}',
        '{"code":200,"category":"order_added","pair":"P","result":null}',
        '{"code":200,"category":"order_added","pair":"P","result":{"order":{"pair":"P"}}}',
        '{"code":200,"category":"order_added","pair":null,"result":{"order":{"id":"x"}}}',
        '{"code":200,"category":"position_updated","pair":null,"result":{"size":1}}',
        '{"code":200,"category":"position_updated","pair":"P","result":{"size":1}}',
        '{"code":200,"category":"position_closed","pair":null,"result":{}}',
        '{"code":200,"category":"order_completed","pair":"P","result":{"order":'
        '{"id":"x","qty_orig":1e999999999,"qty_remaining":1}}}',
        "[" * 50_000 + "]" * 50_000,
    ],
)
def test_ws_malformed_becomes_a_protocol_error_event(text: str | bytes) -> None:
    events = p.parse_ws(text, ACCOUNT)
    assert len(events) == 1
    (event,) = events
    assert isinstance(event, ProtocolError)
    assert event.venue is EVERSTRIKE and event.account == ACCOUNT
    assert event.message and len(event.raw) <= 501


# --------------------------------------------------------------------------- order listings


def listed(order_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return order_obj(id=order_id, status=status, **extra)


def test_parse_working_orders_takes_resting_limits_and_untriggered_triggers() -> None:
    active = [
        listed("lim", "ACTIVE", type="LIMIT", price=Decimal(105), reduce_only=True),
        listed("no-ro", "ACTIVE", type="LIMIT", price=Decimal(105), reduce_only=False),
        listed("mkt", "ACTIVE", type="MARKET"),
        listed("fok", "ACTIVE", type="LIMIT", time_in_force="FOK"),
        listed("done", "COMPLETED", type="LIMIT"),
        # Fired stop-limit, in the book: a limit now, whatever its trigger fields say.
        listed("fired", "ACTIVE", type="LIMIT", price=Decimal(99), trigger_price=Decimal(98)),
    ]
    triggers = [
        listed("stop", "UNTRIGGERED", type="MARKET", price=Decimal(0), trigger_price=Decimal(90),
               trigger_event="MARK_PRICE", close_on_trigger=True),
        listed("fired", "ACTIVE", type="LIMIT", price=Decimal(99), trigger_price=Decimal(98)),
        listed("old", "CANCELLED", trigger_price=Decimal(90)),
        listed("odd-event", "UNTRIGGERED", trigger_price=Decimal(91), trigger_event="MOON"),
    ]
    orders = p.parse_working_orders(active, triggers, ACCOUNT)
    summary = [(o.order_id, o.kind, o.price, o.trigger_price, o.trigger_event) for o in orders]
    assert summary == [
        ("lim", WorkingKind.LIMIT, Decimal(105), None, None),
        ("fired", WorkingKind.LIMIT, Decimal(99), None, None),
        ("stop", WorkingKind.TRIGGER, None, Decimal(90), TriggerEvent.MARK),
        ("odd-event", WorkingKind.TRIGGER, None, Decimal(91), None),  # MARKET once fired
    ]
    stop = orders[2]
    assert (stop.close_on_trigger, stop.reduce_only, stop.raw_status) == (True, True, "UNTRIGGERED")
    assert (stop.quantity, stop.remaining, stop.side) == (Decimal(2), Decimal(2), OrderSide.SELL)
    assert stop.venue_time == pytest.approx(1551137077.642)
    assert p.parse_working_orders([], None, ACCOUNT) == ()


@pytest.mark.parametrize(
    "listing",
    [
        "x",
        Decimal(1),
        [None],
        [order_obj(id=None)],
        [order_obj(), order_obj(pair=None)],
        [order_obj(time="soon")],
    ],
)
def test_order_listings_are_all_or_nothing(listing: object) -> None:
    with pytest.raises(p.MalformedReply):
        p.parse_order_list(listing, ACCOUNT)
    with pytest.raises(p.MalformedReply):
        p.parse_working_orders([], listing, ACCOUNT)


def test_parse_order_list_reads_what_reconciliation_needs() -> None:
    listing = {
        "a": order_obj(id="a", status="COMPLETED", qty_remaining=0, reduce_only=True,
                       price_orig=Decimal(0), price=Decimal("101.5")),
        "b": order_obj(id="b", type="LIMIT", price=Decimal(7), reduce_only="yes"),
    }
    a, b = p.parse_order_list(listing, ACCOUNT)  # an object keyed by id is tolerated
    assert (a.status, a.update.status, a.update.final) == ("COMPLETED", OrderStatus.FILLED, True)
    assert (a.time_ms, a.reduce_only, a.limit_price, a.working) == (
        1551137077642, True, None, None
    )
    assert (b.limit_price, b.reduce_only) == (Decimal(7), None)
    assert b.working is not None and b.working.kind is WorkingKind.LIMIT


SENT = 1_551_137_077_000


def candidate(order_id: str, **overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": order_id, "status": "COMPLETED", "type": "MARKET", "side": "SELL",
        "qty_orig": Decimal(2), "qty_remaining": Decimal(0), "time": Decimal(SENT + 40),
        "reduce_only": True, "trigger_price": None,
    }
    base.update(overrides)
    return order_obj(**base)


MATCH_CASES = [
    pytest.param({}, [candidate("hit")], "hit", id="market"),
    pytest.param({}, [candidate("x", pair="USD_ETH_PERP")], None, id="other pair"),
    pytest.param({}, [candidate("x", side="BUY")], None, id="other side"),
    pytest.param({}, [candidate("x", reduce_only=False)], None, id="not reduce-only"),
    pytest.param({}, [candidate("x", time=Decimal(SENT - 2001))], None, id="before we sent"),
    pytest.param({}, [candidate("hit", time=Decimal(SENT - 1999))], "hit", id="clock slack"),
    pytest.param({}, [candidate("x", time=None)], None, id="no time"),
    pytest.param({}, [candidate("x", type="LIMIT", price=Decimal(9))], None, id="limit != mkt"),
    pytest.param({}, [candidate("x", trigger_price=Decimal(9))], None, id="a trigger"),
    pytest.param({}, [candidate("mine")], None, id="claimed"),
    pytest.param({"quantity": Decimal(2)}, [candidate("hit")], "hit", id="partial qty"),
    pytest.param({"quantity": Decimal(1)}, [candidate("x")], None, id="other qty"),
    pytest.param(
        {"limit_price": Decimal(9)},
        [candidate("x", type="LIMIT", price=Decimal(8)),
         candidate("hit", type="LIMIT", price=Decimal(10), price_orig=Decimal(9))],
        "hit",
        id="limit price (price_orig)",
    ),
    pytest.param(
        {"trigger": Trigger(Decimal(90))},
        [candidate("x", trigger_price=Decimal(91)), candidate("hit", trigger_price=Decimal(90))],
        "hit",
        id="trigger price",
    ),
    pytest.param(
        {},
        [candidate("late", time=Decimal(SENT + 9000)), candidate("near", time=Decimal(SENT + 5))],
        "near",
        id="nearest in time",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fields", "listing", "expected"), MATCH_CASES)
def test_match_close(fields: dict[str, Any], listing: list[Any], expected: str | None) -> None:
    orders = p.parse_order_list(listing, ACCOUNT)
    found = p.match_close(orders, request(**fields), SENT, slack_ms=2000, claimed={"mine"})
    assert (found.update.order_id if found else None) == expected


INSTRUMENT = Instrument(
    PAIR, tick_size=Decimal("0.05"), lot_size=Decimal("0.1"), min_quantity=Decimal("0.5"),
    max_quantity=Decimal(4), min_price=Decimal(1), max_price=Decimal(500),
)  # fmt: skip


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": Decimal("0.25")}, "quantity"),
        ({"quantity": Decimal(6)}, "quantity"),  # more than the position of 5
        ({"quantity": Decimal("0.4")}, "quantity"),
        ({"limit_price": Decimal("10.01")}, "limit_price"),
        ({"limit_price": Decimal("0.95")}, "limit_price"),
        ({"limit_price": Decimal(600)}, "limit_price"),
        ({"trigger": Trigger(Decimal("10.02"))}, "trigger_price"),
        ({"trigger": Trigger(Decimal(501))}, "trigger_price"),
    ],
)
def test_check_close_names_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(p.EncodeError) as info:
        p.check_close(request(**fields), INSTRUMENT)
    assert info.value.field == field


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"quantity": Decimal("0.5"), "limit_price": Decimal("10.05")},
        {"quantity": Decimal(4)},
        # Min/max quantity is not applied to triggers (unknown at the venue).
        {"quantity": Decimal("0.2"), "trigger": Trigger(Decimal(10))},
    ],
)
def test_check_close_accepts(fields: dict[str, Any]) -> None:
    p.check_close(request(**fields), INSTRUMENT)
    p.check_close(request(**fields), None)


# --------------------------------------------------------------------------- property tests

KEYS = st.sampled_from(
    [
        "code", "msg", "result", "order", "position", "balances", "id", "pair", "side", "status",
        "qty_orig", "qty_remaining", "qty_filled", "price", "trigger_price", "trigger_event",
        "time", "size", "stats", "direction", "mark", "index", "avg_entry", "upnl", "lp",
        "leverage", "filters", "filter_type", "tick_size", "min_qty", "max_qty", "key",
        "PRICE_FILTER", "LOT_SIZE", "BUY", "SELL", PAIR,
    ]
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["BUY", "SELL", "ACTIVE", "COMPLETED", "CANCELLED", "UNTRIGGERED", PAIR])
)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(KEYS | st.text(max_size=8), children, max_size=6),
    max_leaves=30,
)
CATEGORIES = st.sampled_from(
    [
        "authenticated", "subscribed", "unsubscribed", "subscriptions", "ok", "error", "index",
        "order_added", "order_partially_completed", "order_completed", "order_cancelled",
        "order_triggered", "trigger_added", "trigger_cancelled", "trigger_failed",
        "position_updated", "position_closed", "depth", "mystery",
    ]
)  # fmt: skip
ENVELOPES = st.fixed_dictionaries(
    {"code": st.sampled_from([200, 200, 200, 400, "x", None]), "category": CATEGORIES},
    optional={"pair": st.none() | st.sampled_from([PAIR, "null", ""]), "msg": JSON, "result": JSON},
)
WS_EVENT_TYPES = (
    p.ControlEvent,
    p.WsError,
    OrderUpdate,
    Position,
    PositionRemoved,
    MarkUpdate,
    WorkingOrder,
    WorkingOrderRemoved,
)


def _check_event(event: object) -> None:
    assert isinstance(event, (*WS_EVENT_TYPES, ProtocolError, p.VenueOrder))
    if isinstance(event, Position):
        assert isinstance(event.quantity, Decimal) and event.quantity > 0
    if isinstance(event, OrderUpdate | WorkingOrder):
        assert event.order_id and event.symbol
        for value in (event.quantity, event.remaining, event.price, event.trigger_price):
            assert value is None or isinstance(value, Decimal)
    if isinstance(event, p.VenueOrder):
        _check_event(event.update)
        if event.working is not None:
            _check_event(event.working)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSON | ENVELOPES, status_code=st.integers(100, 599))
def test_rest_parsers_raise_only_typed_errors(value: object, status_code: int) -> None:
    text = json.dumps(value)
    try:
        p.parse_envelope(status_code, text.encode())
    except p.EverstrikeError:
        pass
    else:
        assert 200 <= status_code < 300
    try:
        loaded = p.loads(text)
    except ValueError:  # a number outside the bound: parse_envelope refused it above
        with pytest.raises(p.MalformedReply):
            p.parse_envelope(200, text.encode())
        return
    for parser in (
        lambda v: p.parse_close_reply(v, ACCOUNT),
        lambda v: p.parse_close_reply(v, ACCOUNT, PAIR),
        lambda v: p.parse_active_positions(v, ACCOUNT),
        p.parse_pairs,
        p.parse_time,
        lambda v: p.parse_order(v, ACCOUNT, PAIR),
        lambda v: p.parse_order_list(v, ACCOUNT),
        lambda v: p.parse_working_orders(v, v, ACCOUNT),
        lambda v: p.working_order(v, ACCOUNT, PAIR, fresh=True),
    ):
        for candidate in (loaded, loaded.get("result") if isinstance(loaded, dict) else None):
            try:
                parsed = parser(candidate)
            except p.EverstrikeError:
                continue
            if parsed is None:
                continue
            items = parsed if isinstance(parsed, (list, tuple)) else [parsed]
            if isinstance(parsed, dict):
                items = list(parsed.values())
            for item in items:
                if not isinstance(item, (int, Instrument)):
                    _check_event(item)
            if isinstance(parsed, list) and all(isinstance(o, p.VenueOrder) for o in parsed):
                for fields in ({}, {"quantity": Decimal(2)}, {"trigger": Trigger(Decimal(1))}):
                    p.match_close(parsed, request(**fields), 0)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSON | ENVELOPES)
def test_ws_parser_never_raises(value: object) -> None:
    for event in p.parse_ws(json.dumps(value), ACCOUNT):
        _check_event(event)


@given(data=st.binary(max_size=200))
def test_parsers_survive_arbitrary_bytes(data: bytes) -> None:
    for event in p.parse_ws(data, ACCOUNT):
        _check_event(event)
    with contextlib.suppress(p.EverstrikeError):
        p.parse_envelope(200, data)
