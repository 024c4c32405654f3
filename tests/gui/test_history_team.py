"""The History tab in team mode against a real PostgreSQL: "All desks" shows every desk's
records with the desk and operator, "This desk" the local journal; new records of another
desk come in at the top or are counted; the database going away is said, and its return
resumes; filters (and a Desk filter) and "Show in History" narrow the shared journal. Solo
mode has no picker and no Desk column. Export on "All desks" writes every desk's filtered
records with the desk, or says why it could not and leaves no file."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import pytest_asyncio
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication, QHeaderView, QTabWidget
from pytestqt.modeltest import ModelTester

from core.journal import Journal
from core.model import PositionKey
from core.team.history import TeamHistory
from gui.controllers.row_menu import RowMenu
from gui.history import ALL_DESKS, THIS_DESK, UNREACHABLE, HistoryView
from gui.models.history import HistoryModel
from gui.models.team_history import TeamColumn, TeamHistoryModel
from tests.gui.conftest import until
from tests.helpers.postgres import TeamDatabase, team_cluster, team_db
from tests.helpers.team_records import history, register, store, write
from tests.helpers.windows import dispose

__all__ = ["team_cluster", "team_db"]

PAGE, CAP = 50, 150


class Desks(SimpleNamespace):
    view: HistoryView
    mine: Journal  # this desk's local journal (Desk 1)
    other: Journal  # another desk's (Desk 2), stored as its replicator would
    source: TeamHistory
    db: TeamDatabase


@pytest_asyncio.fixture
async def desks(qapp: QApplication, team_db: TeamDatabase,
                tmp_path: Path) -> AsyncIterator[Desks]:
    register(team_db, ("d1", "Desk 1"), ("d2", "Desk 2"))
    mine = Journal(tmp_path / "1.sqlite3", operator="maria")
    other = Journal(tmp_path / "2.sqlite3", operator="li")
    for start in (0, 40):  # two desks' batches, interleaved
        store(team_db, "d1", write(mine, 40, start=start))
        store(team_db, "d2", write(other, 30, start=start))
    source = history(team_db)
    view = HistoryView(mine, poll_ms=3_600_000, page_size=PAGE, max_rows=CAP)
    view.set_team(source)
    view.resize(1200, 400)
    view.show()
    team = view.teamModel
    assert team is not None
    await until(lambda: team.rowCount() > 0 and not team.busy, what="the first page")
    await until(lambda: view.table.verticalScrollBar().maximum() > 0, what="laid out")
    try:
        yield Desks(view=view, mine=mine, other=other, source=source, db=team_db)
    finally:
        await view.tracker.join(timeout=30)
        view.shutdown()
        dispose(view)
        await source.close()
        mine.close()
        other.close()


def team_of(view: HistoryView) -> TeamHistoryModel:
    assert view.teamModel is not None and view.model is view.teamModel
    return view.teamModel


def keys(model: TeamHistoryModel) -> list[tuple[str, int]]:
    return [(r.desk_id, r.record.seq) for r in model.rows]


def cell(model: TeamHistoryModel, row: int, col: TeamColumn,
         role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole) -> object:
    return model.data(model.index(row, col), role)


async def settle(view: HistoryView) -> None:
    await view.tracker.join(timeout=30)


@pytest.mark.asyncio
async def test_all_desks_is_the_default_and_shows_each_records_desk_and_operator(
    desks: Desks,
) -> None:
    view = desks.view
    model = team_of(view)
    assert view.sourceBox.isVisible() and view.sourceBox.currentText() == ALL_DESKS
    assert view.deskFilter.isVisible()
    titles = [view.table.model().headerData(c, Qt.Orientation.Horizontal)
              for c in range(view.table.model().columnCount())]
    assert titles[:4] == ["Seq", "Time", "Desk", "Kind"] and "Operator" in titles
    # The newest batch first: Desk 2's 30, then Desk 1's 40.
    assert keys(model)[:31] == [("d2", s) for s in range(60, 30, -1)] + [("d1", 80)]
    assert {(cell(model, row, TeamColumn.DESK), cell(model, row, TeamColumn.OPERATOR))
            for row in range(model.rowCount())} == {("Desk 1", "maria"), ("Desk 2", "li")}
    assert cell(model, 0, TeamColumn.DESK, Qt.ItemDataRole.ToolTipRole) == \
        "Desk 2 (desk id d2)"
    assert view.statusLabel.text() == \
        f"{PAGE} records of every desk shown; scroll down for older ones."

    view.table.selectRow(0)
    assert view.detail.title.text() == "Desk 2 · record #60 · intent"
    assert "Desk:      Desk 2 (desk id d2)" in view.detail.text.toPlainText()
    ticket = view.detail.ticket()
    assert ticket is not None and ticket.startswith("Desk: Desk 2 (desk id d2)\n")


@pytest.mark.asyncio
async def test_this_desk_and_all_desks_switch_the_table(desks: Desks) -> None:
    view = desks.view
    view.sourceBox.setCurrentText(THIS_DESK)
    assert isinstance(view.model, HistoryModel) and view.table.model() is view.model
    assert view.model.columnCount() == 10 and not view.deskFilter.isVisible()
    assert [r.seq for r in view.model.records[:3]] == [80, 79, 78]
    assert {r.operator for r in view.model.records} == {"maria"}
    assert not team_of_or_none(view).active  # hidden source: nothing held

    view.sourceBox.setCurrentText(ALL_DESKS)
    model = team_of(view)
    assert model.rowCount() == 0 and view.statusLabel.text() == "Loading…"  # not frozen
    await until(lambda: model.rowCount() > 0 and not model.busy, what="the shared page")
    assert view.table.model() is model and model.columnCount() == 11
    header = view.table.horizontalHeader()  # only the payload column takes what width is left
    assert [c for c in range(11) if header.sectionResizeMode(c) is
            QHeaderView.ResizeMode.Stretch] == [TeamColumn.PAYLOAD]
    assert keys(model)[0] == ("d2", 60)
    assert not view.localModel.active


def team_of_or_none(view: HistoryView) -> TeamHistoryModel:
    assert view.teamModel is not None
    return view.teamModel


@pytest.mark.asyncio
async def test_another_desks_records_come_in_at_the_top_when_following(desks: Desks) -> None:
    view = desks.view
    model = team_of(view)
    assert model.following
    store(desks.db, "d2", write(desks.other, 3, start=100))
    view.poll()
    await settle(view)
    assert keys(model)[:4] == [("d2", 63), ("d2", 62), ("d2", 61), ("d2", 60)]
    # This desk's own records too, once stored (never from the local journal as well).
    store(desks.db, "d1", write(desks.mine, 2, start=100))
    view.poll()
    await settle(view)
    top = keys(model)[:3]
    assert top == [("d1", 82), ("d1", 81), ("d2", 63)]
    assert len(set(keys(model))) == model.rowCount()


@pytest.mark.asyncio
async def test_while_reading_further_down_new_records_are_counted_then_jumped_to(
    desks: Desks,
) -> None:
    view = desks.view
    model = team_of(view)
    bar = view.table.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    assert not model.following
    before = keys(model)
    store(desks.db, "d2", write(desks.other, 4, start=100))
    view.poll()
    await settle(view)
    assert keys(model) == before  # nothing moved under the reader
    assert view.jumpButton.isVisible()
    assert view.jumpButton.text() == "4 new records — jump to newest"
    store(desks.db, "d1", write(desks.mine, 1, start=100))
    view.poll()
    await settle(view)
    assert view.jumpButton.text() == "5 new records — jump to newest"

    view.jumpButton.click()
    await settle(view)
    assert keys(model)[:6] == [("d1", 81), ("d2", 64), ("d2", 63), ("d2", 62), ("d2", 61),
                               ("d2", 60)]
    assert not view.jumpButton.isVisible() and model.following


@pytest.mark.asyncio
async def test_paging_down_and_back_up_brings_each_record_once(desks: Desks) -> None:
    model = TeamHistoryModel(desks.source, desks.view.tracker, page_size=PAGE,
                             max_rows=2 * PAGE)
    model.set_active(True)
    await model.idle()
    seen = list(keys(model))
    while model.more_older:
        last = model.rows[-1].stored_id
        task = model.fetch_older()
        assert task is not None
        await task
        seen += [(r.desk_id, r.record.seq) for r in model.rows if r.stored_id < last]
        assert model.rowCount() <= CAP
    assert model.more_newer  # the newest left the window past the cap
    everything = {(d, s) for d, n in (("d1", 80), ("d2", 60)) for s in range(1, n + 1)}
    assert set(seen) == everything and len(seen) == len(everything)
    back: list[tuple[str, int]] = []
    while model.more_newer:
        first = model.rows[0].stored_id
        task = model.fetch_newer()
        assert task is not None
        await task
        back += [(r.desk_id, r.record.seq) for r in model.rows if r.stored_id > first]
    assert len(back) == len(set(back)) == 40  # the 40 that left the top, once each
    assert keys(model) == seen[:2 * PAGE] and model.more_older
    model.set_active(False)
    model.deleteLater()


@pytest.mark.asyncio
async def test_the_database_going_away_is_said_and_its_return_resumes(desks: Desks) -> None:
    view = desks.view
    model = team_of(view)
    shown = keys(model)
    desks.db.cluster.kill()
    try:
        view.poll()
        await settle(view)
        assert model.error is not None
        assert view.statusLabel.text().startswith(f"{UNREACHABLE} (")
        assert f"showing the {len(shown)} records loaded before" in view.statusLabel.text()
        assert keys(model) == shown  # what it has stays
    finally:
        desks.db.cluster.restart()
    store(desks.db, "d2", write(desks.other, 2, start=100))
    view.poll()
    await settle(view)
    assert model.error is None
    assert keys(model)[:3] == [("d2", 62), ("d2", 61), ("d2", 60)]
    assert view.statusLabel.text().endswith("scroll down for older ones.")


@pytest.mark.asyncio
async def test_a_first_load_that_fails_says_so_and_the_poll_loads_it_later(
    desks: Desks,
) -> None:
    view = desks.view
    model = team_of(view)
    desks.db.cluster.kill()
    try:
        view.refresh()
        await settle(view)
        assert model.rowCount() == 0
        assert "choose “This desk” for this desk's records" in view.statusLabel.text()
    finally:
        desks.db.cluster.restart()
    view.poll()
    await settle(view)
    assert model.error is None and keys(model)[0] == ("d2", 60)


@pytest.mark.asyncio
async def test_filters_and_the_desk_filter_narrow_the_shared_journal(desks: Desks) -> None:
    view = desks.view
    model = team_of(view)
    await settle(view)
    assert [view.deskFilter.itemText(i) for i in range(3)] == ["Any desk", "Desk 1", "Desk 2"]
    view.deskFilter.setCurrentIndex(view.deskFilter.findData("d1"))
    await settle(view)
    assert {d for d, _ in keys(model)} == {"d1"} and keys(model)[0] == ("d1", 80)
    view.symbolFilter.setCurrentIndex(view.symbolFilter.findData("ETH"))
    await settle(view)
    assert model.rowCount() > 0
    assert all(r.desk_id == "d1" and r.record.symbol == "ETH" for r in model.rows)

    # "Show in History" of a position: that account and symbol, every desk.
    tabs = QTabWidget()
    try:
        window = SimpleNamespace(historyView=view, bottomTabs=tabs)
        RowMenu.show_history(SimpleNamespace(window=window), PositionKey("beta", "qfex", "SOL"))
        view.deskFilter.setCurrentIndex(0)
        await settle(view)
        assert model.rowCount() > 0
        assert {r.desk_id for r in model.rows} == {"d1", "d2"}
        assert all((r.record.account, r.record.symbol) == ("beta", "SOL") for r in model.rows)
    finally:
        dispose(tabs)


def test_solo_mode_has_no_picker_no_desk_column_and_never_imports_psycopg(
    qapp: QApplication, tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "j.sqlite3", operator="maria")
    view = HistoryView(journal, poll_ms=3_600_000)
    try:
        view.show()
        assert not view.sourceBox.isVisible() and not view.deskFilter.isVisible()
        titles = [view.model.headerData(c, Qt.Orientation.Horizontal)
                  for c in range(view.model.columnCount(QModelIndex()))]
        assert "Desk" not in titles and view.teamModel is None
    finally:
        view.shutdown()
        dispose(view)
        journal.close()
    probe = ("import sys; import gui.history, gui.main_window; "
             "print('psycopg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=120,
                         env={**os.environ, "QT_QPA_PLATFORM": "offscreen",
                              "PYTHONPATH": str(Path.cwd())})
    assert out.stdout.strip() == "False"


@pytest.mark.asyncio
async def test_the_team_model_passes_qtmodeltester_while_it_pages_and_follows(
    desks: Desks, qtmodeltester: ModelTester
) -> None:
    model = TeamHistoryModel(desks.source, desks.view.tracker, page_size=PAGE, max_rows=CAP)
    try:
        model.set_active(True)
        await model.idle()
        qtmodeltester.check(model, force_py=True)  # it asks for more: a page comes, once
        await model.idle()
        assert model.rowCount() == 2 * PAGE and len(set(keys(model))) == 2 * PAGE
        store(desks.db, "d2", write(desks.other, 3, start=100))
        task = model.poll_new()
        assert task is not None
        await task  # the tester, still connected, checked each change as it came
        assert keys(model)[0] == ("d2", 63) and model.rowCount() == 2 * PAGE + 3
    finally:
        model.set_active(False)


def partials(folder: Path) -> list[Path]:
    return list(folder.glob(".*.partial"))


def beta_rows(j: Journal, seqs: range) -> list[int]:
    return [r.seq for r in j.records(after=0, limit=1000)
            if r.account == "beta" and r.seq in seqs]


@pytest.mark.asyncio
async def test_export_on_all_desks_writes_both_desks_filtered_records_with_the_desk(
    desks: Desks, tmp_path: Path
) -> None:
    view = desks.view
    await settle(view)  # the pickers are filled from the shared journal
    assert view.exportButton.isEnabled()
    view.accountFilter.setCurrentIndex(view.accountFilter.findData("beta"))
    await settle(view)
    exported: list[tuple[str, int]] = []
    view.exported.connect(lambda path, n: exported.append((path, n)))
    view.exportButton.click()  # the file dialog, opened with open(): nothing blocks
    dialog = view.fileDialog
    assert dialog is not None and dialog.isVisible()
    target = tmp_path / "team.csv"
    dialog.fileSelected.emit(str(target))  # what choosing a file does
    dialog.reject()
    task = view._export_task
    assert task is not None and not view.exportButton.isEnabled()
    assert view.start_export(tmp_path / "second.csv", "csv") is None  # one at a time
    await task
    assert view.exportButton.isEnabled()
    # Stored as two batches of each desk in turn: that order, oldest first.
    want = ([("d1", s) for s in beta_rows(desks.mine, range(1, 41))]
            + [("d2", s) for s in beta_rows(desks.other, range(1, 31))]
            + [("d1", s) for s in beta_rows(desks.mine, range(41, 81))]
            + [("d2", s) for s in beta_rows(desks.other, range(31, 61))])
    assert exported == [(str(target), len(want))]
    assert view.statusLabel.text() == f"Exported {len(want)} records to {target}."
    with target.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert [(r["desk_id"], int(r["seq"])) for r in rows] == want
    assert {(r["desk_id"], r["desk_name"], r["operator"]) for r in rows} == {
        ("d1", "Desk 1", "maria"), ("d2", "Desk 2", "li")}
    assert {r["account"] for r in rows} == {"beta"}
    assert target.stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "second.csv").exists()

    view.deskFilter.setCurrentIndex(view.deskFilter.findData("d2"))  # and JSONL
    await settle(view)
    lines = tmp_path / "d2.jsonl"
    task = view.start_export(lines, "jsonl")
    assert task is not None
    assert await task == len(beta_rows(desks.other, range(1, 61)))
    got = [json.loads(line) for line in lines.read_text(encoding="utf-8").splitlines()]
    assert [(g["desk_id"], g["desk_name"], g["seq"]) for g in got] == [
        ("d2", "Desk 2", s) for s in beta_rows(desks.other, range(1, 61))]
    assert not partials(tmp_path)


@pytest.mark.asyncio
async def test_an_export_on_all_desks_that_fails_says_so_and_leaves_no_file(
    desks: Desks, tmp_path: Path
) -> None:
    view = desks.view
    failed: list[str] = []
    view.exportFailed.connect(failed.append)
    target = tmp_path / "team.csv"
    desks.db.cluster.kill()
    try:
        task = view.start_export(target, "csv")
        assert task is not None
        assert await task == 0
    finally:
        desks.db.cluster.restart()
    assert len(failed) == 1 and failed[0].startswith(f"{UNREACHABLE} (")
    assert view.statusLabel.text() == f"Export failed: {failed[0]}. No file was written."
    assert view.exportButton.isEnabled()
    assert not target.exists() and not partials(tmp_path)
