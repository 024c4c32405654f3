"""The QFEX order machine, driven directly: venue frames in (through the real parser), events,
lookups and answers out. No socket, no loop, no clock."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from core.model import (
    CloseRequest,
    Fill,
    OrderStatus,
    OrderUpdate,
    PositionKey,
    PositionSide,
    ProtocolError,
    SessionEvent,
    TimeInForce,
    Trigger,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
from core.venue import CloseRejected, PreparedCancel, PreparedClose
from core.venues.qfex import QFEX, protocol
from core.venues.qfex.orders import (
    CANCEL_GONE,
    CANCEL_LOST,
    GONE,
    LOST,
    RATE_LIMITED,
    CancelAnswered,
    Dropped,
    ListingAnswered,
    Output,
    Penalty,
    QfexOrders,
    StatusGate,
    build_cancel,
)
from core.venues.qfex.protocol import OrdersList

D = Decimal
ACCOUNT = "acct"
AAPL = PositionKey(ACCOUNT, QFEX, "AAPL-USD")
MARK = D(200)


# --------------------------------------------------------------------------- helpers


def close(cid: str, **kw: Any) -> CloseRequest:
    return CloseRequest(AAPL, PositionSide.LONG, D(2), client_order_id=cid, **kw)


def limit(cid: str) -> CloseRequest:
    return close(cid, limit_price=D(205), time_in_force=TimeInForce.GTC)


def prepared(request: CloseRequest) -> PreparedClose:
    frame = protocol.build_close(request, MARK, None)
    return PreparedClose(redacted=frame, wire=frame.encode(), request=request)


def sent(machine: QfexOrders, request: CloseRequest) -> PreparedClose:
    """What the session does around writing a close."""
    p = prepared(request)
    machine.claim(p)
    machine.sent(p)
    return p


def cancelling(machine: QfexOrders, order: WorkingOrder) -> None:
    frame = build_cancel(order)
    machine.cancel_sent(PreparedCancel(redacted=frame, wire=frame.encode(), order=order))


def order(oid: str, **fields: Any) -> dict[str, Any]:
    """One order as order_responses and get_user_orders show it."""
    base: dict[str, Any] = {
        "order_id": oid, "symbol": "AAPL-USD", "status": "ACK", "quantity": 2, "price": 205,
        "side": "SELL", "type": "LIMIT", "time_in_force": "GTC", "client_order_id": "",
        "quantity_remaining": 2, "update_time": 1758208770.5,
    }
    base.update(fields)
    return base


def response(oid: str, **fields: Any) -> str:
    return json.dumps({"order_response": order(oid, **fields)})


def stop_push(sid: str, cid: str = "co-stop", price: float = 190) -> str:
    return json.dumps({"stop_order_response": {
        "stop_order_id": sid, "user_id": "u", "symbol": "AAPL-USD", "price": price,
        "quantity": 2, "direction": "SELL", "stop_order_type": "STOP_LOSS",
        "client_order_id": cid, "update_time": 1758208771,
    }})


def fill(trade_id: str, oid: str = "oid-1", cid: str = "") -> str:
    return json.dumps({"fill_response": {
        "trade_id": trade_id, "symbol": "AAPL-USD", "price": 205, "quantity": 1, "side": "SELL",
        "order_id": oid, "client_order_id": cid, "timestamp": 1758208771,
    }})


def err(code: str, message: str, kind: str, **params: Any) -> str:
    incoming = {"type": kind, "params": params}
    return json.dumps({"err": {"error_code": code, "message": message,
                               "incoming_message": incoming}})


def listing(*orders: dict[str, Any]) -> OrdersList:
    (parsed,) = protocol.parse(json.dumps({"all_orders_response": {"orders": list(orders)}}),
                               ACCOUNT)
    assert isinstance(parsed, OrdersList)
    return parsed


def feed(machine: QfexOrders, *frames: str) -> list[SessionEvent]:
    """Frames as the venue sends them, through the real parser, into the machine."""
    for frame in frames:
        for event in protocol.parse(frame, ACCOUNT):
            machine.receive(event)
    return machine.events_to_emit()


def updates(events: list[SessionEvent]) -> list[OrderUpdate]:
    return [e for e in events if isinstance(e, OrderUpdate)]


def statuses(events: list[SessionEvent]) -> list[OrderStatus]:
    return [u.status for u in updates(events)]


def dropped(outputs: list[Output]) -> list[str]:
    return [o.why for o in outputs if isinstance(o, Dropped)]


LIMIT = WorkingOrder(QFEX, ACCOUNT, "AAPL-USD", "oid-L", WorkingKind.LIMIT, None, D(2),
                     price=D(205))
STOP = WorkingOrder(QFEX, ACCOUNT, "AAPL-USD", "stop-S", WorkingKind.TRIGGER, None, D(2),
                    trigger_price=D(190))


# --------------------------------------------------------------------------- closes


def test_a_reply_that_echoes_our_id_reports_the_close() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, close("co-1"))
    events = feed(m, response("oid-1", client_order_id="co-1", type="LIMIT",
                              time_in_force="IOC"),
                  response("oid-1", client_order_id="co-1", status="FILLED",
                           time_in_force="IOC", quantity_remaining=0))
    assert statuses(events) == [OrderStatus.ACK, OrderStatus.FILLED]
    assert all(u.client_order_id == "co-1" for u in updates(events))
    assert updates(events)[-1].final


def test_a_reply_without_our_id_is_matched_to_the_oldest_close_that_fits() -> None:
    """INFERRED (the seed echoes ``client_order_id: ""``): by symbol, side and the order type
    the close rests as, oldest first; after that, by the order id the venue gave it."""
    m = QfexOrders(ACCOUNT)
    sent(m, close("co-market", quantity=D(1)))  # a MARKET order
    sent(m, close("co-full"))  # close_position: rests as a LIMIT IOC
    sent(m, close("co-full-2"))
    (ack,) = updates(feed(m, response("oid-9", type="LIMIT", time_in_force="IOC")))
    assert ack.client_order_id == "co-full"
    (done,) = updates(feed(m, response("oid-9", status="FILLED", time_in_force="IOC",
                                       quantity_remaining=0)))
    assert done.client_order_id == "co-full" and done.final
    (foreign,) = updates(feed(m, response("oid-x", side="BUY")))
    assert foreign.client_order_id is None  # fits no close of ours: shown as it came


def test_a_fill_without_our_id_is_given_it_by_the_order_id() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, close("co-1"))
    feed(m, response("oid-1", client_order_id="co-1", time_in_force="IOC"))
    (event,) = feed(m, fill("t-1", oid="oid-1"))
    assert isinstance(event, Fill) and event.client_order_id == "co-1"


def test_an_err_frame_rejects_the_close_it_echoes() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, close("co-err"))
    (rejected,) = feed(m, err("InvalidOrder", "no position", "close_position",
                              symbol="AAPL-USD", client_order_id="co-err"))
    assert isinstance(rejected, OrderUpdate)
    assert (rejected.status, rejected.final, rejected.raw_status) == (
        OrderStatus.REJECTED, True, "InvalidOrder")
    assert rejected.message == "The venue refused the order: no position"
    (error,) = feed(m, err("InvalidJSONFormat", "bad", "add_order"))
    assert isinstance(error, ProtocolError)  # echoes no close: shown as a venue error


def test_a_close_id_is_written_once() -> None:
    m = QfexOrders(ACCOUNT)
    p = prepared(close("co-once"))
    m.claim(p)
    with pytest.raises(CloseRejected, match="never resent"):
        m.claim(p)  # a second send while the first waits on the rate limiter
    m.release(p)  # nothing was written: the id may be used
    m.claim(p)
    m.sent(p)
    m.release(p)  # too late to release: it was written
    with pytest.raises(CloseRejected, match="never resent"):
        m.claim(p)


def test_rate_limited_status_slows_us_down_and_says_so() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, close("co-rl"))
    (rejected,) = feed(m, response("oid-rl", client_order_id="co-rl", status="RATE_LIMITED",
                                   time_in_force="IOC"))
    assert isinstance(rejected, OrderUpdate) and rejected.status is OrderStatus.REJECTED
    assert rejected.message == RATE_LIMITED
    assert m.outputs() == [Penalty(None)]
    feed(m, err("RateLimited", "Rate limit exceeded, retry after 1500ms", "add_order",
                client_order_id="co-other"))
    assert m.outputs() == [Penalty(1.5)]


# --------------------------------------------------------------------------- monotonic status


def test_a_late_ack_after_filled_is_dropped_and_does_not_bring_the_order_back() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, limit("co-l"))
    ack = response("oid-1", client_order_id="co-l")
    events = feed(m, ack, response("oid-1", client_order_id="co-l", status="FILLED",
                                   quantity_remaining=0))
    assert statuses(events) == [OrderStatus.ACK, OrderStatus.FILLED]
    assert [type(e) for e in events if not isinstance(e, OrderUpdate)] == [
        WorkingOrder, WorkingOrderRemoved]
    assert feed(m, ack) == []  # no ACK shown, no working order listed again
    assert dropped(m.outputs()) == ["the order already reached a final state"]


def test_a_fill_is_reported_once_whichever_message_says_it_first() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, close("co-f"))
    filled = response("oid-1", client_order_id="co-f", status="FILLED", time_in_force="IOC",
                      quantity_remaining=0)
    events = feed(m, filled, filled, fill("t-1"), fill("t-1"), fill("t-2"))
    assert statuses(events) == [OrderStatus.FILLED]  # the FILLED alone, no ACK first: fine
    assert [e.trade_id for e in events if isinstance(e, Fill)] == ["t-1", "t-2"]
    assert dropped(m.outputs()) == ["the order already reached a final state",
                                    "duplicate fill t-1"]


def test_partial_fills_only_move_forward() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, limit("co-p"))
    first = response("oid-1", client_order_id="co-p", status="FILLED", quantity_remaining=1.5)
    second = response("oid-1", client_order_id="co-p", status="FILLED", quantity_remaining=0.5)
    events = feed(m, response("oid-1", client_order_id="co-p"), second, first,
                  response("oid-1", client_order_id="co-p"),
                  response("oid-1", client_order_id="co-p", status="FILLED",
                           quantity_remaining=0))
    shown = updates(events)
    assert [(u.status, u.filled) for u in shown] == [
        (OrderStatus.ACK, D(0)), (OrderStatus.PARTIAL, D("1.5")), (OrderStatus.FILLED, D(2))]
    assert dropped(m.outputs()) == ["duplicate PARTIAL", "late: ACK after a later state"]


def test_a_modified_order_is_shown_and_a_repeat_of_it_is_not() -> None:
    m = QfexOrders(ACCOUNT)
    modified = response("oid-M", status="MODIFIED", price=206)
    events = feed(m, response("oid-M"), response("oid-M"), modified, modified)
    assert [u.raw_status for u in updates(events)] == ["ACK", "MODIFIED"]
    assert dropped(m.outputs()) == ["duplicate ACK", "duplicate ACK"]


def test_one_trigger_is_acknowledged_once_and_fires_once() -> None:
    """The venue says a stop rests twice (stop_orders and order_responses); it is one
    TRIGGER_ACK. When it fires, the fill reports under the stop's id."""
    m = QfexOrders(ACCOUNT)
    sent(m, close("co-stop", trigger=Trigger(D(190))))
    events = feed(m, stop_push("stop-S"),
                  response("stop-S", client_order_id="co-stop", type="STOP_LOSS", price=190),
                  stop_push("stop-S"))
    assert statuses(events) == [OrderStatus.TRIGGER_ACK]
    (working,) = [e for e in events if isinstance(e, WorkingOrder)]
    assert working.kind is WorkingKind.TRIGGER and working.order_id == "stop-S"
    events = feed(m, response("stop-S", client_order_id="co-stop", status="FILLED",
                              type="MARKET", time_in_force="IOC", quantity_remaining=0))
    assert statuses(events) == [OrderStatus.FILLED]
    (gone,) = [e for e in events if isinstance(e, WorkingOrderRemoved)]
    assert gone.reason == "triggered; filled"
    assert feed(m, stop_push("stop-S")) == []  # late: not working again, not acknowledged again


