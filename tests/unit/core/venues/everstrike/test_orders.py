"""The Everstrike order machine, fed inputs and read for outputs: no socket, no clock.

Events and replies are built from the venue's own JSON with ``protocol``'s parsers, so what is
fed here is what the session feeds from the wire.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from core.model import (
    CloseRequest,
    DroppedUpdate,
    Fill,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionKey,
    PositionRemoved,
    PositionSide,
    PositionsSnapshot,
    SessionEvent,
    Trigger,
    TriggerEvent,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
from core.venue import PreparedClose
from core.venues.everstrike import EVERSTRIKE
from core.venues.everstrike import protocol as p
from core.venues.everstrike.orders import (
    LOOKUP_LIMIT,
    MEMORY_LIMIT,
    NOT_FOUND,
    EverstrikeOrders,
    LookUp,
    Reconcile,
    RefreshPositions,
    Request,
    Scope,
    SyncSubscriptions,
)

ACCOUNT = "es-unit"
PAIR = "USD_BTC_PERP"
OTHER = "USD_ETH_PERP"
SENT_MS = 1_700_000_000_250


# --------------------------------------------------------------------------- the venue's JSON


def order_json(status: str = "ACTIVE", order_id: str = "ord-1", **extra: Any) -> dict[str, Any]:
    base = {"id": order_id, "pair": PAIR, "side": "SELL", "type": "MARKET", "status": status}
    base.update({"qty_orig": 2, "qty_remaining": 2, "time": SENT_MS + 50})
    base.update(extra)
    return base


def resting_limit(order_id: str = "lim-1", **extra: Any) -> dict[str, Any]:
    base = {"type": "LIMIT", "price": 105, "qty_orig": 2, "qty_remaining": 2,
            "time_in_force": "GTC", "reduce_only": True}
    base.update(extra)
    return order_json("ACTIVE", order_id, **base)


def untriggered(order_id: str = "trg-1", **extra: Any) -> dict[str, Any]:
    base = {"type": "MARKET", "price": 0, "trigger_price": 90, "trigger_event": "INDEX_PRICE",
            "close_on_trigger": True, "reduce_only": True}
    base.update(extra)
    status = base.pop("status", "UNTRIGGERED")
    return order_json(status, order_id, **base)


def decimals(obj: Any) -> Any:
    """What the session's JSON reader yields: every number a Decimal."""
    return p.loads(json.dumps(obj))


def ws(category: str, order: dict[str, Any], pair: str = PAIR) -> list[p.WsEvent]:
    frame = {"code": 200, "category": category, "pair": pair, "result": {"order": order}}
    return p.parse_ws(json.dumps(frame), ACCOUNT)


def position_frame(category: str, pair: str, size: int = 0) -> list[p.WsEvent]:
    result = {"size": size, "stats": {"size": size, "direction": "BUY"}} if size else {}
    frame = {"code": 200, "category": category, "pair": pair, "result": result}
    return p.parse_ws(json.dumps(frame), ACCOUNT)


def reply(order: dict[str, Any], position: dict[str, Any] | None = None) -> list[Any]:
    result: dict[str, Any] = {"order": order}
    if position is not None:
        result["position"] = position
    return p.parse_close_reply(decimals(result), ACCOUNT, PAIR)


def listing(*orders: dict[str, Any]) -> list[p.VenueOrder]:
    return p.parse_order_list(decimals(list(orders)), ACCOUNT)


def close_request(**kwargs: Any) -> CloseRequest:
    return CloseRequest(
        key=PositionKey(ACCOUNT, EVERSTRIKE, kwargs.pop("pair", PAIR)),
        position_side=PositionSide.LONG,
        position_quantity=Decimal(2),
        **kwargs,
    )


def prepared(request: CloseRequest | None = None) -> PreparedClose:
    return PreparedClose(redacted="POST /auth/close", wire=b"", stamped_ms=SENT_MS,
                         request=request or close_request())


# --------------------------------------------------------------------------- driving it


