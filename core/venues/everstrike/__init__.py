"""Everstrike: signed REST for closes and snapshots, a WebSocket for order and position events."""

from core.venues.everstrike.protocol import CAPABILITIES, DEFAULT_ENDPOINTS
from core.venues.everstrike.session import OPTIONS, EverstrikeSession

__all__ = ["CAPABILITIES", "DEFAULT_ENDPOINTS", "OPTIONS", "EverstrikeSession"]
