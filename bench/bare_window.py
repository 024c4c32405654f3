"""The floor for cold start: a bare PySide6 window with a table, shown, painted and grabbed.

    python -m bench.bare_window PATH

It does what ``closeout --screenshot PATH`` does at the least: start Qt, show a table of a few
rows, wait for its first paint, save a PNG and exit. ``bench.cold_start`` times both.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QTableWidget, QTableWidgetItem

ROWS, COLUMNS = 16, 10


class _FirstPaint(QObject):
    """Grabs the window once its table has painted, then quits."""

    def __init__(self, table: QTableWidget, path: str) -> None:
        super().__init__()
        self._table = table
        self._path = path
        self.rc = 2

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self.rc == 2:
            self.rc = 1
            QTimer.singleShot(0, self._grab)
        return False

    def _grab(self) -> None:
        self.rc = 0 if self._table.window().grab().save(self._path, "PNG") else 1
        QApplication.quit()


def main(argv: list[str]) -> int:
    app = QApplication(argv[:1])
    table = QTableWidget(ROWS, COLUMNS)  # the floor: the simplest table Qt has
    for r in range(ROWS):
        for c in range(COLUMNS):
            table.setItem(r, c, QTableWidgetItem(f"{r}.{c}"))
    table.resize(1280, 800)
    watch = _FirstPaint(table, argv[1])
    table.viewport().installEventFilter(watch)
    table.show()
    app.exec()
    return watch.rc


if __name__ == "__main__":
    sys.exit(main(sys.argv))
