"""The desk asks the coordinator before every close and cancel: another desk's lease (or no
database to ask) sends nothing and journals why; an override sends and journals whose lease it
took; the claim is given up exactly when the intent is final."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from core.desk import Desk, IntentState, PositionChanged
from core.desk.coordination import CoordinationDown, ElsewhereChanged, Holder, LeaseHeld
from core.journal import Journal
from core.model import (
    CloseRequest,
    OrderStatus,
    OrderUpdate,
    PositionKey,
    PositionSide,
    PositionsSnapshot,
)
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.qfex import QFEX
from tests.helpers.coordination import FakeCoordinator
from tests.helpers.fakes import FakeSession, account, position, working

KEY = PositionKey("acct", QFEX, "AAPL-USD")
MARIA = Holder("d3", "Desk 3", "maria", "intent-x", 4.2, 25.6)


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "j.sqlite3", operator="tester")
    yield j
    j.close()


async def _desk(journal: Journal, coordinator: FakeCoordinator, orders: tuple[object, ...] = ()
                ) -> tuple[Desk, FakeSession]:
    made: list[FakeSession] = []

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.initial = (position(),)
        s.working = orders  # type: ignore[assignment]
        made.append(s)
        return s

    desk = Desk(journal=journal, session_factory=factory, coordinator=coordinator)
    assert await desk.start([(account(), Credentials("pub", "s3cr3t"))]) == []
    await desk.journaled()
    return desk, made[0]


def _req() -> CloseRequest:
    return CloseRequest(KEY, PositionSide.LONG, Decimal(10))


def _records(journal: Journal, kind: str) -> list[dict[str, object]]:
    return [json.loads(r.payload) for r in journal.iter_all() if r.kind == kind]


@pytest.mark.asyncio
async def test_another_desks_lease_sends_nothing_and_says_who(journal: Journal) -> None:
    coordinator = FakeCoordinator(holders={KEY: MARIA})
    desk, session = await _desk(journal, coordinator)
    with pytest.raises(LeaseHeld) as info:
        await desk.close(_req())
    assert info.value.holder == MARIA
    assert "Desk 3 (maria) is closing this · 4 s, expires in 26 s" in str(info.value)
    assert session.sent == []
    assert desk.pending(KEY) is None
    await desk.journaled()
    assert _records(journal, "lease_held") == [{"holder": {
        "desk_id": "d3", "desk_name": "Desk 3", "operator": "maria", "intent_id": "intent-x",
        "held_for_s": 4.2, "expires_in_s": 25.6}, "sent": False}]
    assert not _records(journal, "intent")


@pytest.mark.asyncio
async def test_no_database_to_ask_sends_nothing(journal: Journal) -> None:
    desk, session = await _desk(journal, FakeCoordinator(down=True))
    with pytest.raises(CoordinationDown, match="cannot be reached"):
        await desk.close(_req())
    assert session.sent == []
    await desk.journaled()
    assert len(_records(journal, "lease_unavailable")) == 1


@pytest.mark.asyncio
@pytest.mark.parametrize("down", [False, True])
async def test_an_override_sends_once_and_journals_whose_lease_it_took(
    journal: Journal, down: bool
) -> None:
    coordinator = FakeCoordinator(holders={KEY: MARIA}, down=down)
    desk, session = await _desk(journal, coordinator)
    intent = await desk.close(_req(), override_reason="incident 42: desk 3 is frozen")
    assert len(session.sent) == 1
    await desk.journaled()
    (override,) = _records(journal, "lease_override")
    assert override["reason"] == "incident 42: desk 3 is frozen"
    assert override["locked"] is not down
    assert override["took_from"]["desk_name"] == "Desk 3"  # type: ignore[index]
    kinds = [r.kind for r in journal.iter_all() if r.intent_id == intent.id]
    assert kinds[:3] == ["lease_override", "intent", "request"]


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "state"), [
    (OrderStatus.FILLED, IntentState.FILLED),
    (OrderStatus.REJECTED, IntentState.REJECTED),
])
async def test_the_claim_is_given_up_once_when_the_intent_is_final_and_seen_flat(
    journal: Journal, status: OrderStatus, state: IntentState
) -> None:
    coordinator = FakeCoordinator()
    desk, session = await _desk(journal, coordinator)
    intent = await desk.close(_req())
    assert coordinator.held == {KEY: intent.id}
    cid = intent.request.client_order_id
    session.sink(OrderUpdate(QFEX, "acct", "AAPL-USD", OrderStatus.ACK, "ack", False,
                             order_id="o-1", client_order_id=cid, remaining=Decimal(10)))
    await desk.journaled()
    assert coordinator.held == {KEY: intent.id}  # acknowledged is not final
    session.sink(OrderUpdate(QFEX, "acct", "AAPL-USD", status, status.value, True,
                             order_id="o-1", client_order_id=cid, filled=Decimal(10)
                             if status is OrderStatus.FILLED else Decimal(0)))
    await desk.journaled()
    assert intent.state is state
    if state is IntentState.FILLED:  # final once venue data shows it flat, not before
        assert coordinator.held == {KEY: intent.id}
        session.sink(PositionsSnapshot(QFEX, "acct", ()))
        await desk.journaled()
        assert intent.verified_flat is True
    assert coordinator.held == {}
    assert [c for c in coordinator.calls if c[0] == "finished"] == [("finished", KEY, intent.id)]


@pytest.mark.asyncio
async def test_a_position_that_moved_while_the_claim_was_asked_for_is_not_closed(
    journal: Journal,
) -> None:
    coordinator = FakeCoordinator()
    desk, session = await _desk(journal, coordinator)
    # Another desk's close filled meanwhile: the venue now shows the position flat.
    coordinator.while_asked = lambda: session.sink(PositionsSnapshot(QFEX, "acct", ()))
    with pytest.raises(PositionChanged, match="already flat"):
        await desk.close(_req())
    assert session.sent == []
    assert coordinator.held == {}
    assert desk.intents() == {}


@pytest.mark.asyncio
async def test_a_cancel_holds_the_claim_only_while_it_is_on_its_way(journal: Journal) -> None:
    order = working("w-1")
    coordinator = FakeCoordinator()
    desk, session = await _desk(journal, coordinator, orders=(order,))
    await desk.cancel(order)
    assert session.cancelled == [order]
    assert [c[0] for c in coordinator.calls] == ["acquire", "finished"]
    assert coordinator.held == {}
    coordinator.holders[KEY] = MARIA
    second = working("w-2")
    with pytest.raises(LeaseHeld):
        await desk.cancel(second)
    assert session.cancelled == [order]
    assert not desk.cancelling(second)


@pytest.mark.asyncio
async def test_the_desk_tells_its_listeners_when_another_desk_starts_or_stops_closing(
    journal: Journal,
) -> None:
    coordinator = FakeCoordinator()
    desk, _ = await _desk(journal, coordinator)
    heard: list[object] = []
    desk.subscribe(heard.append)
    coordinator.set_holder(KEY, MARIA)
    coordinator.set_holder(KEY, None)
    await desk.journaled()
    assert [e for e in heard if isinstance(e, ElsewhereChanged)] == [
        ElsewhereChanged(KEY, "Desk 3", MARIA), ElsewhereChanged(KEY, None)]
    assert desk.elsewhere(KEY) is None
