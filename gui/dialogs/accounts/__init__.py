"""The Accounts dialog: add, edit and remove accounts, test their connection."""

from gui.dialogs.accounts.accounts_dialog import (
    NO_KEYRING_WARNING,
    AccountForm,
    AccountsDialog,
    AccountsListModel,
    OptionsModel,
    Tester,
    endpoint_names,
)

__all__ = [
    "NO_KEYRING_WARNING",
    "AccountForm",
    "AccountsDialog",
    "AccountsListModel",
    "OptionsModel",
    "Tester",
    "endpoint_names",
]
