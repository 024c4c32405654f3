"""The History tab: a bounded window paged by keyset over a big journal, both ways; nothing held
or asked while hidden; filters; new records arriving (and not moving the rows under a reader
further down); export."""

from __future__ import annotations

import asyncio
import csv
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QDateTime, QModelIndex, QPoint, Qt
from PySide6.QtWidgets import QApplication, QTabWidget, QWidget
from pytestqt.modeltest import ModelTester

from core.journal import Journal, JournalEntry, JournalFilter
from gui.history import (
    MAX_PAGES,
    PAGE_SIZE,
    PAYLOAD_CHARS,
    HistoryColumn,
    HistoryModel,
    HistoryView,
    export_history,
)
from tests.gui.conftest import until
from tests.helpers.windows import kept

ACCOUNTS = ("alpha", "beta", "gamma")
SYMBOLS = ("AAPL-USD", "MSFT-USD", "USD_ETH_PERP", "USD_BTC_PERP")
KINDS = ("intent", "request", "order_update", "fill", "connection")


def entries(n: int, start: int = 0) -> Iterator[JournalEntry]:
    for i in range(start, start + n):
        yield JournalEntry(
            kind=KINDS[i % len(KINDS)],
            payload={"i": i, "note": "x" * (i % 7)},
            account=ACCOUNTS[i % len(ACCOUNTS)],
            venue="qfex" if i % 2 else "everstrike",
            symbol=SYMBOLS[i % len(SYMBOLS)],
            reason=f"T-{i}" if i % 10 == 0 else None,
            latency_ms=1.25 if i % 5 == 1 else None,
        )


