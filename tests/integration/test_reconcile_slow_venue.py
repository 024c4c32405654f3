"""A close lost to a drop while the venue is too slow to answer anything: the desk keeps asking
(each check that gets no answer is tried again with backoff, and counted on the close), and the
close ends in its true state once the venue answers. The simulator's own record shows one close."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
import pytest_asyncio

from core.desk import Desk, IntentChanged, IntentState
from core.model import CloseRequest, Environment, PositionKey, PositionSide
from core.sim import Simulator
from core.venue import AccountConfig, Credentials, EventSink, ReconnectPolicy, VenueSession
from core.venues.qfex import QFEX
from core.venues.qfex.session import QfexSession
from tests.helpers.polling import market_data, until
from tests.integration.conftest import QFEX_SYMBOL

D = Decimal
FAST = ReconnectPolicy(initial=0.05, maximum=0.3, jitter=0.0)
WAIT = 0.5  # every wait for the venue: the slow venue below takes longer than this


def slow_to_give_up(account: AccountConfig, creds: Credentials, sink: EventSink) -> VenueSession:
    session = QfexSession(account, creds, sink, reconnect=FAST)
    session.reply_timeout = WAIT
    return session


@pytest_asyncio.fixture
async def desk(bare_sim: Simulator) -> AsyncIterator[Desk]:
    pub, sec = bare_sim.add_account("qfex", "slow-q", [(QFEX_SYMBOL, D(40), D(220))])
    q = bare_sim.info.qfex
    account = AccountConfig("slow-q", QFEX, Environment.DEMO, pub,
                            {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest})
    desk = Desk(session_factory=slow_to_give_up, reconcile=FAST, reconcile_timeout=WAIT)
    try:
        assert await desk.start([(account, Credentials(pub, sec))]) == []
        await market_data(desk)
        yield desk
    finally:
        await desk.stop()


@pytest.mark.parametrize("executed", [True, False])
@pytest.mark.asyncio
async def test_an_unknown_close_is_checked_until_a_slow_venue_answers(
    bare_sim: Simulator, desk: Desk, executed: bool
) -> None:
    key = PositionKey("slow-q", QFEX, QFEX_SYMBOL)
    attempts: list[int] = []
    desk.subscribe(lambda e: attempts.append(e.intent.checks)
                   if isinstance(e, IntentChanged) and e.intent.state is IntentState.UNKNOWN
                   else None)
    faults = bare_sim.qfex.faults
    faults.latency = 2.0  # every reply and push takes longer than any wait for it
    faults.drop_next(1, execute=executed)
    intent = await desk.close(CloseRequest(key, PositionSide.LONG, D(40)))

    await until(lambda: intent.checks >= 3 and intent.check_failed, timeout=20,
                what="three checks, the last unanswered")
    assert intent.state is IntentState.UNKNOWN  # nothing answered, so nothing is claimed
    assert "no answer" in intent.check_failed or "not connected" in intent.check_failed

    faults.latency = 0.0  # the venue answers again
    await intent.wait(lambda i: i.state.settled, timeout=20)
    if executed:
        assert intent.state is IntentState.FILLED
        await until(lambda: key not in desk.positions, what="the row gone")
    else:
        assert intent.state is IntentState.CANCELLED
        assert desk.positions[key].quantity == D(40)
    # Every attempt was shown, counted by the desk, in order.
    shown = sorted(set(attempts))
    assert shown[:4] == [0, 1, 2, 3]
    assert attempts == sorted(attempts)
    assert len(bare_sim.requests("qfex", kind="close")) == 1  # never resent
