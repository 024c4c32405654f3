"""QFEX sans-IO protocol: exact frames out, typed events in, documented examples as fixtures."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.model import (
    CloseRequest,
    Fill,
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
)
from core.venues.qfex import QFEX
from core.venues.qfex import protocol as p

D = Decimal
ACCOUNT = "desk-1"
SECRET = "qfex_secret_example"
PUB = "qfex_pub_abcdef123456"
NONCE = "c0ffee00112233445566778899aabbcc"
TS = 1760545414


def key(symbol: str = "AAPL-USD") -> PositionKey:
    return PositionKey(ACCOUNT, QFEX, symbol)


def only(events: list[Any]) -> Any:
    assert len(events) == 1, events
    return events[0]


# ----------------------------------------------------------------------------- signing


def test_sign_matches_the_documented_recipe() -> None:
    expected = hmac.new(SECRET.encode(), f"{NONCE}:{TS}".encode(), hashlib.sha256).hexdigest()
    assert p.sign(SECRET, NONCE, TS) == expected


def test_sign_pinned_vector() -> None:
    # Computed independently with `openssl dgst -sha256 -hmac qfex_secret_example`.
    assert (
        p.sign(SECRET, NONCE, TS)
        == "865ceb2e2c8015dba33acbe5909b7a1f1ef82a3124e1fd3e23a288918861cab3"
    )


def test_sign_uses_the_secret_text_as_is_and_lower_case_hex() -> None:
    sig = p.sign("ÄÖ-secret", "ab", 1)
    assert sig == hmac.new("ÄÖ-secret".encode(), b"ab:1", hashlib.sha256).hexdigest()
    assert sig == sig.lower()
    assert p.sign(SECRET, NONCE, TS + 1) != p.sign(SECRET, NONCE, TS)


# ----------------------------------------------------------------------------- builders


def test_auth_frame() -> None:
    sig = p.sign(SECRET, NONCE, TS)
    assert p.build_auth(PUB, SECRET, NONCE, TS) == (
        '{"type":"auth","params":{"hmac":{"public_key":"qfex_pub_abcdef123456",'
        f'"nonce":"{NONCE}","unix_ts":1760545414,"signature":"{sig}"}}}}}}'
    )


def test_auth_frame_with_subaccount() -> None:
    frame = json.loads(p.build_auth(PUB, SECRET, NONCE, TS, "sub-uuid"))
    assert frame["params"]["account_id"] == "sub-uuid"
    assert frame["params"]["hmac"]["signature"] == p.sign(SECRET, NONCE, TS)


def test_auth_frame_never_contains_the_secret() -> None:
    assert SECRET not in p.build_auth(PUB, SECRET, NONCE, TS)


def test_redacted_hides_key_signature_and_nonce() -> None:
    shown = p.redacted(p.build_auth(PUB, SECRET, NONCE, TS))
    sig = p.sign(SECRET, NONCE, TS)
    assert PUB not in shown and sig not in shown and NONCE not in shown
    hmac_part = json.loads(shown)["params"]["hmac"]
    assert hmac_part["public_key"].startswith("qfex")
    assert hmac_part["unix_ts"] == TS


def test_redacted_leaves_a_close_frame_unchanged() -> None:
    frame = p.build_close_position("AAPL-USD", "co-1")
    assert p.redacted(frame) == frame


def test_redacted_scrubs_even_text_that_is_not_json() -> None:
    shown = p.redacted('{"public_key":"qfex_pub_secretish", "nonce":"abc"')
    assert "qfex_pub_secretish" not in shown and '"abc"' not in shown


def test_rest_headers() -> None:
    assert p.rest_auth_headers(PUB, SECRET, NONCE, TS) == {
        "x-qfex-public-key": PUB,
        "x-qfex-hmac-signature": p.sign(SECRET, NONCE, TS),
        "x-qfex-nonce": NONCE,
        "x-qfex-timestamp": "1760545414",
    }
    with_sub = p.rest_auth_headers(PUB, SECRET, NONCE, TS, "sub-uuid")
    assert with_sub["x-qfex-requested-account-id"] == "sub-uuid"


def test_subscribe_frames() -> None:
    assert p.build_subscribe("positions") == (
        '{"type":"subscribe","params":{"channels":["positions"]}}'
    )
    assert p.build_unsubscribe("fills") == (
        '{"type":"unsubscribe","params":{"channels":["fills"]}}'
    )
    assert p.build_mds_subscribe() == (
        '{"type":"subscribe","channels":["market_stats"],"symbols":["*"]}'
    )


def test_order_management_frames() -> None:
    assert p.build_close_position("AAPL-USD", "co-1") == (
        '{"type":"close_position","params":{"symbol":"AAPL-USD","client_order_id":"co-1"}}'
    )
    assert p.build_cancel_order("AAPL-USD", "oid") == (
        '{"type":"cancel_order","params":{"symbol":"AAPL-USD","order_id":"oid",'
        '"cancel_order_id_type":"order_id"}}'
    )
    assert p.build_cancel_order("AAPL-USD", "co-1", "client_order_id").endswith(
        '"cancel_order_id_type":"client_order_id"}}'
    )
    assert p.build_cancel_stop_order("sid") == (
        '{"type":"cancel_stop_order","params":{"stop_order_id":"sid"}}'
    )
    assert p.build_get_order("oid", "AAPL-USD") == (
        '{"type":"get_order","params":{"order_id":"oid","symbol":"AAPL-USD"}}'
    )
    assert p.build_get_user_orders() == (
        '{"type":"get_user_orders","params":{"limit":1000,"offset":0}}'
    )
    assert p.build_get_user_orders("AAPL-USD", limit=10, offset=20) == (
        '{"type":"get_user_orders","params":{"limit":10,"offset":20,"symbol":"AAPL-USD"}}'
    )


def test_add_order_frame_writes_decimals_as_plain_json_numbers() -> None:
    frame = p.build_add_order(
        symbol="AAPL-USD",
        side=OrderSide.SELL,
        order_type="LIMIT",
        time_in_force="GTC",
        quantity=D("1.50"),
        price=D("201.25"),
        client_order_id="pm-1",
    )
    assert frame == (
        '{"type":"add_order","params":{"symbol":"AAPL-USD","side":"SELL","order_type":"LIMIT",'
        '"order_time_in_force":"GTC","quantity":1.50,"price":201.25,"reduce_only":true,'
        '"client_order_id":"pm-1"}}'
    )
    # the numbers read back exactly
    params = json.loads(frame, parse_float=D)["params"]
    assert params["quantity"] == D("1.5") and params["price"] == D("201.25")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("1E+3"), "1000"),
        (D("1E-7"), "0.0000001"),
        (D("0.1"), "0.1"),
        (D("-0"), "0"),
        (D("0E-8"), "0"),
        (D("12345678901234567890.123456789"), "12345678901234567890.123456789"),
    ],
)
def test_numbers_never_use_exponent_notation(value: Decimal, text: str) -> None:
    frame = p.build_add_order(
        symbol="X",
        side=OrderSide.BUY,
        order_type="LIMIT",
        time_in_force="GTC",
        quantity=value,
        price=D(1),
        client_order_id="c",
    )
    assert f'"quantity":{text},' in frame


def test_non_finite_numbers_are_refused() -> None:
    with pytest.raises(ValueError, match="finite"):
        p.build_add_order(
            symbol="X",
            side=OrderSide.BUY,
            order_type="LIMIT",
            time_in_force="GTC",
            quantity=D("NaN"),
            price=D(1),
            client_order_id="c",
        )


# ----------------------------------------------------------------------------- build_close

AAPL = Instrument(
    "AAPL-USD",
    tick_size=D("0.01"),
    lot_size=D("0.1"),
    min_quantity=D("0.1"),
    max_quantity=D("1000"),
    min_price=D("1"),
    max_price=D("10000"),
)


def req(side: PositionSide = PositionSide.LONG, **kw: Any) -> CloseRequest:
    kw.setdefault("client_order_id", "co-1")
    return CloseRequest(key(), side, D("2.0"), **kw)


def params_of(frame: str) -> dict[str, Any]:
    obj = json.loads(frame, parse_float=D, parse_int=D)
    return {"type": obj["type"], **obj["params"]}


def test_full_market_close_is_close_position() -> None:
    frame = p.build_close(req(), None, AAPL)
    assert frame == p.build_close_position("AAPL-USD", "co-1")


def test_full_market_close_accepts_ioc() -> None:
    frame = p.build_close(req(time_in_force=TimeInForce.IOC), None, None)
    assert params_of(frame)["type"] == "close_position"


@pytest.mark.parametrize(
    ("side", "order_side"), [(PositionSide.LONG, "SELL"), (PositionSide.SHORT, "BUY")]
)
def test_partial_market_close(side: PositionSide, order_side: str) -> None:
    frame = p.build_close(req(side, quantity=D("0.5")), None, AAPL)
    assert params_of(frame) == {
        "type": "add_order",
        "symbol": "AAPL-USD",
        "side": order_side,
        "order_type": "MARKET",
        "order_time_in_force": "IOC",
        "quantity": D("0.5"),
        "price": D(0),
        "reduce_only": True,
        "client_order_id": "co-1",
    }


@pytest.mark.parametrize(
    ("tif", "wire"),
    [(None, "GTC"), (TimeInForce.GTC, "GTC"), (TimeInForce.IOC, "IOC"), (TimeInForce.FOK, "FOK")],
)
@pytest.mark.parametrize("quantity", [None, D("0.5")])
def test_limit_close(tif: TimeInForce | None, wire: str, quantity: Decimal | None) -> None:
    frame = p.build_close(
        req(PositionSide.SHORT, quantity=quantity, limit_price=D("199.80"), time_in_force=tif),
        None,
        AAPL,
    )
    assert params_of(frame) == {
        "type": "add_order",
        "symbol": "AAPL-USD",
        "side": "BUY",
        "order_type": "LIMIT",
        "order_time_in_force": wire,
        "quantity": quantity or D("2.0"),
        "price": D("199.80"),
        "reduce_only": True,
        "client_order_id": "co-1",
    }


@pytest.mark.parametrize(
    ("side", "trigger", "expected"),
    [
        (PositionSide.LONG, "190", "STOP_LOSS"),
        (PositionSide.LONG, "210", "TAKE_PROFIT"),
        (PositionSide.SHORT, "210", "STOP_LOSS"),
        (PositionSide.SHORT, "190", "TAKE_PROFIT"),
    ],
)
@pytest.mark.parametrize("quantity", [None, D("0.5")])
def test_trigger_close_picks_stop_type_by_mark_side(
    side: PositionSide, trigger: str, expected: str, quantity: Decimal | None
) -> None:
    frame = p.build_close(
        req(side, quantity=quantity, trigger=Trigger(D(trigger))), D("200"), AAPL
    )
    assert params_of(frame) == {
        "type": "add_order",
        "symbol": "AAPL-USD",
        "side": side.closing_side.value,
        "order_type": expected,
        "order_time_in_force": "GTC",
        "quantity": quantity or D("2.0"),
        "price": D(trigger),
        "reduce_only": True,
        "client_order_id": "co-1",
    }


def test_trigger_quantity_below_min_is_allowed_for_stops() -> None:
    inst = replace(AAPL, min_quantity=D("1"))
    frame = p.build_close(req(quantity=D("0.5"), trigger=Trigger(D("190"))), D("200"), inst)
    assert params_of(frame)["quantity"] == D("0.5")
    with pytest.raises(p.InvalidClose):
        p.build_close(req(quantity=D("0.5")), None, inst)


@pytest.mark.parametrize(
    ("request_kw", "mark", "field"),
    [
        ({"trigger": Trigger(D("190"), TriggerEvent.INDEX)}, D("200"), "trigger_event"),
        ({"trigger": Trigger(D("190"), TriggerEvent.LAST)}, D("200"), "trigger_event"),
        ({"trigger": Trigger(D("190"), close_on_trigger=True)}, D("200"), "close_on_trigger"),
        ({"trigger": Trigger(D("190")), "limit_price": D("189")}, D("200"), "limit_price"),
        ({"trigger": Trigger(D("190"))}, None, "trigger_price"),
        ({"trigger": Trigger(D("200"))}, D("200"), "trigger_price"),
        ({"trigger": Trigger(D("190.005"))}, D("200"), "trigger_price"),
        ({"trigger": Trigger(D("0.5"))}, D("200"), "trigger_price"),  # below min_price
        ({"trigger": Trigger(D("20000"))}, D("200"), "trigger_price"),  # above max_price
        ({"quantity": D("3")}, None, "quantity"),
        ({"quantity": D("0")}, None, "quantity"),
        ({"quantity": D("-1")}, None, "quantity"),
        ({"quantity": D("0.55")}, None, "quantity"),
        ({"limit_price": D("199.999")}, None, "limit_price"),
        ({"limit_price": D("0.5")}, None, "limit_price"),
        ({"limit_price": D("20000")}, None, "limit_price"),
        ({"limit_price": D("-1")}, None, "limit_price"),
        ({"time_in_force": TimeInForce.GTC}, None, "time_in_force"),
        ({"time_in_force": TimeInForce.FOK, "quantity": D("1")}, None, "time_in_force"),
    ],
)
def test_close_requests_qfex_cannot_take(
    request_kw: dict[str, Any], mark: Decimal | None, field: str
) -> None:
    with pytest.raises(p.InvalidClose) as info:
        p.build_close(req(**request_kw), mark, AAPL)
    assert info.value.field == field
    assert isinstance(info.value, ValueError)
    assert str(info.value)


def test_stop_limit_and_non_mark_triggers_raise_the_documented_reasons() -> None:
    with pytest.raises(p.InvalidClose, match="no stop-limit"):
        p.build_close(req(trigger=Trigger(D("190")), limit_price=D("189")), D("200"), None)
    with pytest.raises(p.InvalidClose, match="mark price only"):
        p.build_close(req(trigger=Trigger(D("190"), TriggerEvent.INDEX)), D("200"), None)


def test_close_without_refdata_skips_tick_checks_only() -> None:
    frame = p.build_close(req(limit_price=D("199.999")), None, None)
    assert params_of(frame)["price"] == D("199.999")
    with pytest.raises(p.InvalidClose):
        p.build_close(req(quantity=D("5")), None, None)


def test_capabilities() -> None:
    caps = p.CAPABILITIES
    assert caps.full_close and caps.partial_close and caps.limit_close and caps.trigger_close
    assert caps.trigger_events == frozenset({TriggerEvent.MARK})
    assert not caps.close_on_trigger and not caps.limit_with_trigger
    assert caps.time_in_force == (TimeInForce.GTC, TimeInForce.IOC)
    assert caps.why_not("trigger_event") == "QFEX triggers on the mark price only"
    assert caps.why_not("close_on_trigger") == "QFEX has no close-on-trigger option"


def test_default_endpoints() -> None:
    from core.model import Environment

    assert p.DEFAULT_ENDPOINTS[Environment.LIVE]["trade_ws"].startswith("wss://trade.qfex.com")
    assert p.DEFAULT_ENDPOINTS[Environment.TESTNET]["rest"] == "https://api.qfex.io"
    assert p.DEFAULT_ENDPOINTS[Environment.DEMO] == {}
    for env in (Environment.LIVE, Environment.TESTNET):
        assert set(p.DEFAULT_ENDPOINTS[env]) == {"trade_ws", "mds_ws", "rest"}


# ----------------------------------------------------------------------------- order responses

SEED_ACK = """{
  "order_response": {
    "order_id": "5b309929-206f-40ec-804d-cbe46e81afc1", "symbol": "AAPL-USD", "status": "ACK",
    "quantity": 2.0, "price": 199.8, "take_profit": 0.0, "stop_loss": 0.0, "side": "SELL",
    "type": "LIMIT", "time_in_force": "IOC", "user_id": "0020ce8e-eaee-480e-8d7f-b9241d756ee5",
    "client_order_id": "", "quantity_remaining": 2.0
  }
}"""

SEED_FILLED = """{
  "order_response": {
    "order_id": "5b309929-206f-40ec-804d-cbe46e81afc1", "symbol": "AAPL-USD", "status": "FILLED",
    "quantity": 2.0, "price": 199.75, "take_profit": 0.0, "stop_loss": 0.0, "side": "SELL",
    "type": "LIMIT", "time_in_force": "IOC", "user_id": "0020ce8e-eaee-480e-8d7f-b9241d756ee5",
    "client_order_id": "", "quantity_remaining": 0.0
  }
}"""


def order_frame(**fields: Any) -> str:
    base: dict[str, Any] = {
        "order_id": "oid-1",
        "symbol": "AAPL-USD",
        "status": "ACK",
        "quantity": 2.0,
        "price": 199.8,
        "take_profit": 0.0,
        "stop_loss": 0.0,
        "side": "SELL",
        "type": "LIMIT",
        "time_in_force": "IOC",
        "user_id": "u",
        "client_order_id": "co-1",
        "quantity_remaining": 2.0,
        "update_time": 1758208770.55,
        "trade_id": None,
    }
    base.update(fields)
    return json.dumps({"order_response": base})


def test_seed_ack() -> None:
    update = only(p.parse(SEED_ACK, ACCOUNT))
    assert isinstance(update, OrderUpdate)
    assert update.status is OrderStatus.ACK and not update.final
    assert update.raw_status == "ACK"
    assert update.venue is QFEX and update.account == ACCOUNT
    assert update.symbol == "AAPL-USD" and update.order_id == "5b309929-206f-40ec-804d-cbe46e81afc1"
    assert update.client_order_id is None  # "" on the wire means none
    assert update.side is OrderSide.SELL and update.order_type == "LIMIT"
    assert update.time_in_force == "IOC"
    assert update.quantity == D("2.0") and update.remaining == D("2.0") and update.filled == 0
    assert update.price == D("199.8") and isinstance(update.price, Decimal)
    assert update.trigger_price is None and update.message


def test_seed_filled() -> None:
    update = only(p.parse(SEED_FILLED, ACCOUNT))
    assert update.status is OrderStatus.FILLED and update.final
    assert update.filled == D("2.0") and update.remaining == 0
    assert update.price == D("199.75")


def test_update_time_and_client_id() -> None:
    update = only(p.parse(order_frame(), ACCOUNT))
    assert update.venue_time == pytest.approx(1758208770.55)
    assert update.client_order_id == "co-1"


@pytest.mark.parametrize(("tif", "final"), [("IOC", True), ("FOK", True), ("GTC", False)])
def test_filled_with_remainder_is_partial(tif: str, final: bool) -> None:
    update = only(
        p.parse(order_frame(status="FILLED", quantity_remaining=0.5, time_in_force=tif), ACCOUNT)
    )
    assert update.status is OrderStatus.PARTIAL
    assert update.final is final
    assert update.filled == D("1.5") and update.remaining == D("0.5")
    assert "1.5" in update.message


def test_market_partial_is_final() -> None:
    frame = order_frame(status="FILLED", quantity_remaining=1, type="MARKET", time_in_force=None)
    update = only(p.parse(frame, ACCOUNT))
    assert update.status is OrderStatus.PARTIAL and update.final


@pytest.mark.parametrize("status", ["CANCELLED", "CANCELLED_STP"])
def test_cancelled(status: str) -> None:
    update = only(p.parse(order_frame(status=status, quantity_remaining=0.5), ACCOUNT))
    assert update.status is OrderStatus.CANCELLED and update.final
    assert update.raw_status == status
    assert update.filled == D("1.5") and "1.5" in update.message


def test_ioc_that_filled_nothing_is_cancelled() -> None:
    update = only(p.parse(order_frame(status="CANCELLED", quantity_remaining=2.0), ACCOUNT))
    assert update.status is OrderStatus.CANCELLED and update.final
    assert update.filled == 0 and update.message == p.STATUS_TEXT["CANCELLED"]


def test_modified_is_working() -> None:
    update = only(p.parse(order_frame(status="MODIFIED"), ACCOUNT))
    assert update.status is OrderStatus.ACK and not update.final


@pytest.mark.parametrize("stop", ["STOP_LOSS", "TAKE_PROFIT"])
def test_stop_order_ack_is_trigger_ack(stop: str) -> None:
    update = only(p.parse(order_frame(type=stop, price=190, time_in_force="GTC"), ACCOUNT))
    assert update.status is OrderStatus.TRIGGER_ACK and not update.final
    assert update.trigger_price == D(190) and update.order_type == stop


REJECTIONS = [
    "REJECTED",
    "NO_SUCH_ORDER",
    "INVALID_ORDER_TYPE",
    "BAD_SYMBOL",
    "PRICE_LESS_THAN_MIN_PRICE",
    "PRICE_GREATER_THAN_MAX_PRICE",
    "CANNOT_MODIFY_PARTIAL_FILL",
    "FAILED_MARGIN_CHECK",
    "INVALID_TICK_SIZE_PRECISION_PRICE",
    "INVALID_TICK_SIZE_PRECISION_QUANTITY",
    "QUANTITY_LESS_THAN_MIN_QUANTITY",
    "QUANTITY_GREATER_THAN_MAX_QUANTITY",
    "INVALID_TIME_IN_FORCE",
    "REJECTED_WOULD_BREACH_MAX_NOTIONAL",
    "CANNOT_MODIFY_NO_SUCH_ORDER",
    "REJECTED_MARKET_CLOSED",
    "REJECTED_FAILED_TO_PROCESS",
    "INVALID_TAKEPROFIT_PRICE",
    "INVALID_STOPLOSS_PRICE",
    "RATE_LIMITED",
    "REJECTED_TOO_MANY_OPEN_ORDERS",
    "REJECTED_OPEN_INTEREST_LIMIT",
]


@pytest.mark.parametrize("status", REJECTIONS)
def test_every_rejection_status(status: str) -> None:
    update = only(p.parse(order_frame(status=status), ACCOUNT))
    assert update.status is OrderStatus.REJECTED and update.final
    assert update.raw_status == status
    assert update.message == p.STATUS_TEXT[status] and update.message


def test_status_table_covers_exactly_the_documented_enum() -> None:
    documented = {"ACK", "FILLED", "MODIFIED", "CANCELLED", "CANCELLED_STP", *REJECTIONS}
    assert set(p.STATUS_TEXT) == documented
    assert all(text.strip() for text in p.STATUS_TEXT.values())


def test_tick_size_text_is_plain() -> None:
    assert p.STATUS_TEXT["INVALID_TICK_SIZE_PRECISION_PRICE"] == (
        "Price is not a multiple of the tick size"
    )


def test_unrecognised_status_is_unknown_not_a_guess() -> None:
    update = only(p.parse(order_frame(status="SOMETHING_NEW"), ACCOUNT))
    assert update.status is OrderStatus.UNKNOWN and not update.final
    assert "SOMETHING_NEW" in update.message


def test_rejection_with_only_status_and_symbol() -> None:
    frame = '{"order_response":{"symbol":"X-USD","status":"BAD_SYMBOL"}}'
    update = only(p.parse(frame, ACCOUNT))
    assert update.status is OrderStatus.REJECTED and update.quantity is None
    assert update.filled is None


# ----------------------------------------------------------------------------- other frames


def test_fill_response() -> None:
    frame = json.dumps(
        {
            "fill_response": {
                "trade_id": "t-1",
                "user_id": "u",
                "symbol": "AAPL-USD",
                "price": 199.75,
                "quantity": 2,
                "side": "SELL",
                "aggressor_side": "SELL",
                "order_id": "oid-1",
                "fee": 0.0123,
                "order_type": "LIMIT",
                "tif": "IOC",
                "order_price": 199.8,
                "client_order_id": "co-1",
                "remaining_quantity": 0,
                "take_profit": 0,
                "stop_loss": 0,
                "execution_type": "TRADE",
                "timestamp": "2025-05-09T03:47:20.5+00:00",
                "realised_pnl": 1.5,
            }
        }
    )
    fill = only(p.parse(frame, ACCOUNT))
    assert isinstance(fill, Fill)
    assert (fill.symbol, fill.order_id, fill.client_order_id, fill.trade_id) == (
        "AAPL-USD",
        "oid-1",
        "co-1",
        "t-1",
    )
    assert fill.price == D("199.75") and fill.quantity == D(2) and fill.fee == D("0.0123")
    assert fill.side is OrderSide.SELL and fill.account == ACCOUNT
    assert fill.venue_time == pytest.approx(1746762440.5)


POSITION = {
    "id": "p-1",
    "symbol": "AAPL-USD",
    "position": -3.5,
    "margin_alloc": 0.0,
    "realised_pnl": 0.0,
    "unrealised_pnl": -12.25,
    "net_funding": 0.0,
    "open_orders": 0.0,
    "open_quantity": 0.0,
    "leverage": 20.0,
    "initial_margin": 0.05,
    "maintenance_margin": 0.0333,
    "average_price": 201.5,
}


def check_short(position: Position) -> None:
    assert position.key == key()
    assert position.side is PositionSide.SHORT and position.quantity == D("3.5")
    assert position.entry_price == D("201.5") and position.unrealised_pnl == D("-12.25")
    assert position.leverage == D("20.0")


def test_position_response_shape() -> None:
    check_short(only(p.parse(json.dumps({"position_response": POSITION}), ACCOUNT)))


def test_position_long_sign() -> None:
    frame = json.dumps({"position_response": {**POSITION, "position": 1}})
    position = only(p.parse(frame, ACCOUNT))
    assert position.side is PositionSide.LONG and position.quantity == 1


@pytest.mark.parametrize("kind", ["subscribed", "position_update"])
def test_v4_positions_envelope(kind: str) -> None:
    flat = {**POSITION, "symbol": "TSLA-USD", "position": 0.0, "average_price": 0}
    frame = json.dumps(
        {
            "type": kind,
            "connection_id": "c",
            "message_id": 1,
            "id": "i",
            "channel": "v4_positions",
            "contents": [
                {**POSITION, "user_id": "u", "timestamp": "2025-05-09T03:47:20.505934+00:00"},
                flat,
            ],
        }
    )
    short, removed = p.parse(frame, ACCOUNT)
    assert isinstance(short, Position)
    check_short(short)
    assert removed == PositionRemoved(key("TSLA-USD"))


def test_flat_position_is_removed() -> None:
    frame = json.dumps({"position_response": {**POSITION, "position": 0.0}})
    assert p.parse(frame, ACCOUNT) == [PositionRemoved(key())]


@pytest.mark.parametrize(
    "frame",
    [
        '{"balance_response":{"deposit":1}}',
        '{"type":"balance_update","channel":"v4_balances","contents":[{"deposit":1}]}',
        '{"type":"subscribed","channel":"v4_balances","contents":[]}',
    ],
)
def test_balances_are_recognised_and_ignored(frame: str) -> None:
    assert p.parse(frame, ACCOUNT) == [p.BalanceUpdate()]


def test_control_frames() -> None:
    assert p.parse('{"authenticated": true}', ACCOUNT) == [p.Authenticated(True)]
    assert p.parse('{"authenticated": false}', ACCOUNT) == [p.Authenticated(False)]
    assert p.parse('{"subscribed":"positions"}', ACCOUNT) == [p.Subscribed("positions")]
    assert p.parse('{"unsubscribed":"fills"}', ACCOUNT) == [p.Unsubscribed("fills")]
    ack = '{"ack":{"incoming_message":{"type":"cancel_stop_order","params":{}}}}'
    assert p.parse(ack, ACCOUNT) == [p.Ack("cancel_stop_order")]


def test_err_frame_correlates_by_client_order_id() -> None:
    frame = json.dumps(
        {
            "err": {
                "error_code": "InvalidOrder",
                "message": "reduce only would increase position",
                "incoming_message": json.loads(p.build_close_position("AAPL-USD", "co-9")),
            }
        }
    )
    err = only(p.parse(frame, ACCOUNT))
    assert err == p.ErrorFrame(
        "InvalidOrder",
        "The venue refused the order: reduce only would increase position",
        "co-9",
        "close_position",
        "AAPL-USD",
    )


def test_err_frame_without_request() -> None:
    frame = '{"err":{"error_code":"RateLimited","message":null,"incoming_message":null}}'
    err = only(p.parse(frame, ACCOUNT))
    assert err.client_order_id is None and err.incoming_type is None
    assert err.message == p.ERROR_TEXT["RateLimited"]
    other = only(p.parse('{"err":{"error_code":"Brand new"}}', ACCOUNT))
    assert "Brand new" in other.message


def test_err_frame_echoes_the_cancel_targets() -> None:
    cancel = json.loads(p.build_cancel_order("AAPL-USD", "oid-7"))
    err = only(p.parse(json.dumps({"err": {"error_code": "InvalidOrder", "message": "nope",
                                           "incoming_message": cancel}}), ACCOUNT))
    assert (err.incoming_type, err.order_id, err.symbol) == ("cancel_order", "oid-7", "AAPL-USD")
    assert err.client_order_id is None and err.stop_order_id is None and err.retry_after is None
    stop = json.loads(p.build_cancel_stop_order("s-9"))
    err = only(p.parse(json.dumps({"err": {"error_code": "InvalidOrder", "message": None,
                                           "incoming_message": stop}}), ACCOUNT))
    assert (err.incoming_type, err.stop_order_id) == ("cancel_stop_order", "s-9")


@pytest.mark.parametrize(
    ("err", "seconds"),
    [
        ({"message": "Rate limit exceeded, retry after 250ms"}, 0.25),
        ({"message": "Too many requests. Try again in 1.5 seconds"}, 1.5),
        ({"message": "retry_after=2"}, 2.0),
        ({"message": "wait 3s"}, 3.0),
        ({"message": "slow down", "retry_after_ms": 400}, 0.4),
        ({"message": None, "retry_after": "1.25"}, 1.25),
        ({"message": None, "retryAfter": 2}, 2.0),
        ({"message": "Rate limit exceeded"}, None),
        ({"message": None}, None),
        ({"message": "limit is 12000 per 60s"}, None),  # a number, but no wait was named
        ({"retry_after": -1, "message": None}, None),
        ({"retry_after": "soon", "message": None}, None),
    ],
)
def test_rate_limited_retry_after_hint(err: dict[str, Any], seconds: float | None) -> None:
    """UNKNOWN format (VENUES.md 1.11 #2): the plausible spellings are all read."""
    frame = json.dumps({"err": {"error_code": "RateLimited", "incoming_message": None, **err}})
    parsed = only(p.parse(frame, ACCOUNT))
    assert isinstance(parsed, p.ErrorFrame)
    assert parsed.retry_after == (pytest.approx(seconds) if seconds is not None else None)


def test_retry_hint_is_read_only_for_rate_limits() -> None:
    frame = '{"err":{"error_code":"InvalidOrder","message":"retry after 5s"}}'
    assert only(p.parse(frame, ACCOUNT)).retry_after is None


def test_ack_echoes_the_stop_order_id() -> None:
    cancel = json.loads(p.build_cancel_stop_order("s-1"))
    assert only(p.parse(json.dumps({"ack": {"incoming_message": cancel}}), ACCOUNT)) == p.Ack(
        "cancel_stop_order", "s-1"
    )
    assert only(p.parse('{"ack":{"incoming_message":null}}', ACCOUNT)) == p.Ack(None, None)
    assert only(p.parse('{"ack":{}}', ACCOUNT)) == p.Ack(None, None)


def test_default_rate_weights_are_the_documented_ones() -> None:
    assert p.RATE_BUDGET == 12_000 and p.RATE_WINDOW == 60
    documented = {
        "add_order": 1, "cancel_order": 1, "modify_order": 1, "get_order": 2,
        "get_user_orders": 5, "cancel_all_orders": 2, "get_user_trades": 0.5, "subscribe": 0.1,
        "unsubscribe": 0.1, "cancel_stop_order": 1, "modify_stop_order": 1,
        "cancel_on_disconnect": 0.1,
    }
    assert {k: p.DEFAULT_RATE_WEIGHTS[k] for k in documented} == documented
    # UNKNOWN weights, assumed like add_order: the two other frames we send.
    assert p.DEFAULT_RATE_WEIGHTS["close_position"] == 1
    assert p.DEFAULT_RATE_WEIGHTS["auth"] == 1


# ----------------------------------------------------------------------------- working orders


def update_of(**fields: Any) -> OrderUpdate:
    event = only(p.parse(order_frame(**fields), ACCOUNT))
    assert isinstance(event, OrderUpdate)
    return event


def test_acked_gtc_limit_is_a_working_limit() -> None:
    working = p.working_order(
        update_of(time_in_force="GTC", price=205, quantity_remaining=2), reduce_only=True
    )
    assert working == WorkingOrder(
        venue=QFEX,
        account=ACCOUNT,
        symbol="AAPL-USD",
        order_id="oid-1",
        kind=WorkingKind.LIMIT,
        side=OrderSide.SELL,
        quantity=D(2),
        remaining=D(2),
        price=D(205),
        order_type="LIMIT",
        reduce_only=True,
        client_order_id="co-1",
        raw_status="ACK",
        venue_time=pytest.approx(1758208770.55),
        received_at=working.received_at if working else 0,
    )


def test_a_partly_filled_gtc_limit_keeps_working_with_its_remainder() -> None:
    update = update_of(status="FILLED", time_in_force="GTC", quantity_remaining=0.5)
    working = p.working_order(update, reduce_only=False)
    assert working is not None and working.remaining == D("0.5") and not working.reduce_only
    assert p.removal_reason(update) is None


@pytest.mark.parametrize("stop", ["STOP_LOSS", "TAKE_PROFIT"])
def test_acked_stop_is_a_mark_trigger(stop: str) -> None:
    working = p.working_order(
        update_of(type=stop, price=190, time_in_force="GTC"), reduce_only=False
    )
    assert working is not None
    assert working.kind is WorkingKind.TRIGGER and working.order_type == stop
    assert working.trigger_price == D(190) and working.price is None
    assert working.trigger_event is TriggerEvent.MARK
    assert working.reduce_only  # stops can only reduce, by the venue's rules


@pytest.mark.parametrize(
    "fields",
    [
        {"time_in_force": "IOC"},  # gone at once
        {"time_in_force": "FOK"},
        {"type": "MARKET", "time_in_force": "IOC"},
        {"status": "FILLED", "time_in_force": "GTC", "quantity_remaining": 0},
        {"status": "CANCELLED", "time_in_force": "GTC"},
        {"status": "REJECTED", "time_in_force": "GTC"},
        {"order_id": None, "time_in_force": "GTC"},
        {"type": None, "time_in_force": "GTC"},
    ],
)
def test_orders_that_do_not_rest(fields: dict[str, Any]) -> None:
    assert p.working_order(update_of(**fields), reduce_only=True) is None


def test_stop_orders_push_is_a_working_trigger() -> None:
    stop = p.StopOrder("s-1", "AAPL-USD", "TAKE_PROFIT", OrderSide.BUY, D(180), D(1), "co-1", 5.0)
    working = p.working_stop(stop, ACCOUNT)
    assert (working.order_id, working.kind, working.side) == ("s-1", WorkingKind.TRIGGER,
                                                             OrderSide.BUY)
    assert (working.trigger_price, working.trigger_event) == (D(180), TriggerEvent.MARK)
    assert working.quantity == working.remaining == D(1) and working.price is None
    assert working.client_order_id == "co-1" and working.venue_time == 5.0


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"status": "FILLED", "quantity_remaining": 0, "time_in_force": "GTC"}, "filled"),
        ({"status": "FILLED", "quantity_remaining": 1, "time_in_force": "IOC"},
         "partly filled; rest cancelled"),
        ({"status": "FILLED", "quantity_remaining": 1, "time_in_force": "GTC"}, None),
        ({"status": "CANCELLED"}, "cancelled"),
        ({"status": "CANCELLED_STP"}, "cancelled"),
        ({"status": "REJECTED"}, "rejected"),
        ({"status": "NO_SUCH_ORDER"}, "no longer at the venue"),
        ({"status": "CANNOT_MODIFY_NO_SUCH_ORDER"}, "no longer at the venue"),
        # refusals of a modify or cancel leave the order working
        ({"status": "CANNOT_MODIFY_PARTIAL_FILL"}, None),
        ({"status": "RATE_LIMITED"}, None),
        ({"status": "INVALID_TICK_SIZE_PRECISION_PRICE"}, None),
        ({"status": "ACK"}, None),
        ({"status": "MODIFIED"}, None),
    ],
)
def test_removal_reason(fields: dict[str, Any], reason: str | None) -> None:
    assert p.removal_reason(update_of(**fields)) == reason


