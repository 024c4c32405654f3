"""The close dialog's "Cancel them first" in team mode, when another desk takes the position's
lease between two cancels: what went is said exactly, the close is not sent, "Wait for it"
sends nothing, and "Send anyway…" sends what is left (never a cancel twice) and the close, each
overriding the lease with the typed reason."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio
from PySide6.QtWidgets import QApplication

from core.desk import Desk
from core.desk.coordination import Holder
from core.journal import Journal
from core.model import PositionKey, WorkingOrdersSnapshot
from core.settings import Preferences
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.qfex import QFEX
from gui.dialogs.close import CloseDialog
from gui.main_window import MainWindow
from tests.helpers.coordination import FakeCoordinator
from tests.helpers.fakes import FakeSession, account, position, working
from tests.helpers.polling import until
from tests.helpers.windows import shut

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

    async def records(self, kind: str) -> list[dict[str, object]]:
        await self.desk.journaled()
        return [json.loads(r.payload) for r in self.journal.iter_all() if r.kind == kind]

    def asked(self) -> list[tuple[str, str]]:
        """What the desk asked the coordinator for, leaving out the releases."""
        return [(c[0], "cancel" if c[2].startswith("cancel:") else "close")
                for c in self.coordinator.calls
                if c[0] != "finished"]

    def cancelled(self) -> list[str]:
        return [o.order_id for o in self.session.cancelled]


@pytest_asyncio.fixture
async def rig(qapp: QApplication, tmp_path: Path) -> AsyncIterator[Rig]:
    made: list[FakeSession] = []

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.initial = (position("MSFT-USD", qty="4"),)
        s.working = (working("w-1", symbol="MSFT-USD"), working("w-2", symbol="MSFT-USD"))
        made.append(s)
        return s

    journal = Journal(tmp_path / "j.sqlite3", operator="tester")
    coordinator = FakeCoordinator()
    desk = Desk(journal=journal, session_factory=factory, coordinator=coordinator)
    window = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000,
                        preferences=Preferences(confirm="never", stale_after_s=3600.0))
    window.show()
    try:
        assert await desk.start([(account(), Credentials("pub", "sec"))]) == []
        window.bridge.flush()
        window.positions_model.flush()
        yield Rig(desk, window, made[0], coordinator, journal)
    finally:
        await shut(window, desk)
        journal.close()


async def _refused_after_the_first_cancel(rig: Rig) -> CloseDialog:
    """Send with both cancels ticked; Desk 3 takes the lease once the first cancel is done."""
    acquires = 0

    def desk_3_takes_it_at_the_second() -> None:
        nonlocal acquires
        acquires += 1
        if acquires == 2:
            rig.coordinator.holders[MSFT] = MARIA

    rig.coordinator.while_asked = desk_3_takes_it_at_the_second
    dialog = rig.window.closing.request_close(MSFT)
    assert dialog is not None and dialog.cancelFirstInput.isChecked()
    assert [o.order_id for o in dialog.workingPanel.to_cancel()] == ["w-1", "w-2"]
    dialog.send()
    assert dialog.task is not None
    await dialog.task
    assert rig.cancelled() == ["w-1"] and rig.session.sent == []
    assert dialog.validationMessage.text() == (
        "Cancelled 1 working order first. Cancelling order w-2 was refused by the lease, so it "
        "and the close were NOT sent (another desk may be closing this position).")
    assert dialog.leasePanel.isVisible() and dialog.isVisible()
    assert "Desk 3 (maria) is closing this" in dialog.leasePanel.leaseMessage.text()
    await until(lambda: [o.order_id for o in dialog.workingPanel.orders] == ["w-2"],
                what="the dialog to show what is left to cancel")
    return dialog


@pytest.mark.asyncio
async def test_send_anyway_after_a_refusal_between_cancels_sends_the_rest_once_and_the_close(
    rig: Rig,
) -> None:
    dialog = await _refused_after_the_first_cancel(rig)
    panel = dialog.leasePanel
    panel.overrideButton.click()
    assert panel.confirmOverrideButton.text() == "Override Desk 3's lease and cancel 1, then close"
    assert panel.overrideNote.text().startswith(
        "The cancels of the 1 working order and then the close each override Desk 3's lease")
    panel.reasonInput.setText(REASON)
    panel.confirmOverrideButton.click()
    assert dialog.task is not None
    await dialog.task
    assert rig.cancelled() == ["w-1", "w-2"]  # each once
    assert len(rig.session.sent) == 1
    assert not dialog.isVisible()
    assert rig.asked() == [("acquire", "cancel"), ("acquire", "cancel"),
                           ("override", "cancel"), ("override", "close")]
    overrides = await rig.records("lease_override")
    assert [r["reason"] for r in overrides] == [REASON, REASON]
    assert overrides[0]["took_from"]["desk_name"] == "Desk 3"  # type: ignore[index]
    assert overrides[1]["took_from"] is None  # the cancel's override already took it
    assert overrides[0]["intent"] == "cancel:w-2"
    assert str(overrides[1]["intent"]).startswith("intent-")
    held = await rig.records("lease_held")
    assert len(held) == 1  # the one refusal, at the second cancel


@pytest.mark.asyncio
async def test_wait_after_a_refusal_between_cancels_sends_nothing_more(rig: Rig) -> None:
    dialog = await _refused_after_the_first_cancel(rig)
    panel = dialog.leasePanel
    panel.waitButton.click()
    assert panel.waiting and not dialog.sendButton.isEnabled()
    dialog.send()  # Enter while waiting: nothing
    rig.coordinator.set_holder(MSFT, None)  # Desk 3 is done
    await until(lambda: not panel.waiting, what="the dialog to hear Desk 3 is done")
    assert "Desk 3 is done with this position. Nothing was sent" in panel.leaseMessage.text()
    assert rig.cancelled() == ["w-1"] and rig.session.sent == []
    assert await rig.records("lease_override") == []
    dialog.send()  # the user's own click: what is left, once
    assert dialog.task is not None
    await dialog.task
    assert rig.cancelled() == ["w-1", "w-2"] and len(rig.session.sent) == 1
    assert not dialog.isVisible()


@pytest.mark.asyncio
async def test_a_cancel_the_venue_confirmed_is_not_sent_again_while_the_book_still_lists_it(
    rig: Rig,
) -> None:
    dialog = await _refused_after_the_first_cancel(rig)
    # A late snapshot still lists w-1 (the venue confirmed its cancel): the dialog shows it,
    # but a second attempt does not cancel it again.
    both = (working("w-1", symbol="MSFT-USD"), working("w-2", symbol="MSFT-USD"))
    rig.session.sink(WorkingOrdersSnapshot(QFEX, "acct", both))
    await until(lambda: [o.order_id for o in dialog.workingPanel.orders] == ["w-1", "w-2"],
                what="the dialog to show the late snapshot")
    assert "CANCEL w-1" not in dialog.previewText.toPlainText()
    assert "CANCEL w-2" in dialog.previewText.toPlainText()
    panel = dialog.leasePanel
    panel.overrideButton.click()
    assert panel.confirmOverrideButton.text() == "Override Desk 3's lease and cancel 1, then close"
    panel.reasonInput.setText(REASON)
    panel.confirmOverrideButton.click()
    assert dialog.task is not None
    await dialog.task
    assert rig.cancelled() == ["w-1", "w-2"] and len(rig.session.sent) == 1
