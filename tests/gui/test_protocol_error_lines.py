"""The log pane during a flood of bad venue data: the first bad frame of a kind is one line,
whole, and its repeats one more line that counts them; never a line per frame. Through the
real window and desk, against the simulator over loopback."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from PySide6.QtWidgets import QApplication

from bench.hostile_frames import hostile
from core.demo import demo_accounts
from core.desk import Desk
from core.journal import Journal
from core.settings import Preferences
from core.sim import Simulator
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models import LogColumn
from tests.helpers.polling import until
from tests.helpers.windows import dispose

QUIET = Preferences(confirm="never", stale_after_s=3600.0)


@dataclass
class Live:
    sim: Simulator
    desk: Desk
    window: MainWindow
    journal: Journal


@pytest_asyncio.fixture
async def live(qapp: QApplication) -> AsyncIterator[Live]:
    sim = Simulator(tick_interval=None)
    info = sim.start()
    journal = Journal(":memory:")
    desk = Desk(journal=journal, protocol_error_window=0.3)
    window = MainWindow(desk, demo=True, coalesce_ms=20, preferences=QUIET)
    window.show()
    try:
        assert await desk.start(demo_accounts(info)) == []
        await until(lambda: {k.venue for k in window.positions_model.all_keys()}
                    == {QFEX, EVERSTRIKE}, what="positions from both venues")
        yield Live(sim, desk, window, journal)
    finally:
        await window.shutdown()
        await desk.stop()
        sim.stop()
        journal.close()
        dispose(window)


def error_lines(window: MainWindow) -> list[dict[LogColumn, str]]:
    window.log_model.flush()
    model = window.log_model
    rows = [{c: model.data(model.index(r, c)) for c in LogColumn} for r in range(model.rowCount())]
    return [r for r in rows if r[LogColumn.KIND] == "Protocol error"]


@pytest.mark.asyncio
async def test_a_flood_of_bad_frames_is_one_line_then_one_line_that_counts_the_rest(
        live: Live) -> None:
    rng = random.Random(5)
    frames = [hostile("everstrike", "truncated", rng) for _ in range(40)]
    for frame in frames:
        live.sim.everstrike.faults.inject_malformed(1, frame, path="/ws", burst=True)
    live.sim.step()  # the next push on the Everstrike socket carries all 40
    await until(lambda: len(error_lines(live.window)) == 2, 10, "the line and its summary")
    first, summary = error_lines(live.window)
    assert first[LogColumn.VENUE] == summary[LogColumn.VENUE] == "Everstrike"
    assert first[LogColumn.STATUS] == "ERROR"
    message, _, frame = first[LogColumn.MESSAGE].partition(" — ")
    assert message.startswith("Everstrike sent a frame")
    assert frame and frames[0].startswith(frame.removesuffix("…"))  # the frame that caused it
    assert summary[LogColumn.MESSAGE].startswith("39 more like this in the last ")
    assert summary[LogColumn.MESSAGE].endswith(f": {message}")  # like the first, no frame
    # The journal holds the same two records, and their counts add up to every frame.
    live.journal.flush()
    records = [json.loads(r.payload) for r in live.journal.records(limit=10_000)
               if r.kind == "protocol_error"]
    assert [r["count"] for r in records] == [1, 39]
