"""The main window over a real Desk whose sessions are hand-written fakes (no sockets).

Covers what the simulator cannot script exactly: a cancel held open at the venue, a refused
cancel, an outage on one account while the other stays up, and health figures chosen by the
test (clock skew, silence, rate headroom).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
import pytest_asyncio
import shiboken6
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.model import (
    ConnectionState,
    OrderSide,
    PositionKey,
    PositionsSnapshot,
    SessionHealth,
    TriggerEvent,
    Venue,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
)
from core.venue import AccountConfig, CancelRejected, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models import BUTTON_ROLE, STALE, CancelState, PositionColumn, WorkingColumn
from gui.widgets import ConnectionBadge, button_rect, fmt_clock, silence_limit
from tests.gui.conftest import until
from tests.helpers.clock import FakeClock
from tests.helpers.fakes import FakeSession, account, position
from tests.helpers.windows import shut

D = Decimal
ALPHA, BETA = "Alpha desk", "Beta desk"
OUTAGE_AT = 1_700_000_000.0  # a fixed wall time, so the tooltip's HH:MM:SS is exact


@dataclass
class Rig:
    desk: Desk
    window: MainWindow
    sessions: dict[str, FakeSession]
    clock: FakeClock


def limit_order(order_id: str, acct: str = ALPHA, symbol: str = "AAPL-USD",
                venue: Venue = QFEX) -> WorkingOrder:
    return WorkingOrder(venue, acct, symbol, order_id, WorkingKind.LIMIT, OrderSide.SELL,
                        D(5), remaining=D(5), price=D("400"), order_type="LIMIT",
                        raw_status="NEW")


def trigger_order(order_id: str, acct: str = BETA, symbol: str = "USD_ETH_PERP") -> WorkingOrder:
    return WorkingOrder(EVERSTRIKE, acct, symbol, order_id, WorkingKind.TRIGGER,
                        OrderSide.BUY, D("3.5"), price=None, trigger_price=D("4400"),
                        trigger_event=TriggerEvent.MARK, order_type="TRIGGER",
                        raw_status="ACTIVE")


@pytest_asyncio.fixture
async def rig(qapp: QApplication) -> AsyncIterator[Rig]:
    sessions: dict[str, FakeSession] = {}
    clock = FakeClock(5_000.0)

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.health_now = SessionHealth(connected=True)
        if acct.name == ALPHA:
            s.initial = (position("AAPL-USD", acct=ALPHA), position("MSFT-USD", acct=ALPHA))
            s.working = (limit_order("q-1"), limit_order("q-2"))
        else:
            s.initial = (position("USD_ETH_PERP", acct=BETA, venue=EVERSTRIKE),
                         position("USD_BTC_PERP", acct=BETA, venue=EVERSTRIKE))
            s.working = (trigger_order("e-1"),)
        sessions[acct.name] = s
        return s

    desk = Desk(session_factory=factory)
    # The health timer is driven by hand here (refresh_health), except in the one test of it.
    window = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000, clock=clock)
    window.show()
    try:
        creds = Credentials("pub", "sec")
        failed = await desk.start([(account(ALPHA), creds),
                                   (account(BETA, EVERSTRIKE), creds)])
        assert failed == []
        window.bridge.flush()
        window.positions_model.flush()
        assert window.positions_model.rowCount() == 4
        yield Rig(desk, window, sessions, clock)
    finally:
        await shut(window, desk)


class Changes:
    def __init__(self, model: object) -> None:
        self.rows: set[int] = set()
        model.dataChanged.connect(self._on)  # type: ignore[attr-defined]

    def _on(self, top: QModelIndex | QPersistentModelIndex,
            bottom: QModelIndex | QPersistentModelIndex, roles: list[int]) -> None:
        self.rows |= set(range(top.row(), bottom.row() + 1))


def rows_of(window: MainWindow, acct: str) -> set[int]:
    m = window.positions_model
    return {m.row_of(k) for k in m.all_keys() if k.account == acct}  # type: ignore[misc]


def data(window: MainWindow, acct: str, symbol: str, col: PositionColumn, role: int) -> object:
    m = window.positions_model
    venue = QFEX if acct == ALPHA else EVERSTRIKE
    row = m.row_of(PositionKey(acct, venue, symbol))
    assert row is not None
    return m.data(m.index(row, col), role)


def click_cancel(qtbot: QtBot, window: MainWindow, ident: tuple[str, str]) -> None:
    window.bottomTabs.setCurrentWidget(window.workingOrdersView)
    view = window.workingOrdersView
    row = window.working_model.row_of(ident)
    assert row is not None
    index = window.working_model.index(row, WorkingColumn.ACTION)
    view.scrollTo(index)
    rect = view.visualRect(index)
    assert rect.isValid()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=button_rect(rect).center())


# ============================================================================ stale rows


@pytest.mark.asyncio
async def test_outage_greys_only_that_accounts_rows_until_it_reconnects(rig: Rig) -> None:
    w = rig.window
    beta = rig.sessions[BETA]
    changes = Changes(w.positions_model)
    expected = (f"Stale: Everstrike disconnected since {fmt_clock(OUTAGE_AT)} — numbers may be "
                "out of date")

    beta.say(ConnectionState.DISCONNECTED, "connection reset", at=OUTAGE_AT)
    rig.window.bridge.flush()

    assert changes.rows == rows_of(w, BETA)
    for symbol in ("USD_ETH_PERP", "USD_BTC_PERP"):
        for col in (PositionColumn.SYMBOL, PositionColumn.MARK):
            assert data(w, BETA, symbol, col, Qt.ItemDataRole.ToolTipRole) == expected
            font = data(w, BETA, symbol, col, Qt.ItemDataRole.FontRole)
            assert font.italic()  # type: ignore[attr-defined]
            brush = data(w, BETA, symbol, col, Qt.ItemDataRole.ForegroundRole)
            assert brush.color() == STALE  # type: ignore[attr-defined]
    assert data(w, ALPHA, "AAPL-USD", PositionColumn.SYMBOL, Qt.ItemDataRole.ToolTipRole) is None
    assert data(w, ALPHA, "AAPL-USD", PositionColumn.SYMBOL, Qt.ItemDataRole.FontRole) is None
    badge = w.connectionStrip.badges[BETA]
    assert badge.label.text() == f"{BETA}: disconnected"
    assert badge.property("tone") == "bad"
    assert "connection reset" in badge.toolTip()
    assert f"Disconnected since {fmt_clock(OUTAGE_AT)}" in badge.toolTip()
    assert w.connectionStrip.badges[ALPHA].property("tone") == "good"
    # The resting trigger of that account is stale too; the other account's orders are not.
    wm = w.working_model
    row = wm.row_of((BETA, "e-1"))
    assert row is not None
    assert wm.data(wm.index(row, WorkingColumn.TRIGGER), Qt.ItemDataRole.ToolTipRole) == expected

    # Retrying keeps the outage's start time, so nothing repaints.
    changes.rows.clear()
    beta.say(ConnectionState.CONNECTING, "reconnecting in 1 s", at=OUTAGE_AT + 5)
    rig.window.bridge.flush()
    assert changes.rows == set()
    assert badge.label.text() == f"{BETA}: connecting"
    assert badge.property("tone") == "warn"
    assert data(w, BETA, "USD_ETH_PERP", PositionColumn.SYMBOL,
                Qt.ItemDataRole.ToolTipRole) == expected

    beta.say(ConnectionState.CONNECTED, at=OUTAGE_AT + 9)
    rig.window.bridge.flush()
    beta.sink(PositionsSnapshot(EVERSTRIKE, BETA, beta.initial))
    rig.window.bridge.flush()
    assert changes.rows == rows_of(w, BETA)
    assert data(w, BETA, "USD_ETH_PERP", PositionColumn.SYMBOL,
                Qt.ItemDataRole.ToolTipRole) is None
    font = data(w, BETA, "USD_ETH_PERP", PositionColumn.SYMBOL, Qt.ItemDataRole.FontRole)
    assert font is None
    assert badge.label.text() == f"{BETA}: connected"
    assert badge.property("tone") == "good"
    assert "Disconnected since" not in badge.toolTip()


@pytest.mark.asyncio
async def test_failed_account_is_stale_and_red(rig: Rig) -> None:
    w = rig.window
    rig.sessions[ALPHA].say(ConnectionState.FAILED, "invalid API key", at=OUTAGE_AT)
    rig.window.bridge.flush()
    badge = w.connectionStrip.badges[ALPHA]
    assert badge.property("tone") == "bad"
    assert badge.label.text() == f"{ALPHA}: failed · invalid API key"
    tip = data(w, ALPHA, "MSFT-USD", PositionColumn.PNL, Qt.ItemDataRole.ToolTipRole)
    assert tip == (f"Stale: QFEX disconnected since {fmt_clock(OUTAGE_AT)} — numbers may be "
                   "out of date")


@pytest.mark.asyncio
async def test_a_refused_account_says_why_on_its_badge_and_stays_stale_while_retrying(
    rig: Rig,
) -> None:
    """A session the venue refuses keeps retrying: each attempt's refusal says why on the
    badge, and the account's rows stay stale (never shown as live) until it is back."""
    w = rig.window
    alpha = rig.sessions[ALPHA]
    expected = (f"Stale: QFEX disconnected since {fmt_clock(OUTAGE_AT)} — numbers may be "
                "out of date")
    badge = w.connectionStrip.badges[ALPHA]

    def stale_everywhere() -> bool:
        return all(
            data(w, ALPHA, symbol, col, Qt.ItemDataRole.ToolTipRole) == expected
            and data(w, ALPHA, symbol, col, Qt.ItemDataRole.FontRole).italic()  # type: ignore[union-attr]
            for symbol in ("AAPL-USD", "MSFT-USD")
            for col in (PositionColumn.SYMBOL, PositionColumn.QUANTITY, PositionColumn.PNL)
        )

    alpha.say(ConnectionState.DISCONNECTED, "Connection to QFEX lost; reconnecting",
              at=OUTAGE_AT)
    alpha.say(ConnectionState.FAILED, "QFEX refused the API key or signature (authenticated: "
              "false). The venue's clock is 30 s ahead of this computer's; signatures already "
              "use the venue's time, so check the key pair. Retrying in 2 s", at=OUTAGE_AT + 1)
    w.bridge.flush()
    assert badge.label.text() == f"{ALPHA}: failed · QFEX refused the API key or signature"
    assert "Retrying in 2 s" in badge.toolTip()
    assert badge.property("tone") == "bad"
    assert stale_everywhere()
    # The next attempt, refused for another reason: the badge follows, the rows stay stale.
    alpha.say(ConnectionState.CONNECTING, at=OUTAGE_AT + 3)
    w.bridge.flush()
    assert stale_everywhere()
    alpha.say(ConnectionState.FAILED, "QFEX auth failed: permission denied. Retrying in 4 s",
              at=OUTAGE_AT + 4)
    w.bridge.flush()
    assert badge.label.text() == f"{ALPHA}: failed · QFEX auth failed: permission denied"
    assert stale_everywhere()
    alpha.say(ConnectionState.CONNECTED, at=OUTAGE_AT + 9)
    w.bridge.flush()
    assert badge.label.text() == f"{ALPHA}: connected"
    assert data(w, ALPHA, "AAPL-USD", PositionColumn.SYMBOL, Qt.ItemDataRole.ToolTipRole) is None


