"""Numbers in the window are written by the instrument, not by the digits a venue sent: one
venue's "25.0" and another's "25" of the same lot read alike, P&L has its quote currency's
fixed decimals, and the decimal points of a column line up in the painted table."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from decimal import Decimal

import pytest
import pytest_asyncio
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import QApplication

from core.desk import Desk
from core.model import (
    Instrument,
    OrderSide,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionSide,
    SessionHealth,
    WorkingKind,
    WorkingOrder,
)
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models import LogColumn, PositionColumn, WorkingColumn
from tests.gui.conftest import until
from tests.helpers.fakes import FakeSession, account
from tests.helpers.windows import shut

D = Decimal
Q_ACCT, E_ACCT = "Alpha desk", "Beta desk"
INSTRUMENTS = {
    "AAPL-USD": Instrument("AAPL-USD", tick_size=D("0.01"), lot_size=D("0.01"),
                           quote_currency="USD"),
    "TSLA-USD": Instrument("TSLA-USD", tick_size=D("0.05"), lot_size=D("1"),
                           quote_currency="USD"),
    "USD_BTC_PERP": Instrument("USD_BTC_PERP", tick_size=D("0.5"), lot_size=D("0.001"),
                               quote_currency="USDT"),
}


class RefdataSession(FakeSession):
    """A fake whose reference data has lots, ticks and quote currencies."""

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return INSTRUMENTS


def pos(acct: str, venue: object, symbol: str, qty: str, entry: str, mark: str,
        pnl: str) -> Position:
    return Position(PositionKey(acct, venue, symbol), PositionSide.LONG,  # type: ignore[arg-type]
                    D(qty), D(entry), D(mark), D(pnl))


@dataclass
class Rig:
    desk: Desk
    window: MainWindow
    sessions: dict[str, RefdataSession]


@pytest_asyncio.fixture
async def rig(qapp: QApplication) -> AsyncIterator[Rig]:
    sessions: dict[str, RefdataSession] = {}

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> RefdataSession:
        s = RefdataSession(acct, creds, sink)
        s.health_now = SessionHealth(connected=True)
        if acct.name == Q_ACCT:  # QFEX sends "25" and "364.0000"
            s.initial = (pos(Q_ACCT, QFEX, "AAPL-USD", "25", "250.1", "264.66", "364.0000"),
                         pos(Q_ACCT, QFEX, "TSLA-USD", "3", "180", "181.35", "-4.05"))
            s.working = (WorkingOrder(QFEX, Q_ACCT, "AAPL-USD", "w-1", WorkingKind.LIMIT,
                                      OrderSide.SELL, D("5"), remaining=D("5"),
                                      price=D("270.5"), order_type="LIMIT", raw_status="NEW"),)
        else:  # Everstrike sends "25.0" and "+2220.0"
            s.initial = (pos(E_ACCT, EVERSTRIKE, "USD_BTC_PERP", "25.0", "64911.5", "65000",
                             "2220.0"),)
        sessions[acct.name] = s
        return s

    desk = Desk(session_factory=factory)
    window = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000)
    window.resize(1300, 500)
    window.show()
    try:
        creds = Credentials("pub", "sec")
        assert await desk.start([(account(Q_ACCT), creds),
                                 (account(E_ACCT, EVERSTRIKE), creds)]) == []
        window.bridge.flush()
        window.positions_model.flush()
        assert window.positions_model.rowCount() == 3
        yield Rig(desk, window, sessions)
    finally:
        await shut(window, desk)


def shown(window: MainWindow, column: int) -> dict[str, str]:
    """The painted table's texts of one column, by symbol."""
    proxy = window.positionsView.model()
    out = {}
    for row in range(proxy.rowCount()):
        symbol = proxy.index(row, PositionColumn.SYMBOL).data()
        out[symbol] = proxy.index(row, column).data()
    return out


@pytest.mark.asyncio
async def test_a_mixed_venue_table_writes_each_number_by_its_instrument(rig: Rig) -> None:
    window = rig.window
    assert shown(window, PositionColumn.QUANTITY) == {
        "AAPL-USD": "25.00", "TSLA-USD": "3", "USD_BTC_PERP": "25.000"}
    assert shown(window, PositionColumn.ENTRY) == {
        "AAPL-USD": "250.10", "TSLA-USD": "180.00", "USD_BTC_PERP": "64911.5"}
    assert shown(window, PositionColumn.MARK) == {
        "AAPL-USD": "264.66", "TSLA-USD": "181.35", "USD_BTC_PERP": "65000.0"}
    assert shown(window, PositionColumn.PNL) == {
        "AAPL-USD": "+364.00", "TSLA-USD": "-4.05", "USD_BTC_PERP": "+2220.00"}


@pytest.mark.asyncio
async def test_the_pnl_columns_decimal_points_line_up_as_painted(rig: Rig) -> None:
    """Right-aligned in a fixed-pitch font with the same decimals: every "." is painted at the
    same x, so the column's edge does not dance as the figures move."""
    window = rig.window
    view = window.positionsView
    proxy = view.model()
    points = set()
    for row in range(proxy.rowCount()):
        index = proxy.index(row, PositionColumn.PNL)
        font = index.data(Qt.ItemDataRole.FontRole)
        assert isinstance(font, QFont)
        metrics = QFontMetrics(font)  # tabular digits: every digit as wide as the others
        assert len({metrics.horizontalAdvance(c) for c in "0123456789"}) == 1
        text = index.data()
        rect = view.visualRect(index)
        assert rect.isValid() and rect.width() > QFontMetrics(font).horizontalAdvance(text)
        tail = QFontMetrics(font).horizontalAdvance(text[text.index("."):])
        points.add(rect.right() - tail)
    assert len(points) == 1, points


@pytest.mark.asyncio
async def test_the_log_and_working_orders_use_the_instrument_and_an_ack_shows_no_zero(
        rig: Rig) -> None:
    window = rig.window
    session = rig.sessions[E_ACCT]
    # An Everstrike market close: the ACK carries price 0, the fill the real price.
    session.sink(OrderUpdate(EVERSTRIKE, E_ACCT, "USD_BTC_PERP", OrderStatus.ACK, "NEW", False,
                             order_id="e-9", quantity=D("25.0"), remaining=D("25.0"),
                             price=D("0"), message="accepted"))
    session.sink(OrderUpdate(EVERSTRIKE, E_ACCT, "USD_BTC_PERP", OrderStatus.FILLED, "FILLED",
                             True, order_id="e-9", quantity=D("25.0"), remaining=D("0"),
                             price=D("64999.5"), message="filled"))
    window.bridge.flush()
    log = window.log_model
    await until(lambda: log.rowCount() >= 2 and any(
        log.index(r, LogColumn.STATUS).data() == "FILLED" for r in range(log.rowCount())),
        what="the two log lines")
    lines = {log.index(r, LogColumn.STATUS).data(): r for r in range(log.rowCount())
             if log.index(r, LogColumn.SYMBOL).data() == "USD_BTC_PERP"}
    ack, filled = lines["ACK"], lines["FILLED"]
    assert log.index(ack, LogColumn.PRICE).data() == ""  # not "0"
    assert log.index(ack, LogColumn.QUANTITY).data() == "25.000"
    assert log.index(filled, LogColumn.PRICE).data() == "64999.5"
    assert log.index(filled, LogColumn.REMAINING).data() == "0.000"
    working = window.working_model
    assert working.rowCount() == 1
    assert working.index(0, WorkingColumn.QUANTITY).data() == "5.00"
    assert working.index(0, WorkingColumn.PRICE).data() == "270.50"

