"""The order log's filter bar and Follow newest, through the real window over a real Desk
whose sessions are fakes: each filter, filters combined, the search (typing waits for a
pause), the count, Clear filters, lines arriving with a filter on, and follow mode."""

from __future__ import annotations

import itertools
import time
from decimal import Decimal

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from core.model import ConnectionState, Fill, OrderSide, OrderStatus, OrderUpdate, ProtocolError
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models import LogColumn
from gui.models.log_filter import LogFilter
from tests.gui.test_end_to_end import AAPL, Live, click_close, live  # noqa: F401
from tests.gui.test_window_fake_desk import ALPHA, BETA, Rig, rig  # noqa: F401
from tests.helpers.polling import until

D = Decimal
START = time.time() + 3600  # after the connection lines the rig's start wrote
_TICKS = itertools.count(1)  # each line received after the one before, in every test


class Feed:
    """Lines sent as the venues would, through the desk, then shown (flushed) at once."""

    def __init__(self, on: Rig) -> None:
        self.rig = on

    @property
    def at(self) -> float:
        """A new receive time for each line, later than any before."""
        return START + next(_TICKS) / 1000

    def order(self, message: str, account: str = ALPHA, symbol: str = "AAPL-USD",
              status: OrderStatus = OrderStatus.ACK, order_id: str = "",
              at: float | None = None) -> None:
        venue = QFEX if account == ALPHA else EVERSTRIKE
        self.rig.sessions[account].sink(OrderUpdate(
            venue, account, symbol, status, status.value, False, order_id=order_id or None,
            quantity=D(5), message=message, received_at=self.at if at is None else at))

    def fill(self, account: str = BETA, symbol: str = "USD_ETH_PERP") -> None:
        venue = QFEX if account == ALPHA else EVERSTRIKE
        self.rig.sessions[account].sink(Fill(venue, account, symbol, "o-f", None, OrderSide.BUY,
                                             D("4400"), D(1), received_at=self.at))

    def error(self, message: str, account: str = ALPHA) -> None:
        self.rig.sessions[account].sink(ProtocolError(QFEX, account, message, at=self.at))

    def show(self) -> None:
        w = self.rig.window
        w.bridge.flush()
        w.log_model.flush()


def shown(w: MainWindow, column: LogColumn = LogColumn.MESSAGE) -> list[str]:
    """A column's text in every row the log pane shows (of a message, what the venue said:
    the desk words a cancel for the user and puts the venue's text in brackets after it)."""
    model = w.logView.model()
    texts = [str(model.index(r, column).data()) for r in range(model.rowCount())]
    if column is LogColumn.MESSAGE:
        return [t.rsplit("(Details: ", 1)[-1].removesuffix(")") for t in texts]
    return texts


def morning(on: Rig) -> Feed:
    """Six known lines after the rig's two connection lines."""
    feed = Feed(on)
    feed.order("alpha aapl ack", order_id="q-100")
    feed.order("alpha msft filled", symbol="MSFT-USD", status=OrderStatus.FILLED)
    feed.order("beta eth rejected", account=BETA, symbol="USD_ETH_PERP",
               status=OrderStatus.REJECTED)
    feed.fill()
    feed.error("bad frame from alpha")
    feed.order("beta btc cancelled", account=BETA, symbol="USD_BTC_PERP",
               status=OrderStatus.CANCELLED, order_id="e-7")
    feed.show()
    assert on.window.log_model.line_count == 8
    return feed


def choose(combo: object, value: str) -> None:
    index = combo.findData(value)  # type: ignore[attr-defined]
    assert index > 0, value
    combo.setCurrentIndex(index)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("field", "value", "kinds_statuses"), [
    ("venue", "Everstrike", [("Connection", "CONNECTED"), ("Order", "REJECTED"),
                             ("Fill", "FILL"), ("Order", "CANCELLED")]),
    ("account", ALPHA, [("Connection", "CONNECTED"), ("Order", "ACK"), ("Order", "FILLED"),
                        ("Protocol error", "ERROR")]),
    ("status", "REJECTED", [("Order", "REJECTED")]),
    ("status", "FILL", [("Fill", "FILL")]),
    ("kind", "Protocol error", [("Protocol error", "ERROR")]),
    ("kind", "Connection", [("Connection", "CONNECTED"), ("Connection", "CONNECTED")]),
])
@pytest.mark.asyncio
async def test_each_filter_shows_only_its_lines_and_the_count(
        rig: Rig, field: str, value: str,  # noqa: F811 - the imported fixture
        kinds_statuses: list[tuple[str, str]]) -> None:
    w = rig.window
    morning(rig)
    bar = w.logPane.bar
    assert not bar.count.isVisible() and not bar.clear.isVisible()
    choose(getattr(bar, field), value)
    assert list(zip(shown(w, LogColumn.KIND), shown(w, LogColumn.STATUS), strict=True)) == \
        kinds_statuses
    assert bar.count.text() == f"showing {len(kinds_statuses)} of 8"
    assert bar.count.isVisible() and bar.clear.isVisible()


