"""Payload encoding: orjson for the common case, the old path for what orjson refuses, and the
same text either way (what is stored is what is hashed, so it must not drift)."""

from __future__ import annotations

import datetime
import enum
import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.desk.desk import _update_payload
from core.journal import Journal, to_jsonable
from core.journal.codec import encode_payload
from core.model import OrderSide, OrderStatus, OrderUpdate, TimeInForce
from core.venues.qfex import QFEX


def old_path(payload: Any) -> str:
    """How every payload was encoded before orjson."""
    return json.dumps(to_jsonable(payload), separators=(",", ":"), ensure_ascii=False)


class Colour(enum.Enum):
    RED = "red"


decimals = st.decimals(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [Decimal("1.10"), Decimal("-0"), Decimal("1E+3"), Decimal("0.000000001"), Decimal("NaN")])
leaves = (st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text() | decimals
          | st.sampled_from([OrderStatus.ACK, OrderSide.SELL, TimeInForce.GTC, Colour.RED, QFEX]))
payload_strategy = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(st.text(max_size=8), payload_strategy, max_size=6))
def test_orjson_writes_exactly_what_the_old_path_wrote(payload: dict[str, Any]) -> None:
    assert encode_payload(payload) == old_path(payload)


@settings(max_examples=200, deadline=None)
@given(amount=decimals)
def test_decimals_round_trip_exactly(amount: Decimal) -> None:
    text = encode_payload({"amount": amount, "nested": [{"px": amount}]})
    loaded = json.loads(text)
    assert loaded["amount"] == str(amount)  # a string: never a float, no precision lost
    back = Decimal(loaded["nested"][0]["px"])
    assert str(back) == str(amount)
    assert back == amount or amount.is_nan()


def test_a_desk_order_update_encodes_as_before() -> None:
    update = OrderUpdate(QFEX, "acct", "AAPL-USD", OrderStatus.PARTIAL, "PARTIALLY_FILLED",
                         False, order_id="o-1", client_order_id="c-1", side=OrderSide.SELL,
                         order_type="LIMIT", time_in_force="GTC", quantity=Decimal("10"),
                         remaining=Decimal("2.50"), filled=Decimal("7.50"),
                         price=Decimal("220.15"), message="partly", venue_time=1780000000.123)
    payload = _update_payload(update)
    text = encode_payload(payload)
    assert text == old_path(payload)
    assert '"remaining":"2.50"' in text and '"status":"PARTIAL"' in text


@pytest.mark.parametrize(
    "payload",
    [
        {1: "int key", None: "none key", False: "bool key"},  # keys that are not strings
        {OrderStatus.ACK: "an enum key"},
        {"big": 2**70, "small": -(2**70)},  # beyond 64 bits
        {"deep": json.loads("[" * 300 + "]" * 300)},  # deeper than orjson nests
        MappingProxyType({"px": Decimal("1.5")}),  # a Mapping that is not a dict
        {"set": frozenset({Decimal("2")}), "tuple": (1, "a")},
        "plain text, kept as it is",
    ],
)
def test_what_orjson_refuses_is_encoded_by_the_old_path(payload: Any) -> None:
    expected = payload if isinstance(payload, str) else old_path(payload)
    assert encode_payload(payload) == expected


@dataclass
class Opaque:
    x: int


@pytest.mark.parametrize(
    "payload",
    [{"x": object()}, {"when": datetime.datetime(2026, 1, 1)}, {"thing": Opaque(1)}],
)
def test_what_could_not_be_journaled_before_still_cannot(payload: Any) -> None:
    with pytest.raises(TypeError):
        old_path(payload)
    with pytest.raises(TypeError):
        encode_payload(payload)


def test_the_fallback_path_is_written_and_chained_like_any_record(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.sqlite3")
    j.append("odd", {1: Decimal("0.10"), "big": 2**70})
    j.append("usual", {"px": Decimal("0.10")})
    j.flush()
    first, second = j.records()
    assert first.payload == '{"1":"0.10","big":1180591620717411303424}'
    assert second.payload == '{"px":"0.10"}'
    assert j.verify() is None
    j.close()
