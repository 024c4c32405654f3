"""The journal's writer thread: group commit, off the event loop.

A caller hands over an encoded row and gets a ticket at once (``submit``): tickets count the
rows this writer was given, 1, 2, 3..., in the order they were given. The writer takes every
row queued (up to ``max_batch``), and in one transaction re-reads the head of the chain under
SQLite's write lock (so a second Closeout on the same file extends the one chain), chains and
inserts the rows exactly as one-at-a-time appends would, commits, and then acknowledges the
batch once: "every ticket up to N is durable". Nothing is ever dropped: the queue has no bound,
and how far behind the writer is shows in ``backlog()``.

Group commit: a writer that was idle commits at once (a click's record is not kept waiting);
one that committed less than ``linger`` seconds ago first waits out the rest of that interval,
so a steady stream costs one transaction every few milliseconds instead of one per record.
``hurry()`` (someone is waiting for a record) and ``flush`` cut the wait short.

A failed write stops the writer for good: the error is kept, handed to every ack listener and
raised by every later ``submit`` and ``flush``. A journal that silently stopped recording
would be worse than one that stops the app's actions.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.journal.chain import digest
from core.journal.records import JournalError
from core.journal.store import head

__all__ = ["AckListener", "Backlog", "Row", "Writer"]

log = logging.getLogger(__name__)

# wall_time, kind, account, venue, symbol, reason, intent_id, payload text, latency_ms, and the
# monotonic time it was queued (for the backlog's age; not stored).
Row = tuple[float, str, str | None, str | None, str | None, str | None, str | None, str,
            float | None, float]
# Called on the writer thread once per batch: (highest durable ticket, the error that stopped
# the writer or None).
AckListener = Callable[[int, BaseException | None], None]

_INSERT = "INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
_BATCHES_KEPT = 256  # recent batches whose seq numbers ``seq_of`` can still tell


@dataclass(frozen=True, slots=True)
class Backlog:
    """Records handed to the journal and not yet durable, and how long the oldest of them has
    waited (0 when there are none)."""

    records: int
    oldest_s: float


class Writer:
    """The writer thread over ``db`` (a connection no one else writes through).

    ``db_lock`` is held for each transaction (an in-memory journal shares its one connection
    with the readers). ``before_commit(n)`` runs on the writer thread at the start of each
    transaction of ``n`` rows, with SQLite's write lock held: a test pauses the writer there,
    or makes the write fail. ``after_commit()`` runs on the writer thread after each commit
    (the checkpointer hears of new pages with it).

    Back-pressure: a ``submit`` that finds more than ``max_backlog`` rows waiting blocks until
    half of them are written, for at most ``throttle_wait`` seconds. Without it a producer
    that never pauses (an event loop flooded by a venue) can starve the writer: each row's
    insert lets go of the interpreter lock and takes it back, and against a thread that never
    lets go each take waits out the 5 ms switch interval, so 10,000 rows took a minute. A
    writer that keeps up (83,000 rows/s here) never makes anyone wait.
    """

    def __init__(
        self,
        db: sqlite3.Connection,
        operator: str,
        *,
        db_lock: threading.Lock,
        linger: float = 0.002,
        max_batch: int = 10_000,
        max_backlog: int = 20_000,
        throttle_wait: float = 0.25,
        before_commit: Callable[[int], None] | None = None,
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._db = db
        self._max_backlog = max_backlog
        self._throttle_wait = throttle_wait
        self.throttled = 0  # submits that waited for the writer to catch up
        self._after_commit = after_commit
        self._operator = operator
        self._db_lock = db_lock
        self._linger = linger
        self._max_batch = max_batch
        self._before_commit = before_commit
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[Row] = deque()
        self._submitted = 0  # the last ticket handed out
        self._taken = 0  # the last ticket taken into a batch
        self._durable = 0  # the last ticket committed
        self._inflight_since: float | None = None  # queued time of the batch being written
        self._last_seq = 0  # seq of the newest record this writer wrote
        self._batches: deque[tuple[int, int, int]] = deque(maxlen=_BATCHES_KEPT)
        self._error: BaseException | None = None
        self._stopping = False
        self._idle = False  # waiting for rows: a submit must wake it
        self._hurry = False
        self._flushers = 0
        self._last_commit = -1e9
        self._listeners: list[AckListener] = []
        self.transactions = 0  # committed transactions (tests count batches with it)
        self._thread = threading.Thread(target=self._run, name="journal-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ any thread
    @property
    def durable(self) -> int:
        """The highest ticket whose row is committed (every lower one is too)."""
        return self._durable

    @property
    def submitted(self) -> int:
        return self._submitted

    @property
    def error(self) -> BaseException | None:
        return self._error

    def backlog(self, now: float | None = None) -> Backlog:
        with self._cond:
            waiting = self._submitted - self._durable
            since = self._inflight_since
            if since is None and self._queue:
                since = self._queue[0][-1]
        if not waiting or since is None:
            return Backlog(waiting, 0.0)
        return Backlog(waiting, max(0.0, (time.monotonic() if now is None else now) - since))

    def submit(self, row: Row) -> int:
        """Queue one row; returns its ticket. Blocks only while the writer is more than
        ``max_backlog`` rows behind (see the class docstring)."""
        with self._cond:
            if self._error is not None or self._stopping:
                raise self.refusal()
            self._queue.append(row)
            self._submitted += 1
            if self._idle:
                self._idle = False
                self._cond.notify_all()
            ticket = self._submitted
            behind = ticket - self._durable > self._max_backlog
        if behind and threading.current_thread() is not self._thread:
            self.throttled += 1
            with contextlib.suppress(TimeoutError):
                self.wait_for(ticket - self._max_backlog // 2, self._throttle_wait)
        return ticket

    def submit_many(self, rows: Sequence[Row]) -> int:
        """Queue rows together, in order; returns the last one's ticket."""
        with self._cond:
            if self._error is not None or self._stopping:
                raise self.refusal()
            self._queue.extend(rows)
            self._submitted += len(rows)
            if self._idle and rows:
                self._idle = False
                self._cond.notify_all()
            return self._submitted

    def add_listener(self, listener: AckListener) -> Callable[[], None]:
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    def hurry(self) -> None:
        """Someone waits for what is queued: commit it without lingering."""
        with self._cond:
            self._hurry = True
            self._cond.notify_all()

    def wait_for(self, ticket: int, timeout: float | None = None) -> None:
        """Block until ``ticket`` is durable. Raises JournalError if the writer stopped on an
        error first, TimeoutError after ``timeout`` seconds."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("the journal writer cannot wait for itself")
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self._durable >= ticket:
                return
            self._flushers += 1
            self._cond.notify_all()
            try:
                while self._durable < ticket:
                    if self._error is not None:
                        raise self.refusal()
                    if not self._thread.is_alive():
                        raise JournalError("the journal is closed; the record was not written")
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise TimeoutError(
                            f"the journal did not write {ticket - self._durable} record(s) "
                            f"within {timeout:g} s")
                    self._cond.wait(remaining)
            finally:
                self._flushers -= 1

    def flush(self, timeout: float | None = None) -> int:
        """Block until everything submitted so far is durable; returns the last ticket."""
        target = self._submitted
        self.wait_for(target, timeout)
        return target

    def seq_of(self, ticket: int) -> int | None:
        """The seq a durable ticket's row got (recent batches only; None if not known)."""
        with self._cond:
            for first, last, first_seq in reversed(self._batches):
                if first <= ticket <= last:
                    return first_seq + ticket - first
                if last < ticket:
                    return None
        return None

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, then stop the thread (the caller closes the connection)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def cpu_time(self) -> float | None:
        """CPU seconds the writer thread has used so far (None where the platform cannot
        say): a benchmark measures the writer's own cost with it, whatever else runs."""
        ident = self._thread.ident
        if ident is None or not hasattr(time, "pthread_getcpuclockid"):
            return None
        try:
            return time.clock_gettime(time.pthread_getcpuclockid(ident))
        except OSError:  # the thread has ended
            return None

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def refusal(self) -> JournalError:
        """The error a write is refused with now."""
        if self._error is not None:
            exc = JournalError(
                f"the journal stopped writing after an error ({type(self._error).__name__}: "
                f"{self._error}); nothing more is recorded, so nothing more is done")
            exc.__cause__ = self._error
            return exc
        return JournalError("the journal is closed")

    # ------------------------------------------------------------------ writer thread
    def _run(self) -> None:
        while True:
            taken = self._next_batch()
            if taken is None:
                return
            first, batch = taken
            try:
                first_seq, last_seq = self._commit(batch)
            except BaseException as exc:
                log.error("the journal could not write %d record(s) and stops: %s",
                          len(batch), exc)
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                self._publish(self._durable, exc)
                return
            last = first + len(batch) - 1
            with self._cond:
                self._durable = last
                self._last_seq = last_seq
                self._batches.append((first, last, first_seq))
                self._inflight_since = None
                self._last_commit = time.monotonic()
                self.transactions += 1
                self._cond.notify_all()
            if self._after_commit is not None:
                self._after_commit()
            self._publish(last, None)

    def _next_batch(self) -> tuple[int, list[Row]] | None:
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._idle = True
                self._cond.wait()
            self._idle = False
            rest = self._last_commit + self._linger - time.monotonic()
            if (rest > 0 and not (self._hurry or self._flushers or self._stopping)
                    and len(self._queue) < self._max_batch):
                self._cond.wait(rest)  # hurry(), flush and close wake it early
            self._hurry = False
            q = self._queue
            if len(q) <= self._max_batch:
                batch = list(q)
                q.clear()
            else:
                batch = [q.popleft() for _ in range(self._max_batch)]
            first = self._taken + 1
            self._taken += len(batch)
            self._inflight_since = batch[0][-1]
            return first, batch

    def _commit(self, batch: list[Row]) -> tuple[int, int]:
        """One transaction: the rows after the current head, chained. Returns (first seq, last
        seq)."""
        db = self._db
        operator = self._operator
        with self._db_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                if self._before_commit is not None:
                    self._before_commit(len(batch))
                seq, prev = head(db)
                first_seq = seq + 1
                rows = []
                for wall, kind, account, venue, symbol, reason, intent_id, text, latency, _ in \
                        batch:
                    seq += 1
                    fields = (seq, wall, kind, account, venue, symbol, operator, reason,
                              intent_id, text, latency)
                    h = digest(prev, fields)
                    rows.append((*fields, prev, h))
                    prev = h
                db.executemany(_INSERT, rows)
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        return first_seq, seq

    def _publish(self, durable: int, error: BaseException | None) -> None:
        for listener in list(self._listeners):
            try:
                listener(durable, error)
            except Exception:  # a broken listener must not stop the journal
                log.exception("journal acknowledgement listener failed")
