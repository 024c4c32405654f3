"""Team mode put together for one desk (the window or a CLI command): the close leases, the
copy of this desk's journal into the shared one, and what the other desks are doing.

    stack = TeamStack(config, password, journal, operator)
    desk = Desk(journal=journal, coordinator=stack.coordinator)
    await stack.start()          # never fails: an unreachable database is retried
    ...
    await stack.stop(flush_s=5)  # give the copy a moment to catch up, then stop

The desk's identity is a random id made once and kept in the user data folder (``desk-id``),
so a desk keeps its records' identity (desk id + sequence) across restarts; ``config.name`` is
what the other desks see. While the database is away every close is refused with
``CoordinationDown`` (the user may override), records wait in the local journal and go out
when it is back, and the other desks' news resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import platformdirs
import psycopg

from core.journal import Journal, JournalError
from core.secrets import SecretStore
from core.team.awareness import Awareness, Event, LeaseChanged, LeaseSnapshot, OtherRecords
from core.team.config import TeamConfig, keyring_user, with_password
from core.team.coordinator import TeamCoordinator
from core.team.history import TeamHistory
from core.team.link import LinkState, link_phase
from core.team.replica import Replicator

__all__ = ["TeamStack", "desk_id", "open_team"]

log = logging.getLogger(__name__)

_DESK_ID_FILE: Final = "desk-id"
_RELEASE_MIN_S: Final = 1.0  # giving up the leases at a stop gets at least this long


def open_team(config: TeamConfig, store: SecretStore | None, journal: Journal) -> TeamStack:
    """The team stack for a desk (the window or a CLI command), with the database's password
    from the keyring; without one it says so and connects anyway (the server decides)."""
    password = None if store is None else store.get_user(keyring_user(config))
    if password is None:
        log.warning("no password for the team database in the keyring (user %r); connecting "
                    "without one", keyring_user(config))
    return TeamStack(config, password, journal, journal.operator)


def desk_id(folder: Path | None = None) -> str:
    """This desk's id: made once (random), then read back. Kept beside the journal, whose
    sequence numbers it qualifies."""
    folder = folder or Path(platformdirs.user_data_path("closeout"))
    path = folder / _DESK_ID_FILE
    try:
        text = path.read_text(encoding="ascii").strip()
        if text:
            return text
    except (OSError, UnicodeDecodeError):
        pass
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    made = f"desk-{secrets.token_hex(8)}"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(made + "\n", encoding="ascii")
    os.replace(tmp, path)
    return made


class TeamStack:
    """See the module docstring. ``on_records`` hears the other desks' new records (for the
    log); ``password`` is None when the keyring holds none (a server that wants one says so)."""

    def __init__(self, config: TeamConfig, password: str | None, journal: Journal,
                 operator: str, *, desk: str | None = None,
                 on_records: Callable[[str, OtherRecords], None] | None = None) -> None:
        self.config = config
        self.desk_id = desk or desk_id()
        self._dsn = with_password(config, password)
        self._journal = journal
        # Hears the other desks' new records (the window's log sets it once it exists).
        self.on_records = on_records or (lambda _name, _records: None)
        self.coordinator = TeamCoordinator(self._connect, self.desk_id, operator,
                                           desk_name=config.name, ttl_s=config.lease_ttl_s)
        self.replicator = Replicator(journal, self._connect, self.desk_id,
                                     desk_name=config.name, operator=operator)
        self.awareness = Awareness(self._connect, self.desk_id, self._heard)
        # History's reads of the shared journal, on a connection of their own (made on use).
        self.history = TeamHistory(self._connect)
        self._tasks: list[asyncio.Task[None]] = []
        self._naming: asyncio.Task[None] | None = None  # one read of the names at a time
        self._unlisten: Callable[[], None] | None = None
        # The newest local record as last read here: the copy reads it only while connected,
        # and the window shows the backlog growing while the database is away too.
        self._local_seq = 0
        self._reading: asyncio.Task[None] | None = None  # one read of it at a time
        self._reread = False  # more records became durable during that read

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(self._dsn, connect_timeout=5)

    def _heard(self, event: Event) -> None:
        desks = ({lease.desk_id for lease in event.leases} if isinstance(event, LeaseSnapshot)
                 else {event.desk_id})
        if not desks <= self.coordinator.desk_names.keys() and (
                self._naming is None or self._naming.done()):  # a desk new to us: its name
            self._naming = asyncio.get_running_loop().create_task(self._load_names())
            self._tasks.append(self._naming)
        if isinstance(event, LeaseSnapshot):
            self.coordinator.replace(event.leases)
        elif isinstance(event, LeaseChanged):
            self.coordinator.observe(event)
        elif isinstance(event, OtherRecords):
            name = self.coordinator.desk_names.get(event.desk_id, event.desk_id)
            self.on_records(name, event)

    async def _load_names(self) -> None:
        """Who the other desks are, for "closing by Desk 3" (best effort; ids until then)."""
        try:
            async with await self._connect() as db:
                cur = await db.execute("SELECT desk_id, name FROM desks")
                self.coordinator.desk_names.update(
                    {str(d): str(n) for d, n in await cur.fetchall()})
            self.coordinator.names_changed()
        except (psycopg.Error, OSError) as exc:
            log.warning("team: could not read the desks' names (%s)", exc)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()

        def durable(_ticket: int, _error: BaseException | None) -> None:
            loop.call_soon_threadsafe(self._durable)  # the writer's thread calls this

        self._unlisten = self._journal.on_durable(durable)
        for work in (self.replicator.run(), self.awareness.run(), self._load_names()):
            self._tasks.append(loop.create_task(work))
        self._durable()

    def _durable(self) -> None:
        """New local records are durable: the copy goes on, and the backlog is read again
        (on a worker thread, one read at a time, however many batches come meanwhile)."""
        self.replicator.wake()
        if self._reading is not None and not self._reading.done():
            self._reread = True
            return
        self._reading = asyncio.get_running_loop().create_task(self._read_local())

    async def _read_local(self) -> None:
        while True:
            self._reread = False
            try:
                seq = await asyncio.to_thread(self._journal.last_seq)
            except JournalError:
                return
            self._local_seq = max(self._local_seq, seq)
            if not self._reread:
                return

    def link(self) -> LinkState:
        """The team link now (core.team.link), from plain attributes: no query, no wait."""
        status = self.replicator.status
        phase = link_phase(status.connected, status.last_error, self.awareness.connected,
                           self.awareness.last_error)
        return LinkState(
            phase=phase, remote_seq=status.remote_seq,
            local_seq=max(self._local_seq, status.local_seq),
            last_error=status.last_error or self.awareness.last_error,
            held=tuple(dict.fromkeys(key for key, _intent in self.coordinator.held)))

    async def caught_up(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until this desk knows which positions the other desks
        are closing now (their current leases, and their desks' names); False if it could not
        learn that in time. A flatten plans after this, so it can list what it skips."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if not await self.awareness.caught_up(timeout):
            return False
        naming = self._naming
        if naming is not None and not naming.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, deadline - loop.time())):
                    await asyncio.shield(naming)
        return True

    async def stop(self, flush_s: float = 5.0) -> int:
        """Let the copy catch up for up to ``flush_s``, then stop everything, giving up this
        desk's leases in what is left of ``flush_s`` (at least a second; a lease not given up
        expires by itself). Returns how many records are not in the shared journal yet: they
        wait in the local journal for the next start."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + flush_s
        if flush_s > 0:
            # One time limit for the whole catch-up: a quit never waits longer than flush_s.
            with contextlib.suppress(TimeoutError, JournalError):
                async with asyncio.timeout(flush_s):
                    # What was just appended (the desk's last records) is durable first.
                    await asyncio.to_thread(self._journal.flush, flush_s)
                    last = await asyncio.to_thread(self._journal.last_seq)
                    while self.replicator.status.remote_seq < last \
                            and self.replicator.status.connected:
                        self.replicator.wake()
                        await asyncio.sleep(0.02)
        if self._unlisten is not None:
            self._unlisten()
        tasks = [*self._tasks, *([self._reading] if self._reading is not None else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.coordinator.close(timeout=max(_RELEASE_MIN_S, deadline - loop.time()))
        await self.history.close()
        try:
            last = await asyncio.to_thread(self._journal.last_seq)
        except JournalError:
            return 0
        return max(0, last - self.replicator.status.remote_seq)

