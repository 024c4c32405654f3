"""The window's layout, kept between runs: its geometry, the splitter, and for each table the
columns (which, in what order, how wide); for the positions table also its sort and filters.
Saved when the window closes and restored when it opens, in an INI file (QSettings) whose
path is given, so tests use their own and the app its config directory. The View menu holds
the column choosers and "Reset layout".

Also the Data age column's clock: while it is shown it repaints once a second, only its own
strip of the viewport (only the rows on screen ask for their text), never a dataChanged.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from PySide6.QtCore import QByteArray, QRect, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

from gui.layout_state import (
    FilterState,
    SortState,
    columns_text,
    filters_text,
    read_columns,
    read_filters,
    read_sort,
    sort_text,
)
from gui.models import LogColumn, PositionColumn, WorkingColumn
from gui.models.position_rows import OPTIONAL_COLUMNS
from gui.widgets.column_chooser import ColumnChooser
from gui.widgets.views import LOG_WIDTHS, POSITION_WIDTHS, WORKING_WIDTHS

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["AGE_REFRESH_MS", "LAYOUT_VERSION", "WindowLayout", "default_layout_path"]

AGE_REFRESH_MS = 1000
LAYOUT_VERSION = 1
_DEFAULT_SORT = SortState(PositionColumn.VENUE.name, False)
_AGE = int(PositionColumn.AGE)
_OPTIONAL = frozenset(int(c) for c in OPTIONAL_COLUMNS)


def default_layout_path() -> Path:
    """The app's layout file, beside its settings in the user's config directory."""
    return platformdirs.user_config_path("closeout") / "layout.ini"


class WindowLayout:
    def __init__(self, window: MainWindow, path: Path | None) -> None:
        self.window = window
        self.path = path  # None: nothing is read or written (a window in a test, say)
        self.positions = ColumnChooser(
            window.positionsView, PositionColumn, widths=POSITION_WIDTHS,
            hidden=OPTIONAL_COLUMNS, locked=(PositionColumn.SYMBOL, PositionColumn.ACTION),
            last=PositionColumn.ACTION, button_title="Close")
        self.working = ColumnChooser(
            window.workingOrdersView, WorkingColumn, widths=WORKING_WIDTHS,
            locked=(WorkingColumn.SYMBOL, WorkingColumn.ACTION), last=WorkingColumn.ACTION,
            button_title="Cancel")
        # A log line with no time or no message says nothing; the message fills what is left.
        self.log = ColumnChooser(
            window.logView, LogColumn, widths=LOG_WIDTHS,
            locked=(LogColumn.TIME, LogColumn.MESSAGE), last=LogColumn.MESSAGE)
        self.ageTimer = QTimer(window)
        self.ageTimer.setInterval(AGE_REFRESH_MS)
        self.ageTimer.timeout.connect(self.repaint_ages)
        self._default_size = QSize(window.size())
        self._default_splitter = window.splitter.saveState()
        self.positions.changed.connect(self.watch)
        window.positionsView.horizontalHeader().sortIndicatorChanged.connect(self.watch)
        self._build_menu()
        self.positions.reset()  # the optional columns start hidden
        self.restore()

    # ------------------------------------------------------------------ menu
    def _build_menu(self) -> None:
        w = self.window
        self.viewMenu = QMenu("V&iew", w)  # Alt+V is the Venue filter's
        self.viewMenu.setObjectName("viewMenu")
        w.menuBar().insertMenu(w.helpMenu.menuAction(), self.viewMenu)  # before Help
        self.positionsColumnsMenu = self._columns_menu("&Position columns",
                                                       "positionsColumnsMenu", self.positions)
        self.workingColumnsMenu = self._columns_menu("&Working order columns",
                                                     "workingColumnsMenu", self.working)
        self.logColumnsMenu = self._columns_menu("&Log columns", "logColumnsMenu", self.log)
        self.viewMenu.addSeparator()
        self.resetLayoutAction = QAction("&Reset layout", w)
        self.resetLayoutAction.setObjectName("resetLayoutAction")
        self.resetLayoutAction.setStatusTip(
            "Columns, sort, filters, splitter and window size back to the defaults, now and "
            "at the next start")
        self.resetLayoutAction.triggered.connect(self.reset)
        self.viewMenu.addAction(self.resetLayoutAction)

    def _columns_menu(self, title: str, name: str, chooser: ColumnChooser) -> QMenu:
        menu = self.viewMenu.addMenu(title)
        menu.setObjectName(name)
        chooser.fill(menu)
        menu.aboutToShow.connect(lambda: chooser.fill(menu))  # check marks as they are now
        return menu

    # ------------------------------------------------------------------ data age, watching
    def watch(self, *_: object) -> None:
        """The model reports changes of the optional columns shown, and of the sort column
        (its order must follow them); Data age repaints on the clock instead."""
        view = self.window.positionsView
        shown = {c for c in _OPTIONAL if not view.isColumnHidden(c)}
        sort = self.window.positions_proxy.sortColumn()
        self.window.positions_model.watch_columns(
            (shown - {_AGE}) | ({sort} if sort in _OPTIONAL else set()))
        if _AGE in shown:
            if not self.ageTimer.isActive():
                self.ageTimer.start()
        else:
            self.ageTimer.stop()

    def repaint_ages(self) -> None:
        """Repaint the Data age strip of the viewport: only the rows on screen are asked."""
        view = self.window.positionsView
        if view.isColumnHidden(_AGE) or not view.isVisible():
            return
        x = view.columnViewportPosition(_AGE)
        viewport = view.viewport()
        view.viewport().update(QRect(x, 0, view.columnWidth(_AGE), viewport.height()))

    # ------------------------------------------------------------------ save, restore
    def _settings(self) -> QSettings | None:
        if self.path is None:
            return None
        return QSettings(str(self.path), QSettings.Format.IniFormat)

    def save(self) -> None:
        """Write the layout as it is now (the window is closing)."""
        settings = self._settings()
        if settings is None:
            return
        w = self.window
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        settings.clear()  # keys of another version or another program go
        settings.setValue("version", LAYOUT_VERSION)
        settings.setValue("window/geometry", w.saveGeometry())
        settings.setValue("window/state", w.saveState())
        settings.setValue("window/splitter", w.splitter.saveState())
        settings.setValue("positions/columns", columns_text(self.positions.state()))
        proxy = w.positions_proxy
        col = proxy.sortColumn()
        if 0 <= col < len(PositionColumn):
            descending = proxy.sortOrder() == Qt.SortOrder.DescendingOrder
            settings.setValue("positions/sort",
                              sort_text(SortState(PositionColumn(col).name, descending)))
        settings.setValue("positions/filters", filters_text(FilterState(
            w.venueFilter.currentData(), w.accountFilter.currentData(), w.symbolFilter.text(),
            w.groupByAccount.isChecked())))
        settings.setValue("working/columns", columns_text(self.working.state()))
        settings.setValue("log/columns", columns_text(self.log.state()))
        settings.sync()

    def restore(self) -> None:
        """Apply what the file holds, as far as it still applies; anything unreadable keeps
        its default."""
        settings = self._settings()
        if settings is None:
            return
        w = self.window
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            w.restoreGeometry(geometry)
        state = settings.value("window/state")
        if isinstance(state, QByteArray):
            w.restoreState(state)
        splitter = settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            w.splitter.restoreState(splitter)
        for chooser, key in ((self.positions, "positions/columns"),
                             (self.working, "working/columns"), (self.log, "log/columns")):
            chooser.apply(read_columns(settings.value(key), chooser.defaults,
                                       locked=self._names(chooser), last=self._last(chooser)))
        sort = read_sort(settings.value("positions/sort"), PositionColumn.__members__)
        self._sort(sort or _DEFAULT_SORT)
        self._filters(read_filters(settings.value("positions/filters")))

    @staticmethod
    def _names(chooser: ColumnChooser) -> set[str]:
        return {chooser.columns[c].name for c in chooser.locked}

    @staticmethod
    def _last(chooser: ColumnChooser) -> str | None:
        return None if chooser.last is None else chooser.columns[chooser.last].name

    def _sort(self, sort: SortState) -> None:
        order = Qt.SortOrder.DescendingOrder if sort.descending else Qt.SortOrder.AscendingOrder
        self.window.positionsView.sortByColumn(PositionColumn[sort.column], order)

    def _filters(self, filters: FilterState) -> None:
        w = self.window
        venue = w.venueFilter.findData(filters.venue) if filters.venue else 0
        w.venueFilter.setCurrentIndex(max(venue, 0))
        combo = w.accountFilter
        if filters.account is None:
            combo.setCurrentIndex(0)
        else:
            at = combo.findData(filters.account)
            if at < 0:  # its rows have not come yet: the choice waits for them
                combo.addItem(filters.account, filters.account)
                at = combo.count() - 1
            combo.setCurrentIndex(at)
        w.symbolFilter.setText(filters.symbol)
        w.groupByAccount.setChecked(filters.group_by_account)

    def reset(self) -> None:
        """Everything back to how a first start shows it, and the file forgets the layout."""
        w = self.window
        if w.isMaximized() or w.isFullScreen():
            w.showNormal()
        w.resize(self._default_size)
        w.splitter.restoreState(self._default_splitter)
        self.positions.reset()
        self.working.reset()
        self.log.reset()
        self._sort(_DEFAULT_SORT)
        self._filters(FilterState())
        settings = self._settings()
        if settings is not None:
            settings.clear()
            settings.sync()
