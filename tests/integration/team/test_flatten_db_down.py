"""The team database is killed in the middle of a flatten and brought back: the flatten goes
on with what it can (a close whose lease cannot be asked for is refused, never sent blind),
every record waits in the local journal and reaches the shared one once, in order, and both
stores verify."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from core.desk import Desk
from core.flatten import EXIT_NOT_DONE, FlattenScope, build_plan, execute
from core.flatten.report import Outcome
from core.journal import Journal
from core.model import Environment, PositionKey
from core.sim import Simulator
from core.team.config import TeamConfig
from core.team.stack import TeamStack
from core.team.store import compare_with_local, verify_team
from core.venue import AccountConfig, Credentials
from core.venues.qfex import QFEX
from tests.helpers.polling import until
from tests.helpers.postgres import APP_PASSWORD, TeamDatabase

# The simulator's QFEX instruments with deep books (CL-USD is thin on purpose: a residual).
SYMBOLS = ["AAPL-USD", "TSLA-USD", "NVDA-USD", "MSFT-USD", "PLTR-USD", "XAU-USD"]


@pytest.mark.asyncio
@pytest.mark.timeout(300)
@pytest.mark.allow_error_logs
async def test_a_flatten_through_a_database_outage_loses_and_doubles_nothing(
    bare_sim: Simulator, team_db: TeamDatabase, tmp_path: Path,
) -> None:
    sim = bare_sim
    pub, secret = sim.add_account("qfex", "client-7",
                                  [(s, Decimal(1), Decimal(100)) for s in SYMBOLS])
    q = sim.info.qfex
    account = AccountConfig("client-7", QFEX, Environment.DEMO, pub,
                            {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest})
    journal = Journal(tmp_path / "j.sqlite3", operator="maria")
    config = TeamConfig(f"postgresql://closeout_app@127.0.0.1:{team_db.cluster.port}/"
                        f"{team_db.name}", "Desk 1", 10.0)
    stack = TeamStack(config, APP_PASSWORD, journal, "maria", desk="desk-1")
    desk = Desk(journal=journal, coordinator=stack.coordinator)
    killed = False
    try:
        await stack.start()
        assert await desk.start([(account, Credentials(pub, secret))]) == []
        await until(lambda: len(desk.positions) == len(SYMBOLS), timeout=30)
        await until(lambda: stack.replicator.status.connected, timeout=30)
        # The database goes down just as the third close asks for its lease: mid-flatten, at
        # the same point every run (one close at a time).
        acquire = stack.coordinator.acquire
        asked: list[PositionKey] = []

        async def acquire_then_maybe_kill(key: PositionKey, intent_id: str) -> None:
            nonlocal killed
            asked.append(key)
            if len(asked) == 3:
                await asyncio.to_thread(team_db.cluster.kill)
                killed = True
            await acquire(key, intent_id)

        stack.coordinator.acquire = acquire_then_maybe_kill  # type: ignore[method-assign]
        plan = build_plan(desk, FlattenScope.for_account("client-7"), reason="incident 12")
        run = execute(desk, plan, concurrency={QFEX: 1})
        report = await run.wait()
        await asyncio.to_thread(team_db.cluster.restart)
        killed = False
        outcomes = [i.outcome for i in report.items]
        closes = sim.requests("qfex", kind="close")
        # Sent at most once each; what was refused for want of a lease was never sent.
        assert len(closes) == sum(o is not Outcome.SKIPPED for o in outcomes)
        assert outcomes.count(Outcome.CLOSED_VERIFIED_FLAT) == 2  # leased before the kill
        assert outcomes.count(Outcome.SKIPPED) == len(SYMBOLS) - 2  # no lease: not sent
        assert report.exit_code == EXIT_NOT_DONE  # as `closeout close` refused by a lease
        last = journal.last_seq()
        await until(lambda: stack.replicator.status.remote_seq >= last, timeout=60)
    finally:
        if killed:
            await asyncio.to_thread(team_db.cluster.restart)
        await desk.stop()
        await stack.stop(flush_s=10)
    assert journal.verify_chain().ok
    with psycopg.connect(team_db.admin_dsn) as db:
        assert verify_team(db)["desk-1"].ok
        assert compare_with_local(db, "desk-1", journal.iter_all()) is None
        (count,) = db.execute("SELECT count(*) FROM records WHERE desk_id = 'desk-1'").fetchone()
    assert count == journal.last_seq()  # every record once
    journal.close()
