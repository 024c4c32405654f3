"""The Accounts dialog: add, edit and remove accounts, test their connection.

Settings (never a secret) go to settings.toml through ``core.settings``; the secret key goes
only to ``SecretStore.set`` (the OS keyring, service ``closeout``). With no keyring backend the
dialog says so and offers to keep the secret in memory for this session only; there is never a
plaintext fallback. Bad input is shown at the field that caused it and nothing is saved.

Opened with ``open()`` (never ``exec()``): the app's asyncio loop keeps running, and Test
connection runs as a tracked task.

The dialog is a shell over its parts: the accounts list (:mod:`.list_pane`), the editor with
the account form (:mod:`.editor`, :mod:`.form`), the field checks (:mod:`.validation`), Test
connection (:mod:`.connection_test`) and the secret's handling (:mod:`.secret`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.secrets import SecretStore
from core.settings import (
    AccountError,
    Settings,
    SettingsError,
    add_account,
    load_settings,
    remove_account,
    replace_account,
    save_settings,
)
from core.venue import AccountConfig
from gui.bridge import TaskTracker
from gui.dialogs.accounts.connection_test import ConnectionTest, Tester
from gui.dialogs.accounts.editor import AccountEditor
from gui.dialogs.accounts.list_pane import AccountsListPane
from gui.dialogs.accounts.secret import keep_secret
from gui.dialogs.accounts.text import (
    DEMO_OFFER,
    SWITCH_TOOLTIP,
    settings_error_text,
    settings_line,
)
from gui.dialogs.accounts.validation import field_key

__all__ = ["AccountsDialog"]


class AccountsDialog(QDialog):
    """List, add, edit and remove accounts. Emits ``accountSaved(account, old_name)`` after a
    save (old_name is None for a new account) and ``accountRemoved(name)`` after a removal,
    so the window can connect or disconnect it at once."""

    accountSaved = Signal(object, object)  # AccountConfig, str | None
    accountRemoved = Signal(str)
    switchRequested = Signal()  # "Switch to your accounts" (leave the demo)
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
        self.settings = Settings()
        self.settings_error: SettingsError | None = None
        self._adding = False
        self._build()
        self.connectionTest = ConnectionTest(
            self, self.editor, store, self.tracker, tester=tester, timeout=test_timeout,
            on_report=self.testFinished.emit)
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

        self.demoOffer = QFrame(self)
        self.demoOffer.setObjectName("demoOffer")
        offer = QHBoxLayout(self.demoOffer)
        offer.setContentsMargins(0, 0, 0, 0)
        self.demoOfferText = QLabel(DEMO_OFFER, self.demoOffer)
        self.demoOfferText.setWordWrap(True)
        offer.addWidget(self.demoOfferText, 1)
        self.switchAccountsButton = QPushButton("S&witch to your accounts", self.demoOffer)
        self.switchAccountsButton.setObjectName("switchAccountsButton")
        self.switchAccountsButton.setAutoDefault(False)
        self.switchAccountsButton.setToolTip(SWITCH_TOOLTIP)
        self.switchAccountsButton.clicked.connect(self.switchRequested.emit)
        offer.addWidget(self.switchAccountsButton)
        self.demoOffer.setVisible(False)
        self._offer_switch = False
        root.addWidget(self.demoOffer)

        body = QHBoxLayout()
        body.setSpacing(14)
        self.listPane = AccountsListPane(self.store, self)
        self._alias_list_pane()
        body.addWidget(self.listPane, 4)
        self.editor = AccountEditor(self.store, self)
        self._alias_editor()
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

        self.accountsList.doubleClicked.connect(lambda *_: self.edit_selected())
        self.addButton.clicked.connect(self.start_add)
        self.editButton.clicked.connect(self.edit_selected)
        self.removeButton.clicked.connect(self.ask_remove)
        self.confirmRemoveButton.clicked.connect(self.remove_selected)
        self.testConnectionButton.clicked.connect(self.start_test)
        self.discardButton.clicked.connect(self.discard)
        self.saveButton.clicked.connect(self.save)
        sel = self.accountsList.selectionModel()
        sel.selectionChanged.connect(self._update_buttons)
        self.editor.show_form(False)

    def _alias_list_pane(self) -> None:
        """The list pane's widgets under the dialog's names (the window and tests use them)."""
        pane = self.listPane
        self.list_model = pane.model
        self.accountsList = pane.table
        self.envDelegate = pane.envDelegate
        self.emptyHint = pane.emptyHint
        self.addButton = pane.addButton
        self.editButton = pane.editButton
        self.removeButton = pane.removeButton
        self.removeConfirm = pane.removeConfirm
        self.removeConfirmText = pane.removeConfirmText
        self.keepButton = pane.keepButton
        self.confirmRemoveButton = pane.confirmRemoveButton

    def _alias_editor(self) -> None:
        """The editor's widgets under the dialog's names (the window and tests use them)."""
        editor = self.editor
        self.formTitle = editor.formTitle
        self.form = editor.form
        self.testConnectionButton = editor.testConnectionButton
        self.testConnectionResult = editor.testConnectionResult
        self.formError = editor.formError
        self.discardButton = editor.discardButton
        self.saveButton = editor.saveButton

    # ------------------------------------------------------------------ state
    def reload(self) -> None:
        """Read the settings file again; a broken file locks editing (it is never
        overwritten) and says why, with its path and line."""
        from core.settings import settings_path

        path = self.settings_path or settings_path()
        self.pathLabel.setText(settings_line(path, persistent=self.store.persistent))
        try:
            self.settings = load_settings(self.settings_path)
            self.settings_error = None
        except SettingsError as exc:
            self.settings = Settings()
            self.settings_error = exc
        if self.settings_error is not None:
            self.settingsErrorBanner.setText(settings_error_text(self.settings_error))
        self.settingsErrorBanner.setVisible(self.settings_error is not None)
        self.list_model.set_accounts(self.settings.accounts)
        self.emptyHint.setVisible(not self.settings.accounts and self.settings_error is None)
        self._update_buttons()
        self._update_offer()

    def offer_switch(self, offer: bool) -> None:
        """The window runs the demo: offer to leave it for the configured accounts (shown
        while there is at least one)."""
        self._offer_switch = offer
        self._update_offer()

    def _update_offer(self) -> None:
        self.demoOffer.setVisible(self._offer_switch and bool(self.settings.accounts)
                                  and self.settings_error is None)

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

    @property
    def editing(self) -> AccountConfig | None:
        return self.form.editing

    @property
    def testTask(self) -> asyncio.Task[None] | None:
        """The running (or last) Test connection task."""
        return self.connectionTest.task

    # ------------------------------------------------------------------ add / edit
    def _open_form(self, account: AccountConfig | None, title: str) -> None:
        self.form.load(account)
        self._set_result("", "")
        self.formError.setVisible(False)
        self.formTitle.setText(title)
        self.editor.show_form(True)

    def start_add(self) -> None:
        if self.settings_error is not None:
            return
        self.connectionTest.cancel()
        self._adding = True
        self.removeConfirm.setVisible(False)
        self.accountsList.clearSelection()
        self._open_form(None, "New account")
        self.form.nameInput.setFocus()

    def edit(self, name: str, *, focus_secret: bool = False) -> bool:
        """Open the form on an account ("needs secret" opens it with the secret focused)."""
        if self.settings_error is not None:
            return False
        account = self.settings.account(name)
        if account is None:
            return False
        self.connectionTest.cancel()
        self._adding = False
        self.removeConfirm.setVisible(False)
        self.select(name)
        self._open_form(account, f"Edit “{name}”")
        (self.form.secretKeyInput if focus_secret else self.form.nameInput).setFocus()
        return True

    def edit_selected(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.edit(name)

    def discard(self) -> None:
        self.connectionTest.cancel()
        self.form.secretKeyInput.clear()
        self.form.editing = None
        self._adding = False
        self.editor.show_form(False)

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
            self.form.show_errors({field_key(exc.field): exc.message})
            return False
        except (SettingsError, ValueError, OSError) as exc:
            self.editor.set_form_error(f"Nothing was saved: {exc}")
            return False
        secret = self.form.secret()
        self.form.secretKeyInput.clear()
        note = keep_secret(self.store, account.name, secret,
                           old_name=old.name if old is not None else None)
        self.settings = new_settings
        self.list_model.set_accounts(new_settings.accounts)
        self.emptyHint.setVisible(False)
        self.form.editing = account
        self._adding = False
        self.select(account.name)
        self.formTitle.setText(f"Edit “{account.name}”")
        self.form.load(account)
        self._set_result(f"Saved “{account.name}”.{note}", "ok")
        self._update_offer()
        self.accountSaved.emit(account, old.name if old is not None else None)
        return True

    def show_note(self, text: str, tone: str = "info") -> None:
        """A word from the window about what happened next (e.g. "restart to connect")."""
        self._set_result(text, tone)

    # ------------------------------------------------------------------ remove
    def ask_remove(self) -> None:
        name = self.selected_name()
        if name is None or self.settings_error is not None:
            return
        self.listPane.ask_remove(name)

    def remove_selected(self) -> bool:
        name = self.selected_name()
        self.removeConfirm.setVisible(False)
        if name is None or self.settings_error is not None:
            return False
        try:
            new_settings = remove_account(self.settings, name)
            save_settings(new_settings, self.settings_path)
        except (SettingsError, ValueError, OSError) as exc:
            self.editor.set_form_error(f"Nothing was removed: {exc}")
            return False
        self.store.delete(name)
        self.settings = new_settings
        self.list_model.set_accounts(new_settings.accounts)
        self.emptyHint.setVisible(not new_settings.accounts)
        if self.form.editing is not None and self.form.editing.name == name:
            self.discard()
        self._update_buttons()
        self._update_offer()
        self.accountRemoved.emit(name)
        return True

    # ------------------------------------------------------------------ test connection
    def start_test(self) -> asyncio.Task[None] | None:
        """Check the fields and test the account as typed (see ``ConnectionTest``)."""
        return self.connectionTest.start(self.settings)

    def _set_result(self, text: str, tone: str) -> None:
        self.editor.set_result(text, tone)

    def _on_finished(self, _code: int) -> None:
        """Closing the dialog drops a typed secret and stops a running test."""
        self.connectionTest.cancel()
        self.form.secretKeyInput.clear()
