"""The close dialog and the quick confirmation, and the words they share."""

from gui.dialogs.close.close_dialog import (
    CLOSE_ON_TRIGGER_NOTE,
    PRESETS,
    CloseDialog,
    FieldError,
    QuickCloseDialog,
    changed_text,
    confirmation_reason,
    parse_plain_decimal,
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
