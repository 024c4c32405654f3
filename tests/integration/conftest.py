"""A fresh simulator per test, on free loopback ports, with no automatic market ticking.

Tests move marks by hand (``sim.step()`` or ``market.set_mark`` through ``sim.call``), so
nothing depends on wall-clock timing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import pytest_asyncio

from core.desk import Desk
from core.model import Environment, PositionKey
from core.sim import Simulator
from core.venue import AccountConfig, Credentials
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from tests.helpers.polling import market_data

QFEX_SYMBOL = "AAPL-USD"
ES_PAIR = "USD_ETH_PERP"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(seed=7, tick_interval=None)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


@dataclass
class Rig:
    sim: Simulator
    desk: Desk
    qfex: PositionKey
    everstrike: PositionKey
    es_secret: str


@pytest.fixture
def bare_sim() -> Iterator[Simulator]:
    """A simulator with no demo accounts; tests add exactly the accounts they need."""
    simulator = Simulator(seed=5, tick_interval=None, demo=False)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest_asyncio.fixture
async def rig(bare_sim: Simulator) -> AsyncIterator[Rig]:
    """The real desk and both real sessions against a fresh simulator: one QFEX account long
    40 AAPL-USD, one Everstrike account short 3.5 USD_ETH_PERP."""
    sim = bare_sim
    q_pub, q_sec = sim.add_account("qfex", "wire-q", [(QFEX_SYMBOL, Decimal(40), Decimal(220))])
    e_pub, e_sec = sim.add_account(
        "everstrike", "wire-e", [(ES_PAIR, Decimal("-3.5"), Decimal(4400))]
    )
    q, e = sim.info.qfex, sim.info.everstrike
    accounts = [
        (AccountConfig("wire-q", QFEX, Environment.DEMO, q_pub,
                       {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}),
         Credentials(q_pub, q_sec)),
        (AccountConfig("wire-e", EVERSTRIKE, Environment.DEMO, e_pub,
                       {"rest": e.rest, "ws": e.ws}),
         Credentials(e_pub, e_sec)),
    ]
    desk = Desk()
    try:
        assert await desk.start(accounts) == []
        await market_data(desk)
        yield Rig(sim, desk, PositionKey("wire-q", QFEX, QFEX_SYMBOL),
                  PositionKey("wire-e", EVERSTRIKE, ES_PAIR), e_sec)
    finally:
        await desk.stop()
