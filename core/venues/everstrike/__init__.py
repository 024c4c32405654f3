"""Everstrike: signed REST for closes and snapshots, a WebSocket for order and position events."""

from typing import Final

from core.model import Venue
from core.venues.everstrike.options import OPTIONS
from core.venues.everstrike.probe import prove_secret
from core.venues.everstrike.protocol import CAPABILITIES, DEFAULT_ENDPOINTS, VENUE
from core.venues.everstrike.session import AuthenticationFailed, EverstrikeSession
from core.venues.info import VenueInfo

__all__ = ["CAPABILITIES", "DEFAULT_ENDPOINTS", "EVERSTRIKE", "INFO", "OPTIONS",
           "EverstrikeSession"]

EVERSTRIKE: Final[Venue] = VENUE

INFO: Final = VenueInfo(
    id=VENUE,
    label="Everstrike",
    capabilities=CAPABILITIES,
    session=EverstrikeSession,
    endpoints=DEFAULT_ENDPOINTS,
    options=OPTIONS,
    close_mechanism="Everstrike POST /auth/close (market, the whole position)",
    # ASSUMPTION (VENUES.md 2.7: Everstrike's REST limit is UNKNOWN): 8 requests in flight at
    # once is concurrent enough to flatten hundreds of positions in seconds, and gentle enough
    # that a venue limiting per IP is unlikely to answer 429 (which would refuse, never resend,
    # a close).
    flatten_concurrency=8,
    secret_probe=prove_secret,
    auth_errors=(AuthenticationFailed,),
)
