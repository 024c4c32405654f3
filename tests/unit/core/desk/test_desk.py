from __future__ import annotations

from decimal import Decimal

import pytest

from core.desk import AlreadyPending, Desk, IntentChanged, IntentState, PositionUpserted
from core.journal import Journal
from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    MarkUpdate,
    OrderStatus,
    OrderUpdate,
    PositionKey,
    PositionRemoved,
    PositionSide,
    PositionsSnapshot,
    ProtocolError,
)
from core.venue import (
    AccountConfig,
    CloseRejected,
    Credentials,
    EventSink,
    PreparedClose,
    Restamped,
)
from core.venues.qfex import QFEX
from tests.helpers.fakes import FAKE_REJECT, FakeSession, account, position, working

KEY = PositionKey("acct", QFEX, "AAPL-USD")


@pytest.fixture
def journal(tmp_path):  # type: ignore[no-untyped-def]
    j = Journal(tmp_path / "j.sqlite3", operator="tester")
    yield j
    j.close()


async def make_desk(journal: Journal | None, *positions, orders=()) -> tuple[Desk, FakeSession]:  # type: ignore[no-untyped-def]
    made: list[FakeSession] = []

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.initial = tuple(positions)
        s.working = tuple(orders)
        made.append(s)
        return s

    desk = Desk(journal=journal, session_factory=factory)
    failed = await desk.start([(account(), Credentials("pub", "s3cr3t"))])
    assert failed == []
    await desk.journaled()  # the start's events are out: a listener subscribed now hears new ones
    return desk, made[0]


def req(qty: str | None = None, side: PositionSide = PositionSide.LONG,
        pos_qty: str = "10") -> CloseRequest:
    return CloseRequest(KEY, side, Decimal(pos_qty), quantity=None if qty is None else Decimal(qty))


def update(client_id: str, status: OrderStatus, *, final: bool = False, remaining: str = "0",
           filled: str = "0", order_id: str = "o-1") -> OrderUpdate:
    return OrderUpdate(QFEX, "acct", "AAPL-USD", status, status.value, final,
                       order_id=order_id, client_order_id=client_id,
                       remaining=Decimal(remaining), filled=Decimal(filled))


@pytest.mark.asyncio
async def test_snapshot_fills_the_book_and_a_later_snapshot_removes_what_is_gone(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position(), position("TSLA-USD", "3"))
    assert set(desk.positions) == {KEY, PositionKey("acct", QFEX, "TSLA-USD")}
    events: list[object] = []
    desk.subscribe(events.append)
    session.sink(PositionsSnapshot(QFEX, "acct", (position(),)))
    assert set(desk.positions) == {KEY}
    await desk.journaled()  # events follow the records journaled before them
    assert PositionRemoved(PositionKey("acct", QFEX, "TSLA-USD")) in events


@pytest.mark.asyncio
async def test_mark_reprices_only_matching_rows(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position(entry="100"), position("TSLA-USD", "3"))
    events: list[object] = []
    desk.subscribe(events.append)
    session.sink(MarkUpdate(QFEX, "AAPL-USD", Decimal("101.5")))
    await desk.journaled()
    ups = [e for e in events if isinstance(e, PositionUpserted)]
    assert [u.position.key.symbol for u in ups] == ["AAPL-USD"]
    assert ups[0].position.unrealised_pnl == Decimal("15.0")
    assert desk.positions[KEY].mark_price == Decimal("101.5")


