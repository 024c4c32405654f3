"""The close workflow of issue 5, end to end: the window, a real desk and real sessions against
the simulator over loopback.

Each test starts its own simulator, desk and window (``running``), because the knobs differ:
the confirmation policy, the stale threshold, the verification timeout, the venues' keep-alive.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from core.demo import demo_account_name, demo_accounts
from core.desk import Desk, IntentState
from core.explain import (
    ALREADY_FLAT,
    CLOCK,
    MARGIN,
    MARKET_CLOSED,
    RATE,
    TICK,
    WOULD_INCREASE,
    Explanation,
)
from core.explain import (
    BELOW_MINIMUM as BELOW_MIN,
)
from core.journal import Journal
from core.model import PositionKey, Venue
from core.settings import Preferences
from core.sim import Received, Simulator
from core.sim.market import PositionChanged as SimPositionChanged
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.dialogs.close import CLOSE_ON_TRIGGER_NOTE, CloseDialog, QuickCloseDialog
from gui.main_window import CONFIRMATIONS_OFF_BANNER, KEYBOARD_SHORTCUTS, MainWindow
from gui.models import (
    BUTTON_ROLE,
    MISMATCH_ROW,
    NO_REASON_NEXT_STEP,
    RESIDUAL_ROLE,
    LogColumn,
    PositionColumn,
    fmt_decimal,
)
from gui.widgets import button_rect, residual_button_rect
from tests.helpers.clock import FakeClock
from tests.helpers.polling import market_data, until
from tests.helpers.windows import dispose

D = Decimal
QFEX_DEMO_ACCOUNT = demo_account_name(QFEX)
EVERSTRIKE_DEMO_ACCOUNT = demo_account_name(EVERSTRIKE)
AAPL = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "AAPL-USD")  # 25 long, liquidity 500
MSFT = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "MSFT-USD")  # 6 short
CL = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "CL-USD")  # 30 short, lot 0.1
ETH = PositionKey(EVERSTRIKE_DEMO_ACCOUNT, EVERSTRIKE, "USD_ETH_PERP")  # 3.5 short
SOL = PositionKey(EVERSTRIKE_DEMO_ACCOUNT, EVERSTRIKE, "USD_SOL_PERP")  # 120 long

NEVER = Preferences(confirm="never", stale_after_s=3600.0)
ALWAYS = Preferences(confirm="always", stale_after_s=3600.0)


@dataclass
class Rig:
    sim: Simulator
    desk: Desk
    window: MainWindow
    journal: Journal

    def account_id(self, venue: Venue) -> str:
        info = self.sim.info
        key = info.qfex.public_key if venue is QFEX else info.everstrike.api_key
        return self.sim.account_id(venue.value, key)

    def closes(self, venue: Venue) -> list[Received]:
        return self.sim.requests(venue.value, kind="close")

    async def set_position(self, key: PositionKey, size: str, entry: str = "100") -> None:
        """Move the position at the venue (which pushes it), and wait for the desk to see it."""
        market = self.sim.qfex.market if key.venue is QFEX else self.sim.everstrike.market
        account = self.account_id(key.venue)
        await self.sim.acall(lambda: market.set_position(account, key.symbol, D(size), D(entry)))
        want = D(size)
        await until(lambda: (p := self.desk.positions.get(key)) is not None
                    and p.signed_quantity == want, what=f"the desk to see {key.symbol} {size}")


@asynccontextmanager
async def running(
    *,
    preferences: Preferences = NEVER,
    verify_timeout: float = 10.0,
    tick_interval: float | None = None,
    everstrike_options: dict[str, str] | None = None,
    windows: int = 1,
    before_connect: Callable[[Simulator], object] | None = None,
) -> AsyncIterator[tuple[Rig, list[MainWindow]]]:
    sim = Simulator(tick_interval=tick_interval)
    info = sim.start()
    if before_connect is not None:
        before_connect(sim)
    journal = Journal(":memory:")
    desk = Desk(journal=journal, verify_timeout=verify_timeout)
    made = [MainWindow(desk, demo=True, coalesce_ms=10, preferences=preferences)
            for _ in range(windows)]
    for w in made:
        w.show()
    try:
        (q, qc), (e, ec) = sorted(demo_accounts(info), key=lambda p: p[0].venue is not QFEX)
        if everstrike_options:
            e = replace(e, options=everstrike_options)
        assert await desk.start([(q, qc), (e, ec)]) == []
        for w in made:
            await until(lambda w=w: {k.venue for k in w.positions_model.all_keys()}  # type: ignore[misc]
                        == {QFEX, EVERSTRIKE}, what="positions from both venues")
        await market_data(desk)
        yield Rig(sim, desk, made[0], journal), made
    finally:
        for w in made:
            await w.shutdown()
        await desk.stop()
        sim.stop()
        journal.close()
        for w in made:
            dispose(w)


def cell(w: MainWindow, key: PositionKey, column: PositionColumn,
         role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    index = w.proxy_index(key, column)
    return index.data(role) if index.isValid() else None


def action_rect_centre(w: MainWindow, key: PositionKey, *, residual: bool = False) -> QPoint:
    view = w.positionsView
    index = w.proxy_index(key, PositionColumn.ACTION)
    assert index.isValid(), f"no row for {key}"
    view.scrollTo(index)
    rect = view.visualRect(index)
    return (residual_button_rect(rect) if residual else button_rect(rect)).center()


def click_close(qtbot: QtBot, w: MainWindow, key: PositionKey) -> CloseDialog:
    qtbot.mouseClick(w.positionsView.viewport(), Qt.MouseButton.LeftButton,
                     pos=action_rect_centre(w, key))
    dialog = w.dialogs.get(key)
    assert dialog is not None, "the Close button did not open the dialog"
    return dialog


async def send(qtbot: QtBot, dialog: CloseDialog) -> None:
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    if dialog.confirming:
        qtbot.mouseClick(dialog.confirmButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None, dialog.validationMessage.text()
    await dialog.task


def double_click(qtbot: QtBot, widget: QWidget, pos: QPoint | None = None) -> None:
    """A real double click, as Qt 6 delivers it: press, release, double-click, release.
    (``qtbot.mouseDClick`` alone sends only the double-click event.)"""
    at = pos if pos is not None else widget.rect().center()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseDClick(widget, Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseRelease(widget, Qt.MouseButton.LeftButton, pos=at)


def log_lines(w: MainWindow, symbol: str) -> list[dict[LogColumn, str]]:
    model = w.log_model
    model.flush()
    rows = []
    for r in range(model.rowCount()):
        row = {c: model.data(model.index(r, c)) for c in LogColumn}
        if row[LogColumn.SYMBOL] == symbol:
            rows.append(row)
    return rows


def frame(received: Received) -> dict[str, Any]:
    return json.loads(received.body, parse_float=Decimal)  # type: ignore[no-any-return]


# ============================================================================ one close at a time


@pytest.mark.asyncio
async def test_double_clicks_on_close_send_and_confirm_send_one_request(qtbot: QtBot) -> None:
    async with running(preferences=ALWAYS) as (rig, _):
        w = rig.window
        view = w.positionsView.viewport()
        double_click(qtbot, view, action_rect_centre(w, AAPL))
        dialog = w.dialogs[AAPL]
        assert len(w.dialogs) == 1 and dialog.isVisible()

        double_click(qtbot, dialog.sendButton)
        assert dialog.confirming  # the policy asks once more, in its own place
        assert dialog.task is None and rig.closes(QFEX) == []
        assert not dialog.sendButton.isEnabled()  # a double click on Send can't confirm

        double_click(qtbot, dialog.confirmButton)
        assert dialog.task is not None
        await dialog.task
        await until(lambda: AAPL not in w.dialogs, what="the dialog to go")
        await until(lambda: rig.desk.positions.get(AAPL) is None, what="AAPL to be closed")
        assert len(rig.closes(QFEX)) == 1


@pytest.mark.asyncio
async def test_two_copies_of_a_row_send_one_close_and_show_the_pending_one(
    qtbot: QtBot,
) -> None:
    """The same row in two windows over one desk: the second Send joins the first close,
    which is still in flight (the venue answers slowly), and brings it into view."""
    async with running(windows=2) as (rig, (a, b)):
        # Every QFEX frame waits 1 s, so the close is still in flight at the second Send. The
        # outbox sends one frame at a time: the position pulses (9 frames a second) would queue
        # up ahead of the close's replies, so they pause until the venue answers freely again.
        qfex = rig.sim.qfex
        pulse = qfex.settings.positions_interval
        qfex.settings.positions_interval = 3600.0
        qfex.faults.latency = 1.0
        first = click_close(qtbot, a, MSFT)
        second = click_close(qtbot, b, MSFT)
        await send(qtbot, first)
        assert rig.desk.pending(MSFT) is not None

        qtbot.mouseClick(second.sendButton, Qt.MouseButton.LeftButton)
        assert second.task is not None
        await second.task
        assert "already sending — nothing new was sent" in second.validationMessage.text()
        assert second.isVisible()
        assert "already sending — nothing new was sent" in b.statusBar().currentMessage()
        assert b.selected_key() == MSFT and b.positions_model.flashing(MSFT)
        second.reject()

        # Another click on the row's button, in either copy: no dialog, nothing sent.
        qtbot.mouseClick(a.positionsView.viewport(), Qt.MouseButton.LeftButton,
                         pos=action_rect_centre(a, MSFT))
        assert MSFT not in a.dialogs
        assert cell(a, MSFT, PositionColumn.ACTION, BUTTON_ROLE) == "Flash"
        assert cell(a, MSFT, PositionColumn.ACTION) == "Sending…"
        qfex.faults.latency = 0.0
        qfex.settings.positions_interval = pulse
        await until(lambda: rig.desk.positions.get(MSFT) is None, what="MSFT to be closed")
        assert len(rig.closes(QFEX)) == 1


# ============================================================================ freshness guard


@pytest.mark.asyncio
async def test_guard_fires_when_the_side_flips_after_opening(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        dialog = click_close(qtbot, w, AAPL)
        was = rig.desk.positions[AAPL]
        await rig.set_position(AAPL, "-3")

        qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)

        assert dialog.task is None and rig.closes(QFEX) == []
        assert dialog.guardPanel.isVisible()
        now = rig.desk.positions[AAPL]
        assert dialog.guardMessage.text().startswith(
            f"The position is now SHORT {fmt_decimal(now.quantity)} — it was LONG "
            f"{fmt_decimal(was.quantity)} when you opened this dialog.")
        assert not dialog.clampButton.isVisible()
        # the dialog shows it as it is now
        assert dialog.positionSummary.labels["side"].text() == "Short"

        await send(qtbot, dialog)  # asked again, and sent again: exactly one close
        await until(lambda: rig.desk.positions.get(AAPL) is None, what="AAPL to be closed")
        [sent] = rig.closes(QFEX)
        assert frame(sent)["type"] == "close_position"


@pytest.mark.asyncio
async def test_guard_offers_clamp_when_the_position_shrank_below_the_quantity(
    qtbot: QtBot,
) -> None:
    async with running() as (rig, _):
        w = rig.window
        dialog = click_close(qtbot, w, AAPL)
        dialog.quantityInput.setText("10")
        await rig.set_position(AAPL, "6")

        # Said once the book's change reaches the window (batched, not at once); 10 of 6 can't
        # be sent, so Send is off.
        await until(dialog.guardPanel.isVisible, what="the guard to show the new size")
        text = dialog.guardMessage.text()
        six = fmt_decimal(rig.desk.positions[AAPL].quantity)  # as the venue wrote it: 6.0
        assert f"The position is now LONG {six} — it was LONG" in text
        assert f"You asked to close 10; only {six} is left. Nothing was sent." in text
        assert dialog.clampButton.isVisible() and dialog.clampButton.text() == f"Clamp to {six}"
        assert not dialog.sendButton.isEnabled()
        qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
        assert dialog.task is None and rig.closes(QFEX) == []
        assert dialog.quantityInput.text() == "10"  # never clamped without consent

        qtbot.mouseClick(dialog.clampButton, Qt.MouseButton.LeftButton)
        assert dialog.quantityInput.text() == six
        assert rig.closes(QFEX) == []  # consent to clamp is not consent to send
        await send(qtbot, dialog)
        await until(lambda: rig.desk.positions.get(AAPL) is None, what="AAPL to be closed")
        assert len(rig.closes(QFEX)) == 1


# ============================================================================ rounding and dust


@pytest.mark.asyncio
async def test_rounding_shows_will_send_and_sends_exactly_that(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        dialog = click_close(qtbot, w, AAPL)  # lot 0.01, tick 0.01, long: the close sells
        dialog.quantityInput.setText("2.005")
        dialog.limitPriceInput.setText("400.005")
        assert dialog.quantityWillSend.isVisible()
        assert dialog.quantityWillSend.text() == "will send 2.00"
        assert dialog.limitWillSend.text() == "will send 400.01"  # a sell rounds up
        assert dialog.validationMessage.text() == ""
        assert "SELL 2.00 AAPL-USD (part) at limit 400.01 GTC" in dialog.summaryLine.text()

        await send(qtbot, dialog)
        # the frame is written when the task ends; the venue logs it a moment later
        await until(lambda: len(rig.closes(QFEX)) == 1, what="the frame at the venue")
        [sent] = rig.closes(QFEX)
        params = frame(sent)["params"]
        assert (params["quantity"], params["price"]) == (D("2.00"), D("400.01"))

        # Typed on the lot and tick: nothing to say.
        again = rig.window.request_close(MSFT)
        assert again is not None
        again.quantityInput.setText("2")
        again.limitPriceInput.setText("300")
        assert not again.quantityWillSend.isVisible() and not again.limitWillSend.isVisible()
        again.reject()


def _min_quantity_one(sim: Simulator) -> None:
    """AAPL-USD trades in lots of 0.01 but at least 1 at a time (the venue's reference data
    says so before we connect)."""
    sim.call(lambda: setattr(sim.qfex.market.instruments["AAPL-USD"], "min_qty", D(1)))


@pytest.mark.asyncio
async def test_dust_remainder_offers_close_all_instead(qtbot: QtBot) -> None:
    async with running(before_connect=_min_quantity_one) as (rig, _):
        w = rig.window
        instrument = rig.desk.instrument(AAPL)
        assert instrument is not None and instrument.min_quantity == 1
        dialog = click_close(qtbot, w, AAPL)  # 25 long
        full = dialog.quantityInput.text()
        dialog.quantityInput.setText("24.5")
        assert dialog.dustPanel.isVisible()
        assert dialog.dustMessage.text().startswith(
            "This leaves 0.5 open, below QFEX's minimum order size 1 for AAPL-USD")
        dialog.quantityInput.setText("24")  # leaves 1: no longer dust
        assert not dialog.dustPanel.isVisible()
        dialog.quantityInput.setText("24.99")
        assert dialog.dustPanel.isVisible()

        qtbot.mouseClick(dialog.closeAllButton, Qt.MouseButton.LeftButton)
        assert dialog.quantityInput.text() == full
        assert not dialog.dustPanel.isVisible()
        await send(qtbot, dialog)
        await until(lambda: rig.desk.positions.get(AAPL) is None, what="AAPL to be closed")
        [sent] = rig.closes(QFEX)
        assert frame(sent)["type"] == "close_position"


# ============================================================================ residuals


@pytest.mark.parametrize("preferences", [ALWAYS, NEVER], ids=["confirm", "no-confirm"])
@pytest.mark.asyncio
async def test_ioc_residual_badge_and_close_residual_flattens_it(
    qtbot: QtBot, preferences: Preferences
) -> None:
    async with running(preferences=preferences) as (rig, _):
        w = rig.window
        market = rig.sim.qfex.market
        await rig.sim.acall(lambda: setattr(market.instruments["AAPL-USD"], "liquidity", D(20)))
        await send(qtbot, click_close(qtbot, w, AAPL))  # close_position: IOC near mark

        # The fill's update can come a moment before the position's: wait for the new size.
        await until(lambda: rig.desk.residual(AAPL) == 5, what="the residual of 5")
        # Written to the lot (0.01), as the badge and the Size column write it.
        await until(lambda: cell(w, AAPL, PositionColumn.ACTION)
                    == "Partly filled (residual 5.00)", what="the badge")
        assert "Close residual" in cell(w, AAPL, PositionColumn.ACTION,
                                        Qt.ItemDataRole.ToolTipRole)
        assert "partly filled: 20" in w.statusBar().currentMessage()
        assert cell(w, AAPL, PositionColumn.ACTION, RESIDUAL_ROLE) == "residual 5.00"
        # It never loops by itself: once the venue has moved on (a new mark reached us), still
        # exactly one request.
        mark = rig.desk.mark(QFEX, "AAPL-USD")
        assert mark is not None
        moved = mark.mark + 1
        await rig.sim.acall(lambda: market.set_mark("AAPL-USD", moved))
        await until(lambda: (m := rig.desk.mark(QFEX, "AAPL-USD")) is not None
                    and m.mark == moved, what="the new mark")
        assert len(rig.closes(QFEX)) == 1

        qtbot.mouseClick(w.positionsView.viewport(), Qt.MouseButton.LeftButton,
                         pos=action_rect_centre(w, AAPL, residual=True))
        quick = w.quickDialogs.get(AAPL)
        if preferences.confirm == "always":
            assert isinstance(quick, QuickCloseDialog) and quick.isVisible()
            assert rig.closes(QFEX)[1:] == []
            qtbot.mouseClick(quick.confirmButton, Qt.MouseButton.LeftButton)
            assert quick.task is not None
            await quick.task
        else:
            assert quick is None  # one click, no dialog: the policy asks for nothing

        await until(lambda: rig.desk.positions.get(AAPL) is None, what="AAPL to be flat")
        sent = rig.closes(QFEX)
        assert [frame(r)["type"] for r in sent] == ["close_position", "close_position"]
        intent = rig.desk.latest_intent(AAPL)
        assert intent is not None and intent.verified_flat is True


# ============================================================================ verified flat


@pytest.mark.asyncio
async def test_full_close_is_verified_flat_in_the_log_and_status_bar(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        await send(qtbot, click_close(qtbot, w, MSFT))
        await until(lambda: any(r[LogColumn.STATUS] == "VERIFIED FLAT"
                                for r in log_lines(w, "MSFT-USD")), what="the verified line")
        line = next(r for r in log_lines(w, "MSFT-USD") if r[LogColumn.STATUS] == "VERIFIED FLAT")
        assert line[LogColumn.KIND] == "Close"
        assert line[LogColumn.MESSAGE] == (
            f"Verified flat: QFEX shows no MSFT-USD position on {QFEX_DEMO_ACCOUNT} after the "
            "close.")
        assert w.statusBar().currentMessage() == \
            f"MSFT-USD on {QFEX_DEMO_ACCOUNT}: closed and verified flat."


@pytest.mark.asyncio
async def test_mismatch_raises_a_red_banner_on_the_row(qtbot: QtBot) -> None:
    """The venue reports the close filled but still shows the position (here: the simulator
    puts it back as the fill lands), so after the verification timeout the row turns red."""
    async with running(verify_timeout=0.3) as (rig, _):
        w = rig.window
        market = rig.sim.qfex.market
        account = rig.account_id(QFEX)

        def keep_open(event: object) -> None:
            if (isinstance(event, SimPositionChanged) and event.position.symbol == "MSFT-USD"
                    and event.position.size == 0):
                market.positions[(account, "MSFT-USD")].size = D(-6)

        await rig.sim.acall(lambda: market.subscribe(keep_open))
        await send(qtbot, click_close(qtbot, w, MSFT))
        await until(lambda: cell(w, MSFT, PositionColumn.ACTION, BUTTON_ROLE) == "Mismatch",
                    what="the mismatch banner")
        # The cell shows the intent as of its event, which waited for its journal record;
        # the desk's own intent below may be read only once what it says is durable too.
        await rig.desk.journaled()
        intent = rig.desk.latest_intent(MSFT)
        assert intent is not None and intent.state is IntentState.FILLED
        assert intent.verified_flat is False
        assert cell(w, MSFT, PositionColumn.ACTION) == "Mismatch — check venue"
        tip = cell(w, MSFT, PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole)
        assert tip.startswith(intent.message) and intent.message.startswith("Mismatch")
        for col in (PositionColumn.SYMBOL, PositionColumn.PNL, PositionColumn.ACTION):
            brush = cell(w, MSFT, col, Qt.ItemDataRole.BackgroundRole)
            assert brush is not None and brush.color() == MISMATCH_ROW, col
        line = next(r for r in log_lines(w, "MSFT-USD") if r[LogColumn.STATUS] == "MISMATCH")
        assert line[LogColumn.MESSAGE] == intent.message
        assert len(rig.closes(QFEX)) == 1  # nothing was resent


@pytest.mark.asyncio
async def test_a_close_the_venue_lets_go_unfilled_says_not_filled(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        account = rig.account_id(QFEX)
        await rig.sim.acall(lambda: rig.sim.qfex.market.stuck.add((account, "CL-USD")))
        await send(qtbot, click_close(qtbot, w, CL))
        await until(lambda: cell(w, CL, PositionColumn.ACTION) == "Not filled",
                    what="Not filled on the row")
        assert rig.desk.positions[CL].quantity == 30
        tip = cell(w, CL, PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole)
        assert tip.startswith("Last close: Not filled")


# ============================================================================ plain-language errors


@dataclass(frozen=True)
class Refusal:
    key: PositionKey
    words: str  # after "Rejected · " on the button
    explanation: Explanation | None
    arrange: Callable[[Rig], object]
    quantity: str | None = None


def _status(status: str) -> Callable[[Rig], object]:
    return lambda rig: rig.sim.qfex.faults.force_status(status)


def _http(code: int) -> Callable[[Rig], object]:
    return lambda rig: rig.sim.everstrike.faults.force_http(code, path="/auth/close")


def _silently(key: PositionKey, size: str) -> Callable[[Rig], object]:
    """Change the position at the venue without telling anyone: our book is now wrong."""
    def arrange(rig: Rig) -> object:
        market = rig.sim.qfex.market if key.venue is QFEX else rig.sim.everstrike.market
        account = rig.account_id(key.venue)
        return rig.sim.call(
            lambda: setattr(market.position(account, key.symbol), "size", D(size)))
    return arrange


REFUSALS = {
    "margin": Refusal(AAPL, "margin check", MARGIN, _status("FAILED_MARGIN_CHECK")),
    "below-minimum": Refusal(AAPL, "below minimum", BELOW_MIN,
                             _status("QUANTITY_LESS_THAN_MIN_QUANTITY")),
    "tick": Refusal(AAPL, "tick size", TICK, _status("INVALID_TICK_SIZE_PRECISION_PRICE")),
    "market-closed": Refusal(AAPL, "market closed", MARKET_CLOSED,
                             _status("REJECTED_MARKET_CLOSED")),
    "qfex-rate": Refusal(AAPL, "rate limited", RATE, _status("RATE_LIMITED")),
    "clock-skew": Refusal(ETH, "clock skew", CLOCK, _http(408)),
    "everstrike-rate": Refusal(ETH, "rate limited", RATE, _http(429)),
    "already-flat": Refusal(SOL, "already flat", ALREADY_FLAT, _silently(SOL, "0")),
    "would-increase": Refusal(
        MSFT, "would increase", WOULD_INCREASE,
        lambda rig: rig.sim.qfex.faults.force_error(
            "InvalidOrder", "reduce-only order would increase the position")),
    # QFEX refuses a reduce-only close of a flipped position with a bare REJECTED and no text:
    # there is no cause to give, so the row and the log say what to check.
    "no-reason": Refusal(MSFT, "no reason given", None, _silently(MSFT, "6"), quantity="1"),
}


@pytest.mark.parametrize("case", list(REFUSALS), ids=list(REFUSALS))
@pytest.mark.asyncio
async def test_each_refusal_shows_its_cause_and_next_step_on_the_row_and_in_the_log(
    qtbot: QtBot, case: str
) -> None:
    refusal = REFUSALS[case]
    async with running() as (rig, _):
        w = rig.window
        key = refusal.key
        refusal.arrange(rig)
        dialog = click_close(qtbot, w, key)
        if refusal.quantity is not None:
            dialog.quantityInput.setText(refusal.quantity)
        await send(qtbot, dialog)
        await until(lambda: cell(w, key, PositionColumn.ACTION, BUTTON_ROLE) == "Rejected",
                    what="Rejected on the row")

        assert cell(w, key, PositionColumn.ACTION) == f"Rejected · {refusal.words}"
        tip = cell(w, key, PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole)
        if refusal.explanation is not None:
            expected = [refusal.explanation.cause, refusal.explanation.next_step]
        else:
            expected = [NO_REASON_NEXT_STEP]
        for text in expected:
            assert text in tip
        await until(lambda: any(all(t in r[LogColumn.MESSAGE] for t in expected)
                                for r in log_lines(w, key.symbol)
                                if r[LogColumn.STATUS] == "REJECTED"),
                    what="a REJECTED log line with the cause and next step")
        assert all(t in w.statusBar().currentMessage() for t in expected)


# ============================================================================ stale venue


@pytest.mark.asyncio
async def test_a_silent_venue_goes_stale_in_the_health_strip_and_its_rows(
    qtbot: QtBot,
) -> None:
    """Everstrike keeps its socket open and says nothing. With a 0.5 s keep-alive it is stale
    after 2.5 s (silence_limit); the rows, with a 1 s stale threshold, after 1 s. QFEX keeps
    talking (the market ticks), so its rows stay fresh."""
    prefs = Preferences(confirm="never", stale_after_s=1.0)
    async with running(preferences=prefs, tick_interval=0.2,
                       everstrike_options={"keepalive": "0.5"}) as (rig, _):
        w = rig.window
        w.healthTimer.setInterval(100)
        await until(lambda: w.healthStrip.panels.get(EVERSTRIKE_DEMO_ACCOUNT) is not None
                    and w.healthStrip.panels[EVERSTRIKE_DEMO_ACCOUNT].tone == "good",
                    what="a healthy Everstrike panel")
        rig.sim.everstrike.faults.silent = True
        try:
            panel = w.healthStrip.panels[EVERSTRIKE_DEMO_ACCOUNT]
            await until(lambda: panel.labels["state"].text() == "stale", timeout=15,
                        what="Everstrike shown stale")
            assert panel.tone in ("warn", "bad")
            assert panel.labels["last"].property("tone") in ("warn", "bad")
            assert rig.desk.connection_state(EVERSTRIKE_DEMO_ACCOUNT).value == "connected"
            assert w.healthStrip.panels[QFEX_DEMO_ACCOUNT].labels["state"].text() == "connected"
            await until(lambda: w.positions_model.row_age(ETH) is not None,
                        what="the ETH row marked stale")
            tip = cell(w, ETH, PositionColumn.MARK, Qt.ItemDataRole.ToolTipRole)
            assert re.match(r"stale \d+ s — no venue data for this row", tip)
            assert cell(w, ETH, PositionColumn.MARK, Qt.ItemDataRole.FontRole).italic()
            # QFEX's rows are fresh while Everstrike's stays stale. On a busy machine a QFEX
            # tick can come later than the 1 s threshold, so wait for the next one rather than
            # catching the row between two ticks.
            await until(lambda: w.positions_model.row_age(AAPL) is None
                        and w.positions_model.row_age(ETH) is not None,
                        what="AAPL fresh beside the stale ETH")
            assert cell(w, AAPL, PositionColumn.MARK, Qt.ItemDataRole.ToolTipRole) is None

            # Closing a stale row asks, with the data's age, even with confirmations off.
            dialog = click_close(qtbot, w, ETH)
            qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
            assert dialog.confirming and dialog.task is None
            assert re.search(r"This position's data is \d+ s old\. Close anyway\?",
                             dialog.confirmMessage.text())
            assert dialog.confirmButton.text() == "Close anyway"
            dialog.reject()
            assert rig.closes(EVERSTRIKE) == []
        finally:
            rig.sim.everstrike.faults.silent = False
        # Talking again. (Its REST round trip may stay amber a while: a request held during
        # the silence measured the whole wait, truthfully.)
        panel = w.healthStrip.panels[EVERSTRIKE_DEMO_ACCOUNT]
        await until(lambda: panel.labels["state"].text() == "connected"
                    and panel.labels["last"].property("tone") == "good",
                    timeout=15, what="Everstrike talking again")
        await until(lambda: w.positions_model.row_age(ETH) is None, what="the ETH row fresh")


# ============================================================================ wire preview


@pytest.mark.asyncio
async def test_qfex_preview_is_the_frame_the_venue_receives(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        dialog = click_close(qtbot, rig.window, AAPL)
        dialog.quantityInput.setText("2.5")
        dialog.limitPriceInput.setText("400")
        preview = dialog.previewText.toPlainText()
        await send(qtbot, dialog)
        # the frame is written when the task ends; the venue logs it a moment later
        await until(lambda: len(rig.closes(QFEX)) == 1, what="the frame at the venue")
        [sent] = rig.closes(QFEX)
        assert sent.body == preview  # an add_order frame carries nothing to redact


@pytest.mark.asyncio
async def test_everstrike_preview_is_the_form_the_venue_receives(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        dialog = click_close(qtbot, rig.window, ETH)
        dialog.quantityInput.setText("1.5")
        dialog.limitPriceInput.setText("1000")  # a buy far below the book: it rests
        preview = dialog.previewText.toPlainText()
        await send(qtbot, dialog)
        sent_all = rig.closes(EVERSTRIKE)
        assert len(sent_all) == 1, dialog.validationMessage.text()
        [sent] = sent_all

        head, _, body = preview.partition("\n\n")
        lines = head.splitlines()
        assert lines[0] == f"{sent.method} {sent.path}" == "POST /auth/close"
        headers = dict(line.split(": ", 1) for line in lines[1:])
        assert headers["content-type"] == sent.headers["content-type"]
        # Redacted: the key's first characters, then ***; the signature likewise (it signs
        # the timestamp too, so it differs from the one sent).
        prefix, _, stars = headers["x-api-key"].partition("…")
        assert stars == "***" and sent.headers["x-api-key"].startswith(prefix)
        assert re.fullmatch(r"\S{4}…\*\*\*", headers["x-signature"])
        assert sent.headers["x-signature"] not in preview
        ours, theirs = parse_qsl(body, strict_parsing=True), parse_qsl(sent.body)
        assert [k for k, _ in ours] == [k for k, _ in theirs]  # same fields, same order
        assert [(k, v) for k, v in ours if k != "timestamp"] == \
            [(k, v) for k, v in theirs if k != "timestamp"]
        stamps = [dict(pairs)["timestamp"] for pairs in (ours, theirs)]
        assert all(re.fullmatch(r"\d{13}", s) for s in stamps)  # epoch milliseconds


# ============================================================================ trigger helper


@pytest.mark.asyncio
async def test_trigger_helper_shows_the_prices_and_warns_before_firing_at_once(
    qtbot: QtBot,
) -> None:
    async with running() as (rig, _):
        w = rig.window
        mark = rig.desk.mark(QFEX, "AAPL-USD")
        assert mark is not None
        dialog = click_close(qtbot, w, AAPL)  # long
        assert dialog.referencePrices.text() == f"now: Mark {fmt_decimal(mark.mark)}"
        dialog.triggerPriceInput.setText(fmt_decimal(mark.mark - 10))
        assert dialog.triggerHint.text().endswith("→ stop-loss.")
        assert not dialog.triggerWarning.isVisible()
        dialog.triggerPriceInput.setText(fmt_decimal(mark.mark + 10))
        assert dialog.triggerHint.text().endswith("→ take-profit.")
        dialog.triggerPriceInput.setText(fmt_decimal(mark.mark))
        assert dialog.triggerWarning.isVisible()
        assert dialog.triggerWarning.text().endswith("the trigger would fire at once.")
        assert dialog.triggerWarning.property("tone") == "bad"
        assert not dialog.closeOnTriggerNote.isVisible()  # QFEX has no close-on-trigger
        dialog.reject()

        await until(lambda: rig.desk.mark(EVERSTRIKE, "USD_ETH_PERP") is not None,
                    what="Everstrike's mark")
        ever = rig.desk.mark(EVERSTRIKE, "USD_ETH_PERP")
        assert ever is not None and ever.index is not None
        dialog = click_close(qtbot, w, ETH)  # short
        assert dialog.referencePrices.text().startswith(
            f"now: Mark {fmt_decimal(ever.mark)} · Index {fmt_decimal(ever.index)} · Last ")
        assert dialog.closeOnTriggerNote.isVisible()
        assert dialog.closeOnTriggerNote.text() == CLOSE_ON_TRIGGER_NOTE
        dialog.triggerPriceInput.setText(fmt_decimal(ever.index + 50))
        dialog.triggerEventInput.setCurrentIndex(dialog.triggerEventInput.findData("INDEX_PRICE"))
        assert dialog.triggerHint.text() == (
            f"{fmt_decimal(ever.index + 50)} is above the index price "
            f"{fmt_decimal(ever.index)} → stop-loss.")


# ============================================================================ confirmations


@pytest.mark.asyncio
async def test_confirmations_off_banner_follows_the_preference(qtbot: QtBot) -> None:
    async with running(preferences=NEVER) as (rig, _):
        w = rig.window
        assert w.confirmationsOffBanner.isVisible()
        assert w.confirmationsOffBanner.text() == CONFIRMATIONS_OFF_BANNER
        dialog = click_close(qtbot, w, MSFT)
        qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
        assert not dialog.confirming and dialog.task is not None  # sent on the first click
        await dialog.task

        w.set_preferences(ALWAYS)
        assert not w.confirmationsOffBanner.isVisible()
        dialog = click_close(qtbot, w, AAPL)
        qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
        assert dialog.confirming and dialog.task is None
        assert "Asked because confirmations are set to always." in \
            dialog.confirmMessage.text()
        dialog.reject()


# ============================================================================ keyboard


@pytest.mark.asyncio
async def test_keyboard_shortcuts(qtbot: QtBot) -> None:
    async with running(preferences=ALWAYS) as (rig, _):
        w = rig.window
        view = w.positionsView
        # Enter opens the dialog for the selected row; Ctrl+1..4 pick a share; Esc cancels.
        assert w.select_row(SOL)
        view.setFocus()
        qtbot.keyClick(view, Qt.Key.Key_Return)
        dialog = w.dialogs[SOL]
        digits = (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3, Qt.Key.Key_4)
        dialog.quantityInput.setText("1")
        for digit, expected in zip(digits, ("30", "60", "90", "120"), strict=True):
            qtbot.keyClick(dialog.quantityInput, digit, Qt.KeyboardModifier.ControlModifier)
            assert D(dialog.quantityInput.text()) == D(expected), digit
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        await until(lambda: SOL not in w.dialogs, what="the dialog to go")

        # Ctrl+Shift+C: the selected row in full, after one confirmation (Enter counts once
        # the confirmation has been up a moment).
        clock = FakeClock()
        w.closing.clock = clock
        assert w.select_row(MSFT)
        view.setFocus()
        qtbot.keyClick(view, Qt.Key.Key_C,
                       Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
        quick = w.quickDialogs.get(MSFT)
        assert isinstance(quick, QuickCloseDialog) and quick.isVisible()
        assert rig.closes(QFEX) == []
        clock.now += 1
        qtbot.keyClick(quick.confirmButton, Qt.Key.Key_Return)
        assert quick.task is not None
        await quick.task
        await until(lambda: rig.desk.positions.get(MSFT) is None, what="MSFT to be closed")
        [sent] = rig.closes(QFEX)
        assert frame(sent)["type"] == "close_position"
        assert rig.closes(EVERSTRIKE) == []

        # Help → Keyboard shortcuts lists every one of them.
        w.keyboardAction.trigger()
        assert w.keyboardHelp is not None and w.keyboardHelp.isVisible()
        label = w.keyboardHelp.findChild(QLabel, "keyboardHelpText")
        assert label is not None
        for keys, what in KEYBOARD_SHORTCUTS:
            assert keys in label.text() and what in label.text()
        assert "Ctrl+Shift+C" in label.text()
        assert [a.text() for a in w.helpMenu.actions() if not a.isSeparator()] == [
            "&Keyboard shortcuts…", "&About Closeout…"]
        w.keyboardHelp.reject()


# ============================================================================ log and ticket


@pytest.mark.asyncio
async def test_clicking_a_log_line_selects_its_row(qtbot: QtBot) -> None:
    async with running() as (rig, _):
        w = rig.window
        dialog = click_close(qtbot, w, SOL)
        dialog.quantityInput.setText("1")
        await send(qtbot, dialog)
        await until(lambda: any(r[LogColumn.KIND] == "Order" for r in log_lines(w, SOL.symbol)),
                    what="SOL's order line")
        model = w.log_model
        row = next(i for i in range(model.rowCount())
                   if model.data(model.index(i, LogColumn.SYMBOL)) == SOL.symbol)
        assert w.select_row(AAPL)
        w.bottomTabs.setCurrentWidget(w.logView)
        index = model.index(row, LogColumn.MESSAGE)
        w.logView.scrollTo(index)
        qtbot.mouseClick(w.logView.viewport(), Qt.MouseButton.LeftButton,
                         pos=w.logView.visualRect(index).center())
        assert w.selected_key() == SOL


@pytest.mark.asyncio
async def test_copy_for_ticket_puts_the_close_and_its_request_on_the_clipboard(
    qtbot: QtBot,
) -> None:
    async with running() as (rig, _):
        dialog = click_close(qtbot, rig.window, ETH)
        dialog.quantityInput.setText("1")
        dialog.reasonInput.setText("TICKET-77")
        qtbot.mouseClick(dialog.copyTicketButton, Qt.MouseButton.LeftButton)
        text = QApplication.clipboard().text()
        assert text.splitlines()[:6] == [
            f"Account: {EVERSTRIKE_DEMO_ACCOUNT} (DEMO)",
            "Venue: Everstrike",
            "Symbol: USD_ETH_PERP",
            "Position: SHORT 3.5",
            "Close: BUY 1.000 USD_ETH_PERP (part) at market, reduce-only.",  # to the lot
            f"Client order id: {dialog.check().request.client_order_id}",  # type: ignore[union-attr]
        ]
        assert "Reason: TICKET-77" in text
        assert text.endswith(dialog.previewText.toPlainText())
        assert "POST /auth/close" in text and "x-signature: " in text
        assert rig.sim.info.everstrike.secret_key not in text
        assert rig.sim.info.everstrike.api_key not in text
        dialog.reject()
        await asyncio.sleep(0)
