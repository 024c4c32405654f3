"""The dialog's left side: the configured accounts, Add / Edit / Remove, and the inline
question that a removal asks first."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.secrets import SecretStore
from gui.dialogs.accounts.list_model import AccountsListModel
from gui.dialogs.accounts.text import EMPTY_HINT, remove_question
from gui.widgets import EnvChipDelegate

__all__ = ["AccountsListPane"]


class AccountsListPane(QWidget):
    """The accounts table and its buttons; the dialog wires what the buttons do."""

    def __init__(self, store: SecretStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        left = QVBoxLayout(self)
        left.setContentsMargins(0, 0, 0, 0)
        left.setSpacing(6)
        self.model = AccountsListModel(store, self)
        self.table = QTableView(self)
        self.table.setObjectName("accountsList")
        self.table.setAccessibleName("Configured accounts")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in ((1, 86), (2, 92), (3, 96)):
            self.table.setColumnWidth(col, width)
        self.table.setMinimumWidth(360)
        self.envDelegate = EnvChipDelegate(self.table)
        self.table.setItemDelegateForColumn(2, self.envDelegate)
        left.addWidget(self.table, 1)

        self.emptyHint = QLabel(EMPTY_HINT, self)
        self.emptyHint.setObjectName("emptyHint")
        self.emptyHint.setWordWrap(True)
        left.addWidget(self.emptyHint)

        buttons = QHBoxLayout()
        self.addButton = QPushButton("Add", self)
        self.addButton.setObjectName("addAccountButton")
        self.editButton = QPushButton("Edit", self)
        self.editButton.setObjectName("editAccountButton")
        self.removeButton = QPushButton("Remove", self)
        self.removeButton.setObjectName("removeAccountButton")
        for b in (self.addButton, self.editButton, self.removeButton):
            b.setAutoDefault(False)
            buttons.addWidget(b)
        buttons.addStretch(1)
        left.addLayout(buttons)
        self._build_remove_confirm()
        left.addWidget(self.removeConfirm)

    def _build_remove_confirm(self) -> None:
        self.removeConfirm = QFrame(self)
        self.removeConfirm.setObjectName("removeConfirm")
        rc = QVBoxLayout(self.removeConfirm)
        rc.setContentsMargins(10, 8, 10, 8)
        self.removeConfirmText = QLabel(self.removeConfirm)
        self.removeConfirmText.setObjectName("removeConfirmText")
        self.removeConfirmText.setWordWrap(True)
        rc.addWidget(self.removeConfirmText)
        rcb = QHBoxLayout()
        rcb.addStretch(1)
        self.keepButton = QPushButton("Keep it", self.removeConfirm)
        self.keepButton.setObjectName("keepAccountButton")
        self.confirmRemoveButton = QPushButton("Remove account", self.removeConfirm)
        self.confirmRemoveButton.setObjectName("confirmRemoveButton")
        for b in (self.keepButton, self.confirmRemoveButton):
            b.setAutoDefault(False)
            rcb.addWidget(b)
        rc.addLayout(rcb)
        self.keepButton.clicked.connect(lambda: self.removeConfirm.setVisible(False))
        self.removeConfirm.setVisible(False)

    def ask_remove(self, name: str) -> None:
        """Ask before removing ``name``; the dialog's confirm button does the removal."""
        self.removeConfirmText.setText(remove_question(name))
        self.removeConfirm.setVisible(True)
