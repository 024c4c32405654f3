"""The desk's ``Coordinator`` in team mode: close leases in PostgreSQL (``core.team.leases``),
renewed while their intents live and given up when they end.

One connection, opened on first use and again after it breaks. A lease that cannot be taken
because the database is away refuses the close (``CoordinationDown``): the user then decides,
and may override with a typed reason. A lease this desk held but lost (it expired while the
desk could not renew it, and another desk took it) is reported, never acted on: nothing is
resent or cancelled because of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import psycopg

from core.desk.coordination import CoordinationDown, Holder, LeaseHeld, Override
from core.model import PositionKey
from core.team.awareness import LeaseChanged
from core.team.heard import HeardLeases
from core.team.leases import DEFAULT_TTL_S, Granted, LeaseKey, Leases
from core.venues import UnknownVenue, venue_named

__all__ = ["TeamCoordinator"]

log = logging.getLogger(__name__)

Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]
_ERRORS = (psycopg.OperationalError, psycopg.InterfaceError, OSError, TimeoutError)


def lease_key(key: PositionKey) -> LeaseKey:
    return LeaseKey(key.account, key.venue.value, key.symbol)


class TeamCoordinator:
    """See the module docstring. ``on_lost`` hears of a lease this desk lost to another desk;
    ``connect_timeout`` bounds how long a close waits for an unreachable database."""

    def __init__(self, connect: Connect, desk_id: str, operator: str, *,
                 desk_name: str = "", ttl_s: float = DEFAULT_TTL_S,
                 connect_timeout: float = 3.0,
                 on_lost: Callable[[PositionKey, str, Holder | None], None] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._connect = connect
        self.desk_id = desk_id
        self.operator = operator
        self.desk_name = desk_name or desk_id
        self.ttl_s = ttl_s
        self._connect_timeout = connect_timeout
        self._on_lost = on_lost or (lambda _k, _i, _h: None)
        self._db: psycopg.AsyncConnection[Any] | None = None
        self._leases: Leases | None = None
        self._lock = asyncio.Lock()  # one statement at a time on the one connection
        self._held: dict[tuple[PositionKey, str], None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._renewer: asyncio.Task[None] | None = None
        self._clock = clock
        self._others = HeardLeases(clock)  # who else is closing what, as heard
        self._expiry: asyncio.TimerHandle | None = None
        self.desk_names: dict[str, str] = {}  # desk id -> name, as the window shows them
        self._changed: Callable[[PositionKey], None] = lambda _key: None

    @property
    def held(self) -> list[tuple[PositionKey, str]]:
        return list(self._held)

    async def _ready(self) -> Leases:
        if self._leases is not None and self._db is not None and not self._db.closed:
            return self._leases
        async with asyncio.timeout(self._connect_timeout):
            db = await self._connect()
        try:
            await db.set_autocommit(True)
            # A lease names its desk: the desk is on the list before it asks for one.
            await db.execute(
                "INSERT INTO desks (desk_id, name, operator) VALUES (%s, %s, %s) "
                "ON CONFLICT (desk_id) DO UPDATE SET name = EXCLUDED.name, "
                "operator = EXCLUDED.operator, last_seen = now()",
                (self.desk_id, self.desk_name, self.operator))
        except BaseException:  # failed or cancelled (a stop): never leave it open unowned
            with contextlib.suppress(*_ERRORS):
                await db.close()
            raise
        self._db = db
        self._leases = Leases(db, self.desk_id, self.operator, ttl_s=self.ttl_s)
        return self._leases

    async def _call(self, use: Callable[[Leases], Awaitable[Any]]) -> Any:
        async with self._lock:
            try:
                return await use(await self._ready())
            except _ERRORS:
                await self._drop()
                raise

    async def _drop(self) -> None:
        db, self._db, self._leases = self._db, None, None
        if db is not None:
            with contextlib.suppress(*_ERRORS):
                await db.close()

    async def acquire(self, key: PositionKey, intent_id: str) -> None:
        try:
            result = await self._call(lambda leases: leases.take(lease_key(key), intent_id))
        except _ERRORS as exc:
            raise CoordinationDown(_one_line(exc)) from exc
        if not isinstance(result, Granted):
            raise LeaseHeld(result)
        self._hold(key, intent_id)

    async def override(self, key: PositionKey, intent_id: str) -> Override:
        before = await self._holder(key)
        if before is not None and before.desk_id == self.desk_id \
                and (key, before.intent_id) not in self._held:
            # This desk's own lease of an intent already final (a cancel just before this
            # close), its release still on the way: nobody else's lease is taken.
            before = None
        try:
            await self._call(lambda leases: leases.override(lease_key(key), intent_id))
        except _ERRORS as exc:
            log.warning("override of %s without a lease: the team database cannot be reached "
                        "(%s)", key, _one_line(exc))
            return Override(before, locked=False)
        self._hold(key, intent_id)
        return Override(before, locked=True)

    def finished(self, key: PositionKey, intent_id: str) -> None:
        if (key, intent_id) in self._held:
            del self._held[(key, intent_id)]
            self._spawn(self._release(key, intent_id))

    def attach(self, changed: Callable[[PositionKey], None]) -> None:
        self._changed = changed

    def observe(self, event: LeaseChanged) -> None:
        """Another desk took, renewed or gave up a lease (from ``core.team.awareness``)."""
        if self._others.observe(event):
            self._tell(event.key)
        self._arm()

    def replace(self, leases: tuple[LeaseChanged, ...]) -> None:
        """The other desks' leases as read after a (re)connect replace what was heard."""
        for key in self._others.replace(leases):
            self._tell(key)
        self._arm()

    def names_changed(self) -> None:
        """The desks' names were (re)read: every position another desk holds is shown again."""
        for key in self._others.held():
            self._tell(key)

    def _arm(self) -> None:
        """Wake at the soonest deadline of a lease heard of: one that passes unrenewed (its
        desk vanished) stops naming that desk on the row. Nothing is sent because of it."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        deadline = self._others.next_deadline()
        if deadline is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a unit test feeding events): ``elsewhere`` still says expired
        self._expiry = loop.call_later(max(0.0, deadline - self._clock()), self._sweep)

    def _sweep(self) -> None:
        self._expiry = None
        for key, desk_id in self._others.expire():
            log.info("%s's lease on %s/%s/%s ran out without renewal (that desk may have "
                     "stopped); nothing is sent because of it",
                     self.desk_names.get(desk_id, desk_id), key.account, key.venue, key.symbol)
            self._tell(key)
        self._arm()

    def _tell(self, key: LeaseKey) -> None:
        try:
            venue = venue_named(key.venue)
        except UnknownVenue:
            return  # a venue this version does not know: no row of ours to mark
        self._changed(PositionKey(key.account, venue, key.symbol))

    def elsewhere(self, key: PositionKey) -> str | None:
        desk_id = self._others.desk_id(lease_key(key))
        return None if desk_id is None else self.desk_names.get(desk_id, desk_id)

    def heard(self, key: PositionKey) -> Holder | None:
        return self._others.holder(lease_key(key), self.desk_names)

    async def _release(self, key: PositionKey, intent_id: str) -> None:
        try:
            await self._call(lambda leases: leases.release(lease_key(key), intent_id))
        except _ERRORS as exc:  # it expires by itself; nothing else depends on it
            log.warning("could not give up the lease on %s (%s); it expires in at most "
                        "%.0f s", key, _one_line(exc), self.ttl_s)

    def _hold(self, key: PositionKey, intent_id: str) -> None:
        self._held[(key, intent_id)] = None
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew_loop())

    async def _renew_loop(self) -> None:
        while self._held:
            await asyncio.sleep(self.ttl_s / 3)
            for key, intent_id in list(self._held):
                def renew(leases: Leases, k: PositionKey = key, i: str = intent_id
                          ) -> Awaitable[bool]:
                    return leases.renew(lease_key(k), i)

                try:
                    kept = await self._call(renew)
                except _ERRORS as exc:
                    log.warning("could not renew the lease on %s (%s)", key, _one_line(exc))
                    continue
                if not kept and (key, intent_id) in self._held:
                    del self._held[(key, intent_id)]
                    holder = await self._holder(key)
                    log.warning("the lease on %s was lost to %s; nothing is resent", key,
                                holder.text() if holder else "nobody")
                    self._on_lost(key, intent_id, holder)

    async def holder(self, key: PositionKey) -> Holder | None:
        """Who holds the position's lease now (this desk included), or None; for showing (a
        plan, a dry run). Raises CoordinationDown when the database cannot be asked."""
        try:
            found: Holder | None = await self._call(
                lambda leases: leases.holder(lease_key(key)))
        except _ERRORS as exc:
            raise CoordinationDown(_one_line(exc)) from exc
        return found

    async def _holder(self, key: PositionKey) -> Holder | None:
        try:
            found: Holder | None = await self._call(
                lambda leases: leases.holder(lease_key(key)))
        except _ERRORS:
            return None
        return found

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self, timeout: float | None = None) -> None:
        """Give up every lease still held (best effort, for at most ``timeout`` seconds: a
        lease not given up expires by itself) and close the connection."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        for key, intent_id in list(self._held):
            self.finished(key, intent_id)
        if self._tasks:
            tasks = list(self._tasks)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await asyncio.gather(*tasks, return_exceptions=True)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._drop()


def _one_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
