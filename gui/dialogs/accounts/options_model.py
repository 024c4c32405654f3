"""A venue's options as a table, one row each: its name, its value (editable; empty shows the
default it stands for) and its unit."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QFont

from core.venues.info import OptionDetail
from gui.models.style import MUTED

__all__ = ["PLACEHOLDER_ROLE", "OptionsModel", "default_text"]

AnyIndex = QModelIndex | QPersistentModelIndex
# The Value cell's placeholder ("default 12000"), for the editor the delegate opens.
PLACEHOLDER_ROLE = Qt.ItemDataRole.UserRole + 1
VALUE, UNIT = 1, 2



def default_text(detail: OptionDetail | None) -> str:
    """What an empty value means, as the field says it: "default 12000 weight units"."""
    if detail is None or not detail.default:
        return "default"
    if not detail.default[:1].isdigit():  # words: "default: the key's own account"
        return f"default: {detail.default}"
    unit = f" {detail.unit}" if detail.unit else ""
    return f"default {detail.default}{unit}"


class OptionsModel(QAbstractTableModel):
    """The venue's options, one row each; the Value column is editable (empty = default)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._names: list[str] = []
        self._help: dict[str, str] = {}
        self._details: dict[str, OptionDetail] = {}
        self._values: dict[str, str] = {}
        self._italic = QFont()
        self._italic.setItalic(True)

    def set_options(self, descriptions: Mapping[str, str], values: Mapping[str, str],
                    details: Mapping[str, OptionDetail] | None = None) -> None:
        self.beginResetModel()
        self._names = list(descriptions)
        self._help = dict(descriptions)
        self._details = dict(details or {})
        self._values = {k: str(v) for k, v in values.items() if k in descriptions}
        self.endResetModel()

    def values(self) -> dict[str, str]:
        """The options that are set (non-empty), as AccountConfig.options wants them."""
        return {k: v.strip() for k, v in self._values.items() if v.strip()}

    def set_value(self, name: str, value: str) -> None:
        row = self._names.index(name)
        self.setData(self.index(row, VALUE), value)

    def row_of(self, name: str) -> int | None:
        return self._names.index(name) if name in self._names else None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._names)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else 3

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Option", "Value", "Unit")[section] if 0 <= section < 3 else None
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        return base | Qt.ItemFlag.ItemIsEditable if index.column() == VALUE else base

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._names):
            return None
        name = self._names[index.row()]
        col = index.column()
        value = self._values.get(name, "")
        detail = self._details.get(name)
        if role == Qt.ItemDataRole.DisplayRole:
            if col == VALUE:
                return value or default_text(detail)  # an empty value shows its default
            return name if col == 0 else (detail.unit if detail else "")
        if role == Qt.ItemDataRole.EditRole:
            return name if col == 0 else value if col == VALUE else None
        if role == PLACEHOLDER_ROLE and col == VALUE:
            return default_text(detail)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._help.get(name, "")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if col == 0:
                return name
            if col == VALUE:
                return f"{name}: {value or default_text(detail)}"
            return f"{name} unit: {detail.unit if detail else 'none'}"
        if role == Qt.ItemDataRole.ForegroundRole and (col != VALUE or not value):
            return QBrush(MUTED) if col != 0 else None  # the theme's colours
        if role == Qt.ItemDataRole.FontRole and col == VALUE and not value:
            return self._italic
        return None

    def setData(self, index: AnyIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (not index.isValid() or index.column() != VALUE or role != Qt.ItemDataRole.EditRole
                or not 0 <= index.row() < len(self._names)):
            return False
        name = self._names[index.row()]
        text = "" if value is None else str(value)
        if self._values.get(name, "") == text:
            return True
        self._values[name] = text
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.DisplayRole,
                                             Qt.ItemDataRole.EditRole,
                                             Qt.ItemDataRole.AccessibleTextRole,
                                             Qt.ItemDataRole.ForegroundRole,
                                             Qt.ItemDataRole.FontRole])
        return True
