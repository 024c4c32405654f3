"""What the About dialog says, gathered in one value and written as one text: the version, the
licence, the Qt, PySide6 and Python versions, and where the app keeps its files.

The text is what "Copy details" puts on the clipboard for a support ticket, so it is plain and
complete. Nothing secret is in it: paths and versions only.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import PySide6
from PySide6.QtCore import qVersion
from PySide6.QtGui import QGuiApplication

__all__ = ["LICENCE", "AboutFacts", "AppPath", "gather"]

# pyproject.toml's "LicenseRef-Proprietary", in words.
LICENCE = "Proprietary"


@dataclass(frozen=True, slots=True)
class AppPath:
    """A file or folder the app keeps, and the folder "Open folder" opens."""

    label: str
    path: Path
    is_folder: bool = False

    @property
    def folder(self) -> Path:
        return self.path if self.is_folder else self.path.parent


@dataclass(frozen=True, slots=True)
class AboutFacts:
    version: str
    licence: str
    qt: str
    pyside: str
    qt_platform: str  # Qt's platform plugin: xcb, wayland, offscreen…
    python: str
    system: str
    paths: tuple[AppPath, ...]

    def text(self) -> str:
        lines = [
            f"Closeout {self.version}",
            f"Licence: {self.licence}",
            f"Qt: {self.qt_line()}",
            f"Python: {self.python}",
            f"System: {self.system}",
            *(f"{p.label}: {p.path}" for p in self.paths),
        ]
        return "\n".join(lines) + "\n"

    def qt_line(self) -> str:
        return f"{self.qt} (PySide6 {self.pyside}, {self.qt_platform} platform)"


def gather(settings_file: Path | None = None) -> AboutFacts:
    """The facts of this process: the versions at run time (not at build time) and the default
    paths, or ``settings_file`` where the window was given another one."""
    from core.journal.identity import default_journal_path
    from core.settings import settings_path
    from core.version import version
    from gui.logfile import log_dir

    paths = (
        AppPath("Settings", settings_file if settings_file is not None else settings_path()),
        AppPath("Journal", default_journal_path(demo=False)),
        AppPath("Demo journal", default_journal_path(demo=True)),
        AppPath("Logs", log_dir(), is_folder=True),
    )
    return AboutFacts(
        version=version(),
        licence=LICENCE,
        qt=qVersion(),
        pyside=PySide6.__version__,
        qt_platform=QGuiApplication.platformName() or "no",
        python=f"{platform.python_version()} ({platform.python_implementation()})",
        system=platform.platform(),
        paths=paths,
    )
