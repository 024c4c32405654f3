"""A venue's options as a table, one row each; the Value column is editable."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

__all__ = ["OptionsModel"]

AnyIndex = QModelIndex | QPersistentModelIndex


class OptionsModel(QAbstractTableModel):
    """The venue's options, one row each; the Value column is editable (empty = default)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self._help: dict[str, str] = {}
        self._values: dict[str, str] = {}

    def set_options(self, descriptions: Mapping[str, str], values: Mapping[str, str]) -> None:
        self.beginResetModel()
        self._names = list(descriptions)
        self._help = dict(descriptions)
        self._values = {k: str(v) for k, v in values.items() if k in descriptions}
        self.endResetModel()

    def values(self) -> dict[str, str]:
        """The options that are set (non-empty), as AccountConfig.options wants them."""
        return {k: v.strip() for k, v in self._values.items() if v.strip()}

    def set_value(self, name: str, value: str) -> None:
        row = self._names.index(name)
        self.setData(self.index(row, 1), value)

    def row_of(self, name: str) -> int | None:
        return self._names.index(name) if name in self._names else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._names)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 2

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Option", "Value")[section] if 0 <= section < 2 else None
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsEditable if index.column() == 1 else base

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._names):
            return None
        name = self._names[index.row()]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return name if index.column() == 0 else self._values.get(name, "")
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._help.get(name, "")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return name if index.column() == 0 else f"{name}: {self._values.get(name, '')}"
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 0:
            return QBrush(QColor("#374151"))
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (not index.isValid() or index.column() != 1 or role != Qt.ItemDataRole.EditRole
                or not 0 <= index.row() < len(self._names)):
            return False
        name = self._names[index.row()]
        text = "" if value is None else str(value)
        if self._values.get(name, "") == text:
            return True
        self._values[name] = text
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole,
                                             Qt.ItemDataRole.EditRole,
                                             Qt.ItemDataRole.AccessibleTextRole])
        return True
