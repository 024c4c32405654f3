"""The window from the keyboard: menu mnemonics that do not clash, Tab that leaves tables, keys
to go to each pane, Delete to cancel a working order (asked first, sent once, journaled),
Ctrl+Q that asks while orders are working, and F1's help generated from the bound keys."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QDialog,
    QLabel,
    QMessageBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.journal import Journal
from core.venue import AccountConfig, Credentials, EventSink
from core.venues.everstrike import EVERSTRIKE
from gui.controllers.keyboard import CANCEL_REASON
from gui.controllers.shortcuts import WIDGET_KEYS, WINDOW_SHORTCUTS
from gui.main_window import MainWindow
from gui.models import CancelState, WorkingColumn
from tests.gui.test_window_fake_desk import ALPHA, BETA, limit_order, trigger_order
from tests.helpers.fakes import FakeSession, account, position
from tests.helpers.polling import until
from tests.helpers.windows import shut

NATIVE = QKeySequence.SequenceFormat.NativeText


@dataclass
class Rig:
    desk: Desk
    window: MainWindow
    sessions: dict[str, FakeSession]
    journal: Journal


@pytest_asyncio.fixture
async def rig(qapp: QApplication) -> AsyncIterator[Rig]:
    sessions: dict[str, FakeSession] = {}

    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        if acct.name == ALPHA:
            s.initial = (position("AAPL-USD", acct=ALPHA), position("MSFT-USD", acct=ALPHA))
            s.working = (limit_order("q-1"), limit_order("q-2"))
        else:
            s.initial = (position("USD_ETH_PERP", acct=BETA, venue=EVERSTRIKE),)
            s.working = (trigger_order("e-1"),)
        sessions[acct.name] = s
        return s

    journal = Journal(":memory:")
    desk = Desk(session_factory=factory, journal=journal)
    window = MainWindow(desk, coalesce_ms=5, health_interval_ms=3_600_000,
                        history_poll_ms=3_600_000)
    window.show()
    window.activateWindow()
    try:
        creds = Credentials("pub", "sec")
        assert await desk.start([(account(ALPHA), creds),
                                 (account(BETA, EVERSTRIKE), creds)]) == []
        window.bridge.flush()
        window.positions_model.flush()
        assert window.working_model.rowCount() == 3
        await until(lambda: QApplication.activeWindow() is window, what="the window active")
        yield Rig(desk, window, sessions, journal)
    finally:
        await shut(window, desk)
        journal.close()


async def activate(w: MainWindow) -> None:
    w.activateWindow()
    await until(lambda: QApplication.activeWindow() is w, what="the window active")


def focus(w: MainWindow) -> QWidget | None:
    return w.focusWidget()


# ============================================================================ mnemonics


def _mnemonic(text: str) -> str | None:
    found = re.search(r"&([^&])", text.replace("&&", ""))
    return found.group(1).upper() if found else None


# A popup menu on the offscreen platform: it can neither raise nor grab the keyboard there.
OFFSCREEN_POPUP = ("This plugin does not support raise", "does not support grabbing the keyboard")


@pytest.mark.qt_log_ignore(*OFFSCREEN_POPUP)
@pytest.mark.asyncio
async def test_alt_f_opens_file_even_while_history_is_shown(rig: Rig, qtbot: QtBot) -> None:
    w = rig.window
    w.bottomTabs.setCurrentWidget(w.historyView)
    assert w.historyView.isVisible()
    # No visible control takes a menu's letter.
    menus = {_mnemonic(a.text()) for a in w.menuBar().actions()} - {None}
    controls = [b for b in w.findChildren(QAbstractButton) if b.isVisible()]
    controls += [lab for lab in w.findChildren(QLabel) if lab.buddy() is not None
                 and lab.isVisible()]
    taken = {_mnemonic(c.text()): c.text() for c in controls}
    assert not menus & set(taken), {m: taken[m] for m in menus & set(taken)}

    qtbot.keyClick(w, Qt.Key.Key_F, Qt.KeyboardModifier.AltModifier)
    await until(w.fileMenu.isVisible, what="the File menu")
    w.fileMenu.hide()


# ============================================================================ Tab


@pytest.mark.asyncio
async def test_tab_and_shift_tab_leave_every_table(rig: Rig, qtbot: QtBot) -> None:
    w = rig.window
    for page, view in ((w.logPane, w.logView), (w.workingOrdersView, w.workingOrdersView),
                       (w.historyView, w.historyView.table), (None, w.positionsView)):
        if page is not None:
            w.bottomTabs.setCurrentWidget(page)
        model = view.model()
        if model.rowCount():
            view.setCurrentIndex(model.index(0, 0))
        for key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            view.setFocus()
            assert focus(w) is view
            modifiers = (Qt.KeyboardModifier.ShiftModifier if key == Qt.Key.Key_Backtab
                         else Qt.KeyboardModifier.NoModifier)
            qtbot.keyClick(view, key, modifiers)
            assert focus(w) is not view, (view.objectName(), key)


# ============================================================================ go to a pane


@pytest.mark.asyncio
async def test_keys_go_to_positions_log_working_orders_and_history(
    rig: Rig, qtbot: QtBot
) -> None:
    w = rig.window
    w.positionsView.setFocus()
    for digit, page, target in (
        (Qt.Key.Key_2, w.logPane, w.logView),
        (Qt.Key.Key_3, w.workingOrdersView, w.workingOrdersView),
        (Qt.Key.Key_4, w.historyView, w.historyView.table),
        (Qt.Key.Key_1, None, w.positionsView),
    ):
        qtbot.keyClick(focus(w) or w, digit, Qt.KeyboardModifier.AltModifier)
        if page is not None:
            assert w.bottomTabs.currentWidget() is page
        assert focus(w) is target, (digit, focus(w))


# ============================================================================ Delete


@pytest.mark.asyncio
async def test_delete_cancels_the_selected_working_order_after_asking_once(
    rig: Rig, qtbot: QtBot
) -> None:
    w = rig.window
    alpha = rig.sessions[ALPHA]
    alpha.release.clear()  # the venue holds its answer: the cancel stays out
    w.bottomTabs.setCurrentWidget(w.workingOrdersView)
    view = w.workingOrdersView
    row = w.working_model.row_of((ALPHA, "q-2"))
    assert row is not None
    index = w.working_model.index(row, WorkingColumn.SYMBOL)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton,
                     pos=view.visualRect(index).center())
    assert view.hasFocus() or focus(w) is view

    qtbot.keyClick(view, Qt.Key.Key_Delete)
    box = w.keyboard.confirm
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "q-2" in box.text() and "AAPL-USD" in box.text()
    assert alpha.cancelled == []  # nothing before the answer
    [keep] = [b for b in box.buttons() if b.text() == "Keep it"]
    qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    await until(lambda: w.keyboard.confirm is None, what="the question to go")
    assert alpha.cancelled == []
    await activate(w)

    qtbot.keyClick(view, Qt.Key.Key_Delete)
    box = w.keyboard.confirm
    assert box is not None
    [yes] = [b for b in box.buttons() if b.text() == "Cancel the order"]
    qtbot.mouseClick(yes, Qt.MouseButton.LeftButton)
    await until(lambda: len(alpha.cancelled) == 1, what="the cancel to be sent")
    assert [o.order_id for o in alpha.cancelled] == ["q-2"]
    assert w.working_model.cancel_state((ALPHA, "q-2")) is CancelState.CANCELLING

    # Delete again while it is out: no question, nothing sent, and the bar says why.
    await activate(w)  # as the window manager does when the question goes
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Delete)
    assert w.keyboard.confirm is None
    assert "already on its way" in w.statusBar().currentMessage()
    alpha.release.set()
    await until(lambda: w.working_model.row_of((ALPHA, "q-2")) is None,
                what="the cancelled order to go")
    assert [o.order_id for o in alpha.cancelled] == ["q-2"]
    await rig.desk.journaled()
    records = [r for r in rig.journal.records(limit=10_000)
               if r.kind == "request" and r.reason == CANCEL_REASON]
    assert len(records) == 1 and "CANCEL q-2" in records[0].payload


# ============================================================================ Ctrl+Q


@pytest.mark.asyncio
async def test_ctrl_q_asks_first_and_lists_the_working_orders(rig: Rig, qtbot: QtBot) -> None:
    w = rig.window
    closed: list[bool] = []
    w.closed.connect(lambda: closed.append(True))
    qtbot.keyClick(w.positionsView, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    box = w.quitting.question
    assert isinstance(box, QMessageBox) and box.isVisible()
    text = box.text()
    assert "3 orders are still working" in text
    for order_id, symbol, acct in (("q-1", "AAPL-USD", ALPHA), ("q-2", "AAPL-USD", ALPHA),
                                   ("e-1", "USD_ETH_PERP", BETA)):
        assert f"{symbol} on {acct}" in text and f"(order {order_id})" in text
    [stay] = [b for b in box.buttons() if b.text() == "Keep running"]
    qtbot.mouseClick(stay, Qt.MouseButton.LeftButton)
    await until(lambda: w.quitting.question is None, what="the question to go")
    assert w.isVisible() and closed == []
    await activate(w)

    qtbot.keyClick(w.positionsView, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    box = w.quitting.question
    assert box is not None
    [leave] = [b for b in box.buttons() if b.text() == "Quit anyway"]
    qtbot.mouseClick(leave, Qt.MouseButton.LeftButton)
    await until(lambda: closed == [True], what="the window to close")
    assert not w.isVisible()


@pytest.mark.asyncio
async def test_ctrl_q_quits_at_once_with_no_working_orders(qapp: QApplication,
                                                           qtbot: QtBot) -> None:
    window = MainWindow(Desk(), demo=True, history_poll_ms=3_600_000)
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    window.show()
    window.activateWindow()
    try:
        await until(lambda: QApplication.activeWindow() is window, what="the window active")
        qtbot.keyClick(window.positionsView, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        assert closed == [True] and window.quitting.question is None
    finally:
        await shut(window)


# ============================================================================ F1


def _bound_keys(w: MainWindow) -> set[str]:
    """Every key bound by a QAction or QShortcut of the window, outside its dialogs."""
    keys: set[str] = set()
    objects: list[QAction | QShortcut] = [*w.findChildren(QAction), *w.findChildren(QShortcut)]
    for obj in objects:
        node = obj.parent()
        in_dialog = False
        while node is not None and node is not w:
            in_dialog = in_dialog or isinstance(node, QDialog)
            node = node.parent()
        if in_dialog:
            continue
        sequences = obj.shortcuts() if isinstance(obj, QAction) else obj.keys()
        keys |= {k.toString(NATIVE) for k in sequences if not k.isEmpty()}
    return keys


@pytest.mark.asyncio
async def test_f1_help_lists_exactly_the_keys_the_window_binds(rig: Rig, qtbot: QtBot) -> None:
    w = rig.window
    # Every key of the registry is bound, on the object it names.
    for shortcut in WINDOW_SHORTCUTS:
        action = w.findChild(QAction, shortcut.name)
        assert action is not None, shortcut.name
        assert action.shortcut() == QKeySequence(shortcut.keys), shortcut.name

    qtbot.keyClick(w.positionsView, Qt.Key.Key_F1)
    help_dialog = w.keyboardHelp
    assert help_dialog is not None and help_dialog.isVisible()
    label = help_dialog.findChild(QLabel, "keyboardHelpText")
    assert label is not None
    listed = re.findall(r"<b>(.*?)</b>", label.text())
    bound = _bound_keys(w)
    widget_keys = [k for k, _ in WIDGET_KEYS]
    assert set(listed) == bound | set(widget_keys)
    assert len(listed) == len(bound) + len(widget_keys)  # each once
    for key in ("Ctrl+Q", "F1", "Del", "Ctrl+Shift+C", "Alt+1", "Alt+4"):
        assert QKeySequence(key).toString(NATIVE) in listed, key
    help_dialog.reject()
