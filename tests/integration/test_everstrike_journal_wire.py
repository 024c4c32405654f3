"""What the journal records as an Everstrike request is what reached the venue, byte for byte.

The real desk, a real journal and the real Everstrike session against the simulator, which
records every request exactly as it arrived. A close re-signed after a long rate-limit wait is
journaled again, with the reason, and the journal's last request is the one that went out.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio

from core.desk import Desk, IntentState
from core.journal import Journal, JournalRecord
from core.model import CloseRequest, Environment, PositionKey, PositionSide
from core.sim import Simulator
from core.sim.common import Received
from core.venue import AccountConfig, CloseRejected, Credentials, EventSink, VenueSession, redact
from core.venues.everstrike import EVERSTRIKE, EverstrikeSession
from tests.helpers.clock import FakeClock
from tests.helpers.polling import market_data

D = Decimal
ACCOUNT = "jw-e"
PAIR = "USD_ETH_PERP"


@dataclass
class Rig:
    sim: Simulator
    desk: Desk
    journal: Journal
    fake: FakeClock
    key: PositionKey


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(seed=11, tick_interval=None, demo=False)
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


@pytest_asyncio.fixture
async def rig(sim: Simulator, tmp_path: Path) -> AsyncIterator[Rig]:
    public, secret = sim.add_account("everstrike", ACCOUNT, [(PAIR, D("-3.5"), D(4400))])
    info = sim.info.everstrike
    account = AccountConfig(ACCOUNT, EVERSTRIKE, Environment.DEMO, public,
                            {"rest": info.rest, "ws": info.ws})
    fake = FakeClock()

    def factory(config: AccountConfig, credentials: Credentials, sink: EventSink) -> VenueSession:
        return EverstrikeSession(config, credentials, sink, monotonic=fake, sleep=fake.sleep,
                                 clock=fake.wall, time_sync_interval=None)

    journal = Journal(tmp_path / "journal.sqlite")
    desk = Desk(journal=journal, session_factory=factory)
    assert await desk.start([(account, Credentials(public, secret))]) == []
    await market_data(desk)  # a fixture hands over nothing half done
    try:
        yield Rig(sim, desk, journal, fake, PositionKey(ACCOUNT, EVERSTRIKE, PAIR))
    finally:
        await desk.stop()
        journal.close()


def posts(rig: Rig, path: str) -> list[Received]:
    return [r for r in rig.sim.everstrike.received if r.method == "POST" and r.path == path]


def records(rig: Rig, kind: str) -> list[JournalRecord]:
    return [r for r in rig.journal.iter_all() if r.kind == kind]


def assert_same_request(journaled: str, received: Received) -> None:
    """The journal's text is the request as it arrived, with only key and signature masked."""
    head, _, body = journaled.partition("\n\n")
    assert body == received.body
    lines = head.split("\n")
    assert lines[0] == f"POST {received.path}"
    shown = dict(line.split(": ", 1) for line in lines[1:])
    assert shown == {
        "content-type": received.headers["content-type"],
        "x-api-key": redact(received.headers["x-api-key"]),
        "x-signature": redact(received.headers["x-signature"]),
    }
    assert received.headers["x-signature"] not in journaled


def close(rig: Rig, quantity: str, limit_price: Decimal | None = None) -> CloseRequest:
    return CloseRequest(rig.key, PositionSide.SHORT, D("3.5"), quantity=D(quantity),
                        limit_price=limit_price)


@pytest.mark.asyncio
async def test_a_close_and_a_cancel_are_journaled_as_they_reached_the_venue(rig: Rig) -> None:
    intent = await rig.desk.close(close(rig, "0.5"))
    await intent.settled(timeout=10)
    resting = await rig.desk.close(close(rig, "1", limit_price=D(1)), allow_concurrent=True)
    await resting.settled(timeout=10)
    assert resting.state is IntentState.RESTING
    (order,) = rig.desk.working_orders.values()
    await rig.desk.cancel(order)

    requests = records(rig, "request")
    assert len(requests) == 3
    sent = [*posts(rig, "/auth/close"), *posts(rig, "/auth/cancel")]
    for journaled, received in zip(requests, sent, strict=True):
        assert_same_request(journaled.payload, received)
    assert records(rig, "request_restamped") == []


@pytest.mark.asyncio
async def test_a_close_signed_again_after_a_long_wait_is_journaled_again(rig: Rig) -> None:
    rig.sim.everstrike.faults.force_http(
        429, path="/auth/close",
        msg="You have done that too much recently. Care to try again in 3 seconds?",
    )
    with pytest.raises(CloseRejected, match="slowed down for 3 s"):
        await rig.desk.close(close(rig, "0.5"))
    intent = await rig.desk.close(close(rig, "0.5"))  # waits 3 s (fake), past half of 5 s
    await intent.settled(timeout=10)
    assert rig.fake.slept == [3.0]
    assert intent.state is IntentState.FILLED

    mine = [r for r in rig.journal.iter_all() if r.intent_id == intent.id]
    kinds = [r.kind for r in mine]
    assert kinds[:4] == ["intent", "request", "request_restamped", "request"]
    age = re.search(r"signed (\d+) ms before it could be sent", mine[2].payload)
    assert age is not None and int(age.group(1)) >= 3000
    first, second = mine[1].payload, mine[3].payload
    assert first != second
    refused, went = posts(rig, "/auth/close")
    assert_same_request(records(rig, "request")[0].payload, refused)
    assert_same_request(second, went)  # the journal's last request is the one that went out
    assert went.body not in first
