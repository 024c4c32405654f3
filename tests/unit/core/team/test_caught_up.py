"""When a desk knows what the other desks are closing: the awareness says it has caught up only
once it has read their current leases (delivered first), not while the database is away, and
no longer once the connection is lost. A flatten waits for it before it plans."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any

import psycopg
import pytest

from core.team.awareness import Awareness, Event, LeaseChanged, LeaseSnapshot
from core.team.leases import LeaseKey
from tests.helpers.polling import until

LEASE = ("client-7", "qfex", "BTC-USD", "d3", "their-intent", "maria", 4.0, 26.0)


class _Cursor:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self._rows = rows

    async def fetchall(self) -> list[tuple[Any, ...]]:
        return self._rows


class _Db:
    """Just what the awareness loop asks of a connection: the leases held by other desks, no
    records, and notifications until ``lost`` is set (then the connection breaks)."""

    def __init__(self, leases: list[tuple[Any, ...]]) -> None:
        self.leases = leases
        self.lost = asyncio.Event()

    async def __aenter__(self) -> _Db:
        return self

    async def __aexit__(self, *exc: type[BaseException] | BaseException | TracebackType | None
                        ) -> None:
        return None

    async def set_autocommit(self, _on: bool) -> None:
        return None

    async def execute(self, query: str, _params: Any = None) -> _Cursor:
        return _Cursor(self.leases if "FROM leases" in query else [])

    async def notifies(self) -> AsyncIterator[Any]:
        await self.lost.wait()
        raise psycopg.OperationalError("server closed the connection")
        yield  # an async generator, as psycopg's


class _Server:
    """Refuses the first ``refusals`` connections, then hands out ``_Db``s; ``hold`` keeps a
    connect waiting (a database that does not answer)."""

    def __init__(self, refusals: int, leases: list[tuple[Any, ...]]) -> None:
        self.refusals = refusals
        self.leases = leases
        self.attempts = 0
        self.dbs: list[_Db] = []
        self.hold = asyncio.Event()
        self.hold.set()

    async def connect(self) -> Any:
        self.attempts += 1
        await self.hold.wait()
        if self.attempts <= self.refusals:
            raise psycopg.OperationalError("connection refused")
        db = _Db(self.leases)
        self.dbs.append(db)
        return db


@contextlib.asynccontextmanager
async def _running(awareness: Awareness) -> AsyncIterator[None]:
    task = asyncio.get_running_loop().create_task(awareness.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.asyncio
async def test_caught_up_only_after_the_other_desks_leases_were_read_and_delivered() -> None:
    server = _Server(refusals=2, leases=[LEASE])
    heard: list[tuple[Event, bool]] = []
    awareness = Awareness(server.connect, "d1",
                          lambda e: heard.append((e, awareness.is_caught_up)), backoff=(0,))
    assert not awareness.is_caught_up
    async with _running(awareness):
        assert await awareness.caught_up(10)
        assert server.attempts == 3  # not while the database refused
        assert heard == [(LeaseSnapshot((LeaseChanged(
            LeaseKey("client-7", "qfex", "BTC-USD"), "d3", "their-intent", held=True,
            operator="maria", held_for_s=4.0, expires_in_s=26.0),)), False)]
        # The connection is lost, and the next connect does not answer: no longer caught up.
        server.hold.clear()
        server.dbs[-1].lost.set()
        await until(lambda: not awareness.is_caught_up, what="the loss to be noticed")
        server.hold.set()  # back: the leases are read again before it says so
        assert await awareness.caught_up(10)
        assert len(heard) == 2 and not heard[1][1]


@pytest.mark.asyncio
async def test_a_database_that_never_answers_times_out_and_says_so() -> None:
    server = _Server(refusals=10**9, leases=[])
    awareness = Awareness(server.connect, "d1", lambda _e: None, backoff=(1,))
    async with _running(awareness):
        assert not await awareness.caught_up(0.05)
        assert not awareness.is_caught_up and server.attempts >= 1
