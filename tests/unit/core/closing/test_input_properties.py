"""Property tests of every close field as typed (quantity, the percent buttons, limit price, time
in force, trigger price, trigger event, close-on-trigger, reason): whatever the dialog or
``closeout close`` is given, the form refuses it by field, or builds a request that the venue's
own encoder turns into wire text whose every number is on the instrument's tick and lot and
within its bounds. Nothing else reaches the wire, and nothing raises.

``make fuzz-input`` runs many more examples (``CLOSEOUT_EXAMPLES``)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

from hypothesis import given
from hypothesis import strategies as st

from core.closing.form import REASON_MAX, Checked, Fields, read
from core.closing.rules import FieldError
from core.model import (
    CloseRequest,
    Instrument,
    Position,
    PositionKey,
    PositionSide,
    TriggerEvent,
)
from core.venues import venue_info
from core.venues.everstrike import EVERSTRIKE
from core.venues.everstrike.protocol.forms import check_close, encode_close
from core.venues.qfex import QFEX
from core.venues.qfex.protocol import InvalidClose, build_close
from tests.helpers.examples import examples

D = Decimal
STEPS = [D(s) for s in ("0.01", "0.05", "0.25", "0.5", "1", "5", "0.0001", "0.001",
                        "0.00000001", "0.1")]
VENUES = [QFEX, EVERSTRIKE]


# ------------------------------------------------------------------------------- what is typed
def _decimal_text(value: Decimal) -> str:
    return format(value, "f")


numbers_typed = st.one_of(
    # near what a trader types: a whole number of some step, maybe off the lot or tick
    st.builds(lambda k, step: _decimal_text(step * k), st.integers(1, 10**7),
              st.sampled_from(STEPS)),
    st.decimals(min_value=D("0.000000001"), max_value=D(10**9), allow_nan=False,
                allow_infinity=False).map(_decimal_text),
    st.sampled_from(["", " ", "0", "-1", "1e3", "nan", "NaN", "Infinity", "inf", "1,000.5",
                     "1 000", " 12.5 ", "\t3\t", ".5", "5.", ".", "+3", "١٢", "0x10",
                     "1" + "0" * 23, "1" + "0" * 24, "0." + "0" * 22 + "1",
                     "9" * 24, "1\n", "\u00a01", "25", "50", "75", "100"]),
    # long digit strings: many ticks or lots, more than Decimal's 28 digits hold exactly
    st.from_regex(r"\A[1-9][0-9]{0,29}(\.[0-9]{1,12})?\Z"),
    st.text(max_size=12),
)
percents_typed = st.one_of(st.sampled_from(["25", "50", "75", "100"]), numbers_typed)
tifs_typed = st.one_of(st.none(), st.sampled_from(["GTC", "IOC", "FOK", "gtc", " ioc ", "",
                                                   "ALO", "DAY"]), st.text(max_size=5))
events_typed = st.one_of(st.none(), st.sampled_from(
    ["mark", "index", "last", "Mark", "MARK_PRICE", "INDEX_PRICE", "LAST_PRICE", "", "bid"]),
    st.text(max_size=6))
reasons_typed = st.one_of(st.none(), st.text(max_size=300))


@st.composite
def typed_fields(draw: st.DrawFn) -> Fields:
    """The dialog's inputs: any subset filled, each with anything."""
    quantity = draw(st.one_of(st.none(), numbers_typed))
    percent = draw(st.one_of(st.none(), percents_typed)) if quantity is None else None
    return Fields(
        quantity=quantity,
        percent=percent,
        limit_price=draw(st.one_of(st.none(), numbers_typed)),
        time_in_force=draw(tifs_typed),
        trigger_price=draw(st.one_of(st.none(), numbers_typed)),
        trigger_event=draw(events_typed),
        close_on_trigger=draw(st.booleans()),
        reason=draw(reasons_typed),
    )


@st.composite
def instruments(draw: st.DrawFn) -> Instrument | None:
    """Reference data as a venue gives it, or none yet."""
    if draw(st.integers(0, 5)) == 0:
        return None
    tick = draw(st.sampled_from(STEPS))
    lot = draw(st.sampled_from(STEPS))
    min_qty = draw(st.one_of(st.none(), st.integers(1, 100).map(lambda k: lot * k)))
    max_qty = draw(st.one_of(st.none(), st.integers(100, 10**6).map(lambda k: lot * k)))
    min_price = draw(st.one_of(st.none(), st.just(tick)))
    max_price = draw(st.one_of(st.none(), st.integers(10**3, 10**8).map(lambda k: tick * k)))
    return Instrument("X-USD", tick_size=tick, lot_size=lot, min_quantity=min_qty,
                      max_quantity=max_qty, min_price=min_price, max_price=max_price)


@st.composite
def positions(draw: st.DrawFn) -> tuple[Position, Instrument | None]:
    venue = draw(st.sampled_from(VENUES))
    inst = draw(instruments())
    lot = inst.lot_size if inst is not None and inst.lot_size else D("0.001")
    held = lot * draw(st.integers(1, 10**6))
    mark = draw(st.one_of(st.none(), st.integers(1, 10**7).map(lambda k: D(k) / 100)))
    side = draw(st.sampled_from(PositionSide))
    return Position(PositionKey("acct", venue, "X-USD"), side, held, entry_price=D(100),
                    mark_price=mark), inst


