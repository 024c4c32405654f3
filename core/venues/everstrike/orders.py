"""Everstrike order state, sans-IO: what we know about our closes, fed by what the wire said.

The session does the I/O and feeds this machine what happened: a close was sent, its REST reply
(or its loss), parsed WebSocket events, the connection going and coming back, order listings and
lookups. The machine answers with the events the desk should hear (:meth:`events_to_emit`) and
the requests the session should make (:meth:`requests_to_make`). It reads no clock and does no
I/O, so every rule here is tested by feeding inputs and reading outputs.

Everstrike has no client order id. The venue's order id is mapped to ours as soon as the
``/auth/close`` reply names it, and WebSocket events that race ahead of that reply are held
until it comes. A close whose reply is lost is UNKNOWN and is never resent: it is looked up in
``/orders`` (``protocol.match_close`` documents the heuristic).

Each order's status only moves forward: TRIGGER_ACK, TRIGGERED, ACK, PARTIAL (while the fill
grows), then one final status. The REST reply and the WebSocket both report the same steps, in
either order; whichever reports a step first is passed on, and a repeat or a step back is
dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final, TypeVar

from core.model import (
    CloseRequest,
    DroppedUpdate,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionRemoved,
    PositionsSnapshot,
    SessionEvent,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
from core.venue import PreparedClose
from core.venues.everstrike import protocol
from core.venues.everstrike.protocol import VenueOrder

__all__ = [
    "EverstrikeOrders",
    "LookUp",
    "Reconcile",
    "RefreshPositions",
    "Request",
    "Scope",
    "SyncSubscriptions",
]

VENUE: Final = protocol.VENUE
MEMORY_LIMIT: Final = 10_000  # per-order bookkeeping kept, oldest dropped first
LOOKUP_LIMIT: Final = 20  # single-order lookups after a reconnect, at most
NOT_FOUND: Final = "not found at the venue: it may not have arrived; check the position"

# How far an order's status has got. Final statuses outrank them all.
_RANK: Final = {
    OrderStatus.TRIGGER_ACK: 0,
    OrderStatus.TRIGGERED: 1,
    OrderStatus.ACK: 2,
    OrderStatus.PARTIAL: 3,
}
_FINAL_RANK: Final = 9

_Shape = tuple[Decimal | None, Decimal | None, Decimal | None]  # remaining, price, trigger price
_V = TypeVar("_V")


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True, slots=True)
class Reconcile:
    """Look at the venue's recent orders after ``delay`` seconds; ``scope()`` says then what to
    list. ``after_reconnect``: every close still open is checked too."""

    delay: float
    after_reconnect: bool = False


@dataclass(frozen=True, slots=True)
class LookUp:
    """``GET /order?id=``: one of our open closes that the listing did not show."""

    order_id: str


@dataclass(frozen=True, slots=True)
class RefreshPositions:
    """Take a fresh positions snapshot: a close's outcome stays unknown, the book may not."""


@dataclass(frozen=True, slots=True)
class SyncSubscriptions:
    """The pairs we hold changed: subscribe or unsubscribe their marks."""


Request = Reconcile | LookUp | RefreshPositions | SyncSubscriptions


@dataclass(frozen=True, slots=True)
class Scope:
    """What one look at ``/orders`` and ``/triggers`` must cover: ``pair`` narrows the listing
    (None: every pair)."""

    pair: str | None
    after_reconnect: bool


@dataclass(slots=True)
class _Unresolved:
    """A close whose outcome we do not know; ``sent_ms`` is the venue-clock time it was signed."""

    request: CloseRequest
    sent_ms: int
    failures: int = 0
    # Already reported REJECTED (a venue 5xx): speak up only if the venue has it after all.
    quiet: bool = False


@dataclass(frozen=True, slots=True)
class _Said:
    """The furthest status passed on for one order, and whether it carried our id."""

    rank: int
    filled: Decimal | None
    remaining: Decimal | None
    ours: bool


def _remember(table: OrderedDict[str, _V], key: str, value: _V) -> None:
    """Store as the newest entry; past MEMORY_LIMIT the oldest is forgotten."""
    table[key] = value
    table.move_to_end(key)
    while len(table) > MEMORY_LIMIT:
        table.popitem(last=False)


