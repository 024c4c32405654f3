"""The rows the window and the CLI share: working-order and position cells, the totals rows
under a positions export, and the totals document of ``positions --json``."""

from __future__ import annotations

from decimal import Decimal as D

from core.model import (
    Environment,
    Instrument,
    OrderSide,
    Position,
    PositionKey,
    PositionSide,
    TriggerEvent,
    Venue,
    WorkingKind,
    WorkingOrder,
)
from core.numbers import number_format
from core.tables import POSITION_TITLES, position_texts, totals_rows, working_texts
from core.totals import totals, totals_document

Q, E = Venue("qfex"), Venue("everstrike")
USD = number_format(Instrument("X", tick_size=D("0.01"), lot_size=D("0.1"), quote_currency="usd"))


def test_cells_are_written_by_the_instrument() -> None:
    p = Position(PositionKey("a", Q, "X"), PositionSide.SHORT, D("2"), D("10"), D("9.5"),
                 D("1"))
    assert position_texts(p, Environment.LIVE, USD) == (
        Q.label, "a", "LIVE", "X", "Short", "2.0", "10.00", "9.50", "+1.00")
    trigger = WorkingOrder(Q, "a", "X", "o1", WorkingKind.TRIGGER, OrderSide.BUY, None,
                           trigger_price=D("9"), trigger_event=TriggerEvent.LAST)
    assert working_texts(trigger, USD)[3:10] == (
        "Trigger", "Buy", "All", "", "Market", "9.00 Last", "")


def test_totals_rows_one_per_currency_in_the_headers_columns() -> None:
    t = totals([
        (Position(PositionKey("a", Q, "X"), PositionSide.LONG, D("2"), None, D("10"),
                  D("1.005")), "USD"),
        (Position(PositionKey("b", E, "Y"), PositionSide.LONG, D("1"), None, D("3"),
                  D("-1")), "BTC"),
        (Position(PositionKey("b", E, "Z"), PositionSide.LONG, D("1")), "BTC"),
    ])
    rows = totals_rows(POSITION_TITLES, t)
    assert rows[:2] == [
        ["All venues", "Total", "", "3 positions · P&L of 2 of 3 · notional of 2 of 3", "", "",
         "notional BTC", "3.00000000", "-1.00000000"],
        ["All venues", "Total", "", "3 positions · P&L of 2 of 3 · notional of 2 of 3", "", "",
         "notional USD", "20.00", "+1.00"],  # half-even: 1.005 -> 1.00
    ]
    assert [r[:2] for r in rows[2:]] == [
        [E.label, "Total"], [Q.label, "Total"], [Q.label, "a total"], [E.label, "b total"]]
    # Columns by title: a hidden or moved column moves its cell with it.
    assert totals_rows(("Unrealised P&L", "Venue"), t)[1] == ["+1.00", "All venues"]


def test_the_totals_document_is_exact_and_says_what_is_missing() -> None:
    t = totals([
        (Position(PositionKey("a", Q, "X"), PositionSide.LONG, D("2"), None, D("10.125"),
                  D("1.005")), None),
        (Position(PositionKey("a", Q, "Y"), PositionSide.LONG, D("1")), "USD"),
    ])
    doc = totals_document(t)
    assert doc["all"] == {"positions": 2, "notional": {"?": D("20.250")},
                          "unrealised_pnl": {"?": D("1.005")}, "without_mark": 1,
                          "without_pnl": 1}
    assert list(doc["venues"]) == ["qfex"]
    assert doc["accounts"] == [{"venue": "qfex", "account": "a", **doc["all"]}]