# ------------------------------------------------------------------------------- the wire
def _steps(value: Decimal, step: Decimal | None) -> bool:
    return step is None or value % step == 0


def _qfex_wire(request: CloseRequest, position: Position, inst: Instrument | None
               ) -> dict[str, Any] | None:
    """The frame's params, or None when QFEX's encoder refuses (only for a trigger it cannot
    place against the mark)."""
    refused: InvalidClose | None = None
    try:
        frame = build_close(request, position.mark_price, inst)
    except InvalidClose as exc:
        refused = exc
    if refused is not None:  # no mark yet, or a trigger at the mark: it would fire at once
        assert refused.field == "trigger_price" and request.trigger is not None, refused
        return None
    message = json.loads(frame, parse_float=Decimal, parse_int=Decimal)
    params: dict[str, Any] = message["params"]
    if message["type"] == "close_position":
        assert request.quantity is None and request.limit_price is None
        assert request.trigger is None
        return params
    assert message["type"] == "add_order" and params["reduce_only"] is True
    assert params["side"] == position.side.closing_side.value
    qty: Decimal = params["quantity"]
    assert 0 < qty <= position.quantity and _steps(qty, inst and inst.lot_size)
    if params["order_type"] != "MARKET":
        price: Decimal = params["price"]
        assert price > 0 and _steps(price, inst and inst.tick_size)
    else:
        assert params["price"] == 0 and params["order_time_in_force"] == "IOC"
    return params


def _everstrike_wire(request: CloseRequest, position: Position, inst: Instrument | None
                     ) -> dict[str, str]:
    check_close(request, inst)
    body = encode_close(request, 1_780_000_000_000, 5000)
    fields = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True,
                                           strict_parsing=True).items()}
    assert fields["pair"] == "X-USD"
    if "qty" in fields:
        qty = D(fields["qty"])
        assert 0 < qty <= position.quantity and _steps(qty, inst and inst.lot_size)
    for name in ("price", "trigger_price"):
        if name in fields:
            assert D(fields[name]) > 0 and _steps(D(fields[name]), inst and inst.tick_size)
    if "trigger_event" in fields:
        assert fields["trigger_event"] in {e.value for e in TriggerEvent}
    return fields


def _bounds(request: CloseRequest, position: Position, inst: Instrument | None) -> None:
    """The instrument's min/max, where the venue applies them (stops skip the size bounds)."""
    if inst is None:
        return
    qty = request.quantity
    if qty is not None and request.trigger is None:
        assert inst.min_quantity is None or qty >= inst.min_quantity
        assert inst.max_quantity is None or qty <= inst.max_quantity
    prices = [p for p in (request.limit_price,
                          request.trigger.price if request.trigger else None) if p is not None]
    for price in prices:
        assert inst.min_price is None or price >= inst.min_price
        assert inst.max_price is None or price <= inst.max_price


def _typed_number(text: str | None) -> Decimal | None:
    return D(text.strip(" \t")) if text is not None and text.strip(" \t") else None


# ------------------------------------------------------------------------------- the property
@examples(150)
@given(typed_fields(), positions(), st.booleans())
def test_whatever_is_typed_only_a_valid_request_reaches_the_wire(
        fields: Fields, held: tuple[Position, Instrument | None], exact: bool) -> None:
    position, inst = held
    caps = venue_info(position.key.venue).capabilities
    checked: Checked = read(fields, position, caps, inst, exact=exact)
    if checked.request is None:
        assert checked.errors, "refused without saying why"
        for name, exc in checked.errors.items():
            assert isinstance(exc, FieldError) and exc.field == name and exc.message
        return
    request = checked.request
    assert not checked.errors
    assert request.reason is None or ("\n" not in request.reason and request.reason.strip())
    assert request.position_quantity == position.quantity
    _bounds(request, position, inst)
    # What was typed is what goes, unless the dialog says "will send X" beside the field.
    for name, sent in (("limit_price", request.limit_price),
                       ("trigger_price", request.trigger.price if request.trigger else None)):
        typed = _typed_number(getattr(fields, name))
        if typed is not None and sent != typed:
            assert not exact and checked.rounded.get(name) == sent  # type: ignore[call-overload]
    typed_qty = _typed_number(fields.quantity)
    if typed_qty is not None and request.quantity is not None and request.quantity != typed_qty:
        assert not exact and checked.rounded.get("quantity") == request.quantity
    if request.key.venue == QFEX:
        _qfex_wire(request, position, inst)
    else:
        _everstrike_wire(request, position, inst)


@examples(60)
@given(st.text(max_size=REASON_MAX * 2), positions())
def test_any_reason_is_kept_as_one_line_and_never_blocks_a_valid_close(
        reason: str, held: tuple[Position, Instrument | None]) -> None:
    position, inst = held
    caps = venue_info(position.key.venue).capabilities
    checked = read(Fields(reason=reason), position, caps, inst)
    assert checked.request is not None, checked.messages
    kept = checked.request.reason
    assert kept == (" ".join(reason.split()) or None)
