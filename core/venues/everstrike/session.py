"""Everstrike transport: signed REST (httpx) for trading and snapshots, a WebSocket for events.

Only I/O lives here; every byte is built and every reply parsed by :mod:`.protocol`.
Everstrike has no client order id, so the session maps the venue's order id to ours as soon as
the ``/auth/close`` reply names it, and holds WS events that race ahead of that reply.

A close whose reply is lost is UNKNOWN and is never resent: it is reconciled from ``/orders``
(``protocol.match_close`` documents the heuristic) right after the failure and again after a
reconnect. While the WS is down or silent, ``/active_positions`` is polled so rows stay fresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
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
    SessionHealth,
    Venue,
    WorkingKind,
    WorkingOrder,
    WorkingOrderRemoved,
    WorkingOrdersSnapshot,
)
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
)
from core.venues.everstrike import protocol
from core.venues.everstrike.protocol import (
    EverstrikeError,
    MalformedReply,
    RateLimited,
    StaleTimestamp,
    VenueOrder,
)

__all__ = ["AuthenticationFailed", "EverstrikeSession"]

log = logging.getLogger(__name__)

_MEMORY_LIMIT: Final = 10_000  # per-order bookkeeping kept, oldest dropped first
_LISTING_LIMIT: Final = 1000  # E-MM pages at 1000; a full page may be incomplete
_LOOKUP_LIMIT: Final = 20  # single-order lookups after a reconnect, at most
_CANCEL_503: Final = (
    "the venue refused the cancel (generic failure); the order may already be filled or "
    "cancelled — refresh"
)
_CANCEL_NO_ANSWER: Final = "no answer; the order may still be working — refresh"
_NOT_FOUND: Final = "not found at the venue: it may not have arrived; check the position"

Sleep = Callable[[float], Awaitable[None]]
_Shape = tuple[Decimal | None, Decimal | None, Decimal | None]  # remaining, price, trigger price


class AuthenticationFailed(Exception):
    """The venue refused our key; reconnecting cannot fix it."""


class _Gated(Exception):
    """A 429 asked us to wait longer than we are willing to hold a request."""

    def __init__(self, wait: float) -> None:
        super().__init__(
            f"rate limited by Everstrike; it asked for {wait:.1f} s more before the next "
            "request — nothing was sent, try again shortly"
        )


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


@dataclass
class _Unresolved:
    """A close whose outcome we do not know; ``sent_ms`` is the venue-clock time it was signed."""

    request: CloseRequest
    sent_ms: int
    failures: int = 0
    # Already reported REJECTED (a venue 5xx): speak up only if the venue has it after all.
    quiet: bool = False


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1")


def _not_sent(exc: httpx.HTTPError) -> bool:
    """No connection was made, so nothing was written."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def _venue_error(exc: EverstrikeError) -> bool:
    """A server-side failure other than the documented generic 503: the request may have run."""
    status, code = exc.http_status or 0, exc.code or 0
    return (status >= 500 or code >= 500) and 503 not in (status, code)


def _code(exc: EverstrikeError) -> str:
    return str(exc.code if exc.code is not None else exc.http_status)


# Settings a user may override per account (``[accounts.options]`` in settings.toml), each an
# assumption where the Everstrike docs are silent.
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
}


