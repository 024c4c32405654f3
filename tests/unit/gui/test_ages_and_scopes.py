"""The pure parts of the working orders' Age column and of Cancel all: the age's words and
start, which orders a scope covers, the menu's choices and each order's listed fields."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from core.model import Instrument, OrderSide, PositionKey, TriggerEvent, WorkingKind, WorkingOrder
from core.numbers import number_format
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.models.ages import age_text, started_at
from gui.models.scopes import Scope, choice_text, order_fields, scopes_for

D = Decimal


def order(order_id: str, account: str = "a", symbol: str = "AAPL-USD", venue: str = "qfex",
          **kw: object) -> WorkingOrder:
    fields: dict[str, object] = {"remaining": D(2), "price": D("120.5"), "order_type": "LIMIT",
                                 "received_at": 1000.0, **kw}
    return WorkingOrder(QFEX if venue == "qfex" else EVERSTRIKE, account, symbol, order_id,
                        WorkingKind.LIMIT, OrderSide.SELL, D(5), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("seconds", "text"), [
    (-3.0, "0 s"), (0.0, "0 s"), (59.99, "59 s"), (60, "1 m 00 s"), (3599, "59 m 59 s"),
    (3600, "1 h 00 m"), (86_399, "23 h 59 m"), (86_400, "1 d 00 h"), (3 * 86_400 + 7 * 3600 + 5,
                                                                       "3 d 07 h"),
])
def test_age_text(seconds: float, text: str) -> None:
    assert age_text(seconds) == text


def test_started_at_takes_the_earliest_known_time() -> None:
    seen = order("1", received_at=1000.0)
    assert started_at(seen, None) == 1000.0  # no venue time: when we first saw it
    assert started_at(seen, 900.0) == 900.0  # a later update does not move the start
    assert started_at(replace(seen, venue_time=800.0), None) == 800.0  # the venue's own time
    assert started_at(replace(seen, venue_time=1200.0), 1000.0) == 1000.0  # clock ahead


def test_a_scope_picks_its_orders() -> None:
    orders = [order("1"), order("2", symbol="MSFT-USD"), order("3", account="b"),
              order("4", account="e", venue="everstrike", symbol="USD_ETH_PERP")]
    assert Scope().pick(orders) == orders
    assert [o.order_id for o in Scope(venue=QFEX).pick(orders)] == ["1", "2", "3"]
    assert [o.order_id for o in Scope(venue=QFEX, account="a").pick(orders)] == ["1", "2"]
    key = PositionKey("a", QFEX, "MSFT-USD")
    assert [o.order_id for o in Scope.of_position(key).pick(orders)] == ["2"]
    assert Scope.of_position(PositionKey("a", EVERSTRIKE, "MSFT-USD")).pick(orders) == []


def test_the_choices_count_each_venue_and_account() -> None:
    orders = [order("1", account="beta"), order("2", account="Alpha"), order("3", account="beta"),
              order("4", account="e", venue="everstrike")]
    choices = [(choice_text(s, n), s) for s, n in scopes_for(orders)]
    assert [t for t, _ in choices] == [
        "Every account (4)…", "Every Everstrike account (1)…", "Every QFEX account (3)…",
        "Account Alpha (1)…", "Account beta (2)…", "Account e (1)…"]
    assert choices[4][1] == Scope(venue=QFEX, account="beta")
    assert scopes_for([]) == []
    assert Scope.of_position(PositionKey("a", QFEX, "X")).label == "X on a"


def test_each_order_is_listed_with_its_fields_to_its_instrument() -> None:
    fmt = number_format(Instrument("AAPL-USD", tick_size=D("0.01"), lot_size=D("0.1")))
    assert order_fields(order("1"), fmt) == ("a", "AAPL-USD", "Sell", "2.0", "120.50",
                                             "Limit (LIMIT)")
    trig = replace(order("2"), kind=WorkingKind.TRIGGER, price=None, trigger_price=D(4400),
                   trigger_event=TriggerEvent.MARK, order_type="STOP_LOSS", remaining=None,
                   side=None, quantity=None)
    assert order_fields(trig, fmt) == ("a", "AAPL-USD", "", "All", "trigger 4400.00 Mark",
                                       "Trigger (STOP_LOSS)")
    with_limit = replace(trig, price=D("4390"), order_type="")
    assert order_fields(with_limit, fmt)[4:] == ("trigger 4400.00 Mark, limit 4390.00",
                                                 "Trigger")
