"""What the other desks are doing, as it happens: PostgreSQL's LISTEN/NOTIFY tells every desk
of each lease taken or given up and of each batch of records stored, and this loop turns that
into typed events (which position another desk is closing; their new journal records, read
back from the shared journal so they carry everything the log shows).

Parsing a notification is kept apart from the connection (``parse``): it is bytes in, an event
out, and a malformed one is dropped with a warning rather than trusted. The loop reconnects
with backoff; after a reconnect it reads what it missed (records after the last it saw, and the
current leases), since notifications sent while it was away are gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg

from core.journal.records import JournalRecord
from core.team.leases import LeaseKey
from core.team.schema import LEASES_CHANNEL, RECORDS_CHANNEL

__all__ = ["Awareness", "LeaseChanged", "LeaseSnapshot", "OtherRecords", "parse"]

log = logging.getLogger(__name__)

_PAGE: Final = 2000
_COLUMNS: Final = ("desk_id, desk_seq, wall_time, kind, account, venue, symbol, operator, "
                   "reason, intent_id, payload, latency_ms, prev_hash, hash")

# The other desks' leases that still hold (an expired one binds nobody), timed as the
# notifications are.
_LEASES: Final = """
SELECT account, venue, symbol, desk_id, intent_id, operator,
       extract(epoch FROM clock_timestamp() - taken_at)::float8,
       extract(epoch FROM expires_at - clock_timestamp())::float8
  FROM leases WHERE desk_id <> %s AND expires_at > clock_timestamp()
