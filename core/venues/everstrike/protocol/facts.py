"""What Everstrike is: the venue, its paths, its limits, what a close may carry, the
endpoints. Facts and their confidence are in VENUES.md §2."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from core.model import Capabilities, Environment, TriggerEvent, Venue

VENUE: Final = Venue("everstrike")
CLOSE_PATH: Final = "/auth/close"
# UNKNOWN whether /auth/cancel also cancels trigger orders (VENUES §2.9 #6). We assume it does,
# by trigger id, as the simulator does; a refusal is shown as a plain CancelRejected.
CANCEL_PATH: Final = "/auth/cancel"
ORDERS_PATH: Final = "/orders"  # recent orders, every status: used to reconcile lost replies
ORDER_PATH: Final = "/order"  # one order by ?id=
ACTIVE_ORDERS_PATH: Final = "/active_orders"  # resting orders (E-MM); untriggered ones: /triggers
TRIGGERS_PATH: Final = "/triggers"
FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
# E-WS: at most 10 public categories per client; private events need no subscription.
INDEX_SUBSCRIPTION_LIMIT: Final = 10
_RAW_LIMIT: Final = 500  # how much of an offending frame a ProtocolError keeps

CAPABILITIES: Final = Capabilities(
    full_close=True,
    partial_close=True,
    limit_close=True,
    trigger_close=True,
    trigger_events=frozenset(TriggerEvent),
    close_on_trigger=True,
    limit_with_trigger=True,  # /auth/close takes price and trigger_price together
    time_in_force=(),
    reasons=MappingProxyType(
        {"time_in_force": "Everstrike's close endpoint takes no time in force."}
    ),
)

DEFAULT_ENDPOINTS: Final[Mapping[Environment, Mapping[str, str]]] = MappingProxyType(
    {
        Environment.LIVE: MappingProxyType(
            {"rest": "https://api.everstrike.io", "ws": "wss://wss.everstrike.io"}
        ),
        Environment.TESTNET: MappingProxyType(
            {"rest": "https://api.testnet.everstrike.io", "ws": "wss://wss.testnet.everstrike.io"}
        ),
        # Demo runs against the simulator, whose URLs are known only once it has started.
        Environment.DEMO: MappingProxyType({}),
    }
)
