"""The totals strip under the positions table, driven through the real window: exact sums per
quote currency (USD and USDT never added together), per venue and per account, a count of
what a total leaves out, the filters followed ("filtered: 2 of 5"), live marks and rows that
come and go, and every label readable at the window's minimum size."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.model import Position, PositionKey, PositionSide, SessionHealth
from core.numbers import number_format
from core.totals import Totals, amounts_text, totals
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MINIMUM_SIZE, MainWindow
from gui.models.style import PROFIT
from tests.gui.test_end_to_end import Live, live  # noqa: F401 - the fixture
from tests.gui.test_grouped_rows import ALPHA, BETA, BOOK, GAMMA, RefdataSession
from tests.helpers.fakes import account
from tests.helpers.polling import until
from tests.helpers.windows import shut

D = Decimal


@pytest_asyncio.fixture
async def window(qapp: QApplication) -> AsyncIterator[MainWindow]:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> RefdataSession:
        s = RefdataSession(acct, creds, sink)
        s.health_now = SessionHealth(connected=True)
        s.initial = BOOK[acct.name]
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
        await until(lambda: w.totals.running.totals.overall.positions == 5)
        yield w
    finally:
        await shut(w, desk)


def strip_text(w: MainWindow) -> tuple[str, str, str]:
    s = w.totals.strip
    return s.scope.text(), s.notional.text(), s.pnl.text()


@pytest.mark.asyncio
async def test_the_strip_sums_exactly_per_currency_venue_and_account(
        qtbot: QtBot, window: MainWindow) -> None:
    w = window
    s = w.totals.strip
    # QFEX's instruments are quoted in USD, Everstrike's in USDT: one figure per currency.
    assert strip_text(w) == ("Totals · 5 positions", "notional 9807.15 USD · 47585.88 USDT",
                             "uP&L +505.55 USD · +1835.52 USDT")
    assert s.venues.text() == ("Everstrike: 2 · 47585.88 USDT · +1835.52 USDT   │   "
                               "QFEX: 3 · 9807.15 USD · +505.55 USD")
    assert not s.incomplete.isVisible()
    assert not s.accounts.isVisible()
    qtbot.mouseClick(s.accountsToggle, Qt.MouseButton.LeftButton)
    assert s.accounts.isVisible()
    assert s.accounts.text().startswith("Alpha desk · QFEX: 2 · 7160.55 USD · +359.95 USD")
    assert "Gamma desk · QFEX: 1 · 2646.60 USD · +145.60 USD" in s.accounts.text()
    assert s.toolTip().splitlines()[0] == (
        "All venues: 5 positions · notional 9807.15 USD · 47585.88 USDT · "
        "uP&L +505.55 USD · +1835.52 USDT")


@pytest.mark.asyncio
async def test_the_strip_follows_the_filter_and_sums_only_the_rows_shown(
        qtbot: QtBot, window: MainWindow) -> None:
    w = window
    w.symbolFilter.setFocus()
    qtbot.keyClicks(w.symbolFilter, "aapl")
    await until(lambda: w.totals.strip.scope.text() == "filtered: 2 of 5")
    assert strip_text(w)[1:] == ("notional 9263.10 USD", "uP&L +509.60 USD")
    # One currency left: the P&L is coloured by its sign.
    assert PROFIT.name() in w.totals.strip.pnl.styleSheet()
    qtbot.keyClick(w.symbolFilter, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(w.symbolFilter, Qt.Key.Key_Backspace)
    await until(lambda: w.totals.strip.scope.text() == "Totals · 5 positions")
    w.venueFilter.setCurrentIndex(w.venueFilter.findData(EVERSTRIKE.value))
    await until(lambda: w.totals.strip.scope.text() == "filtered: 2 of 5")
    assert strip_text(w)[2] == "uP&L +1835.52 USDT"


@pytest.mark.asyncio
async def test_live_marks_rows_without_pnl_and_removals_update_the_totals(
        window: MainWindow) -> None:
    w = window
    model = w.positions_model
    aapl = BOOK[GAMMA][0]
    model.queue_upsert(aapl.with_mark(D("270")))  # 10 x (270 - 264.66) = 53.4 P&L
    await until(lambda: strip_text(w)[2] == "uP&L +413.35 USD · +1835.52 USDT")
    assert strip_text(w)[1] == "notional 9860.55 USD · 47585.88 USDT"
    # A position with no mark and no P&L yet counts, and the strip says what is left out.
    blind = Position(PositionKey(GAMMA, QFEX, "TSLA-USD"), PositionSide.SHORT, D("2"))
    model.queue_upsert(blind)
    await until(lambda: w.totals.strip.incomplete.text() ==
                "P&L of 5 of 6 · notional of 5 of 6")
    assert w.totals.strip.incomplete.isVisible()
    assert strip_text(w)[0] == "Totals · 6 positions"
    model.remove(blind.key)
    model.remove(BOOK[BETA][0].key)
    await until(lambda: strip_text(w)[0] == "Totals · 4 positions")
    assert strip_text(w)[2] == "uP&L +413.35 USD · -384.48 USDT"  # half-even
    assert not w.totals.strip.incomplete.isVisible()


def _in(window: QWidget, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


@pytest.mark.asyncio
async def test_at_the_minimum_size_the_strip_is_on_screen_and_not_cut(
        window: MainWindow) -> None:
    w = window
    w.resize(MINIMUM_SIZE)
    QApplication.sendPostedEvents()
    QApplication.sendPostedEvents()
    assert w.size() == MINIMUM_SIZE.expandedTo(w.minimumSize())
    s = w.totals.strip
    inside = QRect(0, 0, w.width(), w.height())
    labels = [s.scope, s.notional, s.pnl, s.accountsToggle]
    for label in labels:
        assert label.isVisible() and inside.contains(_in(w, label)), label.objectName()
        assert label.width() >= label.sizeHint().width(), label.objectName()  # not cut
    assert inside.contains(_in(w, s.venues))
    assert not _in(w, s).intersects(_in(w, w.positionsView))


@pytest.mark.asyncio
async def test_against_the_simulator_the_strip_equals_the_desks_totals(
        live: Live) -> None:  # noqa: F811 - the fixture
    """Demo mode's real path (simulator, sessions, desk, bridge, models): once marks have
    arrived, the strip's sums are exactly the desk's positions' (core.totals afresh)."""
    w, desk = live.window, live.desk

    def expected() -> Totals:
        return totals((p, number_format(desk.instrument(p.key)).quote)
                      for p in desk.positions.values())

    await until(lambda: w.totals.running.totals == expected(), what="the strip's totals")
    s = expected().overall
    assert s.positions == 16 and s.without_mark == 0 and set(s.pnl) == {"USD"}
    assert strip_text(w)[0] == "Totals · 16 positions"
    assert strip_text(w)[2] == f"uP&L {amounts_text(s.pnl, signed=True)}"
    assert not w.totals.strip.incomplete.isVisible()
