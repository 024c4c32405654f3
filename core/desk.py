"""The desk: accounts to sessions, the positions book, close intents and event fan-out.

Everything the GUI (or the CLI) shows comes from here, and every action goes through here, so
the safety rules live in one place:

* at most one close in flight per (account, symbol) unless the caller explicitly asks;
* nothing is resent automatically;
* every intent, request, reply and update is journaled before listeners hear of it;
* bad venue data never corrupts the book (sessions emit typed events; the desk only applies
  well-formed ones).
"""

from __future__ import annotations

import asyncio
import enum
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from core.closing.rules import FieldError, check_amounts
from core.explain import explain
from core.journal import Journal
from core.model import (
    ZERO,
    Capabilities,
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
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
    SessionClosed,
    VenueSession,
)

__all__ = [
    "AlreadyPending",
    "CancelPending",
    "CloseIntent",
    "Desk",
    "DeskEvent",
    "IntentChanged",
    "IntentState",
    "PositionChanged",
    "PositionUpserted",
    "SessionFactory",
]

log = logging.getLogger(__name__)

SessionFactory = Callable[[AccountConfig, Credentials, EventSink], VenueSession]


class IntentState(enum.StrEnum):
    SENDING = "Sending"
    ACKNOWLEDGED = "Acknowledged"
    RESTING = "Resting"
    FILLED = "Filled"
    PARTIAL = "Partly filled"
    REJECTED = "Rejected"
    CANCELLED = "Cancelled"
    UNKNOWN = "Unknown"

    @property
    def in_flight(self) -> bool:
        """States that block a second close of the same position."""
        return self in (IntentState.SENDING, IntentState.ACKNOWLEDGED, IntentState.UNKNOWN)

    @property
    def settled(self) -> bool:
        return self in (
            IntentState.FILLED,
            IntentState.PARTIAL,
            IntentState.REJECTED,
            IntentState.CANCELLED,
        )


