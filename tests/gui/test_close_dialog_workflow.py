"""The close dialog's issue-5 parts on their own, with hand-written fakes: rounding and "will
send", the dust offer, the freshness guard and Clamp, the confirmation policies and the stale
question, the trigger helper, Copy for ticket, and the quick confirmation."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.desk import CloseIntent
from core.model import (
    CloseRequest,
    Environment,
    MarkUpdate,
    PositionSide,
    TriggerEvent,
)
from core.settings import Preferences
from core.venue import CloseRejected
from core.venues.everstrike import EVERSTRIKE
from gui.dialogs.close import (
    CLOSE_ON_TRIGGER_NOTE,
    CloseDialog,
    QuickCloseDialog,
    confirmation_reason,
    ticket_text,
)
from tests.gui.test_close_dialog import (
    EVERSTRIKE_LIKE,
    INSTRUMENT,
    QFEX_LIKE,
    position,
)
from tests.helpers.fakes import Book, FakeSubmit
from tests.helpers.polling import until

D = Decimal
NEVER = Preferences(confirm="never")


@pytest.fixture
def submit() -> FakeSubmit:
    return FakeSubmit()


def make(qtbot: QtBot, submit: FakeSubmit, **kw: Any) -> CloseDialog:
    pos = kw.pop("pos", None) or position()
    caps = kw.pop("caps", QFEX_LIKE)
    instrument = kw.pop("instrument", INSTRUMENT)
    kw.setdefault("preferences", NEVER)
    dialog = CloseDialog(pos, caps, instrument, submit, **kw)
    qtbot.addWidget(dialog)
    dialog.open()
    return dialog


# ============================================================================ rounding


def test_quantity_rounds_down_to_the_lot_and_says_so(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make(qtbot, submit)  # lot 0.01, long 3.5
    dialog.quantityInput.setText("1.239")
    assert dialog.quantityWillSend.isVisible()
    assert dialog.quantityWillSend.text() == "will send 1.23"
    assert "lot 0.01" in dialog.quantityWillSend.toolTip()
    assert dialog.validationMessage.text() == ""
    request = dialog.check().request
    assert request is not None and request.quantity == D("1.23")
    dialog.quantityInput.setText("1.23")
    assert not dialog.quantityWillSend.isVisible()


def test_a_quantity_under_one_lot_is_refused(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make(qtbot, submit)
    dialog.quantityInput.setText("0.004")
    assert "less than one lot (0.01); nothing can be sent" in dialog.validationMessage.text()
    assert not dialog.sendButton.isEnabled()


@pytest.mark.parametrize(
    ("side", "typed", "sent"),
    [(PositionSide.LONG, "60000.1", "60000.5"),  # closing a long sells: up, never cheaper
     (PositionSide.SHORT, "60000.4", "60000.0")],  # closing a short buys: down, never dearer
)
def test_limit_rounds_away_from_the_book(
    qtbot: QtBot, submit: FakeSubmit, side: PositionSide, typed: str, sent: str
) -> None:
    dialog = make(qtbot, submit, pos=position(side))
    dialog.limitPriceInput.setText(typed)
    assert dialog.limitWillSend.text() == f"will send {sent}"
    assert "never worse than typed" in dialog.limitWillSend.toolTip()
    request = dialog.check().request
    assert request is not None and request.limit_price == D(sent)


def test_trigger_rounds_to_the_nearest_tick(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make(qtbot, submit)
    dialog.triggerPriceInput.setText("59000.2")
    assert dialog.triggerWillSend.text() == "will send 59000.0"
    request = dialog.check().request
    assert request is not None and request.trigger is not None
    assert request.trigger.price == D("59000.0")


def test_a_full_close_is_never_rounded(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make(qtbot, submit, pos=position(qty="3.505"))  # off the lot: the venue sizes it
    assert not dialog.quantityWillSend.isVisible()
    request = dialog.check().request
    assert request is not None and request.quantity is None


def test_dust_offers_close_all_instead(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make(qtbot, submit, pos=position(qty="2.5"))  # min 0.05
    dialog.quantityInput.setText("2.47")
    assert dialog.dustPanel.isVisible()
    assert dialog.dustMessage.text() == (
        "This leaves 0.03 open, below QFEX's minimum order size 0.05 for BTC-USD: no partial "
        "close could ever close it.")
    assert dialog.sendButton.isEnabled()  # an offer, not a refusal
    qtbot.mouseClick(dialog.closeAllButton, Qt.MouseButton.LeftButton)
    assert dialog.quantityInput.text() == "2.50"  # to the lot (0.01), as the table shows it
    assert not dialog.dustPanel.isVisible()
    dialog.quantityInput.setText("2.45")  # leaves exactly the minimum: fine
    assert not dialog.dustPanel.isVisible()


# ============================================================================ freshness guard


@pytest.mark.asyncio
async def test_guard_asks_again_when_the_side_flipped(qtbot: QtBot, submit: FakeSubmit) -> None:
    book = Book(position())
    dialog = make(qtbot, submit, guard=book.check)
    book.pos = position(PositionSide.SHORT, qty="2")  # the window was not told yet
    dialog.send()
    assert submit.requests == [] and dialog.task is None
    assert dialog.guardMessage.text() == (
        "The position is now SHORT 2 — it was LONG 3.5 when you opened this dialog. Nothing "
        "was sent: check the close below and press Send again.")
    assert dialog.position.side is PositionSide.SHORT  # the dialog shows it as it is
    dialog.send()
    assert dialog.task is not None
    await dialog.task
    [request] = submit.requests
    assert (request.position_side, request.position_quantity) == (PositionSide.SHORT, D(2))


@pytest.mark.asyncio
async def test_guard_offers_clamp_and_never_clamps_silently(
    qtbot: QtBot, submit: FakeSubmit
) -> None:
    book = Book(position())
    dialog = make(qtbot, submit, guard=book.check)
    dialog.quantityInput.setText("2")
    book.pos = position(qty="1.5")
    dialog.send()
    assert submit.requests == []
    assert "You asked to close 2; only 1.5 is left. Nothing was sent." in \
        dialog.guardMessage.text()
    assert dialog.clampButton.isVisible() and dialog.clampButton.text() == "Clamp to 1.5"
    assert dialog.quantityInput.text() == "2"
    qtbot.mouseClick(dialog.clampButton, Qt.MouseButton.LeftButton)
    assert dialog.quantityInput.text() == "1.5" and submit.requests == []
    dialog.send()
    assert dialog.task is not None
    await dialog.task
    [request] = submit.requests
    assert request.quantity is None and request.position_quantity == D("1.5")  # all of it


def test_live_change_is_said_at_once_and_send_asks_again(
    qtbot: QtBot, submit: FakeSubmit
) -> None:
    book = Book(position())
    dialog = make(qtbot, submit, guard=book.check)
    book.pos = position(qty="5")
    dialog.update_position(book.pos)  # the window forwards the book's update
    assert dialog.guardPanel.isVisible()
    assert dialog.guardMessage.text().startswith(
        "The position is now LONG 5 — it was LONG 3.5 when you opened this dialog.")
    assert dialog.quantityInput.text() == "5.00"  # an untouched full size follows the book
    dialog.send()  # a full close of 5 is not the 3.5 the user saw: ask first
    assert submit.requests == [] and dialog.task is None
    assert "press Send again" in dialog.guardMessage.text()
    assert dialog.seen == book.pos  # acknowledged: the next Send sends


def test_guard_on_a_flat_position_blocks_sending(qtbot: QtBot, submit: FakeSubmit) -> None:
    book = Book(position())
    dialog = make(qtbot, submit, guard=book.check)
    book.pos = None
    dialog.send()
    assert dialog.guardMessage.text() == (
        "The position is now flat — it was LONG 3.5 when you opened this dialog. Nothing was "
        "sent.")
    assert not dialog.sendButton.isEnabled()
    assert submit.requests == []


# ============================================================================ confirmations


@pytest.mark.asyncio
async def test_always_asks_once_in_the_dialog(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make(qtbot, submit, preferences=Preferences(confirm="always"),
                  environment=Environment.DEMO)
    dialog.send()
    assert dialog.confirming and dialog.confirmPanel.isVisible() and dialog.task is None
    assert not dialog.sendButton.isEnabled()
    assert "Send SELL 3.50 BTC-USD (full position) at market, reduce-only on Desk A (DEMO)?" \
        in dialog.confirmMessage.text()
    dialog.send()  # Send again does nothing while the question is up
    assert submit.requests == []
    qtbot.keyClick(dialog.confirmButton, Qt.Key.Key_Return)
    assert dialog.task is not None
    await dialog.task
    assert len(submit.requests) == 1


@pytest.mark.asyncio
async def test_a_confirmed_close_leaves_before_the_dialog_redraws_and_is_sent_once(
    qtbot: QtBot, submit: FakeSubmit
) -> None:
    """The close's first step runs before the dialog repaints itself as busy (that repaint
    would otherwise sit between the click and the wire); a second click or Enter in that gap
    finds the dialog busy and sends nothing."""
    dialog = make(qtbot, submit, preferences=Preferences(confirm="always"))
    seen: list[tuple[str, bool]] = []
    forward = submit.__call__

    async def watching(request: CloseRequest) -> CloseIntent:
        seen.append((dialog.sendButton.text(), dialog.confirmPanel.isVisible()))
        return await forward(request)

    dialog._submit = watching
    submit.gate = asyncio.Event()
    dialog.send()
    assert dialog.confirming
    qtbot.mouseClick(dialog.confirmButton, Qt.MouseButton.LeftButton)
    assert dialog.busy and dialog.task is not None
    dialog.confirm()  # a double click, before anything was drawn
    qtbot.keyClick(dialog.confirmButton, Qt.Key.Key_Return)
    dialog.send()
    async with asyncio.timeout(10):
        await submit.called.wait()
    assert seen == [("Send close", True)]  # started before the redraw
    assert dialog.sendButton.text() == "Send close"
    await until(lambda: dialog.sendButton.text() == "Sending…")  # the redraw, a frame later
    assert not dialog.confirmPanel.isVisible() and not dialog.sendButton.isEnabled()
    submit.gate.set()
    await dialog.task
    assert len(submit.requests) == 1


@pytest.mark.asyncio
async def test_a_close_that_fails_at_once_is_not_drawn_as_sending(
    qtbot: QtBot, submit: FakeSubmit
) -> None:
    dialog = make(qtbot, submit, preferences=Preferences(confirm="always"))
    submit.error = CloseRejected("not connected; nothing was sent")
    dialog.send()
    dialog.confirm()
    assert dialog.task is not None
    await dialog.task
    await asyncio.sleep(0.05)  # past the redraw, which finds nothing to draw
    assert not dialog.busy and dialog.sendButton.text() == "Send close"
    assert dialog.sendButton.isEnabled()
    assert "Not connected; nothing was sent" in dialog.validationMessage.text()
    assert len(submit.requests) == 1


def test_an_edit_withdraws_the_question(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make(qtbot, submit, preferences=Preferences(confirm="always"))
    dialog.send()
    assert dialog.confirming
    dialog.quantityInput.setText("1")
    assert not dialog.confirming and not dialog.confirmPanel.isVisible()
    assert dialog.sendButton.isEnabled()
    dialog.confirm()  # a stale confirmation cannot send
    assert submit.requests == []


@pytest.mark.parametrize(
    ("prefs", "env", "mark", "asks"),
    [
        (Preferences(confirm="never"), Environment.LIVE, "61000", None),
        (Preferences(confirm="always"), Environment.DEMO, "61000",
         "confirmations are set to always"),
        (Preferences(confirm="large_or_live"), Environment.LIVE, "61000", "this is a LIVE account"),
        (Preferences(confirm="large_or_live", large_close_notional=D("100000")),
         Environment.DEMO, "61000", "it is large: notional 213500.0 ≥ 100000"),
        (Preferences(confirm="large_or_live", large_close_notional=D("300000")),
         Environment.DEMO, "61000", None),
        (Preferences(confirm="large_or_live"), Environment.TESTNET, "61000", None),
        (Preferences(confirm="large_or_live", large_close_notional=D("1")),
         Environment.DEMO, None, "no price is known to tell whether it is large"),
    ],
)
def test_confirmation_policy(
    prefs: Preferences, env: Environment, mark: str | None, asks: str | None
) -> None:
    pos = position()
    request = CloseRequest(pos.key, pos.side, pos.quantity)
    assert confirmation_reason(request, prefs, env, D(mark) if mark else None) == asks


@pytest.mark.asyncio
async def test_stale_data_asks_with_its_age_even_with_confirmations_off(
    qtbot: QtBot, submit: FakeSubmit
) -> None:
    ages = [12.4]
    dialog = make(qtbot, submit, preferences=Preferences(confirm="never", stale_after_s=5),
                  data_age=lambda: ages[0])
    dialog.send()
    assert dialog.confirming
    assert "This position's data is 12 s old. Close anyway?" in dialog.confirmMessage.text()
    assert dialog.confirmButton.text() == "Close anyway"
    dialog.cancel_confirmation()
    ages[0] = 4.0  # fresh again: sent on the first click
    dialog.send()
    assert not dialog.confirming and dialog.task is not None
    await dialog.task
    assert len(submit.requests) == 1


# ============================================================================ trigger helper


def test_trigger_helper_uses_the_chosen_reference_price(qtbot: QtBot, submit: FakeSubmit) -> None:
    pos = position(venue=EVERSTRIKE)  # long, mark 61000
    mark = MarkUpdate(EVERSTRIKE, "BTC-USD", D("61000"), index=D("60000"), last=None)
    dialog = make(qtbot, submit, caps=EVERSTRIKE_LIKE, pos=pos, mark=mark)
    assert dialog.referencePrices.text() == "now: Mark 61000.0 · Index 60000.0 · Last —"
    assert not dialog.closeOnTriggerNote.isHidden()
    assert dialog.closeOnTriggerNote.text() == CLOSE_ON_TRIGGER_NOTE
    dialog.triggerPriceInput.setText("60500")
    assert dialog.triggerHint.text() == "60500.0 is below the mark 61000.0 → stop-loss."
    dialog.triggerEventInput.setCurrentIndex(
        dialog.triggerEventInput.findData(TriggerEvent.INDEX.value))
    assert dialog.triggerHint.text() == "60500.0 is above the index price 60000.0 → take-profit."
    dialog.triggerPriceInput.setText("60000")
    assert dialog.triggerWarning.text() == (
        "⚠ 60000.0 is the current index price: the trigger would fire at once.")
    dialog.triggerPriceInput.setText("60020")  # within 0.05 % of 60000
    assert dialog.triggerWarning.text() == (
        "⚠ Only 20.0 from the index price: it may fire as soon as it reaches the venue.")
    assert dialog.triggerWarning.property("tone") == "warn"
    dialog.triggerEventInput.setCurrentIndex(
        dialog.triggerEventInput.findData(TriggerEvent.LAST.value))
    assert "The last price is not known yet" in dialog.triggerWarning.text()
    dialog.update_mark(replace(mark, last=D("60020")))
    assert "is the current last price: the trigger would fire at once" in \
        dialog.triggerWarning.text()


# ============================================================================ keyboard, ticket


def test_ctrl_digits_pick_the_presets(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make(qtbot, submit)
    keys = (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4)
    for key, expected in zip(keys, ("0.87", "1.75", "2.62", "3.50"), strict=True):
        qtbot.keyClick(dialog.quantityInput, key, Qt.KeyboardModifier.ControlModifier)
        assert dialog.quantityInput.text() == expected


def test_ticket_text_has_what_support_needs(qtbot: QtBot, submit: FakeSubmit) -> None:
    dialog = make(qtbot, submit, environment=Environment.LIVE,
                  preview=lambda r: f'{{"client_order_id":"{r.client_order_id}"}}')
    dialog.reasonInput.setText("INC-9")
    qtbot.mouseClick(dialog.copyTicketButton, Qt.MouseButton.LeftButton)
    request = dialog.check().request
    assert request is not None
    expected = ticket_text(request, dialog.previewText.toPlainText(),
                           environment=Environment.LIVE, position=dialog.position,
                           instrument=INSTRUMENT)
    assert QApplication.clipboard().text() == expected
    assert expected.splitlines() == [
        "Account: Desk A (LIVE)",
        "Venue: QFEX",
        "Symbol: BTC-USD",
        "Position: LONG 3.5",
        "Close: SELL 3.50 BTC-USD (full position) at market, reduce-only.",
        f"Client order id: {request.client_order_id}",
        "Reason: INC-9",
        "Request (keys and signatures redacted):",
        f'{{"client_order_id":"{request.client_order_id}"}}',
    ]


# ============================================================================ quick close


@pytest.mark.asyncio
async def test_quick_close_confirms_once_and_applies_the_guard(
    qtbot: QtBot, submit: FakeSubmit
) -> None:
    book = Book(position())
    dialog = QuickCloseDialog(position(), submit, title="Close BTC-USD in full",
                              action="Close all", guard=book.check, stale_age=7.2)
    qtbot.addWidget(dialog)
    dialog.open()
    assert "This position's data is 7 s old. Close anyway?" in dialog.staleMessage.text()
    book.pos = position(qty="2")
    dialog.confirm()  # "close in full": a smaller position is still closed in full
    assert dialog.task is not None
    await dialog.task
    [request] = submit.requests
    assert request.quantity is None and request.position_side is PositionSide.LONG

    flipped = QuickCloseDialog(position(), submit, title="Close", action="Close all",
                               guard=book.check)
    qtbot.addWidget(flipped)
    flipped.open()
    book.pos = position(PositionSide.SHORT, qty="2")
    flipped.confirm()
    assert flipped.task is None and len(submit.requests) == 1
    assert flipped.guardMessage.text().startswith(
        "The position is now SHORT 2 — it was LONG 3.5 when you asked.")
    flipped.confirm()
    assert flipped.task is not None
    await flipped.task
    assert submit.requests[-1].position_side is PositionSide.SHORT

