"""The window at its minimum size: nothing overlaps, the Close column stays on screen (pinned to
the right) and takes a real click, and the header's badges and the health strip wrap whole
items instead of cutting them at the edge."""

from __future__ import annotations

from itertools import combinations

import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.venue import Credentials
from gui.main_window import MINIMUM_SIZE, MainWindow
from gui.models import PositionColumn
from gui.widgets import button_rect
from tests.gui.test_end_to_end import AAPL, ETH, Live, live  # noqa: F401 - the fixture
from tests.helpers.fakes import FakeSession, account
from tests.helpers.windows import shut


def _settle() -> None:
    QApplication.sendPostedEvents()  # layout requests only: no loop turn inside the test
    QApplication.sendPostedEvents()


def _in(window: QWidget, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


@pytest.mark.asyncio
async def test_the_window_stops_at_a_minimum_where_nothing_overlaps(
    live: Live,  # noqa: F811 - the fixture
) -> None:
    w = live.window
    w.resize(500, 350)
    _settle()
    assert w.width() >= MINIMUM_SIZE.width() and w.height() >= MINIMUM_SIZE.height()
    assert w.minimumSize().width() >= w.minimumSizeHint().width()
    assert w.minimumSize().height() >= w.minimumSizeHint().height()
    w.resize(w.minimumSize())
    _settle()
    bar = [w.positionsTitle, w.venueFilter, w.accountFilter, w.symbolFilter,
           w.groupByAccount, w.freezeOrder]
    for a, b in combinations(bar, 2):
        assert not _in(w, a).intersects(_in(w, b)), (a.objectName(), b.objectName())
    for widget in bar:
        assert widget.width() >= widget.minimumSizeHint().width(), widget.objectName()
    assert w.positionsTitle.width() >= w.positionsTitle.sizeHint().width()  # not cut


@pytest.mark.asyncio
async def test_at_the_minimum_size_close_is_on_screen_and_takes_a_real_click(
    live: Live, qtbot: QtBot  # noqa: F811 - the fixture
) -> None:
    w = live.window
    w.resize(w.minimumSize())
    _settle()
    view = w.positionsView
    assert view.horizontalScrollBar().maximum() > 0  # the data columns do not all fit
    for key in (AAPL, ETH):
        index = w.proxy_index(key, PositionColumn.ACTION)
        view.scrollTo(index)
        _settle()
        target, cell = w.closeColumn.cell(index)
        button = button_rect(cell)
        assert target.isVisible()
        assert target.rect().contains(button), (key, button, target.rect())
        # The table's own viewport is entirely inside the window: nothing is off screen.
        assert w.rect().contains(_in(w, target))
        # What is under the button's centre is that button's view: it takes the click.
        centre = button.center()
        assert w.childAt(target.mapTo(w, centre)) is target
    # Scrolled all the way left (the Close column is farthest away), a real click on it.
    view.horizontalScrollBar().setValue(0)
    index = w.proxy_index(AAPL, PositionColumn.ACTION)
    view.scrollTo(index)  # back to its row: the table at this size holds a few rows only
    view.horizontalScrollBar().setValue(0)
    _settle()
    target, cell = w.closeColumn.cell(index)
    assert target.rect().contains(button_rect(cell))
    qtbot.mouseClick(target, Qt.MouseButton.LeftButton, pos=button_rect(cell).center())
    dialog = w.dialogs.get(AAPL)
    assert dialog is not None and dialog.isVisible(), "the click did not open the close dialog"
    dialog.reject()


def _cut(strip: QWidget, scroller: QWidget, items: list[QWidget]) -> list[str]:
    """Items (and their labels) not wholly inside the scroller's width."""
    view = QRect(QPoint(0, 0), scroller.size())
    cut = []
    for item in items:
        for part in [item, *item.findChildren(QLabel)]:
            if not part.isVisible():
                continue
            at = QRect(part.mapTo(scroller, QPoint(0, 0)), part.size())
            if at.left() < view.left() or at.right() > view.right():
                cut.append(part.text() if isinstance(part, QLabel) else part.objectName())
    return cut


@pytest.mark.asyncio
async def test_badges_and_health_wrap_whole_items_at_the_minimum_size(
    qapp: QApplication,
) -> None:
    desk = Desk(session_factory=FakeSession)
    window = MainWindow(desk, health_interval_ms=3_600_000, history_poll_ms=3_600_000)
    try:
        names = [f"Client account {i:02d}" for i in range(5)]
        await desk.start([(account(n), Credentials("p", "s")) for n in names])
        window.refresh_health()
        window.show()
        window.resize(window.minimumSize())
        _settle()
        for strip, items in ((window.healthStrip, list(window.healthStrip.panels.values())),
                             (window.connectionStrip,
                              list(window.connectionStrip.badges.values()))):
            scroller = strip.parentWidget().parentWidget()  # viewport, then the area
            assert isinstance(scroller, QWidget)
            assert len(items) == 5 and all(i.isVisible() for i in items)
            assert _cut(strip, scroller, items) == [], strip.objectName()
            rows = {i.mapTo(strip, QPoint(0, 0)).y() for i in items}
            assert len(rows) > 1, strip.objectName()  # they wrapped
    finally:
        await shut(window, desk)
