"""The benchmarks' tiny runs share the test process: the QApplication is the one the GUI tests
use (same name, unstyled), made here if no test made it first."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication


@pytest.fixture(autouse=True)
def shared_qapp() -> QApplication:
    app = QApplication.instance() or QApplication(["closeout-tests"])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    return app
