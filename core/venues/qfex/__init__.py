"""QFEX: trading over one WebSocket, HMAC auth, marks from the public market-data socket."""

from core.venues.qfex.protocol import CAPABILITIES, DEFAULT_ENDPOINTS, DEFAULT_RATE_WEIGHTS
from core.venues.qfex.session import OPTIONS, QfexOptions, QfexSession

__all__ = ["CAPABILITIES", "DEFAULT_ENDPOINTS", "DEFAULT_RATE_WEIGHTS", "OPTIONS", "QfexOptions",
           "QfexSession"]
