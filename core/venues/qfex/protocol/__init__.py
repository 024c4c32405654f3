"""QFEX wire protocol, sans-IO: typed requests to exact frames, received frames to typed events.

No sockets, no clock, no randomness: nonces and timestamps are passed in. (The ``received_at``
stamps on ``core.model`` events come from those dataclasses' own defaults.) Facts and their
confidence are in VENUES.md §1; assumptions are marked INFERRED or UNKNOWN in the modules.

Error policy, one rule per kind of input:

* Streamed frames (``parse``, ``parse_mds``) never raise: a bad frame becomes a
  ``core.model.ProtocolError`` event, so the session's reader cannot die on venue data.
* REST bodies (``parse_refdata``, ``parse_positions_rest``) raise only ``QfexProtocolError``,
  because they return a value, not a list of events. ``parse_problem`` never raises.
* Builders raise ``InvalidClose`` (for a ``CloseRequest`` the venue cannot take) and nothing else.

Working orders (resting limit closes and stops) are derived from the same events by
``working_order``, ``working_stop`` and ``removal_reason``, so the session only keeps the map.

The parts: ``facts`` (endpoints, capabilities, rate budget), ``statuses`` (order statuses),
``events`` (what parsing yields), ``codec`` (Decimal JSON), ``signing`` (HMAC), ``frames``
(outgoing requests), ``close`` (a close request to its frame), ``redaction`` (frames safe to
show), ``fields`` (typed field readers), ``refusals`` (``err`` frames), ``trade`` (the trade
socket), ``resting`` (working orders), ``mds`` (mark prices), ``bodies`` (REST responses).
Callers use this package, not the parts; names with a leading underscore are private to the
package and shared only between its modules.
"""

from core.venues.qfex.protocol.bodies import parse_positions_rest, parse_problem, parse_refdata
from core.venues.qfex.protocol.close import InvalidClose, build_close, stop_type
from core.venues.qfex.protocol.events import (
    Ack,
    Authenticated,
    BalanceUpdate,
    ErrorFrame,
    OrdersList,
    QfexEvent,
    QfexProtocolError,
    StopOrder,
    Subscribed,
    Unsubscribed,
)
from core.venues.qfex.protocol.facts import (
    CAPABILITIES,
    CHANNELS,
    DEFAULT_ENDPOINTS,
    DEFAULT_RATE_WEIGHTS,
    RATE_BUDGET,
    RATE_WINDOW,
)
from core.venues.qfex.protocol.facts import RAW_LIMIT as RAW_LIMIT
from core.venues.qfex.protocol.facts import VENUE as VENUE
from core.venues.qfex.protocol.frames import (
    build_add_order,
    build_auth,
    build_cancel_order,
    build_cancel_stop_order,
    build_close_position,
    build_get_order,
    build_get_user_orders,
    build_mds_subscribe,
    build_subscribe,
    build_unsubscribe,
)
from core.venues.qfex.protocol.mds import parse_mds
from core.venues.qfex.protocol.redaction import received_text, redacted
from core.venues.qfex.protocol.refusals import ERROR_TEXT, retry_after
from core.venues.qfex.protocol.resting import removal_reason, working_order, working_stop
from core.venues.qfex.protocol.signing import rest_auth_headers, sign
from core.venues.qfex.protocol.statuses import STATUS_TEXT
from core.venues.qfex.protocol.trade import parse

__all__ = [
    "CAPABILITIES",
    "CHANNELS",
    "DEFAULT_ENDPOINTS",
    "DEFAULT_RATE_WEIGHTS",
    "ERROR_TEXT",
    "RATE_BUDGET",
    "RATE_WINDOW",
    "STATUS_TEXT",
    "Ack",
    "Authenticated",
    "BalanceUpdate",
    "ErrorFrame",
    "InvalidClose",
    "OrdersList",
    "QfexEvent",
    "QfexProtocolError",
    "StopOrder",
    "Subscribed",
    "Unsubscribed",
    "build_add_order",
    "build_auth",
    "build_cancel_order",
    "build_cancel_stop_order",
    "build_close",
    "build_close_position",
    "build_get_order",
    "build_get_user_orders",
    "build_mds_subscribe",
    "build_subscribe",
    "build_unsubscribe",
    "parse",
    "parse_mds",
    "parse_positions_rest",
    "parse_problem",
    "parse_refdata",
    "received_text",
    "redacted",
    "removal_reason",
    "rest_auth_headers",
    "retry_after",
    "sign",
    "stop_type",
    "working_order",
    "working_stop",
]
