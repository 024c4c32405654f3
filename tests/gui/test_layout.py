"""Columns and a layout that persists, through the real window: the header's column chooser,
the optional columns, the View menu, and the layout saved on close and restored by the next
window on the same file (never the real home: each test has its own file under tmp_path)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QPoint, QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QMenu

from core.desk import Desk
from core.model import Position, PositionKey, PositionSide, SessionHealth
from core.numbers import trimmed
from core.sim.everstrike.settings import LEVERAGE as EVERSTRIKE_LEVERAGE
from core.sim.qfex.settings import LEVERAGE as QFEX_LEVERAGE
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.controllers.layout import AGE_REFRESH_MS
from gui.main_window import MainWindow
from gui.models import LogColumn, PositionColumn, WorkingColumn
from gui.models.positions import AGE_TIP, NOT_REPORTED, NOT_REPORTED_TIP
from tests.gui.test_close_workflow import running
from tests.helpers.clock import FakeClock
from tests.helpers.fakes import FakeSession, account
from tests.helpers.polling import until
from tests.helpers.windows import shut

D = Decimal
P = PositionColumn
ALPHA, BETA = "Alpha desk", "Beta desk"
OPTIONAL = (P.NOTIONAL, P.REALISED, P.LEVERAGE, P.LIQUIDATION, P.AGE)
# A popup menu on the offscreen platform can neither raise nor grab the keyboard.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise",
                                       "does not support grabbing the keyboard")


@dataclass
class Opened:
    desk: Desk
    window: MainWindow
    sessions: dict[str, FakeSession]




def book(clock: FakeClock) -> dict[str, tuple[Position, ...]]:
    t = clock.now
    return {
        ALPHA: (
            Position(PositionKey(ALPHA, QFEX, "AAPL-USD"), PositionSide.LONG, D("25"),
                     D("250.10"), D("264.66"), D("364.00"), leverage=D("20"),
                     realised_pnl=D("-12.5"), received_at=t),
            Position(PositionKey(ALPHA, QFEX, "TSLA-USD"), PositionSide.SHORT, D("12"),
                     D("182.40"), D("181.35"), D("12.60"), leverage=D("20"), received_at=t - 3),
        ),
        BETA: (
            Position(PositionKey(BETA, EVERSTRIKE, "USD_BTC_PERP"), PositionSide.LONG, D("0.5"),
                     D("60560"), D("65000"), D("2220"), liquidation_price=D("55000.5"),
                     leverage=D("2.5"), received_at=t),
        ),
    }


class Rig:
    """Opens windows one after another on the same desk book, clock and layout file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.clock = FakeClock(5_000.0)
        self.book = book(self.clock)
        self.open: list[Opened] = []

    async def window(self) -> Opened:
        sessions: dict[str, FakeSession] = {}

        def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
            s = FakeSession(acct, creds, sink)
            s.health_now = SessionHealth(connected=True)
            s.initial = self.book[acct.name]
            sessions[acct.name] = s
            return s

        desk = Desk(session_factory=factory)
        window = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000,
                            clock=self.clock, layout_path=self.path)
        opened = Opened(desk, window, sessions)
        self.open.append(opened)
        window.show()
        creds = Credentials("pub", "sec")
        assert await desk.start([(account(ALPHA), creds),
                                 (account(BETA, EVERSTRIKE), creds)]) == []
        window.bridge.flush()
        window.positions_model.flush()
        assert window.positions_model.rowCount() == 3
        return opened

    async def close(self, opened: Opened) -> None:
        self.open.remove(opened)
        await shut(opened.window, opened.desk)  # closes the window: its layout is saved


@pytest_asyncio.fixture
async def rig(qapp: QApplication, tmp_path: Path) -> AsyncIterator[Rig]:
    r = Rig(tmp_path / "config" / "layout.ini")
    try:
        yield r
    finally:
        for opened in list(r.open):
            await r.close(opened)


