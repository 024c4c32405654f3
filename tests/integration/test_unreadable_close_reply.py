"""A close the venue executed, answered with a reply that cannot be read (a number no Decimal
holds): the close becomes Unknown, is reconciled from the venue, is never resent, and the row
takes a new close afterwards."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.desk import IntentState
from core.model import CloseRequest, OrderStatus, PositionSide, ProtocolError
from tests.integration.conftest import Rig

D = Decimal


def _was_unknown(updates: list[object]) -> bool:
    return any(getattr(u, "status", None) is OrderStatus.UNKNOWN for u in updates)


@pytest.mark.asyncio
async def test_everstrike_close_with_an_unreadable_ok_reply_is_unknown_then_reconciled(
    rig: Rig,
) -> None:
    seen: list[object] = []
    rig.desk.subscribe(seen.append)
    rig.sim.everstrike.faults.poison_replies(1, path="/auth/close")  # in result.balances
    first = await rig.desk.close(
        CloseRequest(rig.everstrike, PositionSide.SHORT, D("3.5"), quantity=D("1.5")))
    await first.wait(lambda i: i.state.settled, timeout=20)
    assert _was_unknown(first.updates), [u.status for u in first.updates]
    assert first.state is IntentState.FILLED  # the venue did close 1.5: found by the lookup
    assert any(isinstance(e, ProtocolError) and e.account == rig.everstrike.account
               for e in seen)
    assert rig.desk.positions[rig.everstrike].quantity == D(2)
    assert len(rig.sim.requests("everstrike", kind="close")) == 1  # never resent

    # The row is not blocked: a new close goes out and settles.
    second = await rig.desk.close(
        CloseRequest(rig.everstrike, PositionSide.SHORT, D(2), quantity=D(1)))
    await second.wait(lambda i: i.state.settled, timeout=20)
    assert second.state is IntentState.FILLED
    assert len(rig.sim.requests("everstrike", kind="close")) == 2


@pytest.mark.asyncio
async def test_qfex_close_whose_reply_frames_are_unreadable_is_unknown_then_reconciled(
    rig: Rig,
) -> None:
    seen: list[object] = []
    rig.desk.subscribe(seen.append)
    rig.sim.qfex.faults.poison_replies(2)  # the close's ACK and FILLED order_response frames
    first = await rig.desk.close(
        CloseRequest(rig.qfex, PositionSide.LONG, D(40), quantity=D(10)))
    await first.wait(lambda i: i.state.settled, timeout=20)
    assert _was_unknown(first.updates), [u.status for u in first.updates]
    assert first.state is IntentState.FILLED  # the position is down by 10: reconciled
    assert any(isinstance(e, ProtocolError) and e.account == rig.qfex.account for e in seen)
    assert rig.desk.positions[rig.qfex].quantity == D(30)
    assert len(rig.sim.requests("qfex", kind="close")) == 1  # never resent

    second = await rig.desk.close(
        CloseRequest(rig.qfex, PositionSide.LONG, D(30), quantity=D(5)))
    await second.wait(lambda i: i.state.settled, timeout=20)
    assert second.state is IntentState.FILLED
    assert len(rig.sim.requests("qfex", kind="close")) == 2
