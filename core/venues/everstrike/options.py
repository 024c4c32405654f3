"""Settings a user may override per Everstrike account (``[accounts.options]`` in
settings.toml), each an assumption where the Everstrike docs are silent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from core.venue import AccountConfig
from core.venues.info import OptionDetail

__all__ = ["DEFAULT_MAX_IN_FLIGHT", "MAX_IN_FLIGHT_CEILING", "OPTIONS", "OPTION_DETAILS",
           "account_in_flight", "max_in_flight", "option"]

# Signed requests (closes, cancels) one account has in flight at once during a flatten.
# ASSUMPTION: Everstrike publishes no REST rate limit (VENUES.md 2.7: UNKNOWN; a 429 is the only
# signal, and a close it refuses is never resent), so this is our choice, not a venue rule.
# Chosen by measurement against the simulator with 20 ms of latency (bench/flatten.py's setup,
# 50 accounts of 5 positions, interleaved runs on a shared 2-core machine). An Everstrike-only
# flatten of 250: 2, 4, 6, 8, 12, 16, 32 in flight took 3.6, 2.5, 1.7, 1.2, 1.1, 1.2, 1.0 s
# (one sweep, loaded machine); then 8, 12, 16 took 1.33, 0.92, 1.17 s (median of 4), and the
# 500-position flatten of both venues 1.20, 1.00, 1.01 s. Past 12 the client's CPU per close
# (mostly httpx), not the latency, sets the pace: more in flight only queues replies and loads
# the venue. The same figure caps all Everstrike accounts together (``INFO.flatten_concurrency``)
# so one account alone gets what the measurement allows and many do not multiply it from one IP.
DEFAULT_MAX_IN_FLIGHT: Final = 12
# More than this only queues inside the client; a bigger number is more likely a typo.
MAX_IN_FLIGHT_CEILING: Final = 64

# Every option is seconds or milliseconds: past a million (11 days of seconds) it is a typo, and
# a timer that long is one that never fires.
OPTION_CEILING: Final = 1e6

OPTIONS: dict[str, str] = {
    "recv_window": "recv_window sent with every signed request, ms (default 5000; 0 omits it)",
    "keepalive": "Seconds between {\"op\":\"status\"} keep-alives (docs: about 5)",
    "timeout": "Seconds to wait for a REST reply before the request counts as unanswered "
               "(default 10)",
    "time_sync_interval": "Seconds between /time clock measurements (default 60; 0: only on "
                          "connect)",
    "poll_interval": "Seconds between /active_positions polls while the WebSocket is down "
                     "(default 3; 0: off)",
    "match_slack_ms": "How far before our send time a venue order may be stamped and still be "
                      "matched to a lost close (default 2000)",
    "max_rate_wait": "Longest 429 wait (s) a request is held for before it is refused "
                     "(default 10)",
    "max_in_flight": f"Closes and cancels in flight at once on this account during a flatten, "
                     f"1 to {MAX_IN_FLIGHT_CEILING} (default {DEFAULT_MAX_IN_FLIGHT}; the "
                     "venue's REST limit is not published)",
}

# What an empty field means, and the unit, for the settings form (the session's defaults).
OPTION_DETAILS: dict[str, OptionDetail] = {
    "recv_window": OptionDetail("5000", "ms"),
    "keepalive": OptionDetail("5", "s"),
    "timeout": OptionDetail("10", "s"),
    "time_sync_interval": OptionDetail("60", "s"),
    "poll_interval": OptionDetail("3", "s"),
    "match_slack_ms": OptionDetail("2000", "ms"),
    "max_rate_wait": OptionDetail("10", "s"),
    "max_in_flight": OptionDetail(str(DEFAULT_MAX_IN_FLIGHT), "closes at once"),
}


def option(options: Mapping[str, str], name: str, default: float | None) -> float | None:
    """The option's value, or ``default`` when unset; a bad value names the option."""
    raw = options.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)  # a duration or a count, never money
    except ValueError:
        raise ValueError(f"option {name}={raw[:40]!r} is not a number ({OPTIONS[name]})") from None
    if value < 0:
        raise ValueError(f"option {name}={raw!r} must not be negative ({OPTIONS[name]})")
    if not value <= OPTION_CEILING:  # also NaN and inf: a timer that never fires
        raise ValueError(f"option {name}={raw[:40]!r} must be a number up to "
                         f"{OPTION_CEILING:g} ({OPTIONS[name]})")
    return value


def max_in_flight(options: Mapping[str, str]) -> int:
    """The account's in-flight limit: a whole number from 1 to ``MAX_IN_FLIGHT_CEILING``, or
    the default when unset. Raises ValueError naming the option and what it takes."""
    raw = options.get("max_in_flight")
    if raw is None or not str(raw).strip():
        return DEFAULT_MAX_IN_FLIGHT
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit() and len(text) <= 6) \
            or not 1 <= int(text) <= MAX_IN_FLIGHT_CEILING:  # int() refuses 4,300 digits
        raise ValueError(
            f"option max_in_flight={str(raw)[:40]!r} must be a whole number from 1 to "
            f"{MAX_IN_FLIGHT_CEILING} (closes and cancels in flight at once on this account)"
        )
    return int(text)


def account_in_flight(account: AccountConfig) -> int:
    """``VenueInfo.account_concurrency`` for Everstrike."""
    return max_in_flight(account.options)
