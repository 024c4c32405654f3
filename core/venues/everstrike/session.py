"""Everstrike transport: signed REST (httpx) for trading and snapshots, a WebSocket for events.

Only I/O lives here; every byte is built and every reply parsed by :mod:`.protocol`.
Everstrike has no client order id, so the session maps the venue's order id to ours as soon as
the ``/auth/close`` reply names it, and holds WS events that race ahead of that reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Generator, Mapping
from dataclasses import replace
from typing import Any, Final, Literal
from urllib.parse import urlsplit

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    Instrument,
    OrderStatus,
    OrderUpdate,
    Position,
    PositionRemoved,
    PositionsSnapshot,
    ProtocolError,
    SessionEvent,
    Venue,
)
from core.venue import (
    AccountConfig,
    CloseRejected,
    Credentials,
    EventSink,
    ReconnectPolicy,
    SessionClosed,
    VenueSession,
    check_endpoint,
)
from core.venues.everstrike import protocol
from core.venues.everstrike.protocol import (
    EverstrikeError,
    MalformedReply,
    RateLimited,
    StaleTimestamp,
)

__all__ = ["AuthenticationFailed", "EverstrikeSession"]

log = logging.getLogger(__name__)

_ORDER_MAP_LIMIT: Final = 10_000  # venue order id -> client order id, oldest dropped first


class AuthenticationFailed(Exception):
    """The venue refused our key; reconnecting cannot fix it."""


class _SignBody(httpx.Auth):
    """Sign ``request.content``, the exact bytes httpx sends, so body and signature can't drift."""

    requires_request_body = True

    def __init__(self, credentials: Credentials) -> None:
        self._credentials = credentials

    def __repr__(self) -> str:
        return "_SignBody(***)"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["x-api-key"] = self._credentials.public_key
        request.headers["x-signature"] = protocol.sign(
            self._credentials.secret, request.content.decode("utf-8")
        )
        yield request


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1")


def _plain(exc: EverstrikeError) -> str:
    """What the trader reads when a close is refused."""
    detail = f" ({exc.msg})" if exc.msg else ""
    if isinstance(exc, RateLimited):
        wait = f" Try again in {exc.retry_after:g} s." if exc.retry_after is not None else ""
        return f"Everstrike is rate limiting this account{detail}.{wait} Nothing was placed."
    if isinstance(exc, StaleTimestamp):
        return (
            "Everstrike refused the close because its timestamp was too old (clock skew). "
            "The clock offset has been resynchronised; nothing was placed, send it again."
        )
    if exc.http_status == 401 or exc.code == 401:
        return f"Everstrike refused the API key or signature{detail}. Nothing was placed."
    if exc.http_status == 503 or exc.code == 503:
        return f"Everstrike refused the request{detail}. Nothing was placed."
    status = f"HTTP {exc.http_status}" if exc.http_status is not None else "error"
    code = f", code {exc.code}" if exc.code is not None else ""
    return f"Everstrike refused the close ({status}{code}){detail}. Nothing was placed."


