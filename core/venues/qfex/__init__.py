"""QFEX: trading over one WebSocket, HMAC auth, marks from the public market-data socket."""

from core.venues.qfex.protocol import CAPABILITIES, DEFAULT_ENDPOINTS
from core.venues.qfex.session import QfexSession

__all__ = ["CAPABILITIES", "DEFAULT_ENDPOINTS", "QfexSession"]
