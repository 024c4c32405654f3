"""File → Export ▸ Positions / Working orders / Order log, driven through the real window's
menu: the CSV holds the columns, order and texts shown on screen, through the filters and in
the current sort, the positions' totals per currency, and no cell a spreadsheet would run."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.model import (
    OrderSide,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionSide,
    SessionHealth,
    TriggerEvent,
    WorkingKind,
    WorkingOrder,
)
from core.tables import POSITION_TITLES, WORKING_TITLES, position_texts
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models import PositionColumn, WorkingColumn
from gui.models.position_rows import BASE_COLUMNS
from tests.gui.test_grouped_rows import ALPHA, BETA, BOOK, GAMMA, RefdataSession
from tests.helpers.fakes import account
from tests.helpers.polling import until
from tests.helpers.windows import shut

D = Decimal
EVIL = '=HYPERLINK("http://evil.example/","x")'
WORKING = (
    WorkingOrder(QFEX, ALPHA, "AAPL-USD", "w-1", WorkingKind.LIMIT, OrderSide.SELL, D("5"),
                 remaining=D("5"), price=D("270.5"), raw_status="ACK"),
    WorkingOrder(QFEX, ALPHA, "TSLA-USD", "w-2", WorkingKind.TRIGGER, OrderSide.SELL, None,
                 trigger_price=D("150"), trigger_event=TriggerEvent.MARK,
                 raw_status="+TRIGGER_ACK"),
)


@pytest_asyncio.fixture
async def window(qapp: QApplication) -> AsyncIterator[tuple[MainWindow, dict[str, EventSink]]]:
    sinks: dict[str, EventSink] = {}

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> RefdataSession:
        s = RefdataSession(acct, creds, sink)
        s.health_now = SessionHealth(connected=True)
        s.initial = BOOK[acct.name]
        s.working = WORKING if acct.name == ALPHA else ()
        sinks[acct.name] = sink
        return s

    desk = Desk(session_factory=factory)
    w = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000)
    w.totals.timer.setInterval(5)
    w.resize(1400, 700)
    w.show()
    try:
        creds = Credentials("pub", "sec")
        assert await desk.start([(account(ALPHA), creds), (account(BETA, EVERSTRIKE), creds),
                                 (account(GAMMA), creds)]) == []
        w.bridge.flush()
        w.positions_model.flush()
        yield w, sinks
    finally:
        await shut(w, desk)


def to(tmp_path: Path) -> Callable[[str, str, Callable[[Path], None]], None]:
    """Instead of the save dialog: the suggested name, in ``tmp_path``."""
    return lambda _title, name, done: done(tmp_path / name)


async def export(w: MainWindow, action_name: str, tmp_path: Path) -> list[list[str]]:
    w.exporting.ask_path = to(tmp_path)
    w.exporting.task = None
    action = next(a for a in w.exporting.menu.actions() if a.objectName() == action_name)
    assert w.fileMenu.actions().count(w.exporting.menu.menuAction()) == 1  # File → Export ▸
    action.trigger()
    task = w.exporting.task
    assert task is not None
    assert await task >= 0
    return _read_export(tmp_path)


def _read_export(tmp_path: Path) -> list[list[str]]:
    """The one file written, read and removed; nothing else left behind."""
    paths = list(tmp_path.glob("*.csv"))
    assert len(paths) == 1 and not list(tmp_path.glob(".*"))  # no temporary file left
    raw = paths[0].read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF lines, as RFC 4180 has them
    with paths[0].open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    paths[0].unlink()
    return rows


@pytest.mark.asyncio
async def test_positions_export_as_shown_filtered_sorted_with_totals(
        qtbot: QtBot, window: tuple[MainWindow, dict[str, EventSink]], tmp_path: Path) -> None:
    w, _ = window
    # A symbol a venue could send that a spreadsheet would run as a formula.
    w.positions_model.upsert(Position(PositionKey(GAMMA, QFEX, EVIL), PositionSide.SHORT,
                                      D("1"), D("10"), D("12"), D("-2")))
    # Sorted by P&L, descending, with a click on its header; Everstrike filtered out.
    header = w.positionsView.horizontalHeader()
    x = header.sectionViewportPosition(PositionColumn.PNL) + 5
    for _ in range(2):  # the first click sorts, the second turns it round if need be
        if w.positions_proxy.sortColumn() == PositionColumn.PNL and \
                w.positions_proxy.sortOrder() == Qt.SortOrder.DescendingOrder:
            break
        qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(x, header.height() // 2))
    assert w.positions_proxy.sortColumn() == PositionColumn.PNL
    w.venueFilter.setCurrentIndex(w.venueFilter.findData(QFEX.value))
    rows = await export(w, "exportPositionsAction", tmp_path)
    assert rows[0] == ["Venue", "Account", "Env", "Symbol", "Side", "Quantity", "Entry",
                       "Mark", "Unrealised P&L"]
    assert rows[1:5] == [
        ["QFEX", ALPHA, "DEMO", "AAPL-USD", "Long", "25.00", "264.66", "264.66", "+364.00"],
        ["QFEX", GAMMA, "DEMO", "AAPL-USD", "Long", "10.00", "264.66", "264.66", "+145.60"],
        ["QFEX", GAMMA, "DEMO", "'" + EVIL, "Short", "1", "10", "12", "-2.00"],
        ["QFEX", ALPHA, "DEMO", "TSLA-USD", "Long", "3", "181.35", "181.35", "-4.05"],
    ]
    # Then the totals, as the strip sums them: all venues, each venue, each account, one row
    # per quote currency; the symbol with no reference data is in a currency not known ("?").
    usd, unknown = ["notional USD"], ["notional ?", "12.00", "-2.00"]
    assert rows[5:] == [
        ["All venues", "Total", "", "4 positions", "", "", *usd, "9807.15", "+505.55"],
        ["All venues", "Total", "", "4 positions", "", "", *unknown],
        ["QFEX", "Total", "", "4 positions", "", "", *usd, "9807.15", "+505.55"],
        ["QFEX", "Total", "", "4 positions", "", "", *unknown],
        ["QFEX", f"{ALPHA} total", "", "2 positions", "", "", *usd, "7160.55", "+359.95"],
        ["QFEX", f"{GAMMA} total", "", "2 positions", "", "", *usd, "2646.60", "+145.60"],
        ["QFEX", f"{GAMMA} total", "", "2 positions", "", "", *unknown],
    ]


@pytest.mark.asyncio
async def test_positions_totals_keep_currencies_apart_and_say_what_is_missing(
        window: tuple[MainWindow, dict[str, EventSink]], tmp_path: Path) -> None:
    w, _ = window
    w.positions_model.upsert(Position(PositionKey(BETA, EVERSTRIKE, "USD_SOL_PERP"),
                                      PositionSide.LONG, D("2")))  # no mark, no P&L
    rows = await export(w, "exportPositionsAction", tmp_path)
    totals = [r for r in rows if r[1] == "Total" and r[0] == "All venues"]
    assert totals == [
        ["All venues", "Total", "", "6 positions · P&L of 5 of 6 · notional of 5 of 6", "",
         "", "notional USD", "9807.15", "+505.55"],
        ["All venues", "Total", "", "6 positions · P&L of 5 of 6 · notional of 5 of 6", "",
         "", "notional USDT", "47585.88", "+1835.52"],
    ]


@pytest.mark.asyncio
async def test_working_orders_and_order_log_export_as_shown_and_guarded(
        window: tuple[MainWindow, dict[str, EventSink]], tmp_path: Path) -> None:
    w, sinks = window
    await until(lambda: w.working_model.rowCount() == 2)
    rows = await export(w, "exportWorkingAction", tmp_path)
    # The Age column as the window shows it at the moment of the export.
    ages = [w.working_model.index(r, WorkingColumn.AGE).data() for r in range(2)]
    assert rows == [
        ["Venue", "Account", "Symbol", "Kind", "Side", "Quantity", "Remaining", "Price",
         "Trigger", "Venue status", "Age"],
        ["QFEX", ALPHA, "AAPL-USD", "Limit", "Sell", "5.00", "5.00", "270.50", "", "ACK",
         ages[0]],
        ["QFEX", ALPHA, "TSLA-USD", "Trigger", "Sell", "All", "", "Market", "150.00 Mark",
         "'+TRIGGER_ACK", ages[1]],
    ]
    before = w.log_model.rowCount()
    sinks[GAMMA](OrderUpdate(QFEX, GAMMA, "AAPL-USD", OrderStatus.REJECTED, "REJECTED",
                             final=True, order_id="o-9", message=EVIL))
    w.bridge.flush()
    w.log_model.flush()
    await until(lambda: w.log_model.rowCount() == before + 1)
    rows = await export(w, "exportLogAction", tmp_path)
    assert rows[0] == [w.log_model.headerData(c, Qt.Orientation.Horizontal)
                       for c in range(w.log_model.columnCount())]
    assert len(rows) == before + 2
    shown = [[str(w.log_model.index(r, c).data() or "") for c in range(len(rows[0]))]
             for r in range(before + 1)]
    assert rows[1:-1] == shown[:-1]  # the connection lines, as painted
    message = rows[0].index("Message")
    assert shown[-1][message] == EVIL  # on screen as the venue sent it; in the file, inert
    assert rows[-1][message] == "'" + EVIL
    assert rows[-1][:message] == shown[-1][:message]


@pytest.mark.asyncio
async def test_the_save_dialog_is_opened_without_blocking_and_a_failed_write_says_so(
        window: tuple[MainWindow, dict[str, EventSink]], tmp_path: Path) -> None:
    w, _ = window
    w.exporting.positionsAction.trigger()  # the real dialog, opened with open()
    dialog = w.exporting.fileDialog
    assert dialog is not None and dialog.isVisible()
    assert dialog.selectedFiles()[0].endswith("closeout-positions.csv")
    dialog.reject()
    failed: list[str] = []
    w.exporting.exportFailed.connect(failed.append)
    w.exporting.ask_path = lambda _t, name, done: done(tmp_path / "missing-dir" / name)
    w.exporting.task = None
    w.exporting.workingAction.trigger()
    assert w.exporting.task is not None
    assert await w.exporting.task == 0
    assert failed and "missing-dir" in w.statusBar().currentMessage()
    assert not (tmp_path / "missing-dir").exists()


@pytest.mark.asyncio
async def test_the_cli_and_the_window_write_the_same_columns_and_cells(
        window: tuple[MainWindow, dict[str, EventSink]]) -> None:
    """The CLI's tables (core.tables) and the window's say the same thing the same way."""
    w, _ = window
    # The columns shown by default; the optional ones (notional, leverage...) are the window's.
    assert tuple(c.title for c in BASE_COLUMNS) == POSITION_TITLES
    # Age is the window's own (it ticks); the CLI prints a snapshot without it.
    assert tuple(c.title for c in WorkingColumn
                 if c.title and c is not WorkingColumn.AGE) == WORKING_TITLES
    model = w.positions_model
    assert len(model.records()) == 5
    for row in model.records():
        assert row.position is not None
        env = model.environment(row.key.account)
        assert position_texts(row.position, env, row.fmt) == row.texts
