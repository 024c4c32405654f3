"""What a simulated Everstrike is set up with: settings read live, accounts, and the terms
every pair is quoted on."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["DEPOSIT", "LEVERAGE", "Q8", "EverstrikeAccount", "EverstrikeSettings"]

LEVERAGE = Decimal(10)
Q8 = Decimal("0.00000001")
DEPOSIT = Decimal(250000)


@dataclass
class EverstrikeSettings:
    """Windows and limits. Read live, so a test may change them while the sim runs."""

    default_recv_window_ms: float = 15000.0  # close page: "15 seconds or more ... rejected"
    future_tolerance_ms: float = 5000.0  # ASSUMPTION: how far ahead a timestamp may be
    replay_window: float = 900.0  # ASSUMPTION: how long a signed body is remembered (s)
    require_timestamp: bool = False  # UNKNOWN whether it is mandatory; accept its absence
    idle_timeout: float = 30.0  # documented: unauthenticated, unsubscribed WS dropped at 30 s
    max_public_subscriptions: int = 10  # documented
    max_messages_per_second: int = 20  # documented (per account and IP; here per connection)
    # UNKNOWN: the ticker docs page wraps GET /ticker in {code,msg,result}, but the official
    # market maker reads the pairs at the top level. Unwrapped by default, as that client reads.
    ticker_enveloped: bool = False


@dataclass
class EverstrikeAccount:
    name: str
    api_key: str
    secret_key: str
    customer_id: str  # the market's account key