class Machine:
    """The machine plus everything it has said so far."""

    def __init__(self, **options: Any) -> None:
        self.orders = EverstrikeOrders(ACCOUNT, **options)
        self.orders.connection_made()
        self.events: list[SessionEvent] = []
        self.requests: list[Request] = []
        self.dropped: list[OrderUpdate | Fill] = []

    def drain(self) -> list[SessionEvent]:
        """The events said since the last drain (requests are kept in ``requests``, updates
        set aside as late or duplicate in ``dropped``)."""
        said = self.orders.events_to_emit()
        self.dropped += [e.event for e in said if isinstance(e, DroppedUpdate)]
        new = [e for e in said if not isinstance(e, DroppedUpdate)]
        self.events += new
        self.requests += self.orders.requests_to_make()
        return new

    def feed(self, *batches: list[p.WsEvent]) -> list[SessionEvent]:
        for batch in batches:
            for event in batch:
                assert not isinstance(event, p.ControlEvent | p.WsError)
                self.orders.receive(event)
        return self.drain()

    def close(
        self, request: CloseRequest, answer: list[Any], *, racing: tuple[list[p.WsEvent], ...] = ()
    ) -> list[SessionEvent]:
        """One close whose reply is ``answer``; ``racing`` WS batches arrive before it."""
        sent = prepared(request)
        self.orders.sent(sent)
        for batch in racing:
            for event in batch:
                self.orders.receive(event)
        # Raced order and position events are held; a removal names no pair and passes.
        assert all(isinstance(e, WorkingOrderRemoved) for e in self.drain())
        self.orders.replied(sent, answer)
        self.orders.send_ended(sent)
        return self.drain()

    def updates(self) -> list[tuple[OrderStatus, str | None]]:
        return [(e.status, e.client_order_id) for e in self.events if isinstance(e, OrderUpdate)]


def statuses(events: list[SessionEvent]) -> list[OrderStatus]:
    return [e.status for e in events if isinstance(e, OrderUpdate)]


# --------------------------------------------------------------------------- one step once


def test_rest_fill_then_ws_ack_and_fill_is_one_fill() -> None:
    """The visible bug: FILLED (REST), then ACK and FILLED again (WS). Now: FILLED, once."""
    m = Machine()
    request = close_request()
    done = order_json("COMPLETED", qty_remaining=0)
    said = m.close(request, reply(done, {"size": 0}))
    assert statuses(said) == [OrderStatus.FILLED]
    late = m.feed(ws("order_added", order_json()), ws("order_completed", done))
    assert statuses(late) == []
    assert [type(e) for e in late] == [WorkingOrderRemoved]  # the desk drops an unknown id
    assert m.updates() == [(OrderStatus.FILLED, request.client_order_id)]
    # What the venue said late is still handed on, as dropped, for the journal.
    assert [u.status for u in m.dropped if isinstance(u, OrderUpdate)] == [
        OrderStatus.ACK, OrderStatus.FILLED]


def test_ws_racing_ahead_of_the_reply_is_held_and_said_once_in_order() -> None:
    m = Machine()
    request = close_request()
    added, done = order_json(), order_json("COMPLETED", qty_remaining=0)
    said = m.close(
        request,
        reply(added, {"size": 2, "stats": {"size": 2, "direction": "BUY"}}),
        racing=(ws("order_added", added), ws("order_completed", done),
                position_frame("position_closed", PAIR)),
    )
    kinds = [(type(e).__name__, getattr(e, "status", None)) for e in said]
    assert kinds == [
        ("OrderUpdate", OrderStatus.ACK),  # held order_added: the WS said it first
        ("OrderUpdate", OrderStatus.FILLED),  # held order_completed
        ("Position", None),  # the reply's position (its ACK repeats the WS's)
        ("PositionRemoved", None),  # held position_closed: the latest state lands last
    ]
    assert m.updates() == [(OrderStatus.ACK, request.client_order_id),
                           (OrderStatus.FILLED, request.client_order_id)]
    # Each step comes from the channel that said it first: the WS here; the reply is set aside.
    assert [e.raw_status for e in said if isinstance(e, OrderUpdate)] == [
        "order_added", "order_completed"]
    assert [u.status for u in m.dropped] == [OrderStatus.ACK]


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        ("ACTIVE", [OrderStatus.ACK, OrderStatus.FILLED]),
        # The reply says FILLED too, but the WS said ACK and FILLED first: both are shown.
        ("COMPLETED", [OrderStatus.ACK, OrderStatus.FILLED]),
    ],
    ids=["reply-ack", "reply-filled"],
)
def test_ws_first_then_the_reply(answer: str, said: list[OrderStatus]) -> None:
    """The WS spoke first, while the POST was out: ACK and FILLED are held (they name no order
    we know yet), the reply names the order, and each step is passed on once, in order."""
    m = Machine()
    request = close_request()
    added, done = order_json(), order_json("COMPLETED", qty_remaining=0)
    remaining = 0 if answer == "COMPLETED" else 2
    m.close(
        request,
        reply(order_json(answer, qty_remaining=remaining)),
        racing=(ws("order_added", added), ws("order_completed", done)),
    )
    m.feed(ws("order_completed", done))  # a duplicate frame after all that
    assert m.updates() == [(status, request.client_order_id) for status in said]
    said_by = [e.raw_status for e in m.events if isinstance(e, OrderUpdate)]
    assert said_by == ["order_added", "order_completed"]  # the WS's words: it spoke first


