"""The configured accounts as a table: name, venue, environment, and where the secret is."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush

from core.secrets import SecretStore
from core.venue import AccountConfig
from gui.dialogs.accounts.secret import secret_state
from gui.dialogs.accounts.text import ENV_TEXT, SECRET_TIPS
from gui.models import ENV_ROLE, env_label
from gui.models.style import LOSS

__all__ = ["AccountsListModel"]

AnyIndex = QModelIndex | QPersistentModelIndex


class AccountsListModel(QAbstractTableModel):
    """Configured accounts: name, venue, environment, and where the secret is."""

    COLUMNS = ("Name", "Venue", "Env", "Secret")

    def __init__(self, store: SecretStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store = store
        self._accounts: list[AccountConfig] = []

    def set_accounts(self, accounts: list[AccountConfig]) -> None:
        self.beginResetModel()
        self._accounts = list(accounts)
        self.endResetModel()

    def account(self, row: int) -> AccountConfig:
        return self._accounts[row]

    def row_of(self, name: str) -> int | None:
        return next((i for i, a in enumerate(self._accounts) if a.name == name), None)

    def secret_state(self, name: str) -> str:
        return secret_state(self._store, name)

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._accounts)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if (orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole
                and 0 <= section < len(self.COLUMNS)):
            return self.COLUMNS[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._accounts):
            return None
        a = self._accounts[index.row()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if col == 0:
                return a.name
            if col == 1:
                return a.venue.label
            if col == 2:
                return env_label(a.environment)
            return self.secret_state(a.name)
        if role == ENV_ROLE and col == 2:
            return a.environment.value  # painted as the same chip as the positions' Env
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == 3 and self.secret_state(a.name) == "missing":
                return QBrush(LOSS)  # the theme's red
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 3:
                return SECRET_TIPS[self.secret_state(a.name)]
            return f"{a.name}: {a.venue.label}, {ENV_TEXT[a.environment]}"
        return None
