"""The app knows itself and fails loudly without its resources: a missing or unreadable style
sheet or icon is an ERROR naming the file and where it was looked for, and a notice in the
window; the safety banners keep their colours with no style sheet at all; the window has the
app's icon and name, and the desktop entry's name."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import configparser
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from string import Template

import pytest
from PySide6.QtGui import QColor, QGuiApplication, QIcon
from PySide6.QtWidgets import QApplication, QLabel, QWidget

import gui.theme.sheet
from core.desk import Desk
from core.journal import Journal
from core.model import Environment
from core.settings import Preferences, Settings
from gui.appearance import (
    APP_NAME,
    DESKTOP_FILE_NAME,
    ICON_FILE,
    STYLE_SHEET,
    ResourceLookup,
    apply_appearance,
    default_lookup,
)
from gui.main_window import MainWindow
from gui.models.style import (
    CONFIRMATIONS_OFF_LOOK,
    NOTICE_LOOK,
    SETTINGS_ERROR_LOOK,
    BannerLook,
    env_banner_look,
)
from gui.theme.palettes import PALETTES
from tests.gui.conftest import until
from tests.helpers.windows import dispose

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = ROOT / "resources"


@pytest.fixture
def app_state(qapp: QApplication) -> Iterator[QApplication]:
    """What ``apply_appearance`` sets on the shared application, put back afterwards."""
    saved = (qapp.styleSheet(), qapp.windowIcon(), qapp.applicationName(),
             qapp.applicationDisplayName(), qapp.organizationName(),
             QGuiApplication.desktopFileName())
    qapp.setStyleSheet("")
    qapp.setWindowIcon(QIcon())
    try:
        yield qapp
    finally:
        sheet, icon, name, display, org, desktop = saved
        qapp.setStyleSheet(sheet)
        qapp.setWindowIcon(icon)
        qapp.setApplicationName(name)
        qapp.setApplicationDisplayName(display)
        qapp.setOrganizationName(org)
        QGuiApplication.setDesktopFileName(desktop)
        gui.theme.sheet.use_template(None)  # the themes read the bundled sheet again
        gui.theme.sheet._source.clear()


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


# ----------------------------------------------------------------------------- missing files
@pytest.mark.allow_error_logs
def test_an_empty_resource_folder_is_an_error_per_file_naming_where_it_looked(
    app_state: QApplication, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    caplog.set_level(logging.ERROR)
    found = apply_appearance(app_state, ResourceLookup([empty]))
    assert [m.name for m in found.missing] == [STYLE_SHEET, ICON_FILE]
    assert found.icon is None
    errors = _errors(caplog)
    assert len(errors) == 2
    for name, line in zip((STYLE_SHEET, ICON_FILE), errors, strict=True):
        assert name in line
        assert "not found" in line
        assert str(empty) in line
    assert app_state.styleSheet() == ""
    assert app_state.windowIcon().isNull()


@pytest.mark.allow_error_logs
def test_unreadable_files_count_as_missing(
    app_state: QApplication, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Present but useless: a style sheet that is not UTF-8, an icon that is not an image."""
    (tmp_path / STYLE_SHEET).write_bytes(b"QWidget { color: \xff\xfe; }")
    (tmp_path / ICON_FILE).write_bytes(b"\x89PNG but not really")
    caplog.set_level(logging.ERROR)
    found = apply_appearance(app_state, ResourceLookup([tmp_path]))
    assert [m.name for m in found.missing] == [STYLE_SHEET, ICON_FILE]
    style_error, icon_error = _errors(caplog)
    assert "not valid UTF-8" in style_error
    assert str(tmp_path / STYLE_SHEET) in style_error
    assert "could not be read as an image" in icon_error
    assert gui.theme.sheet.style_sheet("light") == ""  # no theme fills in a sheet it lacks
    assert app_state.windowIcon().isNull()