@pytest.mark.asyncio
async def test_a_second_close_joins_the_pending_one_and_sends_nothing(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    first = await desk.close(req())
    with pytest.raises(AlreadyPending) as info:
        await desk.close(req())
    assert info.value.intent is first
    assert len(session.sent) == 1
    await desk.close(req(), allow_concurrent=True)
    assert len(session.sent) == 2


@pytest.mark.asyncio
async def test_intent_follows_venue_updates_and_never_moves_backwards(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    intent = await desk.close(req())
    cid = intent.request.client_order_id
    session.sink(update(cid, OrderStatus.ACK, remaining="10"))
    assert intent.state is IntentState.ACKNOWLEDGED
    assert intent.order_id == "o-1"
    session.sink(update(cid, OrderStatus.FILLED, final=True, filled="10"))
    assert intent.state is IntentState.FILLED
    session.sink(update(cid, OrderStatus.ACK, remaining="10"))  # a late duplicate
    assert intent.state is IntentState.FILLED
    assert desk.pending(KEY) is None


@pytest.mark.asyncio
async def test_updates_matched_by_order_id_once_known(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    intent = await desk.close(req("4"))
    session.sink(update(intent.request.client_order_id, OrderStatus.ACK, order_id="abc"))
    session.sink(update("", OrderStatus.PARTIAL, final=True, filled="3", remaining="1",
                        order_id="abc"))
    assert intent.state is IntentState.PARTIAL
    assert intent.filled == Decimal(3)
    assert intent.remaining == Decimal(1)


@pytest.mark.asyncio
async def test_ioc_cancel_after_some_fill_is_partial(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    intent = await desk.close(req())
    cid = intent.request.client_order_id
    session.sink(update(cid, OrderStatus.PARTIAL, final=False, filled="6", remaining="4"))
    session.sink(update(cid, OrderStatus.CANCELLED, final=True, filled="6", remaining="4"))
    assert intent.state is IntentState.PARTIAL


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (req(side=PositionSide.SHORT), "now long"),
        (req("11"), "less than the 11 you asked"),
        (req("0"), "greater than zero"),
    ],
)
@pytest.mark.asyncio
async def test_requests_that_disagree_with_the_book_are_refused_unsent(  # type: ignore[no-untyped-def]
    journal, request_: CloseRequest, message: str
) -> None:
    desk, session = await make_desk(journal, position())
    with pytest.raises(CloseRejected, match=message):
        await desk.close(request_)
    assert session.sent == []
    assert desk.intents() == {}


@pytest.mark.asyncio
async def test_closing_a_flat_position_is_refused(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal)
    with pytest.raises(CloseRejected, match="already flat"):
        await desk.close(req())
    assert session.sent == []


@pytest.mark.asyncio
async def test_venue_rejection_settles_the_intent_with_the_reason(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    session.reject_with = FAKE_REJECT
    with pytest.raises(CloseRejected):
        await desk.close(req())
    (intent,) = desk.intents().values()
    assert intent.state is IntentState.REJECTED
    assert intent.message == "venue said no"
    assert desk.pending(KEY) is None


@pytest.mark.asyncio
async def test_not_connected_means_nothing_sent(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    await session.stop()
    with pytest.raises(CloseRejected, match="nothing was sent"):
        await desk.close(req())
    assert session.sent == []


@pytest.mark.asyncio
async def test_disconnect_with_a_close_in_flight_makes_it_unknown_not_resent(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    intent = await desk.close(req())
    session.sink(ConnectionEvent(QFEX, "acct", ConnectionState.DISCONNECTED, "eof"))
    assert intent.state is IntentState.UNKNOWN
    assert "not resent" in intent.message
    assert len(session.sent) == 1
    with pytest.raises(AlreadyPending):  # unknown still blocks a blind second close
        await desk.close(req())


@pytest.mark.asyncio
async def test_everything_is_journaled_before_listeners_hear_of_it(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    seen_kinds: list[list[str]] = []
    desk.subscribe(lambda e: seen_kinds.append([r.kind for r in journal.iter_all()]))
    intent = await desk.close(CloseRequest(KEY, PositionSide.LONG, Decimal(10), reason="T-1"))
    assert seen_kinds[0][-2:] == ["intent", "request"]
    session.sink(update(intent.request.client_order_id, OrderStatus.ACK))
    await desk.journaled()
    assert seen_kinds[-1][-1] == "order_update"
    session.sink(ProtocolError(QFEX, "acct", "bad frame", raw="{"))
    await desk.journaled()
    assert seen_kinds[-1][-1] == "protocol_error"
    records = list(journal.iter_all())
    intent_rec = next(r for r in records if r.kind == "intent")
    assert intent_rec.reason == "T-1"
    assert intent_rec.intent_id == intent.id
    assert intent_rec.operator == "tester"
    assert "CLOSE AAPL-USD ALL" in next(r for r in records if r.kind == "request").payload
    ack = next(r for r in records if r.kind == "order_update")
    assert ack.latency_ms is not None and ack.latency_ms >= 0
    assert journal.verify() is None


@pytest.mark.allow_error_logs
@pytest.mark.asyncio
async def test_a_failing_listener_does_not_break_the_desk(journal, fail_on_error_logs) -> None:  # type: ignore[no-untyped-def]
    desk, _ = await make_desk(journal, position())
    got: list[object] = []

    def broken(event: object) -> None:
        raise RuntimeError("view bug")

    desk.subscribe(broken)
    desk.subscribe(got.append)
    intent = await desk.close(req())
    assert any(isinstance(e, IntentChanged) and e.intent is intent for e in got)
    assert fail_on_error_logs.records  # the failure was logged, not swallowed
    fail_on_error_logs.records.clear()


@pytest.mark.asyncio
async def test_working_orders_follow_snapshots_and_removals(journal) -> None:  # type: ignore[no-untyped-def]
    from core.model import WorkingOrderRemoved, WorkingOrdersSnapshot

    desk, session = await make_desk(journal, position(), orders=[working("w-1"), working("w-2")])
    assert set(desk.working_orders) == {("acct", "w-1"), ("acct", "w-2")}
    assert len(desk.working_for(KEY)) == 2
    events: list[object] = []
    desk.subscribe(events.append)
    session.sink(WorkingOrdersSnapshot(QFEX, "acct", (working("w-2"),)))
    assert set(desk.working_orders) == {("acct", "w-2")}
    await desk.journaled()
    assert any(isinstance(e, WorkingOrderRemoved) and e.order_id == "w-1" for e in events)
    session.sink(WorkingOrderRemoved(QFEX, "acct", "w-2", "filled"))
    assert desk.working_orders == {}
    await desk.journaled()
    kinds = [r.kind for r in journal.iter_all()]
    assert "working_orders_snapshot" in kinds
    assert "working_order_removed" in kinds


@pytest.mark.asyncio
async def test_cancel_is_sent_once_and_journaled(journal) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from core.desk import CancelPending

    order = working("w-1")
    desk, session = await make_desk(journal, position(), orders=[order])
    first = asyncio.ensure_future(desk.cancel(order, reason="ticket 7"))
    await asyncio.sleep(0)  # the first cancel is on its way
    with pytest.raises(CancelPending):
        await desk.cancel(order)
    await first
    assert session.cancelled == [order]
    assert desk.working_orders == {}
    await desk.journaled()
    records = list(journal.iter_all())
    kinds = [r.kind for r in records]
    assert kinds[-4:] == ["cancel_intent", "request", "working_order_removed",
                          "cancel_result"]
    assert next(r for r in records if r.kind == "cancel_intent").reason == "ticket 7"
    assert '"ok":true' in records[-1].payload


@pytest.mark.asyncio
async def test_a_refused_cancel_says_why_and_keeps_the_order(journal) -> None:  # type: ignore[no-untyped-def]
    from core.venue import CancelRejected

    order = working("w-1")
    desk, session = await make_desk(journal, position(), orders=[order])
    session.cancel_reject = CancelRejected("already gone: filled or cancelled",
                                           code="NO_SUCH_ORDER")
    with pytest.raises(CancelRejected, match="already gone"):
        await desk.cancel(order)
    assert order.ident in desk.working_orders
    assert not desk.cancelling(order)
    await desk.journaled()
    last = list(journal.iter_all())[-1]
    assert last.kind == "cancel_result"
    assert "NO_SUCH_ORDER" in last.payload


@pytest.mark.asyncio
async def test_health_comes_from_the_session(journal) -> None:  # type: ignore[no-untyped-def]
    desk, _ = await make_desk(journal, position())
    assert desk.health("acct").skew_ms == 12.0
    assert desk.health("nobody").connected is False


async def _unknown_after_reconnect(journal, request: CloseRequest):  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    intent = await desk.close(request)
    session.sink(ConnectionEvent(QFEX, "acct", ConnectionState.DISCONNECTED, "eof"))
    assert intent.state is IntentState.UNKNOWN
    session.sink(ConnectionEvent(QFEX, "acct", ConnectionState.CONNECTED))
    return desk, session, intent


@pytest.mark.asyncio
async def test_unknown_full_close_is_reconciled_when_the_position_is_flat(journal) -> None:  # type: ignore[no-untyped-def]
    _, session, intent = await _unknown_after_reconnect(journal, req())
    session.sink(PositionsSnapshot(QFEX, "acct", ()))
    assert intent.state is IntentState.FILLED
    assert "Reconciled" in intent.message
    assert len(session.sent) == 1
    # the venue's own late word cannot move it back
    session.sink(update(intent.request.client_order_id, OrderStatus.UNKNOWN, final=True))
    assert intent.state is IntentState.FILLED


@pytest.mark.asyncio
async def test_unknown_partial_close_reconciled_from_a_reduced_position(journal) -> None:  # type: ignore[no-untyped-def]
    _, session, intent = await _unknown_after_reconnect(journal, req("4"))
    session.sink(PositionsSnapshot(QFEX, "acct", (position(qty="8"),)))
    assert intent.state is IntentState.PARTIAL
    assert intent.filled == Decimal(2)
    session.sink(PositionsSnapshot(QFEX, "acct", (position(qty="6"),)))
    assert intent.state is IntentState.PARTIAL  # settled: later trades are not this close's


@pytest.mark.asyncio
async def test_unknown_close_with_no_trace_at_the_venue_is_not_executed(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session, intent = await _unknown_after_reconnect(journal, req())
    session.sink(PositionsSnapshot(QFEX, "acct", (position(),)))
    assert intent.state is IntentState.UNKNOWN  # an unchanged position alone proves nothing
    session.sink(update(intent.request.client_order_id, OrderStatus.UNKNOWN, final=True))
    assert intent.state is IntentState.CANCELLED
    assert "Not executed" in intent.message
    assert desk.pending(KEY) is None  # the user may close again, deliberately
    assert len(session.sent) == 1


@pytest.mark.asyncio
async def test_no_reconciliation_while_still_disconnected(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    intent = await desk.close(req())
    session.sink(ConnectionEvent(QFEX, "acct", ConnectionState.DISCONNECTED, "eof"))
    session.sink(PositionsSnapshot(QFEX, "acct", ()))
    assert intent.state is IntentState.UNKNOWN


@pytest.mark.asyncio
async def test_a_lost_reply_stays_unknown_even_though_send_raised(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())

    async def lost(prepared: PreparedClose, *, restamped: Restamped | None = None) -> None:
        request = prepared.request
        session.sent.append(request)
        session.sink(update(request.client_order_id, OrderStatus.UNKNOWN, order_id=""))
        raise CloseRejected("no answer from the venue; not resent")

    session.send = lost  # type: ignore[method-assign]
    with pytest.raises(CloseRejected):
        await desk.close(req())
    (intent,) = desk.intents().values()
    assert intent.state is IntentState.UNKNOWN
    assert desk.pending(KEY) is intent


@pytest.mark.asyncio
async def test_disconnect_drops_the_accounts_rows_and_orders_but_keeps_history(journal) -> None:  # type: ignore[no-untyped-def]
    from core.model import WorkingOrderRemoved

    desk, session = await make_desk(journal, position(), orders=[working("w-1")])
    intent = await desk.close(req("1"))
    events: list[object] = []
    desk.subscribe(events.append)
    await desk.disconnect("acct")
    await desk.journaled()
    assert desk.positions == {}
    assert desk.working_orders == {}
    assert not session.connected
    assert "acct" not in desk.accounts
    assert PositionRemoved(KEY) in events
    assert any(isinstance(e, WorkingOrderRemoved) for e in events)
    assert desk.intents()[intent.id] is intent
    assert [e.message for e in events if isinstance(e, ConnectionEvent)] == ["account removed"]


@pytest.mark.asyncio
async def test_freshness_guard_carries_the_current_position(journal) -> None:  # type: ignore[no-untyped-def]
    from core.desk import PositionChanged

    desk, session = await make_desk(journal, position(qty="6"))
    with pytest.raises(PositionChanged) as info:
        await desk.close(req("8", pos_qty="10"))
    assert info.value.reason == "shrank"
    assert info.value.current is not None and info.value.current.quantity == Decimal(6)
    session.sink(PositionsSnapshot(QFEX, "acct", (position(side=PositionSide.SHORT),)))
    with pytest.raises(PositionChanged) as info:
        await desk.close(req())
    assert info.value.reason == "side"
    assert session.sent == []


@pytest.mark.asyncio
async def test_full_close_is_verified_flat_when_the_venue_removes_the_row(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    intent = await desk.close(req())
    session.sink(update(intent.request.client_order_id, OrderStatus.FILLED, final=True,
                        filled="10"))
    assert intent.verified_flat is None
    session.sink(PositionsSnapshot(QFEX, "acct", ()))
    assert intent.verified_flat is True
    await desk.journaled()
    assert any(r.kind == "verify_flat" for r in journal.iter_all())


@pytest.mark.asyncio
async def test_full_close_still_open_after_the_timeout_is_a_mismatch(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    desk.verify_timeout = 0.01
    intent = await desk.close(req())
    session.sink(update(intent.request.client_order_id, OrderStatus.FILLED, final=True,
                        filled="10"))
    await intent.wait(lambda i: i.verified_flat is not None, timeout=10)
    assert intent.verified_flat is False
    assert intent.message.startswith("Mismatch")
    assert len(session.sent) == 1


@pytest.mark.asyncio
async def test_residual_is_what_a_partly_filled_close_left(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    intent = await desk.close(req())
    cid = intent.request.client_order_id
    session.sink(update(cid, OrderStatus.PARTIAL, final=True, filled="7", remaining="3"))
    session.sink(PositionsSnapshot(QFEX, "acct", (position(qty="3"),)))
    assert desk.residual(KEY) == Decimal(3)
    assert desk.pending(KEY) is None  # a residual close is a new, deliberate intent
    await desk.close(req(pos_qty="3"))
    assert desk.residual(KEY) is None


@pytest.mark.asyncio
async def test_rejections_carry_a_cause_and_a_next_step(journal) -> None:  # type: ignore[no-untyped-def]
    desk, session = await make_desk(journal, position())
    seen: list[object] = []
    desk.subscribe(seen.append)
    intent = await desk.close(req("5"))
    session.sink(OrderUpdate(QFEX, "acct", "AAPL-USD", OrderStatus.REJECTED,
                             "FAILED_MARGIN_CHECK", True,
                             client_order_id=intent.request.client_order_id,
                             message="Not enough margin for this order"))
    assert intent.message.startswith("The venue's margin check failed")
    assert "Cancel resting orders" in intent.next_step
    await desk.journaled()
    logged = [e for e in seen if isinstance(e, OrderUpdate)]
    assert logged[-1].message == intent.message
    assert logged[-1].raw_status == "FAILED_MARGIN_CHECK"


def test_data_age_uses_the_newest_venue_word() -> None:
    # The row itself is old, but the session heard from the venue recently.
    import time as _time

    from core.desk import Desk

    desk = Desk()
    old = position()
    object.__setattr__(old, "received_at", _time.monotonic() - 60)
    desk._book.positions[KEY] = old
    assert desk.data_age(KEY) is not None and desk.data_age(KEY) > 59  # type: ignore[operator]