def test_a_reply_releases_only_its_own_held_events() -> None:
    """Two closes on one pair in flight: the first reply passes on the WS events of its own
    order at once, in the order received; the other order's events wait for their reply."""
    m = Machine()
    first, second = prepared(close_request()), prepared(close_request())
    m.orders.sent(first)
    m.orders.sent(second)
    for batch in (ws("order_added", order_json()), ws("order_added", order_json(order_id="ord-2")),
                  ws("order_completed", order_json("COMPLETED", qty_remaining=0))):
        for event in batch:
            m.orders.receive(event)
    assert statuses(m.drain()) == []  # held (a removal names no pair and passes)
    m.orders.replied(first, reply(order_json()))
    m.orders.send_ended(first)
    assert m.drain() and m.updates() == [(OrderStatus.ACK, first.request.client_order_id),
                                         (OrderStatus.FILLED, first.request.client_order_id)]
    m.orders.replied(second, reply(order_json(order_id="ord-2")))
    m.orders.send_ended(second)
    m.drain()
    assert m.updates()[2:] == [(OrderStatus.ACK, second.request.client_order_id)]
    assert [u.status for u in m.dropped] == [OrderStatus.ACK, OrderStatus.ACK]  # the replies


def test_an_order_known_before_its_events_is_never_held() -> None:
    """A second close on the pair is in flight; events of the first, already named by its
    reply, pass at once and repeat nothing."""
    m = Machine()
    first = close_request()
    m.close(first, reply(order_json()))
    second = prepared(close_request())
    m.orders.sent(second)
    said = m.feed(ws("order_added", order_json()), ws("order_completed",
                                                      order_json("COMPLETED", qty_remaining=0)))
    assert statuses(said) == [OrderStatus.FILLED]
    m.orders.replied(second, reply(order_json("COMPLETED", "ord-2", qty_remaining=0)))
    m.orders.send_ended(second)
    m.drain()
    assert m.updates() == [
        (OrderStatus.ACK, first.client_order_id),
        (OrderStatus.FILLED, first.client_order_id),
        (OrderStatus.FILLED, second.request.client_order_id),
    ]


def test_one_trigger_ack_then_triggered_then_filled() -> None:
    m = Machine()
    request = close_request(trigger=Trigger(Decimal(90), TriggerEvent.INDEX, True))
    resting = untriggered("trg-1")
    said = m.close(request, reply(resting), racing=(ws("trigger_added", resting),))
    assert statuses(said) == [OrderStatus.TRIGGER_ACK]
    assert [w.kind for w in said if isinstance(w, WorkingOrder)] == [WorkingKind.TRIGGER]
    fired = {**resting, "status": "ACTIVE"}
    m.feed(
        ws("trigger_added", resting),  # a duplicate
        ws("order_triggered", fired),
        ws("trigger_added", resting),  # late: the trigger already fired
        ws("order_completed", {**fired, "status": "COMPLETED", "qty_remaining": 0}),
        ws("order_triggered", fired),  # late again
    )
    assert m.updates() == [
        (OrderStatus.TRIGGER_ACK, request.client_order_id),
        (OrderStatus.TRIGGERED, request.client_order_id),
        (OrderStatus.FILLED, request.client_order_id),
    ]


