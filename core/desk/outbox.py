"""The desk's events wait for the journal: "journaled before the UI shows it", without holding
the event loop while the journal writes.

The desk appends every record through ``record`` and so knows the ticket of the last one. An
event emitted while a record appended before it is not yet durable is held, in order, and
released on the event loop once the writer acknowledges that record; an event with nothing
pending ahead of it goes out at once. Events are never reordered: once one is held, every later
one queues behind it.

Without a running event loop (a synchronous caller) there is no loop to keep free, so the
outbox waits for the journal inline, as appends used to.

If the journal stops on a write error, nothing more is shown: what it could not record must not
be reported as if it had been (the health strip says why the window stopped moving).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from core.journal import Journal

__all__ = ["Outbox"]

E = TypeVar("E")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class Outbox(Generic[E]):
    """Records go to ``journal``; events go to ``deliver`` once the records before them are
    durable. With no journal, events go out at once."""

    def __init__(self, journal: Journal | None, deliver: Callable[[E], None]) -> None:
        self._journal = journal
        self._deliver = deliver
        self._held: deque[tuple[int, E]] = deque()
        # Waiting coroutines, by ticket: tickets only grow, so the deque stays in order.
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._last = 0  # the ticket of the last record appended through this outbox
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False  # a release is already on its way to the loop
        if journal is not None:
            journal.on_durable(self._acked)

    @property
    def held(self) -> int:
        """How many events wait for the journal."""
        return len(self._held)

    def record(self, kind: str, payload: Mapping[str, Any] | str, **kw: Any) -> int:
        """Append a record; returns its ticket (0 without a journal)."""
        if self._journal is None:
            return 0
        ticket = self._journal.append(kind, payload, **kw)
        self._last = ticket
        return ticket

    def emit(self, event: E) -> None:
        journal = self._journal
        if journal is None or (not self._held and journal.durable >= self._last):
            self._deliver(event)
            return
        if journal.error is not None:
            self._held.clear()  # never shown: the journal could not record what led to them
            return
        if self._held:
            # Events are held only with a loop running, and they leave through it: this one
            # queues behind them (no loop lookup, which costs a getpid() system call).
            self._held.append((self._last, event))
            return
        loop = _running_loop()
        if loop is None:
            journal.wait_for(self._last)
            self._release()
            self._deliver(event)
            return
        self._loop = loop
        self._held.append((self._last, event))
        # The writer may have acknowledged just before the event was queued, and seen nothing
        # to release: look again (it sets its figure before it looks at ours).
        if journal.durable >= self._held[0][0]:
            self._release()

    async def durable(self) -> None:
        """Wait until every record appended so far is durable (asking the writer not to
        linger), and the events held for them are delivered. Raises JournalError if the
        journal stopped first."""
        journal = self._journal
        if journal is None:
            return
        ticket = self._last
        if journal.durable >= ticket:
            if self._held:  # acknowledged, and the hop to the loop is still on its way
                self._release()
            return
        journal.raise_if_failed()
        loop = asyncio.get_running_loop()
        self._loop = loop
        future: asyncio.Future[None] = loop.create_future()
        self._waiters.append((ticket, future))
        journal.hurry()
        if journal.durable >= ticket or journal.error is not None:
            self._release()
        await future

    def settle_briefly(self, limit: float) -> bool:
        """Block up to ``limit`` seconds for every record appended so far to become durable,
        then deliver what was held for them; False (nothing delivered) if that took longer.

        For the one path worth a short block of the loop: a close waiting to go to the wire.
        A hurried writer commits in well under a millisecond, while the way back through the
        event loop can wait behind a repaint of the window. Raises JournalError if the journal
        stopped first."""
        journal = self._journal
        if journal is None:
            return True
        try:
            journal.wait_for(self._last, limit)
        except TimeoutError:
            return False
        self._release()
        return True

    def wait_inline(self) -> None:
        """Block until every record appended so far is durable: for the rare synchronous
        callback that must not let anything out before its record (a restamped request)."""
        if self._journal is not None:
            self._journal.wait_for(self._last)

    # ------------------------------------------------------------------ acknowledgements
    def _acked(self, durable: int, error: BaseException | None) -> None:
        """On the writer's thread, once per batch: hop to the loop if anything waits."""
        loop = self._loop
        if loop is None or self._scheduled or not (self._held or self._waiters):
            return
        self._scheduled = True
        try:
            loop.call_soon_threadsafe(self._release)
        except RuntimeError:  # that loop is closed; nothing on it waits any more
            self._scheduled = False

    def _release(self) -> None:
        """On the loop: deliver the held events whose records are durable, in order, and
        wake the waiters whose records are."""
        self._scheduled = False
        journal = self._journal
        if journal is None:
            return
        durable = journal.durable
        held = self._held
        while held and held[0][0] <= durable:
            self._deliver(held.popleft()[1])
        waiters = self._waiters
        while waiters and waiters[0][0] <= durable:
            future = waiters.popleft()[1]
            if not future.done():  # not cancelled meanwhile
                future.set_result(None)
        if journal.error is not None:
            held.clear()
            failure = journal.failure()
            while waiters:
                future = waiters.popleft()[1]
                if not future.done():
                    future.set_exception(failure or RuntimeError("the journal stopped"))
