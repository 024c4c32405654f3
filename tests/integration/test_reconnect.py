"""Kill the connection with a close in flight: the close shows Unknown, nothing is resent, and
after the reconnect it is reconciled to what really happened."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.desk import IntentState
from core.model import CloseRequest, ConnectionEvent, ConnectionState, PositionSide
from core.venue import CloseRejected
from tests.helpers.polling import until
from tests.integration.conftest import Rig

D = Decimal


@pytest.mark.parametrize("executed", [True, False])
@pytest.mark.asyncio
async def test_qfex_close_in_flight_at_a_drop_is_unknown_then_reconciled(
    rig: Rig, executed: bool
) -> None:
    seen: list[object] = []
    rig.desk.subscribe(seen.append)
    rig.sim.qfex.faults.drop_next(1, execute=executed)
    intent = await rig.desk.close(CloseRequest(rig.qfex, PositionSide.LONG, D(40)))
    await intent.wait(lambda i: i.state is IntentState.UNKNOWN, timeout=10)
    assert "not resent" in intent.message
    await intent.wait(lambda i: i.state.settled, timeout=20)
    # It may settle from the venue's positions before the trade socket is back.
    await until(lambda: rig.desk.connection_state(rig.qfex.account) is ConnectionState.CONNECTED,
                timeout=20, what="the reconnect")
    states = [e.state for e in seen if isinstance(e, ConnectionEvent)
              and e.account == rig.qfex.account]
    assert ConnectionState.DISCONNECTED in states
    assert states[-1] is ConnectionState.CONNECTED
    if executed:
        assert intent.state is IntentState.FILLED
        assert rig.qfex not in rig.desk.positions
    else:
        assert intent.state is IntentState.CANCELLED
        assert "Not executed" in intent.message
        assert rig.desk.positions[rig.qfex].quantity == D(40)
    assert len(rig.sim.requests("qfex", kind="close")) == 1  # never resent


@pytest.mark.parametrize("executed", [True, False])
@pytest.mark.asyncio
async def test_everstrike_close_whose_reply_is_lost_is_reconciled(
    rig: Rig, executed: bool
) -> None:
    rig.sim.everstrike.faults.drop_next(1, execute=executed)
    request = CloseRequest(rig.everstrike, PositionSide.SHORT, D("3.5"))
    try:
        intent = await rig.desk.close(request)
    except CloseRejected:  # a lost reply surfaces as a refusal; the intent stays Unknown
        (intent,) = rig.desk.intents().values()
    await intent.wait(lambda i: i.state.settled, timeout=20)
    if executed:
        assert intent.state is IntentState.FILLED
        assert rig.everstrike not in rig.desk.positions
    else:
        assert intent.state in (IntentState.CANCELLED, IntentState.REJECTED)
        assert rig.desk.positions[rig.everstrike].quantity == D("3.5")
    assert len(rig.sim.requests("everstrike", kind="close")) == 1  # never resent
