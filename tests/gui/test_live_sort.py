"""The positions table in the window while prices move: a live sort says so in the bar, re-sorts
at most once a second, never while the pointer is over the table or a close dialog or flatten
plan is open, and keeps the selected row; rows that arrive never cost a pass over the table, and
only the cells on screen are painted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QEnterEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.model import Position, PositionKey, PositionSide, PositionsSnapshot
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.controllers.flatten import install_flatten
from gui.main_window import MainWindow
from gui.models import PositionColumn, PositionsModel
from gui.widgets import CloseButtonDelegate, EnvChipDelegate
from tests.gui.conftest import until
from tests.helpers.fakes import FakeSession, account
from tests.helpers.windows import shut

D = Decimal
ALPHA, BETA = "Alpha desk", "Beta desk"


@dataclass
class Rig:
    desk: Desk
    window: MainWindow
    sessions: dict[str, FakeSession]

    def reprice(self, key: PositionKey, pnl: str) -> None:
        """A venue push of one position with a new P&L, as its session delivers it."""
        pos = self.desk.positions[key]
        self.sessions[key.account].sink(Position(key, pos.side, pos.quantity, pos.entry_price,
                                                 pos.mark_price, D(pnl)))
        self.window.bridge.flush()
        self.window.positions_model.flush()

    def shown(self) -> list[PositionKey]:
        px = self.window.positions_proxy
        return [k for k in (px.key_at(r) for r in range(px.rowCount())) if k is not None]


def book(acct: str, n: int, venue: Any = QFEX) -> tuple[Position, ...]:
    return tuple(Position(PositionKey(acct, venue, f"S{i:03d}-USD"), PositionSide.LONG,
                          D(1 + i % 7), D(100), D(100 + i), D((i * 37) % 101 - 50))
                 for i in range(n))


@pytest_asyncio.fixture
async def rig(qapp: QApplication) -> AsyncIterator[Rig]:
    sessions: dict[str, FakeSession] = {}

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.initial = book(acct.name, 12, acct.venue)
        sessions[acct.name] = s
        return s

    desk = Desk(session_factory=factory)
    window = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000,
                        history_poll_ms=3_600_000)
    window.resize(1280, 800)
    window.show()
    try:
        creds = Credentials("pub", "sec")
        assert await desk.start([(account(ALPHA), creds), (account(BETA, EVERSTRIKE), creds)]
                                ) == []
        window.bridge.flush()
        window.positions_model.flush()
        assert window.positions_proxy.rowCount() == 24
        yield Rig(desk, window, sessions)
    finally:
        await shut(window, desk)


def click_header(qtbot: QtBot, window: MainWindow, column: PositionColumn) -> None:
    header = window.positionsView.horizontalHeader()
    at = QPoint(header.sectionViewportPosition(column) + header.sectionSize(column) // 2,
                header.height() // 2)
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton, pos=at)


def pointer(window: MainWindow, inside: bool) -> None:
    view = window.positionsView
    if inside:
        at = QPointF(10, 10)
        QApplication.sendEvent(view, QEnterEvent(at, at, view.mapToGlobal(at)))
    else:
        QApplication.sendEvent(view, QEvent(QEvent.Type.Leave))


def pnl_order(rig: Rig, descending: bool) -> list[PositionKey]:
    """By P&L, then venue label, account and symbol (what the table shows)."""
    positions = rig.desk.positions
    ordered = sorted(positions, key=lambda k: (k.venue.label.casefold(), k.account.casefold(),
                                               k.symbol.casefold()))
    return sorted(ordered, key=lambda k: positions[k].unrealised_pnl or 0, reverse=descending)


@pytest.mark.asyncio
async def test_a_header_click_sorts_at_once_and_a_live_column_says_so(
    rig: Rig, qtbot: QtBot
) -> None:
    w = rig.window
    assert w.sortHint.text() == "sorted by Venue"  # nothing moves by itself
    click_header(qtbot, w, PositionColumn.PNL)
    order = w.positionsView.horizontalHeader().sortIndicatorOrder()
    assert rig.shown() == pnl_order(rig, order == Qt.SortOrder.DescendingOrder)
    assert not w.sortHint.isHidden() and w.sortHint.text() == "sorted by P&L · live"
    assert "never moves under a click" in w.sortHint.toolTip()
    click_header(qtbot, w, PositionColumn.SYMBOL)
    assert w.sortHint.text() == "sorted by Symbol"


@pytest.mark.asyncio
async def test_rows_do_not_move_under_the_pointer_and_re_sort_once_it_leaves(
    rig: Rig, qtbot: QtBot
) -> None:
    w, px = rig.window, rig.window.positions_proxy
    w.positionsView.sortByColumn(PositionColumn.PNL, Qt.SortOrder.DescendingOrder)
    layouts: list[int] = []
    px.layoutChanged.connect(lambda *_: layouts.append(1))
    pointer(w, True)
    assert "pointer" in px.holds
    before = rig.shown()
    rig.reprice(before[-1], "1000")  # the bottom row would now go to the top
    assert px.resortTimer.isActive()
    px.resort_if_due()  # its second has come: it waits for the pointer
    assert rig.shown() == before and layouts == []
    assert w.sortHint.text() == \
        "sorted by P&L · live · order held while pointing · live sort resumes when you move away"
    pointer(w, False)
    assert layouts == [1]
    assert rig.shown()[0] == before[-1]
    assert rig.shown() == pnl_order(rig, True)
    assert w.sortHint.text() == "sorted by P&L · live"


@pytest.mark.asyncio
async def test_rows_do_not_move_while_a_close_dialog_is_open(rig: Rig) -> None:
    w, px = rig.window, rig.window.positions_proxy
    w.positionsView.sortByColumn(PositionColumn.PNL, Qt.SortOrder.AscendingOrder)
    before = rig.shown()
    dialog = w.request_close(before[5])
    assert dialog is not None and "dialog" in px.holds
    rig.reprice(before[0], "5000")
    px.resort_if_due()
    assert rig.shown() == before
    assert w.sortHint.text() == "sorted by P&L · live · order held while a close dialog is open"
    dialog.reject()
    await until(lambda: "dialog" not in px.holds, what="the dialog's hold to end")
    assert rig.shown() == pnl_order(rig, False) and rig.shown()[-1] == before[0]


@pytest.mark.asyncio
async def test_rows_do_not_move_while_a_flatten_plan_is_open(rig: Rig) -> None:
    w, px = rig.window, rig.window.positions_proxy
    flatten = install_flatten(w)
    w.positionsView.sortByColumn(PositionColumn.PNL, Qt.SortOrder.AscendingOrder)
    before = rig.shown()
    dialog = flatten.flatten_everything()
    assert dialog is not None and "flatten" in px.holds
    rig.reprice(before[0], "5000")
    px.resort_if_due()
    assert rig.shown() == before
    assert w.sortHint.text() == "sorted by P&L · live · order held while a flatten plan is open"
    dialog.reject()
    await until(lambda: "flatten" not in px.holds, what="the plan's hold to end")
    assert rig.shown() == pnl_order(rig, False) and rig.shown()[-1] == before[0]


@pytest.mark.asyncio
async def test_the_selected_row_stays_selected_across_re_sorts(rig: Rig, qtbot: QtBot) -> None:
    w = rig.window
    w.positionsView.sortByColumn(PositionColumn.PNL, Qt.SortOrder.AscendingOrder)
    key = rig.shown()[2]
    assert w.select_row(key)
    rig.reprice(key, "777")
    w.positions_proxy.resort_if_due()
    assert w.selected_key() == key and rig.shown().index(key) > 2
    click_header(qtbot, w, PositionColumn.SYMBOL)
    assert w.selected_key() == key
    rows = {i.row() for i in w.positionsView.selectionModel().selectedRows()}
    assert rows == {rig.shown().index(key)}
    w.symbolFilter.setText(key.symbol[:4])
    assert w.selected_key() == key


@pytest.mark.asyncio
async def test_rows_arriving_for_known_accounts_never_rebuild_the_account_filter(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = rig.window
    calls: list[int] = []
    real = PositionsModel.accounts

    def counted(self: PositionsModel) -> list[str]:
        calls.append(1)
        return real(self)

    monkeypatch.setattr(PositionsModel, "accounts", counted)
    alpha = rig.sessions[ALPHA]
    alpha.sink(PositionsSnapshot(QFEX, ALPHA, book(ALPHA, 300)))
    w.bridge.flush()
    w.positions_model.flush()
    assert w.positions_proxy.rowCount() == 312 and calls == []
    w.positions_model.upsert(Position(PositionKey("Gamma desk", QFEX, "NEW-USD"),
                                      PositionSide.SHORT, D(1)))
    assert calls == [1]
    assert w.accountFilter.findData("Gamma desk") > 0


@pytest.mark.asyncio
async def test_only_the_cells_on_screen_are_painted_by_the_python_delegates(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = rig.window
    rig.sessions[ALPHA].sink(PositionsSnapshot(QFEX, ALPHA, book(ALPHA, 500)))
    w.bridge.flush()
    w.positions_model.flush()
    view = w.positionsView
    # The other columns keep Qt's own delegate: no Python call to paint a plain cell.
    assert view.itemDelegateForColumn(PositionColumn.ACTION) is view.delegate
    assert view.itemDelegateForColumn(PositionColumn.PNL) is None  # the view's own
    assert not isinstance(view.itemDelegate(), CloseButtonDelegate | EnvChipDelegate)
    view.viewport().repaint()
    # Counted one level down: Qt calls paint() through a cached override.
    painted: dict[str, list[int]] = {"close": [], "env": []}
    real_close, real_env = CloseButtonDelegate._background, EnvChipDelegate._chip

    def close(self: CloseButtonDelegate, painter: Any, option: Any, index: Any) -> Any:
        painted["close"].append(index.column())
        return real_close(self, painter, option, index)

    def env(self: EnvChipDelegate, font: Any, text: str) -> Any:
        painted["env"].append(PositionColumn.ENV)
        return real_env(self, font, text)

    monkeypatch.setattr(CloseButtonDelegate, "_background", close)
    monkeypatch.setattr(EnvChipDelegate, "_chip", env)
    for pos in book(ALPHA, 500):  # every row repriced: no Close cell changes
        w.positions_model.queue_upsert(Position(pos.key, pos.side, pos.quantity, D(1), D(2),
                                                D(3)))
    w.bridge.flush()
    w.positions_model.flush()
    view.viewport().repaint()
    last = view.rowAt(view.viewport().height() - 1)
    on_screen = (last if last >= 0 else w.positions_proxy.rowCount() - 1) - view.rowAt(0) + 1
    assert 0 < on_screen < 60
    assert painted["close"] == [PositionColumn.ACTION] * on_screen
    assert painted["env"] == [PositionColumn.ENV] * on_screen


class PaintCounter(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.paints = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.paints += 1
        return False


@pytest.mark.asyncio
async def test_a_repricing_in_many_slices_repaints_the_table_once_but_a_close_at_once(
        rig: Rig) -> None:
    """Each repaint costs the GUI thread milliseconds: repricings, whatever slices they
    arrive in, repaint the table once per refresh interval, while a change to a Close cell
    (a close's progress) is painted on the next turn."""
    w = rig.window
    view = w.positionsView
    counter = PaintCounter()
    view.viewport().installEventFilter(counter)
    QApplication.sendPostedEvents()
    view.viewport().repaint()
    counter.paints = 0
    keys = rig.shown()
    for tick in range(2):  # two batches of slices
        for part in range(4):  # each a slice of the rows, as a budgeted flush applies them
            for key in keys[part::4]:
                pos = rig.desk.positions[key]
                w.positions_model.queue_upsert(Position(key, pos.side, pos.quantity,
                                                        pos.entry_price, D(200 + tick),
                                                        D(part + tick)))
            w.positions_model.flush()
            QApplication.sendPostedEvents()  # any repaint asked for so far is done now
        if tick == 0:
            await until(lambda: not view.repaintTimer.isActive(), what="the batched repaint")
            QApplication.sendPostedEvents()
            view.repaint_ms = 3_600_000  # the second batch may not repaint within the test
    assert view.repaintTimer.isActive()  # the second batch waits for its interval
    assert counter.paints == 1
    row = w.positions_proxy.proxy_row_of(keys[0])
    assert row is not None
    index = w.positions_proxy.index(row, PositionColumn.ACTION)
    w.positions_proxy.dataChanged.emit(index, index, [])  # a close's progress
    QApplication.sendPostedEvents()
    assert counter.paints == 2


@pytest.mark.asyncio
async def test_the_hint_is_read_whole_at_the_smallest_window_and_never_moves_the_table(
    rig: Rig, qtbot: QtBot
) -> None:
    """Squeezed between the title and the filters the hint was cut mid-word; on its own line
    it is whole, and its line is kept while it is hidden so the rows never shift."""
    w, px = rig.window, rig.window.positions_proxy
    w.resize(w.minimumSize())
    await until(lambda: w.width() == w.minimumWidth(), what="the window at its minimum width")
    top = w.positionsView.mapTo(w, QPoint(0, 0)).y()
    w.positionsView.sortByColumn(PositionColumn.PNL, Qt.SortOrder.DescendingOrder)
    pointer(w, True)
    qtbot.keyClick(w.positionsView, Qt.Key.Key_Down)  # two holds: the longest hint there is
    rig.reprice(rig.shown()[-1], "1000")
    px.resort_if_due()
    hint = w.sortHint
    assert "while pointing" in hint.text() and "chosen by keyboard" in hint.text()
    assert hint.isVisible()
    assert hint.width() >= hint.fontMetrics().horizontalAdvance(hint.text())
    assert w.positionsView.mapTo(w, QPoint(0, 0)).y() == top
    qtbot.keyClick(w.positionsView, Qt.Key.Key_Escape)
    pointer(w, False)
    w.positionsView.sortByColumn(PositionColumn.SYMBOL, Qt.SortOrder.AscendingOrder)
    assert hint.text() == "sorted by Symbol"
    assert w.positionsView.mapTo(w, QPoint(0, 0)).y() == top


@pytest.mark.asyncio
async def test_rows_hold_still_while_a_row_is_chosen_by_keyboard(rig: Rig, qtbot: QtBot) -> None:
    """Arrow keys choose a row: the order holds until Esc, a click in the table (the
    pointer's own hold takes over) or the focus leaving; Esc also leaves nothing selected."""
    w, px, view = rig.window, rig.window.positions_proxy, rig.window.positionsView
    view.sortByColumn(PositionColumn.PNL, Qt.SortOrder.DescendingOrder)
    before = rig.shown()
    qtbot.keyClick(view, Qt.Key.Key_Down)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert "keyboard" in px.holds and view.choosing_by_keyboard
    chosen = w.selected_key()
    assert chosen is not None
    rig.reprice(before[-1], "1000")  # the bottom row would now go to the top
    px.resort_if_due()
    assert rig.shown() == before
    assert w.sortHint.text() == ("sorted by P&L · live · order held while a row is chosen by "
                                 "keyboard · Esc lets it go")
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert "keyboard" not in px.holds
    assert rig.shown() == pnl_order(rig, True) and rig.shown()[0] == before[-1]
    assert w.selected_key() is None and not view.selectionModel().hasSelection()
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert "keyboard" in px.holds
    rect = view.visualRect(px.index(1, PositionColumn.SYMBOL))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert "keyboard" not in px.holds


@pytest.mark.asyncio
async def test_freeze_order_keeps_the_rows_still_until_unticked_and_says_so(
    rig: Rig, qtbot: QtBot
) -> None:
    w, px = rig.window, rig.window.positions_proxy
    w.positionsView.sortByColumn(PositionColumn.PNL, Qt.SortOrder.AscendingOrder)
    qtbot.mouseClick(w.freezeOrder, Qt.MouseButton.LeftButton)
    assert w.freezeOrder.isChecked() and "frozen" in px.holds
    assert w.sortHint.text() == \
        "sorted by P&L · live · order frozen · untick Freeze order to re-sort"
    before = rig.shown()
    rig.reprice(before[0], "5000")
    px.resort_if_due()
    assert rig.shown() == before
    assert w.sortHint.text() == \
        "sorted by P&L · live · order frozen · untick Freeze order to re-sort"
    qtbot.mouseClick(w.freezeOrder, Qt.MouseButton.LeftButton)
    assert not w.freezeOrder.isChecked() and "frozen" not in px.holds
    assert rig.shown() == pnl_order(rig, False) and rig.shown()[-1] == before[0]
    assert w.sortHint.text() == "sorted by P&L · live"
    qtbot.mouseClick(w.freezeOrder, Qt.MouseButton.LeftButton)
    click_header(qtbot, w, PositionColumn.PNL)  # a header click still sorts, frozen or not
    order = w.positionsView.horizontalHeader().sortIndicatorOrder()
    assert rig.shown() == pnl_order(rig, order == Qt.SortOrder.DescendingOrder)