# --------------------------------------------------------------------------- unknown, reconciled


def test_a_close_without_a_reply_is_unknown_when_the_connection_drops() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, close("co-lost"))
    sent(m, limit("co-answered"))
    feed(m, response("oid-A", client_order_id="co-answered"))
    m.connection_lost()
    (lost,) = m.events_to_emit()
    assert isinstance(lost, OrderUpdate) and lost.client_order_id == "co-lost"
    assert (lost.status, lost.final, lost.message) == (OrderStatus.UNKNOWN, False, LOST)
    assert lost.symbol == "AAPL-USD" and lost.quantity == D(2)


def test_a_lost_close_found_open_after_reconnecting_reports_its_state() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, limit("co-l"))
    m.connection_lost()
    m.events_to_emit()
    open_now = listing(order("oid-9", client_order_id="co-l"))
    m.connected(open_now)
    (snapshot,) = m.events_to_emit()
    assert isinstance(snapshot, WorkingOrdersSnapshot)
    assert [(o.order_id, o.reduce_only) for o in snapshot.orders] == [("oid-9", True)]
    m.reconcile(open_now)
    (found,) = updates(m.events_to_emit())
    assert (found.status, found.order_id, found.final) == (OrderStatus.ACK, "oid-9", False)
    assert m.frames_to_send() == []