def header_menu(window: MainWindow, column: int, *, working: bool = False) -> QMenu:
    """Right-click on a column's header section: the chooser's menu, as the user gets it."""
    view = window.workingOrdersView if working else window.positionsView
    header = view.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    header.customContextMenuRequested.emit(QPoint(x, header.height() // 2))
    layout = window.window_layout
    menu = (layout.working if working else layout.positions).menu
    assert menu is not None and menu.isVisible()
    return menu


def action(menu: QMenu, name: str) -> QAction:
    found = menu.findChild(QAction, name)
    assert found is not None, name
    return found


def text(window: MainWindow, row: int, col: int, role: int = Qt.ItemDataRole.DisplayRole
         ) -> object:
    return window.positions_proxy.index(row, col).data(role)


def row_of(window: MainWindow, symbol: str) -> int:
    proxy = window.positions_proxy
    rows = [r for r in range(proxy.rowCount())
            if proxy.key_at(r) is not None and proxy.key_at(r).symbol == symbol]  # type: ignore[union-attr]
    assert len(rows) == 1
    return rows[0]


def visual(window: MainWindow) -> list[int]:
    return window.window_layout.positions.visual_order()


def shown(window: MainWindow) -> set[int]:
    view = window.positionsView
    return {c for c in P if not view.isColumnHidden(c)}


@pytest.mark.asyncio
async def test_defaults_and_the_view_menu(rig: Rig) -> None:
    w = (await rig.window()).window
    titles = [a.text() for a in w.menuBar().actions()]
    assert titles == ["&File", "&Positions", "V&iew", "&Help"]
    assert shown(w) == set(P) - set(OPTIONAL)  # optional columns start hidden
    assert visual(w) == list(P)
    view_menu = w.window_layout.viewMenu
    names = [a.objectName() or (a.menu().objectName() if a.menu() else "")
             for a in view_menu.actions() if not a.isSeparator()]
    assert names == ["positionsColumnsMenu", "workingColumnsMenu", "logColumnsMenu",
                     "resetLayoutAction"]
    assert not rig.path.exists()  # nothing is written before the window closes


@pytest.mark.asyncio
async def test_header_menu_shows_hides_and_moves(rig: Rig) -> None:
    w = (await rig.window()).window
    menu = header_menu(w, P.ENV)
    # Every column, in the order shown; Close and Symbol cannot be hidden.
    assert [a.text().replace("&&", "&") for a in menu.actions() if a.isCheckable()] == [
        "Venue", "Account", "Env", "Symbol", "Side", "Quantity", "Entry", "Mark",
        "Unrealised P&L", "Notional", "Realised P&L", "Leverage", "Liq. price", "Data age",
        "Close"]
    assert not action(menu, "column_SYMBOL").isEnabled()
    assert not action(menu, "column_ACTION").isEnabled()
    action(menu, "column_ENV").setChecked(False)
    assert w.positionsView.isColumnHidden(P.ENV)
    action(header_menu(w, P.PNL), "column_NOTIONAL").setChecked(True)
    assert not w.positionsView.isColumnHidden(P.NOTIONAL)
    # Move Symbol left: past the hidden Env, it swaps with Account.
    action(header_menu(w, P.SYMBOL), "moveLeft").trigger()
    order = [c for c in visual(w) if c in shown(w)]
    assert order[:3] == [P.VENUE, P.SYMBOL, P.ACCOUNT]
    # The Close column never moves: its move actions are off, and a drag puts it back last.
    close_menu = header_menu(w, P.ACTION)
    assert not action(close_menu, "moveLeft").isEnabled()
    assert not action(close_menu, "moveRight").isEnabled()
    assert not action(header_menu(w, P.NOTIONAL), "moveRight").isEnabled()  # Close is next
    header = w.positionsView.horizontalHeader()
    header.moveSection(header.visualIndex(P.ACTION), 0)
    assert visual(w)[-1] == P.ACTION
    # Reset columns: every column as at the start.
    action(header_menu(w, P.VENUE), "resetColumns").trigger()
    assert visual(w) == list(P) and shown(w) == set(P) - set(OPTIONAL)


@pytest.mark.asyncio
async def test_working_orders_have_the_same_chooser(rig: Rig) -> None:
    w = (await rig.window()).window
    menu = header_menu(w, WorkingColumn.STATUS, working=True)
    assert not action(menu, "column_ACTION").isEnabled()
    assert action(menu, "column_ACTION").text() == "Cancel"
    action(menu, "column_STATUS").setChecked(False)
    assert w.workingOrdersView.isColumnHidden(WorkingColumn.STATUS)


@pytest.mark.asyncio
async def test_optional_columns_values(rig: Rig) -> None:
    opened = await rig.window()
    w = opened.window
    for col in OPTIONAL:
        w.window_layout.positions.set_shown(col, True)
    aapl, tsla, btc = (row_of(w, s) for s in ("AAPL-USD", "TSLA-USD", "USD_BTC_PERP"))
    # Notional: size at the mark, as money (no sign); realised as the venue sent it.
    assert text(w, aapl, P.NOTIONAL) == "6616.50"  # 25 x 264.66
    assert text(w, btc, P.NOTIONAL) == "32500.00"
    assert text(w, aapl, P.REALISED) == "-12.50"
    assert text(w, aapl, P.LEVERAGE) == "20×" and text(w, btc, P.LEVERAGE) == "2.5×"
    assert text(w, btc, P.LIQUIDATION) == "55000.5" and text(w, aapl, P.LIQUIDATION) == ""
    # Not reported: a dash, and a tooltip that says so; never a made-up number.
    assert text(w, tsla, P.REALISED) == NOT_REPORTED
    assert text(w, tsla, P.REALISED, Qt.ItemDataRole.ToolTipRole) == NOT_REPORTED_TIP
    # Data age follows the window's clock; it repaints on a timer, with no dataChanged.
    assert text(w, aapl, P.AGE) == "0 s" and text(w, tsla, P.AGE) == "3 s"
    assert text(w, aapl, P.AGE, Qt.ItemDataRole.ToolTipRole) == AGE_TIP
    layout = w.window_layout
    assert layout.ageTimer.isActive() and layout.ageTimer.interval() == AGE_REFRESH_MS
    changed: list[object] = []

    def on_changed(top: QModelIndex | QPersistentModelIndex, *_: object) -> None:
        changed.append(top)

    w.positions_proxy.dataChanged.connect(on_changed)
    rig.clock.now += 7
    layout.ageTimer.timeout.emit()
    assert text(w, aapl, P.AGE) == "7 s" and text(w, tsla, P.AGE) == "10 s"
    assert changed == []
    # Sorted by age: the oldest data first when descending.
    w.positionsView.sortByColumn(P.AGE, Qt.SortOrder.DescendingOrder)
    assert row_of(w, "TSLA-USD") == 0
    # Fresh data for TSLA: the sort column reports it, and the live re-sort moves the row.
    tsla_pos = w.positions_model.position(PositionKey(ALPHA, QFEX, "TSLA-USD"))
    assert tsla_pos is not None
    w.positions_model.upsert(tsla_pos.with_mark(D("181.00"), received_at=rig.clock.now))
    w.positions_proxy.resort_if_due()
    assert row_of(w, "TSLA-USD") == 2 and text(w, 2, P.AGE) == "0 s"
    layout.positions.set_shown(P.AGE, False)
    assert not layout.ageTimer.isActive()
    assert P.AGE in w.positions_model.watched_columns  # hidden, but still the sort column
    # A shown optional column reports its changes; a hidden one does not.
    assert P.NOTIONAL in w.positions_model.watched_columns
    layout.positions.set_shown(P.NOTIONAL, False)
    assert P.NOTIONAL not in w.positions_model.watched_columns


@pytest.mark.asyncio
async def test_layout_is_restored_by_the_next_window(rig: Rig) -> None:
    first = await rig.window()
    w = first.window
    chooser = w.window_layout.positions
    action(header_menu(w, P.ENV), "column_ENV").setChecked(False)
    action(header_menu(w, P.PNL), "column_LEVERAGE").setChecked(True)
    action(header_menu(w, P.SYMBOL), "moveLeft").trigger()
    w.positionsView.setColumnWidth(P.SYMBOL, 233)
    w.workingOrdersView.setColumnWidth(WorkingColumn.PRICE, 141)
    w.window_layout.log.set_shown(LogColumn.RAW_STATUS, False)
    w.window_layout.log.move(LogColumn.KIND, -1)
    w.positionsView.sortByColumn(P.PNL, Qt.SortOrder.DescendingOrder)
    w.venueFilter.setCurrentIndex(w.venueFilter.findData(QFEX.value))
    w.accountFilter.setCurrentIndex(w.accountFilter.findData(ALPHA))
    w.symbolFilter.setText("a")
    w.groupByAccount.setChecked(True)
    # The offscreen screen is 800 px square: a restored window is kept on it, then no smaller
    # than the window's minimum (1024 x 640), so the height is what shows the restore.
    w.resize(1024, 700)
    w.splitter.setSizes([300, 400])
    sizes = w.splitter.sizes()
    columns = chooser.state()
    await rig.close(first)
    assert rig.path.exists()

    w2 = (await rig.window()).window
    assert (w2.size().width(), w2.size().height()) == (1024, 700)  # not the default 800 high
    assert w2.splitter.sizes() == sizes
    assert w2.window_layout.positions.state() == columns
    assert w2.positionsView.isColumnHidden(P.ENV)
    assert not w2.positionsView.isColumnHidden(P.LEVERAGE)
    assert w2.positionsView.columnWidth(P.SYMBOL) == 233
    assert w2.workingOrdersView.columnWidth(WorkingColumn.PRICE) == 141
    assert w2.logView.isColumnHidden(LogColumn.RAW_STATUS)
    assert w2.window_layout.log.visual_order()[:2] == [LogColumn.KIND, LogColumn.TIME]
    proxy = w2.positions_proxy
    assert (proxy.sortColumn(), proxy.sortOrder()) == (P.PNL, Qt.SortOrder.DescendingOrder)
    header = w2.positionsView.horizontalHeader()
    assert (header.sortIndicatorSection(), header.sortIndicatorOrder()) == (
        P.PNL, Qt.SortOrder.DescendingOrder)
    assert w2.venueFilter.currentData() == QFEX.value
    assert w2.accountFilter.currentData() == ALPHA
    assert w2.symbolFilter.text() == "a" and w2.groupByAccount.isChecked()
    assert proxy.shown_keys() == [PositionKey(ALPHA, QFEX, "AAPL-USD"),
                                  PositionKey(ALPHA, QFEX, "TSLA-USD")]  # P&L 364 then 12.6
    assert not w2.freezeOrder.isChecked()  # a freeze is for the moment, never kept


@pytest.mark.asyncio
async def test_reset_layout_now_and_at_the_next_start(rig: Rig) -> None:
    first = await rig.window()
    w = first.window
    w.window_layout.positions.set_shown(P.NOTIONAL, True)
    w.window_layout.positions.set_shown(P.ENV, False)
    w.positionsView.sortByColumn(P.MARK, Qt.SortOrder.DescendingOrder)
    w.symbolFilter.setText("BTC")
    w.resize(1400, 950)
    await rig.close(first)  # saved
    second = await rig.window()
    w2 = second.window
    assert w2.symbolFilter.text() == "BTC"

    w2.window_layout.resetLayoutAction.trigger()
    assert shown(w2) == set(P) - set(OPTIONAL) and visual(w2) == list(P)
    assert w2.positions_proxy.sortColumn() == P.VENUE
    assert w2.positions_proxy.sortOrder() == Qt.SortOrder.AscendingOrder
    assert w2.symbolFilter.text() == "" and w2.venueFilter.currentIndex() == 0
    assert (w2.size().width(), w2.size().height()) == (1280, 800)
    assert QSettings(str(rig.path), QSettings.Format.IniFormat).allKeys() == []
    await rig.close(second)
    w3 = (await rig.window()).window
    assert shown(w3) == set(P) - set(OPTIONAL) and w3.symbolFilter.text() == ""
    assert w3.positions_proxy.sortColumn() == P.VENUE


@pytest.mark.asyncio
async def test_a_layout_from_an_older_column_set(rig: Rig) -> None:
    """Columns renamed or gone are dropped, columns added since take their default place, and
    Close is shown and last whatever the file says."""
    rig.path.parent.mkdir(parents=True)
    old = ["ACTION", "SYMBOL", "GREEKS", "VENUE", "ACCOUNT", "ENV", "SIDE", "QUANTITY",
           "ENTRY", "MARK", "PNL"]  # before the optional columns; one since removed
    saved = [{"name": n, "shown": n not in ("ACTION", "SYMBOL", "PNL"), "width": 190}
             for n in old]
    settings = QSettings(str(rig.path), QSettings.Format.IniFormat)
    settings.setValue("positions/columns", json.dumps(saved))
    settings.setValue("positions/sort", json.dumps({"column": "GREEKS", "descending": True}))
    settings.sync()
    w = (await rig.window()).window
    assert visual(w) == [P.SYMBOL, P.VENUE, P.ACCOUNT, P.ENV, P.SIDE, P.QUANTITY, P.ENTRY,
                         P.MARK, P.PNL, *OPTIONAL, P.ACTION]
    assert not w.positionsView.isColumnHidden(P.ACTION)
    assert not w.positionsView.isColumnHidden(P.SYMBOL)  # locked: always shown
    assert w.positionsView.columnWidth(P.SYMBOL) == 190
    assert w.positionsView.isColumnHidden(P.PNL)
    assert all(w.positionsView.isColumnHidden(c) for c in OPTIONAL)
    assert w.positions_proxy.sortColumn() == P.VENUE  # an unknown sort column: the default


@pytest.mark.asyncio
@pytest.mark.parametrize("content", [
    b"\x00\xff\xfe[[[ not = an ini \x01\x02\n=\n",
    b"[General]\nversion=banana\n[window]\ngeometry=12\nsplitter=hello\n"
    b"[positions]\ncolumns=7\nsort={\"column\": 3}\nfilters=[1, 2]\n"
    b"[working]\ncolumns=\"[{\\\"name\\\": 5}]\"\n[other]\nkey=value\n",
], ids=["corrupt", "foreign"])
async def test_a_corrupt_or_foreign_file_gives_the_defaults(rig: Rig, content: bytes) -> None:
    rig.path.parent.mkdir(parents=True)
    rig.path.write_bytes(content)
    first = await rig.window()
    w = first.window
    assert shown(w) == set(P) - set(OPTIONAL) and visual(w) == list(P)
    assert w.positions_proxy.sortColumn() == P.VENUE
    assert w.symbolFilter.text() == "" and not w.groupByAccount.isChecked()
    assert (w.size().width(), w.size().height()) == (1280, 800)
    w.window_layout.positions.set_shown(P.LEVERAGE, True)
    await rig.close(first)  # the file is written afresh, readable
    w2 = (await rig.window()).window
    assert not w2.positionsView.isColumnHidden(P.LEVERAGE)


@pytest.mark.asyncio
async def test_optional_columns_in_demo_mode() -> None:
    """On the window's real data path (the simulator, both venues): every row shows the realised
    P&L and leverage its venue reports, Everstrike rows their liquidation price, and notional
    is the row's size at its mark."""
    async with running() as (rig, _):
        w = rig.window
        for col in OPTIONAL:
            w.window_layout.positions.set_shown(col, True)
        await until(lambda: all(p is not None and p.mark_price is not None for p in (
            w.positions_model.position(k) for k in w.positions_model.all_keys())),
            what="every row priced")
        model = w.positions_model
        assert {k.venue for k in model.all_keys()} == {QFEX, EVERSTRIKE}
        for key in model.all_keys():
            pos = model.position(key)
            assert pos is not None and pos.realised_pnl is not None and pos.notional is not None
            record = model.record(key)
            assert record is not None
            row = w.positions_proxy.proxy_row_of(key)
            assert row is not None
            assert text(w, row, P.REALISED) == record.fmt.pnl(pos.realised_pnl) != NOT_REPORTED
            assert text(w, row, P.NOTIONAL) == record.fmt.money(pos.quantity * pos.mark_price)  # type: ignore[operator]
            leverage = QFEX_LEVERAGE if key.venue is QFEX else EVERSTRIKE_LEVERAGE
            assert text(w, row, P.LEVERAGE) == f"{trimmed(leverage)}×"
            if key.venue is EVERSTRIKE:
                assert pos.liquidation_price is not None
                assert text(w, row, P.LIQUIDATION) == record.fmt.price(pos.liquidation_price)
            else:  # QFEX sends none (VENUES.md 1.5)
                assert text(w, row, P.LIQUIDATION) == ""
