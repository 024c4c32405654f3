"""The order log as the pane shows it while a filter is on: the lines it lets through.

It holds the log's rows it shows, ascending, and nothing else. A burst of new lines costs one
predicate call per new line and nothing for the lines already held. A new filter's result,
worked out elsewhere in slices (gui/models/log_rescan.py), comes in whole and is shown in one
cheap step (``show``: one layout change, a list swapped in), never a Python call per line in a
single turn, as a ``QSortFilterProxyModel``'s ``invalidate`` would make. It never sorts: the
log reads in receive time, as the model holds it. The note row (lines trimmed to save memory)
always shows.

With no filter the proxy lets go of the log altogether (the pane shows the log itself): a
proxy that passes every line would still cost a Python call per new line."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractProxyModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from core.model import PositionKey
from gui.models.log import LogModel
from gui.models.log_filter import LogFilter
from gui.models.log_line import Line

__all__ = ["LogProxy"]

AnyIndex = QModelIndex | QPersistentModelIndex
_NO_PARENT = QModelIndex()


class LogProxy(QAbstractProxyModel):
    def __init__(self, source: LogModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._log = source
        self._filter = LogFilter()
        self._accepts: Callable[[Line], bool] | None = None
        self._rows: list[int] = []  # the log's rows shown, ascending
        self._removing: tuple[int, int, int, int] | None = None  # source and own rows going
        # Heard always, acted on only while the log is the source (Qt's own wiring of a
        # QAbstractProxyModel does not follow rows).
        source.rowsInserted.connect(self._inserted)
        source.rowsAboutToBeRemoved.connect(self._removing_rows)
        source.rowsRemoved.connect(self._removed)
        source.dataChanged.connect(self._changed)
        source.modelReset.connect(self._reset)

    @property
    def log(self) -> LogModel:
        return self._log

    @property
    def filter(self) -> LogFilter:
        return self._filter

    @property
    def filtering(self) -> bool:
        return self._accepts is not None

    def show(self, new: LogFilter, passing: Sequence[int]) -> None:
        """Show the held lines at ``passing`` (their indices in the log's list, ascending, right
        for it now) as ``new``'s result: one layout change. No filter lets go of the log (show
        the log itself first)."""
        self._filter = new
        if not new.active:
            self._accepts = None
            if self.sourceModel() is not None:
                self.beginResetModel()
                self._rows = []
                self.setSourceModel(None)  # type: ignore[arg-type]
                self.endResetModel()
            return
        self._accepts = new.predicate()
        offset = 1 if self._log.trimmed else 0
        rows = [0, *(i + 1 for i in passing)] if offset else list(passing)
        if self.sourceModel() is None:
            self.beginResetModel()
            self.setSourceModel(self._log)
            self._rows = rows
            self.endResetModel()
            return
        self.layoutAboutToBeChanged.emit()
        old = self.persistentIndexList()
        moved = []
        for index in old:  # the few the view keeps (the line on top, the one chosen)
            row = self._row_of(rows, self._rows[index.row()])
            moved.append(self.index(row, index.column()) if row >= 0 else QModelIndex())
        self._rows = rows
        self.changePersistentIndexList(old, moved)
        self.layoutChanged.emit()

    # ------------------------------------------------------------------ the log's changes
    def _inserted(self, _parent: AnyIndex, first: int, last: int) -> None:
        if self.sourceModel() is None:
            return
        rows, count = self._rows, last - first + 1
        at = bisect.bisect_left(rows, first)
        if at < len(rows):
            rows[at:] = [r + count for r in rows[at:]]
        if self._log.trimmed and first == 0:  # the note row: always shown
            new = [0]
        else:
            accepts, line_at = self._accepts, self._log.line_at
            assert accepts is not None
            new = [r for r in range(first, last + 1) if accepts(line_at(r) or ())]
        if new:
            self.beginInsertRows(_NO_PARENT, at, at + len(new) - 1)
            rows[at:at] = new
            self.endInsertRows()

    def _removing_rows(self, _parent: AnyIndex, first: int, last: int) -> None:
        if self.sourceModel() is None:
            return
        rows = self._rows
        low, high = bisect.bisect_left(rows, first), bisect.bisect_right(rows, last)
        self._removing = (first, last, low, high)
        if high > low:
            self.beginRemoveRows(_NO_PARENT, low, high - 1)

    def _removed(self, *_: object) -> None:
        if self._removing is None:
            return
        first, last, low, high = self._removing
        self._removing = None
        rows = self._rows
        rows[low:] = [r - (last - first + 1) for r in rows[high:]]
        if high > low:
            self.endRemoveRows()

    def _changed(self, top_left: AnyIndex, bottom_right: AnyIndex, roles: list[int]) -> None:
        if self.sourceModel() is None:
            return
        for row in range(top_left.row(), bottom_right.row() + 1):  # the note row, in practice
            mine = self._row_of(self._rows, row)
            if mine >= 0:
                self.dataChanged.emit(self.index(mine, top_left.column()),
                                      self.index(mine, bottom_right.column()), roles)

    def _reset(self) -> None:
        if self.sourceModel() is None:
            return
        self.beginResetModel()
        flags = self._filter.passing(self._log.held_lines())
        offset = 1 if self._log.trimmed else 0
        self._rows = ([0] if offset else []) + [i + offset for i, f in enumerate(flags) if f]
        self.endResetModel()

    @staticmethod
    def _row_of(rows: list[int], source_row: int) -> int:
        at = bisect.bisect_left(rows, source_row)
        return at if at < len(rows) and rows[at] == source_row else -1

    # ------------------------------------------------------------------ Qt model API
    def rowCount(self, parent: AnyIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: AnyIndex = _NO_PARENT) -> int:
        return 0 if parent.isValid() else self._log.columnCount()

    def index(self, row: int, column: int, parent: AnyIndex = _NO_PARENT) -> QModelIndex:
        if parent.isValid() or not (0 <= row < len(self._rows)
                                    and 0 <= column < self.columnCount()):
            return QModelIndex()
        return self.createIndex(row, column)

    def parent(self, *_: Any) -> Any:
        return QModelIndex()

    def hasChildren(self, parent: AnyIndex = _NO_PARENT) -> bool:
        return not parent.isValid() and bool(self._rows)

    def sibling(self, row: int, column: int, _index: AnyIndex) -> QModelIndex:
        return self.index(row, column)

    def mapToSource(self, proxy: AnyIndex) -> QModelIndex:
        if not proxy.isValid() or self.sourceModel() is None:
            return QModelIndex()
        return self._log.index(self._rows[proxy.row()], proxy.column())

    def mapFromSource(self, source: AnyIndex) -> QModelIndex:
        if not source.isValid() or self.sourceModel() is None:
            return QModelIndex()
        row = self._row_of(self._rows, source.row())
        return self.index(row, source.column()) if row >= 0 else QModelIndex()

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Per cell and role on every paint: straight to the log's cell, no index made.
        rows = self._rows
        row = index.row()
        if not 0 <= row < len(rows):
            return None
        return self._log.cell(rows[row], index.column(), role)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation is Qt.Orientation.Horizontal:
            return self._log.headerData(section, orientation, role)
        return super().headerData(section, orientation, role)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return self._log.flags(self.mapToSource(index))

    # ------------------------------------------------------------------ reading it
    def shown(self) -> int:
        """The lines shown, without the note row."""
        return len(self._rows) - (1 if self._log.trimmed and self._rows else 0)

    def source_row(self, row: int) -> int:
        return self._rows[row] if 0 <= row < len(self._rows) else -1

    def row_at_or_after(self, source_row: int) -> int:
        """The row showing ``source_row``, or else the first shown after it (the last row if
        none is): where a reader's place in the whole log lands in the filtered one."""
        return min(bisect.bisect_left(self._rows, source_row), len(self._rows) - 1)

    def key_at(self, row: int) -> PositionKey | None:
        """The position the line shown at ``row`` is about, if any."""
        return self._log.key_at(self.source_row(row))