# ============================================================================ health


@pytest.mark.asyncio
async def test_health_shows_in_the_badge_text_and_tooltip(rig: Rig) -> None:
    w = rig.window
    now = rig.clock.now
    rig.sessions[BETA].health_now = SessionHealth(
        connected=True, last_message_at=now - 3.2, rtt_ms=41.6, skew_ms=120.4,
        rate_headroom=0.87, keepalive_s=30.0)
    rig.sessions[ALPHA].health_now = SessionHealth(connected=True, last_message_at=now - 1,
                                                   skew_ms=-12.0)
    w.refresh_health()

    beta = w.connectionStrip.badges[BETA]
    assert beta.label.text() == f"{BETA}: connected · skew +120 ms"
    lines = beta.toolTip().splitlines()
    assert lines[0] == f"Everstrike — {BETA}: connected"
    assert lines[1:] == ["Last message: 3 s ago", "REST round trip: 42 ms",
                         "Clock skew: +120 ms", "Rate headroom: 87 %"]
    alpha = w.connectionStrip.badges[ALPHA]
    assert alpha.label.text() == f"{ALPHA}: connected"  # 12 ms of skew is noise
    assert "Clock skew: -12 ms" in alpha.toolTip()
    assert "REST round trip" not in alpha.toolTip()  # unknown figures are left out
    assert "Rate headroom" not in alpha.toolTip()

    rig.clock.now += 10  # figures move with the clock on the next refresh
    w.refresh_health()
    assert "Last message: 13 s ago" in beta.toolTip()


