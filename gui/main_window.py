"""The main window: positions on top (filtered and grouped by venue and account); the order
log, the working orders and the journal's history in tabs below; connection badges with each
account's environment and venue health in the header; the Accounts dialog from the menu.

The environment is visible at all times: each row has an Env chip, the title names every
environment connected ("Closeout — LIVE · DEMO"), and a red strip says which accounts are LIVE.

Closing (issue 5): one close in flight per row — a second click, from any copy of the row, sends
nothing and brings the pending close into view (the row is selected and its Close cell
flashes); the Close cell shows the close's state; a partly filled IOC close leaves a "residual
N" badge with a one-click Close residual; a full close is verified flat from venue data, or the
row gets a red mismatch banner. A health strip under the header shows every account's figures,
rows whose data is older than ``Preferences.stale_after_s`` are marked stale, and a banner says
so while confirmations are off. Clicking a log line selects its row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.accounts import credentials_for
from core.desk import AlreadyPending, CancelPending, CloseIntent, Desk, IntentState
from core.desk.freshness import AccountFreshness
from core.journal import Journal
from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    Environment,
    MarkUpdate,
    OrderStatus,
    Position,
    PositionKey,
    SessionHealth,
    Venue,
    WorkingOrder,
    WorkingOrderRemoved,
)
from core.secrets import SecretStore
from core.settings import Preferences
from core.venue import AccountConfig, CancelRejected, CloseRejected
from gui.accounts_dialog import AccountsDialog
from gui.bridge import DeskBridge, TaskTracker
from gui.dialogs.close import (
    CloseDialog,
    QuickCloseDialog,
    confirmation_reason,
    pending_text,
)
from gui.history import HistoryView
from gui.models import (
    KEY_ROLE,
    CancelState,
    LogColumn,
    LogEntry,
    LogModel,
    PositionColumn,
    PositionsModel,
    PositionsProxy,
    WorkingColumn,
    WorkingOrdersModel,
    env_label,
    fmt_decimal,
    refusal_text,
)
from gui.widgets import (
    ConnectionStrip,
    HealthStrip,
    LogView,
    PositionsView,
    WorkingOrdersView,
    fmt_clock,
)

__all__ = [
    "CONFIRMATIONS_OFF_BANNER",
    "DEMO_BANNER",
    "HEALTH_INTERVAL_MS",
    "KEYBOARD_SHORTCUTS",
    "QUICK_CLOSE_SHORTCUT",
    "TESTNET_BANNER",
    "MainWindow",
    "live_banner_text",
    "stale_text",
    "window_title",
]

log = logging.getLogger(__name__)

DEMO_BANNER = "DEMO — simulated venues, no real orders"
TESTNET_BANNER = "TESTNET — the venues' test environments, no real money"
CONFIRMATIONS_OFF_BANNER = (
    "Confirmations are off — every close is sent on the first click (preferences: "
    "confirm = never). Stale rows still ask."
)
QUICK_CLOSE_SHORTCUT = "Ctrl+Shift+C"
# Help → Keyboard shortcuts lists these; each is also shown where it works.
KEYBOARD_SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("Enter", "Open the close dialog for the selected row"),
    (QUICK_CLOSE_SHORTCUT, "Close the selected row in full, after one confirmation"),
    ("Ctrl+1 … Ctrl+4", "In the close dialog: 25 %, 50 %, 75 %, 100 % of the position"),
    ("Enter (in the dialog)", "Send; when a confirmation is asked, Enter confirms"),
    ("Esc", "Cancel the dialog (a close already sent is not recalled)"),
)
_ENV_ORDER = (Environment.LIVE, Environment.TESTNET, Environment.DEMO)
_ALL = "All"


def window_title(envs: Iterable[Environment], demo: bool = False) -> str:
    """"Closeout — LIVE · DEMO": every environment connected, the riskiest first."""
    present = set(envs)
    if not present and demo:
        present = {Environment.DEMO}
    shown = [env_label(e) for e in _ENV_ORDER if e in present]
    return "Closeout — " + " · ".join(shown) if shown else "Closeout"


def live_banner_text(accounts: Iterable[str]) -> str:
    names = sorted(accounts, key=str.casefold)
    return f"LIVE — real orders, real money: {', '.join(names)}"

_POSITION_WIDTHS = {
    PositionColumn.VENUE: 96,
    PositionColumn.ACCOUNT: 160,
    PositionColumn.ENV: 84,
    PositionColumn.SYMBOL: 170,
    PositionColumn.SIDE: 60,
    PositionColumn.QUANTITY: 112,
    PositionColumn.ENTRY: 110,
    PositionColumn.MARK: 110,
    PositionColumn.PNL: 130,
    PositionColumn.ACTION: 250,
}
_LOG_WIDTHS = {  # the rest of the width goes to Message (its tooltip has the whole text)
    LogColumn.TIME: 104,
    LogColumn.KIND: 100,
    LogColumn.VENUE: 84,
    LogColumn.ACCOUNT: 124,
    LogColumn.SYMBOL: 136,
    LogColumn.STATUS: 118,
    LogColumn.RAW_STATUS: 114,
    LogColumn.QUANTITY: 86,
    LogColumn.REMAINING: 102,
    LogColumn.PRICE: 80,
}
_WORKING_WIDTHS = {
    WorkingColumn.VENUE: 90,
    WorkingColumn.ACCOUNT: 150,
    WorkingColumn.SYMBOL: 150,
    WorkingColumn.KIND: 72,
    WorkingColumn.SIDE: 56,
    WorkingColumn.QUANTITY: 92,
    WorkingColumn.REMAINING: 102,
    WorkingColumn.PRICE: 100,
    WorkingColumn.TRIGGER: 130,
    WorkingColumn.STATUS: 116,
    WorkingColumn.ACTION: 132,
}
HEALTH_INTERVAL_MS = 1000
_LOG_TAB, _WORKING_TAB, _HISTORY_TAB = 0, 1, 2


def stale_text(venue: Venue, what: str, since: float) -> str:
    """The tooltip of a stale row: why and since when its numbers may be out of date."""
    return f"Stale: {venue.label} {what} since {fmt_clock(since)} — numbers may be out of date"


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
        coalesce_ms: int = 50,
        log_max_rows: int = 200_000,
        health_interval_ms: int = HEALTH_INTERVAL_MS,
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
        self.environments: dict[str, Environment] = {}  # account -> its environment
        self.needs_secret: dict[str, AccountConfig] = {}  # configured, but no secret stored
        self.accountsDialog: AccountsDialog | None = None
        self.preferences = preferences if preferences is not None else Preferences()
        self.setWindowTitle(window_title((), demo))
        self.setAccessibleName("Closeout")
        self.tracker = TaskTracker(self)
        self.tracker.failed.connect(self._on_task_failed)
        self.bridge = DeskBridge(desk, self)
        self.positions_model = PositionsModel(self, coalesce_ms=coalesce_ms)
        self.positions_proxy = PositionsProxy(self)
        self.positions_proxy.setSourceModel(self.positions_model)
        self.log_model = LogModel(self, max_rows=log_max_rows, coalesce_ms=coalesce_ms)
        self.working_model = WorkingOrdersModel(self)
        self.dialogs: dict[PositionKey, CloseDialog] = {}
        self.quickDialogs: dict[PositionKey, QuickCloseDialog] = {}
        self._direct: dict[PositionKey, asyncio.Task[None]] = {}  # closes sent with no dialog
        self._intent_notes: dict[str, set[str]] = {}  # intent id -> what the log already said
        self.keyboardHelp: QDialog | None = None
        self._clock = clock  # time.monotonic: the clock of SessionHealth.last_message_at
        self._wall = wall_clock
        self.freshness = AccountFreshness()  # since when each account may be out of date
        self._health_failed: set[str] = set()
        self._cancels: dict[tuple[str, str], asyncio.Task[None]] = {}  # one per order, at most
        self._build(secrets_problem)
        self._build_menu()
        self._connect()
        self._load_current()
        # Health is polled, not pushed: silence is exactly what no event would ever report.
        self.healthTimer = QTimer(self)
        self.healthTimer.setInterval(health_interval_ms)
        self.healthTimer.timeout.connect(self.refresh_health)
        self.healthTimer.start()

    # ------------------------------------------------------------------ layout
    def _build(self, secrets_problem: str | None) -> None:
        central = QWidget(self)
        central.setObjectName("central")
        root = QVBoxLayout(central)
        root.setContentsMargins(0, 0, 0, 0)
        root.setSpacing(0)

        self.demoBanner = QLabel(DEMO_BANNER, central)
        self.demoBanner.setObjectName("demoBanner")
        self.demoBanner.setAccessibleName("Demo mode")
        self.demoBanner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.demoBanner.setVisible(self.demo)
        root.addWidget(self.demoBanner)

        self.liveBanner = QLabel(central)
        self.liveBanner.setObjectName("liveBanner")
        self.liveBanner.setAccessibleName("Live accounts")
        self.liveBanner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.liveBanner.setVisible(False)
        root.addWidget(self.liveBanner)

        self.testnetBanner = QLabel(TESTNET_BANNER, central)
        self.testnetBanner.setObjectName("testnetBanner")
        self.testnetBanner.setAccessibleName("Testnet mode")
        self.testnetBanner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.testnetBanner.setVisible(False)
        root.addWidget(self.testnetBanner)

        self.settingsErrorBanner = QLabel(central)
        self.settingsErrorBanner.setObjectName("settingsErrorBanner")
        self.settingsErrorBanner.setAccessibleName("Settings error")
        self.settingsErrorBanner.setWordWrap(True)
        self.settingsErrorBanner.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse)
        self.settingsErrorBanner.setVisible(False)
        root.addWidget(self.settingsErrorBanner)

        self.confirmationsOffBanner = QLabel(CONFIRMATIONS_OFF_BANNER, central)
        self.confirmationsOffBanner.setObjectName("confirmationsOffBanner")
        self.confirmationsOffBanner.setAccessibleName("Confirmations are off")
        self.confirmationsOffBanner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.confirmationsOffBanner.setVisible(self.preferences.confirm == "never")
        root.addWidget(self.confirmationsOffBanner)

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
        hl.addWidget(self.connectionStrip)
        root.addWidget(header)
        self.healthStrip = HealthStrip(central)
        root.addWidget(self.healthStrip)

        self.splitter = QSplitter(Qt.Orientation.Vertical, central)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(6)

        top = QWidget(self.splitter)
        top.setObjectName("positionsPanel")
        tl = QVBoxLayout(top)
        tl.setContentsMargins(10, 8, 10, 4)
        tl.setSpacing(6)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.positionsTitle = QLabel("Open positions", top)
        self.positionsTitle.setObjectName("sectionTitle")
        bar.addWidget(self.positionsTitle)
        bar.addStretch(1)
        self.venueFilter = QComboBox(top)
        self.venueFilter.setObjectName("venueFilter")
        self.venueFilter.setAccessibleName("Show venue")
        self.venueFilter.addItem(_ALL, None)
        for venue in Venue:
            self.venueFilter.addItem(venue.label, venue.value)
        self.accountFilter = QComboBox(top)
        self.accountFilter.setObjectName("accountFilter")
        self.accountFilter.setAccessibleName("Show account")
        self.accountFilter.addItem(_ALL, None)
        self.accountFilter.setMinimumContentsLength(12)
        self.accountFilter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.symbolFilter = QLineEdit(top)
        self.symbolFilter.setObjectName("symbolFilter")
        self.symbolFilter.setAccessibleName("Filter symbols")
        self.symbolFilter.setPlaceholderText("Symbol contains…")
        self.symbolFilter.setClearButtonEnabled(True)
        self.symbolFilter.setFixedWidth(170)
        self.groupByAccount = QCheckBox("Group by account", top)
        self.groupByAccount.setObjectName("groupByAccount")
        self.groupByAccount.setToolTip("Keep each account's rows together, sorted inside by the "
                                       "column you pick")
        for caption, widget in (("&Venue", self.venueFilter), ("&Account", self.accountFilter)):
            label = QLabel(caption, top)
            label.setObjectName("filterCaption")
            label.setBuddy(widget)
            bar.addWidget(label)
            bar.addWidget(widget)
        bar.addWidget(self.symbolFilter)
        bar.addSpacing(6)
        bar.addWidget(self.groupByAccount)
        tl.addLayout(bar)
        self.positionsView = PositionsView(top)
        self.positionsView.setModel(self.positions_proxy)
        # Venue → Account → Symbol: the proxy breaks ties on the next keys.
        self.positionsView.sortByColumn(PositionColumn.VENUE, Qt.SortOrder.AscendingOrder)
        tl.addWidget(self.positionsView)
        ph = self.positionsView.horizontalHeader()
        for col, width in _POSITION_WIDTHS.items():
            self.positionsView.setColumnWidth(col, width)
        ph.setSectionResizeMode(PositionColumn.ACCOUNT, QHeaderView.ResizeMode.Stretch)
        ph.setSectionResizeMode(PositionColumn.ACTION, QHeaderView.ResizeMode.Fixed)
        ph.setSortIndicatorShown(True)

        bottom = QWidget(self.splitter)
        bottom.setObjectName("logPanel")
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(10, 4, 10, 8)
        bl.setSpacing(6)
        self.bottomTabs = QTabWidget(bottom)
        self.bottomTabs.setObjectName("bottomTabs")
        self.bottomTabs.setDocumentMode(True)
        self.logView = LogView(self.bottomTabs)
        self.logView.setModel(self.log_model)
        for lcol, width in _LOG_WIDTHS.items():
            self.logView.setColumnWidth(lcol, width)
        self.workingOrdersView = WorkingOrdersView(self.bottomTabs)
        self.workingOrdersView.setModel(self.working_model)
        wh = self.workingOrdersView.horizontalHeader()
        for wcol, width in _WORKING_WIDTHS.items():
            self.workingOrdersView.setColumnWidth(wcol, width)
        wh.setSectionResizeMode(WorkingColumn.ACCOUNT, QHeaderView.ResizeMode.Stretch)
        wh.setSectionResizeMode(WorkingColumn.ACTION, QHeaderView.ResizeMode.Fixed)
        self.bottomTabs.addTab(self.logView, "Order log")
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

        status = self.statusBar()
        status.setObjectName("statusBar")
        status.setSizeGripEnabled(False)
        self.secretsWarning = QLabel(status)
        self.secretsWarning.setObjectName("secretsWarning")
        self.secretsWarning.setAccessibleName("Credentials warning")
        self.secretsWarning.setWordWrap(False)
        if secrets_problem:
            text = (
                f"Credentials can't be saved ({secrets_problem}). Secrets you enter are kept "
                "in memory for this session only; everything else works."
            )
            self.secretsWarning.setText("⚠ " + text)
            self.secretsWarning.setToolTip(text)
        self.secretsWarning.setVisible(bool(secrets_problem))
        status.addPermanentWidget(self.secretsWarning)
        self.resize(1280, 800)

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
        quit_action = QAction("&Quit", self)
        quit_action.setObjectName("quitAction")
        quit_action.triggered.connect(self.close)
        self.fileMenu.addAction(quit_action)
        self._secret_actions: dict[str, QAction] = {}

        self.positionsMenu = bar.addMenu("&Positions")
        self.positionsMenu.setObjectName("positionsMenu")
        self.closeSelectedAction = QAction("&Close selected…\tEnter", self)
        self.closeSelectedAction.setObjectName("closeSelectedAction")
        self.closeSelectedAction.setStatusTip("Open the close dialog for the selected row")
        self.closeSelectedAction.triggered.connect(self._close_selected)
        self.positionsMenu.addAction(self.closeSelectedAction)
        self.quickCloseAction = QAction("Close selected in &full…", self)
        self.quickCloseAction.setObjectName("quickCloseAction")
        self.quickCloseAction.setShortcut(QKeySequence(QUICK_CLOSE_SHORTCUT))
        self.quickCloseAction.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.quickCloseAction.setStatusTip(
            "Close the selected row in full at market, after one confirmation")
        self.quickCloseAction.triggered.connect(lambda: self.quick_close())
        self.positionsMenu.addAction(self.quickCloseAction)
        self.addAction(self.quickCloseAction)  # the shortcut works with the menu closed
        self.closeResidualAction = QAction("Close &residual of selected", self)
        self.closeResidualAction.setObjectName("closeResidualAction")
        self.closeResidualAction.setStatusTip(
            "Close what a partly filled close left on the selected row")
        self.closeResidualAction.triggered.connect(self._close_selected_residual)
        self.positionsMenu.addAction(self.closeResidualAction)

        self.helpMenu = bar.addMenu("&Help")
        self.helpMenu.setObjectName("helpMenu")
        self.keyboardAction = QAction("&Keyboard shortcuts…", self)
        self.keyboardAction.setObjectName("keyboardAction")
        self.keyboardAction.setStatusTip("Every keyboard shortcut of Closeout")
        self.keyboardAction.triggered.connect(lambda: self.show_keyboard_help())
        self.helpMenu.addAction(self.keyboardAction)

    def _connect(self) -> None:
        b = self.bridge
        b.positionUpserted.connect(self._on_position)
        b.positionRemoved.connect(self._on_removed)
        b.intentChanged.connect(self._on_intent)
        b.logEvent.connect(self.log_model.append_event)
        b.connectionChanged.connect(self._on_connection)
        b.workingOrder.connect(self._on_working)
        b.workingOrderRemoved.connect(self._on_working_removed)
        b.markUpdated.connect(self._on_mark)
        self.positionsView.closeRequested.connect(self.request_close)
        self.positionsView.residualRequested.connect(self.close_residual)
        self.positionsView.quickCloseRequested.connect(self.quick_close)
        self.logView.clicked.connect(self._on_log_clicked)
        self.workingOrdersView.cancelRequested.connect(self.request_cancel)
        m = self.positions_model
        m.rowsInserted.connect(self._update_count)
        m.rowsRemoved.connect(self._update_count)
        m.modelReset.connect(self._update_count)
        m.rowsInserted.connect(self._refresh_account_choices)
        m.rowsRemoved.connect(self._refresh_account_choices)
        px = self.positions_proxy
        px.rowsInserted.connect(self._update_count)
        px.rowsRemoved.connect(self._update_count)
        px.layoutChanged.connect(self._update_count)
        px.modelReset.connect(self._update_count)
        self.venueFilter.currentIndexChanged.connect(self._on_venue_filter)
        self.accountFilter.currentIndexChanged.connect(self._on_account_filter)
        self.symbolFilter.textChanged.connect(self.positions_proxy.set_symbol_filter)
        self.groupByAccount.toggled.connect(self.positions_proxy.set_group_by_account)
        self.connectionStrip.secretRequested.connect(self.request_secret)
        wm = self.working_model
        wm.rowsInserted.connect(self._update_working_count)
        wm.rowsRemoved.connect(self._update_working_count)
        wm.modelReset.connect(self._update_working_count)

    def _load_current(self) -> None:
        """Show whatever the desk already knows (the window may open after it started)."""
        for name, account in self.desk.accounts.items():
            self.set_account_environment(name, account.environment)
            state = self.desk.connection_state(name)
            self.freshness.connection(name, state, self._wall())
            self.connectionStrip.set_state(
                name, account.venue, state, since=self.freshness.outage_since(name)
            )
        self.positions_model.upsert_many(self.desk.positions.values())
        for order in self.desk.working_orders.values():
            self._on_working(order)
        for name in self.desk.accounts:
            self._refresh_stale(name)
        self.refresh_health()

    def set_demo(self, demo: bool) -> None:
        """Demo mode: the DEMO banner shows while every account is a simulated one."""
        self.demo = demo
        self._refresh_environment()

    def expect_accounts(
        self, accounts: Iterable[tuple[str, Venue] | AccountConfig]
    ) -> None:
        """Badges for accounts about to connect, so the header shows "connecting" at once."""
        for item in accounts:
            if isinstance(item, AccountConfig):
                self.connectionStrip.badge(item.name, item.venue, item.environment)
                self.set_account_environment(item.name, item.environment)
            else:
                name, venue = item
                self.connectionStrip.badge(name, venue)
        self._refresh_account_choices()

    # ------------------------------------------------------------------ environments
    def set_account_environment(self, account: str, env: Environment | None) -> None:
        """Which environment an account trades in: its rows' chip, its badge, the title."""
        if self.environments.get(account) == env:
            return
        if env is None:
            self.environments.pop(account, None)
        else:
            self.environments[account] = env
        self.positions_model.set_environment(account, env)
        badge = self.connectionStrip.badges.get(account)
        if badge is not None:
            badge.set_environment(env)
        self._refresh_environment()

    def _refresh_environment(self) -> None:
        envs = set(self.environments.values())
        live = [n for n, e in self.environments.items() if e is Environment.LIVE]
        self.liveBanner.setText(live_banner_text(live) if live else "")
        self.liveBanner.setVisible(bool(live))
        self.demoBanner.setVisible(self.demo and not (envs - {Environment.DEMO}))
        self.testnetBanner.setVisible(Environment.TESTNET in envs and not live)
        self.setWindowTitle(window_title(envs, self.demo))

    def show_settings_error(self, text: str | None) -> None:
        """A settings file that did not load: what and where, at the top of the window."""
        self.settingsErrorBanner.setText(
            f"⚠ Settings not loaded — running in demo mode; the file was not touched. {text}"
            if text else "")
        self.settingsErrorBanner.setVisible(bool(text))

    # ------------------------------------------------------------------ filters
    def _on_venue_filter(self, *_: object) -> None:
        data = self.venueFilter.currentData()
        self.positions_proxy.set_venue_filter(Venue(data) if data else None)

    def _on_account_filter(self, *_: object) -> None:
        self.positions_proxy.set_account_filter(self.accountFilter.currentData())

    def _refresh_account_choices(self, *_: object) -> None:
        names = set(self.desk.accounts) | set(self.positions_model.accounts()) \
            | set(self.needs_secret) | set(self.connectionStrip.badges)
        ordered = sorted(names, key=str.casefold)
        have = [self.accountFilter.itemData(i) for i in range(self.accountFilter.count())]
        if have == [None, *ordered]:
            return
        current = self.accountFilter.currentData()
        self.accountFilter.blockSignals(True)
        self.accountFilter.clear()
        self.accountFilter.addItem(_ALL, None)
        for name in ordered:
            self.accountFilter.addItem(name, name)
        index = self.accountFilter.findData(current) if current is not None else 0
        self.accountFilter.setCurrentIndex(max(index, 0))
        self.accountFilter.blockSignals(False)
        if index < 0:  # the filtered account went away: show all again
            self._on_account_filter()

    # ------------------------------------------------------------------ accounts
    def _store(self) -> SecretStore:
        if self.secret_store is None:
            self.secret_store = SecretStore()
        return self.secret_store

    def open_accounts(
        self, edit: str | None = None, *, focus_secret: bool = False
    ) -> AccountsDialog:
        """The Accounts dialog (one per window), opened with ``open()``: never a nested loop."""
        dialog = self.accountsDialog
        if dialog is None:
            dialog = AccountsDialog(self._store(), settings_path=self.settings_path,
                                    tracker=self.tracker, parent=self)
            dialog.accountSaved.connect(self._on_account_saved)
            dialog.accountRemoved.connect(self._on_account_removed)
            self.accountsDialog = dialog
        else:
            dialog.discard()
            dialog.reload()
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
        self.needs_secret[account.name] = account
        badge = self.connectionStrip.badge(account.name, account.venue, account.environment)
        badge.set_needs_secret(True)
        self.set_account_environment(account.name, account.environment)
        if account.name not in self._secret_actions:
            action = QAction(f"{account.name}…", self)
            action.setObjectName(f"enterSecretAction:{account.name}")
            action.triggered.connect(lambda _=False, n=account.name: self.request_secret(n))
            self.secretsMenu.addAction(action)
            self._secret_actions[account.name] = action
        self.secretsMenuAction.setVisible(True)
        self._refresh_account_choices()

    def _forget_needs_secret(self, name: str) -> None:
        self.needs_secret.pop(name, None)
        action = self._secret_actions.pop(name, None)
        if action is not None:
            self.secretsMenu.removeAction(action)
            action.deleteLater()
        self.secretsMenuAction.setVisible(bool(self._secret_actions))

    def _forget_account(self, name: str) -> None:
        """Everything the window shows about an account that is gone (rows go with the desk)."""
        self._forget_needs_secret(name)
        self.connectionStrip.remove(name)
        self.healthStrip.remove(name)
        self.freshness.forget(name)
        self.set_account_environment(name, None)
        self.positions_model.set_stale(name, None)
        self.working_model.set_stale(name, None)
        self._refresh_account_choices()

    def _on_account_saved(self, account: AccountConfig, old_name: str | None) -> None:
        self.tracker.spawn(self.apply_account(account, old_name),
                           name=f"connect {account.name}")

    def _on_account_removed(self, name: str) -> None:
        self.tracker.spawn(self.remove_account(name), name=f"disconnect {name}")

    async def apply_account(self, account: AccountConfig, old_name: str | None = None) -> None:
        """Connect a saved account now (an edited one is disconnected and reconnected)."""
        for name in dict.fromkeys(n for n in (old_name, account.name) if n):
            if name in self.desk.accounts:
                await self.desk.disconnect(name)
            if name != account.name:
                self._forget_account(name)
        self._forget_needs_secret(account.name)
        if self.demo_journal and account.environment is not Environment.DEMO:
            note = (f"Saved {account.name}. This session is in demo mode with its own journal: "
                    f"restart Closeout to connect {env_label(account.environment)} accounts.")
            self.statusBar().showMessage(note, 20000)
            if self.accountsDialog is not None:
                self.accountsDialog.show_note(note)
            self._refresh_account_choices()
            return
        credentials = credentials_for(account, self._store())
        badge = self.connectionStrip.badge(account.name, account.venue, account.environment)
        self.set_account_environment(account.name, account.environment)
        self._refresh_account_choices()
        if credentials is None:
            self.mark_needs_secret(account)
            return
        badge.set_state(ConnectionState.CONNECTING, "")
        try:
            await self.desk.connect(account, credentials)
        except Exception as exc:  # the desk reported it (a FAILED badge); say it here too
            self.statusBar().showMessage(f"Could not connect {account.name}: {exc}", 15000)
            return
        self.statusBar().showMessage(f"{account.name} connected.", 8000)

    async def remove_account(self, name: str) -> None:
        """Disconnect a removed account and drop its badge, rows and filters."""
        if name in self.desk.accounts:
            await self.desk.disconnect(name)
        self._forget_account(name)
        self.statusBar().showMessage(f"{name} removed.", 8000)

    # ------------------------------------------------------------------ desk events
    def _on_position(self, position: Position) -> None:
        self.positions_model.queue_upsert(position)
        dialog = self.dialogs.get(position.key)
        if dialog is not None:
            dialog.update_position(position)

    def _on_removed(self, key: PositionKey) -> None:
        self.positions_model.remove(key)
        dialog = self.dialogs.get(key)
        if dialog is not None and not dialog.busy:
            dialog.update_position(None)
        quick = self.quickDialogs.get(key)
        if quick is not None and not quick.busy:
            quick.update_position(None)

    def _on_mark(self, mark: MarkUpdate) -> None:
        for key, dialog in self.dialogs.items():
            if key.venue is mark.venue and key.symbol == mark.symbol:
                dialog.update_mark(mark)

    def _on_intent(self, intent: CloseIntent) -> None:
        """A close moved on: its row's Close cell, and a log line and the status bar for what
        no venue line says (verified flat, a mismatch, a refusal in plain words)."""
        self.positions_model.set_intent(intent)
        key = intent.key
        notes = self._intent_notes.setdefault(intent.id, set())
        where = f"{key.symbol} on {key.account}"

        def note(what: str) -> bool:
            if what in notes:
                return False
            notes.add(what)
            return True

        if intent.verified_flat is True and note("flat"):
            self.log_model.append(LogEntry.from_intent(intent, "VERIFIED FLAT"))
            self.statusBar().showMessage(f"{where}: closed and verified flat.", 10000)
        elif intent.verified_flat is False and note("mismatch"):
            self.log_model.append(LogEntry.from_intent(intent, "MISMATCH"))
            self.statusBar().showMessage(f"{where}: {intent.message}", 30000)
        elif intent.state is IntentState.REJECTED and note("rejected"):
            text = refusal_text(intent)
            said = [u.message for u in intent.updates if u.status is OrderStatus.REJECTED]
            if text not in said:  # no venue line says it in these words
                self.log_model.append(LogEntry.from_intent(intent, "REJECTED"))
            self.statusBar().showMessage(f"Close of {where} rejected: {text}", 20000)
        elif intent.state is IntentState.PARTIAL and note("partial"):
            req = intent.request
            asked = req.quantity if req.quantity is not None else req.position_quantity
            self.statusBar().showMessage(
                f"Close of {where} partly filled: {fmt_decimal(intent.filled)} of "
                f"{fmt_decimal(asked)} closed. The residual is still open — Close residual is "
                "on its row; nothing is resent on its own.", 20000)
        elif intent.state is IntentState.UNKNOWN and note("unknown"):
            self.statusBar().showMessage(f"Close of {where}: {intent.message}", 20000)

    def _on_connection(self, event: ConnectionEvent) -> None:
        name = event.account
        config = self.desk.accounts.get(name)
        if config is not None:
            self.set_account_environment(name, config.environment)
        self.freshness.connection(name, event.state, event.at)
        self.connectionStrip.set_state(
            name, event.venue, event.state, event.message,
            since=self.freshness.outage_since(name),
        )
        self._refresh_health_of(name, self._clock())
        self._refresh_stale(name)
        self._refresh_account_choices()

    def _venue_of(self, account: str) -> Venue | None:
        badge = self.connectionStrip.badges.get(account)
        if badge is not None:
            return badge.venue
        config = self.desk.accounts.get(account)
        return config.venue if config is not None else None

    def stale_reason(self, account: str) -> str | None:
        """Why this account's rows may be out of date now, or None when they are live."""
        venue = self._venue_of(account)
        if venue is None:
            return None
        stale = self.freshness.stale(account)
        return None if stale is None else stale_text(venue, stale.what, stale.since)

    def _refresh_stale(self, account: str) -> None:
        reason = self.stale_reason(account)
        self.positions_model.set_stale(account, reason)
        self.working_model.set_stale(account, reason)

    def refresh_health(self) -> None:
        """Ask every session for its health (cheap) and show it; runs every second."""
        now = self._clock()
        healths: dict[str, SessionHealth] = {}
        for name in list(self.connectionStrip.badges):
            health = self._refresh_health_of(name, now)
            if health is not None:
                healths[name] = health
            self._refresh_stale(name)
        self._refresh_row_ages(healths)

    def _refresh_row_ages(self, healths: dict[str, SessionHealth]) -> None:
        """Mark the rows whose venue data is older than the stale threshold ("stale 12 s"); the
        desk decides which (ages on time.monotonic(), the clock of ``Position.received_at``)."""
        self.positions_model.set_row_ages(
            self.desk.stale_rows(self.preferences.stale_after_s, healths, time.monotonic()))

    def _refresh_health_of(self, account: str, now: float) -> SessionHealth | None:
        badge = self.connectionStrip.badges.get(account)
        if badge is None:
            return None
        try:
            health = self.desk.health(account)
        except Exception:  # a broken health() must not stop the others' badges
            if account not in self._health_failed:
                self._health_failed.add(account)
                log.warning("health of %s failed", account, exc_info=True)
            return None
        badge.set_health(health, now)
        if account in self.desk.accounts:
            self.healthStrip.update_account(account, badge.venue, badge.state, health, now)
        self.freshness.health(account, badge.state, health, now, self._wall())
        return health

    def _update_count(self, *_: object) -> None:
        n = self.positions_model.rowCount()
        if self.positions_proxy.filtering:
            shown = self.positions_proxy.rowCount()
            self.positionsTitle.setText(f"Open positions ({shown} of {n})")
        else:
            self.positionsTitle.setText(f"Open positions ({n})")

    # ------------------------------------------------------------------ working orders
    def _on_working(self, order: WorkingOrder) -> None:
        self.working_model.upsert(order)
        self._refresh_marker(PositionKey(order.account, order.venue, order.symbol))

    def _on_working_removed(self, event: WorkingOrderRemoved) -> None:
        order = self.working_model.remove((event.account, event.order_id))
        if order is not None:
            self._refresh_marker(PositionKey(order.account, order.venue, order.symbol))

    def _refresh_marker(self, key: PositionKey) -> None:
        self.positions_model.set_working(key, self.working_model.orders_for(key))

    def _update_working_count(self, *_: object) -> None:
        n = self.working_model.rowCount()
        self.bottomTabs.setTabText(_WORKING_TAB, f"Working orders ({n})")

    def request_cancel(self, ident: tuple[str, str]) -> None:
        """Cancel a resting order (its button), once.

        A second click while this window's cancel is out sends nothing and says so. The check
        is here, not only in the desk: a second task could otherwise start just after the first
        one finished and send again. The desk's own CancelPending covers cancels started
        elsewhere.
        """
        order = self.working_model.order(ident)
        if order is None:
            return
        if ident in self._cancels:
            self._say_pending(order)
            return
        if self.working_model.cancel_state(ident) is CancelState.CONFIRMED:
            self.statusBar().showMessage(
                f"The venue already confirmed the cancel of {_order_name(order)}.", 8000
            )
            return
        self.working_model.set_cancelling(ident)
        task = self.tracker.spawn(self._cancel(order), name=f"cancel {order.order_id}")
        self._cancels[ident] = task
        task.add_done_callback(lambda _t: self._cancels.pop(ident, None))

    def _say_pending(self, order: WorkingOrder) -> None:
        self.statusBar().showMessage(
            f"A cancel of {_order_name(order)} is already on its way; nothing new was sent.",
            8000,
        )

    async def _cancel(self, order: WorkingOrder) -> None:
        ident = order.ident
        try:
            await self.desk.cancel(order, reason="Cancel clicked in Working orders")
        except CancelPending:
            # Someone else's cancel is out; this click sent nothing. The button goes back to
            # Cancel rather than claim a cancel this window cannot follow.
            self.working_model.set_cancel_idle(ident)
            self._say_pending(order)
            return
        except CancelRejected as exc:
            self.working_model.set_cancel_refused(ident, str(exc))
            self.statusBar().showMessage(
                f"Cancel of {_order_name(order)} refused: {exc}", 15000
            )
            return
        except BaseException as exc:
            # Never leave the button on "Cancelling…": the order may well still be working.
            self.working_model.set_cancel_refused(ident, f"{type(exc).__name__}: {exc}")
            raise
        self.working_model.set_cancel_confirmed(ident)
        self.statusBar().showMessage(f"Cancel of {_order_name(order)} confirmed.", 8000)

    def _on_task_failed(self, name: str, error: str) -> None:
        self.statusBar().showMessage(f"Something went wrong in “{name}”: {error}", 15000)

    # ------------------------------------------------------------------ closing
    def set_preferences(self, preferences: Preferences) -> None:
        """New preferences (confirmation policy, stale threshold): the banner, open dialogs and
        the stale rows follow at once."""
        self.preferences = preferences
        self.confirmationsOffBanner.setVisible(preferences.confirm == "never")
        for dialog in self.dialogs.values():
            dialog.set_preferences(preferences)
        self.refresh_health()

    def selected_key(self) -> PositionKey | None:
        """The row with the keyboard focus (the current row), if any."""
        index = self.positionsView.currentIndex()
        key = index.data(KEY_ROLE) if index.isValid() else None
        return key if isinstance(key, PositionKey) else None

    def select_row(self, key: PositionKey) -> bool:
        """Select and scroll to a row; False when it is not shown (flat, or filtered out)."""
        row = self.positions_proxy.proxy_row_of(key)
        if row is None or row < 0:
            return False
        view = self.positionsView
        index = self.positions_proxy.index(row, PositionColumn.SYMBOL)
        flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                 | QItemSelectionModel.SelectionFlag.Rows)
        view.selectionModel().setCurrentIndex(index, flags)
        view.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
        return True

    def show_pending(self, key: PositionKey, intent: CloseIntent | None = None) -> None:
        """A second click while a close is in flight: nothing is sent; the pending close is
        brought into view (its row selected, its Close cell flashing) and the status bar says
        so."""
        intent = intent or self.desk.pending(key)
        shown = self.select_row(key)
        self.positions_model.flash(key)
        if intent is not None:
            text = pending_text(AlreadyPending(intent))
        else:
            text = f"A close of {key.symbol} on {key.account} is already on its way — nothing " \
                   "new was sent."
        if not shown:
            text += " (Its row is hidden by the filters.)"
        self.statusBar().showMessage(text, 8000)

    def _open_for(self, key: PositionKey) -> QDialog | None:
        dialog: QDialog | None = self.dialogs.get(key) or self.quickDialogs.get(key)
        if dialog is not None:
            dialog.raise_()
            dialog.activateWindow()
        return dialog

    def _position_for(self, key: PositionKey) -> Position | None:
        position = self.desk.positions.get(key) or self.positions_model.position(key)
        if position is None:
            self.statusBar().showMessage(f"{key.symbol} on {key.account} is already flat.", 8000)
        return position

    def _data_age(self, key: PositionKey) -> float | None:
        return self.desk.data_age(key)

    def _stale_age(self, key: PositionKey) -> float | None:
        return self.desk.stale_age(key, self.preferences.stale_after_s)

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
            self.statusBar().showMessage(f"Account {key.account} is not connected.", 8000)
            return None
        dialog = CloseDialog(
            position,
            caps,
            self.desk.instrument(key),
            self._submit,
            tracker=self.tracker,
            preview=self.desk.preview,
            environment=self.environments.get(key.account),
            preferences=self.preferences,
            guard=self.desk.check,
            data_age=lambda: self._data_age(key),
            mark=self.desk.mark(key.venue, key.symbol),
            parent=self,
        )
        dialog.alreadyPending.connect(lambda intent: self.show_pending(intent.key, intent))
        self.dialogs[key] = dialog
        future = dialog.result_future()
        dialog.open()
        self.tracker.spawn(self._after_dialog(key, dialog, future), name=f"dialog {key}")
        return dialog

    def _close_selected(self) -> None:
        key = self.selected_key()
        if key is None:
            self.statusBar().showMessage("Select a position first.", 5000)
            return
        self.request_close(key)

    def _close_selected_residual(self) -> None:
        key = self.selected_key()
        if key is None:
            self.statusBar().showMessage("Select a position first.", 5000)
            return
        self.close_residual(key)

    def quick_close(self, key: PositionKey | None = None) -> QuickCloseDialog | None:
        """Ctrl+Shift+C: close the selected row in full at market, after one confirmation."""
        key = key or self.selected_key()
        if key is None:
            self.statusBar().showMessage("Select a position first, then press "
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
            self.statusBar().showMessage(f"No residual is left on {key.symbol} on "
                                         f"{key.account}.", 8000)
            return None
        request = CloseRequest(key=key, position_side=position.side,
                               position_quantity=position.quantity,
                               reason="Close residual clicked on the row")
        env = self.environments.get(key.account)
        asks = confirmation_reason(request, self.preferences, env, position.mark_price)
        if asks is None and self._stale_age(key) is None:
            task = self.tracker.spawn(self._direct_close(request), name=f"residual {key}")
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
            position, self._submit, title=title, action=action, tracker=self.tracker,
            preview=self.desk.preview, guard=self.desk.check,
            environment=self.environments.get(key.account), stale_age=self._stale_age(key),
            note=note, reason=reason, instrument=self.desk.instrument(key), parent=self)
        dialog.alreadyPending.connect(lambda intent: self.show_pending(intent.key, intent))
        self.quickDialogs[key] = dialog
        future = dialog.result_future()
        dialog.open()
        self.tracker.spawn(self._after_dialog(key, dialog, future), name=f"dialog {key}")
        return dialog

    async def _direct_close(self, request: CloseRequest) -> None:
        key = request.key
        try:
            await self._submit(request)
        except AlreadyPending as exc:
            self.show_pending(key, exc.intent)
        except CloseRejected as exc:
            self.statusBar().showMessage(
                f"Close of {key.symbol} on {key.account} refused: {exc}", 20000)

    async def _submit(self, request: CloseRequest) -> CloseIntent:
        intent = await self.desk.close(request)
        key = request.key
        self.statusBar().showMessage(
            f"Close of {key.symbol} on {key.account} sent ({intent.state.value.lower()}).", 8000
        )
        return intent

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
            if self.quickDialogs.get(key) is dialog:
                del self.quickDialogs[key]
            dialog.deleteLater()

    def _on_log_clicked(self, index: QModelIndex) -> None:
        """A log line about a position selects its row (when the row is still there)."""
        key = self.log_model.key_at(index.row())
        if key is not None and not self.select_row(key):
            self.statusBar().showMessage(
                f"{key.symbol} on {key.account} is not in the table (flat, or filtered out).",
                5000)

    def show_keyboard_help(self) -> QDialog:
        """Help → Keyboard shortcuts: every shortcut, in a small dialog opened with open()."""
        if self.keyboardHelp is None:
            dialog = QDialog(self)
            dialog.setObjectName("keyboardHelp")
            dialog.setWindowTitle("Keyboard shortcuts")
            layout = QVBoxLayout(dialog)
            rows = "".join(
                f"<tr><td style='padding:3px 14px 3px 0'><b>{keys}</b></td><td>{what}</td></tr>"
                for keys, what in KEYBOARD_SHORTCUTS)
            label = QLabel(f"<table>{rows}</table>", dialog)
            label.setObjectName("keyboardHelpText")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
            buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
            buttons.rejected.connect(dialog.reject)
            layout.addWidget(buttons)
            self.keyboardHelp = dialog
        self.keyboardHelp.open()
        return self.keyboardHelp

    # ------------------------------------------------------------------ shutdown
    async def shutdown(self) -> None:
        """Detach from the desk and settle every GUI task; the caller stops the desk."""
        self.healthTimer.stop()
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


def _order_name(order: WorkingOrder) -> str:
    return f"order {order.order_id} ({order.symbol} on {order.account})"