"""


@dataclass(frozen=True, slots=True)
class LeaseChanged:
    """A lease was taken or renewed (``held``) or given up; ``desk_id`` is whose it is or was.
    The times (seconds, on the server's clock) say how long it has been held and how long it
    has left unless renewed; None from a database whose schema predates them."""

    key: LeaseKey
    desk_id: str
    intent_id: str
    held: bool
    operator: str = ""
    held_for_s: float | None = None
    expires_in_s: float | None = None


@dataclass(frozen=True, slots=True)
class LeaseSnapshot:
    """Every other desk's unexpired lease, as read after a (re)connect: what was heard before
    it is replaced, since a lease given up while this desk was away sent nobody a word."""

    leases: tuple[LeaseChanged, ...]


@dataclass(frozen=True, slots=True)
class RecordsStored:
    """A desk stored records up to ``desk_seq`` (the notification; records follow)."""

    desk_id: str
    desk_seq: int


@dataclass(frozen=True, slots=True)
class OtherRecords:
    """Another desk's new journal records, oldest first."""

    desk_id: str
    records: tuple[JournalRecord, ...]


Event = LeaseChanged | LeaseSnapshot | OtherRecords


def parse(channel: str, payload: str) -> LeaseChanged | RecordsStored | None:
    """A notification as an event, or None when it is not one this version understands."""
    try:
        data = json.loads(payload)
        if not isinstance(data, dict):
            return None
        if channel == LEASES_CHANNEL:
            op = data["op"]
            if op not in ("INSERT", "UPDATE", "DELETE"):
                return None
            key = LeaseKey(_text(data["account"]), _text(data["venue"]), _text(data["symbol"]))
            return LeaseChanged(key, _text(data["desk_id"]), _text(data["intent_id"]),
                                held=op != "DELETE", operator=_text(data.get("operator", "")),
                                held_for_s=_seconds(data.get("held_for_s")),
                                expires_in_s=_seconds(data.get("expires_in_s")))
        if channel == RECORDS_CHANNEL:
            seq = data["desk_seq"]
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < 1:
                return None
            return RecordsStored(_text(data["desk_id"]), seq)
    except (ValueError, KeyError, TypeError):
        return None
    return None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


_MAX_SECONDS: Final = 10 * 365 * 86400.0  # beyond any lease: a value past it is not one


def _seconds(value: object) -> float | None:
    """A duration in seconds, or None when absent; anything else is a malformed message."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("not a number")
    seconds = float(value)
    if not math.isfinite(seconds) or abs(seconds) > _MAX_SECONDS:
        raise ValueError("not a duration")
    return seconds


Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]


class Awareness:
    """The loop in the module docstring. ``on_event`` hears every other desk's lease change and
    record batch; this desk's own are left out (it knows them already)."""

    def __init__(self, connect: Connect, desk_id: str, on_event: Callable[[Event], None], *,
                 backoff: Sequence[float] = (0.2, 0.5, 1, 2, 5)) -> None:
        self._connect = connect
        self._desk_id = desk_id
        self._on_event = on_event
        self._backoff = tuple(backoff)
        self._seen: dict[str, int] = {}  # desk id -> newest record delivered
        self.connected = False
        self.last_error: str | None = None  # the last failure, cleared by the next connect
        # Set once the current leases have been read on this connection (cleared while away):
        # a flatten plans after it, so it knows what the other desks are closing.
        self._caught_up = asyncio.Event()

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                async with await self._connect() as db:
                    await db.set_autocommit(True)
                    await db.execute(f"LISTEN {RECORDS_CHANNEL}")
                    await db.execute(f"LISTEN {LEASES_CHANNEL}")
                    self.connected, self.last_error, failures = True, None, 0
                    await self._catch_up(db)
                    self._caught_up.set()
                    await self._listen(db)
            except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
                self.connected = False
                self.last_error = (str(exc).strip().splitlines()[0] if str(exc).strip()
                                   else type(exc).__name__)
                self._caught_up.clear()
                delay = self._backoff[min(failures, len(self._backoff) - 1)]
                failures += 1
                log.warning("team updates unavailable (%s); retrying in %.1f s",
                            self.last_error, delay)
                await asyncio.sleep(delay)

    @property
    def is_caught_up(self) -> bool:
        return self._caught_up.is_set()

    async def caught_up(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until the other desks' current leases have been read
        (and so delivered to ``on_event``); False if that did not happen in time."""
        try:
            async with asyncio.timeout(timeout):
                await self._caught_up.wait()
        except TimeoutError:
            return False
        return True

    async def _listen(self, db: psycopg.AsyncConnection[Any]) -> None:
        async for note in db.notifies():
            event = parse(note.channel, note.payload)
            if event is None:
                log.warning("ignored a team notification this version cannot read: %.200r",
                            note.payload)
                continue
            if event.desk_id == self._desk_id:
                continue
            if isinstance(event, LeaseChanged):
                self._on_event(event)
            elif event.desk_seq > self._seen.get(event.desk_id, 0):
                # Read on a second connection: this one is busy delivering notifications.
                async with await self._connect() as reader:
                    await self._read(reader, event.desk_id)

    async def _catch_up(self, db: psycopg.AsyncConnection[Any]) -> None:
        """After a (re)connect: the current leases of other desks, and records missed."""
        cur = await db.execute(_LEASES, (self._desk_id,))
        self._on_event(LeaseSnapshot(tuple(
            LeaseChanged(LeaseKey(account, venue, symbol), desk_id, intent_id, held=True,
                         operator=operator, held_for_s=float(held_for),
                         expires_in_s=float(expires_in))
            for account, venue, symbol, desk_id, intent_id, operator, held_for, expires_in
            in await cur.fetchall())))
        cur = await db.execute("SELECT desk_id, max(desk_seq) FROM records GROUP BY desk_id")
        for desk_id, newest in await cur.fetchall():
            if desk_id == self._desk_id:
                continue
            if desk_id not in self._seen:  # first contact: only what comes from now on
                self._seen[desk_id] = int(newest)
            elif self._seen[desk_id] < newest:
                await self._read(db, desk_id)

    async def _read(self, db: psycopg.AsyncConnection[Any], desk_id: str) -> None:
        while True:
            cur = await db.execute(
                f"SELECT {_COLUMNS} FROM records WHERE desk_id = %s AND desk_seq > %s "
                "ORDER BY desk_seq LIMIT %s", (desk_id, self._seen.get(desk_id, 0), _PAGE))
            rows = await cur.fetchall()
            if not rows:
                return
            records = tuple(JournalRecord(*row[1:]) for row in rows)
            self._seen[desk_id] = records[-1].seq
            self._on_event(OtherRecords(desk_id, records))
            if len(rows) < _PAGE:
                return

