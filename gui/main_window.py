"""The main window: positions on top, the order log below, connection badges in the header."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.desk import CloseIntent, Desk
from core.model import CloseRequest, ConnectionEvent, Position, PositionKey, Venue
from gui.bridge import DeskBridge, TaskTracker
from gui.close_dialog import CloseDialog
from gui.models import LogColumn, LogModel, PositionColumn, PositionsModel, PositionsProxy
from gui.widgets import ConnectionStrip, LogView, PositionsView

__all__ = ["DEMO_BANNER", "MainWindow"]

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
    PositionColumn.ACTION: 132,
}
_LOG_WIDTHS = {
    LogColumn.TIME: 96,
    LogColumn.KIND: 92,
    LogColumn.VENUE: 84,
    LogColumn.ACCOUNT: 130,
    LogColumn.SYMBOL: 160,
    LogColumn.STATUS: 96,
    LogColumn.RAW_STATUS: 120,
    LogColumn.QUANTITY: 96,
    LogColumn.REMAINING: 104,
    LogColumn.PRICE: 96,
}


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
        self.dialogs: dict[PositionKey, CloseDialog] = {}
        self._build(secrets_problem)
        self._connect()
        self._load_current()

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
        log_title = QLabel("Order log", bottom)
        log_title.setObjectName("sectionTitle")
        bl.addWidget(log_title)
        self.logView = LogView(bottom)
        self.logView.setModel(self.log_model)
        for lcol, width in _LOG_WIDTHS.items():
            self.logView.setColumnWidth(lcol, width)
        bl.addWidget(self.logView)

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
        self.positionsView.closeRequested.connect(self.request_close)
        m = self.positions_model
        m.rowsInserted.connect(self._update_count)
        m.rowsRemoved.connect(self._update_count)
        m.modelReset.connect(self._update_count)

    def _load_current(self) -> None:
        """Show whatever the desk already knows (the window may open after it started)."""
        for name, account in self.desk.accounts.items():
            self.connectionStrip.set_state(
                name, account.venue, self.desk.connection_state(name)
            )
        self.positions_model.upsert_many(self.desk.positions.values())

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
        self.connectionStrip.set_state(event.account, event.venue, event.state, event.message)

    def _update_count(self, *_: object) -> None:
        n = self.positions_model.rowCount()
        self.positionsTitle.setText(f"Open positions ({n})")

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
