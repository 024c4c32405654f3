"""The journal: what its callers see of the encoder, the writer thread and the readers.

``append`` encodes the record on the caller's thread, queues it for the writer and returns a
ticket at once; the record is durable once the writer acknowledges that ticket (``durable``,
``on_durable``, ``wait_for``, ``flush``). Callers that show or act on something keep the
promise "journaled before the UI shows it" by waiting for that acknowledgement (the desk
holds its events until then). Reads go through their own connection.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, TextIO

from core.journal.chain import ChainReport, walk
from core.journal.checkpoint import RESTART_FRAMES, Checkpointer
from core.journal.codec import check_column, encode_payload
from core.journal.export import write_records
from core.journal.identity import compose_operator, default_journal_path, default_operator
from core.journal.reader import Reader
from core.journal.records import JournalEntry, JournalError, JournalFilter, JournalRecord
from core.journal.store import is_memory, open_reader, open_writer
from core.journal.writer import AckListener, Backlog, Row, Writer

__all__ = ["Journal"]

_BULK_CHUNK = 10_000  # rows ``append_many`` encodes and queues at a time
_EVERYTHING = JournalFilter()


def _shut(writer: Writer | None, reader: Reader, writer_db: Any,
          checkpointer: Checkpointer | None) -> None:
    """Drain and stop the writer, then close every connection (also run at interpreter exit
    for a journal nobody closed, so what was queued is still written)."""
    try:
        if writer is not None:
            writer.close()
    finally:
        if checkpointer is not None:
            checkpointer.close()
        if writer_db is not None:
            writer_db.close()
        reader.close()


class Journal:
    """The audit journal in one SQLite file. See the package docstring.

    ``operator`` replaces the OS user (tests, service accounts); ``operator_name`` is the
    optional name from settings. ``read_only`` opens an existing journal for ``verify``,
    ``query`` and ``export`` without creating or changing anything (the CLI uses it, so it can
    run beside the app). ``clock`` gives each record's wall time, read when it is appended (a
    benchmark spreads a synthetic history over weeks with it). ``linger`` is the group-commit
    interval; ``before_commit`` is the writer's test hook (see ``Writer``);
    ``wal_restart_frames`` is the WAL's size in pages past which it starts again from its
    beginning (see ``Checkpointer``); ``max_backlog`` and ``throttle_wait`` are the writer's
    back-pressure (see ``Writer``).
    """

    def __init__(
        self,
        path: Path | str,
        *,
        operator: str | None = None,
        operator_name: str = "",
        read_only: bool = False,
        clock: Callable[[], float] = time.time,
        linger: float = 0.002,
        before_commit: Callable[[int], None] | None = None,
        wal_restart_frames: int = RESTART_FRAMES,
        max_backlog: int = 20_000,
        throttle_wait: float = 0.25,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self.read_only = read_only
        self.os_user = operator or default_operator()
        self.operator_name = " ".join(operator_name.split())
        self.operator = compose_operator(self.os_user, self.operator_name)
        memory = is_memory(path)
        writer_db = None
        checkpointer = None
        self._writer: Writer | None = None
        if read_only:
            if memory:
                raise FileNotFoundError(f"no journal at {self.path}")
            self._reader = Reader(open_reader(self.path, read_only=True), threading.Lock())
        else:
            db = open_writer(path)
            if memory:  # one connection only: the readers share it, and its lock
                lock = threading.Lock()
                self._reader = Reader(db, lock)
            else:
                writer_db, lock = db, threading.Lock()
                try:
                    self._reader = Reader(open_reader(self.path, read_only=False),
                                          threading.Lock())
                    checkpointer = Checkpointer(self.path,
                                                restart_frames=wal_restart_frames)
                except BaseException:
                    db.close()
                    raise
                db.execute("PRAGMA wal_autocheckpoint=0")  # the checkpointer's job now
            self._writer = Writer(
                db, self.operator, db_lock=lock, linger=linger, before_commit=before_commit,
                after_commit=None if checkpointer is None else checkpointer.written,
                max_backlog=max_backlog, throttle_wait=throttle_wait)
        self._closer = weakref.finalize(self, _shut, self._writer, self._reader, writer_db,
                                        checkpointer)

    @classmethod
    def open_default(
        cls, demo: bool, *, operator: str | None = None, operator_name: str = ""
    ) -> Journal:
        """The app's journal under the user data directory (see ``default_journal_path``)."""
        return cls(default_journal_path(demo), operator=operator, operator_name=operator_name)

    # ------------------------------------------------------------------ writing
    def _row(
        self,
        kind: str,
        payload: Mapping[str, Any] | str,
        account: str | None,
        venue: str | None,
        symbol: str | None,
        reason: str | None,
        intent_id: str | None,
        latency_ms: float | None,
    ) -> Row:
        """The encoded row, or TypeError/ValueError now, on the caller's thread, for anything
        the writer could not store."""
        text = encode_payload(payload)
        if kind is None:
            raise TypeError("a journal record needs a kind")
        check_column(kind, "kind")
        check_column(account, "account")
        check_column(venue, "venue")
        check_column(symbol, "symbol")
        check_column(reason, "reason")
        check_column(intent_id, "intent_id")
        check_column(latency_ms, "latency_ms")
        return (self._clock(), kind, account, venue, symbol, reason, intent_id, text,
                latency_ms, time.monotonic())

    def _live_writer(self) -> Writer:
        if self._writer is None:
            raise JournalError(f"{self.path} was opened read-only")
        return self._writer

    def append(
        self,
        kind: str,
        payload: Mapping[str, Any] | str,
        *,
        account: str | None = None,
        venue: str | None = None,
        symbol: str | None = None,
        reason: str | None = None,
        intent_id: str | None = None,
        latency_ms: float | None = None,
    ) -> int:
        """Queue one record and return its ticket at once; it is durable once ``durable``
        reaches the ticket. Raises TypeError/ValueError for a record that cannot be journaled
        and JournalError once the journal has stopped (read-only, closed, or a write failed)."""
        writer = self._live_writer()
        return writer.submit(self._row(kind, payload, account, venue, symbol, reason,
                                       intent_id, latency_ms))

    def append_durable(
        self,
        kind: str,
        payload: Mapping[str, Any] | str,
        *,
        account: str | None = None,
        venue: str | None = None,
        symbol: str | None = None,
        reason: str | None = None,
        intent_id: str | None = None,
        latency_ms: float | None = None,
        timeout: float | None = None,
    ) -> int:
        """``append``, then block until the record is durable; returns its seq. For callers
        with no event loop to keep free (the CLI's own records, tests, scripts)."""
        ticket = self.append(kind, payload, account=account, venue=venue, symbol=symbol,
                             reason=reason, intent_id=intent_id, latency_ms=latency_ms)
        writer = self._live_writer()
        writer.wait_for(ticket, timeout)
        seq = writer.seq_of(ticket)
        return seq if seq is not None else writer.last_seq

    def append_many(self, entries: Iterable[JournalEntry]) -> int:
        """Write records chained exactly as ``append`` would, and wait until all are durable
        (bulk import, benchmarks). Returns the last sequence number written.

        A chunk of entries is encoded before any of it is queued, so an entry that cannot be
        journaled stops the call with the chunks before it written and none after."""
        writer = self._live_writer()
        it = iter(entries)
        previous: int | None = None  # at most two chunks wait in memory at once
        try:
            while chunk := list(itertools.islice(it, _BULK_CHUNK)):
                rows = [self._row(e.kind, e.payload, e.account, e.venue, e.symbol, e.reason,
                                  e.intent_id, e.latency_ms) for e in chunk]
                last = writer.submit_many(rows)
                if previous is not None:
                    writer.wait_for(previous)
                previous = last
        finally:
            if previous is not None:
                writer.wait_for(previous)
        if previous is None:
            return self.last_seq()
        seq = writer.seq_of(previous)
        return seq if seq is not None else writer.last_seq

    # ------------------------------------------------------------------ durability
    @property
    def durable(self) -> int:
        """The highest ticket that is durable (every lower one is too)."""
        return 0 if self._writer is None else self._writer.durable

    @property
    def submitted(self) -> int:
        """The last ticket handed out."""
        return 0 if self._writer is None else self._writer.submitted

    @property
    def backlog(self) -> Backlog:
        """What waits to be written: how many records, and how long the oldest has waited."""
        return Backlog(0, 0.0) if self._writer is None else self._writer.backlog()

    @property
    def error(self) -> BaseException | None:
        """The error that stopped the writer, if one did: nothing more is recorded."""
        return None if self._writer is None else self._writer.error

    def failure(self) -> JournalError | None:
        """What every write is refused with once the writer stopped on an error (the cause is
        chained), or None while it writes."""
        if self._writer is None or self._writer.error is None:
            return None
        return self._writer.refusal()

    def raise_if_failed(self) -> None:
        if (failure := self.failure()) is not None:
            raise failure

    @property
    def transactions(self) -> int:
        """How many transactions the writer committed (group commit puts many records in
        each)."""
        return 0 if self._writer is None else self._writer.transactions

    def writer_cpu_time(self) -> float | None:
        """CPU seconds the writer thread has used (benchmarks); None if unknown."""
        return None if self._writer is None else self._writer.cpu_time()

    def on_durable(self, listener: AckListener) -> Callable[[], None]:
        """Call ``listener(durable_ticket, error)`` on the writer's thread after every batch
        (and once with the error if a write fails). An event-loop caller hops back with
        ``loop.call_soon_threadsafe``. Returns the function that unsubscribes it."""
        if self._writer is None:
            return lambda: None
        return self._writer.add_listener(listener)

    def hurry(self) -> None:
        """Someone is waiting for what is queued: write it now rather than at the end of the
        group-commit interval."""
        if self._writer is not None:
            self._writer.hurry()

    def wait_for(self, ticket: int, timeout: float | None = None) -> None:
        """Block until ``ticket`` is durable (JournalError if the writer stopped first)."""
        if self._writer is not None:
            self._writer.wait_for(ticket, timeout)

    def flush(self, timeout: float | None = None) -> None:
        """Block until every record appended so far is durable: the CLI, shutdown, tests.
        Raises JournalError if a write failed, TimeoutError after ``timeout`` seconds."""
        if self._writer is not None:
            self._writer.flush(timeout)

    def close(self) -> None:
        """Write what is queued, then close the file."""
        self._closer()

    # ------------------------------------------------------------------ reading
    def records(self, *, after: int = 0, limit: int = 1000) -> list[JournalRecord]:
        return self._reader.records(after, limit)

    def query(
        self,
        where: JournalFilter = _EVERYTHING,
        *,
        before_seq: int | None = None,
        after_seq: int | None = None,
        limit: int = 500,
        newest_first: bool = True,
    ) -> list[JournalRecord]:
        """One page, by keyset on ``seq`` (never OFFSET), so paging a million records stays
        as fast on the last page as on the first."""
        return self._reader.query(where, before_seq, after_seq, limit, newest_first)

    def explain_query(
        self,
        where: JournalFilter = _EVERYTHING,
        *,
        before_seq: int | None = None,
        after_seq: int | None = None,
        newest_first: bool = True,
    ) -> tuple[str, list[str]]:
        """The SQL ``query`` runs for these arguments and SQLite's plan for it, one line per
        step: how tests and the benchmark show that paging is keyset paging on an index."""
        return self._reader.explain_query(where, before_seq, after_seq, newest_first)

    def count(self, where: JournalFilter = _EVERYTHING) -> int:
        return self._reader.count(where)

    def distinct(self, column: str) -> list[str]:
        """Values seen in ``account``, ``symbol``, ``venue`` or ``kind``, for filter pickers."""
        return self._reader.distinct(column)

    def intent_records(self, intent_id: str, *, limit: int = 1000) -> list[JournalRecord]:
        """Every record carrying ``intent_id``, oldest first: one close's whole story (the
        intent, its request, each reply and update, its verification), for a support ticket."""
        return self._reader.intent(intent_id, limit)

    def last_seq(self) -> int:
        """The newest durable sequence number in the file (another process may have
        appended)."""
        return self._reader.last_seq()

    def iter_all(self, page: int = 5000) -> Iterator[JournalRecord]:
        after = 0
        while batch := self.records(after=after, limit=page):
            yield from batch
            after = batch[-1].seq

    def iter_filtered(
        self, where: JournalFilter = _EVERYTHING, *, page: int = 5000
    ) -> Iterator[JournalRecord]:
        """Matching records oldest first, a keyset page at a time, up to the newest record
        present when the walk starts (so a busy writer cannot make it run forever)."""
        upto = self.last_seq()
        after = 0
        while batch := self.query(where, after_seq=after, before_seq=upto + 1, limit=page,
                                  newest_first=False):
            yield from batch
            after = batch[-1].seq

    def export(
        self,
        where: JournalFilter,
        fmt: Literal["csv", "jsonl"],
        out: TextIO,
        *,
        page: int = 5000,
    ) -> int:
        """Write the matching records to ``out``, oldest first, streaming page by page (the
        formats are described in ``core.journal.export``). Returns how many were written."""
        return write_records(self.iter_filtered(where, page=page), fmt, out)

    # ------------------------------------------------------------------ verification
    def verify_chain(self) -> ChainReport:
        """Walk the whole chain, a page at a time, and say where and why it first breaks."""
        return walk(self.iter_all())

    def verify(self) -> int | None:
        """The sequence number of the first record whose link is broken, or None if intact."""
        return self.verify_chain().broken_at
