"""Through the desk: every protocol error a session reports, and every piece of venue data
the desk cannot apply, is journaled and shown, rate-limited, with every count kept."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from core.desk import Desk
from core.journal import Journal
from core.model import MarkUpdate, ProtocolError
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.qfex import QFEX
from tests.helpers.fakes import FakeSession, account, position


def err(message: str) -> ProtocolError:
    return ProtocolError(QFEX, "acct", message, raw="{bad")




@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "j.sqlite3", operator="tester")
    yield j
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
    return desk, made[0]


def journaled_errors(journal: Journal) -> list[dict[str, object]]:
    journal.flush()
    return [json.loads(r.payload) for r in journal.iter_all() if r.kind == "protocol_error"]


@pytest.mark.asyncio
async def test_a_flood_of_bad_frames_is_journaled_and_shown_bounded_with_every_count(
    journal: Journal,
) -> None:
    desk, session = await make_desk(journal)
    heard: list[ProtocolError] = []
    desk.subscribe(lambda e: heard.append(e) if isinstance(e, ProtocolError) else None)
    for i in range(2000):
        session.sink(err(f"Unreadable QFEX message: frame {i}"))
    await desk.stop()
    await desk.journaled()
    records = journaled_errors(journal)
    assert [r["count"] for r in records] == [1, 1999]
    assert [e.count for e in heard] == [1, 1999]
    assert heard[1].message.startswith("1999 more like this")


@pytest.mark.asyncio
async def test_venue_data_the_desk_cannot_apply_is_a_journaled_protocol_error(
    journal: Journal,
) -> None:
    desk, session = await make_desk(journal)
    heard: list[ProtocolError] = []
    desk.subscribe(lambda e: heard.append(e) if isinstance(e, ProtocolError) else None)
    # A mark so large that repricing the position overflows.
    session.sink(MarkUpdate(QFEX, "AAPL-USD", Decimal("1E+999999999")))
    await desk.journaled()
    (record,) = journaled_errors(journal)
    assert record["code"] == "unapplied"
    assert "MarkUpdate" in str(record["message"])
    assert [e.code for e in heard] == ["unapplied"]
    await desk.stop()
