"""QFEX order state, sans-IO: what our closes, cancels and the venue's resting orders are now.

The session feeds this machine what happened, in the order it happened, and carries out what
the machine asks for; the machine itself does no I/O and reads no clock (the ``received_at``
stamps on the events it builds come from ``core.model``'s own defaults, as in ``protocol``).

Inputs: ``claim``/``release``/``sent`` for a close, ``cancel_sent``/``cancel_abandoned`` for a
cancel, ``listing_asked``/``listing_abandoned``, ``receive`` for every parsed trade-socket
event, ``connection_lost``, ``connected`` (with the connect's order listing) and ``reconcile``
(with the listing of a reconnect).

Outputs, drained by the session after each input:

* ``events_to_emit()``: the events the desk should hear, in order;
* ``frames_to_send()``: ``get_order`` lookups, as (message type, frame);
* ``outputs()``: answers for the session's waiters (:class:`CancelAnswered`,
  :class:`ListingAnswered`), rate penalties (:class:`Penalty`) and the updates dropped as late
  or duplicate (:class:`Dropped`), which the desk journals as received but shows nobody.

A close moves awaiting -> working -> done, or awaiting -> unknown when the connection drops
first; it is written once and never again. Each order's status only moves forward (see
:class:`StatusGate`), so one close shows at most one ACK, one TRIGGER_ACK and one final state,
whichever message said it first.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, replace
from decimal import Decimal

from core.model import (
    CloseRequest,
    Fill,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionRemoved,
    ProtocolError,
    SessionEvent,
    WorkingKind,
    WorkingOrder,
)
from core.venue import CancelRejected, CloseRejected, PreparedCancel, PreparedClose
from core.venues.qfex import protocol
from core.venues.qfex.protocol import Ack, ErrorFrame, OrdersList, QfexEvent, StopOrder
from core.venues.qfex.working import WorkingOrders

__all__ = [
    "CANCEL_GONE",
    "CANCEL_LOST",
    "CANCEL_NO_ANSWER",
    "GONE",
    "LOST",
    "RATE_LIMITED",
    "UNREADABLE",
    "CancelAnswered",
    "CancelKey",
    "CheckCloses",
    "Dropped",
    "ListingAnswered",
    "Output",
    "Penalty",
    "QfexOrders",
    "StatusGate",
    "build_cancel",
    "cancel_key",
]

LOST = "Connection lost before the venue answered; not resent"
UNREADABLE = (
    "QFEX sent a reply that could not be read; not resent. Checking the venue's positions and "
    "open orders to find out what happened"
)
GONE = (
    "No longer open at the venue after reconnecting: it filled, was cancelled or never "
    "arrived while the connection was down. Positions were refreshed; check the position"
)
RATE_LIMITED = "rate limited by QFEX; slowed down — nothing was resent"
CANCEL_GONE = "already gone: filled or cancelled"
CANCEL_NO_ANSWER = "no answer; the order may still be working — refresh"
CANCEL_LOST = "connection lost before the venue answered; the order may still be working — refresh"

_STOP_TYPES = ("STOP_LOSS", "TAKE_PROFIT")
_CANCELLED_STATUSES = frozenset({"CANCELLED", "CANCELLED_STP"})
# Statuses that answer a cancel or modify of an existing order, never a new order.
_NOT_A_PLACEMENT_REPLY = frozenset(
    {"NO_SUCH_ORDER", "CANNOT_MODIFY_NO_SUCH_ORDER", "CANNOT_MODIFY_PARTIAL_FILL"}
)

# A cancel in flight: ("order" | "stop", venue id). QFEX replies carry no request id, so the
# ids a reply names are the only link to the cancel it answers.
CancelKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class CancelAnswered:
    """The venue answered (or can no longer answer) the cancel ``key``; ``error`` if refused."""

    key: CancelKey
    error: CancelRejected | None = None


@dataclass(frozen=True, slots=True)
class ListingAnswered:
    """The order listing asked for was answered; ``error`` is the venue's refusal, and
    ``lost`` says the connection dropped before any answer."""

    error: str | None = None
    lost: bool = False


@dataclass(frozen=True, slots=True)
class Penalty:
    """The venue said we went too fast; ``seconds`` is its hint, None when it gave none."""

    seconds: float | None


@dataclass(frozen=True, slots=True)
class Dropped:
    """An update that says nothing new (a duplicate) or says less than is already known (a
    late ACK after FILLED). Journaled as received, never shown."""

    event: OrderUpdate | Fill
    why: str


@dataclass(frozen=True, slots=True)
class CheckCloses:
    """A frame that may have answered a close could not be read: refresh the positions, then
    list the open orders (the manual refresh's path), which settles the closes now Unknown."""


Output = CancelAnswered | ListingAnswered | Penalty | Dropped | CheckCloses

# Frames that never answer a close: an unreadable one of these leaves the closes alone.
_NOT_A_REPLY = ('"position_response"', '"fill_response"', '"stop_order_response"',
                '"all_orders_response"', '"balance_response"', '"channel"', '"subscribed"',
                '"unsubscribed"', '"authenticated"', '"ack"')


def cancel_key(order: WorkingOrder) -> CancelKey:
    return ("stop" if order.kind is WorkingKind.TRIGGER else "order", order.order_id)


def build_cancel(order: WorkingOrder) -> str:
    """The one frame that cancels a working order."""
    if order.kind is WorkingKind.TRIGGER:
        # UNKNOWN #7: a stop known only from get_user_orders is cancelled by that listing's
        # order_id, assumed equal to its stop_order_id; if not, the venue says so.
        return protocol.build_cancel_stop_order(order.order_id)
    return protocol.build_cancel_order(order.symbol, order.order_id)


# --------------------------------------------------------------------------- monotonic status

# How far along an order is. A trigger rests before it fires; a fired or plain order is live
# (ACK), then partly filled, then final. Unknown and statuses we cannot read have no rank.
_RANK = {OrderStatus.TRIGGER_ACK: 1, OrderStatus.ACK: 2, OrderStatus.PARTIAL: 3}
_FINAL = 4


@dataclass(slots=True)
class _Seen:
    rank: int
    filled: Decimal | None
    shape: tuple[object, ...]


class StatusGate:
    """Each order's status only moves forward, whichever message reports it first.

    A final state is reported once and nothing after it is; a state below the last one reported
    is late; the same state again is a duplicate. Two exceptions move an order without raising
    its rank: a partial fill that filled more, and a MODIFIED order whose price or size changed.
    A trigger is acknowledged once, however many channels say it rests.

    Memory is bounded: the oldest orders are forgotten first, so a long session stays flat.
    """

    def __init__(self, memory: int = 20_000) -> None:
        self._seen: OrderedDict[str, _Seen] = OrderedDict()
        self._memory = memory

    def finished(self, key: str | None) -> bool:
        seen = self._seen.get(key) if key is not None else None
        return seen is not None and seen.rank == _FINAL

    def admit(self, key: str | None, update: OrderUpdate) -> str | None:
        """None when ``update`` moves the order forward (and it is remembered), else why it
        is dropped. An update with no key cannot be compared and always passes."""
        if key is None:
            return None
        seen = self._seen.get(key)
        if seen is not None and seen.rank == _FINAL:
            return "the order already reached a final state"
        if update.status is OrderStatus.UNKNOWN and not update.final:
            return None  # says nothing about progress, and never moves an order back
        rank = _FINAL if update.final else _RANK.get(update.status, 0)
        shape = (update.raw_status, update.quantity, update.remaining, update.price,
                 update.trigger_price)
        if seen is not None:
            if rank < seen.rank:
                return f"late: {update.status.value} after a later state"
            if rank == seen.rank and not _moves(rank, seen, update, shape):
                return f"duplicate {update.status.value}"
        self._seen[key] = _Seen(rank, update.filled, shape)
        self._seen.move_to_end(key)
        while len(self._seen) > self._memory:
            self._seen.popitem(last=False)
        return None


def _moves(rank: int, seen: _Seen, update: OrderUpdate, shape: tuple[object, ...]) -> bool:
    if rank == _RANK[OrderStatus.PARTIAL]:
        if update.filled is not None and seen.filled is not None:
            return update.filled > seen.filled
        return shape != seen.shape
    if rank == _RANK[OrderStatus.ACK]:
        return update.raw_status == "MODIFIED" and shape != seen.shape
    return False


# --------------------------------------------------------------------------- the machine


class QfexOrders:
    """Every piece of order bookkeeping for one QFEX account (see the module docstring)."""

    venue = protocol.VENUE

    def __init__(self, account: str, *, memory: int = 20_000) -> None:
        self.account = account
        self._events: list[SessionEvent] = []
        self._frames: list[tuple[str, str]] = []
        self._outputs: list[Output] = []
        # Closes, by client_order_id.
        self._sent: set[str] = set()  # every id ever written: an id is never written twice
        self._awaiting: dict[str, CloseRequest] = {}  # written, no reply yet
        self._working: dict[str, CloseRequest] = {}  # answered, not final yet
        self._unknown: dict[str, CloseRequest] = {}  # connection lost before any reply
        self._expected_type: dict[str, str] = {}  # the order type each close puts on the book
        self._order_ids: dict[str, str] = {}  # venue order_id -> our client_order_id
        self._lookups: dict[str, str] = {}  # get_order after a reconnect: order id -> our id
        self._gate = StatusGate(memory)
        self._trades: OrderedDict[str, None] = OrderedDict()  # fill trade ids already reported
        self._memory = memory
        # Cancels in flight, in send order (the FIFO fallback needs it), with their symbols.
        self._cancels: dict[CancelKey, str] = {}
        self.working = WorkingOrders(account, self._events, self.is_ours)

    # ------------------------------------------------------------------ outputs

    def events_to_emit(self) -> list[SessionEvent]:
        events = list(self._events)
        self._events.clear()  # the same list the working-order map appends to
        return events

    def frames_to_send(self) -> list[tuple[str, str]]:
        frames, self._frames = self._frames, []
        return frames

    def outputs(self) -> list[Output]:
        outputs, self._outputs = self._outputs, []
        return outputs

    # ------------------------------------------------------------------ inputs: closes

    def claim(self, prepared: PreparedClose) -> None:
        """Reserve the close's id before any wait, so a second send of it cannot slip through.
        Raises ``CloseRejected`` for an id that was written once already."""
        cid = prepared.request.client_order_id
        if cid in self._sent:
            raise CloseRejected(
                f"Client order id {cid} was already sent once; a close is never resent",
                code="client_order_id",
            )
        self._sent.add(cid)

    def release(self, prepared: PreparedClose) -> None:
        """Nothing was written after ``claim``: the id may be used again."""
        cid = prepared.request.client_order_id
        if cid not in self._awaiting:
            self._sent.discard(cid)

    def sent(self, prepared: PreparedClose) -> None:
        """The close is about to be written (its reply may be read before the write returns)."""
        cid = prepared.request.client_order_id
        self._sent.add(cid)
        self._awaiting[cid] = prepared.request
        self._expected_type[cid] = _expected_type(prepared.wire)

    def is_ours(self, client_order_id: str | None) -> bool:
        return client_order_id is not None and client_order_id in self._sent

    # ------------------------------------------------------------------ inputs: cancels

    def cancel_sent(self, prepared: PreparedCancel) -> CancelKey:
        """A cancel is about to be written; its answer will name this key."""
        key = cancel_key(prepared.order)
        self._cancels[key] = prepared.order.symbol
        return key

    def cancel_abandoned(self, key: CancelKey) -> None:
        """Nobody waits for this cancel's answer any more (not written, or timed out)."""
        self._cancels.pop(key, None)

    # ------------------------------------------------------------------ inputs: connection

    def listing_asked(self) -> None:
        self.working.listing_asked()

    def listing_abandoned(self) -> None:
        """The listing asked for will never be read: the connect that asked for it failed."""
        self.working.listing_done()

    def connected(self, listing: OrdersList | None) -> None:
        """A (re)connect read the venue's open orders (None: the venue refused the listing)."""
        if listing is not None:
            self.working.apply_listing(listing)
        self.working.listing_done()

    def reconcile(self, listing: OrdersList) -> None:
        """After a reconnect: closes found open report their real state, closes that finished
        while we were away are looked up (``frames_to_send``), the rest are reported gone."""
        self._reconcile(listing, after_reconnect=True)

    def connection_lost(self) -> None:
        """Every close still waiting for its reply becomes UNKNOWN, and every cancel or
        listing still waiting fails. None is resent."""
        self.working.listing_done()
        for cid, request in self._awaiting.items():
            self._unknown[cid] = request
            self._report(self._unknown_update(request, final=False, message=LOST))
        self._awaiting.clear()
        self._lookups.clear()  # looked up again after the next reconnect
        cancels, self._cancels = self._cancels, {}
        for key in cancels:
            lost = CancelRejected(CANCEL_LOST, code="connection")
            self._outputs.append(CancelAnswered(key, lost))
        self._outputs.append(ListingAnswered(lost=True))

    # ------------------------------------------------------------------ inputs: venue events

    def receive(self, event: QfexEvent) -> None:
        if isinstance(event, OrderUpdate):
            self._on_order(event)
        elif isinstance(event, Fill):
            self._on_fill(event)
        elif isinstance(event, Position | PositionRemoved):
            self._events.append(event)
        elif isinstance(event, ProtocolError):
            self._events.append(event)
            self._unreadable(event.raw or "")
        elif isinstance(event, ErrorFrame):
            self._on_error(event)
        elif isinstance(event, StopOrder):
            self._on_stop(event)
        elif isinstance(event, OrdersList):
            self._on_orders(event)
        elif isinstance(event, Ack):
            self._on_ack(event)
        # Authenticated, Subscribed, Unsubscribed and BalanceUpdate need nothing here.

    # ------------------------------------------------------------------ status

    def _key(self, update: OrderUpdate) -> str | None:
        """Our closes are known by our id (a fired stop trades under a new order id but keeps
        ours); any other order by the venue's id."""
        if self.is_ours(update.client_order_id):
            return f"close:{update.client_order_id}"
        return f"order:{update.order_id}" if update.order_id else None

    def _report(self, update: OrderUpdate) -> bool:
        """Emit ``update`` if it moves its order forward; returns whether it did."""
        why = self._gate.admit(self._key(update), update)
        if why is not None:
            self._outputs.append(Dropped(update, why))
            return False
        self._events.append(update)
        return True

    # ------------------------------------------------------------------ closes

    def _match(self, update: OrderUpdate) -> str | None:
        """INFERRED: the seed's examples show ``client_order_id: ""`` in replies, so a reply may
        not echo our id. Fall back to the order id once known, then to the oldest unanswered
        close on that symbol whose side and order type fit (the official CLI's FIFO)."""
        if update.client_order_id:
            return update.client_order_id
        if update.order_id and update.order_id in self._order_ids:
            return self._order_ids[update.order_id]
        if update.raw_status in _NOT_A_PLACEMENT_REPLY:
            return None  # answers a cancel or modify, never an add_order or close_position
        for cid, request in self._awaiting.items():
            if (
                request.key.symbol == update.symbol
                and request.order_side is update.side
                and self._expected_type.get(cid) == update.order_type
            ):
                return cid
        return None

    def _unreadable(self, raw: str) -> None:
        """A frame that could not be read may be a close's reply (QFEX replies carry no
        request id). The closes it names, else those awaiting on a symbol it names, else every
        awaiting close become Unknown, as at a drop, and are checked; none is resent. A frame
        that is plainly something else (a position, a fill, ...) leaves them alone."""
        if not self._awaiting:
            return
        hit = [cid for cid in self._awaiting if f'"{cid}"' in raw]
        if not hit and ('"order_response"' in raw or not any(k in raw for k in _NOT_A_REPLY)):
            hit = [cid for cid, request in self._awaiting.items()
                   if f'"{request.key.symbol}"' in raw] or list(self._awaiting)
        for cid in hit:
            request = self._awaiting.pop(cid)
            self._unknown[cid] = request
            self._report(self._unknown_update(request, final=False, message=UNREADABLE))
        if hit:
            self._outputs.append(CheckCloses())

    def _settle(self, cid: str, final: bool) -> None:
        request = self._awaiting.pop(cid, None) or self._unknown.pop(cid, None)
        request = request or self._working.get(cid)
        if final:
            self._working.pop(cid, None)
        elif request is not None:
            self._working[cid] = request

    def _on_order(self, update: OrderUpdate) -> None:
        if update.raw_status == "RATE_LIMITED":
            self._outputs.append(Penalty(None))
            update = replace(update, message=RATE_LIMITED)
        if self._answers_cancel(update):
            return
        if update.order_id in self._lookups:
            if update.raw_status in _NOT_A_PLACEMENT_REPLY:
                self.working.track(update)
                self._lookup_failed(update.order_id, "the venue has no record of the order")
                return
            del self._lookups[update.order_id]
        cid = self._match(update)
        if cid is not None and update.client_order_id is None:
            update = replace(update, client_order_id=cid)
        why = self._gate.admit(self._key(update), update)
        if why is not None:
            # A late ACK must not bring back an order that already finished.
            self._outputs.append(Dropped(update, why))
            return
        self.working.track(update)
        if cid is not None:
            if update.order_id:
                self._order_ids[update.order_id] = cid
            self._settle(cid, update.final)
        self._events.append(update)

    def _on_fill(self, fill: Fill) -> None:
        if fill.trade_id is not None:
            if fill.trade_id in self._trades:
                self._outputs.append(Dropped(fill, f"duplicate fill {fill.trade_id}"))
                return
            self._trades[fill.trade_id] = None
            while len(self._trades) > self._memory:
                self._trades.popitem(last=False)
        if fill.client_order_id is None and fill.order_id in self._order_ids:
            fill = replace(fill, client_order_id=self._order_ids[fill.order_id])
        self._events.append(fill)

    def _on_error(self, err: ErrorFrame) -> None:
        limited = err.error_code == "RateLimited"
        if limited:
            self._outputs.append(Penalty(err.retry_after))
        message = RATE_LIMITED if limited else err.message
        if err.incoming_type in ("cancel_order", "cancel_stop_order"):
            kind = "order" if err.incoming_type == "cancel_order" else "stop"
            target = err.order_id if kind == "order" else err.stop_order_id
            key = self._cancel_key(kind, target, err.symbol)
            if key is not None:
                self._finish_cancel(key, CancelRejected(message, code=err.error_code))
                return
        if err.incoming_type == "get_order" and err.order_id in self._lookups:
            self._lookup_failed(err.order_id, message)
            return
        if err.incoming_type == "get_user_orders":
            self._events.append(
                ProtocolError(
                    self.venue,
                    self.account,
                    f"Working orders could not be listed: {message}",
                    code=err.error_code,
                )
            )
            self._outputs.append(ListingAnswered(error=message))
            self.working.listing_done()
            return
        cid = err.client_order_id
        if cid is None:
            self._events.append(ProtocolError(self.venue, self.account, message,
                                              code=err.error_code))
            return
        request = self._awaiting.get(cid) or self._working.get(cid) or self._unknown.get(cid)
        self._settle(cid, final=True)
        self._report(
            OrderUpdate(
                venue=self.venue,
                account=self.account,
                symbol=err.symbol or (request.key.symbol if request else ""),
                status=OrderStatus.REJECTED,
                raw_status=err.error_code,
                final=True,
                client_order_id=cid,
                side=request.order_side if request else None,
                message=message,
            )
        )

    def _on_stop(self, stop: StopOrder) -> None:
        cid = stop.client_order_id
        update = OrderUpdate(
            venue=self.venue,
            account=self.account,
            symbol=stop.symbol,
            status=OrderStatus.TRIGGER_ACK,
            raw_status=stop.stop_order_type,
            final=False,
            order_id=stop.stop_order_id,
            client_order_id=cid,
            side=stop.side,
            order_type=stop.stop_order_type,
            quantity=stop.quantity,
            trigger_price=stop.price,
            message=f"{stop.stop_order_type} rests until the mark price reaches {stop.price}",
            venue_time=stop.update_time,
        )
        if self._gate.finished(self._key(update)):
            # The stop already fired or went: a late push must not list it as working again.
            self._outputs.append(Dropped(update, "the order already reached a final state"))
            return
        if cid is not None:
            self._settle(cid, final=False)
        self.working.stop_pushed(stop)
        self._report(update)

    def _on_orders(self, listing: OrdersList) -> None:
        """A ``get_user_orders`` reply read by the reader: the answer to ``refresh_orders``."""
        self.working.apply_listing(listing)
        self.working.listing_done()
        self._reconcile(listing, after_reconnect=False)
        self._outputs.append(ListingAnswered())

    # ------------------------------------------------------------------ reconciling

    def _reconcile(self, listing: OrdersList, *, after_reconnect: bool) -> None:
        """Closes found in the venue's open orders report their real state. Answered closes
        that are no longer open finished while we were away, and ``get_order`` tells how.
        Closes whose reply was lost have no order id to look up, so they are reported gone and
        positions tell the rest.

        Only after a reconnect can an answered close have finished unseen; a manual refresh
        settles only the closes whose reply was lost (UNKNOWN).
        """
        targets = {**self._working, **self._unknown} if after_reconnect else dict(self._unknown)
        found = {o.client_order_id: o for o in listing.orders if o.client_order_id}
        known = {cid: oid for oid, cid in self._order_ids.items()}
        for cid, request in targets.items():
            if cid in found:
                self._on_order(found[cid])
            elif cid in self._working and cid in known:
                oid = known[cid]
                self._lookups[oid] = cid
                frame = protocol.build_get_order(oid, request.key.symbol)
                self._frames.append(("get_order", frame))
            elif cid in self._unknown or cid in self._working:
                self._settle(cid, final=True)
                self._report(self._unknown_update(request, final=True, message=GONE))

    def _lookup_failed(self, order_id: str, detail: str) -> None:
        cid = self._lookups.pop(order_id, None)
        request = self._working.get(cid) if cid else None
        if cid is None or request is None:
            return
        self._settle(cid, final=True)
        self._report(self._unknown_update(request, final=True, message=f"{GONE} ({detail})"))

    def _unknown_update(self, request: CloseRequest, *, final: bool, message: str) -> OrderUpdate:
        return OrderUpdate(
            venue=self.venue,
            account=self.account,
            symbol=request.key.symbol,
            status=OrderStatus.UNKNOWN,
            raw_status="",
            final=final,
            client_order_id=request.client_order_id,
            side=request.order_side,
            quantity=request.quantity or request.position_quantity,
            price=request.limit_price,
            trigger_price=request.trigger.price if request.trigger else None,
            message=message,
        )

    # ------------------------------------------------------------------ cancels

    def _cancel_key(self, kind: str, target: str | None, symbol: str | None) -> CancelKey | None:
        """The cancel a reply answers: by the id it names, else (INFERRED, as the CLI's FIFO)
        the oldest cancel of that kind on that symbol still waiting."""
        if target is not None:
            key = (kind, target)
            return key if key in self._cancels else None
        for key, key_symbol in self._cancels.items():
            if key[0] == kind and symbol in (None, key_symbol):
                return key
        return None

    def _finish_cancel(self, key: CancelKey, error: CancelRejected | None = None) -> None:
        if self._cancels.pop(key, None) is not None:
            self._outputs.append(CancelAnswered(key, error))

    def _answers_cancel(self, update: OrderUpdate) -> bool:
        """Settle a waiting ``cancel_order`` with this reply. Returns True when the reply is
        only about the cancel (NO_SUCH_ORDER and kin), so it is not shown as a close update."""
        raw = update.raw_status
        if raw in ("ACK", "MODIFIED", "FILLED") or raw not in protocol.STATUS_TEXT:
            return False  # a state of the order, not the answer to our cancel
        key: CancelKey | None = None
        if update.order_id and raw in _CANCELLED_STATUSES:
            # The venue may also report a cancelled stop as an order response.
            stop_key = self._cancel_key("stop", update.order_id, None)
            if stop_key is not None:
                self._finish_cancel(stop_key)
        if update.order_id:
            key = self._cancel_key("order", update.order_id, None)
        elif raw in _NOT_A_PLACEMENT_REPLY:
            key = self._cancel_key("order", None, update.symbol or None)
        if key is None:
            return False
        if raw in _CANCELLED_STATUSES:
            self._finish_cancel(key)
            return False  # also the order's own final state: shown and tracked as usual
        if raw == "NO_SUCH_ORDER":
            self._finish_cancel(key, CancelRejected(CANCEL_GONE, code=raw))
            self.working.drop(key[1], "no longer at the venue")
            return True
        text = RATE_LIMITED if raw == "RATE_LIMITED" else update.message
        self._finish_cancel(key, CancelRejected(text, code=raw))
        return True

    def _on_ack(self, ack: Ack) -> None:
        if ack.incoming_type != "cancel_stop_order":
            return
        key = self._cancel_key("stop", ack.stop_order_id, None)
        stop_id = ack.stop_order_id or (key[1] if key else None)
        if key is not None:
            self._finish_cancel(key)
        if stop_id is not None:
            # The ack is the only word that the stop is gone; stop_orders says nothing more.
            self.working.drop(stop_id, "cancelled")


def _expected_type(wire: bytes) -> str:
    """The order type a close frame rests as; ``close_position`` becomes a LIMIT IOC."""
    order_type = json.loads(wire)["params"].get("order_type", "LIMIT")
    return str(order_type)
