"""QFEX transport: the trade WebSocket, the market-data WebSocket and REST, and nothing else.

Every message is built and read by ``protocol``; this module connects, authenticates,
subscribes, reconnects and correlates replies with the closes we sent. A close is written
once and never again: if the connection drops before the venue answers, the close is reported
UNKNOWN and reconciled from the venue after reconnecting.

Working orders: every (re)connect reads ``get_user_orders`` and emits a snapshot; after that
``order_responses`` and ``stop_orders`` keep it live. Cancels are written once and matched to
their reply by the order id they name, because QFEX replies carry no request id.

Every frame on the trade socket first takes its weight from a client-side rate limiter
(``core.ratelimit``), so a flatten of many positions slows down instead of being refused.

``AccountConfig.options`` this session reads (all optional, all text):

* ``account_id``: subaccount UUID for auth.
* ``rate_weights``: overrides of ``protocol.DEFAULT_RATE_WEIGHTS``, as
  ``"add_order=1,get_order=2"``.
* ``rate_budget`` / ``rate_window``: the budget in weight units per window in seconds
  (default 12000 per 60, documented).
* ``rate_limited_backoff``: seconds to hold everything back after a ``RateLimited`` error that
  carries no readable retry-after hint (its format is UNKNOWN; default 1).
* ``cancel_timeout``: seconds to wait for a cancel's answer before reporting that it is not
  known whether the order is still working (default 10).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import math
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.frames import Frame, Opcode
from websockets.protocol import Event, State

from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    Fill,
    Instrument,
    MarkUpdate,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionRemoved,
    PositionsSnapshot,
    ProtocolError,
    SessionEvent,
    SessionHealth,
    Venue,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
from core.ratelimit import RateLimiter, parse_weights
from core.venue import (
    AccountConfig,
    CancelRejected,
    CloseRejected,
    Credentials,
    EventSink,
    ReconnectPolicy,
    SessionClosed,
    VenueSession,
    check_endpoint,
    redact,
)
from core.venues.qfex import protocol
from core.venues.qfex.protocol import (
    CAPABILITIES,
    CHANNELS,
    DEFAULT_ENDPOINTS,
    DEFAULT_RATE_WEIGHTS,
    RATE_BUDGET,
    RATE_WINDOW,
    Ack,
    Authenticated,
    ErrorFrame,
    InvalidClose,
    OrdersList,
    QfexEvent,
    QfexProtocolError,
    StopOrder,
    Subscribed,
)

__all__ = [
    "CANCEL_GONE",
    "CANCEL_LOST",
    "CANCEL_NO_ANSWER",
    "DEFAULT_KEEPALIVE",
    "OPTIONS",
    "RATE_LIMITED",
    "QfexAuthError",
    "QfexConnectError",
    "QfexOptions",
    "QfexRequestFailed",
    "QfexSession",
]

log = logging.getLogger(__name__)

# Frames larger than this are refused by the socket; market_stats for every symbol fits well.
_MAX_FRAME = 8 * 1024 * 1024
_SUBACCOUNT_OPTION = "account_id"  # AccountConfig.options key for a subaccount UUID

LOST = "Connection lost before the venue answered; not resent"
GONE = (
    "No longer open at the venue after reconnecting: it filled, was cancelled or never "
    "arrived while the connection was down. Positions were refreshed; check the position"
)
RATE_LIMITED = "rate limited by QFEX; slowed down — nothing was resent"
CANCEL_GONE = "already gone: filled or cancelled"
CANCEL_NO_ANSWER = "no answer; the order may still be working — refresh"
CANCEL_LOST = "connection lost before the venue answered; the order may still be working — refresh"
# The docs say the server pings but not how often. Q-OLD's examples ping every 20 s, and a
# socket that hears nothing for that long is worth flagging, so 20 s until we measure one.
DEFAULT_KEEPALIVE = 20.0
_MIN_KEEPALIVE = 1.0  # two pings closer than this say nothing about the venue's period
_STOP_TYPES = ("STOP_LOSS", "TAKE_PROFIT")


# Every AccountConfig.options key this session reads, with its meaning, for a settings form.
OPTIONS: dict[str, str] = {
    "account_id": "Subaccount UUID to authenticate as (empty: the key's own account)",
    "rate_weights": "Weight overrides, e.g. add_order=1,get_order=2 (defaults: the QFEX docs)",
    "rate_budget": "Weight units allowed per window (default 12000)",
    "rate_window": "Rate window in seconds (default 60)",
    "rate_limited_backoff": "Seconds to pause after RateLimited with no readable hint (default 1)",
    "cancel_timeout": "Seconds to wait for a cancel's answer (default 10)",
}


@dataclass(frozen=True, slots=True)
class QfexOptions:
    """The session's tunables, read from ``AccountConfig.options`` (see the module docstring)."""

    rate_weights: Mapping[str, float]
    rate_budget: float = RATE_BUDGET
    rate_window: float = RATE_WINDOW
    rate_limited_backoff: float = 1.0
    cancel_timeout: float = 10.0
    default_weight: float = 1.0  # a message type missing from the table (none we send today)

    @classmethod
    def parse(cls, options: Mapping[str, str]) -> QfexOptions:
        """Raises ``ValueError`` naming the option at fault."""

        def seconds(name: str, default: float) -> float:
            text = options.get(name)
            if text is None or not str(text).strip():
                return default
            try:
                value = float(text)
            except ValueError:
                raise ValueError(f"option {name} is not a number: {text!r}") from None
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"option {name} must be more than zero, not {text!r}")
            return value

        try:
            weights = parse_weights(options.get("rate_weights", ""), DEFAULT_RATE_WEIGHTS)
        except ValueError as exc:
            raise ValueError(f"option rate_weights: {exc}") from None
        return cls(
            rate_weights=weights,
            rate_budget=seconds("rate_budget", RATE_BUDGET),
            rate_window=seconds("rate_window", RATE_WINDOW),
            rate_limited_backoff=seconds("rate_limited_backoff", 1.0),
            cancel_timeout=seconds("cancel_timeout", 10.0),
        )

    def weight(self, kind: str) -> float:
        return self.rate_weights.get(kind, self.default_weight)