def test_partial_fills_pass_while_they_grow_and_never_after_the_end() -> None:
    m = Machine()
    live = resting_limit()
    said = m.feed(
        ws("order_added", live),
        ws("order_partially_completed", {**live, "qty_remaining": 1.5}),
        ws("order_partially_completed", {**live, "qty_remaining": 1.5}),  # duplicate
        ws("order_partially_completed", {**live, "qty_remaining": 1}),
        ws("order_partially_completed", {**live, "qty_remaining": 1.5}),  # reordered
        ws("order_added", live),  # late
        ws("order_cancelled", {**live, "qty_remaining": 1, "status": "CANCELLED"}),
        ws("order_completed", {**live, "qty_remaining": 0}),  # a second ending: dropped
    )
    updates = [e for e in said if isinstance(e, OrderUpdate)]
    assert [(u.status, u.remaining, u.final) for u in updates] == [
        (OrderStatus.ACK, Decimal(2), False),
        (OrderStatus.PARTIAL, Decimal("1.5"), False),
        (OrderStatus.PARTIAL, Decimal(1), False),
        (OrderStatus.PARTIAL, Decimal(1), True),  # partly filled, the rest cancelled
    ]


def test_statuses_it_cannot_place_pass_until_the_order_ends() -> None:
    m = Machine()
    odd = [p.parse_order(decimals(order_json("SUSPENDED")), ACCOUNT)]
    assert statuses(m.feed(odd, odd)) == [OrderStatus.UNKNOWN] * 2
    m.feed(ws("order_completed", order_json("COMPLETED", qty_remaining=0)))
    assert statuses(m.feed(odd)) == []


def test_late_or_duplicate_events_never_resurrect_a_working_order() -> None:
    m = Machine()
    live = resting_limit()
    m.feed(
        ws("order_partially_completed", {**live, "qty_remaining": 1}),
        ws("order_added", live),  # arrives late, with the older, larger remainder
        ws("order_completed", {**live, "qty_remaining": 0}),
        ws("order_completed", {**live, "qty_remaining": 0}),  # duplicate
        ws("order_partially_completed", {**live, "qty_remaining": 1}),  # reordered
        ws("order_triggered", {**untriggered("t9"), "type": "MARKET"}),
        ws("trigger_added", untriggered("t9")),  # the add arrives after the trigger fired
    )
    upserts = [(e.order_id, e.remaining) for e in m.events if isinstance(e, WorkingOrder)]
    assert upserts == [("lim-1", Decimal(1))]
    assert statuses(m.events) == [OrderStatus.PARTIAL, OrderStatus.FILLED, OrderStatus.TRIGGERED]
    # A snapshot that still lists the filled order does not bring it back either.
    m.orders.working(p.parse_working_orders(decimals([live]), decimals([]), ACCOUNT))
    (snapshot,) = m.drain()
    assert isinstance(snapshot, WorkingOrdersSnapshot) and snapshot.orders == ()


