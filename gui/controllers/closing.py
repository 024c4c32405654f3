"""Closing a row: the close dialog (its button, Enter), a close in full after one confirmation
(Ctrl+Shift+C) and Close residual. One close in flight per row: a second click sends nothing
and brings the pending close into view instead."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog

from core.desk import AlreadyPending, CloseIntent
from core.desk.coordination import Holder
from core.flatten import CancelFirst
from core.model import CloseRequest, Position, PositionKey
from core.venue import CloseRejected
from gui.controllers.close_progress import sent_text
from gui.controllers.shortcuts import QUICK_CLOSE_SHORTCUT
from gui.dialogs.close import (
    CloseDialog,
    QuickCloseDialog,
    confirmation_reason,
    pending_text,
)
from gui.models.text import fmt_decimal

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["Closing"]


class Closing:
    """Opens the close dialogs of a window (one per row) and sends their closes to the desk."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.desk = window.desk
        self.dialogs: dict[PositionKey, CloseDialog] = {}
        self.quick_dialogs: dict[PositionKey, QuickCloseDialog] = {}
        self._direct: dict[PositionKey, asyncio.Task[None]] = {}  # closes sent with no dialog
        # What a quick close's confirmation times its Enter guard with (tests move it by hand).
        self.clock: Callable[[], float] = time.monotonic

    def show_pending(self, key: PositionKey, intent: CloseIntent | None = None) -> None:
        """A second click while a close is in flight: nothing is sent; the pending close is
        brought into view (its row selected, its Close cell flashing) and the status bar says
        so."""
        intent = intent or self.desk.pending(key)
        shown = self.window.select_row(key)
        self.window.positions_model.flash(key)
        if intent is not None:
            text = pending_text(AlreadyPending(intent))
        else:
            text = f"A close of {key.symbol} on {key.account} is already on its way — nothing " \
                   "new was sent."
        if not shown:
            text += " (Its row is hidden by the filters.)"
        self.window.statusBar().showMessage(text, 8000)

    def _open_for(self, key: PositionKey) -> QDialog | None:
        dialog: QDialog | None = self.dialogs.get(key) or self.quick_dialogs.get(key)
        if dialog is not None:
            dialog.raise_()
            dialog.activateWindow()
        return dialog

    def _position_for(self, key: PositionKey) -> Position | None:
        position = self.desk.positions.get(key) or self.window.positions_model.position(key)
        if position is None:
            self.window.statusBar().showMessage(
                f"{key.symbol} on {key.account} is already flat.", 8000)
        return position

    def _data_age(self, key: PositionKey) -> float | None:
        return self.desk.data_age(key)

    def _stale_age(self, key: PositionKey) -> float | None:
        return self.desk.stale_age(key, self.window.preferences.stale_after_s)

    def request_close(self, key: PositionKey) -> CloseDialog | None:
        """Open the close dialog for a row (its button, or Enter on it)."""
        existing = self._open_for(key)
        if existing is not None:
            return existing if isinstance(existing, CloseDialog) else None
        position = self._position_for(key)
        if position is None:
            return None
        if self.desk.pending(key) is not None:
            self.show_pending(key)
            return None
        try:
            caps = self.desk.capabilities(key)
        except KeyError:
            self.window.statusBar().showMessage(f"Account {key.account} is not connected.", 8000)
            return None
        dialog = CloseDialog(
            position,
            caps,
            self.desk.instrument(key),
            self._submit,
            tracker=self.window.tracker,
            preview=self.desk.preview,
            environment=self.window.envs.of(key.account),
            preferences=self.window.preferences,
            guard=self.desk.check,
            data_age=lambda: self._data_age(key),
            mark=self.desk.mark(key.venue, key.symbol),
            cancel_first=CancelFirst(self.desk, key),
            override=self._override,
            elsewhere=lambda: self.desk.elsewhere(key),
            clock=self.clock,
            parent=self.window,
        )
        dialog.alreadyPending.connect(lambda intent: self.show_pending(intent.key, intent))
        # Said after the send's own line, which it completes ("Cancelled 1 working order, ...").
        dialog.reported.connect(lambda text: self.window.statusBar().showMessage(text, 15000))
        self.dialogs[key] = dialog
        self._hold_rows()
        future = dialog.result_future()
        dialog.open()
        self.window.tracker.spawn(self._after_dialog(key, dialog, future), name=f"dialog {key}")
        return dialog

    def close_selected(self) -> None:
        key = self.window.selected_key()
        if key is None:
            self.window.statusBar().showMessage("Select a position first.", 5000)
            return
        self.request_close(key)

    def close_selected_residual(self) -> None:
        key = self.window.selected_key()
        if key is None:
            self.window.statusBar().showMessage("Select a position first.", 5000)
            return
        self.close_residual(key)

    def quick_close(self, key: PositionKey | None = None) -> QuickCloseDialog | None:
        """Ctrl+Shift+C: close the selected row in full at market, after one confirmation."""
        key = key or self.window.selected_key()
        if key is None:
            self.window.statusBar().showMessage("Select a position first, then press "
                                                f"{QUICK_CLOSE_SHORTCUT}.", 5000)
            return None
        existing = self._open_for(key)
        if existing is not None:
            return existing if isinstance(existing, QuickCloseDialog) else None
        position = self._position_for(key)
        if position is None:
            return None
        if self.desk.pending(key) is not None:
            self.show_pending(key)
            return None
        return self._open_quick(
            position, title=f"Close {key.symbol} in full", action="Close all",
            note="At market, reduce-only. Use Enter on the row for a partial, limit or "
                 "trigger close.", reason=f"{QUICK_CLOSE_SHORTCUT}: close in full")

    def close_residual(self, key: PositionKey) -> QuickCloseDialog | None:
        """Close residual: a new close of the row's current full size — never a resend of the
        first one, and never started on its own. The confirmation policy and the stale check
        apply as to any close; with neither asking, it is sent at once."""
        existing = self._open_for(key)
        if existing is not None:
            return existing if isinstance(existing, QuickCloseDialog) else None
        if self.desk.pending(key) is not None or key in self._direct:
            self.show_pending(key)
            return None
        residual = self.desk.residual(key)
        position = self.desk.positions.get(key)
        if residual is None or position is None:
            self.window.statusBar().showMessage(f"No residual is left on {key.symbol} on "
                                                f"{key.account}.", 8000)
            return None
        request = CloseRequest(key=key, position_side=position.side,
                               position_quantity=position.quantity,
                               reason="Close residual clicked on the row")
        env = self.window.envs.of(key.account)
        asks = confirmation_reason(request, self.window.preferences, env, position.mark_price)
        if asks is None and self._stale_age(key) is None:
            task = self.window.tracker.spawn(self._direct_close(request), name=f"residual {key}")
            self._direct[key] = task
            task.add_done_callback(lambda _t: self._direct.pop(key, None))
            return None
        return self._open_quick(
            position, title=f"Close residual {fmt_decimal(residual)} of {key.symbol}",
            action="Close residual",
            note="A new close of what is left now; the first close is not resent.",
            reason="Close residual clicked on the row")

    def _open_quick(self, position: Position, *, title: str, action: str,
                    note: str, reason: str) -> QuickCloseDialog:
        key = position.key
        dialog = QuickCloseDialog(
            position, self._submit, title=title, action=action, tracker=self.window.tracker,
            preview=self.desk.preview, guard=self.desk.check,
            environment=self.window.envs.of(key.account), stale_age=self._stale_age(key),
            note=note, reason=reason, instrument=self.desk.instrument(key),
            clock=self.clock, override=self._override,
            elsewhere=lambda: self.desk.elsewhere(key), parent=self.window)
        dialog.alreadyPending.connect(lambda intent: self.show_pending(intent.key, intent))
        self.quick_dialogs[key] = dialog
        self._hold_rows()
        future = dialog.result_future()
        dialog.open()
        self.window.tracker.spawn(self._after_dialog(key, dialog, future), name=f"dialog {key}")
        return dialog

    async def _direct_close(self, request: CloseRequest) -> None:
        key = request.key
        try:
            await self._submit(request)
        except AlreadyPending as exc:
            self.show_pending(key, exc.intent)
        except CloseRejected as exc:
            self.window.statusBar().showMessage(
                f"Close of {key.symbol} on {key.account} refused: {exc}", 20000)

    async def _submit(self, request: CloseRequest) -> CloseIntent:
        intent = await self.desk.close(request)
        text = sent_text(intent)  # None: its progress has already said how it ended
        if text is not None:
            self.window.statusBar().showMessage(text, 8000)
        return intent

    async def _override(self, request: CloseRequest, reason: str) -> CloseIntent:
        """Send anyway, over another desk's lease (or with no lease to be had): once, with
        the user's typed reason, which the desk journals as the override."""
        intent = await self.desk.close(request, override_reason=reason)
        text = sent_text(intent)
        if text is not None:
            self.window.statusBar().showMessage(text, 8000)
        return intent

    def on_elsewhere(self, key: PositionKey, desk: str | None,
                     holder: Holder | None = None) -> None:
        """Another desk started or stopped closing ``key``, or renewed its lease: an open
        dialog of it hears."""
        dialog = self.dialogs.get(key) or self.quick_dialogs.get(key)
        if dialog is not None:
            dialog.elsewhere_changed(desk, holder)

    async def _after_dialog(
        self, key: PositionKey, dialog: CloseDialog | QuickCloseDialog,
        future: asyncio.Future[int],
    ) -> None:
        try:
            await future
            task = dialog.task
            if task is not None and not task.done():
                # Cancel only hides the dialog; the request may be on the wire, so let it finish.
                await asyncio.wait({task})
        finally:
            if self.dialogs.get(key) is dialog:
                del self.dialogs[key]
            if self.quick_dialogs.get(key) is dialog:
                del self.quick_dialogs[key]
            self._hold_rows()
            dialog.deleteLater()

    def _hold_rows(self) -> None:
        """No live re-sort moves the rows while a close dialog is open."""
        self.window.positions_proxy.set_hold("dialog", bool(self.dialogs or self.quick_dialogs))
