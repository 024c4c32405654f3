"""The log's lines as the model holds them: plain tuples the garbage collector stops watching,
written out only when painted, and reading exactly as the entries they replace."""

from __future__ import annotations

import gc
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.model import (
    ConnectionEvent,
    ConnectionState,
    Fill,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    PositionKey,
    ProtocolError,
)
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.models import LogColumn, LogEntry, LogModel

D = Decimal

UPDATES = [
    OrderUpdate(QFEX, "acct", "AAPL-USD", status, raw, final, order_id=oid, client_order_id=cid,
                side=OrderSide.SELL, quantity=qty, remaining=rem, price=price,
                trigger_price=trigger, message=message, received_at=1_700_000_000.123)
    for status, raw, final in ((s, s.value, False) for s in OrderStatus)
    for oid, cid in (("o-1", "c-1"), (None, "c-2"), ("o-3", None), (None, None))
    for qty, rem, price, trigger, message in (
        (D("25"), D("12.5"), D("101.25"), None, ""),
        (D("1E+2"), D("0"), D("0"), D("4400"), "Trigger sell"),  # a market trigger
        (None, None, None, None, "no numbers at all"),
        (D("-0"), D("1E-7"), D("1E+2"), None, "exponents are written out"),
    )
]


@pytest.mark.parametrize("update", UPDATES, ids=lambda u: f"{u.status}-{u.order_id}")
def test_an_order_line_reads_exactly_as_its_entry(qapp: QApplication,
                                                  update: OrderUpdate) -> None:
    model = LogModel()
    model.append_event(update)
    model.flush()
    entry = LogEntry.from_update(update)
    assert model.entries == [entry]
    for col in LogColumn:
        index = model.index(0, col)
        assert model.data(index) == entry.text(col)
    assert model.data(model.index(0, LogColumn.MESSAGE), Qt.ItemDataRole.ToolTipRole) == \
        (entry.tooltip() or None)
    assert model.key_at(0) == PositionKey("acct", QFEX, "AAPL-USD")


def test_no_line_is_watched_by_the_garbage_collector(qapp: QApplication) -> None:
    """A full collection walks every object it watches: 200,000 watched lines made each one
    a visible freeze. Every kind of line is a tuple of plain values it stops watching."""
    model = LogModel()
    for update in UPDATES:
        model.append_event(update)
    model.append_event(Fill(EVERSTRIKE, "acct", "USD_ETH_PERP", "o-9", None, OrderSide.BUY,
                            D("4400.5"), D("2"), D("0.01")))
    model.append_event(ConnectionEvent(QFEX, "acct", ConnectionState.CONNECTED, "hello"))
    model.append_event(ProtocolError(QFEX, "acct", "bad frame", raw="{", code="E1"))
    model.append(LogEntry(at=1.0, kind="Close", venue="QFEX", account="acct", symbol="A",
                          status="VERIFIED FLAT", key=PositionKey("acct", QFEX, "A")))
    model.flush()
    lines = model._lines  # the held lines themselves: what the collector would walk
    assert len(lines) == len(UPDATES) + 4
    gc.collect()
    assert [line for line in lines if gc.is_tracked(line)] == []


def test_a_line_whose_row_differs_from_its_own_columns_still_points_at_its_row(
        qapp: QApplication) -> None:
    model = LogModel()
    odd = PositionKey("other", EVERSTRIKE, "B")
    model.append(LogEntry(at=1.0, kind="Close", account="acct", symbol="A", key=odd))
    model.append(LogEntry(at=2.0, kind="Connection", account="acct"))
    model.flush()
    assert model.key_at(0) == odd
    assert model.key_at(1) is None
    assert [e.key for e in model.entries] == [odd, None]


def test_equal_number_texts_are_shared_and_equal_numbers_read_alike(
        qapp: QApplication) -> None:
    """Lines share one str per distinct text (memory). 1.0 and 1.00 are the same quantity and
    read the same (core.numbers: the instrument sets the decimals, not the venue's digits)."""
    model = LogModel()
    sent = [D("1.0"), D("1.00"), D("1.5"), D("1E+1")]
    for i, qty in enumerate(sent):
        model.append_event(OrderUpdate(QFEX, "acct", "A", OrderStatus.ACK, "ACK", False,
                                       order_id=f"o-{i}", quantity=qty))
    model.flush()
    shown = [model.data(model.index(row, LogColumn.QUANTITY)) for row in range(len(sent))]
    assert shown == ["1", "1", "1.5", "10"]
    held = [line[LogColumn.QUANTITY] for line in model._lines]
    assert held[0] is held[1]
    assert held[0] is not held[2]


@pytest.mark.parametrize("now", [0.0, 0.05, 0.1, 0.199, 0.2, 12345.678, 987654.3219])
def test_the_log_and_the_table_repaint_on_opposite_halves_of_the_interval(now: float) -> None:
    from gui.models.columns import LOG_PHASE, POSITIONS_PHASE, next_slot_ms

    table = now + next_slot_ms(200, POSITIONS_PHASE, now) / 1000
    log = now + next_slot_ms(200, LOG_PHASE, now) / 1000
    assert 0 <= table - now <= 0.2 and 0 <= log - now <= 0.2
    assert round(table * 1000) % 200 in (0, 200)  # the start of an interval
    assert round(log * 1000) % 200 == 100  # halfway through one
