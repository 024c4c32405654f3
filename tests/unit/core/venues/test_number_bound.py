"""Every parser of both venues, fed numbers no Decimal can hold and numbers outside the one
bound (``core.bounds``): each answers with its own typed error, and both venues draw the line
in the same place."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from core.model import MarkUpdate, OrderUpdate, Position, ProtocolError
from core.venues.everstrike import protocol as ev
from core.venues.qfex import protocol as qf

ACCOUNT = "acct"
PAIR = "USD_BTC_PERP"
HUGE = "1e99999999999999999999"  # valid JSON; no Decimal can hold it
BIG = "1E+999999999"  # a Decimal holds it; plain text of it is a gigabyte


def _everstrike_ok(result: str) -> bytes:
    return ('{"code": 200, "msg": "null", "result": ' + result + "}").encode()


def _close_result(balance: str) -> str:
    return (
        '{"order": {"id": "o1", "pair": "' + PAIR + '", "side": "SELL", "type": "MARKET", '
        '"status": "COMPLETED", "qty_orig": 1, "qty_remaining": 0}, '
        '"balances": {"USD": {"free": ' + balance + ', "locked": 0}}, "position": {}}'
    )


def _position(size: str) -> str:
    return ('{"size": ' + size + ', "stats": {"direction": "BUY", "mark": 100, '
            '"avg_entry": 90}}')


# ------------------------------------------------------------------- a number no Decimal holds


@pytest.mark.parametrize("number", [HUGE, BIG, "-" + HUGE, "1e61", "1e-61"])
def test_an_ok_close_reply_with_a_bad_number_in_balances_is_a_malformed_reply(
    number: str,
) -> None:
    """The venue acted, but the reply cannot be read: a typed error, so the session reports
    the close Unknown and reconciles (never an exception escaping the desk)."""
    body = _everstrike_ok(_close_result(number))
    with pytest.raises(ev.MalformedReply) as caught:
        ev.parse_envelope(200, body)
    assert caught.value.http_status == 200
    assert "out of range" in caught.value.msg


def test_the_same_close_reply_with_a_sane_balance_parses() -> None:
    result = ev.parse_envelope(200, _everstrike_ok(_close_result("100.5")))
    (update,) = ev.parse_close_reply(result, ACCOUNT, PAIR)
    assert isinstance(update, OrderUpdate) and update.order_id == "o1"


@pytest.mark.parametrize("number", [HUGE, "-" + HUGE, "NaN", "Infinity"])
def test_everstrike_ws_frame_with_an_unholdable_number_is_a_protocol_error(number: str) -> None:
    frame = ('{"code": 200, "msg": "", "category": "index", "pair": "' + PAIR + '", '
             '"result": {"mark": 100, "index": ' + number + "}}")
    (event,) = ev.parse_ws(frame, ACCOUNT)
    assert isinstance(event, ProtocolError) and event.code == "malformed"
    (event,) = ev.parse_ws(frame.encode(), ACCOUNT)
    assert isinstance(event, ProtocolError)


@pytest.mark.parametrize("number", [HUGE, BIG])
def test_qfex_parsers_refuse_an_unholdable_number_with_their_own_errors(number: str) -> None:
    order = ('{"order_response": {"order_id": "o", "symbol": "AAPL-USD", "status": "ACK", '
             '"quantity": ' + number + ', "quantity_remaining": 1}}')
    (event,) = qf.parse(order, ACCOUNT)
    assert isinstance(event, ProtocolError)
    mds = '{"type": "mark_price", "symbol": "AAPL-USD", "price": ' + number + "}"
    (event,) = qf.parse_mds(mds, ACCOUNT)
    assert isinstance(event, ProtocolError)
    with pytest.raises(qf.QfexProtocolError):
        qf.parse_refdata('{"data": [{"symbol": "A", "tick_size": ' + number + "}]}")
    with pytest.raises(qf.QfexProtocolError):
        qf.parse_positions_rest('{"positions": [{"symbol": "A", "position": ' + number + "}]}",
                                ACCOUNT)


# ----------------------------------------------------------------- parse_problem never raises


@pytest.mark.parametrize("body", [
    '{"title": "Server Error", "status": 1e61}',
    '{"title": "Server Error", "status": 1E+999999999}',
    '{"title": "Server Error", "status": ' + HUGE + "}",
    '{"title": "Server Error", "detail": "x", "errors": [{"message": ' + HUGE + "}]}",
    '{"title": "Server Error", "status": 500.5}',
    '{"title": "Server Error", "status": -500}',
])
def test_parse_problem_never_raises(body: str) -> None:
    for raw in (body, body.encode()):
        line = qf.parse_problem(raw)
        assert isinstance(line, str) and line
        assert len(line) <= qf.RAW_LIMIT


def test_parse_problem_still_names_a_real_status() -> None:
    assert qf.parse_problem('{"title": "Server Error", "status": 500}') == \
        "Server Error (HTTP 500)"
    # A number outside the bound makes the body unreadable as JSON: it is shown as text.
    assert "Server Error" in qf.parse_problem('{"title": "Server Error", "status": 1e61}')


def test_a_retry_hint_no_decimal_holds_is_no_hint() -> None:
    assert qf.retry_after({"retry_after": HUGE}) is None
    assert qf.retry_after({"retry_after_ms": "1E+999999999"}) is None
    assert qf.retry_after({"message": "retry after " + "9" * 400 + " ms"}) is None
    assert qf.retry_after({"retry_after_ms": "1500"}) == 1.5


# ------------------------------------------------------------------------ one bound, both venues


@pytest.mark.parametrize("size", [BIG, '"' + BIG + '"', "1e61", '"1e61"', "1e-61",
                                  "0." + "0" * 60 + "1"])
def test_everstrike_refuses_sizes_outside_the_bound(size: str) -> None:
    """Both the REST snapshot and the WebSocket update refuse them as a protocol error."""
    body = _everstrike_ok('{"' + PAIR + '": ' + _position(size) + "}")
    with pytest.raises(ev.MalformedReply):
        ev.parse_active_positions(ev.parse_envelope(200, body), ACCOUNT)
    frame = ('{"code": 200, "msg": "", "category": "position_updated", "pair": "' + PAIR +
             '", "result": ' + _position(size) + "}")
    (event,) = ev.parse_ws(frame, ACCOUNT)
    assert isinstance(event, ProtocolError)


@pytest.mark.parametrize(("number", "accepted"), [
    ("1E+60", True), ("-9.5E+60", True), ("1E-60", True), ("12.5", True),
    ("1E+61", False), ("-1E+61", False), ("1E-61", False), ("1.0000000000E+60", True),
    ("0." + "0" * 60 + "1", False), ("1" * 61, True), ("1" * 62, False),
])
def test_both_venues_draw_the_line_in_the_same_place(number: str, accepted: bool) -> None:
    """A mark price through each venue's market-data parser, as a JSON number and as text."""
    for text in (number, json.dumps(number)):
        (ev_event,) = ev.parse_ws(
            '{"code": 200, "msg": "", "category": "index", "pair": "' + PAIR +
            '", "result": {"mark": ' + text + "}}", ACCOUNT)
        (qf_event,) = qf.parse_mds(
            '{"type": "mark_price", "symbol": "AAPL-USD", "price": ' + text + "}", ACCOUNT)
        for event in (ev_event, qf_event):
            if accepted:
                assert isinstance(event, MarkUpdate) and event.mark == Decimal(number)
            else:
                assert isinstance(event, ProtocolError), event


