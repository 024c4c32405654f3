"""QFEX: trading over one WebSocket, HMAC auth, marks from the public market-data socket."""

from typing import Final

from core.model import Venue
from core.venues.info import VenueInfo
from core.venues.qfex.errors import QfexAuthError
from core.venues.qfex.options import OPTION_DETAILS
from core.venues.qfex.protocol import CAPABILITIES, DEFAULT_ENDPOINTS, DEFAULT_RATE_WEIGHTS, VENUE
from core.venues.qfex.session import OPTIONS, QfexOptions, QfexSession

__all__ = ["CAPABILITIES", "DEFAULT_ENDPOINTS", "DEFAULT_RATE_WEIGHTS", "INFO", "OPTIONS", "QFEX",
           "QfexOptions", "QfexSession"]

QFEX: Final[Venue] = VENUE

INFO: Final = VenueInfo(
    id=VENUE,
    label="QFEX",
    capabilities=CAPABILITIES,
    session=QfexSession,
    endpoints=DEFAULT_ENDPOINTS,
    options=OPTIONS,
    option_details=OPTION_DETAILS,
    close_mechanism="QFEX close_position (LIMIT IOC reduce-only near mark; may leave a residual)",
    # The session paces every frame with its own rate limiter, so flatten adds no cap.
    flatten_concurrency=None,
    # Connecting proves the secret: the trade socket's auth frame is signed with it.
    secret_probe=None,
    auth_errors=(QfexAuthError,),
)
