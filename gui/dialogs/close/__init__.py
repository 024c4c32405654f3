"""The close dialog and the quick confirmation, and the words they share."""

from core.closing.form import parse_plain_decimal
from core.closing.rules import FieldError
from gui.dialogs.close.close_dialog import CloseDialog
from gui.dialogs.close.form import PRESETS
from gui.dialogs.close.quick_close_dialog import QuickCloseDialog
from gui.dialogs.close.text import (
    CLOSE_ON_TRIGGER_NOTE,
    changed_text,
    confirmation_reason,
    pending_text,
    stale_question,
    ticket_text,
)

__all__ = [
    "CLOSE_ON_TRIGGER_NOTE",
    "PRESETS",
    "CloseDialog",
    "FieldError",
    "QuickCloseDialog",
    "changed_text",
    "confirmation_reason",
    "parse_plain_decimal",
    "pending_text",
    "stale_question",
    "ticket_text",
]
