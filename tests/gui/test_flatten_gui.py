"""The Flatten menu, plan dialog, progress and report against the real simulator, real sessions
and a real desk over loopback. What reached the venues comes from the simulator's own log."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from cli.flatten_text import report_text
from core.demo import demo_account_name, demo_accounts
from core.desk import Desk
from core.flatten import (
    FlattenPlan,
    FlattenReport,
    FlattenScope,
    ItemState,
    Outcome,
    Phase,
    PlanItem,
)
from core.journal import Journal
from core.model import (
    CloseRequest,
    Environment,
    OrderSide,
    Position,
    PositionKey,
    PositionSide,
    Trigger,
    Venue,
    WorkingKind,
    WorkingOrder,
)
from core.sim import Received, Simulator
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.controllers.flatten import FlattenController, install_flatten
from gui.dialogs.flatten import (
    FlattenPlanDialog,
    export_report,
    plan_detail,
    report_headline,
    report_totals_text,
)
from gui.dialogs.flatten.models import ItemColumn, PlanColumn, PlanModel, RunModel
from gui.main_window import MainWindow
from gui.models import ENV_ROLE, KEY_ROLE
from tests.helpers.polling import market_data, until
from tests.helpers.windows import shut

D = Decimal
QFEX_DEMO_ACCOUNT = demo_account_name(QFEX)
EVERSTRIKE_DEMO_ACCOUNT = demo_account_name(EVERSTRIKE)
AAPL = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "AAPL-USD")  # 25 long
MSFT = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "MSFT-USD")  # 6 short
ETH = PositionKey(EVERSTRIKE_DEMO_ACCOUNT, EVERSTRIKE, "USD_ETH_PERP")  # 3.5 short
DEMO_POSITIONS = 16  # 8 per venue (core/sim/demo.py)
LEFT = Qt.MouseButton.LeftButton


@dataclass
class App:
    sim: Simulator
    desk: Desk
    window: MainWindow
    journal: Journal
    flatten: FlattenController

    def closes(self, venue: Venue) -> list[Received]:
        return self.sim.requests(venue.value, kind="close")

    def cancels(self, venue: Venue) -> list[Received]:
        return self.sim.requests(venue.value, kind="cancel")

    def records(self, kind: str) -> list[str]:
        self.journal.flush()  # what the window did is durable once flushed
        return [r.payload for r in self.journal.records(limit=100_000) if r.kind == kind]


@contextlib.asynccontextmanager
async def running_app(
    *, live_qfex: bool = False, concurrency: Mapping[Venue, int] | None = None
) -> AsyncIterator[App]:
    """The window over a real desk on the simulator's demo accounts, with Flatten installed."""
    sim = Simulator(tick_interval=None)
    info = sim.start()
    journal = Journal(":memory:")
    desk = Desk(journal=journal)
    window = MainWindow(desk, demo=not live_qfex, coalesce_ms=20)
    window.show()
    flatten = install_flatten(window, concurrency=concurrency)
    accounts = demo_accounts(info)
    if live_qfex:
        accounts = [(replace(a, environment=Environment.LIVE) if a.venue is QFEX else a, c)
                    for a, c in accounts]
    try:
        assert await desk.start(accounts) == []
        await until(lambda: len(window.positions_model.all_keys()) == DEMO_POSITIONS,
                    what="every demo position in the window")
        await market_data(desk)
        yield App(sim, desk, window, journal, flatten)
    finally:
        await shut(window, desk)
        sim.stop()
        journal.close()


def plan_keys(dialog: FlattenPlanDialog) -> set[PositionKey]:
    assert dialog.plan is not None
    return {i.key for i in dialog.plan.items}


def column(model: RunModel | PlanModel, col: int) -> list[str]:
    return [model.index(r, col).data() for r in range(model.rowCount())]


