"""REST replies a client cannot read, on both venues, against the simulator: the venue handled
the request and its answer arrives garbled (``Faults.corrupt_reply``). Each is a journaled
protocol error, never only a line in the program's log, and the session carries on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from bench.fuzz_live import EVERSTRIKE_MAX_FRAME
from bench.hostile_frames import oversized
from core.desk import Desk
from core.journal import Journal
from core.model import ConnectionEvent, ConnectionState, Environment
from core.sim import Simulator
from core.venue import AccountConfig, Credentials, EventSink, ReconnectPolicy, VenueSession
from core.venues import session_class
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from core.venues.qfex.sockets import MAX_FRAME as QFEX_MAX_FRAME
from tests.helpers.polling import until

GARBLED = '{"result": {"USD_ETH_PERP": {"size": '  # a reply cut off mid-number


class Desked:
    def __init__(self, sim: Simulator, desk: Desk, journal: Journal) -> None:
        self.sim, self.desk, self.journal = sim, desk, journal
        self.connected = 0
        desk.subscribe(self._hear)

    def _hear(self, event: object) -> None:
        if isinstance(event, ConnectionEvent) and event.state is ConnectionState.CONNECTED:
            self.connected += 1

    def codes(self) -> list[str]:
        self.journal.flush()
        return [str(json.loads(r.payload)["code"]) for r in self.journal.iter_all()
                if r.kind == "protocol_error"]


@pytest_asyncio.fixture
async def desked(bare_sim: Simulator, tmp_path: Path) -> AsyncIterator[Desked]:
    journal = Journal(tmp_path / "journal.sqlite3", operator="tester")
    policy = ReconnectPolicy(initial=0.05, maximum=0.5)

    def factory(account: AccountConfig, creds: Credentials, sink: EventSink) -> VenueSession:
        return session_class(account.venue)(account, creds, sink, reconnect=policy)

    desk = Desk(journal=journal, session_factory=factory)
    try:
        yield Desked(bare_sim, desk, journal)
    finally:
        await desk.stop()
        journal.close()


async def connect(d: Desked, venue: str, options: Mapping[str, str] | None = None) -> str:
    sim = d.sim
    if venue == "qfex":
        pub, sec = sim.add_account("qfex", "r-q", [("AAPL-USD", Decimal(40), Decimal(220))])
        q = sim.info.qfex
        config = AccountConfig("r-q", QFEX, Environment.DEMO, pub,
                               {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest},
                               dict(options or {}))
    else:
        pub, sec = sim.add_account("everstrike", "r-e",
                                   [("USD_ETH_PERP", Decimal("-3.5"), Decimal(4400))])
        e = sim.info.everstrike
        config = AccountConfig("r-e", EVERSTRIKE, Environment.DEMO, pub,
                               {"rest": e.rest, "ws": e.ws}, dict(options or {}))
    assert await d.desk.start([(config, Credentials(pub, sec))]) == []
    return config.name


@pytest.mark.asyncio
async def test_an_unreadable_everstrike_time_reply_in_the_background_is_a_protocol_error(
        desked: Desked) -> None:
    await connect(desked, "everstrike", {"time_sync_interval": "0.05"})
    desked.sim.everstrike.faults.corrupt_reply(GARBLED, path="/time")
    await until(lambda: "time_reply" in desked.codes(), 10, "the /time protocol error")


@pytest.mark.asyncio
@pytest.mark.parametrize(("venue", "path"), [("everstrike", "/active_positions"),
                                             ("qfex", "/user/positions")])
async def test_an_unreadable_positions_reply_on_reconnect_is_a_protocol_error(
        desked: Desked, venue: str, path: str) -> None:
    account = await connect(desked, venue)
    connections = desked.connected
    faults = desked.sim.venue(venue).faults
    faults.corrupt_reply(GARBLED, path=path)
    # A frame over the size limit makes the client reconnect, which reads positions again.
    limit = EVERSTRIKE_MAX_FRAME if venue == "everstrike" else QFEX_MAX_FRAME
    faults.inject_malformed(1, oversized(limit), path="/ws" if venue == "everstrike" else "/")
    desked.sim.step()
    await until(lambda: desked.connected > connections, 20, "the reconnect after the bad reply")
    codes = desked.codes()
    assert "frame_too_big" in codes
    assert codes.count("reconnect_reply" if venue == "everstrike" else "positions_reply") == 1
    assert {k.account for k in desked.desk.positions} == {account}
