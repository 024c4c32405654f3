"""Typed text in the real close dialog, for a handful of generated examples per venue: keys
into every field, a percent button, the time in force and trigger event pickers, the
close-on-trigger box. Whatever was typed, Send is enabled only for a request whose wire text
(the venue's own encoder, as ``desk.preview`` builds it) is on the tick and lot; otherwise a
message says why and pressing Send sends nothing.

The core form gets many more examples in tests/unit/core/closing/test_input_properties.py."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import parse_qs

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot

from core.closing.form import read
from core.model import CloseRequest, Instrument, Position, PositionKey, PositionSide, Venue
from core.settings import Preferences
from core.venues import venue_info
from core.venues.everstrike import EVERSTRIKE
from core.venues.everstrike.protocol.forms import check_close, encode_close
from core.venues.qfex import QFEX
from core.venues.qfex.protocol import build_close
from gui.dialogs.close import CloseDialog
from tests.helpers.examples import examples
from tests.helpers.fakes import FakeSubmit

D = Decimal
INSTRUMENT = Instrument("BTC-USD", tick_size=D("0.5"), lot_size=D("0.01"),
                        min_quantity=D("0.05"), max_quantity=D("3"),
                        min_price=D("1000"), max_price=D("100000"))
MARK = D("61000")

typed_numbers = st.one_of(
    st.sampled_from(["", "1", "0.5", "2.999", " 1.25 ", "1 000", "1,5", "-1", "0", "nan",
                     "1e3", "61000", "61000.25", "60999.5", "3.5", "100001", "999",
                     "1" + "0" * 30, "0.001", "٣"]),
    st.decimals(min_value=D("0.001"), max_value=D(200000), places=3).map(str),
    st.text(st.characters(codec="ascii", categories=("Nd", "Po", "Zs", "Ll")), max_size=8),
)
reasons = st.text(st.characters(categories=("L", "N", "P", "Zs")), max_size=40)


def _wire_numbers(venue: Venue, request: CloseRequest) -> dict[str, Decimal]:
    """What the venue's encoder puts on the wire for ``request``: its numbers by name."""
    if venue == QFEX:
        frame = json.loads(build_close(request, MARK, INSTRUMENT), parse_float=D, parse_int=D)
        params = frame["params"]
        return {k: params[k] for k in ("quantity", "price") if k in params}
    check_close(request, INSTRUMENT)
    body = parse_qs(encode_close(request, 1_780_000_000_000, 5000))
    return {k: D(v[0]) for k, v in body.items() if k in ("qty", "price", "trigger_price")}


@pytest.mark.parametrize("venue", [QFEX, EVERSTRIKE], ids=["qfex", "everstrike"])
@examples(6, most=300)
@given(data=st.data())
def test_typed_text_reaches_the_wire_only_on_the_tick_and_lot(
        qtbot: QtBot, venue: Venue, data: st.DataObject) -> None:
    held = data.draw(st.sampled_from(["3.5", "2.75", "0.04"]), label="position size")
    side = data.draw(st.sampled_from(PositionSide), label="side")
    position = Position(PositionKey("Desk A", venue, "BTC-USD"), side, D(held),
                        entry_price=D(60000), mark_price=MARK)
    caps = venue_info(venue).capabilities
    previews: list[CloseRequest] = []

    def preview(request: CloseRequest) -> str:
        previews.append(request)
        return json.dumps({k: str(v) for k, v in _wire_numbers(venue, request).items()})

    submit = FakeSubmit()
    dialog = CloseDialog(position, caps, INSTRUMENT, submit, preview=preview,
                         preferences=Preferences(confirm="never"))
    qtbot.addWidget(dialog)
    dialog.open()

    def type_into(edit: str, text: str) -> None:
        widget = getattr(dialog, edit)
        if widget.isEnabled():
            widget.clear()
            if text.isascii():
                qtbot.keyClicks(widget, text)
            else:  # QTest's key clicks abort on other characters: they come as a paste would
                widget.insert(text)

    preset = data.draw(st.sampled_from([None, 25, 50, 75, 100]), label="percent button")
    if preset is not None and dialog.form.presetButtons[preset].isEnabled():
        dialog.form.presetButtons[preset].click()
    else:
        type_into("quantityInput", data.draw(typed_numbers, label="quantity"))
    type_into("limitPriceInput", data.draw(typed_numbers, label="limit price"))
    type_into("triggerPriceInput", data.draw(typed_numbers, label="trigger price"))
    for combo in (dialog.form.timeInForceInput, dialog.form.triggerEventInput):
        if combo.isEnabled() and combo.count():
            combo.setCurrentIndex(data.draw(st.integers(0, combo.count() - 1)))
    if dialog.form.closeOnTriggerInput.isEnabled() and data.draw(st.booleans()):
        dialog.form.closeOnTriggerInput.click()
    type_into("reasonInput", data.draw(reasons, label="reason"))

    request = dialog.validate()
    expected = read(dialog.form.fields(), position, caps, INSTRUMENT)
    assert (request is None) == (expected.request is None)
    if request is None:
        assert not dialog.sendButton.isEnabled()
        assert dialog.validationMessage.text() in expected.messages.values()
        dialog.send()
        assert submit.requests == []
        return
    assert dialog.sendButton.isEnabled() and previews and previews[-1] == request
    wire = _wire_numbers(venue, request)  # the venue's encoder takes it: no refusal here
    for name, value in wire.items():
        step = INSTRUMENT.lot_size if name in ("quantity", "qty") else INSTRUMENT.tick_size
        assert step is not None and value >= 0 and value % step == 0, (name, value)
    if request.quantity is not None:
        assert request.quantity <= position.quantity
