"""The positions and log models: identity, minimal dataChanged, Python sorting, coalescing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester

from core.desk import CloseIntent, IntentState
from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    Fill,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionSide,
    ProtocolError,
    Venue,
)
from gui.models import (
    KEY_ROLE,
    SORT_ROLE,
    LogColumn,
    LogModel,
    PositionColumn,
    PositionsModel,
    PositionsProxy,
    fmt_decimal,
    fmt_time,
    intent_label,
)
from tests.gui.conftest import until

D = Decimal


def key(symbol: str, account: str = "acct", venue: Venue = Venue.QFEX) -> PositionKey:
    return PositionKey(account, venue, symbol)


def pos(
    symbol: str,
    qty: str = "1",
    *,
    side: PositionSide = PositionSide.LONG,
    entry: str | None = "100",
    mark: str | None = "101",
    pnl: str | None = "1",
    account: str = "acct",
    venue: Venue = Venue.QFEX,
) -> Position:
    return Position(
        key=key(symbol, account, venue),
        side=side,
        quantity=D(qty),
        entry_price=None if entry is None else D(entry),
        mark_price=None if mark is None else D(mark),
        unrealised_pnl=None if pnl is None else D(pnl),
    )


def cell(model: Any, row: int, col: int, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    return model.data(model.index(row, col), role)


class Changes:
    """Records every dataChanged as (top row, left col, bottom row, right col, roles)."""

    def __init__(self, model: Any) -> None:
        self.events: list[tuple[int, int, int, int, frozenset[int]]] = []
        model.dataChanged.connect(self._on)

    def _on(
        self,
        top: QModelIndex | QPersistentModelIndex,
        bottom: QModelIndex | QPersistentModelIndex,
        roles: list[int],
    ) -> None:
        self.events.append(
            (top.row(), top.column(), bottom.row(), bottom.column(),
             frozenset(int(r) for r in roles))
        )

    def cells(self) -> set[tuple[int, int]]:
        out: set[tuple[int, int]] = set()
        for top, left, bottom, right, _ in self.events:
            out |= {(r, c) for r in range(top, bottom + 1) for c in range(left, right + 1)}
        return out


@pytest.fixture
def model(qapp: QApplication) -> PositionsModel:
    return PositionsModel()


# ============================================================================ positions model


def test_positions_model_passes_qtmodeltester(
    qtmodeltester: ModelTester, model: PositionsModel
) -> None:
    model.upsert_many([pos("BTC-USD", "2.5"), pos("ETH-USD", "10", side=PositionSide.SHORT,
                                                  pnl="-3.25"), pos("SOL-USD", mark=None)])
    assert model.rowCount() == 3
    qtmodeltester.check(model, force_py=True)


def test_proxy_passes_qtmodeltester(qtmodeltester: ModelTester, model: PositionsModel) -> None:
    proxy = PositionsProxy()
    proxy.setSourceModel(model)
    model.upsert_many([pos("B", "10"), pos("A", "9.5"), pos("C", "-3")])
    proxy.sort(PositionColumn.QUANTITY, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(proxy, force_py=True)


def test_cells_show_exact_decimals_aligned_and_coloured(model: PositionsModel) -> None:
    model.upsert(pos("BTC-USD", "0.00012345", entry="65000.10", mark="1E+2", pnl="-12.50"))
    model.upsert(pos("ETH-USD", "3", pnl="4.000"))
    assert cell(model, 0, PositionColumn.QUANTITY) == "0.00012345"
    assert cell(model, 0, PositionColumn.ENTRY) == "65000.10"
    assert cell(model, 0, PositionColumn.MARK) == "100"  # never "1E+2"
    assert cell(model, 0, PositionColumn.PNL) == "-12.50"
    assert cell(model, 1, PositionColumn.PNL) == "+4.000"
    assert cell(model, 0, PositionColumn.SIDE) == "Long"
    assert cell(model, 0, PositionColumn.VENUE) == "QFEX"
    align = cell(model, 0, PositionColumn.QUANTITY, Qt.ItemDataRole.TextAlignmentRole)
    assert Qt.AlignmentFlag(align) & Qt.AlignmentFlag.AlignRight
    align = cell(model, 0, PositionColumn.SYMBOL, Qt.ItemDataRole.TextAlignmentRole)
    assert not Qt.AlignmentFlag(align) & Qt.AlignmentFlag.AlignRight
    loss = cell(model, 0, PositionColumn.PNL, Qt.ItemDataRole.ForegroundRole)
    profit = cell(model, 1, PositionColumn.PNL, Qt.ItemDataRole.ForegroundRole)
    assert loss.color().red() > loss.color().green()
    assert profit.color().green() > profit.color().red()
    assert cell(model, 0, PositionColumn.QUANTITY, SORT_ROLE) == D("0.00012345")
    assert cell(model, 0, PositionColumn.ACTION, KEY_ROLE) == key("BTC-USD")


def test_upsert_reports_only_the_changed_cells(model: PositionsModel) -> None:
    model.upsert(pos("A"))
    model.upsert(pos("B"))
    changes = Changes(model)
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))

    model.upsert(pos("B", mark="102", pnl="2"))

    assert inserted == []
    assert changes.cells() == {(1, PositionColumn.MARK), (1, PositionColumn.PNL)}
    roles = {(e[1]): e[4] for e in changes.events}
    assert int(Qt.ItemDataRole.DisplayRole) in roles[PositionColumn.MARK]
    assert int(Qt.ItemDataRole.ForegroundRole) in roles[PositionColumn.PNL]
    assert cell(model, 1, PositionColumn.MARK) == "102"
    assert cell(model, 0, PositionColumn.MARK) == "101"


def test_upsert_of_identical_position_changes_nothing(model: PositionsModel) -> None:
    model.upsert(pos("A"))
    changes = Changes(model)
    model.upsert(pos("A"))
    assert changes.events == []


def test_same_value_new_exponent_is_a_change(model: PositionsModel) -> None:
    """1.0 == 1.00 numerically, but the row must show what the venue sent."""
    model.upsert(pos("A", "1.0"))
    changes = Changes(model)
    model.upsert(pos("A", "1.00"))
    assert changes.cells() == {(0, PositionColumn.QUANTITY)}
    assert cell(model, 0, PositionColumn.QUANTITY) == "1.00"


def test_remove_drops_the_row_and_keeps_identity(model: PositionsModel) -> None:
    for s in ("A", "B", "C"):
        model.upsert(pos(s))
    removed: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _p, first, last: removed.append((first, last)))

    model.remove(key("B"))

    assert removed == [(1, 1)]
    assert [k.symbol for k in model.all_keys()] == ["A", "C"]
    assert model.row_of(key("C")) == 1
    model.upsert(pos("C", mark="200"))
    assert cell(model, 1, PositionColumn.MARK) == "200"
    model.remove(key("B"))  # already gone: nothing happens
    assert removed == [(1, 1)]


def test_same_symbol_on_two_accounts_are_two_rows(model: PositionsModel) -> None:
    model.upsert(pos("BTC", account="one"))
    model.upsert(pos("BTC", account="two"))
    model.upsert(pos("BTC", account="one", venue=Venue.EVERSTRIKE))
    assert model.rowCount() == 3


def test_decimal_sorting_is_numeric(model: PositionsModel) -> None:
    proxy = PositionsProxy()
    proxy.setSourceModel(model)
    # As text "9.5" > "10" and "-3" sorts first; as floats 2**63 would lose digits.
    big = "123456789012345678901234567890"
    qtys = ["9.5", "10", "0.3", big + ".5", big]
    for i, q in enumerate(qtys):
        model.upsert(pos(f"S{i}", q))
    proxy.sort(PositionColumn.QUANTITY, Qt.SortOrder.DescendingOrder)
    shown = [proxy.data(proxy.index(r, PositionColumn.QUANTITY)) for r in range(proxy.rowCount())]
    assert shown == [
        "123456789012345678901234567890.5",
        "123456789012345678901234567890",
        "10",
        "9.5",
        "0.3",
    ]


def test_pnl_sorting_with_negatives_and_missing_values(model: PositionsModel) -> None:
    proxy = PositionsProxy()
    proxy.setSourceModel(model)
    for s, pnl in (("A", "10"), ("B", "9.5"), ("C", "-3"), ("D", None), ("E", "-20")):
        model.upsert(pos(s, pnl=pnl))
    proxy.sort(PositionColumn.PNL, Qt.SortOrder.AscendingOrder)
    order = [proxy.data(proxy.index(r, PositionColumn.SYMBOL)) for r in range(5)]
    assert order == ["E", "C", "B", "A", "D"]
    proxy.sort(PositionColumn.PNL, Qt.SortOrder.DescendingOrder)
    order = [proxy.data(proxy.index(r, PositionColumn.SYMBOL)) for r in range(5)]
    assert order == ["A", "B", "C", "E", "D"]


def test_proxy_resorts_when_a_value_changes(model: PositionsModel) -> None:
    proxy = PositionsProxy()
    proxy.setSourceModel(model)
    model.upsert(pos("A", "1"))
    model.upsert(pos("B", "2"))
    proxy.sort(PositionColumn.QUANTITY, Qt.SortOrder.AscendingOrder)
    assert proxy.key_at(0) == key("A")
    model.upsert(pos("A", "3"))
    assert proxy.key_at(0) == key("B")
    assert proxy.proxy_row_of(key("A")) == 1


def _intent(p: Position, state: IntentState, message: str = "") -> CloseIntent:
    request = CloseRequest(key=p.key, position_side=p.side, position_quantity=p.quantity)
    return CloseIntent(id="intent-1", request=request, state=state, message=message)


def test_intent_state_changes_only_the_action_cell(model: PositionsModel) -> None:
    a, b = pos("A"), pos("B")
    model.upsert(a)
    model.upsert(b)
    assert cell(model, 1, PositionColumn.ACTION) == "Close"
    changes = Changes(model)

    model.set_intent(_intent(b, IntentState.REJECTED, "reduce-only would increase"))

    assert changes.cells() == {(1, PositionColumn.ACTION)}
    assert cell(model, 1, PositionColumn.ACTION) == "Rejected"
    tip = cell(model, 1, PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole)
    assert "reduce-only would increase" in tip
    assert cell(model, 0, PositionColumn.ACTION) == "Close"
    access = cell(model, 1, PositionColumn.ACTION, Qt.ItemDataRole.AccessibleTextRole)
    assert access == "Close B on acct"


@pytest.mark.parametrize(
    ("state", "label"),
    [
        (IntentState.SENDING, "Sending…"),
        (IntentState.ACKNOWLEDGED, "Acknowledged"),
        (IntentState.RESTING, "Resting"),
        (IntentState.PARTIAL, "Partly filled"),
        (IntentState.REJECTED, "Rejected"),
        (IntentState.UNKNOWN, "Unknown"),
        (IntentState.FILLED, "Close"),
        (IntentState.CANCELLED, "Close"),
    ],
)
def test_intent_labels(state: IntentState, label: str) -> None:
    assert intent_label(_intent(pos("A"), state)) == label


def test_intent_for_a_gone_row_is_ignored(model: PositionsModel) -> None:
    a = pos("A")
    model.upsert(a)
    model.remove(a.key)
    model.set_intent(_intent(a, IntentState.REJECTED))
    model.upsert(a)  # reopened later: the old rejection must not show
    assert cell(model, 0, PositionColumn.ACTION) == "Close"


@pytest.mark.asyncio
async def test_repricing_is_coalesced_on_a_timer(qapp: QApplication) -> None:
    model = PositionsModel(coalesce_ms=30)
    model.upsert(pos("A"))
    model.upsert(pos("B"))
    changes = Changes(model)
    for i in range(50):
        model.queue_upsert(pos("A", mark=str(102 + i), pnl=str(2 + i)))
        model.queue_upsert(pos("B", mark=str(500 + i), pnl=str(400 + i)))
    model.queue_upsert(pos("C"))  # a new row waits for the same flush
    assert changes.events == []
    assert model.rowCount() == 2
    assert model.pending_count == 3

    await until(lambda: model.pending_count == 0, what="the coalescing timer")

    assert model.rowCount() == 3
    # One burst: each changed cell reported once, with the last value; adjacent rows of a
    # column share one signal.
    assert len(changes.events) == 2
    assert changes.cells() == {
        (0, PositionColumn.MARK), (0, PositionColumn.PNL),
        (1, PositionColumn.MARK), (1, PositionColumn.PNL),
    }
    assert cell(model, 0, PositionColumn.MARK) == "151"
    assert cell(model, 1, PositionColumn.PNL) == "+449"


def test_remove_discards_a_queued_update(model: PositionsModel) -> None:
    model.upsert(pos("A"))
    model.queue_upsert(pos("A", mark="150"))
    model.queue_upsert(pos("Z"))
    model.remove(key("A"))
    model.flush()
    assert [k.symbol for k in model.all_keys()] == ["Z"]


def test_fmt_decimal() -> None:
    assert fmt_decimal(D("1E+3")) == "1000"
    assert fmt_decimal(D("-0.00")) == "0.00"
    assert fmt_decimal(D("0.1"), signed=True) == "+0.1"
    assert fmt_decimal(D("-0.1"), signed=True) == "-0.1"
    assert fmt_decimal(None) == ""


# ============================================================================ log model


def update(status: OrderStatus = OrderStatus.ACK, raw: str = "ACK", **kw: Any) -> OrderUpdate:
    fields: dict[str, Any] = {
        "venue": Venue.QFEX, "account": "acct", "symbol": "BTC-USD", "status": status,
        "raw_status": raw, "final": status is not OrderStatus.ACK, "quantity": D("2.50"),
        "remaining": D("0"), "price": D("64999.5"), "message": "ok",
        "received_at": 1_700_000_000.123,
    }
    fields.update(kw)
    return OrderUpdate(**fields)


def _fill_log(model: LogModel) -> None:
    model.append_event(update())
    model.append_event(update(OrderStatus.FILLED, "FILLED"))
    model.append_event(ConnectionEvent(Venue.EVERSTRIKE, "ev", ConnectionState.FAILED, "bad key"))
    model.append_event(ProtocolError(Venue.QFEX, "acct", "unknown frame", raw="{}", code="X1"))
    model.append_event(Fill(Venue.QFEX, "acct", "BTC-USD", "o1", "c1", OrderSide.SELL,
                            D("64999.5"), D("2.5"), fee=D("0.01")))
    model.flush()


def test_log_model_passes_qtmodeltester(qtmodeltester: ModelTester, qapp: QApplication) -> None:
    model = LogModel()
    _fill_log(model)
    assert model.rowCount() == 5
    qtmodeltester.check(model, force_py=True)


def test_log_model_with_trim_note_passes_qtmodeltester(
    qtmodeltester: ModelTester, qapp: QApplication
) -> None:
    model = LogModel(max_rows=10)
    for i in range(25):
        model.append_event(update(message=f"line {i}"))
    model.flush()
    assert model.trimmed > 0
    qtmodeltester.check(model, force_py=True)


def test_log_line_contents(qapp: QApplication) -> None:
    model = LogModel()
    _fill_log(model)
    row = [model.data(model.index(1, c)) for c in LogColumn]
    assert row[LogColumn.TIME] == fmt_time(1_700_000_000.123)
    assert row[LogColumn.TIME].endswith(".123")
    assert row[LogColumn.KIND] == "Order"
    assert row[LogColumn.VENUE] == "QFEX"
    assert row[LogColumn.STATUS] == "FILLED"
    assert row[LogColumn.RAW_STATUS] == "FILLED"
    assert row[LogColumn.QUANTITY] == "2.50"
    assert row[LogColumn.REMAINING] == "0"
    assert row[LogColumn.PRICE] == "64999.5"
    conn = [model.data(model.index(2, c)) for c in LogColumn]
    assert (conn[LogColumn.KIND], conn[LogColumn.STATUS], conn[LogColumn.MESSAGE]) == (
        "Connection", "FAILED", "bad key")
    err = [model.data(model.index(3, c)) for c in LogColumn]
    assert err[LogColumn.KIND] == "Protocol error"
    assert err[LogColumn.RAW_STATUS] == "X1"
    assert "unknown frame" in err[LogColumn.MESSAGE]
    fill = [model.data(model.index(4, c)) for c in LogColumn]
    assert (fill[LogColumn.KIND], fill[LogColumn.QUANTITY]) == ("Fill", "2.5")


def test_log_appends_in_batches_at_the_bottom(qapp: QApplication) -> None:
    model = LogModel()
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    for i in range(3):
        model.append_event(update(message=f"a{i}"))
    model.flush()
    for i in range(2):
        model.append_event(update(message=f"b{i}"))
    model.flush()
    assert inserted == [(0, 2), (3, 4)]
    assert model.data(model.index(4, LogColumn.MESSAGE)) == "b1"


def test_log_trims_with_a_visible_note_and_never_silently(qapp: QApplication) -> None:
    model = LogModel(max_rows=20)
    for i in range(21):
        model.append_event(update(message=f"line {i}"))
    model.flush()
    assert model.trimmed == 3  # down to 90 % of the cap
    note = model.data(model.index(0, LogColumn.MESSAGE))
    assert "3 older lines were trimmed" in note
    assert "journal" in note
    assert model.data(model.index(1, LogColumn.MESSAGE)) == "line 3"
    assert model.rowCount() == 1 + 18

    changes = Changes(model)
    for i in range(21, 30):
        model.append_event(update(message=f"line {i}"))
    model.flush()
    assert model.trimmed == 3 + 9
    assert (0, LogColumn.MESSAGE) in changes.cells()
    assert "12 older lines" in model.data(model.index(0, LogColumn.MESSAGE))
    # Every line is accounted for: shown + trimmed == appended.
    assert len(model.entries) + model.trimmed == 30
    assert model.data(model.index(model.rowCount() - 1, LogColumn.MESSAGE)) == "line 29"


@pytest.mark.asyncio
async def test_log_flushes_on_its_timer(qapp: QApplication) -> None:
    model = LogModel(coalesce_ms=20)
    model.append_event(update())
    assert model.rowCount() == 0
    await until(lambda: model.rowCount() == 1, what="the log flush")
