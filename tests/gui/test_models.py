"""The positions, working-orders and log models: identity, minimal dataChanged, Python sorting,
coalescing, stale rows."""

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
    TriggerEvent,
    Venue,
    WorkingKind,
    WorkingOrder,
)
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.models import (
    BUTTON_ROLE,
    KEY_ROLE,
    LOSS,
    PROFIT,
    SORT_ROLE,
    STALE,
    LogColumn,
    LogModel,
    PositionColumn,
    PositionsModel,
    PositionsProxy,
    WorkingColumn,
    WorkingOrdersModel,
    describe_working,
    fmt_decimal,
    fmt_time,
    fmt_trigger,
    intent_label,
)
from gui.models.order_list import OrderListModel
from gui.models.positions import NEW_ROW_MS
from tests.gui.conftest import until

D = Decimal


def key(symbol: str, account: str = "acct", venue: Venue = QFEX) -> PositionKey:
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
    venue: Venue = QFEX,
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
    """Without reference data a number shows its significant digits (core.numbers), P&L two
    places; nothing is written with an exponent."""
    model.upsert(pos("BTC-USD", "0.00012345", entry="65000.10", mark="1E+2", pnl="-12.50"))
    model.upsert(pos("ETH-USD", "3", pnl="4.000"))
    assert cell(model, 0, PositionColumn.QUANTITY) == "0.00012345"
    assert cell(model, 0, PositionColumn.ENTRY) == "65000.1"
    assert cell(model, 0, PositionColumn.MARK) == "100"  # never "1E+2"
    assert cell(model, 0, PositionColumn.PNL) == "-12.50"
    assert cell(model, 1, PositionColumn.PNL) == "+4.00"
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


def test_same_value_new_exponent_is_no_change(model: PositionsModel) -> None:
    """1.0 and 1.00 read alike (the instrument, not the venue's digits, sets the decimals), so
    a new exponent repaints nothing; a new value does."""
    model.upsert(pos("A", "1.0"))
    changes = Changes(model)
    model.upsert(pos("A", "1.00"))
    assert changes.cells() == set()
    assert cell(model, 0, PositionColumn.QUANTITY) == "1"
    model.upsert(pos("A", "1.5"))
    assert changes.cells() == {(0, PositionColumn.QUANTITY)}


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
    model.upsert(pos("BTC", account="one", venue=EVERSTRIKE))
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
    """A live column re-sorts on its timer (coalesced), not on every update."""
    proxy = PositionsProxy()
    proxy.setSourceModel(model)
    model.upsert(pos("A", "1"))
    model.upsert(pos("B", "2"))
    proxy.sort(PositionColumn.QUANTITY, Qt.SortOrder.AscendingOrder)
    assert proxy.key_at(0) == key("A")
    model.upsert(pos("A", "3"))
    assert proxy.key_at(0) == key("A") and proxy.resortTimer.isActive()
    proxy.resort_if_due()
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
    # The state, then the refusal's category in two words (core.explain reads the message).
    assert cell(model, 1, PositionColumn.ACTION) == "Rejected · would increase"
    assert cell(model, 1, PositionColumn.ACTION, BUTTON_ROLE) == "Rejected"
    tip = cell(model, 1, PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole)
    assert "reduce-only would increase" in tip
    assert cell(model, 0, PositionColumn.ACTION) == "Close"
    access = cell(model, 1, PositionColumn.ACTION, Qt.ItemDataRole.AccessibleTextRole)
    assert access == "Close B on acct (last close: Rejected · would increase)"


