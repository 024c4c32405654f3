"""A desk killed while it holds a lease: the other desk is refused until the lease expires, is
told when it will, then may close; nothing is resent by anyone meanwhile."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.desk import Desk
from core.desk.coordination import LeaseHeld
from core.model import CloseRequest, Environment, PositionKey
from core.sim import Simulator
from core.team.coordinator import TeamCoordinator
from core.venue import AccountConfig, Credentials
from core.venues.qfex import QFEX
from tests.helpers.polling import until
from tests.helpers.postgres import TeamDatabase

SYMBOL = "AAPL-USD"
TTL_S = 2.0
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_a_killed_desks_lease_expires_and_nothing_is_resent(
    bare_sim: Simulator, team_db: TeamDatabase,
) -> None:
    sim = bare_sim
    pub, secret = sim.add_account("qfex", "client-7", [(SYMBOL, Decimal(40), Decimal(220))])
    q = sim.info.qfex
    endpoints = {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}
    with psycopg.connect(team_db.app_dsn, autocommit=True) as db:
        db.execute("INSERT INTO desks VALUES ('d1', 'Desk 1', 'maria'), ('d2', 'Desk 2', 'li')")
    spec = {"dsn": team_db.app_dsn, "ttl": TTL_S, "account": "client-7", "public": pub,
            "secret": secret, "endpoints": endpoints, "symbol": SYMBOL, "limit": "999"}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.integration.team._lease_holder", json.dumps(spec),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), timeout=60)
        assert line.strip() == b"holding"
    finally:
        child.send_signal(signal.SIGKILL)  # as a crash: no lease given up, nothing closed
        await asyncio.wait_for(child.wait(), timeout=30)
    closes = len(sim.requests("qfex", kind="close"))
    assert closes == 1  # the killed desk's resting close

    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(team_db.app_dsn, autocommit=True)

    coordinator = TeamCoordinator(connect, "d2", "li", desk_name="Desk 2", ttl_s=TTL_S)
    desk = Desk(coordinator=coordinator)
    account = AccountConfig("client-7", QFEX, Environment.DEMO, pub, endpoints)
    key = PositionKey("client-7", QFEX, SYMBOL)
    try:
        assert await desk.start([(account, Credentials(pub, secret))]) == []
        await until(lambda: key in desk.positions, timeout=30)
        pos = desk.positions[key]
        with pytest.raises(LeaseHeld) as held:
            await desk.close(CloseRequest(key, pos.side, pos.quantity))
        assert held.value.holder.desk_name == "Desk 1"
        assert 0 < held.value.holder.expires_in_s <= TTL_S
        await asyncio.sleep(held.value.holder.expires_in_s + 0.2)  # the lease's own expiry
        assert len(sim.requests("qfex", kind="close")) == closes  # nobody resent anything
        intent = await desk.close(CloseRequest(key, pos.side, pos.quantity))
        assert intent.request.key == key
        await until(lambda: len(sim.requests("qfex", kind="close")) == closes + 1, timeout=30)
    finally:
        await desk.stop()
        await coordinator.close()