def test_a_lost_close_missing_after_reconnecting_is_reported_gone() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, close("co-lost"))
    m.connection_lost()
    m.events_to_emit()
    m.reconcile(listing())
    (gone,) = updates(m.events_to_emit())
    assert (gone.status, gone.final, gone.message) == (OrderStatus.UNKNOWN, True, GONE)


@pytest.mark.parametrize(
    ("answer", "status", "words"),
    [
        (response("oid-1", status="FILLED", quantity_remaining=0), OrderStatus.FILLED, "Filled"),
        (response("oid-1", status="CANCELLED"), OrderStatus.CANCELLED, "Cancelled"),
        (response("oid-1", status="NO_SUCH_ORDER"), OrderStatus.UNKNOWN, "no record"),
        (err("ServerError", "lookup failed", "get_order", order_id="oid-1",
             symbol="AAPL-USD"), OrderStatus.UNKNOWN, "lookup failed"),
    ],
)
def test_an_answered_close_gone_after_reconnecting_is_looked_up(
    answer: str, status: OrderStatus, words: str
) -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, limit("co-rest"))
    feed(m, response("oid-1", client_order_id="co-rest"))
    m.connection_lost()
    assert m.events_to_emit() == []  # answered: not unknown
    m.connected(listing())
    m.events_to_emit()
    m.reconcile(listing())
    assert m.events_to_emit() == []
    assert m.frames_to_send() == [
        ("get_order", '{"type":"get_order","params":{"order_id":"oid-1","symbol":"AAPL-USD"}}')
    ]
    (settled,) = updates(feed(m, answer))
    assert settled.client_order_id == "co-rest" and settled.final
    assert settled.status is status and words in settled.message


