"""The flatten dialog: plan, progress and report of one flatten, and its table models."""

from gui.dialogs.flatten.dialog import (
    FLATTEN_STYLE,
    FlattenController,
    FlattenPlanDialog,
    export_report,
    install_flatten,
    item_story,
    plan_detail,
    report_headline,
    report_totals_text,
)

__all__ = [
    "FLATTEN_STYLE",
    "FlattenController",
    "FlattenPlanDialog",
    "export_report",
    "install_flatten",
    "item_story",
    "plan_detail",
    "report_headline",
    "report_totals_text",
]
