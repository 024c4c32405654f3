"""The flatten dialog: plan, progress and report of one flatten, and its table models."""

from gui.dialogs.flatten.common import FLATTEN_STYLE
from gui.dialogs.flatten.dialog import FlattenPlanDialog
from gui.dialogs.flatten.text import (
    export_report,
    item_story,
    plan_detail,
    report_headline,
    report_totals_text,
)

__all__ = [
    "FLATTEN_STYLE",
    "FlattenPlanDialog",
    "export_report",
    "item_story",
    "plan_detail",
    "report_headline",
    "report_totals_text",
]
