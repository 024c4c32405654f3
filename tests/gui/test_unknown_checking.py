"""The row of a close lost to a drop, while the venue is too slow to answer: its Close button
reads "Unknown · checking (attempt N)" with the desk's own count, then the close's true state
once the venue answers; nothing is resent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from core.demo import demo_accounts
from core.desk import Desk, IntentState
from core.model import CloseRequest, PositionKey
from core.settings import Preferences
from core.sim import Simulator
from core.venue import AccountConfig, Credentials, EventSink, ReconnectPolicy, VenueSession
from core.venues import session_class
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models import PositionColumn
from tests.helpers.polling import market_data, until
from tests.helpers.windows import dispose

FAST = ReconnectPolicy(initial=0.05, maximum=0.3, jitter=0.0)
WAIT = 0.5  # every wait for the venue; the slow venue below takes longer
QUIET = Preferences(confirm="never", stale_after_s=3600.0)


def slow_to_give_up(account: AccountConfig, creds: Credentials, sink: EventSink) -> VenueSession:
    session = session_class(account.venue)(account, creds, sink, reconnect=FAST)
    session.reply_timeout = WAIT  # type: ignore[attr-defined]
    return session


@dataclass
class Live:
    sim: Simulator
    desk: Desk
    window: MainWindow


@pytest_asyncio.fixture
async def live(qapp: QApplication) -> AsyncIterator[Live]:
    sim = Simulator(tick_interval=None)
    info = sim.start()
    desk = Desk(session_factory=slow_to_give_up, reconcile=FAST, reconcile_timeout=WAIT)
    window = MainWindow(desk, demo=True, coalesce_ms=20, preferences=QUIET)
    window.show()
    try:
        qfex_only = [p for p in demo_accounts(info) if p[0].venue is QFEX]
        assert await desk.start(qfex_only) == []
        await until(lambda: window.positions_model.rowCount() > 0, what="the rows")
        await market_data(desk)
        yield Live(sim, desk, window)
    finally:
        await window.shutdown()
        await desk.stop()
        sim.stop()
        dispose(window)


def button(window: MainWindow, key: PositionKey) -> str | None:
    index = window.proxy_index(key, PositionColumn.ACTION)
    return index.data() if index.isValid() else None


@pytest.mark.asyncio
async def test_the_row_says_which_check_of_an_unknown_close_is_under_way(live: Live) -> None:
    w, desk = live.window, live.desk
    key = next(k for k in desk.positions if k.symbol == "MSFT-USD")
    position = desk.positions[key]
    faults = live.sim.qfex.faults
    faults.latency = 2.0
    faults.drop_next(1, execute=True)
    intent = await desk.close(CloseRequest(key, position.side, position.quantity))

    await until(lambda: button(w, key) == "Unknown · checking (attempt 3)", timeout=20,
                what="the third check on the row")
    assert intent.state is IntentState.UNKNOWN and intent.checks >= 3
    tip = w.proxy_index(key, PositionColumn.ACTION).data(Qt.ItemDataRole.ToolTipRole)
    assert "it was not resent" in tip

    faults.latency = 0.0
    await intent.wait(lambda i: i.state.settled, timeout=20)
    assert intent.state is IntentState.FILLED
    await until(lambda: key not in desk.positions, what="the row gone")
    closes = [r for r in live.sim.qfex.received if r.kind in ("close_position", "add_order")]
    assert len(closes) == 1  # never resent