def test_a_fill_worked_out_from_two_sizes_in_bounds_stays_in_bounds() -> None:
    """qty_orig - qty_remaining can leave the bound although each is inside it."""
    order = {"id": "o1", "pair": PAIR, "side": "SELL", "status": "ACTIVE",
             "qty_orig": Decimal("9E+60"), "qty_remaining": Decimal("-9E+60")}
    with pytest.raises(ev.MalformedReply):
        ev.parse_order(order, ACCOUNT, PAIR)
    frame = ('{"order_response": {"order_id": "o", "symbol": "AAPL-USD", "status": "ACK", '
             '"quantity": 9E+60, "quantity_remaining": -9E+60}}')
    (event,) = qf.parse(frame, ACCOUNT)
    assert isinstance(event, ProtocolError)


def test_a_position_at_the_edge_of_the_bound_is_kept() -> None:
    result = ev.parse_envelope(200, _everstrike_ok('{"' + PAIR + '": ' + _position("1E+60")
                                                   + "}"))
    (position,) = ev.parse_active_positions(result, ACCOUNT)
    assert isinstance(position, Position) and position.quantity == Decimal("1E+60")


@pytest.mark.parametrize("obj", ["x", None, [], {"size": "x"}, {"size": 1, "direction": "UP"},
                                 {"size": 1e61}])
def test_parse_position_raises_only_its_typed_error(obj: object) -> None:
    """Found by the fuzz suite: it raised the package's private error."""
    with pytest.raises(ev.MalformedReply):
        ev.parse_position(obj, ACCOUNT, PAIR)


_ORDER = {"id": "o1", "pair": PAIR, "side": "SELL", "type": "LIMIT", "status": "ACTIVE",
          "qty_orig": 2, "qty_remaining": 1, "price": 100, "reduce_only": True, "time": 1}


def _hostile_objects(number: object) -> list[tuple[str, object, object]]:
    """(parser, its call, the object) for every Everstrike parser of a REST result, each fed
    ``number`` where it reads a number."""
    order = {**_ORDER, "qty_orig": number}
    pair = {"key": PAIR, "filters": [{"filter_type": "LOT_SIZE", "tick_size": number}]}
    return [
        ("parse_close_reply", lambda o: ev.parse_close_reply(o, ACCOUNT, PAIR),
         {"order": order, "position": {}}),
        ("parse_order", lambda o: ev.parse_order(o, ACCOUNT, PAIR), order),
        ("parse_order_list", lambda o: ev.parse_order_list(o, ACCOUNT), [order]),
        ("parse_working_orders", lambda o: ev.parse_working_orders(o, [], ACCOUNT), [order]),
        ("working_order", lambda o: ev.working_order(o, ACCOUNT, PAIR, fresh=True),
         {**_ORDER, "price": number}),
        ("parse_pairs", ev.parse_pairs, {PAIR: pair}),
        ("parse_time", ev.parse_time, number),
        ("parse_position", lambda o: ev.parse_position(o, ACCOUNT, PAIR),
         {"size": number, "stats": {"direction": "BUY"}}),
        ("parse_active_positions", lambda o: ev.parse_active_positions(o, ACCOUNT),
         {PAIR: {"size": number, "stats": {"direction": "BUY"}}}),
    ]


@pytest.mark.parametrize("number", [HUGE, BIG, "NaN", "-Infinity", Decimal("1E+999999999"),
                                    Decimal("NaN"), Decimal("1E-61")])
def test_every_everstrike_result_parser_refuses_a_bad_number_with_its_typed_error(
    number: object,
) -> None:
    for name, parse, obj in _hostile_objects(number):
        try:
            parse(obj)
        except ev.MalformedReply:
            continue
        pytest.fail(f"{name} accepted {number!r}")


def test_the_same_results_with_a_sane_number_parse() -> None:
    for name, parse, obj in _hostile_objects(Decimal(2)):
        assert parse(obj) is not None or name == "working_order", name