def test_ws_events_keep_working_orders_live() -> None:
    m = Machine()
    live = resting_limit()
    m.feed(
        ws("order_added", live),
        ws("order_partially_completed", {**live, "qty_remaining": 0.5}),
        ws("order_completed", {**live, "qty_remaining": 0, "status": "COMPLETED"}),
        ws("trigger_added", untriggered()),
        ws("order_triggered", {**untriggered(), "type": "LIMIT", "price": 89, "status": "ACTIVE"}),
        ws("order_cancelled", {**untriggered(), "status": "CANCELLED"}),
        ws("trigger_added", untriggered("t2")),
        ws("trigger_failed", {**untriggered("t2"), "msg": "insufficient balance"}),
        ws("trigger_added", untriggered("t3")),
        ws("trigger_cancelled", untriggered("t3")),
    )
    working = [
        (type(e).__name__, e.order_id, e.kind if isinstance(e, WorkingOrder) else e.reason)
        for e in m.events
        if isinstance(e, WorkingOrder | WorkingOrderRemoved)
    ]
    assert working == [
        ("WorkingOrder", "lim-1", WorkingKind.LIMIT),
        ("WorkingOrder", "lim-1", WorkingKind.LIMIT),
        ("WorkingOrderRemoved", "lim-1", "filled"),
        ("WorkingOrder", "trg-1", WorkingKind.TRIGGER),
        ("WorkingOrderRemoved", "trg-1", "triggered"),
        ("WorkingOrder", "trg-1", WorkingKind.LIMIT),  # the triggered stop-limit rests
        ("WorkingOrderRemoved", "trg-1", "cancelled"),
        ("WorkingOrder", "t2", WorkingKind.TRIGGER),
        ("WorkingOrderRemoved", "t2", "rejected"),
        ("WorkingOrder", "t3", WorkingKind.TRIGGER),
        ("WorkingOrderRemoved", "t3", "cancelled"),
    ]
    assert len(statuses(m.events)) == 10  # one per step: none of these repeats another


def test_resting_close_replies_are_working_orders_with_our_id() -> None:
    m = Machine()
    requests = [close_request(limit_price=Decimal(105)),
                close_request(trigger=Trigger(Decimal(90), TriggerEvent.INDEX, True)),
                close_request()]
    answers = [reply(resting_limit("r-lim")), reply(untriggered("r-trg")),
               reply(order_json("COMPLETED", "r-done", qty_remaining=0))]
    for request, answer in zip(requests, answers, strict=True):
        m.close(request, answer)
    working = [e for e in m.events if isinstance(e, WorkingOrder)]
    assert [(w.order_id, w.kind, w.client_order_id) for w in working] == [
        ("r-lim", WorkingKind.LIMIT, requests[0].client_order_id),
        ("r-trg", WorkingKind.TRIGGER, requests[1].client_order_id),
    ]
    # The WS echo of a resting reply is not a second upsert; a later fill still carries our id.
    m.feed(ws("order_added", resting_limit("r-lim")))
    m.feed(ws("order_completed", resting_limit("r-lim", qty_remaining=0)))
    assert m.updates()[-1] == (OrderStatus.FILLED, requests[0].client_order_id)
    assert len([e for e in m.events if isinstance(e, WorkingOrder)]) == 2


def test_unrelated_orders_and_other_pairs_are_not_held() -> None:
    m = Machine()
    sent = prepared()
    m.orders.sent(sent)
    other = order_json("ACTIVE", "someone-else", pair=OTHER)
    said = m.feed(ws("order_added", other, pair=OTHER), position_frame("position_closed", OTHER))
    assert [type(e) for e in said] == [OrderUpdate, PositionRemoved]
    assert said[0].client_order_id is None  # type: ignore[union-attr]
    m.feed(ws("order_added", order_json("ACTIVE", "maybe-ours")))
    assert m.drain() == []  # same pair while our close is in flight: held
    m.orders.send_ended(sent)  # the POST ended with nothing known: released as it was
    (released,) = m.drain()
    assert isinstance(released, OrderUpdate) and released.client_order_id is None


def test_held_pairs_follow_positions_and_ask_for_subscriptions() -> None:
    m = Machine()
    position = Position(PositionKey(ACCOUNT, EVERSTRIKE, PAIR), PositionSide.LONG,
                        Decimal(2))
    m.orders.positions([position])
    (snapshot,) = m.drain()
    assert isinstance(snapshot, PositionsSnapshot) and m.orders.pairs == (PAIR,)
    assert m.requests == []
    m.feed(position_frame("position_updated", OTHER, size=3))
    assert m.orders.pairs == (PAIR, OTHER)
    m.feed(position_frame("position_updated", OTHER, size=4))  # already held: nothing to do
    m.feed(position_frame("position_closed", PAIR))
    assert m.orders.pairs == (OTHER,)
    assert m.requests == [SyncSubscriptions(), SyncSubscriptions()]


# --------------------------------------------------------------------------- refusals, losses