class _ObservedConnection(ClientConnection):
    """A client connection that reports every incoming frame, pings included, so health() can
    tell a quiet socket from a dead one and learn the venue's ping period. websockets (13+)
    hands every frame to ``process_event``; the library still answers the pings itself."""

    observer: Callable[[Frame], None] | None = None

    def process_event(self, event: Event) -> None:
        super().process_event(event)
        if self.observer is not None and isinstance(event, Frame):
            self.observer(event)


def _settle_future(future: asyncio.Future[None], error: BaseException | None = None) -> None:
    """Resolve a waiter once. A failure nobody awaits any more (the caller timed out) must
    not be logged as "never retrieved", so it is marked retrieved here."""
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
        future.exception()


class QfexAuthError(Exception):
    """The venue refused the credentials. Retrying with the same key cannot help."""


class QfexConnectError(ConnectionError):
    """Connecting failed for a reason that may pass (network, venue down, timeout)."""


class QfexRequestFailed(Exception):
    """A REST call was answered with an error."""


# Failures that may pass: reconnecting later can fix them.
_TRANSIENT: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    WebSocketException,
    httpx.HTTPError,
    QfexRequestFailed,
)


def _is_loopback_url(url: str) -> bool:
    """Loopback (the simulator) never goes through a proxy from the environment."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class QfexSession(VenueSession):
    venue = Venue.QFEX
    capabilities = CAPABILITIES
    reply_timeout: float = 10.0  # seconds to wait for the auth and subscribe replies

    def __init__(
        self,
        account: AccountConfig,
        credentials: Credentials,
        sink: EventSink,
        *,
        reconnect: ReconnectPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        nonce_factory: Callable[[], str] = lambda: secrets.token_hex(16),
        limiter: RateLimiter | None = None,
    ) -> None:
        super().__init__(account, credentials, sink, reconnect=reconnect)
        # A bad option must not stop the app from building its sessions: it fails start().
        self._config_error: str | None = None
        try:
            self.options = QfexOptions.parse(account.options)
        except ValueError as exc:
            self._config_error = f"QFEX account {account.name}: {exc}"
            self.options = QfexOptions(rate_weights=dict(DEFAULT_RATE_WEIGHTS))
        self.limiter = limiter or RateLimiter(self.options.rate_budget, self.options.rate_window)
        self._transport = transport
        self._clock = clock
        self._nonce = nonce_factory
        self._endpoints: dict[str, str] = {}
        self._http: httpx.AsyncClient | None = None
        self._ws: ClientConnection | None = None
        self._mds: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._mds_task: asyncio.Task[None] | None = None
        self._connected = False
        self._started = False
        self._stopping = False
        self._instruments: dict[str, Instrument] = {}
        self._marks: dict[str, Decimal] = {}
        # Close bookkeeping, by client_order_id. A close moves awaiting -> working -> done, or
        # awaiting -> unknown when the connection drops first.
        self._sent: set[str] = set()  # every id ever written: an id is never written twice
        self._awaiting: dict[str, CloseRequest] = {}  # written, no reply yet
        self._working: dict[str, CloseRequest] = {}  # answered, not final yet
        self._unknown: dict[str, CloseRequest] = {}  # connection lost before any reply
        self._expected_type: dict[str, str] = {}  # the order type each close puts on the book
        self._order_ids: dict[str, str] = {}  # venue order_id -> our client_order_id
        # Working orders by venue id (order_id, or stop_order_id for stops), as last emitted.
        self._resting: dict[str, WorkingOrder] = {}
        # Ids changed by live frames since get_user_orders was sent: for these the live state
        # is at least as new as the listing, so the listing does not overwrite them.
        self._touched: set[str] | None = None
        self._listing_waiter: asyncio.Future[None] | None = None
        # Cancels in flight, keyed by ("order" | "stop", venue id); in send order for FIFO.
        self._cancels: dict[tuple[str, str], asyncio.Future[None]] = {}
        self._cancel_symbols: dict[tuple[str, str], str] = {}
        # get_order lookups after a reconnect: order id -> client_order_id.
        self._lookups: dict[str, str] = {}
        # Health.
        self._last_message_at: float | None = None
        self._last_ping_at: float | None = None
        self._ping_period: float | None = None
        self._rtt_ms: float | None = None

    # ------------------------------------------------------------------ contract

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return self._instruments

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def marks(self) -> Mapping[str, Decimal]:
        return self._marks

    async def start(self) -> None:
        if self._stopping:
            raise SessionClosed(f"QFEX account {self.name} was stopped")
        if self._started:
            return
        self._started = True
        try:
            if self._config_error is not None:
                raise ValueError(self._config_error)
            self._endpoints = self._resolve_endpoints()
        except ValueError as exc:
            self._started = False
            self._emit(self._conn(ConnectionState.FAILED, str(exc)))
            raise
        self._http = httpx.AsyncClient(
            base_url=self._endpoints["rest"], transport=self._transport, timeout=10.0
        )
        try:
            await self._load_refdata()
            await self._open()
        except BaseException as exc:
            # A failed start leaves nothing running, so start() may simply be called again.
            self._started = False
            await self._shutdown()
            if isinstance(exc, _TRANSIENT):
                message = self._describe(exc)
                self._emit(self._conn(ConnectionState.FAILED, message))
                raise QfexConnectError(message) from None
            if isinstance(exc, QfexAuthError):
                self._emit(self._conn(ConnectionState.FAILED, str(exc)))
            elif isinstance(exc, Exception):
                self._emit(self._conn(ConnectionState.FAILED, self._describe(exc)))
            raise
        self._task = asyncio.create_task(self._supervise(), name=f"qfex-trade-{self.name}")
        if self._endpoints.get("mds_ws"):
            self._mds_task = asyncio.create_task(self._run_mds(), name=f"qfex-mds-{self.name}")

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        await self._shutdown()

    async def send_close(self, request: CloseRequest) -> None:
        self._live_ws()
        cid = request.client_order_id
        if cid in self._sent:
            raise CloseRejected(
                f"Client order id {cid} was already sent once; a close is never resent",
                code="client_order_id",
            )
        frame = self._build(request)
        kind = _frame_type(frame)
        # Reserve the id while the rate limiter makes us wait, so a second call with the same
        # id cannot slip through; release it if nothing gets written.
        self._sent.add(cid)
        try:
            await self.limiter.acquire(self.options.weight(kind))
            ws = self._live_ws()
        except BaseException:
            self._sent.discard(cid)
            raise
        # Record before writing: the reply can be read while send() waits for the buffer.
        self._awaiting[cid] = request
        self._expected_type[cid] = _expected_type(frame)
        try:
            await ws.send(frame)
        except ConnectionClosed:
            # The frame may have left before the drop. It stays in flight, so the disconnect
            # handler reports it UNKNOWN and it is reconciled; it is never resent.
            log.info("QFEX %s: connection closed while sending close %s", self.name, cid)

    def preview_close(self, request: CloseRequest) -> str:
        return protocol.redacted(self._build(request))

    def _cancel_frame(self, order: WorkingOrder) -> tuple[tuple[str, str], str, str]:
        """(waiter key, frame, message type) for cancelling one working order."""
        if order.kind is WorkingKind.TRIGGER:
            # UNKNOWN #7: a stop known only from get_user_orders is cancelled by that listing's
            # order_id, assumed equal to its stop_order_id; if not, the venue says so.
            return ("stop", order.order_id), protocol.build_cancel_stop_order(
                order.order_id
            ), "cancel_stop_order"
        frame = protocol.build_cancel_order(order.symbol, order.order_id)
        return ("order", order.order_id), frame, "cancel_order"

    def preview_cancel(self, order: WorkingOrder) -> str:
        return protocol.redacted(self._cancel_frame(order)[1])

    async def cancel_order(self, order: WorkingOrder) -> None:
        """Write one cancel and wait for its answer. Never resent: a cancel that gets no answer
        in ``cancel_timeout`` is reported as such, and the order list says what is true."""
        if order.venue is not self.venue or order.account != self.name:
            raise CancelRejected(f"order {order.order_id} does not belong to QFEX {self.name}")
        self._live_ws()
        key, frame, kind = self._cancel_frame(order)
        future = self._cancels.get(key)
        if future is None:  # a second click joins the cancel already on its way
            future = asyncio.get_running_loop().create_future()
            # Register before writing: the reply can be read while send() waits.
            self._cancels[key] = future
            self._cancel_symbols[key] = order.symbol
            try:
                await self.limiter.acquire(self.options.weight(kind))
                ws = self._live_ws()
            except BaseException:
                self._forget_cancel(key, future)
                raise
            try:
                await ws.send(frame)
            except ConnectionClosed:
                # It may have left: the disconnect fails the waiter with CANCEL_LOST.
                log.info("QFEX %s: connection closed while cancelling %s", self.name, key[1])
        try:
            async with asyncio.timeout(self.options.cancel_timeout):
                await asyncio.shield(future)
        except TimeoutError:
            self._forget_cancel(key, future)
            raise CancelRejected(CANCEL_NO_ANSWER, code="timeout") from None

    def _forget_cancel(self, key: tuple[str, str], future: asyncio.Future[None]) -> None:
        if self._cancels.get(key) is future:
            del self._cancels[key]
            self._cancel_symbols.pop(key, None)

    async def refresh_orders(self) -> None:
        self._live_ws()
        future = self._listing_waiter
        if future is None:  # a listing already asked for answers this call too
            future = asyncio.get_running_loop().create_future()
            self._listing_waiter = future
            try:
                await self._request_listing(self._live_ws())
            except ConnectionClosed:
                log.info("QFEX %s: connection closed while asking for orders", self.name)
            except BaseException:
                if self._listing_waiter is future:
                    self._listing_waiter = None
                raise
        try:
            async with asyncio.timeout(self.reply_timeout):
                await asyncio.shield(future)
        except TimeoutError:
            if self._listing_waiter is future:
                self._listing_waiter = None
            raise QfexRequestFailed("QFEX did not answer the order listing in time") from None

    def health(self) -> SessionHealth:
        return SessionHealth(
            connected=self._connected,
            last_message_at=self._last_message_at,
            rtt_ms=self._rtt_ms,
            skew_ms=None,  # QFEX has no time endpoint to measure against
            rate_headroom=self.limiter.headroom(),
            keepalive_s=self._ping_period or DEFAULT_KEEPALIVE,
        )

    def _live_ws(self) -> ClientConnection:
        """The open trade socket, or ``SessionClosed`` (nothing was sent)."""
        ws = self._ws
        if self._stopping or not self._connected or ws is None or ws.state is not State.OPEN:
            raise SessionClosed(f"QFEX account {self.name} is not connected; nothing was sent")
        return ws

    async def _write(self, ws: ClientConnection, frame: str, kind: str) -> None:
        """Every trade-socket frame pays its weight first; waiting is better than refusal."""
        await self.limiter.acquire(self.options.weight(kind))
        await ws.send(frame)

    async def _request_listing(self, ws: ClientConnection) -> None:
        await self.limiter.acquire(self.options.weight("get_user_orders"))
        self._touched = set()
        await ws.send(protocol.build_get_user_orders())

    async def refresh_positions(self) -> None:
        if self._http is None or self._stopping:
            raise SessionClosed(f"QFEX account {self.name} is not started")
        positions = await self._fetch_positions()
        self._emit(PositionsSnapshot(self.venue, self.name, positions))

    # ------------------------------------------------------------------ connection

    def _observe(self, frame: Frame) -> None:
        now = time.monotonic()
        self._last_message_at = now
        if frame.opcode is Opcode.PING:
            if self._last_ping_at is not None:
                self._ping_period = max(_MIN_KEEPALIVE, now - self._last_ping_at)
            self._last_ping_at = now

    def _observe_mds(self, frame: Frame) -> None:
        self._last_message_at = time.monotonic()

    def _resolve_endpoints(self) -> dict[str, str]:
        merged = {**DEFAULT_ENDPOINTS.get(self.account.environment, {}), **self.account.endpoints}
        for name in ("trade_ws", "rest"):
            if not merged.get(name):
                raise ValueError(f"QFEX account {self.name} has no {name!r} endpoint configured")
        checked = {
            name: check_endpoint(url)
            for name, url in merged.items()
            if name in ("trade_ws", "mds_ws", "rest") and url
        }
        for url in checked.values():
            _ = urlsplit(url).port  # a bad port raises ValueError here, not deep in a connect
        return checked

    def _conn(self, state: ConnectionState, message: str = "") -> ConnectionEvent:
        return ConnectionEvent(self.venue, self.name, state, message)

    def _describe(self, exc: BaseException) -> str:
        """Exception text for the UI, with the public key (it is in the trade URL) redacted."""
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        key = self.credentials.public_key
        return text.replace(key, redact(key)) if key else text

    def _trade_url(self) -> str:
        """VENUES.md 1.1: the docs put the key in the query, the CLI signs the handshake.
        Whether either is required is UNKNOWN, so we do both."""
        parts = urlsplit(self._endpoints["trade_ws"])
        query = [*parse_qsl(parts.query), ("api_key", self.credentials.public_key)]
        return urlunsplit(parts._replace(query=urlencode(query)))

    def _signed_headers(self) -> dict[str, str]:
        return protocol.rest_auth_headers(
            self.credentials.public_key,
            self.credentials.secret,
            self._nonce(),
            int(self._clock()),
            self.account.options.get(_SUBACCOUNT_OPTION),
        )

    async def _open(self) -> OrdersList | None:
        """Connect, authenticate, subscribe and resync positions and working orders. Returns
        the order listing (None if the venue refused it) for reconciling closes. Raises on
        failure."""
        self._emit(self._conn(ConnectionState.CONNECTING))
        url = self._trade_url()
        # The auth message's budget is taken before connecting: the venue closes a socket
        # that has not authenticated within 60 s, and a rate penalty may last that long.
        await self.limiter.acquire(self.options.weight("auth"))
        try:
            # A fresh nonce for the handshake and another for the auth message: a nonce may be
            # used once per 15 minutes.
            ws = await connect(
                url,
                additional_headers=self._signed_headers(),
                proxy=None if _is_loopback_url(url) else True,
                open_timeout=self.reply_timeout,
                max_size=_MAX_FRAME,
                create_connection=_ObservedConnection,
            )
        except InvalidStatus as exc:
            if exc.response.status_code in (401, 403):
                raise QfexAuthError(
                    f"QFEX refused the API key for {self.name} "
                    f"(HTTP {exc.response.status_code} on connect)"
                ) from None
            raise
        if isinstance(ws, _ObservedConnection):
            ws.observer = self._observe
        self._last_ping_at = None
        try:
            auth = protocol.build_auth(
                self.credentials.public_key,
                self.credentials.secret,
                self._nonce(),
                int(self._clock()),
                self.account.options.get(_SUBACCOUNT_OPTION),
            )
            await ws.send(auth)
            # Each wait for a reply has its own timeout; waiting for rate budget does not.
            async with asyncio.timeout(self.reply_timeout):
                await self._await_auth(ws)
            for channel in CHANNELS:
                await self._write(ws, protocol.build_subscribe(channel), "subscribe")
            async with asyncio.timeout(self.reply_timeout):
                await self._await_subscriptions(ws)
            await self._request_listing(ws)
            async with asyncio.timeout(self.reply_timeout):
                listing = await self._await_listing(ws)
            positions = await self._fetch_positions()
        except BaseException:
            self._touched = None
            await ws.close()
            raise
        self._ws = ws
        self._connected = True
        self._emit(PositionsSnapshot(self.venue, self.name, positions))
        if listing is not None:
            self._apply_listing(listing)
        self._touched = None
        self._emit(self._conn(ConnectionState.CONNECTED))
        return listing

    async def _await_auth(self, ws: ClientConnection) -> None:
        while True:
            for event in protocol.parse(await ws.recv(), self.name):
                if isinstance(event, Authenticated):
                    if event.ok:
                        return
                    raise QfexAuthError(
                        f"QFEX refused the API key or signature for {self.name} "
                        "(authenticated: false). Check the key pair and the computer's clock."
                    )
                if isinstance(event, ErrorFrame) and event.client_order_id is None:
                    if event.error_code == "RateLimited":
                        self._penalise(event.retry_after)
                    if event.error_code in ("RateLimited", "ServerError"):
                        raise QfexConnectError(f"QFEX auth failed: {event.message}")
                    raise QfexAuthError(f"QFEX auth failed for {self.name}: {event.message}")
                self._handle(event)

    async def _await_subscriptions(self, ws: ClientConnection) -> None:
        """Subscriptions are per connection, so every (re)connect makes them again."""
        answered = 0
        while answered < len(CHANNELS):
            for event in protocol.parse(await ws.recv(), self.name):
                if isinstance(event, Subscribed):
                    answered += 1
                elif isinstance(event, ErrorFrame) and event.incoming_type == "subscribe":
                    answered += 1
                    self._emit(
                        ProtocolError(
                            self.venue, self.name, f"Subscribe failed: {event.message}",
                            code=event.error_code,
                        )
                    )
                else:
                    self._handle(event)

    async def _await_listing(self, ws: ClientConnection) -> OrdersList | None:
        """The reply to ``get_user_orders``; frames before it are handled as usual."""
        while True:
            for event in protocol.parse(await ws.recv(), self.name):
                if isinstance(event, OrdersList):
                    return event
                if isinstance(event, ErrorFrame) and event.incoming_type == "get_user_orders":
                    self._on_error(event)
                    return None
                self._handle(event)

    async def _load_refdata(self) -> None:
        """Public reference data, for rounding and checks. Without it closes still work."""
        assert self._http is not None
        try:
            response = await self._http.get("/refdata")
            self._last_message_at = time.monotonic()
            if response.status_code != 200:
                raise QfexRequestFailed(protocol.parse_problem(response.content))
            self._instruments = protocol.parse_refdata(response.content)
        except (httpx.HTTPError, QfexRequestFailed, QfexProtocolError) as exc:
            self._emit(
                ProtocolError(
                    self.venue,
                    self.name,
                    f"Reference data unavailable ({self._describe(exc)}); "
                    "tick and lot checks are off",
                )
            )

    async def _fetch_positions(self) -> tuple[Position, ...]:
        assert self._http is not None
        started = time.perf_counter()
        response = await self._http.get("/user/positions", headers=self._signed_headers())
        self._rtt_ms = (time.perf_counter() - started) * 1000
        self._last_message_at = time.monotonic()
        if response.status_code in (401, 403):
            raise QfexAuthError(
                f"QFEX refused the API key for {self.name}: "
                f"{protocol.parse_problem(response.content)}"
            )
        if response.status_code != 200:
            raise QfexRequestFailed(
                f"QFEX positions request failed: {protocol.parse_problem(response.content)}"
            )
        try:
            return protocol.parse_positions_rest(response.content, self.name)
        except QfexProtocolError as exc:
            raise QfexRequestFailed(f"QFEX positions response unreadable: {exc}") from None

    async def _supervise(self) -> None:
        """Read until the socket drops, then reconnect with backoff until stopped."""
        loop = asyncio.get_running_loop()
        delays = self.reconnect.delays()
        while not self._stopping:
            since = loop.time()
            ws = self._ws
            if ws is not None:
                await self._read(ws)
            if self._stopping:
                return
            self._lost("Connection to QFEX lost; reconnecting")
            if loop.time() - since >= self.reconnect.healthy_after:
                delays = self.reconnect.delays()
            reconnected, listing = await self._reconnect(delays)
            if not reconnected:
                return
            if listing is not None:
                await self._look_up(self._reconcile(listing, after_reconnect=True))

    async def _reconnect(self, delays: Iterator[float]) -> tuple[bool, OrdersList | None]:
        while not self._stopping:
            await asyncio.sleep(next(delays))
            try:
                if not self._instruments:
                    await self._load_refdata()
                return True, await self._open()
            except QfexAuthError as exc:
                self._emit(self._conn(ConnectionState.FAILED, str(exc)))
                return False, None
            except _TRANSIENT as exc:
                self._emit(
                    self._conn(
                        ConnectionState.DISCONNECTED,
                        f"Reconnect failed ({self._describe(exc)}); retrying",
                    )
                )
        return False, None

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                for event in protocol.parse(message, self.name):
                    self._handle(event)

    def _lost(self, reason: str) -> None:
        """The socket is gone: every close still waiting for its reply becomes UNKNOWN, and
        every cancel or listing still waiting fails (none is resent)."""
        self._connected = False
        self._ws = None
        self._touched = None
        self._last_ping_at = None
        self._emit(self._conn(ConnectionState.DISCONNECTED, reason))
        for cid, request in self._awaiting.items():
            self._unknown[cid] = request
            self._emit(self._unknown_update(request, final=False, message=LOST))
        self._awaiting.clear()
        self._lookups.clear()  # looked up again after the next reconnect
        cancels, self._cancels = self._cancels, {}
        self._cancel_symbols.clear()
        for future in cancels.values():
            _settle_future(future, CancelRejected(CANCEL_LOST, code="connection"))
        if self._listing_waiter is not None:
            _settle_future(
                self._listing_waiter,
                SessionClosed(f"QFEX account {self.name}: connection lost before the order list"),
            )
            self._listing_waiter = None

    def _reconcile(self, listing: OrdersList, *, after_reconnect: bool) -> list[str]:
        """Closes found in the venue's open orders report their real state. Returns the order
        ids of answered closes that are no longer open, to be looked up one by one: they
        finished while we were away, and ``get_order`` tells how. Closes whose reply was lost
        have no order id to look up, so they are reported gone and positions tell the rest.

        Only after a reconnect can an answered close have finished unseen; a manual refresh
        settles only the closes whose reply was lost (UNKNOWN).
        """
        targets = {**self._working, **self._unknown} if after_reconnect else dict(self._unknown)
        found = {o.client_order_id: o for o in listing.orders if o.client_order_id}
        known = {cid: oid for oid, cid in self._order_ids.items()}
        lookups: list[str] = []
        for cid, request in targets.items():
            if cid in found:
                self._on_order(found[cid])
            elif cid in self._working and cid in known:
                self._lookups[known[cid]] = cid
                lookups.append(known[cid])
            elif cid in self._unknown or cid in self._working:
                self._settle(cid, final=True)
                self._emit(self._unknown_update(request, final=True, message=GONE))
        return lookups

    async def _look_up(self, order_ids: list[str]) -> None:
        """``get_order`` for each close that finished while the connection was down. The
        replies arrive on the reader as ordinary order responses."""
        for oid in order_ids:
            cid = self._lookups.get(oid)
            ws = self._ws
            if cid is None or ws is None or cid not in self._working:
                continue
            symbol = self._working[cid].key.symbol
            try:
                await self._write(ws, protocol.build_get_order(oid, symbol), "get_order")
            except ConnectionClosed:
                return  # the next reconnect looks again

    def _lookup_failed(self, order_id: str, detail: str) -> None:
        cid = self._lookups.pop(order_id, None)
        request = self._working.get(cid) if cid else None
        if cid is None or request is None:
            return
        self._settle(cid, final=True)
        self._emit(self._unknown_update(request, final=True, message=f"{GONE} ({detail})"))

    def _unknown_update(self, request: CloseRequest, *, final: bool, message: str) -> OrderUpdate:
        return OrderUpdate(
            venue=self.venue,
            account=self.name,
            symbol=request.key.symbol,
            status=OrderStatus.UNKNOWN,
            raw_status="",
            final=final,
            client_order_id=request.client_order_id,
            side=request.order_side,
            quantity=request.quantity or request.position_quantity,
            price=request.limit_price,
            trigger_price=request.trigger.price if request.trigger else None,
            message=message,
        )

    async def _shutdown(self) -> None:
        # Close the sockets first, so they end with a normal close rather than the 1011 that
        # websockets sends when a task is cancelled inside ``async with connect()``.
        for ws in (self._ws, self._mds):
            if ws is not None:
                await ws.close()
        self._mds = None
        current = asyncio.current_task()
        for task in (self._task, self._mds_task):
            if task is not None and task is not current:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._mds_task = None
        if self._connected:
            self._lost("Stopped")
        self._ws = None
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # ------------------------------------------------------------------ market data

    async def _run_mds(self) -> None:
        """Marks from the public feed, on their own socket and backoff; they never block
        trading. Only trigger closes need them (to tell stop-loss from take-profit)."""
        url = self._endpoints["mds_ws"]
        loop = asyncio.get_running_loop()
        delays = self.reconnect.delays()
        while not self._stopping:
            since = loop.time()
            try:
                async with connect(
                    url,
                    proxy=None if _is_loopback_url(url) else True,
                    open_timeout=self.reply_timeout,
                    max_size=_MAX_FRAME,
                    create_connection=_ObservedConnection,
                ) as ws:
                    if isinstance(ws, _ObservedConnection):
                        ws.observer = self._observe_mds
                    self._mds = ws
                    await ws.send(protocol.build_mds_subscribe())
                    async for message in ws:
                        for event in protocol.parse_mds(message, self.name):
                            if isinstance(event, MarkUpdate):
                                self._marks[event.symbol] = event.mark
                            self._emit(event)
            except _TRANSIENT as exc:
                log.warning("QFEX market data for %s: %s", self.name, self._describe(exc))
            except Exception as exc:  # marks must never stop for good on a surprise
                log.warning("QFEX market data for %s failed unexpectedly; reconnecting",
                            self.name, exc_info=True)
                self._emit(ProtocolError(
                    Venue.QFEX, self.name,
                    f"market data stopped ({type(exc).__name__}); reconnecting"))
            finally:
                self._mds = None
            if loop.time() - since >= self.reconnect.healthy_after:
                delays = self.reconnect.delays()
            await asyncio.sleep(next(delays))

    # ------------------------------------------------------------------ events

    def _build(self, request: CloseRequest) -> str:
        symbol = request.key.symbol
        try:
            return protocol.build_close(
                request, self._marks.get(symbol), self._instruments.get(symbol)
            )
        except InvalidClose as exc:
            raise CloseRejected(str(exc), code=exc.field) from None

    def _emit(self, event: SessionEvent) -> None:
        try:
            self.sink(event)
        except Exception:
            log.exception("QFEX %s: event sink raised; event dropped", self.name)

    def _handle(self, event: QfexEvent) -> None:
        if isinstance(event, OrderUpdate):
            self._on_order(event)
        elif isinstance(event, Fill):
            if event.client_order_id is None and event.order_id in self._order_ids:
                event = replace(event, client_order_id=self._order_ids[event.order_id])
            self._emit(event)
        elif isinstance(event, Position | PositionRemoved | ProtocolError):
            self._emit(event)
        elif isinstance(event, ErrorFrame):
            self._on_error(event)
        elif isinstance(event, StopOrder):
            self._on_stop(event)
        elif isinstance(event, OrdersList):
            self._on_orders(event)
        elif isinstance(event, Ack):
            self._on_ack(event)
        # Authenticated, Subscribed, Unsubscribed and BalanceUpdate need nothing here.

    # ------------------------------------------------------------------ rate limits

    def _penalise(self, hint: float | None) -> None:
        """Hold every sender back after the venue said we went too fast. The hint's format is
        UNKNOWN, so it is bounded by the rate window: a garbled hint cannot freeze trading."""
        seconds = self.options.rate_limited_backoff if hint is None else hint
        seconds = min(max(seconds, 0.0), self.options.rate_window)
        log.warning("QFEX %s: rate limited; holding back for %.3f s", self.name, seconds)
        self.limiter.penalise(seconds)

    # ------------------------------------------------------------------ closes

    def _match(self, update: OrderUpdate) -> str | None:
        """INFERRED: the seed's examples show ``client_order_id: ""`` in replies, so a reply may
        not echo our id. Fall back to the order id once known, then to the oldest unanswered
        close on that symbol whose side and order type fit (the official CLI's FIFO)."""
        if update.client_order_id:
            return update.client_order_id
        if update.order_id and update.order_id in self._order_ids:
            return self._order_ids[update.order_id]
        if update.raw_status in _NOT_A_PLACEMENT_REPLY:
            return None  # answers a cancel or modify, never an add_order or close_position
        for cid, request in self._awaiting.items():
            if (
                request.key.symbol == update.symbol
                and request.order_side is update.side
                and self._expected_type.get(cid) == update.order_type
            ):
                return cid
        return None

    def _settle(self, cid: str, final: bool) -> None:
        request = self._awaiting.pop(cid, None) or self._unknown.pop(cid, None)
        request = request or self._working.get(cid)
        if final:
            self._working.pop(cid, None)
        elif request is not None:
            self._working[cid] = request

    def _on_order(self, update: OrderUpdate) -> None:
        if update.raw_status == "RATE_LIMITED":
            self._penalise(None)
            update = replace(update, message=RATE_LIMITED)
        if self._answers_cancel(update):
            return
        if update.order_id in self._lookups:
            if update.raw_status in _NOT_A_PLACEMENT_REPLY:
                self._track(update)
                self._lookup_failed(update.order_id, "the venue has no record of the order")
                return
            del self._lookups[update.order_id]
        self._track(update)
        cid = self._match(update)
        if cid is not None:
            if update.client_order_id is None:
                update = replace(update, client_order_id=cid)
            if update.order_id:
                self._order_ids[update.order_id] = cid
            self._settle(cid, update.final)
        self._emit(update)

    def _on_error(self, err: ErrorFrame) -> None:
        limited = err.error_code == "RateLimited"
        if limited:
            self._penalise(err.retry_after)
        message = RATE_LIMITED if limited else err.message
        if err.incoming_type in ("cancel_order", "cancel_stop_order"):
            kind = "order" if err.incoming_type == "cancel_order" else "stop"
            target = err.order_id if kind == "order" else err.stop_order_id
            key = self._cancel_key(kind, target, err.symbol)
            if key is not None:
                self._finish_cancel(key, CancelRejected(message, code=err.error_code))
                return
        if err.incoming_type == "get_order" and err.order_id in self._lookups:
            self._lookup_failed(err.order_id, message)
            return
        if err.incoming_type == "get_user_orders":
            self._emit(
                ProtocolError(
                    self.venue,
                    self.name,
                    f"Working orders could not be listed: {message}",
                    code=err.error_code,
                )
            )
            if self._listing_waiter is not None:
                _settle_future(self._listing_waiter, QfexRequestFailed(message))
                self._listing_waiter = None
            self._touched = None
            return
        cid = err.client_order_id
        if cid is None:
            self._emit(ProtocolError(self.venue, self.name, message, code=err.error_code))
            return
        request = self._awaiting.get(cid) or self._working.get(cid) or self._unknown.get(cid)
        self._settle(cid, final=True)
        self._emit(
            OrderUpdate(
                venue=self.venue,
                account=self.name,
                symbol=err.symbol or (request.key.symbol if request else ""),
                status=OrderStatus.REJECTED,
                raw_status=err.error_code,
                final=True,
                client_order_id=cid,
                side=request.order_side if request else None,
                message=message,
            )
        )

    def _on_stop(self, stop: StopOrder) -> None:
        cid = stop.client_order_id
        if cid is not None:
            self._settle(cid, final=False)
        working = protocol.working_stop(stop, self.name)
        if cid is not None:
            # UNKNOWN #7: the listing may name this stop by another id; keep one row per stop.
            for other in list(self._resting.values()):
                if (
                    other.kind is WorkingKind.TRIGGER
                    and other.client_order_id == cid
                    and other.order_id != working.order_id
                ):
                    self._drop(other.order_id, "listed again under its stop_order_id")
        self._upsert(working)
        self._emit(
            OrderUpdate(
                venue=self.venue,
                account=self.name,
                symbol=stop.symbol,
                status=OrderStatus.TRIGGER_ACK,
                raw_status=stop.stop_order_type,
                final=False,
                order_id=stop.stop_order_id,
                client_order_id=cid,
                side=stop.side,
                order_type=stop.stop_order_type,
                quantity=stop.quantity,
                trigger_price=stop.price,
                message=f"{stop.stop_order_type} rests until the mark price reaches {stop.price}",
                venue_time=stop.update_time,
            )
        )

    def _on_orders(self, listing: OrdersList) -> None:
        """A ``get_user_orders`` reply read by the reader: the answer to ``refresh_orders``."""
        self._apply_listing(listing)
        self._reconcile(listing, after_reconnect=False)
        if self._listing_waiter is not None:
            _settle_future(self._listing_waiter)
            self._listing_waiter = None

    # ------------------------------------------------------------------ cancels

    def _cancel_key(
        self, kind: str, target: str | None, symbol: str | None
    ) -> tuple[str, str] | None:
        """The cancel a reply answers: by the id it names, else (INFERRED, as the CLI's FIFO)
        the oldest cancel of that kind on that symbol still waiting."""
        if target is not None:
            key = (kind, target)
            return key if key in self._cancels else None
        for key in self._cancels:
            if key[0] == kind and symbol in (None, self._cancel_symbols.get(key)):
                return key
        return None

    def _finish_cancel(self, key: tuple[str, str], error: BaseException | None = None) -> None:
        future = self._cancels.pop(key, None)
        self._cancel_symbols.pop(key, None)
        if future is not None:
            _settle_future(future, error)

    def _answers_cancel(self, update: OrderUpdate) -> bool:
        """Settle a waiting ``cancel_order`` with this reply. Returns True when the reply is
        only about the cancel (NO_SUCH_ORDER and kin), so it is not shown as a close update."""
        raw = update.raw_status
        if raw in ("ACK", "MODIFIED", "FILLED") or raw not in protocol.STATUS_TEXT:
            return False  # a state of the order, not the answer to our cancel
        key: tuple[str, str] | None = None
        if update.order_id and raw in _CANCELLED_STATUSES:
            # The venue may also report a cancelled stop as an order response.
            stop_key = self._cancel_key("stop", update.order_id, None)
            if stop_key is not None:
                self._finish_cancel(stop_key)
        if update.order_id:
            key = self._cancel_key("order", update.order_id, None)
        elif raw in _NOT_A_PLACEMENT_REPLY:
            key = self._cancel_key("order", None, update.symbol or None)
        if key is None:
            return False
        if raw in _CANCELLED_STATUSES:
            self._finish_cancel(key)
            return False  # also the order's own final state: shown and tracked as usual
        if raw == "NO_SUCH_ORDER":
            self._finish_cancel(key, CancelRejected(CANCEL_GONE, code=raw))
            self._drop(key[1], "no longer at the venue")
            return True
        text = RATE_LIMITED if raw == "RATE_LIMITED" else update.message
        self._finish_cancel(key, CancelRejected(text, code=raw))
        return True

    def _on_ack(self, ack: Ack) -> None:
        if ack.incoming_type != "cancel_stop_order":
            return
        key = self._cancel_key("stop", ack.stop_order_id, None)
        stop_id = ack.stop_order_id or (key[1] if key else None)
        if key is not None:
            self._finish_cancel(key)
        if stop_id is not None:
            # The ack is the only word that the stop is gone; stop_orders says nothing more.
            self._drop(stop_id, "cancelled")

    # ------------------------------------------------------------------ working orders

    def _is_ours(self, update: OrderUpdate) -> bool:
        """QFEX's order frames do not say whether a limit is reduce-only. Ours always are; for
        any other order we do not claim it."""
        return update.client_order_id is not None and update.client_order_id in self._sent

    def _track(self, update: OrderUpdate) -> None:
        """Keep the working-order map live from one ``order_response``."""
        oid = update.order_id
        reason = protocol.removal_reason(update)
        if reason is not None:
            current = self._resting.get(oid) if oid else None
            if current is not None:
                if current.kind is WorkingKind.TRIGGER and update.order_type not in _STOP_TYPES:
                    reason = f"triggered; {reason}"
                self._drop(current.order_id, reason)
            self._drop_fired_stop(update)
            return
        working = protocol.working_order(update, reduce_only=self._is_ours(update))
        if working is not None:
            self._upsert(working)
        else:
            self._drop_fired_stop(update)

    def _drop_fired_stop(self, update: OrderUpdate) -> None:
        """INFERRED: a fired stop may trade as a new order with the stop's client_order_id.
        Our closes never attach stops to an order, so a non-stop order carrying the client id
        of a stop we placed means that stop has fired. (Orders placed elsewhere may share a
        client id with their attached stops, so for those this says nothing.)"""
        cid = update.client_order_id
        if not cid or cid not in self._sent or update.order_type in _STOP_TYPES:
            return
        for other in list(self._resting.values()):
            if (
                other.kind is WorkingKind.TRIGGER
                and other.client_order_id == cid
                and other.order_id != update.order_id
            ):
                self._drop(other.order_id, "triggered")

    def _upsert(self, order: WorkingOrder) -> None:
        if self._touched is not None:
            self._touched.add(order.order_id)
        current = self._resting.get(order.order_id)
        if current is not None and replace(order, received_at=current.received_at) == current:
            return  # a duplicate frame changes nothing and is not re-emitted
        self._resting[order.order_id] = order
        self._emit(order)

    def _drop(self, order_id: str, reason: str) -> None:
        if self._touched is not None:
            self._touched.add(order_id)
        if self._resting.pop(order_id, None) is not None:
            self._emit(WorkingOrderRemoved(self.venue, self.name, order_id, reason))

    def _apply_listing(self, listing: OrdersList) -> None:
        """Replace the map with the venue's listing, except for ids live frames changed after
        the listing was asked for: those frames are at least as new as the listing."""
        touched, self._touched = self._touched or set(), None
        fresh: dict[str, WorkingOrder] = {}
        for update in listing.orders:
            working = protocol.working_order(update, reduce_only=self._is_ours(update))
            if working is not None and working.order_id not in touched:
                fresh[working.order_id] = working
        for oid in touched:
            if oid in self._resting:
                fresh[oid] = self._resting[oid]
        self._resting = fresh
        self._emit(WorkingOrdersSnapshot(self.venue, self.name, tuple(fresh.values())))


_CANCELLED_STATUSES = frozenset({"CANCELLED", "CANCELLED_STP"})
# Statuses that answer a cancel or modify of an existing order, never a new order.
_NOT_A_PLACEMENT_REPLY = frozenset(
    {"NO_SUCH_ORDER", "CANNOT_MODIFY_NO_SUCH_ORDER", "CANNOT_MODIFY_PARTIAL_FILL"}
)


def _frame_type(frame: str) -> str:
    kind: Any = json.loads(frame).get("type")
    return str(kind)


def _expected_type(frame: str) -> str:
    """The order type a close frame rests as; ``close_position`` becomes a LIMIT IOC."""
    order_type = json.loads(frame)["params"].get("order_type", "LIMIT")
    return str(order_type)
