"""History for support: choosing a record shows it whole in a detail pane (selectable,
copyable, pretty-printed, the reason in full), venues read as everywhere else, the rows fill
the tab, and "Copy as ticket" puts the record, its intent's whole story and its place in the
hash chain on the clipboard."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.journal import Journal, JournalEntry
from core.model import Venue
from gui.history import HistoryColumn, HistoryView
from gui.models.text import venue_label
from tests.helpers.windows import kept

REASON = ("Client INC-4411 asked to flatten before the close; confirmed by phone with J. Doe "
          "at 15:58, second approval by the desk head (recorded line 3)")
BIG = {"type": "add_order", "params": {"symbol": "AAPL-USD", "side": "SELL",
                                       "note": "z" * 400, "quantity": "12.5"}}


def _entries() -> Iterator[JournalEntry]:
    """Two closes interleaved, plus records that belong to no close."""
    yield JournalEntry("connection", {"state": "connected"}, account="desk-1", venue="qfex")
    yield JournalEntry("intent", {"full": True}, account="desk-1", venue="qfex",
                       symbol="AAPL-USD", reason=REASON, intent_id="intent-A")
    yield JournalEntry("intent", {"full": True}, account="desk-2", venue="everstrike",
                       symbol="USD_BTC_PERP", reason="other", intent_id="intent-B")
    yield JournalEntry("request", BIG, account="desk-1", venue="qfex", symbol="AAPL-USD",
                       reason=REASON, intent_id="intent-A")
    yield JournalEntry("order_update", {"status": "ACK"}, account="desk-2", venue="everstrike",
                       symbol="USD_BTC_PERP", intent_id="intent-B", latency_ms=4.5)
    yield JournalEntry("order_update", {"status": "FILLED", "price": "229.35"},
                       account="desk-1", venue="qfex", symbol="AAPL-USD",
                       intent_id="intent-A", latency_ms=12.25)
    yield JournalEntry("verified", {"flat": True}, account="desk-1", venue="qfex",
                       symbol="AAPL-USD", intent_id="intent-A")


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "journal.sqlite3", operator="sam", operator_name="Desk 3")
    j.append_many(_entries())
    j.flush()
    yield j
    j.close()


@pytest.fixture
def view(qapp: QApplication, journal: Journal) -> Iterator[HistoryView]:
    v = HistoryView(journal, poll_ms=3_600_000)
    v.resize(1280, 420)
    v.show()
    with kept(v, HistoryView.shutdown):
        yield v


def click_record(view: HistoryView, seq: int) -> None:
    row = view.model.row_of(seq)
    assert row is not None
    rect = view.table.visualRect(view.model.index(row, HistoryColumn.KIND))
    QTest.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, QPoint(rect.center()))


def test_a_clicked_record_is_shown_whole_and_can_be_copied(
    view: HistoryView, qtbot: QtBot
) -> None:
    assert not view.detail.copyTicketButton.isEnabled()  # nothing chosen yet
    click_record(view, 4)  # the request: a long payload, a long reason
    text = view.detail.text.toPlainText()
    assert text.startswith("Record #4 · request")
    assert REASON in text  # in full, not elided
    payload = text.split("Payload:\n", 1)[1]
    assert json.loads(payload) == BIG and '\n  "params": {\n' in payload  # pretty-printed
    assert "venue QFEX" in text
    assert view.detail.text.isReadOnly()
    # Selectable and copyable with the keyboard, as any text.
    QGuiApplication.clipboard().clear()
    view.detail.text.setFocus()
    qtbot.keyClick(view.detail.text, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(view.detail.text, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == text
    # The keyboard moves the choice too.
    view.table.setFocus()
    qtbot.keyClick(view.table, Qt.Key.Key_Down)
    assert view.detail.text.toPlainText().startswith("Record #3 · intent")


def test_venues_read_as_the_positions_table_and_the_reason_in_full(view: HistoryView) -> None:
    m = view.model
    for seq, venue in ((2, "qfex"), (3, "everstrike")):
        row = m.row_of(seq)
        assert row is not None
        assert m.data(m.index(row, HistoryColumn.VENUE)) == venue_label(Venue(venue))
    assert {m.data(m.index(r, HistoryColumn.VENUE)) for r in range(m.rowCount())} == {
        "QFEX", "Everstrike"}
    row = m.row_of(2)
    assert row is not None
    assert m.data(m.index(row, HistoryColumn.REASON), Qt.ItemDataRole.ToolTipRole) == REASON


def test_copy_as_ticket_holds_the_record_its_intents_story_and_the_chain(
    view: HistoryView, journal: Journal
) -> None:
    QGuiApplication.clipboard().clear()
    click_record(view, 6)  # intent-A's fill
    QTest.mouseClick(view.detail.copyTicketButton, Qt.MouseButton.LeftButton)
    ticket = QGuiApplication.clipboard().text()
    chosen = next(r for r in journal.query() if r.seq == 6)
    story = [r for r in journal.iter_all() if r.intent_id == "intent-A"]
    assert [r.seq for r in story] == [2, 4, 6, 7]
    assert ticket.startswith("Closeout audit journal record\n\nRecord #6 · order_update")
    assert "Intent intent-A: 4 records, oldest first" in ticket
    # Every record of the intent, in order, each with its hash; the chosen one marked.
    lines = [line for line in ticket.splitlines() if line.lstrip("→ ").startswith("#")]
    assert [int(line.lstrip("→ ").split()[0][1:]) for line in lines] == [2, 4, 6, 7]
    assert [line.startswith("→") for line in lines] == [False, False, True, False]
    for r in story:
        assert f"hash {r.hash}" in ticket
    assert "intent-B" not in ticket and '"ACK"' not in ticket  # another close's records
    assert REASON in ticket and '"quantity":"12.5"' in ticket  # the request, whole
    assert (f"Chain position: record #6 of 7 in the journal; hash {chosen.hash}, "
            f"previous {chosen.prev_hash}.") in ticket
    assert "Copied record #6 as a ticket" in view.statusLabel.text()


def test_the_rows_fill_the_tab(view: HistoryView) -> None:
    table = view.table
    header = table.horizontalHeader()
    # No gap at the right: the payload column takes what is left, at any width.
    assert header.length() >= table.viewport().width()
    view.resize(2600, 420)
    QApplication.processEvents()
    assert header.length() == table.viewport().width()
    assert header.sectionSize(HistoryColumn.PAYLOAD) > 200
    # The table and the pane take every pixel between the filters and the status line.
    below_bar = view.refreshButton.geometry().bottom()
    assert view.splitter.geometry().top() - below_bar <= 12
    assert view.statusLabel.geometry().top() - view.splitter.geometry().bottom() <= 12
    assert table.height() == view.splitter.height() == view.detail.height()
    assert view.detail.width() > 300 and table.width() > view.detail.width()