def test_a_refusal_is_said_once_and_nothing_is_looked_up() -> None:
    m = Machine()
    request = close_request(quantity=Decimal(1))
    m.orders.rejected(prepared(request), "HTTP 400 code 400", "Everstrike refused the close")
    (update,) = m.drain()
    assert isinstance(update, OrderUpdate)
    assert (update.status, update.final, update.client_order_id) == (
        OrderStatus.REJECTED, True, request.client_order_id
    )
    assert (update.quantity, update.side, update.raw_status) == (
        Decimal(1), request.order_side, "HTTP 400 code 400"
    )
    assert m.requests == []


def test_lost_reply_is_unknown_then_matched_from_the_order_list() -> None:
    """Everstrike has no client order id: the match is pair, side, qty, prices and time."""
    m = Machine(reconcile_delay=0.25)
    request = close_request(quantity=Decimal(1), limit_price=Decimal(101))
    sent = prepared(request)
    m.orders.sent(sent)
    m.orders.lost(sent, "no answer", "No answer from Everstrike")
    m.orders.send_ended(sent)
    (unknown,) = m.drain()
    assert isinstance(unknown, OrderUpdate)
    assert (unknown.status, unknown.final) == (OrderStatus.UNKNOWN, False)
    assert unknown.message == (
        "No answer from Everstrike; not resent. Checking Everstrike's order list to find out "
        "what happened."
    )
    assert m.requests == [Reconcile(0.25)]
    assert m.orders.unresolved == {request.client_order_id}
    scope = m.orders.scope(after_reconnect=False)
    assert scope == Scope(pair=PAIR, after_reconnect=False)
    mine = resting_limit("mine", price=101, qty_orig=1, qty_remaining=1, time=SENT_MS + 20)
    decoys = [
        order_json("COMPLETED", "old", qty_orig=1, time=SENT_MS - 60_000),
        resting_limit("buy", side="BUY", price=101, qty_orig=1, time=SENT_MS + 10),
        resting_limit("qty", price=101, qty_orig=2, time=SENT_MS + 10),
        resting_limit("px", price=102, qty_orig=1, time=SENT_MS + 10),
        resting_limit("notro", price=101, qty_orig=1, time=SENT_MS + 10, reduce_only=False),
    ]
    m.orders.recent(listing(*decoys, mine), scope)
    found, working = m.drain()
    assert isinstance(found, OrderUpdate) and isinstance(working, WorkingOrder)
    assert (found.order_id, found.status, found.client_order_id) == (
        "mine", OrderStatus.ACK, request.client_order_id
    )
    assert found.message.startswith("Found at Everstrike after the lost reply: ")
    assert working.client_order_id == request.client_order_id
    assert not m.orders.unresolved and m.orders.scope(after_reconnect=False) is None
    # Later events for that order carry our id too.
    m.feed(ws("order_completed", {**mine, "qty_remaining": 0}))
    assert m.updates()[-1] == (OrderStatus.FILLED, request.client_order_id)


def test_a_fill_heard_before_the_lost_reply_was_found_still_reaches_the_close() -> None:
    """The WS said FILLED with no id we knew; the lookup that names our close says it again,
    because it is the first to tie the fill to the close."""
    m = Machine()
    request = close_request()
    sent = prepared(request)
    m.orders.sent(sent)
    done = order_json("COMPLETED", "ran", qty_remaining=0, reduce_only=True)
    m.feed(ws("order_added", {**done, "status": "ACTIVE", "qty_remaining": 2}),
           ws("order_completed", done))
    m.orders.lost(sent, "no answer", "No answer from Everstrike")
    m.orders.send_ended(sent)
    m.drain()
    assert m.updates() == [(OrderStatus.UNKNOWN, request.client_order_id),
                           (OrderStatus.ACK, None), (OrderStatus.FILLED, None)]
    m.orders.recent(listing(done), Scope(PAIR, after_reconnect=False))
    m.feed(ws("order_completed", done))  # and after that, a repeat is a repeat
    assert m.updates()[3:] == [(OrderStatus.FILLED, request.client_order_id)]


