"""Outcomes in the status bar: shown whole, the recent ones a click away; the keyring notice only
when a secret is needed, and dismissible; an acknowledged trigger says so."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import time
from collections.abc import Iterator

import keyring
import keyring.backends.fail
import pytest
import shiboken6
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMenu
from pytestqt.qtbot import QtBot

import core.secrets
from core.desk import Desk
from core.journal import Journal
from core.model import WorkingKind
from core.settings import Settings
from gui.main_window import MainWindow
from gui.widgets.outcomes import OUTCOMES_KEPT, OutcomeBar, fmt_time
from tests.gui.test_end_to_end import ETH, Live, live, rest_a_close  # noqa: F401 - the fixture
from tests.helpers.polling import until

LONG = ("Close of USD_BTC_PERP on Everstrike demo sent; waiting for the venue's reply. "
        "The venue may take a while on a busy day, and every word of this must stay readable.")


def _bar(window: MainWindow) -> OutcomeBar:
    bar = window.statusBar()
    assert isinstance(bar, OutcomeBar)
    return bar


@pytest.fixture
def window(qapp: QApplication) -> Iterator[MainWindow]:
    clock = iter(range(1_700_000_000, 1_700_100_000, 7))
    w = MainWindow(Desk(), demo=True, history_poll_ms=3_600_000,
                   wall_clock=lambda: float(next(clock)))
    w.show()
    yield w
    w.healthTimer.stop()
    w.historyView.shutdown()
    w.close()
    shiboken6.delete(w)


def test_a_long_outcome_is_shown_whole_in_a_narrow_window(window: MainWindow) -> None:
    window.resize(window.minimumSizeHint().width(), 500)
    bar = _bar(window)
    bar.showMessage(LONG, 8000)
    QApplication.processEvents()
    label = bar.outcomeLabel
    assert window.statusBar().currentMessage() == LONG
    assert label.isVisible() and label.text() == LONG and label.toolTip() == LONG
    # Wrapped, not cut: the label is as tall as its whole text needs at its width.
    assert label.height() >= label.heightForWidth(label.width())
    assert label.geometry().right() <= bar.width()
    assert bar.recentButton.geometry().left() > label.geometry().right()
    # Nothing else in the status bar takes its room.
    assert [w for w in bar.findChildren(type(label)) if w.isVisible()] == [label]


# A popup menu on the offscreen platform: it can neither raise nor grab the keyboard there.
OFFSCREEN_POPUP = ("This plugin does not support raise", "does not support grabbing the keyboard")


@pytest.mark.qt_log_ignore(*OFFSCREEN_POPUP)
@pytest.mark.asyncio
async def test_the_last_twenty_outcomes_are_one_click_away(
    window: MainWindow, qtbot: QtBot
) -> None:
    bar = _bar(window)
    assert not bar.recentButton.isEnabled()
    for i in range(OUTCOMES_KEPT + 5):
        bar.showMessage(f"outcome {i}", 8000)
    assert bar.recentButton.text() == f"Recent ({OUTCOMES_KEPT})"
    qtbot.mouseClick(bar.recentButton, Qt.MouseButton.LeftButton)
    menu = bar.findChild(QMenu, "recentOutcomesMenu")
    assert menu is not None
    await until(menu.isVisible, what="the recent outcomes")
    lines = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert lines[-1] == "Copy all"
    shown = lines[:-1]
    newest_first = list(reversed(bar.history))
    assert len(shown) == OUTCOMES_KEPT
    assert shown == [f"{fmt_time(o.at)}  {o.text}" for o in newest_first]
    assert shown[0].endswith(f"outcome {OUTCOMES_KEPT + 4}")
    assert shown[-1].endswith("outcome 5")
    assert shown[0].startswith(time.strftime("%H:%M:%S", time.localtime(newest_first[0].at)))
    # Choosing one copies it.
    menu.actions()[0].trigger()
    assert QApplication.clipboard().text() == shown[0]
    menu.hide()


class _Counted(core.secrets.SecretStore):
    made = 0

    def __init__(self) -> None:
        type(self).made += 1
        super().__init__()


@pytest.mark.asyncio
async def test_demo_mode_says_nothing_of_the_keyring_until_a_secret_is_needed(
    qapp: QApplication, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's own start in demo mode (the simulator, the desk, the window): the keyring is
    never touched and never mentioned, however long the session runs, until the Accounts
    dialog needs it; then its notice shows, and goes for good with Dismiss."""
    import core.demo
    import gui.launch

    keyring.set_keyring(keyring.backends.fail.Keyring())  # conftest restores the previous one
    monkeypatch.setattr(core.secrets, "SecretStore", _Counted)
    _Counted.made = 0
    settled = asyncio.Event()
    monkeypatch.setattr(gui.launch, "SETTLE_AFTER_MS", 0)
    monkeypatch.setattr(gui.launch, "settle_memory", settled.set)
    monkeypatch.setattr(Journal, "open_default", classmethod(
        lambda cls, demo, **_: cls(":memory:")))
    sim: concurrent.futures.Future[object] = concurrent.futures.Future()
    sim.set_result(core.demo.start_simulator(seed=7))
    args = argparse.Namespace(screenshot=None, demo=True, seed=7)
    boot = gui.launch.Boot(args, Settings(), None, True, None, sim)  # type: ignore[arg-type]
    run = asyncio.ensure_future(gui.launch.run(qapp, boot))
    windows = lambda: [w for w in qapp.topLevelWidgets()  # noqa: E731
                       if isinstance(w, MainWindow) and w.isVisible()]
    try:
        await until(lambda: bool(windows()), what="the window")
        [w] = windows()
        await until(lambda: w.positions_model.rowCount() > 0, what="the demo rows")
        await settled.wait()  # the accounts are up and the start has settled
        turn = asyncio.get_running_loop().create_future()
        QTimer.singleShot(0, lambda: turn.set_result(None))
        await turn  # whatever the start scheduled with the settling has run
        await w.tracker.join(timeout=5)
        assert _Counted.made == 0
        assert w.secretsWarning.isHidden()
        assert "Credentials" not in _bar(w).currentMessage()

        w.accountsAction.trigger()  # File → Accounts…: saving a secret needs the keyring
        assert _Counted.made == 1
        assert w.secretsWarning.isVisible()
        assert "Credentials can't be saved" in w.secretsWarning.text()
        qtbot.mouseClick(w.secretsWarning.dismissButton, Qt.MouseButton.LeftButton)
        assert w.secretsWarning.isHidden()
        dialog = w.accountsDialog
        assert dialog is not None
        dialog.reject()
        w.accountsAction.trigger()  # opened again: the notice stays dismissed
        assert w.secretsWarning.isHidden()
        dialog.reject()
        w.close()
        assert await run == 0
    finally:
        if not run.done():
            for w in windows():
                w.close()
            await asyncio.wait({run}, timeout=10)


@pytest.mark.asyncio
async def test_an_acknowledged_trigger_says_it_rests_not_that_it_is_sending(
    qtbot: QtBot, live: Live  # noqa: F811 - the fixture
) -> None:
    w = live.window
    await rest_a_close(qtbot, live, ETH, WorkingKind.TRIGGER)
    bar = _bar(w)
    await until(lambda: "resting at the venue until it triggers" in bar.currentMessage(),
                what="the trigger's acknowledgement in the status bar")
    assert bar.currentMessage() == (
        f"Trigger close of {ETH.symbol} on {ETH.account} acknowledged: resting at the venue "
        "until it triggers (Working orders).")
    said = [o.text for o in bar.history]
    assert not any("sending" in t for t in said), said
