"""What the flatten dialog's pages share: the dialog's style sheet, restyling on a dynamic
property, and the tables' look."""

from __future__ import annotations

from string import Template

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from gui.dialogs.flatten.models import ItemColumn
from gui.theme.palettes import PALETTES
from gui.theme.sheet import applied_theme
from gui.widgets import EnvChipDelegate

__all__ = ["FLATTEN_STYLE", "flatten_style", "item_columns", "restyle", "table"]

# The dialog's own look, on top of the application style sheet (resources/style.qss): the red
# Execute button, the confirmation box, the report's headline. Its colours are the theme's
# (gui/theme/palettes.py): see flatten_style.
FLATTEN_STYLE = Template("""
QLabel#flattenTitle { font-size: 13pt; font-weight: bold; color: $text_strong; }
QLabel#planIdLabel { color: $muted; }
QFrame#flattenSetup { background: $surface; border: 1px solid $border; border-radius: 4px; }
QLabel#setupCaption { color: $muted; }
QLabel#scopeText { font-weight: bold; color: $text_strong; }
QLabel#planSummary { font-weight: bold; color: $text_2; }
QLabel#planSummary[stale="true"] { color: $disabled_text; }
QPlainTextEdit#requestDetail, QPlainTextEdit#reportDetail {
    color: $text_2; background: $control_disabled; border: none; border-radius: 3px;
    padding: 2px 4px;
}
QFrame#confirmBox { background: $warn_bg; border: 1px solid $warn_border; border-radius: 4px; }
QFrame#confirmBox[typed="true"] { background: $bad_bg; border: 1px solid $bad_border; }
QLabel#confirmationPrompt { font-size: 11pt; font-weight: bold; color: $secret_button_text; }
QLabel#confirmationPrompt[typed="true"] { font-size: 13pt; color: $settings_error_text; }
QLabel#confirmationWhy { color: $text_3; }
QLineEdit#confirmationInput { font-size: 12pt; font-weight: bold; min-width: 220px; }
QLineEdit#confirmationInput[matches="true"] { border: 2px solid $ok_text; }
QPushButton#executeButton {
    background: $danger_fill; border: 1px solid $danger_fill_border; color: $on_fill;
    font-weight: bold;
    padding: 6px 20px;
}
QPushButton#executeButton:hover { background: $danger_fill_hover; }
QPushButton#executeButton[armed="true"] { background: #8f1d1d; border: 1px solid #6f1414; }
QPushButton#executeButton:disabled {
    background: $danger_disabled; border: 1px solid $danger_disabled_border;
    color: $danger_disabled_ink;
}
QLabel#planMessage, QLabel#reportMessage { color: $bad_text; }
QLabel#planMessage[tone="info"], QLabel#reportMessage[tone="info"] { color: $text_3; }
QLabel#progressStatus { font-weight: bold; color: $text_2; }
QLabel#progressSent { color: $text_3; }
QProgressBar {
    background: $surface; border: 1px solid $input_border; border-radius: 4px; text-align: center;
    min-height: 18px;
}
QProgressBar::chunk { background: $focus; border-radius: 3px; }
QLabel#reportHeadline { font-size: 13pt; font-weight: bold; }
QLabel#reportHeadline[tone="good"] { color: $ok_text; }
QLabel#reportHeadline[tone="bad"] { color: $bad_text; }
QLabel#reportHeadline[tone="warn"] { color: $table_warn; }
QLabel#reportTotals { color: $text_2; }
QLabel#reportNote { color: $text_3; }
QPushButton#retryButton { font-weight: bold; }
""")



def flatten_style() -> str:
    """The dialog's style sheet in the theme on now."""
    return FLATTEN_STYLE.substitute(PALETTES[applied_theme()])


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