def test_a_lost_close_not_listed_is_not_found_and_the_book_refreshed() -> None:
    m = Machine()
    request = close_request()
    m.orders.lost(prepared(request), "no answer", "No answer from Everstrike")
    m.drain()
    m.orders.recent(listing(order_json("COMPLETED", "old", time=SENT_MS - 60_000)),
                    Scope(PAIR, after_reconnect=False))
    (final,) = m.drain()
    assert isinstance(final, OrderUpdate)
    assert (final.status, final.final, final.message) == (OrderStatus.UNKNOWN, True, NOT_FOUND)
    assert m.requests[-1] == RefreshPositions()


def test_a_listing_of_another_pair_does_not_declare_a_close_missing() -> None:
    m = Machine()
    mine, theirs = close_request(), close_request(pair=OTHER)
    m.orders.lost(prepared(mine), "no answer", "No answer")
    m.orders.lost(prepared(theirs), "no answer", "No answer")
    assert m.orders.scope(after_reconnect=False) == Scope(None, after_reconnect=False)
    m.orders.recent([], Scope(PAIR, after_reconnect=False))  # narrowed to PAIR
    assert m.orders.unresolved == {theirs.client_order_id}


def test_while_disconnected_a_lost_close_waits_for_the_reconnect() -> None:
    m = Machine()
    request = close_request(quantity=Decimal(1))
    m.orders.lost(prepared(request), "no answer", "No answer")
    m.orders.connection_lost()
    m.orders.recent([], Scope(PAIR, after_reconnect=False))
    m.orders.recent_failed("down")  # not counted as a failed attempt either
    m.drain()
    assert statuses(m.events) == [OrderStatus.UNKNOWN]  # still open, not declared missing
    assert m.orders.unresolved == {request.client_order_id}
    m.requests.clear()
    m.orders.connection_made()
    m.drain()
    assert m.requests == [Reconcile(0.0, after_reconnect=True)]
    scope = m.orders.scope(after_reconnect=True)
    assert scope == Scope(PAIR, after_reconnect=True)
    late = order_json("COMPLETED", "late", qty_orig=1, qty_remaining=0, time=SENT_MS)
    m.orders.recent(listing(late), scope)
    (found,) = m.drain()
    assert isinstance(found, OrderUpdate)
    assert (found.order_id, found.client_order_id, found.final) == (
        "late", request.client_order_id, True
    )


def test_failed_lookups_are_retried_then_given_up() -> None:
    m = Machine(reconcile_attempts=2, reconcile_retry=1.5)
    request = close_request()
    m.orders.lost(prepared(request), "no answer", "No answer")
    m.drain()
    m.requests.clear()
    m.orders.recent_failed("Invalid request")
    assert m.drain() == [] and m.requests == [Reconcile(1.5)]
    m.orders.recent_failed("Invalid request")
    (last,) = m.drain()
    assert isinstance(last, OrderUpdate) and last.final and last.status is OrderStatus.UNKNOWN
    assert last.message.startswith("could not check at Everstrike (Invalid request)")
    assert m.requests[-1] == RefreshPositions() and not m.orders.unresolved


def test_a_venue_error_is_looked_up_quietly_and_corrected_if_it_ran() -> None:
    m = Machine()
    ran, not_ran = close_request(quantity=Decimal(1)), close_request(quantity=Decimal(2))
    for request in (ran, not_ran):
        m.orders.rejected(prepared(request), "HTTP 500", "venue error", look=True)
    m.drain()
    assert m.requests == [Reconcile(0.5), Reconcile(0.5)]
    done = order_json("COMPLETED", "ord-9", qty_orig=1, qty_remaining=0, reduce_only=True)
    m.orders.recent(listing(done), Scope(PAIR, after_reconnect=False))
    m.drain()
    assert m.updates() == [(OrderStatus.REJECTED, ran.client_order_id),
                           (OrderStatus.REJECTED, not_ran.client_order_id),
                           (OrderStatus.FILLED, ran.client_order_id)]  # nothing said of the other
    assert not m.orders.unresolved and RefreshPositions() not in m.requests


def test_a_reply_without_an_order_is_unknown() -> None:
    m = Machine()
    request = close_request()
    said = m.close(request, [])
    assert [(e.status, e.final) for e in said if isinstance(e, OrderUpdate)] == [
        (OrderStatus.UNKNOWN, False)
    ]
    assert m.orders.unresolved == {request.client_order_id}


