"""The main window against the real simulator, real sessions and a real desk over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from decimal import Decimal

import pytest
import pytest_asyncio
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from core.demo import demo_account_name, demo_accounts
from core.desk import Desk
from core.journal import Journal
from core.model import (
    ConnectionState,
    OrderStatus,
    OrderUpdate,
    PositionKey,
    Venue,
    WorkingKind,
)
from core.settings import Preferences
from core.sim import Received, Simulator
from core.venue import Credentials
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.dialogs.close import CloseDialog
from gui.main_window import DEMO_BANNER, MainWindow
from gui.models import LogColumn, PositionColumn, WorkingColumn, fmt_decimal
from gui.widgets import button_rect
from tests.helpers.polling import market_data, until
from tests.helpers.windows import dispose

D = Decimal
QUIET = Preferences(confirm="never", stale_after_s=3600.0)
QFEX_DEMO_ACCOUNT = demo_account_name(QFEX)
EVERSTRIKE_DEMO_ACCOUNT = demo_account_name(EVERSTRIKE)
AAPL = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "AAPL-USD")  # 25 long, liquidity 500
MSFT = PositionKey(QFEX_DEMO_ACCOUNT, QFEX, "MSFT-USD")  # 6 short
ETH = PositionKey(EVERSTRIKE_DEMO_ACCOUNT, EVERSTRIKE, "USD_ETH_PERP")  # 3.5 short


@dataclass
class Live:
    sim: Simulator
    desk: Desk
    window: MainWindow
    journal: Journal


@pytest_asyncio.fixture
async def live(qapp: QApplication) -> AsyncIterator[Live]:
    sim = Simulator(tick_interval=None)
    info = sim.start()
    journal = Journal(":memory:")
    desk = Desk(journal=journal)
    # These tests are about the window and the wire: confirmations off, and the simulator does
    # not tick, so rows would otherwise go stale (and ask) after 5 s of quiet. The close
    # workflow's own tests (test_close_workflow.py) cover both.
    window = MainWindow(desk, demo=True, coalesce_ms=20, preferences=QUIET)
    window.show()
    assert isinstance(asyncio.get_running_loop(), qasync.QEventLoop)
    try:
        failed = await desk.start(demo_accounts(info))
        assert failed == []
        await until(lambda: {k.venue for k in window.positions_model.all_keys()}
                    == {QFEX, EVERSTRIKE}, what="positions from both venues")
        await market_data(desk)
        yield Live(sim, desk, window, journal)
    finally:
        await window.shutdown()
        await desk.stop()
        sim.stop()
        journal.close()
        dispose(window)



def closes(received: list[Received]) -> list[Received]:
    """Requests that could close something: QFEX order frames, Everstrike order/close posts."""
    out = []
    for r in list(received):
        ws_close = r.channel == "ws" and ('"close_position"' in r.body or '"add_order"' in r.body)
        http_close = r.channel == "http" and r.path.split("?")[0] in ("/auth/close", "/auth/order")
        if ws_close or http_close:
            out.append(r)
    return out


def click_close(qtbot: QtBot, window: MainWindow, key: PositionKey) -> CloseDialog:
    view = window.positionsView
    index = window.proxy_index(key, PositionColumn.ACTION)
    assert index.isValid()
    view.scrollTo(index)
    rect = view.visualRect(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=button_rect(rect).center())
    dialog = window.dialogs.get(key)
    assert dialog is not None, "the Close button did not open the dialog"
    return dialog


def log_rows(window: MainWindow, symbol: str) -> list[dict[LogColumn, str]]:
    model = window.log_model
    rows = []
    for r in range(model.rowCount()):
        row = {c: model.data(model.index(r, c)) for c in LogColumn}
        if row[LogColumn.SYMBOL] == symbol:
            rows.append(row)
    return rows


def _is_number(text: str | None) -> bool:
    try:
        return text is not None and D(text.replace(",", "")).is_finite()
    except ArithmeticError:
        return False


def shown(window: MainWindow, key: PositionKey, column: PositionColumn) -> str | None:
    index = window.proxy_index(key, column)
    return index.data() if index.isValid() else None


# ============================================================================ the window


@pytest.mark.asyncio
async def test_window_shows_both_venues_connected_with_demo_banner(live: Live) -> None:
    w = live.window
    assert w.objectName() == "mainWindow"
    assert w.demoBanner.isVisible()
    assert w.demoBanner.text() == DEMO_BANNER
    model = w.positions_model
    assert model.rowCount() == len(live.desk.positions)
    assert D(shown(w, AAPL, PositionColumn.QUANTITY) or "0") == 25
    assert shown(w, AAPL, PositionColumn.SIDE) == "Long"
    assert shown(w, AAPL, PositionColumn.ACTION) == "Close"
    badges = w.connectionStrip.badges
    await until(lambda: all(b.state is ConnectionState.CONNECTED for b in badges.values()))
    assert set(badges) == {QFEX_DEMO_ACCOUNT, EVERSTRIKE_DEMO_ACCOUNT}
    assert badges[QFEX_DEMO_ACCOUNT].label.text() == f"{QFEX_DEMO_ACCOUNT}: connected"

    def kinds() -> set[tuple[object, object]]:
        return {(r[LogColumn.KIND], r[LogColumn.STATUS]) for r in (
            {c: w.log_model.data(w.log_model.index(i, c)) for c in LogColumn}
            for i in range(w.log_model.rowCount()))}

    # The log gathers lines for a moment before it shows them.
    await until(lambda: ("Connection", "CONNECTED") in kinds(), what="the connected line")


@pytest.mark.asyncio
async def test_rows_reprice_in_place_as_marks_move(live: Live) -> None:
    w = live.window
    row_before = w.positions_model.row_of(AAPL)
    # The first mark comes over its own stream and may land after the rows: wait for it, so
    # the change seen below is the one this test makes (the simulator does not tick here).
    await until(lambda: _is_number(shown(w, AAPL, PositionColumn.MARK)),
                what="the first AAPL mark")
    mark_before = shown(w, AAPL, PositionColumn.MARK)
    market = live.sim.qfex.market
    new_mark = D("240.00")
    assert D(mark_before or "0") != new_mark
    live.sim.call(lambda: market.set_mark("AAPL-USD", new_mark))
    await until(lambda: shown(w, AAPL, PositionColumn.MARK) not in (None, mark_before),
                what="the new AAPL mark")
    assert D(shown(w, AAPL, PositionColumn.MARK) or "0") == new_mark
    assert w.positions_model.row_of(AAPL) == row_before
    assert D(shown(w, AAPL, PositionColumn.PNL) or "0") == (new_mark - D("221.40")) * 25


@pytest.mark.asyncio
async def test_enter_on_a_selected_row_opens_the_dialog(qtbot: QtBot, live: Live) -> None:
    w = live.window
    view = w.positionsView
    index = w.proxy_index(MSFT, PositionColumn.SYMBOL)
    view.setFocus()
    view.setCurrentIndex(index)
    qtbot.keyClick(view, Qt.Key.Key_Return)
    dialog = w.dialogs.get(MSFT)
    assert dialog is not None
    assert dialog.isVisible()
    assert dialog.position.key == MSFT
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    await until(lambda: MSFT not in w.dialogs, what="the dialog to go")
    assert closes(live.sim.qfex.received) == []


@pytest.mark.asyncio
async def test_close_button_has_an_accessible_name(live: Live) -> None:
    index = live.window.proxy_index(ETH, PositionColumn.ACTION)
    assert index.data(Qt.ItemDataRole.AccessibleTextRole) == (
        f"Close USD_ETH_PERP on {EVERSTRIKE_DEMO_ACCOUNT}")


@pytest.mark.asyncio
async def test_failed_connection_shows_red_with_the_reason(qapp: QApplication) -> None:
    sim = Simulator(tick_interval=None)
    info = sim.start()
    desk = Desk()
    window = MainWindow(desk, secrets_problem="no system keyring is available")
    window.show()
    try:
        qfex_account, creds = next(p for p in demo_accounts(info) if p[0].venue is QFEX)
        bad = Credentials(creds.public_key, "not-the-secret")
        failed = await desk.start([(replace(qfex_account, name="Bad key"), bad)])
        assert failed == ["Bad key"]
        badge = window.connectionStrip.badges["Bad key"]
        assert badge.state is ConnectionState.FAILED
        assert badge.message
        assert badge.message in badge.toolTip()
        assert badge.label.text() == "Bad key: failed · QFEX refused the API key or signature"
        assert not window.demoBanner.isVisible()
        assert window.secretsWarning.isVisible()
        text = window.secretsWarning.text()
        assert "Credentials can't be saved (no system keyring is available)" in text
        assert "in memory for this session only" in text
    finally:
        await window.shutdown()
        await desk.stop()
        sim.stop()
        dispose(window)


# ============================================================================ closing


@pytest.mark.asyncio
async def test_full_close_of_a_qfex_row_from_its_button(qtbot: QtBot, live: Live) -> None:
    w = live.window
    dialog = click_close(qtbot, w, AAPL)
    assert dialog.isVisible()
    assert dialog.quantityInput.text() == shown(w, AAPL, PositionColumn.QUANTITY)
    assert dialog.validationMessage.text() == ""

    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task
    assert not dialog.isVisible()  # sent: the dialog closes; the row tells the rest

    await until(lambda: w.positions_model.row_of(AAPL) is None, what="the AAPL row to go")
    await until(lambda: {"ACK", "FILLED"} <= {r[LogColumn.STATUS]
                                              for r in log_rows(w, "AAPL-USD")},
                what="ACK and FILLED in the log")
    statuses = [r[LogColumn.STATUS] for r in log_rows(w, "AAPL-USD")
                if r[LogColumn.KIND] == "Order"]
    assert statuses.index("ACK") < statuses.index("FILLED")
    filled = next(r for r in log_rows(w, "AAPL-USD") if r[LogColumn.STATUS] == "FILLED")
    assert filled[LogColumn.RAW_STATUS]  # the venue's own status text travels beside it
    sent = closes(live.sim.qfex.received)
    assert len(sent) == 1
    assert '"close_position"' in sent[0].body
    account = live.sim.account_id("qfex", live.sim.info.qfex.public_key)
    market = live.sim.qfex.market
    assert live.sim.call(lambda: market.position(account, "AAPL-USD").size) == 0


@pytest.mark.asyncio
async def test_half_close_of_an_everstrike_row(qtbot: QtBot, live: Live) -> None:
    w = live.window
    assert D(shown(w, ETH, PositionColumn.QUANTITY) or "0") == D("3.5")
    dialog = click_close(qtbot, w, ETH)
    qtbot.mouseClick(dialog.presetButtons[50], Qt.MouseButton.LeftButton)
    assert dialog.quantityInput.text() == "1.750"  # the lot (0.001) has three decimals

    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task

    await until(lambda: shown(w, ETH, PositionColumn.QUANTITY) is not None
                and D(shown(w, ETH, PositionColumn.QUANTITY) or "0") == D("1.75"),
                what="the reduced ETH quantity")
    assert shown(w, ETH, PositionColumn.SIDE) == "Short"
    [sent] = closes(live.sim.everstrike.received)
    assert "qty=1.75" in sent.body
    await until(lambda: any(r[LogColumn.KIND] == "Order" for r in log_rows(w, "USD_ETH_PERP")),
                what="the order update in the log")


@pytest.mark.asyncio
async def test_invalid_quantity_sends_nothing(qtbot: QtBot, live: Live) -> None:
    w = live.window
    sim = live.sim
    dialog = click_close(qtbot, w, MSFT)
    dialog.quantityInput.setText("7")  # the position is 6

    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    qtbot.keyClick(dialog.quantityInput, Qt.Key.Key_Return)

    assert "Quantity 7 is more than the position size 6" in dialog.validationMessage.text()
    assert dialog.quantityInput.property("invalid")
    assert dialog.task is None
    assert dialog.isVisible()

    # Prove the wire was quiet: a valid close now must be the first close the venue sees.
    dialog.quantityInput.setText("2")
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task
    await until(lambda: closes(sim.qfex.received), what="the valid close to arrive")
    [sent] = closes(sim.qfex.received)
    assert '"add_order"' in sent.body
    assert "7" not in sent.body.split('"quantity"')[1][:8]
    assert closes(sim.everstrike.received) == []
    await until(lambda: D(shown(w, MSFT, PositionColumn.QUANTITY) or "0") == 4,
                what="the reduced MSFT quantity")


@pytest.mark.asyncio
async def test_button_shows_the_close_state_and_second_click_joins_it(
    qtbot: QtBot, live: Live
) -> None:
    """A limit close far from the mark rests; its row says so and cannot be sent again."""
    w = live.window
    dialog = click_close(qtbot, w, AAPL)
    dialog.limitPriceInput.setText("400.00")  # selling 25 AAPL at 400: rests
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task
    # The resting close is also a working order, and the button says so.
    await until(lambda: shown(w, AAPL, PositionColumn.ACTION) == "Resting limit · 1 working",
                what="the Resting label with its working-order marker")
    index = w.proxy_index(AAPL, PositionColumn.ACTION)
    assert "Resting" in index.data(Qt.ItemDataRole.ToolTipRole)
    [order] = w.working_model.orders_for(AAPL)
    assert (order.price, order.remaining) == (D(400), D(25))
    # The venue's own digits (QFEX sends JSON numbers such as 25.0), as everywhere else.
    assert (f"Limit sell {fmt_decimal(order.remaining)} @ {fmt_decimal(order.price)}"
            in index.data(Qt.ItemDataRole.ToolTipRole))
    assert len(closes(live.sim.qfex.received)) == 1
    await until(lambda: AAPL not in w.dialogs, what="the first dialog to go")
    # Resting is not in flight, so a second click opens a new dialog; nothing is sent by it.
    second = click_close(qtbot, w, AAPL)
    assert second is not dialog
    qtbot.keyClick(second, Qt.Key.Key_Escape)
    assert len(closes(live.sim.qfex.received)) == 1


@pytest.mark.asyncio
async def test_second_click_while_in_flight_sends_nothing(qtbot: QtBot, live: Live) -> None:
    """The venue goes quiet after the close is written: the row says Sending…, and another
    click explains instead of opening a second close."""
    w = live.window
    live.sim.qfex.faults.silent = True
    dialog = click_close(qtbot, w, MSFT)
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task
    await until(lambda: closes(live.sim.qfex.received), what="the close to arrive")
    assert shown(w, MSFT, PositionColumn.ACTION) == "Sending…"
    await until(lambda: MSFT not in w.dialogs, what="the first dialog to go")

    view = w.positionsView
    rect = view.visualRect(w.proxy_index(MSFT, PositionColumn.ACTION))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=button_rect(rect).center())

    assert MSFT not in w.dialogs
    assert "already sending — nothing new was sent" in w.statusBar().currentMessage()
    assert w.selected_key() == MSFT  # the pending close is brought into view
    assert w.positions_model.flashing(MSFT)
    assert len(closes(live.sim.qfex.received)) == 1
    live.sim.qfex.faults.silent = False


@pytest.mark.asyncio
async def test_log_follows_new_lines_only_at_the_bottom(live: Live) -> None:
    w = live.window
    model = w.log_model
    view = w.logView
    for _ in range(200):
        model.append_event(ack())
    model.flush()
    await asyncio.sleep(0)
    assert view.at_bottom()
    view.verticalScrollBar().setValue(0)
    for _ in range(20):
        model.append_event(ack())
    model.flush()
    assert view.verticalScrollBar().value() == 0
    view.scrollToBottom()
    for _ in range(20):
        model.append_event(ack())
    model.flush()
    assert view.at_bottom()


def ack() -> OrderUpdate:
    return OrderUpdate(QFEX, QFEX_DEMO_ACCOUNT, "AAPL-USD", OrderStatus.ACK, "ACK", False)


# ============================================================================ working orders


def cancels(live: Live, venue: Venue) -> list[Received]:
    """Cancel requests the simulator received: QFEX cancel frames, Everstrike /auth/cancel."""
    if venue is QFEX:
        return [r for r in list(live.sim.qfex.received) if r.channel == "ws"
                and ('"cancel_order"' in r.body or '"cancel_stop_order"' in r.body)]
    return [r for r in list(live.sim.everstrike.received)
            if r.channel == "http" and r.path.split("?")[0] == "/auth/cancel"]


def working_idents(w: MainWindow, key: PositionKey) -> list[tuple[str, str]]:
    return [o.ident for o in w.working_model.orders_for(key)]


def click_cancel(qtbot: QtBot, w: MainWindow, ident: tuple[str, str]) -> None:
    w.bottomTabs.setCurrentWidget(w.workingOrdersView)
    view = w.workingOrdersView
    row = w.working_model.row_of(ident)
    assert row is not None
    index = w.working_model.index(row, WorkingColumn.ACTION)
    view.scrollTo(index)
    rect = view.visualRect(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=button_rect(rect).center())


async def rest_a_close(qtbot: QtBot, live: Live, key: PositionKey, kind: WorkingKind,
                       ) -> tuple[str, str]:
    """Send a close from the dialog that cannot fill now, and return its working order."""
    w = live.window
    position = live.desk.positions[key]
    mark = position.mark_price
    assert mark is not None
    # Far on the side that rests: a limit away from the book, a trigger on the losing side.
    far_down = (mark / 2).quantize(D(1))
    far_up = (mark * 2).quantize(D(1))
    dialog = click_close(qtbot, w, key)
    if kind is WorkingKind.LIMIT:
        selling = position.side.closing_side.value == "SELL"
        dialog.limitPriceInput.setText(str(far_up if selling else far_down))
    else:
        losing_side = far_down if position.side.value == "LONG" else far_up
        dialog.triggerPriceInput.setText(str(losing_side))
    assert dialog.validationMessage.text() == "", dialog.validationMessage.text()
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task
    await until(lambda: any(w.working_model.order(i) is not None
                            and w.working_model.order(i).kind is kind  # type: ignore[union-attr]
                            for i in working_idents(w, key)),
                what=f"the resting {kind.value} close in Working orders")
    [ident] = working_idents(w, key)
    return ident


@pytest.mark.parametrize("kind", [WorkingKind.LIMIT, WorkingKind.TRIGGER])
@pytest.mark.parametrize("key", [AAPL, ETH], ids=["qfex", "everstrike"])
@pytest.mark.asyncio
async def test_cancel_a_resting_close_from_working_orders(
    qtbot: QtBot, live: Live, key: PositionKey, kind: WorkingKind
) -> None:
    w = live.window
    ident = await rest_a_close(qtbot, live, key, kind)
    assert w.bottomTabs.tabText(1) == "Working orders (1)"
    row = w.working_model.row_of(ident)
    assert row is not None
    shown_kind = w.working_model.index(row, WorkingColumn.KIND).data()
    assert shown_kind == ("Limit" if kind is WorkingKind.LIMIT else "Trigger")
    if kind is WorkingKind.TRIGGER:
        assert w.working_model.index(row, WorkingColumn.TRIGGER).data().endswith(" Mark")
    marker = shown(w, key, PositionColumn.ACTION)
    assert marker is not None and marker.endswith("· 1 working")
    assert cancels(live, key.venue) == []

    click_cancel(qtbot, w, ident)
    assert w.working_model.index(row, WorkingColumn.ACTION).data() == "Cancelling…"
    click_cancel(qtbot, w, ident)  # impatient second click: joins the first

    await until(lambda: w.working_model.row_of(ident) is None, what="the row to go")
    await w.tracker.join(timeout=10)
    assert len(cancels(live, key.venue)) == 1
    assert w.bottomTabs.tabText(1) == "Working orders (0)"
    assert not (shown(w, key, PositionColumn.ACTION) or "").endswith("working")
    assert live.desk.working_orders == {}
    # The position itself is untouched: only the resting close went away.
    assert live.desk.positions[key].quantity == D("25" if key == AAPL else "3.5")


# ============================================================================ outage and health


@pytest.mark.asyncio
async def test_dropped_qfex_connection_greys_its_rows_until_it_is_back(
    qtbot: QtBot, live: Live
) -> None:
    """The simulator drops QFEX's trade socket on the next close, before any reply: QFEX rows
    go stale (and the close unknown) while Everstrike's stay live; the session reconnects on
    its own and the rows come back."""
    w = live.window
    model = w.positions_model
    qfex_rows = {model.row_of(k) for k in model.all_keys() if k.account == QFEX_DEMO_ACCOUNT}
    changed: set[int] = set()
    model.dataChanged.connect(
        lambda top, bottom, roles: changed.update(range(top.row(), bottom.row() + 1))
        if Qt.ItemDataRole.FontRole in roles else None)
    live.sim.qfex.faults.drop_next(1, execute=False)
    dialog = click_close(qtbot, w, MSFT)
    dialog.quantityInput.setText("1")
    qtbot.mouseClick(dialog.sendButton, Qt.MouseButton.LeftButton)
    assert dialog.task is not None
    await dialog.task

    await until(lambda: model.stale_reason(QFEX_DEMO_ACCOUNT) is not None,
                what="the QFEX rows to go stale")
    reason = model.stale_reason(QFEX_DEMO_ACCOUNT) or ""
    assert reason.startswith("Stale: QFEX disconnected since ")
    assert reason.endswith(" — numbers may be out of date")
    index = w.proxy_index(AAPL, PositionColumn.MARK)
    assert index.data(Qt.ItemDataRole.ToolTipRole) == reason
    assert index.data(Qt.ItemDataRole.FontRole).italic()
    assert w.proxy_index(ETH, PositionColumn.MARK).data(Qt.ItemDataRole.ToolTipRole) is None
    assert changed == qfex_rows  # only QFEX's rows were repainted
    badge = w.connectionStrip.badges[QFEX_DEMO_ACCOUNT]
    assert badge.property("tone") in ("bad", "warn")  # down, or already retrying

    await until(lambda: badge.state is ConnectionState.CONNECTED, what="the reconnect")
    await until(lambda: model.stale_reason(QFEX_DEMO_ACCOUNT) is None, what="live rows")
    assert w.proxy_index(AAPL, PositionColumn.MARK).data(Qt.ItemDataRole.ToolTipRole) is None
    assert badge.property("tone") == "good"
    assert len(closes(live.sim.qfex.received)) == 1  # the unknown close was never resent


@pytest.mark.asyncio
async def test_badges_show_the_sessions_health(live: Live) -> None:
    w = live.window
    w.refresh_health()
    qfex = w.connectionStrip.badges[QFEX_DEMO_ACCOUNT].toolTip()
    ever = w.connectionStrip.badges[EVERSTRIKE_DEMO_ACCOUNT].toolTip()
    assert "Last message: " in qfex
    assert "Rate headroom: " in qfex  # QFEX's documented budget, tracked client-side
    assert "Clock skew: " in qfex  # read from the Date header of its REST replies
    assert "REST round trip: " in ever
    assert "Clock skew: " in ever  # measured against GET /time on connect
