"""What the flatten dialog's pages share: the dialog's style sheet, restyling on a dynamic
property, and the tables' look."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from gui.dialogs.flatten.models import ItemColumn
from gui.widgets import EnvChipDelegate

__all__ = ["FLATTEN_STYLE", "item_columns", "restyle", "table"]

# The dialog's own look, on top of the application style sheet (resources/style.qss): the red
# Execute button, the confirmation box, the report's headline.
FLATTEN_STYLE = """
QLabel#flattenTitle { font-size: 13pt; font-weight: bold; color: #111827; }
QLabel#planIdLabel { color: #6b7280; }
QFrame#flattenSetup { background: #ffffff; border: 1px solid #dde1e6; border-radius: 4px; }
QLabel#setupCaption { color: #6b7280; }
QLabel#scopeText { font-weight: bold; color: #111827; }
QLabel#planSummary { font-weight: bold; color: #374151; }
QLabel#planSummary[stale="true"] { color: #9aa1ab; }
QPlainTextEdit#requestDetail, QPlainTextEdit#reportDetail {
    color: #374151; background: #f0f1f3; border: none; border-radius: 3px; padding: 2px 4px;
}
QFrame#confirmBox { background: #fff7e6; border: 1px solid #f0c37a; border-radius: 4px; }
QFrame#confirmBox[typed="true"] { background: #fdecec; border: 1px solid #f1b5b5; }
QLabel#confirmationPrompt { font-size: 11pt; font-weight: bold; color: #8a5300; }
QLabel#confirmationPrompt[typed="true"] { font-size: 13pt; color: #8f1d1d; }
QLabel#confirmationWhy { color: #4b5563; }
QLineEdit#confirmationInput { font-size: 12pt; font-weight: bold; min-width: 220px; }
QLineEdit#confirmationInput[matches="true"] { border: 2px solid #1b7f3b; }
QPushButton#executeButton {
    background: #c62828; border: 1px solid #a61f1f; color: #ffffff; font-weight: bold;
    padding: 6px 20px;
}
QPushButton#executeButton:hover { background: #b42323; }
QPushButton#executeButton[armed="true"] { background: #8f1d1d; border: 1px solid #6f1414; }
QPushButton#executeButton:disabled {
    background: #e8b4b4; border: 1px solid #e0a5a5; color: #fff8f8;
}
QLabel#planMessage, QLabel#reportMessage { color: #c62828; }
QLabel#planMessage[tone="info"], QLabel#reportMessage[tone="info"] { color: #4b5563; }
QLabel#progressStatus { font-weight: bold; color: #374151; }
QLabel#progressSent { color: #4b5563; }
QProgressBar {
    background: #ffffff; border: 1px solid #c4cad3; border-radius: 4px; text-align: center;
    min-height: 18px;
}
QProgressBar::chunk { background: #3b82f6; border-radius: 3px; }
QLabel#reportHeadline { font-size: 13pt; font-weight: bold; }
QLabel#reportHeadline[tone="good"] { color: #1b7f3b; }
QLabel#reportHeadline[tone="bad"] { color: #c62828; }
QLabel#reportHeadline[tone="warn"] { color: #b45309; }
QLabel#reportTotals { color: #374151; }
QLabel#reportNote { color: #4b5563; }
QPushButton#retryButton { font-weight: bold; }
"""

_ITEM_WIDTHS = {
    ItemColumn.VENUE: 84, ItemColumn.ACCOUNT: 132, ItemColumn.ENV: 66, ItemColumn.SYMBOL: 176,
    ItemColumn.SIDE: 52, ItemColumn.QUANTITY: 88, ItemColumn.STATE: 176, ItemColumn.SENT: 56,
}


def restyle(widget: QWidget, name: str, value: object) -> None:
    """Set a dynamic property the style sheet reads, and re-apply the style if it changed."""
    if widget.property(name) != value:
        widget.setProperty(name, value)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def table(parent: QWidget, name: str, accessible: str, row_height: int) -> QTableView:
    view = QTableView(parent)
    view.setObjectName(name)
    view.setAccessibleName(accessible)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.setCornerButtonEnabled(False)
    view.verticalHeader().setVisible(False)
    view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    view.verticalHeader().setDefaultSectionSize(row_height)
    view.horizontalHeader().setHighlightSections(False)
    return view


def item_columns(view: QTableView) -> None:
    """The columns of a run's items (the progress and the report)."""
    view.setItemDelegateForColumn(ItemColumn.ENV, EnvChipDelegate(view))
    for col, width in _ITEM_WIDTHS.items():
        view.setColumnWidth(col, width)
    view.horizontalHeader().setStretchLastSection(True)