class EverstrikeSession(VenueSession):
    venue = Venue.EVERSTRIKE
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
        recv_window: int | None = 5000,
        keepalive: float = 5.0,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(account, credentials, sink, reconnect=reconnect)
        endpoints = {**protocol.DEFAULT_ENDPOINTS.get(account.environment, {})}
        endpoints.update(account.endpoints)
        rest, ws = endpoints.get("rest", ""), endpoints.get("ws", "")
        if not rest or not ws:
            raise ValueError(
                f"account {account.name!r}: Everstrike needs 'rest' and 'ws' endpoints "
                f"for the {account.environment.value} environment"
            )
        self._rest_url = check_endpoint(rest).rstrip("/")
        self._ws_url = check_endpoint(ws)
        self._transport = transport
        self._clock = clock
        self._recv_window = recv_window
        self._keepalive = keepalive
        self._timeout = timeout
        self._auth = _SignBody(credentials)
        self._client: httpx.AsyncClient | None = None
        self._ws: ClientConnection | None = None
        self._state: Literal["new", "starting", "running", "stopped"] = "new"
        self._connected = False
        self._connected_at = 0.0
        self._offset_ms = 0.0
        self._instruments: dict[str, Instrument] = {}
        self._held_pairs: dict[str, None] = {}  # open positions, in the order we saw them
        self._subscribed: set[str] = set()
        self._subs_lock = asyncio.Lock()
        self._order_clients: OrderedDict[str, str] = OrderedDict()
        self._inflight: dict[str, int] = {}  # symbol -> closes POSTed and not yet answered
        self._held: dict[str, list[SessionEvent]] = {}  # WS events waiting for those answers
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
        return round(self._offset_ms)

    async def start(self) -> None:
        if self._state != "new":
            raise SessionClosed(f"{self.name}: session already {self._state}")
        self._state = "starting"
        self._client = httpx.AsyncClient(
            base_url=self._rest_url, transport=self._transport, timeout=self._timeout
        )
        self._connection(ConnectionState.CONNECTING)
        try:
            await self._load_pairs()
            await self._sync_time()
            await self._open()
        except BaseException as exc:
            if not self._stopped():  # stop() during start() already cleaned up
                self._connection(ConnectionState.FAILED, self._why(exc))
                await self._shutdown()
            raise
        if self._stopped():
            raise SessionClosed(f"{self.name}: stopped while starting")
        self._state = "running"
        self._run_task = asyncio.create_task(self._run(), name=f"everstrike-{self.name}")

    async def stop(self) -> None:
        if self._state == "stopped":
            return
        was_started = self._state != "new"
        await self._shutdown()
        if was_started:
            self._connection(ConnectionState.DISCONNECTED, "stopped")

    def preview_close(self, request: CloseRequest) -> str:
        body = self._encode(request)
        signed = protocol.build_signed_post(
            protocol.CLOSE_PATH, body, self.credentials.public_key, self.credentials.secret
        )
        return protocol.redacted(signed)

    async def send_close(self, request: CloseRequest) -> None:
        client = self._client
        if self._state != "running" or client is None:
            raise SessionClosed(f"{self.name}: Everstrike session is not running; nothing sent")
        body = self._encode(request)
        symbol = request.key.symbol
        self._inflight[symbol] = self._inflight.get(symbol, 0) + 1
        try:
            try:
                response = await client.post(
                    protocol.CLOSE_PATH,
                    content=body.encode("utf-8"),
                    headers={"content-type": protocol.FORM_CONTENT_TYPE},
                    auth=self._auth,
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # No connection was made, so nothing was written.
                message = f"Could not reach Everstrike ({type(exc).__name__}); nothing was sent."
                self._outcome(request, OrderStatus.REJECTED, "not sent", message)
                raise CloseRejected(message, code="unreachable") from None
            except (httpx.HTTPError, asyncio.CancelledError) as exc:
                message = "No answer from the venue; not resent. Check positions at Everstrike."
                self._outcome(request, OrderStatus.UNKNOWN, "no answer", message)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                raise CloseRejected(message, code="no_answer") from None
            await self._on_close_reply(request, response)
        finally:
            left = self._inflight.get(symbol, 1) - 1
            if left > 0:
                self._inflight[symbol] = left
            else:
                self._inflight.pop(symbol, None)
                for event in self._held.pop(symbol, []):
                    self._emit(event)

    async def refresh_positions(self) -> None:
        if self._state != "running":
            raise SessionClosed(f"{self.name}: Everstrike session is not running")
        await self._snapshot()
        self._spawn(self._sync_subscriptions())

    # ------------------------------------------------------------------ REST

    def _now_ms(self) -> int:
        """Our clock corrected by the venue's, so timestamps pass its 15 s window."""
        return int(self._clock() * 1000 + self._offset_ms)

    def _encode(self, request: CloseRequest) -> str:
        try:
            return protocol.encode_close(request, self._now_ms(), self._recv_window)
        except protocol.EncodeError as exc:
            raise CloseRejected(str(exc), code=f"invalid:{exc.field}") from None

    async def _get(self, path: str, *, private: bool) -> Any:
        """GETs carry the key only: Everstrike does not check signatures on them (VENUES §2.2)."""
        client = self._client
        if client is None:
            raise SessionClosed(f"{self.name}: Everstrike session is not running")
        headers = {"x-api-key": self.credentials.public_key} if private else {}
        try:
            response = await client.get(path, headers=headers)
        except httpx.HTTPError as exc:
            raise EverstrikeError(
                None, None, f"could not reach Everstrike for {path}: {type(exc).__name__}"
            ) from None
        return protocol.parse_envelope(response.status_code, response.content)

    async def _load_pairs(self) -> None:
        result = await self._get("/pairs", private=False)
        try:
            self._instruments = protocol.parse_pairs(result)
        except MalformedReply as exc:  # reference data is an aid; carry on without it
            self._protocol_error(f"Everstrike /pairs: {exc.msg}", "pairs")

    async def _sync_time(self) -> None:
        before = self._clock()
        result = await self._get("/time", private=False)
        after = self._clock()
        self._offset_ms = protocol.parse_time(result) - (before + after) * 500.0

    async def _snapshot(self) -> None:
        result = await self._get("/active_positions", private=True)
        positions = protocol.parse_active_positions(result, self.name)
        self._held_pairs = dict.fromkeys(p.key.symbol for p in positions)
        self.sink(PositionsSnapshot(venue=self.venue, account=self.name, positions=positions))

    async def _on_close_reply(self, request: CloseRequest, response: httpx.Response) -> None:
        try:
            result = protocol.parse_envelope(response.status_code, response.content)
        except MalformedReply as exc:
            if 400 <= response.status_code < 500 and response.status_code != 408:
                message = f"Everstrike refused the close (HTTP {response.status_code})."
                raw = f"HTTP {response.status_code}"
                self._outcome(request, OrderStatus.REJECTED, raw, message)
                raise CloseRejected(message, code=str(response.status_code)) from None
            # A success or server-error status with an unreadable body: it may have been placed.
            message = (
                f"Everstrike answered HTTP {response.status_code} with an unreadable reply; "
                "the close may or may not be working. Not resent; check positions."
            )
            self._protocol_error(exc.msg, "close_reply")
            self._outcome(request, OrderStatus.UNKNOWN, f"HTTP {response.status_code}", message)
            raise CloseRejected(message, code="unreadable") from None
        except EverstrikeError as exc:
            if isinstance(exc, StaleTimestamp):
                with contextlib.suppress(EverstrikeError, SessionClosed):
                    await self._sync_time()
            message = _plain(exc)
            raw = f"HTTP {exc.http_status}" + (f" code {exc.code}" if exc.code is not None else "")
            self._outcome(request, OrderStatus.REJECTED, raw, message)
            code = str(exc.code if exc.code is not None else exc.http_status)
            raise CloseRejected(message, code=code) from None
        try:
            events = protocol.parse_close_reply(result, self.name, request.key.symbol)
        except MalformedReply as exc:
            self._protocol_error(f"Everstrike /auth/close reply: {exc.msg}", "close_reply")
            self._outcome(
                request,
                OrderStatus.UNKNOWN,
                "accepted",
                "Everstrike accepted the close but its reply could not be read; check positions.",
            )
            return
        if not any(isinstance(event, OrderUpdate) for event in events):
            self._outcome(
                request,
                OrderStatus.UNKNOWN,
                "accepted",
                "Everstrike answered OK without an order; refresh positions to see the result.",
            )
        for event in events:
            if isinstance(event, OrderUpdate) and event.order_id is not None:
                self._remember(event.order_id, request.client_order_id)
                event = replace(event, client_order_id=request.client_order_id)
            self._emit(event, direct=True)

    def _remember(self, order_id: str, client_order_id: str) -> None:
        self._order_clients[order_id] = client_order_id
        self._order_clients.move_to_end(order_id)
        while len(self._order_clients) > _ORDER_MAP_LIMIT:
            self._order_clients.popitem(last=False)

    def _outcome(
        self, request: CloseRequest, status: OrderStatus, raw_status: str, message: str
    ) -> None:
        """An OrderUpdate of our own for the request, when the venue gave us none."""
        trigger = request.trigger
        self.sink(
            OrderUpdate(
                venue=self.venue,
                account=self.name,
                symbol=request.key.symbol,
                status=status,
                raw_status=raw_status,
                final=status is not OrderStatus.UNKNOWN,
                client_order_id=request.client_order_id,
                side=request.order_side,
                quantity=request.quantity,
                price=request.limit_price,
                trigger_price=trigger.price if trigger is not None else None,
                message=message,
            )
        )

    # ------------------------------------------------------------------ event routing

    def _emit(self, event: SessionEvent, *, direct: bool = False) -> None:
        """Stamp our client id on order events, holding those that race ahead of a POST reply."""
        if isinstance(event, OrderUpdate):
            client_id = self._order_clients.get(event.order_id or "")
            if client_id is not None and event.client_order_id is None:
                event = replace(event, client_order_id=client_id)
            elif client_id is None and not direct and event.symbol in self._inflight:
                self._held.setdefault(event.symbol, []).append(event)
                return
        elif isinstance(event, Position | PositionRemoved):
            symbol = event.key.symbol
            if not direct and symbol in self._inflight:
                self._held.setdefault(symbol, []).append(event)
                return
            if isinstance(event, Position):
                self._held_pairs.setdefault(symbol)
            else:
                self._held_pairs.pop(symbol, None)
            if (symbol in self._held_pairs) != (symbol in self._subscribed):
                self._spawn(self._sync_subscriptions())
        self.sink(event)

    def _on_frame(self, frame: str | bytes) -> None:
        for event in protocol.parse_ws(frame, self.name):
            if isinstance(event, protocol.ControlEvent):
                continue  # acks and keep-alive replies
            if isinstance(event, protocol.WsError):
                self._protocol_error(f"Everstrike: {event.message}", "ws_error")
            elif isinstance(event, ProtocolError):
                self.sink(event)
            else:
                self._emit(event)

    def _protocol_error(self, message: str, code: str) -> None:
        self.sink(ProtocolError(venue=self.venue, account=self.name, message=message, code=code))

    def _connection(self, state: ConnectionState, message: str = "") -> None:
        self.sink(
            ConnectionEvent(venue=self.venue, account=self.name, state=state, message=message)
        )

    # ------------------------------------------------------------------ WebSocket

    async def _open(self) -> None:
        """Connect, authenticate, snapshot positions, subscribe marks.

        Authenticated before the snapshot, so no private event falls between the two.
        """
        ws = await connect(
            self._ws_url,
            open_timeout=self._timeout,
            proxy=None if _is_loopback(self._ws_url) else True,
        )
        try:
            await ws.send(protocol.auth_api(self.credentials.public_key))
            async with asyncio.timeout(self._timeout):
                await self._await_auth(ws)
            self._ws = ws
            self._subscribed = set()
            self._connected = True
            await self._snapshot()
            await self._sync_subscriptions()
        except BaseException:
            self._ws = None
            self._connected = False
            await ws.close()
            raise
        self._connected_at = time.monotonic()
        self._connection(ConnectionState.CONNECTED)

    async def _await_auth(self, ws: ClientConnection) -> None:
        while True:
            frame = await ws.recv()
            authenticated = False
            for event in protocol.parse_ws(frame, self.name):
                if isinstance(event, protocol.Authenticated):
                    authenticated = True
                elif isinstance(event, protocol.WsError):
                    raise AuthenticationFailed(f"Everstrike refused the API key: {event.message}")
                elif isinstance(event, ProtocolError):
                    self.sink(event)
                elif not isinstance(event, protocol.ControlEvent):
                    self._emit(event)
            if authenticated:
                return

    async def _sync_subscriptions(self) -> None:
        """Mark prices for held pairs, at most 10 (the venue's public-category limit)."""
        async with self._subs_lock:
            ws = self._ws
            if ws is None or not self._connected:
                return
            try:
                for pair in sorted(self._subscribed - self._held_pairs.keys()):
                    await ws.send(protocol.unsub(pair))
                    self._subscribed.discard(pair)
                for pair in self._held_pairs:
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
                except Exception:  # a sink bug must not kill the connection
                    log.exception("Everstrike event handling failed for %s", self.name)
            return "closed by Everstrike"
        except ConnectionClosed as exc:
            return f"connection lost: {exc}"
        finally:
            keep_alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keep_alive

    async def _run(self) -> None:
        delays = self.reconnect.delays()
        while self._state == "running":
            ws = self._ws
            reason = await self._read(ws) if ws is not None else "not connected"
            lived = time.monotonic() - self._connected_at
            self._connected = False
            self._ws = None
            if self._state != "running":
                return
            self._connection(ConnectionState.DISCONNECTED, reason)
            if lived >= self.reconnect.healthy_after:
                delays = self.reconnect.delays()
            while self._state == "running":
                await asyncio.sleep(next(delays))
                self._connection(ConnectionState.CONNECTING)
                try:
                    await self._open()
                    break
                except AuthenticationFailed as exc:
                    self._connection(ConnectionState.FAILED, str(exc))
                    return
                except EverstrikeError as exc:
                    if exc.http_status == 401:
                        self._connection(ConnectionState.FAILED, _plain(exc))
                        return
                    self._connection(ConnectionState.DISCONNECTED, self._why(exc))
                except (OSError, TimeoutError, WebSocketException) as exc:
                    self._connection(ConnectionState.DISCONNECTED, self._why(exc))
                except Exception as exc:  # a bug must not end reconnecting silently
                    log.exception("Everstrike reconnect failed for %s", self.name)
                    self._connection(ConnectionState.DISCONNECTED, self._why(exc))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._state not in ("starting", "running"):
            coro.close()
            return
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

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
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _stopped(self) -> bool:
        return self._state == "stopped"

    @staticmethod
    def _why(exc: BaseException) -> str:
        if isinstance(exc, EverstrikeError):
            return exc.msg
        if isinstance(exc, asyncio.CancelledError):
            return "cancelled"
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
