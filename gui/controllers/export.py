"""File → Export ▸ Positions… / Working orders… / Order log…: each pane to CSV, as it is on
screen.

What is written is what the table shows: its visible columns in their on-screen order and
with their titles, its rows in the order shown and through its filters, each cell's text as
painted (numbers written by the instrument, ``core.numbers``). Button columns (Close, Cancel)
are left out. Positions end with their totals, one row per quote currency for all venues, each
venue and each account (``core.tables.totals_rows``), as the totals strip adds them;
group-by-account header and totals rows are left out (the totals rows say the same, per
currency). The rows of an account folded under its header are not on screen, so not in the
file, yet they count in the totals, as in the strip and the header: folding hides rows, it
does not filter them.

Every cell is guarded against formula injection and the file is written atomically
(``core.csv_out``). The rows are read from the table a slice per loop turn, and the file is
written on a worker thread, so a 200,000-line log never freezes the window. Where to write is
asked with a ``QFileDialog`` opened with ``open()``; ``ask_path`` can be replaced (tests write
to a temporary directory without a dialog).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QAbstractItemModel, QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QTableView

from core.csv_out import csv_text, write_atomic
from core.tables import totals_rows

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["READ_SLICE", "AskPath", "Exporting", "table_text"]

# Asked for a file: (dialog title, suggested file name, what to do with the path chosen).
AskPath = Callable[[str, str, Callable[[Path], None]], None]
READ_SLICE = 2000  # rows read from a table per loop turn
_DISPLAY = Qt.ItemDataRole.DisplayRole
# A row of the table kept in the export (the positions' group rows are not).
Keep = Callable[[QAbstractItemModel, int], bool]


def _columns(view: QTableView) -> list[int]:
    """The view's visible, titled columns, in the order shown."""
    header = view.horizontalHeader()
    model = view.model()
    out = []
    for visual in range(header.count()):
        col = header.logicalIndex(visual)
        if header.isSectionHidden(col):
            continue
        if model.headerData(col, Qt.Orientation.Horizontal, _DISPLAY):
            out.append(col)
    return out


async def table_text(view: QTableView, keep: Keep | None = None
                     ) -> tuple[list[str], list[list[str]]]:
    """The titles of the view's shown columns and every kept row's texts, as shown; read
    ``READ_SLICE`` rows per turn of the loop."""
    model = view.model()
    cols = _columns(view)
    header = [str(model.headerData(c, Qt.Orientation.Horizontal, _DISPLAY)) for c in cols]
    rows: list[list[str]] = []
    row = 0
    while row < model.rowCount():
        end = min(row + READ_SLICE, model.rowCount())
        for r in range(row, end):
            if keep is None or keep(model, r):
                rows.append([_text(model.data(model.index(r, c), _DISPLAY)) for c in cols])
        row = end
        await asyncio.sleep(0)  # the window paints between slices
    return header, rows


def _text(value: object) -> str:
    return "" if value is None else str(value)


class Exporting(QObject):
    """The Export submenu of the File menu, and the exports it starts."""

    exported = Signal(str, int)  # path, rows written (totals rows not counted)
    exportFailed = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._w = window
        self.ask_path: AskPath = self._ask_with_dialog
        self.fileDialog: QFileDialog | None = None
        self.task: asyncio.Task[int] | None = None
        menu = QMenu("&Export", window)
        menu.setObjectName("exportMenu")
        window.fileMenu.insertMenu(window.quitAction, menu)
        window.fileMenu.insertSeparator(window.quitAction)
        self.menu = menu
        self.positionsAction = self._action(
            "&Positions…", "exportPositionsAction",
            "Write the positions as shown (filters, sort, columns) with their totals to CSV",
            self.export_positions)
        self.workingAction = self._action(
            "&Working orders…", "exportWorkingAction",
            "Write the working orders as shown to CSV", self.export_working)
        self.logAction = self._action(
            "Order &log…", "exportLogAction", "Write the order log as shown to CSV",
            self.export_log)

    def _action(self, text: str, name: str, tip: str, slot: Callable[[], None]) -> QAction:
        action = QAction(text, self._w)
        action.setObjectName(name)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.menu.addAction(action)
        return action

    # ------------------------------------------------------------------ the three panes
    def export_positions(self) -> None:
        w = self._w

        def keep(model: QAbstractItemModel, row: int) -> bool:
            return w.positions_proxy.key_at(row) is not None  # not a header or totals row

        self._start("Export positions", "closeout-positions.csv", w.positionsView, keep,
                    with_totals=True)

    def export_working(self) -> None:
        self._start("Export working orders", "closeout-working-orders.csv",
                    self._w.workingOrdersView)

    def export_log(self) -> None:
        self._start("Export order log", "closeout-order-log.csv", self._w.logView)

    # ------------------------------------------------------------------ plumbing
    def _start(self, title: str, name: str, view: QTableView, keep: Keep | None = None,
               *, with_totals: bool = False) -> None:
        def chosen(path: Path) -> None:
            self.task = self._w.tracker.spawn(self._write(path, view, keep, with_totals),
                                              name=f"export {path.name}")

        self.ask_path(title, name, chosen)

    async def _write(self, path: Path, view: QTableView, keep: Keep | None,
                     with_totals: bool) -> int:
        status = self._w.statusBar()
        try:
            header, rows = await table_text(view, keep)
            n = len(rows)
            if with_totals:
                # Summed now, over the rows just read: never a total of other rows.
                await self._w.totals.settled()
                rows += totals_rows(header, self._w.totals.totals)
            await asyncio.to_thread(write_atomic, path, csv_text(header, rows))
        except OSError as exc:
            status.showMessage(f"Export failed: {exc}", 15000)
            self.exportFailed.emit(str(exc))
            return 0
        status.showMessage(f"Exported {n:,} row{'s' if n != 1 else ''} to {path}", 15000)
        self.exported.emit(str(path), n)
        return n

    def _ask_with_dialog(self, title: str, name: str, done: Callable[[Path], None]) -> None:
        """A save dialog opened with ``open()``: never a nested event loop."""
        dialog = QFileDialog(self._w, title)
        dialog.setObjectName("exportDialog")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setNameFilters(["CSV (*.csv)"])
        dialog.setDefaultSuffix("csv")
        dialog.selectFile(name)
        dialog.fileSelected.connect(lambda chosen: done(Path(chosen)))
        self.fileDialog = dialog
        dialog.open()
