"""Table models for the positions book, the working orders and the order log.

All are keyed by identity, insert and remove rows properly, and report ``dataChanged`` over
only the cells that changed, so views repaint little and selection survives repricing. The
positions table sorts and filters in :class:`PositionsProxy` from a cached sort key per row
(``gui.models.sort_keys``): Decimals compare exactly, and no Python function runs per
comparison.
"""

from gui.models.columns import COALESCE_MS, WINDOW_REFRESH_MS, AnyIndex, ColumnsModel
from gui.models.log import LogColumn, LogEntry, LogModel, fmt_time
from gui.models.positions import FLASH_MS, PositionColumn, PositionsModel
from gui.models.positions_proxy import PositionsProxy
from gui.models.roles import BUTTON_ROLE, ENV_ROLE, KEY_ROLE, RESIDUAL_ROLE, SORT_ROLE
from gui.models.style import ENV_COLOURS, LOSS, MISMATCH_ROW, MUTED, PROFIT, STALE, WARN
from gui.models.text import (
    NO_REASON_NEXT_STEP,
    action_text,
    describe_working,
    env_label,
    fmt_decimal,
    fmt_trigger,
    intent_label,
    intent_text,
    refusal_text,
    refusal_words,
    stale_age_text,
)
from gui.models.working import CancelState, WorkingColumn, WorkingOrdersModel

__all__ = [
    "BUTTON_ROLE",
    "COALESCE_MS",
    "ENV_COLOURS",
    "ENV_ROLE",
    "FLASH_MS",
    "KEY_ROLE",
    "LOSS",
    "MISMATCH_ROW",
    "MUTED",
    "NO_REASON_NEXT_STEP",
    "PROFIT",
    "RESIDUAL_ROLE",
    "SORT_ROLE",
    "STALE",
    "WARN",
    "WINDOW_REFRESH_MS",
    "AnyIndex",
    "CancelState",
    "ColumnsModel",
    "LogColumn",
    "LogEntry",
    "LogModel",
    "PositionColumn",
    "PositionsModel",
    "PositionsProxy",
    "WorkingColumn",
    "WorkingOrdersModel",
    "action_text",
    "describe_working",
    "env_label",
    "fmt_decimal",
    "fmt_time",
    "fmt_trigger",
    "intent_label",
    "intent_text",
    "refusal_text",
    "refusal_words",
    "stale_age_text",
]
