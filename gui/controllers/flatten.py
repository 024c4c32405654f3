"""The Flatten menu of a window: which rows are selected, the plan dialogs it opens, and the
plans it runs.

``install_flatten(window)`` adds the menu to a MainWindow from outside. Every entry opens one
:class:`~gui.dialogs.flatten.FlattenPlanDialog`; a confirmed plan runs here, on the window's
task tracker, and its report reopens the dialog. One controller never runs two plans over the
same position at once (and the desk joins a close already in flight anyway).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QItemSelection, QItemSelectionModel, QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QAbstractItemView, QMenu, QWidget

from core.flatten import FlattenPlan, FlattenReport, PlanAlreadyRun, ScopeKind, execute
from core.model import PositionKey, Venue
from gui.models import KEY_ROLE

if TYPE_CHECKING:
    from gui.dialogs.flatten.dialog import FlattenPlanDialog
    from gui.main_window import MainWindow

__all__ = ["FlattenController", "install_flatten"]


def _dialog(
    controller: FlattenController,
    kind: ScopeKind,
    *,
    keys: Iterable[PositionKey] = (),
    account: str | None = None,
    venue: Venue | None = None,
    retry_of: FlattenReport | None = None,
    parent: QWidget | None = None,
) -> FlattenPlanDialog:
    """A new plan dialog. Its package (dialogs, tables, text) is imported with the first one,
    not with the menu, so the window's first paint does not wait for it."""
    from gui.dialogs.flatten.dialog import FlattenPlanDialog

    return FlattenPlanDialog(controller, kind, keys=keys, account=account, venue=venue,
                             retry_of=retry_of, parent=parent)


