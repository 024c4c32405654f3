"""The main window: positions on top; the order log and the working orders in tabs below;
connection badges with each venue's health in the header."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from core.desk import CancelPending, CloseIntent, Desk
from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    Position,
    PositionKey,
    Venue,
    WorkingOrder,
    WorkingOrderRemoved,
)
from core.venue import CancelRejected
from gui.bridge import DeskBridge, TaskTracker
from gui.close_dialog import CloseDialog
from gui.models import (
    CancelState,
    LogColumn,
    LogModel,
    PositionColumn,
    PositionsModel,
    PositionsProxy,
    WorkingColumn,
    WorkingOrdersModel,
)
from gui.widgets import ConnectionStrip, LogView, PositionsView, WorkingOrdersView, fmt_clock

__all__ = ["DEMO_BANNER", "HEALTH_INTERVAL_MS", "MainWindow", "stale_text"]

log = logging.getLogger(__name__)

DEMO_BANNER = "DEMO — simulated venues, no real orders"

_POSITION_WIDTHS = {
    PositionColumn.VENUE: 96,
    PositionColumn.ACCOUNT: 160,
    PositionColumn.SYMBOL: 190,
    PositionColumn.SIDE: 64,
    PositionColumn.QUANTITY: 120,
    PositionColumn.ENTRY: 120,
    PositionColumn.MARK: 120,
    PositionColumn.PNL: 140,
    PositionColumn.ACTION: 172,
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
_LOG_TAB, _WORKING_TAB = 0, 1


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
        secrets_problem: str | None = None,
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
        self.setWindowTitle("Closeout — DEMO" if demo else "Closeout")
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
        self._clock = clock  # time.monotonic: the clock of SessionHealth.last_message_at
        self._wall = wall_clock
        self._outage: dict[str, float] = {}  # account -> wall time its connection went down
        self._silent: dict[str, float] = {}  # account -> wall time of the last message heard
        self._health_failed: set[str] = set()
        self._cancels: dict[tuple[str, str], asyncio.Task[None]] = {}  # one per order, at most
        self._build(secrets_problem)
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

        self.splitter = QSplitter(Qt.Orientation.Vertical, central)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(6)

        top = QWidget(self.splitter)
        top.setObjectName("positionsPanel")
        tl = QVBoxLayout(top)
        tl.setContentsMargins(10, 8, 10, 4)
        tl.setSpacing(6)
        self.positionsTitle = QLabel("Open positions", top)
        self.positionsTitle.setObjectName("sectionTitle")
        tl.addWidget(self.positionsTitle)
        self.positionsView = PositionsView(top)
        self.positionsView.setModel(self.positions_proxy)
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

    def _connect(self) -> None:
        b = self.bridge
        b.positionUpserted.connect(self._on_position)
        b.positionRemoved.connect(self._on_removed)
        b.intentChanged.connect(self._on_intent)
        b.logEvent.connect(self.log_model.append_event)
        b.connectionChanged.connect(self._on_connection)
        b.workingOrder.connect(self._on_working)
        b.workingOrderRemoved.connect(self._on_working_removed)
        self.positionsView.closeRequested.connect(self.request_close)
        self.workingOrdersView.cancelRequested.connect(self.request_cancel)
        m = self.positions_model
        m.rowsInserted.connect(self._update_count)
        m.rowsRemoved.connect(self._update_count)
        m.modelReset.connect(self._update_count)
        wm = self.working_model
        wm.rowsInserted.connect(self._update_working_count)
        wm.rowsRemoved.connect(self._update_working_count)
        wm.modelReset.connect(self._update_working_count)

    def _load_current(self) -> None:
        """Show whatever the desk already knows (the window may open after it started)."""
        for name, account in self.desk.accounts.items():
            state = self.desk.connection_state(name)
            if state is not ConnectionState.CONNECTED:
                self._outage[name] = self._wall()
            self.connectionStrip.set_state(
                name, account.venue, state, since=self._outage.get(name)
            )
        self.positions_model.upsert_many(self.desk.positions.values())
        for order in self.desk.working_orders.values():
            self._on_working(order)
        for name in self.desk.accounts:
            self._refresh_stale(name)
        self.refresh_health()

    def set_demo(self, demo: bool) -> None:
        """Show or hide the DEMO banner: only simulated venues, so no real orders."""
        self.demo = demo
        self.demoBanner.setVisible(demo)
        self.setWindowTitle("Closeout — DEMO" if demo else "Closeout")

    def expect_accounts(self, accounts: Iterable[tuple[str, Venue]]) -> None:
        """Badges for accounts about to connect, so the header shows "connecting" at once."""
        for name, venue in accounts:
            self.connectionStrip.badge(name, venue)

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

    def _on_intent(self, intent: CloseIntent) -> None:
        self.positions_model.set_intent(intent)

    def _on_connection(self, event: ConnectionEvent) -> None:
        name = event.account
        if event.state is ConnectionState.CONNECTED:
            self._outage.pop(name, None)
            self._silent.pop(name, None)
        else:  # DISCONNECTED, CONNECTING (a retry) and FAILED: the outage began at the first
            self._outage.setdefault(name, event.at)
        self.connectionStrip.set_state(
            name, event.venue, event.state, event.message, since=self._outage.get(name)
        )
        self._refresh_health_of(name, self._clock())
        self._refresh_stale(name)

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
        if (since := self._outage.get(account)) is not None:
            return stale_text(venue, "disconnected", since)
        if (since := self._silent.get(account)) is not None:
            return stale_text(venue, "silent", since)
        return None

    def _refresh_stale(self, account: str) -> None:
        reason = self.stale_reason(account)
        self.positions_model.set_stale(account, reason)
        self.working_model.set_stale(account, reason)

    def refresh_health(self) -> None:
        """Ask every session for its health (cheap) and show it; runs every second."""
        now = self._clock()
        for name in list(self.connectionStrip.badges):
            self._refresh_health_of(name, now)
            self._refresh_stale(name)

    def _refresh_health_of(self, account: str, now: float) -> None:
        badge = self.connectionStrip.badges.get(account)
        if badge is None:
            return
        try:
            health = self.desk.health(account)
        except Exception:  # a broken health() must not stop the others' badges
            if account not in self._health_failed:
                self._health_failed.add(account)
                log.warning("health of %s failed", account, exc_info=True)
            return
        badge.set_health(health, now)
        last = health.last_message_at
        if not badge.stale or last is None:
            self._silent.pop(account, None)
        elif account not in self._silent:
            self._silent[account] = self._wall() - (now - last)

    def _update_count(self, *_: object) -> None:
        n = self.positions_model.rowCount()
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
    def request_close(self, key: PositionKey) -> CloseDialog | None:
        """Open the close dialog for a row (its button, or Enter on it)."""
        existing = self.dialogs.get(key)
        if existing is not None:
            existing.raise_()
            existing.activateWindow()
            return existing
        position = self.desk.positions.get(key) or self.positions_model.position(key)
        if position is None:
            self.statusBar().showMessage(f"{key.symbol} on {key.account} is already flat.", 8000)
            return None
        pending = self.desk.pending(key)
        if pending is not None:
            self.statusBar().showMessage(
                f"A close of {key.symbol} on {key.account} is already "
                f"{pending.state.value.lower()}; nothing new was sent.",
                8000,
            )
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
            parent=self,
        )
        self.dialogs[key] = dialog
        future = dialog.result_future()
        dialog.open()
        self.tracker.spawn(self._after_dialog(key, dialog, future), name=f"dialog {key}")
        return dialog

    async def _submit(self, request: CloseRequest) -> CloseIntent:
        intent = await self.desk.close(request)
        key = request.key
        self.statusBar().showMessage(
            f"Close of {key.symbol} on {key.account} sent ({intent.state.value.lower()}).", 8000
        )
        return intent

    async def _after_dialog(
        self, key: PositionKey, dialog: CloseDialog, future: asyncio.Future[int]
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
            dialog.deleteLater()

    # ------------------------------------------------------------------ shutdown
    async def shutdown(self) -> None:
        """Detach from the desk and settle every GUI task; the caller stops the desk."""
        self.healthTimer.stop()
        for dialog in list(self.dialogs.values()):
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
