"""Who the app is to the desktop (its name, icon and desktop entry), its style sheet, and a loud
report of any resource that did not load.

A packager who leaves ``style.qss`` or the icon out of a build must not ship an app that just
looks plain: each missing or unreadable file is logged at ERROR with where it was looked for,
and the window says so in a notice. The safety banners do not depend on any of this (their
colours are set in code).

Resources are found through a ``ResourceLookup`` (a list of folders), so a test can point it at
an empty folder; the app uses ``default_lookup()``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtGui import QIcon, QImageReader
from PySide6.QtWidgets import QApplication

from gui.resource_files import DESKTOP_ID, resource_dirs
from gui.theme.sheet import use_template

__all__ = [
    "APP_NAME",
    "DESKTOP_FILE_NAME",
    "ICON_FILE",
    "STYLE_SHEET",
    "Appearance",
    "MissingResource",
    "ResourceLookup",
    "apply_appearance",
    "default_lookup",
    "load_icon",
    "missing_text",
    "read_style_sheet",
]

log = logging.getLogger(__name__)

APP_NAME = "Closeout"
# The desktop entry is installed as closeout.desktop: Wayland matches the window to it by this
# name, X11 by WM_CLASS, whose instance part is argv[0]'s name (gui/launch.py passes this) and
# which the entry's StartupWMClass names.
DESKTOP_FILE_NAME = DESKTOP_ID
STYLE_SHEET = "style.qss"
ICON_FILE = "closeout.png"
# The merger's sized icons, if present beside it: the window then picks a crisp one per size.
_SIZED_ICONS = "icons/hicolor/*/apps/closeout.png"


class ResourceLookup:
    """Where resources are looked for, in order; the first folder holding the file wins."""

    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = tuple(folders)

    def find(self, name: str) -> Path | None:
        return next((f / name for f in self.folders if (f / name).is_file()), None)


def default_lookup() -> ResourceLookup:
    """The installed package (``gui/resources``), the source tree (``resources/`` beside
    ``gui/``), then a PyInstaller bundle's ``resources/`` (``gui.resource_files``)."""
    return ResourceLookup(resource_dirs())


@dataclass(frozen=True, slots=True)
class MissingResource:
    """A resource that did not load: its name, why, and where it was looked for."""

    name: str
    reason: str
    looked_in: tuple[Path, ...]

    def describe(self) -> str:
        where = ", ".join(str(f) for f in self.looked_in) or "nowhere"
        return f"{self.name} {self.reason} (looked in: {where})"


@dataclass(frozen=True, slots=True)
class Appearance:
    """What ``apply_appearance`` managed: the icon (None if it did not load) and what is
    missing."""

    icon: QIcon | None
    missing: tuple[MissingResource, ...]


def read_style_sheet(lookup: ResourceLookup) -> tuple[str | None, MissingResource | None]:
    """The style sheet's text, or why there is none. A file that is there but cannot be read
    (permissions, not UTF-8) counts as missing."""
    path = lookup.find(STYLE_SHEET)
    if path is None:
        return None, MissingResource(STYLE_SHEET, "was not found", lookup.folders)
    try:
        return path.read_text(encoding="utf-8"), None
    except UnicodeDecodeError:
        reason = f"at {path} is not valid UTF-8"
    except OSError as exc:
        reason = f"at {path} could not be read ({exc.strerror or exc})"
    return None, MissingResource(STYLE_SHEET, reason, lookup.folders)


def load_icon(lookup: ResourceLookup) -> tuple[QIcon | None, MissingResource | None]:
    """The application icon, or why there is none: the PNG must be there and decode as an
    image (read before it is used: a ``QIcon`` of a bad file only shows up as a blank)."""
    path = lookup.find(ICON_FILE)
    if path is None:
        return None, MissingResource(ICON_FILE, "was not found", lookup.folders)
    reader = QImageReader(str(path))
    if not reader.canRead():
        return None, MissingResource(
            ICON_FILE, f"at {path} could not be read as an image ({reader.errorString()})",
            lookup.folders)
    icon = QIcon(str(path))
    for folder in lookup.folders:
        for sized in sorted(folder.glob(_SIZED_ICONS)):
            icon.addFile(str(sized))
    return icon, None


def apply_appearance(app: QApplication, lookup: ResourceLookup | None = None) -> Appearance:
    """Name the app, set its icon and hand the style sheet to the themes; log an ERROR for each
    that did not load."""
    lookup = lookup if lookup is not None else default_lookup()
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName(DESKTOP_FILE_NAME)
    missing: list[MissingResource] = []
    sheet, problem = read_style_sheet(lookup)
    use_template(sheet)  # the theme fills it in and puts it on (gui.theme)
    if problem is not None:
        missing.append(problem)
    icon, problem = load_icon(lookup)
    if icon is not None:
        app.setWindowIcon(icon)
    else:
        assert problem is not None
        missing.append(problem)
    for item in missing:
        log.error("Resource missing: %s; the app's look is incomplete", item.describe())
    return Appearance(icon, tuple(missing))


def missing_text(missing: Sequence[MissingResource]) -> str | None:
    """The window's notice for what did not load (None when all did)."""
    if not missing:
        return None
    what = "; ".join(m.describe() for m in missing)
    return (f"The app's look is incomplete: {what}. The DEMO, LIVE and TESTNET banners keep "
            "their colours; everything else works. Reinstalling Closeout restores the files.")
