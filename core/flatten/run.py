"""Flatten, step 3: run a confirmed plan, concurrently, and verify each position from venue
data.

``execute(desk, plan)`` returns a :class:`FlattenRun` at once and runs every item as its own
task, concurrently across venues and accounts, never one after another. Per item: cancel the
planned resting orders (a failure blocks the item: its close is not sent), re-check the live
book (the freshness guard), send one full close through ``desk.close`` (so the desk's rules
hold: one close in flight per position, nothing ever resent), wait for it to settle, then
verify from venue data that the position is gone. ``run.cancel()`` stops sending new requests;
what was already sent is followed to the end and reported as sent. ``await run.wait()`` gives
the :class:`~core.flatten.report.FlattenReport` (also journaled as ``flatten_report``).

Rate limits: a venue whose session paces itself needs no cap. For a venue that publishes no
budget, its ``VenueInfo.flatten_concurrency`` caps the requests in flight on that venue at once
(across its accounts, since limits may be per IP); ``execute(..., concurrency=...)`` overrides
the caps per venue (None or absent: no cap). Each account's own cap, if its venue reads one from
the account's options (``VenueInfo.account_concurrency``), holds as well. A request takes its
slots before it is built, so a wait for a slot never makes a signed request stale. Items start
one account after another in turn, so the slots are shared across accounts rather than filled
by the first account's positions.

Team mode: a flatten never overrides another desk's lease. A close or a cancel the lease
refuses (or that no team database could be asked about) sent nothing: the item ends skipped,
with the holder's words, and what was cancelled before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from core.desk import (
    AlreadyPending,
    CloseIntent,
    Desk,
    DeskEvent,
    IntentChanged,
    IntentState,
    PositionUpserted,
)
from core.desk.coordination import CoordinationDown, LeaseHeld
from core.flatten.cancels import CancelOutcome, blocks_close, cancel_one
from core.flatten.plan import (
    FlattenPlan,
    PlanAlreadyRun,
    PlanItem,
    _plain,
    account_concurrency,
    default_concurrency,
)
from core.flatten.report import FlattenReport, ItemState, Outcome, Phase
from core.journal import JournalError
from core.model import (
    CloseRequest,
    PositionKey,
    PositionRemoved,
    Venue,
    WorkingOrderRemoved,
)
from core.venue import CloseRejected

__all__ = ["FlattenRun", "execute"]

log = logging.getLogger(__name__)


def execute(
    desk: Desk,
    plan: FlattenPlan,
    *,
    on_progress: Callable[[ItemState], None] | None = None,
    concurrency: Mapping[Venue, int] | None = None,
    settle_timeout: float = 30.0,
    verify_timeout: float = 10.0,
) -> FlattenRun:
    """Start running ``plan`` (call from the event loop) and return its handle at once.

    ``on_progress`` hears every item change on the loop thread. ``concurrency`` caps requests
    in flight per venue (default ``default_concurrency()``). ``settle_timeout``: how long to wait
    for a sent close's outcome; ``verify_timeout``: how long venue data may take to show the
    position gone before the account's positions are re-read once and the item is judged.
    Raises PlanAlreadyRun if the plan was run before.
    """
    asyncio.get_running_loop()  # raises before anything is marked or sent without a loop
    if plan._started:
        raise PlanAlreadyRun(f"plan {plan.id} was already run; build a new plan to try again")
    plan._started = True
    return FlattenRun(
        desk, plan, on_progress,
        default_concurrency() if concurrency is None else concurrency,
        settle_timeout, verify_timeout,
    )


class FlattenRun:
    """A running plan. ``cancel()`` stops new requests; ``await wait()`` gives the report."""

    def __init__(
        self,
        desk: Desk,
        plan: FlattenPlan,
        on_progress: Callable[[ItemState], None] | None,
        concurrency: Mapping[Venue, int],
        settle_timeout: float,
        verify_timeout: float,
    ) -> None:
        self.plan = plan
        self._desk = desk
        self._on_progress = on_progress
        self._settle_timeout = settle_timeout
        self._verify_timeout = verify_timeout
        self._slots = {v: asyncio.Semaphore(n) for v, n in concurrency.items() if n > 0}
        account_caps = _account_caps(desk, plan)
        self._account_slots = {a: asyncio.Semaphore(n) for a, n in account_caps.items()}
        self._states: dict[PositionKey, ItemState] = {
            i.key: ItemState(i.key, i.side, i.quantity) for i in plan.items
        }
        self._wake: dict[PositionKey, asyncio.Event] = {k: asyncio.Event() for k in self._states}
        self._by_account: dict[str, list[PositionKey]] = {}
        for k in self._states:
            self._by_account.setdefault(k.account, []).append(k)
        self._refreshing: dict[str, asyncio.Task[bool]] = {}
        self._cancelled = False
        self._cancelled_at: float | None = None
        self.started_at = time.time()
        self._t0 = time.perf_counter()
        self._report: FlattenReport | None = None
        self._unsubscribe = desk.subscribe(self._on_desk_event)
        self._journal("flatten_start", {
            "plan_id": plan.id,
            "items": len(plan.items),
            "in_flight": {"venues": {v.value: n for v, n in concurrency.items() if n > 0},
                          "accounts": account_caps},
        })
        self._tasks = [
            asyncio.create_task(self._run_item(item), name=f"flatten-{plan.id}-{item.key}")
            for item in _taking_turns(plan.items)
        ]
        self._finished = asyncio.ensure_future(self._finish())

    # ------------------------------------------------------------------ public
    @property
    def states(self) -> list[ItemState]:
        """Every item's latest state, in plan order."""
        return [self._states[i.key] for i in self.plan.items]

    @property
    def progress(self) -> tuple[int, int]:
        """(items done, items in the plan)."""
        return sum(s.done for s in self._states.values()), len(self._states)

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def done(self) -> bool:
        return self._report is not None

    @property
    def report(self) -> FlattenReport | None:
        return self._report

    def cancel(self) -> list[PositionKey]:
        """Stop sending: no new cancel or close leaves after this. Returns the positions whose
        close was already sent (they are followed to the end and reported). A close handed to
        the session counts as sent even while the session's own rate limiter holds it: it is
        committed and cannot be taken back without making its outcome unknown."""
        sent = [s.key for s in self.states if s.sent]
        if self._cancelled or self.done:
            return sent
        self._cancelled = True
        self._cancelled_at = self._elapsed_ms()
        with contextlib.suppress(JournalError):  # stopping matters more; the failure is loud
            self._journal("flatten_cancel", {
                "plan_id": self.plan.id,
                "sent": [str(k) for k in sent],
                "not_sent": [str(s.key) for s in self.states if not s.sent and not s.done],
            })
        return sent

    async def wait(self) -> FlattenReport:
        return await asyncio.shield(self._finished)

    # ------------------------------------------------------------------ plumbing
    def _elapsed_ms(self) -> float:
        return (time.perf_counter() - self._t0) * 1000

    def _journal(self, kind: str, payload: Mapping[str, Any]) -> None:
        self._desk.record(kind, payload, reason=self.plan.journal_reason)

    def _on_desk_event(self, event: DeskEvent) -> None:
        key: PositionKey | None = None
        if isinstance(event, PositionUpserted):
            key = event.position.key
        elif isinstance(event, PositionRemoved):
            key = event.key
        elif isinstance(event, IntentChanged):
            key = event.intent.key
        elif isinstance(event, WorkingOrderRemoved):
            for k in self._by_account.get(event.account, ()):
                self._wake[k].set()
            return
        if key is not None and (wake := self._wake.get(key)) is not None:
            wake.set()

    async def _until(self, key: PositionKey, predicate: Callable[[], bool],
                     timeout: float) -> bool:
        """Wait for ``predicate`` to hold, woken by desk events about ``key``; what it found
        is reported only once the journal records behind it are durable."""
        wake = self._wake[key]
        try:
            async with asyncio.timeout(timeout):
                while True:
                    wake.clear()
                    if predicate():
                        break
                    await wake.wait()
        except TimeoutError:
            held = predicate()
        else:
            held = True
        await self._desk.journaled()
        return held

    def _set(self, key: PositionKey, **changes: Any) -> ItemState:
        state = replace(self._states[key], **changes)
        self._states[key] = state
        if self._on_progress is not None:
            try:
                self._on_progress(state)
            except Exception:  # a broken view must not break the run
                log.exception("flatten progress listener failed")
        return state

    def _end(self, key: PositionKey, outcome: Outcome, message: str = "",
             **changes: Any) -> None:
        self._set(key, phase=Phase.DONE, outcome=outcome, message=message,
                  done_ms=self._elapsed_ms(), **changes)

    def _note(self, key: PositionKey, note: str) -> None:
        self._set(key, notes=(*self._states[key].notes, note))

    @contextlib.asynccontextmanager
    async def _slot(self, key: PositionKey) -> AsyncIterator[None]:
        """One request in flight on the account and on the venue, each where capped. The
        account's slot is taken first, so a wait for it never holds one of the venue's."""
        free: contextlib.AbstractAsyncContextManager[Any] = contextlib.nullcontext()
        async with self._account_slots.get(key.account) or free, \
                self._slots.get(key.venue) or free:
            yield

    # ------------------------------------------------------------------ one item
    async def _run_item(self, item: PlanItem) -> None:
        try:
            await self._item(item)
        except Exception as exc:  # a bug must not leave the run hanging or hide the state
            log.exception("flatten %s: %s failed", self.plan.id, item.key)
            state = self._states[item.key]
            if not state.done:
                outcome = Outcome.UNKNOWN if state.sent else Outcome.REJECTED
                self._end(item.key, outcome, f"internal error: {_plain(exc)}")

    async def _item(self, item: PlanItem) -> None:
        key, desk = item.key, self._desk
        if self._cancelled:
            self._end(key, Outcome.CANCELLED_BEFORE_SEND, "stopped before it was sent")
            return
        if not await self._cancel_resting(item):
            return
        # The freshness guard: close what is there now, never what the plan remembered.
        pos = desk.positions.get(key)
        if pos is None:
            self._end(key, Outcome.ALREADY_FLAT, "the position was already flat; nothing sent")
            return
        if pos.side is not item.side:
            self._end(key, Outcome.SKIPPED,
                      f"the position is now {pos.side.value.lower()} {pos.quantity}, not "
                      f"{item.side.value.lower()} {item.quantity} as planned; review it and "
                      "flatten again")
            return
        request = item.request
        if pos.quantity != item.quantity:
            request = replace(request, position_quantity=pos.quantity)
            self._note(key, f"the size changed from {item.quantity} to {pos.quantity} since the "
                            "plan; a full close closes the current position")
        planned = {c.order_id for c in item.cancels}
        unplanned = [o for o in desk.working_for(key)
                     if blocks_close(o) and o.order_id not in planned]
        if self.plan.cancel_resting and unplanned:
            self._note(key, f"{len(unplanned)} resting order(s) appeared after the plan and "
                            "were left alone: the plan did not list them")
        intent = await self._send(item, request)
        if intent is None:
            return
        await self._follow(item, intent)

    async def _cancel_resting(self, item: PlanItem) -> bool:
        """Cancel the planned resting orders, one at a time. False: the item ended here."""
        key, desk = item.key, self._desk
        if not item.cancels:
            return True
        self._set(key, phase=Phase.CANCELLING)
        done: list[str] = []
        for order in item.cancels:
            if order.ident not in desk.working_orders:
                self._note(key, f"resting order {order.order_id} was already gone")
                continue
            async with self._slot(key):
                if self._cancelled:
                    self._stopped(key, done)
                    return False
                result = await cancel_one(desk, order, reason=self.plan.journal_reason,
                                          wait=self._settle_timeout)
            if result.outcome is CancelOutcome.ALREADY_GONE:
                self._note(key, f"resting order {order.order_id} was already gone")
                continue
            if result.refusal is not None:  # another desk's lease: nothing sent for it
                self._end(key, Outcome.SKIPPED,
                          f"cancelling resting order {order.order_id} was refused: "
                          f"{result.message}; the close was not sent either",
                          cancelled_orders=tuple(done))
                return False
            if not result.ok:
                self._end(key, Outcome.BLOCKED,
                          f"cancelling resting order {order.order_id} failed: "
                          f"{result.message}; the close was not sent",
                          cancelled_orders=tuple(done))
                return False
            done.append(order.order_id)
            self._set(key, cancelled_orders=tuple(done))
        return True

    def _stopped(self, key: PositionKey, cancelled: list[str]) -> None:
        extra = (f"; {len(cancelled)} resting order(s) had been cancelled"
                 if cancelled else "")
        self._end(key, Outcome.CANCELLED_BEFORE_SEND, f"stopped before it was sent{extra}",
                  cancelled_orders=tuple(cancelled))

    async def _send(self, item: PlanItem, request: CloseRequest) -> CloseIntent | None:
        key, desk = item.key, self._desk
        async with self._slot(key):
            if self._cancelled:
                self._stopped(key, list(self._states[key].cancelled_orders))
                return None
            self._set(key, phase=Phase.SENDING, sent=True, quantity=request.position_quantity,
                      client_order_id=request.client_order_id, sent_ms=self._elapsed_ms())
            try:
                intent = await desk.close(request)
            except AlreadyPending as exc:
                self._set(key, sent=False, joined=True, client_order_id=None,
                          intent_id=exc.intent.id,
                          notes=(*self._states[key].notes,
                                 f"joined the pending close {exc.intent.id} "
                                 f"({exc.intent.state.value.lower()}); nothing new was sent"))
                return exc.intent
            except (LeaseHeld, CoordinationDown) as exc:  # never overridden by a flatten
                await desk.journaled()  # the refusal's record is durable first
                self._end(key, Outcome.SKIPPED, _plain(exc), sent=False)
                return None
            except CloseRejected as exc:
                await desk.journaled()  # the refusal's records are durable first
                latest = desk.latest_intent(key)
                ours = latest is not None and \
                    latest.request.client_order_id == request.client_order_id
                pos = desk.positions.get(key)
                if not ours and pos is None:
                    self._end(key, Outcome.ALREADY_FLAT, f"already flat: {_plain(exc)}",
                              sent=False)
                elif not ours and pos is not None and pos.side is not item.side:
                    self._end(key, Outcome.SKIPPED, _plain(exc), sent=False)
                else:
                    self._end(key, Outcome.REJECTED, _plain(exc), sent=ours,
                              intent_id=latest.id if ours and latest else None)
                return None
        self._set(key, phase=Phase.SENT, intent_id=intent.id)
        return intent

    async def _follow(self, item: PlanItem, intent: CloseIntent) -> None:
        """Wait for the close to settle, then verify from venue data."""
        key, desk = item.key, self._desk

        def settled() -> bool:
            s = intent.state
            return (s.settled or s is IntentState.RESTING or key not in desk.positions
                    or (s is IntentState.UNKNOWN and intent.lookup_done))

        await self._until(key, settled, self._settle_timeout)
        self._set(key, phase=Phase.VERIFYING, first_reply_ms=intent.first_reply_ms,
                  filled=intent.filled or None)
        req = intent.request

        def judged() -> bool:
            pos = desk.positions.get(key)
            if pos is None:
                return True
            s = intent.state
            if s is IntentState.FILLED or not s.settled:
                return False  # venue data should show it flat (or the outcome is unknown)
            # A partial, cancelled or rejected close: done once the book shows what it left.
            return pos.side is not req.position_side or \
                pos.quantity <= req.position_quantity - intent.filled

        if not await self._until(key, judged, self._verify_timeout):
            await self._refresh(key.account)  # ask the venue once; never resend anything
        self._judge(key, intent)

    def _judge(self, key: PositionKey, intent: CloseIntent) -> None:
        pos = self._desk.positions.get(key)
        s = intent.state
        filled = intent.filled or None
        if pos is None:
            note = ""
            if s is IntentState.REJECTED:
                note = f"the venue refused the close ({intent.message}), but the position is flat"
            self._end(key, Outcome.CLOSED_VERIFIED_FLAT, note, filled=filled)
        elif s is IntentState.REJECTED:
            self._end(key, Outcome.REJECTED, intent.message or "the venue refused the close",
                      filled=filled)
        elif not s.settled and s is not IntentState.RESTING:
            why = intent.message or f"no outcome from the venue within {self._settle_timeout:g} s"
            self._end(key, Outcome.UNKNOWN,
                      f"{why}; {pos.side.value.lower()} {pos.quantity} still shows open. "
                      "Nothing was resent", filled=filled)
        else:
            side = "" if pos.side is intent.request.position_side else \
                f" (now {pos.side.value.lower()})"
            message = f"{pos.quantity} still open{side}"
            if intent.message:
                message += f": {intent.message}"
            self._end(key, Outcome.RESIDUAL, message, residual=pos.quantity, filled=filled)

    async def _refresh(self, account: str) -> bool:
        """Re-read one account's positions; shared by the items waiting on it at the time."""
        task = self._refreshing.get(account)
        if task is None or task.done():
            task = asyncio.create_task(self._do_refresh(account))
            self._refreshing[account] = task
        return await asyncio.shield(task)

    async def _do_refresh(self, account: str) -> bool:
        try:
            await self._desk.session(account).refresh_positions()
        except Exception as exc:  # verification then goes on what the book already shows
            log.warning("flatten %s: could not re-read %s positions: %s",
                        self.plan.id, account, exc)
            return False
        return True

    async def _finish(self) -> FlattenReport:
        try:
            await asyncio.gather(*self._tasks)
        finally:
            self._unsubscribe()
        report = FlattenReport(
            plan=self.plan,
            items=tuple(self.states),
            started_at=self.started_at,
            finished_at=time.time(),
            elapsed_ms=self._elapsed_ms(),
            cancelled=self._cancelled,
            cancelled_at_ms=self._cancelled_at,
        )
        self._report = report
        try:
            self._journal("flatten_report", report.to_dict())
            await self._desk.journaled()  # ``wait()`` gives the report only once it is durable
        except JournalError as exc:
            # The items whose outcome could not be recorded already say unknown; what was
            # sent must still be told.
            log.error("flatten %s: the journal stopped, the report is not recorded: %s",
                      self.plan.id, exc)
        return report


def _account_caps(desk: Desk, plan: FlattenPlan) -> dict[str, int]:
    """Each account's own in-flight cap, for the accounts in the plan that have one."""
    caps: dict[str, int] = {}
    for name in sorted({i.key.account for i in plan.items}):
        account = desk.accounts.get(name)
        cap = account_concurrency(account) if account is not None else None
        if cap is not None:
            caps[name] = cap
    return caps


def _taking_turns(items: Iterable[PlanItem]) -> list[PlanItem]:
    """The items in start order: each account's first position, then each one's second, ...
    (the plan lists them account by account)."""
    queues: dict[str, deque[PlanItem]] = {}
    for item in items:
        queues.setdefault(item.key.account, deque()).append(item)
    order: list[PlanItem] = []
    while queues:
        for name in list(queues):
            queue = queues[name]
            order.append(queue.popleft())
            if not queue:
                del queues[name]
    return order

