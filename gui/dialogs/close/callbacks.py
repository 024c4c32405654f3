"""The callables a close dialog is given by the window: how to send, how to preview, the
freshness guard and the age of the row's data."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.model import CloseRequest

__all__ = ["DataAge", "Guard", "Override", "Preview", "Submit"]

Submit = Callable[[CloseRequest], Awaitable[object]]
# Sends a close over another desk's lease (or with no lease to be had), with the typed reason.
Override = Callable[[CloseRequest, str], Awaitable[object]]
Preview = Callable[[CloseRequest], str]
Guard = Callable[[CloseRequest], None]  # raises PositionChanged (Desk.check)
DataAge = Callable[[], float | None]  # seconds since venue data vouched for the row
