"""Realised P&L on positions: both venues report it (QFEX ``realised_pnl``, Everstrike
``stats.rpnl`` / ``realized``); it is parsed as sent, kept across a local repricing, and None
when a message leaves it out, never made up."""

from __future__ import annotations

import json
from decimal import Decimal

from core.model import Position, PositionKey, PositionSide
from core.venues.everstrike import EVERSTRIKE
from core.venues.everstrike import protocol as es
from core.venues.qfex import QFEX
from core.venues.qfex import protocol as qf

D = Decimal
QFEX_POSITION = {"symbol": "AAPL-USD", "position": 2, "average_price": 200,
                 "realised_pnl": 12.5, "unrealised_pnl": -1.25, "leverage": 20}
# As the venue's JSON parses (numbers as Decimal).
EVERSTRIKE_POSITION = {"size": D(1), "realized": D("3.75"), "stats": {
    "size": D(1), "mark": D("2.1"), "avg_entry": D("3.4"), "leverage": D("2.82"),
    "lp": D("3.7"), "rpnl": D("3.75"), "upnl": D("-1.3"), "direction": "BUY"}}


def test_qfex_position_push_and_rest_carry_realised() -> None:
    pushed = qf.parse(json.dumps({"position_response": QFEX_POSITION}), "a")
    assert len(pushed) == 1 and isinstance(pushed[0], Position)
    assert pushed[0].realised_pnl == D("12.5")
    (rest,) = qf.parse_positions_rest(json.dumps({"positions": [QFEX_POSITION]}), "a")
    assert rest.realised_pnl == D("12.5") and rest.key == PositionKey("a", QFEX, "AAPL-USD")


def test_qfex_position_without_the_field_has_none() -> None:
    body = {k: v for k, v in QFEX_POSITION.items() if k != "realised_pnl"}
    (rest,) = qf.parse_positions_rest(json.dumps({"positions": [body]}), "a")
    assert rest.realised_pnl is None


def test_everstrike_position_reads_rpnl_then_realized() -> None:
    pos = es.parse_position(EVERSTRIKE_POSITION, "a", "USD_BTC_PERP")
    assert isinstance(pos, Position) and pos.realised_pnl == D("3.75")
    top_only = {"size": D(1), "realized": D("-2.5"), "stats": {"direction": "SELL"}}
    pos = es.parse_position(top_only, "a", "USD_BTC_PERP")
    assert isinstance(pos, Position) and pos.realised_pnl == D("-2.5")
    neither = es.parse_position({"size": D(1), "stats": {"direction": "BUY"}}, "a", "X")
    assert isinstance(neither, Position) and neither.realised_pnl is None
    assert es.parse_active_positions({"USD_BTC_PERP": EVERSTRIKE_POSITION}, "a")[0] \
        .key == PositionKey("a", EVERSTRIKE, "USD_BTC_PERP")


def test_repricing_keeps_realised() -> None:
    pos = Position(PositionKey("a", QFEX, "X"), PositionSide.LONG, D(2), D(100),
                   realised_pnl=D("7.10"))
    assert pos.with_mark(D(101)).realised_pnl == D("7.10")
