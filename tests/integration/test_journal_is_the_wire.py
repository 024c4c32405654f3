"""The journal's request record is byte for byte what went on the wire.

A recording proxy sits between our real sessions and the simulator on loopback. Every close and
cancel the desk journals must appear in the proxy's record exactly as journaled (keys and
signatures masked, nothing else changed), and every close or cancel on the wire must have
been journaled first.
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

from core.desk import Desk
from core.journal import Journal, JournalRecord
from core.model import (
    CloseRequest,
    Environment,
    PositionKey,
    PositionSide,
    TimeInForce,
    WorkingOrder,
)
from core.sim import Simulator
from core.venue import AccountConfig, Credentials, redact
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from tests.helpers.polling import market_data, until
from tests.helpers.proxy import HttpRequest, RecordingProxy
from tests.integration.conftest import ES_PAIR, QFEX_SYMBOL

D = Decimal
_QFEX_ORDER_TYPES = {"close_position", "add_order", "cancel_order", "cancel_stop_order"}


@dataclass
class WireRig:
    desk: Desk
    journal: Journal
    qfex: PositionKey
    everstrike: PositionKey
    qfex_proxy: RecordingProxy
    es_proxy: RecordingProxy


async def _proxy(url: str) -> RecordingProxy:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    proxy = RecordingProxy(parts.hostname, parts.port)
    await proxy.start()
    return proxy


@pytest_asyncio.fixture
async def wire(bare_sim: Simulator, tmp_path: Path) -> AsyncIterator[WireRig]:
    sim = bare_sim
    q_pub, q_sec = sim.add_account("qfex", "wire-q", [(QFEX_SYMBOL, D(40), D(220))])
    e_pub, e_sec = sim.add_account("everstrike", "wire-e", [(ES_PAIR, D("-3.5"), D(4400))])
    q, e = sim.info.qfex, sim.info.everstrike
    qfex_proxy = await _proxy(q.trade_ws)
    es_proxy = await _proxy(e.rest)
    journal = Journal(tmp_path / "journal.sqlite3", operator="tester")
    desk = Desk(journal=journal)
    accounts = [
        (AccountConfig("wire-q", QFEX, Environment.DEMO, q_pub,
                       {"trade_ws": qfex_proxy.url_for(q.trade_ws), "mds_ws": q.mds_ws,
                        "rest": q.rest}),
         Credentials(q_pub, q_sec)),
        (AccountConfig("wire-e", EVERSTRIKE, Environment.DEMO, e_pub,
                       {"rest": es_proxy.url_for(e.rest), "ws": e.ws}),
         Credentials(e_pub, e_sec)),
    ]
    try:
        assert await desk.start(accounts) == []
        await market_data(desk)  # a fixture hands over nothing half done
        yield WireRig(desk, journal, PositionKey("wire-q", QFEX, QFEX_SYMBOL),
                      PositionKey("wire-e", EVERSTRIKE, ES_PAIR), qfex_proxy, es_proxy)
    finally:
        await desk.stop()
        await qfex_proxy.stop()
        await es_proxy.stop()
        journal.close()


def _requests(journal: Journal, account: str) -> list[str]:
    records: list[JournalRecord] = journal.records(limit=100_000)
    return [r.payload for r in records if r.kind == "request" and r.account == account]


async def _close_resting_and_cancel(rig: WireRig, key: PositionKey, side: PositionSide,
                                    size: Decimal, far_price: Decimal) -> None:
    """A partial market close, a resting limit that is then cancelled, then the rest."""
    intent = await rig.desk.close(CloseRequest(key, side, size, quantity=D(1)))
    await intent.settled(timeout=10)
    resting = await rig.desk.close(CloseRequest(
        key, side, size - 1, quantity=D(1), limit_price=far_price,
        time_in_force=TimeInForce.GTC if key.venue is QFEX else None))
    await resting.settled(timeout=10)

    def working() -> list[WorkingOrder]:
        return rig.desk.working_for(key)

    await until(lambda: len(working()) == 1, what="the resting limit")
    await rig.desk.cancel(working()[0])
    await until(lambda: not working(), what="the cancel")
    await until(lambda: rig.desk.positions[key].quantity == size - 1, what="the partial fill")
    full = await rig.desk.close(CloseRequest(key, side, size - 1))
    await full.settled(timeout=10)


@pytest.mark.asyncio
async def test_qfex_journal_records_exactly_the_frames_sent(wire: WireRig) -> None:
    await _close_resting_and_cancel(wire, wire.qfex, PositionSide.LONG, D(40), D(900))
    journaled = _requests(wire.journal, "wire-q")
    sent = [text for text in wire.qfex_proxy.ws_texts()
            if json.loads(text).get("type") in _QFEX_ORDER_TYPES]
    kinds = [json.loads(text)["type"] for text in sent]
    assert kinds == ["add_order", "add_order", "cancel_order", "close_position"]
    assert journaled == sent


def _parse_journaled(text: str) -> HttpRequest:
    head, _, body = text.partition("\n\n")
    start, *lines = head.split("\n")
    method, path = start.split(" ", 1)
    headers = {}
    for line in lines:
        name, _, value = line.partition(": ")
        headers[name.lower()] = value
    return HttpRequest(method, path, headers, body.encode())


def _same_request(journaled: HttpRequest, sent: HttpRequest) -> None:
    assert (journaled.method, journaled.path) == (sent.method, sent.path)
    assert journaled.body == sent.body
    for name in ("x-api-key", "x-signature"):
        assert name in sent.headers
        assert journaled.headers[name] == redact(sent.headers[name])
        assert sent.headers[name] not in journaled.body.decode()
    for name, shown in journaled.headers.items():
        if name not in ("x-api-key", "x-signature"):
            assert sent.headers[name] == shown


@pytest.mark.asyncio
async def test_everstrike_journal_records_exactly_the_signed_body_sent(wire: WireRig) -> None:
    await _close_resting_and_cancel(wire, wire.everstrike, PositionSide.SHORT, D("3.5"),
                                    D(100))
    journaled = [_parse_journaled(t) for t in _requests(wire.journal, "wire-e")]
    sent = [r for r in wire.es_proxy.http_requests()
            if r.method == "POST" and r.path.startswith(("/auth/close", "/auth/cancel"))]
    assert [r.path for r in sent] == ["/auth/close", "/auth/close", "/auth/cancel",
                                      "/auth/close"]
    assert len(journaled) == len(sent)
    for j, s in zip(journaled, sent, strict=True):
        _same_request(j, s)
