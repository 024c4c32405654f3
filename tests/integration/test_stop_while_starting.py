"""Stop while a session is still connecting: start() says so, and nothing is left running.

The venue answers slowly, so stop() lands while the first connection is being opened. A
session that then carried on would leave a socket open and its reader tasks running after
stop() had returned.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from core.model import Environment
from core.sim import Simulator
from core.venue import AccountConfig, Credentials, SessionClosed
from core.venues import venue_info
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from tests.helpers.polling import until

D = Decimal


def _running(prefix: str) -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks()
            if t.get_name().startswith(prefix) and not t.done()]


@pytest.mark.parametrize("venue", ["qfex", "everstrike"])
@pytest.mark.asyncio
async def test_stop_during_start_leaves_nothing_open(bare_sim: Simulator, venue: str) -> None:
    sim = bare_sim
    pair = "AAPL-USD" if venue == "qfex" else "USD_ETH_PERP"
    public, secret = sim.add_account(venue, "slow", [(pair, D(1), D(100))])
    if venue == "qfex":
        q = sim.info.qfex
        endpoints = {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}
        vid, simulated, prefix = QFEX, sim.qfex, "qfex-"
    else:
        e = sim.info.everstrike
        endpoints = {"rest": e.rest, "ws": e.ws}
        vid, simulated, prefix = EVERSTRIKE, sim.everstrike, "everstrike-"
    simulated.faults.latency = 0.5
    account = AccountConfig("slow", vid, Environment.DEMO, public, endpoints)
    session = venue_info(vid).session(account, Credentials(public, secret), lambda _e: None)
    start = asyncio.create_task(session.start())
    # Stop once the venue has heard from us, so the first connection is part way open.
    await until(lambda: any(r.channel == "ws" for r in simulated.received) or start.done(),
                what="the first frame at the venue")
    assert not start.done()
    await session.stop()
    with pytest.raises(SessionClosed):
        await start
    assert not session.connected
    assert _running(prefix) == []