async def confirm_and_run(qtbot: QtBot, dialog: FlattenPlanDialog) -> FlattenReport:
    """The one-step confirmation: Execute, then Confirm; wait for the report."""
    qtbot.mouseClick(dialog.executeButton, LEFT)
    assert dialog.executeButton.text().startswith("Confirm — send ")
    assert dialog.task is None
    qtbot.mouseClick(dialog.executeButton, LEFT)
    assert dialog.task is not None
    assert dialog.pages.currentWidget() is dialog.progressPage
    await dialog.task
    assert dialog.report is not None
    return dialog.report


# ============================================================================ menu


@pytest.mark.asyncio
async def test_flatten_menu_and_multi_row_selection(qapp: QApplication) -> None:
    async with running_app() as app:
        f = app.flatten
        menus = [a.menu() for a in app.window.menuBar().actions() if a.menu() is not None]
        assert f.menu in menus
        assert [a.text() for a in f.menu.actions() if not a.isSeparator()] == [
            "Flatten &selected rows…", "Flatten &account…", "Flatten &venue…",
            "Flatten &everything…"]
        view = app.window.positionsView
        assert view.selectionMode() is QAbstractItemView.SelectionMode.ExtendedSelection
        f.select([AAPL, ETH])
        assert set(f.selected_keys()) == {AAPL, ETH}
        f._refresh_actions()
        assert f.selectedAction.text() == "Flatten &selected rows (2)…"
        # Nothing selected: the menu entry explains instead of opening an empty plan.
        view.clearSelection()
        assert f.flatten_selected() is None
        assert "Select the rows to flatten first" in app.window.statusBar().currentMessage()
        assert app.records("flatten_plan") == []


# ============================================================================ confirming


