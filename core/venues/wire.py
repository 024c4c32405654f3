"""Wire time, measured at the transport: from a request's write returning to the first byte of
its reply, without the app's own delays.

A figure taken around an ``await`` includes whatever else the event loop was doing: a window
repainting while the reply waited in the socket counts as venue latency (hundreds of ms on a
loopback simulator). Here the start is when the bytes were handed to the kernel, and the end is
when the kernel received the reply: on Linux the socket's ``TCP_INFO`` says how long ago data
last arrived, so a reply read late because the loop was busy is dated when it arrived. Where
that is not available, the end is when the transport first saw the reply (the httpx response
headers, the WebSocket frame), which still leaves out everything before the write and after
the read.
"""

from __future__ import annotations

import socket
import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

__all__ = ["WIRE_MEMORY", "HttpWire", "arrived_at", "received_ago", "remember_wire"]

WIRE_MEMORY: Final = 1_000  # closes whose wire time a session keeps for the desk to ask

# struct tcp_info: eight one-byte fields, then u32s; tcpi_last_data_recv is the 12th u32 (ms).
_LAST_DATA_RECV: Final = struct.Struct("=I")
_LAST_DATA_RECV_OFFSET: Final = 8 + 11 * 4
_TCP_INFO: Final = getattr(socket, "TCP_INFO", None)


def received_ago(sock: Any) -> float | None:
    """Seconds since the kernel last received data on this TCP socket; None where the platform
    or the socket cannot say (not Linux, not TCP, already closed)."""
    getsockopt = getattr(sock, "getsockopt", None)  # a socket, or asyncio's wrapper of one
    if _TCP_INFO is None or getsockopt is None:
        return None
    try:
        info = getsockopt(socket.IPPROTO_TCP, _TCP_INFO, 104)
    except (OSError, TypeError, ValueError):
        return None
    if not isinstance(info, bytes):
        return None
    if len(info) < _LAST_DATA_RECV_OFFSET + 4:
        return None
    ms: int = _LAST_DATA_RECV.unpack_from(info, _LAST_DATA_RECV_OFFSET)[0]
    return ms / 1000.0


def arrived_at(sock: Any, seen_at: float, now: float) -> float:
    """When the reply seen by the transport at ``seen_at`` reached the socket: ``now`` minus
    the kernel's "last data received" age, never later than ``seen_at`` (data that came after
    the reply only makes this later, so it never undercounts the wire)."""
    ago = received_ago(sock)
    if ago is None:
        return seen_at
    return min(seen_at, now - ago)


class HttpWire:
    """One httpx request's wire time, from httpcore's trace: pass ``trace`` as the request's
    ``extensions={"trace": wire.trace}``, then ``wire_ms(response)`` once it returned."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self.written_at: float | None = None  # the request body's write returned
        self.seen_at: float | None = None  # the response headers were read

    async def trace(self, name: str, info: dict[str, Any]) -> None:
        if name.endswith("send_request_body.complete"):
            self.written_at = self._clock()
        elif name.endswith("receive_response_headers.complete"):
            self.seen_at = self._clock()

    def wire_ms(self, response: Any) -> float | None:
        """Milliseconds on the wire; None when the trace did not see both ends (a transport
        that is not httpcore's, as in unit tests, reports nothing rather than a guess)."""
        if self.written_at is None or self.seen_at is None:
            return None
        stream = getattr(response, "extensions", {}).get("network_stream")
        sock = stream.get_extra_info("socket") if stream is not None else None
        end = arrived_at(sock, self.seen_at, self._clock())
        return max(0.0, (end - self.written_at) * 1000)


def remember_wire(table: OrderedDict[str, float], client_order_id: str, ms: float | None) -> None:
    """Keep a close's wire time for ``VenueSession.wire_ms``; the oldest go past the limit."""
    if ms is None:
        return
    table[client_order_id] = ms
    table.move_to_end(client_order_id)
    while len(table) > WIRE_MEMORY:
        table.popitem(last=False)
