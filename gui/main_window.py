"""The main window's layout: positions on top (filtered and grouped by venue and account); the
order log, the working orders and the journal's history in tabs below; connection badges with
each account's environment and venue health in the header; banners for LIVE, TESTNET, DEMO and
confirmations off (coloured in code: gui/widgets/banners.py); a notice for a resource that did
not load; the File, Positions, View and Help menus.

What the window does lives in gui/controllers/, one small class per concern: closing a row,
cancelling a working order, what a close's progress says, the desk's book, connections and
health, environments, accounts, the filters, the selected row, the keyboard help. The window
builds the widgets and menus, makes the controllers and wires the signals to them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.desk import Desk
from core.journal import Journal
from core.model import Environment, PositionKey, Venue
from core.settings import Preferences
from core.venue import AccountConfig
from gui.bridge import DeskBridge, TaskTracker
from gui.controllers.about import About
from gui.controllers.accounts import Accounts
from gui.controllers.alerts import AlertsController
from gui.controllers.cancel_all import CancelAll
from gui.controllers.cancelling import Cancelling
from gui.controllers.close_progress import CloseProgress
from gui.controllers.closing import Closing
from gui.controllers.environments import Environments, live_banner_text, window_title
from gui.controllers.export import Exporting
from gui.controllers.feed import DeskFeed
from gui.controllers.filters import Filters
from gui.controllers.groups import AccountGroupsToggle
from gui.controllers.health import HEALTH_INTERVAL_MS, HealthMonitor, stale_text
from gui.controllers.keyboard import Keyboard
from gui.controllers.layout import WindowLayout
from gui.controllers.log_filters import LogFilters
from gui.controllers.preferences import PreferencesControl
from gui.controllers.quitting import Quitting
from gui.controllers.row_menu import RowMenu
from gui.controllers.selection import Selection
from gui.controllers.shortcuts import (
    KEYBOARD_HELP,
    KEYBOARD_SHORTCUTS,
    QUICK_CLOSE,
    QUICK_CLOSE_SHORTCUT,
    QUIT,
    KeyboardHelp,
    bind,
)
from gui.controllers.team_status import TeamStatus
from gui.controllers.totals import PositionTotals
from gui.dialogs.close import CloseDialog
from gui.history import HistoryView
from gui.models import (
    WINDOW_REFRESH_MS,
    LogModel,
    PositionColumn,
    PositionsModel,
    PositionsProxy,
    WorkingColumn,
    WorkingOrdersModel,
)
from gui.models.log_proxy import LogProxy
from gui.models.positions_proxy import FROZEN
from gui.models.style import CONFIRMATIONS_OFF_LOOK, SETTINGS_ERROR_LOOK, BannerLook
from gui.widgets import ConnectionStrip, HealthStrip, PositionsView, WorkingOrdersView
from gui.widgets.banners import colour_banner, colour_env_banner
from gui.widgets.log_bar import LogPane
from gui.widgets.notice import DismissibleNotice, secrets_problem_text
from gui.widgets.outcomes import OutcomeBar
from gui.widgets.pinned import PinnedColumn
from gui.widgets.positions_bar import PositionsBar
from gui.widgets.scroller import WrapScroller
from gui.widgets.views import LOG_WIDTHS, POSITION_WIDTHS, WORKING_WIDTHS

if TYPE_CHECKING:  # imported where first used: the keyring, and a dialog opened later
    from core.secrets import SecretStore
    from core.team.stack import TeamStack
    from gui.dialogs.accounts import AccountsDialog

__all__ = [
    "CONFIRMATIONS_OFF_BANNER",
    "DEMO_BANNER",
    "HEALTH_INTERVAL_MS",
    "KEYBOARD_SHORTCUTS",
    "MINIMUM_SIZE",
    "QUICK_CLOSE_SHORTCUT",
    "TESTNET_BANNER",
    "MainWindow",
    "live_banner_text",
    "stale_text",
    "window_title",
]

DEMO_BANNER = "DEMO — simulated venues, no real orders"
TESTNET_BANNER = "TESTNET — the venues' test environments, no real money"
CONFIRMATIONS_OFF_BANNER = (
    "Confirmations are off — every close is sent on the first click (preferences: "
    "confirm = never). Stale rows still ask."
)
_LOG_TAB, _WORKING_TAB, _HISTORY_TAB = 0, 1, 2
# The smallest window (or what the layout needs, if more): the positions bar's filters in one
# row, a few rows of positions and of the log, and the Close column (pinned) on screen.
MINIMUM_SIZE = QSize(1024, 640)


class MainWindow(QMainWindow):
    """Shows the desk and sends closes through it. Everything async runs in ``tracker``."""

    closed = Signal()

    def __init__(
        self,
        desk: Desk,
        *,
        demo: bool = False,
        demo_journal: bool = False,
        secrets_problem: str | None = None,
        secret_store: SecretStore | None = None,
        settings_path: Path | None = None,
        journal: Journal | None = None,
        preferences: Preferences | None = None,
        history_poll_ms: int = 1500,
        coalesce_ms: int = WINDOW_REFRESH_MS,
        log_max_rows: int = 200_000,
        health_interval_ms: int = HEALTH_INTERVAL_MS,
        layout_path: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.desk = desk
        self.demo = demo
        # The journal is the demo one: only DEMO accounts may join this session; a real one
        # waits for a restart, so its records never land in the practice journal.
        self.demo_journal = demo_journal
        self.secret_store = secret_store
        self.settings_path = settings_path
        self.journal = journal if journal is not None else getattr(desk, "journal", None)
        self._history_poll_ms = history_poll_ms
        self._wall_clock = wall_clock
        self.preferences = preferences if preferences is not None else Preferences()
        self.setWindowTitle(window_title((), demo))
        self.setAccessibleName("Closeout")
        self.tracker = TaskTracker(self)
        self.tracker.failed.connect(self._on_task_failed)
        self.bridge = DeskBridge(desk, self)
        instruments = getattr(desk, "instrument", None)  # a fake desk may have no refdata
        self.positions_model = PositionsModel(self, coalesce_ms=coalesce_ms,
                                              instruments=instruments, clock=clock)
        self.positions_proxy = PositionsProxy(self)
        self.positions_proxy.setSourceModel(self.positions_model)
        self.log_model = LogModel(self, max_rows=log_max_rows, coalesce_ms=coalesce_ms,
                                  instruments=instruments)
        self.log_proxy = LogProxy(self.log_model, self)  # what the log's filters let through
        self.working_model = WorkingOrdersModel(self, instruments=instruments,
                                                wall_clock=wall_clock)
        # What the window does, one controller per concern (gui/controllers/).
        self.envs = Environments(self)
        self.accounts = Accounts(self)
        self.filters = Filters(self)
        self.log_filters = LogFilters(self)
        self.groups = AccountGroupsToggle(self)
        self.health = HealthMonitor(self, interval_ms=health_interval_ms, clock=clock,
                                    wall_clock=wall_clock)
        self.feed = DeskFeed(self)
        self.closing = Closing(self)
        self.progress = CloseProgress(self)
        self.cancelling = Cancelling(self)
        self.selection = Selection(self)
        self.keyboard_help = KeyboardHelp(self)
        self.quitting = Quitting(self)
        self.team_status: TeamStatus | None = None  # team mode only (set_team)
        # The controllers' state, reachable where it always was (tests, the app).
        self.dialogs = self.closing.dialogs  # the open close dialogs, by row
        self.quickDialogs = self.closing.quick_dialogs
        self.healthTimer = self.health.timer
        self.freshness = self.health.freshness
        self.environments = self.envs.environments
        self.needs_secret = self.accounts.needs_secret
        self._build(secrets_problem)
        self._build_menu()
        self.prefs = PreferencesControl(self)  # File → Preferences…, and applying them
        self.keyboard = Keyboard(self)  # go-to keys, Delete in Working orders, Tab
        self.totals = PositionTotals(self)  # the totals strip under the positions table
        self.exporting = Exporting(self)  # File → Export ▸ each pane to CSV
        self.cancel_all = CancelAll(self)  # Cancel all working orders: menu, pane button
        self.row_menu = RowMenu(self)  # the positions table's right-click menu
        self._connect()
        self.alerts = AlertsController(self)  # after the feed: it hears what the log shows
        self.alerts.set_settings(self.prefs.alerts)  # and whatever Preferences puts in effect
        self.prefs.alertsChanged.connect(self.alerts.set_settings)
        self.window_layout = WindowLayout(self, layout_path)  # View menu; saved layout back
        self.feed.load_current()
        # Never below what the layout needs: narrower, controls would overlap.
        self.setMinimumSize(MINIMUM_SIZE.expandedTo(self.minimumSizeHint()))
        # Health is polled, not pushed: silence is exactly what no event would ever report.
        self.healthTimer.start()

    # ------------------------------------------------------------------ layout
    def _build(self, secrets_problem: str | None) -> None:
        central = QWidget(self)
        central.setObjectName("central")
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        self.demoBanner = self._banner(central, "demoBanner", "Demo mode", DEMO_BANNER, self.demo)
        self.liveBanner = self._banner(central, "liveBanner", "Live accounts")
        self.testnetBanner = self._banner(central, "testnetBanner", "Testnet mode", TESTNET_BANNER)
        for env_banner, env in ((self.demoBanner, Environment.DEMO),
                                (self.liveBanner, Environment.LIVE),
                                (self.testnetBanner, Environment.TESTNET)):
            colour_env_banner(env_banner, env)
        self.settingsErrorBanner = QLabel(central)
        self.settingsErrorBanner.setObjectName("settingsErrorBanner")
        self.settingsErrorBanner.setAccessibleName("Settings error")
        self.settingsErrorBanner.setWordWrap(True)
        self.settingsErrorBanner.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.settingsErrorBanner.setVisible(False)
        colour_banner(self.settingsErrorBanner, SETTINGS_ERROR_LOOK)
        self.confirmationsOffBanner = self._banner(
            central, "confirmationsOffBanner", "Confirmations are off", CONFIRMATIONS_OFF_BANNER,
            self.preferences.confirm == "never", CONFIRMATIONS_OFF_LOOK)
        # Shown only when a secret is needed and cannot be kept; dismissible.
        self.secretsWarning = DismissibleNotice("secretsWarning", "Credentials warning", central)
        self._show_secrets_problem(secrets_problem)
        # A style sheet or icon that did not load (gui/appearance.py says which).
        self.resourceWarning = DismissibleNotice("resourceWarning", "Missing resources", central)
        for banner in (self.demoBanner, self.liveBanner, self.testnetBanner,
                       self.settingsErrorBanner, self.confirmationsOffBanner,
                       self.resourceWarning, self.secretsWarning):
            root.addWidget(banner)

        header = QFrame(central)
        header.setObjectName("headerStrip")
        hl = QHBoxLayout(header)
        hl.setContentsMargins(14, 8, 10, 8)
        hl.setSpacing(10)
        title = QLabel("Closeout", header)
        title.setObjectName("appTitle")
        hl.addWidget(title)
        hl.addStretch(1)
        self.connectionStrip = ConnectionStrip(header)
        hl.addWidget(WrapScroller(self.connectionStrip, header), 1)
        root.addWidget(header)
        self.healthStrip = HealthStrip(central)
        root.addWidget(WrapScroller(self.healthStrip, central))  # wraps, whole panels

        self.splitter = QSplitter(Qt.Orientation.Vertical, central)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(6)

        top = QWidget(self.splitter)
        top.setObjectName("positionsPanel")
        tl = QVBoxLayout(top)
        tl.setContentsMargins(10, 8, 10, 4)
        tl.setSpacing(6)
        bar = PositionsBar(top)
        self.positionsTitle = bar.title
        self.venueFilter, self.accountFilter = bar.venueFilter, bar.accountFilter
        self.symbolFilter, self.groupByAccount = bar.symbolFilter, bar.groupByAccount
        self.freezeOrder = bar.freezeOrder
        self.sortHint = bar.sortHint
        tl.addLayout(bar)
        tl.addWidget(self.sortHint)
        self.positionsView = PositionsView(top)
        self.positionsView.setModel(self.positions_proxy)
        # Venue → Account → Symbol: the proxy breaks ties on the next keys, in C (cached keys).
        self.positionsView.sortByColumn(PositionColumn.VENUE, Qt.SortOrder.AscendingOrder)
        tl.addWidget(self.positionsView)
        ph = self.positionsView.horizontalHeader()
        for col, width in POSITION_WIDTHS.items():
            self.positionsView.setColumnWidth(col, width)
        ph.setSectionResizeMode(PositionColumn.ACCOUNT, QHeaderView.ResizeMode.Stretch)
        ph.setSectionResizeMode(PositionColumn.ACTION, QHeaderView.ResizeMode.Fixed)
        ph.setSortIndicatorShown(True)
        # The Close column stays on screen when the table is wider than the window.
        self.closeColumn = PinnedColumn(self.positionsView, PositionColumn.ACTION)

        bottom = QWidget(self.splitter)
        bottom.setObjectName("logPanel")
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(10, 4, 10, 8)
        bl.setSpacing(6)
        self.bottomTabs = QTabWidget(bottom)
        self.bottomTabs.setObjectName("bottomTabs")
        self.bottomTabs.setDocumentMode(True)
        self.logPane = LogPane(self.bottomTabs)  # the filter bar over the log's table
        self.logView = self.logPane.view
        self.logView.setModel(self.log_model)  # the log filtered, while a filter is on
        for lcol, width in LOG_WIDTHS.items():
            self.logView.setColumnWidth(lcol, width)
        self.workingOrdersView = WorkingOrdersView(self.bottomTabs)
        self.workingOrdersView.setModel(self.working_model)
        wh = self.workingOrdersView.horizontalHeader()
        for wcol, width in WORKING_WIDTHS.items():
            self.workingOrdersView.setColumnWidth(wcol, width)
        wh.setSectionResizeMode(WorkingColumn.ACCOUNT, QHeaderView.ResizeMode.Stretch)
        wh.setSectionResizeMode(WorkingColumn.ACTION, QHeaderView.ResizeMode.Fixed)
        self.bottomTabs.addTab(self.logPane, "Order log")
        self.bottomTabs.addTab(self.workingOrdersView, "Working orders (0)")
        self.bottomTabs.setTabToolTip(
            _WORKING_TAB, "Limit closes and triggers resting at the venues; each can be cancelled"
        )
        self.historyView = HistoryView(
            self.journal, tracker=self.tracker, poll_ms=self._history_poll_ms,
            parent=self.bottomTabs,
        )
        self.bottomTabs.addTab(self.historyView, "History")
        self.bottomTabs.setTabToolTip(
            _HISTORY_TAB, "Every record of the audit journal: who did what, when, why, and what "
                          "the venue said"
        )
        bl.addWidget(self.bottomTabs)

        self.splitter.addWidget(top)
        self.splitter.addWidget(bottom)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([440, 260])
        root.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        # Outcomes in full, with the recent ones a click away (gui/widgets/outcomes.py).
        self.setStatusBar(OutcomeBar(self, wall_clock=self._wall_clock))
        self.resize(1280, 800)

    def set_team(self, stack: TeamStack) -> TeamStatus:
        """Team mode: the team link in the status bar, its changes told in the log."""
        if self.team_status is None:
            self.team_status = TeamStatus(self, stack)
        return self.team_status

    def set_secret_store(self, store: SecretStore) -> None:
        """The keyring, once a secret is needed (configured accounts at the start, or the
        Accounts dialog): say if secrets cannot be saved, in a notice that can be dismissed."""
        self.secret_store = store
        self._show_secrets_problem(store.problem)

    def _show_secrets_problem(self, problem: str | None) -> None:
        self.secretsWarning.say(secrets_problem_text(problem) if problem else None)

    @staticmethod
    def _banner(parent: QWidget, name: str, accessible: str, text: str = "",
                visible: bool = False, look: BannerLook | None = None) -> QLabel:
        """A centred strip across the top of the window (coloured in code, never by the style
        sheet alone: see gui/widgets/banners.py)."""
        label = QLabel(text, parent)
        label.setObjectName(name)
        label.setAccessibleName(accessible)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setVisible(visible)
        if look is not None:
            colour_banner(label, look)
        return label

    def _build_menu(self) -> None:
        bar = self.menuBar()
        bar.setObjectName("menuBar")
        self.fileMenu = bar.addMenu("&File")
        self.fileMenu.setObjectName("fileMenu")
        self.accountsAction = QAction("&Accounts…", self)
        self.accountsAction.setObjectName("accountsAction")
        self.accountsAction.setStatusTip("Add, edit and remove accounts; test their connection")
        self.accountsAction.triggered.connect(lambda: self.open_accounts())
        self.fileMenu.addAction(self.accountsAction)
        self.secretsMenu = QMenu("Enter &secret for", self)
        self.secretsMenu.setObjectName("secretsMenu")
        self.secretsMenuAction = self.fileMenu.addMenu(self.secretsMenu)
        self.secretsMenuAction.setVisible(False)
        self.historyAction = QAction("&History", self)
        self.historyAction.setObjectName("historyAction")
        self.historyAction.triggered.connect(
            lambda: self.bottomTabs.setCurrentIndex(_HISTORY_TAB))
        self.fileMenu.addAction(self.historyAction)
        self.fileMenu.addSeparator()
        self.quitAction = bind(QAction("&Quit", self), QUIT)
        self.quitAction.triggered.connect(self.close)  # asks first while orders are working
        self.fileMenu.addAction(self.quitAction)
        self.addAction(self.quitAction)

        self.positionsMenu = bar.addMenu("&Positions")
        self.positionsMenu.setObjectName("positionsMenu")
        self.closeSelectedAction = QAction("&Close selected…\tEnter", self)
        self.closeSelectedAction.setObjectName("closeSelectedAction")
        self.closeSelectedAction.setStatusTip("Open the close dialog for the selected row")
        self.closeSelectedAction.triggered.connect(self.closing.close_selected)
        self.positionsMenu.addAction(self.closeSelectedAction)
        self.quickCloseAction = bind(QAction("Close selected in &full…", self), QUICK_CLOSE)
        self.quickCloseAction.triggered.connect(lambda: self.closing.quick_close())
        self.positionsMenu.addAction(self.quickCloseAction)
        self.addAction(self.quickCloseAction)  # the shortcut works with the menu closed
        self.closeResidualAction = QAction("Close &residual of selected", self)
        self.closeResidualAction.setObjectName("closeResidualAction")
        self.closeResidualAction.setStatusTip(
            "Close what a partly filled close left on the selected row")
        self.closeResidualAction.triggered.connect(self.closing.close_selected_residual)
        self.positionsMenu.addAction(self.closeResidualAction)

        self.helpMenu = bar.addMenu("&Help")
        self.helpMenu.setObjectName("helpMenu")
        self.keyboardAction = bind(QAction("&Keyboard shortcuts…", self), KEYBOARD_HELP)
        self.keyboardAction.triggered.connect(lambda: self.keyboard_help.show())
        self.helpMenu.addAction(self.keyboardAction)
        self.addAction(self.keyboardAction)
        self.about = About(self)  # Help → About Closeout…
        self.aboutAction = self.about.action

    def _connect(self) -> None:
        self.feed.route()
        self.bridge.events.connect(self.feed.on_events)
        self.positionsView.closeRequested.connect(self.closing.request_close)
        self.positionsView.residualRequested.connect(self.closing.close_residual)
        self.positionsView.quickCloseRequested.connect(self.closing.quick_close)
        self.logView.clicked.connect(self.selection.on_log_clicked)
        self.workingOrdersView.cancelRequested.connect(self.cancelling.request_cancel)
        m = self.positions_model
        f = self.filters
        m.rowsInserted.connect(f.update_count)
        m.rowsRemoved.connect(f.update_count)
        m.modelReset.connect(f.update_count)
        m.accountsChanged.connect(f.refresh_account_choices)  # never a scan per row
        px = self.positions_proxy
        px.hintChanged.connect(f.show_sort_hint)
        f.show_sort_hint(px.hint)  # the sort set while building came before this connection
        self.positionsView.pointerInside.connect(lambda inside: px.set_hold("pointer", inside))
        self.positionsView.keyboardChoice.connect(lambda on: px.set_hold("keyboard", on))
        self.freezeOrder.toggled.connect(lambda on: px.set_hold(FROZEN, on))
        px.rowsInserted.connect(f.update_count)
        px.rowsRemoved.connect(f.update_count)
        px.layoutChanged.connect(f.update_count)
        px.modelReset.connect(f.update_count)
        self.venueFilter.currentIndexChanged.connect(f.on_venue_filter)
        self.accountFilter.currentIndexChanged.connect(f.on_account_filter)
        self.symbolFilter.textChanged.connect(self.positions_proxy.set_symbol_filter)
        self.groupByAccount.toggled.connect(self.positions_proxy.set_group_by_account)
        self.groups.connect()
        self.log_filters.connect()
        self.connectionStrip.secretRequested.connect(self.accounts.request_secret)
        wm = self.working_model
        wm.rowsInserted.connect(self.feed.update_working_count)
        wm.rowsRemoved.connect(self.feed.update_working_count)
        wm.modelReset.connect(self.feed.update_working_count)

    def _on_task_failed(self, name: str, error: str) -> None:
        self.statusBar().showMessage(f"Something went wrong in “{name}”: {error}", 15000)

    # ------------------------------------------------------------------ state shown
    def set_demo(self, demo: bool) -> None:
        """Demo mode: the DEMO banner shows while every account is a simulated one."""
        self.demo = demo
        self.envs.refresh()

    def expect_accounts(self, accounts: Iterable[tuple[str, Venue] | AccountConfig]) -> None:
        """Badges for accounts about to connect, so the header shows "connecting" at once."""
        self.accounts.expect_accounts(accounts)

    def set_account_environment(self, account: str, env: Environment | None) -> None:
        """Which environment an account trades in: its rows' chip, its badge, the title."""
        self.envs.set_account_environment(account, env)

    def show_settings_error(self, text: str | None) -> None:
        """A settings file that did not load: what and where, at the top of the window."""
        self.settingsErrorBanner.setText(
            f"⚠ Settings not loaded — running in demo mode; the file was not touched. {text}"
            if text else "")
        self.settingsErrorBanner.setVisible(bool(text))

    def set_preferences(self, preferences: Preferences) -> None:
        """New preferences (confirmation policy, stale threshold): the banner, open dialogs and
        the stale rows follow at once."""
        self.preferences = preferences
        self.confirmationsOffBanner.setVisible(preferences.confirm == "never")
        for dialog in self.dialogs.values():
            dialog.set_preferences(preferences)
        self.refresh_health()

    def refresh_health(self) -> None:
        """Ask every session for its health (cheap) and show it; runs every second."""
        self.health.refresh_health()

    # ------------------------------------------------------------------ accounts
    @property
    def accountsDialog(self) -> AccountsDialog | None:
        return self.accounts.dialog

    def open_accounts(
        self, edit: str | None = None, *, focus_secret: bool = False
    ) -> AccountsDialog:
        """The Accounts dialog (one per window), opened with ``open()``: never a nested loop."""
        return self.accounts.open_accounts(edit, focus_secret=focus_secret)

    def request_secret(self, account: str) -> None:
        """"Enter secret…" on a badge or in the menu: the account's form, secret field first."""
        self.accounts.request_secret(account)

    def mark_needs_secret(self, account: AccountConfig) -> None:
        """A configured account with no secret stored: its badge offers to take it."""
        self.accounts.mark_needs_secret(account)

    # ------------------------------------------------------------------ rows
    def request_close(self, key: PositionKey) -> CloseDialog | None:
        """Open the close dialog for a row (its button, or Enter on it)."""
        return self.closing.request_close(key)

    def selected_key(self) -> PositionKey | None:
        """The row with the keyboard focus (the current row), if any."""
        return self.selection.selected_key()

    def select_row(self, key: PositionKey) -> bool:
        """Select and scroll to a row; False when it is not shown (flat, or filtered out)."""
        return self.selection.select_row(key)

    @property
    def keyboardHelp(self) -> QDialog | None:
        return self.keyboard_help.dialog

    # ------------------------------------------------------------------ shutdown
    async def shutdown(self) -> None:
        """Detach from the desk and settle every GUI task; the caller stops the desk."""
        self.healthTimer.stop()
        if self.team_status is not None:
            self.team_status.stop()
        self.quitting.confirmed = True  # closing now asks nothing
        self.historyView.shutdown()
        if self.accountsDialog is not None:
            self.accountsDialog.reject()
        for dialog in [*self.dialogs.values(), *self.quickDialogs.values()]:
            dialog.reject()
        with contextlib.suppress(TimeoutError):
            await self.tracker.join(timeout=5)
        await self.tracker.cancel_all()
        self.bridge.detach()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.quitting.may_close():  # orders still working: asked first, listing them
            event.ignore()
            return
        self.window_layout.save()
        self.closed.emit()
        super().closeEvent(event)

    # ------------------------------------------------------------------ helpers for tests/app
    def proxy_index(self, key: PositionKey, column: PositionColumn) -> QModelIndex:
        row = self.positions_proxy.proxy_row_of(key)
        if row is None:
            return QModelIndex()
        return self.positions_proxy.index(row, column)

    def source_index(self, index: QModelIndex | QPersistentModelIndex) -> QModelIndex:
        return self.positions_proxy.mapToSource(index)
