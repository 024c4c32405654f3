"""The part of every table model that is the same: named columns from an enum with ``title``,
numbers right-aligned, read-only selectable cells, and changed rows reported in runs. Each model
adds its own rows and data."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

AnyIndex = QModelIndex | QPersistentModelIndex
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
COALESCE_MS = 50  # how long a model gathers updates before it applies them in one batch


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
    COLUMNS: ClassVar[type[enum.Enum]]

    def column_is_numeric(self, col: Any) -> bool:
        return bool(getattr(col, "numeric", False))

    def header_extra(self, col: Any, role: int) -> Any:
        """Header roles beyond title and alignment (tooltips, accessible text)."""
        return None

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        columns = list(self.COLUMNS)
        if orientation is not Qt.Orientation.Horizontal or not 0 <= section < len(columns):
            return None
        col = columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.title  # type: ignore[attr-defined]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return RIGHT if self.column_is_numeric(col) else LEFT
        return self.header_extra(col, role)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
