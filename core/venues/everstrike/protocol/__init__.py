"""Everstrike wire format, sans-IO: sign, encode and parse. No sockets, no clock, no randomness.

Facts and their confidence are in VENUES.md §2. Trading is signed REST (``/auth/*``, a form body
signed with base64 HMAC-SHA256); events arrive over a WebSocket authenticated by the API key
alone. Every parser turns bad input into :class:`EverstrikeError` (REST) or a ``ProtocolError``
event (WebSocket) and never raises anything else.

Events built here take their ``received_at`` from the model's default factories; that is the
only time read, and it is the model's, not this package's.

The parts: ``facts`` (venue, paths, capabilities, endpoints), ``errors`` (the typed errors),
``codec`` (Decimal text and JSON), ``fields`` (typed field readers), ``signing`` (HMAC, the
signed request, its redacted text), ``forms`` (close and cancel bodies, the close rules),
``ws_messages`` (what we send on the WebSocket), ``envelope`` (the REST reply envelope),
``positions``, ``pairs`` and ``order`` (REST objects), ``working`` (resting orders),
``listings`` (order listings), ``matching`` (a lost close's order), ``close_reply`` (the
``/auth/close`` result), ``ws_events`` and ``ws_parse`` (WebSocket frames to events).
Callers use this package, not the parts; names with a leading underscore are private to the
package and shared only between its modules.
"""

from core.venue import redact as redact
from core.venues.everstrike.protocol.close_reply import parse_close_reply
from core.venues.everstrike.protocol.codec import format_decimal, loads
from core.venues.everstrike.protocol.envelope import parse_envelope, parse_time
from core.venues.everstrike.protocol.errors import (
    EncodeError,
    EverstrikeError,
    MalformedReply,
    RateLimited,
    StaleTimestamp,
)
from core.venues.everstrike.protocol.facts import (
    ACTIVE_ORDERS_PATH,
    CANCEL_PATH,
    CAPABILITIES,
    CLOSE_PATH,
    DEFAULT_ENDPOINTS,
    FORM_CONTENT_TYPE,
    INDEX_SUBSCRIPTION_LIMIT,
    ORDER_PATH,
    ORDERS_PATH,
    TRIGGERS_PATH,
)
from core.venues.everstrike.protocol.facts import VENUE as VENUE
from core.venues.everstrike.protocol.fields import received_text
from core.venues.everstrike.protocol.forms import check_close, encode_cancel, encode_close
from core.venues.everstrike.protocol.listings import (
    VenueOrder,
    parse_order_list,
    parse_working_orders,
)
from core.venues.everstrike.protocol.matching import match_close
from core.venues.everstrike.protocol.order import parse_order
from core.venues.everstrike.protocol.pairs import parse_pairs
from core.venues.everstrike.protocol.positions import parse_active_positions, parse_position
from core.venues.everstrike.protocol.signing import (
    SignedRequest,
    build_signed_post,
    redacted,
    sign,
)
from core.venues.everstrike.protocol.working import working_order
from core.venues.everstrike.protocol.ws_events import (
    Authenticated,
    ControlEvent,
    StatusOk,
    Subscribed,
    Subscriptions,
    Unsubscribed,
    WsError,
    WsEvent,
)
from core.venues.everstrike.protocol.ws_messages import (
    auth_api,
    status,
    sub,
    sub_pair,
    unsub,
    unsub_all,
)
from core.venues.everstrike.protocol.ws_parse import parse_ws

__all__ = [
    "ACTIVE_ORDERS_PATH",
    "CANCEL_PATH",
    "CAPABILITIES",
    "CLOSE_PATH",
    "DEFAULT_ENDPOINTS",
    "FORM_CONTENT_TYPE",
    "INDEX_SUBSCRIPTION_LIMIT",
    "ORDERS_PATH",
    "ORDER_PATH",
    "TRIGGERS_PATH",
    "Authenticated",
    "ControlEvent",
    "EncodeError",
    "EverstrikeError",
    "MalformedReply",
    "RateLimited",
    "SignedRequest",
    "StaleTimestamp",
    "StatusOk",
    "Subscribed",
    "Subscriptions",
    "Unsubscribed",
    "VenueOrder",
    "WsError",
    "WsEvent",
    "auth_api",
    "build_signed_post",
    "check_close",
    "encode_cancel",
    "encode_close",
    "format_decimal",
    "loads",
    "match_close",
    "parse_active_positions",
    "parse_close_reply",
    "parse_envelope",
    "parse_order",
    "parse_order_list",
    "parse_pairs",
    "parse_position",
    "parse_time",
    "parse_working_orders",
    "parse_ws",
    "received_text",
    "redacted",
    "sign",
    "status",
    "sub",
    "sub_pair",
    "unsub",
    "unsub_all",
    "working_order",
]
