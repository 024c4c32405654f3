"""The row's Close cell (state, residual badge, mismatch banner, flash), rows marked stale by
their own age, the log's intent lines and their rows, and the health strip's thresholds."""

from __future__ import annotations

import gc
import time
from decimal import Decimal

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester

from core.desk import CloseIntent, Desk, IntentState
from core.model import (
    CloseRequest,
    ConnectionState,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionSide,
    SessionHealth,
    Trigger,
)
from core.settings import Preferences
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import CONFIRMATIONS_OFF_BANNER, MainWindow
from gui.models import (
    BUTTON_ROLE,
    MISMATCH_ROW,
    NO_REASON_NEXT_STEP,
    RESIDUAL_ROLE,
    STALE,
    LogColumn,
    LogEntry,
    LogModel,
    PositionColumn,
    PositionsModel,
    intent_text,
)
from gui.widgets import (
    HEADROOM_AMBER,
    HEADROOM_RED,
    RTT_AMBER_MS,
    RTT_RED_MS,
    SKEW_AMBER_MS,
    SKEW_RED_MS,
    HealthStrip,
    health_figures,
    silence_limit,
)
from gui.widgets.scroller import WrapScroller
from tests.gui.conftest import until
from tests.gui.test_models import Changes, cell, key, pos
from tests.helpers.fakes import FakeSession, account, position
from tests.helpers.windows import shut

D = Decimal


def intent(p: Position, state: IntentState, *, quantity: str | None = None,
           limit: str | None = None, trigger: str | None = None, filled: str = "0",
           message: str = "", raw: str = "", verified: bool | None = None,
           next_step: str = "", checks: int = 0) -> CloseIntent:
    request = CloseRequest(p.key, p.side, p.quantity,
                           quantity=None if quantity is None else D(quantity),
                           limit_price=None if limit is None else D(limit),
                           trigger=None if trigger is None else Trigger(D(trigger)))
    return CloseIntent(id=f"intent-{state.name}", request=request, state=state, message=message,
                       raw_status=raw, filled=D(filled), verified_flat=verified,
                       next_step=next_step, checks=checks)


# ============================================================================ the Close cell


@pytest.mark.parametrize(
    ("made", "text", "colours"),
    [
        (dict(state=IntentState.SENDING), "Sending…", "Sending…"),
        (dict(state=IntentState.ACKNOWLEDGED), "Acknowledged", "Acknowledged"),
        (dict(state=IntentState.RESTING, limit="120"), "Resting limit", "Resting"),
        (dict(state=IntentState.RESTING, trigger="90"), "Resting trigger", "Resting"),
        (dict(state=IntentState.FILLED), "Closed 5 · verifying", "Closed"),
        (dict(state=IntentState.FILLED, filled="5"), "Closed 5 · verifying", "Closed"),
        (dict(state=IntentState.FILLED, quantity="1"), "Closed 1", "Closed"),
        (dict(state=IntentState.FILLED, verified=True), "✓ Verified flat", "Verified flat"),
        (dict(state=IntentState.FILLED, verified=False), "Mismatch — check venue", "Mismatch"),
        (dict(state=IntentState.UNKNOWN), "Unknown · connection lost", "Unknown"),
        (dict(state=IntentState.UNKNOWN, checks=3), "Unknown · checking (attempt 3)", "Unknown"),
        (dict(state=IntentState.CANCELLED), "Not filled", "Not filled"),
        (dict(state=IntentState.CANCELLED, limit="120"), "Cancelled", "Cancelled"),
        (dict(state=IntentState.REJECTED, raw="FAILED_MARGIN_CHECK"),
         "Rejected · margin check", "Rejected"),
        (dict(state=IntentState.REJECTED, raw="REJECTED", message="Rejected by the venue"),
         "Rejected · no reason given", "Rejected"),
    ],
)
def test_the_close_cell_names_the_state(made: dict[str, object], text: str,
                                        colours: str, qapp: QApplication) -> None:
    i = intent(pos("A", "5"), **made)  # type: ignore[arg-type]
    assert intent_text(i) == text
    model = PositionsModel()
    model.upsert(pos("A", "5"))
    model.set_intent(i)
    assert cell(model, 0, PositionColumn.ACTION) == text
    assert cell(model, 0, PositionColumn.ACTION, BUTTON_ROLE) == colours


