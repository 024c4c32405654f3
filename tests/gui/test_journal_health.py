"""The journal in the health strip: hidden while it keeps up, amber then red when its writer
falls behind (back-pressure: nothing is dropped, the window lags), red when a write failed.

The writer is paused with a gate (tests.helpers.journal), never timed.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from PySide6.QtWidgets import QApplication

from core.desk import Desk
from core.journal import Backlog, Journal, JournalFilter
from core.model import ProtocolError
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.widgets.health import JOURNAL_AMBER_S, JOURNAL_RED_S, journal_figure
from tests.gui.conftest import until
from tests.helpers.fakes import FakeSession, account, position
from tests.helpers.journal import Gate
from tests.helpers.windows import shut


@dataclass
class Rig:
    desk: Desk
    window: MainWindow
    journal: Journal
    gate: Gate
    session: FakeSession


@pytest_asyncio.fixture
async def rig(qapp: QApplication, tmp_path: Path) -> AsyncIterator[Rig]:
    gate = Gate()
    journal = Journal(tmp_path / "j.sqlite3", operator="tester", before_commit=gate)
    sessions: list[FakeSession] = []

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.initial = (position(),)
        sessions.append(s)
        return s

    desk = Desk(journal=journal, session_factory=factory)
    window = MainWindow(desk, health_interval_ms=3_600_000)  # refreshed by hand
    try:
        assert await desk.start([(account(), Credentials("pub", "sec"))]) == []
        await desk.journaled()
        yield Rig(desk, window, journal, gate, sessions[0])
    finally:
        gate.open()
        await shut(window, desk)
        journal.close()


def test_the_journal_figure_follows_its_thresholds() -> None:
    assert journal_figure(Backlog(0, 0.0), None) is None
    assert journal_figure(Backlog(40, JOURNAL_AMBER_S - 0.01), None) is None
    amber = journal_figure(Backlog(40, JOURNAL_AMBER_S), None)
    assert amber is not None and amber.tone == "warn"
    assert "40 records wait" in amber.tip and "Nothing is dropped" in amber.tip
    red = journal_figure(Backlog(12_000, JOURNAL_RED_S + 1), None)
    assert red is not None and red.tone == "bad" and red.text == "journal 3.0 s behind"
    assert "12,000 records" in red.tip
    stopped = journal_figure(Backlog(3, 0.1), OSError("disk full"))
    assert stopped is not None and stopped.tone == "bad" and stopped.text == "journal stopped"
    assert "disk full" in stopped.tip and "no close is sent" in stopped.tip


@pytest.mark.asyncio
async def test_a_journal_that_falls_behind_shows_in_the_health_strip(rig: Rig) -> None:
    strip = rig.window.healthStrip
    rig.window.refresh_health()
    assert strip.journal.isHidden()  # keeping up: nothing to say
    rig.gate.close()
    for i in range(3):
        rig.session.sink(ProtocolError(QFEX, "acct", f"bad frame {i}"))
    await until(lambda: rig.journal.backlog.oldest_s >= JOURNAL_AMBER_S,
                what="the oldest record waiting past the amber threshold")
    rig.window.refresh_health()
    assert not strip.journal.isHidden()
    assert strip.journal.property("tone") in ("warn", "bad")
    assert re.fullmatch(r"journal \d+\.\d s behind", strip.journal.text())
    assert "3 records wait to be written" in strip.journal.toolTip()
    rig.gate.open()
    await rig.desk.journaled()
    rig.window.refresh_health()
    assert strip.journal.isHidden()  # caught up: nothing was dropped
    assert rig.journal.count(JournalFilter(kinds=frozenset({"protocol_error"}))) == 3


@pytest.mark.allow_error_logs
@pytest.mark.asyncio
async def test_a_journal_that_stopped_is_red_in_the_health_strip(
    rig: Rig, fail_on_error_logs: pytest.LogCaptureFixture
) -> None:
    rig.gate.fail_with = sqlite3.OperationalError("disk I/O error")
    rig.session.sink(ProtocolError(QFEX, "acct", "bad frame"))
    await until(lambda: rig.journal.failure() is not None, what="the failed write")
    rig.window.refresh_health()
    strip = rig.window.healthStrip
    assert strip.journal.text() == "journal stopped"
    assert strip.journal.property("tone") == "bad"
    assert "disk I/O error" in strip.journal.toolTip()
    fail_on_error_logs.records.clear()
