"""Where the bundled resources (style sheet, icons) are: in the package, the source tree, or a
PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["resource_path"]


def resource_path(name: str) -> Path | None:
    """Find a bundled resource: in the package, the source tree, or a PyInstaller bundle."""
    here = Path(__file__).resolve().parent
    # Installed: gui/resources inside the package. Source tree (editable): resources/ beside gui/.
    candidates = [here / "resources" / name, here.parent / "resources" / name]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.append(Path(bundle) / "resources" / name)
    return next((p for p in candidates if p.is_file()), None)
