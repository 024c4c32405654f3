"""The desk: accounts to sessions, event fan-out, the journal, and close and cancel.

Everything the GUI (or the CLI) shows comes from here, and every action goes through here, so
the safety rules live in one place:

* at most one close in flight per (account, symbol) unless the caller explicitly asks;
* nothing is resent automatically;
* every intent, request, reply and update is journaled before listeners hear of it, and a
  request is durable in the journal before it goes to the wire (``outbox.py``: events wait,
  in order, for the journal's acknowledgement, without holding the event loop);
* bad venue data never corrupts the book (sessions emit typed events; the desk only applies
  well-formed ones).

The positions book (``book.py``), the close intents (``intents.py``), freshness
(``freshness.py``) and the outbox (``outbox.py``) are its parts; this module wires them to the
sessions and the journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from typing import Any

from core.desk import freshness
from core.desk.book import Book, PositionUpserted
from core.desk.coordination import Claims, Coordinator, ElsewhereChanged, Holder, Solo
from core.desk.endings import CancelsAsked, order_context
from core.desk.intents import AlreadyPending, CloseIntent, IntentChanged, Intents, IntentState
from core.desk.outbox import Outbox
from core.desk.protocol_errors import ProtocolErrorLog
from core.desk.reconcile import DEFAULT_CHECK_TIMEOUT, Reconciler
from core.explain import explain, explain_cancel
from core.journal import Journal, JournalError
from core.model import (
    Capabilities,
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    DroppedUpdate,
    Fill,
    Instrument,
    MarkUpdate,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    PositionsSnapshot,
    ProtocolError,
    SessionEvent,
    SessionHealth,
    Venue,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
    new_client_order_id,
)
from core.venue import (
    AccountConfig,
    CancelRejected,
    CloseRejected,
    Credentials,
    EventSink,
    Prepared,
    ReconnectPolicy,
    Restamped,
    SessionClosed,
    VenueSession,
)

__all__ = [
    "CancelPending",
    "Desk",
    "DeskEvent",
    "Listener",
    "SessionFactory",
    "default_session_factory",
    "with_quantity",
]

log = logging.getLogger(__name__)

# How long a close may block the event loop waiting for its request record, before it waits
# asynchronously instead: the writer's p99 at 5,000 updates/s is about 5 ms (bench/journal_writer).
CLOSE_DURABLE_BLOCK_S = 0.005

SessionFactory = Callable[[AccountConfig, Credentials, EventSink], VenueSession]


class CancelPending(Exception):
    """A cancel of this order is already on its way; nothing new was sent."""


DeskEvent = (
    PositionUpserted
    | PositionRemoved
    | IntentChanged
    | OrderUpdate
    | Fill
    | ConnectionEvent
    | ProtocolError
    | MarkUpdate
    | WorkingOrder
    | WorkingOrderRemoved
    | ElsewhereChanged
)
Listener = Callable[[DeskEvent], None]


def _final(intent: CloseIntent) -> bool:
    """Nothing more will happen to this close: settled, and a filled full close also seen flat
    (or not) in venue data, so no other desk takes over a position that only looks open."""
    if not intent.state.settled:
        return False
    return not (intent.state is IntentState.FILLED and intent.request.is_full
                and intent.verified_flat is None)


def default_session_factory(
    account: AccountConfig, credentials: Credentials, sink: EventSink
) -> VenueSession:
    from core.venues import session_class

    return session_class(account.venue)(account, credentials, sink)


class Desk:
    def __init__(
        self,
        *,
        journal: Journal | None = None,
        session_factory: SessionFactory = default_session_factory,
        verify_timeout: float = 10.0,
        protocol_error_window: float = 10.0,
        reconcile: ReconnectPolicy | None = None,
        reconcile_timeout: float = DEFAULT_CHECK_TIMEOUT,
        coordinator: Coordinator | None = None,
    ) -> None:
        """``protocol_error_window``: repeats of a protocol error inside it are counted into one
        summary line instead of being recorded and shown one by one. ``reconcile`` is the
        backoff between checks of an Unknown close, and ``reconcile_timeout`` how long one
        check may wait for the venue. ``coordinator`` says whether another desk is closing a
        position (team mode); alone, nobody is."""
        self.journal = journal
        self._factory = session_factory
        self._sessions: dict[str, VenueSession] = {}
        self._accounts: dict[str, AccountConfig] = {}
        self._states: dict[str, ConnectionState] = {}
        self._listeners: list[Listener] = []
        self._cancelling: set[tuple[str, str]] = set()
        self._cancels_asked = CancelsAsked()  # what a CANCELLED answers: "cancelled by you"
        self._outbox: Outbox[DeskEvent] = Outbox(journal, self._deliver)
        self._claims = Claims(coordinator or Solo(), self._journal)
        self._claims.coordinator.attach(
            lambda key: self._emit(ElsewhereChanged(key, self.elsewhere(key),
                                                    self.elsewhere_holder(key))))
        self._protocol_errors = ProtocolErrorLog(self._record_protocol_error,
                                                 window=protocol_error_window)
        self._book = Book(self._emit, lambda key: self._intents.position_gone(key))
        self._intents = Intents(
            book=self._book,
            journal=self._journal,
            emit=self._emit,
            connected=lambda a: self.connection_state(a) is ConnectionState.CONNECTED,
            verify_timeout=verify_timeout,
            journaled=self.journaled,
        )
        self._reconciler = Reconciler(
            session=self._sessions.get,
            connected=lambda a: self.connection_state(a) is ConnectionState.CONNECTED,
            unknown=self._intents.unknown,
            attempt=self._intents.checking,
            answered=lambda a: self._intents.reconcile_account(a, fresh=True),
            policy=reconcile or ReconnectPolicy(),
            timeout=reconcile_timeout,
        )

    @property
    def verify_timeout(self) -> float:
        """How long venue data may take to show a fully closed position flat."""
        return self._intents.verify_timeout

    @verify_timeout.setter
    def verify_timeout(self, seconds: float) -> None:
        self._intents.verify_timeout = seconds

    # ------------------------------------------------------------------ listeners
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: DeskEvent) -> None:
        """Tell the listeners, once the records journaled before the event are durable."""
        if isinstance(event, IntentChanged) and event.intent.state is IntentState.UNKNOWN:
            self._reconciler.kick(event.intent.key.account)  # ask the venue until it answers
        if isinstance(event, IntentChanged) and _final(event.intent):
            self._claims.release(event.intent.key, event.intent.id)
        self._outbox.emit(event)

    def _deliver(self, event: DeskEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not break the desk or other views
                log.exception("desk listener failed on %s", type(event).__name__)

    def _journal(self, kind: str, payload: Mapping[str, Any] | str, **kw: Any) -> int:
        return self._outbox.record(kind, payload, **kw)

    def record(self, kind: str, payload: Mapping[str, Any] | str, **kw: Any) -> int:
        """Journal a record of the caller's own (a flatten's plan, start and report) in the
        desk's order: events after it wait for it, and ``journaled`` covers it. Returns its
        ticket (0 without a journal). Keyword arguments are ``Journal.append``'s."""
        return self._outbox.record(kind, payload, **kw)

    async def journaled(self) -> None:
        """Wait until every record the desk journaled so far is durable. What reports an
        action's outcome (the CLI, a flatten report) waits for this. Raises JournalError if
        the journal stopped on a write error first."""
        await self._outbox.durable()

    @property
    def held_events(self) -> int:
        """Events waiting for their journal records to be durable."""
        return self._outbox.held

    # ------------------------------------------------------------------ accounts
    @property
    def accounts(self) -> Mapping[str, AccountConfig]:
        return self._accounts

    def session(self, account: str) -> VenueSession:
        return self._sessions[account]

    def connection_state(self, account: str) -> ConnectionState:
        return self._states.get(account, ConnectionState.DISCONNECTED)

    async def connect(self, account: AccountConfig, credentials: Credentials) -> None:
        """Start one account's session. A failure is reported as a FAILED connection event and
        re-raised; other accounts are unaffected. Returns once what the start delivered (its
        connection state, its first positions) has been shown to listeners."""
        if account.name in self._sessions:
            raise ValueError(f"account {account.name!r} is already connected")
        self._accounts[account.name] = account
        session = self._factory(account, credentials, self._sink_for(account))
        self._sessions[account.name] = session
        try:
            await session.start()
        except Exception as exc:
            self._on_event(
                account,
                ConnectionEvent(account.venue, account.name, ConnectionState.FAILED, str(exc)),
            )
            with contextlib.suppress(JournalError):
                await self.journaled()
            raise
        with contextlib.suppress(JournalError):  # a stopped journal has said so already
            await self.journaled()

    async def disconnect(self, name: str) -> None:
        """Stop one account's session and drop its rows and working orders from the book.

        Intents are kept: the journal and the log still show what was done on the account.
        """
        session = self._sessions.pop(name, None)
        account = self._accounts.pop(name, None)
        await self._reconciler.stop(name)
        if session is not None:
            await session.stop()
        self._book.drop_account(name)
        self._states.pop(name, None)
        if account is not None:
            event = ConnectionEvent(account.venue, name, ConnectionState.DISCONNECTED,
                                    "account removed")
            self._journal("connection", {"state": event.state, "message": event.message},
                          **self._ctx(account))
            self._emit(event)
        # Return once listeners have heard it: a caller that then forgets the account must not
        # see its disconnection arrive afterwards (a view would bring the account back).
        # A journal that stopped has already said so, and shows nothing more either way.
        with contextlib.suppress(JournalError):
            await self.journaled()

    async def use_journal(self, journal: Journal) -> None:
        """Record to ``journal`` from now on (demo mode's switch to the configured accounts,
        whose records must never land in the practice journal). Only with no account
        connected, so no account's story is split across two files; what the old journal was
        given is durable first."""
        if self._sessions:
            raise RuntimeError("disconnect every account before changing the journal")
        with contextlib.suppress(JournalError):  # a stopped journal has said so already
            await self.journaled()
        self.journal = journal
        self._outbox = Outbox(journal, self._deliver)

    async def start(self, accounts: Iterable[tuple[AccountConfig, Credentials]]) -> list[str]:
        """Connect every account concurrently. Returns the names that failed to connect."""
        pairs = list(accounts)
        results = await asyncio.gather(
            *(self.connect(a, c) for a, c in pairs), return_exceptions=True
        )
        return [a.name for (a, _), r in zip(pairs, results, strict=True)
                if isinstance(r, BaseException)]

    async def stop(self) -> None:
        await self._reconciler.stop()
        sessions = list(self._sessions.values())
        await asyncio.gather(*(s.stop() for s in sessions), return_exceptions=True)
        self._protocol_errors.close()

    # ------------------------------------------------------------------ queries
    @property
    def protocol_errors_seen(self) -> int:
        """Every protocol error so far, whether recorded whole or counted into a summary."""
        return self._protocol_errors.throttle.offered

    @property
    def positions(self) -> Mapping[PositionKey, Position]:
        return self._book.positions

    def capabilities(self, key: PositionKey) -> Capabilities:
        return self._sessions[key.account].capabilities

    def instrument(self, key: PositionKey) -> Instrument | None:
        session = self._sessions.get(key.account)
        return session.instruments.get(key.symbol) if session else None

    def mark(self, venue: Venue, symbol: str) -> MarkUpdate | None:
        return self._book.mark(venue, symbol)

    def intents(self) -> Mapping[str, CloseIntent]:
        return self._intents.all

    def elsewhere(self, key: PositionKey) -> str | None:
        """The other desk closing this position now ("Desk 3"), as far as this desk has heard
        (team mode); None alone."""
        return self._claims.coordinator.elsewhere(key)

    def elsewhere_holder(self, key: PositionKey) -> Holder | None:
        """That desk's lease as heard: who, for how long, and when it runs out unless
        renewed (None when nobody else holds it, or the times are not known)."""
        return self._claims.coordinator.heard(key)

    def pending(self, key: PositionKey) -> CloseIntent | None:
        """The in-flight close of this position, if any."""
        return self._intents.pending(key)

    def latest_intent(self, key: PositionKey) -> CloseIntent | None:
        return self._intents.latest(key)

    def residual(self, key: PositionKey) -> Decimal | None:
        """What an IOC close left behind: the position's size now, if the latest close of it
        settled partly filled. Cleared by any newer close of the position."""
        return self._intents.residual(key)

    def preview(self, request: CloseRequest) -> str:
        return self._sessions[request.key.account].prepare_close(request).redacted

    def health(self, account: str) -> SessionHealth:
        session = self._sessions.get(account)
        return session.health() if session else SessionHealth(connected=False)

    @property
    def working_orders(self) -> Mapping[tuple[str, str], WorkingOrder]:
        """Resting limit closes and triggers, keyed by (account, order id)."""
        return self._book.working

    def working_for(self, key: PositionKey) -> list[WorkingOrder]:
        return self._book.working_for(key)

    # ------------------------------------------------------------------ freshness
    def data_age(self, key: PositionKey, now: float | None = None) -> float | None:
        """Seconds since venue data last vouched for this row: its own update, or any message
        on a connected session (which would have carried a change). None if unknown."""
        pos = self._book.get(key)
        if pos is None:
            return None
        session = self._sessions.get(key.account)
        health = session.health() if session is not None else None
        return freshness.data_age(pos, health, time.monotonic() if now is None else now)

    def stale_age(self, key: PositionKey, threshold: float) -> float | None:
        """The row's data age when it is past ``threshold`` seconds; None while fresh."""
        return freshness.stale_age(self.data_age(key), threshold)

    def stale_rows(self, threshold: float, healths: Mapping[str, SessionHealth],
                   now: float | None = None) -> dict[PositionKey, float]:
        """Every row whose venue data is older than ``threshold`` seconds, with its age.

        ``healths`` are the sessions' readings just taken; an account whose session spoke
        within the threshold vouches for all its rows and is not looked at row by row.
        """
        return freshness.stale_rows(
            self._book.positions, self._accounts, healths, self.data_age, threshold,
            time.monotonic() if now is None else now)

    # ------------------------------------------------------------------ cancelling
    def cancelling(self, order: WorkingOrder) -> bool:
        return order.ident in self._cancelling

    async def cancel(self, order: WorkingOrder, *, reason: str | None = None,
                     override_reason: str | None = None) -> None:
        """Cancel one resting order, once. Raises CancelPending if a cancel of it is already on
        its way, CancelRejected if refused or unanswered (the order may still be working), and
        LeaseHeld or CoordinationDown (nothing sent) when the position's lease cannot be had;
        ``override_reason`` takes it anyway."""
        if order.ident in self._cancelling:
            raise CancelPending(f"a cancel of order {order.order_id} is already on its way")
        session = self._sessions.get(order.account)
        if session is None:
            raise CancelRejected(f"account {order.account!r} is not configured")
        ctx: dict[str, Any] = {
            "account": order.account,
            "venue": order.venue.value,
            "symbol": order.symbol,
            "reason": reason,
        }
        self._cancelling.add(order.ident)
        key = PositionKey(order.account, order.venue, order.symbol)
        try:
            async with self._claims.held(key, f"cancel:{order.order_id}", ctx, override_reason):
                await self._cancel(session, order, ctx)
        finally:
            self._cancelling.discard(order.ident)

    async def _cancel(self, session: VenueSession, order: WorkingOrder,
                      ctx: dict[str, Any]) -> None:
        self._journal(
            "cancel_intent",
            {"order_id": order.order_id, "kind": order.kind, "client_order_id":
             order.client_order_id},
            **ctx,
        )
        try:
            prepared = session.prepare_cancel(order)
        except CancelRejected as exc:
            self._journal("cancel_result", {"ok": False, "message": str(exc),
                                            "code": exc.code}, **ctx)
            raise
        self._journal("request", prepared.redacted, **ctx)
        await self.journaled()  # durable before it goes to the wire
        self._cancels_asked.add(order.account, order.order_id)
        started = time.perf_counter()
        try:
            await session.cancel(prepared, restamped=self._restamp_recorder(ctx))
        except SessionClosed as exc:
            self._journal("cancel_result", {"ok": False, "message": str(exc)}, **ctx)
            raise CancelRejected(f"not connected; nothing was sent ({exc})") from exc
        except CancelRejected as exc:
            self._journal("cancel_result", {"ok": False, "message": str(exc),
                                            "code": exc.code}, **ctx)
            raise
        self._journal(
            "cancel_result", {"ok": True}, **ctx,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    # ------------------------------------------------------------------ closing
    def check(self, request: CloseRequest) -> None:
        """The freshness guard: refuse a request that no longer matches the live book. Raises
        CloseRejected (PositionChanged when the position moved)."""
        freshness.check(self._book.positions, request)

    async def close(self, request: CloseRequest, *, allow_concurrent: bool = False,
                    override_reason: str | None = None) -> CloseIntent:
        """Send one close. Raises AlreadyPending (nothing sent) if one is in flight for the same
        position, CloseRejected if it is refused before or at the venue: LeaseHeld or
        CoordinationDown when another desk may be closing it (team mode), unless
        ``override_reason`` (typed by the user) says to send anyway."""
        if not allow_concurrent and (pending := self.pending(request.key)) is not None:
            raise AlreadyPending(pending)
        session = self._sessions.get(request.key.account)
        if session is None:
            raise CloseRejected(f"account {request.key.account!r} is not configured")
        self.check(request)
        prepared = session.prepare_close(request)  # refuses bad input before any record
        intent = CloseIntent(id=new_client_order_id("intent"), request=request)
        key = request.key
        ctx: dict[str, Any] = {
            "account": key.account,
            "venue": key.venue.value,
            "symbol": key.symbol,
            "intent_id": intent.id,
            "reason": request.reason,
        }
        await self._claims.claim(key, intent.id, ctx, override_reason)
        try:
            self.check(request)  # the book may have moved while the claim was asked for
        except BaseException:
            self._claims.release(key, intent.id)
            raise
        self._intents.register(intent)
        self._journal(
            "intent",
            {
                "client_order_id": request.client_order_id,
                "side": request.position_side,
                "position_quantity": request.position_quantity,
                "quantity": request.quantity,
                "limit_price": request.limit_price,
                "trigger": None
                if request.trigger is None
                else {
                    "price": request.trigger.price,
                    "event": request.trigger.event,
                    "close_on_trigger": request.trigger.close_on_trigger,
                },
                "time_in_force": request.time_in_force,
                "allow_concurrent": allow_concurrent,
            },
            **ctx,
        )
        self._journal("request", prepared.redacted, **ctx)
        self._emit(IntentChanged(intent))
        await self._request_durable(intent)
        intent.sent_at = time.perf_counter()
        try:
            await session.send(prepared, restamped=self._restamp_recorder(ctx))
        except SessionClosed as exc:
            self._intents.settle(intent, IntentState.REJECTED,
                                 f"not connected; nothing was sent ({exc})")
            raise CloseRejected(intent.message) from exc
        except CloseRejected as exc:
            # Only a close nothing else was heard of is Rejected here; an Unknown one (the reply
            # was lost) stays Unknown until reconciled.
            if intent.state is IntentState.SENDING:
                found = explain(exc.code or "", str(exc))
                message = _with_explanation(str(exc), found)
                intent.next_step = found.next_step if found else ""
                self._intents.settle(intent, IntentState.REJECTED, message, raw=exc.code or "")
                raise CloseRejected(message, code=exc.code) from exc
            if intent.state is IntentState.REJECTED:  # the venue's reply settled it first
                raise CloseRejected(intent.message, code=exc.code) from exc
            raise
        return intent

    async def _request_durable(self, intent: CloseIntent) -> None:
        """Wait until the close's request record is durable; only then may it go to the wire.
        A journal that failed, or a task cancelled meanwhile, sends nothing."""
        try:
            if not self._outbox.settle_briefly(CLOSE_DURABLE_BLOCK_S):
                await self.journaled()
        except JournalError as exc:
            self._intents.unrecorded(intent, f"the journal could not record the close, so "
                                             f"nothing was sent ({exc})")
            self._claims.release(intent.key, intent.id)  # final, though no event says so
            raise
        except asyncio.CancelledError:
            self._intents.settle(intent, IntentState.REJECTED,
                                 "stopped before it was sent; nothing was sent")
            raise

    def _restamp_recorder(self, ctx: Mapping[str, Any]) -> Restamped:
        """Journal a request the session had to build again after a wait, before it is sent:
        the last ``request`` record of an intent is always the one that went out. The session
        writes it as soon as this returns, so this waits for the record inline (a rare path:
        only after a rate-limit wait)."""

        def record(prepared: Prepared, why: str) -> None:
            self._journal("request_restamped", {"why": why}, **ctx)
            self._journal("request", prepared.redacted, **ctx)
            self._outbox.wait_inline()

        return record

    # ------------------------------------------------------------------ venue events
    def _sink_for(self, account: AccountConfig) -> EventSink:
        def sink(event: SessionEvent) -> None:
            try:
                self._on_event(account, event)
            except Exception as exc:  # never let bad data take the session's reader down
                log.debug("desk could not apply %s", type(event).__name__, exc_info=True)
                self._unapplied(account, event, exc)

        return sink

    def _ctx(self, account: AccountConfig, symbol: str | None = None) -> dict[str, Any]:
        return {"account": account.name, "venue": account.venue.value, "symbol": symbol}

    def _on_event(self, account: AccountConfig, event: SessionEvent) -> None:
        if isinstance(event, Position):
            self._book.upsert(event)
        elif isinstance(event, PositionsSnapshot):
            self._book.apply_snapshot(event)
            self._intents.reconcile_account(event.account)
        elif isinstance(event, PositionRemoved):
            self._book.remove(event.key)
        elif isinstance(event, MarkUpdate):
            self._book.apply_mark(event)
        elif isinstance(event, OrderUpdate):
            if event.status is OrderStatus.REJECTED:
                found = explain(event.raw_status, event.message)
                if found is not None:
                    event = replace(event, message=_with_explanation(event.message, found))
            elif event.status is OrderStatus.CANCELLED:
                event = self._explain_cancel(account, event)
            owner = self._intents.owner(account.name, event.client_order_id, event.order_id)
            awaited = owner is not None and owner.first_reply_ms is None
            intent = self._intents.apply(event)
            if awaited and intent is not None and intent.first_reply_ms is not None:
                self._wire_time(account, intent)  # its first reply
            self._journal(
                "order_update",
                _update_payload(event),
                **self._ctx(account, event.symbol),
                intent_id=intent.id if intent else None,
                reason=intent.request.reason if intent else None,
                latency_ms=intent.first_reply_ms if intent else None,
            )
            self._emit(event)
            if intent is not None:
                self._emit(IntentChanged(intent))
        elif isinstance(event, Fill):
            owner = self._intents.owner(account.name, event.client_order_id, event.order_id)
            self._journal(
                "fill",
                _fill_payload(event),
                **self._ctx(account, event.symbol),
                intent_id=owner.id if owner else None,
                reason=owner.request.reason if owner else None,
            )
            self._emit(event)
        elif isinstance(event, ConnectionEvent):
            self._states[account.name] = event.state
            self._journal(
                "connection", {"state": event.state, "message": event.message},
                **self._ctx(account),
            )
            if event.state in (ConnectionState.DISCONNECTED, ConnectionState.FAILED):
                self._intents.mark_unknown(account.name)
            self._emit(event)
        elif isinstance(event, WorkingOrder):
            self._journal("working_order", _working_payload(event), **self._ctx(account,
                                                                               event.symbol))
            self._book.set_working(event)
        elif isinstance(event, WorkingOrderRemoved):
            if self._book.pop_working(event.account, event.order_id) is not None:
                self._journal(
                    "working_order_removed",
                    {"order_id": event.order_id, "reason": event.reason},
                    **self._ctx(account),
                )
                self._emit(event)
        elif isinstance(event, WorkingOrdersSnapshot):
            self._journal(
                "working_orders_snapshot",
                {"orders": [_working_payload(o) for o in event.orders]},
                **self._ctx(account),
            )
            self._book.apply_working_snapshot(event)
        elif isinstance(event, DroppedUpdate):
            dropped = event.event
            payload = (_update_payload(dropped) if isinstance(dropped, OrderUpdate)
                       else _fill_payload(dropped))
            owner = self._intents.owner(account.name, dropped.client_order_id, dropped.order_id)
            self._journal(
                "duplicate",
                {"of": "order_update" if isinstance(dropped, OrderUpdate) else "fill",
                 "why": event.why, **payload, "raw": event.raw},
                **self._ctx(account, dropped.symbol),
                intent_id=owner.id if owner else None,
            )
        elif isinstance(event, ProtocolError):
            self._protocol_errors.offer(event)

    def _unapplied(self, account: AccountConfig, event: SessionEvent, exc: Exception) -> None:
        """Venue data the desk could not apply is a protocol error like any unreadable frame:
        journaled and shown (rate-limited), never only a line in the program's log."""
        detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        error = ProtocolError(account.venue, account.name,
                              f"Could not apply a {type(event).__name__} from the venue: "
                              f"{detail[:160]}", code="unapplied")
        try:
            self._protocol_errors.offer(error)
        except Exception:
            log.exception("desk failed to record a protocol error")

    def _record_protocol_error(self, event: ProtocolError) -> None:
        """One protocol error, or one summary of its repeats (``count`` of them), journaled and
        then shown; the counts of the records add up to every error the venues caused."""
        log.warning("%s %s: protocol error: %s", event.venue.label, event.account,
                    event.message[:300])
        self._journal(
            "protocol_error",
            {"message": event.message, "code": event.code, "raw": event.raw[:500],
             "count": event.count},
            account=event.account, venue=event.venue.value, symbol=None,
        )
        self._emit(event)

    def _wire_time(self, account: AccountConfig, intent: CloseIntent) -> None:
        """The close's first reply is in: its latency is the wire time the session measured at
        the transport, and the rest of the desk's own figure was the app's (the event loop
        busy painting, say). Without a wire time the desk's figure stands."""
        session = self._sessions.get(account.name)
        wire = session.wire_ms(intent.request.client_order_id) if session is not None else None
        if wire is not None and intent.first_reply_ms is not None:
            intent.wire_ms = wire
            intent.app_ms = max(0.0, intent.first_reply_ms - wire)
            intent.first_reply_ms = wire

    def _explain_cancel(self, account: AccountConfig, event: OrderUpdate) -> OrderUpdate:
        """A cancelled order's message says why, for this order (see ``endings``)."""
        owner = self._intents.owner(account.name, event.client_order_id, event.order_id)
        position = self._book.get(PositionKey(account.name, account.venue, event.symbol))
        context = order_context(
            event, owner.request if owner else None,
            cancel_requested=(account.name, event.order_id or "") in self._cancels_asked,
            position_open=position is not None and position.quantity != 0)
        found = explain_cancel(event.raw_status, event.message, context)
        return replace(event, message=_with_explanation(event.message, found))


def _fill_payload(fill: Fill) -> dict[str, Any]:
    return {
        "order_id": fill.order_id,
        "client_order_id": fill.client_order_id,
        "side": fill.side,
        "price": fill.price,
        "quantity": fill.quantity,
        "fee": fill.fee,
        "trade_id": fill.trade_id,
    }


def _with_explanation(message: str, found: Any) -> str:
    """Cause and next step first; the venue's own words after, when they add anything."""
    if found is None:
        return message
    text = str(found.text())
    if message and message.rstrip(".").lower() not in text.lower():
        return f"{text} (Details: {message})"
    return text


def _update_payload(u: OrderUpdate) -> dict[str, Any]:
    return {
        "status": u.status,
        "raw_status": u.raw_status,
        "final": u.final,
        "order_id": u.order_id,
        "client_order_id": u.client_order_id,
        "side": u.side,
        "type": u.order_type,
        "tif": u.time_in_force,
        "quantity": u.quantity,
        "remaining": u.remaining,
        "filled": u.filled,
        "price": u.price,
        "trigger_price": u.trigger_price,
        "message": u.message,
        "venue_time": u.venue_time,
    }


def _working_payload(o: WorkingOrder) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "client_order_id": o.client_order_id,
        "kind": o.kind,
        "type": o.order_type,
        "side": o.side,
        "quantity": o.quantity,
        "remaining": o.remaining,
        "price": o.price,
        "trigger_price": o.trigger_price,
        "trigger_event": o.trigger_event,
        "raw_status": o.raw_status,
    }


def with_quantity(request: CloseRequest, quantity: Decimal | None) -> CloseRequest:
    """A copy with a new quantity and a fresh client order id (a new request, never a resend)."""
    return replace(request, quantity=quantity, client_order_id=new_client_order_id())