def test_stop_order_response() -> None:
    frame = json.dumps(
        {
            "stop_order_response": {
                "stop_order_id": "s-1",
                "user_id": "u",
                "symbol": "AAPL-USD",
                "price": 190,
                "quantity": 2,
                "direction": "SELL",
                "stop_order_type": "STOP_LOSS",
                "client_order_id": "co-1",
                "update_time": 1758208770,
            }
        }
    )
    assert only(p.parse(frame, ACCOUNT)) == p.StopOrder(
        "s-1", "AAPL-USD", "STOP_LOSS", OrderSide.SELL, D(190), D(2), "co-1", 1758208770.0
    )


def test_all_orders_response() -> None:
    order = json.loads(order_frame(status="ACK", time_in_force="GTC"))["order_response"]
    frame = json.dumps({"all_orders_response": {"orders": [order], "twaps": []}})
    listing = only(p.parse(frame, ACCOUNT))
    assert isinstance(listing, p.OrdersList)
    assert [o.client_order_id for o in listing.orders] == ["co-1"]
    assert p.parse('{"all_orders_response":{"orders":null}}', ACCOUNT) == [p.OrdersList(())]


# ----------------------------------------------------------------------------- malformed input

MALFORMED = [
    "",
    "not json",
    "{",
    "[]",
    "42",
    '"text"',
    "null",
    "NaN",
    '{"order_response": NaN}',
    "{}",
    '{"mystery":1}',
    '{"order_response": []}',
    '{"order_response": {"symbol":"X"}}',
    '{"order_response": {"status":"ACK"}}',
    '{"order_response": {"status":1,"symbol":"X"}}',
    '{"order_response": {"status":"ACK","symbol":"X","quantity":"lots"}}',
    '{"order_response": {"status":"ACK","symbol":"X","quantity":true}}',
    '{"order_response": {"status":"FILLED","symbol":"X","quantity":1e999999999,'
    '"quantity_remaining":1}}',
    '{"order_response": {"status":"ACK","symbol":"X","order_id":{}}}',
    '{"position_response": {"symbol":"X"}}',
    '{"position_response": {"symbol":"X","position":"1_000"}}',
    '{"position_response": {"symbol":"X","position":1e999999999}}',
    '{"fill_response": {"symbol":"X","price":1}}',
    '{"authenticated": "yes"}',
    '{"subscribed": 5}',
    '{"err": "bad"}',
    '{"err": {"message":"no code"}}',
    '{"err": {"error_code":"X","incoming_message":5}}',
    '{"channel":"v4_positions","contents":5}',
    '{"channel":"v4_positions","contents":[1]}',
    '{"channel":"v4_other","contents":[]}',
    '{"all_orders_response": {"orders":[{"status":"ACK"}]}}',
    "[" * 100_000,
    b"\xff\xfe\x00garbage",
]


