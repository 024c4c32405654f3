"""The version Closeout reports (``closeout --version``, the About dialog, the bundle's name).

It is read from the installed package's metadata, so it is set in one place: ``pyproject.toml``.
A bundle carries that metadata too (the spec copies it). Running from a source tree that was
never installed has none; then the version is written as unknown rather than guessed.
"""

from __future__ import annotations

from importlib import metadata
from typing import Final

__all__ = ["DISTRIBUTION", "UNKNOWN", "version"]

DISTRIBUTION: Final = "closeout"
UNKNOWN: Final = "unknown (not installed)"


def version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN
