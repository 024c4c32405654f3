"""Alerts and the tray icon through the real window: a real desk and real sessions against
the simulator over loopback, the alerts caught by a recording notifier."""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QSystemTrayIcon, QWidget
from pytestqt.qtbot import QtBot

from core.alerts import Alert, AlertKind
from core.demo import demo_account_name, demo_accounts
from core.desk import Desk, IntentState
from core.flatten import FlattenReport, Outcome
from core.journal import Journal
from core.model import CloseRequest, PositionKey, Trigger
from core.numbers import trimmed
from core.settings import Alerts
from core.sim import Simulator
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.controllers.flatten import FlattenController, install_flatten
from gui.controllers.notifier import DesktopNotifier
from gui.dialogs.close import CloseDialog
from gui.dialogs.flatten import FlattenPlanDialog
from gui.main_window import MainWindow
from gui.models import PositionColumn
from gui.widgets import button_rect
from gui.widgets.tray import ConnectionTray, TrayState
from tests.helpers.alerts import RecordingNotifier
from tests.helpers.polling import market_data, until
from tests.helpers.windows import dispose, shut

D = Decimal
LEFT = Qt.MouseButton.LeftButton
QFEX_DEMO_ACCOUNT = demo_account_name(QFEX)
EVERSTRIKE_DEMO_ACCOUNT = demo_account_name(EVERSTRIKE)
MSFT = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "MSFT-USD")  # 6 short
AAPL = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "AAPL-USD")  # 25 long
DEMO_POSITIONS = 16  # 8 per venue (core/sim/demo.py)


@dataclass
class App:
    sim: Simulator
    desk: Desk
    window: MainWindow
    journal: Journal
    flatten: FlattenController
    notifier: RecordingNotifier
    tray_states: list[str]

    @property
    def alerts(self) -> list[Alert]:
        return self.notifier.alerts

    def records(self, kind: str) -> list[str]:
        self.journal.flush()
        return [r.payload for r in self.journal.records(limit=100_000) if r.kind == kind]

    async def settle(self) -> None:
        """Everything the desk said so far has reached the window (and its alerts)."""
        await self.desk.journaled()
        self.window.bridge.flush()


@contextlib.asynccontextmanager
async def running_app() -> AsyncIterator[App]:
    sim = Simulator(tick_interval=None)
    info = sim.start()
    journal = Journal(":memory:")
    desk = Desk(journal=journal)
    window = MainWindow(desk, demo=True, coalesce_ms=20)
    notifier = RecordingNotifier()
    window.alerts.notifier = notifier
    states: list[str] = []
    window.alerts.tray.stateChanged.connect(states.append)
    window.show()
    flatten = install_flatten(window)
    try:
        assert await desk.start(demo_accounts(info)) == []
        await until(lambda: len(window.positions_model.all_keys()) == DEMO_POSITIONS,
                    what="every demo position in the window")
        await market_data(desk)
        yield App(sim, desk, window, journal, flatten, notifier, states)
    finally:
        await shut(window, desk)
        sim.stop()
        journal.close()


def click_close(qtbot: QtBot, w: MainWindow, key: PositionKey) -> CloseDialog:
    view = w.positionsView
    index = w.proxy_index(key, PositionColumn.ACTION)
    assert index.isValid(), f"no row for {key}"
    view.scrollTo(index)
    qtbot.mouseClick(view.viewport(), LEFT, pos=button_rect(view.visualRect(index)).center())
    dialog = w.dialogs.get(key)
    assert dialog is not None, "the Close button did not open the dialog"
    return dialog


async def send(qtbot: QtBot, dialog: CloseDialog) -> None:
    qtbot.mouseClick(dialog.sendButton, LEFT)
    if dialog.confirming:
        qtbot.mouseClick(dialog.confirmButton, LEFT)
    assert dialog.task is not None, dialog.validationMessage.text()
    await dialog.task


# ============================================================================ closes


