"""Account checks for the Accounts dialog: credentials from the keyring, and a test connection.

``test_connection`` runs the real venue session once (connect, authenticate, first positions
snapshot and working orders), stops it, and says what it found in plain words. It never sends
an order, and nothing it returns or logs contains the secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

from core.model import PositionsSnapshot, SessionEvent, WorkingOrdersSnapshot
from core.settings import AccountError, validate_account
from core.venue import AccountConfig, Credentials, EventSink, ReconnectPolicy, VenueSession, redact
from core.venues import SecretCheck, venue_info

if TYPE_CHECKING:  # the keyring loads only where secrets are read or kept
    from core.secrets import SecretStore

__all__ = [
    "AUTH_REFUSED",
    "ConnectionReport",
    "SessionFactory",
    "credentials_for",
    "test_connection",
]

log = logging.getLogger(__name__)

SessionFactory = Callable[[AccountConfig, Credentials, EventSink], VenueSession]

AUTH_REFUSED = (
    "The venue refused the API key or signature (check the key and secret, and this computer's "
    "clock)"
)
_STOP_TIMEOUT = 5.0


@dataclass(frozen=True, slots=True)
class ConnectionReport:
    """What a test connection found. ``message`` is one plain sentence for the dialog."""

    ok: bool
    positions: int = 0
    working_orders: int = 0
    message: str = ""


def credentials_for(account: AccountConfig, store: SecretStore) -> Credentials | None:
    """The account's credentials, or None when no secret is stored for it (nor held for this
    session)."""
    secret = store.get(account.name)
    if not secret:
        return None
    return Credentials(account.public_key, secret)


def _default_factory(
    account: AccountConfig, credentials: Credentials, sink: EventSink
) -> VenueSession:
    # One attempt: a test connection reports the first failure instead of retrying it.
    policy = ReconnectPolicy(initial=0.0, maximum=0.0, jitter=0.0)
    return venue_info(account.venue).session(account, credentials, sink, reconnect=policy)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _endpoints(account: AccountConfig) -> Mapping[str, str]:
    defaults = venue_info(account.venue).default_endpoints(account.environment)
    return {**defaults, **account.endpoints}


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and its causes and contexts, outermost first (sessions often re-raise)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _auth_error(exc: BaseException, account: AccountConfig) -> bool:
    return venue_info(account.venue).is_auth_error(exc)


def _network_reason(exc: BaseException) -> str | None:
    """'connection refused', 'host name not found', ... for a failure to reach a host, else
    None. The most specific cause wins: httpx wraps the OSError two levels down."""
    chain = _chain(exc)
    for item in chain:
        if isinstance(item, ConnectionRefusedError) or (
            isinstance(item, OSError) and item.errno == errno.ECONNREFUSED
        ):
            return "connection refused"
        if isinstance(item, socket.gaierror):
            return "host name not found"
        if isinstance(item, ssl.SSLCertVerificationError):
            return f"its TLS certificate was not accepted ({item.verify_message})"
        if isinstance(item, ssl.SSLError):
            return "the TLS handshake failed"
    text = " ".join(str(item) for item in chain).lower()
    if "connect call failed" in text or "connection refused" in text or "errno 111" in text:
        return "connection refused"
    if any(isinstance(item, httpx.ConnectError | httpx.ConnectTimeout | ConnectionError)
           for item in chain):
        return "could not connect"
    return None


def _plain(exc: BaseException, account: AccountConfig, credentials: Credentials) -> str:
    """One sentence for the dialog; the secret and the full public key never appear."""
    if _auth_error(exc, account):
        message = _refused(account)
    else:
        reason = _network_reason(exc)
        if reason is not None:
            url = _failed_url(exc, _endpoints(account))
            message = f"Could not reach {url}: {reason}" if url else f"Could not connect: {reason}"
        else:
            detail = str(exc) or type(exc).__name__
            message = f"The connection failed: {detail}"
    return _scrub(message, credentials)


def _refused(account: AccountConfig) -> str:
    return AUTH_REFUSED.replace("The venue", account.venue.label, 1)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _failed_url(exc: BaseException, endpoints: Mapping[str, str]) -> str | None:
    """The configured endpoint the failure names, else the first one the session dials."""
    chain = _chain(exc)
    for item in chain:
        request = getattr(item, "_request", None)
        if isinstance(request, httpx.Request):
            origin = _origin(str(request.url))
            return next((u for u in endpoints.values() if _origin(u) == origin), origin)
    text = " ".join(str(item) for item in chain)
    for url in endpoints.values():
        parts = urlsplit(url)
        if parts.port is not None and f"{parts.port}" in text:
            return url
    for name in ("rest", "trade_ws", "ws"):
        if name in endpoints:
            return endpoints[name]
    return next(iter(endpoints.values()), None)


def _scrub(text: str, credentials: Credentials) -> str:
    if credentials.secret:
        text = text.replace(credentials.secret, "***")
    key = credentials.public_key
    if key and len(key) > 4:
        text = text.replace(key, redact(key))
    return text


async def test_connection(
    account: AccountConfig,
    credentials: Credentials,
    *,
    timeout: float = 15.0,  # noqa: PT028 (not a test: the dialog's "Test connection")
    session_factory: SessionFactory | None = None,  # noqa: PT028
) -> ConnectionReport:
    """Connect and authenticate once with the real venue session, count positions and working
    orders, then stop. Never raises for a venue or network failure: the report says what went
    wrong in plain words (an insecure endpoint is refused before anything is dialled)."""
    try:
        validate_account(account)
    except AccountError as exc:
        return ConnectionReport(False, message=_scrub(exc.message, credentials))
    if not credentials.secret:
        return ConnectionReport(False, message="Enter the secret key to test the connection.")
    positions: PositionsSnapshot | None = None
    working: WorkingOrdersSnapshot | None = None

    def sink(event: SessionEvent) -> None:
        nonlocal positions, working
        if isinstance(event, PositionsSnapshot) and positions is None:
            positions = event
        elif isinstance(event, WorkingOrdersSnapshot) and working is None:
            working = event

    factory = session_factory or _default_factory
    try:
        session = factory(account, credentials, sink)
    except ValueError as exc:  # a bad option value, refused by the session's constructor
        return ConnectionReport(False, message=_scrub(str(exc), credentials))
    deadline = asyncio.timeout(timeout)
    probe = SecretCheck()
    prove_secret = venue_info(account.venue).secret_probe  # set where connecting does not
    try:
        async with deadline:
            await session.start()
            if prove_secret is not None:
                probe = await prove_secret(session, account)
            if working is None:
                with contextlib.suppress(Exception):  # counts are best-effort; connect is not
                    await session.refresh_orders()
    except Exception as exc:
        if isinstance(exc, TimeoutError) and deadline.expired():
            return ConnectionReport(False, message=f"Timed out after {timeout:g} s")
        log.info("test connection for %s failed: %s", account.name, type(exc).__name__)
        return ConnectionReport(False, message=_plain(exc, account, credentials))
    finally:
        try:
            async with asyncio.timeout(_STOP_TIMEOUT):
                await session.stop()
        except Exception as exc:  # the report is already decided; stopping must not mask it
            log.info("stopping the test session for %s: %s", account.name, type(exc).__name__)
    if probe.refused:
        return ConnectionReport(False, message=_refused(account))
    n_positions = len(positions.positions) if positions is not None else 0
    n_orders = len(working.orders) if working is not None else 0
    found = f"{_plural(n_positions, 'open position')}"
    if working is not None:
        found += f", {_plural(n_orders, 'working order')}"
    message = f"Connected: {found}"
    if probe.note is not None:
        message += f"; {_scrub(probe.note, credentials)}"
    return ConnectionReport(True, n_positions, n_orders, message)


# pytest would otherwise collect this function wherever a test module imports it by name.
test_connection.__test__ = False  # type: ignore[attr-defined]
