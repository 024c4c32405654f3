"""Everstrike's REST API as the session uses it: I/O only.

Signed POSTs are signed here, once, when a request is prepared, and written exactly as
prepared. GETs carry the key only. After a 429 every signed POST waits out the venue's wait,
and a body whose timestamp a wait made stale is signed again. The venue's clock offset is
measured here so timestamps pass its window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Literal, TypeVar

import httpx

from core.venue import Credentials, Prepared, Restamped, SessionClosed
from core.venues.clock import offset_between
from core.venues.everstrike import protocol
from core.venues.everstrike.protocol import EverstrikeError, RateLimited, StaleTimestamp
from core.venues.tls import client_tls
from core.venues.wire import HttpWire

__all__ = ["EverstrikeRest", "Gated", "error_code", "not_sent", "refusal", "why"]

_VENUE_WINDOW_MS: Final = 15_000  # the venue's own timestamp window when we send no recv_window
_CANCEL_503: Final = (
    "the venue refused the cancel (generic failure); the order may already be filled or "
    "cancelled — refresh"
)

Sleep = Callable[[float], Awaitable[None]]
_P = TypeVar("_P", bound=Prepared)


class Gated(Exception):
    """A 429 asked us to wait longer than we are willing to hold a request."""

    def __init__(self, wait: float) -> None:
        super().__init__(
            f"rate limited by Everstrike; it asked for {wait:.1f} s more before the next "
            "request — nothing was sent, try again shortly"
        )


def why(exc: BaseException) -> str:
    """A failure in a few words, for a message or a log line."""
    if isinstance(exc, EverstrikeError):
        return exc.msg
    if isinstance(exc, asyncio.CancelledError):
        return "cancelled"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def not_sent(exc: httpx.HTTPError) -> bool:
    """No connection was made, so nothing was written."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def error_code(exc: EverstrikeError) -> str:
    """The code a refusal is reported with: the body's code, else the HTTP status."""
    return str(exc.code if exc.code is not None else exc.http_status)


def _venue_error(exc: EverstrikeError) -> bool:
    """A server-side failure other than the documented generic 503: the request may have run."""
    status, code = exc.http_status or 0, exc.code or 0
    return (status >= 500 or code >= 500) and 503 not in (status, code)


def _generic(exc: EverstrikeError) -> bool:
    return exc.http_status == 503 or exc.code == 503


def refusal(
    exc: EverstrikeError,
    noun: Literal["close", "cancel"],
    *,
    waited: float,
    resync: float | str | None,
) -> tuple[str, bool]:
    """The plain message for a refused POST, and whether the venue may have acted anyway (so
    its orders are worth reading again). ``waited``: the back-off a 429 set; ``resync``: the
    clock offset (ms) after a stale timestamp, or why re-measuring it failed."""
    look = _venue_error(exc) or (noun == "cancel" and _generic(exc))
    return _refusal_text(exc, noun, waited, resync), look


def _refusal_text(
    exc: EverstrikeError, noun: str, waited: float, resync: float | str | None
) -> str:
    detail = f" ({exc.msg})" if exc.msg else ""
    if isinstance(exc, RateLimited):
        return f"rate limited by Everstrike; slowed down for {waited:g} s — nothing was resent"
    if isinstance(exc, StaleTimestamp):
        if isinstance(resync, str) or resync is None:
            return (
                "Everstrike says our timestamp is too old, so your clock is probably off, "
                f"and re-synchronising failed ({resync}). Nothing was resent."
            )
        return (
            f"Your clock is off by about {abs(round(resync))} ms; Closeout "
            f"re-synchronised with the venue. Nothing was resent — send the {noun} again."
        )
    nothing = "Nothing was placed." if noun == "close" else "Nothing was cancelled."
    if exc.http_status == 401 or exc.code == 401:
        return (
            f"Everstrike refused the API key or signature{detail}: check the account's API "
            f"key and secret. {nothing}"
        )
    if noun == "cancel" and _generic(exc):
        return _CANCEL_503
    if _generic(exc):
        return (
            f"the venue's generic failure ({exc.msg or 'Invalid request'}): Everstrike "
            "refused the close without a specific reason. Nothing was placed or resent."
        )
    if _venue_error(exc):
        after = (
            "the close was most likely not placed and was not resent. Closeout is checking the "
            "venue's orders in case it was."
            if noun == "close"
            else "the order may still be working — refresh"
        )
        message = f": {exc.msg}" if exc.msg else ""
        return f"Everstrike reported a venue error (HTTP {exc.http_status}{message}); {after}"
    status = f"HTTP {exc.http_status}" if exc.http_status is not None else "error"
    code = f", code {exc.code}" if exc.code is not None else ""
    return f"Everstrike refused the {noun} ({status}{code}){detail}. {nothing}"