def test_a_refusal_without_a_reason_says_what_to_check(qapp: QApplication) -> None:
    model = PositionsModel()
    model.upsert(pos("A", "5"))
    model.set_intent(intent(pos("A", "5"), IntentState.REJECTED, raw="REJECTED",
                            message="Rejected by the venue"))
    tip = cell(model, 0, PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Last close: Rejected — Rejected by the venue. " + NO_REASON_NEXT_STEP)


def test_residual_badge_follows_the_size(qapp: QApplication) -> None:
    model = PositionsModel()
    model.upsert_many([pos("A", "25"), pos("B", "3")])
    model.set_intent(intent(pos("A", "25"), IntentState.PARTIAL, filled="20"))
    assert cell(model, 0, PositionColumn.ACTION, RESIDUAL_ROLE) == "residual 25"  # not yet
    changes = Changes(model)
    model.upsert(pos("A", "5"))  # the venue's new size arrives
    assert (0, PositionColumn.ACTION) in changes.cells()
    assert cell(model, 0, PositionColumn.ACTION, RESIDUAL_ROLE) == "residual 5"
    assert cell(model, 0, PositionColumn.ACTION) == "Partly filled (residual 5)"
    assert cell(model, 0, PositionColumn.ACTION, Qt.ItemDataRole.AccessibleTextRole) \
        .startswith("Close residual 5 of A on acct")
    assert model.residual(key("A")) == 5
    assert cell(model, 1, PositionColumn.ACTION, RESIDUAL_ROLE) is None
    model.set_intent(intent(pos("A", "5"), IntentState.SENDING))  # a newer close clears it
    assert model.residual(key("A")) is None
    assert cell(model, 0, PositionColumn.ACTION, RESIDUAL_ROLE) is None


def test_mismatch_paints_the_whole_row(qapp: QApplication) -> None:
    model = PositionsModel()
    model.upsert_many([pos("A"), pos("B")])
    changes = Changes(model)
    model.set_intent(intent(pos("B"), IntentState.FILLED, verified=False,
                            message="Mismatch: the venue reported the close filled, but ..."))
    assert changes.cells() >= {(1, c) for c in PositionColumn}
    assert not any(r == 0 for r, _ in changes.cells())
    for col in PositionColumn:
        assert cell(model, 1, col, Qt.ItemDataRole.BackgroundRole).color() == MISMATCH_ROW
        assert cell(model, 0, col, Qt.ItemDataRole.BackgroundRole) is None
    assert cell(model, 1, PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole).startswith(
        "Mismatch: the venue reported")


@pytest.mark.asyncio
async def test_flash_lights_the_close_cell_for_a_moment(qapp: QApplication) -> None:
    model = PositionsModel()
    model.upsert(pos("A"))
    changes = Changes(model)
    model.flash(key("A"), ms=30)
    assert model.flashing(key("A"))
    assert cell(model, 0, PositionColumn.ACTION, BUTTON_ROLE) == "Flash"
    assert changes.cells() == {(0, PositionColumn.ACTION)}
    await until(lambda: not model.flashing(key("A")), what="the flash to end")
    assert cell(model, 0, PositionColumn.ACTION, BUTTON_ROLE) == "Close"


def test_rows_stale_by_their_own_age(qapp: QApplication) -> None:
    model = PositionsModel()
    model.upsert_many([pos("A"), pos("B"), pos("C")])
    changes = Changes(model)
    model.set_row_ages({key("B"): 12.7})
    assert changes.cells() == {(1, c) for c in PositionColumn}
    tip = cell(model, 1, PositionColumn.MARK, Qt.ItemDataRole.ToolTipRole)
    assert tip == ("stale 12 s — no venue data for this row for 12 s; its numbers may be out "
                   "of date")
    assert cell(model, 1, PositionColumn.MARK, Qt.ItemDataRole.FontRole).italic()
    assert cell(model, 1, PositionColumn.SYMBOL, Qt.ItemDataRole.ForegroundRole).color() == STALE
    assert cell(model, 0, PositionColumn.MARK, Qt.ItemDataRole.ToolTipRole) is None
    changes.events.clear()
    model.set_row_ages({key("B"): 12.9})  # the same whole seconds: nothing to repaint
    assert changes.events == []
    model.set_stale("acct", "Stale: QFEX silent since 12:00:00 — numbers may be out of date")
    assert cell(model, 1, PositionColumn.MARK, Qt.ItemDataRole.ToolTipRole).splitlines() == [
        tip, "Stale: QFEX silent since 12:00:00 — numbers may be out of date"]
    model.set_row_ages({})
    assert model.row_age(key("B")) is None


def test_model_with_every_close_state_passes_qtmodeltester(
    qtmodeltester: ModelTester, qapp: QApplication
) -> None:
    model = PositionsModel()
    model.upsert_many([pos("A", "5"), pos("B"), pos("C")])
    model.set_intent(intent(pos("A", "5"), IntentState.PARTIAL, filled="3"))
    model.set_intent(intent(pos("B"), IntentState.FILLED, verified=False, message="Mismatch"))
    model.set_row_ages({key("C"): 9})
    model.flash(key("C"))
    qtmodeltester.check(model, force_py=True)


# ============================================================================ the log


def test_intent_lines_name_their_row_and_say_it_plainly(qapp: QApplication) -> None:
    p = pos("A", "5")
    flat = LogEntry.from_intent(intent(p, IntentState.FILLED, verified=True), "VERIFIED FLAT")
    assert (flat.kind, flat.status, flat.tone, flat.key) == ("Close", "VERIFIED FLAT", "good",
                                                            key("A"))
    assert flat.message == "Verified flat: QFEX shows no A position on acct after the close."
    bare = LogEntry.from_intent(intent(p, IntentState.REJECTED, raw="REJECTED",
                                       message="Rejected by the venue"), "REJECTED")
    assert bare.message.endswith(NO_REASON_NEXT_STEP) and bare.tone == "bad"
    model = LogModel()
    model.append(flat)
    model.append_event(OrderUpdate(QFEX, "acct", "B", OrderStatus.ACK, "ACK", False))
    model.flush()
    assert model.key_at(0) == key("A")
    assert model.key_at(1) == key("B")
    assert model.key_at(5) is None
    assert model.data(model.index(0, LogColumn.STATUS)) == "VERIFIED FLAT"


# ============================================================================ health strip


def _fig(figures: list[object], name: str) -> tuple[str, str]:
    for f in figures:
        if f.name == name:  # type: ignore[attr-defined]
            return f.text, f.tone  # type: ignore[attr-defined]
    raise AssertionError(name)


@pytest.mark.parametrize(
    ("health", "name", "tone"),
    [
        (SessionHealth(True, rtt_ms=RTT_AMBER_MS - 1), "rtt", "good"),
        (SessionHealth(True, rtt_ms=RTT_AMBER_MS), "rtt", "warn"),
        (SessionHealth(True, rtt_ms=RTT_RED_MS), "rtt", "bad"),
        (SessionHealth(True, skew_ms=SKEW_AMBER_MS), "skew", "good"),
        (SessionHealth(True, skew_ms=-SKEW_AMBER_MS - 1), "skew", "warn"),
        (SessionHealth(True, skew_ms=SKEW_RED_MS + 1), "skew", "bad"),
        (SessionHealth(True, rate_headroom=HEADROOM_AMBER), "rate", "good"),
        (SessionHealth(True, rate_headroom=HEADROOM_AMBER - 0.01), "rate", "warn"),
        (SessionHealth(True, rate_headroom=HEADROOM_RED - 0.01), "rate", "bad"),
        (SessionHealth(True), "rate", ""),  # unknown: neither good nor bad
    ],
)
def test_health_thresholds(health: SessionHealth, name: str, tone: str) -> None:
    assert _fig(health_figures(ConnectionState.CONNECTED, health, 0.0), name)[1] == tone


@pytest.mark.parametrize(
    ("quiet", "state", "last"),
    [(silence_limit(10.0), ("connected", "good"), "good"),
     (silence_limit(10.0) + 0.5, ("stale", "warn"), "warn"),
     (30.5, ("stale", "bad"), "bad")],
)
def test_a_silent_venue_is_stale_even_with_its_socket_open(
    quiet: float, state: tuple[str, str], last: str
) -> None:
    health = SessionHealth(True, last_message_at=100.0, keepalive_s=10.0)
    figures = health_figures(ConnectionState.CONNECTED, health, 100.0 + quiet)
    assert _fig(figures, "state") == state
    assert _fig(figures, "last")[1] == last


def test_health_strip_shows_every_figure_and_its_tone(qapp: QApplication) -> None:
    strip = HealthStrip()
    try:
        panel = strip.update_account(
            "Desk", EVERSTRIKE, ConnectionState.CONNECTED,
            SessionHealth(True, last_message_at=10.0, rtt_ms=41.6, skew_ms=-700.0,
                          rate_headroom=None, keepalive_s=5.0), 10.4)
        assert panel.text() == ("Desk · connected · last msg 0.4 s · RTT 42 ms · skew -700 ms · "
                                "rate —")
        assert panel.tone == "warn"  # the worst figure: the clock skew
        assert panel.labels["skew"].property("tone") == "warn"
        assert "amber beyond ±500 ms" in panel.labels["skew"].toolTip()
        strip.update_account("Desk", EVERSTRIKE, ConnectionState.DISCONNECTED, None, 11.0)
        assert panel.labels["state"].text() == "disconnected" and panel.tone == "bad"
        strip.remove("Desk")
        assert "Desk" not in strip.panels
    finally:
        shiboken6.delete(strip)


# ============================================================================ the window


@pytest.mark.asyncio
async def test_window_marks_old_rows_stale_and_shows_the_strip(qapp: QApplication) -> None:
    """A connected session whose rows were last vouched for 30 s ago (and that has said
    nothing since): the rows are stale by the 5 s threshold; a fresh account's are not."""
    old = time.monotonic() - 30

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        p = position("AAPL-USD", acct=acct.name)
        s.initial = (Position(p.key, PositionSide.LONG, D(5), received_at=old)
                     if acct.name == "Old" else p,)
        return s

    desk = Desk(session_factory=factory)
    window = MainWindow(desk, health_interval_ms=3_600_000,
                        preferences=Preferences(confirm="never", stale_after_s=5))
    try:
        assert window.confirmationsOffBanner.text() == CONFIRMATIONS_OFF_BANNER
        await desk.start([(account("Old"), Credentials("p", "s")),
                          (account("New"), Credentials("p", "s"))])
        window.positions_model.flush()
        window.refresh_health()
        old_key = position("AAPL-USD", acct="Old").key
        new_key = position("AAPL-USD", acct="New").key
        age = window.positions_model.row_age(old_key)
        assert age is not None and age >= 30
        assert window.positions_model.row_age(new_key) is None
        assert set(window.healthStrip.panels) == {"Old", "New"}
        window.set_preferences(Preferences(confirm="always", stale_after_s=60))
        assert window.positions_model.row_age(old_key) is None  # 30 s is fresh enough now
        assert window.confirmationsOffBanner.isHidden()
    finally:
        await shut(window, desk)


@pytest.mark.asyncio
async def test_many_accounts_wrap_and_scroll_their_strips_instead_of_widening_the_window(
    qapp: QApplication,
) -> None:
    """Forty accounts: every badge and health panel is there, the strips wrap into two rows
    that scroll, and the window can still be as narrow as with one account."""
    one = Desk(session_factory=FakeSession)
    many = Desk(session_factory=FakeSession)
    narrow = MainWindow(one, health_interval_ms=3_600_000)
    window = MainWindow(many, health_interval_ms=3_600_000)
    try:
        await one.start([(account("Solo"), Credentials("p", "s"))])
        names = [f"Client account {i:02d}" for i in range(40)]
        await many.start([(account(n), Credentials("p", "s")) for n in names])
        for w in (narrow, window):
            w.refresh_health()
        assert set(window.healthStrip.panels) == set(names)
        assert set(window.connectionStrip.badges) == set(names)
        strips_width = (window.healthStrip.sizeHint().width()
                        + window.connectionStrip.sizeHint().width())
        assert strips_width > 4 * window.minimumSizeHint().width()  # they would not fit
        assert window.minimumSizeHint().width() <= narrow.minimumSizeHint().width() + 50
        window.resize(1280, 800)
        window.show()
        QApplication.sendPostedEvents()  # layout requests only: no loop turn inside the test
        for strip in (window.healthStrip, window.connectionStrip):
            scroller = strip.parentWidget().parentWidget()  # viewport, then the area
            assert isinstance(scroller, WrapScroller)
            # Wrapped into at most two rows; the rest is a scroll away, never sideways.
            assert scroller.verticalScrollBar().maximum() > 0
            assert scroller.horizontalScrollBar().maximum() == 0
            assert scroller.height() <= 2 * scroller.verticalScrollBar().singleStep()
        assert window.width() == 1280
    finally:
        for w, d in ((narrow, one), (window, many)):
            await w.shutdown()
            await d.stop()
            shiboken6.delete(w)
        gc.collect()
