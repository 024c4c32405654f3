"""Accounts from the window: the Accounts dialog, entering a missing secret (a badge's button or
File → Enter secret for), and connecting or disconnecting an account once it is saved or
removed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction

from core.accounts import credentials_for
from core.model import ConnectionState, Environment, Venue
from core.venue import AccountConfig
from gui.controllers.leave_demo import LeaveDemo

if TYPE_CHECKING:
    from core.secrets import SecretStore
    from gui.dialogs.accounts import AccountsDialog
    from gui.main_window import MainWindow

__all__ = ["Accounts"]


class Accounts:
    """The accounts of one window: its Accounts dialog and the accounts still waiting for a
    secret."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.desk = window.desk
        self.dialog: AccountsDialog | None = None
        self.needs_secret: dict[str, AccountConfig] = {}  # configured, but no secret stored
        self._secret_actions: dict[str, QAction] = {}
        self.leave_demo = LeaveDemo(window, self)

    def expect_accounts(self, accounts: Iterable[tuple[str, Venue] | AccountConfig]) -> None:
        """Badges for accounts about to connect, so the header shows "connecting" at once."""
        w = self.window
        for item in accounts:
            if isinstance(item, AccountConfig):
                w.connectionStrip.badge(item.name, item.venue, item.environment)
                w.envs.set_account_environment(item.name, item.environment)
            else:
                name, venue = item
                w.connectionStrip.badge(name, venue)
        w.filters.refresh_account_choices()

    def _store(self) -> SecretStore:
        store = self.window.secret_store
        if store is None:
            from core.secrets import SecretStore  # the keyring: only when secrets are needed

            store = SecretStore()
            self.window.set_secret_store(store)
        return store

    def open_accounts(
        self, edit: str | None = None, *, focus_secret: bool = False
    ) -> AccountsDialog:
        """The Accounts dialog (one per window), opened with ``open()``: never a nested loop."""
        dialog = self.dialog
        if dialog is None:
            from gui.dialogs.accounts import AccountsDialog  # imported when first opened

            dialog = AccountsDialog(self._store(), settings_path=self.window.settings_path,
                                    tracker=self.window.tracker, parent=self.window)
            dialog.accountSaved.connect(self._on_account_saved)
            dialog.accountRemoved.connect(self._on_account_removed)
            dialog.switchRequested.connect(self.leave_demo.start)
            self.dialog = dialog
        else:
            dialog.discard()
            dialog.reload()
        dialog.offer_switch(self.leave_demo.offered)
        if edit is not None:
            dialog.edit(edit, focus_secret=focus_secret)
        if dialog.isVisible():
            dialog.raise_()
            dialog.activateWindow()
        else:
            dialog.open()
        return dialog

    def request_secret(self, account: str) -> None:
        """"Enter secret…" on a badge or in the menu: the account's form, secret field first."""
        self.open_accounts(edit=account, focus_secret=True)

    def mark_needs_secret(self, account: AccountConfig) -> None:
        """A configured account with no secret stored: its badge says so and offers to take
        it; nothing connects until it is entered."""
        w = self.window
        self.needs_secret[account.name] = account
        badge = w.connectionStrip.badge(account.name, account.venue, account.environment)
        badge.set_needs_secret(True)
        w.envs.set_account_environment(account.name, account.environment)
        if account.name not in self._secret_actions:
            action = QAction(f"{account.name}…", w)
            action.setObjectName(f"enterSecretAction:{account.name}")
            action.triggered.connect(lambda _=False, n=account.name: self.request_secret(n))
            w.secretsMenu.addAction(action)
            self._secret_actions[account.name] = action
        w.secretsMenuAction.setVisible(True)
        w.filters.refresh_account_choices()

    def _forget_needs_secret(self, name: str) -> None:
        self.needs_secret.pop(name, None)
        action = self._secret_actions.pop(name, None)
        if action is not None:
            self.window.secretsMenu.removeAction(action)
            action.deleteLater()
        self.window.secretsMenuAction.setVisible(bool(self._secret_actions))

    def forget_account(self, name: str) -> None:
        """Everything the window shows about an account that is gone (rows go with the desk)."""
        w = self.window
        self._forget_needs_secret(name)
        w.connectionStrip.remove(name)
        w.healthStrip.remove(name)
        w.health.freshness.forget(name)
        w.envs.set_account_environment(name, None)
        w.positions_model.set_stale(name, None)
        w.working_model.set_stale(name, None)
        w.filters.refresh_account_choices()

    def _on_account_saved(self, account: AccountConfig, old_name: str | None) -> None:
        self.window.tracker.spawn(self.apply_account(account, old_name),
                                  name=f"connect {account.name}")

    def _on_account_removed(self, name: str) -> None:
        self.window.tracker.spawn(self.remove_account(name), name=f"disconnect {name}")

    async def apply_account(self, account: AccountConfig, old_name: str | None = None) -> None:
        """Connect a saved account now (an edited one is disconnected and reconnected)."""
        w = self.window
        for name in dict.fromkeys(n for n in (old_name, account.name) if n):
            if name in self.desk.accounts:
                await self.desk.disconnect(name)
            if name != account.name:
                self.forget_account(name)
        self._forget_needs_secret(account.name)
        if w.demo_journal and account.environment is not Environment.DEMO:
            note = (f"Saved {account.name}. This window runs the demo, with its own journal: "
                    "Switch to your accounts (File → Accounts…) to connect it.")
            w.statusBar().showMessage(note, 20000)
            if self.dialog is not None:
                self.dialog.offer_switch(True)
                self.dialog.show_note(note)
            w.filters.refresh_account_choices()
            return
        credentials = credentials_for(account, self._store())
        badge = w.connectionStrip.badge(account.name, account.venue, account.environment)
        w.envs.set_account_environment(account.name, account.environment)
        w.filters.refresh_account_choices()
        if credentials is None:
            self.mark_needs_secret(account)
            return
        badge.set_state(ConnectionState.CONNECTING, "")
        try:
            await self.desk.connect(account, credentials)
        except Exception as exc:  # the desk reported it (a FAILED badge); say it here too
            w.statusBar().showMessage(f"Could not connect {account.name}: {exc}", 15000)
            return
        w.statusBar().showMessage(f"{account.name} connected.", 8000)

    async def remove_account(self, name: str) -> None:
        """Disconnect a removed account and drop its badge, rows and filters."""
        if name in self.desk.accounts:
            await self.desk.disconnect(name)
        self.forget_account(name)
        self.window.statusBar().showMessage(f"{name} removed.", 8000)