@pytest.mark.asyncio
async def test_a_silent_venue_turns_amber_stale_and_its_rows_stale(rig: Rig) -> None:
    w = rig.window
    alpha = rig.sessions[ALPHA]
    last = rig.clock.now
    alpha.health_now = SessionHealth(connected=True, last_message_at=last, keepalive_s=10.0)
    w.refresh_health()
    badge = w.connectionStrip.badges[ALPHA]
    assert badge.label.text() == f"{ALPHA}: connected"

    rig.clock.now = last + silence_limit(10.0)  # at the limit: still fine
    w.refresh_health()
    assert not badge.stale
    assert badge.property("tone") == "good"

    changes = Changes(w.positions_model)
    rig.clock.now = last + 25
    w.refresh_health()
    assert badge.stale
    assert badge.label.text() == f"{ALPHA}: stale"
    assert badge.property("tone") == "warn"
    assert "Nothing heard for 25 s; the venue's keep-alive is 10 s" in badge.toolTip()
    panel = w.healthStrip.panels[ALPHA]  # the strip says the same, figure by figure
    assert (panel.labels["state"].text(), panel.tone) == ("stale", "warn")
    rig.clock.now = last + 40  # past three keep-alive periods: red
    w.refresh_health()
    assert badge.property("tone") == "bad"
    assert (panel.labels["state"].text(), panel.tone) == ("stale", "bad")
    assert changes.rows == rows_of(w, ALPHA)
    tip = data(w, ALPHA, "AAPL-USD", PositionColumn.MARK, Qt.ItemDataRole.ToolTipRole)
    assert isinstance(tip, str)
    assert tip.startswith("Stale: QFEX silent since ")
    assert tip.endswith(" — numbers may be out of date")
    assert data(w, BETA, "USD_ETH_PERP", PositionColumn.MARK, Qt.ItemDataRole.ToolTipRole) is None

    changes.rows.clear()
    alpha.health_now = SessionHealth(connected=True, last_message_at=rig.clock.now,
                                     keepalive_s=10.0)
    w.refresh_health()
    assert not badge.stale
    assert changes.rows == rows_of(w, ALPHA)
    assert data(w, ALPHA, "AAPL-USD", PositionColumn.MARK, Qt.ItemDataRole.ToolTipRole) is None


