"""The positions table's order and filters: the same order as the former Python comparison for
every column, direction and grouping (checked against a plain ``sorted()``), rows arriving and
leaving as row ranges, filters set and cleared, the live re-sort coalesced and held, and no
work per row that grows with the table."""

from __future__ import annotations

import functools
import random
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester

from core.model import (
    Environment,
    OrderSide,
    Position,
    PositionKey,
    PositionSide,
    WorkingKind,
    WorkingOrder,
)
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.models import PositionColumn, PositionsModel, PositionsProxy
from gui.models import positions_proxy as proxy_module

D = Decimal
ASC, DESC = Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder
# Numbers that tie, that differ only past a float's precision, and that no float can hold.
NUMBERS = ["1", "1.00", "2.5", "-2.5", "0", "-0.000", "0.1", "0.1000000000000000000000000001",
           "0.09999999999999999999999999", "123456789012345678901234567890.5",
           "123456789012345678901234567890", "1E+400", "-1E+400", "0.000000001", "7"]
ACCOUNTS = ["alpha", "Beta", "beta-2", "Zeta desk", "ÉCLAIR"]
SYMBOLS = ["btc-usd", "BTC-PERP", "eth", "ETH-USD", "sol", "Doge", "aapl-usd", "xrp", "Ada"]


def maybe(rng: random.Random, none_share: float = 0.15) -> Decimal | None:
    return None if rng.random() < none_share else D(rng.choice(NUMBERS))


def random_rows(seed: int, n: int = 90) -> list[Position]:
    """Distinct rows (no two keys equal when case is ignored), with ties everywhere."""
    rng = random.Random(seed)
    keys = [PositionKey(a, v, s) for a in ACCOUNTS for v in (QFEX, EVERSTRIKE) for s in SYMBOLS]
    out = []
    for key in rng.sample(keys, n):
        out.append(Position(key=key, side=rng.choice(list(PositionSide)),
                            quantity=D(rng.choice(NUMBERS[:4] + NUMBERS[6:])).copy_abs(),
                            entry_price=maybe(rng), mark_price=maybe(rng),
                            unrealised_pnl=maybe(rng)))
    return out


def working(key: PositionKey, n: int) -> list[WorkingOrder]:
    return [WorkingOrder(key.venue, key.account, key.symbol, f"w{i}", WorkingKind.LIMIT,
                         OrderSide.SELL, D(1), price=D(2)) for i in range(n)]


def loaded(rows: list[Position], seed: int = 0) -> tuple[PositionsModel, PositionsProxy]:
    model = PositionsModel()
    proxy = PositionsProxy()
    proxy.setSourceModel(model)
    model.upsert_many(rows)
    rng = random.Random(seed)
    for account in ACCOUNTS[:4]:
        model.set_environment(account, rng.choice([*Environment, None]))
    for pos in rows[::7]:  # some Close cells say "· N working"
        model.set_working(pos.key, working(pos.key, rng.randint(1, 2)))
    return model, proxy


# ---------------------------------------------------------------- the reference order


def _cmp(a: Any, b: Any) -> int:
    if isinstance(a, str) and isinstance(b, str):
        a, b = a.casefold(), b.casefold()
    return -1 if a < b else 1 if b < a else 0


def reference(model: PositionsModel, column: int, order: Qt.SortOrder, grouped: bool
              ) -> list[PositionKey]:
    """The order the Python ``lessThan`` gave: the column (a missing value last either way),
    then Venue, Account, Symbol A→Z whichever the direction; grouped: the account first, A→Z."""
    rows = {model.key_at(r): r for r in range(model.rowCount())}

    def value(key: PositionKey, col: int) -> Any:
        return model.sort_value(rows[key], col)

    def compare(x: PositionKey, y: PositionKey) -> int:
        if grouped:
            c = _cmp(value(x, PositionColumn.ACCOUNT), value(y, PositionColumn.ACCOUNT))
            if c:
                return c
        vx, vy = value(x, column), value(y, column)
        if vx is None or vy is None:
            if (vx is None) != (vy is None):
                return 1 if vx is None else -1
        else:
            c = _cmp(vx, vy)
            if c:
                return c if order == ASC else -c
        ties = [PositionColumn.VENUE, PositionColumn.SYMBOL] if grouped else \
            [PositionColumn.VENUE, PositionColumn.ACCOUNT, PositionColumn.SYMBOL]
        for tie in ties:
            c = _cmp(value(x, tie), value(y, tie))
            if c:
                return c
        return 0

    return sorted(rows, key=functools.cmp_to_key(compare))