def _option(options: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = options.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)  # a duration or a count, never money
    except ValueError:
        raise ValueError(f"option {name}={raw!r} is not a number ({OPTIONS[name]})") from None
    if value < 0:
        raise ValueError(f"option {name}={raw!r} must not be negative ({OPTIONS[name]})")
    return value


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
        """``clock`` is wall time for timestamps; ``monotonic`` and ``sleep`` drive the 429 gate
        and ``health()`` (tests inject both). ``time_sync_interval``: how often ``/time`` is
        re-measured (None or 0: only on connect). ``poll_interval``: the ``/active_positions``
        fallback while the WS is down or silent for ``stale_after`` (default twice the
        keep-alive; 0 turns polling off). ``reconcile_*``: when and how often a lost close is
        looked up.
        ``max_rate_wait``: a 429 wait longer than this refuses a request instead of holding it.
        """
        super().__init__(account, credentials, sink, reconnect=reconnect)
        unknown = set(account.options) - set(OPTIONS)
        if unknown:
            raise ValueError(f"account {account.name!r}: unknown Everstrike option(s) "
                             f"{', '.join(sorted(unknown))}; known: {', '.join(OPTIONS)}")
        opts = account.options
        window = _option(opts, "recv_window", recv_window)
        recv_window = None if not window else int(window)
        keepalive = _option(opts, "keepalive", keepalive) or keepalive
        timeout = _option(opts, "timeout", timeout) or timeout
        time_sync_interval = _option(opts, "time_sync_interval", time_sync_interval)
        poll_interval = _option(opts, "poll_interval", poll_interval) or 0.0
        match_slack_ms = int(_option(opts, "match_slack_ms", match_slack_ms) or 0)
        max_rate_wait = _option(opts, "max_rate_wait", max_rate_wait) or 0.0
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
        self._monotonic = monotonic
        self._sleep = sleep
        self._recv_window = recv_window
        self._keepalive = keepalive
        self._timeout = timeout
        self._time_sync_interval = time_sync_interval
        self._poll_interval = poll_interval
        self._stale_after = 2 * keepalive if stale_after is None else stale_after
        self._reconcile_delay = reconcile_delay
        self._reconcile_retry = reconcile_retry
        self._reconcile_attempts = max(1, reconcile_attempts)
        self._match_slack_ms = match_slack_ms
        self._rate_limit_backoff = rate_limit_backoff
        self._max_rate_wait = max_rate_wait
        self._auth = _SignBody(credentials)
        self._client: httpx.AsyncClient | None = None
        self._ws: ClientConnection | None = None
        self._state: Literal["new", "starting", "running", "stopped"] = "new"
        self._connected = False
        self._connected_at = 0.0
        # Health: venue clock minus ours; monotonic times of the last frame/reply; last RTT.
        self._offset_ms = 0.0
        self._skew_measured = False
        self._last_message_at: float | None = None
        self._last_ws_at: float | None = None
        self._rtt_ms: float | None = None
        self._not_before = float("-inf")  # monotonic: no signed POST before this (429)
        self._instruments: dict[str, Instrument] = {}
        self._held_pairs: dict[str, None] = {}  # open positions, in the order we saw them
        self._subscribed: set[str] = set()
        self._subs_lock = asyncio.Lock()
        self._order_clients: OrderedDict[str, str] = OrderedDict()  # venue id -> our id
        self._open_closes: OrderedDict[str, str] = OrderedDict()  # ours, not final: id -> ours
        # How far each order got: 0 trigger, 1 in the book, 2 done; and what was last emitted.
        # Upserts that would move an order backwards (reordered or duplicate events, a snapshot
        # older than an event) are dropped.
        self._stage: OrderedDict[str, tuple[int, _Shape | None]] = OrderedDict()
        self._inflight: dict[str, int] = {}  # symbol -> closes POSTed and not yet answered
        self._held: dict[str, list[SessionEvent]] = {}  # WS events waiting for those answers
        self._unresolved: dict[str, _Unresolved] = {}  # client id -> close of unknown outcome
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
        return round(self._offset_ms)

    def health(self) -> SessionHealth:
        gated = self._not_before > self._monotonic()
        return SessionHealth(
            connected=self._connected,
            last_message_at=self._last_message_at,
            rtt_ms=self._rtt_ms,
            skew_ms=self._offset_ms if self._skew_measured else None,
            # Everstrike publishes no REST budget; all we know is "none left" while a 429 lasts.
            rate_headroom=0.0 if gated else None,
            keepalive_s=self._keepalive,
        )

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

    def preview_close(self, request: CloseRequest) -> str:
        return self._preview(protocol.CLOSE_PATH, self._encode(request, self._now_ms()))

    def preview_cancel(self, order: WorkingOrder) -> str:
        try:
            body = protocol.encode_cancel(order.order_id, self._now_ms(), self._recv_window)
        except protocol.EncodeError as exc:
            raise CancelRejected(str(exc), code=f"invalid:{exc.field}") from None
        return self._preview(protocol.CANCEL_PATH, body)

    async def send_close(self, request: CloseRequest) -> None:
        """One POST, never retried. A refusal raises CloseRejected; a lost or unreadable reply
        is not a refusal: it is reported UNKNOWN, reconciled in the background, and returns."""
        self._running_client()
        self._encode(request, self._now_ms())  # refuse bad input before waiting on anything
        symbol = request.key.symbol
        self._inflight[symbol] = self._inflight.get(symbol, 0) + 1
        try:
            try:
                await self._wait_for_gate()
            except _Gated as exc:
                self._outcome(request, OrderStatus.REJECTED, "rate limited", str(exc))
                raise CloseRejected(str(exc), code="rate_limited") from None
            sent_ms = self._now_ms()
            body = self._encode(request, sent_ms)
            try:
                response = await self._post(protocol.CLOSE_PATH, body)
            except httpx.HTTPError as exc:
                if _not_sent(exc):
                    message = (
                        f"Could not reach Everstrike ({type(exc).__name__}); nothing was sent."
                    )
                    self._outcome(request, OrderStatus.REJECTED, "not sent", message)
                    raise CloseRejected(message, code="unreachable") from None
                self._lost(request, sent_ms, "no answer", "No answer from Everstrike")
                return
            except asyncio.CancelledError:
                self._lost(request, sent_ms, "no answer", "The close was interrupted")
                raise
            await self._on_close_reply(request, response, sent_ms)
        finally:
            left = self._inflight.get(symbol, 1) - 1
            if left > 0:
                self._inflight[symbol] = left
            else:
                self._inflight.pop(symbol, None)
                for event in self._held.pop(symbol, []):
                    self._emit(event)

    async def cancel_order(self, order: WorkingOrder) -> None:
        """``POST /auth/cancel`` with the order (or trigger) id, once. UNKNOWN in the docs
        whether it cancels triggers; we assume it does, as the simulator does."""
        self._running_client()
        try:
            await self._wait_for_gate()
        except _Gated as exc:
            raise CancelRejected(str(exc), code="rate_limited") from None
        try:
            body = protocol.encode_cancel(order.order_id, self._now_ms(), self._recv_window)
        except protocol.EncodeError as exc:
            raise CancelRejected(str(exc), code=f"invalid:{exc.field}") from None
        try:
            response = await self._post(protocol.CANCEL_PATH, body)
        except httpx.HTTPError as exc:
            if _not_sent(exc):
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
            message = await self._refusal(exc, "cancel")
            if exc.code == 503 or exc.http_status == 503 or _venue_error(exc):
                self._spawn(self._quiet_orders_snapshot())
            raise CancelRejected(message, code=_code(exc)) from None
        if result is not None:
            try:
                self._emit(protocol.parse_order(result, self.name, order.symbol), direct=True)
            except MalformedReply as exc:
                self._protocol_error(f"Everstrike /auth/cancel reply: {exc.msg}", "cancel_reply")
        self._emit(WorkingOrderRemoved(self.venue, self.name, order.order_id, "cancelled"))

    async def refresh_positions(self) -> None:
        self._running_client()
        await self._snapshot()
        self._spawn(self._sync_subscriptions())

    async def refresh_orders(self) -> None:
        """Re-read every resting order; a failure is reported as a ProtocolError, not raised."""
        self._running_client()
        await self._quiet_orders_snapshot()

    # ------------------------------------------------------------------ REST

    def _running_client(self) -> httpx.AsyncClient:
        client = self._client
        if self._state != "running" or client is None:
            raise SessionClosed(f"{self.name}: Everstrike session is not running; nothing sent")
        return client

    def _now_ms(self) -> int:
        """Our clock corrected by the venue's, so timestamps pass its 15 s window."""
        return int(self._clock() * 1000 + self._offset_ms)

    def _encode(self, request: CloseRequest, timestamp_ms: int) -> str:
        try:
            protocol.check_close(request, self._instruments.get(request.key.symbol))
            return protocol.encode_close(request, timestamp_ms, self._recv_window)
        except protocol.EncodeError as exc:
            raise CloseRejected(str(exc), code=f"invalid:{exc.field}") from None

    def _preview(self, path: str, body: str) -> str:
        signed = protocol.build_signed_post(
            path, body, self.credentials.public_key, self.credentials.secret
        )
        return protocol.redacted(signed)

    def _heard(self) -> None:
        self._last_message_at = self._monotonic()

    async def _wait_for_gate(self) -> None:
        """After a 429 every signed POST waits out the venue's wait; none is retried."""
        wait = self._not_before - self._monotonic()
        if wait <= 0:
            return
        if wait > self._max_rate_wait:
            raise _Gated(wait)
        await self._sleep(wait)

    async def _post(self, path: str, body: str) -> httpx.Response:
        """Send ``body`` exactly as built and signed; one attempt."""
        client = self._running_client()
        started = time.perf_counter()
        response = await client.post(
            path,
            content=body.encode("utf-8"),
            headers={"content-type": protocol.FORM_CONTENT_TYPE},
            auth=self._auth,
        )
        self._rtt_ms = (time.perf_counter() - started) * 1000
        self._heard()
        return response

    async def _get(
        self, path: str, *, private: bool, params: Mapping[str, str] | None = None
    ) -> Any:
        """GETs carry the key only: Everstrike does not check signatures on them (VENUES §2.2)."""
        client = self._client
        if client is None:
            raise SessionClosed(f"{self.name}: Everstrike session is not running")
        headers = {"x-api-key": self.credentials.public_key} if private else {}
        started = time.perf_counter()
        try:
            response = await client.get(path, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise EverstrikeError(
                None, None, f"could not reach Everstrike for {path}: {type(exc).__name__}"
            ) from None
        self._rtt_ms = (time.perf_counter() - started) * 1000
        self._heard()
        try:
            return protocol.parse_envelope(response.status_code, response.content)
        except RateLimited as exc:
            self._slow_down(exc)
            raise

    def _slow_down(self, exc: RateLimited) -> float:
        wait = exc.retry_after if exc.retry_after is not None else self._rate_limit_backoff
        self._not_before = max(self._not_before, self._monotonic() + wait)
        return wait

    async def _refusal(self, exc: EverstrikeError, noun: Literal["close", "cancel"]) -> str:
        """The plain message for a refused POST, after acting on it (resync, back off)."""
        detail = f" ({exc.msg})" if exc.msg else ""
        if isinstance(exc, RateLimited):
            wait = self._slow_down(exc)
            return f"rate limited by Everstrike; slowed down for {wait:g} s — nothing was resent"
        if isinstance(exc, StaleTimestamp):
            try:
                await self._sync_time()
            except (EverstrikeError, SessionClosed) as sync_exc:
                return (
                    "Everstrike says our timestamp is too old, so your clock is probably off, "
                    f"and re-synchronising failed ({self._why(sync_exc)}). Nothing was resent."
                )
            return (
                f"Your clock is off by about {abs(round(self._offset_ms))} ms; Closeout "
                f"re-synchronised with the venue. Nothing was resent — send the {noun} again."
            )
        nothing = "Nothing was placed." if noun == "close" else "Nothing was cancelled."
        if exc.http_status == 401 or exc.code == 401:
            return (
                f"Everstrike refused the API key or signature{detail}: check the account's API "
                f"key and secret. {nothing}"
            )
        if noun == "cancel" and (exc.http_status == 503 or exc.code == 503):
            return _CANCEL_503
        if exc.http_status == 503 or exc.code == 503:
            return (
                f"the venue's generic failure ({exc.msg or 'Invalid request'}): Everstrike "
                "refused the close without a specific reason. Nothing was placed or resent."
            )
        if _venue_error(exc):
            return (
                f"Everstrike reported a venue error (HTTP {exc.http_status}"
                f"{': ' + exc.msg if exc.msg else ''}); "
                + (
                    "the close was most likely not placed and was not resent. Closeout is "
                    "checking the venue's orders in case it was."
                    if noun == "close"
                    else "the order may still be working — refresh"
                )
            )
        status = f"HTTP {exc.http_status}" if exc.http_status is not None else "error"
        code = f", code {exc.code}" if exc.code is not None else ""
        return f"Everstrike refused the {noun} ({status}{code}){detail}. {nothing}"

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
        self._skew_measured = True

    async def _clock_loop(self, interval: float) -> None:
        while self._state == "running":
            await asyncio.sleep(interval)
            try:
                await self._sync_time()
            except (EverstrikeError, SessionClosed) as exc:  # keep the last good offset
                log.warning("Everstrike /time failed for %s: %s", self.name, self._why(exc))

    async def _snapshot(self) -> None:
        result = await self._get("/active_positions", private=True)
        positions = protocol.parse_active_positions(result, self.name)
        self._held_pairs = dict.fromkeys(p.key.symbol for p in positions)
        self.sink(PositionsSnapshot(venue=self.venue, account=self.name, positions=positions))

    async def _quiet_snapshot(self) -> None:
        try:
            await self._snapshot()
        except (EverstrikeError, SessionClosed) as exc:
            log.info("Everstrike positions refresh failed for %s: %s", self.name, self._why(exc))

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
        return await self._get(path, private=True, params=params)

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
        kept = tuple(self._stamp(o) for o in orders if self._advance(o, live=False))
        self.sink(WorkingOrdersSnapshot(venue=self.venue, account=self.name, orders=kept))

    async def _quiet_orders_snapshot(self) -> None:
        try:
            await self._orders_snapshot()
        except (EverstrikeError, SessionClosed) as exc:
            self._protocol_error(
                f"Everstrike: could not list working orders: {self._why(exc)}", "orders"
            )

    async def _on_close_reply(
        self, request: CloseRequest, response: httpx.Response, sent_ms: int
    ) -> None:
        try:
            result = protocol.parse_envelope(response.status_code, response.content)
        except MalformedReply as exc:
            if 400 <= response.status_code < 500 and response.status_code != 408:
                message = f"Everstrike refused the close (HTTP {response.status_code})."
                raw = f"HTTP {response.status_code}"
                self._outcome(request, OrderStatus.REJECTED, raw, message)
                raise CloseRejected(message, code=str(response.status_code)) from None
            # A success or server-error status with an unreadable body: it may have been placed.
            self._protocol_error(exc.msg, "close_reply")
            self._lost(
                request,
                sent_ms,
                f"HTTP {response.status_code}",
                f"Everstrike answered HTTP {response.status_code} with an unreadable reply",
            )
            return
        except EverstrikeError as exc:
            message = await self._refusal(exc, "close")
            raw = f"HTTP {exc.http_status}" + (f" code {exc.code}" if exc.code is not None else "")
            self._outcome(request, OrderStatus.REJECTED, raw, message)
            if _venue_error(exc):
                # E-MM treats 500 as a plain exchange error, so do we; but a server error can
                # come after the work was done, so look once and correct the record if so.
                self._track_unknown(request, sent_ms, quiet=True)
            raise CloseRejected(message, code=_code(exc)) from None
        try:
            events = protocol.parse_close_reply(result, self.name, request.key.symbol)
        except MalformedReply as exc:
            self._protocol_error(f"Everstrike /auth/close reply: {exc.msg}", "close_reply")
            why = "Everstrike accepted the close but its reply could not be read"
            self._lost(request, sent_ms, "accepted", why)
            return
        if not any(isinstance(event, OrderUpdate) for event in events):
            self._lost(request, sent_ms, "accepted", "Everstrike answered OK without an order")
        for event in events:
            if isinstance(event, OrderUpdate) and event.order_id is not None:
                self._remember(event.order_id, request.client_order_id)
            self._emit(event, direct=True)

    def _remember(self, order_id: str, client_order_id: str) -> None:
        self._order_clients[order_id] = client_order_id
        self._order_clients.move_to_end(order_id)
        while len(self._order_clients) > _MEMORY_LIMIT:
            self._order_clients.popitem(last=False)

    def _outcome(
        self,
        request: CloseRequest,
        status: OrderStatus,
        raw_status: str,
        message: str,
        *,
        final: bool = True,
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
                final=final,
                client_order_id=request.client_order_id,
                side=request.order_side,
                quantity=request.quantity,
                price=request.limit_price,
                trigger_price=trigger.price if trigger is not None else None,
                message=message,
            )
        )

    # ------------------------------------------------------------------ reconciliation

    def _lost(self, request: CloseRequest, sent_ms: int, raw_status: str, why: str) -> None:
        """The close may or may not be working: say so, never resend, go and find out."""
        message = f"{why}; not resent. Checking Everstrike's order list to find out what happened."
        self._outcome(request, OrderStatus.UNKNOWN, raw_status, message, final=False)
        self._track_unknown(request, sent_ms)

    def _track_unknown(self, request: CloseRequest, sent_ms: int, *, quiet: bool = False) -> None:
        self._unresolved[request.client_order_id] = _Unresolved(request, sent_ms, quiet=quiet)
        self._spawn(self._reconcile_after(self._reconcile_delay))

    async def _reconcile_after(self, delay: float) -> None:
        if delay > 0:
            await asyncio.sleep(delay)
        await self._reconcile(after_reconnect=False)

    async def _recent_orders(self, pairs: set[str]) -> dict[str, VenueOrder]:
        """``/orders`` and ``/triggers`` (recent, limit 100; narrowed to the pair when there is
        one), newest state per order id."""
        pair = next(iter(pairs)) if len(pairs) == 1 else None
        found: dict[str, VenueOrder] = {}
        for path in (protocol.ORDERS_PATH, protocol.TRIGGERS_PATH):
            listing = await self._listing(path, pair, limit=100)
            for order in protocol.parse_order_list(listing, self.name):
                order_id = order.update.order_id or ""
                known = found.get(order_id)
                if known is None or (order.time_ms or 0) >= (known.time_ms or 0):
                    found[order_id] = order
        return found

    async def _reconcile(self, *, after_reconnect: bool) -> None:
        """Look lost closes up at the venue (and, after a reconnect, every close of ours that
        was still working, since its events may have been missed). Never resends."""
        async with self._reconcile_lock:
            if self._state != "running":
                return
            tracked = dict(self._open_closes) if after_reconnect else {}
            if not self._unresolved and not tracked:
                return
            pairs = {item.request.key.symbol for item in self._unresolved.values()}
            try:
                orders = await self._recent_orders(pairs if not tracked else set())
            except (EverstrikeError, SessionClosed) as exc:
                self._lookup_failed(exc)
                return
            for client_id, item in list(self._unresolved.items()):
                match = protocol.match_close(
                    list(orders.values()),
                    item.request,
                    item.sent_ms,
                    slack_ms=self._match_slack_ms,
                    claimed=set(self._order_clients),  # our other closes, known by id
                )
                if match is not None:
                    del self._unresolved[client_id]
                    self._found(client_id, match, "Found at Everstrike after the lost reply")
                elif self._connected or after_reconnect:
                    del self._unresolved[client_id]
                    self._not_found(item)
                # else: the WS is down; look again after the reconnect.
            lookups = 0
            for order_id, client_id in tracked.items():
                if self._open_closes.get(order_id) != client_id:
                    continue  # settled while we were looking
                match = orders.get(order_id)
                if match is None and lookups < _LOOKUP_LIMIT:
                    lookups += 1
                    match = await self._lookup(order_id)
                if match is not None:
                    self._found(client_id, match, "After the reconnect")

    async def _lookup(self, order_id: str) -> VenueOrder | None:
        try:
            result = await self._get(protocol.ORDER_PATH, private=True, params={"id": order_id})
            (order,) = protocol.parse_order_list([result], self.name)
        except (EverstrikeError, SessionClosed) as exc:
            log.info("Everstrike /order %s failed for %s: %s", order_id, self.name, exc)
            return None
        return order

    def _lookup_failed(self, exc: BaseException) -> None:
        if not self._connected:
            return  # the reconnect looks again
        retry = False
        for client_id, item in list(self._unresolved.items()):
            item.failures += 1
            if item.failures >= self._reconcile_attempts:
                del self._unresolved[client_id]
                if item.quiet:
                    continue
                self._outcome(
                    item.request,
                    OrderStatus.UNKNOWN,
                    "lookup failed",
                    f"could not check at Everstrike ({self._why(exc)}); the close may or may not "
                    "have been placed — check the position. Not resent.",
                )
                self._spawn(self._quiet_snapshot())
            else:
                retry = True
        if retry:
            self._spawn(self._reconcile_after(self._reconcile_retry))

    def _found(self, client_id: str, order: VenueOrder, why: str) -> None:
        update = order.update
        if update.order_id is not None:
            self._remember(update.order_id, client_id)
        self._emit(
            replace(update, client_order_id=client_id, message=f"{why}: {update.message}"),
            direct=True,
        )
        if order.working is not None:
            self._emit(order.working, direct=True)

    def _not_found(self, item: _Unresolved) -> None:
        if item.quiet:
            return
        self._outcome(item.request, OrderStatus.UNKNOWN, "not found", _NOT_FOUND)
        self._spawn(self._quiet_snapshot())

    # ------------------------------------------------------------------ event routing

    def _advance(self, order: WorkingOrder, *, live: bool = True) -> bool:
        """Record a working-order upsert; False when it would move the order backwards, or
        (``live``) when it repeats what was last emitted (the reply and its WS echo)."""
        rank = 0 if order.kind is WorkingKind.TRIGGER else 1
        shape = (order.remaining, order.price, order.trigger_price)
        known = self._stage.get(order.order_id)
        if known is not None:
            known_rank, known_shape = known
            if rank < known_rank:
                return False
            if rank == known_rank and known_shape is not None:
                if live and known_shape == shape:
                    return False
                known_remaining = known_shape[0]
                if (
                    known_remaining is not None
                    and order.remaining is not None
                    and order.remaining > known_remaining
                ):
                    return False
        self._set_stage(order.order_id, rank, shape)
        return True

    def _set_stage(self, order_id: str, rank: int, shape: _Shape | None = None) -> None:
        known = self._stage.get(order_id)
        if known is not None and known[0] > rank:
            return
        self._stage[order_id] = (rank, shape)
        self._stage.move_to_end(order_id)
        while len(self._stage) > _MEMORY_LIMIT:
            self._stage.popitem(last=False)

    def _stamp(self, order: WorkingOrder) -> WorkingOrder:
        client_id = self._order_clients.get(order.order_id)
        if client_id is not None and order.client_order_id is None:
            return replace(order, client_order_id=client_id)
        return order

    def _track(self, update: OrderUpdate) -> None:
        """Follow our closes until final; after a reconnect, the ones still open are re-read."""
        order_id = update.order_id
        if order_id is None:
            return
        if update.final:
            self._set_stage(order_id, 2)
            self._open_closes.pop(order_id, None)
        elif update.client_order_id is not None:
            self._open_closes[order_id] = update.client_order_id
            while len(self._open_closes) > _MEMORY_LIMIT:
                self._open_closes.popitem(last=False)

    def _emit(self, event: SessionEvent, *, direct: bool = False) -> None:
        """Stamp our client id on order events, holding those that race ahead of a POST reply."""
        if isinstance(event, OrderUpdate | WorkingOrder):
            client_id = self._order_clients.get(event.order_id or "")
            if client_id is None and not direct and event.symbol in self._inflight:
                self._held.setdefault(event.symbol, []).append(event)
                return
            if client_id is not None and event.client_order_id is None:
                event = replace(event, client_order_id=client_id)
            if isinstance(event, OrderUpdate):
                self._track(event)
            elif not self._advance(event):
                return  # stale: the order already moved on
        elif isinstance(event, WorkingOrderRemoved):
            self._set_stage(event.order_id, 1 if event.reason == "triggered" else 2)
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
        now = self._monotonic()
        self._last_ws_at = self._last_message_at = now
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
        """Measure the clock, connect, authenticate, snapshot positions and working orders,
        subscribe marks.

        Authenticated before the snapshots, so no private event falls between the two.
        """
        await self._sync_time()
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
            await self._quiet_orders_snapshot()
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
            self._last_ws_at = self._last_message_at = self._monotonic()
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
                except AuthenticationFailed as exc:
                    self._connection(ConnectionState.FAILED, str(exc))
                    return
                except EverstrikeError as exc:
                    if exc.http_status == 401:
                        self._connection(ConnectionState.FAILED, exc.msg)
                        return
                    self._connection(ConnectionState.DISCONNECTED, self._why(exc))
                except (OSError, TimeoutError, WebSocketException) as exc:
                    self._connection(ConnectionState.DISCONNECTED, self._why(exc))
                except Exception as exc:  # a bug must not end reconnecting silently
                    log.exception("Everstrike reconnect failed for %s", self.name)
                    self._connection(ConnectionState.DISCONNECTED, self._why(exc))
                else:
                    self._spawn(self._reconcile(after_reconnect=True))
                    break

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
