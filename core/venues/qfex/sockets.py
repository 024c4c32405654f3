"""Opening a QFEX WebSocket: limits, proxies and the frame observer that health relies on."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping

from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import Frame, Opcode
from websockets.protocol import Event
from websockets.typing import Data

from core.venue import is_loopback_url
from core.venues.wire import arrived_at

__all__ = ["ObservedConnection", "arrival_of", "open_socket"]

# Frames larger than this are refused by the socket; market_stats for every symbol fits well.
MAX_FRAME = 8 * 1024 * 1024


class ObservedConnection(ClientConnection):
    """A client connection that reports every incoming frame, pings included, so health() can
    tell a quiet socket from a dead one and learn the venue's ping period. websockets (13+)
    hands every frame to ``process_event``; the library still answers the pings itself."""

    observer: Callable[[Frame], None] | None = None
    clock: Callable[[], float] = time.monotonic  # the clock arrival times are on
    _chunk_arrived: float | None = None
    _arrivals: deque[float] | None = None

    def data_received(self, data: bytes) -> None:
        """Date the bytes when they reached the socket (``core.venues.wire``), first thing
        after the loop gets to them: a later look would see what came in meanwhile."""
        transport = self.transport
        now = self.clock()
        sock = transport.get_extra_info("socket") if transport is not None else None
        self._chunk_arrived = arrived_at(sock, now, now)
        super().data_received(data)

    def process_event(self, event: Event) -> None:
        super().process_event(event)
        if not isinstance(event, Frame):
            return
        if event.fin and event.opcode in (Opcode.TEXT, Opcode.BINARY, Opcode.CONT) \
                and self._chunk_arrived is not None:
            if self._arrivals is None:
                self._arrivals = deque(maxlen=10_000)
            self._arrivals.append(self._chunk_arrived)  # one per message, in order
        if self.observer is not None:
            self.observer(event)

    last_arrival: float | None = None  # when the message ``recv`` returned last came in

    async def recv(self, decode: bool | None = None) -> Data:  # type: ignore[override]
        """A message, as websockets gives it (``async for`` reads through here too), with
        ``last_arrival`` set to when its bytes reached the socket."""
        message = await super().recv(decode)
        self.last_arrival = self._arrivals.popleft() if self._arrivals else None
        return message


async def open_socket(
    url: str,
    *,
    timeout: float,
    observer: Callable[[Frame], None],
    headers: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ClientConnection:
    ws = await connect(
        url,
        additional_headers=headers,
        proxy=None if is_loopback_url(url) else True,
        open_timeout=timeout,
        max_size=MAX_FRAME,
        create_connection=ObservedConnection,
    )
    if isinstance(ws, ObservedConnection):
        ws.observer = observer
        ws.clock = clock
    return ws


def arrival_of(ws: ClientConnection, seen: float) -> float:
    """When the message just read reached the socket: dated as its bytes came in by our
    connection class, else from the socket now (``core.venues.wire``)."""
    if isinstance(ws, ObservedConnection):
        arrived = ws.last_arrival
        if arrived is not None:
            return min(arrived, seen)
    transport = getattr(ws, "transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    return arrived_at(sock, seen, seen)