def shown(proxy: PositionsProxy) -> list[PositionKey]:
    return [k for k in (proxy.key_at(r) for r in range(proxy.rowCount())) if k is not None]


def every_sort() -> Iterator[tuple[int, Qt.SortOrder, bool]]:
    for column in PositionColumn:
        for order in (ASC, DESC):
            for grouped in (False, True):
                yield int(column), order, grouped


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_order_matches_the_reference_for_every_column_direction_and_grouping(
    qapp: QApplication, seed: int
) -> None:
    model, proxy = loaded(random_rows(seed), seed)
    for column, order, grouped in every_sort():
        proxy.set_group_by_account(grouped)
        proxy.sort(column, order)
        assert shown(proxy) == reference(model, column, order, grouped), (column, order, grouped)


def test_decimals_compare_exactly_past_a_floats_precision(qapp: QApplication) -> None:
    model, proxy = loaded([])
    tiny, big = "0.1000000000000000000000000001", "123456789012345678901234567890.5"
    for symbol, qty in (("A", "0.1"), ("B", tiny), ("C", big), ("D", big[:-2]), ("E", "1E+400")):
        model.upsert(Position(PositionKey("acct", QFEX, symbol), PositionSide.LONG, D(qty)))
    proxy.sort(PositionColumn.QUANTITY, DESC)
    assert [k.symbol for k in shown(proxy)] == ["E", "C", "D", "B", "A"]


def test_rows_arrive_where_the_order_puts_them_as_row_ranges(qapp: QApplication) -> None:
    rows = random_rows(4)
    model, proxy = loaded(rows[:40])
    proxy.sort(PositionColumn.PNL, DESC)
    inserted: list[tuple[int, int]] = []
    layouts: list[int] = []
    proxy.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    proxy.layoutChanged.connect(lambda *_: layouts.append(1))
    model.upsert(rows[40])  # one row: one range of one row, at its place
    assert len(inserted) == 1 and inserted[0][0] == inserted[0][1]
    assert shown(proxy)[inserted[0][0]] == rows[40].key
    inserted.clear()
    model.upsert_many(rows[41:])  # 49 rows all over the table: never a signal per row
    assert len(inserted) + len(layouts) <= proxy_module._RANGES + 1
    assert sum(last - first + 1 for first, last in inserted) == 49
    assert shown(proxy) == reference(model, PositionColumn.PNL, DESC, False)


def test_rows_leave_as_row_ranges_and_the_order_holds(qapp: QApplication) -> None:
    rows = random_rows(5)
    model, proxy = loaded(rows)
    proxy.set_group_by_account(True)
    proxy.sort(PositionColumn.MARK, ASC)
    removed: list[tuple[int, int]] = []
    proxy.rowsRemoved.connect(lambda _p, first, last: removed.append((first, last)))
    gone = rows[3]
    row = proxy.proxy_row_of(gone.key)
    model.remove(gone.key)
    assert removed == [(row, row)]
    assert proxy.proxy_row_of(gone.key) is None
    for pos in rows[10:30]:
        model.remove(pos.key)
    assert shown(proxy) == reference(model, PositionColumn.MARK, ASC, True)
    assert proxy.position_count == model.rowCount() == len(rows) - 21
    # Grouped: a header per account and a totals row per venue and for all come on top.
    accounts = {k.account for k in model.all_keys()}
    venues = {k.venue for k in model.all_keys()}
    assert proxy.rowCount() == model.rowCount() + len(accounts) + len(venues) + 1


