"""Group by account: header rows with exact subtotals that fold on a click, totals rows per
venue and for all that follow the filters, and Close buttons that still close the row they sit
on. Driven through the real window with the mouse and keyboard."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal

import pytest
import pytest_asyncio
import shiboken6
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.model import Instrument, Position, PositionKey, PositionSide, SessionHealth, Venue
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models import SORT_ROLE, PositionColumn
from gui.widgets import button_rect
from tests.helpers.fakes import FakeSession, account

D = Decimal
ALPHA, BETA, GAMMA = "Alpha desk", "Beta desk", "Gamma desk"
INSTRUMENTS = {
    "AAPL-USD": Instrument("AAPL-USD", tick_size=D("0.01"), lot_size=D("0.01"),
                           quote_currency="USD"),
    "TSLA-USD": Instrument("TSLA-USD", tick_size=D("0.05"), lot_size=D("1"),
                           quote_currency="USD"),
    "USD_BTC_PERP": Instrument("USD_BTC_PERP", tick_size=D("0.5"), lot_size=D("0.001"),
                               quote_currency="USDT"),
    "USD_ETH_PERP": Instrument("USD_ETH_PERP", tick_size=D("0.05"), lot_size=D("0.001"),
                               quote_currency="USDT"),
}


def pos(acct: str, venue: Venue, symbol: str, qty: str, mark: str, pnl: str,
        side: PositionSide = PositionSide.LONG) -> Position:
    return Position(PositionKey(acct, venue, symbol), side, D(qty), D(mark), D(mark), D(pnl))


BOOK = {
    ALPHA: (pos(ALPHA, QFEX, "AAPL-USD", "25", "264.66", "364.0000"),
            pos(ALPHA, QFEX, "TSLA-USD", "3", "181.35", "-4.05")),
    BETA: (pos(BETA, EVERSTRIKE, "USD_BTC_PERP", "0.5", "65000", "2220.0"),
           pos(BETA, EVERSTRIKE, "USD_ETH_PERP", "3.5", "4310.25", "-384.475",
               PositionSide.SHORT)),
    GAMMA: (pos(GAMMA, QFEX, "AAPL-USD", "10", "264.66", "145.6"),),
}
ETH = BOOK[BETA][1].key


class RefdataSession(FakeSession):
    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return INSTRUMENTS


@pytest_asyncio.fixture
async def window(qapp: QApplication) -> AsyncIterator[MainWindow]:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> RefdataSession:
        s = RefdataSession(acct, creds, sink)
        s.health_now = SessionHealth(connected=True)
        s.initial = BOOK[acct.name]
        return s

    desk = Desk(session_factory=factory)
    w = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000)
    w.resize(1400, 700)
    w.show()
    try:
        creds = Credentials("pub", "sec")
        assert await desk.start([(account(ALPHA), creds), (account(BETA, EVERSTRIKE), creds),
                                 (account(GAMMA), creds)]) == []
        w.bridge.flush()
        w.positions_model.flush()
        assert w.positions_model.rowCount() == 5
        yield w
    finally:
        await w.shutdown()
        await desk.stop()
        w.close()
        shiboken6.delete(w)
        gc.collect()


def group(qtbot: QtBot, w: MainWindow) -> None:
    """Tick "Group by account" with the mouse."""
    box = w.groupByAccount
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    assert box.isChecked()


def rows(w: MainWindow, column: PositionColumn = PositionColumn.ACCOUNT) -> list[str]:
    """Each shown row as the table reads: a header's account, a position's symbol, a total's
    venue."""
    proxy = w.positions_proxy
    out = []
    for r in range(proxy.rowCount()):
        key = proxy.key_at(r)
        if key is not None:
            out.append(f"  {key.symbol}")
        elif proxy.group_at(r) is not None:
            out.append(proxy.index(r, column).data())
        else:
            out.append(f"= {proxy.index(r, PositionColumn.VENUE).data()}")
    return out


def cells(w: MainWindow, row: int, role: int = Qt.ItemDataRole.DisplayRole) -> dict[str, object]:
    proxy = w.positions_proxy
    return {c.name: proxy.index(row, c).data(role) for c in
            (PositionColumn.SYMBOL, PositionColumn.MARK, PositionColumn.PNL)}


def header_row(w: MainWindow, account: str) -> int:
    proxy = w.positions_proxy
    return next(r for r in range(proxy.rowCount()) if proxy.group_at(r) == account)


def totals_row(w: MainWindow, venue_text: str) -> int:
    proxy = w.positions_proxy
    return next(r for r in range(proxy.rowCount()) if proxy.key_at(r) is None
                and proxy.group_at(r) is None
                and proxy.index(r, PositionColumn.VENUE).data() == venue_text)


def click_cell(qtbot: QtBot, w: MainWindow, index: QModelIndex) -> None:
    view = w.positionsView
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(index).center())


@pytest.mark.asyncio
async def test_grouped_view_has_account_headers_with_exact_subtotals_and_totals(
        qtbot: QtBot, window: MainWindow) -> None:
    w = window
    assert all(line.startswith("  ") for line in rows(w))  # flat: positions only
    group(qtbot, w)
    assert rows(w) == [
        "▾ Alpha desk", "  AAPL-USD", "  TSLA-USD",
        "▾ Beta desk", "  USD_BTC_PERP", "  USD_ETH_PERP",
        "▾ Gamma desk", "  AAPL-USD",
        "= Everstrike", "= QFEX", "= All venues",
    ]
    alpha, beta = header_row(w, ALPHA), header_row(w, BETA)
    # Exact sums (size × mark, and P&L), then written to the quote currency's two decimals.
    assert cells(w, alpha, SORT_ROLE) == {
        "SYMBOL": 2, "MARK": D("7160.55"), "PNL": D("359.95")}
    assert cells(w, beta, SORT_ROLE) == {
        "SYMBOL": 2, "MARK": D("47585.875"), "PNL": D("1835.525")}
    assert cells(w, beta) == {"SYMBOL": "2 positions", "MARK": "47585.88", "PNL": "+1835.52"}
    assert w.positions_proxy.index(beta, PositionColumn.VENUE).data() == "Everstrike"
    assert cells(w, totals_row(w, "QFEX"), SORT_ROLE) == {
        "SYMBOL": 3, "MARK": D("9807.15"), "PNL": D("505.55")}
    everything = totals_row(w, "All venues")
    assert cells(w, everything, SORT_ROLE) == {
        "SYMBOL": 5, "MARK": D("57393.025"), "PNL": D("2341.075")}
    assert cells(w, everything) == {"SYMBOL": "5 positions", "MARK": "57393.02",  # half-even
                                    "PNL": "+2341.08"}
    assert w.positions_proxy.index(everything, PositionColumn.ACCOUNT).data() == \
        "Total · 3 accounts"
    # A header or totals row has no Close button and nothing to close.
    for row in (alpha, everything):
        assert w.positions_proxy.index(row, PositionColumn.ACTION).data(
            Qt.ItemDataRole.DisplayRole) is None
        assert w.positions_proxy.key_at(row) is None
    # Unticked, the table is flat again.
    qtbot.mouseClick(w.groupByAccount, Qt.MouseButton.LeftButton,
                     pos=w.groupByAccount.rect().center())
    assert len(rows(w)) == 5 and all(line.startswith("  ") for line in rows(w))


@pytest.mark.asyncio
async def test_a_click_on_a_header_collapses_its_rows_and_another_brings_them_back(
        qtbot: QtBot, window: MainWindow) -> None:
    w = window
    group(qtbot, w)
    proxy = w.positions_proxy
    alpha = header_row(w, ALPHA)
    click_cell(qtbot, w, proxy.index(alpha, PositionColumn.ACCOUNT))
    assert proxy.is_collapsed(ALPHA)
    assert rows(w) == [
        "▸ Alpha desk",
        "▾ Beta desk", "  USD_BTC_PERP", "  USD_ETH_PERP",
        "▾ Gamma desk", "  AAPL-USD",
        "= Everstrike", "= QFEX", "= All venues",
    ]
    for key in (p.key for p in BOOK[ALPHA]):
        assert proxy.proxy_row_of(key) is None
    # Folded rows still count: the subtotal and the totals are unchanged.
    assert cells(w, header_row(w, ALPHA), SORT_ROLE)["PNL"] == D("359.95")
    assert cells(w, totals_row(w, "All venues"), SORT_ROLE)["SYMBOL"] == 5
    assert "Collapsed" in proxy.index(header_row(w, ALPHA), 0).data(Qt.ItemDataRole.ToolTipRole)
    # Enter on the header (the current row after the click) unfolds it again.
    qtbot.keyClick(w.positionsView, Qt.Key.Key_Return)
    assert not proxy.is_collapsed(ALPHA)
    assert rows(w)[:3] == ["▾ Alpha desk", "  AAPL-USD", "  TSLA-USD"]
    assert w.dialogs == {}  # Enter on a header opens no close dialog


@pytest.mark.asyncio
async def test_totals_follow_the_filter(qtbot: QtBot, window: MainWindow) -> None:
    w = window
    group(qtbot, w)
    w.symbolFilter.setFocus()
    qtbot.keyClicks(w.symbolFilter, "aapl")
    assert rows(w) == ["▾ Alpha desk", "  AAPL-USD", "▾ Gamma desk", "  AAPL-USD",
                       "= QFEX", "= All venues"]
    assert cells(w, header_row(w, ALPHA), SORT_ROLE) == {
        "SYMBOL": 1, "MARK": D("6616.50"), "PNL": D("364.0000")}
    assert cells(w, totals_row(w, "All venues"), SORT_ROLE) == {
        "SYMBOL": 2, "MARK": D("9263.10"), "PNL": D("509.6")}
    assert cells(w, totals_row(w, "All venues")) == {
        "SYMBOL": "2 positions", "MARK": "9263.10", "PNL": "+509.60"}
    assert w.positionsTitle.text() == "Open positions (2 of 5)"  # positions, not headers
    qtbot.keyClick(w.symbolFilter, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(w.symbolFilter, Qt.Key.Key_Backspace)
    assert cells(w, totals_row(w, "All venues"), SORT_ROLE)["PNL"] == D("2341.075")


@pytest.mark.asyncio
async def test_close_buttons_still_close_their_own_row_when_grouped_and_sorted(
        qtbot: QtBot, window: MainWindow) -> None:
    w = window
    group(qtbot, w)
    view = w.positionsView
    header = view.horizontalHeader()
    # Sort by P&L with a header click: rows sort within their account, headers stay on top.
    x = header.sectionViewportPosition(PositionColumn.PNL) \
        + header.sectionSize(PositionColumn.PNL) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(x, header.height() // 2))
    assert w.positions_proxy.sortColumn() == PositionColumn.PNL
    beta = rows(w)
    assert beta[3:6] in (["▾ Beta desk", "  USD_ETH_PERP", "  USD_BTC_PERP"],
                         ["▾ Beta desk", "  USD_BTC_PERP", "  USD_ETH_PERP"])
    # The header's Close cell has no button: a click there folds the account like anywhere
    # on its header, and opens nothing; a second click unfolds it.
    proxy = w.positions_proxy
    for folded in (True, False):
        head = proxy.index(header_row(w, BETA), PositionColumn.ACTION)
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                         pos=button_rect(view.visualRect(head)).center())
        assert proxy.is_collapsed(BETA) is folded
        assert w.dialogs == {}
    # ETH's own Close button opens ETH's dialog.
    index = w.proxy_index(ETH, PositionColumn.ACTION)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=button_rect(view.visualRect(index)).center())
    assert list(w.dialogs) == [ETH]
    assert w.dialogs[ETH].position.key == ETH
    w.dialogs[ETH].reject()



def test_the_grouped_view_passes_qtmodeltester_through_folds_filters_and_changes(
        qtmodeltester: object, qapp: QApplication) -> None:
    from pytestqt.modeltest import ModelTester

    from gui.models import PositionsModel, PositionsProxy

    assert isinstance(qtmodeltester, ModelTester)
    model = PositionsModel()
    proxy = PositionsProxy()
    proxy.setSourceModel(model)
    model.upsert_many([p for book in BOOK.values() for p in book])
    proxy.set_group_by_account(True)
    proxy.sort(PositionColumn.PNL, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(proxy, force_py=True)  # and it keeps watching every signal below
    proxy.set_collapsed(ALPHA, True)
    model.upsert(pos("Delta desk", EVERSTRIKE, "USD_BTC_PERP", "1", "65000", "-10"))
    model.upsert(pos(GAMMA, QFEX, "AAPL-USD", "10", "270", "203"))  # a new mark
    proxy.set_symbol_filter("usd_")
    assert proxy.subtotal("Delta desk").pnl == D(-10)
    proxy.set_symbol_filter("")
    model.remove(BOOK[GAMMA][0].key)  # Gamma's last row: its header goes
    assert proxy.group_at(0) == ALPHA and GAMMA not in {
        proxy.group_at(r) for r in range(proxy.rowCount())}
    proxy.set_collapsed(ALPHA, False)
    proxy.set_group_by_account(False)
    assert proxy.rowCount() == model.rowCount() == 5


@pytest.mark.asyncio
async def test_a_log_line_about_a_folded_accounts_row_unfolds_it_and_selects_the_row(
        qtbot: QtBot, window: MainWindow) -> None:
    from core.model import OrderStatus, OrderUpdate
    from gui.models import LogColumn
    from tests.gui.conftest import until

    w = window
    group(qtbot, w)
    proxy = w.positions_proxy
    click_cell(qtbot, w, proxy.index(header_row(w, ALPHA), PositionColumn.ACCOUNT))
    aapl = BOOK[ALPHA][0].key
    assert proxy.is_collapsed(ALPHA) and proxy.proxy_row_of(aapl) is None
    w.desk.session(ALPHA).sink(OrderUpdate(QFEX, ALPHA, "AAPL-USD", OrderStatus.ACK, "NEW",
                                            False, order_id="o-1", message="accepted"))
    w.bridge.flush()
    log = w.log_model
    await until(lambda: any(log.index(r, LogColumn.SYMBOL).data() == "AAPL-USD"
                            for r in range(log.rowCount())), what="the log line")
    line = next(r for r in range(log.rowCount())
                if log.index(r, LogColumn.SYMBOL).data() == "AAPL-USD")
    w.bottomTabs.setCurrentWidget(w.logView)
    rect = w.logView.visualRect(log.index(line, LogColumn.SYMBOL))
    qtbot.mouseClick(w.logView.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert not proxy.is_collapsed(ALPHA)
    assert w.selection.selected_key() == aapl
