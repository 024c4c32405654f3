"""The bar over the order log: its filters (venue, account, symbol, status, kind, a text
search), how many lines they let through, Clear filters, and Follow newest.

Only widgets: the log's controller (gui/controllers/log_filters.py) reads them and sets the
filter. It wraps (gui/widgets/flow.py) rather than widening the window."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.venues import all_venues
from gui.models.log_filter import KINDS, STATUSES
from gui.models.style import MUTED
from gui.widgets.flow import FlowLayout
from gui.widgets.log_view import LogView
from gui.widgets.positions_bar import ALL

__all__ = ["LogFilterBar", "LogPane"]


def _combo(parent: QWidget, name: str, accessible: str, choices: tuple[str, ...] = (),
           width: int = 8) -> QComboBox:
    combo = QComboBox(parent)
    combo.setObjectName(name)
    combo.setAccessibleName(accessible)
    combo.addItem(ALL, "")
    for choice in choices:
        combo.addItem(choice, choice)
    combo.setMinimumContentsLength(width)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    return combo


class LogFilterBar(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logFilterBar")
        flow = FlowLayout(self, spacing=6, row_spacing=4)
        flow.setContentsMargins(0, 0, 0, 0)
        self.venue = _combo(self, "logVenueFilter", "Log venue",
                            tuple(info.label for info in all_venues()))
        self.account = _combo(self, "logAccountFilter", "Log account", width=12)
        self.status = _combo(self, "logStatusFilter", "Log status", STATUSES, width=11)
        self.kind = _combo(self, "logKindFilter", "Log kind", KINDS, width=11)
        self.symbol = QLineEdit(self)
        self.symbol.setObjectName("logSymbolFilter")
        self.symbol.setAccessibleName("Log symbol contains")
        self.symbol.setPlaceholderText("Symbol contains…")
        self.symbol.setClearButtonEnabled(True)
        self.symbol.setFixedWidth(140)
        self.search = QLineEdit(self)
        self.search.setObjectName("logSearch")
        self.search.setAccessibleName("Search the log")
        self.search.setPlaceholderText("Search messages, ids, statuses…")
        self.search.setToolTip("Finds lines whose text holds this, ignoring case: any column "
                               "but the time, and the order's ids")
        self.search.setClearButtonEnabled(True)
        self.search.setFixedWidth(220)
        self.count = QLabel(self)
        self.count.setObjectName("logFilterCount")
        self.count.setAccessibleName("Log lines shown")
        self.count.setStyleSheet(f"QLabel#logFilterCount {{ color: {MUTED.name()}; }}")
        # As wide as its longest text: a count or "filtering… 40 %" changing as lines come
        # moves nothing after it, and lays nothing out again (a full log's repaint each time).
        self.count.setMinimumWidth(
            self.count.fontMetrics().horizontalAdvance("showing 200,000 of 200,000") + 4)
        self.clear = QPushButton("Clear filters", self)
        self.clear.setObjectName("logClearFilters")
        self.clear.setToolTip("Show every line again")
        self.follow = QCheckBox("Follow newest", self)
        self.follow.setObjectName("logFollow")
        self.follow.setChecked(True)
        self.follow.setToolTip("Keep the newest line in view. Scrolling away from it stops "
                               "following; scrolling back to the end resumes.")
        for caption, combo in (("Venue", self.venue), ("Account", self.account),
                               ("Status", self.status), ("Kind", self.kind)):
            label = QLabel(caption, self)
            label.setObjectName("filterCaption")
            label.setBuddy(combo)
            flow.addWidget(label)
            flow.addWidget(combo)
        for widget in (self.symbol, self.search, self.count, self.clear, self.follow):
            flow.addWidget(widget)
        self.show_filtering(None)

    def show_filtering(self, counts: str | None) -> None:
        """"showing 120 of 4,512" and Clear filters while a filter is on; neither otherwise."""
        self.count.setText(counts or "")
        self.count.setVisible(counts is not None)
        self.clear.setVisible(counts is not None)


class LogPane(QWidget):
    """The Order log tab's page: the bar over the table."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("logPane")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.setSpacing(4)
        self.bar = LogFilterBar(self)
        self.view = LogView(self)
        layout.addWidget(self.bar)
        layout.addWidget(self.view, 1)