@pytest.mark.asyncio
async def test_health_is_refreshed_by_a_timer(qapp: QApplication) -> None:
    sessions: list[FakeSession] = []

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        sessions.append(FakeSession(acct, creds, sink))
        sessions[-1].health_now = SessionHealth(connected=True)
        return sessions[-1]

    desk = Desk(session_factory=factory)
    window = MainWindow(desk)
    try:
        assert window.healthTimer.isActive()
        assert window.healthTimer.interval() == 1000  # the default: every second
        window.healthTimer.setInterval(10)  # the same timer, faster, so the test is quick
        await desk.connect(account(ALPHA), Credentials("pub", "sec"))
        badge = window.connectionStrip.badge(ALPHA, QFEX)
        sessions[0].health_now = SessionHealth(connected=True, skew_ms=-250.0)
        await until(lambda: badge.label.text() == f"{ALPHA}: connected · skew -250 ms",
                    what="the timer to show the new skew")
    finally:
        await shut(window, desk)


def test_badge_without_health_figures(qapp: QApplication) -> None:
    badge = ConnectionBadge("Solo", QFEX)
    badge.set_state(ConnectionState.CONNECTED, "")
    badge.set_health(SessionHealth(connected=True), now=100.0)
    assert badge.label.text() == "Solo: connected"
    assert badge.toolTip() == "QFEX — Solo: connected"
    assert not badge.stale
    shiboken6.delete(badge)