@pytest.mark.parametrize(
    ("state", "label"),
    [
        (IntentState.SENDING, "Sending…"),
        (IntentState.ACKNOWLEDGED, "Acknowledged"),
        (IntentState.RESTING, "Resting"),
        (IntentState.PARTIAL, "Partly filled"),
        (IntentState.REJECTED, "Rejected"),
        (IntentState.UNKNOWN, "Unknown"),
        (IntentState.FILLED, "Closed"),  # "Filled" is only said of a verified flat position
        (IntentState.CANCELLED, "Not filled"),  # a market close the venue let go, unfilled
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
    assert cell(model, 1, PositionColumn.PNL) == "+449.00"


@pytest.mark.asyncio
async def test_a_new_row_does_not_wait_for_the_repricing_interval(qapp: QApplication) -> None:
    """Repricing waits for the window's refresh; a position that just opened shows within
    NEW_ROW_MS, and takes the repricing queued with it along."""
    model = PositionsModel(coalesce_ms=3_600_000)
    model.upsert(pos("A"))
    model.queue_upsert(pos("A", mark="150"))
    assert model._timer.remainingTime() > 60_000  # repricing alone: the long interval
    model.queue_upsert(pos("C"))
    # The new row's wait (Qt may stretch a coarse timer by 5 %), not the hour's.
    assert 0 <= model._timer.remainingTime() <= NEW_ROW_MS * 1.05 + 1
    await until(lambda: model.pending_count == 0, what="the new row's flush")
    assert [k.symbol for k in model.all_keys()] == ["A", "C"]
    assert cell(model, 0, PositionColumn.MARK) == "150"


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
        "venue": QFEX, "account": "acct", "symbol": "BTC-USD", "status": status,
        "raw_status": raw, "final": status is not OrderStatus.ACK, "quantity": D("2.50"),
        "remaining": D("0"), "price": D("64999.5"), "message": "ok",
        "received_at": 1_700_000_000.123,
    }
    fields.update(kw)
    return OrderUpdate(**fields)


def _fill_log(model: LogModel) -> None:
    model.append_event(update())
    model.append_event(update(OrderStatus.FILLED, "FILLED"))
    model.append_event(ConnectionEvent(EVERSTRIKE, "ev", ConnectionState.FAILED, "bad key"))
    model.append_event(ProtocolError(QFEX, "acct", "unknown frame", raw="{}", code="X1"))
    model.append_event(Fill(QFEX, "acct", "BTC-USD", "o1", "c1", OrderSide.SELL,
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
    assert row[LogColumn.QUANTITY] == "2.5"  # no reference data: significant digits
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


def test_log_cap_holds_and_every_line_sent_is_there_once(
    qtmodeltester: ModelTester, qapp: QApplication
) -> None:
    """Bursts of every size, one bigger than the cap: after each flush the table holds at
    most the cap (plus the note row), the newest lines in order with none doubled or
    missing, and the note counts exactly what was trimmed."""
    model = LogModel(max_rows=100)
    qtmodeltester.check(model, force_py=True)  # and every change below
    most = 0

    def track(*_: object) -> None:
        nonlocal most
        most = max(most, model.rowCount())

    model.rowsInserted.connect(track)
    sent = 0
    for burst in (1, 5, 50, 44, 1, 99, 100, 101, 250, 7, 1000, 3, 89):
        for _ in range(burst):
            model.append_event(update(message=f"line {sent}"))
            sent += 1
        model.flush()
        shown = [e.message for e in model.entries]
        assert shown == [f"line {i}" for i in range(sent - len(shown), sent)]
        assert model.trimmed + len(shown) == sent
        assert model.rowCount() == len(shown) + (1 if model.trimmed else 0) <= 101
        if model.trimmed:
            assert f"{model.trimmed:,} older lines were trimmed" in model.note_text()
    assert most <= 101  # never over the cap, not even inside a flush
    assert sent == 1750


def test_log_keeps_every_line_below_the_cap(qapp: QApplication) -> None:
    model = LogModel(max_rows=200_000)
    for i in range(20_000):
        model.append_event(update(message=f"line {i}"))
        if i % 997 == 0:
            model.flush()
    model.flush()
    assert model.trimmed == 0
    assert [e.message for e in model.entries] == [f"line {i}" for i in range(20_000)]


@pytest.mark.asyncio
async def test_log_flushes_on_its_timer(qapp: QApplication) -> None:
    model = LogModel(coalesce_ms=20)
    model.append_event(update())
    assert model.rowCount() == 0
    await until(lambda: model.rowCount() == 1, what="the log flush")


def test_rejected_line_shows_the_plain_message_with_the_venue_status_and_is_red(
    qapp: QApplication,
) -> None:
    model = LogModel()
    model.append_event(update(OrderStatus.REJECTED, "REJECTED_REDUCE_ONLY",
                              message="Refused: the close would increase the position.",
                              order_id="o-9", client_order_id="co-1"))
    model.append_event(update())
    model.flush()
    row = {c: model.data(model.index(0, c)) for c in LogColumn}
    assert row[LogColumn.MESSAGE] == "Refused: the close would increase the position."
    assert row[LogColumn.STATUS] == "REJECTED"
    assert row[LogColumn.RAW_STATUS] == "REJECTED_REDUCE_ONLY"
    assert LogColumn.RAW_STATUS == LogColumn.STATUS + 1  # the venue's words beside ours
    for col in LogColumn:
        brush = model.data(model.index(0, col), Qt.ItemDataRole.ForegroundRole)
        assert brush is not None and brush.color() == LOSS, col
    tip = model.data(model.index(0, LogColumn.MESSAGE), Qt.ItemDataRole.ToolTipRole)
    assert tip.splitlines()[:2] == ["Refused: the close would increase the position.",
                                    "Venue status: REJECTED_REDUCE_ONLY"]
    assert "o-9" in tip and "co-1" in tip
    # An ordinary line is not red: only its status is coloured, and ACK has no tone.
    assert model.data(model.index(1, LogColumn.MESSAGE), Qt.ItemDataRole.ForegroundRole) is None


def test_protocol_error_line_shows_its_message_and_code(qapp: QApplication) -> None:
    model = LogModel()
    model.append_event(ProtocolError(EVERSTRIKE, "ev", "Stale timestamp; clock resynced",
                                     raw='{"code":414}', code="414"))
    model.flush()
    row = {c: model.data(model.index(0, c)) for c in LogColumn}
    assert row[LogColumn.KIND] == "Protocol error"
    assert row[LogColumn.RAW_STATUS] == "414"
    assert row[LogColumn.MESSAGE].startswith("Stale timestamp; clock resynced")
    assert '{"code":414}' in row[LogColumn.MESSAGE]
    tip = model.data(model.index(0, LogColumn.MESSAGE), Qt.ItemDataRole.ToolTipRole)
    assert "Venue status: 414" in tip
    brush = model.data(model.index(0, LogColumn.VENUE), Qt.ItemDataRole.ForegroundRole)
    assert brush.color() == LOSS


# ============================================================================ stale and working


def test_stale_account_greys_only_its_rows(model: PositionsModel) -> None:
    model.upsert_many([pos("A", account="one"), pos("B", account="two"),
                       pos("C", account="one"), pos("D", account="one")])
    changes = Changes(model)
    reason = "Stale: QFEX disconnected since 12:00:00 — numbers may be out of date"

    model.set_stale("one", reason)

    # Rows 0 and 2-3 are account "one": two runs, every column, nothing of row 1.
    assert [(e[0], e[1], e[2], e[3]) for e in changes.events] == [
        (0, 0, 0, PositionColumn.ACTION), (2, 0, 3, PositionColumn.ACTION)]
    roles = changes.events[0][4]
    assert {int(Qt.ItemDataRole.ForegroundRole), int(Qt.ItemDataRole.FontRole),
            int(Qt.ItemDataRole.ToolTipRole)} <= roles
    for row in (0, 2, 3):
        assert cell(model, row, PositionColumn.SYMBOL, Qt.ItemDataRole.ToolTipRole) == reason
        assert cell(model, row, PositionColumn.PNL, Qt.ItemDataRole.ForegroundRole).color() == STALE
        assert cell(model, row, PositionColumn.SYMBOL, Qt.ItemDataRole.FontRole).italic()
        assert cell(model, row, PositionColumn.QUANTITY, Qt.ItemDataRole.FontRole).italic()
        assert reason in cell(model, row, PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole)
    assert cell(model, 1, PositionColumn.SYMBOL, Qt.ItemDataRole.ToolTipRole) is None
    assert cell(model, 1, PositionColumn.SYMBOL, Qt.ItemDataRole.FontRole) is None
    assert cell(model, 1, PositionColumn.PNL, Qt.ItemDataRole.ForegroundRole).color() == PROFIT

    changes.events.clear()
    model.set_stale("one", reason)  # the same again: nothing to repaint
    assert changes.events == []
    model.set_stale("one", None)
    assert changes.cells() == {(r, c) for r in (0, 2, 3) for c in PositionColumn}
    assert cell(model, 0, PositionColumn.SYMBOL, Qt.ItemDataRole.ToolTipRole) is None
    assert not cell(model, 0, PositionColumn.QUANTITY, Qt.ItemDataRole.FontRole).italic()
    assert cell(model, 0, PositionColumn.PNL, Qt.ItemDataRole.ForegroundRole).color() == PROFIT


def test_stale_applies_to_rows_that_arrive_later(model: PositionsModel) -> None:
    model.set_stale("one", "Stale: QFEX disconnected since 12:00:00 — numbers may be out of date")
    model.upsert(pos("A", account="one"))
    assert cell(model, 0, PositionColumn.MARK, Qt.ItemDataRole.FontRole).italic()


SEEN_AT = 1_000.0  # when the test's orders arrived, on the working model's wall clock


def order(
    order_id: str = "o-1",
    *,
    account: str = "acct",
    symbol: str = "BTC-USD",
    kind: WorkingKind = WorkingKind.LIMIT,
    price: str | None = "120.5",
    trigger: str | None = None,
    event: TriggerEvent | None = None,
    qty: str = "5",
    remaining: str | None = "5",
    raw: str = "ACK",
    venue: Venue = QFEX,
) -> WorkingOrder:
    return WorkingOrder(
        venue, account, symbol, order_id, kind, OrderSide.SELL, D(qty),
        remaining=None if remaining is None else D(remaining),
        price=None if price is None else D(price),
        trigger_price=None if trigger is None else D(trigger), trigger_event=event,
        order_type="LIMIT" if kind is WorkingKind.LIMIT else "STOP_LOSS", raw_status=raw,
        received_at=SEEN_AT,
    )


def test_working_marker_on_the_close_button(model: PositionsModel) -> None:
    model.upsert(pos("BTC-USD"))
    model.upsert(pos("ETH-USD"))
    changes = Changes(model)
    orders = [order("o-1"), order("o-2", kind=WorkingKind.TRIGGER, price=None, trigger="4400",
                                  event=TriggerEvent.MARK)]

    model.set_working(key("BTC-USD"), orders)

    assert changes.cells() == {(0, PositionColumn.ACTION)}
    assert cell(model, 0, PositionColumn.ACTION) == "Close · 2 working"
    assert cell(model, 0, PositionColumn.ACTION, BUTTON_ROLE) == "Close"
    tip = cell(model, 0, PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole)
    assert "2 working orders at the venue:" in tip
    assert "Limit sell 5 @ 120.5" in tip
    assert "Trigger sell 5 at 4400 Mark" in tip
    assert cell(model, 1, PositionColumn.ACTION) == "Close"
    model.set_working(key("BTC-USD"), [])
    assert cell(model, 0, PositionColumn.ACTION) == "Close"


def test_working_orders_known_before_the_position_show_when_it_arrives(
    model: PositionsModel,
) -> None:
    model.set_working(key("BTC-USD"), [order()])
    model.upsert(pos("BTC-USD"))
    assert cell(model, 0, PositionColumn.ACTION) == "Close · 1 working"


# ============================================================================ working orders model


@pytest.fixture
def working_model(qapp: QApplication) -> WorkingOrdersModel:
    return WorkingOrdersModel(wall_clock=lambda: SEEN_AT + 42.5)


def _fill_working(m: WorkingOrdersModel) -> None:
    m.upsert(order("o-1"))
    m.upsert(order("o-2", account="ev", venue=EVERSTRIKE, kind=WorkingKind.TRIGGER,
                   price=None, trigger="4400", event=TriggerEvent.MARK, raw="ACTIVE"))
    m.upsert(order("o-3", kind=WorkingKind.TRIGGER, price="3990", trigger="4000",
                   event=TriggerEvent.LAST, remaining=None))


def test_working_orders_model_passes_qtmodeltester(
    qtmodeltester: ModelTester, working_model: WorkingOrdersModel
) -> None:
    _fill_working(working_model)
    working_model.set_cancelling(("acct", "o-1"))
    working_model.set_cancel_refused(("acct", "o-3"), "already filled")
    working_model.set_stale("ev", "Stale: Everstrike disconnected since 12:00:00 — …")
    assert working_model.rowCount() == 3
    qtmodeltester.check(working_model, force_py=True)


def test_working_orders_columns(working_model: WorkingOrdersModel) -> None:
    _fill_working(working_model)
    m = working_model
    assert [m.headerData(c, Qt.Orientation.Horizontal) for c in WorkingColumn] == [
        "Venue", "Account", "Symbol", "Kind", "Side", "Quantity", "Remaining", "Price",
        "Trigger", "Venue status", "Age", ""]
    row0 = [cell(m, 0, c) for c in WorkingColumn]
    assert row0 == ["QFEX", "acct", "BTC-USD", "Limit", "Sell", "5", "5", "120.5", "", "ACK",
                    "42 s", "Cancel"]
    row1 = [cell(m, 1, c) for c in WorkingColumn]
    assert row1 == ["Everstrike", "ev", "BTC-USD", "Trigger", "Sell", "5", "5", "Market",
                    "4400 Mark", "ACTIVE", "42 s", "Cancel"]
    assert cell(m, 2, WorkingColumn.TRIGGER) == "4000 Last"
    assert cell(m, 2, WorkingColumn.PRICE) == "3990"
    assert cell(m, 2, WorkingColumn.REMAINING) == ""
    assert cell(m, 1, WorkingColumn.ACTION, KEY_ROLE) == ("ev", "o-2")
    assert cell(m, 1, WorkingColumn.KIND, Qt.ItemDataRole.ToolTipRole) == (
        "Venue order type: STOP_LOSS")
    align = cell(m, 0, WorkingColumn.PRICE, Qt.ItemDataRole.TextAlignmentRole)
    assert Qt.AlignmentFlag(align) & Qt.AlignmentFlag.AlignRight
    assert m.orders_for(key("BTC-USD")) == [m.order(("acct", "o-1")), m.order(("acct", "o-3"))]


def test_working_order_update_changes_only_its_changed_cells(
    working_model: WorkingOrdersModel,
) -> None:
    _fill_working(working_model)
    changes = Changes(working_model)
    inserted: list[tuple[int, int]] = []
    working_model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))

    working_model.upsert(order("o-1", remaining="2", raw="PARTIALLY_FILLED"))

    assert inserted == []
    assert changes.cells() == {(0, WorkingColumn.REMAINING), (0, WorkingColumn.STATUS)}
    assert cell(working_model, 0, WorkingColumn.REMAINING) == "2"
    changes.events.clear()
    working_model.upsert(order("o-1", remaining="2", raw="PARTIALLY_FILLED"))
    assert changes.events == []


def test_working_order_removal_keeps_identity(working_model: WorkingOrdersModel) -> None:
    _fill_working(working_model)
    removed: list[tuple[int, int]] = []
    working_model.rowsRemoved.connect(lambda _p, first, last: removed.append((first, last)))
    gone = working_model.remove(("ev", "o-2"))
    assert gone is not None and gone.order_id == "o-2"
    assert removed == [(1, 1)]
    assert working_model.row_of(("acct", "o-3")) == 1
    assert working_model.remove(("ev", "o-2")) is None
    assert removed == [(1, 1)]


def test_cancel_states_change_only_the_button(working_model: WorkingOrdersModel) -> None:
    _fill_working(working_model)
    ident = ("acct", "o-3")
    changes = Changes(working_model)

    working_model.set_cancelling(ident)
    assert changes.cells() == {(2, WorkingColumn.ACTION)}
    assert cell(working_model, 2, WorkingColumn.ACTION) == "Cancelling…"
    assert "sends nothing new" in cell(working_model, 2, WorkingColumn.ACTION,
                                       Qt.ItemDataRole.ToolTipRole)

    working_model.set_cancel_refused(ident, "Order already filled")
    assert cell(working_model, 2, WorkingColumn.ACTION) == "Cancel"
    assert cell(working_model, 2, WorkingColumn.ACTION, BUTTON_ROLE) == "Refused"
    assert "Order already filled" in cell(working_model, 2, WorkingColumn.ACTION,
                                          Qt.ItemDataRole.ToolTipRole)

    working_model.set_cancelling(ident)
    working_model.set_cancel_confirmed(ident)
    assert cell(working_model, 2, WorkingColumn.ACTION) == "Cancelled"
    assert working_model.refused_reason(ident) is None
    assert changes.cells() == {(2, WorkingColumn.ACTION)}
    assert cell(working_model, 0, WorkingColumn.ACTION) == "Cancel"


def test_working_orders_go_stale_per_account(working_model: WorkingOrdersModel) -> None:
    _fill_working(working_model)
    changes = Changes(working_model)
    working_model.set_stale("ev", "Stale: Everstrike disconnected since 12:00:00 — x")
    assert changes.cells() == {(1, c) for c in WorkingColumn}
    assert cell(working_model, 1, WorkingColumn.SYMBOL, Qt.ItemDataRole.FontRole).italic()
    assert cell(working_model, 0, WorkingColumn.SYMBOL, Qt.ItemDataRole.FontRole) is None


def test_describe_working_and_fmt_trigger() -> None:
    assert fmt_trigger(D("4400"), TriggerEvent.MARK) == "4400 Mark"
    assert fmt_trigger(D("4400"), None) == "4400"
    assert fmt_trigger(None, TriggerEvent.MARK) == ""
    assert describe_working(order()) == "Limit sell 5 @ 120.5"
    assert describe_working(order(kind=WorkingKind.TRIGGER, price="3990", trigger="4000",
                                  event=TriggerEvent.INDEX)) == (
        "Trigger sell 5 at 4000 Index, limit 3990")


def test_order_list_model_passes_qtmodeltester(qtmodeltester: ModelTester,
                                               qapp: QApplication) -> None:
    orders = [order("o-1"), order("o-2", kind=WorkingKind.TRIGGER, price=None, trigger="4400",
                                  event=TriggerEvent.MARK)]
    model = OrderListModel(orders)
    qtmodeltester.check(model, force_py=True)
    assert [model.index(1, c).data() for c in range(6)] == [
        "acct", "BTC-USD", "Sell", "5", "trigger 4400 Mark", "Trigger (STOP_LOSS)"]
    assert model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole) == "Order o-1"