@pytest.mark.asyncio
async def test_a_close_that_fills_raises_one_alert_even_when_the_venue_repeats_itself(
    qtbot: QtBot, qapp: QApplication, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="gui.controllers.alerts")
    async with running_app() as app:
        assert app.window.alerts.tray.toolTip() == "Closeout — 2 of 2 accounts connected"
        app.sim.qfex.faults.duplicate = True  # every order frame twice
        await send(qtbot, click_close(qtbot, app.window, MSFT))
        await until(lambda: app.alerts, what="the alert")
        # The repeats reached the desk and were journaled as duplicates; nothing more shows.
        await until(lambda: app.records("duplicate"), what="a duplicate journaled")
        await app.settle()
        intent = app.desk.latest_intent(MSFT)
        assert intent is not None and intent.verified_flat is True
        assert app.alerts == [Alert(
            AlertKind.CLOSE_FILLED, "Closed: MSFT-USD",
            f"Close of MSFT-USD on {QFEX_DEMO_ACCOUNT} filled: 6 closed, verified flat.")]
        logged = [r.getMessage() for r in caplog.records if r.name == "gui.controllers.alerts"]
        assert logged == [f"alert close_filled: Closed: MSFT-USD — {app.alerts[0].text}"]


@pytest.mark.asyncio
async def test_a_rejected_close_raises_one_alert(qtbot: QtBot, qapp: QApplication) -> None:
    async with running_app() as app:
        app.sim.qfex.faults.force_status("FAILED_MARGIN_CHECK")
        await send(qtbot, click_close(qtbot, app.window, AAPL))
        intent = app.desk.latest_intent(AAPL)
        await until(lambda: intent is not None and intent.state is IntentState.REJECTED,
                    what="the rejection")
        await app.settle()
        assert intent is not None
        [alert] = app.alerts
        assert alert.kind is AlertKind.ORDER_REJECTED
        assert alert.title == "Rejected: AAPL-USD"
        assert alert.text == f"Close of AAPL-USD on {QFEX_DEMO_ACCOUNT} rejected: {intent.message}"
        assert "FAILED_MARGIN_CHECK" in alert.text or "margin" in alert.text.lower()