# --------------------------------------------------------------------------- after a reconnect


def test_open_closes_are_re_read_after_a_reconnect() -> None:
    m = Machine()
    request = close_request()
    m.close(request, reply(order_json("ACTIVE", "open-1")))
    m.close(close_request(), reply(order_json("COMPLETED", "done-1", qty_remaining=0)))
    m.orders.connection_lost()
    m.orders.connection_made()
    m.drain()
    assert m.requests == [Reconcile(0.0, after_reconnect=True)]
    scope = m.orders.scope(after_reconnect=True)
    assert scope == Scope(None, after_reconnect=True)
    m.orders.recent([], scope)  # /orders no longer lists it
    m.drain()
    assert m.requests[-1] == LookUp("open-1")
    filled = p.parse_order_list(decimals([order_json("COMPLETED", "open-1", qty_remaining=0)]),
                                ACCOUNT)[0]
    m.orders.looked_up("open-1", filled)
    (update,) = [e for e in m.drain() if isinstance(e, OrderUpdate)]
    assert (update.status, update.client_order_id) == (OrderStatus.FILLED, request.client_order_id)
    assert update.message.startswith("After the reconnect: ")
    m.orders.looked_up("open-1", filled)  # settled since: nothing more
    assert m.drain() == []


def test_after_a_reconnect_an_unchanged_open_close_is_not_said_again() -> None:
    m = Machine()
    m.close(close_request(), reply(order_json("ACTIVE", "open-1")))
    m.orders.connection_made()
    still = order_json("ACTIVE", "open-1")
    m.orders.recent(listing(still), Scope(None, after_reconnect=True))
    assert statuses(m.drain()) == []


def test_lookups_after_a_reconnect_are_capped() -> None:
    m = Machine()
    for i in range(LOOKUP_LIMIT + 5):
        m.close(close_request(), reply(order_json("ACTIVE", f"open-{i}")))
    m.orders.connection_made()
    m.orders.recent([], Scope(None, after_reconnect=True))
    m.drain()
    assert len([r for r in m.requests if isinstance(r, LookUp)]) == LOOKUP_LIMIT


def test_nothing_to_look_for_means_no_look() -> None:
    m = Machine()
    m.orders.connection_lost()
    m.orders.connection_made()
    m.drain()
    assert m.requests == []
    assert m.orders.scope(after_reconnect=True) is None


# --------------------------------------------------------------------------- cancels, outputs


def test_a_cancel_reply_and_its_ws_echo_say_cancelled_once() -> None:
    m = Machine()
    live = resting_limit()
    m.feed(ws("order_added", live))
    order = next(e for e in m.events if isinstance(e, WorkingOrder))
    cancelled = p.parse_order(decimals({**live, "status": "CANCELLED"}), ACCOUNT, PAIR)
    m.orders.cancelled(order, cancelled)
    said = m.drain()
    assert [type(e) for e in said] == [OrderUpdate, WorkingOrderRemoved]
    assert m.feed(ws("order_cancelled", {**live, "status": "CANCELLED"}))[:1] == [
        WorkingOrderRemoved(EVERSTRIKE, ACCOUNT, "lim-1", "cancelled")
    ]
    assert statuses(m.events) == [OrderStatus.ACK, OrderStatus.CANCELLED]


def test_outputs_are_handed_out_once() -> None:
    m = EverstrikeOrders(ACCOUNT)
    m.lost(prepared(), "no answer", "No answer")
    assert len(m.events_to_emit()) == 1 and m.events_to_emit() == []
    assert m.requests_to_make() == [Reconcile(0.5)] and m.requests_to_make() == []


def test_memory_is_bounded() -> None:
    m = Machine()
    update = p.parse_order(decimals(order_json()), ACCOUNT)
    for i in range(MEMORY_LIMIT + 10):
        m.orders.receive(replace(update, order_id=f"o{i}"))
        m.orders.events_to_emit()
    limit = MEMORY_LIMIT
    assert len(m.orders._said) == limit  # white-box: the per-order record is capped
    assert "o0" not in m.orders._said and f"o{limit + 9}" in m.orders._said
