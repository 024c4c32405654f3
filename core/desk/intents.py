"""Close intents: one per click that sent a close, matched to the venue's order updates and
settled.

An intent's state only claims what the venue confirmed. A close whose reply never came is
Unknown once the connection drops and is never resent; it is reconciled from an order lookup
or from the positions the venue shows after reconnecting. A filled full close is then verified
flat from venue data, or it gets a mismatch the user cannot miss.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from core.desk.book import Book
from core.explain import explain
from core.model import (
    ZERO,
    CloseRequest,
    OrderStatus,
    OrderUpdate,
    PositionKey,
)

__all__ = [
    "AlreadyPending",
    "CloseIntent",
    "IntentChanged",
    "IntentState",
    "Intents",
    "JournalFn",
]


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
    # Send to the venue's first reply: the wire time the session measured at the transport
    # (then ``wire_ms`` is set too, and ``app_ms`` is what the app itself added around it), or
    # the desk's own figure, from starting the send to handling the reply, when it has none.
    first_reply_ms: float | None = None
    wire_ms: float | None = None
    app_ms: float | None = None
    updates: list[OrderUpdate] = field(default_factory=list)
    # The venue was asked after a reconnect and has no open order for it (final UNKNOWN).
    lookup_done: bool = False
    # After a full close: True once venue data shows the position flat, False if it still
    # shows it when the check times out (a mismatch the user must see), None until then.
    verified_flat: bool | None = None
    next_step: str = ""
    # While Unknown: how many times the venue has been asked what became of it, and why the
    # last check got no answer ("" while one is under way or it answered).
    checks: int = 0
    check_failed: str = ""
    _changed: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    # Waits until what the desk journaled so far is durable: a waiter hears of a state only
    # once its record is (set by the registry; None for an intent no desk holds).
    _journaled: Callable[[], Awaitable[None]] | None = field(default=None, repr=False,
                                                             compare=False)

    @property
    def key(self) -> PositionKey:
        return self.request.key

    async def wait(self, predicate: Callable[[CloseIntent], bool], timeout: float) -> None:
        """Wait until ``predicate(self)`` holds and the journal records that say so are
        durable; raises TimeoutError."""
        async with asyncio.timeout(timeout):
            while not predicate(self):
                self._changed.clear()
                await self._changed.wait()
            if self._journaled is not None:
                await self._journaled()

    async def settled(self, timeout: float = 10.0) -> CloseIntent:
        await self.wait(lambda i: i.state.settled or i.state is IntentState.RESTING, timeout)
        return self


class AlreadyPending(Exception):
    """A close of this position is already in flight; nothing new was sent."""

    def __init__(self, intent: CloseIntent) -> None:
        super().__init__(f"a close of {intent.key} is already {intent.state.value.lower()}")
        self.intent = intent


@dataclass(frozen=True, slots=True)
class IntentChanged:
    intent: CloseIntent


class JournalFn(Protocol):
    def __call__(self, kind: str, payload: Mapping[str, Any] | str, **kw: Any) -> object: ...


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


class Intents:
    """The registry of close intents, in the order they were made.

    ``connected(account)`` says whether the account's session is connected now (an Unknown
    close is reconciled only from a live book). ``emit`` announces a changed intent.
    """

    def __init__(
        self,
        *,
        book: Book,
        journal: JournalFn,
        emit: Callable[[IntentChanged], None],
        connected: Callable[[str], bool],
        verify_timeout: float,
        journaled: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.verify_timeout = verify_timeout
        self._journaled = journaled
        self._book = book
        self._journal = journal
        self._emit = emit
        self._connected = connected
        self.all: dict[str, CloseIntent] = {}
        self._by_client_id: dict[str, CloseIntent] = {}
        self._by_order_id: dict[tuple[str, str], CloseIntent] = {}
        # Each position's intents, oldest first: a flatten asks about its own position on every
        # close, which must not cost a walk through every intent of the session.
        self._by_key: dict[PositionKey, list[CloseIntent]] = {}
        self._verifying: dict[PositionKey, list[CloseIntent]] = {}

    # ------------------------------------------------------------------ queries
    def register(self, intent: CloseIntent) -> None:
        intent._journaled = self._journaled
        self.all[intent.id] = intent
        self._by_client_id[intent.request.client_order_id] = intent
        self._by_key.setdefault(intent.key, []).append(intent)

    def pending(self, key: PositionKey) -> CloseIntent | None:
        """The in-flight close of this position, if any."""
        for intent in reversed(self._by_key.get(key, ())):
            if intent.state.in_flight:
                return intent
        return None

    def latest(self, key: PositionKey) -> CloseIntent | None:
        intents = self._by_key.get(key)
        return intents[-1] if intents else None

    def owner(self, account: str, client_order_id: str | None,
              order_id: str | None) -> CloseIntent | None:
        """The intent an order's fill or update belongs to, by either id."""
        return (self._by_client_id.get(client_order_id or "")
                or self._by_order_id.get((account, order_id or "")))

    def residual(self, key: PositionKey) -> Decimal | None:
        """What an IOC close left behind: the position's size now, if the latest close of it
        settled partly filled. Cleared by any newer close of the position."""
        intent = self.latest(key)
        pos = self._book.get(key)
        if intent is None or pos is None or intent.state is not IntentState.PARTIAL:
            return None
        return pos.quantity

    # ------------------------------------------------------------------ updates
    def settle(self, intent: CloseIntent, state: IntentState, message: str, raw: str = "") -> None:
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

    def unrecorded(self, intent: CloseIntent, message: str) -> None:
        """Settle a close that was never sent because the journal stopped: no record (the
        journal takes none) and no event (nothing is shown that the journal did not record);
        the caller raises."""
        intent.state = IntentState.REJECTED
        intent.message = message
        intent._changed.set()

    def apply(self, update: OrderUpdate) -> CloseIntent | None:
        """Advance the intent an order update belongs to; None if it belongs to none."""
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
        elif update.status is OrderStatus.ACK and not update.final and _rests(intent, update):
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

    def mark_unknown(self, account: str) -> None:
        """A close whose reply never came is unknown once the connection drops; never resent."""
        for intent in self.all.values():
            if intent.key.account == account and intent.state in (
                IntentState.SENDING,
                IntentState.ACKNOWLEDGED,
            ):
                self.settle(
                    intent,
                    IntentState.UNKNOWN,
                    "connection lost before the close was confirmed; it was not resent and "
                    "will be reconciled when the venue is back",
                )

    def reconcile_account(self, account: str, *, fresh: bool = False) -> None:
        """Positions of the account: settle what they show was done. ``fresh``: a snapshot
        just read from the venue, live data even while its socket is down."""
        for intent in list(self.all.values()):
            if intent.key.account == account:
                self._reconcile_from_book(intent, fresh=fresh)

    def unknown(self, account: str) -> list[CloseIntent]:
        return [i for i in self.all.values()
                if i.key.account == account and i.state is IntentState.UNKNOWN]

    def checking(self, intents: list[CloseIntent], attempt: int, failed: str) -> None:
        """The venue is being asked about these Unknown closes (attempt ``attempt``), or that
        attempt got no answer (``failed`` says why)."""
        for intent in intents:
            intent.checks = attempt
            intent.check_failed = failed
            self._journal(
                "reconcile_check",
                {"attempt": attempt, "answered": None if not failed else False,
                 "why": failed},
                account=intent.key.account, venue=intent.key.venue.value,
                symbol=intent.key.symbol, intent_id=intent.id, reason=intent.request.reason,
            )
            intent._changed.set()
            self._emit(IntentChanged(intent))

    def _reconcile_from_book(self, intent: CloseIntent, *, fresh: bool = False) -> bool:
        """Settle an Unknown close from the venue's positions after a reconnect.

        Order lookups cannot always find a close that already filled (QFEX's ``get_order``
        takes only the venue's order id, which a lost ACK never told us), so the position is
        the other witness DESIGN.md names. Assumption, documented in the README: nothing else
        traded this position while the connection was down.
        """
        if intent.state is not IntentState.UNKNOWN:
            return False
        req = intent.request
        if not fresh and not self._connected(req.key.account):
            return False
        pos = self._book.get(req.key)
        now = pos.quantity if pos is not None and pos.side is req.position_side else ZERO
        done = req.position_quantity - now
        wanted = req.quantity if req.quantity is not None else req.position_quantity
        if done >= wanted:
            state, message = IntentState.FILLED, (
                f"Reconciled from the venue's positions: the position is down by {done}, so "
                "the close was executed")
        elif done > 0:
            state, message = IntentState.PARTIAL, (
                f"Reconciled from the venue's positions: {done} of {wanted} was closed")
        elif intent.lookup_done:
            state, message = IntentState.CANCELLED, (
                "Not executed: after reconnecting the venue has no order for it and the "
                "position is unchanged. Nothing was resent; close again if you still want to")
        else:
            return False
        intent.filled = max(intent.filled, max(done, ZERO))
        self.settle(intent, state, message, raw="RECONCILED")
        return True

    # ------------------------------------------------------------------ verified flat
    def position_gone(self, key: PositionKey) -> None:
        """The position left the book: every full close waiting to see it flat has."""
        for intent in self._verifying.pop(key, []):
            self._set_verified(intent, True)

    def _start_verification(self, intent: CloseIntent) -> None:
        """After a full close fills, venue data must show the position flat within
        ``verify_timeout``; otherwise the row gets a mismatch the user cannot miss."""
        if intent.verified_flat is not None:
            return
        if intent.key not in self._book.positions:
            self._set_verified(intent, True)
            return
        self._verifying.setdefault(intent.key, []).append(intent)
        loop = asyncio.get_running_loop()
        loop.call_later(self.verify_timeout, self._verification_timeout, intent)

    def _verification_timeout(self, intent: CloseIntent) -> None:
        waiting = self._verifying.get(intent.key, [])
        if intent in waiting:
            waiting.remove(intent)
            self._set_verified(intent, intent.key not in self._book.positions)

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


def _rests(intent: CloseIntent, update: OrderUpdate) -> bool:
    """An acknowledged limit GTC close rests at the venue until the price comes to it."""
    req = intent.request
    return req.limit_price is not None and (update.time_in_force or "GTC") == "GTC"