class EverstrikeOrders:
    """The order bookkeeping of one Everstrike account.

    Inputs are the methods below; outputs are drained with :meth:`events_to_emit` and
    :meth:`requests_to_make` after each input, in the order they were produced.
    """

    def __init__(
        self,
        account: str,
        *,
        match_slack_ms: int = 2000,
        reconcile_delay: float = 0.5,
        reconcile_retry: float = 2.0,
        reconcile_attempts: int = 3,
    ) -> None:
        self.account = account
        self._match_slack_ms = match_slack_ms
        self._reconcile_delay = reconcile_delay
        self._reconcile_retry = reconcile_retry
        self._reconcile_attempts = max(1, reconcile_attempts)
        self._events: list[SessionEvent] = []
        self._requests: list[Request] = []
        self._connected = False
        self._ever_connected = False
        self._pairs: dict[str, None] = {}  # open positions, in the order we saw them
        self._clients: OrderedDict[str, str] = OrderedDict()  # venue id -> our client id
        self._open_closes: OrderedDict[str, str] = OrderedDict()  # ours, not final: id -> ours
        self._said: OrderedDict[str, _Said] = OrderedDict()  # order status passed on, by id
        # How far each order got as a working order: 0 trigger, 1 in the book, 2 done; and the
        # shape last passed on. An upsert that would move it backwards is dropped.
        self._stage: OrderedDict[str, tuple[int, _Shape | None]] = OrderedDict()
        self._inflight: dict[str, int] = {}  # symbol -> closes POSTed and not yet answered
        # WS events waiting for those answers, each with the frame that carried it.
        self._held: dict[str, list[tuple[SessionEvent, str]]] = {}
        self._unresolved: dict[str, _Unresolved] = {}  # client id -> close of unknown outcome

    # ------------------------------------------------------------------ outputs

    def events_to_emit(self) -> list[SessionEvent]:
        """Events for the desk, oldest first; each is returned once."""
        events, self._events = self._events, []
        return events

    def requests_to_make(self) -> list[Request]:
        """Requests for the session to make, oldest first; each is returned once."""
        requests, self._requests = self._requests, []
        return requests

    # ------------------------------------------------------------------ state

    @property
    def pairs(self) -> Sequence[str]:
        """Pairs with an open position, in the order they were first seen."""
        return tuple(self._pairs)

    @property
    def unresolved(self) -> frozenset[str]:
        """Client ids of closes whose outcome is not known yet."""
        return frozenset(self._unresolved)

    def client_of(self, order_id: str) -> str | None:
        return self._clients.get(order_id)

    def scope(self, *, after_reconnect: bool) -> Scope | None:
        """What a look at the venue's recent orders must cover now; None when nothing does."""
        tracked = after_reconnect and bool(self._open_closes)
        if not self._unresolved and not tracked:
            return None
        pairs = {item.request.key.symbol for item in self._unresolved.values()}
        pair = next(iter(pairs)) if len(pairs) == 1 and not tracked else None
        return Scope(pair=pair, after_reconnect=after_reconnect)

    # ------------------------------------------------------------------ inputs: a close

    def sent(self, prepared: PreparedClose) -> None:
        """The close is about to be written: hold its pair's events until the reply."""
        symbol = prepared.request.key.symbol
        self._inflight[symbol] = self._inflight.get(symbol, 0) + 1

    def replied(
        self,
        prepared: PreparedClose,
        events: Sequence[OrderUpdate | Position | PositionRemoved | WorkingOrder],
        raw: str = "",
    ) -> None:
        """The venue answered the close with these (parsed) events; ``raw`` is the reply's
        body, which the journal keeps if what it says turns out a repeat."""
        request = prepared.request
        if not any(isinstance(event, OrderUpdate) for event in events):
            self.lost(prepared, "accepted", "Everstrike answered OK without an order")
        for event in events:
            if isinstance(event, OrderUpdate) and event.order_id is not None:
                _remember(self._clients, event.order_id, request.client_order_id)
        # The WebSocket events held for this order were received before this reply: they go
        # first, so each step is said by whichever channel reported it first, in the order it
        # was received (the reply then repeats them, and is set aside as such).
        self._release_named(request.key.symbol)
        for event in events:
            self._route(event, direct=True, raw=raw)

    def rejected(
        self, prepared: PreparedClose, raw_status: str, message: str, *, look: bool = False
    ) -> None:
        """Refused, before the wire or by the venue. ``look``: a server error that may have
        come after the work was done, so look once and correct the record if it was."""
        self._outcome(prepared.request, OrderStatus.REJECTED, raw_status, message)
        if look:
            self._track_unknown(prepared, quiet=True)

    def lost(self, prepared: PreparedClose, raw_status: str, why: str) -> None:
        """The close may or may not be working: say so, never resend, go and find out."""
        message = f"{why}; not resent. Checking Everstrike's order list to find out what happened."
        self._outcome(prepared.request, OrderStatus.UNKNOWN, raw_status, message, final=False)
        self._track_unknown(prepared)

    def send_ended(self, prepared: PreparedClose) -> None:
        """The POST is over, however it ended: release the events held for its pair."""
        symbol = prepared.request.key.symbol
        left = self._inflight.get(symbol, 1) - 1
        if left > 0:
            self._inflight[symbol] = left
            return
        self._inflight.pop(symbol, None)
        for event, raw in self._held.pop(symbol, []):
            self._route(event, raw=raw)

    def _release_named(self, symbol: str) -> None:
        """Pass on the held order events of ``symbol`` whose order a reply has now named; the
        rest (another close's, positions) stay held until their POSTs end."""
        held = self._held.get(symbol)
        if not held:
            return
        named: list[tuple[SessionEvent, str]] = []
        kept: list[tuple[SessionEvent, str]] = []
        for item in held:
            event = item[0]
            ours = isinstance(event, OrderUpdate | WorkingOrder) and (
                event.order_id or "") in self._clients
            (named if ours else kept).append(item)
        if not named:
            return
        self._held[symbol] = kept
        for event, raw in named:
            self._route(event, raw=raw)

    def cancelled(self, order: WorkingOrder, update: OrderUpdate | None, raw: str = "") -> None:
        """``/auth/cancel`` succeeded, with the order's state when the reply (``raw``)
        carried it."""
        if update is not None:
            self._route(update, direct=True, raw=raw)
        self._route(WorkingOrderRemoved(VENUE, self.account, order.order_id, "cancelled"))

    # ------------------------------------------------------------------ inputs: the stream

    def receive(self, event: SessionEvent, raw: str = "") -> None:
        """One parsed WebSocket event (control messages and errors are the session's), with
        the frame that carried it, which the journal keeps if the event turns out a duplicate."""
        self._route(event, raw=raw)

    def connection_made(self) -> None:
        """Authenticated and snapshotted. After a reconnect, events may have been missed, so
        every lost close and every close still open is looked up."""
        again = self._ever_connected
        self._connected = self._ever_connected = True
        if again and (self._unresolved or self._open_closes):
            self._requests.append(Reconcile(0.0, after_reconnect=True))

    def connection_lost(self) -> None:
        self._connected = False

    # ------------------------------------------------------------------ inputs: listings

    def positions(self, positions: Iterable[Position]) -> None:
        """An ``/active_positions`` snapshot."""
        snapshot = tuple(positions)
        self._pairs = dict.fromkeys(p.key.symbol for p in snapshot)
        self._events.append(PositionsSnapshot(venue=VENUE, account=self.account,
                                              positions=snapshot))

    def working(self, orders: Iterable[WorkingOrder]) -> None:
        """An ``/active_orders`` + ``/triggers`` snapshot; orders we know moved on are left out."""
        kept = tuple(self._stamp(o) for o in orders if self._advance(o, live=False))
        self._events.append(WorkingOrdersSnapshot(venue=VENUE, account=self.account,
                                                  orders=kept))

    def recent(self, orders: Iterable[VenueOrder], scope: Scope) -> None:
        """``/orders`` and ``/triggers`` as listed for ``scope``: match lost closes; check the
        closes still open (after a reconnect), asking for a lookup of those not listed."""
        newest: dict[str, VenueOrder] = {}
        for order in orders:
            order_id = order.update.order_id or ""
            known = newest.get(order_id)
            if known is None or (order.time_ms or 0) >= (known.time_ms or 0):
                newest[order_id] = order
        for client_id, item in list(self._unresolved.items()):
            if scope.pair is not None and item.request.key.symbol != scope.pair:
                continue  # not in this listing
            match = protocol.match_close(
                list(newest.values()),
                item.request,
                item.sent_ms,
                slack_ms=self._match_slack_ms,
                claimed=set(self._clients),  # our other closes, known by id
            )
            if match is not None:
                del self._unresolved[client_id]
                self._found(client_id, match, "Found at Everstrike after the lost reply")
            elif self._connected or scope.after_reconnect:
                del self._unresolved[client_id]
                self._not_found(item)
            # else: the WS is down; look again after the reconnect.
        if not scope.after_reconnect:
            return
        lookups = 0
        for order_id, client_id in list(self._open_closes.items()):
            match = newest.get(order_id)
            if match is not None:
                self._found(client_id, match, "After the reconnect")
            elif lookups < LOOKUP_LIMIT:
                lookups += 1
                self._requests.append(LookUp(order_id))

    def recent_failed(self, why: str) -> None:
        """Listing ``/orders`` failed: retry a few times, then say the outcome stays unknown."""
        if not self._connected:
            return  # the reconnect looks again
        retry = False
        for client_id, item in list(self._unresolved.items()):
            item.failures += 1
            if item.failures < self._reconcile_attempts:
                retry = True
                continue
            del self._unresolved[client_id]
            if item.quiet:
                continue
            self._outcome(
                item.request,
                OrderStatus.UNKNOWN,
                "lookup failed",
                f"could not check at Everstrike ({why}); the close may or may not have been "
                "placed — check the position. Not resent.",
            )
            self._requests.append(RefreshPositions())
        if retry:
            self._requests.append(Reconcile(self._reconcile_retry))

    def looked_up(self, order_id: str, order: VenueOrder | None) -> None:
        """``GET /order?id=`` for an open close; None when it could not be read."""
        client_id = self._open_closes.get(order_id)
        if order is not None and client_id is not None:  # else: settled while we looked
            self._found(client_id, order, "After the reconnect")

    # ------------------------------------------------------------------ routing

    def _route(self, event: SessionEvent, *, direct: bool = False, raw: str = "") -> None:
        """Stamp our client id on order events, hold those that race ahead of a POST reply,
        and drop what would repeat or undo what was already passed on."""
        if isinstance(event, OrderUpdate | WorkingOrder):
            client_id = self._clients.get(event.order_id or "")
            if client_id is None and not direct and event.symbol in self._inflight:
                self._held.setdefault(event.symbol, []).append((event, raw))
                return
            if client_id is not None and event.client_order_id is None:
                event = replace(event, client_order_id=client_id)
            if isinstance(event, OrderUpdate):
                if not self._news(event):
                    # Journaled as received, never shown as a new state.
                    self._events.append(DroppedUpdate(event, "late or duplicate", raw))
                    return
                self._track(event)
            elif not self._advance(event):
                return
        elif isinstance(event, WorkingOrderRemoved):
            self._set_stage(event.order_id, 1 if event.reason == "triggered" else 2)
        elif isinstance(event, Position | PositionRemoved):
            symbol = event.key.symbol
            if not direct and symbol in self._inflight:
                self._held.setdefault(symbol, []).append((event, raw))
                return
            held = symbol in self._pairs
            if isinstance(event, Position):
                self._pairs.setdefault(symbol)
            else:
                self._pairs.pop(symbol, None)
            if held != (symbol in self._pairs):
                self._requests.append(SyncSubscriptions())
        self._events.append(event)

    def _news(self, update: OrderUpdate) -> bool:
        """Whether an order update says something not yet passed on, and record it if so.

        A repeated or earlier step is not news, unless it is the first to name our close: a
        lost reply found later must still reach the close it settles.
        """
        order_id = update.order_id
        if order_id is None:
            return True
        rank = _FINAL_RANK if update.final else _RANK.get(update.status)
        ours = update.client_order_id is not None
        said = self._said.get(order_id)
        if said is not None and not (ours and not said.ours):
            if said.rank == _FINAL_RANK:
                return False
            if rank is not None and (
                rank < said.rank or (rank == said.rank and not _more_filled(update, said))
            ):
                return False
        if rank is None:
            return True  # a status we cannot place: pass it on, remember nothing
        _remember(self._said, order_id, _Said(rank, update.filled, update.remaining,
                                              ours or (said is not None and said.ours)))
        return True

    def _track(self, update: OrderUpdate) -> None:
        """Follow our closes until final; after a reconnect, the ones still open are re-read."""
        order_id = update.order_id
        if order_id is None:
            return
        if update.final:
            self._set_stage(order_id, 2)
            self._open_closes.pop(order_id, None)
        elif update.client_order_id is not None:
            _remember(self._open_closes, order_id, update.client_order_id)

    def _advance(self, order: WorkingOrder, *, live: bool = True) -> bool:
        """Record a working-order upsert; False when it would move the order backwards, or
        (``live``) when it repeats what was last passed on (the reply and its WS echo)."""
        rank = 0 if order.kind is WorkingKind.TRIGGER else 1
        shape = (order.remaining, order.price, order.trigger_price)
        known = self._stage.get(order.order_id)
        if known is not None:
            known_rank, known_shape = known
            if rank < known_rank:
                return False
            if rank == known_rank and known_shape is not None:
                if live and known_shape == shape:
                    return False
                known_remaining = known_shape[0]
                if (
                    known_remaining is not None
                    and order.remaining is not None
                    and order.remaining > known_remaining
                ):
                    return False
        self._set_stage(order.order_id, rank, shape)
        return True

    def _set_stage(self, order_id: str, rank: int, shape: _Shape | None = None) -> None:
        known = self._stage.get(order_id)
        if known is not None and known[0] > rank:
            return
        _remember(self._stage, order_id, (rank, shape))

    def _stamp(self, order: WorkingOrder) -> WorkingOrder:
        client_id = self._clients.get(order.order_id)
        if client_id is not None and order.client_order_id is None:
            return replace(order, client_order_id=client_id)
        return order

    # ------------------------------------------------------------------ outcomes

    def _outcome(
        self,
        request: CloseRequest,
        status: OrderStatus,
        raw_status: str,
        message: str,
        *,
        final: bool = True,
    ) -> None:
        """An OrderUpdate of our own for the request, when the venue gave us none."""
        trigger = request.trigger
        self._events.append(
            OrderUpdate(
                venue=VENUE,
                account=self.account,
                symbol=request.key.symbol,
                status=status,
                raw_status=raw_status,
                final=final,
                client_order_id=request.client_order_id,
                side=request.order_side,
                quantity=request.quantity,
                price=request.limit_price,
                trigger_price=trigger.price if trigger is not None else None,
                message=message,
            )
        )

    def _track_unknown(self, prepared: PreparedClose, *, quiet: bool = False) -> None:
        request = prepared.request
        sent_ms = prepared.stamped_ms if prepared.stamped_ms is not None else 0
        self._unresolved[request.client_order_id] = _Unresolved(request, sent_ms, quiet=quiet)
        self._requests.append(Reconcile(self._reconcile_delay))

    def _found(self, client_id: str, order: VenueOrder, why: str) -> None:
        update = order.update
        if update.order_id is not None:
            _remember(self._clients, update.order_id, client_id)
        self._route(
            replace(update, client_order_id=client_id, message=f"{why}: {update.message}"),
            direct=True,
        )
        if order.working is not None:
            self._route(order.working, direct=True)

    def _not_found(self, item: _Unresolved) -> None:
        if item.quiet:
            return
        self._outcome(item.request, OrderStatus.UNKNOWN, "not found", NOT_FOUND)
        self._requests.append(RefreshPositions())


def _more_filled(update: OrderUpdate, said: _Said) -> bool:
    """A partial fill that grew since the last one passed on."""
    if update.filled is not None and (said.filled is None or update.filled > said.filled):
        return True
    return update.remaining is not None and (
        said.remaining is None or update.remaining < said.remaining
    )