@pytest.mark.asyncio
async def test_a_kind_turned_off_raises_nothing_and_sound_follows_the_setting(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app() as app:
        app.window.alerts.set_settings(Alerts(close_filled=False, sound=True))
        await send(qtbot, click_close(qtbot, app.window, MSFT))
        app.sim.qfex.faults.force_status("FAILED_MARGIN_CHECK")
        await send(qtbot, click_close(qtbot, app.window, AAPL))
        await until(lambda: app.alerts, what="the rejection's alert")
        await until(lambda: (i := app.desk.latest_intent(MSFT)) is not None
                    and i.verified_flat is True, what="MSFT verified flat")
        await app.settle()
        assert [(a.kind, a.sound) for a in app.alerts] == [(AlertKind.ORDER_REJECTED, True)]


@pytest.mark.asyncio
async def test_a_trigger_that_fires_raises_its_alert_then_the_fill_its_own(
    qapp: QApplication
) -> None:
    async with running_app() as app:
        mark = app.desk.mark(QFEX, "AAPL-USD")
        assert mark is not None and mark.mark is not None
        stop = (mark.mark - 5).quantize(D("0.01"))
        position = app.desk.positions[AAPL]
        intent = await app.desk.close(CloseRequest(AAPL, position.side, position.quantity,
                                                   trigger=Trigger(stop)))
        await until(lambda: intent.state is IntentState.RESTING, what="the trigger resting")
        await app.settle()
        assert app.alerts == []  # resting is no news
        market = app.sim.qfex.market
        await app.sim.acall(lambda: market.set_mark("AAPL-USD", stop - 1))
        await until(lambda: intent.verified_flat is True, what="the stop filled and flat")
        await app.settle()
        fired, filled = app.alerts
        assert fired == Alert(AlertKind.TRIGGER_FIRED, "Trigger fired: AAPL-USD",
                              f"The trigger close of AAPL-USD on {QFEX_DEMO_ACCOUNT} fired at "
                              f"{trimmed(stop)}.")
        assert filled.kind is AlertKind.CLOSE_FILLED
        assert filled.text == (f"Close of AAPL-USD on {QFEX_DEMO_ACCOUNT} filled: 25 closed, "
                               "verified flat.")


# ============================================================================ connections


@pytest.mark.asyncio
async def test_a_dropped_connection_raises_one_alert_and_turns_the_tray_amber(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app() as app:
        tray = app.window.alerts.tray
        assert tray.state is TrayState.ALL_CONNECTED
        app.tray_states.clear()  # what it went through while the accounts connected
        app.sim.qfex.faults.drop_next(1, execute=False)  # the socket dies on the next close
        dialog = click_close(qtbot, app.window, MSFT)
        dialog.quantityInput.setText("1")
        await send(qtbot, dialog)
        await until(lambda: AlertKind.CONNECTION_RESTORED in app.notifier.kinds(),
                    what="the connection back")
        await until(lambda: tray.state is TrayState.ALL_CONNECTED, what="the tray back")
        await app.settle()
        lost, back = app.alerts
        assert lost.kind is AlertKind.CONNECTION_LOST and not lost.quiet
        assert lost.title == f"Connection lost: {QFEX_DEMO_ACCOUNT}"
        assert lost.text.startswith(f"QFEX account {QFEX_DEMO_ACCOUNT} disconnected")
        assert back.kind is AlertKind.CONNECTION_RESTORED and back.quiet
        # The tray went amber (one of two down) and back; its tooltip says how many are up.
        assert app.tray_states == [TrayState.SOME_DOWN.value, TrayState.ALL_CONNECTED.value]
        assert tray.toolTip() == "Closeout — 2 of 2 accounts connected"


# ============================================================================ flatten


@pytest.mark.asyncio
async def test_a_flatten_of_every_position_raises_one_summary_with_exact_counts(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app() as app:
        faults = app.sim.qfex.faults
        faults.force_status("FAILED_MARGIN_CHECK", symbol="MSFT-USD")
        faults.force_status("FAILED_MARGIN_CHECK", symbol="AAPL-USD")
        keys = app.window.positions_model.all_keys()
        app.flatten.select(keys)
        app.flatten.selectedAction.trigger()
        [dialog] = app.flatten.dialogs
        plan = dialog.plan
        assert plan is not None and len(plan.items) == DEMO_POSITIONS
        report = await confirm_and_run(qtbot, dialog)
        await app.settle()
        # One alert for the whole flatten, not one per close.
        [summary] = app.alerts
        assert summary.kind is AlertKind.SUMMARY and summary.group == plan.id
        assert summary.title == f"Flatten {plan.id}"
        # Its counts are the report's outcomes, each close counted once: flat, left with a
        # residual (a thin book at the simulator), or rejected.
        outcomes = Counter(i.outcome for i in report.items)
        flat, residual = outcomes[Outcome.CLOSED_VERIFIED_FLAT], outcomes[Outcome.RESIDUAL]
        assert {i.key for i in report.items if i.outcome is Outcome.REJECTED} == {AAPL, MSFT}
        assert flat + residual + 2 == DEMO_POSITIONS and flat >= 10
        expected = [(AlertKind.CLOSE_FILLED, flat), (AlertKind.FLAT_CHECK_FAILED, residual),
                    (AlertKind.ORDER_REJECTED, 2)]
        assert summary.counts == tuple((k, n) for k, n in expected if n)
        not_flat = f"{residual} not flat, " if residual else ""
        assert summary.text == f"Flatten {plan.id}: {flat} closed, {not_flat}2 rejected."
        # A close after the flatten is alerted on its own again.
        app.sim.qfex.faults.force_status("FAILED_MARGIN_CHECK")
        await send(qtbot, click_close(qtbot, app.window, AAPL))
        await until(lambda: len(app.alerts) == 2, what="the next close's own alert")
        assert app.alerts[1].kind is AlertKind.ORDER_REJECTED


async def confirm_and_run(qtbot: QtBot, dialog: FlattenPlanDialog) -> FlattenReport:
    """Execute, then Confirm; wait for the report."""
    qtbot.mouseClick(dialog.executeButton, LEFT)
    qtbot.mouseClick(dialog.executeButton, LEFT)
    assert dialog.task is not None
    await dialog.task
    assert dialog.report is not None
    return dialog.report


# ============================================================================ where alerts go


@pytest.mark.asyncio
async def test_without_a_tray_an_alert_shows_beside_the_outcome_and_beeps_when_asked(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app() as app:
        beeps: list[None] = []
        alerts = app.window.alerts
        tray, notice = alerts.tray, alerts.notice
        assert not QSystemTrayIcon.isSystemTrayAvailable()  # offscreen: no tray
        assert not tray.isVisible() and not notice.isVisible()
        notifier = DesktopNotifier(tray, notice, beep=lambda: beeps.append(None))
        alerts.notifier = notifier
        alerts.set_settings(Alerts(sound=True))
        await send(qtbot, click_close(qtbot, app.window, MSFT))
        await until(lambda: beeps, what="the alert's beep")
        await app.settle()
        assert notice.isVisible() and notice.text() == "Alert: Closed: MSFT-USD"
        assert notice.toolTip() == (f"Closed: MSFT-USD\nClose of MSFT-USD on {QFEX_DEMO_ACCOUNT} "
                                    "filled: 6 closed, verified flat.")
        # The outcome is the window's own line, not covered by the alert.
        assert app.window.statusBar().currentMessage() == \
            f"MSFT-USD on {QFEX_DEMO_ACCOUNT}: closed and verified flat."
        assert len(beeps) == 1 and notifier.popups == 0
        # A quiet one (a connection back) shows there too, without a sound.
        back = Alert(AlertKind.CONNECTION_RESTORED, "Connection restored: X", "back", quiet=True)
        alerts.offer([back])
        assert notice.latest == back and len(beeps) == 1
        assert [line.split("  ", 1)[1] for line in notice.recent_lines()] == [
            "Connection restored: X — back",
            f"Closed: MSFT-USD — Close of MSFT-USD on {QFEX_DEMO_ACCOUNT} filled: 6 closed, "
            "verified flat."]


@pytest.mark.asyncio
async def test_the_tray_menu_shows_the_window_and_quits_through_its_quit_path(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app() as app:
        tray = app.window.alerts.tray
        menu = tray.contextMenu()
        assert menu is not None
        assert [a.text() for a in menu.actions() if not a.isSeparator()] == [
            "&Show window", "&Quit"]
        app.window.showMinimized()
        tray.showAction.trigger()
        assert not app.window.isMinimized()
        quits: list[str] = []
        app.window.quitAction.triggered.connect(lambda *_: quits.append("quit"))
        app.window.quitting.confirmed = True  # the window's own question is not under test
        tray.quitAction.trigger()
        assert quits == ["quit"] and not app.window.isVisible()


@pytest.mark.parametrize(("up", "total", "state", "tip"), [
    (0, 0, TrayState.NO_ACCOUNTS, "Closeout — no accounts"),
    (1, 1, TrayState.ALL_CONNECTED, "Closeout — 1 of 1 account connected"),
    (3, 4, TrayState.SOME_DOWN, "Closeout — 3 of 4 accounts connected"),
    (0, 4, TrayState.ALL_DOWN, "Closeout — 0 of 4 accounts connected"),
])
def test_the_tray_says_how_many_accounts_are_connected(
    qapp: QApplication, up: int, total: int, state: TrayState, tip: str
) -> None:
    owner = QWidget()
    try:
        tray = ConnectionTray(owner, QIcon())
        seen: list[str] = []
        tray.stateChanged.connect(seen.append)
        tray.set_counts(up, total)
        assert (tray.state, tray.toolTip()) == (state, tip)
        assert seen == ([] if state is TrayState.NO_ACCOUNTS else [state.value])
        # Each state has its own picture: the dot's colour differs.
        images = {s: tray._icons[s].pixmap(64, 64).toImage() for s in TrayState}
        assert len({img.pixel(47, 47) for img in images.values()}) == len(TrayState)
    finally:
        dispose(owner)


@pytest.mark.asyncio
async def test_a_burst_shows_a_few_and_its_summary_is_not_lost_when_the_window_closes(
    qapp: QApplication
) -> None:
    async with running_app() as app:
        alerts = app.window.alerts
        burst = [Alert(AlertKind.CLOSE_FILLED, f"Closed: S{n}", "text") for n in range(5)]
        burst.append(Alert(AlertKind.ORDER_REJECTED, "Rejected: S5", "text"))
        alerts.offer(burst)
        assert app.alerts == burst[:3]
        assert alerts.limiter.pending and alerts.timer.isActive()  # the summary's check
        app.window.quitting.confirmed = True
        app.window.close()
        assert app.alerts[3:] == [Alert(
            AlertKind.SUMMARY, "3 more alerts", "3 more alerts: 2 closed, 1 rejected.",
            counts=((AlertKind.CLOSE_FILLED, 2), (AlertKind.ORDER_REJECTED, 1)))]
        assert not alerts.timer.isActive()
