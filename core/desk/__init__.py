"""The desk: accounts to sessions, the positions book, close intents and event fan-out."""

from core.desk.desk import (
    AlreadyPending,
    CancelPending,
    CloseIntent,
    Desk,
    DeskEvent,
    IntentChanged,
    IntentState,
    PositionChanged,
    PositionUpserted,
    SessionFactory,
    default_session_factory,
    with_quantity,
)

__all__ = [
    "AlreadyPending",
    "CancelPending",
    "CloseIntent",
    "Desk",
    "DeskEvent",
    "IntentChanged",
    "IntentState",
    "PositionChanged",
    "PositionUpserted",
    "SessionFactory",
    "default_session_factory",
    "with_quantity",
]
