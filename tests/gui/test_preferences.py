"""File → Preferences… through the real window: every field saved to settings.toml (comments
kept, the old file as .bak), refusals in the file reader's own words with OK disabled, a file
that does not load never saved over, the values back on the next start, and the changes in
effect at once (theme, numbers, confirmations, stale threshold, alerts)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.model import PositionKey, SessionHealth
from core.numbers import set_thousands_separator
from core.settings import (
    Alerts,
    SettingsError,
    load_settings,
    parse_settings,
    previous_path,
)
from core.venue import AccountConfig, Credentials, EventSink
from gui.dialogs.preferences import PreferencesDialog
from gui.main_window import MainWindow
from gui.models import PositionColumn
from gui.theme.follower import drop_theme_follower, theme_follower
from gui.theme.palettes import DARK, LIGHT
from gui.theme.sheet import apply_theme
from tests.gui.conftest import until
from tests.helpers.fakes import FakeSession, account, position
from tests.helpers.windows import shut

ORIGINAL = """# my desk's settings
version = 2

[preferences]  # edited by hand
operator_name = "old"   # who I am
stale_after_s = 5.0
confirm = "always"

# the one account
[[accounts]]
name = "acct"
venue = "qfex"
environment = "demo"
public_key = "pub"
"""
KEY = PositionKey("acct", account().venue, "AAPL-USD")


class FakeScheme(QObject):
    """The desktop's colour scheme, as QStyleHints tells it."""

    colorSchemeChanged = Signal(Qt.ColorScheme)

    def __init__(self) -> None:
        super().__init__()
        self.scheme = Qt.ColorScheme.Light

    def colorScheme(self) -> Qt.ColorScheme:
        return self.scheme

    def switch(self, scheme: Qt.ColorScheme) -> None:
        self.scheme = scheme
        self.colorSchemeChanged.emit(scheme)


@pytest.fixture
def scheme(qapp: QApplication) -> Iterator[FakeScheme]:
    """The app's theme follower on a scheme the test drives; afterwards the app as it was
    (no style sheet, Qt's palette, light table colours, no separators)."""
    palette = qapp.palette()
    source = FakeScheme()
    theme_follower(qapp, "system", scheme=source)
    try:
        yield source
    finally:
        drop_theme_follower()
        apply_theme(qapp, "light")  # every colour the theme sets back to light ...
        qapp.setStyleSheet("")  # ... and the app as the other tests have it
        qapp.setPalette(palette)
        set_thousands_separator(False)


@dataclass
class Rig:
    desk: Desk
    window: MainWindow
    path: Path
    shut: bool = False


async def _window(path: Path) -> tuple[Desk, MainWindow]:
    def factory(acct: AccountConfig, creds: Credentials, sink: EventSink) -> FakeSession:
        s = FakeSession(acct, creds, sink)
        s.health_now = SessionHealth(connected=True)
        s.initial = (position("AAPL-USD", qty="12500", entry="64250.5"),)
        return s

    desk = Desk(session_factory=factory)
    settings = load_settings(path)
    window = MainWindow(desk, settings_path=path, preferences=settings.preferences,
                        coalesce_ms=5, health_interval_ms=3_600_000)
    window.prefs.apply(settings)  # as gui.launch does at start
    window.resize(1100, 600)
    window.show()
    assert await desk.start([(account(), Credentials("pub", "sec"))]) == []
    window.bridge.flush()
    window.positions_model.flush()
    return desk, window


@pytest_asyncio.fixture
async def rig(scheme: FakeScheme, tmp_path: Path) -> AsyncIterator[Rig]:
    path = tmp_path / "settings.toml"
    path.write_text(ORIGINAL, encoding="utf-8")
    desk, window = await _window(path)
    made = Rig(desk, window, path)
    try:
        yield made
    finally:
        if not made.shut:  # a test may have shut it to start again
            await shut(made.window, made.desk)


def _open(window: MainWindow) -> PreferencesDialog:
    window.prefs.action.trigger()
    dialog = window.prefs.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def _type(qtbot: QtBot, field: QWidget, text: str) -> None:
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(field, Qt.Key.Key_Backspace)
    if text:
        qtbot.keyClicks(field, text)


