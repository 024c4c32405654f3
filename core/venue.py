"""The contract every venue implements, and the data it is configured with.

The desk talks only to :class:`VenueSession`. A new venue is one new folder under
``core/venues/`` that provides a session class and registers it in ``core.venues.REGISTRY``.
"""

from __future__ import annotations

import abc
import ipaddress
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from core.model import (
    Capabilities,
    CloseRequest,
    Environment,
    Instrument,
    SessionEvent,
    SessionHealth,
    Venue,
    WorkingOrder,
)

__all__ = [
    "AccountConfig",
    "CancelRejected",
    "CloseRejected",
    "Credentials",
    "EventSink",
    "InsecureEndpoint",
    "Prepared",
    "PreparedCancel",
    "PreparedClose",
    "ReconnectPolicy",
    "Restamped",
    "SessionClosed",
    "VenueSession",
    "check_endpoint",
    "is_loopback_url",
]

EventSink = Callable[[SessionEvent], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class Prepared:
    """One request built and signed once. ``send`` writes exactly ``wire`` (with ``headers``
    for REST), so what the journal records as ``redacted`` is what went out.

    ``redacted`` is ``wire`` with keys and signatures masked, and nothing else changed.
    ``target`` is the REST path or the socket the frame goes to. ``stamped_ms`` is the venue
    clock time stamped into a signed body, if any, so a session can tell when a wait made it
    stale.
    """

    redacted: str
    wire: bytes = field(repr=False)
    target: str = ""
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    stamped_ms: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedClose(Prepared):
    request: CloseRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class PreparedCancel(Prepared):
    order: WorkingOrder


# Called with the request that replaces a prepared one (and why) before its bytes are written:
# a wait (rate gate, 429) outlived the signed timestamp, so the session built it again.
Restamped = Callable[[Prepared, str], None]


class CloseRejected(Exception):
    """Refused before or at the venue; nothing is working at the venue for this request."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class CancelRejected(Exception):
    """A cancel the venue refused (already filled, unknown order) or that could not be sent."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class SessionClosed(Exception):
    """The session is stopped or not connected, so nothing was sent."""


class InsecureEndpoint(ValueError):
    """A plain-text URL for a host that is not loopback."""


def is_loopback_url(url: str) -> bool:
    """Loopback (the simulator): plain text is allowed, and no proxy from the environment."""
    return _is_loopback(urlsplit(url).hostname or "")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_endpoint(url: str) -> str:
    """Refuse plain ``ws://``/``http://`` unless the host is loopback (the simulator)."""
    parts = urlsplit(url)
    if parts.scheme in ("https", "wss"):
        return url
    if parts.scheme in ("http", "ws"):
        if _is_loopback(parts.hostname or ""):
            return url
        raise InsecureEndpoint(
            f"{url!r} is not encrypted; plain {parts.scheme}:// is allowed only for loopback "
            f"addresses. Use {'https' if parts.scheme == 'http' else 'wss'}://."
        )
    raise InsecureEndpoint(f"{url!r} has unsupported scheme {parts.scheme!r}")


@dataclass(frozen=True, slots=True)
class Credentials:
    """Key material for one account. ``secret`` comes from the keyring and lives only in memory.

    ``repr`` never shows the secret, so a traceback or a log line cannot leak it.
    """

    public_key: str
    secret: str = field(repr=False)

    def __repr__(self) -> str:
        return f"Credentials(public_key={redact(self.public_key)!r}, secret='***')"


def redact(value: str, keep: int = 4) -> str:
    """Show a key's first few characters so a human can tell keys apart, never the rest."""
    if len(value) <= keep * 2:
        return "***"
    return value[:keep] + "…" + "***"


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """One configured account. Endpoints are venue-specific names (see each venue's
    ``DEFAULT_ENDPOINTS``); missing names take the environment's defaults."""

    name: str
    venue: Venue
    environment: Environment
    public_key: str
    endpoints: Mapping[str, str] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Exponential backoff with full jitter, as data so tests can inject zero delay."""

    initial: float = 1.0
    maximum: float = 30.0
    factor: float = 2.0
    jitter: float = 0.5  # fraction of each delay that is randomised
    healthy_after: float = 30.0  # a connection that lived this long resets the backoff
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delays(self) -> Iterator[float]:
        delay = self.initial
        while True:
            spread = delay * self.jitter
            yield max(0.0, delay - spread + self.rng.random() * 2 * spread)
            delay = min(self.maximum, delay * self.factor)


class VenueSession(abc.ABC):
    """One authenticated connection set to one account on one venue.

    Lifecycle: ``start()`` connects, authenticates, subscribes and takes a positions snapshot,
    then keeps the connection alive (reconnect with backoff, re-auth, resubscribe, resync) until
    ``stop()``. Everything the venue says reaches the desk through ``sink`` as typed events, on
    the event loop thread. ``sink`` must not raise; sessions never block on it.
    """

    venue: Venue
    capabilities: Capabilities

    def __init__(
        self,
        account: AccountConfig,
        credentials: Credentials,
        sink: EventSink,
        *,
        reconnect: ReconnectPolicy | None = None,
    ) -> None:
        self.account = account
        self.credentials = credentials
        self.sink = sink
        self.reconnect = reconnect or ReconnectPolicy()

    @property
    def name(self) -> str:
        return self.account.name

    @abc.abstractmethod
    async def start(self) -> None:
        """Connect and return once the first positions snapshot has been emitted.

        Raises on a failure that retrying cannot fix (bad credentials). Transient failures after
        the first successful connect are handled inside by reconnecting.
        """

    @abc.abstractmethod
    async def stop(self) -> None:
        """Close every connection and cancel background tasks. Idempotent."""

    @abc.abstractmethod
    def prepare_close(self, request: CloseRequest) -> PreparedClose:
        """Build and sign the close once: the exact bytes ``send`` will write, and their
        redacted text for the dialog's preview and the journal. Raises ``CloseRejected`` for a
        request the venue cannot take (nothing is sent)."""

    @abc.abstractmethod
    async def send(self, prepared: PreparedClose, *, restamped: Restamped | None = None) -> None:
        """Write ``prepared.wire`` once; never retried.

        If a wait before writing (a rate gate) makes the signed request stale, the session
        builds it again and calls ``restamped`` with the new one, before writing it. Returns
        when the request has been written (WebSocket) or answered (REST). Outcomes arrive as
        ``OrderUpdate`` events carrying the request's ``client_order_id``. Raises
        ``CloseRejected`` when refused before the venue or by a REST reply, and
        ``SessionClosed`` when not connected (nothing was sent).
        """

    @abc.abstractmethod
    def prepare_cancel(self, order: WorkingOrder) -> PreparedCancel:
        """Build and sign a cancel once; raises ``CancelRejected`` if it cannot be built."""

    @abc.abstractmethod
    async def cancel(self, prepared: PreparedCancel, *, restamped: Restamped | None = None) -> None:
        """Write ``prepared.wire`` once (never retried) and return when the venue confirmed it;
        the removal also arrives as a ``WorkingOrderRemoved`` event. Raises ``CancelRejected``
        when refused or unanswered, and ``SessionClosed`` when not connected (nothing sent)."""

    @abc.abstractmethod
    async def refresh_orders(self) -> None:
        """Re-read every resting order and emit a ``WorkingOrdersSnapshot``."""

    @abc.abstractmethod
    def health(self) -> SessionHealth:
        """Connection health now; cheap, called by the UI every second."""

    def wire_ms(self, client_order_id: str) -> float | None:
        """The close's time on the wire, measured at the transport: from its request's write
        returning to the first byte of the venue's first reply (``core.venues.wire``). The desk
        asks while it handles that close's first update. None when the session cannot say;
        the desk then falls back to its own, coarser, figure."""
        return None

    @abc.abstractmethod
    async def refresh_positions(self) -> None:
        """Take a fresh positions snapshot and emit it as ``PositionsSnapshot``."""

    @property
    @abc.abstractmethod
    def instruments(self) -> Mapping[str, Instrument]:
        """Reference data known so far, by symbol (may be empty)."""

    @property
    @abc.abstractmethod
    def connected(self) -> bool:
        """True while authenticated and subscribed."""
