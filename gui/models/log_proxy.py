"""The order log as the pane shows it: the lines its filters let through.

A ``QSortFilterProxyModel`` asks ``filterAcceptsRow`` once per row, so a burst of new lines
costs one predicate call per new line and nothing for the lines already held; only a change of
filter looks at every line again, once (``invalidate``: one layout change, not one signal per
run of hidden lines). It never sorts: the log reads in receive time, as the model holds it.
The note row (lines trimmed to save memory) always shows."""

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
        self.setSourceModel(source)

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
        """Show the lines ``new`` lets through: one rescan, and none when nothing changed."""
        if new == self._filter:
            return
        self._filter = new
        self._accepts = new.predicate() if new.active else None
        self.invalidate()

    def filterAcceptsRow(self, source_row: int,
                         _parent: QModelIndex | QPersistentModelIndex = _NO_PARENT) -> bool:
        accepts = self._accepts
        if accepts is None:
            return True
        line = self._log.line_at(source_row)
        return line is None or accepts(line)  # None: the note row, always shown

    def shown(self) -> int:
        """The lines shown, without the note row."""
        return self.rowCount() - (1 if self._log.trimmed else 0)

    def source_row(self, row: int) -> int:
        return self.mapToSource(self.index(row, 0)).row()

    def key_at(self, row: int) -> PositionKey | None:
        """The position the line shown at ``row`` is about, if any."""
        return self._log.key_at(self.source_row(row))
