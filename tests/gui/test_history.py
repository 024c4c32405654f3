"""The History tab: keyset paging over a big journal, filters, new records arriving, export."""

from __future__ import annotations

import asyncio
import csv
import gc
import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QDateTime, QModelIndex, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester

from core.journal import Journal, JournalEntry, JournalFilter
from gui.history import (
    PAGE_SIZE,
    PAYLOAD_CHARS,
    HistoryColumn,
    HistoryModel,
    HistoryView,
    export_history,
)
from tests.gui.conftest import until

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


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.sqlite3", operator="tester", operator_name="Desk 3")
    yield j
    j.close()


@pytest.fixture
def view(qapp: QApplication, journal: Journal) -> Iterator[HistoryView]:
    journal.append_many(entries(1200))
    v = HistoryView(journal, poll_ms=3_600_000)
    v.resize(1200, 500)
    v.show()
    try:
        yield v
    finally:
        v.shutdown()
        v.close()
        shiboken6.delete(v)
        gc.collect()


def seqs(model: HistoryModel) -> list[int]:
    return [r.seq for r in model.records]


# ============================================================================ the model


def test_history_model_passes_qtmodeltester(
    qapp: QApplication, qtmodeltester: ModelTester, journal: Journal
) -> None:
    journal.append_many(entries(1200))
    model = HistoryModel(journal)
    assert model.rowCount() == PAGE_SIZE
    qtmodeltester.check(model, force_py=True)
    empty = HistoryModel(None)
    assert empty.rowCount() == 0 and not empty.canFetchMore(QModelIndex())
    qtmodeltester.check(empty, force_py=True)


def test_columns_show_the_record(qapp: QApplication, journal: Journal) -> None:
    long_payload = {"text": "y" * 500}
    journal.append("intent", long_payload, account="alpha", venue="qfex", symbol="AAPL-USD",
                   reason="TICKET-9", latency_ms=12.345)
    journal.flush()  # History shows what is on disk
    model = HistoryModel(journal)

    def cell(col: HistoryColumn, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return model.data(model.index(0, col), role)

    assert cell(HistoryColumn.SEQ) == "1"
    assert cell(HistoryColumn.KIND) == "intent"
    assert cell(HistoryColumn.ACCOUNT) == "alpha"
    assert cell(HistoryColumn.VENUE) == "qfex"
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
    model = HistoryModel(journal)
    model.fetchMore(QModelIndex())
    model.fetchMore(QModelIndex())
    assert model.rowCount() == 1200
    assert not model.canFetchMore(QModelIndex())
    assert seqs(model) == list(range(1200, 0, -1))


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
    model = HistoryModel(journal)
    text = model.data(model.index(0, HistoryColumn.TIME))
    assert isinstance(text, str)
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", text)
    local = datetime.fromtimestamp(model.record(0).wall_time)
    assert text.startswith(local.strftime("%Y-%m-%d %H:%M:%S"))
