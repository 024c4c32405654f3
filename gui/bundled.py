"""Where the bundled resources (style sheet, icons) are: in the package, the source tree, or a
PyInstaller bundle (``gui.resource_files`` knows the folders)."""

from __future__ import annotations

from pathlib import Path

from gui.resource_files import find_resource

__all__ = ["resource_path"]


def resource_path(name: str) -> Path | None:
    """Find a bundled resource: in the package, the source tree, or a PyInstaller bundle."""
    return find_resource(name)
