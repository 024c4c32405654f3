"""Venue registry. A new venue is one folder here plus one line in ``_SESSIONS``."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

from core.model import Capabilities, Environment, Venue
from core.venue import VenueSession

__all__ = ["capabilities", "default_endpoints", "session_class"]

# venue -> (module, session class name); imported lazily so one venue's import cost or failure
# does not touch the others.
_SESSIONS: Mapping[Venue, tuple[str, str]] = {
    Venue.QFEX: ("core.venues.qfex", "QfexSession"),
    Venue.EVERSTRIKE: ("core.venues.everstrike", "EverstrikeSession"),
}


def _module(venue: Venue) -> ModuleType:
    return importlib.import_module(_SESSIONS[venue][0])


def session_class(venue: Venue) -> type[VenueSession]:
    module, name = _SESSIONS[venue]
    cls = getattr(importlib.import_module(module), name)
    assert isinstance(cls, type) and issubclass(cls, VenueSession)
    return cls


def capabilities(venue: Venue) -> Capabilities:
    caps = _module(venue).CAPABILITIES
    assert isinstance(caps, Capabilities)
    return caps


def default_endpoints(venue: Venue, environment: Environment) -> Mapping[str, str]:
    table = _module(venue).DEFAULT_ENDPOINTS
    endpoints: Mapping[str, str] = table[environment]
    return endpoints