def test_filters_set_and_cleared_with_few_signals_keeping_the_selection(
    qapp: QApplication,
) -> None:
    rows = random_rows(6)
    model, proxy = loaded(rows)
    proxy.sort(PositionColumn.QUANTITY, ASC)
    selection = QItemSelectionModel(proxy)
    keep = next(p.key for p in rows if "eth" in p.key.symbol.casefold())
    row = proxy.proxy_row_of(keep)
    assert row is not None
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect \
        | QItemSelectionModel.SelectionFlag.Rows
    selection.setCurrentIndex(proxy.index(row, PositionColumn.SYMBOL), flags)
    signals: list[str] = []
    for name in ("rowsInserted", "rowsRemoved", "layoutChanged", "modelReset"):
        getattr(proxy, name).connect(lambda *_, n=name: signals.append(n))

    proxy.set_symbol_filter(" ETH")  # trimmed, case-insensitive, part of the symbol
    want = [k for k in reference(model, PositionColumn.QUANTITY, ASC, False)
            if "eth" in k.symbol.casefold()]
    assert shown(proxy) == want and proxy.filtering
    assert len(signals) <= proxy_module._RANGES + 1 and "modelReset" not in signals
    assert proxy.key_at(selection.currentIndex().row()) == keep
    assert selection.isRowSelected(selection.currentIndex().row())

    signals.clear()
    proxy.set_symbol_filter("")
    assert shown(proxy) == reference(model, PositionColumn.QUANTITY, ASC, False)
    assert len(signals) <= proxy_module._RANGES + 1 and "modelReset" not in signals
    assert proxy.key_at(selection.currentIndex().row()) == keep

    proxy.set_venue_filter(EVERSTRIKE)
    proxy.set_account_filter("Beta")
    assert shown(proxy) == [k for k in reference(model, PositionColumn.QUANTITY, ASC, False)
                            if k.venue is EVERSTRIKE and k.account == "Beta"]
    proxy.set_venue_filter(None)
    proxy.set_account_filter(None)
    assert not proxy.filtering and proxy.rowCount() == len(rows)


def test_filtered_out_rows_that_arrive_stay_hidden_and_show_when_cleared(
    qapp: QApplication,
) -> None:
    rows = random_rows(7)
    model, proxy = loaded(rows[:30])
    proxy.sort(PositionColumn.SYMBOL, DESC)
    proxy.set_account_filter("alpha")
    model.upsert_many(rows[30:])
    assert all(k.account == "alpha" for k in shown(proxy))
    proxy.set_account_filter(None)
    assert shown(proxy) == reference(model, PositionColumn.SYMBOL, DESC, False)


def repriced(model: PositionsModel, key: PositionKey, pnl: str) -> Position:
    pos = model.position(key)
    assert pos is not None
    return Position(key, pos.side, pos.quantity, pos.entry_price, pos.mark_price, D(pnl))


def reprice(model: PositionsModel, key: PositionKey, pnl: str) -> None:
    model.upsert(repriced(model, key, pnl))


def test_a_live_column_re_sorts_once_on_its_timer_not_per_update(qapp: QApplication) -> None:
    rows = random_rows(8, 20)
    model, proxy = loaded(rows)
    proxy.sort(PositionColumn.PNL, ASC)
    assert proxy.live and proxy.hint == "sorted by P&L · live"
    before = shown(proxy)
    layouts: list[int] = []
    proxy.layoutChanged.connect(lambda *_: layouts.append(1))
    for i, key in enumerate(before[:5]):  # the first rows become the largest
        reprice(model, key, f"{1_000_000 + i}")
    assert shown(proxy) == before  # nothing moved yet
    assert proxy.resort_pending and proxy.resortTimer.isActive()
    assert proxy.resortTimer.interval() == proxy_module.LIVE_RESORT_MS == 1000
    proxy.resort_if_due()
    assert layouts == [1]
    assert shown(proxy) == reference(model, PositionColumn.PNL, ASC, False)
    assert not proxy.resort_pending and not proxy.resortTimer.isActive()


