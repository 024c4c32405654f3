"""Copies this desk's journal into the team database, in order, nothing lost or doubled.

The desk's local SQLite journal stays the write-ahead copy: every record is durable there
first, whatever the team database is doing. This loop then follows it: it asks the database
for the newest record it holds of this desk, checks that record is the local one (same hash:
the two copies have not diverged), and sends what follows in batches, one transaction each
(group commit). A record's identity, (desk_id, desk_seq), makes a resend after a lost reply
harmless: the batch's records already stored are skipped, and one stored with other contents
stops the loop loudly. While the database is unreachable the records simply wait in the local
journal; the loop retries with backoff and catches up when it is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

import psycopg

from core.journal.records import JournalRecord

__all__ = ["Diverged", "LocalJournal", "ReplicaStatus", "Replicator"]

log = logging.getLogger(__name__)

BATCH: Final = 5000
# One statement per batch: the columns as arrays, unnested into rows, sent in binary (a JSON
# payload written into a text array literal must be quoted and escaped, which cost three times
# as much, measured). The database checks the chain once per statement (core.team.schema).
_INSERT: Final = (
    "INSERT INTO records (desk_id, desk_seq, wall_time, kind, account, venue, symbol, operator,"
    " reason, intent_id, payload, latency_ms, prev_hash, hash)"
    " SELECT %b, * FROM unnest(%b::bigint[], %b::float8[], %b::text[], %b::text[], %b::text[],"
    " %b::text[], %b::text[], %b::text[], %b::text[], %b::text[], %b::float8[], %b::text[],"
    " %b::text[])"
)


class Diverged(RuntimeError):
    """The team database holds a record of this desk that is not the local one: the copies
    disagree, and sending more would build on a chain that is not ours. Never retried."""


class LocalJournal(Protocol):
    def records(self, *, after: int = 0, limit: int = 1000) -> list[JournalRecord]: ...

    def last_seq(self) -> int: ...


@dataclass
class ReplicaStatus:
    """What the window and ``closeout journal`` show about the shared copy."""

    connected: bool = False
    remote_seq: int = 0  # the newest of this desk's records the database holds
    local_seq: int = 0  # the newest durable in the local journal
    last_error: str | None = None
    batches: int = 0

    @property
    def queued(self) -> int:
        return max(0, self.local_seq - self.remote_seq)


Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]


class Replicator:
    """The loop described in the module docstring. ``wake`` is called when the local journal
    has new durable records (the journal's ``on_durable`` listener); ``run`` returns only when
    cancelled, or raises ``Diverged``."""

    def __init__(self, journal: LocalJournal, connect: Connect, desk_id: str, *,
                 desk_name: str = "", operator: str = "",
                 batch: int = BATCH, backoff: Sequence[float] = (0.2, 0.5, 1, 2, 5),
                 on_status: Callable[[ReplicaStatus], None] | None = None) -> None:
        self._journal = journal
        self._connect = connect
        self._desk_id = desk_id
        self._desk = (desk_name or desk_id, operator)
        self._batch = batch
        self._backoff = tuple(backoff)
        self._on_status = on_status or (lambda _s: None)
        self._wakeup = asyncio.Event()
        self.status = ReplicaStatus()

    def wake(self) -> None:
        """Thread-safe only through ``loop.call_soon_threadsafe``; from the loop, direct."""
        self._wakeup.set()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                async with await self._connect() as db:
                    self._set(connected=True, last_error=None)
                    failures = 0
                    await self._follow(db)
            except Diverged:
                self._set(connected=False, last_error="diverged")
                raise
            except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
                self._set(connected=False, last_error=_one_line(exc))
                delay = self._backoff[min(failures, len(self._backoff) - 1)]
                failures += 1
                log.warning("team journal unreachable (%s); %d record(s) wait locally, "
                            "retrying in %.1f s", _one_line(exc), self.status.queued, delay)
                await asyncio.sleep(delay)

    async def _follow(self, db: psycopg.AsyncConnection[Any]) -> None:
        await db.execute(
            "INSERT INTO desks (desk_id, name, operator) VALUES (%s, %s, %s) "
            "ON CONFLICT (desk_id) DO UPDATE SET name = EXCLUDED.name, "
            "operator = EXCLUDED.operator, last_seen = now()", (self._desk_id, *self._desk))
        await db.commit()
        head = await self._remote_head(db)
        while True:
            self._wakeup.clear()
            # The newest record's sequence number (not the writer's tickets, which start
            # again at each start of the process while the sequence goes on).
            local = await asyncio.to_thread(self._journal.last_seq)
            self._set(local_seq=local)
            if head < local:
                head = await self._send(db, head)
                continue
            await self._wakeup.wait()

    async def _remote_head(self, db: psycopg.AsyncConnection[Any]) -> int:
        cur = await db.execute(
            "SELECT desk_seq, hash FROM records WHERE desk_id = %s "
            "ORDER BY desk_seq DESC LIMIT 1", (self._desk_id,))
        row = await cur.fetchone()
        await db.commit()
        if row is None:
            self._set(remote_seq=0)
            return 0
        seq, remote_hash = int(row[0]), str(row[1])
        mine = self._journal.records(after=seq - 1, limit=1)
        if not mine or mine[0].seq != seq or mine[0].hash != remote_hash:
            raise Diverged(f"the team journal's record {seq} of desk {self._desk_id} is not "
                           "this desk's local record; nothing more is sent")
        self._set(remote_seq=seq)
        return seq

    async def _send(self, db: psycopg.AsyncConnection[Any], head: int) -> int:
        records = await asyncio.to_thread(self._journal.records, after=head,
                                          limit=self._batch)
        if not records:
            return head
        columns = [list(c) for c in zip(*(
            (r.seq, r.wall_time, r.kind, r.account, r.venue, r.symbol, r.operator, r.reason,
             r.intent_id, r.payload, r.latency_ms, r.prev_hash, r.hash) for r in records),
            strict=True)]
        try:
            await db.execute(_INSERT, [self._desk_id, *columns])
            await db.commit()
        except psycopg.errors.UniqueViolation:
            # A batch whose commit reply was lost: part of it is already stored. Start again
            # from what the database holds (and check that it is ours).
            await db.rollback()
            return await self._remote_head(db)
        self.status.batches += 1
        self._set(remote_seq=records[-1].seq)
        return records[-1].seq

    def _set(self, **changes: Any) -> None:
        for name, value in changes.items():
            setattr(self.status, name, value)
        self._on_status(self.status)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
