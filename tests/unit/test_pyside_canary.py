"""PySide6 6.12.0 on CPython 3.11 drops references to True/None on every signal emit and aborts
the process (bool_dealloc) after a few hundred emits. We pin <6.12; this canary fails loudly if
a resolver ever installs a broken build."""

from __future__ import annotations

import subprocess
import sys

import PySide6

CANARY = r"""
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal

class Emitter(QObject):
    fired = Signal(bool, object)

app = QCoreApplication([])
seen = []
e = Emitter()
e.fired.connect(lambda flag, obj: seen.append((flag, obj)))
for i in range(5000):
    e.fired.emit(i % 2 == 0, None)
assert len(seen) == 5000 and seen[0] == (True, None) and seen[1] == (False, None)
print("ok", sys.getrefcount(True) > 0)
"""


def test_pyside_version_is_pinned_below_6_12() -> None:
    major, minor = (int(x) for x in PySide6.__version__.split(".")[:2])
    assert (major, minor) < (6, 12), f"PySide6 {PySide6.__version__} aborts on CPython 3.11"
    assert (major, minor) >= (6, 11)


def test_many_signal_emits_with_bool_and_none_do_not_abort() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CANARY], capture_output=True, text=True, timeout=120, check=False,
        env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, f"exit {proc.returncode}: {proc.stderr[-2000:]}"
    assert proc.stdout.startswith("ok")
