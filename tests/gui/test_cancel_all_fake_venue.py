"""Cancel all and the row menu where the venue's answers are scripted (fake sessions on a real
Desk): a cancel held open, a refused one, an account that drops, a close still in flight, and
the Age column on an injected clock."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from core.model import CloseRequest, ConnectionState, Environment, PositionKey, PositionSide
from core.venue import CancelRejected
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.models import BUTTON_ROLE, CancelState, WorkingColumn
from gui.models.scopes import Scope
from tests.gui import test_window_fake_desk
from tests.gui.test_row_menu import actions, right_click
from tests.gui.test_window_fake_desk import ALPHA, BETA, Rig, limit_order
from tests.helpers.polling import until

D = Decimal
rig = test_window_fake_desk.rig  # the fixture: the window over a desk of fake sessions
AAPL_A = PositionKey(ALPHA, QFEX, "AAPL-USD")
ETH_B = PositionKey(BETA, EVERSTRIKE, "USD_ETH_PERP")

pytestmark = pytest.mark.qt_log_ignore("does not support grabbing the keyboard",
                                       "does not support raise")


@pytest.mark.asyncio
async def test_a_refused_cancel_is_reported_per_order(qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    rig.sessions[BETA].cancel_reject = CancelRejected("The order was already triggered.")
    dialog = w.cancel_all.ask(Scope())
    assert dialog is not None
    dialog.accept()
    await until(lambda: w.cancel_all.last is not None, what="every answer")
    assert w.cancel_all.last == {(ALPHA, "q-1"): None, (ALPHA, "q-2"): None,
                                 (BETA, "e-1"): "refused: The order was already triggered."}
    assert w.statusBar().currentMessage() == (
        "Cancel all on every account: 2 of 3 cancels confirmed; 1 not — each is listed, and "
        "its row's button says why.")
    report = w.cancel_all.report
    assert isinstance(report, QMessageBox)
    assert report.objectName() == "cancelAllReport"
    assert (f"• order e-1 (USD_ETH_PERP on {BETA}): refused: The order was already triggered."
            in report.text())
    assert "q-1" not in report.text()
    # The refused order still works, and its row's button says why.
    wm = w.working_model
    row = wm.row_of((BETA, "e-1"))
    assert row is not None
    assert wm.index(row, WorkingColumn.ACTION).data(BUTTON_ROLE) == "Refused"
    assert [len(s.cancelled) for s in (rig.sessions[ALPHA], rig.sessions[BETA])] == [2, 1]
    report.accept()
    assert w.cancel_all.report is None


@pytest.mark.asyncio
async def test_a_second_cancel_all_while_cancels_are_out_sends_nothing(
        qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    alpha = rig.sessions[ALPHA]
    alpha.release.clear()  # the venue takes its time
    orders = Scope(account=ALPHA).pick(w.working_model.orders())
    first = w.cancel_all.send(orders, f"account {ALPHA}", "Cancel all: test")
    assert first is not None
    await until(lambda: len(alpha.cancelled) == 2, what="both cancels at the venue")
    assert all(w.working_model.cancel_state(o.ident) is CancelState.CANCELLING for o in orders)
    # The same batch again (a second click, a second window's worth): nothing is sent.
    assert w.cancel_all.send(orders, f"account {ALPHA}", "Cancel all: test") is None
    assert "Nothing was sent" in w.statusBar().currentMessage()
    # Everything now: only the other account's order is listed.
    dialog = w.cancel_all.ask(Scope())
    assert dialog is not None
    assert [o.ident for o in dialog.orders] == [(BETA, "e-1")]
    assert "2 more are already being cancelled and will not be sent again." in \
        dialog.message.text()
    dialog.reject()
    alpha.release.set()
    assert await first == {(ALPHA, "q-1"): None, (ALPHA, "q-2"): None}
    assert [o.order_id for o in alpha.cancelled] == ["q-1", "q-2"]
    assert rig.sessions[BETA].cancelled == []


@pytest.mark.asyncio
async def test_an_order_cancelled_from_its_row_while_the_question_is_open_is_not_resent(
        qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    alpha = rig.sessions[ALPHA]
    alpha.release.clear()
    dialog = w.cancel_all.ask(Scope(account=ALPHA))
    assert dialog is not None
    w.cancelling.request_cancel((ALPHA, "q-1"))  # its own Cancel button, meanwhile
    dialog.accept()
    await until(lambda: len(alpha.cancelled) == 2, what="both cancels at the venue")
    alpha.release.set()
    await until(lambda: w.cancel_all.last is not None, what="the answers")
    assert w.cancel_all.last == {(ALPHA, "q-2"): None}  # the batch sent only q-2
    assert sorted(o.order_id for o in alpha.cancelled) == ["q-1", "q-2"]


@pytest.mark.asyncio
async def test_a_disconnected_account_disables_its_rows_actions(qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    rig.sessions[ALPHA].say(ConnectionState.DISCONNECTED, "connection reset")
    w.bridge.flush()
    found = actions(right_click(w, AAPL_A))
    why = f"Account {ALPHA} is disconnected; nothing can be sent until it is connected."
    for name in ("rowClose", "rowCloseHalf", "rowCloseLimit", "rowSetTrigger",
                 "rowCancelWorking"):
        assert not found[name].isEnabled(), name
        assert found[name].toolTip() == why
    assert found["rowCopy"].isEnabled()
    # The other account is untouched.
    beta = actions(right_click(w, ETH_B))
    assert beta["rowClose"].isEnabled() and beta["rowCancelWorking"].isEnabled()


@pytest.mark.asyncio
async def test_a_close_in_flight_disables_the_close_actions(qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    await rig.desk.close(CloseRequest(AAPL_A, PositionSide.LONG, D(10)))
    assert rig.desk.pending(AAPL_A) is not None  # sent, no answer yet
    found = actions(right_click(w, AAPL_A))
    why = f"A close of AAPL-USD on {ALPHA} is already on its way; it must finish first."
    for name in ("rowClose", "rowCloseHalf", "rowCloseLimit", "rowSetTrigger"):
        assert not found[name].isEnabled(), name
        assert found[name].toolTip() == why
        assert found[name].statusTip() == why
    assert found["rowCancelWorking"].isEnabled()  # its resting orders can still go
    assert found["rowCancelWorking"].text() == "Cancel &working orders on this symbol (2)…"


@pytest.mark.asyncio
async def test_what_the_venue_cannot_do_is_disabled_with_its_reason(
        qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    found = actions(right_click(w, AAPL_A))  # the fake venue: partial closes, no limit/trigger
    assert found["rowCloseHalf"].isEnabled()
    assert not found["rowCloseLimit"].isEnabled()
    assert found["rowCloseLimit"].toolTip() == "This venue takes no limit"
    assert not found["rowSetTrigger"].isEnabled()
    assert found["rowSetTrigger"].toolTip() == "This venue takes no trigger"


@pytest.mark.asyncio
async def test_group_headers_get_no_row_menu(qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    w.groupByAccount.setChecked(True)
    proxy = w.positions_proxy
    await until(lambda: proxy.key_at(0) is None and proxy.rowCount() > 4,
                what="account headers")
    view = w.positionsView
    at = view.visualRect(proxy.index(0, 0)).center()
    view.customContextMenuRequested.emit(at)
    assert w.row_menu.menu is None


# ============================================================================ age


@pytest.mark.asyncio
async def test_the_age_column_counts_from_the_venues_time_on_the_windows_clock(
        qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    wm = w.working_model
    now = [1_700_000_000.0]
    wm.wall_clock = lambda: now[0]
    order = replace(limit_order("q-9"), venue_time=now[0] - 65, received_at=now[0])
    rig.sessions[ALPHA].sink(order)
    w.bridge.flush()
    row = wm.row_of(order.ident)
    assert row is not None
    cell = wm.index(row, WorkingColumn.AGE)
    assert wm.headerData(WorkingColumn.AGE, Qt.Orientation.Horizontal) == "Age"
    assert cell.data() == "1 m 05 s"
    assert wm.ageTimer.isActive()
    changed: list[tuple[int, int, int, int]] = []

    def on_changed(a: QModelIndex | QPersistentModelIndex,
                   b: QModelIndex | QPersistentModelIndex, _roles: list[int]) -> None:
        changed.append((a.row(), a.column(), b.row(), b.column()))

    wm.dataChanged.connect(on_changed)
    now[0] += 3600
    wm.refresh_ages()  # what the timer runs once a second
    assert cell.data() == "1 h 01 m"
    last = wm.rowCount() - 1
    assert changed == [(0, WorkingColumn.AGE, last, WorkingColumn.AGE)]  # one signal, one column
    # An update with a newer venue time does not make it younger.
    rig.sessions[ALPHA].sink(replace(order, venue_time=now[0], raw_status="PARTIAL"))
    w.bridge.flush()
    assert cell.data() == "1 h 01 m"
    # No rows, no timer.
    wm.clear()
    assert not wm.ageTimer.isActive()


@pytest.mark.asyncio
async def test_the_question_names_the_live_accounts(qtbot: QtBot, rig: Rig) -> None:
    w = rig.window
    dialog = w.cancel_all.ask(Scope())
    assert dialog is not None
    assert "LIVE" not in dialog.message.text()  # demo accounts only
    dialog.reject()
    w.set_account_environment(BETA, Environment.LIVE)
    dialog = w.cancel_all.ask(Scope())
    assert dialog is not None
    assert f"LIVE (real money): {BETA}." in dialog.message.text()
    dialog.reject()
    dialog = w.cancel_all.ask(Scope(account=ALPHA))  # none of its orders is on a LIVE account
    assert dialog is not None
    assert "LIVE" not in dialog.message.text()
    dialog.reject()