@dataclass
class CloseIntent:
    """One user click that sends one close. Mutable: the desk advances it as replies arrive."""

    id: str
    request: CloseRequest
    state: IntentState = IntentState.SENDING
    message: str = ""
    raw_status: str = ""
    order_id: str | None = None
    filled: Decimal = ZERO
    remaining: Decimal | None = None
    created_at: float = field(default_factory=time.time)
    sent_at: float | None = None  # time.perf_counter() when send started
    first_reply_ms: float | None = None
    updates: list[OrderUpdate] = field(default_factory=list)
    # The venue was asked after a reconnect and has no open order for it (final UNKNOWN).
    lookup_done: bool = False
    # After a full close: True once venue data shows the position flat, False if it still
    # shows it when the check times out (a mismatch the user must see), None until then.
    verified_flat: bool | None = None
    next_step: str = ""
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def key(self) -> PositionKey:
        return self.request.key

    async def wait(self, predicate: Callable[[CloseIntent], bool], timeout: float) -> None:
        """Wait until ``predicate(self)`` holds; raises TimeoutError."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()

    async def settled(self, timeout: float = 10.0) -> CloseIntent:
        await self.wait(lambda i: i.state.settled or i.state is IntentState.RESTING, timeout)
        return self


class PositionChanged(CloseRejected):
    """The live book no longer matches what the user saw; nothing was sent.

    ``current`` is the position now (None if flat), so a dialog can show it and ask again, and
    offer to clamp a partial quantity with the user's consent.
    """

    def __init__(self, message: str, reason: str, current: Position | None) -> None:
        super().__init__(message, code="POSITION_CHANGED")
        self.reason = reason  # "flat" | "side" | "shrank"
        self.current = current


class AlreadyPending(Exception):
    """A close of this position is already in flight; nothing new was sent."""

    def __init__(self, intent: CloseIntent) -> None:
        super().__init__(f"a close of {intent.key} is already {intent.state.value.lower()}")
        self.intent = intent


class CancelPending(Exception):
    """A cancel of this order is already on its way; nothing new was sent."""


@dataclass(frozen=True, slots=True)
class PositionUpserted:
    position: Position


@dataclass(frozen=True, slots=True)
class IntentChanged:
    intent: CloseIntent


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
)
Listener = Callable[[DeskEvent], None]

_STATUS_TO_STATE: Mapping[OrderStatus, IntentState] = {
    OrderStatus.SENT: IntentState.SENDING,
    OrderStatus.ACK: IntentState.ACKNOWLEDGED,
    OrderStatus.TRIGGER_ACK: IntentState.RESTING,
    OrderStatus.TRIGGERED: IntentState.ACKNOWLEDGED,
    OrderStatus.FILLED: IntentState.FILLED,
    OrderStatus.CANCELLED: IntentState.CANCELLED,
    OrderStatus.REJECTED: IntentState.REJECTED,
    OrderStatus.UNKNOWN: IntentState.UNKNOWN,
}


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
    ) -> None:
        self.journal = journal
        self.verify_timeout = verify_timeout
        self._factory = session_factory
        self._sessions: dict[str, VenueSession] = {}
        self._accounts: dict[str, AccountConfig] = {}
        self._states: dict[str, ConnectionState] = {}
        self._book: dict[PositionKey, Position] = {}
        self._by_symbol: dict[tuple[Venue, str], set[PositionKey]] = {}
        self._marks: dict[tuple[Venue, str], MarkUpdate] = {}
        self._intents: dict[str, CloseIntent] = {}
        self._by_client_id: dict[str, CloseIntent] = {}
        self._by_order_id: dict[tuple[str, str], CloseIntent] = {}
        self._listeners: list[Listener] = []
        self._working: dict[tuple[str, str], WorkingOrder] = {}
        self._cancelling: set[tuple[str, str]] = set()
        self._verifying: dict[PositionKey, list[CloseIntent]] = {}

    # ------------------------------------------------------------------ listeners
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def _emit(self, event: DeskEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not break the desk or other views
                log.exception("desk listener failed on %s", type(event).__name__)

    def _journal(self, kind: str, payload: Mapping[str, Any] | str, **kw: Any) -> None:
        if self.journal is not None:
            self.journal.append(kind, payload, **kw)

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
        re-raised; other accounts are unaffected."""
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
            raise

    async def disconnect(self, name: str) -> None:
        """Stop one account's session and drop its rows and working orders from the book.

        Intents are kept: the journal and the log still show what was done on the account.
        """
        session = self._sessions.pop(name, None)
        account = self._accounts.pop(name, None)
        if session is not None:
            await session.stop()
        for key in [k for k in self._book if k.account == name]:
            self._remove(key)
        for ident in [i for i in self._working if i[0] == name]:
            order = self._working.pop(ident)
            self._emit(WorkingOrderRemoved(order.venue, name, order.order_id, "account removed"))
        self._states.pop(name, None)
        if account is not None:
            event = ConnectionEvent(account.venue, name, ConnectionState.DISCONNECTED,
                                    "account removed")
            self._journal("connection", {"state": event.state, "message": event.message},
                          **self._ctx(account))
            self._emit(event)

    async def start(self, accounts: Iterable[tuple[AccountConfig, Credentials]]) -> list[str]:
        """Connect every account concurrently. Returns the names that failed to connect."""
        pairs = list(accounts)
        results = await asyncio.gather(
            *(self.connect(a, c) for a, c in pairs), return_exceptions=True
        )
        return [a.name for (a, _), r in zip(pairs, results, strict=True)
                if isinstance(r, BaseException)]

    async def stop(self) -> None:
        sessions = list(self._sessions.values())
        await asyncio.gather(*(s.stop() for s in sessions), return_exceptions=True)

    # ------------------------------------------------------------------ queries
    @property
    def positions(self) -> Mapping[PositionKey, Position]:
        return self._book

    def capabilities(self, key: PositionKey) -> Capabilities:
        return self._sessions[key.account].capabilities

    def instrument(self, key: PositionKey) -> Instrument | None:
        session = self._sessions.get(key.account)
        return session.instruments.get(key.symbol) if session else None

    def mark(self, venue: Venue, symbol: str) -> MarkUpdate | None:
        return self._marks.get((venue, symbol))

    def intents(self) -> Mapping[str, CloseIntent]:
        return self._intents

    def pending(self, key: PositionKey) -> CloseIntent | None:
        """The in-flight close of this position, if any."""
        for intent in reversed(self._intents.values()):
            if intent.key == key and intent.state.in_flight:
                return intent
        return None

    def latest_intent(self, key: PositionKey) -> CloseIntent | None:
        for intent in reversed(self._intents.values()):
            if intent.key == key:
                return intent
        return None

    def preview(self, request: CloseRequest) -> str:
        return self._sessions[request.key.account].preview_close(request)

    def health(self, account: str) -> SessionHealth:
        session = self._sessions.get(account)
        return session.health() if session else SessionHealth(connected=False)

    @property
    def working_orders(self) -> Mapping[tuple[str, str], WorkingOrder]:
        """Resting limit closes and triggers, keyed by (account, order id)."""
        return self._working

    def working_for(self, key: PositionKey) -> list[WorkingOrder]:
        return [
            o for o in self._working.values()
            if o.account == key.account and o.symbol == key.symbol and o.venue is key.venue
        ]

    def cancelling(self, order: WorkingOrder) -> bool:
        return order.ident in self._cancelling

    async def cancel(self, order: WorkingOrder, *, reason: str | None = None) -> None:
        """Cancel one resting order, once. Raises CancelPending if a cancel of it is already on
        its way, CancelRejected if refused or unanswered (the order may still be working)."""
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
        self._journal(
            "cancel_intent",
            {"order_id": order.order_id, "kind": order.kind, "client_order_id":
             order.client_order_id},
            **ctx,
        )
        self._journal("request", session.preview_cancel(order), **ctx)
        started = time.perf_counter()
        try:
            await session.cancel_order(order)
        except SessionClosed as exc:
            self._journal("cancel_result", {"ok": False, "message": str(exc)}, **ctx)
            raise CancelRejected(f"not connected; nothing was sent ({exc})") from exc
        except CancelRejected as exc:
            self._journal("cancel_result", {"ok": False, "message": str(exc),
                                            "code": exc.code}, **ctx)
            raise
        finally:
            self._cancelling.discard(order.ident)
        self._journal(
            "cancel_result", {"ok": True}, **ctx,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    # ------------------------------------------------------------------ closing
    def check(self, request: CloseRequest) -> None:
        """Refuse a request that no longer matches the live book. Raises CloseRejected."""
        pos = self._book.get(request.key)
        if pos is None:
            raise PositionChanged(
                f"{request.key.symbol} is already flat on {request.key.account}; nothing sent",
                "flat", None)
        if pos.side is not request.position_side:
            raise PositionChanged(
                f"the position is now {pos.side.value.lower()} {pos.quantity}, not "
                f"{request.position_side.value.lower()}; review it and close again",
                "side", pos)
        try:
            check_amounts(request)
        except FieldError as exc:
            raise CloseRejected(exc.message) from None
        if request.quantity is not None and request.quantity > pos.quantity:
            raise PositionChanged(
                f"the position is now {pos.quantity}, less than the {request.quantity} "
                "you asked to close",
                "shrank", pos)

    async def close(self, request: CloseRequest, *, allow_concurrent: bool = False) -> CloseIntent:
        """Send one close. Raises AlreadyPending (nothing sent) if one is in flight for the same
        position, CloseRejected if it is refused before or at the venue."""
        if not allow_concurrent and (pending := self.pending(request.key)) is not None:
            raise AlreadyPending(pending)
        session = self._sessions.get(request.key.account)
        if session is None:
            raise CloseRejected(f"account {request.key.account!r} is not configured")
        self.check(request)
        intent = CloseIntent(id=new_client_order_id("intent"), request=request)
        self._intents[intent.id] = intent
        self._by_client_id[request.client_order_id] = intent
        key = request.key
        ctx: dict[str, Any] = {
            "account": key.account,
            "venue": key.venue.value,
            "symbol": key.symbol,
            "intent_id": intent.id,
            "reason": request.reason,
        }
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
        self._journal("request", session.preview_close(request), **ctx)
        self._emit(IntentChanged(intent))
        intent.sent_at = time.perf_counter()
        try:
            await session.send_close(request)
        except SessionClosed as exc:
            self._settle(intent, IntentState.REJECTED, f"not connected; nothing was sent ({exc})")
            raise CloseRejected(intent.message) from exc
        except CloseRejected as exc:
            # Only a close nothing else was heard of is Rejected here; an Unknown one (the reply
            # was lost) stays Unknown until reconciled.
            if intent.state is IntentState.SENDING:
                found = explain(exc.code or "", str(exc))
                message = _with_explanation(str(exc), found)
                intent.next_step = found.next_step if found else ""
                self._settle(intent, IntentState.REJECTED, message, raw=exc.code or "")
                raise CloseRejected(message, code=exc.code) from exc
            if intent.state is IntentState.REJECTED:  # the venue's reply settled it first
                raise CloseRejected(intent.message, code=exc.code) from exc
            raise
        return intent

    def _settle(self, intent: CloseIntent, state: IntentState, message: str, raw: str = "") -> None:
        intent.state = state
        intent.message = message
        intent.raw_status = raw or intent.raw_status
        self._journal(
            "intent_state",
            {"state": state.value, "message": message},
            account=intent.key.account,
            venue=intent.key.venue.value,
            symbol=intent.key.symbol,
            intent_id=intent.id,
            reason=intent.request.reason,
        )
        intent._changed.set()
        self._emit(IntentChanged(intent))

    def _apply_to_intent(self, update: OrderUpdate) -> CloseIntent | None:
        intent = None
        if update.client_order_id:
            intent = self._by_client_id.get(update.client_order_id)
        if intent is None and update.order_id:
            intent = self._by_order_id.get((update.account, update.order_id))
        if intent is None:
            return None
        if update.order_id and intent.order_id is None:
            intent.order_id = update.order_id
            self._by_order_id[(update.account, update.order_id)] = intent
        if intent.first_reply_ms is None and intent.sent_at is not None:
            intent.first_reply_ms = (time.perf_counter() - intent.sent_at) * 1000
        intent.updates.append(update)
        if update.filled is not None:
            intent.filled = max(intent.filled, update.filled)
        if update.remaining is not None:
            intent.remaining = update.remaining
        if update.status is OrderStatus.PARTIAL:
            state = IntentState.PARTIAL if update.final else IntentState.RESTING
        elif update.status is OrderStatus.CANCELLED and intent.filled > 0:
            state = IntentState.PARTIAL
        elif update.status is OrderStatus.ACK and not update.final and self._rests(intent, update):
            state = IntentState.RESTING
        else:
            state = _STATUS_TO_STATE.get(update.status, intent.state)
        # A late duplicate must not move a settled intent backwards.
        if intent.state.settled and not state.settled:
            return intent
        intent.state = state
        intent.raw_status = update.raw_status
        intent.message = update.message
        if state is IntentState.REJECTED:
            found = explain(update.raw_status, update.message)
            intent.next_step = found.next_step if found else ""
        if state is IntentState.FILLED and intent.request.is_full:
            self._start_verification(intent)
        if update.status is OrderStatus.UNKNOWN and update.final:
            intent.lookup_done = True
            self._reconcile_from_book(intent)
        intent._changed.set()
        return intent

    # ------------------------------------------------------------------ verified flat
    def _start_verification(self, intent: CloseIntent) -> None:
        """After a full close fills, venue data must show the position flat within
        ``verify_timeout``; otherwise the row gets a mismatch the user cannot miss."""
        if intent.verified_flat is not None:
            return
        if intent.key not in self._book:
            self._set_verified(intent, True)
            return
        self._verifying.setdefault(intent.key, []).append(intent)
        loop = asyncio.get_running_loop()
        loop.call_later(self.verify_timeout, self._verification_timeout, intent)

    def _verification_timeout(self, intent: CloseIntent) -> None:
        waiting = self._verifying.get(intent.key, [])
        if intent in waiting:
            waiting.remove(intent)
            self._set_verified(intent, intent.key not in self._book)

    def _set_verified(self, intent: CloseIntent, flat: bool) -> None:
        intent.verified_flat = flat
        pos = self._book.get(intent.key)
        self._journal(
            "verify_flat",
            {"flat": flat, "position": None if pos is None else str(pos.signed_quantity)},
            account=intent.key.account, venue=intent.key.venue.value,
            symbol=intent.key.symbol, intent_id=intent.id, reason=intent.request.reason,
        )
        if not flat:
            intent.message = (
                f"Mismatch: the venue reported the close filled, but it still shows "
                f"{pos.quantity if pos else '?'} open after {self.verify_timeout:g} s. Check the "
                "position at the venue; nothing was resent.")
        intent._changed.set()
        self._emit(IntentChanged(intent))

    def residual(self, key: PositionKey) -> Decimal | None:
        """What an IOC close left behind: the position's size now, if the latest close of it
        settled partly filled. Cleared by any newer close of the position."""
        intent = self.latest_intent(key)
        pos = self._book.get(key)
        if intent is None or pos is None or intent.state is not IntentState.PARTIAL:
            return None
        return pos.quantity

    def data_age(self, key: PositionKey, now: float | None = None) -> float | None:
        """Seconds since venue data last vouched for this row: its own update, or any message
        on a connected session (which would have carried a change). None if unknown."""
        pos = self._book.get(key)
        if pos is None:
            return None
        newest = pos.received_at
        session = self._sessions.get(key.account)
        if session is not None:
            health = session.health()
            if health.connected and health.last_message_at is not None:
                newest = max(newest, health.last_message_at)
        return max(0.0, (time.monotonic() if now is None else now) - newest)

    def _reconcile_from_book(self, intent: CloseIntent) -> bool:
        """Settle an Unknown close from the venue's positions after a reconnect.

        Order lookups cannot always find a close that already filled (QFEX's ``get_order``
        takes only the venue's order id, which a lost ACK never told us), so the position is
        the other witness DESIGN.md names. Assumption, documented in the README: nothing else
        traded this position while the connection was down.
        """
        if intent.state is not IntentState.UNKNOWN:
            return False
        req = intent.request
        if self.connection_state(req.key.account) is not ConnectionState.CONNECTED:
            return False
        pos = self._book.get(req.key)
        now = pos.quantity if pos is not None and pos.side is req.position_side else ZERO
        done = req.position_quantity - now
        wanted = req.quantity if req.quantity is not None else req.position_quantity
        if done >= wanted:
            state, message = IntentState.FILLED, (
                f"Reconciled after reconnecting: the position is down by {done}, so the close "
                "was executed")
        elif done > 0:
            state, message = IntentState.PARTIAL, (
                f"Reconciled after reconnecting: {done} of {wanted} was closed")
        elif intent.lookup_done:
            state, message = IntentState.CANCELLED, (
                "Not executed: after reconnecting the venue has no order for it and the "
                "position is unchanged. Nothing was resent; close again if you still want to")
        else:
            return False
        intent.filled = max(intent.filled, max(done, ZERO))
        self._settle(intent, state, message, raw="RECONCILED")
        return True

    @staticmethod
    def _rests(intent: CloseIntent, update: OrderUpdate) -> bool:
        """An acknowledged limit GTC close rests at the venue until the price comes to it."""
        req = intent.request
        return req.limit_price is not None and (update.time_in_force or "GTC") == "GTC"

    # ------------------------------------------------------------------ venue events
    def _sink_for(self, account: AccountConfig) -> EventSink:
        def sink(event: SessionEvent) -> None:
            try:
                self._on_event(account, event)
            except Exception:  # never let bad data take the session's reader down
                log.exception("desk failed to apply %s", type(event).__name__)

        return sink

    def _ctx(self, account: AccountConfig, symbol: str | None = None) -> dict[str, Any]:
        return {"account": account.name, "venue": account.venue.value, "symbol": symbol}

    def _on_event(self, account: AccountConfig, event: SessionEvent) -> None:
        if isinstance(event, Position):
            self._upsert(event)
        elif isinstance(event, PositionsSnapshot):
            self._apply_snapshot(event)
        elif isinstance(event, PositionRemoved):
            self._remove(event.key)
        elif isinstance(event, MarkUpdate):
            self._apply_mark(event)
        elif isinstance(event, OrderUpdate):
            if event.status in (OrderStatus.REJECTED, OrderStatus.CANCELLED):
                found = explain(event.raw_status, event.message)
                if found is not None and (event.status is OrderStatus.REJECTED
                                          or found.category == "self_trade"):
                    event = replace(event, message=_with_explanation(event.message, found))
            intent = self._apply_to_intent(event)
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
            owner = (self._by_client_id.get(event.client_order_id or "")
                     or self._by_order_id.get((account.name, event.order_id or "")))
            self._journal(
                "fill",
                {
                    "order_id": event.order_id,
                    "client_order_id": event.client_order_id,
                    "side": event.side,
                    "price": event.price,
                    "quantity": event.quantity,
                    "fee": event.fee,
                    "trade_id": event.trade_id,
                },
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
                self._mark_unknown(account.name)
            self._emit(event)
        elif isinstance(event, WorkingOrder):
            self._journal("working_order", _working_payload(event), **self._ctx(account,
                                                                               event.symbol))
            self._working[event.ident] = event
            self._emit(event)
        elif isinstance(event, WorkingOrderRemoved):
            if self._working.pop((event.account, event.order_id), None) is not None:
                self._journal(
                    "working_order_removed",
                    {"order_id": event.order_id, "reason": event.reason},
                    **self._ctx(account),
                )
                self._emit(event)
        elif isinstance(event, WorkingOrdersSnapshot):
            self._apply_working_snapshot(account, event)
        elif isinstance(event, ProtocolError):
            self._journal(
                "protocol_error",
                {"message": event.message, "code": event.code, "raw": event.raw[:500]},
                **self._ctx(account),
            )
            self._emit(event)

    def _mark_unknown(self, account: str) -> None:
        """A close whose reply never came is unknown once the connection drops; never resent."""
        for intent in self._intents.values():
            if intent.key.account == account and intent.state in (
                IntentState.SENDING,
                IntentState.ACKNOWLEDGED,
            ):
                self._settle(
                    intent,
                    IntentState.UNKNOWN,
                    "connection lost before the close was confirmed; it was not resent and "
                    "will be reconciled when the venue is back",
                )

    def _apply_working_snapshot(self, account: AccountConfig, snap: WorkingOrdersSnapshot) -> None:
        self._journal(
            "working_orders_snapshot",
            {"orders": [_working_payload(o) for o in snap.orders]},
            **self._ctx(account),
        )
        seen = {o.ident for o in snap.orders}
        for ident in [i for i in self._working if i[0] == snap.account and i not in seen]:
            del self._working[ident]
            self._emit(WorkingOrderRemoved(snap.venue, snap.account, ident[1], "not at venue"))
        for order in snap.orders:
            if self._working.get(order.ident) != order:
                self._working[order.ident] = order
                self._emit(order)

    def _upsert(self, position: Position) -> None:
        vs = (position.key.venue, position.key.symbol)
        if position.mark_price is None and (mark := self._marks.get(vs)) is not None:
            position = position.with_mark(mark.mark)
        old = self._book.get(position.key)
        self._book[position.key] = position
        self._by_symbol.setdefault(vs, set()).add(position.key)
        if old != position:
            self._emit(PositionUpserted(position))

    def _remove(self, key: PositionKey) -> None:
        if self._book.pop(key, None) is not None:
            self._by_symbol.get((key.venue, key.symbol), set()).discard(key)
            self._emit(PositionRemoved(key))
            for intent in self._verifying.pop(key, []):
                self._set_verified(intent, True)

    def _apply_snapshot(self, snap: PositionsSnapshot) -> None:
        seen = {p.key for p in snap.positions}
        for key in [k for k in self._book if k.account == snap.account and k not in seen]:
            self._remove(key)
        for pos in snap.positions:
            self._upsert(pos)
        for intent in list(self._intents.values()):
            if intent.key.account == snap.account:
                self._reconcile_from_book(intent)

    def _apply_mark(self, update: MarkUpdate) -> None:
        vs = (update.venue, update.symbol)
        self._marks[vs] = update
        for key in self._by_symbol.get(vs, ()):
            pos = self._book[key]
            if pos.mark_price != update.mark:
                self._book[key] = repriced = pos.with_mark(update.mark)
                self._emit(PositionUpserted(repriced))
        self._emit(update)


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
