"""The close dialog and ``closeout close`` read the same close the same way: the same request,
described in the same words, and the same input refused with the same words."""

from __future__ import annotations

import argparse
from dataclasses import replace
from decimal import Decimal

import pytest
from pytestqt.qtbot import QtBot

from cli.close import CloseArgs, build_request, describe
from cli.common import UsageError, plain_decimal
from core.model import (
    Capabilities,
    CloseRequest,
    PositionSide,
    TimeInForce,
    TriggerEvent,
    Venue,
)
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from tests.gui.test_close_dialog import (
    EVERSTRIKE_LIKE,
    INSTRUMENT,
    QFEX_LIKE,
    make_dialog,
    position,
)
from tests.helpers.fakes import FakeSubmit

D = Decimal


def _same(request: CloseRequest) -> CloseRequest:
    """What must agree: everything but the fresh client order id."""
    return replace(request, client_order_id="")


# (venue, capabilities, what is typed in the dialog, the same close as CLI options)
CLOSES = [
    (QFEX, QFEX_LIKE, {}, CloseArgs()),
    (QFEX, QFEX_LIKE, {"quantity": "1.75", "limit": "60500.5", "tif": TimeInForce.IOC},
     CloseArgs(quantity=D("1.75"), price=D("60500.5"), tif=TimeInForce.IOC)),
    (QFEX, QFEX_LIKE, {"quantity": "2", "limit": "60000"},
     CloseArgs(quantity=D(2), price=D(60000))),  # GTC by default in both
    (QFEX, QFEX_LIKE, {"quantity": "0.04", "trigger": "59000"},
     CloseArgs(quantity=D("0.04"), trigger_price=D(59000))),  # a stop below the minimum
    (EVERSTRIKE, EVERSTRIKE_LIKE,
     {"quantity": "1", "limit": "59000", "trigger": "59500", "event": TriggerEvent.LAST,
      "close_on_trigger": True},
     CloseArgs(quantity=D(1), price=D(59000), trigger_price=D(59500),
               trigger_event=TriggerEvent.LAST, close_on_trigger=True)),
]


@pytest.mark.parametrize(("venue", "caps", "typed", "args"), CLOSES)
def test_the_same_close_is_the_same_request_in_the_same_words(
        qtbot: QtBot, venue: Venue, caps: Capabilities, typed: dict[str, object],
        args: CloseArgs) -> None:
    pos = position(PositionSide.LONG, venue=venue)
    dialog = make_dialog(qtbot, FakeSubmit(), caps=caps, pos=pos)
    if "quantity" in typed:
        dialog.quantityInput.setText(str(typed["quantity"]))
    dialog.limitPriceInput.setText(str(typed.get("limit", "")))
    dialog.triggerPriceInput.setText(str(typed.get("trigger", "")))
    for combo, key in ((dialog.timeInForceInput, "tif"), (dialog.triggerEventInput, "event")):
        if key in typed:
            index = combo.findData(str(typed[key]))
            assert index >= 0, typed[key]
            combo.setCurrentIndex(index)
    dialog.closeOnTriggerInput.setChecked(bool(typed.get("close_on_trigger")))
    from_dialog = dialog.check().request
    assert from_dialog is not None, dialog.validationMessage.text()

    from_cli = build_request(pos, caps, INSTRUMENT, args)
    assert _same(from_cli) == _same(from_dialog)
    assert dialog.summaryLine.text() == describe(from_cli, INSTRUMENT)


# (dialog field, typed, CLI options, the dialog's name for the field, the CLI's, shared words)
REFUSALS = [
    ("quantityInput", "4", CloseArgs(quantity=D(4)), "Quantity", "--qty",
     "4 is more than the position size 3.5"),
    ("quantityInput", "0.04", CloseArgs(quantity=D("0.04")), "Quantity", "--qty",
     "0.04 is below QFEX's minimum 0.05 for BTC-USD; close more, or close all"),
    ("limitPriceInput", "100000.5", CloseArgs(price=D("100000.5")), "Limit price", "--price",
     "100000.5 is above QFEX's maximum price 100000"),
    ("triggerPriceInput", "500", CloseArgs(trigger_price=D(500)), "Trigger price",
     "--trigger-price", "500 is below QFEX's minimum price 1000"),
]


@pytest.mark.parametrize(("field", "text", "args", "label", "option", "words"), REFUSALS)
def test_the_same_bad_input_is_refused_in_the_same_words(
        qtbot: QtBot, field: str, text: str, args: CloseArgs, label: str, option: str,
        words: str) -> None:
    dialog = make_dialog(qtbot, FakeSubmit())
    getattr(dialog, field).setText(text)
    with pytest.raises(UsageError) as caught:
        build_request(position(), QFEX_LIKE, INSTRUMENT, args)
    assert dialog.validationMessage.text() == f"{label} {words}."
    assert str(caught.value) == f"{option} {words}"


def test_a_stop_limit_where_there_is_none_is_refused_in_the_same_words(qtbot: QtBot) -> None:
    dialog = make_dialog(qtbot, FakeSubmit())
    dialog.triggerPriceInput.setText("59000")
    dialog.limitPriceInput.setText("58990")
    with pytest.raises(UsageError) as caught:
        build_request(position(), QFEX_LIKE, INSTRUMENT,
                      CloseArgs(price=D(58990), trigger_price=D(59000)))
    words = "can't be combined on QFEX: QFEX has no stop-limit; clear one of the two"
    assert dialog.validationMessage.text() == f"Limit price and trigger price {words}."
    assert str(caught.value) == f"--price and --trigger-price {words}"


@pytest.mark.parametrize("text", ["0", "1,5", "1e3"])
def test_numbers_are_read_the_same_way(qtbot: QtBot, text: str) -> None:
    dialog = make_dialog(qtbot, FakeSubmit())
    dialog.quantityInput.setText(text)
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        plain_decimal("--qty")(text)
    said = dialog.validationMessage.text()
    assert said.startswith("Quantity ") and said.endswith(".")
    assert str(caught.value) == "--qty " + said.removeprefix("Quantity ").removesuffix(".")