@pytest.mark.parametrize("frame", MALFORMED)
def test_malformed_frames_become_protocol_errors(frame: str | bytes) -> None:
    event = only(p.parse(frame, ACCOUNT))
    assert isinstance(event, ProtocolError)
    assert event.venue is QFEX and event.account == ACCOUNT and event.message
    assert len(event.raw) <= p.RAW_LIMIT


def test_protocol_error_raw_is_truncated_and_scrubbed() -> None:
    frame = '{"mystery":"' + "x" * 5000 + '"}'
    assert len(only(p.parse(frame, ACCOUNT)).raw) == p.RAW_LIMIT
    echoed = json.dumps(
        {"zzz": {"incoming_message": json.loads(p.build_auth(PUB, SECRET, NONCE, TS))}}
    )
    raw = only(p.parse(echoed, ACCOUNT)).raw
    assert PUB not in raw and NONCE not in raw and p.sign(SECRET, NONCE, TS) not in raw


# ----------------------------------------------------------------------------- REST


def test_refdata() -> None:
    body = json.dumps(
        {
            "type": "refdata",
            "data": [
                {
                    "symbol": "AAPL-USD",
                    "status": "ACTIVE",
                    "tick_size": "0.01",
                    "lot_size": "0.1",
                    "min_price": "1",
                    "max_price": "10000",
                    "min_quantity": "0.1",
                    "max_quantity": "1000",
                    "order_types": ["LIMIT", "MARKET"],
                    "default_max_leverage": "20",
                    "quote_asset": "usd",
                }
            ],
        }
    ).encode()
    assert p.parse_refdata(body) == {"AAPL-USD": replace(AAPL, quote_currency="USD")}
    assert isinstance(p.parse_refdata(body)["AAPL-USD"].tick_size, Decimal)


