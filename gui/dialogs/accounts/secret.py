"""The secret key in the dialog: its field, where it is kept, and what happens without a
keyring.

The secret goes only to ``SecretStore.set`` (the OS keyring). With no keyring backend the form
says so and asks whether to keep it in memory for this session only; there is never a
plaintext fallback, and the typed secret is cleared from its field once it is stored.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QFrame, QLabel, QLineEdit, QVBoxLayout, QWidget

from core.secrets import SecretStore
from core.venue import AccountConfig
from gui.dialogs.accounts.field_errors import FieldErrors
from gui.dialogs.accounts.text import NO_KEYRING_WARNING, SESSION_ONLY_NOTE

__all__ = [
    "KeyringWarning",
    "keep_secret",
    "secret_input",
    "secret_placeholder",
    "secret_state",
    "secret_to_test",
]


def secret_state(store: SecretStore, name: str) -> str:
    """Where an account's secret is: "keyring", "this session" or "missing"."""
    if store.get(name) is None:
        return "missing"
    return "this session" if store.session_only(name) else "keyring"


def secret_input(parent: QWidget) -> QLineEdit:
    """A password field that leaves no trace in prediction or input-method history."""
    edit = QLineEdit(parent)
    edit.setObjectName("secretKeyInput")
    edit.setAccessibleName("Secret API key")
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    # No prediction or input-method history: the secret lives in the widget only until saved.
    edit.setInputMethodHints(
        Qt.InputMethodHint.ImhHiddenText | Qt.InputMethodHint.ImhSensitiveData
        | Qt.InputMethodHint.ImhNoPredictiveText | Qt.InputMethodHint.ImhNoAutoUppercase)
    return edit


def secret_placeholder(store: SecretStore, account: AccountConfig | None) -> str:
    """What the empty secret field says: for a new account, or whether one is stored."""
    if account is None:
        return "Entered once; stored only in the OS keyring"
    if store.get(account.name) is None:
        return "No secret is stored: enter it to connect"
    return "Leave empty to keep the stored secret"


class KeyringWarning(QFrame):
    """Shown only without a keyring: the question, and the box that keeps the secret in memory
    for this session (its error, key "session_only", shows under it)."""

    def __init__(self, store: SecretStore, errors: FieldErrors,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("keyringWarning")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        self.text = QLabel(NO_KEYRING_WARNING, self)
        self.text.setObjectName("keyringWarningText")
        self.text.setWordWrap(True)
        self.check = QCheckBox("Yes, keep it in memory until Closeout quits", self)
        self.check.setToolTip(
            "The secret is never written to disk; you enter it again next time")
        self.check.setObjectName("sessionOnlyCheck")
        self.check.setAccessibleName("Keep the secret for this session only")
        layout.addWidget(self.text)
        layout.addWidget(self.check, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(errors.label("session_only", self))
        errors.bind("session_only", self.check)
        self.setVisible(not store.persistent)


def keep_secret(store: SecretStore, name: str, secret: str, *, old_name: str | None) -> str:
    """Store a saved account's secret (moved first if the account was renamed). Returns a note
    for the user: empty, or that the secret is held for this session only."""
    if old_name is not None and old_name != name:
        store.rename(old_name, name)
    if secret:
        saved = store.set(name, secret, session_only=not store.persistent)
        if not saved:
            return SESSION_ONLY_NOTE
    return ""


def secret_to_test(store: SecretStore, typed: str, editing: AccountConfig | None) -> str:
    """The secret Test connection uses: the one typed, else the edited account's stored one."""
    if not typed and editing is not None:
        return store.get(editing.name) or ""
    return typed
