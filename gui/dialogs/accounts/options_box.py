"""The chosen venue's options: an editable table (an empty value shows its default, the unit
beside it), its description as each row's tooltip."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHeaderView,
    QLineEdit,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from gui.dialogs.accounts.field_errors import FieldErrors
from gui.dialogs.accounts.options_model import PLACEHOLDER_ROLE, UNIT, OptionsModel


class ValueDelegate(QStyledItemDelegate):
    """The Value editor says what leaving it empty means ("default 12000 weight units")."""

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: QModelIndex | QPersistentModelIndex) -> QWidget:
        editor = super().createEditor(parent, option, index)
        if isinstance(editor, QLineEdit):
            editor.setPlaceholderText(str(index.data(PLACEHOLDER_ROLE) or ""))
        return editor

__all__ = ["OptionsBox"]


class OptionsBox(QGroupBox):
    """The options table; core's complaint about an option shows under it (key "options")."""

    def __init__(self, errors: FieldErrors, parent: QWidget | None = None) -> None:
        super().__init__("Options (optional: hover a name for what it does)", parent)
        self.setObjectName("optionsBox")
        layout = QVBoxLayout(self)
        self.model = OptionsModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("optionsTable")
        self.table.setAccessibleName("Venue options")
        self.table.setModel(self.model)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(UNIT, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnWidth(0, 170)
        self.valueDelegate = ValueDelegate(self.table)
        self.table.setItemDelegateForColumn(1, self.valueDelegate)
        self.table.setMinimumHeight(24 * 6 + 30)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.SelectedClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        layout.addWidget(self.table)
        layout.addWidget(errors.label("options", self))
        errors.bind("options", self.table)