@pytest.mark.parametrize(
    "body",
    [
        b"nope",
        b"[]",
        b'{"data":5}',
        b'{"data":[{"tick_size":"1"}]}',
        b'{"data":[{"symbol":"X","tick_size":"tiny"}]}',
    ],
)
def test_refdata_malformed(body: bytes) -> None:
    with pytest.raises(p.QfexProtocolError):
        p.parse_refdata(body)


def test_rest_positions() -> None:
    body = json.dumps(
        {
            "positions": [
                {k: v for k, v in POSITION.items() if k not in ("id", "margin_alloc")},
                {**POSITION, "symbol": "TSLA-USD", "position": 0},
            ],
            "balance": {"deposit": 0, "available_balance": 0},
        }
    )
    (position,) = p.parse_positions_rest(body, ACCOUNT)
    check_short(position)


def test_rest_positions_null_and_missing() -> None:
    assert p.parse_positions_rest(b'{"positions":null,"balance":{}}', ACCOUNT) == ()
    assert p.parse_positions_rest(b"{}", ACCOUNT) == ()


@pytest.mark.parametrize(
    "body", [b"", b"<html>", b'{"positions":{"a":1}}', b'{"positions":[{"symbol":"X"}]}', b"5"]
)
def test_rest_positions_malformed(body: bytes) -> None:
    with pytest.raises(p.QfexProtocolError):
        p.parse_positions_rest(body, ACCOUNT)