class ReadCountingJournal(Journal):
    """A real journal that counts the reads the History makes, and whose appends return once
    the records are readable (a journal with a group-commit writer has ``flush``)."""

    reads = 0

    def _written(self) -> None:
        flush = getattr(self, "flush", None)
        if callable(flush):
            flush()

    def append(self, *args: Any, **kwargs: Any) -> Any:
        result = super().append(*args, **kwargs)
        self._written()
        return result

    def append_many(self, *args: Any, **kwargs: Any) -> Any:
        result = super().append_many(*args, **kwargs)
        self._written()
        return result

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return super().query(*args, **kwargs)

    def count(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return super().count(*args, **kwargs)

    def last_seq(self) -> int:
        self.reads += 1
        return super().last_seq()

    def distinct(self, *args: Any, **kwargs: Any) -> Any:
        self.reads += 1
        return super().distinct(*args, **kwargs)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[ReadCountingJournal]:
    j = ReadCountingJournal(tmp_path / "journal.sqlite3", operator="tester",
                            operator_name="Desk 3")
    yield j
    j.close()


@pytest.fixture
def view(qapp: QApplication, journal: Journal) -> Iterator[HistoryView]:
    journal.append_many(entries(1200))
    v = HistoryView(journal, poll_ms=3_600_000)
    v.resize(1200, 500)
    v.show()
    with kept(v, HistoryView.shutdown):
        yield v


def seqs(model: HistoryModel) -> list[int]:
    return [r.seq for r in model.records]


# ============================================================================ the model


def test_history_model_passes_qtmodeltester(
    qapp: QApplication, qtmodeltester: ModelTester, journal: Journal
) -> None:
    journal.append_many(entries(1200))
    model = HistoryModel(journal, active=True)
    assert model.rowCount() == PAGE_SIZE
    qtmodeltester.check(model, force_py=True)
    empty = HistoryModel(None, active=True)
    assert empty.rowCount() == 0 and not empty.canFetchMore(QModelIndex())
    qtmodeltester.check(empty, force_py=True)


def test_columns_show_the_record(qapp: QApplication, journal: Journal) -> None:
    long_payload = {"text": "y" * 500}
    journal.append("intent", long_payload, account="alpha", venue="qfex", symbol="AAPL-USD",
                   reason="TICKET-9", latency_ms=12.345)
    journal.flush()  # History shows what is on disk
    model = HistoryModel(journal, active=True)

    def cell(col: HistoryColumn, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return model.data(model.index(0, col), role)

    assert cell(HistoryColumn.SEQ) == "1"
    assert cell(HistoryColumn.KIND) == "intent"
    assert cell(HistoryColumn.ACCOUNT) == "alpha"
    assert cell(HistoryColumn.VENUE) == "QFEX"  # the display name, as everywhere else
    assert cell(HistoryColumn.SYMBOL) == "AAPL-USD"
    assert cell(HistoryColumn.OPERATOR) == "tester (Desk 3)"
    assert cell(HistoryColumn.REASON) == "TICKET-9"
    assert cell(HistoryColumn.LATENCY) == "12.3"
    shown = cell(HistoryColumn.PAYLOAD)
    assert isinstance(shown, str) and len(shown) == PAYLOAD_CHARS and shown.endswith("…")
    tip = cell(HistoryColumn.PAYLOAD, Qt.ItemDataRole.ToolTipRole)
    assert isinstance(tip, str) and json.loads(tip) == long_payload  # whole, pretty-printed
    assert [model.headerData(c, Qt.Orientation.Horizontal) for c in HistoryColumn] == [
        "Seq", "Time", "Kind", "Account", "Venue", "Symbol", "Operator", "Reason",
        "Latency ms", "Payload"]


@pytest.mark.asyncio
async def test_a_big_journal_is_paged_never_loaded_whole(
    qapp: QApplication, journal: Journal
) -> None:
    journal.append_many(entries(200_000))
    view = HistoryView(journal, poll_ms=3_600_000)
    view.resize(1200, 500)
    view.show()
    try:
        model = view.model
        assert model.rowCount() == PAGE_SIZE  # the newest page only
        assert model.pages_fetched == 1
        assert seqs(model)[:3] == [200_000, 199_999, 199_998]
        assert model.canFetchMore(QModelIndex())
        # Scrolling to the bottom is what asks for the next page (the view calls fetchMore).
        view.table.scrollToBottom()
        await until(lambda: model.rowCount() == 2 * PAGE_SIZE, what="the second page")
        assert model.pages_fetched == 2
        assert seqs(model) == list(range(200_000, 200_000 - 2 * PAGE_SIZE, -1))
        assert "scroll down for older ones" in view.statusLabel.text()
    finally:
        view.shutdown()
        view.close()
        shiboken6.delete(view)


def test_last_page_stops_fetching(qapp: QApplication, journal: Journal) -> None:
    journal.append_many(entries(1200))
    model = HistoryModel(journal, active=True)
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 1200
    assert not model.canFetchMore(QModelIndex())
    assert seqs(model) == list(range(1200, 0, -1))


# ============================================================================ the window


async def small_view(journal: Journal, *, page: int = 50, cap: int = 150) -> HistoryView:
    view = HistoryView(journal, poll_ms=3_600_000, page_size=page, max_rows=cap)
    view.resize(1000, 400)
    view.show()
    bar = view.table.verticalScrollBar()
    await until(lambda: bar.maximum() > 0, what="the table laid out")
    return view


def close_view(view: HistoryView) -> None:
    view.shutdown()
    view.close()
    shiboken6.delete(view)


def top_seq(view: HistoryView) -> int:
    """The record at the top of the viewport (what the reader reads)."""
    index = view.table.indexAt(QPoint(0, 0))
    assert index.isValid()
    return view.model.record(index.row()).seq


def test_rows_stay_bounded_while_100k_records_are_appended(
    qapp: QApplication, journal: ReadCountingJournal
) -> None:
    model = HistoryModel(journal, active=True)
    assert model.rowCount() == 0
    most = 0
    written = 0
    for size in (1, 7, 499, 500, 501, 2_000, 5_000, 10_000, 31_492, 50_000):
        journal.append_many(entries(size, start=written))
        written += size
        model.poll_new()
        most = max(most, model.rowCount())
        assert seqs(model)[0] == written  # following: the newest record is on top
        assert seqs(model) == sorted(seqs(model), reverse=True)
    assert written == 100_000
    assert most <= model.max_rows == MAX_PAGES * PAGE_SIZE
    # Scrolling all the way down holds no more than the cap either, and reaches the end.
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
        assert model.rowCount() <= model.max_rows
    assert seqs(model)[-1] == 1 and model.more_newer


@pytest.mark.asyncio
async def test_a_hidden_history_holds_nothing_and_asks_nothing(
    qapp: QApplication, journal: ReadCountingJournal
) -> None:
    journal.append_many(entries(1200))
    tabs = QTabWidget()
    tabs.addTab(QWidget(), "Order log")
    view = HistoryView(journal, poll_ms=10)
    tabs.addTab(view, "History")
    tabs.resize(1000, 500)
    tabs.show()
    try:
        assert not view.isVisible()
        assert view.model.rowCount() == 0 and journal.reads == 0  # built, never shown
        assert not view.pollTimer.isActive()

        tabs.setCurrentWidget(view)  # shown: the newest page, and the poll runs
        assert view.model.rowCount() == PAGE_SIZE and journal.reads > 0
        assert view.pollTimer.isActive()
        journal.append("fill", {"n": 1}, account="alpha")
        await until(lambda: view.model.rowCount() == PAGE_SIZE + 1, what="the polled record")

        tabs.setCurrentIndex(0)  # hidden: the rows go, the poll stops
        assert view.model.rowCount() == 0 and not view.pollTimer.isActive()
        reads = journal.reads
        journal.append_many(entries(100))
        await asyncio.sleep(0.1)  # ten poll intervals: none of them may run
        assert journal.reads == reads and view.model.rowCount() == 0

        tabs.setCurrentWidget(view)  # shown again: the newest page, new records included
        assert seqs(view.model)[0] == 1301 and view.model.rowCount() == PAGE_SIZE
    finally:
        view.shutdown()
        tabs.close()
        shiboken6.delete(tabs)


def test_keyset_paging_both_ways_brings_each_record_once(
    qapp: QApplication, journal: ReadCountingJournal
) -> None:
    journal.append_many(entries(1000))
    model = HistoryModel(journal, active=True, page_size=50, max_rows=150)
    arrived: list[int] = []
    left: list[int] = []
    model.rowsInserted.connect(lambda _p, first, last: arrived.extend(
        model.record(r).seq for r in range(first, last + 1)))
    model.rowsAboutToBeRemoved.connect(lambda _p, first, last: left.extend(
        model.record(r).seq for r in range(first, last + 1)))
    first_page = seqs(model)
    down = 0
    while model.canFetchMore(QModelIndex()):
        down += model.fetch_older()
        assert model.rowCount() <= 150
    assert first_page + arrived == list(range(1000, 0, -1))  # each once, newest to oldest
    assert down == 950 and seqs(model) == list(range(150, 0, -1))
    assert not model.more_older and model.more_newer
    arrived.clear()
    while model.more_newer:
        model.fetch_newer()
        assert model.rowCount() <= 150
    # Going up, each page comes newest-first above the window: each record once, in pages.
    pages = [arrived[i:i + 50] for i in range(0, len(arrived), 50)]
    assert [p[-1] for p in pages] == list(range(151, 1000, 50))
    assert sorted(arrived) == list(range(151, 1001))
    assert seqs(model) == list(range(1000, 850, -1))
    assert sorted(left) == sorted([*range(151, 1001), *range(1, 851)])  # once per visit
    assert model.following


def test_the_window_passes_qtmodeltester_while_it_pages_and_follows(
    qapp: QApplication, qtmodeltester: ModelTester, journal: ReadCountingJournal
) -> None:
    """The tester checks every change, and asks for more pages inside our own signals too."""
    journal.append_many(entries(1000))
    model = HistoryModel(journal, active=True, page_size=50, max_rows=150)
    qtmodeltester.check(model, force_py=True)
    while model.canFetchMore(QModelIndex()):
        model.fetch_older()
    while model.more_newer:
        model.fetch_newer()
    assert model.following and model.rowCount() <= 150
    for n in (1, 49, 50, 51, 400):
        journal.append_many(entries(n))
        assert model.poll_new() == min(n, 50)
        assert model.rowCount() <= 150 and seqs(model) == sorted(seqs(model), reverse=True)
    model.set_active(False)
    assert model.rowCount() == 0


@pytest.mark.asyncio
async def test_new_records_do_not_move_the_rows_under_a_reader_further_down(
    qapp: QApplication, journal: ReadCountingJournal
) -> None:
    journal.append_many(entries(1000))
    view = await small_view(journal)
    try:
        model = view.model
        bar = view.table.verticalScrollBar()
        bar.setValue(bar.maximum() // 2)
        assert not model.following
        before, reading = seqs(model), top_seq(view)
        journal.append_many(entries(30, start=1000))
        assert model.poll_new() == 0
        assert seqs(model) == before and top_seq(view) == reading  # nothing moved
        assert view.jumpButton.isVisible()
        assert view.jumpButton.text() == "30 new records — jump to newest"
        assert "scroll up for newer ones" in view.statusLabel.text()
        journal.append("fill", {"n": 1}, account="alpha")
        model.poll_new()
        assert view.jumpButton.text() == "31 new records — jump to newest"
        assert seqs(model) == before and top_seq(view) == reading

        view.jumpButton.click()
        assert seqs(model)[0] == 1031 and top_seq(view) == 1031
        assert not view.jumpButton.isVisible() and model.following
        journal.append("fill", {"n": 2}, account="alpha")
        assert model.poll_new() == 1 and top_seq(view) == 1032  # following again
    finally:
        close_view(view)


@pytest.mark.asyncio
async def test_under_a_filter_new_records_are_counted_not_shown(
    qapp: QApplication, journal: ReadCountingJournal
) -> None:
    journal.append_many(entries(1000))
    view = await small_view(journal)
    try:
        view.accountFilter.setCurrentIndex(view.accountFilter.findData("alpha"))
        bar = view.table.verticalScrollBar()
        bar.setValue(bar.maximum())
        before = seqs(view.model)
        journal.append("fill", {"n": 1}, account="beta")  # does not match
        journal.append("fill", {"n": 2}, account="alpha")
        journal.append("fill", {"n": 3}, account="alpha")
        view.model.poll_new()
        assert view.model.pending == 2 and seqs(view.model) == before
        assert view.jumpButton.text() == "2 new records — jump to newest"
    finally:
        close_view(view)


@pytest.mark.asyncio
async def test_paging_past_the_cap_keeps_the_row_being_read_in_place(
    qapp: QApplication, journal: ReadCountingJournal
) -> None:
    journal.append_many(entries(1000))
    view = await small_view(journal, page=50, cap=100)
    try:
        model, bar = view.model, view.table.verticalScrollBar()
        for _ in range(4):  # each step to the bottom fetches a page; past 100, the top goes
            reading = top_seq(view)
            bar.setValue(bar.maximum())
            assert model.rowCount() <= 100
            assert top_seq(view) <= reading  # the reader moved down, never jumped ahead
        assert model.more_newer
        assert "scroll up for newer ones, down for older ones" in view.statusLabel.text()
        window_top = seqs(model)[0]
        bar.setValue(bar.minimum())  # at the window's top: the newer page comes above it
        assert top_seq(view) == window_top  # and the row read stays put
        assert model.rowCount() <= 100
        while model.more_newer:
            bar.setValue(bar.minimum())
        bar.setValue(bar.minimum())
        assert top_seq(view) == 1000 and model.following
    finally:
        close_view(view)


# ============================================================================ filters


def test_pickers_come_from_the_journal(view: HistoryView) -> None:
    def items(box: object) -> list[str]:
        return [box.itemText(i) for i in range(box.count())]  # type: ignore[attr-defined]

    assert items(view.accountFilter) == ["All accounts", *sorted(ACCOUNTS)]
    assert items(view.symbolFilter) == ["All symbols", *sorted(SYMBOLS)]
    assert items(view.kindFilter) == ["All kinds", *sorted(KINDS)]


def test_account_symbol_and_kind_filters(view: HistoryView) -> None:
    model = view.model
    view.accountFilter.setCurrentIndex(view.accountFilter.findData("beta"))
    assert model.rowCount() == 400
    assert {r.account for r in model.records} == {"beta"}
    view.kindFilter.setCurrentIndex(view.kindFilter.findData("fill"))
    assert {(r.account, r.kind) for r in model.records} == {("beta", "fill")}
    assert model.rowCount() == len([i for i in range(1200) if i % 3 == 1 and i % 5 == 3])
    view.symbolFilter.setCurrentIndex(view.symbolFilter.findData("AAPL-USD"))
    assert all(r.symbol == "AAPL-USD" for r in model.records)
    assert model.filter == JournalFilter("beta", "AAPL-USD", frozenset({"fill"}))
    view.accountFilter.setCurrentIndex(0)
    view.kindFilter.setCurrentIndex(0)
    view.symbolFilter.setCurrentIndex(0)
    assert model.filter == JournalFilter()
    assert model.rowCount() == PAGE_SIZE


def test_time_range_filter(view: HistoryView) -> None:
    model = view.model
    now = QDateTime.currentDateTime()
    view.sinceInput.setDateTime(now.addSecs(3600))
    assert model.rowCount() == PAGE_SIZE  # unticked: the time is not a filter yet
    view.sinceCheck.setChecked(True)
    assert model.rowCount() == 0
    assert view.statusLabel.text() == "No records match the filters."
    view.sinceInput.setDateTime(now.addSecs(-3600))
    assert model.rowCount() == PAGE_SIZE
    view.untilCheck.setChecked(True)
    view.untilInput.setDateTime(now.addSecs(-1800))
    assert model.rowCount() == 0
    assert model.filter.since is not None and model.filter.until is not None


def test_new_records_appear_at_the_top_once(view: HistoryView, journal: Journal) -> None:
    model = view.model
    view.accountFilter.setCurrentIndex(view.accountFilter.findData("alpha"))
    top = seqs(model)[0]
    journal.append("fill", {"n": 1}, account="beta")  # filtered out
    journal.append("fill", {"n": 2}, account="alpha")
    journal.append("intent", {"n": 3}, account="alpha", reason="late")
    journal.flush()  # History shows what is on disk
    assert view.model.poll_new() == 2
    assert seqs(model)[:3] == [1203, 1202, top]
    assert model.poll_new() == 0  # nothing new: nothing added twice
    journal.append("fill", {"n": 4}, account="beta")
    journal.flush()
    assert model.poll_new() == 0
    journal.append("fill", {"n": 5}, account="alpha")
    journal.flush()
    assert model.poll_new() == 1 and seqs(model)[0] == 1205


@pytest.mark.asyncio
async def test_the_poll_timer_appends_new_records(qapp: QApplication, journal: Journal) -> None:
    view = HistoryView(journal, poll_ms=20)
    view.show()  # a hidden History polls nothing (see the tests below)
    try:
        assert view.model.rowCount() == 0
        journal.append("connection", {"state": "connected"}, account="alpha")
        await until(lambda: view.model.rowCount() == 1, what="the polled record")
    finally:
        view.shutdown()
        shiboken6.delete(view)


def test_refresh_picks_up_new_accounts(view: HistoryView, journal: Journal) -> None:
    journal.append("connection", {"state": "connected"}, account="delta")
    journal.flush()  # History shows what is on disk
    assert view.accountFilter.findData("delta") < 0
    view.refreshButton.click()
    assert view.accountFilter.findData("delta") >= 0
    assert view.model.records[0].account == "delta"


# ============================================================================ export


def test_export_writes_the_filtered_view_as_csv_and_jsonl(
    qapp: QApplication, journal: Journal, tmp_path: Path
) -> None:
    journal.append_many(entries(3000))
    where = JournalFilter(account="gamma", kinds=frozenset({"intent", "fill"}))
    expected = journal.count(where)
    assert 0 < expected < 3000
    out = tmp_path / "out.csv"
    assert export_history(journal, where, out, "csv") == expected
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == expected
    assert {r["account"] for r in rows} == {"gamma"}
    assert {r["kind"] for r in rows} == {"intent", "fill"}
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)  # oldest first
    assert out.stat().st_mode & 0o777 == 0o600
    jl = tmp_path / "out.jsonl"
    assert export_history(journal, where, jl, "jsonl") == expected
    lines = jl.read_text(encoding="utf-8").splitlines()
    assert len(lines) == expected
    assert all(json.loads(line)["account"] == "gamma" for line in lines)
    assert not list(tmp_path.glob(".*.partial"))


def test_a_failed_export_leaves_no_file(
    qapp: QApplication, journal: Journal, tmp_path: Path
) -> None:
    journal.append_many(entries(10))
    with pytest.raises(ValueError):
        export_history(journal, JournalFilter(), tmp_path / "x.xml", "xml")  # type: ignore[arg-type]
    assert not (tmp_path / "x.xml").exists()
    assert not list(tmp_path.glob(".*.partial"))


@pytest.mark.asyncio
async def test_export_button_path_exports_the_current_filter(
    view: HistoryView, tmp_path: Path
) -> None:
    view.kindFilter.setCurrentIndex(view.kindFilter.findData("connection"))
    exported: list[tuple[str, int]] = []
    view.exported.connect(lambda path, n: exported.append((path, n)))
    view.exportButton.click()  # the file dialog, opened with open(): nothing blocks
    dialog = view.fileDialog
    assert dialog is not None and dialog.isVisible()
    target = tmp_path / "history.jsonl"
    dialog.fileSelected.emit(str(target))  # what choosing a file does
    dialog.reject()
    task = view._export_task
    assert task is not None
    assert not view.exportButton.isEnabled()
    await task
    assert view.exportButton.isEnabled()
    assert exported == [(str(target), 240)]
    lines = (await asyncio.to_thread(target.read_text, encoding="utf-8")).splitlines()
    assert {json.loads(line)["kind"] for line in lines} == {"connection"}
    assert view.statusLabel.text() == f"Exported 240 records to {target}."


def test_journal_time_is_local_with_milliseconds(qapp: QApplication, journal: Journal) -> None:
    journal.append("intent", {})
    journal.flush()  # History shows what is on disk
    model = HistoryModel(journal, active=True)
    text = model.data(model.index(0, HistoryColumn.TIME))
    assert isinstance(text, str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", text)
    local = datetime.fromtimestamp(model.record(0).wall_time)
    assert text.startswith(local.strftime("%Y-%m-%d %H:%M:%S"))
