"""The window in team mode, through the real window and a real Desk whose coordinator the test
sets (FakeCoordinator): another desk's lease refuses a close or a cancel and says who holds it;
"Wait for it" never sends; "Send anyway…" sends once with the typed reason journaled; a row
another desk is closing says so; a flatten skips such positions unless asked to include them.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.desk.coordination import Holder
from core.journal import Journal
from core.model import PositionKey, PositionsSnapshot, WorkingOrder
from core.settings import Preferences
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.qfex import QFEX
from gui.controllers.flatten import install_flatten
from gui.dialogs.close import CloseDialog, QuickCloseDialog
from gui.main_window import MainWindow
from gui.models import BUTTON_ROLE, CancelState, PositionColumn
from gui.theme.buttons import ELSEWHERE
from tests.helpers.clock import FakeClock
from tests.helpers.coordination import FakeCoordinator
from tests.helpers.fakes import FakeSession, account, position, working
from tests.helpers.polling import until
from tests.helpers.windows import shut

AAPL = PositionKey("acct", QFEX, "AAPL-USD")
MSFT = PositionKey("acct", QFEX, "MSFT-USD")
MARIA = Holder("d3", "Desk 3", "maria", "intent-x", 4.2, 25.6)
REASON = "desk 3 is frozen, ticket 881"


@dataclass
class Rig:
    desk: Desk
    window: MainWindow
    session: FakeSession
    coordinator: FakeCoordinator
    journal: Journal
    clock: FakeClock

    def records(self, kind: str) -> list[dict[str, object]]:
        return [json.loads(r.payload) for r in self.journal.iter_all() if r.kind == kind]

    def button(self, key: PositionKey, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        m = self.window.positions_model
        row = m.row_of(key)
        assert row is not None
        return m.data(m.index(row, PositionColumn.ACTION), role)

    def flush(self) -> None:
        self.window.bridge.flush()
        self.window.positions_model.flush()


@pytest_asyncio.fixture
async def rig(qapp: QApplication, tmp_path: Path) -> AsyncIterator[Rig]:
    made: list[FakeSession] = []

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.initial = (position("AAPL-USD"), position("MSFT-USD", qty="4"))
        s.working = (working("w-1", symbol="MSFT-USD"),)
        made.append(s)
        return s

    journal = Journal(tmp_path / "j.sqlite3", operator="tester")
    coordinator = FakeCoordinator()
    desk = Desk(journal=journal, session_factory=factory, coordinator=coordinator)
    window = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000,
                        preferences=Preferences(confirm="never", stale_after_s=3600.0))
    clock = FakeClock(5_000.0)
    window.closing.clock = clock
    window.show()
    try:
        assert await desk.start([(account(), Credentials("pub", "sec"))]) == []
        window.bridge.flush()
        window.positions_model.flush()
        assert window.positions_model.rowCount() == 2
        yield Rig(desk, window, made[0], coordinator, journal, clock)
    finally:
        await shut(window, desk)
        journal.close()


async def _send(dialog: CloseDialog) -> None:
    dialog.send()
    assert dialog.task is not None
    await dialog.task


def _acquires(rig: Rig) -> int:
    return sum(1 for c in rig.coordinator.calls if c[0] == "acquire")


# ============================================================================ the close dialog


@pytest.mark.asyncio
async def test_the_dialog_says_who_holds_the_lease_and_counts_down_and_sends_nothing(
    rig: Rig,
) -> None:
    rig.coordinator.holders[AAPL] = MARIA
    dialog = rig.window.closing.request_close(AAPL)
    assert dialog is not None and not dialog.leasePanel.isVisible()
    await _send(dialog)
    panel = dialog.leasePanel
    assert rig.session.sent == []
    assert dialog.isVisible() and panel.isVisible()
    assert panel.leaseMessage.text() == \
        "Desk 3 (maria) is closing this · 4 s, expires in 26 s. Nothing was sent."
    assert "Nothing was sent" in dialog.validationMessage.text()
    assert panel.waitButton.isVisible() and panel.overrideButton.isEnabled()
    rig.clock.now += 10  # the figures were as of the refusal: the countdown follows the clock
    panel.tick()
    assert panel.leaseMessage.text().startswith(
        "Desk 3 (maria) is closing this · 14 s, expires in 16 s")
    # Desk 3 renews its lease: the countdown starts again from the new figures.
    rig.coordinator.set_holder(AAPL, Holder("d3", "Desk 3", "maria", "intent-x", 15.0, 30.0))
    await until(lambda: panel.leaseMessage.text().startswith(
        "Desk 3 (maria) is closing this · 15 s, expires in 30 s"), what="the renewal")
    rig.clock.now += 60
    panel.tick()
    assert "expires in 0 s" in panel.leaseMessage.text()
    assert rig.session.sent == [] and _acquires(rig) == 1  # expiry resends nothing
    await rig.desk.journaled()
    assert [r["holder"]["desk_name"] for r in rig.records("lease_held")] == ["Desk 3"]  # type: ignore[index]
    assert rig.records("intent") == []
    dialog.reject()


@pytest.mark.asyncio
async def test_wait_for_it_never_sends_and_says_when_the_other_desk_is_done(rig: Rig) -> None:
    rig.coordinator.set_holder(AAPL, MARIA)
    dialog = rig.window.closing.request_close(AAPL)
    assert dialog is not None
    await _send(dialog)
    panel = dialog.leasePanel
    panel.waitButton.click()
    assert panel.waiting and not dialog.sendButton.isEnabled()
    assert "Waiting for Desk 3" in panel.leaseMessage.text()
    dialog.send()  # Enter while waiting: nothing
    assert dialog.task is not None and dialog.task.done()
    rig.coordinator.set_holder(AAPL, None)  # Desk 3 finished
    await until(lambda: not panel.waiting, what="the dialog to hear Desk 3 is done")
    assert "Desk 3 is done with this position. Nothing was sent" in panel.leaseMessage.text()
    assert dialog.sendButton.isEnabled()
    assert rig.session.sent == [] and _acquires(rig) == 1  # done is not a send
    await _send(dialog)  # the user's click
    assert len(rig.session.sent) == 1 and _acquires(rig) == 2
    assert not dialog.isVisible()


@pytest.mark.asyncio
async def test_after_waiting_the_freshness_guard_says_the_position_moved(rig: Rig) -> None:
    rig.coordinator.set_holder(AAPL, MARIA)
    dialog = rig.window.closing.request_close(AAPL)
    assert dialog is not None
    await _send(dialog)
    dialog.leasePanel.waitButton.click()
    # Desk 3 closed part of it meanwhile, then let go.
    rig.session.sink(PositionsSnapshot(QFEX, "acct", (position("AAPL-USD", qty="3"),
                                                     position("MSFT-USD", qty="4"))))
    rig.coordinator.set_holder(AAPL, None)
    await until(lambda: not dialog.leasePanel.waiting, what="Desk 3 done")
    dialog.send()
    assert dialog.guardPanel.isVisible()
    assert "3" in dialog.guardMessage.text()
    assert rig.session.sent == []
    dialog.reject()


@pytest.mark.asyncio
async def test_send_anyway_needs_a_reason_says_whose_lease_and_sends_once(
    rig: Rig, qtbot: QtBot
) -> None:
    rig.coordinator.holders[AAPL] = MARIA
    dialog = rig.window.closing.request_close(AAPL)
    assert dialog is not None
    await _send(dialog)
    panel = dialog.leasePanel
    panel.overrideButton.click()
    assert panel.overrideBox.isVisible()
    assert panel.confirmOverrideButton.text() == "Override Desk 3's lease and send"
    assert "This overrides Desk 3's lease" in panel.overrideNote.text()
    for short in ("", "   ", "ok  "):
        panel.reasonInput.setText(short)
        assert not panel.confirmOverrideButton.isEnabled()
        assert "at least 5 characters" in panel.reasonError.text()
        qtbot.keyClick(panel.reasonInput, Qt.Key.Key_Return)  # Enter in the field: nothing,
        # and it does not fall through to the dialog's Send button either.
    assert rig.session.sent == [] and dialog.task is not None and dialog.task.done()
    assert _acquires(rig) == 1
    panel.reasonInput.setText(f"  {REASON}  ")
    assert panel.confirmOverrideButton.isEnabled()
    panel.confirmOverrideButton.click()
    assert dialog.task is not None
    await dialog.task
    assert len(rig.session.sent) == 1
    assert [c[0] for c in rig.coordinator.calls if c[0] != "finished"] == \
        ["acquire", "override"]
    await rig.desk.journaled()
    (override,) = rig.records("lease_override")
    assert override["reason"] == REASON
    assert override["took_from"]["desk_name"] == "Desk 3"  # type: ignore[index]
    assert not dialog.isVisible()


@pytest.mark.asyncio
async def test_no_team_database_says_nobody_was_asked_and_may_send_unlocked(rig: Rig) -> None:
    rig.coordinator.down = True
    dialog = rig.window.closing.request_close(AAPL)
    assert dialog is not None
    await _send(dialog)
    panel = dialog.leasePanel
    assert rig.session.sent == []
    assert "team database cannot be reached" in panel.leaseMessage.text()
    assert "no other desk could be asked" in panel.leaseMessage.text()
    assert not panel.waitButton.isVisible()  # nobody to wait for
    panel.overrideButton.click()
    assert panel.confirmOverrideButton.text() == "Send without a lease"
    panel.reasonInput.setText(REASON)
    panel.confirmOverrideButton.click()
    assert dialog.task is not None
    await dialog.task
    assert len(rig.session.sent) == 1
    await rig.desk.journaled()
    assert [(r["reason"], r["locked"]) for r in rig.records("lease_override")] == \
        [(REASON, False)]
    assert len(rig.records("lease_unavailable")) == 1


# ============================================================================ quick close


@pytest.mark.asyncio
async def test_quick_close_is_refused_with_the_holder_and_can_override(rig: Rig) -> None:
    rig.coordinator.holders[AAPL] = MARIA
    dialog = rig.window.closing.quick_close(AAPL)
    assert isinstance(dialog, QuickCloseDialog)
    dialog.confirm()
    assert dialog.task is not None
    await dialog.task
    panel = dialog.leasePanel
    assert rig.session.sent == [] and panel.isVisible()
    assert panel.leaseMessage.text().startswith("Desk 3 (maria) is closing this · 4 s")
    panel.waitButton.click()
    assert not dialog.confirmButton.isEnabled()
    panel.overrideButton.click()
    assert dialog.confirmButton.isEnabled()  # no longer waiting
    panel.reasonInput.setText(REASON)
    panel.confirmOverrideButton.click()
    await dialog.task
    assert len(rig.session.sent) == 1
    await rig.desk.journaled()
    assert [r["reason"] for r in rig.records("lease_override")] == [REASON]


# ============================================================================ rows


class _Changes:
    def __init__(self, rig: Rig) -> None:
        self.rows: set[int] = set()
        rig.window.positions_model.dataChanged.connect(self._on)

    def _on(self, top: QModelIndex | QPersistentModelIndex,
            bottom: QModelIndex | QPersistentModelIndex, roles: list[int]) -> None:
        self.rows |= set(range(top.row(), bottom.row() + 1))


def _hms(wall: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(wall))


@pytest.mark.asyncio
async def test_a_row_another_desk_is_closing_says_so_and_clears(rig: Rig) -> None:
    assert rig.button(AAPL) == "Close"
    assert rig.button(MSFT) == "Close · 1 working"
    changes = _Changes(rig)
    wall = 1_800_000_000.0
    rig.window.positions_model.wall = lambda: wall
    rig.coordinator.set_holder(AAPL, MARIA)
    await until(lambda: rig.button(AAPL) == "Closing by Desk 3", what="the row badge")
    assert rig.button(AAPL, BUTTON_ROLE) == ELSEWHERE
    tip = str(rig.button(AAPL, Qt.ItemDataRole.ToolTipRole))
    # Who, since when and until when, from the lease's figures (held 4.2 s, 25.6 s to go).
    assert (f"Desk 3 (maria) has been closing this position since {_hms(wall - 4.2)}; its "
            f"lease runs out at {_hms(wall + 25.6)} unless that desk renews it") in tip
    assert "refused unless you send anyway with a reason" in tip
    assert rig.button(MSFT) == "Close · 1 working"
    assert changes.rows == {rig.window.positions_model.row_of(AAPL)}  # only that row
    # Clicking it still opens the dialog, which the lease then refuses with the holder.
    dialog = rig.window.closing.request_close(AAPL)
    assert dialog is not None
    await _send(dialog)
    assert rig.session.sent == [] and dialog.leasePanel.isVisible()
    dialog.reject()
    # A renewal moves the expiry: the tooltip follows, and still only that row is redrawn.
    changes.rows.clear()
    rig.coordinator.set_holder(AAPL, Holder("d3", "Desk 3", "maria", "intent-x", 14.2, 30.0))
    await until(lambda: f"runs out at {_hms(wall + 30.0)}" in
                str(rig.button(AAPL, Qt.ItemDataRole.ToolTipRole)), what="the new expiry")
    assert changes.rows == {rig.window.positions_model.row_of(AAPL)}
    rig.coordinator.set_holder(AAPL, None)
    await until(lambda: rig.button(AAPL) == "Close", what="the badge to clear")
    assert rig.button(AAPL, BUTTON_ROLE) == "Close"
    assert "closing this position" not in str(rig.button(AAPL, Qt.ItemDataRole.ToolTipRole))


# ============================================================================ cancels


def expected_in(text: str | None, down: bool) -> bool:
    return text is not None and ("cannot be reached" if down else
                                 "Desk 3 (maria) is closing this") in text


@pytest.mark.asyncio
@pytest.mark.parametrize("down", [False, True])
async def test_a_cancel_refused_by_the_lease_is_reported_per_order_and_not_resent(
    rig: Rig, down: bool
) -> None:
    rig.coordinator.holders[MSFT] = MARIA
    rig.coordinator.down = down
    ident = ("acct", "w-1")
    task = rig.window.cancelling.request_cancel(ident)
    assert task is not None
    why = await task
    assert rig.session.cancelled == []
    assert rig.window.working_model.cancel_state(ident) is CancelState.IDLE  # Cancel again
    assert expected_in(rig.window.working_model.refused_reason(ident), down)
    expected = "cannot be reached" if down else "Desk 3 (maria) is closing this"
    assert why is not None and expected in why
    assert expected in rig.window.statusBar().currentMessage()
    # Cancel all goes the same way, one refusal per order, nothing resent on its own.
    orders: list[WorkingOrder] = list(rig.desk.working_orders.values())
    outcomes = rig.window.cancel_all.send(orders, "acct", "test: cancel all")
    assert outcomes is not None
    result = await outcomes
    assert expected in str(result[ident])
    assert rig.session.cancelled == []
    assert sum(1 for c in rig.coordinator.calls if c[0] == "acquire") == 2
    report = rig.window.cancel_all.report
    assert report is not None and expected in report.text()
    report.close()


# ============================================================================ flatten


@pytest.mark.asyncio
async def test_flatten_skips_what_another_desk_is_closing_unless_included(rig: Rig) -> None:
    rig.coordinator.set_holder(AAPL, MARIA)
    dialog = install_flatten(rig.window).flatten_selected([AAPL, MSFT])
    assert dialog is not None and dialog.plan is not None
    page = dialog.planPage
    assert [i.key for i in dialog.plan.items] == [MSFT]
    assert dialog.plan.elsewhere == ((AAPL, "Desk 3"),)
    assert page.elsewhereBox.isVisible()
    assert page.elsewhereBox.elsewhereList.text() == \
        "skipped: Desk 3 is closing it · AAPL-USD on acct"
    assert "1 skipped: another desk is closing them" in page.planSummary.text()
    page.includeElsewhereInput.setChecked(True)  # rebuilds with them
    assert dialog.plan is not None
    assert {i.key for i in dialog.plan.items} == {AAPL, MSFT}
    text = page.elsewhereBox.elsewhereList.text()
    assert "refused (nothing sent) while that desk holds its lease" in text
    assert "AAPL-USD on acct: Desk 3 is closing it" in text
    assert "skipped" not in page.planSummary.text()
    page.includeElsewhereInput.setChecked(False)
    assert [i.key for i in dialog.plan.items] == [MSFT]
    assert rig.session.sent == []
    dialog.reject()


@pytest.mark.asyncio
async def test_cancel_first_refused_by_the_lease_sends_nothing_and_the_override_covers_it(
    rig: Rig,
) -> None:
    rig.coordinator.holders[MSFT] = MARIA
    dialog = rig.window.closing.request_close(MSFT)
    assert dialog is not None and dialog.cancelFirstInput.isChecked()
    await _send(dialog)
    assert rig.session.cancelled == [] and rig.session.sent == []
    assert dialog.leasePanel.isVisible()
    assert "Desk 3 (maria) is closing this" in dialog.leasePanel.leaseMessage.text()
    panel = dialog.leasePanel
    panel.overrideButton.click()
    assert panel.confirmOverrideButton.text() == "Override Desk 3's lease and cancel 1, then close"
    assert "The cancels of the 1 working order and then the close each override Desk 3's " \
        "lease" in panel.overrideNote.text()
    panel.reasonInput.setText(REASON)
    panel.confirmOverrideButton.click()
    assert dialog.task is not None
    await dialog.task
    assert [o.order_id for o in rig.session.cancelled] == ["w-1"]
    assert len(rig.session.sent) == 1
    await rig.desk.journaled()
    overrides = rig.records("lease_override")
    assert [r["reason"] for r in overrides] == [REASON, REASON]  # the cancel's, the close's
    assert overrides[0]["took_from"]["desk_name"] == "Desk 3"  # type: ignore[index]
    assert overrides[1]["took_from"] is None  # nobody held it any more


@pytest.mark.asyncio
async def test_an_included_position_is_refused_by_the_lease_when_the_plan_runs(
    rig: Rig, qtbot: QtBot
) -> None:
    rig.coordinator.set_holder(AAPL, MARIA)
    dialog = install_flatten(rig.window).flatten_selected([AAPL])
    assert dialog is not None and dialog.plan is not None and dialog.plan.items == ()
    assert not dialog.executeButton.isEnabled()  # nothing to send: it is skipped
    dialog.planPage.includeElsewhereInput.setChecked(True)
    assert [i.key for i in dialog.plan.items] == [AAPL]
    qtbot.mouseClick(dialog.executeButton, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.executeButton, Qt.MouseButton.LeftButton)  # Confirm
    assert dialog.task is not None
    await dialog.task
    report = dialog.report
    assert report is not None
    assert rig.session.sent == []
    assert [c[0] for c in rig.coordinator.calls] == ["acquire"]  # never overridden
    (item,) = report.items
    assert "Desk 3 (maria) is closing this" in item.message
    dialog.reject()


@pytest.mark.asyncio
async def test_quick_close_waits_without_sending_until_the_other_desk_is_done(rig: Rig) -> None:
    rig.coordinator.set_holder(AAPL, MARIA)
    dialog = rig.window.closing.quick_close(AAPL)
    assert isinstance(dialog, QuickCloseDialog)
    dialog.confirm()
    assert dialog.task is not None
    await dialog.task
    dialog.leasePanel.waitButton.click()
    dialog.confirm()  # Enter while waiting: nothing
    assert not dialog.confirmButton.isEnabled() and dialog.task.done()
    rig.coordinator.set_holder(AAPL, None)
    await until(lambda: dialog.confirmButton.isEnabled(), what="the quick close to hear it")
    assert "Desk 3 is done with this position" in dialog.leasePanel.leaseMessage.text()
    assert rig.session.sent == [] and _acquires(rig) == 1
    dialog.confirm()
    await dialog.task
    assert len(rig.session.sent) == 1
