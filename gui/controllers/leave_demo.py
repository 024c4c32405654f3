"""Demo mode's "Switch to your accounts": leave the demo for the configured accounts in the
same window, without a restart.

The simulated accounts disconnect (their rows, badges and filters go), the desk records to the
real journal from then on (the demo's practice records stay in the demo journal, and no
account's story is split across the two), the DEMO banner goes, and every configured account
connects with its secret from the keyring; one without a secret gets its "needs secret" badge.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from core.journal import Journal
from core.settings import SettingsError, load_settings

if TYPE_CHECKING:
    from gui.controllers.accounts import Accounts
    from gui.main_window import MainWindow

__all__ = ["LeaveDemo"]


class LeaveDemo:
    """Runs the switch once; a second request while it runs joins it."""

    def __init__(self, window: MainWindow, accounts: Accounts) -> None:
        self.window = window
        self.accounts = accounts
        self.task: asyncio.Task[None] | None = None

    @property
    def offered(self) -> bool:
        """While the window records to the demo journal, the configured accounts wait."""
        return self.window.demo_journal

    def start(self) -> asyncio.Task[None] | None:
        if self.task is not None and not self.task.done():
            return self.task
        if not self.offered:
            return None
        self.task = self.window.tracker.spawn(self.switch(), name="switch to your accounts")
        return self.task

    def _say(self, text: str, tone: str = "info") -> None:
        self.window.statusBar().showMessage(text, 15000)
        dialog = self.accounts.dialog
        if dialog is not None:
            dialog.show_note(text, tone)

    async def switch(self) -> None:
        w = self.window
        desk = w.desk
        try:
            settings = load_settings(w.settings_path)
        except SettingsError as exc:
            self._say(f"Still in demo mode: the settings file does not load ({exc}).", "error")
            return
        if not settings.accounts:
            self._say("Still in demo mode: no accounts are configured yet. Add one first.")
            return
        for name in list(desk.accounts):  # the simulated accounts
            await desk.disconnect(name)
            self.accounts.forget_account(name)
        journal = Journal.open_default(False, operator_name=settings.preferences.operator_name)
        await desk.use_journal(journal)
        w.journal = journal
        w.historyView.set_journal(journal)
        w.demo_journal = False
        w.set_demo(False)
        w.prefs.apply(settings)  # the preferences, theme, numbers and alerts of the file
        if self.accounts.dialog is not None:
            self.accounts.dialog.offer_switch(False)
        names = ", ".join(a.name for a in settings.accounts)
        w.statusBar().showMessage(f"Left the demo: connecting {names}…", 15000)
        await asyncio.gather(*(self.accounts.apply_account(a) for a in settings.accounts))
        self._say(f"Left the demo. Your accounts: {names}.", "ok")
