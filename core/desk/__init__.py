"""The desk: accounts to sessions, the positions book, close intents, freshness and event
fan-out. ``desk.py`` is the facade; ``book.py``, ``intents.py``, ``freshness.py`` and
``outbox.py`` (events wait for the journal) its parts.
"""

from core.desk.book import PositionUpserted
from core.desk.desk import (
    CancelPending,
    Desk,
    DeskEvent,
    Listener,
    SessionFactory,
    default_session_factory,
    with_quantity,
)
from core.desk.freshness import PositionChanged
from core.desk.intents import AlreadyPending, CloseIntent, IntentChanged, IntentState

__all__ = [
    "AlreadyPending",
    "CancelPending",
    "CloseIntent",
    "Desk",
    "DeskEvent",
    "IntentChanged",
    "IntentState",
    "Listener",
    "PositionChanged",
    "PositionUpserted",
    "SessionFactory",
    "default_session_factory",
    "with_quantity",
]
