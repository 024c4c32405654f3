"""The order log's filter bar at work: its choices set the pane's filter (typing waits for a
pause, so a word is one rescan, not one per key), the count shows while a filter is on,
Clear filters shows every line again, and Follow newest mirrors the view's follow mode."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from gui.models.log_filter import LogFilter, counts_text
from gui.widgets.positions_bar import ALL

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["TYPING_PAUSE_MS", "LogFilters"]

TYPING_PAUSE_MS = 250  # a search or symbol applies once typing stops this long


class LogFilters:
    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.typing = QTimer(window)
        self.typing.setSingleShot(True)
        self.typing.setInterval(TYPING_PAUSE_MS)

    def connect(self) -> None:
        w = self.window
        bar, view, proxy, log = w.logPane.bar, w.logView, w.log_proxy, w.log_model
        self.typing.timeout.connect(self.apply)
        for combo in (bar.venue, bar.account, bar.status, bar.kind):
            combo.currentIndexChanged.connect(self.apply)
        for edit in (bar.symbol, bar.search):
            edit.textChanged.connect(self.typing.start)
            edit.returnPressed.connect(self.apply)  # Enter: now, not after the pause
        bar.clear.clicked.connect(self.clear)
        bar.follow.toggled.connect(view.set_following)
        view.followChanged.connect(self._show_follow)
        for model in (proxy, log):
            model.rowsInserted.connect(self.update_count)
            model.rowsRemoved.connect(self.update_count)
        proxy.layoutChanged.connect(self.update_count)
        proxy.modelReset.connect(self.update_count)
        w.positions_model.accountsChanged.connect(self.refresh_accounts)
        self.refresh_accounts()

    def current(self) -> LogFilter:
        bar = self.window.logPane.bar
        return LogFilter(venue=bar.venue.currentData() or "",
                         account=bar.account.currentData() or "",
                         symbol=bar.symbol.text(), status=bar.status.currentData() or "",
                         kind=bar.kind.currentData() or "", text=bar.search.text())

    def apply(self, *_: object) -> None:
        """Set the filter from the bar. Turning filtering on or off swaps what the pane shows
        (the log filtered, or the log itself), keeping the reader's place and choice."""
        self.typing.stop()
        w = self.window
        view, proxy, log = w.logView, w.log_proxy, w.log_model
        new = self.current()
        if new.active == proxy.filtering:
            proxy.set_filter(new)  # a filter for another: one rescan, the view keeps its place
        elif new.active:
            top, current = self._source_rows()
            proxy.set_filter(new)
            view.replace_model(proxy, proxy.row_at_or_after(top),
                               self._filtered_row(current))
        else:
            top, current = self._source_rows()
            view.replace_model(log, top, current)
            proxy.set_filter(new)
        self.update_count()

    def _source_rows(self) -> tuple[int, int]:
        """The log's rows of the line on top and the line chosen (-1: none), whichever model
        the pane shows."""
        view, proxy = self.window.logView, self.window.log_proxy
        rows = [view.rowAt(0), view.currentIndex().row()]
        if view.model() is proxy:
            rows = [proxy.source_row(r) if r >= 0 else -1 for r in rows]
        return rows[0], rows[1]

    def _filtered_row(self, source_row: int) -> int:
        proxy = self.window.log_proxy
        if source_row < 0:
            return -1
        return proxy.mapFromSource(self.window.log_model.index(source_row, 0)).row()

    def clear(self) -> None:
        """Every filter back to "All" and empty, then one rescan."""
        bar = self.window.logPane.bar
        for combo in (bar.venue, bar.account, bar.status, bar.kind):
            combo.blockSignals(True)
            combo.setCurrentIndex(0)
            combo.blockSignals(False)
        for edit in (bar.symbol, bar.search):
            edit.blockSignals(True)
            edit.clear()
            edit.blockSignals(False)
        self.apply()

    def update_count(self, *_: object) -> None:
        w = self.window
        proxy = w.log_proxy
        w.logPane.bar.show_filtering(
            counts_text(proxy.shown(), w.log_model.line_count) if proxy.filtering else None)

    def refresh_accounts(self, *_: object) -> None:
        """The accounts the positions' account filter offers (it has just been refreshed:
        connected first), read from it rather than worked out a second time."""
        w = self.window
        positions = w.accountFilter
        names = [positions.itemData(i) for i in range(1, positions.count())]
        combo = w.logPane.bar.account
        if [combo.itemData(i) for i in range(1, combo.count())] == names:
            return
        current = combo.currentData()
        combo.blockSignals(True)
        combo.clear()
        combo.addItem(ALL, "")
        for name in names:
            combo.addItem(name, name)
        index = combo.findData(current)
        combo.setCurrentIndex(max(index, 0))
        combo.blockSignals(False)
        if index < 0:  # the filtered account went away: its lines show again
            self.apply()

    def _show_follow(self, on: bool) -> None:
        box = self.window.logPane.bar.follow
        box.blockSignals(True)
        box.setChecked(on)
        box.blockSignals(False)