def test_problem_json() -> None:
    body = json.dumps(
        {
            "title": "Unauthorized",
            "status": 401,
            "detail": "invalid signature",
            "errors": [{"location": "header.x-qfex-hmac-signature", "message": "mismatch"}],
            "type": "about:blank",
            "instance": "/user/positions",
        }
    )
    assert p.parse_problem(body) == (
        "Unauthorized: invalid signature: header.x-qfex-hmac-signature: mismatch (HTTP 401)"
    )
    assert p.parse_problem(b"Bad Gateway") == "Bad Gateway"
    assert p.parse_problem(b"") == "empty response"
    assert p.parse_problem(b"{}") == "request failed"


# ----------------------------------------------------------------------------- market data


def test_market_stats() -> None:
    frame = json.dumps(
        {
            "type": "market_stats",
            "sequence": 5,
            "time": "2025-05-08T20:52:48.000Z",
            "symbol": "*",
            "bbos": [],
            "mark_prices": [
                {"time": "2025-05-08T20:52:48.000Z", "symbol": "AAPL-USD", "price": "437.45"},
                {"time": "2025-05-08T20:52:48.000Z", "symbol": "TSLA-USD", "price": "250"},
            ],
            "open_interests": [],
            "daily_volumes": [],
        }
    )
    events = p.parse_mds(frame, ACCOUNT)
    marks = [m for m in events if isinstance(m, MarkUpdate) and m.venue is QFEX]
    assert len(marks) == len(events)
    assert [(m.symbol, m.mark) for m in marks] == [("AAPL-USD", D("437.45")), ("TSLA-USD", D(250))]


