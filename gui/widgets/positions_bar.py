"""The bar over the positions table: its title (with the count of rows shown), the filters
(venue, account, symbol text), grouping by account, and Freeze order; and the live sort hint,
which the owner puts on a line of its own below the bar."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QLineEdit, QWidget

from core.venues import all_venues

__all__ = ["ALL", "LIVE_SORT_TIP", "PositionsBar"]

ALL = "All"  # the first choice of each filter: no filter
LIVE_SORT_TIP = (
    "Sorted by a column that moves with prices: rows re-sort at most once a second, and not "
    "while the pointer is over the table, a row is being chosen with the keyboard, a close "
    "dialog is open, or Freeze order is ticked, so a row never moves under a click. Click the "
    "column header to sort now."
)


class PositionsBar(QHBoxLayout):
    """A layout, not a widget: its widgets are children of ``parent``, the positions panel."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__()
        self.setSpacing(6)
        self.title = QLabel("Open positions", parent)
        self.title.setObjectName("sectionTitle")
        self.addWidget(self.title)
        self.sortHint = QLabel(parent)
        self.sortHint.setObjectName("sortHint")
        self.sortHint.setAccessibleName("Sort order")
        self.sortHint.setToolTip(LIVE_SORT_TIP)
        self.sortHint.setStyleSheet("QLabel#sortHint { padding-left: 6px; }")  # colour: the theme
        # Its own line under the bar (the owner places it), never squeezed between the title
        # and the filters where it was cut mid-word; hidden, it keeps its height, so the table
        # under it never moves when a live sort starts or stops.
        policy = self.sortHint.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.sortHint.setSizePolicy(policy)
        self.sortHint.setVisible(False)
        self.addStretch(1)
        self.venueFilter = QComboBox(parent)
        self.venueFilter.setObjectName("venueFilter")
        self.venueFilter.setAccessibleName("Show venue")
        self.venueFilter.addItem(ALL, None)
        for info in all_venues():
            self.venueFilter.addItem(info.label, info.id.value)
        self.accountFilter = QComboBox(parent)
        self.accountFilter.setObjectName("accountFilter")
        self.accountFilter.setAccessibleName("Show account")
        self.accountFilter.addItem(ALL, None)
        self.accountFilter.setMinimumContentsLength(12)
        self.accountFilter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.symbolFilter = QLineEdit(parent)
        self.symbolFilter.setObjectName("symbolFilter")
        self.symbolFilter.setAccessibleName("Filter symbols")
        self.symbolFilter.setPlaceholderText("Symbol contains…")
        self.symbolFilter.setClearButtonEnabled(True)
        self.symbolFilter.setFixedWidth(170)
        self.groupByAccount = QCheckBox("Group by account", parent)
        self.groupByAccount.setObjectName("groupByAccount")
        self.groupByAccount.setToolTip("Keep each account's rows together, sorted inside by the "
                                       "column you pick")
        for caption, widget in (("&Venue", self.venueFilter), ("&Account", self.accountFilter)):
            label = QLabel(caption, parent)
            label.setObjectName("filterCaption")
            label.setBuddy(widget)
            self.addWidget(label)
            self.addWidget(widget)
        self.addWidget(self.symbolFilter)
        self.addSpacing(6)
        self.addWidget(self.groupByAccount)
        self.freezeOrder = QCheckBox("Freeze order", parent)
        self.freezeOrder.setObjectName("freezeOrder")
        self.freezeOrder.setToolTip("Keep the rows where they are, whatever the prices do; a "
                                    "header click still sorts. Untick to let a live sort "
                                    "re-sort again.")
        self.addWidget(self.freezeOrder)