def test_a_manual_listing_settles_only_unknown_closes() -> None:
    m = QfexOrders(ACCOUNT)
    sent(m, limit("co-resting"))
    feed(m, response("oid-1", client_order_id="co-resting"))
    sent(m, close("co-lost"))
    m.connection_lost()
    m.events_to_emit()
    m.outputs()
    m.listing_asked()
    events = feed(m, json.dumps({"all_orders_response": {"orders": []}}))
    assert [(u.client_order_id, u.status, u.final) for u in updates(events)] == [
        ("co-lost", OrderStatus.UNKNOWN, True)]
    assert m.frames_to_send() == []
    assert m.outputs() == [ListingAnswered()]


# --------------------------------------------------------------------------- working orders


def test_the_connect_listing_is_the_working_orders_snapshot() -> None:
    m = QfexOrders(ACCOUNT)
    m.connected(listing(order("oid-L"), order("stop-S", type="STOP_LOSS", price=190),
                        order("oid-ioc", time_in_force="IOC")))
    (snapshot,) = m.events_to_emit()
    assert isinstance(snapshot, WorkingOrdersSnapshot)
    orders = {o.order_id: o for o in snapshot.orders}
    assert set(orders) == {"oid-L", "stop-S"}
    assert not orders["oid-L"].reduce_only  # not ours: the listing does not say
    assert orders["stop-S"].kind is WorkingKind.TRIGGER and orders["stop-S"].price is None