# ============================================================================ working orders


@pytest.mark.asyncio
async def test_working_orders_tab_lists_resting_orders_and_marks_positions(rig: Rig) -> None:
    w = rig.window
    assert w.bottomTabs.objectName() == "bottomTabs"
    assert w.bottomTabs.tabText(0) == "Order log"
    assert w.bottomTabs.tabText(1) == "Working orders (3)"
    assert w.bottomTabs.widget(1) is w.workingOrdersView
    assert w.workingOrdersView.objectName() == "workingOrdersView"
    assert w.working_model.rowCount() == 3
    assert data(w, ALPHA, "AAPL-USD", PositionColumn.ACTION,
                Qt.ItemDataRole.DisplayRole) == "Close · 2 working"
    assert data(w, ALPHA, "MSFT-USD", PositionColumn.ACTION,
                Qt.ItemDataRole.DisplayRole) == "Close"
    assert data(w, BETA, "USD_ETH_PERP", PositionColumn.ACTION,
                Qt.ItemDataRole.DisplayRole) == "Close · 1 working"
    tip = data(w, BETA, "USD_ETH_PERP", PositionColumn.ACTION, Qt.ItemDataRole.ToolTipRole)
    assert "Trigger buy 3.5 at 4400 Mark" in str(tip)

    rig.sessions[ALPHA].sink(WorkingOrderRemoved(QFEX, ALPHA, "q-1", "filled"))
    rig.window.bridge.flush()
    assert w.working_model.row_of((ALPHA, "q-1")) is None
    assert w.bottomTabs.tabText(1) == "Working orders (2)"
    assert data(w, ALPHA, "AAPL-USD", PositionColumn.ACTION,
                Qt.ItemDataRole.DisplayRole) == "Close · 1 working"


