"""Help → About Closeout…, through the real window: the version from the package metadata,
the licence in words, the Qt, PySide6 and Python versions at run time, and the settings,
journal and log paths, each with an "Open folder" that opens its folder (seen through the
injected opener, so nothing opens); "Copy details" puts it all on the clipboard."""

from __future__ import annotations

import platform
import tomllib
from collections.abc import Iterator
from pathlib import Path

import PySide6
import pytest
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QPushButton
from pytestqt.qtbot import QtBot

from core.desk import Desk
from core.journal.identity import default_journal_path
from core.version import version
from gui.dialogs.about import AboutDialog
from gui.dialogs.about_facts import LICENCE
from gui.logfile import LOG_DIR_ENV
from gui.main_window import MainWindow
from tests.helpers.windows import dispose

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def window(qapp: QApplication, settings_path: Path, tmp_path: Path,
           monkeypatch: pytest.MonkeyPatch) -> Iterator[MainWindow]:
    monkeypatch.setenv(LOG_DIR_ENV, str(tmp_path / "logs"))
    w = MainWindow(Desk(), demo=True, settings_path=settings_path, history_poll_ms=3_600_000,
                   health_interval_ms=3_600_000)
    w.show()
    try:
        yield w
    finally:
        dispose(w)


def _open(window: MainWindow, opened: list[QUrl]) -> AboutDialog:
    def opener(url: QUrl) -> bool:
        opened.append(url)
        return True

    window.about.opener = opener
    assert window.aboutAction in window.helpMenu.actions()
    window.aboutAction.trigger()
    dialog = window.about.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def _text(dialog: AboutDialog, name: str) -> str:
    label = dialog.findChild(QLabel, name)
    assert label is not None, name
    return label.text()


def test_about_shows_versions_licence_and_paths(window: MainWindow, settings_path: Path,
                                                tmp_path: Path) -> None:
    dialog = _open(window, [])
    assert _text(dialog, "aboutVersion") == f"Version {version()}"
    assert _text(dialog, "aboutLicence") == "Proprietary"
    assert _text(dialog, "aboutQt") == (f"{qVersion()} (PySide6 {PySide6.__version__}, "
                                        f"{QGuiApplication.platformName()} platform)")
    assert _text(dialog, "aboutPython").startswith(platform.python_version())
    assert _text(dialog, "pathSettings") == str(settings_path)
    assert _text(dialog, "pathJournal") == str(default_journal_path(demo=False))
    assert _text(dialog, "pathDemoJournal") == str(default_journal_path(demo=True))
    assert _text(dialog, "pathLogs") == str(tmp_path / "logs")
    assert str(tmp_path) in str(default_journal_path(demo=False))  # the test's tree, not home
    window.aboutAction.trigger()
    assert window.about.dialog is dialog  # one per window


def test_open_folder_opens_each_folder_and_only_an_existing_one(
    window: MainWindow, settings_path: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    journal_dir = default_journal_path(demo=False).parent
    journal_dir.mkdir(parents=True)
    (tmp_path / "logs").mkdir()
    opened: list[QUrl] = []
    dialog = _open(window, opened)
    for name in ("openJournalFolder", "openDemoJournalFolder", "openLogsFolder"):
        button = dialog.findChild(QPushButton, name)
        assert button is not None and button.isEnabled(), name
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert [u.toLocalFile() for u in opened] == [str(journal_dir), str(journal_dir),
                                                  str(tmp_path / "logs")]
    assert all(u.isLocalFile() for u in opened)
    settings = dialog.findChild(QPushButton, "openSettingsFolder")
    assert settings is not None
    assert not settings_path.parent.exists()
    assert not settings.isEnabled()  # nothing there yet: the tooltip says so
    assert "does not exist yet" in settings.toolTip()


def test_copy_details_puts_everything_on_the_clipboard(
    window: MainWindow, settings_path: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    QGuiApplication.clipboard().clear()
    dialog = _open(window, [])
    qtbot.mouseClick(dialog.copyButton, Qt.MouseButton.LeftButton)
    copied = QGuiApplication.clipboard().text()
    for line in (f"Closeout {version()}", "Licence: Proprietary",
                 f"Qt: {qVersion()} (PySide6 {PySide6.__version__}, offscreen platform)",
                 f"Python: {platform.python_version()}",
                 f"Settings: {settings_path}",
                 f"Journal: {default_journal_path(demo=False)}",
                 f"Demo journal: {default_journal_path(demo=True)}",
                 f"Logs: {tmp_path / 'logs'}"):
        assert line in copied.splitlines() or any(
            ln.startswith(line) for ln in copied.splitlines()), line
    assert "Copied" in _text(dialog, "aboutCopied")


def test_the_licence_shown_is_pyprojects_in_words() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert {"LicenseRef-Proprietary": "Proprietary"}[project["license"]] == LICENCE


def test_the_window_imports_the_about_dialog_only_when_it_opens(tmp_path: Path) -> None:
    from tests.gui.test_app import _modules_after

    loaded = _modules_after("import gui.launch", tmp_path)
    assert "gui.controllers.about" in loaded
    assert not {m for m in loaded if m.startswith("gui.dialogs.about")}
