"""Cancel all: every working order of one account, one venue, or everything — from the
Positions menu or the Working orders pane's button — and the row menu's "on this symbol".

The user sees every order first (a list that scrolls, "Keep them" the default). Each cancel
then goes the way a row's Cancel button sends it (``Cancelling``: the desk's one cancel path,
journaled, sent once): an order whose cancel is already on its way, or confirmed, is never
sent again, however often Cancel all is clicked. When every answer is in, the status bar
says how many went, and any order that did not gets its own line with the reason.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox, QToolButton

from core.model import Environment, WorkingOrder
from gui.controllers.cancelling import order_name
from gui.dialogs.cancel_all import CancelAllDialog
from gui.models.scopes import Scope, choice_text, scopes_for
from gui.models.working import CancelState

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["CancelAll", "Outcomes"]

Outcomes = dict[tuple[str, str], str | None]  # per order: None once confirmed, else why not


class CancelAll:
    """The menu of scopes, the question, the cancels and their report, for one window."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.confirm: CancelAllDialog | None = None
        self.report: QMessageBox | None = None
        self.last: Outcomes | None = None  # the outcomes of the last batch that finished
        self.menu = QMenu("Cancel &working orders", window)
        self.menu.setObjectName("cancelAllMenu")
        self.menu.setToolTipsVisible(True)
        self.menu.aboutToShow.connect(self.fill)
        window.positionsMenu.addSeparator()
        window.positionsMenu.addMenu(self.menu)
        self.button = QToolButton(window.bottomTabs)
        self.button.setObjectName("cancelAllButton")
        self.button.setText("Cancel all…")
        self.button.setToolTip("Cancel every working order of an account, a venue, or all of "
                               "them (lists them and asks first)")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setMenu(self.menu)
        window.bottomTabs.setCornerWidget(self.button, Qt.Corner.TopRightCorner)
        window.bottomTabs.currentChanged.connect(self._follow_tab)
        wm = window.working_model
        for signal in (wm.rowsInserted, wm.rowsRemoved, wm.modelReset):
            signal.connect(self._follow_rows)
        self._follow_tab()
        self._follow_rows()

    def _follow_tab(self, *_: object) -> None:
        """The button belongs to the Working orders pane: shown only while it is."""
        w = self.window
        self.button.setVisible(w.bottomTabs.currentWidget() is w.workingOrdersView)

    def _follow_rows(self, *_: object) -> None:
        self.button.setEnabled(self.window.working_model.rowCount() > 0)

    def fill(self) -> list[QAction]:
        """The menu's choices, counted now (it is rebuilt each time it opens)."""
        self.menu.clear()
        choices = scopes_for(self.window.working_model.orders())
        if not choices:
            none = self.menu.addAction("No working orders")
            none.setEnabled(False)
            return [none]
        made = []
        for scope, n in choices:
            label = scope.label
            action = self.menu.addAction(choice_text(scope, n))
            action.setObjectName(_action_name(scope))
            action.setStatusTip(f"Cancel the {n} working order{'s' if n != 1 else ''} of "
                                f"{label} (lists them and asks first)")
            action.triggered.connect(lambda _=False, s=scope: self.ask(s))
            made.append(action)
            if scope == Scope():
                self.menu.addSeparator()
        return made

    def _may_send(self, order: WorkingOrder) -> bool:
        """Not while this window's cancel of it is out, nor once the venue confirmed one."""
        ident = order.ident
        return (not self.window.cancelling.in_flight(ident)
                and self.window.working_model.cancel_state(ident) is CancelState.IDLE)

    def ask(self, scope: Scope, reason: str | None = None) -> CancelAllDialog | None:
        """List the scope's orders and ask; None when there is nothing to send (and why is in
        the status bar)."""
        w = self.window
        if self.confirm is not None:
            self.confirm.raise_()
            self.confirm.activateWindow()
            return self.confirm
        orders = scope.pick(w.working_model.orders())
        fresh = [o for o in orders if self._may_send(o)]
        if not fresh:
            n = len(orders)
            text = (f"No working orders on {scope.label}." if not n else
                    f"The cancel of {'each of the ' + str(n) + ' orders' if n > 1 else 'the order'}"
                    f" on {scope.label} is already on its way or done; nothing new was sent.")
            w.statusBar().showMessage(text, 8000)
            return None
        why = reason or f"Cancel all: {scope.label}"

        def forget() -> None:
            self.confirm = None

        accounts = sorted({o.account for o in fresh}, key=str.casefold)
        live = [a for a in accounts if w.envs.of(a) is Environment.LIVE]
        dialog = CancelAllDialog(
            fresh, scope.label, skipped=len(orders) - len(fresh), live=live,
            on_act=lambda: self.send(fresh, scope.label, why),
            instruments=getattr(w.desk, "instrument", None), parent=w)
        dialog.finished.connect(forget)
        self.confirm = dialog
        dialog.open()
        return dialog

    def send(self, orders: Sequence[WorkingOrder], label: str, reason: str
             ) -> asyncio.Task[Outcomes] | None:
        """Cancel each listed order that is still working and not already being cancelled:
        each through the row's own cancel path, at most once."""
        w = self.window
        tasks: dict[WorkingOrder, asyncio.Task[str | None]] = {}
        for order in orders:
            if w.working_model.order(order.ident) is None or not self._may_send(order):
                continue  # gone, or cancelled meanwhile (its row's button, Delete)
            task = w.cancelling.request_cancel(order.ident, reason, quiet=True)
            if task is not None:
                tasks[order] = task
        if not tasks:
            w.statusBar().showMessage(f"Nothing was sent: the orders on {label} are already "
                                      "gone or being cancelled.", 8000)
            return None
        n = len(tasks)
        w.statusBar().showMessage(f"Cancelling {n} working order{'s' if n != 1 else ''} on "
                                  f"{label}…", 15000)
        return w.tracker.spawn(self._report(tasks, label), name=f"cancel all: {label}")

    async def _report(self, tasks: dict[WorkingOrder, asyncio.Task[str | None]],
                      label: str) -> Outcomes:
        await asyncio.wait(tasks.values())
        outcomes: Outcomes = {}
        for order, task in tasks.items():
            if task.cancelled():
                outcomes[order.ident] = "stopped before the venue answered"
            elif (exc := task.exception()) is not None:
                outcomes[order.ident] = f"{type(exc).__name__}: {exc}"
            else:
                outcomes[order.ident] = task.result()
        self.last = outcomes
        failed = [(o, outcomes[o.ident]) for o in tasks if outcomes[o.ident] is not None]
        n, ok = len(tasks), len(tasks) - len(failed)
        head = f"Cancel all on {label}: {ok} of {n} cancel{'s' if n != 1 else ''} confirmed"
        if not failed:
            self.window.statusBar().showMessage(head + ".", 15000)
            return outcomes
        self.window.statusBar().showMessage(
            f"{head}; {len(failed)} not — each is listed, and its row's button says why.", 30000)
        self._show_failures(head, failed)
        return outcomes

    def _show_failures(self, head: str, failed: list[tuple[WorkingOrder, str | None]]) -> None:
        if self.report is not None:
            self.report.close()
        lines = "\n".join(f"• {order_name(o)}: {why}" for o, why in failed)
        box = QMessageBox(QMessageBox.Icon.Warning, "Cancel all", f"{head}.\n\nNot cancelled "
                          f"(they may still be working):\n{lines}",
                          QMessageBox.StandardButton.Ok, self.window)
        box.setObjectName("cancelAllReport")

        def forget(_: int) -> None:
            if self.report is box:
                self.report = None
            box.deleteLater()

        box.finished.connect(forget)
        self.report = box
        box.open()


def _action_name(scope: Scope) -> str:
    if scope.account is not None:
        return f"cancelAll:account:{scope.account}"
    if scope.venue is not None:
        return f"cancelAll:venue:{scope.venue}"
    return "cancelAll:everything"
