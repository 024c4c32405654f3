"""The log pane shows one line per real state change of an order, in order, whichever channel
reported it first: driven through the real window, its Close button and dialog, against the
simulator over loopback.

Everstrike answers a close twice, on its REST reply and on the WebSocket. Here both come
through proxies that can hold them back, so either channel can be made to speak first.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.demo import demo_accounts
from core.desk import Desk
from core.journal import Journal
from core.model import OrderStatus
from core.settings import Preferences
from core.sim import Simulator
from core.venues.everstrike import EVERSTRIKE
from gui.main_window import MainWindow
from gui.models import LogColumn
from tests.gui.test_end_to_end import ETH, click_close, log_rows
from tests.helpers.polling import market_data, until
from tests.helpers.proxy import RecordingProxy
from tests.helpers.windows import dispose

QUIET = Preferences(confirm="never", stale_after_s=3600.0)


@dataclass
class Slow:
    window: MainWindow
    journal: Journal
    rest: RecordingProxy
    websocket: RecordingProxy


async def proxy_for(url: str) -> RecordingProxy:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    proxy = RecordingProxy(parts.hostname, parts.port)
    await proxy.start()
    return proxy


@pytest_asyncio.fixture
async def slow(qapp: QApplication) -> AsyncIterator[Slow]:
    """The demo window with Everstrike's REST and WebSocket through proxies (no delay yet)."""
    sim = Simulator(tick_interval=None)
    info = sim.start()
    rest, websocket = await proxy_for(info.everstrike.rest), await proxy_for(info.everstrike.ws)
    journal = Journal(":memory:")
    desk = Desk(journal=journal)
    window = MainWindow(desk, demo=True, coalesce_ms=20, preferences=QUIET)
    window.show()
    accounts = []
    for config, credentials in demo_accounts(info):
        if config.venue is EVERSTRIKE:
            config = replace(config, endpoints={
                **config.endpoints, "rest": rest.url_for(info.everstrike.rest),
                "ws": websocket.url_for(info.everstrike.ws)})
        accounts.append((config, credentials))
    try:
        assert await desk.start(accounts) == []
        await until(lambda: window.positions_model.row_of(ETH) is not None, what="the ETH row")
        await market_data(desk)
        yield Slow(window, journal, rest, websocket)
    finally:
        await window.shutdown()
        await desk.stop()
        await rest.stop()
        await websocket.stop()
        sim.stop()
        journal.close()
        dispose(window)


def order_lines(window: MainWindow) -> list[tuple[str, str, str]]:
    """The ETH order lines of the log pane, top to bottom: (time, status, venue status)."""
    return [(r[LogColumn.TIME], r[LogColumn.STATUS], r[LogColumn.RAW_STATUS])
            for r in log_rows(window, ETH.symbol) if r[LogColumn.KIND] == "Order"]


def duplicates(journal: Journal) -> list[dict[str, str]]:
    return [json.loads(r.payload) for r in journal.records(limit=10_000)
            if r.kind == "duplicate" and r.symbol == ETH.symbol]


async def close_eth_from_its_button(qtbot: QtBot, window: MainWindow) -> None:
    dialog = click_close(qtbot, window, ETH)
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task


@pytest.mark.parametrize("first", ["rest", "websocket"])
@pytest.mark.asyncio
async def test_an_everstrike_close_is_one_line_per_step_in_the_log(
    qtbot: QtBot, slow: Slow, first: str
) -> None:
    w = slow.window
    # The other channel is held back: its answer arrives after the first one's.
    (slow.rest if first == "websocket" else slow.websocket).reply_delay = 0.3
    await close_eth_from_its_button(qtbot, w)
    # The channel that spoke second repeats the fill; wait until the journal has set it aside,
    # so the log below is judged on the whole story, not on a prefix of it.
    await until(lambda: any(d["status"] == "FILLED" for d in duplicates(slow.journal)),
                what="the repeated fill in the journal")
    await until(lambda: any(s == "FILLED" for _, s, _ in order_lines(w)), what="the FILLED line")
    w.bridge.flush()  # whatever has come in is in the log now: a late line would show
    w.log_model.flush()
    lines = order_lines(w)
    statuses = [status for _, status, _ in lines]
    assert statuses.count(OrderStatus.FILLED.value) == 1
    assert statuses[-1] == OrderStatus.FILLED.value  # nothing after the fill: no ACK, no repeat
    times = [time for time, _, _ in lines]
    assert times == sorted(times)
    if first == "websocket":
        # The venue acknowledged on the WS before the reply came: that ACK is shown, then
        # the fill, both in the WS's own words.
        assert [(s, raw) for _, s, raw in lines] == [("ACK", "order_added"),
                                                    ("FILLED", "order_completed")]
    else:
        # The reply said FILLED first; the WS's ACK and FILLED after it are no news.
        assert [(s, raw) for _, s, raw in lines] == [("FILLED", "COMPLETED")]
