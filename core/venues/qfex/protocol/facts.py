"""What QFEX is, as data: endpoints, what a close can be, the rate budget, the trade channels.

Facts and their confidence are in VENUES.md §1.
"""

from __future__ import annotations

from typing import Final

from core.model import Capabilities, Environment, TimeInForce, TriggerEvent, Venue

VENUE: Final = Venue("qfex")
RAW_LIMIT = 500


# The trade channels a position manager needs. The official CLI subscribes one per message.
CHANNELS: tuple[str, ...] = ("order_responses", "positions", "fills", "stop_orders")

DEFAULT_ENDPOINTS: dict[Environment, dict[str, str]] = {
    Environment.LIVE: {
        "trade_ws": "wss://trade.qfex.com/",
        "mds_ws": "wss://mds.qfex.com/",
        "rest": "https://api.qfex.com",
    },
    Environment.TESTNET: {
        "trade_ws": "wss://trade.qfex.io/",
        "mds_ws": "wss://mds.qfex.io/",
        "rest": "https://api.qfex.io",
    },
    Environment.DEMO: {},  # the simulator supplies its loopback URLs
}


CAPABILITIES = Capabilities(
    full_close=True,
    partial_close=True,
    limit_close=True,
    trigger_close=True,
    trigger_events=frozenset({TriggerEvent.MARK}),
    close_on_trigger=False,
    limit_with_trigger=False,
    time_in_force=(TimeInForce.GTC, TimeInForce.IOC),
    # Only close_position goes unsized, and it takes no price: a full limit or trigger close
    # is an add_order carrying the whole size (protocol/close.py).
    full_close_unsized_with_price=False,
    reasons={
        "trigger_event": "QFEX triggers on the mark price only",
        "close_on_trigger": "QFEX has no close-on-trigger option",
        "limit_with_trigger": "QFEX has no stop-limit: a trigger becomes a market order",
    },
)


# Rate limit (VENUES.md 1.9, Q-DOCS rate): per user, across all connections, measured as an
# EMA. Weights change over time, so they are defaults that settings can override.
RATE_BUDGET = 12_000.0
RATE_WINDOW = 60.0
DEFAULT_RATE_WEIGHTS: dict[str, float] = {
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
    # UNKNOWN: the rate page lists no weight for close_position; it places one order, so it is
    # assumed to cost what add_order costs.
    "close_position": 1.0,
    # UNKNOWN: auth is not on the rate page either; one per connection, assumed 1.
    "auth": 1.0,
}
