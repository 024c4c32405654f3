"""Screenshots for the README, taken by the GUI tests that set up what they show.

``CLOSEOUT_SHOTS=docs`` (a folder) makes ``shot`` save there; without it ``shot`` does nothing,
so a test run writes no files. A test that takes one asks for the ``shot_style`` fixture, which
gives the app its style sheet for the whole test (changing it mid-test re-polishes every
widget, and the pointer's enter and leave events with them)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from gui.theme.sheet import style_sheet

__all__ = ["shot", "shot_style", "shots_wanted"]


def shots_wanted() -> bool:
    """Whether this run saves screenshots (a test may arrange its picture only then)."""
    return bool(os.environ.get("CLOSEOUT_SHOTS"))


@pytest.fixture
def shot_style(qapp: QApplication) -> Iterator[None]:
    """The app's style sheet for this test, when screenshots are wanted."""
    if not shots_wanted():
        yield
        return
    before = qapp.styleSheet()
    qapp.setStyleSheet(style_sheet("light"))
    try:
        yield
    finally:
        qapp.setStyleSheet(before)


def shot(widget: QWidget, name: str) -> Path | None:
    """Save ``widget`` as ``$CLOSEOUT_SHOTS/name``."""
    folder = os.environ.get("CLOSEOUT_SHOTS")
    if not folder:
        return None
    path = Path(folder) / name
    widget.grab().save(str(path))
    return path