def test_a_live_re_sort_that_takes_long_comes_less_often(qapp: QApplication) -> None:
    """Re-sorting live stays within its share of the GUI thread: a re-sort that took 30 ms
    makes the next one wait 30 / 1 % = 3 s; a quick one keeps the one-second interval."""
    now = [0.0]
    model = PositionsModel()
    proxy = PositionsProxy(clock=lambda: now[0])
    proxy.setSourceModel(model)
    model.upsert_many(random_rows(8, 20))
    proxy.sort(PositionColumn.PNL, ASC)
    took = [0.030]

    def slow_layout() -> None:
        now[0] += took[0]  # what the re-sort cost, as the proxy's clock sees it

    proxy.layoutAboutToBeChanged.connect(slow_layout)
    for turn, cost, interval in ((0, 0.030, 3000), (1, 0.002, 1000)):
        took[0] = cost
        for i, key in enumerate(shown(proxy)[:3]):  # the top rows become the largest
            reprice(model, key, f"{1_000_000 + 10 * turn + i}")
        assert proxy.resort_pending
        proxy.resort_if_due()
        assert not proxy.resort_pending
        assert proxy.resortTimer.interval() == interval
        assert interval / 1000 * proxy_module.LIVE_RESORT_SHARE == pytest.approx(
            max(cost, 0.010))


def split_loaded(rows: list[Position]) -> tuple[PositionsModel, PositionsProxy]:
    """A proxy that re-sorts live in two turns whatever its size, as a large table does."""
    model = PositionsModel()
    proxy = PositionsProxy(split_resort_above=0)
    proxy.setSourceModel(model)
    model.upsert_many(rows)
    return model, proxy


def test_a_large_live_re_sort_works_out_the_order_then_moves_the_rows_a_turn_later(
    qapp: QApplication,
) -> None:
    model, proxy = split_loaded(random_rows(21, 40))
    proxy.sort(PositionColumn.PNL, ASC)
    tester = ModelTester(None)
    tester.check(proxy)
    selection = QItemSelectionModel(proxy)
    before = shown(proxy)
    chosen = before[3]
    selection.setCurrentIndex(proxy.index(3, 0), QItemSelectionModel.SelectionFlag.Select)
    layouts: list[int] = []
    proxy.layoutChanged.connect(lambda *_: layouts.append(1))
    reprice(model, chosen, "1E+500")  # the chosen row becomes the largest
    proxy.resort_if_due()
    assert shown(proxy) == before and layouts == []  # worked out, nothing moved yet
    assert proxy.finishTimer.isActive()
    proxy.resort_if_due()  # due again before the second turn: no second plan
    proxy.finish_resort()
    assert layouts == [1]
    assert shown(proxy) == reference(model, PositionColumn.PNL, ASC, False)
    assert shown(proxy).index(chosen) > 3  # it moved down, among the largest
    assert proxy.key_at(selection.currentIndex().row()) == chosen  # the selection followed
    assert not proxy.resort_pending


def test_rows_repriced_between_the_two_turns_wait_for_the_next_re_sort(
    qapp: QApplication,
) -> None:
    model, proxy = split_loaded(random_rows(22, 40))
    proxy.sort(PositionColumn.PNL, DESC)
    first, second, third = shown(proxy)[-3:]
    reprice(model, first, "1E+500")
    reprice(model, second, "1E+499")
    proxy.resort_if_due()
    reprice(model, second, "-1E+500")  # after the plan: it must not land at the top
    reprice(model, third, "1E+498")
    reprice(model, first, "1E+500")  # the same value again: nothing new for it
    proxy.finish_resort()
    order = shown(proxy)
    assert order[:2] == [first, second]  # placed by the values the plan worked out
    assert proxy.resort_pending and proxy.resortTimer.isActive()
    proxy.resort_if_due()
    proxy.finish_resort()
    order = shown(proxy)
    assert order == reference(model, PositionColumn.PNL, DESC, False)
    assert order[:2] == [first, third] and order.index(second) > 2
    assert not proxy.resort_pending


@pytest.mark.parametrize("meanwhile", ["rows came", "rows went", "header click", "filter"])
def test_a_planned_re_sort_is_dropped_when_the_rows_changed_in_between(
    qapp: QApplication, meanwhile: str
) -> None:
    rows = random_rows(23, 45)
    model, proxy = split_loaded(rows[:40])
    proxy.sort(PositionColumn.PNL, ASC)
    reprice(model, shown(proxy)[0], "1E+500")
    proxy.resort_if_due()
    if meanwhile == "rows came":
        model.upsert_many(rows[40:])
    elif meanwhile == "rows went":
        model.remove(shown(proxy)[5])
    elif meanwhile == "header click":
        proxy.sort(PositionColumn.PNL, DESC)
    else:
        proxy.set_symbol_filter("e")
    proxy.finish_resort()  # finds the table changed: moves nothing by the stale plan
    proxy.resort_if_due()
    proxy.finish_resort()
    order = PositionColumn.PNL, (DESC if meanwhile == "header click" else ASC)
    expected = reference(model, *order, False)
    if meanwhile == "filter":
        expected = [k for k in expected if "e" in k.symbol.casefold()]
    assert shown(proxy) == expected
    assert not proxy.resort_pending


def test_a_hold_that_begins_between_the_two_turns_keeps_the_rows_still(
    qapp: QApplication,
) -> None:
    model, proxy = split_loaded(random_rows(24, 40))
    proxy.sort(PositionColumn.PNL, ASC)
    before = shown(proxy)
    reprice(model, before[0], "1E+500")
    proxy.resort_if_due()
    proxy.set_hold("pointer", True)  # the pointer came over the table
    proxy.finish_resort()
    assert shown(proxy) == before
    assert proxy.hint == ("sorted by P&L · live · order held while pointing · live sort resumes "
                          "when you move away")
    proxy.set_hold("pointer", False)
    assert shown(proxy) == reference(model, PositionColumn.PNL, ASC, False)


def test_new_rows_show_at_once_in_the_current_order_while_a_re_sort_waits(
    qapp: QApplication,
) -> None:
    rows = random_rows(9, 30)
    model, proxy = loaded(rows[:20])
    proxy.sort(PositionColumn.PNL, DESC)
    proxy.set_hold("pointer", True)
    reprice(model, shown(proxy)[-1], "-5000")
    proxy.resort_if_due()
    assert proxy.resort_pending  # held
    model.upsert_many(rows[20:])
    assert proxy.rowCount() == 30 and model.rowCount() == 30
    proxy.set_hold("pointer", False)
    assert shown(proxy) == reference(model, PositionColumn.PNL, DESC, False)


def test_a_held_re_sort_happens_once_when_the_last_hold_ends(qapp: QApplication) -> None:
    rows = random_rows(10, 25)
    model, proxy = loaded(rows)
    proxy.sort(PositionColumn.MARK, DESC)
    hints: list[str] = []
    proxy.hintChanged.connect(hints.append)
    layouts: list[int] = []
    proxy.layoutChanged.connect(lambda *_: layouts.append(1))
    proxy.set_hold("pointer", True)
    proxy.set_hold("dialog", True)
    before = shown(proxy)
    for key in before[-4:]:
        pos = model.position(key)
        assert pos is not None
        model.upsert(Position(key, pos.side, pos.quantity, pos.entry_price, D("1E+9"),
                              pos.unrealised_pnl))
    proxy.resort_if_due()
    assert shown(proxy) == before and layouts == []
    assert proxy.hint == ("sorted by Mark · live · order held while a close dialog is open; "
                          "order held while pointing · live sort resumes when you move away")
    proxy.set_hold("dialog", False)
    assert shown(proxy) == before and layouts == []
    assert proxy.hint == ("sorted by Mark · live · order held while pointing · live sort "
                          "resumes when you move away")
    proxy.set_hold("pointer", False)
    assert layouts == [1]
    assert shown(proxy) == reference(model, PositionColumn.MARK, DESC, False)
    assert hints[-1] == proxy.hint == "sorted by Mark · live"


