"""Where the app's files (style sheet, icons, desktop entry, AppStream metainfo) are, and what
they are called. Loads no Qt: the CLI's ``install-desktop`` uses it too.

Three layouts hold them: an installed package (``gui/resources``, see pyproject's
package-dir), the source tree (``resources/`` beside ``gui/``), and a PyInstaller bundle
(``resources/`` under the bundle's folder).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Final

__all__ = [
    "APP_ID",
    "DESKTOP_ID",
    "ICON_SIZES",
    "RESOURCES",
    "find_resource",
    "icon_png",
    "resource_dirs",
]

# The AppStream component id (reverse DNS); the metainfo file is named after it.
APP_ID: Final = "io.github.closeout.Closeout"
# The desktop entry's file name without ".desktop", the icon's theme name and the window's
# class (QGuiApplication.setDesktopFileName): one name, so the desktop ties window and entry.
DESKTOP_ID: Final = "closeout"
ICON_SIZES: Final = (16, 32, 48, 64, 128, 256)
_HERE = Path(__file__).resolve().parent
RESOURCES: Final = _HERE.parent / "resources"  # the source tree's; scripts write here


def resource_dirs() -> list[Path]:
    """Every folder a resource may be in, most specific first."""
    dirs = [_HERE / "resources", RESOURCES]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        dirs.append(Path(bundle) / "resources")
    return dirs


def find_resource(name: str, dirs: list[Path] | None = None) -> Path | None:
    """The first file called ``name`` (a path relative to a resource folder), or None."""
    return next((d / name for d in (dirs or resource_dirs()) if (d / name).is_file()), None)


def icon_png(root: Path, size: int) -> Path:
    """Where the PNG of ``size`` pixels lives under ``root``, laid out as the hicolor theme
    is, so installing is a copy."""
    return root / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{DESKTOP_ID}.png"