@pytest.mark.asyncio
async def test_the_symbol_filter_matches_part_of_the_symbol_after_a_pause(
        rig: Rig, qtbot: QtBot) -> None:  # noqa: F811
    w = rig.window
    morning(rig)
    qtbot.keyClicks(w.logPane.bar.symbol, "perp")
    await until(lambda: w.log_proxy.filter.symbol == "perp", what="the symbol filter")
    assert shown(w, LogColumn.SYMBOL) == ["USD_ETH_PERP", "USD_ETH_PERP", "USD_BTC_PERP"]


@pytest.mark.asyncio
async def test_filters_combine_and_clear_filters_shows_every_line(
        rig: Rig, qtbot: QtBot) -> None:  # noqa: F811
    w = rig.window
    morning(rig)
    bar = w.logPane.bar
    choose(bar.account, BETA)
    choose(bar.kind, "Order")
    assert shown(w) == ["beta eth rejected", "beta btc cancelled"]
    choose(bar.status, "CANCELLED")
    assert shown(w) == ["beta btc cancelled"]
    assert bar.count.text() == "showing 1 of 8"
    choose(bar.venue, "QFEX")  # no QFEX line on Beta: nothing at all
    assert shown(w) == []
    assert bar.count.text() == "showing 0 of 8"
    qtbot.mouseClick(bar.clear, Qt.MouseButton.LeftButton)
    assert len(shown(w)) == 8
    assert w.log_proxy.filter == LogFilter()
    assert [c.currentIndex() for c in (bar.venue, bar.account, bar.status, bar.kind)] == \
        [0, 0, 0, 0]
    assert not bar.count.isVisible() and not bar.clear.isVisible()


