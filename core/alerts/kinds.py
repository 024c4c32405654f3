"""What an alert is: its kind, the words shown, and whether it may make a sound."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from core.settings import Alerts

__all__ = ["Alert", "AlertKind", "enabled"]


class AlertKind(enum.StrEnum):
    CLOSE_FILLED = "close_filled"
    TRIGGER_FIRED = "trigger_fired"
    ORDER_REJECTED = "order_rejected"
    CONNECTION_LOST = "connection_lost"
    CONNECTION_RESTORED = "connection_restored"
    FLAT_CHECK_FAILED = "flat_check_failed"
    SUMMARY = "summary"  # what a burst or a flatten folded, counted by kind


@dataclass(frozen=True, slots=True)
class Alert:
    kind: AlertKind
    title: str
    text: str
    sound: bool = False
    # Shown in the window and logged, never a pop-up: good news nobody needs to act on.
    quiet: bool = False
    # The flatten plan a close belongs to: its alerts fold into that flatten's one summary.
    group: str | None = None
    # A summary's folded alerts by kind, in the order the summary names them.
    counts: tuple[tuple[AlertKind, int], ...] = ()


def enabled(kind: AlertKind, settings: Alerts) -> bool:
    """Whether the ``[alerts]`` settings let this kind through. "Restored" follows "lost": it
    is the end of the same story. A summary is made only of kinds that were let through."""
    if kind is AlertKind.SUMMARY:
        return True
    if kind is AlertKind.CONNECTION_RESTORED:
        return settings.connection_lost
    return bool(getattr(settings, kind.value))
