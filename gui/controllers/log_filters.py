"""The order log's filter bar at work: its choices set the pane's filter (typing waits for a
pause, so a word is one rescan, not one per key), the count shows while a filter is on,
Clear filters shows every line again, and Follow newest mirrors the view's follow mode.

A new filter never freezes the window: the log is read a slice at a time, within a small
budget of each loop turn ("filtering… 40 %" meanwhile, the previous result still shown), and
the result is shown in one step. A further change drops the rescan under way."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from gui.models.log_filter import LogFilter, counts_text
from gui.models.log_rescan import Rescan
from gui.widgets.positions_bar import ALL

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["SLICE_BUDGET", "SLICE_LINES", "TYPING_PAUSE_MS", "LogFilters"]

TYPING_PAUSE_MS = 250  # a search or symbol applies once typing stops this long
SLICE_LINES = 1000  # lines read between budget checks (about 1 ms of a text search)
SLICE_BUDGET = 0.003  # seconds of one loop turn a new filter may use before it yields


class LogFilters:
    def __init__(self, window: MainWindow, *, slice_lines: int = SLICE_LINES,
                 budget: float = SLICE_BUDGET) -> None:
        self.window = window
        self.typing = QTimer(window)
        self.typing.setSingleShot(True)
        self.typing.setInterval(TYPING_PAUSE_MS)
        self.slice_lines = slice_lines
        self.budget = budget
        self.rescan: Rescan | None = None  # a new filter being worked out
        self.turn = QTimer(window)  # the next slices, on the next turn of the loop
        self.turn.setSingleShot(True)
        self.turn.setInterval(0)

    def connect(self) -> None:
        w = self.window
        bar, view, proxy, log = w.logPane.bar, w.logView, w.log_proxy, w.log_model
        self.typing.timeout.connect(self.apply)
        self.turn.timeout.connect(self._work)
        for combo in (bar.venue, bar.account, bar.status, bar.kind):
            combo.currentIndexChanged.connect(self.apply)
        for edit in (bar.symbol, bar.search):
            edit.textChanged.connect(self._typed)
            edit.returnPressed.connect(self.apply)  # Enter: now, not after the pause
        bar.clear.clicked.connect(self.clear)
        bar.follow.toggled.connect(view.set_following)
        view.followChanged.connect(self._show_follow)
        for model in (proxy, log):
            model.rowsInserted.connect(self.update_count)
            model.rowsRemoved.connect(self.update_count)
        proxy.layoutChanged.connect(self.update_count)
        proxy.modelReset.connect(self.update_count)
        log.rowsInserted.connect(self._lines_inserted)
        log.rowsRemoved.connect(self._lines_removed)
        log.modelReset.connect(self._log_reset)
        w.positions_model.accountsChanged.connect(self.refresh_accounts)
        self.refresh_accounts()

    def current(self) -> LogFilter:
        bar = self.window.logPane.bar
        return LogFilter(venue=bar.venue.currentData() or "",
                         account=bar.account.currentData() or "",
                         symbol=bar.symbol.text(), status=bar.status.currentData() or "",
                         kind=bar.kind.currentData() or "", text=bar.search.text())

    def apply(self, *_: object) -> None:
        """Set the filter from the bar. A new filter is worked out in slices, a few each turn
        of the loop (the first at once: a small log is filtered at once), and shown when all
        lines are read; meanwhile the previous result stays. Turning filtering on or off swaps
        what the pane shows (the log filtered, or the log itself), keeping the reader's place
        and choice."""
        self.typing.stop()
        new = self.current()
        running = self.rescan
        if running is not None and running.filter == new:
            return  # already being worked out
        self._cancel()
        proxy = self.window.log_proxy
        if not new.active:
            if proxy.filtering:
                top, current = self._source_rows()
                self.window.logView.replace_model(self.window.log_model, top, current)
                proxy.show(new, [])
        elif new != proxy.filter:
            self.rescan = Rescan(new, self.window.log_model.held_lines())
            self._work()
            return
        self.update_count()

    @property
    def busy(self) -> bool:
        """A new filter is being worked out."""
        return self.rescan is not None

    def _cancel(self) -> None:
        self.rescan = None
        self.turn.stop()

    def _typed(self, *_: object) -> None:
        """A key in the symbol or search box: what is being worked out is out of date."""
        if self.rescan is not None:
            self._cancel()
            self.update_count()
        self.typing.start()

    def _work(self) -> None:
        """Read slices of the log until the turn's budget is spent, then yield to the loop.
        The result is shown at once when one call read every line (a small log), else on a
        turn of its own: the last slices and the repaint never share one turn."""
        rescan = self.rescan
        if rescan is None:
            return
        if not rescan.done:
            whole = rescan.progress == 0  # this call may read every line
            deadline = time.perf_counter() + self.budget
            while not rescan.step(self.slice_lines):
                if time.perf_counter() >= deadline:
                    self.turn.start()
                    self.update_count()
                    return
            if not whole:
                self.turn.start()
                self.update_count()
                return
        self.rescan = None
        self._show(rescan)

    def _show(self, rescan: Rescan) -> None:
        """The result in one step: a layout change, or the pane swapped to the log filtered."""
        w = self.window
        proxy = w.log_proxy
        if proxy.filtering:
            proxy.show(rescan.filter, rescan.passing)  # the view keeps its place
        else:
            top, current = self._source_rows()
            proxy.show(rescan.filter, rescan.passing)
            w.logView.replace_model(proxy, proxy.row_at_or_after(top),
                                    self._filtered_row(current))
        self.update_count()

    # ------------------------------------------------------------------ lines meanwhile
    def _lines_inserted(self, _parent: object, first: int, last: int) -> None:
        rescan, log = self.rescan, self.window.log_model
        if rescan is None or (log.trimmed and first == 0):  # none, or the note row
            return
        rescan.inserted(first - (1 if log.trimmed else 0), last - first + 1)

    def _lines_removed(self, _parent: object, first: int, last: int) -> None:
        rescan, log = self.rescan, self.window.log_model
        if rescan is not None:
            rescan.removed(first - (1 if log.trimmed else 0), last - first + 1)

    def _log_reset(self) -> None:
        rescan = self.rescan
        if rescan is not None:  # every line anew: start again
            self.rescan = Rescan(rescan.filter, self.window.log_model.held_lines())
            self.turn.start()

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
        rescan = self.rescan
        if rescan is not None:
            # In tens: the label (and what a repaint of it costs) changes ten times a rescan.
            text: str | None = f"filtering… {int(rescan.progress * 10) * 10} %"
        else:
            text = counts_text(proxy.shown(), w.log_model.line_count) if proxy.filtering \
                else None
        w.logPane.bar.show_filtering(text)

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
