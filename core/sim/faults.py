"""Fault knobs for one simulated venue, settable from any thread while the simulator runs.

Tests flip these from the test thread while the venue reads them on the simulator thread, so
every read and every consume-once counter goes through one lock.

Consume-once knobs queue up; each request takes the first queued entry whose filter matches it.
When several knobs match one request, the first applies, in this order: ``force_http``
(Everstrike, before authentication), ``force_error`` (QFEX), then ``force_status`` /
``force_order_status``, then ``drop_next``. A forced reply never executes the request.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

T = TypeVar("T")

__all__ = [
    "EVERSTRIKE_FORCEABLE_STATUSES",
    "HUGE_NUMBER",
    "MALFORMED_FRAME",
    "QFEX_ERROR_CODES",
    "QFEX_FORCEABLE_STATUSES",
    "RATE_LIMITED_MESSAGE",
    "TRIGGER_FAILED_MESSAGE",
    "Faults",
    "ForcedError",
    "PositionsShape",
    "poisoned",
]

PositionsShape = Literal["position_response", "v4_positions"]

# Truncated JSON: what a half-written frame looks like to a client parser.
MALFORMED_FRAME = '{"order_response": {"order_id": "5b3099'

# Valid JSON, but a number no Decimal can hold (its exponent is past every context's range).
HUGE_NUMBER = "1e99999999999999999999"

# VENUES.md 1.8: every documented order status except ACK and FILLED, which would claim the
# order was accepted or executed when a forced reply executes nothing.
QFEX_FORCEABLE_STATUSES = frozenset({
    "MODIFIED", "CANCELLED", "CANCELLED_STP", "REJECTED", "NO_SUCH_ORDER",
    "INVALID_ORDER_TYPE", "BAD_SYMBOL", "PRICE_LESS_THAN_MIN_PRICE",
    "PRICE_GREATER_THAN_MAX_PRICE", "CANNOT_MODIFY_PARTIAL_FILL", "FAILED_MARGIN_CHECK",
    "INVALID_TICK_SIZE_PRECISION_PRICE", "INVALID_TICK_SIZE_PRECISION_QUANTITY",
    "QUANTITY_LESS_THAN_MIN_QUANTITY", "QUANTITY_GREATER_THAN_MAX_QUANTITY",
    "INVALID_TIME_IN_FORCE", "REJECTED_WOULD_BREACH_MAX_NOTIONAL",
    "CANNOT_MODIFY_NO_SUCH_ORDER", "REJECTED_MARKET_CLOSED", "REJECTED_FAILED_TO_PROCESS",
    "INVALID_TAKEPROFIT_PRICE", "INVALID_STOPLOSS_PRICE", "RATE_LIMITED",
    "REJECTED_TOO_MANY_OPEN_ORDERS", "REJECTED_OPEN_INTEREST_LIMIT",
})

# VENUES.md 1.9: the documented ``err`` codes.
QFEX_ERROR_CODES = frozenset({
    "RateLimited", "InvalidJSONFormat", "AlreadyAuthenticated", "InvalidParameter",
    "PermissionDenied", "ServerError", "InvalidOrder", "KycRequired", "TncRequired",
    "AlreadySubscribedToLeaderboard",
})

# ASSUMPTION (VENUES.md 1.11 #2): the docs say a RateLimited error "includes a retry-after
# hint" without showing it. The simulator writes it into ``message`` in this form.
RATE_LIMITED_MESSAGE = "Rate limit exceeded, retry after {ms}ms"

# Everstrike order statuses a forced /auth/close reply may carry (E-MM maps both).
EVERSTRIKE_FORCEABLE_STATUSES = frozenset({"REJECTED", "CANCELLED"})

# The diagnostic the Everstrike docs show on a failed trigger order.
TRIGGER_FAILED_MESSAGE = "Order was rejected due to insufficient balance"

_DEFAULT_ERROR_MESSAGES = {
    "RateLimited": RATE_LIMITED_MESSAGE.format(ms=250),
    "InvalidJSONFormat": "message is not valid JSON",
    "AlreadyAuthenticated": "already authenticated",
    "InvalidParameter": "invalid parameter",
    "PermissionDenied": "permission denied",
    "ServerError": "internal server error",
    "InvalidOrder": "invalid order",
    "KycRequired": "KYC verification is required",
    "TncRequired": "the terms and conditions must be accepted",
    "AlreadySubscribedToLeaderboard": "already subscribed to the leaderboard",
}


@dataclass(frozen=True)
class ForcedError:
    """A QFEX ``err`` frame to answer a request with."""

    error_code: str
    message: str | None


class Faults:
    """Every knob defaults to "behave like a healthy venue".

    Both venues: ``latency``, ``clock_skew``, ``silent``, ``duplicate``, ``reorder``,
    ``drop_next``, ``inject_malformed``, ``fail_next_trigger``, ``poison_replies``. QFEX:
    ``positions_shape``, ``force_status``, ``force_error``. Everstrike: ``force_http``,
    ``force_order_status``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency = 0.0
        self._clock_skew = 0.0
        self._silent = False
        self._duplicate = False
        self._reorder = False
        self._reorder_hold = 0.2
        self._drop_before_ack = 0
        self._drop_executes = True
        # (frame, socket path or None for any, sent with the others queued as a burst?)
        self._malformed: deque[tuple[str | bytes, str | None, bool]] = deque()
        self._malformed_sent = 0
        self._corrupt_replies: deque[tuple[bytes, str | None]] = deque()
        self._http_statuses: deque[tuple[int, str | None, str | None]] = deque()
        self._statuses: deque[tuple[str, str | None]] = deque()
        self._errors: deque[tuple[ForcedError, str | None]] = deque()
        self._order_statuses: deque[tuple[str, str, str | None]] = deque()
        self._trigger_failures: deque[str] = deque()
        self._poisons: deque[tuple[str, str | None]] = deque()
        self._silenced = 0
        self._positions_shape: PositionsShape = "position_response"
        self._on_sent: Callable[[str, str], None] | None = None

    def reset(self) -> None:
        fresh = Faults()
        with self._lock:
            for name, value in vars(fresh).items():
                if name != "_lock":
                    setattr(self, name, value)

    # ------------------------------------------------------------------ plain knobs
    @property
    def latency(self) -> float:
        """Seconds added before every reply and push: each leaves that long after the venue
        produced it, like a network delay, so replies produced together arrive together."""
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        with self._lock:
            self._latency = max(0.0, float(value))

    @property
    def clock_skew(self) -> float:
        """Seconds added to the venue's clock (server time, timestamp checks, event times)."""
        with self._lock:
            return self._clock_skew

    @clock_skew.setter
    def clock_skew(self, value: float) -> None:
        with self._lock:
            self._clock_skew = float(value)

    @property
    def silent(self) -> bool:
        """Send nothing (WS frames are discarded, HTTP replies held) but keep sockets open."""
        with self._lock:
            return self._silent

    @silent.setter
    def silent(self, value: bool) -> None:
        with self._lock:
            self._silent = bool(value)

    @property
    def duplicate(self) -> bool:
        """Send every order update twice."""
        with self._lock:
            return self._duplicate

    @duplicate.setter
    def duplicate(self, value: bool) -> None:
        with self._lock:
            self._duplicate = bool(value)

    @property
    def reorder(self) -> bool:
        """Swap each pair of consecutive order updates on a connection (ACK after FILLED)."""
        with self._lock:
            return self._reorder

    @reorder.setter
    def reorder(self, value: bool) -> None:
        with self._lock:
            self._reorder = bool(value)

    @property
    def reorder_hold(self) -> float:
        """How long a held update waits for a partner before it is sent anyway."""
        with self._lock:
            return self._reorder_hold

    @reorder_hold.setter
    def reorder_hold(self, value: float) -> None:
        with self._lock:
            self._reorder_hold = max(0.0, float(value))

    @property
    def positions_shape(self) -> PositionsShape:
        """QFEX only: which of the two documented ``positions`` wire shapes to push."""
        with self._lock:
            return self._positions_shape

    @positions_shape.setter
    def positions_shape(self, value: PositionsShape) -> None:
        if value not in ("position_response", "v4_positions"):
            raise ValueError(f"unknown positions shape {value!r}")
        with self._lock:
            self._positions_shape = value

    # ------------------------------------------------------------------ consume-once knobs
    def drop_next(self, count: int = 1, *, execute: bool = True) -> None:
        """Drop the connection after the next ``count`` order commands arrive, before any reply.

        QFEX: the trade WS is aborted after ``close_position``/``add_order``. Everstrike: the HTTP
        connection of ``/auth/close``/``/auth/order`` is aborted with no response. With
        ``execute`` the order still reaches the market, which is the dangerous case a client
        must reconcile.
        """
        with self._lock:
            self._drop_before_ack = count
            self._drop_executes = execute

    def take_drop(self) -> tuple[bool, bool]:
        """(drop this one?, does it still execute?)"""
        with self._lock:
            if self._drop_before_ack <= 0:
                return False, True
            self._drop_before_ack -= 1
            return True, self._drop_executes

    def inject_malformed(
        self, count: int = 1, frame: str | bytes = MALFORMED_FRAME, *, path: str | None = None,
        burst: bool = False,
    ) -> None:
        """Send ``frame`` before each of the next ``count`` WebSocket pushes (``bytes`` as a
        binary frame). ``path``: only on sockets at that path (QFEX ``"/"`` or ``"/mds"``).
        ``burst``: every burst frame queued for a socket goes out before its next push."""
        with self._lock:
            self._malformed.extend([(frame, path, burst)] * count)

    def take_malformed(self, path: str | None = None) -> list[str | bytes]:
        """The frames to send before a push on a socket at ``path``: the next one queued, or
        every queued burst frame when the next one is part of a burst."""
        with self._lock:
            hit = _take(self._malformed, lambda e: e[1] is None or e[1] == path)
            if hit is None:
                return []
            if not hit[2]:
                return [hit[0]]
            frames = [hit[0]]
            kept: deque[tuple[str | bytes, str | None, bool]] = deque()
            for entry in self._malformed:
                if entry[2] and (entry[1] is None or entry[1] == path):
                    frames.append(entry[0])
                else:
                    kept.append(entry)
            self._malformed = kept
            return frames

    def corrupt_reply(self, body: str | bytes, count: int = 1, *, path: str | None = None
                      ) -> None:
        """Both venues: replace the body of the next ``count`` HTTP replies (to ``path``
        only, when given, e.g. ``"/active_positions"``) with ``body``, status and headers kept.
        Unlike a forced reply, the request is handled first: the venue acted, its answer
        arrives garbled."""
        data = body.encode() if isinstance(body, str) else body
        with self._lock:
            self._corrupt_replies.extend([(data, path)] * count)

    def take_corrupt_reply(self, path: str) -> bytes | None:
        with self._lock:
            hit = _take(self._corrupt_replies, lambda e: e[1] is None or e[1] == path)
            return None if hit is None else hit[0]

    @property
    def malformed_sent(self) -> int:
        """How many injected frames have been written to a socket so far."""
        with self._lock:
            return self._malformed_sent

    def count_malformed_sent(self) -> None:
        with self._lock:
            self._malformed_sent += 1

    def force_http(
        self, status: int, count: int = 1, *, path: str | None = None, msg: str | None = None
    ) -> None:
        """Everstrike: answer the next ``count`` HTTP requests (to ``path`` only, when given,
        e.g. ``"/auth/close"``) with ``status`` and its documented envelope, executing nothing.

        429, 503 and 408 (body code 414) use the documented bodies; 401 and 500 (E-MM maps both
        to an exchange error; bodies undocumented) use ``{"code":401|500,"msg":...,
        "result":null}``. ``msg`` replaces the default text (e.g. another 429 wait).
        """
        with self._lock:
            self._http_statuses.extend([(int(status), path, msg)] * count)

    def take_http_status(self, path: str | None = None) -> tuple[int, str | None] | None:
        """(status, msg override) for a request to ``path``, if one is queued for it."""
        with self._lock:
            hit = _take(self._http_statuses, lambda e: e[1] is None or e[1] == path)
            return None if hit is None else (hit[0], hit[2])

    def force_status(self, status: str, count: int = 1, symbol: str | None = None) -> None:
        """QFEX: answer the next ``count`` ``add_order``/``close_position`` requests (for
        ``symbol`` only, when given) with an ``order_response`` of exactly ``status``.

        Nothing executes: no order is placed and the position is unchanged. The reply has
        ``quantity_remaining`` = ``quantity`` (nothing filled) and, like every order_response,
        reaches the caller only if it subscribed to ``order_responses``. ``get_order`` on its
        ``order_id`` returns it again.
        """
        if status not in QFEX_FORCEABLE_STATUSES:
            raise ValueError(f"{status!r} is not a forceable QFEX order status")
        with self._lock:
            self._statuses.extend([(status, symbol)] * count)

    def take_status(self, symbol: str | None) -> str | None:
        with self._lock:
            hit = _take(self._statuses, lambda e: e[1] is None or e[1] == symbol)
            return None if hit is None else hit[0]

    def force_error(
        self,
        error_code: str,
        message: str | None = None,
        count: int = 1,
        request_type: str | None = None,
    ) -> None:
        """QFEX: answer the next ``count`` trade-WS requests (of ``request_type`` only, e.g.
        ``"close_position"``, when given; otherwise any request, ``auth`` included) with
        ``{"err":{"error_code":..,"message":..,"incoming_message":<the request>}}``.

        The request is not executed. ``message`` defaults to a plain text per code; for
        ``RateLimited`` it is ``RATE_LIMITED_MESSAGE`` with 250 ms (our assumed hint format).
        """
        if error_code not in QFEX_ERROR_CODES:
            raise ValueError(f"{error_code!r} is not a documented QFEX error code")
        text = message if message is not None else _DEFAULT_ERROR_MESSAGES[error_code]
        with self._lock:
            self._errors.extend([(ForcedError(error_code, text), request_type)] * count)

    def take_error(self, request_type: str) -> ForcedError | None:
        with self._lock:
            hit = _take(self._errors, lambda e: e[1] is None or e[1] == request_type)
            return None if hit is None else hit[0]

    def force_order_status(
        self, status: str, msg: str, count: int = 1, *, pair: str | None = None
    ) -> None:
        """Everstrike: answer the next ``count`` ``POST /auth/close`` requests (for ``pair``
        only, when given) with HTTP 200, code 200 and ``result.order`` in ``status``
        (REJECTED or CANCELLED) carrying ``msg``. Nothing executes.

        A forced CANCELLED also pushes ``order_added`` then ``order_cancelled`` on the WS, as an
        unfilled immediate order does; a forced REJECTED pushes nothing (ASSUMPTION: the venue
        has no rejection category). ``GET /order`` and ``/orders`` list the order afterwards.
        """
        if status not in EVERSTRIKE_FORCEABLE_STATUSES:
            raise ValueError(f"{status!r} must be one of {sorted(EVERSTRIKE_FORCEABLE_STATUSES)}")
        with self._lock:
            self._order_statuses.extend([(status, msg, pair)] * count)

    def take_order_status(self, pair: str | None) -> tuple[str, str] | None:
        with self._lock:
            hit = _take(self._order_statuses, lambda e: e[2] is None or e[2] == pair)
            return None if hit is None else (hit[0], hit[1])

    def poison_replies(
        self, count: int = 1, *, path: str | None = None, number: str = HUGE_NUMBER
    ) -> None:
        """The next ``count`` replies carry one more field whose value is the raw JSON number
        ``number``; the request itself is executed as usual, so the client reads the reply
        only after the venue acted. Everstrike: successful HTTP replies (to ``path`` only,
        when given, e.g. ``"/auth/close"``) get it in ``result.balances``. QFEX:
        ``order_response`` frames get it in the order (``path`` is not used)."""
        with self._lock:
            self._poisons.extend([(number, path)] * count)

    def take_poison(self, path: str | None = None) -> str | None:
        """The number to poison a reply to ``path`` with, if one is queued for it."""
        with self._lock:
            hit = _take(self._poisons, lambda e: e[1] is None or e[1] == path)
            return None if hit is None else hit[0]

    def fail_next_trigger(self, count: int = 1, msg: str = TRIGGER_FAILED_MESSAGE) -> None:
        """Make the next ``count`` triggers that fire fail instead of executing.

        Everstrike pushes ``trigger_failed`` with ``result.order.msg`` = ``msg`` (the order
        reads CANCELLED afterwards); QFEX answers an ``order_response`` REJECTED for the stop.
        The position is unchanged.
        """
        with self._lock:
            self._trigger_failures.extend([msg] * count)

    def take_trigger_failure(self) -> str | None:
        with self._lock:
            return self._trigger_failures.popleft() if self._trigger_failures else None

    # ------------------------------------------------------------------ observations
    @property
    def silenced(self) -> int:
        """How many WebSocket frames ``silent`` has swallowed so far (for tests)."""
        with self._lock:
            return self._silenced

    def count_silenced(self) -> None:
        with self._lock:
            self._silenced += 1

    # ------------------------------------------------------------------ observing
    @property
    def on_sent(self) -> Callable[[str, str], None] | None:
        """Called on the venue's thread once something has left for the client, as
        ``(channel, text)``: ``("ws /path", frame)`` after a WebSocket frame was written, or
        ``("http /path", "")`` after a reply's last byte was. Not a fault: it lets a test act
        at the moment a reply is on the wire."""
        with self._lock:
            return self._on_sent

    @on_sent.setter
    def on_sent(self, hook: Callable[[str, str], None] | None) -> None:
        with self._lock:
            self._on_sent = hook

    def note_sent(self, channel: str, text: str = "") -> None:
        hook = self.on_sent
        if hook is not None:
            hook(channel, text)


def _take(queue: deque[T], match: Callable[[T], bool]) -> T | None:
    """Remove and return the first entry that ``match``es (the caller holds the lock)."""
    for i, entry in enumerate(queue):
        if match(entry):
            del queue[i]
            return entry
    return None


def poisoned(text: str, key: str, number: str) -> str:
    """JSON object ``text`` with ``"poison": <number>`` written first into the object under
    ``key`` (the top level when there is none): raw text, as no Python value writes it."""
    anchor = f'"{key}": {{'
    at = text.find(anchor)
    start = at + len(anchor) if at >= 0 else text.index("{") + 1
    rest = text[start:]
    return text[:start] + f'"poison": {number}' + ("" if rest.lstrip()[:1] == "}" else ", ") + rest