def test_working_orders_follow_the_live_frames() -> None:
    m = QfexOrders(ACCOUNT)
    events = feed(m, response("oid-L"), response("oid-L", status="FILLED", quantity_remaining=0.5),
                  response("oid-L", status="FILLED", quantity_remaining=0))
    assert [e.remaining for e in events if isinstance(e, WorkingOrder)] == [D(2), D("0.5")]
    assert [e.reason for e in events if isinstance(e, WorkingOrderRemoved)] == ["filled"]
    for oid, status in (("oid-C", "CANCELLED"), ("oid-R", "REJECTED")):
        events = feed(m, response(oid), response(oid, status=status))
        assert [e.reason for e in events if isinstance(e, WorkingOrderRemoved)] == [
            status.lower()]
    events = feed(m, response("oid-D"), response("oid-D"))
    assert len([e for e in events if isinstance(e, WorkingOrder)]) == 1


def test_a_listing_does_not_undo_a_newer_live_frame() -> None:
    m = QfexOrders(ACCOUNT)
    m.listing_asked()
    feed(m, response("oid-new"))
    m.connected(listing(order("oid-old")))
    (snapshot,) = [e for e in m.events_to_emit() if isinstance(e, WorkingOrdersSnapshot)]
    assert {o.order_id for o in snapshot.orders} == {"oid-old", "oid-new"}


def test_a_refused_listing_is_reported_and_answers_the_waiter() -> None:
    m = QfexOrders(ACCOUNT)
    m.listing_asked()
    (error,) = feed(m, err("ServerError", "try later", "get_user_orders"))
    assert isinstance(error, ProtocolError) and "could not be listed" in error.message
    assert m.outputs() == [ListingAnswered(error="The venue had an internal error; check "
                                                 "before retrying: try later")]


# --------------------------------------------------------------------------- cancels


def test_cancels_are_answered_by_the_order_ids_in_the_replies() -> None:
    """Replies carry no request id and come back in the other order."""
    m = QfexOrders(ACCOUNT)
    m.connected(listing(order("oid-L"), order("oid-M")))
    m.events_to_emit()
    cancelling(m, LIMIT)
    cancelling(m, WorkingOrder(QFEX, ACCOUNT, "AAPL-USD", "oid-M", WorkingKind.LIMIT,
                               None, D(2)))
    events = feed(m, response("oid-M", status="NO_SUCH_ORDER"), response("oid-L",
                                                                         status="CANCELLED"))
    gone, done = m.outputs()
    assert isinstance(gone, CancelAnswered) and gone.key == ("order", "oid-M")
    assert gone.error is not None and str(gone.error) == CANCEL_GONE
    assert done == CancelAnswered(("order", "oid-L"))
    # NO_SUCH_ORDER is only about the cancel; CANCELLED is also the order's own final state.
    assert [(u.order_id, u.status) for u in updates(events)] == [
        ("oid-L", OrderStatus.CANCELLED)]
    assert sorted(e.order_id for e in events if isinstance(e, WorkingOrderRemoved)) == [
        "oid-L", "oid-M"]


def test_a_cancel_reply_naming_no_order_answers_the_oldest_on_its_symbol() -> None:
    m = QfexOrders(ACCOUNT)
    cancelling(m, LIMIT)
    cancelling(m, WorkingOrder(QFEX, ACCOUNT, "AAPL-USD", "oid-M", WorkingKind.LIMIT,
                               None, D(2)))
    body = order("", status="NO_SUCH_ORDER")
    del body["order_id"]
    feed(m, json.dumps({"order_response": body}))
    (answer,) = m.outputs()
    assert isinstance(answer, CancelAnswered) and answer.key == ("order", "oid-L")


