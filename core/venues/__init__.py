"""The venue registry: every subpackage here that exports ``INFO`` is a venue.

A new venue is one new folder under ``core/venues/`` whose ``__init__.py`` exports
``INFO = VenueInfo(...)``; nothing here or elsewhere names it. Code outside a venue's folder
asks this module (``venue_info``, ``all_venues``, ``venue_named``) and never imports a venue
module by name. Folders are read on first use, so importing the registry stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Mapping

from core.model import Capabilities, Environment, Venue
from core.venue import VenueSession
from core.venues.info import SecretCheck, SecretProbe, VenueInfo

__all__ = [
    "SecretCheck",
    "SecretProbe",
    "UnknownVenue",
    "VenueInfo",
    "all_venues",
    "capabilities",
    "default_endpoints",
    "label_of",
    "register",
    "session_class",
    "unregister",
    "venue_info",
    "venue_named",
]

_registered: dict[Venue, VenueInfo] = {}
_discovered = False
_discovering = False
_lock = threading.RLock()


class UnknownVenue(ValueError):
    """A venue id no folder under ``core/venues/`` (and no ``register`` call) provides."""

    def __init__(self, text: str, known: tuple[Venue, ...]) -> None:
        names = ", ".join(known) or "none"
        super().__init__(f"unknown venue {str(text)!r} (known: {names})")
        self.text = str(text)
        self.known = known


def _discover() -> None:
    """Import each venue folder once and read its ``INFO``. A venue package must not ask the
    registry while it is being imported: its ``INFO`` does not exist yet."""
    global _discovered, _discovering
    if _discovered:
        return
    with _lock:
        if _discovered or _discovering:
            return
        _discovering = True
        try:
            for module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
                if not module.ispkg:
                    continue  # link.py, info.py: shared code, not venues
                info = getattr(importlib.import_module(module.name), "INFO", None)
                if isinstance(info, VenueInfo):
                    _registered.setdefault(info.id, info)
            _discovered = True
        finally:
            _discovering = False


def register(info: VenueInfo) -> None:
    """Add a venue that does not live under ``core/venues/`` (tests). Registering a different
    record under a known id is refused: one id, one venue."""
    _discover()
    with _lock:
        known = _registered.setdefault(info.id, info)
        if known is not info:
            raise ValueError(f"venue {info.id!r} is already registered")


def unregister(venue: Venue) -> None:
    """Remove a venue added with ``register`` (tests clean up with this)."""
    with _lock:
        _registered.pop(venue, None)


def all_venues() -> tuple[VenueInfo, ...]:
    """Every known venue, ordered by label so lists read the same on every run."""
    _discover()
    with _lock:
        return tuple(sorted(_registered.values(), key=lambda i: (i.label.lower(), i.id)))


def venue_info(venue: Venue) -> VenueInfo:
    """The venue's record; raises ``UnknownVenue`` for an id nothing registered."""
    _discover()
    found = _registered.get(venue)
    if found is None:
        raise UnknownVenue(venue, _known())
    return found


def _known() -> tuple[Venue, ...]:
    return tuple(i.id for i in all_venues())


def venue_named(text: str) -> Venue:
    """The venue a user typed (settings file, ``--venue``), case and spaces forgiven; raises
    ``UnknownVenue``, whose message lists the known ids."""
    _discover()
    found = _registered.get(Venue(text.strip().lower()))
    if found is None:
        raise UnknownVenue(text, _known())
    return found.id


def label_of(venue: Venue) -> str:
    """The venue's label, or its id when nothing registered it (an old journal record)."""
    _discover()
    found = _registered.get(venue)
    return found.label if found is not None else str(venue)


def session_class(venue: Venue) -> type[VenueSession]:
    return venue_info(venue).session


def capabilities(venue: Venue) -> Capabilities:
    return venue_info(venue).capabilities


def default_endpoints(venue: Venue, environment: Environment) -> Mapping[str, str]:
    return venue_info(venue).default_endpoints(environment)
