"""Journaled before the UI shows it, without holding the loop: the desk's events wait, in
order, for their journal records; a close's request is durable before it goes to the wire.

The journal's writer is paused with a gate (tests.helpers.journal), never timed.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from core.desk import Desk, IntentState
from core.desk.outbox import Outbox
from core.journal import Journal, JournalError
from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    MarkUpdate,
    OrderStatus,
    OrderUpdate,
    PositionKey,
    PositionSide,
    ProtocolError,
)
from core.venue import AccountConfig, Credentials, EventSink, PreparedClose, Restamped
from core.venues.qfex import QFEX
from tests.helpers.fakes import FakeSession, account, position
from tests.helpers.journal import Gate

KEY = PositionKey("acct", QFEX, "AAPL-USD")


@pytest.fixture
def gate() -> Gate:
    return Gate()


@pytest.fixture
def journal(tmp_path: Path, gate: Gate) -> Iterator[Journal]:
    j = Journal(tmp_path / "j.sqlite3", operator="tester", before_commit=gate)
    yield j
    gate.open()  # whatever the test left paused is written on the way out
    j.close()


async def make_desk(journal: Journal) -> tuple[Desk, FakeSession]:
    made: list[FakeSession] = []

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.initial = (position(),)
        made.append(s)
        return s

    desk = Desk(journal=journal, session_factory=factory)
    assert await desk.start([(account(), Credentials("pub", "s3cr3t"))]) == []
    await desk.journaled()
    return desk, made[0]


def pause(gate: Gate) -> int:
    """Close the gate; returns how many transactions must reach it before the writer is
    known to be held there."""
    gate.close()
    return len(gate.batches) + 1


async def loop_turns(n: int = 10) -> None:
    """Let the loop run other callbacks (a held event would go out now if it could)."""
    for _ in range(n):
        await asyncio.sleep(0)


def kinds(journal: Journal) -> list[str]:
    return [r.kind for r in journal.iter_all()]


@pytest.mark.asyncio
async def test_an_event_waits_for_its_record_and_nothing_overtakes_it(
    journal: Journal, gate: Gate
) -> None:
    desk, session = await make_desk(journal)
    heard: list[tuple[str, int]] = []  # each event, with the records on disk when it was heard
    desk.subscribe(lambda e: heard.append((type(e).__name__, journal.count())))
    arrivals = pause(gate)
    session.sink(ProtocolError(QFEX, "acct", "bad frame"))  # journaled, then emitted
    session.sink(MarkUpdate(QFEX, "AAPL-USD", Decimal("101")))  # no record: queued behind it
    await asyncio.to_thread(gate.wait_arrivals, arrivals)
    await loop_turns()
    assert heard == [] and desk.held_events == 3  # the error; the repriced row and the mark
    on_disk = journal.count()
    gate.open()
    await desk.journaled()
    assert heard == [("ProtocolError", on_disk + 1), ("PositionUpserted", on_disk + 1),
                     ("MarkUpdate", on_disk + 1)]
    assert desk.held_events == 0
    session.sink(MarkUpdate(QFEX, "AAPL-USD", Decimal("102")))  # nothing pending: at once
    assert heard[-2:] == [("PositionUpserted", on_disk + 1), ("MarkUpdate", on_disk + 1)]


@pytest.mark.asyncio
async def test_many_events_come_out_in_the_order_they_happened(
    journal: Journal, gate: Gate
) -> None:
    desk, session = await make_desk(journal)
    heard: list[str] = []

    def hear(event: object) -> None:
        if isinstance(event, ConnectionEvent):  # journaled, and (unlike protocol errors)
            heard.append(event.message)  # never rate-limited
        elif isinstance(event, MarkUpdate):
            heard.append(f"mark {event.mark}")

    desk.subscribe(hear)
    expected: list[str] = []
    for i in range(60):
        if i % 20 == 0:
            gate.close()
        elif i % 20 == 10:
            gate.open()
        if i % 3 == 0:
            session.sink(MarkUpdate(QFEX, "AAPL-USD", Decimal(100 + i)))
            expected.append(f"mark {Decimal(100 + i)}")
        else:
            session.sink(ConnectionEvent(QFEX, "acct", ConnectionState.CONNECTING, f"frame {i}"))
            expected.append(f"frame {i}")
        if i % 4 == 0:
            await asyncio.sleep(0)
    gate.open()
    await desk.journaled()
    assert heard == expected


@pytest.mark.asyncio
async def test_a_close_goes_to_the_wire_only_once_its_request_is_durable(
    journal: Journal, gate: Gate
) -> None:
    desk, session = await make_desk(journal)
    on_the_wire: list[list[str]] = []  # the journal's kinds when each frame left
    send = session.send

    async def recording(prepared: PreparedClose, *, restamped: Restamped | None = None) -> None:
        on_the_wire.append(kinds(journal))
        await send(prepared, restamped=restamped)

    session.send = recording  # type: ignore[method-assign]
    arrivals = pause(gate)
    task = asyncio.ensure_future(desk.close(CloseRequest(KEY, PositionSide.LONG, Decimal(10))))
    await asyncio.to_thread(gate.wait_arrivals, arrivals)
    await loop_turns()
    assert not task.done() and session.sent == [] and on_the_wire == []
    gate.open()
    intent = await task
    assert session.sent == [intent.request]
    assert on_the_wire[0][-2:] == ["intent", "request"]


@pytest.mark.asyncio
async def test_a_waiter_hears_of_a_settled_close_once_its_record_is_durable(
    journal: Journal, gate: Gate
) -> None:
    desk, session = await make_desk(journal)
    intent = await desk.close(CloseRequest(KEY, PositionSide.LONG, Decimal(10)))
    arrivals = pause(gate)
    session.sink(OrderUpdate(QFEX, "acct", "AAPL-USD", OrderStatus.FILLED, "FILLED", True,
                             client_order_id=intent.request.client_order_id,
                             filled=Decimal(10), remaining=Decimal(0)))
    assert intent.state is IntentState.FILLED  # the desk's own state moves at once
    settled = asyncio.ensure_future(intent.settled(timeout=30))
    await asyncio.to_thread(gate.wait_arrivals, arrivals)
    await loop_turns()
    assert not settled.done()  # ... but nobody is told before the journal has it
    gate.open()
    await settled
    assert "order_update" in kinds(journal)


@pytest.mark.allow_error_logs
@pytest.mark.asyncio
async def test_a_journal_that_fails_stops_the_close_before_the_wire(
    journal: Journal, gate: Gate, fail_on_error_logs: pytest.LogCaptureFixture
) -> None:
    desk, session = await make_desk(journal)
    heard: list[object] = []
    desk.subscribe(heard.append)
    gate.fail_with = sqlite3.OperationalError("disk I/O error")
    with pytest.raises(JournalError, match="disk I/O error"):
        await desk.close(CloseRequest(KEY, PositionSide.LONG, Decimal(10)))
    assert session.sent == []
    (intent,) = desk.intents().values()
    assert intent.state is IntentState.REJECTED and "nothing was sent" in intent.message
    assert desk.pending(KEY) is None
    with pytest.raises(JournalError, match="stopped writing"):
        await desk.close(CloseRequest(KEY, PositionSide.LONG, Decimal(10)))
    session.sink(MarkUpdate(QFEX, "AAPL-USD", Decimal("103")))
    await loop_turns()
    assert heard == []  # nothing the journal could not record is shown
    assert session.sent == []
    fail_on_error_logs.records.clear()


def test_without_a_running_loop_the_desk_waits_for_the_journal_inline(
    journal: Journal,
) -> None:
    desk, session = asyncio.run(make_desk(journal))
    heard: list[tuple[str, int]] = []
    desk.subscribe(lambda e: heard.append((type(e).__name__, journal.count())))
    before = journal.count()
    session.sink(ProtocolError(QFEX, "acct", "bad frame"))  # a synchronous caller
    assert heard == [("ProtocolError", before + 1)]


@pytest.mark.asyncio
async def test_settling_briefly_delivers_what_is_durable_and_gives_up_on_a_stalled_writer(
    journal: Journal, gate: Gate
) -> None:
    """The close path may block the loop a moment for its record instead of a trip through
    the loop; past the limit it gives up, delivers nothing early, and the caller awaits."""
    heard: list[str] = []
    outbox: Outbox[str] = Outbox(journal, heard.append)
    arrivals = pause(gate)
    outbox.record("intent", {"n": 1})
    outbox.emit("after the intent")
    await asyncio.to_thread(gate.wait_arrivals, arrivals)
    assert outbox.settle_briefly(0.001) is False  # the writer is held at the gate
    assert heard == [] and outbox.held == 1
    gate.open()
    assert outbox.settle_briefly(30) is True  # durable within the limit: delivered now
    assert heard == ["after the intent"] and outbox.held == 0
    assert kinds(journal)[-1] == "intent"
    outbox.record("request", {"n": 2})
    outbox.emit("after the request")
    assert outbox.settle_briefly(30) is True
    assert heard == ["after the intent", "after the request"]