@pytest.mark.asyncio
async def test_typing_a_search_rescans_once_after_the_pause(
        rig: Rig, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    w = rig.window
    morning(rig)
    rescans: list[None] = []
    passing = LogFilter.passing

    def counted(f: LogFilter, lines: list[tuple[object, ...]]) -> bytearray:
        rescans.append(None)
        return passing(f, lines)

    monkeypatch.setattr(LogFilter, "passing", counted)
    qtbot.keyClicks(w.logPane.bar.search, "E-7")  # the order id, in another case
    assert rescans == [] and len(shown(w)) == 8  # not per key: nothing yet
    await until(lambda: rescans, what="the search to apply")
    assert shown(w) == ["beta btc cancelled"]
    assert rescans == [None]
    assert w.logPane.bar.count.text() == "showing 1 of 8"
    w.logPane.bar.search.clear()
    qtbot.keyClicks(w.logPane.bar.search, "from ALPHA")
    qtbot.keyClick(w.logPane.bar.search, Qt.Key.Key_Return)  # Enter: at once
    assert shown(w) == ["bad frame from alpha"]


@pytest.mark.asyncio
async def test_new_lines_with_a_filter_on_show_only_when_they_match(
        rig: Rig, qtmodeltester: ModelTester) -> None:  # noqa: F811
    w = rig.window
    feed = morning(rig)
    bar = w.logPane.bar
    choose(bar.account, BETA)
    choose(bar.kind, "Order")
    feed.order("alpha: filtered out")
    feed.order("beta: shown", account=BETA, symbol="USD_ETH_PERP")
    feed.fill()  # Beta, but a fill
    rig.sessions[BETA].say(ConnectionState.DISCONNECTED, "gone", at=feed.at)
    feed.show()
    assert shown(w) == ["beta eth rejected", "beta btc cancelled", "beta: shown"]
    assert bar.count.text() == "showing 3 of 12"
    qtmodeltester.check(w.log_proxy)


@pytest.mark.asyncio
async def test_a_click_on_a_filtered_line_selects_its_position(
        rig: Rig, qtbot: QtBot) -> None:  # noqa: F811
    w = rig.window
    morning(rig)
    choose(w.logPane.bar.account, BETA)
    view = w.logView
    model = view.model()
    row = shown(w).index("beta btc cancelled")
    rect = view.visualRect(model.index(row, LogColumn.MESSAGE))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert w.selection.selected_key() is not None
    assert w.selection.selected_key().symbol == "USD_BTC_PERP"


# ============================================================================ follow newest


def many(on: Rig, n: int, prefix: str = "line") -> Feed:
    feed = Feed(on)
    for i in range(n):
        feed.order(f"{prefix} {i:03d}")
    feed.show()
    return feed


def top_message(w: MainWindow) -> str:
    view = w.logView
    return str(view.model().index(view.rowAt(0), LogColumn.MESSAGE).data())


def wheel(w: MainWindow, notches: int) -> None:
    """Turn the mouse wheel over the log (positive: away from the newest line)."""
    viewport = w.logView.viewport()
    centre = QPointF(viewport.rect().center())
    event = QWheelEvent(centre, QPointF(viewport.mapToGlobal(centre.toPoint())), QPoint(),
                        QPoint(0, 120 * notches), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, event)


@pytest.mark.asyncio
async def test_follow_is_on_at_the_start_and_keeps_the_newest_line_in_view(
        rig: Rig) -> None:  # noqa: F811
    w = rig.window
    view, box = w.logView, w.logPane.bar.follow
    assert view.following and box.isChecked()
    many(rig, 120)
    assert view.at_bottom() and view.verticalScrollBar().maximum() > 0
    many(rig, 30, "more")
    assert view.at_bottom() and shown(w)[-1] == "more 029"
    assert view.rowAt(view.viewport().height() - 1) == view.model().rowCount() - 1


@pytest.mark.asyncio
async def test_the_wheel_stops_following_and_new_lines_do_not_move_the_view(
        rig: Rig) -> None:  # noqa: F811
    w = rig.window
    view, box = w.logView, w.logPane.bar.follow
    many(rig, 120)
    wheel(w, 3)
    assert not view.at_bottom()
    assert not view.following and not box.isChecked()
    before, reading = view.verticalScrollBar().value(), top_message(w)
    many(rig, 40, "more")
    assert (view.verticalScrollBar().value(), top_message(w)) == (before, reading)
    assert not view.following


@pytest.mark.asyncio
async def test_the_scroll_bar_stops_following_and_the_end_resumes_it(
        rig: Rig) -> None:  # noqa: F811
    w = rig.window
    view, box = w.logView, w.logPane.bar.follow
    many(rig, 120)
    bar = view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)  # a drag of the scroll bar's handle
    assert not view.following and not box.isChecked()
    bar.setValue(bar.maximum())
    assert view.following and box.isChecked()
    many(rig, 10, "more")
    assert view.at_bottom() and shown(w)[-1] == "more 009"


@pytest.mark.asyncio
async def test_keys_and_choosing_an_older_line_stop_following(
        rig: Rig, qtbot: QtBot) -> None:  # noqa: F811
    w = rig.window
    view, box = w.logView, w.logPane.bar.follow
    many(rig, 120)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert view.following  # the newest line chosen: still following
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert not view.following and not box.isChecked()
    qtbot.keyClick(view, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    assert view.following and box.isChecked()
    rect = view.visualRect(view.model().index(view.rowAt(0), LogColumn.MESSAGE))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert not view.following
    qtbot.keyClick(view, Qt.Key.Key_PageUp)
    assert not view.following


@pytest.mark.asyncio
async def test_the_toggle_turns_follow_off_where_it_is_and_on_at_the_end(
        rig: Rig, qtbot: QtBot) -> None:  # noqa: F811
    w = rig.window
    view, box = w.logView, w.logPane.bar.follow
    many(rig, 120)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert not box.isChecked() and not view.following
    before = view.verticalScrollBar().value()
    many(rig, 20, "more")
    assert view.verticalScrollBar().value() == before and not view.at_bottom()
    view.verticalScrollBar().setValue(0)
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton)
    assert box.isChecked() and view.following and view.at_bottom()


@pytest.mark.asyncio
async def test_while_off_trimmed_and_late_lines_above_do_not_move_the_line_read(
        rig: Rig) -> None:  # noqa: F811
    """Lines trimmed from the top past the cap, the note row that says so, and a line
    received earlier than those shown (inserted above): the line on top stays on top."""
    w = rig.window
    w.log_model.max_rows = 100
    view = w.logView
    feed = many(rig, 90)
    view.verticalScrollBar().setValue(50)
    assert not view.following
    reading = top_message(w)
    for i in range(30):  # 2 connection lines + 90 + 30 > 100: the oldest are trimmed
        feed.order(f"more {i:03d}")
    feed.show()
    assert w.log_model.trimmed and top_message(w) == reading
    feed.order("late line", at=START)  # before every line shown but the connections
    feed.show()
    assert "late line" in shown(w) and top_message(w) == reading
    assert not view.following