def test_a_header_click_sorts_at_once_even_while_held(qapp: QApplication) -> None:
    rows = random_rows(11, 25)
    model, proxy = loaded(rows)
    proxy.set_hold("pointer", True)
    proxy.sort(PositionColumn.QUANTITY, DESC)
    assert shown(proxy) == reference(model, PositionColumn.QUANTITY, DESC, False)
    proxy.sort(PositionColumn.ACCOUNT, ASC)
    assert not proxy.live and proxy.hint == "sorted by Account"


def test_the_current_row_and_selection_follow_their_row_across_re_sorts(
    qapp: QApplication,
) -> None:
    rows = random_rows(12, 40)
    model, proxy = loaded(rows)
    proxy.sort(PositionColumn.PNL, ASC)
    selection = QItemSelectionModel(proxy)
    key = shown(proxy)[3]
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect \
        | QItemSelectionModel.SelectionFlag.Rows
    selection.setCurrentIndex(proxy.index(3, PositionColumn.SYMBOL), flags)
    reprice(model, key, "999999999")
    proxy.resort_if_due()  # a live re-sort moves it down
    assert shown(proxy) == reference(model, PositionColumn.PNL, ASC, False)
    assert proxy.proxy_row_of(key) != 3
    for column, order, grouped in [(PositionColumn.PNL, ASC, False),
                                   (PositionColumn.SYMBOL, DESC, True),
                                   (PositionColumn.PNL, ASC, False)]:
        if column != PositionColumn.PNL:
            proxy.set_group_by_account(grouped)
            proxy.sort(column, order)
        elif grouped is False and proxy.group_by_account:
            proxy.set_group_by_account(False)
        current = selection.currentIndex()
        assert proxy.key_at(current.row()) == key
        assert current.column() == PositionColumn.SYMBOL
        assert [proxy.key_at(i.row()) for i in selection.selectedRows()] == [key]