@pytest.mark.asyncio
async def test_everything_needs_the_exact_word_and_a_wrong_word_sends_nothing(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app() as app:
        app.flatten.everythingAction.trigger()
        [dialog] = app.flatten.dialogs
        assert dialog.objectName() == "flattenPlanDialog" and dialog.isVisible()
        plan = dialog.plan
        assert plan is not None and len(plan.items) == DEMO_POSITIONS
        assert plan.requires_typed_confirmation and plan.confirmation_word == "FLATTEN"
        assert dialog.confirmationInput.isVisible()
        assert dialog.confirmationPrompt.text() == "Type FLATTEN to confirm"
        assert not dialog.executeButton.isEnabled()

        for wrong in ("flatten", "FLATTEN LIVE", "FLAT TEN", "FLATTEN!", "FLATTE"):
            dialog.confirmationInput.clear()
            qtbot.keyClicks(dialog.confirmationInput, wrong)
            assert dialog.confirmationInput.text() == wrong
            assert not dialog.executeButton.isEnabled(), wrong
            qtbot.mouseClick(dialog.executeButton, LEFT)
            qtbot.keyClick(dialog.confirmationInput, Qt.Key.Key_Return)
            dialog.execute_clicked()  # the slot itself refuses too
            assert dialog.task is None
            assert dialog.pages.currentWidget() is dialog.planPage
        dialog.confirmationInput.clear()
        qtbot.keyClicks(dialog.confirmationInput, "FLATTEN")
        assert dialog.executeButton.isEnabled()  # the gate opens on the exact word only
        dialog.confirmationInput.clear()
        assert not dialog.executeButton.isEnabled()

        qtbot.mouseClick(dialog.closeButton, LEFT)
        assert not dialog.isVisible()
        assert app.closes(QFEX) == [] and app.closes(EVERSTRIKE) == []
        assert app.records("flatten_start") == []
        assert len(app.desk.positions) == DEMO_POSITIONS


@pytest.mark.asyncio
async def test_a_live_account_needs_flatten_live_typed(qtbot: QtBot, qapp: QApplication) -> None:
    async with running_app(live_qfex=True) as app:
        app.flatten.select([AAPL, ETH])
        app.flatten.selectedAction.trigger()
        [dialog] = app.flatten.dialogs
        assert plan_keys(dialog) == {AAPL, ETH}
        assert dialog.confirmationPrompt.text() == "Type FLATTEN LIVE to confirm"
        assert f"LIVE accounts are in this plan ({QFEX_DEMO_ACCOUNT})" in \
            dialog.confirmationWhy.text()
        row = dialog.planModel.index(0 if dialog.planModel.key_at(0) == AAPL else 1,
                                     PlanColumn.ENV)
        assert (row.data(), row.data(ENV_ROLE)) == ("LIVE", "live")
        qtbot.keyClicks(dialog.confirmationInput, "FLATTEN")
        assert not dialog.executeButton.isEnabled()
        qtbot.keyClicks(dialog.confirmationInput, " LIVE")
        assert dialog.executeButton.isEnabled()
        assert app.closes(QFEX) == []

        qtbot.mouseClick(dialog.executeButton, LEFT)  # the typed word was the confirmation
        assert dialog.task is not None
        await dialog.task
        assert dialog.report is not None and dialog.report.all_flat, report_text(dialog.report)
        assert len(app.closes(QFEX)) == len(app.closes(EVERSTRIKE)) == 1


# ============================================================================ end to end


@pytest.mark.asyncio
async def test_selected_rows_plan_confirm_progress_report(
    qtbot: QtBot, qapp: QApplication, tmp_path: Path
) -> None:
    async with running_app() as app:
        app.flatten.select([AAPL, MSFT, ETH])
        app.flatten.selectedAction.trigger()
        [dialog] = app.flatten.dialogs
        plan = dialog.plan
        assert plan is not None and plan_keys(dialog) == {AAPL, MSFT, ETH}
        assert not plan.requires_typed_confirmation
        assert not dialog.confirmationInput.isVisible()
        assert dialog.planIdLabel.text() == f"Plan {plan.id}"
        assert dialog.planSummary.text().startswith(
            "3 positions to close on 2 accounts across 2 venues · 0 resting orders")
        assert set(column(dialog.planModel, PlanColumn.SYMBOL)) == {
            "AAPL-USD", "MSFT-USD", "USD_ETH_PERP"}
        assert column(dialog.planModel, PlanColumn.MECHANISM).count("QFEX close_position") == 2
        # Every row's exact (redacted) request is one click away.
        for row, item in enumerate(plan.items):
            dialog.planTable.selectRow(row)
            assert dialog.requestDetail.toPlainText() == plan_detail(item)
            assert item.preview.splitlines()[0] in dialog.requestDetail.toPlainText()
        assert json.loads(app.records("flatten_plan")[0])["plan_id"] == plan.id

        changes: list[tuple[int, int, int, int]] = []
        dialog.runModel.dataChanged.connect(
            lambda tl, br, roles: changes.append((tl.row(), tl.column(), br.row(), br.column())))
        report = await confirm_and_run(qtbot, dialog)

        assert report.all_flat, report_text(report)
        assert dialog.pages.currentWidget() is dialog.reportPage
        assert dialog.reportPage.objectName() == "flattenReport"
        assert dialog.progressPage.objectName() == "flattenProgress"
        assert dialog.reportHeadline.text() == "All 3 positions flat."
        assert dialog.reportTotals.text() == "3 closed and verified flat"
        assert column(dialog.reportModel, ItemColumn.STATE) == ["Closed, verified flat"] * 3
        assert column(dialog.reportModel, ItemColumn.SENT) == ["sent"] * 3
        assert not dialog.retryButton.isEnabled()
        # The progress list updated live, one changed cell at a time, never the fixed columns.
        assert (dialog.progressBar.value(), dialog.progressBar.maximum()) == (3, 3)
        assert column(dialog.runModel, ItemColumn.STATE) == ["Closed, verified flat"] * 3
        assert changes and all(r0 == r1 and c0 == c1 for r0, c0, r1, c1 in changes)
        touched = {c for _, c, _, _ in changes}
        assert {ItemColumn.STATE, ItemColumn.SENT} <= touched
        assert not touched & {ItemColumn.VENUE, ItemColumn.ACCOUNT, ItemColumn.SYMBOL,
                              ItemColumn.SIDE, ItemColumn.ENV}
        # What the venues saw: one close per position, nothing else.
        assert len(app.closes(QFEX)) == 2 and len(app.closes(EVERSTRIKE)) == 1
        assert {AAPL, MSFT, ETH}.isdisjoint(app.desk.positions)
        await until(lambda: all(app.window.positions_model.row_of(k) is None
                                for k in (AAPL, MSFT, ETH)), what="the rows to go")
        assert json.loads(app.records("flatten_report")[0])["plan_id"] == plan.id
        assert plan.id in app.window.statusBar().currentMessage()

        # Export, from the report's own handler.
        assert dialog.export_to(tmp_path / "report.json")
        saved = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
        assert saved["plan_id"] == plan.id and saved["totals"] == {"closed_verified_flat": 3}
        assert dialog.reportMessage.text() == f"Saved {tmp_path / 'report.json'}"
        assert not dialog.export_to(tmp_path / "no-such-dir" / "report.json")
        assert dialog.reportMessage.text().startswith("Could not save ")


@pytest.mark.asyncio
async def test_a_plan_with_resting_orders_cancels_them_first(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app() as app:
        desk = app.desk
        # Resting triggers on the losing side of each mark: they cannot fire now.
        for key, trigger in ((AAPL, D(150)), (ETH, D(6000))):
            pos = desk.positions[key]
            intent = await desk.close(CloseRequest(key, pos.side, pos.quantity,
                                                   trigger=Trigger(trigger)))
            await intent.settled()
        await until(lambda: desk.working_for(AAPL) and desk.working_for(ETH),
                    what="both resting triggers")
        resting = {o.order_id for o in [*desk.working_for(AAPL), *desk.working_for(ETH)]}

        dialog = app.flatten.flatten_selected([AAPL, ETH, MSFT])
        assert dialog is not None and dialog.plan is not None
        assert "2 resting orders to cancel first" in dialog.planSummary.text()
        by_symbol = {dialog.planModel.index(r, PlanColumn.SYMBOL).data(): r
                     for r in range(dialog.planModel.rowCount())}
        cancels = dialog.planModel.index(by_symbol["AAPL-USD"], PlanColumn.CANCELS)
        assert cancels.data() == "1"
        assert "Cancel trigger order" in cancels.data(Qt.ItemDataRole.ToolTipRole)
        assert dialog.planModel.index(by_symbol["MSFT-USD"], PlanColumn.CANCELS).data() == ""
        dialog.planTable.selectRow(by_symbol["AAPL-USD"])
        detail = dialog.requestDetail.toPlainText()
        assert detail.index("1. Cancel first (1 resting order):") < detail.index(
            "2. Then close: QFEX close_position")
        assert '"cancel_stop_order"' in detail and detail.index('"cancel_stop_order"') < \
            detail.index('"close_position"')

        report = await confirm_and_run(qtbot, dialog)
        assert report.all_flat, report_text(report)
        assert desk.working_orders == {}
        assert {o for i in report.items for o in i.cancelled_orders} == resting

    # At each venue the cancel arrived before that position's close.
    for venue in (QFEX, EVERSTRIKE):
        log = app.sim.requests(venue.value)
        [cancel] = app.cancels(venue)
        symbol = "AAPL-USD" if venue is QFEX else "USD_ETH_PERP"
        # The trigger we rested first, then the flatten's own close.
        rested, close = [r for r in app.closes(venue) if symbol in r.body]
        assert log.index(rested) < log.index(cancel) < log.index(close)


@pytest.mark.asyncio
async def test_setup_changes_mark_the_plan_stale_and_only_rebuild_journals(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app() as app:
        pos = app.desk.positions[AAPL]
        await (await app.desk.close(CloseRequest(AAPL, pos.side, pos.quantity,
                                                 trigger=Trigger(D(150))))).settled()
        await until(lambda: app.desk.working_for(AAPL), what="the resting trigger")
        # From the menu an account plan waits for the user: nothing is built or journaled.
        app.flatten.accountAction.trigger()
        [dialog] = app.flatten.dialogs
        assert dialog.plan is None and not dialog.executeButton.isEnabled()
        assert dialog.accountInput.isVisible()
        assert app.records("flatten_plan") == []
        dialog.accountInput.setCurrentIndex(dialog.accountInput.findData(QFEX_DEMO_ACCOUNT))
        assert [dialog.symbolFilter.itemText(i) for i in range(dialog.symbolFilter.count())][:3] \
            == ["All symbols", "AAPL-USD", "CL-USD"]
        qtbot.mouseClick(dialog.buildButton, LEFT)
        assert dialog.plan is not None and len(app.records("flatten_plan")) == 1
        assert {k.account for k in plan_keys(dialog)} == {QFEX_DEMO_ACCOUNT}
        assert len(plan_keys(dialog)) == 8 and dialog.plan.cancel_count == 1

        qtbot.mouseClick(dialog.executeButton, LEFT)  # armed ...
        dialog.sideFilter.setCurrentIndex(dialog.sideFilter.findText("Short only"))
        dialog.reasonInput.setText("T-1")
        dialog.cancelRestingInput.setChecked(False)
        # ... and disarmed by the change: the shown plan is out of date, so nothing can run.
        assert not dialog.executeButton.isEnabled()
        assert dialog.executeButton.text() == "Execute"
        assert dialog.planMessage.text().startswith("What to flatten changed: Rebuild plan")
        assert dialog.buildButton.text() == "Rebuild plan"
        assert len(app.records("flatten_plan")) == 1

        qtbot.mouseClick(dialog.buildButton, LEFT)
        plan = dialog.plan
        assert plan is not None and len(app.records("flatten_plan")) == 2
        assert {i.side for i in plan.items} == {PositionSide.SHORT}
        assert plan.reason == "T-1" and plan.cancel_count == 0 and not plan.cancel_resting
        assert "resting orders are left alone" in dialog.planSummary.text()
        assert dialog.executeButton.isEnabled()
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        assert not dialog.isVisible()
        assert app.closes(QFEX)[1:] == []  # only the trigger we rested earlier


@pytest.mark.asyncio
async def test_venue_scope_and_missing_keys(qtbot: QtBot, qapp: QApplication) -> None:
    async with running_app() as app:
        dialog = app.flatten.flatten_venue(EVERSTRIKE)
        assert dialog is not None and dialog.venueInput.isVisible()
        assert {k.venue for k in plan_keys(dialog)} == {EVERSTRIKE}
        assert len(plan_keys(dialog)) == 8
        dialog.reject()

        gone = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "GONE-USD")
        dialog = app.flatten.flatten_selected([AAPL, gone])
        assert dialog is not None and dialog.plan is not None
        assert dialog.plan.missing == (gone,)
        assert dialog.planModel.rowCount() == 2 and dialog.planModel.is_missing(1)
        assert dialog.planModel.index(1, PlanColumn.MECHANISM).data() == \
            "Not open: nothing to send"
        assert dialog.planModel.index(1, 0).data(KEY_ROLE) == gone
        assert "1 selected no longer open (nothing to do)" in dialog.planSummary.text()
        dialog.planTable.selectRow(1)
        assert "not open when the plan was built" in dialog.requestDetail.toPlainText()


# ============================================================================ stopping


@pytest.mark.asyncio
async def test_stop_in_the_middle_reports_sent_and_not_sent(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app(concurrency={QFEX: 1, EVERSTRIKE: 1}) as app:
        # Replies take 0.1 s and go one at a time per venue, so the 16 closes take over a
        # second: the run is still going at Stop even if a busy machine pauses the test.
        # QFEX's position pulses pause until Stop, so they do not queue up ahead of replies.
        pulse = app.sim.qfex.settings.positions_interval
        app.sim.qfex.settings.positions_interval = 3600.0
        app.sim.qfex.faults.latency = 0.1
        app.sim.everstrike.faults.latency = 0.1
        dialog = app.flatten.flatten_everything()
        assert dialog is not None
        qtbot.keyClicks(dialog.confirmationInput, "FLATTEN")
        qtbot.mouseClick(dialog.executeButton, LEFT)
        assert dialog.task is not None
        await until(lambda: dialog.runModel.sent_count >= 2, what="two closes sent")
        qtbot.mouseClick(dialog.stopButton, LEFT)
        app.sim.qfex.settings.positions_interval = pulse

        sent = dialog.stopped_sent
        assert sent is not None and 2 <= len(sent) < DEMO_POSITIONS
        assert dialog.progressStatus.text() == (
            f"Stopped: {len(sent)} sent (listed), {DEMO_POSITIONS - len(sent)} not sent")
        listed = dialog.progressSent.text()
        assert listed.startswith("Already sent, followed to the end: ")
        assert all(f"{k.symbol} on {k.account}" in listed for k in sent)
        assert not dialog.stopButton.isEnabled()
        await dialog.task

        report = dialog.report
        assert report is not None and report.cancelled
        assert set(report.sent) == set(sent)
        states = {s.key: s for s in report.items}
        for key, state in states.items():
            shown = dialog.reportModel.index(dialog.reportModel.row_of(key) or 0,
                                             ItemColumn.STATE).data()
            if key in sent:
                assert state.outcome is not Outcome.CANCELLED_BEFORE_SEND
            else:
                assert state.outcome is Outcome.CANCELLED_BEFORE_SEND
                assert shown == "Not sent (stopped)"
                assert key in app.desk.positions  # untouched
        assert dialog.reportNote.text().startswith(
            f"Stopped by you: {len(sent)} closes had been sent and were followed to the end; "
            f"{DEMO_POSITIONS - len(sent)} were not sent.")
        # Only the sent closes ever reached the venues.
        assert len(app.closes(QFEX)) + len(app.closes(EVERSTRIKE)) == len(sent)


# ============================================================================ retry


@pytest.mark.asyncio
async def test_retry_after_a_forced_rejection_is_a_new_confirmed_plan(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app() as app:
        app.sim.qfex.faults.force_status("FAILED_MARGIN_CHECK", symbol="MSFT-USD")
        first = app.flatten.flatten_selected([AAPL, MSFT])
        assert first is not None and first.plan is not None
        first.reasonInput.setText("INC-9")
        qtbot.mouseClick(first.buildButton, LEFT)
        report = await confirm_and_run(qtbot, first)

        outcomes = {i.key: i.outcome for i in report.items}
        assert outcomes == {AAPL: Outcome.CLOSED_VERIFIED_FLAT, MSFT: Outcome.REJECTED}
        assert first.reportHeadline.text() == "1 of 2 positions flat — 1 still need attention."
        assert first.reportHeadline.property("tone") == "bad"
        assert first.reportTotals.text() == "1 closed and verified flat · 1 rejected"
        row = first.reportModel.row_of(MSFT)
        assert row is not None
        assert first.reportModel.index(row, ItemColumn.STATE).data() == "Rejected"
        reason = first.reportModel.index(row, ItemColumn.DETAIL).data()
        assert "margin" in reason.lower()  # the plain-language reason
        assert "margin" in first.reportDetail.toPlainText().lower()  # selected: the worst row
        assert first.retryButton.isEnabled()
        assert first.retryButton.text() == "Retry the residuals and rejections (1)"

        qtbot.mouseClick(first.retryButton, LEFT)
        assert not first.isVisible()
        second = app.flatten.dialogs[-1]
        assert second is not first and second.isVisible()
        retry = second.plan
        assert retry is not None and retry.id != report.plan_id
        assert retry.retry_of == report.plan_id and retry.reason == "INC-9"
        assert plan_keys(second) == {MSFT}
        assert f"retry of {report.plan_id}" in second.planIdLabel.text()
        assert not second.reasonInput.isEnabled()
        assert len(app.closes(QFEX)) == 2  # the retry itself sent nothing yet

        again = await confirm_and_run(qtbot, second)  # confirmed again, once
        assert again.all_flat, report_text(again)
        msft_closes = [r for r in app.closes(QFEX) if "MSFT-USD" in r.body]
        assert len(msft_closes) == 2  # the rejected one and the retry: never resent by itself
        assert MSFT not in app.desk.positions


# ============================================================================ no double sends


@pytest.mark.asyncio
async def test_a_running_plan_blocks_another_over_the_same_positions(
    qtbot: QtBot, qapp: QApplication
) -> None:
    async with running_app() as app:
        # Every QFEX frame waits 1 s, so the first plan is still running at the second; the
        # position pulses pause meanwhile, or they would queue up ahead of the close's replies.
        qfex = app.sim.qfex
        pulse = qfex.settings.positions_interval
        qfex.settings.positions_interval = 3600.0
        qfex.faults.latency = 1.0
        first = app.flatten.flatten_selected([AAPL])
        assert first is not None
        qtbot.mouseClick(first.executeButton, LEFT)
        qtbot.mouseClick(first.executeButton, LEFT)
        assert first.task is not None
        await until(lambda: first.runModel.sent_count == 1, what="the first close sent")
        first.reject()  # hides while running: sent closes cannot be taken back
        assert not first.isVisible() and first.running
        assert "still running" in app.window.statusBar().currentMessage()

        second = app.flatten.flatten_selected([AAPL, MSFT])
        assert second is not None
        qtbot.mouseClick(second.executeButton, LEFT)
        qtbot.mouseClick(second.executeButton, LEFT)
        assert second.task is None
        assert second.pages.currentWidget() is second.planPage
        assert "in a flatten still running" in second.planMessage.text()
        assert first.plan is not None and first.plan.id in second.planMessage.text()
        assert app.flatten.busy_keys == {AAPL}

        qfex.faults.latency = 0.0
        qfex.settings.positions_interval = pulse
        await first.task
        assert first.isVisible() and first.pages.currentWidget() is first.reportPage
        assert app.flatten.busy_keys == frozenset()
        assert len([r for r in app.closes(QFEX) if "AAPL-USD" in r.body]) == 1
        assert not [r for r in app.closes(QFEX) if "MSFT-USD" in r.body]


# ============================================================================ models, export


def _plan_for_models() -> FlattenPlan:
    def item(key: PositionKey, side: PositionSide, qty: str, pnl: str,
             env: Environment, cancels: tuple[WorkingOrder, ...] = ()) -> PlanItem:
        pos = Position(key, side, D(qty), D("100"), D("101"), D(pnl))
        return PlanItem(pos, env, "QFEX close_position (LIMIT IOC reduce-only near mark)",
                        CloseRequest(key, side, D(qty)), '{"type":"close_position"}',
                        cancels=cancels, cancel_previews=tuple("{}" for _ in cancels),
                        warning="" if not cancels else "a warning")
    trigger = WorkingOrder(QFEX, QFEX_DEMO_ACCOUNT, "AAPL-USD", "o-1", WorkingKind.TRIGGER,
                           OrderSide.SELL, None, trigger_price=D(90))
    items = (item(AAPL, PositionSide.LONG, "25", "12.5", Environment.LIVE, (trigger,)),
             item(MSFT, PositionSide.SHORT, "6", "-3", Environment.DEMO))
    gone = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "GONE-USD")
    return FlattenPlan(id="fp-test", scope=FlattenScope.selected([AAPL, MSFT, gone]),
                       reason="why", cancel_resting=True, items=items,
                       created_at=time.time(), missing=(gone,))


def test_plan_and_run_models_pass_qtmodeltester(
    qtmodeltester: ModelTester, qapp: QApplication
) -> None:
    plan = _plan_for_models()
    pm = PlanModel()
    pm.set_plan(plan)
    qtmodeltester.check(pm, force_py=True)
    assert pm.rowCount() == 3 and pm.is_missing(2) and not pm.is_missing(1)
    assert pm.index(0, PlanColumn.MECHANISM).data() == "⚠ QFEX close_position"
    assert pm.index(1, PlanColumn.PNL).data() == "-3"
    pm.set_plan(None)
    assert pm.rowCount() == 0

    rm = RunModel()
    rm.load(plan)
    qtmodeltester.check(rm, force_py=True)
    assert column(rm, ItemColumn.STATE) == ["Queued", "Queued"]
    seen: list[tuple[int, int, int, int]] = []
    rm.dataChanged.connect(lambda a, b, _r: seen.append((a.row(), a.column(), b.row(),
                                                          b.column())))
    base = rm.state(MSFT)
    assert base is not None
    rm.update(replace(base, phase=Phase.SENDING, sent=True))
    assert sorted(seen) == [(1, ItemColumn.STATE, 1, ItemColumn.STATE),
                            (1, ItemColumn.SENT, 1, ItemColumn.SENT)]
    seen.clear()
    rm.update(replace(base, phase=Phase.SENDING, sent=True))  # no change: no signal
    assert seen == []
    rm.update(replace(base, phase=Phase.DONE, sent=True, outcome=Outcome.RESIDUAL,
                      residual=D(2), message="2 still open"))
    assert sorted(seen) == [(1, ItemColumn.STATE, 1, ItemColumn.STATE),
                            (1, ItemColumn.DETAIL, 1, ItemColumn.DETAIL)]
    assert rm.index(1, ItemColumn.STATE).data() == "Residual 2"
    assert (rm.done_count, rm.sent_count) == (1, 1)
    rm.update(ItemState(PositionKey("x", QFEX, "NOPE"), PositionSide.LONG, D(1)))
    assert rm.rowCount() == 2 and rm.index(2, 0).data() is None
    assert rm.data(QModelIndex()) is None


def test_export_writes_json_or_text(tmp_path: Path) -> None:
    plan = _plan_for_models()
    items = (
        ItemState(AAPL, PositionSide.LONG, D(25), Phase.DONE, Outcome.CLOSED_VERIFIED_FLAT,
                  sent=True),
        ItemState(MSFT, PositionSide.SHORT, D(6), Phase.DONE, Outcome.REJECTED,
                  message="The venue's margin check failed", sent=True),
    )
    report = FlattenReport(plan, items, started_at=time.time(), finished_at=time.time(),
                           elapsed_ms=12.0)
    as_json = export_report(report, tmp_path / "r.json")
    parsed = json.loads(as_json.read_text(encoding="utf-8"))
    assert parsed["plan_id"] == "fp-test"
    assert parsed["totals"] == {"closed_verified_flat": 1, "rejected": 1}
    assert [i["outcome"] for i in parsed["items"]] == ["closed_verified_flat", "rejected"]
    as_text = export_report(report, tmp_path / "r.txt").read_text(encoding="utf-8")
    assert as_text == report_text(report) + "\n"
    assert "rejected: The venue's margin check failed" in as_text
    assert report_totals_text(report) == "1 closed and verified flat · 1 rejected"
    assert report_headline(report) == ("1 of 2 positions flat — 1 still need attention.", "bad")