class EverstrikeRest:
    """One account's REST connection; ``monotonic`` times the 429 gate and round trips."""

    def __init__(
        self,
        name: str,
        base_url: str,
        credentials: Credentials,
        *,
        transport: httpx.AsyncBaseTransport | None,
        timeout: float,
        clock: Callable[[], float],
        monotonic: Callable[[], float],
        sleep: Sleep,
        recv_window: int | None,
        rate_limit_backoff: float,
        max_rate_wait: float,
    ) -> None:
        self._name = name
        self._base_url = base_url
        self._credentials = credentials
        self._transport = transport
        self._timeout = timeout
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._window_ms = recv_window or _VENUE_WINDOW_MS
        self._rate_limit_backoff = rate_limit_backoff
        self._max_rate_wait = max_rate_wait
        self._client: httpx.AsyncClient | None = None
        self._not_before = float("-inf")  # monotonic: no signed POST before this (429)
        self.offset_ms = 0.0  # venue clock minus ours
        self.skew_measured = False
        self.rtt_ms: float | None = None  # the last request's wire time (core.venues.wire)
        self.rtt_samples = 0  # how many replies it was measured on
        self.last_wire_ms: float | None = None  # the last POST's, for its close
        self.last_reply_at: float | None = None  # monotonic

    def open(self) -> None:
        self._client = httpx.AsyncClient(
            base_url=self._base_url, transport=self._transport, timeout=self._timeout,
            verify=client_tls(),
        )

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    @property
    def gated(self) -> bool:
        """True while a 429's wait lasts."""
        return self._not_before > self._monotonic()

    def now_ms(self) -> int:
        """Our clock corrected by the venue's, so timestamps pass its window."""
        return int(self._clock() * 1000 + self.offset_ms)

    def sign(self, path: str, body: str) -> tuple[str, bytes, Mapping[str, str]]:
        """The one place a request is signed: its redacted text, the body bytes and the
        headers that go with them."""
        signed = protocol.build_signed_post(
            path, body, self._credentials.public_key, self._credentials.secret
        )
        return protocol.redacted(signed), body.encode("utf-8"), signed.headers

    async def gate(self, prepared: _P, restamped: Restamped | None, again: Callable[[], _P]) -> _P:
        """Wait out a 429 (raise :class:`Gated` if that is too long). A body signed more than
        half its timestamp window ago is built again by ``again`` and ``restamped`` is told
        before it goes out: the other half is for the trip and clock error."""
        wait = self._not_before - self._monotonic()
        if wait > self._max_rate_wait:
            raise Gated(wait)
        if wait > 0:
            await self._sleep(wait)
        if prepared.stamped_ms is None:
            return prepared
        age = self.now_ms() - prepared.stamped_ms
        if age <= self._window_ms // 2:
            return prepared
        fresh = again()
        if restamped is not None:
            restamped(
                fresh,
                f"signed {age} ms before it could be sent (rate-limit wait), more than half "
                f"of the {self._window_ms} ms timestamp window: signed again with a new "
                "timestamp",
            )
        return fresh

    async def post(self, prepared: Prepared) -> httpx.Response:
        """Write ``prepared.wire`` with its headers, exactly as signed; one attempt."""
        client = self._client
        if client is None:
            raise SessionClosed(f"{self._name}: Everstrike session is not running; nothing sent")
        started = self._monotonic()
        wire = HttpWire(self._monotonic)
        response = await client.post(
            prepared.target, content=prepared.wire, headers=dict(prepared.headers),
            extensions={"trace": wire.trace},
        )
        self.last_wire_ms = self._heard(started, wire, response)
        return response

    async def get(
        self, path: str, *, private: bool, params: Mapping[str, str] | None = None
    ) -> Any:
        """GETs carry the key only: Everstrike does not check signatures on them (VENUES §2.2)."""
        client = self._client
        if client is None:
            raise SessionClosed(f"{self._name}: Everstrike session is not running")
        headers = {"x-api-key": self._credentials.public_key} if private else {}
        started = self._monotonic()
        wire = HttpWire(self._monotonic)
        try:
            response = await client.get(path, headers=headers, params=params,
                                        extensions={"trace": wire.trace})
        except httpx.HTTPError as exc:
            raise EverstrikeError(
                None, None, f"could not reach Everstrike for {path}: {type(exc).__name__}"
            ) from None
        self._heard(started, wire, response)
        try:
            return protocol.parse_envelope(response.status_code, response.content)
        except RateLimited as exc:
            self._slow_down(exc)
            raise

    async def sync_time(self) -> None:
        before = self._clock()
        result = await self.get("/time", private=False)
        after = self._clock()
        venue_ms = protocol.parse_time(result)
        self.offset_ms = offset_between(before, after, venue_ms / 1000, 0.001) * 1000
        self.skew_measured = True

    async def refused(
        self, exc: EverstrikeError, noun: Literal["close", "cancel"]
    ) -> tuple[str, bool]:
        """Act on a refused POST (back off, re-measure the clock); then :func:`refusal`."""
        waited = 0.0
        resync: float | str | None = None
        if isinstance(exc, RateLimited):
            waited = self._slow_down(exc)
        elif isinstance(exc, StaleTimestamp):
            try:
                await self.sync_time()
                resync = self.offset_ms
            except (EverstrikeError, SessionClosed) as sync_exc:
                resync = why(sync_exc)
        return refusal(exc, noun, waited=waited, resync=resync)

    def _slow_down(self, exc: RateLimited) -> float:
        wait = exc.retry_after if exc.retry_after is not None else self._rate_limit_backoff
        self._not_before = max(self._not_before, self._monotonic() + wait)
        return wait

    def _heard(self, started: float, wire: HttpWire, response: httpx.Response) -> float:
        """Note a reply: when it came (health's "last message") and its wire time, the round
        trip health shows. A transport httpcore does not drive (a test's mock) has no trace:
        its figure is the time around the call."""
        self.last_reply_at = now = self._monotonic()
        measured = wire.wire_ms(response)
        self.rtt_ms = measured if measured is not None else (now - started) * 1000
        self.rtt_samples += 1
        return self.rtt_ms
