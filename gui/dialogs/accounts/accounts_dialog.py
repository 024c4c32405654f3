"""The Accounts dialog: add, edit and remove accounts, test their connection.

Settings (never a secret) go to settings.toml through ``core.settings``; the secret key goes
only to ``SecretStore.set`` (the OS keyring, service ``closeout``). With no keyring backend the
dialog says so and offers to keep the secret in memory for this session only; there is never a
plaintext fallback. Bad input is shown at the field that caused it and nothing is saved.

Opened with ``open()`` (never ``exec()``): the app's asyncio loop keeps running, and Test
connection runs as a tracked task.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from core.accounts import ConnectionReport, test_connection
from core.model import Environment, Venue
from core.secrets import SecretStore
from core.settings import (
    AccountError,
    Settings,
    SettingsError,
    add_account,
    known_endpoints,
    known_options,
    load_settings,
    remove_account,
    replace_account,
    save_settings,
)
from core.venue import AccountConfig, Credentials, InsecureEndpoint, check_endpoint
from core.venues import all_venues, default_endpoints
from gui.bridge import TaskTracker
from gui.models import ENV_ROLE, env_label
from gui.widgets import EnvChipDelegate

__all__ = [
    "NO_KEYRING_WARNING",
    "AccountForm",
    "AccountsDialog",
    "AccountsListModel",
    "OptionsModel",
    "Tester",
    "endpoint_names",
]

log = logging.getLogger(__name__)

Tester = Callable[[AccountConfig, Credentials], Awaitable[ConnectionReport]]
AnyIndex = QModelIndex | QPersistentModelIndex

NO_KEYRING_WARNING = (
    "No system keyring is available: secrets can't be saved. Keep this secret in memory for "
    "this session only?"
)
_ENV_ORDER = (Environment.LIVE, Environment.TESTNET, Environment.DEMO)
_ENV_TEXT = {
    Environment.LIVE: "Live — real orders, real money",
    Environment.TESTNET: "Testnet / UAT — the venue's test environment",
    Environment.DEMO: "Demo — a simulator on this computer",
}


def endpoint_names(venue: Venue) -> list[str]:
    """The venue's endpoint names in a stable order: the live defaults' order, then the rest."""
    ordered = list(default_endpoints(venue, Environment.LIVE))
    return ordered + sorted(known_endpoints(venue) - set(ordered))


# ============================================================================ list model


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
        if self._store.get(name) is None:
            return "missing"
        return "this session" if self._store.session_only(name) else "keyring"

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
                return QBrush(QColor("#c62828"))
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 3:
                return {
                    "keyring": "The secret key is in the OS keyring",
                    "this session": "The secret key is held in memory until Closeout quits",
                    "missing": "No secret key is stored: edit the account to enter it",
                }[self.secret_state(a.name)]
            return f"{a.name}: {a.venue.label}, {_ENV_TEXT[a.environment]}"
        return None


# ============================================================================ options model


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


# ============================================================================ the form


@dataclass
class _Checked:
    account: AccountConfig | None
    errors: dict[str, str] = field(default_factory=dict)  # field key -> message


class AccountForm(QWidget):
    """One account's fields. ``editing`` is the account being edited (None: a new one)."""

    def __init__(self, store: SecretStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("accountForm")
        self.store = store
        self.editing: AccountConfig | None = None
        self.endpointInputs: dict[str, QLineEdit] = {}
        self._error_labels: dict[str, QLabel] = {}
        self._inputs: dict[str, QWidget] = {}
        self._build()

    # ------------------------------------------------------------------ layout
    def _error_label(self, key: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(f"{_camel(key)}Error")
        label.setProperty("role", "fieldError")
        label.setWordWrap(True)
        label.setVisible(False)
        self._error_labels[key] = label
        return label

    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(0, 0, 14, 0)  # room for the scroll bar beside the fields
        root.setSpacing(10)
        form = QFormLayout()
        form.setHorizontalSpacing(12)
        form.setVerticalSpacing(4)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        self.nameInput = QLineEdit(self)
        self.nameInput.setObjectName("nameInput")
        self.nameInput.setAccessibleName("Account name")
        self.nameInput.setPlaceholderText("e.g. client-7")
        self._add_row(form, "&Name", self.nameInput, "name")

        self.venueInput = QComboBox(self)
        self.venueInput.setObjectName("venueInput")
        self.venueInput.setAccessibleName("Venue")
        for info in all_venues():
            self.venueInput.addItem(info.label, info.id.value)
        self._add_row(form, "&Venue", self.venueInput, "venue")

        self.environmentInput = QComboBox(self)
        self.environmentInput.setObjectName("environmentInput")
        self.environmentInput.setAccessibleName("Environment")
        for env in _ENV_ORDER:
            self.environmentInput.addItem(_ENV_TEXT[env], env.value)
        self._add_row(form, "&Environment", self.environmentInput, "environment")

        self.publicKeyInput = QLineEdit(self)
        self.publicKeyInput.setObjectName("publicKeyInput")
        self.publicKeyInput.setAccessibleName("Public API key")
        self._add_row(form, "&Public key", self.publicKeyInput, "public_key")

        self.secretKeyInput = QLineEdit(self)
        self.secretKeyInput.setObjectName("secretKeyInput")
        self.secretKeyInput.setAccessibleName("Secret API key")
        self.secretKeyInput.setEchoMode(QLineEdit.EchoMode.Password)
        # No prediction or input-method history: the secret lives in the widget only until saved.
        self.secretKeyInput.setInputMethodHints(
            Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData
            | Qt.InputMethodHint.ImhNoPredictiveText | Qt.InputMethodHint.ImhNoAutoUppercase)
        self._add_row(form, "&Secret key", self.secretKeyInput, "secret")
        root.addLayout(form)

        self.keyringWarning = QFrame(self)
        self.keyringWarning.setObjectName("keyringWarning")
        kw = QVBoxLayout(self.keyringWarning)
        kw.setContentsMargins(10, 8, 10, 8)
        kw.setSpacing(6)
        self.keyringWarningText = QLabel(NO_KEYRING_WARNING, self.keyringWarning)
        self.keyringWarningText.setObjectName("keyringWarningText")
        self.keyringWarningText.setWordWrap(True)
        self.sessionOnlyCheck = QCheckBox(
            "Yes, keep it in memory until Closeout quits", self.keyringWarning)
        self.sessionOnlyCheck.setToolTip(
            "The secret is never written to disk; you enter it again next time")
        self.sessionOnlyCheck.setObjectName("sessionOnlyCheck")
        self.sessionOnlyCheck.setAccessibleName("Keep the secret for this session only")
        kw.addWidget(self.keyringWarningText)
        kw.addWidget(self.sessionOnlyCheck, 0, Qt.AlignmentFlag.AlignLeft)
        kw.addWidget(self._error_label("session_only"))
        self._inputs["session_only"] = self.sessionOnlyCheck
        self.keyringWarning.setVisible(not self.store.persistent)
        root.addWidget(self.keyringWarning)

        self.endpointsBox = QGroupBox("Endpoints (optional: empty uses the environment's)", self)
        self.endpointsBox.setObjectName("endpointsBox")
        self._endpoints_form = QFormLayout(self.endpointsBox)
        self._endpoints_form.setHorizontalSpacing(12)
        self._endpoints_form.setVerticalSpacing(4)
        self._endpoints_form.setFieldGrowthPolicy(
            QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        root.addWidget(self.endpointsBox)

        self.optionsBox = QGroupBox("Options (optional: hover a name for what it does)", self)
        self.optionsBox.setObjectName("optionsBox")
        ol = QVBoxLayout(self.optionsBox)
        self.options_model = OptionsModel(self)
        self.optionsTable = QTableView(self.optionsBox)
        self.optionsTable.setObjectName("optionsTable")
        self.optionsTable.setAccessibleName("Venue options")
        self.optionsTable.setModel(self.options_model)
        self.optionsTable.verticalHeader().setVisible(False)
        self.optionsTable.verticalHeader().setDefaultSectionSize(24)
        self.optionsTable.horizontalHeader().setStretchLastSection(True)
        self.optionsTable.setColumnWidth(0, 170)
        self.optionsTable.setMinimumHeight(24 * 6 + 30)
        self.optionsTable.setShowGrid(False)
        self.optionsTable.setAlternatingRowColors(True)
        self.optionsTable.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.SelectedClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        ol.addWidget(self.optionsTable)
        ol.addWidget(self._error_label("options"))
        self._inputs["options"] = self.optionsTable
        root.addWidget(self.optionsBox)

        self.venueInput.currentIndexChanged.connect(self._on_venue_changed)
        self.environmentInput.currentIndexChanged.connect(self._update_placeholders)
        self._on_venue_changed()

    def _add_row(self, form: QFormLayout, label: str, widget: QWidget, key: str) -> None:
        caption = QLabel(label, self)
        caption.setBuddy(widget)
        box = QVBoxLayout()
        box.setSpacing(2)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(widget)
        box.addWidget(self._error_label(key))
        form.addRow(caption, box)
        self._inputs[key] = widget

    def _on_venue_changed(self, *_: object) -> None:
        """Rebuild the endpoint fields and the options table for the chosen venue."""
        venue = self.venue()
        keep = {name: edit.text() for name, edit in self.endpointInputs.items()}
        while self._endpoints_form.rowCount():
            self._endpoints_form.removeRow(0)
        for key in [k for k in self._error_labels if k.startswith("endpoints.")]:
            del self._error_labels[key]
            self._inputs.pop(key, None)
        self.endpointInputs = {}
        for name in endpoint_names(venue):
            edit = QLineEdit(self.endpointsBox)
            edit.setObjectName(f"endpoint_{name}")
            edit.setAccessibleName(f"{name} endpoint")
            edit.setText(keep.get(name, ""))
            key = f"endpoints.{name}"
            box = QVBoxLayout()
            box.setSpacing(2)
            box.addWidget(edit)
            label = QLabel(self.endpointsBox)
            label.setObjectName(f"endpoint_{name}Error")
            label.setProperty("role", "fieldError")
            label.setWordWrap(True)
            label.setVisible(False)
            self._error_labels[key] = label
            self._inputs[key] = edit
            box.addWidget(label)
            self._endpoints_form.addRow(name, box)
            self.endpointInputs[name] = edit
        current = self.editing.options if self.editing and self.editing.venue is venue else {}
        self.options_model.set_options(known_options(venue), current)
        self._update_placeholders()

    def _update_placeholders(self, *_: object) -> None:
        defaults = default_endpoints(self.venue(), self.environment())
        for name, edit in self.endpointInputs.items():
            default = defaults.get(name)
            edit.setPlaceholderText(default or "Required: this environment has no default URL")
            edit.setToolTip(f"Default: {default}" if default else
                            "Demo has no default URL: enter the simulator's "
                            "(python -m core.sim prints them)")

    # ------------------------------------------------------------------ values
    def venue(self) -> Venue:
        return Venue(self.venueInput.currentData())

    def environment(self) -> Environment:
        return Environment(self.environmentInput.currentData())

    def load(self, account: AccountConfig | None) -> None:
        """Show an account to edit, or empty fields for a new one."""
        self.editing = account
        self.clear_errors()
        self.secretKeyInput.clear()
        self.sessionOnlyCheck.setChecked(False)
        if account is None:
            self.nameInput.clear()
            self.publicKeyInput.clear()
            self.venueInput.setCurrentIndex(0)
            self.environmentInput.setCurrentIndex(_ENV_ORDER.index(Environment.TESTNET))
            for edit in self.endpointInputs.values():
                edit.clear()
            self._on_venue_changed()
            self.secretKeyInput.setPlaceholderText("Entered once; stored only in the OS keyring")
            return
        self.nameInput.setText(account.name)
        self.publicKeyInput.setText(account.public_key)
        self.venueInput.blockSignals(True)
        self.venueInput.setCurrentIndex(self.venueInput.findData(account.venue.value))
        self.venueInput.blockSignals(False)
        self.environmentInput.blockSignals(True)
        self.environmentInput.setCurrentIndex(
            self.environmentInput.findData(account.environment.value))
        self.environmentInput.blockSignals(False)
        for edit in self.endpointInputs.values():
            edit.clear()
        self._on_venue_changed()
        for name, url in account.endpoints.items():
            if name in self.endpointInputs:
                self.endpointInputs[name].setText(url)
        if self.store.get(account.name) is None:
            self.secretKeyInput.setPlaceholderText("No secret is stored: enter it to connect")
        else:
            self.secretKeyInput.setPlaceholderText("Leave empty to keep the stored secret")

    def account(self) -> AccountConfig:
        """The account as typed (unchecked)."""
        endpoints = {n: e.text().strip() for n, e in self.endpointInputs.items()
                     if e.text().strip()}
        return AccountConfig(
            name=self.nameInput.text().strip(),
            venue=self.venue(),
            environment=self.environment(),
            public_key=self.publicKeyInput.text().strip(),
            endpoints=endpoints,
            options=self.options_model.values(),
        )

    def secret(self) -> str:
        return self.secretKeyInput.text()

    # ------------------------------------------------------------------ checking
    def check(self, settings: Settings, *, for_save: bool) -> _Checked:
        """Every field's problem at once. ``for_save`` adds what only saving needs: a unique
        name, a secret for a new account, the session-only choice without a keyring."""
        errors: dict[str, str] = {}
        raw_name = self.nameInput.text()
        name = raw_name.strip()
        if not name:
            errors["name"] = "The account needs a name."
        elif for_save:
            taken = settings.account(name)
            if taken is not None and (self.editing is None or self.editing.name != name):
                errors["name"] = f"An account called “{name}” already exists; pick another name."
        if not self.publicKeyInput.text().strip():
            errors["public_key"] = "The public API key is required."
        secret = self.secret()
        if secret and secret != secret.strip():
            errors["secret"] = ("The secret key starts or ends with spaces; paste it again "
                                "without them.")
        elif for_save and not secret and self.editing is None:
            errors["secret"] = "The secret key is required (it goes only to the OS keyring)."
        if for_save and secret and not self.store.persistent \
                and not self.sessionOnlyCheck.isChecked():
            errors["session_only"] = (
                "Without a keyring the secret can only be kept for this session: tick the box "
                "to do that, or cancel. Nothing was saved."
            )
        defaults = default_endpoints(self.venue(), self.environment())
        for ep_name, edit in self.endpointInputs.items():
            url = edit.text().strip()
            key = f"endpoints.{ep_name}"
            if not url:
                if ep_name not in defaults:
                    errors[key] = (f"{env_label(self.environment())} has no default "
                                   f"{ep_name} URL: enter one.")
                continue
            try:
                check_endpoint(url)
            except InsecureEndpoint as exc:
                errors[key] = str(exc)
        account = self.account()
        if not errors:
            # What the core checks beyond these (options, venue-specific rules), at its field.
            try:
                if for_save:
                    if self.editing is None:
                        add_account(settings, account)
                    else:
                        replace_account(settings, self.editing.name, account)
                else:
                    add_account(Settings(), account)
            except AccountError as exc:
                errors[_field_key(exc.field)] = exc.message
        return _Checked(None if errors else account, errors)

    def show_errors(self, errors: Mapping[str, str]) -> None:
        for key, label in self._error_labels.items():
            message = errors.get(key, "")
            label.setText(message)
            label.setVisible(bool(message))
            widget = self._inputs.get(key)
            if widget is not None and bool(widget.property("invalid")) != bool(message):
                widget.setProperty("invalid", bool(message))
                widget.style().unpolish(widget)
                widget.style().polish(widget)
            if widget is not None:
                widget.setAccessibleDescription(message)
        first = next((k for k in self._error_labels if k in errors), None)
        if first is not None and (widget := self._inputs.get(first)) is not None:
            widget.setFocus(Qt.FocusReason.OtherFocusReason)

    def clear_errors(self) -> None:
        self.show_errors({})

    def errors_shown(self) -> dict[str, str]:
        """The messages now visible at the fields (for tests and accessibility checks)."""
        return {k: lbl.text() for k, lbl in self._error_labels.items() if lbl.text()}


def _camel(key: str) -> str:
    head, *rest = key.replace(".", "_").split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _field_key(core_field: str) -> str:
    """core.settings.AccountError.field -> the form's key ("public_key", "endpoints.rest")."""
    if core_field.startswith("options."):
        return "options"
    return core_field


# ============================================================================ the dialog


class AccountsDialog(QDialog):
    """List, add, edit and remove accounts. Emits ``accountSaved(account, old_name)`` after a
    save (old_name is None for a new account) and ``accountRemoved(name)`` after a removal,
    so the window can connect or disconnect it at once."""

    accountSaved = Signal(object, object)  # AccountConfig, str | None
    accountRemoved = Signal(str)
    testFinished = Signal(object)  # ConnectionReport

    def __init__(
        self,
        store: SecretStore,
        *,
        settings_path: Path | None = None,
        tracker: TaskTracker | None = None,
        tester: Tester | None = None,
        test_timeout: float = 15.0,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("accountsDialog")
        self.setWindowTitle("Accounts")
        self.setAccessibleName("Accounts")
        self.store = store
        self.settings_path = settings_path
        self.tracker = tracker if tracker is not None else TaskTracker(self)
        self._tester = tester
        self._test_timeout = test_timeout
        self.settings = Settings()
        self.settings_error: SettingsError | None = None
        self.testTask: asyncio.Task[None] | None = None
        self._adding = False
        self._build()
        self.reload()
        self.finished.connect(self._on_finished)
        self.resize(1120, 800)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        root = QVBoxLayout(self)
        root.setContentsMargins(16, 14, 16, 12)
        root.setSpacing(10)
        title = QLabel("Accounts", self)
        title.setObjectName("dialogTitle")
        root.addWidget(title)

        self.settingsErrorBanner = QLabel(self)
        self.settingsErrorBanner.setObjectName("settingsErrorBanner")
        self.settingsErrorBanner.setWordWrap(True)
        self.settingsErrorBanner.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.settingsErrorBanner.setVisible(False)
        root.addWidget(self.settingsErrorBanner)

        body = QHBoxLayout()
        body.setSpacing(14)

        left = QVBoxLayout()
        left.setSpacing(6)
        self.list_model = AccountsListModel(self.store, self)
        self.accountsList = QTableView(self)
        self.accountsList.setObjectName("accountsList")
        self.accountsList.setAccessibleName("Configured accounts")
        self.accountsList.setModel(self.list_model)
        self.accountsList.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.accountsList.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.accountsList.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.accountsList.verticalHeader().setVisible(False)
        self.accountsList.verticalHeader().setDefaultSectionSize(26)
        self.accountsList.setShowGrid(False)
        self.accountsList.setAlternatingRowColors(True)
        header = self.accountsList.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col, width in ((1, 86), (2, 92), (3, 96)):
            self.accountsList.setColumnWidth(col, width)
        self.accountsList.setMinimumWidth(360)
        self.envDelegate = EnvChipDelegate(self.accountsList)
        self.accountsList.setItemDelegateForColumn(2, self.envDelegate)
        self.accountsList.doubleClicked.connect(lambda *_: self.edit_selected())
        left.addWidget(self.accountsList, 1)

        self.emptyHint = QLabel(
            "No accounts yet: Closeout runs in demo mode. Add one to trade a real account.",
            self)
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
        self.addButton.clicked.connect(self.start_add)
        self.editButton.clicked.connect(self.edit_selected)
        self.removeButton.clicked.connect(self.ask_remove)

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
        self.confirmRemoveButton.clicked.connect(self.remove_selected)
        self.removeConfirm.setVisible(False)
        left.addWidget(self.removeConfirm)
        body.addLayout(left, 4)

        self.editor = QFrame(self)
        self.editor.setObjectName("accountEditor")
        el = QVBoxLayout(self.editor)
        el.setContentsMargins(14, 12, 14, 12)
        el.setSpacing(8)
        self.formTitle = QLabel(self.editor)
        self.formTitle.setObjectName("formTitle")
        el.addWidget(self.formTitle)
        self.form = AccountForm(self.store, self.editor)
        scroll = QScrollArea(self.editor)
        scroll.setObjectName("formScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(self.form)
        el.addWidget(scroll, 1)

        test_row = QHBoxLayout()
        self.testConnectionButton = QPushButton("Test connection", self.editor)
        self.testConnectionButton.setObjectName("testConnectionButton")
        self.testConnectionButton.setAutoDefault(False)
        self.testConnectionButton.setToolTip(
            "Connect and authenticate once, count positions and working orders, then "
            "disconnect; nothing is sent")
        self.testConnectionButton.clicked.connect(self.start_test)
        self.testConnectionResult = QLabel(self.editor)
        self.testConnectionResult.setObjectName("testConnectionResult")
        self.testConnectionResult.setAccessibleName("Test connection result")
        self.testConnectionResult.setWordWrap(True)
        self.testConnectionResult.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row.addWidget(self.testConnectionButton)
        test_row.addWidget(self.testConnectionResult, 1)
        el.addLayout(test_row)

        self.formError = QLabel(self.editor)
        self.formError.setObjectName("formError")
        self.formError.setProperty("role", "fieldError")
        self.formError.setWordWrap(True)
        self.formError.setVisible(False)
        el.addWidget(self.formError)

        save_row = QHBoxLayout()
        save_row.addStretch(1)
        self.discardButton = QPushButton("Discard changes", self.editor)
        self.discardButton.setObjectName("discardButton")
        self.discardButton.setAutoDefault(False)
        self.discardButton.clicked.connect(self.discard)
        self.saveButton = QPushButton("Save account", self.editor)
        self.saveButton.setObjectName("saveAccountButton")
        self.saveButton.setDefault(True)
        self.saveButton.clicked.connect(self.save)
        save_row.addWidget(self.discardButton)
        save_row.addWidget(self.saveButton)
        el.addLayout(save_row)
        body.addWidget(self.editor, 6)
        root.addLayout(body, 1)

        bottom = QHBoxLayout()
        self.pathLabel = QLabel(self)
        self.pathLabel.setObjectName("settingsPath")
        self.pathLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bottom.addWidget(self.pathLabel, 1)
        self.closeButton = QPushButton("Close", self)
        self.closeButton.setObjectName("closeAccountsButton")
        self.closeButton.setAutoDefault(False)
        self.closeButton.clicked.connect(self.accept)
        bottom.addWidget(self.closeButton)
        root.addLayout(bottom)

        sel = self.accountsList.selectionModel()
        sel.selectionChanged.connect(self._update_buttons)
        self._show_editor(False)

    # ------------------------------------------------------------------ state
    def reload(self) -> None:
        """Read the settings file again; a broken file locks editing (it is never
        overwritten) and says why, with its path and line."""
        from core.settings import settings_path

        path = self.settings_path or settings_path()
        where = "the OS keyring" if self.store.persistent else (
            "memory only, this session (no keyring)")
        self.pathLabel.setText(f"Settings: {path}   ·   secrets: {where}")
        try:
            self.settings = load_settings(self.settings_path)
            self.settings_error = None
        except SettingsError as exc:
            self.settings = Settings()
            self.settings_error = exc
        if self.settings_error is not None:
            self.settingsErrorBanner.setText(
                f"The settings file can't be read, so accounts can't be changed here until it "
                f"is fixed or moved aside (it was not touched):\n{self.settings_error}"
            )
        self.settingsErrorBanner.setVisible(self.settings_error is not None)
        self.list_model.set_accounts(self.settings.accounts)
        self.emptyHint.setVisible(not self.settings.accounts and self.settings_error is None)
        self._update_buttons()

    def selected_name(self) -> str | None:
        rows = self.accountsList.selectionModel().selectedRows()
        if not rows:
            return None
        return self.list_model.account(rows[0].row()).name

    def select(self, name: str) -> None:
        row = self.list_model.row_of(name)
        if row is None:
            return
        self.accountsList.selectionModel().select(
            self.list_model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )

    def _update_buttons(self, *_: object) -> None:
        ok = self.settings_error is None
        has = self.selected_name() is not None
        self.addButton.setEnabled(ok)
        self.editButton.setEnabled(ok and has)
        self.removeButton.setEnabled(ok and has)
        if not has:
            self.removeConfirm.setVisible(False)

    def _show_editor(self, shown: bool) -> None:
        self.editor.setEnabled(shown)
        self.form.setVisible(shown)
        self.testConnectionButton.setVisible(shown)
        self.saveButton.setVisible(shown)
        self.discardButton.setVisible(shown)
        if not shown:
            self.formTitle.setText("Select an account to edit, or add one.")
            self.testConnectionResult.clear()
            self.formError.setVisible(False)

    @property
    def editing(self) -> AccountConfig | None:
        return self.form.editing

    # ------------------------------------------------------------------ add / edit
    def start_add(self) -> None:
        if self.settings_error is not None:
            return
        self._cancel_test()
        self._adding = True
        self.removeConfirm.setVisible(False)
        self.accountsList.clearSelection()
        self.form.load(None)
        self._set_result("", "")
        self.formError.setVisible(False)
        self.formTitle.setText("New account")
        self._show_editor(True)
        self.form.nameInput.setFocus()

    def edit(self, name: str, *, focus_secret: bool = False) -> bool:
        """Open the form on an account ("needs secret" opens it with the secret focused)."""
        if self.settings_error is not None:
            return False
        account = self.settings.account(name)
        if account is None:
            return False
        self._cancel_test()
        self._adding = False
        self.removeConfirm.setVisible(False)
        self.select(name)
        self.form.load(account)
        self._set_result("", "")
        self.formError.setVisible(False)
        self.formTitle.setText(f"Edit “{name}”")
        self._show_editor(True)
        (self.form.secretKeyInput if focus_secret else self.form.nameInput).setFocus()
        return True

    def edit_selected(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.edit(name)

    def discard(self) -> None:
        self._cancel_test()
        self.form.secretKeyInput.clear()
        self.form.editing = None
        self._adding = False
        self._show_editor(False)

    def save(self) -> bool:
        """Check every field, then write settings and the secret. Returns True when saved."""
        if self.settings_error is not None:
            return False
        self.formError.setVisible(False)
        checked = self.form.check(self.settings, for_save=True)
        self.form.show_errors(checked.errors)
        if checked.account is None:
            return False
        account = checked.account
        old = self.form.editing
        try:
            if old is None:
                new_settings = add_account(self.settings, account)
            else:
                new_settings = replace_account(self.settings, old.name, account)
            save_settings(new_settings, self.settings_path)
        except AccountError as exc:
            self.form.show_errors({_field_key(exc.field): exc.message})
            return False
        except (SettingsError, ValueError, OSError) as exc:
            self._form_error(f"Nothing was saved: {exc}")
            return False
        secret = self.form.secret()
        self.form.secretKeyInput.clear()
        note = ""
        if old is not None and old.name != account.name:
            self.store.rename(old.name, account.name)
        if secret:
            session_only = not self.store.persistent
            saved = self.store.set(account.name, secret, session_only=session_only)
            if not saved:
                note = " The secret is kept in memory for this session only."
        self.settings = new_settings
        self.list_model.set_accounts(new_settings.accounts)
        self.emptyHint.setVisible(False)
        self.form.editing = account
        self._adding = False
        self.select(account.name)
        self.formTitle.setText(f"Edit “{account.name}”")
        self.form.load(account)
        self._set_result(f"Saved “{account.name}”.{note}", "ok")
        self.accountSaved.emit(account, old.name if old is not None else None)
        return True

    def show_note(self, text: str, tone: str = "info") -> None:
        """A word from the window about what happened next (e.g. "restart to connect")."""
        self._set_result(text, tone)

    def _form_error(self, text: str) -> None:
        self.formError.setText(text)
        self.formError.setVisible(bool(text))

    # ------------------------------------------------------------------ remove
    def ask_remove(self) -> None:
        name = self.selected_name()
        if name is None or self.settings_error is not None:
            return
        self.removeConfirmText.setText(
            f"Remove “{name}”? Its settings are deleted and its secret is removed from the "
            "keyring. Open positions stay open at the venue; this only stops Closeout "
            "showing them."
        )
        self.removeConfirm.setVisible(True)

    def remove_selected(self) -> bool:
        name = self.selected_name()
        self.removeConfirm.setVisible(False)
        if name is None or self.settings_error is not None:
            return False
        try:
            new_settings = remove_account(self.settings, name)
            save_settings(new_settings, self.settings_path)
        except (SettingsError, ValueError, OSError) as exc:
            self._form_error(f"Nothing was removed: {exc}")
            return False
        self.store.delete(name)
        self.settings = new_settings
        self.list_model.set_accounts(new_settings.accounts)
        self.emptyHint.setVisible(not new_settings.accounts)
        if self.form.editing is not None and self.form.editing.name == name:
            self.discard()
        self._update_buttons()
        self.accountRemoved.emit(name)
        return True

    # ------------------------------------------------------------------ test connection
    def start_test(self) -> asyncio.Task[None] | None:
        if self.testTask is not None and not self.testTask.done():
            return self.testTask
        checked = self.form.check(self.settings, for_save=False)
        self.form.show_errors(checked.errors)
        if checked.account is None:
            self._set_result("Fix the fields marked in red first; nothing was sent.", "error")
            return None
        account = checked.account
        secret = self.form.secret()
        if not secret and self.form.editing is not None:
            secret = self.store.get(self.form.editing.name) or ""
        if not secret:
            self.form.show_errors({"secret": "Enter the secret key to test the connection."})
            self._set_result("Enter the secret key to test the connection.", "error")
            return None
        credentials = Credentials(account.public_key, secret)
        self.testConnectionButton.setEnabled(False)
        self.testConnectionButton.setText("Testing…")
        self._set_result(f"Connecting to {account.venue.label}…", "info")
        self.testTask = self.tracker.spawn(self._test(account, credentials),
                                           name=f"test connection {account.name}")
        return self.testTask

    async def _test(self, account: AccountConfig, credentials: Credentials) -> None:
        try:
            if self._tester is not None:
                report = await self._tester(account, credentials)
            else:
                report = await test_connection(account, credentials,
                                               timeout=self._test_timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # test_connection reports failures; this is a bug's net
            log.warning("test connection for %s raised %s", account.name, type(exc).__name__)
            report = ConnectionReport(False, message=f"The test failed: {type(exc).__name__}")
        finally:
            # The dialog may be gone by now (closed mid-test, then deleted): touch nothing then.
            if shiboken6.isValid(self.testConnectionButton):
                self.testConnectionButton.setEnabled(True)
                self.testConnectionButton.setText("Test connection")
        if not shiboken6.isValid(self):
            return
        self._set_result(report.message, "ok" if report.ok else "error")
        self.testFinished.emit(report)

    def _set_result(self, text: str, tone: str) -> None:
        label = self.testConnectionResult
        if label.property("tone") != tone:
            label.setProperty("tone", tone)
            label.style().unpolish(label)
            label.style().polish(label)
        label.setText(text)
        label.setAccessibleDescription(text)

    def _cancel_test(self) -> None:
        if self.testTask is not None and not self.testTask.done():
            self.testTask.cancel()
        self.testConnectionButton.setEnabled(True)
        self.testConnectionButton.setText("Test connection")

    def _on_finished(self, _code: int) -> None:
        """Closing the dialog drops a typed secret and stops a running test."""
        self._cancel_test()
        self.form.secretKeyInput.clear()