class FlattenController(QObject):
    """The Flatten menu of one window, its dialogs and its running plans. A child of the
    window, so it lives exactly as long as the window does."""

    finished = Signal(object)  # the FlattenReport of a plan that ran to its end

    def __init__(self, window: MainWindow, *,
                 concurrency: Mapping[Venue, int] | None = None) -> None:
        super().__init__(window)
        self.setObjectName("flattenController")
        self.window = window
        self.desk = window.desk
        self.concurrency = concurrency  # per-venue caps for execute(); None: core's defaults
        self.dialogs: list[FlattenPlanDialog] = []
        self._running: dict[str, frozenset[PositionKey]] = {}  # plan id -> its positions
        self.reports: list[FlattenReport] = []  # finished this session, oldest first
        self._build_menu()
        alerts = getattr(window, "alerts", None)
        if alerts is not None:  # its closes' alerts fold into one summary per plan
            alerts.watch_flatten(self)

    def _build_menu(self) -> None:
        bar = self.window.menuBar()
        menu = QMenu("Fla&tten", bar)
        menu.setObjectName("flattenMenu")
        menu.setToolTipsVisible(True)
        self.menu = menu

        def action(text: str, name: str, tip: str) -> QAction:
            a = QAction(text, menu)
            a.setObjectName(name)
            a.setStatusTip(tip)
            a.setToolTip(tip)
            menu.addAction(a)
            return a

        self.selectedAction = action(
            "Flatten &selected rows…", "flattenSelectedAction",
            "Plan closing the selected positions (Ctrl+click or Shift+click to pick several)")
        self.accountAction = action("Flatten &account…", "flattenAccountAction",
                                    "Plan closing every position of one account")
        self.venueAction = action("Flatten &venue…", "flattenVenueAction",
                                  "Plan closing every position on one venue")
        menu.addSeparator()
        self.everythingAction = action(
            "Flatten &everything…", "flattenEverythingAction",
            "Plan closing every position on every account (needs the word typed)")
        self.selectedAction.triggered.connect(lambda: self.flatten_selected())
        self.accountAction.triggered.connect(lambda: self.flatten_account())
        self.venueAction.triggered.connect(lambda: self.flatten_venue())
        self.everythingAction.triggered.connect(lambda: self.flatten_everything())
        menu.aboutToShow.connect(self._refresh_actions)
        help_menu = getattr(self.window, "helpMenu", None)
        if help_menu is not None:  # Help stays the last menu, by convention
            bar.insertMenu(help_menu.menuAction(), menu)
        else:
            bar.addMenu(menu)
        # Several rows at once: Ctrl+click and Shift+click pick the rows a plan starts from.
        self.window.positionsView.setSelectionMode(
            QAbstractItemView.SelectionMode.ExtendedSelection)

    def _refresh_actions(self) -> None:
        n = len(self.selected_keys())
        self.selectedAction.setText(
            f"Flatten &selected rows ({n})…" if n else "Flatten &selected rows…")
        has_accounts = bool(self.desk.accounts)
        for a in (self.accountAction, self.venueAction, self.everythingAction):
            a.setEnabled(has_accounts)

    # ------------------------------------------------------------------ what is selected
    def selected_keys(self) -> list[PositionKey]:
        """The positions of the rows selected in the window, in the order shown."""
        view = self.window.positionsView
        selection = view.selectionModel()
        if selection is None:
            return []
        indexes = sorted(selection.selectedIndexes(), key=lambda i: (i.row(), i.column()))
        keys: dict[PositionKey, None] = {}
        for index in indexes:
            key = index.data(KEY_ROLE)
            if isinstance(key, PositionKey):
                keys[key] = None
        return list(keys)

    def select(self, keys: Iterable[PositionKey]) -> None:
        """Select these rows in the window (tests, and a future context menu)."""
        view = self.window.positionsView
        selection = QItemSelection()
        for key in keys:
            row = self.window.positions_proxy.proxy_row_of(key)
            if row is not None:
                model = view.model()
                selection.select(model.index(row, 0), model.index(row, model.columnCount() - 1))
        view.selectionModel().select(
            selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    # ------------------------------------------------------------------ opening plans
    def say(self, text: str, ms: int = 12000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def _open(self, dialog: FlattenPlanDialog, build: bool) -> FlattenPlanDialog:
        self.dialogs.append(dialog)
        dialog.finished.connect(self._hold_rows)
        dialog.open()
        self._hold_rows()
        if build:
            dialog.build()
        return dialog

    def flatten_selected(
        self, keys: Iterable[PositionKey] | None = None
    ) -> FlattenPlanDialog | None:
        chosen = list(keys) if keys is not None else self.selected_keys()
        if not chosen:
            self.say("Select the rows to flatten first (Ctrl+click or Shift+click picks "
                     "several).")
            return None
        dialog = _dialog(self, ScopeKind.SELECTED, keys=chosen, parent=self.window)
        return self._open(dialog, build=True)

    def flatten_account(self, account: str | None = None) -> FlattenPlanDialog | None:
        """With ``account``: plan it now. Without: the dialog opens on a guess (the account
        filter, or the current row's) and plans when the user says so."""
        if not self.desk.accounts:
            self.say("No account is connected.")
            return None
        guess = account or self.window.positions_proxy.account_filter or self._current_account()
        dialog = _dialog(self, ScopeKind.ACCOUNT, account=guess, parent=self.window)
        return self._open(dialog, build=account is not None)

    def flatten_venue(self, venue: Venue | None = None) -> FlattenPlanDialog | None:
        if not self.desk.accounts:
            self.say("No account is connected.")
            return None
        guess = venue or self.window.positions_proxy.venue_filter
        dialog = _dialog(self, ScopeKind.VENUE, venue=guess, parent=self.window)
        return self._open(dialog, build=venue is not None)

    def flatten_everything(self) -> FlattenPlanDialog | None:
        if not self.desk.accounts:
            self.say("No account is connected.")
            return None
        dialog = _dialog(self, ScopeKind.EVERYTHING, parent=self.window)
        return self._open(dialog, build=True)

    def open_retry(self, report: FlattenReport,
                   old: FlattenPlanDialog | None = None) -> FlattenPlanDialog:
        """A new plan for the residuals and rejections of ``report``, confirmed again."""
        if old is not None:
            old.accept()
        dialog = _dialog(self, ScopeKind.SELECTED, keys=report.retry_keys,
                                   retry_of=report, parent=self.window)
        return self._open(dialog, build=True)

    def _current_account(self) -> str | None:
        index = self.window.positionsView.currentIndex()
        key = index.data(KEY_ROLE) if index.isValid() else None
        return key.account if isinstance(key, PositionKey) else None

    def forget(self, dialog: FlattenPlanDialog) -> None:
        """A closed dialog (not running) goes."""
        if dialog.running:
            return
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)
        dialog.deleteLater()
        self._hold_rows()

    def _hold_rows(self, *_: object) -> None:
        """No live re-sort moves the rows while a flatten plan is on screen: its user is
        comparing it with the table."""
        shown = any(d.isVisible() for d in self.dialogs)
        self.window.positions_proxy.set_hold("flatten", shown)

    # ------------------------------------------------------------------ running
    @property
    def busy_keys(self) -> frozenset[PositionKey]:
        """Positions in a plan of this window that is running now."""
        return frozenset().union(*self._running.values())

    def start(self, dialog: FlattenPlanDialog, plan: FlattenPlan) -> str | None:
        """Run ``plan`` for ``dialog``; returns why not (and sends nothing) when it cannot."""
        keys = frozenset(i.key for i in plan.items)
        overlap = keys & self.busy_keys
        if overlap:
            from gui.dialogs.flatten.text import plural

            others = sorted(pid for pid, ks in self._running.items() if ks & overlap)
            return (f"{plural(len(overlap), 'position')} of this plan "
                    f"{'is' if len(overlap) == 1 else 'are'} in a flatten still running "
                    f"({', '.join(others)}): wait for its report, then plan again. "
                    "Nothing was sent.")
        self._running[plan.id] = keys
        dialog.begin(plan)
        dialog.task = self.window.tracker.spawn(self._run(dialog, plan),
                                                name=f"flatten {plan.id}")
        return None

    async def _run(self, dialog: FlattenPlanDialog, plan: FlattenPlan) -> None:
        try:
            try:
                run = execute(self.desk, plan, on_progress=dialog.on_progress,
                              concurrency=self.concurrency)
            except PlanAlreadyRun as exc:
                if shiboken6.isValid(dialog):
                    dialog.fail(str(exc))
                return
            if shiboken6.isValid(dialog):
                dialog.attach(run)
            report = await run.wait()
        finally:
            self._running.pop(plan.id, None)
        self.reports.append(report)
        self.finished.emit(report)
        from gui.dialogs.flatten.text import report_headline, report_totals_text

        headline, _tone = report_headline(report)
        if shiboken6.isValid(self.window):
            self.say(f"Flatten {plan.id}: {headline} {report_totals_text(report)}.", 20000)
        if shiboken6.isValid(dialog):
            dialog.show_report(report)


def install_flatten(
    window: MainWindow, *, concurrency: Mapping[Venue, int] | None = None
) -> FlattenController:
    """Add the Flatten menu to ``window``; the controller is the window's child."""
    return FlattenController(window, concurrency=concurrency)
