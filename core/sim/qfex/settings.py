"""What a simulated QFEX is set up with: settings read live, accounts, and the terms every
instrument is quoted on."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "DEPOSIT",
    "INITIAL_MARGIN",
    "LEVERAGE",
    "MAINTENANCE_MARGIN",
    "ORDER_TYPES",
    "RATE_WEIGHTS",
    "STOP_TYPES",
    "TIFS",
    "QfexAccount",
    "QfexSettings",
]

ORDER_TYPES = ("LIMIT", "MARKET", "ALO", "TAKE_PROFIT", "STOP_LOSS")
STOP_TYPES = ("TAKE_PROFIT", "STOP_LOSS")
TIFS = ("GTC", "IOC", "FOK")
LEVERAGE = Decimal(20)
INITIAL_MARGIN = Decimal("0.05")
MAINTENANCE_MARGIN = Decimal("0.0333")
DEPOSIT = Decimal(100000)

# VENUES.md 1.9, current weights (the docs changed them once: keep them in settings).
RATE_WEIGHTS: dict[str, float] = {
    "add_order": 1.0,
    "cancel_order": 1.0,
    "modify_order": 1.0,
    "get_order": 2.0,
    "get_user_orders": 5.0,
    "cancel_all_orders": 2.0,
    "get_user_trades": 0.5,
    "subscribe": 0.1,
    "unsubscribe": 0.1,
    "cancel_stop_order": 1.0,
    "modify_stop_order": 1.0,
    "cancel_on_disconnect": 0.1,
}


@dataclass
class QfexSettings:
    """Timings and windows. Read live, so a test may change them while the sim runs."""

    auth_window: float = 30.0  # ASSUMPTION: max |now - unix_ts| in seconds (not documented)
    nonce_window: float = 900.0  # documented: nonces unique within 15 minutes
    auth_timeout: float = 60.0  # documented: authenticate within 1 minute or the socket closes
    positions_interval: float = 1.0  # documented 1 s pulses (positions and balances channels)
    mds_interval: float = 1.0  # documented 1 s market_stats pulses
    ping_interval: float | None = 20.0  # server WS pings (period undocumented); read at start
    ping_timeout: float | None = 20.0
    # Documented: 12,000 weight units per 60 s per user. None = not enforced (the default, so
    # demo mode and tests that flood are not throttled).
    rate_limit_budget: float | None = None
    rate_limit_window: float = 60.0
    rate_limit_weights: dict[str, float] = field(default_factory=lambda: dict(RATE_WEIGHTS))
    rate_limit_default_weight: float = 1.0  # ASSUMPTION: for close_position and unlisted types


@dataclass
class QfexAccount:
    name: str
    public_key: str
    secret_key: str
    account_id: str  # also the user_id on the wire and the market's account key
