"""What can go wrong talking to QFEX, and which of it reconnecting may fix."""

from __future__ import annotations

import httpx
from websockets.exceptions import WebSocketException

__all__ = ["TRANSIENT", "QfexAuthError", "QfexConnectError", "QfexRequestFailed",
           "QfexUnreadableReply"]


class QfexAuthError(Exception):
    """The venue refused the credentials. Retrying with the same key cannot help."""


class QfexConnectError(ConnectionError):
    """Connecting failed for a reason that may pass (network, venue down, timeout)."""


class QfexRequestFailed(Exception):
    """A REST call was answered with an error."""


class QfexUnreadableReply(QfexRequestFailed):
    """A REST call was answered with a body we could not read: a protocol error too."""


# Failures that may pass: reconnecting later can fix them.
TRANSIENT: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    WebSocketException,
    httpx.HTTPError,
    QfexRequestFailed,
)
