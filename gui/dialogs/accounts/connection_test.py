"""Test connection: the fields are checked, then ``core.accounts.test_connection`` connects and
authenticates once, counts positions and working orders and disconnects; nothing is sent.

It runs as a tracked task (never a nested event loop). One test at a time: a second click
joins the running one. The dialog may be closed and deleted mid-test; the task then touches
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import shiboken6
from PySide6.QtWidgets import QWidget

from core.accounts import ConnectionReport, test_connection
from core.secrets import SecretStore
from core.settings import Settings
from core.venue import AccountConfig, Credentials
from gui.bridge import TaskTracker
from gui.dialogs.accounts.editor import AccountEditor
from gui.dialogs.accounts.secret import secret_to_test

__all__ = ["ConnectionTest", "Tester"]

log = logging.getLogger(__name__)

Tester = Callable[[AccountConfig, Credentials], Awaitable[ConnectionReport]]

_IDLE_TEXT = "Test connection"


class ConnectionTest:
    """The probe behind the editor's Test connection button. ``on_report`` hears each finished
    test's report (while ``owner``, the dialog, still exists)."""

    def __init__(
        self,
        owner: QWidget,
        editor: AccountEditor,
        store: SecretStore,
        tracker: TaskTracker,
        *,
        tester: Tester | None,
        timeout: float,
        on_report: Callable[[ConnectionReport], None],
    ) -> None:
        self._owner = owner
        self._editor = editor
        self._store = store
        self._tracker = tracker
        self._tester = tester
        self._timeout = timeout
        self._on_report = on_report
        self.task: asyncio.Task[None] | None = None

    def start(self, settings: Settings) -> asyncio.Task[None] | None:
        """Check the fields and start a test; None (and why, at the fields) when it cannot."""
        if self.task is not None and not self.task.done():
            return self.task
        form = self._editor.form
        checked = form.check(settings, for_save=False)
        form.show_errors(checked.errors)
        if checked.account is None:
            self._editor.set_result("Fix the fields marked in red first; nothing was sent.",
                                    "error")
            return None
        account = checked.account
        secret = secret_to_test(self._store, form.secret(), form.editing)
        if not secret:
            form.show_errors({"secret": "Enter the secret key to test the connection."})
            self._editor.set_result("Enter the secret key to test the connection.", "error")
            return None
        credentials = Credentials(account.public_key, secret)
        button = self._editor.testConnectionButton
        button.setEnabled(False)
        button.setText("Testing…")
        self._editor.set_result(f"Connecting to {account.venue.label}…", "info")
        self.task = self._tracker.spawn(self._run(account, credentials),
                                        name=f"test connection {account.name}")
        return self.task

    async def _run(self, account: AccountConfig, credentials: Credentials) -> None:
        button = self._editor.testConnectionButton
        try:
            if self._tester is not None:
                report = await self._tester(account, credentials)
            else:
                report = await test_connection(account, credentials, timeout=self._timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # test_connection reports failures; this is a bug's net
            log.warning("test connection for %s raised %s", account.name, type(exc).__name__)
            report = ConnectionReport(False, message=f"The test failed: {type(exc).__name__}")
        finally:
            # The dialog may be gone by now (closed mid-test, then deleted): touch nothing then.
            if shiboken6.isValid(button):
                button.setEnabled(True)
                button.setText(_IDLE_TEXT)
        if not shiboken6.isValid(self._owner):
            return
        self._editor.set_result(report.message, "ok" if report.ok else "error")
        self._on_report(report)

    def cancel(self) -> None:
        """Stop a running test (nothing was sent) and make the button ready again."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self._editor.testConnectionButton.setEnabled(True)
        self._editor.testConnectionButton.setText(_IDLE_TEXT)