def test_mark_price() -> None:
    frame = (
        '{"type":"mark_price","symbol":"AAPL-USD","price":"437.45",'
        '"time":"2025-05-08T20:52:48.000Z"}'
    )
    mark = only(p.parse_mds(frame))
    assert mark.symbol == "AAPL-USD" and mark.mark == D("437.45")


def test_mds_error_message() -> None:
    error = only(p.parse_mds('{"type":"error","message":"unsupported channel \'x\'"}', ACCOUNT))
    assert isinstance(error, ProtocolError)
    assert error.message == "QFEX market data error: unsupported channel 'x'"


def test_mds_other_channels_ignored() -> None:
    assert p.parse_mds('{"type":"bbo","symbol":"X"}') == []


@pytest.mark.parametrize(
    "frame",
    [
        "",
        "[]",
        '{"type":"weird"}',
        '{"no":"type"}',
        '{"type":"mark_price","symbol":"X","price":"NaN"}',
        '{"type":"mark_price","symbol":"X","price":"1e5x"}',
        '{"type":"market_stats","mark_prices":[{"symbol":"X"}]}',
        '{"type":"market_stats","mark_prices":"all"}',
        '{"err":{"error_code":"InvalidParameter","message":"bad symbol"}}',
    ],
)
def test_mds_malformed(frame: str) -> None:
    event = only(p.parse_mds(frame, ACCOUNT))
    assert isinstance(event, ProtocolError) and event.account == ACCOUNT and event.message


