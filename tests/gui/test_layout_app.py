"""The app itself (``python -m gui.app --demo``) reads its layout from the user config
directory at the start and writes it back when it quits."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import QSettings

from gui.layout_state import ColumnState, columns_text, read_columns
from gui.models import PositionColumn
from tests.gui.test_app import ROOT, _connected_accounts, app_env, significant


def test_the_app_restores_its_layout_and_saves_it_on_quit(tmp_path: Path) -> None:
    path = tmp_path / "config" / "closeout" / "layout.ini"
    path.parent.mkdir(parents=True)
    names = [c.name for c in PositionColumn]
    mine = [ColumnState(n, n not in ("ENV", "SIDE"), 150 if n == "SYMBOL" else 100)
            for n in names]
    before = QSettings(str(path), QSettings.Format.IniFormat)
    before.setValue("positions/columns", columns_text(mine))
    before.setValue("positions/sort", json.dumps({"column": "PNL", "descending": True}))
    before.setValue("positions/filters", json.dumps({"symbol": "USD", "venue": None,
                                                     "account": None,
                                                     "group_by_account": True}))
    before.sync()
    journal = tmp_path / "data" / "closeout" / "demo-journal.sqlite3"
    proc = subprocess.Popen([sys.executable, "-m", "gui.app", "--demo"], cwd=ROOT,
                            env=app_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while _connected_accounts(journal) < 2:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the app did not connect within 30 s"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr
    assert significant(stderr) == []
    after = QSettings(str(path), QSettings.Format.IniFormat)
    # What it restored is what it saved: nothing fell back to a default on the way.
    columns = read_columns(after.value("positions/columns"),
                           [ColumnState(n, True, 1) for n in names])
    assert [(c.name, c.shown) for c in columns] == [(c.name, c.shown) for c in mine]
    assert next(c.width for c in columns if c.name == "SYMBOL") == 150
    assert json.loads(str(after.value("positions/sort"))) == {"column": "PNL",
                                                              "descending": True}
    filters = json.loads(str(after.value("positions/filters")))
    assert filters["symbol"] == "USD" and filters["group_by_account"] is True
    assert after.value("window/geometry") is not None
