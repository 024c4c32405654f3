"""The order log as the pane shows it while a filter is on: the lines it lets through.

A ``QSortFilterProxyModel`` asks ``filterAcceptsRow`` once per row, so a burst of new lines
costs one predicate call per new line and nothing for the lines already held; only a change of
filter looks at every line again, once (``invalidate``: one layout change, not one signal per
run of hidden lines), reading flags worked out for all lines in one pass. It never sorts: the
log reads in receive time, as the model holds it. The note row (lines trimmed to save memory)
always shows.

With no filter the proxy lets go of the log altogether (the pane shows the log itself): a
proxy that passes every line would still cost a Python call per new line."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QSortFilterProxyModel

from core.model import PositionKey
from gui.models.log import LogModel
from gui.models.log_filter import LogFilter
from gui.models.log_line import Line

__all__ = ["LogProxy"]

_NO_PARENT = QModelIndex()


class LogProxy(QSortFilterProxyModel):
    def __init__(self, source: LogModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._log = source
        self._filter = LogFilter()
        self._accepts: Callable[[Line], bool] | None = None
        self._flags: bytearray | None = None  # during a rescan: which held lines pass

    @property
    def log(self) -> LogModel:
        return self._log

    @property
    def filter(self) -> LogFilter:
        return self._filter

    @property
    def filtering(self) -> bool:
        return self._accepts is not None

    def set_filter(self, new: LogFilter) -> None:
        """Show the lines ``new`` lets through: one rescan, and none when nothing changed. No
        filter lets go of the log (show the log itself first)."""
        if new == self._filter:
            return
        self._filter = new
        if not new.active:
            self._accepts = None
            self.setSourceModel(None)  # type: ignore[arg-type]
            return
        self._accepts = new.predicate()
        # The rescan reads flags worked out for every line at once: far cheaper per line than
        # the predicate, and gone once the proxy has its rows (before any new line comes).
        self._flags = new.passing(self._log.held_lines())
        try:
            if self.sourceModel() is None:
                self.setSourceModel(self._log)
            else:
                self.invalidate()
            self.rowCount()  # the rows are worked out here, while the flags hold
        finally:
            self._flags = None

    def filterAcceptsRow(self, source_row: int,
                         _parent: QModelIndex | QPersistentModelIndex = _NO_PARENT) -> bool:
        accepts = self._accepts
        if accepts is None:
            return True
        flags = self._flags
        if flags is not None:  # a rescan
            index = source_row - (1 if self._log.trimmed else 0)
            return index < 0 or bool(flags[index])
        line = self._log.line_at(source_row)
        return line is None or accepts(line)  # None: the note row, always shown

    def shown(self) -> int:
        """The lines shown, without the note row."""
        return self.rowCount() - (1 if self._log.trimmed else 0)

    def source_row(self, row: int) -> int:
        return self.mapToSource(self.index(row, 0)).row()

    def row_at_or_after(self, source_row: int) -> int:
        """The row showing ``source_row``, or else the first shown after it (the last row if
        none is): where a reader's place in the whole log lands in the filtered one."""
        low, high = 0, self.rowCount()
        while low < high:  # rows keep the log's order: a binary search, log2(n) look-ups
            mid = (low + high) // 2
            if self.source_row(mid) < source_row:
                low = mid + 1
            else:
                high = mid
        return min(low, self.rowCount() - 1)

    def key_at(self, row: int) -> PositionKey | None:
        """The position the line shown at ``row`` is about, if any."""
        return self._log.key_at(self.source_row(row))
