"""QFEX transport: the trade WebSocket, the market-data WebSocket and REST, and nothing else.

Every message is built and read by ``protocol``; what our orders are now is the order machine's
business (``orders.QfexOrders``). This module connects, authenticates, subscribes, keeps both
sockets up through ``core.venues.link``, writes what the machine and the desk ask for, and
feeds the machine every frame it reads. A close is written once and never again.

Every frame on the trade socket first takes its weight from a client-side rate limiter
(``core.ratelimit``), so a flatten of many positions slows down instead of being refused.
``AccountConfig.options`` are described in ``options``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Frame, Opcode
from websockets.protocol import State

from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    DroppedUpdate,
    Instrument,
    Position,
    PositionsSnapshot,
    ProtocolError,
    SessionEvent,
    SessionHealth,
    WorkingOrder,
)
from core.ratelimit import RateLimiter
from core.venue import (
    AccountConfig,
    CancelRejected,
    CloseRejected,
    Credentials,
    EventSink,
    PreparedCancel,
    PreparedClose,
    ReconnectPolicy,
    Restamped,
    SessionClosed,
    VenueSession,
    check_endpoint,
    redact,
)
from core.venues.clock import VenueClock, refusal_note
from core.venues.link import LinkFailed, Verdict, frame_too_big, reconnecting
from core.venues.qfex import protocol
from core.venues.qfex.errors import (
    TRANSIENT,
    QfexAuthError,
    QfexConnectError,
    QfexRequestFailed,
    QfexUnreadableReply,
)
from core.venues.qfex.marks import MarkFeed
from core.venues.qfex.options import OPTIONS, SUBACCOUNT_OPTION, QfexOptions
from core.venues.qfex.orders import (
    CANCEL_GONE,
    CANCEL_LOST,
    CANCEL_NO_ANSWER,
    RATE_LIMITED,
    CancelAnswered,
    CancelKey,
    CheckCloses,
    Dropped,
    ListingAnswered,
    Penalty,
    QfexOrders,
    build_cancel,
    cancel_key,
)
from core.venues.qfex.protocol import (
    CAPABILITIES,
    CHANNELS,
    DEFAULT_ENDPOINTS,
    DEFAULT_RATE_WEIGHTS,
    Authenticated,
    ErrorFrame,
    InvalidClose,
    OrdersList,
    QfexEvent,
    QfexProtocolError,
    Subscribed,
)
from core.venues.qfex.rest import QfexRest
from core.venues.qfex.sockets import arrival_of as _arrival_of
from core.venues.qfex.sockets import open_socket
from core.venues.wire import WIRE_MEMORY, remember_wire

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

# The docs say the server pings but not how often. Q-OLD's examples ping every 20 s, and a
# socket that hears nothing for that long is worth flagging, so 20 s until we measure one.
DEFAULT_KEEPALIVE = 20.0
_MIN_KEEPALIVE = 1.0  # two pings closer than this say nothing about the venue's period


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


@dataclass(frozen=True, slots=True)
class _Opened:
    """One authenticated, subscribed trade socket and the order listing it began with."""

    ws: ClientConnection
    listing: OrdersList | None


class QfexSession(VenueSession):
    venue = protocol.VENUE
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
        monotonic: Callable[[], float] = time.monotonic,
        nonce_factory: Callable[[], str] = lambda: secrets.token_hex(16),
        limiter: RateLimiter | None = None,
    ) -> None:
        """``clock`` is the wall clock signatures are stamped with; ``monotonic`` times health
        and tells the reconnect loop how long a connection lived."""
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
        # The venue's clock, from the Date header of its REST replies: every signature is
        # stamped with it (the option venue_clock = "local" signs with ours instead).
        self._venue_clock = VenueClock()
        self._monotonic = monotonic
        self._nonce = nonce_factory
        self._endpoints: dict[str, str] = {}
        self._rest: QfexRest | None = None
        self._ws: ClientConnection | None = None
        # When the frame being read reached the socket (core.venues.wire), and when each
        # close's write was started and returned: a close's wire time is their difference.
        self._frame_arrived: float | None = None
        self._written: OrderedDict[str, tuple[float, float | None]] = OrderedDict()
        self._close_wire: OrderedDict[str, float] = OrderedDict()
        self._frame: str | bytes | None = None  # the frame being read, while it is
        self._feed_marks: MarkFeed | None = None
        self._task: asyncio.Task[None] | None = None
        self._mds_task: asyncio.Task[None] | None = None
        self._check: asyncio.Task[None] | None = None  # settling closes whose reply was unread
        self._connected = False
        self._started = False
        self._stopping = False
        self._instruments: dict[str, Instrument] = {}
        self._orders = QfexOrders(account.name)
        # Waiters of the cancels and the listing in flight; the machine says what answers them.
        self._cancels: dict[CancelKey, asyncio.Future[None]] = {}
        self._listing_waiter: asyncio.Future[None] | None = None
        # Health.
        self._last_message_at: float | None = None
        self._last_ping_at: float | None = None
        self._ping_period: float | None = None

    # ------------------------------------------------------------------ contract

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return self._instruments

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def marks(self) -> Mapping[str, Decimal]:
        return self._feed_marks.marks if self._feed_marks is not None else {}

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
        self._rest = QfexRest(self._endpoints["rest"], self.name, transport=self._transport,
                              signed_headers=self._signed_headers, monotonic=self._monotonic,
                              clock=self._clock, venue_clock=self._venue_clock)
        try:
            await self._load_refdata()
            opened = await self._open()
        except BaseException as exc:
            # A failed start leaves nothing running, so start() may simply be called again.
            self._started = False
            await self._shutdown()
            if self._stopping and isinstance(exc, Exception):
                raise SessionClosed(f"QFEX account {self.name} was stopped while starting") \
                    from None
            if isinstance(exc, TRANSIENT):
                message = self._describe(exc)
                self._emit(self._conn(ConnectionState.FAILED, message))
                raise QfexConnectError(message) from None
            if isinstance(exc, QfexAuthError):
                self._emit(self._conn(ConnectionState.FAILED, str(exc)))
            elif isinstance(exc, Exception):
                self._emit(self._conn(ConnectionState.FAILED, self._describe(exc)))
            raise
        if self._stopping:  # stop() ran while we were connecting: leave nothing open
            await self._shutdown()
            raise SessionClosed(f"QFEX account {self.name} was stopped while starting")
        self._task = asyncio.create_task(self._run_trade(opened), name=f"qfex-trade-{self.name}")
        if self._endpoints.get("mds_ws"):
            self._feed_marks = MarkFeed(
                self._endpoints["mds_ws"], self.name, self.reconnect, emit=self._emit,
                observe=self._observe_mds, monotonic=self._monotonic,
                is_transient=lambda exc: isinstance(exc, TRANSIENT), timeout=self.reply_timeout,
            )
            self._mds_task = asyncio.create_task(self._feed_marks.run(),
                                                 name=f"qfex-mds-{self.name}")

    async def stop(self) -> None:
        if self._stopping:
            return
        self._stopping = True
        await self._shutdown()

    def prepare_close(self, request: CloseRequest) -> PreparedClose:
        frame = self._build(request)
        return PreparedClose(redacted=protocol.redacted(frame), wire=frame.encode(),
                             target="trade_ws", request=request)

    async def send(self, prepared: PreparedClose, *, restamped: Restamped | None = None) -> None:
        """Write ``prepared.wire`` once, as it is. QFEX frames carry no timestamp, so waiting
        for the rate limiter never makes one stale: ``restamped`` is never called here."""
        self._live_ws()
        # The id is claimed while the rate limiter makes us wait, so a second send of it cannot
        # slip through; it is released if nothing gets written.
        self._orders.claim(prepared)
        try:
            await self.limiter.acquire(self.options.weight(_frame_type(prepared.wire)))
            ws = self._live_ws()
        except BaseException:
            self._orders.release(prepared)
            raise
        # Recorded before writing: the reply can be read while send() waits for the buffer.
        self._orders.sent(prepared)
        cid = prepared.request.client_order_id
        self._note_written(cid, self._monotonic(), None)
        try:
            await ws.send(prepared.wire, text=True)
            if cid in self._written:  # not yet answered: the wire starts as the write returns
                self._note_written(cid, self._written[cid][0], self._monotonic())
        except ConnectionClosed:
            # The frame may have left before the drop. It stays in flight, so the disconnect
            # reports it UNKNOWN and it is reconciled; it is never resent.
            log.info("QFEX %s: connection closed while sending close %s", self.name,
                     prepared.request.client_order_id)

    def _note_written(self, client_order_id: str, before: float, after: float | None) -> None:
        self._written[client_order_id] = (before, after)
        while len(self._written) > WIRE_MEMORY:
            self._written.popitem(last=False)

    def wire_ms(self, client_order_id: str) -> float | None:
        """Asked while the close's first update is handled: that update's frame is being read,
        so its arrival is known. From the write returning to that arrival (from the write's
        start, when the reply came in while ``send`` was still waiting on the buffer)."""
        known = self._close_wire.get(client_order_id)
        if known is not None:
            return known
        written = self._written.pop(client_order_id, None)
        arrived = self._frame_arrived
        if written is None or arrived is None:
            return None
        before, after = written
        start = after if after is not None and arrived >= after else before
        ms = max(0.0, (arrived - start) * 1000)
        remember_wire(self._close_wire, client_order_id, ms)
        return ms

    def prepare_cancel(self, order: WorkingOrder) -> PreparedCancel:
        if order.venue is not self.venue or order.account != self.name:
            raise CancelRejected(f"order {order.order_id} does not belong to QFEX {self.name}")
        frame = build_cancel(order)
        return PreparedCancel(redacted=protocol.redacted(frame), wire=frame.encode(),
                              target="trade_ws", order=order)

    async def cancel(self, prepared: PreparedCancel, *, restamped: Restamped | None = None) -> None:
        """Write one cancel and wait for its answer. Never resent: a cancel that gets no answer
        in ``cancel_timeout`` is reported as such, and the order list says what is true. As
        for closes, ``restamped`` is never called: the frame carries no timestamp."""
        self._live_ws()
        key = cancel_key(prepared.order)
        future = self._cancels.get(key)
        if future is None:  # a second click joins the cancel already on its way
            future = asyncio.get_running_loop().create_future()
            # Registered before writing: the reply can be read while send() waits.
            self._cancels[key] = future
            self._orders.cancel_sent(prepared)
            try:
                await self.limiter.acquire(self.options.weight(_frame_type(prepared.wire)))
                ws = self._live_ws()
            except BaseException:
                self._forget_cancel(key, future)
                raise
            try:
                await ws.send(prepared.wire, text=True)
            except ConnectionClosed:
                # It may have left: the disconnect fails the waiter with CANCEL_LOST.
                log.info("QFEX %s: connection closed while cancelling %s", self.name, key[1])
        try:
            async with asyncio.timeout(self.options.cancel_timeout):
                await asyncio.shield(future)
        except TimeoutError:
            self._forget_cancel(key, future)
            raise CancelRejected(CANCEL_NO_ANSWER, code="timeout") from None

    def _forget_cancel(self, key: CancelKey, future: asyncio.Future[None]) -> None:
        if self._cancels.get(key) is future:
            del self._cancels[key]
            self._orders.cancel_abandoned(key)

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
            rtt_ms=self._rest.rtt_ms if self._rest is not None else None,
            rtt_samples=self._rest.rtt_samples if self._rest is not None else None,
            skew_ms=self._venue_clock.offset * 1000 if self._venue_clock.measured else None,
            rate_headroom=self.limiter.headroom(),
            keepalive_s=self._ping_period or DEFAULT_KEEPALIVE,
        )

    async def refresh_positions(self) -> None:
        if self._rest is None or self._stopping:
            raise SessionClosed(f"QFEX account {self.name} is not started")
        positions = await self._fetch_positions()
        self._emit(PositionsSnapshot(self.venue, self.name, positions))

    # ------------------------------------------------------------------ writing

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
        self._orders.listing_asked()
        await ws.send(protocol.build_get_user_orders())

    async def _look_up(self, ws: ClientConnection) -> None:
        """The order machine's lookups (``get_order``); replies arrive on the reader."""
        for kind, frame in self._orders.frames_to_send():
            try:
                await self._write(ws, frame, kind)
            except ConnectionClosed:
                return  # the next reconnect looks again

    def _penalise(self, hint: float | None) -> None:
        """Hold every sender back after the venue said we went too fast. The hint's format is
        UNKNOWN, so it is bounded by the rate window: a garbled hint cannot freeze trading."""
        seconds = self.options.rate_limited_backoff if hint is None else hint
        seconds = min(max(seconds, 0.0), self.options.rate_window)
        log.warning("QFEX %s: rate limited; holding back for %.3f s", self.name, seconds)
        self.limiter.penalise(seconds)

    # ------------------------------------------------------------------ the order machine

    def _feed(self, event: QfexEvent) -> None:
        self._orders.receive(event)
        self._drain()

    def _drain(self) -> None:
        """Carry out what the order machine asked for, then tell the desk what it said."""
        for event in self._orders.events_to_emit():
            self._emit(event)
        for out in self._orders.outputs():
            if isinstance(out, Penalty):
                self._penalise(out.seconds)
            elif isinstance(out, CancelAnswered):
                future = self._cancels.pop(out.key, None)
                if future is not None:
                    _settle_future(future, out.error)
            elif isinstance(out, ListingAnswered):
                self._answer_listing(out)
            elif isinstance(out, Dropped):  # journaled as received, never shown
                raw = "" if self._frame is None else protocol.received_text(self._frame)
                self._emit(DroppedUpdate(out.event, out.why, raw))
            elif isinstance(out, CheckCloses) and self._check is None:
                self._check = asyncio.create_task(self._check_closes())

    async def _check_closes(self) -> None:
        """Settle closes whose reply could not be read: positions, then the open orders.
        Nothing is resent; if this fails they stay Unknown until the next reconnect."""
        try:
            await self.refresh_positions()
            await self.refresh_orders()
        except (SessionClosed, QfexRequestFailed, QfexAuthError, httpx.HTTPError, OSError) as exc:
            log.info("QFEX %s: could not check closes: %s", self.name, exc)
        finally:
            self._check = None

    def _answer_listing(self, answer: ListingAnswered) -> None:
        future, self._listing_waiter = self._listing_waiter, None
        if future is None:
            return
        if answer.lost:
            error: BaseException | None = SessionClosed(
                f"QFEX account {self.name}: connection lost before the order list")
        else:
            error = None if answer.error is None else QfexRequestFailed(answer.error)
        _settle_future(future, error)

    def _emit(self, event: SessionEvent) -> None:
        try:
            self.sink(event)
        except Exception:
            log.exception("QFEX %s: event sink raised; event dropped", self.name)

    def _build(self, request: CloseRequest) -> str:
        symbol = request.key.symbol
        try:
            return protocol.build_close(
                request, self.marks.get(symbol), self._instruments.get(symbol)
            )
        except InvalidClose as exc:
            raise CloseRejected(str(exc), code=exc.field) from None

    # ------------------------------------------------------------------ connection

    def _observe(self, frame: Frame) -> None:
        now = self._monotonic()
        self._last_message_at = now
        if frame.opcode is Opcode.PING:
            if self._last_ping_at is not None:
                self._ping_period = max(_MIN_KEEPALIVE, now - self._last_ping_at)
            self._last_ping_at = now

    def _observe_mds(self, frame: Frame) -> None:
        self._last_message_at = self._monotonic()

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

    def _unix_ts(self) -> int:
        """What a signature is stamped with: our clock, corrected by the venue's."""
        if not self.options.venue_clock:
            return int(self._clock())
        return int(self._venue_clock.corrected(self._clock()))

    def _signed_headers(self) -> dict[str, str]:
        creds = self.credentials
        return protocol.rest_auth_headers(creds.public_key, creds.secret, self._nonce(),
                                          self._unix_ts(),
                                          self.account.options.get(SUBACCOUNT_OPTION))

    async def _open(self) -> _Opened:
        """Connect, authenticate, subscribe and resync positions and working orders. Raises on
        failure."""
        self._emit(self._conn(ConnectionState.CONNECTING))
        url = self._trade_url()
        # The auth message's budget is taken before connecting: the venue closes a socket
        # that has not authenticated within 60 s, and a rate penalty may last that long.
        await self.limiter.acquire(self.options.weight("auth"))
        try:
            # A fresh nonce for the handshake and another for the auth message: a nonce may be
            # used once per 15 minutes.
            ws = await open_socket(url, timeout=self.reply_timeout, observer=self._observe,
                                   headers=self._signed_headers(), clock=self._monotonic)
        except InvalidStatus as exc:
            if exc.response.status_code in (401, 403):
                raise QfexAuthError(
                    f"QFEX refused the API key for {self.name} "
                    f"(HTTP {exc.response.status_code} on connect)"
                ) from None
            raise
        self._last_ping_at = None
        try:
            auth = protocol.build_auth(
                self.credentials.public_key,
                self.credentials.secret,
                self._nonce(),
                self._unix_ts(),
                self.account.options.get(SUBACCOUNT_OPTION),
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
            self._orders.listing_abandoned()
            await ws.close()
            raise
        self._ws = ws
        self._connected = True
        self._emit(PositionsSnapshot(self.venue, self.name, positions))
        self._orders.connected(listing)
        self._drain()
        self._emit(self._conn(ConnectionState.CONNECTED))
        return _Opened(ws, listing)

    async def _await_auth(self, ws: ClientConnection) -> None:
        while True:
            for event in protocol.parse(await ws.recv(), self.name):
                if isinstance(event, Authenticated):
                    if event.ok:
                        return
                    raise QfexAuthError(
                        "QFEX refused the API key or signature (authenticated: false). "
                        f"{self._clock_note()}"
                    )
                if isinstance(event, ErrorFrame) and event.client_order_id is None:
                    if event.error_code == "RateLimited":
                        self._penalise(event.retry_after)
                    if event.error_code in ("RateLimited", "ServerError"):
                        raise QfexConnectError(f"QFEX auth failed: {event.message}")
                    raise QfexAuthError(f"QFEX auth failed for {self.name}: {event.message}")
                self._feed(event)

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
                    self._feed(event)

    async def _await_listing(self, ws: ClientConnection) -> OrdersList | None:
        """The reply to ``get_user_orders``; frames before it are handled as usual."""
        while True:
            for event in protocol.parse(await ws.recv(), self.name):
                if isinstance(event, OrdersList):
                    return event
                self._feed(event)
                if isinstance(event, ErrorFrame) and event.incoming_type == "get_user_orders":
                    return None

    async def _load_refdata(self) -> None:
        """Public reference data, for rounding and checks. Without it closes still work."""
        assert self._rest is not None
        try:
            self._instruments = await self._rest.refdata()
        except (httpx.HTTPError, QfexRequestFailed, QfexProtocolError) as exc:
            self._emit(ProtocolError(
                self.venue, self.name,
                f"Reference data unavailable ({self._describe(exc)}); tick and lot checks are off",
            ))
        self._last_message_at = self._rest.answered_at or self._last_message_at

    async def _fetch_positions(self) -> tuple[Position, ...]:
        assert self._rest is not None
        try:
            return await self._rest.positions()
        except QfexUnreadableReply as exc:
            self._emit(ProtocolError(self.venue, self.name, str(exc), code="positions_reply"))
            raise
        finally:
            self._last_message_at = self._rest.answered_at or self._last_message_at

    # ------------------------------------------------------------------ the trade link

    async def _run_trade(self, first: _Opened) -> None:
        """Read until the socket drops, then reconnect with backoff until stopped."""
        links = reconnecting(self._reopen, self.reconnect, self._classify,
                             clock=self._monotonic, first=first, on_retry=self._retrying)
        try:
            async for opened in links:
                if opened is not first and opened.listing is not None:
                    self._orders.reconcile(opened.listing)
                    self._drain()
                    await self._look_up(opened.ws)
                await self._read(opened.ws)
                if self._stopping:
                    return
                self._lost("Connection to QFEX lost; reconnecting")
        except LinkFailed as exc:
            self._emit(self._conn(ConnectionState.FAILED, str(exc.cause)))
        finally:
            await links.aclose()  # end the loop in this task, not when collected

    async def _reopen(self) -> _Opened:
        """Each attempt first reads the venue's clock afresh: it may have moved while we were
        away, and a signature stamped outside the venue's window is refused."""
        if not self._instruments:
            await self._load_refdata()
        elif self.options.venue_clock and self._rest is not None:
            await self._rest.measure_clock(next(iter(self._instruments)))
        return await self._open()

    def _classify(self, exc: BaseException) -> Verdict:
        """Every failure is retried with backoff, refused credentials included: a refusal
        says why on the badge (FAILED) and ends when the key, or the venue, is right again."""
        if not isinstance(exc, (*TRANSIENT, QfexAuthError)):
            log.warning("QFEX %s: reconnect failed unexpectedly; retrying", self.name,
                        exc_info=exc)
            self._emit(ProtocolError(
                self.venue, self.name, f"QFEX reconnect failed on a reply that could not be "
                f"handled ({type(exc).__name__}); retrying", code="reconnect_failed"))
        return Verdict.RETRY

    def _retrying(self, exc: BaseException, delay: float) -> None:
        if isinstance(exc, QfexAuthError):
            why = str(exc).rstrip(". ")
            self._emit(self._conn(ConnectionState.FAILED, f"{why}. Retrying in {delay:.0f} s"))
            return
        self._emit(self._conn(ConnectionState.DISCONNECTED,
                              f"Reconnect failed ({self._describe(exc)}); retrying"))

    def _clock_note(self) -> str:
        if not self.options.venue_clock:
            return ("Signatures use this computer's clock (option venue_clock = local); "
                    "check it.")
        return refusal_note(self._venue_clock)

    async def _read(self, ws: ClientConnection) -> None:
        try:
            async for message in ws:
                self._frame = message  # what a dropped duplicate is journaled with
                self._frame_arrived = _arrival_of(ws, self._monotonic())
                try:
                    for event in protocol.parse(message, self.name):
                        self._feed(event)
                except Exception as exc:  # venue data the parser or the machine choked on
                    log.debug("QFEX frame for %s not handled", self.name, exc_info=True)
                    self._emit(ProtocolError(
                        self.venue, self.name,
                        f"QFEX sent a frame that could not be handled ({type(exc).__name__})",
                        raw=protocol.received_text(message), code="unhandled_frame"))
                finally:
                    self._frame = None
                    self._frame_arrived = None
        except ConnectionClosed as exc:
            too_big = frame_too_big(exc)
            if too_big is not None:
                self._emit(ProtocolError(self.venue, self.name, too_big, code="frame_too_big"))

    def _lost(self, reason: str) -> None:
        """The socket is gone; the order machine says what that means for what was in flight."""
        self._connected = False
        self._ws = None
        self._last_ping_at = None
        self._emit(self._conn(ConnectionState.DISCONNECTED, reason))
        self._orders.connection_lost()
        self._drain()

    async def _shutdown(self) -> None:
        # Close the sockets first, so they end with a normal close rather than the 1011 that
        # websockets sends when a task is cancelled inside a read.
        if self._ws is not None:
            await self._ws.close()
        if self._feed_marks is not None:
            await self._feed_marks.close()
        current = asyncio.current_task()
        for task in (self._task, self._mds_task, self._check):
            if task is not None and task is not current:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._mds_task = self._check = None
        if self._connected:
            self._lost("Stopped")
        self._ws = None
        if self._rest is not None:
            await self._rest.aclose()
            self._rest = None


def _frame_type(wire: bytes) -> str:
    return str(json.loads(wire).get("type"))