def test_no_work_per_row_that_grows_with_the_table(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row that arrives costs one sort key, and so does a repriced one; the live re-sort
    builds none; the accounts are kept as rows come and go, never scanned."""
    built: list[int] = []
    real = proxy_module.build_keys

    def counting(rows: Any, *args: Any) -> Any:
        rows = list(rows)
        built.append(len(rows))
        return real(rows, *args)

    monkeypatch.setattr(proxy_module, "build_keys", counting)
    rows = random_rows(13)
    model, proxy = loaded(rows[:80])
    proxy.sort(PositionColumn.PNL, ASC)
    accounts_changed: list[int] = []
    model.accountsChanged.connect(lambda: accounts_changed.append(1))
    built.clear()
    model.upsert(rows[80])
    assert built == [1]
    built.clear()
    for key in shown(proxy)[:10]:
        reprice(model, key, "3")
    assert built == [1] * 10
    built.clear()
    proxy.resort_if_due()
    assert built == []
    assert shown(proxy) == reference(model, PositionColumn.PNL, ASC, False)
    # A new account appears once; the last row of an account going is the other change.
    model.upsert(Position(PositionKey("brand new", QFEX, "X"), PositionSide.LONG, D(1)))
    model.upsert(Position(PositionKey("brand new", QFEX, "Y"), PositionSide.LONG, D(1)))
    assert accounts_changed == [1] and "brand new" in model.accounts()
    model.remove(PositionKey("brand new", QFEX, "X"))
    assert accounts_changed == [1]
    model.remove(PositionKey("brand new", QFEX, "Y"))
    assert accounts_changed == [1, 1] and "brand new" not in model.accounts()


def test_changed_cells_are_reported_on_the_shown_rows(qapp: QApplication) -> None:
    rows = random_rows(14, 30)
    model, proxy = loaded(rows)
    proxy.sort(PositionColumn.SYMBOL, ASC)
    changes: list[tuple[int, int, int, int]] = []

    def on(top: QModelIndex | QPersistentModelIndex, bottom: QModelIndex | QPersistentModelIndex,
           _roles: list[int]) -> None:
        changes.append((top.row(), top.column(), bottom.row(), bottom.column()))

    proxy.dataChanged.connect(on)
    key = shown(proxy)[7]
    reprice(model, key, "-42")
    assert changes == [(7, PositionColumn.PNL, 7, PositionColumn.PNL)]
    assert proxy.index(7, PositionColumn.PNL).data() == "-42.00"
    changes.clear()
    for key in shown(proxy):  # a batch beyond the row-by-row limit: the column, once
        model.queue_upsert(repriced(model, key, "5"))
    model.flush()
    assert changes == [(0, PositionColumn.PNL, 29, PositionColumn.PNL)]


def test_sorted_and_filtered_proxy_passes_qtmodeltester(
    qapp: QApplication, qtmodeltester: ModelTester
) -> None:
    rows = random_rows(15, 40)
    model, proxy = loaded(rows)
    proxy.set_group_by_account(True)
    proxy.sort(PositionColumn.PNL, DESC)
    proxy.set_symbol_filter("e")
    for key in shown(proxy)[:5]:
        reprice(model, key, "77")
    proxy.resort_if_due()
    qtmodeltester.check(proxy, force_py=True)


def test_unsorted_shows_rows_as_they_arrived(qapp: QApplication) -> None:
    rows = random_rows(16, 12)
    model, proxy = loaded(rows)
    assert proxy.sortColumn() == -1
    assert shown(proxy) == [p.key for p in rows]
    assert proxy.mapToSource(proxy.index(2, 1)).row() == 2
    assert proxy.mapFromSource(model.index(5, 3)).row() == 5


def test_rows_keep_their_numbers_through_many_removals_and_arrivals(
    qapp: QApplication, qtmodeltester: ModelTester
) -> None:
    """Removals renumber lazily (a flatten must not pass over every row per close): every
    key still finds its row, in both models, through any mix of removals and arrivals."""
    rng = random.Random(17)
    keys = [PositionKey(f"a{i % 9}", QFEX, f"S{i:04d}") for i in range(600)]
    model, proxy = loaded([])
    proxy.sort(PositionColumn.SYMBOL, DESC)
    live: list[PositionKey] = []
    for step in range(900):
        if live and rng.random() < 0.45:
            model.remove(live.pop(rng.randrange(len(live))))
        else:
            key = keys[step % len(keys)]
            model.upsert(Position(key, PositionSide.LONG, D(1 + step % 5)))
            if key not in live:
                live.append(key)
        if step % 150 == 0:
            assert [model.key_at(r) for r in range(model.rowCount())] == live
    assert [model.key_at(r) for r in range(model.rowCount())] == live
    assert all(model.row_of(k) == i for i, k in enumerate(live))
    assert shown(proxy) == sorted(live, key=lambda k: k.symbol, reverse=True)
    assert all(proxy.key_at(proxy.proxy_row_of(k) or 0) == k for k in live)
    qtmodeltester.check(model, force_py=True)


def test_a_flush_brings_its_new_rows_in_as_one_range(qapp: QApplication) -> None:
    """Rows that arrive together are one insert into the model, not one per slice, so the
    table places them once."""
    model, proxy = loaded(random_rows(18, 10))
    proxy.sort(PositionColumn.PNL, ASC)
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    for i in range(600):
        model.queue_upsert(Position(PositionKey("bulk", EVERSTRIKE, f"B{i:03d}"),
                                    PositionSide.SHORT, D(i + 1), unrealised_pnl=D(i % 13)))
    model.flush()
    assert inserted == [(10, 609)]
    assert shown(proxy) == reference(model, PositionColumn.PNL, ASC, False)
