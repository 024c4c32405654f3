"""Everstrike transport: signed REST (httpx) for trading and snapshots, a WebSocket for events.

Only I/O lives here. Every byte is built and every reply parsed by :mod:`.protocol`; what the
replies and events mean for our closes is decided by the sans-IO :mod:`.orders` machine, which
this session feeds and whose requests (lookups, refreshes) it makes.

A close is built and signed once (:meth:`EverstrikeSession.prepare_close`) and those very bytes
are POSTed. If a rate-limit wait outlives half the signed timestamp's window, the request is
signed again and the caller told before it goes out. While the WS is down or silent,
``/active_positions`` is polled so rows stay fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final, Literal

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    Instrument,
    ProtocolError,
    SessionHealth,
    WorkingOrder,
)
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
    is_loopback_url,
)
from core.venues.everstrike import protocol
from core.venues.everstrike.options import OPTIONS, max_in_flight, option
from core.venues.everstrike.orders import (
    EverstrikeOrders,
    LookUp,
    Reconcile,
    RefreshPositions,
    SyncSubscriptions,
)
from core.venues.everstrike.protocol import EverstrikeError, MalformedReply, VenueOrder
from core.venues.everstrike.rest import EverstrikeRest, Gated, Sleep, error_code, not_sent, why
from core.venues.link import LinkFailed, Verdict, frame_too_big, reconnecting
from core.venues.wire import remember_wire

__all__ = ["OPTIONS", "AuthenticationFailed", "EverstrikeSession"]

log = logging.getLogger(__name__)

_LISTING_LIMIT: Final = 1000  # E-MM pages at 1000; a full page may be incomplete
_CANCEL_NO_ANSWER: Final = "no answer; the order may still be working — refresh"


class AuthenticationFailed(Exception):
    """The venue refused our key; reconnecting cannot fix it."""


class EverstrikeSession(VenueSession):
    venue = protocol.VENUE
    capabilities = protocol.CAPABILITIES

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
        sleep: Sleep = asyncio.sleep,
        recv_window: int | None = 5000,
        keepalive: float = 5.0,
        timeout: float = 10.0,
        time_sync_interval: float | None = 60.0,
        poll_interval: float = 3.0,
        stale_after: float | None = None,
        reconcile_delay: float = 0.5,
        reconcile_retry: float = 2.0,
        reconcile_attempts: int = 3,
        match_slack_ms: int = 2000,
        rate_limit_backoff: float = 1.0,
        max_rate_wait: float = 10.0,
    ) -> None:
        """``clock`` is wall time for timestamps; ``monotonic`` times the 429 gate, round trips,
        ``health()`` and the reconnect backoff's reset; ``sleep`` waits out the 429 gate (tests
        inject all three). ``time_sync_interval``: how often ``/time`` is re-measured (None or
        0: only on connect). ``poll_interval``: the ``/active_positions`` fallback while the WS
        is down or silent for ``stale_after`` (default twice the keep-alive; 0 turns polling
        off). ``reconcile_*``: when and how often a lost close is looked up.
        ``max_rate_wait``: a 429 wait longer than this refuses a request instead of holding it.
        """
        super().__init__(account, credentials, sink, reconnect=reconnect)
        unknown = set(account.options) - set(OPTIONS)
        if unknown:
            raise ValueError(f"account {account.name!r}: unknown Everstrike option(s) "
                             f"{', '.join(sorted(unknown))}; known: {', '.join(OPTIONS)}")
        opts = account.options
        window = option(opts, "recv_window", recv_window)
        recv_window = None if not window else int(window)
        keepalive = option(opts, "keepalive", keepalive) or keepalive
        timeout = option(opts, "timeout", timeout) or timeout
        time_sync_interval = option(opts, "time_sync_interval", time_sync_interval)
        poll_interval = option(opts, "poll_interval", poll_interval) or 0.0
        match_slack_ms = int(option(opts, "match_slack_ms", match_slack_ms) or 0)
        max_rate_wait = option(opts, "max_rate_wait", max_rate_wait) or 0.0
        # Refused here like any bad option; flatten reads it via VenueInfo.account_concurrency.
        self.max_in_flight = max_in_flight(opts)
        endpoints = {**protocol.DEFAULT_ENDPOINTS.get(account.environment, {})}
        endpoints.update(account.endpoints)
        rest, ws = endpoints.get("rest", ""), endpoints.get("ws", "")
        if not rest or not ws:
            raise ValueError(
                f"account {account.name!r}: Everstrike needs 'rest' and 'ws' endpoints "
                f"for the {account.environment.value} environment"
            )
        self._ws_url = check_endpoint(ws)
        self._rest = EverstrikeRest(
            account.name,
            check_endpoint(rest).rstrip("/"),
            credentials,
            transport=transport,
            timeout=timeout,
            clock=clock,
            monotonic=monotonic,
            sleep=sleep,
            recv_window=recv_window,
            rate_limit_backoff=rate_limit_backoff,
            max_rate_wait=max_rate_wait,
        )
        self._monotonic = monotonic
        self._recv_window = recv_window
        self._keepalive = keepalive
        self._timeout = timeout
        self._time_sync_interval = time_sync_interval
        self._poll_interval = poll_interval
        self._stale_after = 2 * keepalive if stale_after is None else stale_after
        self._orders = EverstrikeOrders(
            account.name,
            match_slack_ms=match_slack_ms,
            reconcile_delay=reconcile_delay,
            reconcile_retry=reconcile_retry,
            reconcile_attempts=reconcile_attempts,
        )
        self._ws: ClientConnection | None = None
        self._state: Literal["new", "starting", "running", "stopped"] = "new"
        self._connected = False
        self._last_ws_at: float | None = None  # monotonic time of the last frame
        self._close_wire: OrderedDict[str, float] = OrderedDict()  # client id -> wire ms
        self._instruments: dict[str, Instrument] = {}
        self._subscribed: set[str] = set()
        self._subs_lock = asyncio.Lock()
        self._reconcile_lock = asyncio.Lock()
        self._run_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------------ public API

    @property
    def instruments(self) -> Mapping[str, Instrument]:
        return self._instruments

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def skew_ms(self) -> int:
        """Venue clock minus ours, in ms, from the last ``/time`` sync."""
        return round(self._rest.offset_ms)

    def health(self) -> SessionHealth:
        rest = self._rest
        heard = [t for t in (rest.last_reply_at, self._last_ws_at) if t is not None]
        return SessionHealth(
            connected=self._connected,
            last_message_at=max(heard, default=None),
            rtt_ms=rest.rtt_ms,
            skew_ms=rest.offset_ms if rest.skew_measured else None,
            # Everstrike publishes no REST budget; all we know is "none left" while a 429 lasts.
            rate_headroom=0.0 if rest.gated else None,
            keepalive_s=self._keepalive,
            rtt_samples=rest.rtt_samples,
        )

    def wire_ms(self, client_order_id: str) -> float | None:
        return self._close_wire.get(client_order_id)

    async def start(self) -> None:
        if self._state != "new":
            raise SessionClosed(f"{self.name}: session already {self._state}")
        self._state = "starting"
        self._rest.open()
        self._connection(ConnectionState.CONNECTING)
        try:
            await self._load_pairs()
            first = await self._open()
        except BaseException as exc:
            if not self._stopped():  # stop() during start() already cleaned up
                self._connection(ConnectionState.FAILED, why(exc))
                await self._shutdown()
            raise
        if self._stopped():  # stop() ran while we were connecting: close what _open opened
            await self._shutdown()
            raise SessionClosed(f"{self.name}: stopped while starting")
        self._state = "running"
        self._run_task = asyncio.create_task(self._run(first), name=f"everstrike-{self.name}")
        if self._time_sync_interval:
            self._spawn(self._clock_loop(self._time_sync_interval))
        if self._poll_interval > 0:
            self._spawn(self._poll_loop())

    async def stop(self) -> None:
        if self._state == "stopped":
            return
        was_started = self._state != "new"
        await self._shutdown()
        if was_started:
            self._connection(ConnectionState.DISCONNECTED, "stopped")

    def prepare_close(self, request: CloseRequest) -> PreparedClose:
        """Build and sign ``POST /auth/close`` once, stamped now; refuse bad input."""
        stamped = self._rest.now_ms()
        try:
            protocol.check_close(request, self._instruments.get(request.key.symbol))
            body = protocol.encode_close(request, stamped, self._recv_window)
        except protocol.EncodeError as exc:
            raise CloseRejected(str(exc), code=f"invalid:{exc.field}") from None
        redacted, wire, headers = self._rest.sign(protocol.CLOSE_PATH, body)
        return PreparedClose(redacted=redacted, wire=wire, target=protocol.CLOSE_PATH,
                             headers=headers, stamped_ms=stamped, request=request)

    def prepare_cancel(self, order: WorkingOrder) -> PreparedCancel:
        """Build and sign ``POST /auth/cancel`` once, stamped now."""
        stamped = self._rest.now_ms()
        try:
            body = protocol.encode_cancel(order.order_id, stamped, self._recv_window)
        except protocol.EncodeError as exc:
            raise CancelRejected(str(exc), code=f"invalid:{exc.field}") from None
        redacted, wire, headers = self._rest.sign(protocol.CANCEL_PATH, body)
        return PreparedCancel(redacted=redacted, wire=wire, target=protocol.CANCEL_PATH,
                              headers=headers, stamped_ms=stamped, order=order)

    async def send(self, prepared: PreparedClose, *, restamped: Restamped | None = None) -> None:
        """One POST of ``prepared.wire``, never retried (signed again, and ``restamped`` told,
        only if a 429 wait made it stale). A refusal raises CloseRejected; a lost or unreadable
        reply is not a refusal: it is reported UNKNOWN, reconciled in the background, and
        returns."""
        self._running()
        try:
            prepared = await self._rest.gate(
                prepared, restamped, lambda: self.prepare_close(prepared.request)
            )
        except Gated as exc:
            self._orders.rejected(prepared, "rate limited", str(exc))
            self._flush()
            raise CloseRejected(str(exc), code="rate_limited") from None
        self._orders.sent(prepared)
        try:
            try:
                response = await self._rest.post(prepared)
                remember_wire(self._close_wire, prepared.request.client_order_id,
                               self._rest.last_wire_ms)
            except httpx.HTTPError as exc:
                if not_sent(exc):
                    message = (
                        f"Could not reach Everstrike ({type(exc).__name__}); nothing was sent."
                    )
                    self._orders.rejected(prepared, "not sent", message)
                    raise CloseRejected(message, code="unreachable") from None
                self._orders.lost(prepared, "no answer", "No answer from Everstrike")
                return
            except asyncio.CancelledError:
                self._orders.lost(prepared, "no answer", "The close was interrupted")
                raise
            await self._on_close_reply(prepared, response)
        finally:
            self._orders.send_ended(prepared)
            self._flush()

    async def cancel(self, prepared: PreparedCancel, *, restamped: Restamped | None = None) -> None:
        """``POST /auth/cancel`` with the order (or trigger) id, once. UNKNOWN in the docs
        whether it cancels triggers; we assume it does, as the simulator does."""
        self._running()
        order = prepared.order
        try:
            prepared = await self._rest.gate(
                prepared, restamped, lambda: self.prepare_cancel(order)
            )
        except Gated as exc:
            raise CancelRejected(str(exc), code="rate_limited") from None
        try:
            response = await self._rest.post(prepared)
        except httpx.HTTPError as exc:
            if not_sent(exc):
                raise CancelRejected(
                    f"could not reach Everstrike ({type(exc).__name__}); nothing was sent — "
                    "the order is still working",
                    code="unreachable",
                ) from None
            self._spawn(self._quiet_orders_snapshot())
            raise CancelRejected(_CANCEL_NO_ANSWER, code="no_answer") from None
        try:
            result = protocol.parse_envelope(response.status_code, response.content)
        except MalformedReply as exc:
            if not 200 <= response.status_code < 300:
                self._spawn(self._quiet_orders_snapshot())
                raise CancelRejected(
                    f"Everstrike answered HTTP {response.status_code} with an unreadable reply; "
                    "the order may still be working — refresh",
                    code=str(response.status_code),
                ) from None
            self._protocol_error(f"Everstrike /auth/cancel reply: {exc.msg}", "cancel_reply")
            result = None
        except EverstrikeError as exc:
            message, look = await self._rest.refused(exc, "cancel")
            if look:
                self._spawn(self._quiet_orders_snapshot())
            raise CancelRejected(message, code=error_code(exc)) from None
        update = None
        if result is not None:
            try:
                update = protocol.parse_order(result, self.name, order.symbol)
            except MalformedReply as exc:
                self._protocol_error(f"Everstrike /auth/cancel reply: {exc.msg}", "cancel_reply")
        self._orders.cancelled(order, update, protocol.received_text(response.content))
        self._flush()

    async def refresh_positions(self) -> None:
        self._running()
        await self._snapshot()
        self._spawn(self._sync_subscriptions())

    async def refresh_orders(self) -> None:
        """Re-read every resting order; a failure is reported as a ProtocolError, not raised."""
        self._running()
        await self._quiet_orders_snapshot()

    # ------------------------------------------------------------------ replies

    def _running(self) -> None:
        if self._state != "running":
            raise SessionClosed(f"{self.name}: Everstrike session is not running; nothing sent")

    async def _on_close_reply(self, prepared: PreparedClose, response: httpx.Response) -> None:
        try:
            result = protocol.parse_envelope(response.status_code, response.content)
        except MalformedReply as exc:
            if 400 <= response.status_code < 500 and response.status_code != 408:
                message = f"Everstrike refused the close (HTTP {response.status_code})."
                self._orders.rejected(prepared, f"HTTP {response.status_code}", message)
                raise CloseRejected(message, code=str(response.status_code)) from None
            # A success or server-error status with an unreadable body: it may have been placed.
            self._protocol_error(exc.msg, "close_reply")
            self._orders.lost(
                prepared,
                f"HTTP {response.status_code}",
                f"Everstrike answered HTTP {response.status_code} with an unreadable reply",
            )
            return
        except EverstrikeError as exc:
            message, look = await self._rest.refused(exc, "close")
            raw = f"HTTP {exc.http_status}" + (f" code {exc.code}" if exc.code is not None else "")
            # E-MM treats 500 as a plain exchange error, so do we; but a server error can come
            # after the work was done, so look once and correct the record if so.
            self._orders.rejected(prepared, raw, message, look=look)
            raise CloseRejected(message, code=error_code(exc)) from None
        try:
            events = protocol.parse_close_reply(result, self.name, prepared.request.key.symbol)
        except MalformedReply as exc:
            self._protocol_error(f"Everstrike /auth/close reply: {exc.msg}", "close_reply")
            why = "Everstrike accepted the close but its reply could not be read"
            self._orders.lost(prepared, "accepted", why)
            return
        self._orders.replied(prepared, events, protocol.received_text(response.content))

    # ------------------------------------------------------------------ GETs and snapshots

    async def _load_pairs(self) -> None:
        result = await self._rest.get("/pairs", private=False)
        try:
            self._instruments = protocol.parse_pairs(result)
        except MalformedReply as exc:  # reference data is an aid; carry on without it
            self._protocol_error(f"Everstrike /pairs: {exc.msg}", "pairs")

    async def _clock_loop(self, interval: float) -> None:
        while self._state == "running":
            await asyncio.sleep(interval)
            try:
                await self._rest.sync_time()
            except MalformedReply as exc:  # keep the last good offset
                self._protocol_error(f"Everstrike /time: {exc.msg}", "time_reply")
            except (EverstrikeError, SessionClosed) as exc:  # keep the last good offset
                log.warning("Everstrike /time failed for %s: %s", self.name, why(exc))

    async def _snapshot(self) -> None:
        result = await self._rest.get("/active_positions", private=True)
        self._orders.positions(protocol.parse_active_positions(result, self.name))
        self._flush()

    async def _quiet_snapshot(self) -> None:
        try:
            await self._snapshot()
        except MalformedReply as exc:
            self._protocol_error(f"Everstrike /active_positions: {exc.msg}", "positions_reply")
        except (EverstrikeError, SessionClosed) as exc:
            log.info("Everstrike positions refresh failed for %s: %s", self.name, why(exc))

    async def _poll_loop(self) -> None:
        """The fallback: keep rows fresh from REST while the WS is down or silent."""
        while self._state == "running":
            await asyncio.sleep(self._poll_interval)
            heard = self._last_ws_at
            silent = heard is not None and self._monotonic() - heard > self._stale_after
            if self._state == "running" and (not self._connected or silent):
                await self._quiet_snapshot()

    async def _listing(
        self, path: str, pair: str | None = None, limit: int = _LISTING_LIMIT
    ) -> Any:
        params = {"limit": str(limit)}
        if pair is not None:
            params["pair"] = pair
        return await self._rest.get(path, private=True, params=params)

    async def _orders_snapshot(self) -> None:
        active = await self._listing(protocol.ACTIVE_ORDERS_PATH)
        triggers = await self._listing(protocol.TRIGGERS_PATH)
        orders = protocol.parse_working_orders(active, triggers, self.name)
        for path, listing in (
            (protocol.ACTIVE_ORDERS_PATH, active),
            (protocol.TRIGGERS_PATH, triggers),
        ):
            if isinstance(listing, list) and len(listing) >= _LISTING_LIMIT:
                self._protocol_error(
                    f"Everstrike {path} returned a full page of {_LISTING_LIMIT}; working orders "
                    "beyond it are not shown",
                    "orders_truncated",
                )
        self._orders.working(orders)
        self._flush()

    async def _quiet_orders_snapshot(self) -> None:
        try:
            await self._orders_snapshot()
        except (EverstrikeError, SessionClosed) as exc:
            self._protocol_error(
                f"Everstrike: could not list working orders: {why(exc)}", "orders"
            )

    # ------------------------------------------------------------------ the order machine

    def _flush(self) -> None:
        """Pass on what the order machine decided: events to the desk, requests made."""
        for event in self._orders.events_to_emit():
            self.sink(event)
        lookups: list[str] = []
        for request in self._orders.requests_to_make():
            if isinstance(request, Reconcile):
                self._spawn(self._reconcile(request))
            elif isinstance(request, LookUp):
                lookups.append(request.order_id)
            elif isinstance(request, RefreshPositions):
                self._spawn(self._quiet_snapshot())
            elif isinstance(request, SyncSubscriptions):
                self._spawn(self._sync_subscriptions())
        if lookups:
            self._spawn(self._lookups(lookups))

    async def _reconcile(self, request: Reconcile) -> None:
        """Look lost closes up at the venue (and, after a reconnect, every close of ours that
        was still working, since its events may have been missed). Never resends."""
        if request.delay > 0:
            await asyncio.sleep(request.delay)
        async with self._reconcile_lock:
            scope = self._orders.scope(after_reconnect=request.after_reconnect)
            if self._state != "running" or scope is None:
                return
            try:
                found: list[VenueOrder] = []
                for path in (protocol.ORDERS_PATH, protocol.TRIGGERS_PATH):
                    listing = await self._listing(path, scope.pair, limit=100)
                    found.extend(protocol.parse_order_list(listing, self.name))
            except (EverstrikeError, SessionClosed) as exc:
                self._orders.recent_failed(why(exc))
            else:
                self._orders.recent(found, scope)
            self._flush()

    async def _lookups(self, order_ids: list[str]) -> None:
        """``GET /order?id=`` one at a time, so a reconnect does not burst the venue."""
        for order_id in order_ids:
            try:
                params = {"id": order_id}
                result = await self._rest.get(protocol.ORDER_PATH, private=True, params=params)
                (order,) = protocol.parse_order_list([result], self.name)
            except (EverstrikeError, SessionClosed) as exc:
                if isinstance(exc, MalformedReply):
                    self._protocol_error(f"Everstrike /order: {exc.msg}", "order_reply")
                log.info("Everstrike /order %s failed for %s: %s", order_id, self.name, exc)
                order = None
            self._orders.looked_up(order_id, order)
            self._flush()

    # ------------------------------------------------------------------ WebSocket

    def _on_frame(self, frame: str | bytes) -> None:
        self._last_ws_at = self._monotonic()
        raw = protocol.received_text(frame)  # journaled with any event that is a duplicate
        for event in protocol.parse_ws(frame, self.name):
            if isinstance(event, protocol.WsError):
                self._protocol_error(f"Everstrike: {event.message}", "ws_error")
            elif isinstance(event, ProtocolError):
                self.sink(event)
            elif not isinstance(event, protocol.ControlEvent):  # acks, keep-alive replies
                self._orders.receive(event, raw)
                self._flush()

    def _protocol_error(self, message: str, code: str, raw: str = "") -> None:
        self.sink(ProtocolError(venue=self.venue, account=self.name, message=message, code=code,
                                raw=raw))

    def _connection(self, state: ConnectionState, message: str = "") -> None:
        self.sink(ConnectionEvent(self.venue, self.name, state, message))

    async def _open(self) -> ClientConnection:
        """Measure the clock, connect, authenticate, snapshot positions and working orders,
        subscribe marks.

        Authenticated before the snapshots, so no private event falls between the two.
        """
        await self._rest.sync_time()
        ws = await connect(
            self._ws_url,
            open_timeout=self._timeout,
            proxy=None if is_loopback_url(self._ws_url) else True,
        )
        try:
            await ws.send(protocol.auth_api(self.credentials.public_key))
            async with asyncio.timeout(self._timeout):
                await self._await_auth(ws)
            self._ws = ws
            self._subscribed = set()
            self._connected = True
            await self._snapshot()
            await self._quiet_orders_snapshot()
            await self._sync_subscriptions()
        except BaseException:
            self._ws = None
            self._connected = False
            await ws.close()
            raise
        self._connection(ConnectionState.CONNECTED)
        self._orders.connection_made()
        self._flush()
        return ws

    async def _await_auth(self, ws: ClientConnection) -> None:
        while True:
            frame = await ws.recv()
            self._last_ws_at = self._monotonic()
            authenticated = False
            for event in protocol.parse_ws(frame, self.name):
                if isinstance(event, protocol.Authenticated):
                    authenticated = True
                elif isinstance(event, protocol.WsError):
                    raise AuthenticationFailed(f"Everstrike refused the API key: {event.message}")
                elif isinstance(event, ProtocolError):
                    self.sink(event)
                elif not isinstance(event, protocol.ControlEvent):
                    self._orders.receive(event, protocol.received_text(frame))
                    self._flush()
            if authenticated:
                return

    async def _sync_subscriptions(self) -> None:
        """Mark prices for held pairs, at most 10 (the venue's public-category limit)."""
        async with self._subs_lock:
            ws = self._ws
            if ws is None or not self._connected:
                return
            held = self._orders.pairs
            try:
                for pair in sorted(self._subscribed - set(held)):
                    await ws.send(protocol.unsub(pair))
                    self._subscribed.discard(pair)
                for pair in held:
                    if len(self._subscribed) >= protocol.INDEX_SUBSCRIPTION_LIMIT:
                        break
                    if pair not in self._subscribed:
                        await ws.send(protocol.sub(pair))
                        self._subscribed.add(pair)
            except ConnectionClosed:
                return  # the reader notices and reconnects, then resubscribes

    async def _keep_alive(self, ws: ClientConnection) -> None:
        message = protocol.status()
        while True:
            await asyncio.sleep(self._keepalive)
            try:
                await ws.send(message)
            except ConnectionClosed:
                return

    async def _read(self, ws: ClientConnection) -> str:
        """Feed every frame to the parser until the connection ends; return why it ended."""
        keep_alive = asyncio.create_task(self._keep_alive(ws))
        try:
            async for frame in ws:
                try:
                    self._on_frame(frame)
                except Exception as exc:  # venue data the parser or the machine choked on
                    log.debug("Everstrike frame for %s not handled", self.name, exc_info=True)
                    self._protocol_error(
                        f"Everstrike sent a frame that could not be handled "
                        f"({type(exc).__name__})", "unhandled_frame",
                        raw=protocol.received_text(frame))
            return "closed by Everstrike"
        except ConnectionClosed as exc:
            too_big = frame_too_big(exc)
            if too_big is not None:
                self._protocol_error(too_big, "frame_too_big")
            return f"connection lost: {exc}"
        finally:
            keep_alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keep_alive

    async def _run(self, first: ClientConnection) -> None:
        """Read each connection until it ends, then reconnect with backoff until stopped."""
        links = reconnecting(
            self._open,
            self.reconnect,
            self._classify,
            clock=self._monotonic,
            first=first,
            on_attempt=lambda: self._connection(ConnectionState.CONNECTING),
            on_retry=lambda exc, _delay: self._connection(
                ConnectionState.DISCONNECTED, why(exc)
            ),
        )
        try:
            # Closed here, not by the garbage collector, when this task is cancelled.
            async with contextlib.aclosing(links):
                async for ws in links:
                    reason = await self._read(ws)
                    self._connected = False
                    self._ws = None
                    self._orders.connection_lost()
                    if self._state != "running":
                        return
                    self._connection(ConnectionState.DISCONNECTED, reason)
        except LinkFailed as exc:
            cause = exc.cause
            message = str(cause) if isinstance(cause, AuthenticationFailed) else why(cause)
            self._connection(ConnectionState.FAILED, message)

    def _classify(self, exc: BaseException) -> Verdict:
        """A refused key is fatal; anything else is worth another try."""
        if isinstance(exc, AuthenticationFailed):
            return Verdict.FATAL
        if isinstance(exc, MalformedReply):  # a reply we could not read: said, and retried
            self._protocol_error(f"Everstrike reconnect: {exc.msg}; retrying", "reconnect_reply")
        if isinstance(exc, EverstrikeError):
            return Verdict.FATAL if exc.http_status == 401 else Verdict.RETRY
        if not isinstance(exc, OSError | TimeoutError | WebSocketException):
            # A reply that could not be handled must not end reconnecting, nor go unreported.
            log.warning("Everstrike reconnect failed for %s", self.name, exc_info=exc)
            self._protocol_error(f"Everstrike reconnect failed on a reply that could not be "
                                 f"handled ({type(exc).__name__}); retrying", "reconnect_failed")
        return Verdict.RETRY

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._state not in ("starting", "running"):
            coro.close()
            return
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        """A background request that failed in a way its own handling did not expect (a reply
        the parser choked on) is reported, never left as a task exception nobody reads."""
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.debug("Everstrike background request for %s failed", self.name, exc_info=exc)
            self._protocol_error(f"Everstrike reply could not be handled ({type(exc).__name__})",
                                 "unhandled_reply")

    async def _shutdown(self) -> None:
        self._state = "stopped"
        self._connected = False
        tasks = [t for t in (self._run_task, *self._tasks) if t is not None and not t.done()]
        current = asyncio.current_task()
        for task in tasks:
            if task is not current:
                task.cancel()
        for task in tasks:
            if task is not current:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        await self._rest.aclose()

    def _stopped(self) -> bool:
        return self._state == "stopped"
