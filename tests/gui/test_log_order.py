"""The log pane reads by receive time, ties in the order the lines came, and a trigger is one
TRIGGER_ACK line on either venue."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from core.model import OrderStatus, OrderUpdate, PositionKey, WorkingKind
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from gui.main_window import MainWindow
from gui.models import LogColumn, LogModel
from tests.gui.test_end_to_end import AAPL, ETH, Live, live, rest_a_close  # noqa: F401
from tests.gui.test_window_fake_desk import ALPHA, BETA, Rig, rig  # noqa: F401
from tests.helpers.polling import until

D = Decimal
T0 = 1_700_000_000.0


def update(at: float, status: OrderStatus = OrderStatus.ACK, *, account: str = ALPHA,
           symbol: str = "AAPL-USD", message: str = "") -> OrderUpdate:
    venue = QFEX if account == ALPHA else EVERSTRIKE
    return OrderUpdate(venue, account, symbol, status, status.value, False,
                       order_id=f"o-{message}", message=message, received_at=at)


def messages(model: LogModel) -> list[str]:
    return [model.data(model.index(r, LogColumn.MESSAGE)) for r in range(model.rowCount())]


def times(model: LogModel) -> list[str]:
    return [model.data(model.index(r, LogColumn.TIME)) for r in range(model.rowCount())]


def test_lines_are_in_receive_time_order_with_ties_in_arrival_order(
    qapp: QApplication, qtmodeltester: ModelTester
) -> None:
    model = LogModel(coalesce_ms=1)
    qtmodeltester.check(model)
    for at, name in ((T0 + 0.660, "b"), (T0 + 0.680, "d")):
        model.append_event(update(at, message=name))
    model.flush()
    # A later batch: one line received before everything shown, one tied with the newest
    # shown, one between, and two tied with each other, out of order among themselves.
    for at, name in ((T0 + 0.700, "f"), (T0 + 0.600, "a"), (T0 + 0.680, "e"),
                     (T0 + 0.670, "c"), (T0 + 0.700, "g")):
        model.append_event(update(at, message=name))
    model.flush()
    assert messages(model) == ["a", "b", "c", "d", "e", "f", "g"]
    qtmodeltester.check(model)


def test_a_trimmed_log_keeps_its_note_on_top_and_its_lines_in_order(
    qapp: QApplication, qtmodeltester: ModelTester
) -> None:
    model = LogModel(max_rows=10, coalesce_ms=1)
    for i in range(12):
        model.append_event(update(T0 + i, message=f"{i:02d}"))
    model.flush()
    assert model.trimmed and model.is_note(0)
    model.append_event(update(T0 + 5.5, message="late"))
    model.flush()
    shown = messages(model)[1:]
    assert shown.index("late") == shown.index("05") + 1
    assert times(model)[1:] == sorted(times(model)[1:])
    qtmodeltester.check(model)


@pytest.mark.asyncio
async def test_the_log_pane_reads_in_receive_time_order(rig: Rig) -> None:  # noqa: F811
    """Two accounts' updates handled in another order than they were received: the window's
    log pane still lists them by receive time (.660 above .680, never the reverse)."""
    w: MainWindow = rig.window
    view = w.logView
    rig.sessions[BETA].sink(update(T0 + 0.680, account=BETA, symbol="USD_ETH_PERP",
                                   message="second"))
    rig.sessions[ALPHA].sink(update(T0 + 0.660, message="first"))
    model = view.model()

    def order_messages() -> list[str]:
        return [model.index(r, LogColumn.MESSAGE).data() for r in range(model.rowCount())
                if model.index(r, LogColumn.KIND).data() == "Order"]

    await until(lambda: len(order_messages()) == 2, what="both order lines")
    assert order_messages() == ["first", "second"]
    shown = [model.index(r, LogColumn.TIME).data() for r in range(model.rowCount())
             if model.index(r, LogColumn.KIND).data() == "Order"]
    assert shown == sorted(shown) and shown[0].endswith(".660")


def trigger_rows(window: MainWindow, key: PositionKey) -> list[tuple[str, str]]:
    model = window.log_model
    rows = []
    for r in range(model.rowCount()):
        if (model.data(model.index(r, LogColumn.SYMBOL)) == key.symbol
                and model.data(model.index(r, LogColumn.KIND)) == "Order"):
            rows.append((model.data(model.index(r, LogColumn.TIME)),
                         model.data(model.index(r, LogColumn.STATUS))))
    return rows


@pytest.mark.parametrize("key", [AAPL, ETH], ids=["qfex", "everstrike"])
@pytest.mark.asyncio
async def test_one_trigger_is_one_trigger_ack_line(
    qtbot: QtBot, live: Live, key: PositionKey  # noqa: F811 - the imported fixture
) -> None:
    """A trigger placed from the dialog: the venue acknowledges it on two channels (QFEX's
    stop_orders and order_responses; Everstrike's reply and WebSocket), the log shows it once,
    and the journal keeps the repeat as a duplicate."""
    w = live.window
    await rest_a_close(qtbot, live, key, WorkingKind.TRIGGER)

    def repeats() -> list[dict[str, str]]:
        return [json.loads(r.payload) for r in live.journal.records(limit=10_000)
                if r.kind == "duplicate" and r.symbol == key.symbol]

    await until(lambda: any(d["status"] == "TRIGGER_ACK" for d in repeats()),
                what="the repeated acknowledgement in the journal")
    await until(lambda: trigger_rows(w, key), what="the TRIGGER_ACK line")
    w.bridge.flush()  # whatever has come in is in the log now: a second line would show
    w.log_model.flush()
    rows = trigger_rows(w, key)
    assert [status for _, status in rows] == ["TRIGGER_ACK"]