def test_the_real_resources_load_without_a_word(
    app_state: QApplication, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    found = apply_appearance(app_state, default_lookup())
    assert found.missing == ()
    assert [r for r in caplog.records if r.name.startswith("gui")] == []
    template = Template((RESOURCES / STYLE_SHEET).read_text(encoding="utf-8"))
    assert gui.theme.sheet.style_sheet("dark") == template.substitute(PALETTES["dark"])
    assert found.icon is not None and not found.icon.isNull()


@pytest.mark.allow_error_logs
@pytest.mark.asyncio
async def test_the_app_started_without_its_resources_says_so_in_the_window(
    app_state: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The app's own start (gui.launch.run, demo mode) with the lookup on an empty folder."""
    import core.demo
    import gui.launch

    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setattr(gui.launch, "settle_memory", lambda: None)  # no gc.freeze in tests
    monkeypatch.setattr(Journal, "open_default", classmethod(
        lambda cls, demo, **_: cls(":memory:")))
    caplog.set_level(logging.ERROR)
    appearance = gui.launch._apply_style(app_state, lookup=ResourceLookup([empty]))
    assert len(_errors(caplog)) == 2
    sim: concurrent.futures.Future[object] = concurrent.futures.Future()
    sim.set_result(core.demo.start_simulator(seed=7))
    args = argparse.Namespace(screenshot=None, demo=True, seed=7)
    boot = gui.launch.Boot(args, Settings(), None, True, None, sim)  # type: ignore[arg-type]
    run = asyncio.ensure_future(gui.launch.run(app_state, boot, appearance))

    def windows() -> list[MainWindow]:
        return [w for w in app_state.topLevelWidgets()
                if isinstance(w, MainWindow) and w.isVisible()]

    try:
        await until(lambda: bool(windows()), what="the window")
        [w] = windows()
        notice = w.resourceWarning
        assert notice.isVisible()
        assert "look is incomplete" in notice.text()
        assert STYLE_SHEET in notice.text() and ICON_FILE in notice.text()
        assert str(empty) in notice.text()
        assert w.demoBanner.isVisible()
        assert _fill(w.demoBanner) == env_banner_look(Environment.DEMO).fill
        await until(lambda: w.positions_model.rowCount() > 0, what="the demo rows")
        w.close()
        assert await run == 0
    finally:
        if not run.done():
            for w in windows():
                w.close()
            await asyncio.wait({run}, timeout=10)


# ----------------------------------------------------------------------------- banners
def _fill(widget: QWidget) -> str:
    return QColor(widget.grab().toImage().pixel(3, 3)).name()


def _colours(widget: QWidget) -> set[str]:
    image = widget.grab().toImage()
    return {QColor(image.pixel(x, y)).name()
            for y in range(image.height()) for x in range(image.width())}


def _assert_looks(widget: QWidget, look: BannerLook, text: QLabel) -> None:
    assert widget.isVisible()
    image = widget.grab().toImage()
    assert QColor(image.pixel(3, 3)).name() == look.fill
    assert QColor(image.pixel(3, image.height() - 1)).name() == look.edge
    assert look.ink in _colours(text), f"no {look.ink} text on {widget.objectName()}"


@pytest.mark.parametrize("sheet", ["none", "the app's"])
def test_safety_banners_keep_their_colours_with_or_without_the_style_sheet(
    app_state: QApplication, sheet: str
) -> None:
    if sheet != "none":
        app_state.setStyleSheet(gui.theme.sheet.style_sheet("light"))
    window = MainWindow(Desk(), demo=True, history_poll_ms=3_600_000,
                        health_interval_ms=3_600_000,
                        preferences=Preferences(confirm="never"))
    try:
        window.resize(1280, 800)
        window.show()
        demo = window.demoBanner
        _assert_looks(demo, env_banner_look(Environment.DEMO), demo)
        window.set_account_environment("Desk live", Environment.LIVE)
        assert not demo.isVisible()
        _assert_looks(window.liveBanner, env_banner_look(Environment.LIVE), window.liveBanner)
        window.set_account_environment("Desk live", Environment.TESTNET)
        _assert_looks(window.testnetBanner, env_banner_look(Environment.TESTNET),
                      window.testnetBanner)
        window.show_settings_error("settings.toml, line 3: expected a value")
        _assert_looks(window.settingsErrorBanner, SETTINGS_ERROR_LOOK,
                      window.settingsErrorBanner)
        banner = window.confirmationsOffBanner
        _assert_looks(banner, CONFIRMATIONS_OFF_LOOK, banner)
        window.resourceWarning.say("style.qss was not found")
        _assert_looks(window.resourceWarning, NOTICE_LOOK, window.resourceWarning.label)
    finally:
        dispose(window)


def test_the_style_sheet_no_longer_colours_the_banners() -> None:
    """One source of truth: the banners' colours are in gui/models/style.py only."""
    sheet = (RESOURCES / STYLE_SHEET).read_text(encoding="utf-8")
    names = ("demoBanner", "liveBanner", "testnetBanner", "settingsErrorBanner",
             "confirmationsOffBanner", "secretsWarning", "resourceWarning")
    selectors = re.findall(r"#(\w+)", re.sub(r"/\*.*?\*/", "", sheet, flags=re.S))
    assert set(selectors).isdisjoint(names)


# ----------------------------------------------------------------------------- identity
def test_the_window_has_the_apps_icon_and_names(app_state: QApplication) -> None:
    apply_appearance(app_state, default_lookup())
    window = MainWindow(Desk(), demo=True, history_poll_ms=3_600_000,
                        health_interval_ms=3_600_000)
    try:
        assert not window.windowIcon().isNull()
        assert window.windowIcon().cacheKey() == app_state.windowIcon().cacheKey()
        assert app_state.applicationName() == APP_NAME
        assert app_state.applicationDisplayName() == APP_NAME
        assert QGuiApplication.desktopFileName() == DESKTOP_FILE_NAME
        assert window.windowTitle().endswith(APP_NAME)
    finally:
        dispose(window)


def test_the_desktop_entry_is_the_one_the_app_names() -> None:
    """Wayland finds the entry by the desktop file name, X11 by WM_CLASS (StartupWMClass)."""
    entry = RESOURCES / f"{DESKTOP_FILE_NAME}.desktop"
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(entry, encoding="utf-8")
    section = parser["Desktop Entry"]
    assert section["StartupWMClass"] == DESKTOP_FILE_NAME
    assert section["Icon"] == Path(ICON_FILE).stem
    assert section["Name"] == APP_NAME


def test_sized_icons_beside_the_main_one_join_the_window_icon(
    app_state: QApplication, tmp_path: Path
) -> None:
    """The desktop's hicolor PNGs, where the build has them: a crisp icon at each size."""
    from gui.appearance import load_icon

    (tmp_path / ICON_FILE).write_bytes((RESOURCES / ICON_FILE).read_bytes())
    small = tmp_path / "icons" / "hicolor" / "16x16" / "apps"
    small.mkdir(parents=True)
    QIcon(str(RESOURCES / ICON_FILE)).pixmap(16, 16).save(str(small / ICON_FILE))
    icon, problem = load_icon(ResourceLookup([tmp_path]))
    assert problem is None and icon is not None
    assert {(s.width(), s.height()) for s in icon.availableSizes()} == {(16, 16), (256, 256)}
