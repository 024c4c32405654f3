"""One line per real state change: a close shows one ACK (if any) and one FILLED, in order,
whichever channel spoke first; a trigger one TRIGGER_ACK. What the venue repeats afterwards is
journaled as a duplicate and shown to nobody.

Through the real desk, a real journal and the real sessions against the simulator, which
answers an Everstrike close on REST and again on the WebSocket, and a QFEX stop on two
channels (stop_orders and order_responses).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from core.desk import Desk, DeskEvent
from core.journal import Journal
from core.model import (
    CloseRequest,
    Environment,
    OrderStatus,
    OrderUpdate,
    PositionKey,
    PositionSide,
    Trigger,
    TriggerEvent,
)
from core.sim import Simulator
from core.venue import AccountConfig, Credentials
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from tests.helpers.polling import market_data, until
from tests.helpers.proxy import RecordingProxy
from tests.integration.conftest import ES_PAIR, QFEX_SYMBOL

D = Decimal


@dataclass
class Rig:
    sim: Simulator
    desk: Desk
    journal: Journal
    heard: list[DeskEvent]
    qfex: PositionKey
    everstrike: PositionKey


@pytest_asyncio.fixture
async def rig(bare_sim: Simulator, tmp_path: Path) -> AsyncIterator[Rig]:
    sim = bare_sim
    q_pub, q_sec = sim.add_account("qfex", "once-q", [(QFEX_SYMBOL, D(40), D(220))])
    e_pub, e_sec = sim.add_account("everstrike", "once-e", [(ES_PAIR, D("-3.5"), D(4400))])
    q, e = sim.info.qfex, sim.info.everstrike
    journal = Journal(tmp_path / "journal.sqlite3", operator="tester")
    desk = Desk(journal=journal)
    heard: list[DeskEvent] = []
    desk.subscribe(heard.append)
    accounts = [
        (AccountConfig("once-q", QFEX, Environment.DEMO, q_pub,
                       {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest}),
         Credentials(q_pub, q_sec)),
        (AccountConfig("once-e", EVERSTRIKE, Environment.DEMO, e_pub,
                       {"rest": e.rest, "ws": e.ws}),
         Credentials(e_pub, e_sec)),
    ]
    try:
        assert await desk.start(accounts) == []
        await market_data(desk)  # a fixture hands over nothing half done
        yield Rig(sim, desk, journal, heard, PositionKey("once-q", QFEX, QFEX_SYMBOL),
                  PositionKey("once-e", EVERSTRIKE, ES_PAIR))
    finally:
        await desk.stop()
        journal.close()


def journaled(rig: Rig, kind: str, intent_id: str) -> list[str]:
    return [json.loads(r.payload)["status"] for r in rig.journal.records(limit=100_000)
            if r.kind == kind and r.intent_id == intent_id]


def duplicates_of(rig: Rig, intent_id: str) -> list[dict[str, str]]:
    return [json.loads(r.payload) for r in rig.journal.records(limit=100_000)
            if r.kind == "duplicate" and r.intent_id == intent_id]


def shown(rig: Rig, client_order_id: str) -> list[OrderStatus]:
    return [e.status for e in rig.heard
            if isinstance(e, OrderUpdate) and e.client_order_id == client_order_id]


@pytest.mark.asyncio
async def test_an_everstrike_market_close_is_filled_once(rig: Rig) -> None:
    request = CloseRequest(rig.everstrike, PositionSide.SHORT, D("3.5"))
    intent = await rig.desk.close(request)
    await intent.settled(timeout=10)
    # The venue repeats the fill on the WebSocket after the REST reply: wait until the journal
    # has it, so the assertions below judge the whole story, not a prefix of it.
    await until(lambda: journaled(rig, "duplicate", intent.id), what="the WebSocket echo")
    statuses = journaled(rig, "order_update", intent.id)
    assert statuses.count("FILLED") == 1
    assert statuses[-1] == "FILLED"
    assert set(statuses) <= {"ACK", "FILLED"}
    assert [s.value for s in shown(rig, request.client_order_id)] == statuses
    # Each duplicate keeps the frame that carried it, as the venue sent it.
    order_id = intent.order_id
    assert order_id is not None
    duplicates = duplicates_of(rig, intent.id)
    assert duplicates
    assert all(order_id in d["raw"] and d["order_id"] == order_id for d in duplicates)


@pytest.mark.asyncio
async def test_a_qfex_partial_market_close_is_filled_once(rig: Rig) -> None:
    request = CloseRequest(rig.qfex, PositionSide.LONG, D(40), quantity=D(10))
    intent = await rig.desk.close(request)
    await intent.settled(timeout=10)
    statuses = journaled(rig, "order_update", intent.id)
    assert statuses.count("FILLED") == 1
    assert statuses[-1] == "FILLED"
    assert statuses == sorted(statuses, key=["ACK", "PARTIAL", "FILLED"].index)
    assert [s.value for s in shown(rig, request.client_order_id)] == statuses


@pytest.mark.parametrize("venue", ["qfex", "everstrike"])
@pytest.mark.asyncio
async def test_a_trigger_is_acknowledged_once(rig: Rig, venue: str) -> None:
    key = rig.qfex if venue == "qfex" else rig.everstrike
    side = PositionSide.LONG if venue == "qfex" else PositionSide.SHORT
    size = D(40) if venue == "qfex" else D("3.5")
    mark = rig.desk.mark(key.venue, key.symbol)
    assert mark is not None
    # A stop: below the mark for a long, above it for a short, far enough not to fire.
    price = (mark.mark * D("0.5") if side is PositionSide.LONG else mark.mark * 2).quantize(D(1))
    request = CloseRequest(key, side, size, quantity=D(1),
                           trigger=Trigger(price, TriggerEvent.MARK))
    intent = await rig.desk.close(request)
    await intent.settled(timeout=10)
    await until(lambda: rig.desk.working_for(key), what="the resting trigger")
    statuses = journaled(rig, "order_update", intent.id)
    assert statuses == ["TRIGGER_ACK"]
    assert [s.value for s in shown(rig, request.client_order_id)] == ["TRIGGER_ACK"]
    # A repeated acknowledgement is kept, with its frame, and shown to nobody.
    assert all(d["status"] == "TRIGGER_ACK" and d["raw"] for d in duplicates_of(rig, intent.id))


@dataclass
class SlowRig:
    desk: Desk
    journal: Journal
    heard: list[DeskEvent]
    key: PositionKey
    proxy: RecordingProxy


@pytest_asyncio.fixture
async def slow_reply(bare_sim: Simulator, tmp_path: Path) -> AsyncIterator[SlowRig]:
    """An Everstrike account whose REST answers come through a slow proxy, so the venue's
    WebSocket events for a close arrive before the reply to its POST."""
    sim = bare_sim
    pub, sec = sim.add_account("everstrike", "slow-e", [(ES_PAIR, D("-3.5"), D(4400))])
    rest = urlsplit(sim.info.everstrike.rest)
    assert rest.hostname is not None and rest.port is not None
    proxy = RecordingProxy(rest.hostname, rest.port)
    await proxy.start()
    journal = Journal(tmp_path / "journal.sqlite3", operator="tester")
    desk = Desk(journal=journal)
    heard: list[DeskEvent] = []
    desk.subscribe(heard.append)
    config = AccountConfig("slow-e", EVERSTRIKE, Environment.DEMO, pub,
                           {"rest": proxy.url_for(sim.info.everstrike.rest),
                            "ws": sim.info.everstrike.ws})
    try:
        assert await desk.start([(config, Credentials(pub, sec))]) == []
        await market_data(desk)
        proxy.reply_delay = 0.3  # from now on: the WS pushes beat the REST reply
        yield SlowRig(desk, journal, heard, PositionKey("slow-e", EVERSTRIKE, ES_PAIR), proxy)
    finally:
        await desk.stop()
        journal.close()
        await proxy.stop()


def records_of(journal: Journal, kind: str, intent_id: str) -> list[dict[str, str]]:
    return [json.loads(r.payload) for r in journal.records(limit=100_000)
            if r.kind == kind and r.intent_id == intent_id]


@pytest.mark.asyncio
async def test_the_websocket_first_says_each_step_once_in_the_order_received(
    slow_reply: SlowRig,
) -> None:
    """The WS says ACK and FILLED while the POST's answer is still on its way: both are shown
    (the WS's words, in the order received), and the reply's FILLED, arriving last, is kept
    in the journal as a duplicate with its frame, shown to nobody."""
    rig = slow_reply
    request = CloseRequest(rig.key, PositionSide.SHORT, D("3.5"))
    intent = await rig.desk.close(request)
    await intent.settled(timeout=10)
    await rig.desk.journaled()
    updates = records_of(rig.journal, "order_update", intent.id)
    assert [(u["status"], u["raw_status"]) for u in updates] == [
        ("ACK", "order_added"), ("FILLED", "order_completed")]
    shown_updates = [e for e in rig.heard if isinstance(e, OrderUpdate)
                     and e.client_order_id == request.client_order_id]
    assert [e.status.value for e in shown_updates] == ["ACK", "FILLED"]
    times = [e.received_at for e in shown_updates]
    assert times == sorted(times)  # said in the order received, so the log reads in time order
    [duplicate] = records_of(rig.journal, "duplicate", intent.id)
    assert (duplicate["status"], duplicate["raw_status"]) == ("FILLED", "COMPLETED")
    assert intent.order_id is not None and intent.order_id in duplicate["raw"]  # the reply