@pytest.mark.asyncio
async def test_cancel_is_sent_once_and_shows_cancelling(qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    alpha = rig.sessions[ALPHA]
    alpha.release.clear()  # the venue takes its time to answer
    ident = (ALPHA, "q-2")

    click_cancel(qtbot, w, ident)

    assert w.working_model.cancel_state(ident) is CancelState.CANCELLING
    row = w.working_model.row_of(ident)
    assert row is not None
    assert w.working_model.index(row, WorkingColumn.ACTION).data() == "Cancelling…"
    await until(lambda: len(alpha.cancelled) == 1, what="the cancel to reach the venue")

    click_cancel(qtbot, w, ident)  # a second click while the first is out
    await until(lambda: "already on its way" in w.statusBar().currentMessage(),
                what="the second click to be refused")
    assert "nothing new was sent" in w.statusBar().currentMessage()
    assert w.working_model.cancel_state(ident) is CancelState.CANCELLING
    assert [o.order_id for o in alpha.cancelled] == ["q-2"]

    alpha.release.set()
    await until(lambda: w.working_model.row_of(ident) is None, what="the row to go")
    assert [o.order_id for o in alpha.cancelled] == ["q-2"]
    assert w.bottomTabs.tabText(1) == "Working orders (2)"
    assert data(w, ALPHA, "AAPL-USD", PositionColumn.ACTION,
                Qt.ItemDataRole.DisplayRole) == "Close · 1 working"
    await rig.window.tracker.join(timeout=10)
    assert "confirmed" in w.statusBar().currentMessage()


@pytest.mark.asyncio
async def test_refused_cancel_keeps_the_row_and_says_why(qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    beta = rig.sessions[BETA]
    beta.cancel_reject = CancelRejected("The order was already triggered.", code="404")
    ident = (BETA, "e-1")

    click_cancel(qtbot, w, ident)
    await until(lambda: "refused" in w.statusBar().currentMessage(), what="the refusal")

    assert w.statusBar().currentMessage() == (
        f"Cancel of order e-1 (USD_ETH_PERP on {BETA}) refused: The order was already "
        "triggered.")
    row = w.working_model.row_of(ident)
    assert row is not None
    index = w.working_model.index(row, WorkingColumn.ACTION)
    assert index.data() == "Cancel"
    assert index.data(BUTTON_ROLE) == "Refused"
    assert "The order was already triggered." in index.data(Qt.ItemDataRole.ToolTipRole)
    assert len(beta.cancelled) == 1

    # A refused cancel can be tried again: that is a new, deliberate click, sent once more.
    beta.cancel_reject = None
    click_cancel(qtbot, w, ident)
    await until(lambda: w.working_model.row_of(ident) is None, what="the row to go")
    assert len(beta.cancelled) == 2


@pytest.mark.asyncio
async def test_a_click_the_moment_a_refusal_shows_sends_a_new_cancel(
    qtbot: QtBot, rig: Rig
) -> None:
    """The refused cancel is over by the time its refusal is on screen: a click at that very
    moment sends a new cancel, and is not told the old one is still on its way."""
    w = rig.window
    beta = rig.sessions[BETA]
    beta.cancel_reject = CancelRejected("The order was already triggered.", code="404")
    ident = (BETA, "e-1")
    retried: list[str] = []

    def click_again(message: str) -> None:
        if "refused" in message and not retried:
            retried.append(message)
            beta.cancel_reject = None
            click_cancel(qtbot, w, ident)  # inside the step that showed the refusal

    w.statusBar().messageChanged.connect(click_again)
    click_cancel(qtbot, w, ident)
    await until(lambda: w.working_model.row_of(ident) is None, what="the row to go")
    assert len(beta.cancelled) == 2
    assert "already on its way" not in w.statusBar().currentMessage()


@pytest.mark.asyncio
async def test_cancel_while_disconnected_is_refused_and_nothing_sent(
    qtbot: QtBot, rig: Rig
) -> None:
    w = rig.window
    alpha = rig.sessions[ALPHA]
    await alpha.stop()
    click_cancel(qtbot, w, (ALPHA, "q-1"))
    await until(lambda: "refused" in w.statusBar().currentMessage(), what="the refusal")
    assert "not connected; nothing was sent" in w.statusBar().currentMessage()
    assert alpha.cancelled == []
    assert w.working_model.row_of((ALPHA, "q-1")) is not None


@pytest.mark.asyncio
async def test_cancel_already_on_its_way_from_elsewhere_sends_nothing(
    qtbot: QtBot, rig: Rig
) -> None:
    """Another caller of the desk is cancelling the order: the click gets CancelPending from
    the desk, sends nothing, and the button does not claim a cancel it cannot follow."""
    w = rig.window
    alpha = rig.sessions[ALPHA]
    alpha.release.clear()
    ident = (ALPHA, "q-1")
    order = rig.desk.working_orders[ident]
    other = asyncio.ensure_future(rig.desk.cancel(order, reason="another caller"))
    await until(lambda: rig.desk.cancelling(order), what="the other cancel to start")

    click_cancel(qtbot, w, ident)
    await until(lambda: "already on its way" in w.statusBar().currentMessage(),
                what="the desk's CancelPending")
    await w.tracker.join(timeout=10)
    assert w.working_model.cancel_state(ident) is CancelState.IDLE
    assert len(alpha.cancelled) == 1

    alpha.release.set()
    await other
    assert w.working_model.row_of(ident) is None
    assert len(alpha.cancelled) == 1