# ----------------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
KEYS = [
    "order_response",
    "fill_response",
    "position_response",
    "err",
    "authenticated",
    "subscribed",
    "unsubscribed",
    "stop_order_response",
    "all_orders_response",
    "ack",
    "balance_response",
    "contents",
    "channel",
    "type",
    "positions",
    "data",
    "mark_prices",
]
shaped = st.dictionaries(st.sampled_from(KEYS), json_values, min_size=1, max_size=3)
documents = st.one_of(json_values, shaped).map(json.dumps) | st.text(max_size=50)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_stream_parsers_never_raise(text: str) -> None:
    for event in p.parse(text, ACCOUNT):
        assert not isinstance(event, Exception)
    for mds_event in p.parse_mds(text, ACCOUNT):
        assert isinstance(mds_event, MarkUpdate | ProtocolError)
    assert isinstance(p.parse_problem(text), str)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_rest_parsers_raise_only_the_typed_error(text: str) -> None:
    for parser in (p.parse_refdata, lambda body: p.parse_positions_rest(body, ACCOUNT)):
        with contextlib.suppress(p.QfexProtocolError):
            parser(text)


order_fields = st.fixed_dictionaries(
    {"status": st.sampled_from([*p.STATUS_TEXT, "X"]), "symbol": st.text(max_size=5)},
    optional={
        "quantity": json_values,
        "quantity_remaining": json_values,
        "price": json_values,
        "type": json_values,
        "time_in_force": json_values,
        "side": json_values,
        "client_order_id": json_values,
        "order_id": json_values,
        "update_time": json_values,
    },
)


@settings(max_examples=300, deadline=None)
@given(order_fields)
def test_order_responses_are_an_update_or_a_protocol_error(fields: dict[str, Any]) -> None:
    event = only(p.parse(json.dumps({"order_response": fields}), ACCOUNT))
    assert isinstance(event, OrderUpdate | ProtocolError)
    if isinstance(event, OrderUpdate):
        assert event.message and event.raw_status == fields["status"]
        # The working-order view of any readable update never raises either.
        p.removal_reason(event)
        working = p.working_order(event, reduce_only=True)
        assert working is None or working.order_id == event.order_id
