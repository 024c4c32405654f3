"""Everstrike: signed REST for closes and snapshots, a WebSocket for order and position events."""

from typing import Final

from core.model import Venue
from core.venues.everstrike.options import (
    DEFAULT_MAX_IN_FLIGHT,
    OPTION_DETAILS,
    OPTIONS,
    account_in_flight,
)
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
    option_details=OPTION_DETAILS,
    close_mechanism="Everstrike POST /auth/close (market, the whole position)",
    # ASSUMPTION (VENUES.md 2.7: Everstrike's REST limit is UNKNOWN): closes in flight at once
    # across all Everstrike accounts, in case the venue limits per IP; the figure is measured,
    # as options.DEFAULT_MAX_IN_FLIGHT says. Each account also keeps to its own ``max_in_flight``
    # option (same default), in case it limits per key.
    flatten_concurrency=DEFAULT_MAX_IN_FLIGHT,
    account_concurrency=account_in_flight,
    secret_probe=prove_secret,
    auth_errors=(AuthenticationFailed,),
)