def test_stop_cancels_are_answered_by_the_echoed_stop_id() -> None:
    m = QfexOrders(ACCOUNT)
    m.connected(listing(order("stop-S", type="STOP_LOSS"), order("stop-T", type="STOP_LOSS")))
    m.events_to_emit()
    cancelling(m, STOP)
    cancelling(m, WorkingOrder(QFEX, ACCOUNT, "AAPL-USD", "stop-T", WorkingKind.TRIGGER,
                               None, D(2)))
    ack = {"ack": {"incoming_message": {"type": "cancel_stop_order",
                                        "params": {"stop_order_id": "stop-T"}}}}
    (removed,) = feed(m, json.dumps(ack))
    assert isinstance(removed, WorkingOrderRemoved) and removed.order_id == "stop-T"
    assert m.outputs() == [CancelAnswered(("stop", "stop-T"))]
    feed(m, err("InvalidOrder", "no such stop order", "cancel_stop_order",
                stop_order_id="stop-S"))
    (refused,) = m.outputs()
    assert isinstance(refused, CancelAnswered) and refused.key == ("stop", "stop-S")
    assert refused.error is not None and refused.error.code == "InvalidOrder"
    assert str(refused.error) == "The venue refused the order: no such stop order"


def test_a_refused_cancel_is_matched_by_the_echoed_order_id() -> None:
    m = QfexOrders(ACCOUNT)
    cancelling(m, LIMIT)
    events = feed(m, err("RateLimited", "retry after 1500ms", "cancel_order", symbol="AAPL-USD",
                         order_id="oid-L", cancel_order_id_type="order_id"))
    assert events == []  # about the cancel only
    penalty, answer = m.outputs()
    assert penalty == Penalty(1.5)
    assert isinstance(answer, CancelAnswered) and answer.key == ("order", "oid-L")
    assert answer.error is not None and str(answer.error) == RATE_LIMITED


def test_an_abandoned_cancel_is_not_answered() -> None:
    m = QfexOrders(ACCOUNT)
    cancelling(m, LIMIT)
    m.cancel_abandoned(("order", "oid-L"))
    (update,) = feed(m, response("oid-L", status="CANCELLED"))
    assert isinstance(update, OrderUpdate) and update.status is OrderStatus.CANCELLED
    assert m.outputs() == []


def test_a_lost_connection_fails_every_cancel_and_the_listing() -> None:
    m = QfexOrders(ACCOUNT)
    cancelling(m, LIMIT)
    cancelling(m, STOP)
    m.listing_asked()
    m.connection_lost()
    outputs = m.outputs()
    assert outputs[-1] == ListingAnswered(lost=True)
    answers = [o for o in outputs if isinstance(o, CancelAnswered)]
    assert [a.key for a in answers] == [("order", "oid-L"), ("stop", "stop-S")]
    assert all(a.error is not None and str(a.error) == CANCEL_LOST for a in answers)
    feed(m, response("oid-L", status="CANCELLED"))
    assert m.outputs() == []  # nothing left to answer


def test_the_cancel_frame_fits_the_kind_of_order() -> None:
    assert build_cancel(LIMIT) == (
        '{"type":"cancel_order","params":{"symbol":"AAPL-USD","order_id":"oid-L",'
        '"cancel_order_id_type":"order_id"}}')
    assert build_cancel(STOP) == '{"type":"cancel_stop_order","params":{"stop_order_id":"stop-S"}}'


def test_the_status_gate_forgets_the_oldest_orders_first() -> None:
    """Memory stays flat over a long session; only orders long finished are forgotten."""
    gate = StatusGate(memory=2)
    filled = OrderUpdate(QFEX, ACCOUNT, "AAPL-USD", OrderStatus.FILLED, "FILLED", True)
    ack = OrderUpdate(QFEX, ACCOUNT, "AAPL-USD", OrderStatus.ACK, "ACK", False)
    for key in ("a", "b", "c"):
        assert gate.admit(key, filled) is None
    assert gate.admit("c", ack) is not None
    assert gate.admit("a", ack) is None  # forgotten