@pytest.mark.asyncio
async def test_a_new_filter_keeps_the_line_read_on_top_while_off(
        rig: Rig) -> None:  # noqa: F811
    w = rig.window
    view = w.logView
    feed = Feed(rig)
    for i in range(150):
        feed.order(f"line {i:03d}", account=ALPHA if i % 2 else BETA,
                   symbol="AAPL-USD" if i % 2 else "USD_ETH_PERP")
    feed.show()
    view.verticalScrollBar().setValue(61)  # an ALPHA line on top
    reading = top_message(w)
    assert reading == "line 059"  # rows 0 and 1: the connection lines
    choose(w.logPane.bar.account, ALPHA)
    assert top_message(w) == reading and not view.following
    w.logPane.bar.account.setCurrentIndex(0)
    assert top_message(w) == reading


@pytest.mark.asyncio
async def test_with_no_filter_the_pane_shows_the_log_itself_and_a_filter_keeps_the_columns(
        rig: Rig, qtbot: QtBot) -> None:  # noqa: F811
    """No filter: no proxy between the log and the pane (no call per new line). Turning a
    filter on and off keeps the columns' widths and the line chosen."""
    w = rig.window
    view = w.logView
    many(rig, 60)
    assert view.model() is w.log_model and w.log_proxy.sourceModel() is None
    view.setColumnWidth(LogColumn.SYMBOL, 233)
    chosen = w.log_model.index(30, LogColumn.MESSAGE)
    view.setCurrentIndex(chosen)
    message = chosen.data()
    choose(w.logPane.bar.account, ALPHA)  # every "line" is on Alpha: the chosen one shows
    assert view.model() is w.log_proxy and w.log_proxy.sourceModel() is w.log_model
    assert view.columnWidth(LogColumn.SYMBOL) == 233
    assert view.currentIndex().siblingAtColumn(LogColumn.MESSAGE).data() == message
    qtbot.mouseClick(w.logPane.bar.clear, Qt.MouseButton.LeftButton)
    assert view.model() is w.log_model and w.log_proxy.sourceModel() is None
    assert view.columnWidth(LogColumn.SYMBOL) == 233
    assert view.currentIndex().siblingAtColumn(LogColumn.MESSAGE).data() == message
    assert not view.following  # choosing an older line stopped it; filters did not restart it


@pytest.mark.asyncio
async def test_following_a_filter_on_and_off_stays_at_the_newest_line(
        rig: Rig) -> None:  # noqa: F811
    w = rig.window
    view = w.logView
    feed = many(rig, 150)
    choose(w.logPane.bar.kind, "Order")
    assert view.following and view.at_bottom() and view.verticalScrollBar().maximum() > 0
    feed.order("new while filtered")
    feed.show()
    assert view.at_bottom() and shown(w)[-1] == "new while filtered"
    w.logPane.bar.kind.setCurrentIndex(0)
    assert view.following and view.at_bottom() and shown(w)[-1] == "new while filtered"


# ============================================================================ demo mode


@pytest.mark.asyncio
async def test_in_demo_mode_a_filter_on_shows_a_real_close_s_lines_as_they_come(
        qtbot: QtBot, live: Live) -> None:  # noqa: F811 - the imported fixture
    """Against the simulator: a filter set before a close shows that close's own lines as
    the venue sends them (the venue's order updates and fills), and nothing else."""
    w = live.window
    bar = w.logPane.bar
    choose(bar.venue, "QFEX")
    qtbot.keyClicks(bar.symbol, "aapl")
    qtbot.keyClick(bar.symbol, Qt.Key.Key_Return)
    assert shown(w) == [] and bar.count.text().startswith("showing 0 of ")
    dialog = click_close(qtbot, w, AAPL)
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task
    await until(lambda: "FILLED" in shown(w, LogColumn.STATUS), what="the close's FILLED line")
    assert set(shown(w, LogColumn.SYMBOL)) == {"AAPL-USD"}
    assert set(shown(w, LogColumn.VENUE)) == {"QFEX"}
    held = w.log_model.line_count
    assert held > len(shown(w))  # the connection lines (and Everstrike's) are held, not shown
    assert bar.count.text() == f"showing {len(shown(w)):,} of {held:,}"
    assert w.logView.following and w.logView.at_bottom()
