"""The close dialog: every bad input is refused at its field and nothing is sent."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from core.desk import AlreadyPending, CloseIntent, IntentState
from core.model import (
    Capabilities,
    CloseRequest,
    Instrument,
    Position,
    PositionKey,
    PositionSide,
    TimeInForce,
    Trigger,
    TriggerEvent,
    Venue,
)
from core.settings import Preferences
from core.venue import CloseRejected
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.dialogs.close import CloseDialog, parse_plain_decimal
from tests.helpers.fakes import FakeSubmit
from tests.helpers.polling import until

D = Decimal

# The offscreen platform plugin warns whenever a top-level window with a layout gets size
# constraints (Qt's QPlatformWindow::propagateSizeHints default); it is not our warning.

QFEX_LIKE = Capabilities(
    full_close=True,
    partial_close=True,
    limit_close=True,
    trigger_close=True,
    trigger_events=frozenset({TriggerEvent.MARK}),
    close_on_trigger=False,
    limit_with_trigger=False,
    time_in_force=(TimeInForce.GTC, TimeInForce.IOC),
    reasons=MappingProxyType({
        "trigger_event": "QFEX triggers on the mark price only",
        "close_on_trigger": "QFEX has no close-on-trigger option",
        "limit_with_trigger": "QFEX has no stop-limit",
    }),
)
EVERSTRIKE_LIKE = Capabilities(
    full_close=True,
    partial_close=True,
    limit_close=True,
    trigger_close=True,
    trigger_events=frozenset(TriggerEvent),
    close_on_trigger=True,
    limit_with_trigger=True,
    time_in_force=(),
    reasons=MappingProxyType({"time_in_force": "The close endpoint takes no time in force."}),
)
FULL_ONLY = Capabilities(
    full_close=True,
    reasons=MappingProxyType({
        "quantity": "This venue closes whole positions only",
        "limit_price": "This venue closes at market only",
        "trigger": "This venue has no trigger closes",
    }),
)


NO_CONFIRM = Preferences(confirm="never")
INSTRUMENT = Instrument("BTC-USD", tick_size=D("0.5"), lot_size=D("0.01"),
                        min_quantity=D("0.05"), max_quantity=D("3"),
                        min_price=D("1000"), max_price=D("100000"))


def position(side: PositionSide = PositionSide.LONG, qty: str = "3.5",
             venue: Venue = QFEX) -> Position:
    return Position(
        key=PositionKey("Desk A", venue, "BTC-USD"),
        side=side,
        quantity=D(qty),
        entry_price=D("60000"),
        mark_price=D("61000"),
        unrealised_pnl=D("3500") if side is PositionSide.LONG else D("-3500"),
    )


@pytest.fixture
def submit() -> FakeSubmit:
    return FakeSubmit()


def make_dialog(
    qtbot: QtBot,
    submit: FakeSubmit,
    *,
    caps: Capabilities = QFEX_LIKE,
    instrument: Instrument | None = INSTRUMENT,
    pos: Position | None = None,
    preferences: Preferences = NO_CONFIRM,
    **kw: Any,
) -> CloseDialog:
    """The dialog with confirmations off unless a test asks for them: most tests here are about
    the fields; the confirmation panel has its own tests."""
    dialog = CloseDialog(pos or position(), caps, instrument, submit, preferences=preferences,
                         **kw)
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


@pytest.fixture
def dialog(qtbot: QtBot, submit: FakeSubmit) -> CloseDialog:
    return make_dialog(qtbot, submit)


def invalid(edit: QLineEdit) -> bool:
    return bool(edit.property("invalid"))


# ============================================================================ opening


def test_opens_prefilled_for_a_full_close_at_market(dialog: CloseDialog) -> None:
    assert dialog.objectName() == "closeDialog"
    assert dialog.isVisible()
    assert dialog.quantityInput.text() == "3.50"  # to the lot (0.01), as the table writes it
    assert dialog.limitPriceInput.text() == ""
    assert dialog.triggerPriceInput.text() == ""
    assert dialog.validationMessage.text() == ""
    assert dialog.sendButton.isEnabled()
    assert not any(invalid(e) for e in (dialog.quantityInput, dialog.limitPriceInput,
                                         dialog.triggerPriceInput))
    summary = {n: w.text() for n, w in dialog.positionSummary.labels.items()}
    assert summary["account"] == "Desk A"
    assert summary["venue"] == "QFEX"
    assert summary["symbol"] == "BTC-USD"
    assert summary["side"] == "Long"
    assert summary["size"].startswith("3.5")
    assert summary["entry"] == "60000.0"  # the tick (0.5) has one decimal
    assert summary["mark"].startswith("61000")
    assert "SELL 3.50 BTC-USD" in dialog.summaryLine.text()


def test_every_named_widget_has_an_accessible_name(dialog: CloseDialog) -> None:
    names = ["quantityInput", "limitPriceInput", "timeInForceInput", "triggerPriceInput",
             "triggerEventInput", "closeOnTriggerInput", "sendButton", "validationMessage",
             "cancelButton", "preset25", "preset50", "preset75", "preset100"]
    for name in names:
        widget = dialog.findChild(QWidget, name)
        assert widget is not None, name
        assert widget.accessibleName(), name
    assert dialog.accessibleName()


# ============================================================================ bad input

BAD_INPUTS = [
    ("quantityInput", "", "Quantity is required"),
    ("quantityInput", "0", "Quantity must be greater than zero"),
    ("quantityInput", "0.000", "Quantity must be greater than zero"),
    ("quantityInput", "-1", "Quantity must be greater than zero"),
    ("quantityInput", "4", "Quantity 4 is more than the position size 3.5"),
    ("quantityInput", "3.51", "more than the position"),
    ("quantityInput", "abc", "Quantity must be a plain decimal number"),
    ("quantityInput", "NaN", "Quantity must be a plain decimal number"),
    ("quantityInput", "Infinity", "Quantity must be a plain decimal number"),
    ("quantityInput", "1e0", "Quantity must be a plain decimal number"),
    ("quantityInput", "1E-2", "Quantity must be a plain decimal number"),
    ("quantityInput", "1,000.5", "no commas"),
    ("quantityInput", "1.2.3", "Quantity must be a plain decimal number"),
    ("quantityInput", "+1", "Quantity must be a plain decimal number"),
    ("quantityInput", "1 000", "Quantity must be a plain decimal number"),
    ("quantityInput", "١", "Quantity must be a plain decimal number"),  # Arabic-Indic one
    ("limitPriceInput", "0", "Limit price must be greater than zero"),
    ("limitPriceInput", "-60000", "Limit price must be greater than zero"),
    ("limitPriceInput", "sixty", "Limit price must be a plain decimal number"),
    ("limitPriceInput", "6e4", "Limit price must be a plain decimal number"),
    ("triggerPriceInput", "0", "Trigger price must be greater than zero"),
    ("triggerPriceInput", "-1", "Trigger price must be greater than zero"),
    ("triggerPriceInput", "inf", "Trigger price must be a plain decimal number"),
    # refdata bounds (issue: round and validate before sending)
    ("quantityInput", "0.04", "Quantity 0.04 is below QFEX's minimum 0.05 for BTC-USD"),
    ("quantityInput", "3.2", "Quantity 3.2 is above QFEX's maximum 3 per order"),
    ("limitPriceInput", "999.5", "Limit price 999.5 is below QFEX's minimum price 1000"),
    ("limitPriceInput", "100000.5", "Limit price 100000.5 is above QFEX's maximum price 100000"),
    ("triggerPriceInput", "500", "Trigger price 500 is below QFEX's minimum price 1000"),
]


def test_bounds_do_not_bind_a_full_close_or_a_stop(dialog: CloseDialog) -> None:
    """A full close is sized by the position (3.5 > max 3); stops are exempt from min/max."""
    dialog.quantityInput.setText("3.5")
    assert dialog.validationMessage.text() == ""
    dialog.quantityInput.setText("0.04")
    dialog.triggerPriceInput.setText("59000")
    assert dialog.validationMessage.text() == ""


@pytest.mark.parametrize(("field", "text", "message"), BAD_INPUTS)
def test_bad_input_is_refused_at_the_field_and_nothing_is_sent(
    qtbot: QtBot, dialog: CloseDialog, submit: FakeSubmit, field: str, text: str, message: str
) -> None:
    edit = dialog.findChild(QLineEdit, field)
    assert edit is not None
    edit.setText(text)

    assert message in dialog.validationMessage.text()
    assert invalid(edit)
    assert message in edit.toolTip()
    others = [e for e in (dialog.quantityInput, dialog.limitPriceInput, dialog.triggerPriceInput)
              if e is not edit]
    assert not any(invalid(e) for e in others)
    assert not dialog.sendButton.isEnabled()

    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    dialog.send()  # even forced, nothing goes out
    qtbot.keyClick(edit, Qt.Key.Key_Return)

    assert submit.requests == []
    assert dialog.task is None
    assert dialog.isVisible()


def test_a_typed_error_clears_when_fixed(dialog: CloseDialog) -> None:
    dialog.quantityInput.setText("abc")
    assert invalid(dialog.quantityInput)
    dialog.quantityInput.setText("1.25")
    assert not invalid(dialog.quantityInput)
    assert dialog.validationMessage.text() == ""
    assert dialog.sendButton.isEnabled()


def test_limit_with_trigger_refused_where_the_venue_cannot(
    dialog: CloseDialog, submit: FakeSubmit
) -> None:
    dialog.triggerPriceInput.setText("59000")
    dialog.limitPriceInput.setText("58990")
    text = dialog.validationMessage.text()
    assert "Limit price and trigger price can't be combined on QFEX" in text
    assert "QFEX has no stop-limit" in text
    assert invalid(dialog.limitPriceInput)
    assert not dialog.sendButton.isEnabled()
    dialog.send()
    assert submit.requests == []


def test_lot_and_tick_are_not_checked_when_unknown(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make_dialog(qtbot, submit, instrument=None)
    dialog.quantityInput.setText("1.005")
    dialog.limitPriceInput.setText("60000.25")
    assert dialog.validationMessage.text() == ""
    assert dialog.sendButton.isEnabled()


@pytest.mark.parametrize(
    "text", ["nan", "sNaN", "-0", "Infinity", "1_000", "0x1F", "  ", ".", "1.", ".5"]
)
def test_parse_plain_decimal_edges(text: str) -> None:
    if text in ("1.", ".5"):
        assert parse_plain_decimal(text, "quantity") == D(text)
        return
    with pytest.raises(ValueError, match="Quantity"):
        parse_plain_decimal(text, "quantity")


# ============================================================================ presets


@pytest.mark.parametrize(
    ("pct", "expected"), [(25, "0.87"), (50, "1.75"), (75, "2.62"), (100, "3.50")]
)
def test_presets_round_down_to_the_lot(
    qtbot: QtBot, dialog: CloseDialog, pct: int, expected: str
) -> None:
    dialog.quantityInput.setText("1")
    qtbot.mouseClick(dialog.presetButtons[pct], Qt.MouseButton.LeftButton)
    assert dialog.quantityInput.text() == expected
    assert dialog.validationMessage.text() == ""


def test_presets_without_a_known_lot_are_exact(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make_dialog(qtbot, submit, instrument=None)
    qtbot.mouseClick(dialog.presetButtons[25], Qt.MouseButton.LeftButton)
    assert dialog.quantityInput.text() == "0.875"


def test_preset_that_rounds_to_zero_is_refused(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make_dialog(qtbot, submit, pos=position(qty="0.02"))
    qtbot.mouseClick(dialog.presetButtons[25], Qt.MouseButton.LeftButton)
    assert dialog.quantityInput.text() == "0.00"
    assert "greater than zero" in dialog.validationMessage.text()
    assert not dialog.sendButton.isEnabled()


# ============================================================================ capabilities


def test_qfex_like_capabilities(dialog: CloseDialog) -> None:
    assert dialog.quantityInput.isEnabled()
    assert dialog.limitPriceInput.isEnabled()
    assert dialog.triggerPriceInput.isEnabled()
    assert not dialog.triggerEventInput.isEnabled()
    assert dialog.triggerEventInput.toolTip() == "QFEX triggers on the mark price only"
    assert [dialog.triggerEventInput.itemData(i)
            for i in range(dialog.triggerEventInput.count())] == ["MARK_PRICE"]
    dialog.triggerPriceInput.setText("59000")
    assert not dialog.closeOnTriggerInput.isEnabled()
    assert dialog.closeOnTriggerInput.toolTip() == "QFEX has no close-on-trigger option"
    # Time in force: offered for limit closes, GTC by default.
    assert not dialog.timeInForceInput.isEnabled()
    assert "limit closes only" in dialog.timeInForceInput.toolTip()
    dialog.triggerPriceInput.setText("")
    dialog.limitPriceInput.setText("61000")
    assert dialog.timeInForceInput.isEnabled()
    assert dialog.selected_time_in_force() is TimeInForce.GTC


def test_everstrike_like_capabilities(dialog: CloseDialog, qtbot: QtBot,
                                      submit: FakeSubmit) -> None:
    dialog = make_dialog(qtbot, submit, caps=EVERSTRIKE_LIKE,
                         pos=position(venue=EVERSTRIKE))
    events = [dialog.triggerEventInput.itemData(i)
              for i in range(dialog.triggerEventInput.count())]
    assert events == ["MARK_PRICE", "INDEX_PRICE", "LAST_PRICE"]
    assert not dialog.triggerEventInput.isEnabled()  # until a trigger price is set
    assert dialog.triggerEventInput.toolTip() == "Set a trigger price first"
    dialog.triggerPriceInput.setText("59000")
    assert dialog.triggerEventInput.isEnabled()
    assert dialog.closeOnTriggerInput.isEnabled()
    dialog.limitPriceInput.setText("58990")  # limit with trigger is fine here
    assert dialog.validationMessage.text() == ""
    assert not dialog.timeInForceInput.isEnabled()
    assert dialog.timeInForceInput.toolTip() == "The close endpoint takes no time in force."


def test_full_close_only_venue_disables_the_rest_with_reasons(
    qtbot: QtBot, submit: FakeSubmit
) -> None:
    dialog = make_dialog(qtbot, submit, caps=FULL_ONLY)
    assert not dialog.quantityInput.isEnabled()
    assert dialog.quantityInput.toolTip() == "This venue closes whole positions only"
    for button in dialog.presetButtons.values():
        assert not button.isEnabled()
        assert button.toolTip() == "This venue closes whole positions only"
    assert not dialog.limitPriceInput.isEnabled()
    assert dialog.limitPriceInput.toolTip() == "This venue closes at market only"
    assert not dialog.triggerPriceInput.isEnabled()
    assert dialog.triggerPriceInput.toolTip() == "This venue has no trigger closes"
    assert not dialog.triggerEventInput.isEnabled()
    assert dialog.triggerEventInput.toolTip() == "This venue has no trigger closes"
    assert not dialog.closeOnTriggerInput.isEnabled()
    assert dialog.closeOnTriggerInput.toolTip()
    assert dialog.sendButton.isEnabled()


# ============================================================================ hints


@pytest.mark.parametrize(
    ("side", "trigger", "kind"),
    [
        (PositionSide.LONG, "59000", "stop-loss"),
        (PositionSide.LONG, "63000", "take-profit"),
        (PositionSide.SHORT, "63000", "stop-loss"),
        (PositionSide.SHORT, "59000", "take-profit"),
    ],
)
def test_trigger_hint_names_stop_loss_or_take_profit(
    qtbot: QtBot, submit: FakeSubmit, side: PositionSide, trigger: str, kind: str
) -> None:
    dialog = make_dialog(qtbot, submit, pos=position(side))
    base = dialog.triggerHint.text()
    if side is PositionSide.LONG:
        assert base.startswith("Below the mark → stop-loss")
    else:
        assert base.startswith("Above the mark → stop-loss")
    dialog.triggerPriceInput.setText(trigger)
    assert dialog.triggerHint.text().endswith(f"→ {kind}.")
    assert dialog.validationMessage.text() == ""  # either side of the mark is valid


# ============================================================================ sending


@pytest.mark.asyncio
async def test_send_full_close_at_market(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make_dialog(qtbot, submit)
    result = dialog.result_future()
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task
    assert await result == QDialog.DialogCode.Accepted
    assert not dialog.isVisible()
    [request] = submit.requests
    assert request.key == PositionKey("Desk A", QFEX, "BTC-USD")
    assert request.quantity is None
    assert request.limit_price is None
    assert request.trigger is None
    assert request.time_in_force is None
    assert request.position_side is PositionSide.LONG
    assert request.position_quantity == D("3.5")


@pytest.mark.asyncio
async def test_typing_the_full_size_again_is_still_a_full_close(
    qtbot: QtBot, submit: FakeSubmit
) -> None:
    dialog = make_dialog(qtbot, submit)
    dialog.quantityInput.setText("3.50")
    dialog.send()
    assert dialog.task is not None
    await dialog.task
    assert submit.requests[0].quantity is None


@pytest.mark.asyncio
async def test_send_partial_limit_ioc(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make_dialog(qtbot, submit, pos=position(PositionSide.SHORT))
    qtbot.mouseClick(dialog.presetButtons[50], Qt.MouseButton.LeftButton)
    dialog.limitPriceInput.setText("60500.5")
    dialog.timeInForceInput.setCurrentIndex(
        dialog.timeInForceInput.findData(TimeInForce.IOC.value)
    )
    assert "BUY 1.75 BTC-USD (part) at limit 60500.5 IOC" in dialog.summaryLine.text()
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task
    [request] = submit.requests
    assert request.quantity == D("1.75")
    assert request.limit_price == D("60500.5")
    assert request.time_in_force is TimeInForce.IOC
    assert request.position_side is PositionSide.SHORT
    assert request.trigger is None


@pytest.mark.asyncio
async def test_send_trigger_with_event_and_close_on_trigger(
    qtbot: QtBot, submit: FakeSubmit
) -> None:
    dialog = make_dialog(qtbot, submit, caps=EVERSTRIKE_LIKE,
                         pos=position(venue=EVERSTRIKE))
    dialog.triggerPriceInput.setText("59000")
    dialog.triggerEventInput.setCurrentIndex(
        dialog.triggerEventInput.findData(TriggerEvent.INDEX.value)
    )
    dialog.closeOnTriggerInput.setChecked(True)
    dialog.send()
    assert dialog.task is not None
    await dialog.task
    [request] = submit.requests
    assert request.trigger == Trigger(D("59000"), TriggerEvent.INDEX, close_on_trigger=True)
    assert request.limit_price is None
    assert request.time_in_force is None


@pytest.mark.asyncio
async def test_shows_sending_and_never_sends_twice(qtbot: QtBot, submit: FakeSubmit) -> None:
    submit.gate = asyncio.Event()
    dialog = make_dialog(qtbot, submit)
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    async with asyncio.timeout(10):
        await submit.called.wait()
    await until(lambda: dialog.sendButton.text() == "Sending…")  # a frame after the send
    assert dialog.isVisible()
    assert dialog.busy
    assert not dialog.sendButton.isEnabled()
    assert dialog.validationMessage.text() == "Sending…"
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    dialog.send()
    qtbot.keyClick(dialog.quantityInput, Qt.Key.Key_Return)
    submit.gate.set()
    assert dialog.task is not None
    await dialog.task
    assert len(submit.requests) == 1
    assert not dialog.isVisible()


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", ["rejected", "pending"])
async def test_refusal_keeps_the_dialog_open_and_resends_nothing(
    qtbot: QtBot, submit: FakeSubmit, kind: str
) -> None:
    dialog = make_dialog(qtbot, submit)
    if kind == "rejected":
        submit.error = CloseRejected("reduce-only order would increase the position", code="X")
        expected = "Reduce-only order would increase the position"
    else:
        first = CloseRequest(dialog.position.key, PositionSide.LONG, D("3.5"))
        submit.error = AlreadyPending(
            CloseIntent(id="i0", request=first, state=IntentState.SENDING)
        )
        expected = "already sending — nothing new was sent"
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task
    assert expected in dialog.validationMessage.text()
    assert dialog.isVisible()
    assert not dialog.busy
    assert dialog.sendButton.isEnabled()  # the user may decide to send a new request
    assert len(submit.requests) == 1


@pytest.mark.asyncio
async def test_escape_cancels_without_sending(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make_dialog(qtbot, submit)
    result = dialog.result_future()
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert await result == QDialog.DialogCode.Rejected
    assert submit.requests == []


def test_position_going_flat_blocks_sending(dialog: CloseDialog, submit: FakeSubmit) -> None:
    dialog.update_position(None)
    assert "now flat" in dialog.validationMessage.text()
    assert not dialog.sendButton.isEnabled()
    dialog.send()
    assert submit.requests == []


def test_position_change_updates_an_untouched_quantity(dialog: CloseDialog) -> None:
    dialog.update_position(position(qty="2"))
    assert dialog.quantityInput.text() == "2.00"
    dialog.quantityInput.setText("1")
    dialog.update_position(position(qty="0.5"))
    assert dialog.quantityInput.text() == "1"
    assert "more than the position size 0.5" in dialog.validationMessage.text()
