"""The part of every table model that is the same: named columns from an enum with ``title``,
numbers right-aligned, read-only selectable cells, and changed rows reported in runs. Each model
adds its own rows and data."""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

AnyIndex = QModelIndex | QPersistentModelIndex
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
COALESCE_MS = 50  # how long a model gathers updates before it applies them in one batch
# How often the window's tables take in venue updates: 5 times a second. Each batch repaints
# what changed, and at desk size one repaint of the positions table costs about 10 ms of the
# GUI thread (the log's about 6): at 20 a second each, painting alone took a fifth of it.
WINDOW_REFRESH_MS = 200
# Where in each refresh interval a table takes its turn to repaint: the positions table at its
# start, the log halfway through, so their repaints (about 10 and 8 ms) never share a turn.
POSITIONS_PHASE = 0.0
LOG_PHASE = 0.5


def next_slot_ms(period_ms: int, phase: float, now: float | None = None) -> int:
    """Milliseconds until the next moment ``phase`` (0 to 1) of the way through a period of
    ``period_ms`` on the monotonic clock: tables that repaint on different phases of the
    same period never repaint in the same turn of the loop."""
    period = period_ms / 1000
    now = time.monotonic() if now is None else now
    return round((phase * period - now) % period * 1000)
_HORIZONTAL = Qt.Orientation.Horizontal
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)


def runs(rows: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted rows as (first, last) runs of consecutive rows: one dataChanged per run."""
    out: list[tuple[int, int]] = []
    for row in sorted(rows):
        if out and row == out[-1][1] + 1:
            out[-1] = (out[-1][0], row)
        else:
            out.append((row, row))
    return out


class ColumnsModel(QAbstractTableModel):
    """Views ask ``columnCount`` and ``headerData`` hundreds of thousands of times at scale, so
    the columns are kept as a tuple once per class rather than read from the enum per call."""

    COLUMNS: ClassVar[type[enum.Enum]]
    _COLUMN_LIST: ClassVar[tuple[Any, ...]] = ()
    _COLUMN_COUNT: ClassVar[int] = 0

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        columns = cls.__dict__.get("COLUMNS")
        if columns is not None:
            cls._COLUMN_LIST = tuple(columns)
            cls._COLUMN_COUNT = len(cls._COLUMN_LIST)

    def column_is_numeric(self, col: Any) -> bool:
        return bool(getattr(col, "numeric", False))

    def header_extra(self, col: Any, role: int) -> Any:
        """Header roles beyond title and alignment (tooltips, accessible text)."""
        return None

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._COLUMN_COUNT

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        columns = self._COLUMN_LIST
        if orientation != _HORIZONTAL or not 0 <= section < len(columns):
            return None
        col = columns[section]
        if role == _DISPLAY:
            return col.title
        if role == _ALIGN:
            return RIGHT if self.column_is_numeric(col) else LEFT
        return self.header_extra(col, role)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else _NO_FLAGS


_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_NO_FLAGS = Qt.ItemFlag.NoItemFlags