def _tick(qtbot: QtBot, box: QWidget) -> None:
    """Space on a check box, as the keyboard toggles it."""
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Space)


def _cell(window: MainWindow, column: PositionColumn) -> str:
    index = window.proxy_index(KEY, column)
    return str(index.data())


def _background(window: MainWindow) -> QColor:
    """The table's own background: a pixel of the viewport below its only row."""
    view = window.positionsView.viewport()
    image = view.grab().toImage()
    return image.pixelColor(view.width() - 3, view.height() - 3)


@pytest.mark.asyncio
async def test_every_field_is_saved_to_the_file_and_takes_effect_at_once(
        rig: Rig, qtbot: QtBot) -> None:
    w = rig.window
    assert _cell(w, PositionColumn.QUANTITY) == "12500"  # no separators by default
    assert _background(w) == QColor(LIGHT["surface"])
    dialog = _open(w)
    _type(qtbot, dialog.general.operatorName, "j.doe")
    _type(qtbot, dialog.general.staleAfter, "12.5")
    dialog.tabs.setCurrentWidget(dialog.confirm)
    dialog.confirm.policy.setCurrentIndex(dialog.confirm.policy.findData("large_or_live"))
    _type(qtbot, dialog.confirm.largeNotional, "25000")
    dialog.tabs.setCurrentWidget(dialog.alerts)
    for key in ("trigger_fired", "flat_check_failed", "sound"):
        _tick(qtbot, dialog.alerts.boxes[key])
    dialog.tabs.setCurrentWidget(dialog.appearance)
    dialog.appearance.theme.setCurrentIndex(dialog.appearance.theme.findData("dark"))
    _tick(qtbot, dialog.appearance.thousands)
    alerts: list[Alerts] = []
    w.prefs.alertsChanged.connect(alerts.append)
    assert dialog.okButton.isEnabled()
    qtbot.mouseClick(dialog.okButton, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()

    text = rig.path.read_text(encoding="utf-8")
    for line in ("# my desk's settings", "[preferences]  # edited by hand",
                 'operator_name = "j.doe"   # who I am', "# the one account",
                 "stale_after_s = 12.5", 'confirm = "large_or_live"',
                 "large_close_notional = 25000", 'theme = "dark"',
                 "thousands_separator = true", "[alerts]", "trigger_fired = false",
                 "flat_check_failed = false", "sound = true"):
        assert line in text, line
    assert "close_filled" not in text  # a default the file left out stays out
    assert text.index("[alerts]") < text.index("# the one account") < text.index("[[accounts")
    assert previous_path(rig.path).read_text(encoding="utf-8") == ORIGINAL
    saved = load_settings(rig.path)
    assert saved.accounts[0].name == "acct"
    assert saved.preferences.large_close_notional == Decimal(25000)

    # In effect now, without a restart.
    assert w.preferences == saved.preferences
    assert alerts == [Alerts(trigger_fired=False, flat_check_failed=False, sound=True)]
    assert w.alerts.rules.settings == alerts[0]  # the alerts raised from now on follow it
    assert _cell(w, PositionColumn.QUANTITY) == "12,500"
    assert _cell(w, PositionColumn.ENTRY) == "64,250.50"
    assert _background(w) == QColor(DARK["surface"])


@pytest.mark.asyncio
async def test_a_refused_value_shows_the_file_readers_message_and_ok_waits(
        rig: Rig, qtbot: QtBot) -> None:
    dialog = _open(rig.window)
    before = rig.path.read_bytes()
    _type(qtbot, dialog.general.staleAfter, "soon")
    with pytest.raises(SettingsError) as in_file:  # what the file says of the same value
        parse_settings('version = 2\n[preferences]\nstale_after_s = "soon"\n', rig.path)
    label = dialog.general.errors.labels["stale_after_s"]
    assert label.isVisible() and label.text() == in_file.value.message
    assert not dialog.okButton.isEnabled()
    qtbot.mouseClick(dialog.okButton, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and rig.path.read_bytes() == before

    _type(qtbot, dialog.general.staleAfter, "3601")
    assert "at most 3600" in label.text() and not dialog.okButton.isEnabled()
    _type(qtbot, dialog.general.staleAfter, "30")
    assert not label.isVisible() and dialog.okButton.isEnabled()

    dialog.tabs.setCurrentWidget(dialog.confirm)
    dialog.confirm.policy.setCurrentIndex(dialog.confirm.policy.findData("large_or_live"))
    _type(qtbot, dialog.confirm.largeNotional, "-5")
    notional = dialog.confirm.errors.labels["large_close_notional"]
    assert notional.text() == "preferences.large_close_notional must be above 0"
    assert not dialog.okButton.isEnabled()
    _type(qtbot, dialog.confirm.largeNotional, "25 000")
    assert notional.text() == "preferences.large_close_notional must be an amount, e.g. 25000"
    _type(qtbot, dialog.confirm.largeNotional, "")
    assert not notional.isVisible() and dialog.okButton.isEnabled()
    dialog.reject()
    assert rig.path.read_bytes() == before


@pytest.mark.asyncio
async def test_a_file_that_does_not_load_is_never_saved_over(rig: Rig, qtbot: QtBot) -> None:
    broken = ORIGINAL.replace('confirm = "always"', 'confirm = "sometimes"')
    rig.path.write_text(broken, encoding="utf-8")
    dialog = _open(rig.window)
    assert dialog.loadProblem.isVisible()
    assert "does not load" in dialog.loadProblem.text()
    assert "preferences.confirm must be one of" in dialog.loadProblem.text()
    _type(qtbot, dialog.general.operatorName, "someone")
    assert not dialog.okButton.isEnabled()
    dialog.accept()  # even asked directly: nothing is written
    assert dialog.isVisible()
    assert rig.path.read_text(encoding="utf-8") == broken
    assert not previous_path(rig.path).exists()
    dialog.reject()


@pytest.mark.asyncio
async def test_saved_values_are_there_on_the_next_start(rig: Rig, qtbot: QtBot) -> None:
    dialog = _open(rig.window)
    _type(qtbot, dialog.general.operatorName, "night desk")
    dialog.appearance.theme.setCurrentIndex(dialog.appearance.theme.findData("light"))
    _tick(qtbot, dialog.alerts.boxes["order_rejected"])
    qtbot.mouseClick(dialog.okButton, Qt.MouseButton.LeftButton)
    rig.shut = True
    await shut(rig.window, rig.desk)

    desk, window = await _window(rig.path)  # a new start on the same file
    try:
        assert window.preferences.operator_name == "night desk"
        assert window.prefs.alerts == Alerts(order_rejected=False)
        again = _open(window)
        assert again.general.operatorName.text() == "night desk"
        assert again.appearance.theme.currentData() == "light"
        assert not again.alerts.boxes["order_rejected"].isChecked()
        assert again.alerts.boxes["close_filled"].isChecked()
        again.reject()
    finally:
        await shut(window, desk)


@pytest.mark.asyncio
async def test_system_theme_follows_the_desktop_and_a_choice_overrides_it(
        rig: Rig, scheme: FakeScheme, qtbot: QtBot) -> None:
    w = rig.window
    assert _background(w) == QColor(LIGHT["surface"])
    scheme.switch(Qt.ColorScheme.Dark)
    await until(lambda: _background(w) == QColor(DARK["surface"]), 5, "the dark table")
    scheme.switch(Qt.ColorScheme.Light)
    await until(lambda: _background(w) == QColor(LIGHT["surface"]), 5, "the light table")

    dialog = _open(w)  # the user picks Light: the desktop going dark no longer matters
    dialog.appearance.theme.setCurrentIndex(dialog.appearance.theme.findData("light"))
    qtbot.mouseClick(dialog.okButton, Qt.MouseButton.LeftButton)
    scheme.switch(Qt.ColorScheme.Dark)
    await until(lambda: _background(w) == QColor(LIGHT["surface"]), 5, "still light")
    assert theme_follower(QApplication.instance()).applied == "light"  # type: ignore[arg-type]
