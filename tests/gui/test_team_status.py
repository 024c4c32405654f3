"""The team link in the window's status bar, against a real PostgreSQL: connected it says the
desk is shared; with the database killed it says so and counts the records waiting as they are
written, and tells the outage once (one log line, one alert); restarted, the backlog drains and
the return is told once with the count sent. The quit question, the quit itself and About's
"Copy details" say how the link stands. A desk alone has no indicator."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from PySide6.QtWidgets import QApplication

from core.alerts import AlertKind
from core.desk import Desk
from core.journal import Journal
from core.model import PositionKey
from core.settings import Preferences
from core.team.config import TeamConfig
from core.team.link import LinkPhase
from core.team.stack import TeamStack
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.qfex import QFEX
from gui.controllers.team_status import LOG_KIND, stop_team
from gui.main_window import MainWindow
from gui.models.log import LogEntry
from gui.widgets.team_status import TeamIndicator
from tests.helpers.alerts import RecordingNotifier
from tests.helpers.fakes import FakeSession, account, position, working
from tests.helpers.polling import until
from tests.helpers.postgres import APP_PASSWORD, TeamDatabase, team_cluster, team_db
from tests.helpers.windows import kept, shut

__all__ = ["team_cluster", "team_db"]

AAPL = PositionKey("acct", QFEX, "AAPL-USD")


@dataclass
class Rig:
    window: MainWindow
    stack: TeamStack
    journal: Journal
    db: TeamDatabase
    notifier: RecordingNotifier
    killed: bool = False
    stopped: bool = False

    async def kill(self) -> None:
        await asyncio.to_thread(self.db.cluster.kill)
        self.killed = True

    async def restart(self) -> None:
        await asyncio.to_thread(self.db.cluster.restart)
        self.killed = False

    @property
    def indicator(self) -> TeamIndicator:
        status = self.window.team_status
        assert status is not None
        return status.indicator

    def team_lines(self) -> list[LogEntry]:
        self.window.log_model.flush()
        return [e for e in self.window.log_model.entries if e.kind == LOG_KIND]

    def write(self, n: int) -> None:
        for i in range(n):
            self.journal.append("note", {"i": i})
        self.journal.flush(timeout=30)


@pytest_asyncio.fixture
async def rig(qapp: QApplication, team_db: TeamDatabase, tmp_path: Path
              ) -> AsyncIterator[Rig]:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.initial = (position("AAPL-USD"),)
        s.working = (working("w-1", symbol="AAPL-USD"),)
        return s

    journal = Journal(tmp_path / "j.sqlite3", operator="maria")
    config = TeamConfig(f"postgresql://closeout_app@127.0.0.1:{team_db.cluster.port}/"
                        f"{team_db.name}", "Desk 3", 10.0)
    stack = TeamStack(config, APP_PASSWORD, journal, "maria", desk="desk-3")
    desk = Desk(journal=journal, session_factory=factory, coordinator=stack.coordinator)
    await stack.start()
    window = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000,
                        preferences=Preferences(confirm="never", stale_after_s=3600.0))
    notifier = RecordingNotifier()
    window.alerts.notifier = notifier
    status = window.set_team(stack)
    status.timer.setInterval(20)  # the app reads it once a second; the test need not wait
    window.show()
    rig = Rig(window, stack, journal, team_db, notifier)
    try:
        assert await desk.start([(account(), Credentials("pub", "sec"))]) == []
        await until(lambda: stack.link().phase is LinkPhase.UP, timeout=30)
        yield rig
    finally:
        if rig.killed:
            await rig.restart()
        await shut(window, desk)
        if not rig.stopped:
            await stack.stop(flush_s=10)
        journal.close()


@pytest.mark.asyncio
@pytest.mark.timeout(240)
async def test_the_indicator_follows_the_database_down_and_back_telling_each_once(
    rig: Rig,
) -> None:
    await until(lambda: rig.indicator.text() == "Team · Desk 3 · shared", timeout=30)
    assert rig.indicator.tone == "good"
    tip = rig.indicator.toolTip()
    assert f"127.0.0.1:{rig.db.cluster.port}, database {rig.db.name}" in tip
    assert "This desk: Desk 3 (id desk-3)" in tip and APP_PASSWORD not in tip
    assert rig.team_lines() == []  # a start that connects tells nothing
    await until(lambda: rig.stack.link().remote_seq == rig.journal.last_seq(), timeout=30)
    stored = rig.stack.link().remote_seq

    await rig.kill()
    await until(lambda: rig.indicator.tone == "bad", timeout=60)
    for more, n in ((2, 2), (3, 5)):  # the count grows as records are written
        rig.write(more)
        await until(lambda n=n: rig.indicator.text() == (
            f"Team database unreachable · {n} records waiting locally · closes need an "
            "override"), timeout=60)
    assert "5 records waiting" in rig.indicator.toolTip()
    assert "Last error: " in rig.indicator.toolTip()
    down = rig.team_lines()
    assert [(e.status, e.tone) for e in down] == [("TEAM DOWN", "bad")]
    assert down[0].message.startswith("Team database unreachable: closes are refused unless "
                                      "overridden; records wait locally")
    assert rig.notifier.kinds() == [AlertKind.CONNECTION_LOST]

    await rig.restart()
    rig.write(1)  # written as it comes back: it goes out with the rest
    await until(lambda: rig.indicator.text() == "Team · Desk 3 · shared", timeout=60)
    assert rig.stack.link().queued == 0
    sent = rig.journal.last_seq() - stored
    lines = rig.team_lines()
    assert [e.status for e in lines] == ["TEAM DOWN", "TEAM BACK"]
    assert lines[1].message == f"Team database back: {sent} records sent" and sent >= 6
    assert rig.notifier.kinds() == [AlertKind.CONNECTION_LOST, AlertKind.CONNECTION_RESTORED]


@pytest.mark.asyncio
@pytest.mark.timeout(240)
@pytest.mark.allow_error_logs
async def test_quitting_with_records_waiting_says_how_many_and_does_not_wait_for_them(
    rig: Rig, caplog: pytest.LogCaptureFixture,
) -> None:
    await rig.kill()
    await until(lambda: rig.indicator.tone == "bad", timeout=60)
    rig.write(4)
    status = rig.window.team_status
    assert status is not None
    await until(lambda: status.waiting >= 4, timeout=60)
    waiting = status.waiting
    # Help → About → Copy details: the link's state, never the password.
    with kept(rig.window.about.show(), lambda d: d.reject()) as about:
        details = about.details()
    assert f"Team link: Team database unreachable · {waiting} records waiting locally" \
        in details
    assert "This desk: Desk 3 (id desk-3)" in details and APP_PASSWORD not in details
    # The working order makes the quit ask first: the question counts the records too.
    await until(lambda: rig.window.working_model.orders() != [], timeout=30)
    rig.window.close()
    question = rig.window.quitting.question
    assert question is not None
    assert (f"{waiting} records of this desk have not reached the team database yet"
            in question.text())
    question.reject()
    caplog.set_level(logging.WARNING, logger="gui.controllers.team_status")
    left = await stop_team(rig.stack, flush_s=0.5)
    rig.stopped = True
    assert left == rig.journal.last_seq() - rig.stack.link().remote_seq and left >= 4
    assert [r.getMessage() for r in caplog.records
            if r.name == "gui.controllers.team_status" and "next start" in r.getMessage()] \
        == [f"{left} records of this desk did not reach the team database before the quit: "
            "they wait in the local journal and go out at the next start"]


@pytest.mark.asyncio
async def test_a_desk_alone_has_no_team_indicator(qapp: QApplication, tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3", operator="maria")
    desk = Desk(journal=journal, session_factory=FakeSession)
    window = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000)
    try:
        assert window.team_status is None
        assert window.statusBar().findChildren(TeamIndicator) == []
        with kept(window.about.show(), lambda d: d.reject()) as about:
            assert "Team link" not in about.details()
    finally:
        await shut(window, desk)
        journal.close()
