"""The QFEX order machine fed a frame it cannot read while closes await their reply: the closes
it may answer become Unknown and are checked (positions, then open orders); none is resent."""

from __future__ import annotations

from decimal import Decimal

from core.model import CloseRequest, OrderStatus, OrderUpdate, PositionKey, PositionSide
from core.venue import PreparedClose
from core.venues.qfex import QFEX, protocol
from core.venues.qfex.orders import GONE, UNREADABLE, CheckCloses, QfexOrders
from core.venues.qfex.protocol import OrdersList

D = Decimal
ACCOUNT = "acct"
HUGE = "1e99999999999999999999"


def close(cid: str, symbol: str = "AAPL-USD") -> CloseRequest:
    return CloseRequest(PositionKey(ACCOUNT, QFEX, symbol), PositionSide.LONG, D(2),
                        client_order_id=cid)


def sent(machine: QfexOrders, request: CloseRequest) -> None:
    frame = protocol.build_close(request, D(200), None)
    prepared = PreparedClose(redacted=frame, wire=frame.encode(), request=request)
    machine.claim(prepared)
    machine.sent(prepared)


def feed(machine: QfexOrders, frame: str) -> tuple[list[OrderUpdate], list[object]]:
    for event in protocol.parse(frame, ACCOUNT):
        machine.receive(event)
    updates = [e for e in machine.events_to_emit() if isinstance(e, OrderUpdate)]
    return updates, list(machine.outputs())


def reply(cid: str, symbol: str = "AAPL-USD", status: str = "ACK") -> str:
    return ('{"order_response": {"order_id": "o-' + cid + '", "symbol": "' + symbol +
            '", "status": "' + status + '", "quantity": ' + HUGE + ', "side": "SELL", '
            '"type": "LIMIT", "client_order_id": "' + cid + '", "quantity_remaining": 2}}')


def test_an_unreadable_reply_naming_a_close_makes_only_that_close_unknown() -> None:
    machine = QfexOrders(ACCOUNT)
    sent(machine, close("c1"))
    sent(machine, close("c2"))
    updates, outputs = feed(machine, reply("c2"))
    assert [(u.client_order_id, u.status, u.final) for u in updates] == [
        ("c2", OrderStatus.UNKNOWN, False)]
    assert updates[0].message == UNREADABLE
    assert outputs == [CheckCloses()]
    # The listing that follows finds it gone: final Unknown, settled from positions by the desk.
    machine.receive(OrdersList(()))
    machine._reconcile(OrdersList(()), after_reconnect=False)
    done = [e for e in machine.events_to_emit() if isinstance(e, OrderUpdate)]
    assert [(u.client_order_id, u.status, u.final, u.message) for u in done] == [
        ("c2", OrderStatus.UNKNOWN, True, GONE)]


def test_an_unreadable_order_reply_without_our_id_picks_the_closes_on_its_symbol() -> None:
    machine = QfexOrders(ACCOUNT)
    sent(machine, close("a", "AAPL-USD"))
    sent(machine, close("t", "TSLA-USD"))
    updates, outputs = feed(machine, reply("", "TSLA-USD"))
    assert [u.client_order_id for u in updates] == ["t"]
    assert outputs == [CheckCloses()]


def test_a_frame_that_says_nothing_readable_may_be_any_reply() -> None:
    machine = QfexOrders(ACCOUNT)
    sent(machine, close("a", "AAPL-USD"))
    sent(machine, close("t", "TSLA-USD"))
    updates, outputs = feed(machine, '{"order_resp')
    assert sorted(u.client_order_id or "" for u in updates) == ["a", "t"]
    assert outputs == [CheckCloses()]


def test_an_unreadable_frame_that_is_plainly_not_a_reply_leaves_the_closes_alone() -> None:
    machine = QfexOrders(ACCOUNT)
    sent(machine, close("c1"))
    position = '{"position_response": {"symbol": "AAPL-USD", "position": ' + HUGE + "}}"
    ack = '{"ack": {"incoming_message": {"type": "cancel_stop_order", "n": ' + HUGE + "}}}"
    for frame in (position, ack):
        updates, outputs = feed(machine, frame)
        assert updates == [] and outputs == []


def test_nothing_awaiting_nothing_to_check() -> None:
    machine = QfexOrders(ACCOUNT)
    updates, outputs = feed(machine, reply("c1"))
    assert updates == [] and outputs == []


def test_a_readable_reply_after_the_unreadable_one_still_settles_the_close() -> None:
    machine = QfexOrders(ACCOUNT)
    sent(machine, close("c1"))
    feed(machine, reply("c1"))
    good = reply("c1", status="FILLED").replace(HUGE, "2").replace(
        '"quantity_remaining": 2', '"quantity_remaining": 0')
    updates, _ = feed(machine, good)
    assert [(u.status, u.final) for u in updates] == [(OrderStatus.FILLED, True)]
    machine._reconcile(OrdersList(()), after_reconnect=False)
    assert machine.events_to_emit() == []  # settled: nothing left to report gone
