"""The Accounts dialog: add, edit and remove accounts, test their connection; its list and
options models, the account form and the words they share."""

from gui.dialogs.accounts.accounts_dialog import AccountsDialog
from gui.dialogs.accounts.connection_test import Tester
from gui.dialogs.accounts.endpoints import endpoint_names
from gui.dialogs.accounts.form import AccountForm
from gui.dialogs.accounts.list_model import AccountsListModel
from gui.dialogs.accounts.options_model import OptionsModel
from gui.dialogs.accounts.text import NO_KEYRING_WARNING

__all__ = [
    "NO_KEYRING_WARNING",
    "AccountForm",
    "AccountsDialog",
    "AccountsListModel",
    "OptionsModel",
    "Tester",
    "endpoint_names",
]
